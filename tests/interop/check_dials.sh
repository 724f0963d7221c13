#!/bin/sh
# check_dials.sh - DIALS processes a nanobragg rotation series written as CBF.
#
#   check_dials.sh NANOBRAGG HKL_RANDOM SCRATCH_DIR
#
# A 30-image, 0.5-degree rotation series of a 60 x 70 x 80 A P1 crystal
# whose structure factors come from random atoms (nanobragg-hkl-random),
# off-centre beam, written as CBF with noise; then dials.import (no
# overrides), dials.find_spots, dials.index (P1), dials.refine,
# dials.integrate, and a dials.python script that asserts: the imported
# geometry is nanobragg's (wavelength, distance, beam centre, pixel size,
# scan); the refined cell within 0.5% (lengths) and 0.5 deg (angles) of
# the true one; the positional RMSDs under 0.5 pixel; the integrated
# intensities' Pearson r against the true |F|^2 over matched reflections
# at least 0.8.
# Skipped (exit 77) when DIALS (dials.import) is not installed.
set -u
prog=$1
hklgen=$2
dir=$3
command -v dials.import >/dev/null 2>&1 || {
    echo "SKIP: DIALS is not installed (no dials.import on PATH): the end-to-end test was not run"
    exit 77
}
rm -rf "$dir" && mkdir -p "$dir" && cd "$dir" || exit 1
fail() { echo "FAIL: $*"; exit 1; }

"$hklgen" --cell 60 70 80 90 90 90 --dmin 1.8 --seed 3 --atoms 500 P1.hkl >hkl.log 2>&1 || fail "hkl-random"
"$prog" -hkl P1.hkl -cell 60 70 80 90 90 90 -N 20 -lambda 1.0 -distance 120 -detpixels 512 -pixel 0.172 \
    -Xbeam 40 -Ybeam 47 -oversample 1 -mosaic 0.1 -mosaic_dom 10 -phi 0 -osc 0.5 -phisteps 5 -misset 10 20 30 \
    -fluence 1e25 -seed 5 -nimages 30 -cbffile sim_###.cbf -noprogress >sim.log 2>&1 || fail "nanobragg: exit $?"

dials.import template=sim_###.cbf >import.log 2>&1 || fail "dials.import (import.log)"
dials.find_spots imported.expt >spots.log 2>&1 || fail "dials.find_spots (spots.log)"
dials.index imported.expt strong.refl space_group=P1 >index.log 2>&1 || fail "dials.index (index.log)"
dials.refine indexed.expt indexed.refl >refine.log 2>&1 || fail "dials.refine (refine.log)"
dials.integrate refined.expt refined.refl >integrate.log 2>&1 || fail "dials.integrate (integrate.log)"

cat >check.py <<'EOF'
import math, sys
from dxtbx.model.experiment_list import ExperimentList
from dials.array_family import flex
imp = ExperimentList.from_file("imported.expt", check_format=False)[0]
exp = ExperimentList.from_file("refined.expt", check_format=False)[0]
bad = []
def check(ok, what):
    if not ok:
        bad.append(what); print("FAIL:", what)
panel = imp.detector[0]
check(abs(imp.beam.get_wavelength() - 1.0) < 1e-6, "wavelength")
check(abs(panel.get_distance() - 120.0) < 1e-3, "distance %g" % panel.get_distance())
check(abs(panel.get_pixel_size()[0] - 0.172) < 1e-9, "pixel size")
bx, by = panel.get_beam_centre(imp.beam.get_s0())
# MOSFLM -Xbeam 40 -Ybeam 47: fast 47 mm, slow 40 mm, plus nanoBragg's half pixel
check(abs(bx - 47.086) < 1e-3 and abs(by - 40.086) < 1e-3, "beam centre %g %g" % (bx, by))
check(imp.scan.get_image_range() == (1, 30) and abs(imp.scan.get_oscillation()[1] - 0.5) < 1e-9, "scan")
a, b, c, al, be, ga = exp.crystal.get_unit_cell().parameters()
for got, want in ((a, 60), (b, 70), (c, 80)):
    check(abs(got - want) / want < 0.005, "cell length %g (true %g)" % (got, want))
for got in (al, be, ga):
    check(abs(got - 90) < 0.5, "cell angle %g" % got)
refl = flex.reflection_table.from_file("refined.refl")
used = refl.select(refl.get_flags(refl.flags.used_in_refinement))
x, y, z = used["xyzobs.px.value"].parts()
xc, yc, zc = used["xyzcal.px"].parts()
rx = math.sqrt(flex.mean((x - xc) ** 2)); ry = math.sqrt(flex.mean((y - yc) ** 2))
check(rx < 0.5 and ry < 0.5, "RMSD %.3f %.3f px" % (rx, ry))
true = {}
for line in open("P1.hkl"):
    h, k, l, F = line.split()
    true[(int(h), int(k), int(l))] = float(F) ** 2
integ = flex.reflection_table.from_file("integrated.refl")
integ = integ.select(integ.get_flags(integ.flags.integrated_sum))
I, T = [], []
for hkl, v in zip(integ["miller_index"], integ["intensity.sum.value"]):
    if hkl in true:
        I.append(v); T.append(true[hkl])
n = len(I)
mi, mt = sum(I) / n, sum(T) / n
r = sum((i - mi) * (t - mt) for i, t in zip(I, T)) / math.sqrt(
    sum((i - mi) ** 2 for i in I) * sum((t - mt) ** 2 for t in T))
print("cell %.3f %.3f %.3f %.2f %.2f %.2f, RMSD %.3f %.3f px, r = %.3f over %d reflections"
      % (a, b, c, al, be, ga, rx, ry, r, n))
check(n > 1000 and r >= 0.8, "Pearson r %.3f over %d reflections" % (r, n))
sys.exit(1 if bad else 0)
EOF
dials.python check.py || fail "DIALS results (check.py)"
cd / && rm -rf "$dir"
echo "DIALS processed the CBF series"
