#!/bin/sh
# run_trace.sh - nanoBragg's -printout lines, nanobragg against the original
# program's, for the rows of cases.txt:
#
#   name | reference case | extra args
#
# Each row runs the command line of tests/reference/cases/<case>/args plus
# the extra args, in a fresh copy of that case's input files, and compares
# the -printout lines (from the first " : stol = " line to the report's
# "solid angle" line, blank lines left out) with expected/<name>.txt.  With
# -progress in the args the run must also print no progress line.
#
#   run_trace.sh row NANOBRAGG CASES REFCASES EXPECTED SCRATCH NAME
#       Run row NAME; exit 0 when the lines are the expected ones.
#   run_trace.sh expect NANOBRAGG_ORIGINAL CASES REFCASES EXPECTED SCRATCH
#       Write expected/<name>.txt for every row with the original nanoBragg
#       (one thread).  This is how the expected files were made, once.  The
#       original prints its "further warnings will not be printed! " without
#       a newline, so its next line starts with it: that prefix is removed.
set -u

die() {
    echo "run_trace.sh: $*" >&2
    exit 1
}

trim() {
    printf '%s' "$1" | sed 's/^[[:space:]]*//;s/[[:space:]]*$//'
}

# printout_lines FILE: the -printout lines of a run's output
printout_lines() {
    sed 's/^WARNING: further warnings will not be printed! //' "$1" |
        awk '/ : stol = /{on=1} /^solid angle/{on=0} on && $0 != ""'
}

# run_row PROGRAM LINE DIR: run one row in DIR (created fresh); output in DIR/out
run_row() {
    refcase=$(trim "$(printf '%s\n' "$2" | cut -d'|' -f2)")
    extra=$(trim "$(printf '%s\n' "$2" | cut -d'|' -f3-)")
    [ -f "$REFCASES/$refcase/args" ] || die "no reference case $refcase"
    rm -rf "$3"
    mkdir -p "$3" || die "cannot make $3"
    for f in "$REFCASES/$refcase"/*; do
        [ -f "$f" ] && cp "$f" "$3/"
    done
    # shellcheck disable=SC2046,SC2086
    (cd "$3" && OMP_NUM_THREADS=1 "$1" $(cat args) $extra >out 2>&1)
}

[ $# -ge 6 ] || die "usage: run_trace.sh row|expect PROGRAM CASES REFCASES EXPECTED SCRATCH [NAME]"
mode=$1 PROGRAM=$2 CASES=$3 REFCASES=$4 EXPECTED=$5 SCRATCH=$6

case $mode in
row)
    [ $# -eq 7 ] || die "row needs NAME"
    name=$7
    line=$(grep -E "^[[:space:]]*$name[[:space:]]*[|]" "$CASES") || die "no row $name in $CASES"
    run_row "$PROGRAM" "$line" "$SCRATCH" || { cat "$SCRATCH/out"; die "$name: the run failed"; }
    printout_lines "$SCRATCH/out" >"$SCRATCH/printout"
    if ! diff "$EXPECTED/$name.txt" "$SCRATCH/printout" >"$SCRATCH/diff"; then
        echo "$name: -printout lines differ from the original's (< original, > nanobragg):"
        cat "$SCRATCH/diff"
        exit 1
    fi
    case $line in
    *-progress*)
        if grep -q "% done" "$SCRATCH/out"; then
            echo "$name: a progress line was printed with -printout"
            exit 1
        fi
        ;;
    esac
    echo "$name: $(wc -l <"$SCRATCH/printout") lines as the original's"
    rm -rf "$SCRATCH"
    ;;
expect)
    grep -E '^[[:space:]]*[A-Za-z0-9_.-]+[[:space:]]*[|]' "$CASES" | while IFS= read -r line; do
        name=$(trim "$(printf '%s\n' "$line" | cut -d'|' -f1)")
        run_row "$PROGRAM" "$line" "$SCRATCH/$name"
        printout_lines "$SCRATCH/$name/out" >"$EXPECTED/$name.txt"
        echo "$name: $(wc -l <"$EXPECTED/$name.txt") lines"
    done
    ;;
*)
    die "unknown mode $mode"
    ;;
esac
