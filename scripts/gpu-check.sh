#!/usr/bin/env bash
# gpu-check.sh - what a machine with an NVIDIA GPU runs to check the CUDA
# backend (docs/gpu.md), unattended, from a checkout:
#
#   1. build with -DNB_CUDA=ON (Release) into build-gpu/ (nvcc from $CUDA_HOME
#      or the PATH);
#   2. every reference case (tests/reference/cases) on the GPU, in double and
#      in single precision (tests/parity/run_case.sh device): the double
#      outputs within the corpus tolerances of the expected ones, the single
#      float image with Pearson r >= 0.99999 (sum within 1e-4); two GPU runs
#      identical bit for bit; the GPU's float image against the CPU's of the
#      same precision within MAX_REL relative at every pixel;
#   3. the benchmark (nanobragg-bench-gpu): W1_sources and W2_mosaic in double
#      and in single, and a 4096 x 4096 detector with 1000 mosaic domains in
#      single precision: median of 5 renders, set-up excluded, samples/s.
#
# Ends with a summary and exit status 0 only if every check passed.
# Everything is logged under the results folder (default gpu-check-results/).
#
#   scripts/gpu-check.sh [--device DEV] [--max-rel X] [--build DIR] [--results DIR]
#                        [--cases "NAME ..."] [--no-bench] [--jobs N]
#
# --device emulate runs the same checks on the CPU (the GPU kernel's code
# compiled for the host; then the images must equal the CPU's bit for bit:
# --max-rel bitwise), to try the script where there is no GPU.
set -u
cd "$(dirname "$0")/.." || exit 2
root=$(pwd)

device=cuda
max_rel=1e-6
build=build-gpu
results=gpu-check-results
cases=""
bench=1
jobs=$(nproc 2>/dev/null || echo 2)
while [ $# -gt 0 ]; do
    case $1 in
    --device) device=$2; shift 2 ;;
    --max-rel) max_rel=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    --results) results=$2; shift 2 ;;
    --cases) cases=$2; shift 2 ;;
    --no-bench) bench=0; shift ;;
    --jobs) jobs=$2; shift 2 ;;
    -h | --help) sed -n '2,27p' "$0"; exit 0 ;;
    *) echo "gpu-check.sh: unknown argument $1 (--help lists them)" >&2; exit 2 ;;
    esac
done
[ "$device" = emulate ] && [ "$max_rel" = 1e-6 ] && max_rel=bitwise

rm -rf "$results"
mkdir -p "$results" || exit 2
results=$(cd "$results" && pwd)
summary=$results/summary.txt
failures=0
say() { echo "$*" | tee -a "$summary"; }
fail() { say "FAIL: $*"; failures=$((failures + 1)); }

say "gpu-check: $(date -u '+%Y-%m-%d %H:%M:%S UTC'), $(git rev-parse --short HEAD 2>/dev/null || echo 'no git'), device $device"
if command -v nvidia-smi >/dev/null 2>&1; then
    nvidia-smi >"$results/nvidia-smi.txt" 2>&1
    say "GPU: $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | head -n 1)"
elif [ "$device" != emulate ]; then
    say "note: nvidia-smi not found"
fi

# 1. Build.
cuda=ON
[ "$device" = emulate ] && cuda=AUTO
say "== build ($build, NB_CUDA=$cuda)"
start=$(date +%s)
if ! cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DNB_CUDA=$cuda -DNB_PYTHON=OFF >"$results/configure.log" 2>&1; then
    tail -n 30 "$results/configure.log"
    fail "configure (see $results/configure.log)"
    say "gpu-check: FAILED ($failures)"
    exit 1
fi
if ! cmake --build "$build" -j "$jobs" --target nanobragg nanobragg-compare nanobragg-bench-gpu >"$results/build.log" 2>&1; then
    tail -n 30 "$results/build.log"
    fail "build (see $results/build.log)"
    say "gpu-check: FAILED ($failures)"
    exit 1
fi
say "built in $(($(date +%s) - start)) s: $(grep -m1 'CUDA backend' "$results/configure.log" | sed 's/^-- //')"
nb=$root/$build/nanobragg
cmp=$root/$build/nanobragg-compare

# Can the device render at all?  (A clear stop rather than 54 failures.)
probe=$results/probe
mkdir -p "$probe"
if ! (cd "$probe" && "$nb" -default_F 100 -cell 100 100 100 90 90 90 -N 5 -detpixels 16 -nonoise -nopgm \
        -device "$device" >log 2>&1); then
    cat "$probe/log"
    fail "nanobragg -device $device cannot render here"
    say "gpu-check: FAILED ($failures)"
    exit 1
fi
say "renders on: $(grep 'device: ' "$probe/log" | sed 's/^ *device: //')"

# 2. Every reference case: tolerances, determinism, against the CPU.
say "== reference cases on -device $device (double and single; against the CPU: $max_rel)"
[ -n "$cases" ] || cases=$(cd tests/reference/cases && ls)
passed=0 total=0
start=$(date +%s)
for name in $cases; do
    total=$((total + 1))
    log=$results/cases/$name.log
    mkdir -p "$results/cases"
    if sh tests/parity/run_case.sh device "$nb" "$cmp" "tests/reference/cases/$name" "$results/scratch/$name" \
            "$device" "$max_rel" >"$log" 2>&1; then
        passed=$((passed + 1))
        printf '  %-20s pass\n' "$name" | tee -a "$summary"
    else
        fail "case $name (see $log)"
        grep -E "FAIL|largest relative|pearson" "$log" | head -n 6 | sed 's/^/      /' | tee -a "$summary"
    fi
done
say "reference cases: $passed of $total passed in $(($(date +%s) - start)) s"

# 3. Throughput.
if [ "$bench" = 1 ]; then
    say "== throughput (nanobragg-bench-gpu: median of 5, set-up excluded)"
    for prec in double single; do
        if ! "$build/nanobragg-bench-gpu" --device "$device" --precision "$prec" --runs 5 >"$results/bench-$prec.txt" 2>&1; then
            cat "$results/bench-$prec.txt"
            fail "benchmark, $prec"
        else
            tee -a "$summary" <"$results/bench-$prec.txt"
        fi
    done
    if ! "$build/nanobragg-bench-gpu" --device "$device" --only none --large --runs 5 >"$results/bench-large.txt" 2>&1; then
        cat "$results/bench-large.txt"
        fail "benchmark, 4096 x 4096 x 1000 domains"
    else
        tee -a "$summary" <"$results/bench-large.txt"
    fi
fi

if [ "$failures" -eq 0 ]; then
    say "gpu-check: PASSED (results in $results)"
    exit 0
fi
say "gpu-check: FAILED: $failures check(s) (results in $results)"
exit 1
