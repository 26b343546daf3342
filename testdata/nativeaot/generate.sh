#!/usr/bin/env bash
# Rebuilds the Native AOT fixture corpus under testdata/nativeaot/ from src/.
#
# Needs: the .NET SDK 10 (it builds net8.0, net9.0 and net10.0; NuGet must serve the
# ILCompiler and runtime packs), and the Debian packages
#   apt-get install clang zlib1g-dev llvm binutils python3
# (clang links the native executable, zlib1g-dev for the runtime, llvm for
# llvm-symbolizer/llvm-objdump that build the manifest).
#
# Usage: generate.sh [VARIANT...]     (default: every variant)
#
# The sources are copied to $BUILD_ROOT (default /src/aotsample) and built there, so
# the DWARF and PDB file names are the same on every machine that regenerates the
# corpus. The directory is wiped first.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
BUILD_ROOT=${BUILD_ROOT:-/src/aotsample}
ALL_VARIANTS=(net8.0-linux-x64 net9.0-linux-x64 net10.0-linux-x64
  net10.0-linux-x64-nostacktrace net10.0-linux-x64-dwarf5-pathmap)

die() { echo "generate.sh: $*" >&2; exit 1; }
for tool in dotnet clang llvm-symbolizer llvm-objdump readelf python3; do
  command -v "$tool" >/dev/null || die "$tool is not installed (see the header of this script)"
done

# Prints the MSBuild properties of one variant, one -p: argument per line.
variant_props() {
  case "$1" in
    net8.0-linux-x64|net9.0-linux-x64|net10.0-linux-x64) ;;
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

# A variant whose frames print without method names cannot be matched with a JIT run
# by name; its JIT answers come from the same frames of the reference variant.
jit_reference() {
  case "$1" in
    net10.0-linux-x64-nostacktrace) echo net10.0-linux-x64 ;;
  esac
}

stage_sources() {
  rm -rf "$BUILD_ROOT"
  mkdir -p "$BUILD_ROOT"
  cp -r "$here/src/." "$BUILD_ROOT/"
}

build_variant() {
  local variant=$1
  local tfm=${variant%%-*}
  local rid=linux-x64
  local dest=$here/$variant
  local props jprops
  mapfile -t props < <(variant_props "$variant")
  mapfile -t jprops < <(jit_props "$variant")

  echo "== $variant: Native AOT publish (${props[*]:-default settings})"
  stage_sources
  (cd "$BUILD_ROOT" && dotnet publish -c Release -f "$tfm" -r "$rid" -o "$BUILD_ROOT/publish-aot" \
      -p:PublishAot=true "${props[@]}" -nologo -clp:ErrorsOnly)
  local ilc_version
  ilc_version=$(python3 "$here/tools/aotcases.py" assets-version "$BUILD_ROOT/obj/project.assets.json" "$tfm" "$rid")

  rm -rf "$dest"
  mkdir -p "$dest/out" "$dest/jit"
  cp "$BUILD_ROOT/publish-aot/app" "$BUILD_ROOT/publish-aot/app.dbg" "$dest/"

  local reference
  reference=$(jit_reference "$variant")
  if [ -z "$reference" ]; then
    echo "== $variant: JIT reference build (${jprops[*]:-default settings})"
    rm -rf "$BUILD_ROOT/bin" "$BUILD_ROOT/obj"
    (cd "$BUILD_ROOT" && dotnet publish -c Release -f "$tfm" -r "$rid" --self-contained -o "$BUILD_ROOT/publish-jit" \
        -p:PublishAot=false "${jprops[@]}" -nologo -clp:ErrorsOnly)
  else
    rmdir "$dest/jit"
  fi

  echo "== $variant: running every scenario"
  local scenario
  run_scenario "$dest" list "" ./app
  for scenario in $("$dest/app" list | tail -n +3 | cut -f1); do
    run_scenario "$dest" "$scenario" out ./app
    [ -n "$reference" ] || run_scenario "$dest" "$scenario" jit "$BUILD_ROOT/publish-jit/app"
  done

  python3 "$here/tools/aotcases.py" write-build-info "$dest" \
      --variant "$variant" --target-framework "$tfm" --runtime-identifier "$rid" \
      --sdk-version "$(dotnet --version)" --ilcompiler-version "$ilc_version" \
      ${reference:+--jit-reference-variant "$reference"} \
      --properties "PublishAot=true" "${props[@]#-p:}"
  python3 "$here/tools/aotcases.py" build "$dest"
}

# run_scenario DIR SCENARIO KIND PROGRAM: stdout, stderr (kept only when not empty)
# and exit code into DIR/KIND/ (DIR/out/ for the "list" command, KIND empty).
run_scenario() {
  local dir=$1 scenario=$2 kind=${3:-out} program=$4 code
  set +e
  (cd "$dir" && ulimit -c 0 && "$program" "$scenario" >"$kind/$scenario.stdout" 2>"$kind/$scenario.stderr")
  code=$?
  set -e
  echo "$code" >"$dir/$kind/$scenario.exit"
  [ -s "$dir/$kind/$scenario.stderr" ] || rm "$dir/$kind/$scenario.stderr"

}

variants=("$@")
[ ${#variants[@]} -gt 0 ] || variants=("${ALL_VARIANTS[@]}")
for v in "${variants[@]}"; do
  build_variant "$v"
done
echo "== done: ${variants[*]}"
