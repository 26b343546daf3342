#!/usr/bin/env bash
# Rebuilds the orders API fixture (testdata/nativeaot/webapi/) from src/.
#
# Needs what ../generate.sh needs: the .NET SDK 10 (NuGet must serve the ILCompiler,
# runtime and ASP.NET Core runtime packs) and the Debian packages
#   apt-get install clang zlib1g-dev llvm binutils python3
#
# Usage: generate.sh
#
# The sources are copied to $BUILD_ROOT (default /src/ordersapi) and built there, so
# the DWARF and PDB file names are the same on every machine that regenerates the
# fixture. The directory is wiped first. The tree under it mirrors the repository
# (webapi/src/ next to the scenario program's src/) because the project links
# BuildId.cs and TraceReport.cs from ../../src.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
nativeaot=$(cd "$here/.." && pwd)
tools=$nativeaot/tools
BUILD_ROOT=${BUILD_ROOT:-/src/ordersapi}
VARIANT=webapi-net10.0-linux-x64
TFM=net10.0
RID=linux-x64
project=$BUILD_ROOT/webapi/src

die() { echo "generate.sh: $*" >&2; exit 1; }
for tool in dotnet clang llvm-symbolizer llvm-objdump llvm-dwarfdump python3; do
  command -v "$tool" >/dev/null || die "$tool is not installed (see the header of this script)"
done

stage_sources() {
  rm -rf "$BUILD_ROOT"
  mkdir -p "$BUILD_ROOT/src" "$project"
  cp "$nativeaot/src/BuildId.cs" "$nativeaot/src/TraceReport.cs" "$BUILD_ROOT/src/"
  cp -r "$here/src/." "$project/"
  rm -rf "$project/bin" "$project/obj"
}

echo "== $VARIANT: Native AOT publish"
stage_sources
(cd "$project" && dotnet publish -c Release -o "$BUILD_ROOT/publish-aot" \
    -p:PublishAot=true -nologo -clp:ErrorsOnly)
ilc_version=$(python3 "$tools/aotcases.py" assets-version "$project/obj/project.assets.json" "$TFM" "$RID")

rm -rf "$here/out" "$here/jit" "$here/cases.json" "$here/cloudwatch-constructed" \
  "$here/build-info.json" "$here/bootstrap" "$here/bootstrap.dbg"
cp "$BUILD_ROOT/publish-aot/bootstrap" "$BUILD_ROOT/publish-aot/bootstrap.dbg" "$here/"

dbg_bytes=$(stat -c %s "$here/bootstrap.dbg")
[ "$dbg_bytes" -le $((80 * 1024 * 1024)) ] ||
  die "bootstrap.dbg is $dbg_bytes bytes, over the 80 MB the repository accepts; trim the program"

echo "== $VARIANT: JIT reference build"
rm -rf "$project/bin" "$project/obj"
(cd "$project" && dotnet publish -c Release --self-contained -o "$BUILD_ROOT/publish-jit" \
    -p:PublishAot=false -nologo -clp:ErrorsOnly)

echo "== $VARIANT: capturing every case over HTTP"
python3 "$tools/webapi.py" capture "$here" --executable "$here/bootstrap" --kind out
python3 "$tools/webapi.py" capture "$here" --executable "$BUILD_ROOT/publish-jit/bootstrap" --kind jit

python3 "$tools/aotcases.py" write-build-info "$here" \
    --variant "$VARIANT" --target-framework "$TFM" --runtime-identifier "$RID" \
    --sdk-version "$(dotnet --version)" --ilcompiler-version "$ilc_version" \
    --executable bootstrap --properties "PublishAot=true"
python3 "$tools/aotcases.py" build "$here"
echo "== done: $VARIANT"
