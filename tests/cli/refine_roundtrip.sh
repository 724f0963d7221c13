#!/bin/sh
# nanobragg-refine against images nanobragg simulated (POSIX sh and awk).
#
#   refine_roundtrip.sh lsq NANOBRAGG REFINE
#       A still of an orthorhombic crystal (50 x 60 x 70 A, misset 10 20 30,
#       6 x 6 x 6 cells, water) on 128 x 128 pixels of 0.2 mm at 50 mm, as
#       raw floats; refined from distance 50.5 mm and N = 7 (distance_mm,
#       Na, Nb, Nc; least squares on the noise-free image): the distance
#       within 0.01 mm of 50, N within 1% of 6, converged; the model image
#       at the refined values matches the observed one.
#   refine_roundtrip.sh poisson NANOBRAGG REFINE
#       The same still with Poisson noise, as nanobragg's SMV noise image
#       (counts plus the ADC offset 40), refined from distance 50.3 mm and
#       the beam centre 0.1 mm off (Poisson loss): the distance within 0.05
#       mm, the beam centre within 0.01 mm and N within 2% of the truth, and
#       each error within 5 of the reported standard errors.
#   refine_roundtrip.sh overload NANOBRAGG REFINE
#       The noise image of a still 20 times brighter, whose strongest spots
#       overload (65535 counts): those pixels are left out (and said so),
#       and the distance and N come out as above.
#   refine_roundtrip.sh hkl NANOBRAGG REFINE
#       With -hkl: the structure factors are read once, no Fdump.bin cache
#       is written.
#   refine_roundtrip.sh interrupt NANOBRAGG REFINE
#       SIGINT during a long refinement: exit 130, "interrupted: no output
#       written", and no output file (no temporary either).
set -u
[ $# -eq 3 ] || { echo "usage: refine_roundtrip.sh lsq|poisson|overload|hkl|interrupt NANOBRAGG REFINE" >&2; exit 2; }
mode=$1 nb=$2 refine=$3
case $nb in /*) ;; *) nb=$(pwd)/$nb ;; esac
case $refine in /*) ;; *) refine=$(pwd)/$refine ;; esac
dir=$(mktemp -d "${TMPDIR:-/tmp}/nb_refine.XXXXXX") || exit 1
trap 'rm -rf "$dir"' EXIT
cd "$dir" || exit 1

fail() {
    echo "FAIL: $*"
    for f in out.txt err.txt table.txt; do
        [ -f $f ] && { echo "--- $f"; tail -20 $f; }
    done
    exit 1
}

MODEL="-default_F 100 -cell 50 60 70 90 90 90 -misset 10 20 30 -lambda 1 -pixel 0.2 -detpixels 128
       -oversample 2 -water 0.02 -fluence 2e29"

# value NAME COLUMN: a column of the table's line for NAME (2: value, 3: std_error)
value() {
    awk -v n="$1" -v c="$2" '$1 == n { print $c; found = 1 } END { if (!found) print "missing" }' table.txt
}

# within NAME TRUTH LIMIT [SIGMAS]: |value - truth| <= LIMIT, and, with
# SIGMAS, <= SIGMAS standard errors
within() {
    awk -v n="$1" -v v="$(value "$1" 2)" -v se="$(value "$1" 3)" -v t="$2" -v lim="$3" -v k="${4:-0}" 'BEGIN {
        d = v - t; if (d < 0) d = -d
        if (v == "missing" || d > lim) { printf "%s = %s, not within %g of %g\n", n, v, lim, t; exit 1 }
        if (k > 0 && !(d <= k * se)) { printf "%s = %s is %g from %g: more than %g standard errors (%s)\n", n, v, d, t, k, se; exit 1 }
        printf "%s = %s (truth %g, standard error %s)\n", n, v, t, se
    }'
}

case $mode in
lsq)
    # shellcheck disable=SC2086 # MODEL is a list of words
    "$nb" $MODEL -N 6 -distance 50 -floatfile obs.bin -nonoise -nopgm -intfile int.img >out.txt 2>err.txt ||
        fail "nanobragg failed"
    # shellcheck disable=SC2086
    "$refine" $MODEL -N 7 -distance 50.5 -observed obs.bin -refine distance_mm,Na,Nb,Nc -loss lsq \
        -refined table.txt -modelfile model.bin -modelimg model.img >out.txt 2>err.txt ||
        fail "nanobragg-refine exited $?"
    grep -q "^refine step 1: loss" out.txt || fail "no progress line"
    grep -q "^# name value std_error start" out.txt || fail "no table on stdout"
    within distance_mm 50 0.01 || fail "distance"
    for n in Na Nb Nc; do
        within $n 6 0.06 || fail "$n"
    done
    [ "$(value distance_mm 4)" = 50.5 ] || fail "start of distance_mm is $(value distance_mm 4), not 50.5"
    [ "$(value converged 2)" = 1 ] || fail "not converged"
    [ "$(value iterations 2)" -ge 1 ] || fail "no iteration"
    [ "$(wc -c <model.bin)" -eq 65536 ] || fail "model.bin is not 128 x 128 floats"
    [ "$(wc -c <model.img)" -eq $((512 + 2 * 128 * 128)) ] || fail "model.img is not a 128 x 128 SMV image"
    # the model at the refined values is the observation, to a part in 10^4 of the brightest pixel
    { od -An -v -f obs.bin >obs.txt && od -An -v -f model.bin >model.txt; } || fail "od cannot read the images"
    tr -s ' ' '\n' <obs.txt | grep . >obs.col && tr -s ' ' '\n' <model.txt | grep . >model.col
    paste obs.col model.col | awk '{ d = $1 - $2; if (d < 0) d = -d; if (d > dmax) dmax = d; if ($1 > max) max = $1; n++ }
        END { printf "model vs observed: %d pixels, largest difference %g of %g\n", n, dmax, max
              exit !(n == 16384 && dmax <= 1e-4 * max) }' || fail "the model image differs from the observed one"
    ;;
poisson)
    # shellcheck disable=SC2086
    "$nb" $MODEL -N 6 -distance 50 -seed 7 -noisefile noise.img -floatfile f.bin -nopgm -intfile int.img \
        >out.txt 2>err.txt || fail "nanobragg failed"
    # shellcheck disable=SC2086
    "$refine" $MODEL -N 6 -distance 50.3 -Xbeam 13.0 -Ybeam 12.8 -observed noise.img \
        -refine distance_mm,Xbeam_mm,Ybeam_mm,Na,Nb,Nc -quiet -refined table.txt >out.txt 2>err.txt ||
        fail "nanobragg-refine exited $?"
    [ -s out.txt ] && fail "-quiet with -refined printed to stdout"
    within distance_mm 50 0.05 5 || fail "distance"
    within Xbeam_mm 12.9 0.01 5 || fail "Xbeam"
    within Ybeam_mm 12.9 0.01 5 || fail "Ybeam"
    for n in Na Nb Nc; do
        within $n 6 0.12 5 || fail "$n"
    done
    ;;
overload)
    # shellcheck disable=SC2086
    "$nb" $MODEL -fluence 4e30 -N 6 -distance 50 -seed 7 -noisefile noise.img -floatfile f.bin -nopgm \
        -intfile int.img >out.txt 2>err.txt || fail "nanobragg failed"
    grep -q "photons on noise image ([1-9][0-9]* overloads)" out.txt || fail "no overloaded pixel to leave out"
    # shellcheck disable=SC2086
    "$refine" $MODEL -fluence 4e30 -N 6 -distance 50.3 -observed noise.img -refine distance_mm,Na,Nb,Nc \
        -refined table.txt >out.txt 2>err.txt || fail "nanobragg-refine exited $?"
    grep -q "^refining .*; [1-9][0-9]* overloaded pixels left out" out.txt || fail "overloads not reported"
    within distance_mm 50 0.05 5 || fail "distance"
    for n in Na Nb Nc; do
        within $n 6 0.12 5 || fail "$n"
    done
    ;;
hkl)
    printf '0 0 0 100\n1 0 0 80\n0 1 0 60\n0 0 1 40\n1 1 1 30\n' >P1.hkl
    # shellcheck disable=SC2086
    "$nb" $MODEL -N 6 -distance 50 -hkl P1.hkl -floatfile obs.bin -nonoise -nopgm -intfile int.img \
        >out.txt 2>err.txt || fail "nanobragg failed"
    rm -f Fdump.bin
    # shellcheck disable=SC2086
    "$refine" $MODEL -N 6 -distance 50.2 -hkl P1.hkl -observed obs.bin -refine distance_mm -loss lsq \
        -refined table.txt >out.txt 2>err.txt || fail "nanobragg-refine exited $?"
    [ -e Fdump.bin ] && fail "Fdump.bin was written"
    within distance_mm 50 0.01 || fail "distance"
    ;;
interrupt)
    # shellcheck disable=SC2086
    "$nb" $MODEL -N 6 -distance 50 -floatfile obs.bin -nonoise -nopgm -intfile int.img >out.txt 2>err.txt ||
        fail "nanobragg failed"
    # oversampled 40-fold: each evaluation of the model takes seconds
    # shellcheck disable=SC2086
    "$refine" $MODEL -oversample 40 -N 7 -distance 50.5 -observed obs.bin -refine distance_mm,Na -loss lsq \
        -refined table.txt -modelfile model.bin >out.txt 2>err.txt &
    pid=$!
    i=0
    while ! grep -q "^refining" out.txt 2>/dev/null; do
        i=$((i + 1))
        [ $i -gt 300 ] && { kill -9 $pid; fail "no 'refining' line after 30 s"; }
        sleep 0.1
    done
    sleep 0.5
    kill -INT $pid
    wait $pid
    rc=$?
    [ $rc -eq 130 ] || fail "exit status $rc, expected 130"
    grep -q "interrupted: no output written" err.txt || fail "no 'interrupted' message"
    left=""
    for f in .* *; do
        case $f in
        . | .. | out.txt | err.txt | obs.bin | int.img) ;;
        *) [ -e "$f" ] && left="$left $f" ;;
        esac
    done
    [ -z "$left" ] || fail "files left behind:$left"
    echo "interrupted refinement: exit 130, no output"
    ;;
*)
    echo "refine_roundtrip.sh: unknown mode $mode" >&2
    exit 2
    ;;
esac
echo "refine $mode: OK"
