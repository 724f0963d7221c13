#!/bin/sh
# cli/device_cuda: -device cuda where this build or machine cannot render on
# a GPU fails at set-up with exit 2, a message naming -device and no output
# file; where it can (a CUDA build on a machine with a GPU), the run succeeds
# and says which GPU rendered.
#   sh device.sh NANOBRAGG SCRATCH
set -u
nb=$1 scratch=$2
rm -rf "$scratch"
mkdir -p "$scratch" && cd "$scratch" || exit 1
"$nb" -default_F 100 -cell 100 100 100 90 90 90 -N 5 -detpixels 16 -nonoise -nopgm -device cuda >log 2>&1
rc=$?
if [ "$rc" -eq 0 ]; then
    grep -q "device: cuda:0" log || { cat log; echo "FAIL: -device cuda ran but did not report its GPU"; exit 1; }
    echo "a GPU rendered: $(grep 'device: ' log)"
else
    [ "$rc" -eq 2 ] || { cat log; echo "FAIL: exit $rc, expected 2"; exit 1; }
    grep -q "nanobragg: error: device cuda: .*render on the CPU with -device cpu" log ||
        { cat log; echo "FAIL: no message naming -device"; exit 1; }
    [ ! -e floatimage.bin ] && [ ! -e intimage.img ] || { echo "FAIL: an output was written"; exit 1; }
    echo "refused: $(grep 'error' log)"
fi
cd / && rm -rf "$scratch"
