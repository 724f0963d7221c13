#!/bin/sh
# run_case.sh - reference-parity test driver (POSIX sh), registered with ctest
# by tests/parity/tests.cmake.
#
#   run_case.sh case NANOBRAGG COMPARE CASE_DIR SCRATCH_DIR
#       Copy CASE_DIR (all but expected/) into a fresh SCRATCH_DIR, run
#       NANOBRAGG with the words of CASE_DIR/args there (log: stdout.log),
#       require exit status 0, then check every file of CASE_DIR/expected
#       except stdout.txt against the file of the same name with COMPARE.
#   run_case.sh threads NANOBRAGG COMPARE SCRATCH_DIR CASE_DIR...
#       Run each case with OMP_NUM_THREADS=1 and =2; float.bin (and noise.img
#       when written) must be byte-identical (COMPARE --bitwise).
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
        exec "$prog" $args >stdout.log 2>&1
    )
    rc=$?
    set +f
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

run_case() {
    nb=$1 cmp=$2 case_dir=$3 scratch=$4
    [ -d "$case_dir/expected" ] || die "no expected/ in $case_dir"
    prepare "$scratch" "$case_dir"
    run_nb "$nb" "$scratch" "$case_dir" || finish 1 "$scratch"
    status=0
    for exp in "$case_dir"/expected/*; do
        name=$(basename "$exp")
        [ "$name" = stdout.txt ] && continue
        if [ ! -f "$scratch/$name" ]; then
            echo "FAIL: $name was not written"
            status=1
        elif ! "$cmp" "$exp" "$scratch/$name"; then
            status=1
        fi
    done
    finish "$status" "$scratch"
}

run_threads() {
    nb=$1 cmp=$2 scratch=$3
    shift 3
    status=0
    remove_dir "$scratch"
    for case_dir in "$@"; do
        name=$(basename "$case_dir")
        for t in 1 2; do
            prepare "$scratch/$name.t$t" "$case_dir"
            run_nb "$nb" "$scratch/$name.t$t" "$case_dir" "$t" || status=1
        done
        for f in float.bin noise.img; do
            one=$scratch/$name.t1/$f two=$scratch/$name.t2/$f
            if [ "$f" = noise.img ] && [ ! -f "$one" ] && [ ! -f "$two" ]; then
                continue
            fi
            printf '%s, 1 vs 2 threads: ' "$name"
            "$cmp" --bitwise "$one" "$two" || status=1
        done
    done
    finish "$status" "$scratch"
}

[ $# -ge 1 ] || die "usage: run_case.sh case|threads ..."
mode=$1
shift
case $mode in
case)
    [ $# -eq 4 ] || die "usage: run_case.sh case NANOBRAGG COMPARE CASE_DIR SCRATCH_DIR"
    run_case "$@"
    ;;
threads)
    [ $# -ge 4 ] || die "usage: run_case.sh threads NANOBRAGG COMPARE SCRATCH_DIR CASE_DIR..."
    run_threads "$@"
    ;;
*)
    die "unknown mode '$mode' (case or threads)"
    ;;
esac
