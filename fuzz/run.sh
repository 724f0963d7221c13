#!/bin/sh
# fuzz/run.sh [SECONDS] [TARGET...] - build the libFuzzer targets (ASan+UBSan)
# into build-fuzz/ if needed and fuzz each one for SECONDS (default 20) on a
# scratch COPY of its seed corpus fuzz/corpus/<target>/, so the committed
# corpus never grows.  SECONDS=0 only replays the corpus (regression run: the
# crash-* inputs in it must pass).
#
# Prints one line per target: executions and result.  Exits 1 if any target
# found a crash, leak, timeout or out-of-memory (artefacts stay in the scratch
# directory it names), 2 on a build failure, and 0 with a "skipped" line when
# clang or its libFuzzer runtime is not available.  fuzz_mtz and fuzz_sfcif
# (the MTZ and mmCIF readers) need gemmi's headers and clang++: without them
# each prints a "skipped" line saying why and the others run.  Their seeds
# are made by fuzz/make_sf_seeds.py.
#
# Environment: FUZZ_CC (default clang), FUZZ_CXX (default the clang++ beside
# FUZZ_CC), FUZZ_BUILD (default <repo>/build-fuzz), FUZZ_SCRATCH (default a
# new mktemp -d directory).
# The flag dictionary fuzz/dict/flags.dict lists every name in app/flags.c:
#   grep -oE '^    [A-Z0-9]+\("(-[^"]*)"' app/flags.c | sed -E 's/.*\("([^"]*)"/"\1"/'
set -u

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
seconds=${1:-20}
[ $# -gt 0 ] && shift
targets=${*:-"hkl fdump sources matrix smv flags params mtz sfcif"}
cc=${FUZZ_CC:-clang}
build=${FUZZ_BUILD:-$root/build-fuzz}

case $seconds in
    ''|*[!0-9]*) echo "usage: $0 [SECONDS] [TARGET...]" >&2; exit 2 ;;
esac

scratch=
skip() {
    echo "fuzz: skipped: $*"
    [ -n "$scratch" ] && [ -z "${FUZZ_SCRATCH:-}" ] && rm -rf "$scratch"
    exit 0
}

command -v "$cc" >/dev/null 2>&1 || skip "$cc not found"
command -v cmake >/dev/null 2>&1 || skip "cmake not found"

scratch=${FUZZ_SCRATCH:-$(mktemp -d "${TMPDIR:-/tmp}/nbfuzz.XXXXXX")}
mkdir -p "$scratch"

if [ ! -f "$build/CMakeCache.txt" ]; then
    set -- -DCMAKE_C_COMPILER="$cc"
    [ -n "${FUZZ_CXX:-}" ] && set -- "$@" -DCMAKE_CXX_COMPILER="$FUZZ_CXX"
    if ! cmake -S "$here" -B "$build" "$@" >"$scratch/configure.log" 2>&1; then
        if grep -q "libFuzzer\|need clang" "$scratch/configure.log"; then
            rm -f "$build/CMakeCache.txt"
            skip "$(grep -m1 -o 'this clang cannot link -fsanitize=fuzzer\|fuzz targets need clang' "$scratch/configure.log")"
        fi
        cat "$scratch/configure.log" >&2
        echo "fuzz: configuring $build failed" >&2
        exit 2
    fi
fi
if ! cmake --build "$build" >"$scratch/build.log" 2>&1; then
    cat "$scratch/build.log" >&2
    echo "fuzz: building $build failed" >&2
    exit 2
fi

ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=1:abort_on_error=0"
UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}print_stacktrace=1:halt_on_error=1"
export ASAN_OPTIONS UBSAN_OPTIONS

failed=0
for t in $targets; do
    exe=$build/fuzz_$t
    if grep -q "^$t: " "$build/skipped.txt" 2>/dev/null; then
        printf 'fuzz_%-8s %10s execs  skipped: %s\n' "$t" - "$(sed -n "s/^$t: //p" "$build/skipped.txt")"
        continue
    fi
    if [ ! -x "$exe" ] || [ ! -d "$here/corpus/$t" ]; then
        echo "fuzz: unknown target '$t'" >&2
        exit 2
    fi
    work=$scratch/$t
    rm -rf "$work"
    mkdir -p "$work/corpus" "$work/artifacts"
    cp "$here/corpus/$t"/* "$work/corpus/"
    set -- -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
        -artifact_prefix="$work/artifacts/"
    if [ "$seconds" -eq 0 ]; then
        set -- "$@" -runs=0
    else
        set -- "$@" -max_total_time="$seconds"
    fi
    [ -f "$here/dict/$t.dict" ] && set -- "$@" -dict="$here/dict/$t.dict"
    "$exe" "$@" "$work/corpus" >"$work/log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log" | tail -n 1)
    found=$(ls "$work/artifacts" 2>/dev/null | grep -E '^(crash|leak|timeout|oom)-' | head -n 1)
    if [ $rc -eq 0 ] && [ -z "$found" ]; then
        result=ok
    else
        failed=1
        result="FAILED (exit $rc${found:+, $work/artifacts/$found}; log $work/log)"
    fi
    printf 'fuzz_%-8s %10s execs  %s\n' "$t" "${execs:-?}" "$result"
done

if [ $failed -ne 0 ]; then
    echo "fuzz: findings kept in $scratch"
    exit 1
fi
[ -z "${FUZZ_SCRATCH:-}" ] && rm -rf "$scratch"
exit 0
