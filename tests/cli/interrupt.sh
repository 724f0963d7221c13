#!/bin/sh
# An interrupted run: SIGINT while rendering stops the render through the
# library's progress callback (NB_ERR_CANCELLED), the program says so, exits
# 128 + 2, and writes no output file (no temporary either).  Then the same
# for a series writing a NeXus file (when built with HDF5): the file, open
# since before the first image, is removed.
# usage: interrupt.sh PROGRAM
set -u
prog=$1
dir=$(mktemp -d "${TMPDIR:-/tmp}/nb_interrupt.XXXXXX") || exit 1
trap 'rm -rf "$dir"' EXIT
cd "$dir" || exit 1
fail() { echo "FAIL: $*"; echo "--- stdout"; tail -5 out.txt; echo "--- stderr"; cat err.txt; exit 1; }

# about 7e9 samples: tens of seconds, far longer than the test waits
"$prog" -default_F 100 -cell 100 100 100 90 90 90 -N 5 -detpixels 700 -oversample 120 \
    -floatfile f.bin -intfile i.img -pgmfile p.pgm -noisefile n.img -noprogress >out.txt 2>err.txt &
pid=$!
# wait until set-up is done and rendering runs (the report's last line)
i=0
while ! grep -q "pixel oversample steps" out.txt 2>/dev/null; do
    i=$((i + 1))
    [ $i -gt 300 ] && { kill -9 $pid; fail "no set-up report after 30 s"; }
    sleep 0.1
done
sleep 0.5
kill -INT $pid
wait $pid
rc=$?
[ $rc -eq 130 ] || fail "exit status $rc, expected 130"
grep -q "interrupted: no output written" err.txt || fail "no 'interrupted' message"
left=$(ls -A | grep -v -x -e out.txt -e err.txt)
[ -z "$left" ] || fail "files left behind: $left"
echo "interrupted run: exit 130, no output"

"$prog" --version | grep -q "NeXus/NXmx output: yes" || { echo "(no HDF5: the NeXus series was not tried)"; exit 0; }
rm -f out.txt err.txt
"$prog" -default_F 100 -cell 100 100 100 90 90 90 -N 5 -detpixels 700 -oversample 120 -osc 0.1 \
    -nimages 3 -nexusfile s.nxs -noprogress >out.txt 2>err.txt &
pid=$!
i=0
while ! grep -q "pixel oversample steps" out.txt 2>/dev/null; do
    i=$((i + 1))
    [ $i -gt 300 ] && { kill -9 $pid; fail "series: no set-up report after 30 s"; }
    sleep 0.1
done
sleep 0.5
kill -INT $pid
wait $pid
rc=$?
[ $rc -eq 130 ] || fail "series: exit status $rc, expected 130"
grep -q "interrupted at image 1" err.txt || fail "series: no 'interrupted' message"
left=$(ls -A | grep -v -x -e out.txt -e err.txt)
[ -z "$left" ] || fail "series: files left behind: $left"
echo "interrupted series with -nexusfile: exit 130, no NeXus file"
