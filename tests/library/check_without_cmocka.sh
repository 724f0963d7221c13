#!/bin/sh
# library/without-cmocka: cmocka is needed only by the tests that use it.
# Configure the project with cmocka hidden (CMAKE_DISABLE_FIND_PACKAGE_cmocka)
# and the tests on: the configure step must say that the cmocka tests are left
# out, still register the others (cli/...) and none of unit/..., and the
# program must build (a Debug build, the quickest; without the CUDA backend,
# which this check is not about).
#
#   sh check_without_cmocka.sh SOURCE CC GENERATOR SCRATCH
# The scratch folder is removed when the test passes.
set -u
src=$1 cc=$2 generator=$3 scratch=$4

fail() {
    echo "FAIL: $*"
    exit 1
}

rm -rf "$scratch"
mkdir -p "$scratch" || fail "cannot create $scratch"
b=$scratch/build
if ! cmake -S "$src" -B "$b" -G "$generator" -DCMAKE_C_COMPILER="$cc" -DCMAKE_BUILD_TYPE=Debug \
        -DCMAKE_DISABLE_FIND_PACKAGE_cmocka=ON -DNB_CUDA=OFF >"$scratch/configure.log" 2>&1; then
    cat "$scratch/configure.log"
    fail "configuring without cmocka"
fi
grep -q "cmocka not found" "$scratch/configure.log" ||
    { cat "$scratch/configure.log"; fail "no 'cmocka not found' message"; }
(cd "$b" && ctest -N) >"$scratch/tests.txt" 2>&1 || { cat "$scratch/tests.txt"; fail "ctest -N"; }
grep -q ' cli/' "$scratch/tests.txt" || fail "the cli tests were not registered"
! grep -q ' unit/' "$scratch/tests.txt" || fail "unit tests were registered without cmocka"
if ! cmake --build "$b" --target nanobragg >"$scratch/build.log" 2>&1; then
    tail -n 40 "$scratch/build.log"
    fail "building nanobragg without cmocka"
fi
"$b/nanobragg" --version >"$scratch/version.txt" 2>&1 ||
    { cat "$scratch/version.txt"; fail "nanobragg --version"; }
echo "configured and built without cmocka: $(grep -c ' cli/' "$scratch/tests.txt") cli tests registered, no unit tests"
rm -rf "$scratch"
