#!/bin/sh
# The library must never print to stdout/stderr, end the process or read the
# clock: fail if its objects reference any C function that does (nm lists
# undefined symbols).
#   sh check_symbols.sh LIBRARY [ALLOWED]
# ALLOWED: names (a regular expression) that may be referenced all the same:
# the clock functions of NVIDIA's CUDA runtime, which a CUDA build links
# statically into the shared library (the archive, which holds the library's
# own objects only, is checked without exceptions).
set -u
lib=$1 allowed=${2:-}
command -v nm >/dev/null 2>&1 || { echo "nm not found: skipped"; exit 77; }
bad=$(nm -u "$lib" | awk '{print $NF}' | sed 's/@.*//' | sort -u |
      grep -E -x 'printf|vprintf|puts|putchar|fprintf|vfprintf|fputs|perror|exit|_exit|_Exit|abort|quick_exit|__printf_chk|__fprintf_chk|time|clock|clock_gettime|gettimeofday|ftime' |
      { if [ -n "$allowed" ]; then grep -E -v -x "$allowed"; else cat; fi; })
if [ -n "$bad" ]; then
    echo "libnanobragg references functions that print, exit or read the clock:"
    echo "$bad"
    exit 1
fi
echo "libnanobragg: no printing, exiting or clock functions referenced${allowed:+ (but the CUDA runtime's: $allowed)}"
