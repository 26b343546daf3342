#!/usr/bin/env bash
# Rebuilds the Native AOT fixture corpus under testdata/nativeaot/ from src/.
#
# Needs the .NET SDK 10 (it builds net8.0, net9.0 and net10.0; NuGet must serve the
# ILCompiler and runtime packs) and these Debian packages:
#   apt-get install clang zlib1g-dev llvm binutils python3
#     clang links the executable, zlib1g-dev serves the x64 runtime, llvm gives
#     llvm-symbolizer, llvm-objdump and llvm-dwarfdump for the manifests;
#   apt-get install binutils-aarch64-linux-gnu libc6-dev-arm64-cross \
#       libgcc-12-dev-arm64-cross qemu-user-static
#     only for the linux-arm64 variant: cross linker, arm64 C runtime, emulator.
#
# Usage: generate.sh [VARIANT...]     (default: every variant, in dependency order,
#                                      then webapi/ through webapi/generate.sh)
#
# The sources are copied to $BUILD_ROOT (default /src/aotsample, wiped first) and
# built there, so DWARF and PDB file names are the same on every machine that
# regenerates the corpus.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
BUILD_ROOT=${BUILD_ROOT:-/src/aotsample}
ARM64_SYSROOT=/usr/aarch64-linux-gnu
ALL_VARIANTS=(net8.0-linux-x64 net9.0-linux-x64 net10.0-linux-x64
  net10.0-linux-x64-nostacktrace net10.0-linux-x64-dwarf5-pathmap net10.0-linux-arm64 webapi)

die() { echo "generate.sh: $*" >&2; exit 1; }
for tool in dotnet clang llvm-symbolizer llvm-objdump llvm-dwarfdump python3; do
  command -v "$tool" >/dev/null || die "$tool is not installed (see the header of this script)"
done

# The MSBuild properties of one variant, one -p: argument per line.
variant_props() {
  case "$1" in
    net8.0-linux-x64|net9.0-linux-x64|net10.0-linux-x64|net10.0-linux-arm64) ;;
    net10.0-linux-x64-nostacktrace) echo "-p:StackTraceSupport=false" ;;
    net10.0-linux-x64-dwarf5-pathmap)
      echo "-p:IlcDwarfVersion=5"
      echo "-p:ContinuousIntegrationBuild=true"
      echo "-p:PathMap=$BUILD_ROOT/=/_/src/" ;;
    *) die "unknown variant '$1' (known: ${ALL_VARIANTS[*]})" ;;
  esac
}

# Properties that change only the native code generator do not apply to the JIT run.
jit_props() { variant_props "$1" | grep -v -e IlcDwarfVersion || true; }

# Variants without a JIT run of their own take the JIT answers of another variant:
# by method name (arm64: the JIT's answer does not depend on the architecture), or
# by frame position (frames printed without method names).
jit_reference() {
  case "$1" in
    net10.0-linux-x64-nostacktrace|net10.0-linux-arm64) echo net10.0-linux-x64 ;;
  esac
}

variant_rid() {
  case "$1" in
    *-linux-arm64*) echo linux-arm64 ;;
    *) echo linux-x64 ;;
  esac
}

stage_sources() {
  rm -rf "$BUILD_ROOT"
  mkdir -p "$BUILD_ROOT"
  cp -r "$here/src/." "$BUILD_ROOT/"
}

# run_scenario DIR KIND SCENARIO COMMAND...: stdout, stderr (kept only when not
# empty) and exit code of one run into DIR/KIND/.
run_scenario() {
  local dir=$1 kind=$2 scenario=$3 code
  shift 3
  set +e
  (cd "$dir" && ulimit -c 0 && "$@" "$scenario" >"$kind/$scenario.stdout" 2>"$kind/$scenario.stderr")
  code=$?
  set -e
  echo "$code" >"$dir/$kind/$scenario.exit"
  # qemu reports the guest's fatal signal itself; that line is not the program's output.
  sed -i '/^qemu: uncaught target signal/d' "$dir/$kind/$scenario.stderr"
  [ -s "$dir/$kind/$scenario.stderr" ] || rm "$dir/$kind/$scenario.stderr"
}

