#!/bin/sh
# make demo: simulate a default crystal (lysozyme-like tetragonal cell, small
# mosaic spread, 1 degree oscillation) and write its images under demo/.
set -eu
bin=${1:-build/nanobragg}
out=demo
mkdir -p "$out"
"$bin" -cell 79.1 79.1 38.2 90 90 90 -misset 10 20 30 -default_F 100 -N 10 \
    -lambda 1.0 -distance 120 -detpixels 384 -pixel 0.172 \
    -mosaic 0.1 -mosaic_dom 4 -mosaic_seed 7 -phi 0 -osc 0.5 -phisteps 2 \
    -seed 1 \
    -floatfile "$out/float.bin" -intfile "$out/image.img" \
    -noisefile "$out/noise.img" -pgmfile "$out/image.pgm" > "$out/log.txt"
echo "demo images written:"
for f in float.bin image.img noise.img image.pgm log.txt; do
    printf '  %s (%s bytes)\n' "$(pwd)/$out/$f" "$(wc -c < "$out/$f" | tr -d ' ')"
done
grep -E '^(max_I|mean=)' "$out/log.txt" | sed 's/^/  /'
