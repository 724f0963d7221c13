#!/bin/sh
# library/install: install the build into a scratch prefix, then build every
# examples/*.c against it the ways examples/README.md gives and run it (it
# must exit 0 and print "max <number>"):
#   pkg-config, shared library (run as it is: the .pc file gives an rpath);
#   pkg-config --static, with the archive named (-l:libnanobragg.a), since the
#     linker prefers libnanobragg.so when both are there;
#   CMake find_package(nanobragg) with CMAKE_PREFIX_PATH (examples/CMakeLists.txt).
# The modules are installed in <libdir>/nanobragg, and the installed program
# finds the NeXus writer's there and writes a file.
# Then check that the installed shared library exports only the nb_ API
# (nm -D).  Names the toolchain adds are ignored: those starting with '_'
# (_init, _fini, _edata, ...) and the locks of OpenMP critical sections and
# reductions, .gomp_critical_user_*, which clang makes global.
#
#   sh check_install.sh BUILD SOURCE CC GENERATOR SCRATCH [FLAGS]
# FLAGS: extra compile and link flags for the examples (-fsanitize=... when the
# library was built with the sanitizers).  The scratch folder is removed when
# the test passes.  Exit 77 (skipped) without pkg-config or nm.
set -u
build=$1 src=$2 cc=$3 generator=$4 scratch=$5 flags=${6:-}

command -v pkg-config >/dev/null 2>&1 || { echo "SKIP: pkg-config not found"; exit 77; }
command -v nm >/dev/null 2>&1 || { echo "SKIP: nm not found"; exit 77; }

fail() {
    echo "FAIL: $*"
    exit 1
}

# run LOG COMMAND...: COMMAND must succeed; its output goes to LOG, shown on failure.
run() {
    log=$1
    shift
    if ! "$@" >"$log" 2>&1; then
        cat "$log"
        fail "$*"
    fi
}

# check_example PROGRAM: it ran (run) and printed its maximum as a number.
check_example() {
    grep -Eq '^max [0-9][0-9.eE+-]*( |$)' "$scratch/$1.out" ||
        { cat "$scratch/$1.out"; fail "$1 printed no maximum"; }
    echo "$1: $(grep -E '^max ' "$scratch/$1.out")"
}

# needs_shared PROGRAM: true if PROGRAM needs libnanobragg.so.* (readelf -d).
needs_shared() {
    readelf -d "$1" | grep -q 'NEEDED.*libnanobragg\.so'
}

rm -rf "$scratch"
mkdir -p "$scratch" || fail "cannot create $scratch"
prefix=$scratch/prefix
run "$scratch/install.log" cmake --install "$build" --prefix "$prefix"

pc=$(find "$prefix" -name nanobragg.pc -path '*/pkgconfig/*' | head -n 1)
[ -n "$pc" ] || fail "no pkgconfig/nanobragg.pc under $prefix"
PKG_CONFIG_PATH=$(dirname "$pc")
export PKG_CONFIG_PATH
libdir=$(pkg-config --variable=libdir nanobragg) || fail "pkg-config cannot read $pc"
for file in "$prefix/bin/nanobragg" "$prefix/bin/nanobragg-refine" "$prefix/include/nanobragg.h" "$libdir/libnanobragg.a" \
            "$libdir/libnanobragg.so"; do
    [ -e "$file" ] || fail "not installed: $file"
done
[ -z "$(find "$prefix" -name 'nanobragg-bench*' -o -name 'nanobragg-srcgen*')" ] ||
    fail "a bench program was installed"

# The modules (a build with HDF5, MPI) in <libdir>/nanobragg, where the
# installed program finds them (bin/../lib/nanobragg: the prefix is not the
# configured one): it writes a NeXus file.
for module in libnanobragg-nexus.so libnanobragg-mpi.so; do
    if [ -e "$build/$module" ]; then
        [ -e "$libdir/nanobragg/$module" ] || fail "not installed: $libdir/nanobragg/$module"
    fi
done
if [ -e "$build/libnanobragg-nexus.so" ]; then
    mkdir -p "$scratch/nexus" || fail "mkdir $scratch/nexus"
    run "$scratch/nexus.out" "$prefix/bin/nanobragg" -hkl "$src/tests/cli/fixtures/P1.hkl" -cell 40 50 60 90 90 90 \
        -N 2 -distance 40 -detpixels 8 -nonoise -floatfile "$scratch/nexus/f.bin" -nexusfile "$scratch/nexus/x.nxs"
    [ -s "$scratch/nexus/x.nxs" ] || fail "the installed nanobragg wrote no NeXus file"
fi

cflags=$(pkg-config --cflags nanobragg)
libs=$(pkg-config --libs nanobragg)
static_libs=$(pkg-config --static --libs nanobragg |
              awk '{ for (i = 1; i <= NF; i++) if ($i == "-lnanobragg") $i = "-l:libnanobragg.a"; print }')
examples=$(ls "$src"/examples/*.c) || fail "no examples/*.c"
for example in $examples; do
    name=$(basename "$example" .c)
    # Word splitting of the flags is intended.
    # shellcheck disable=SC2086
    run "$scratch/$name.build" "$cc" $flags $cflags -o "$scratch/$name" "$example" $libs
    run "$scratch/$name.out" env -u LD_LIBRARY_PATH "$scratch/$name"
    check_example "$name"
    # shellcheck disable=SC2086
    run "$scratch/$name-static.build" "$cc" $flags $cflags -o "$scratch/$name-static" \
        "$example" $static_libs
    run "$scratch/$name-static.out" "$scratch/$name-static"
    check_example "$name-static"
    if command -v readelf >/dev/null 2>&1; then
        needs_shared "$scratch/$name" || fail "$name does not use libnanobragg.so"
        ! needs_shared "$scratch/$name-static" || fail "$name-static uses libnanobragg.so"
    fi
done

# CMake: examples/CMakeLists.txt finds the installed package.
run "$scratch/cmake.log" cmake -S "$src/examples" -B "$scratch/cmake" -G "$generator" \
    -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_C_COMPILER="$cc" -DCMAKE_C_FLAGS="$flags"
grep -q "^nanobragg_DIR:PATH=$prefix/" "$scratch/cmake/CMakeCache.txt" ||
    fail "find_package(nanobragg) did not find the package under $prefix"
run "$scratch/cmake-build.log" cmake --build "$scratch/cmake"
for name in simulate simulate-static; do
    run "$scratch/cmake-$name.out" "$scratch/cmake/$name"
    check_example "cmake-$name"
done

# Exports: the nb_ API only.
so=$libdir/libnanobragg.so
nm -D --defined-only "$so" >"$scratch/exports" 2>&1 || { cat "$scratch/exports"; fail "nm -D $so"; }
grep -q ' nb_simulate$' "$scratch/exports" || fail "$so does not export nb_simulate"
others=$(awk 'NF >= 3 { print $3 }' "$scratch/exports" | sed 's/@.*//' | grep -v -E '^(nb_|_|\.gomp_critical_user_)')
[ -z "$others" ] || fail "$so exports names outside the nb_ API: $(echo $others)"
echo "$(basename "$so"): exports $(grep -c ' nb_' "$scratch/exports") nb_ names and nothing else"

rm -rf "$scratch"
