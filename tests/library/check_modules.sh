#!/bin/sh
# library/no-hdf5-mpi-linked, library/modules-missing: HDF5 and MPI are
# loadable modules (src/module.h), not libraries the program or the library
# link.
#
#   sh check_modules.sh needed READELF FILE...
#     no FILE (nanobragg, libnanobragg.so) has libhdf5 or libmpi among its
#     NEEDED entries, and each names at least libc (the entries were read).
#   sh check_modules.sh missing PROGRAM FIXTURES SCRATCH NEXUS MPI
#     a copy of PROGRAM alone in SCRATCH (no module beside it): -nexusfile
#     (NEXUS = 1: a build with HDF5) and a start under a launcher (MPI = 1)
#     fail with exit 1 and a message naming -nexusfile (or the launcher),
#     the module's path and the loader's reason, and leave no file.
# Exit 77 (skipped) when the tool or the feature is missing.
set -u
mode=$1
shift
fail() { echo "FAIL: $*"; exit 1; }

if [ "$mode" = needed ]; then
    readelf=$1
    shift
    command -v "$readelf" >/dev/null 2>&1 || { echo "SKIPPED: no readelf (Debian: binutils)"; exit 77; }
    for file in "$@"; do
        needed=$("$readelf" -d "$file" 2>&1) || fail "readelf -d $file: $needed"
        echo "$needed" | grep -q 'NEEDED.*\[libc\.so' || fail "$file: no NEEDED libc entry: $needed"
        bad=$(echo "$needed" | grep NEEDED | grep -E '\[lib(hdf5|mpi)[^]]*\]')
        [ -z "$bad" ] || fail "$file links $bad"
        echo "$(basename "$file"): $(echo "$needed" | grep -c NEEDED) NEEDED entries, no libhdf5 or libmpi"
    done
    exit 0
fi

program=$1 fixtures=$2 scratch=$3 nexus=$4 mpi=$5
[ "$nexus" = 1 ] || [ "$mpi" = 1 ] || { echo "SKIPPED: built without HDF5 and MPI (no modules)"; exit 77; }
rm -rf "$scratch"
mkdir -p "$scratch/bin" "$scratch/out" || fail "cannot make $scratch"
cp "$program" "$scratch/bin/nanobragg" || fail "cannot copy $program"
args="-hkl $fixtures/P1.hkl -cell 40 50 60 90 90 90 -N 2 -distance 40 -detpixels 8 -nonoise"
cd "$scratch/out" || fail "cd $scratch/out"

# expect WHAT PATTERN...: the last run failed with exit 1, its stderr holds
# every pattern, and nothing was written
expect() {
    what=$1
    shift
    [ "$rc" = 1 ] || fail "$what: exit $rc, not 1; stderr: $(cat ../err)"
    for pattern in "$@"; do
        grep -q -e "$pattern" ../err || fail "$what: stderr lacks '$pattern': $(cat ../err)"
    done
    [ -z "$(ls -A .)" ] || fail "$what: files were left: $(ls -A .)"
    echo "$what: $(cat ../err)"
}

if [ "$nexus" = 1 ]; then
    # shellcheck disable=SC2086
    ../bin/nanobragg $args -nexusfile x.nxs >/dev/null 2>../err
    rc=$?
    expect "-nexusfile" "error: -nexusfile x.nxs" "$scratch/bin/libnanobragg-nexus.so" \
        "No such file or directory"
    : >../bin/libnanobragg-nexus.so # present, not a module
    # shellcheck disable=SC2086
    ../bin/nanobragg $args -nexusfile x.nxs >/dev/null 2>../err
    rc=$?
    expect "-nexusfile, an empty module" "error: -nexusfile x.nxs" "$scratch/bin/libnanobragg-nexus.so" "too short"
fi
if [ "$mpi" = 1 ]; then
    # shellcheck disable=SC2086
    env OMPI_COMM_WORLD_SIZE=1 ../bin/nanobragg $args -floatfile f.bin >/dev/null 2>../err
    rc=$?
    expect "a launcher's start" "started by an MPI launcher (OMPI_COMM_WORLD_SIZE is set)" \
        "$scratch/bin/libnanobragg-mpi.so" "No such file or directory"
fi
cd / && rm -rf "$scratch"
