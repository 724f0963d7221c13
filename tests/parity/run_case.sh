#!/bin/sh
# run_case.sh - reference-parity test driver (POSIX sh), registered with ctest
# by tests/parity/tests.cmake.
#
#   run_case.sh case NANOBRAGG COMPARE CASE_DIR SCRATCH_DIR
#       Copy CASE_DIR (all but expected/) into fresh SCRATCH_DIR/t1 and /t2,
#       run NANOBRAGG with the words of CASE_DIR/args there with 1 and 2
#       OpenMP threads (log: stdout.log), require exit status 0, check every
#       file of CASE_DIR/expected except stdout.txt against the file of the
#       same name with COMPARE, and require the two runs' float.bin (and
#       noise.img) to be identical bit for bit.
#   run_case.sh isa NANOBRAGG COMPARE CASE_DIR SCRATCH_DIR
#       Run the case (1 thread) with every instruction set of the row kernel
#       the processor runs (NB_ISA=baseline, avx2, avx512): each must pass the
#       tolerances and all must write the same float.bin bit for bit.
#   run_case.sh single NANOBRAGG COMPARE CASE_DIR SCRATCH_DIR
#       The same command line with -precision single: its float.bin must keep
#       Pearson r >= 0.99999 against the expected one, and its sum must be
#       within 1e-4 relative of the expected image's (a scale error must
#       not pass; the worst case, xtalsize, is 3.7e-5 off: large N in float).
#   run_case.sh device NANOBRAGG COMPARE CASE_DIR SCRATCH_DIR [DEVICE [MAX_REL]]
#       The case on the CPU and twice with -device DEVICE (default emulate:
#       the GPU kernel run on the CPU), in double and with -precision single.
#       The device's double outputs must pass the tolerances, its single
#       float.bin keep Pearson r >= 0.99999 and the sum within 1e-4 relative
#       of the expected one (as "single"); its two runs must write the same
#       float.bin bit for bit; and its float.bin must equal the CPU's of the
#       same precision bit for bit (MAX_REL "bitwise", the default) or within
#       MAX_REL relative at every pixel (nanobragg-compare --max-rel).
#
# Exit status 0 when everything passes; the scratch directory is then removed.
# On failure it is kept for inspection and its path is printed.
set -u

die() {
    echo "run_case.sh: $*" >&2
    exit 1
}

remove_dir() {
    if [ -e "$1" ]; then
        chmod -R u+w "$1" 2>/dev/null
        rm -rf "$1"
    fi
}