build_variant() {
  local variant=$1
  local tfm=${variant%%-*}
  local rid dest=$here/$variant reference
  rid=$(variant_rid "$variant")
  reference=$(jit_reference "$variant")
  local props jprops runner=()
  mapfile -t props < <(variant_props "$variant")
  mapfile -t jprops < <(jit_props "$variant")
  if [ "$rid" = linux-arm64 ]; then
    command -v qemu-aarch64-static >/dev/null && [ -e "$ARM64_SYSROOT/lib/libc.so.6" ] \
      || die "$variant needs qemu-user-static and the arm64 cross packages (see the header)"
    runner=(qemu-aarch64-static -L "$ARM64_SYSROOT")
  fi
  if [ -n "$reference" ] && [ ! -d "$here/$reference/jit" ]; then
    die "$variant takes its JIT answers from $reference: generate that first"
  fi

  echo "== $variant: Native AOT publish for $rid (${props[*]:-default settings})"
  stage_sources
  # TargetFrameworks narrowed to one: restore then asks only for this framework's
  # packs (NuGet here serves linux-arm64 packs for net10.0 alone).
  (cd "$BUILD_ROOT" && dotnet publish -c Release -f "$tfm" -r "$rid" -o "$BUILD_ROOT/publish-aot" \
      -p:TargetFrameworks="$tfm" -p:PublishAot=true "${props[@]}" -nologo -clp:ErrorsOnly)
  local ilc_version
  ilc_version=$(python3 "$here/tools/aotcases.py" assets-version "$BUILD_ROOT/obj/project.assets.json" "$tfm" "$rid")

  rm -rf "$dest"
  mkdir -p "$dest/out"
  cp "$BUILD_ROOT/publish-aot/app" "$BUILD_ROOT/publish-aot/app.dbg" "$dest/"

  if [ -z "$reference" ]; then
    echo "== $variant: JIT reference build (${jprops[*]:-default settings})"
    mkdir -p "$dest/jit"
    rm -rf "$BUILD_ROOT/bin" "$BUILD_ROOT/obj"
    (cd "$BUILD_ROOT" && dotnet publish -c Release -f "$tfm" -r "$rid" --self-contained -o "$BUILD_ROOT/publish-jit" \
        -p:TargetFrameworks="$tfm" -p:PublishAot=false "${jprops[@]}" -nologo -clp:ErrorsOnly)
  fi

  echo "== $variant: running every scenario ${runner[*]:+under ${runner[*]}}"
  run_scenario "$dest" out list "${runner[@]}" ./app
  local scenario
  for scenario in $(tail -n +3 "$dest/out/list.stdout" | cut -f1); do
    run_scenario "$dest" out "$scenario" "${runner[@]}" ./app
    [ -n "$reference" ] || run_scenario "$dest" jit "$scenario" "$BUILD_ROOT/publish-jit/app"
  done

  python3 "$here/tools/aotcases.py" write-build-info "$dest" \
      --variant "$variant" --target-framework "$tfm" --runtime-identifier "$rid" \
      --sdk-version "$(dotnet --version)" --ilcompiler-version "$ilc_version" \
      ${reference:+--jit-reference-variant "$reference"} \
      ${runner[0]:+--emulator "${runner[*]}"} \
      --properties "PublishAot=true" "${props[@]#-p:}"
  python3 "$here/tools/aotcases.py" build "$dest"
}

variants=("$@")
[ ${#variants[@]} -gt 0 ] || variants=("${ALL_VARIANTS[@]}")
for v in "${variants[@]}"; do
  if [ "$v" = webapi ]; then
    "$here/webapi/generate.sh"   # the ASP.NET Core fixture has its own build and capture
  else
    build_variant "$v"
  fi
done
echo "== done: ${variants[*]}"
