#!/bin/sh
# Regenerates the tiny ELF files (gcc 12, binutils 2.40 on Debian 12).
set -eu
cd "$(dirname "$0")"
cc="gcc -fdebug-prefix-map=$(pwd)=/src/tiny -ffreestanding -nostdlib -static -fno-asynchronous-unwind-tables -Wl,--build-id=sha1"
$cc -O2 -g -o tiny-dwarf5 tiny.c
$cc -O2 -gdwarf-4 -o tiny-dwarf4 tiny.c
$cc -O0 -g -o tiny-O0 tiny.c
$cc -O2 -g -gz -o tiny-zlib tiny.c
objcopy --compress-debug-sections=zstd tiny-dwarf5 tiny-zstd
objcopy --compress-debug-sections=zlib-gnu tiny-dwarf5 tiny-zdebug
objcopy --only-keep-debug tiny-dwarf5 tiny.debug
objcopy --strip-debug --add-gnu-debuglink=tiny.debug tiny-dwarf5 tiny-stripped