# prepare DIR CASE_DIR: DIR becomes a fresh copy of the case's inputs.
prepare() {
    remove_dir "$1"
    mkdir -p "$1" || die "cannot create $1"
    for f in "$2"/*; do
        [ -e "$f" ] || continue
        [ "$(basename "$f")" = expected ] && continue
        cp -R "$f" "$1"/ || die "cannot copy $f to $1"
    done
    chmod -R u+w "$1"
}

# run_nb NANOBRAGG DIR CASE_DIR [THREADS]: run the case's command line in DIR.
run_nb() {
    [ -x "$1" ] || die "$1 is not built"
    case $1 in
    /*) prog=$1 ;;
    *) prog=$(pwd)/$1 ;;
    esac
    [ -f "$3/args" ] || die "no args file in $3"
    args=$(cat "$3/args")
    set -f # the words of args are not patterns
    (
        cd "$2" || exit 1
        if [ -n "${4:-}" ]; then
            OMP_NUM_THREADS=$4
            export OMP_NUM_THREADS
        fi
        # shellcheck disable=SC2086 # args is split into words on purpose
        exec "$prog" $args ${NB_EXTRA_ARGS:-} >stdout.log 2>&1
    )
    rc=$?
    set +f
    if grep -E -e "(Address|Leak|Thread|Memory)Sanitizer|runtime error:" "$2/stdout.log" >/dev/null 2>&1; then
        echo "FAIL: sanitizer report in $2/stdout.log"
        rc=1
    fi
    if [ "$rc" -ne 0 ]; then
        echo "FAIL: nanobragg exited with status $rc in $2; end of its log:"
        tail -n 20 "$2/stdout.log" 2>/dev/null
        return 1
    fi
    return 0
}

# finish STATUS DIR: remove DIR on success, say where it is on failure.
finish() {
    if [ "$1" -eq 0 ]; then
        remove_dir "$2"
    else
        echo "scratch directory kept: $2"
    fi
    exit "$1"
}

# check_outputs CMP CASE_DIR DIR: every expected file against DIR's.
check_outputs() {
    ok=0
    for exp in "$2"/expected/*; do
        name=$(basename "$exp")
        [ "$name" = stdout.txt ] && continue
        if [ ! -f "$3/$name" ]; then
            echo "FAIL: $name was not written in $3"
            ok=1
        elif ! "$1" "$exp" "$3/$name"; then
            ok=1
        fi
    done
    return $ok
}

# The case is run with 1 and with 2 threads: both must pass the tolerances,
# and their float (and noise) images must be identical bit for bit.
run_case() {
    nb=$1 cmp=$2 case_dir=$3 scratch=$4
    [ -d "$case_dir/expected" ] || die "no expected/ in $case_dir"
    remove_dir "$scratch"
    status=0
    for t in 1 2; do
        prepare "$scratch/t$t" "$case_dir"
        run_nb "$nb" "$scratch/t$t" "$case_dir" "$t" || finish 1 "$scratch"
        echo "-- OMP_NUM_THREADS=$t"
        check_outputs "$cmp" "$case_dir" "$scratch/t$t" || status=1
    done
    for f in float.bin noise.img; do
        [ -f "$scratch/t1/$f" ] || [ -f "$scratch/t2/$f" ] || continue
        printf '%s, 1 vs 2 threads: ' "$f"
        "$cmp" --bitwise "$scratch/t1/$f" "$scratch/t2/$f" || status=1
    done
    finish "$status" "$scratch"
}

# Every instruction set of the row kernel this processor runs (NB_ISA):
# each must pass the tolerances, and all must write the same float image bit
# for bit.  An instruction set the processor lacks is skipped (nanobragg
# refuses it with "not available").
run_isa() {
    nb=$1 cmp=$2 case_dir=$3 scratch=$4
    [ -d "$case_dir/expected" ] || die "no expected/ in $case_dir"
    remove_dir "$scratch"
    status=0 first=""
    for isa in baseline avx2 avx512; do
        prepare "$scratch/$isa" "$case_dir"
        NB_ISA=$isa
        export NB_ISA
        if ! run_nb "$nb" "$scratch/$isa" "$case_dir" 1 >"$scratch/$isa.run" 2>&1; then
            unset NB_ISA
            if grep "not available on this processor" "$scratch/$isa/stdout.log" >/dev/null 2>&1; then
                echo "-- NB_ISA=$isa: not available here, skipped"
                continue
            fi
            cat "$scratch/$isa.run"
            finish 1 "$scratch"
        fi
        unset NB_ISA
        echo "-- NB_ISA=$isa"
        check_outputs "$cmp" "$case_dir" "$scratch/$isa" || status=1
        if [ -z "$first" ]; then
            first=$isa
        else
            printf 'float.bin, %s vs %s: ' "$first" "$isa"
            "$cmp" --bitwise "$scratch/$first/float.bin" "$scratch/$isa/float.bin" || status=1
        fi
    done
    finish "$status" "$scratch"
}

# -precision single: the float image must keep Pearson r >= 0.99999 and its
# sum within 1e-4 relative.
run_single() {
    nb=$1 cmp=$2 case_dir=$3 scratch=$4
    remove_dir "$scratch"
    prepare "$scratch" "$case_dir"
    args=$(cat "$case_dir/args")
    set -f
    (
        cd "$scratch" || exit 1
        # shellcheck disable=SC2086 # args is split into words on purpose
        exec "$nb" $args -precision single >stdout.log 2>&1
    ) || { echo "FAIL: nanobragg exited with status $? in $scratch"; finish 1 "$scratch"; }
    set +f
    "$cmp" --pearson 0.99999 --sum-rel 1e-4 "$case_dir/expected/float.bin" "$scratch/float.bin"
    finish $? "$scratch"
}

# On the CPU and on a device, in both precisions (see the top of this file).
run_device() {
    nb=$1 cmp=$2 case_dir=$3 scratch=$4 dev=${5:-emulate} match=${6:-bitwise}
    [ -d "$case_dir/expected" ] || die "no expected/ in $case_dir"
    remove_dir "$scratch"
    status=0
    for prec in double single; do
        for run in cpu dev1 dev2; do
            dir=$scratch/$prec-$run
            NB_EXTRA_ARGS="-device $dev"
            [ "$run" = cpu ] && NB_EXTRA_ARGS="-device cpu"
            [ "$prec" = single ] && NB_EXTRA_ARGS="$NB_EXTRA_ARGS -precision single"
            export NB_EXTRA_ARGS
            prepare "$dir" "$case_dir"
            run_nb "$nb" "$dir" "$case_dir" || { unset NB_EXTRA_ARGS; finish 1 "$scratch"; }
            unset NB_EXTRA_ARGS
        done
        echo "-- $prec, -device $dev"
        if [ "$prec" = double ]; then
            check_outputs "$cmp" "$case_dir" "$scratch/$prec-dev1" || status=1
        else
            "$cmp" --pearson 0.99999 --sum-rel 1e-4 "$case_dir/expected/float.bin" "$scratch/$prec-dev1/float.bin" ||
                status=1
        fi
        printf 'float.bin, %s, two runs on %s: ' "$prec" "$dev"
        "$cmp" --bitwise "$scratch/$prec-dev1/float.bin" "$scratch/$prec-dev2/float.bin" || status=1
        printf 'float.bin, %s, %s against the CPU: ' "$prec" "$dev"
        if [ "$match" = bitwise ]; then
            "$cmp" --bitwise "$scratch/$prec-cpu/float.bin" "$scratch/$prec-dev1/float.bin" || status=1
        else
            "$cmp" --max-rel "$match" "$scratch/$prec-cpu/float.bin" "$scratch/$prec-dev1/float.bin" || status=1
        fi
    done
    finish "$status" "$scratch"
}

[ $# -ge 1 ] || die "usage: run_case.sh case NANOBRAGG COMPARE CASE_DIR SCRATCH_DIR"
mode=$1
shift
case $mode in
case)
    [ $# -eq 4 ] || die "usage: run_case.sh case NANOBRAGG COMPARE CASE_DIR SCRATCH_DIR"
    run_case "$@"
    ;;
single)
    [ $# -eq 4 ] || die "usage: run_case.sh single NANOBRAGG COMPARE CASE_DIR SCRATCH_DIR"
    run_single "$@"
    ;;
device)
    [ $# -ge 4 ] && [ $# -le 6 ] || die "usage: run_case.sh device NANOBRAGG COMPARE CASE_DIR SCRATCH_DIR [DEVICE [MAX_REL]]"
    run_device "$@"
    ;;
isa)
    [ $# -eq 4 ] || die "usage: run_case.sh isa NANOBRAGG COMPARE CASE_DIR SCRATCH_DIR"
    run_isa "$@"
    ;;
*)
    die "unknown mode '$mode' (expected: case, isa, single or device)"
    ;;
esac
