#!/bin/sh
# -nimages: a series' images equal, bit for bit, single-image runs with the
# flags its per-image line states (-phi, -osc, -seed, and -misset_seed for
# stills), for every output (float, SMV, noise SMV, PGM); each image's
# header states its own phi; the templates' numbers are zero-padded.
# usage: series.sh rotation|stills PROGRAM FIXTURES
set -u
mode=$1
prog=$2
fixtures=$3
dir=$(mktemp -d "${TMPDIR:-/tmp}/nb_series.XXXXXX") || exit 1
trap 'rm -rf "$dir"' EXIT
cd "$dir" || exit 1
fail() { echo "FAIL: $*"; exit 1; }

# structure factors from a file, mosaic domains, phi steps, noise: every
# per-image part of set-up and output is exercised
if [ "$mode" = rotation ]; then
    common="-hkl $fixtures/P1.hkl -cell 40 50 60 90 90 90 -N 4 -detpixels 48 -distance 40
        -mosaic 0.2 -mosaic_dom 3 -phisteps 2 -noprogress"
    "$prog" $common -phi 10 -osc 0.7 -nimages 5 -seed 3 -floatfile s_###.bin -intfile s_###.img \
        -noisefile n_###.img -pgmfile p_###.pgm >series.log 2>&1 || fail "series run: exit $?"
    n=5
else
    common="-default_F 100 -cell 40 50 60 80 90 100 -N 4 -detpixels 48 -distance 40 -noprogress"
    "$prog" $common -misset random -misset_seed 11 -nimages 4 -seed 3 -floatfile s_###.bin \
        -intfile s_###.img -noisefile n_###.img -pgmfile p_###.pgm -matrixfile m.txt >series.log 2>&1 ||
        fail "series run: exit $?"
    n=4
fi
k=1
while [ $k -le $n ]; do
    kk=$(printf %03d $k)
    flags=$(sed -n "s/^image $k of $n: //p" series.log)
    [ -n "$flags" ] || fail "no line for image $k"
    mkdir one && cd one || exit 1
    "$prog" $common $flags -floatfile f.bin -intfile i.img -noisefile n.img -pgmfile p.pgm \
        >one.log 2>&1 || fail "image $k alone ($flags): exit $?"
    cmp f.bin ../s_$kk.bin || fail "image $k: float image differs from a single run with $flags"
    cmp i.img ../s_$kk.img || fail "image $k: SMV image differs"
    cmp n.img ../n_$kk.img || fail "image $k: noise image differs"
    cmp p.pgm ../p_$kk.pgm || fail "image $k: PGM differs"
    cd .. && rm -rf one
    k=$((k + 1))
done

if [ "$mode" = rotation ]; then
    # image 4 starts at 10 + 3 x 0.7 = 12.1 degrees; images differ from each other
    grep -q "^PHI=12.1;" s_004.img || fail "image 4's header does not state PHI=12.1"
    grep -q "^OSC_RANGE=0.7;" s_004.img || fail "image 4's header does not state OSC_RANGE=0.7"
    cmp -s s_001.bin s_002.bin && fail "images 1 and 2 are the same"
    grep -q "^image 2 of 5: -phi 10.7 -osc 0.7 -seed " series.log || fail "image 2's line"
    # the structure factors were read once
    [ "$(grep -c 'counting entries in' series.log)" -eq 1 ] || fail "the HKL file was read more than once"
else
    grep -q "^image 1 of 4: -phi 0 -osc 0 -seed 3 -misset random -misset_seed 11$" series.log ||
        fail "image 1 keeps -seed and -misset_seed"
    cmp -s s_002.bin s_003.bin && fail "stills 2 and 3 have the same orientation"
    # the matrix file: image 3's A matrix given to -mat (no -cell) makes image 3 again, to
    # double rounding of the cell (and not image 2)
    [ "$(grep -c '^# image [1-4] phi 0 misset_deg .* misset_seed ' m.txt)" -eq 4 ] || fail "m.txt: 4 image lines"
    sed -n '/^# image 3 /{n;p;n;p;n;p}' m.txt >m3.mat
    "$prog" -default_F 100 -mat m3.mat -N 4 -detpixels 48 -distance 40 -noprogress -floatfile m3.bin \
        -intfile /dev/null -nonoise -nopgm >m3.log 2>&1 || fail "-mat m3.mat: exit $?"
    compare="$(dirname "$prog")/nanobragg-compare"
    "$compare" --quiet --pearson 0.999999 s_003.bin m3.bin || fail "-mat with image 3's matrix: not image 3"
    "$compare" --quiet --pearson 0.9 s_002.bin m3.bin && fail "-mat with image 3's matrix gives image 2"
fi
echo "$mode series: $n images equal single runs bit for bit"
