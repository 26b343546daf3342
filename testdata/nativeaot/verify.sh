#!/usr/bin/env bash
# Checks the committed Native AOT corpus without .NET: runs every committed
# executable (arm64 under qemu-user when it is installed), compares its output
# with the committed output byte for byte, checks that executable, .dbg and printed
# build IDs agree, and recomputes every manifest (symbols, llvm-symbolizer oracle,
# JIT matches) and CloudWatch sample from the committed files.
#
# Needs: python3, llvm (llvm-symbolizer, llvm-objdump, llvm-dwarfdump); for arm64
# runs, qemu-user-static and libc6-arm64-cross. .ci/run installs them.
#
# Usage: verify.sh [VARIANT_DIR...]   (default: every variant and webapi/)
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
missing=()
for tool in python3 llvm-symbolizer llvm-objdump llvm-dwarfdump; do
  command -v "$tool" >/dev/null || missing+=("$tool")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "verify.sh: missing ${missing[*]}; apt-get install python3 llvm" >&2
  exit 2
fi

dirs=("$@")
if [ ${#dirs[@]} -eq 0 ]; then
  for d in "$here"/*/build-info.json; do dirs+=("$(dirname "$d")"); done
fi
[ ${#dirs[@]} -gt 0 ] || { echo "verify.sh: no variant directories under $here" >&2; exit 2; }

passed=0 failed=0
for d in "${dirs[@]}"; do
  if [ "$(basename "$d")" = webapi ]; then  # a server, captured over HTTP
    python3 "$here/tools/webapi.py" verify "$d"
  else
    python3 "$here/tools/aotcases.py" verify "$d"
  fi
  if [ $? -eq 0 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
done
echo "verify.sh: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
