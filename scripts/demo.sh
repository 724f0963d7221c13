#!/bin/sh
# make demo: simulate a lysozyme-like crystal (tetragonal cell, structure
# factors of 1000 random carbon atoms with B = 20 A^2, a small Gaussian-shaped
# crystal with a thin water layer, 0.5 degree oscillation), write its images
# and a PNG preview under demo/, and say how to look at them.
#   sh scripts/demo.sh [BUILD/nanobragg]   (the other tools are taken beside it)
set -eu
bin=${1:-build/nanobragg}
bindir=$(dirname "$bin") # as given, for the hints printed at the end
tools=$(cd "$bindir" && pwd)
bin=$tools/$(basename "$bin")
out=demo
size=512
mkdir -p "$out"
cd "$out"
rm -f Fdump.bin

# The detector corner (44 mm off the beam in x and y at 120 mm, 1 A) is at
# d = 2.1 A: the table goes a little further.  0 0 0 is left out: its spot is
# the direct beam, which a beamstop would hide.
table=$("$tools/nanobragg-hkl-random" --cell 79.1 79.1 38.2 90 90 90 --dmin 2.0 --atoms 1000 \
    --bfactor 20 --seed 1 --no-f000 P1.hkl)
"$bin" -hkl P1.hkl -cell 79.1 79.1 38.2 90 90 90 -misset 10 20 30 -N 7 -gauss_xtal \
    -water 0.15 -lambda 1.0 -distance 120 -detpixels $size -pixel 0.172 \
    -mosaic 0.1 -mosaic_dom 4 -mosaic_seed 7 -phi 0 -osc 0.5 -phisteps 2 \
    -seed 1 \
    -floatfile float.bin -intfile image.img -noisefile noise.img -pgmfile image.pgm > log.txt
rm -f Fdump.bin # nanobragg's cache of P1.hkl, rewritten by every run
files="P1.hkl float.bin image.img noise.img image.pgm log.txt"
if [ -x "$tools/nanobragg-png" ]; then
    "$tools/nanobragg-png" --size $size $size float.bin image.png > /dev/null
    "$tools/nanobragg-png" noise.img noise.png > /dev/null
    files="$files image.png noise.png"
fi

describe() {
    case $1 in
    P1.hkl) echo "structure factors h k l F: ${table#P1.hkl: }" ;;
    float.bin) echo "photons per pixel: float32 little-endian, $size x $size, fast axis first" ;;
    image.img) echo "SMV (ADSC) image, unsigned 16-bit counts, 512-byte header" ;;
    noise.img) echo "the same with Poisson noise" ;;
    image.pgm) echo "8-bit PGM (P5)" ;;
    image.png) echo "preview of float.bin: dark spots on white, sqrt scale" ;;
    noise.png) echo "preview of noise.img" ;;
    log.txt) echo "nanobragg's report" ;;
    esac
}
echo "demo files written in $(pwd):"
for f in $files; do
    printf '  %-10s %8s bytes  %s\n' "$f" "$(wc -c < "$f" | tr -d ' ')" "$(describe "$f")"
done
grep -E '^(max_I|mean=)' log.txt | sed 's/^/  /'

echo "to look at them:"
if [ -x "$tools/nanobragg-png" ]; then
    echo "  any image viewer:  xdg-open $out/image.png   (or $out/noise.png)"
else
    echo "  any image viewer:  xdg-open $out/image.pgm   (a PNG preview needs libpng: Debian libpng-dev)"
fi
echo "  SMV images:        adxv $out/image.img   or   dials.image_viewer $out/image.img"
echo "  Python (FabIO):    python3 -c 'import fabio; print(fabio.open(\"$out/image.img\").data.max())'"
echo "  Python (NumPy):    numpy.fromfile(\"$out/float.bin\", dtype=\"<f4\").reshape($size, $size)"
if [ -x "$tools/nanobragg-png" ]; then
    echo "  PNG of any image:  $bindir/nanobragg-png [--size W H, for raw floats] IMAGE OUT.png"
fi
