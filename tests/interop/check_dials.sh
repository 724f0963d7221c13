#!/bin/sh
# check_dials.sh - DIALS processes a nanobragg rotation series written as CBF
# and as NeXus/NXmx.
#
#   check_dials.sh NANOBRAGG HKL_RANDOM SCRATCH_DIR
#
# A 30-image, 0.5-degree rotation series of a 60 x 70 x 80 A P1 crystal
# (6 cells on a side: reflections about 0.5 degree and 2 pixels wide, so
# that 5 phi steps and 3x3 sub-pixels sample them finely) whose structure
# factors come from random atoms (nanobragg-hkl-random), off-centre beam, written with noise as CBF images and, in the same run
# (the same counts), as one NeXus/NXmx file (-nexusfile; when nanobragg was
# built with HDF5); then, for each, dials.import (no overrides),
# dials.find_spots, dials.index (P1), dials.refine, dials.integrate, and a
# dials.python script that asserts: the imported
# geometry is nanobragg's (wavelength, distance, beam centre, pixel size,
# scan, rotation axis); the refined cell within 0.5% (lengths) and 0.5 deg (angles) of
# the true one; the positional RMSDs under 0.5 pixel; the integrated
# intensities' (Lorentz-polarization corrected, fully recorded) Pearson r
# against the true |F|^2 over matched reflections (in the indexing setting
# that matches: check.py says why there are four) at least 0.9.
# Skipped (exit 77) when DIALS (dials.import) is not installed.
set -u
prog=$1
hklgen=$2
dir=$3
command -v dials.import >/dev/null 2>&1 || {
    echo "SKIP: DIALS is not installed (no dials.import on PATH): the end-to-end test was not run"
    exit 77
}
# DIALS's own Python (dials.python in its bundles; Debian's dials has none,
# its modules are in /usr/bin/python3's path)
py=$(command -v dials.python || echo /usr/bin/python3)
rm -rf "$dir" && mkdir -p "$dir" && cd "$dir" || exit 1
fail() { echo "FAIL: $*"; exit 1; }

"$hklgen" --cell 60 70 80 90 90 90 --dmin 1.8 --seed 3 --atoms 500 P1.hkl >hkl.log 2>&1 || fail "hkl-random"
nexus=""
"$prog" --version | grep -q "NeXus/NXmx output: yes" && nexus="-nexusfile sim.nxs"
# shellcheck disable=SC2086 # $nexus: none or two words
"$prog" -hkl P1.hkl -cell 60 70 80 90 90 90 -N 6 -lambda 1.0 -distance 120 -detpixels 512 -pixel 0.172 \
    -Xbeam 40 -Ybeam 47 -oversample 3 -phi 0 -osc 0.5 -phisteps 5 -misset 10 20 30 \
    -fluence 4e26 -seed 5 -nimages 30 -cbffile sim_###.cbf $nexus -noprogress >sim.log 2>&1 || fail "nanobragg: exit $?"

cat >check.py <<'EOF'
import math, sys
what = sys.argv[1]
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
check(imp.scan.get_image_range() == (1, 30) and abs(imp.scan.get_oscillation()[0]) < 1e-9
      and abs(imp.scan.get_oscillation()[1] - 0.5) < 1e-9, "scan %s %s" % (imp.scan.get_image_range(), imp.scan.get_oscillation()))
# MOSFLM's spindle (lab +z), the detector's fast axis: dxtbx's +x
check(max(abs(u - v) for u, v in zip(imp.goniometer.get_rotation_axis(), (1, 0, 0))) < 1e-9,
      "rotation axis %s" % (imp.goniometer.get_rotation_axis(),))
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
for line in open("../P1.hkl"):
    h, k, l, F = line.split()
    true[(int(h), int(k), int(l))] = float(F) ** 2
integ = flex.reflection_table.from_file("integrated.refl")
integ = integ.select(integ.get_flags(integ.flags.integrated_sum))
# The cell is metrically orthorhombic but the crystal P1: DIALS's basis is
# unique only up to the lattice's twofold axes, which the structure does not
# have, so its indices are (h, k, l) in one of four settings; the one that
# matches the truth is the setting (the others correlate below 0.1).  The
# intensities are the summation integrals corrected for Lorentz and
# polarization (lp), over fully recorded reflections (the scan's first and
# last degree cut the others short).
integ = integ.select(integ["partiality"] > 0.99)
def pearson(signs):
    I, T = [], []
    for hkl, v, lp in zip(integ["miller_index"], integ["intensity.sum.value"], integ["lp"]):
        key = tuple(s * i for s, i in zip(signs, hkl))
        if key in true:
            I.append(v * lp); T.append(true[key])
    n = len(I)
    mi, mt = sum(I) / n, sum(T) / n
    return sum((i - mi) * (t - mt) for i, t in zip(I, T)) / math.sqrt(
        sum((i - mi) ** 2 for i in I) * sum((t - mt) ** 2 for t in T)), n
settings = [(1, 1, 1), (-1, -1, 1), (-1, 1, -1), (1, -1, -1)]
rs = [pearson(s) for s in settings]
r, n = max(rs)
print("%s: Pearson r in the four settings: %s" % (what, " ".join("%.3f" % x for x, _ in rs)))
print("%s: cell %.3f %.3f %.3f %.2f %.2f %.2f, RMSD %.3f %.3f px, r = %.3f over %d reflections"
      % (what, a, b, c, al, be, ga, rx, ry, r, n))
# measured: r = 0.947 over 5412 reflections (DIALS 3.12, Debian); 0.9 leaves
# room for other DIALS versions' integration, and is far above the wrong
# settings' values
check(n > 1000 and r >= 0.9, "Pearson r %.3f over %d reflections" % (r, n))
sys.exit(1 if bad else 0)
EOF
# pipeline NAME IMPORT-ARGS...: DIALS in the folder NAME, then check.py
pipeline() {
    name=$1
    shift
    mkdir "$name" && cd "$name" || exit 1
    dials.import "$@" >import.log 2>&1 || fail "$name: dials.import (import.log)"
    dials.find_spots imported.expt >spots.log 2>&1 || fail "$name: dials.find_spots (spots.log)"
    dials.index imported.expt strong.refl space_group=P1 >index.log 2>&1 || fail "$name: dials.index (index.log)"
    dials.refine indexed.expt indexed.refl >refine.log 2>&1 || fail "$name: dials.refine (refine.log)"
    dials.integrate refined.expt refined.refl >integrate.log 2>&1 || fail "$name: dials.integrate (integrate.log)"
    "$py" ../check.py "$name" || fail "$name: DIALS results (check.py)"
    cd ..
}
pipeline cbf template=../sim_###.cbf
if [ -n "$nexus" ]; then
    pipeline nxmx ../sim.nxs
    done="the CBF and NXmx series"
else
    echo "note: nanobragg was built without HDF5: the NXmx series was not tried"
    done="the CBF series"
fi
cd / && rm -rf "$dir"
echo "DIALS processed $done"
