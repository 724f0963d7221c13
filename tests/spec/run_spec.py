#!/usr/bin/python3
"""run_spec.py - the acceptance tests of nanoBragg's written spec (hoidn/nanoBragg,
branch feature/spec-based-2, specs/spec-a-*.md) that the command line can check,
one function per AT id, each asserting the spec's numeric criterion.

    run_spec.py NANOBRAGG AT-ID SCRATCH    run one test in a fresh SCRATCH folder
    run_spec.py --list                     the AT ids it knows, one a line

Where the spec and the original program disagree, nanobragg follows the original
and the test asserts what the original does; docs/spec-conformance.md says which
tests those are, and why.  "The model" is the numpy model of speclib.py, standing in
for the spec's second implementation in the C-PyTorch parity tests.  Exit status 0
when every check passes (SCRATCH is then removed), 1 when one fails, 77 (skipped)
when numpy is missing (Debian: python3-numpy).
"""
import os
import shutil
import sys

sys.dont_write_bytecode = True  # nothing written beside the sources
try:
    import numpy as np
    import speclib as L
    from speclib import CUBIC, OUT, check, near, run
except ImportError as e:
    if __name__ == "__main__":
        print(f"SKIP: {sys.executable} cannot import numpy ({e}); install python3-numpy")
        sys.exit(77)
    raise

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "..", "reference", "cases")
TESTS = {}


def at(name):
    def register(fn):
        TESTS[name] = fn
        return fn

    return register


# -------------------------------------------------------------- small helpers

F0_HKL = "0 0 0 0\n"  # one reflection with F = 0: only the water background is left
CUSTOM = "-fdet_vector 0 0 1 -sdet_vector 0 -1 0 -odet_vector 1 0 0 -beam_vector 1 0 0"
WATER = f"{CUBIC} -hkl zero.hkl -nointerpolate -N 1"


def water_bg(water_um, fluence=L.FLUENCE):
    """The spec's I_bg; a pixel gets r_e^2 fluence I_bg / steps * omega * polar."""
    w = water_um * 1e-6
    return 2.57**2 * L.R_E_SQR * fluence * w**3 * 1e6 * L.AVOGADRO / 18.0


def pivot(r):
    if "pivoting detector around direct beam spot" in r.out:
        return "beam"
    return "sample" if "pivoting detector around sample" in r.out else None


def hkl_text(table):
    return "".join(f"{h} {k} {l} {F}\n" for (h, k, l), F in table.items())


def nearest_F(h, k, l, table, default):
    """nanoBragg's nearest-neighbour lookup: (h0, k0, l0) = ceil(x - 0.5); inside the
    file's index box the table value (default_F where missing), else default_F."""
    h0, k0, l0 = (np.ceil(x - 0.5).astype(int) for x in (h, k, l))
    hs, ks, ls = (np.array([key[i] for key in table]) for i in range(3))
    inside = (
        (h0 >= hs.min())
        & (h0 <= hs.max())
        & (k0 >= ks.min())
        & (k0 <= ks.max())
        & (l0 >= ls.min())
        & (l0 <= ls.max())
    )
    F = np.full(h0.shape, float(default))
    for (a, b, c), val in table.items():
        F[inside & (h0 == a) & (k0 == b) & (l0 == c)] = val
    return F


def unambiguous(*xs, margin=1e-3):
    """Pixels whose indices are not within margin of a rounding boundary."""
    ok = True
    for x in xs:
        ok = ok & (np.abs(np.abs(x - np.floor(x)) - 0.5) > margin)
    return ok


def ratio_map(img, ref, floor=1e-9):
    good = ref > floor * ref.max()
    return np.where(good, img / np.where(good, ref, 1), np.nan), good


def corpus_case(name):
    """(args, files, expected float image path) of a reference case."""
    folder = os.path.join(CORPUS, name)
    with open(os.path.join(folder, "args")) as f:
        args = f.read().strip()
    files = {}
    for entry in os.listdir(folder):
        p = os.path.join(folder, entry)
        if os.path.isfile(p) and entry not in ("args", "about"):
            with open(p, "rb") as f:
                files[entry] = f.read()
    return args, files, os.path.join(folder, "expected", "float.bin")


def window(det, centre_sf, half):
    """-roi around (slow, fast), clipped to the detector."""
    s, f = (int(round(c)) for c in centre_sf)
    return (
        f"-roi {max(f - half, 0)} {min(f + half, det.fpixels - 1)} "
        f"{max(s - half, 0)} {min(s + half, det.spixels - 1)}"
    )


def beam_index(det):
    """(slow, fast) pixel-index coordinates of the direct beam (pixel i spans i-0.5..i+0.5)."""
    return np.array([det.Sbeam / det.px - 0.5, det.Fbeam / det.px - 0.5])


# ======================================================== spec-a-core.md


@at("AT-GEO-001")
def geo_001():
    """MOSFLM, pixel 0.1 mm, distance 100 mm, beam centre 51.2 mm, beam pivot:
    pix0 = [0.1, 0.05125, -0.05125] m within 1e-9 m."""
    r = run(
        f"{CUBIC} -default_F 100 -mosflm -pixel 0.1 -distance 100 -Xbeam 51.2 -Ybeam 51.2 "
        f"-pivot beam -detpixels 1024 -roi 0 0 0 0 {OUT}"
    )
    d = [float(v) for v in r.smv()[0]["DIALS_ORIGIN"].split(",")]
    pix0 = np.array([-d[2], d[1], d[0]]) / 1000  # DIALS origin = pix0 . (z, y, -x) in mm
    near("pix0 from DIALS_ORIGIN (m)", pix0, [0.1, 0.05125, -0.05125], rel=0, abs_=1e-9)
    near("Fbeam, Sbeam (m)", r.find(r"Fbeam=(\S+) Sbeam=(\S+)"), [0.05125, 0.05125], rel=0, abs_=1e-9)
    check(pivot(r) == "beam", "pivot is beam")


@at("AT-GEO-002")
def geo_002():
    """-distance gives the beam pivot, -close_distance the sample pivot, -pivot wins.
    As in the original, a convention imposes its own pivot (MOSFLM: beam), so B and C
    hold only in the custom convention."""
    base = f"{CUBIC} -default_F 100 -detpixels 16 -roi 0 0 0 0 {OUT}"
    check(pivot(run(f"{base} -mosflm -distance 100")) == "beam", "A: -distance (MOSFLM): beam")
    for conv, want in (("-mosflm", "beam"), (CUSTOM, "sample")):
        name = "MOSFLM" if conv == "-mosflm" else "custom"
        got = pivot(run(f"{base} {conv} -close_distance 100"))
        check(got == want, f"B: -close_distance ({name}): {got}, the original's {want}")
        got = pivot(run(f"{base} {conv} -distance 100 -pivot sample"))
        check(got == want, f"C: -distance -pivot sample ({name}): {got}, the original's {want}")


@at("AT-GEO-003")
def geo_003():
    """Rotations, close_distance given: distance = close_distance / r with r = b.o, and
    the direct beam stays at the user's beam centre (beam pivot) or the near point
    stays put (sample pivot).  With two-theta the original takes r before the
    two-theta turn; the test asserts that ratio."""
    rot = "-detector_rotx 5 -detector_roty 3 -detector_rotz 2"
    for conv in ("mosflm", "xds"):
        for tt in (0, 10):
            r = run(
                f"{CUBIC} -default_F 100 -{conv} -detpixels 64 -close_distance 100 {rot} "
                f"-twotheta {tt} -roi 0 0 0 0 {OUT}"
            )
            det = L.Detector(conv, 64, close_distance=100, rot=(5, 3, 2), twotheta=tt)
            f, s, o, b = r.vectors()
            h = r.smv()[0]
            dist, close = float(h["DISTANCE"]), float(h["CLOSE_DISTANCE"])
            tag = f"{conv} two-theta {tt}"
            if tt == 0:
                near(f"{tag}: DISTANCE = CLOSE_DISTANCE / (b.o)", dist, close / (b @ o), rel=2e-5)
            else:
                o_pre = L.rot_xyz(L.CONVENTIONS[conv][3], *np.radians([5, 3, 2]))
                near(
                    f"{tag}: DISTANCE = CLOSE_DISTANCE / (b.o before two-theta)",
                    dist,
                    close / (b @ o_pre),
                    rel=2e-5,
                )
                print(f"      (the spec's close/(b.o) would be {close / (b @ o):.6g} mm)")
            fb, sb = r.find(r"Fbeam=(\S+) Sbeam=(\S+)")
            fc, sc = r.find(r"Fclose=(\S+) Sclose=(\S+)")
            if conv == "mosflm" and tt == 0:
                near(
                    f"{tag}: Fbeam, Sbeam = the user's centre + 0.5 pixel",
                    [fb, sb],
                    [0.0033, 0.0033],
                    rel=1e-5,
                )
            elif conv == "xds":
                near(f"{tag}: Fclose, Sclose kept", [fc, sc], [0.0032, 0.0032], rel=1e-5)
            near(
                f"{tag}: Fbeam, Sbeam, Fclose, Sclose as the model",
                [fb, sb, fc, sc],
                [det.Fbeam, det.Sbeam, det.Fclose, det.Sclose],
                rel=2e-5,
                abs_=1e-10,
            )
            near(f"{tag}: DISTANCE as the model", dist, det.distance * 1000, rel=2e-5)


@at("AT-GEO-004")
def geo_004():
    """Default two-theta axes MOSFLM [0,0,-1], XDS [1,0,0], DIALS [0,1,0] (and an
    explicit -twotheta_axis); TWOTHETA in the header equals the value asked."""
    for conv, axis in (
        ("-mosflm", (0, 0, -1)),
        ("-xds", (1, 0, 0)),
        ("-dials", (0, 1, 0)),
        ("-twotheta_axis 0 1 0", (0, 1, 0)),
    ):
        r = run(f"{CUBIC} -default_F 100 {conv} -detpixels 16 -twotheta 5 -roi 0 0 0 0 {OUT}")
        key = "mosflm" if "axis" in conv else conv[1:]
        start = [np.array(v, float) for v in L.CONVENTIONS[key][1:4]]
        want = [L.rot_axis(v, axis, np.radians(5)) for v in start]
        near(f"{conv}: f, s, o turned 5 deg about {axis}", r.vectors()[:3], want, rel=0, abs_=2e-6)
        near(f"{conv}: TWOTHETA", float(r.smv()[0]["TWOTHETA"]), 5.0, rel=0)


@at("AT-GEO-005")
def geo_005():
    """-curved_det: every pixel at the same distance (|pos| = distance), directions
    turned about s and f by the angular offsets; the flat detector differs."""
    args = (
        f"{WATER} -water 1 -lambda 1 -distance 100 -detpixels 32 -pixel 1 -oversample 1 "
        f"-point_pixel {OUT}"
    )
    files = {"zero.hkl": F0_HKL}
    k = L.R_E_SQR * L.FLUENCE * water_bg(1) / 0.1**2  # point pixel: omega = 1/R^2
    flat = run(args + " -nopolar", files).floats()
    curved = run("-curved_det -nopolar " + args, files).floats()
    near(
        "curved, no polarization: every pixel r_e^2 F I_bg / distance^2",
        curved,
        np.full(curved.shape, k),
        rel=1e-5,
    )
    det = L.Detector("mosflm", 32, pixel=1, curved=True)
    near("curved: |pos| of the model = distance", np.linalg.norm(det.positions(), axis=-1), 0.1, rel=1e-12)
    d = L.unit(det.positions()[:, :, 0, 0])
    polar = run("-curved_det " + args, files).floats()
    near(
        "curved, Kahn 0: pixel = k * polarization of the turned direction",
        polar,
        k * L.polarization(det.b, d, det.polar_axis, 0),
        rel=1e-5,
    )
    R2 = np.sum(L.Detector("mosflm", 32, pixel=1).positions()[:, :, 0, 0] ** 2, axis=-1)
    near("flat: pixel = k * distance^2 / R^2", flat, k * 0.1**2 / R2, rel=1e-5)
    check(np.max(curved / flat) > 1.05, f"flat and curved differ (corner ratio {np.max(curved / flat):.4f})")


@at("AT-GEO-006")
def geo_006():
    """Solid angle: -point_pixel gives 1/R^2, otherwise (pixel^2/R^2)(close_distance/R)."""
    det = L.Detector("mosflm", 32, pixel=0.5, rot=(0, 10, 0))
    args = f"{WATER} -water 1 -nopolar -detpixels 32 -pixel 0.5 -detector_roty 10 -oversample 1 {OUT}"
    R = np.linalg.norm(det.positions()[:, :, 0, 0], axis=-1)
    k = L.R_E_SQR * L.FLUENCE * water_bg(1)
    files = {"zero.hkl": F0_HKL}
    near("-point_pixel: pixel = k / R^2", run(args + " -point_pixel", files).floats(), k / R**2, rel=1e-5)
    near(
        "default: pixel = k pixel^2 / R^2 * close / R",
        run(args, files).floats(),
        k * det.px**2 / R**2 * det.close / R,
        rel=1e-5,
    )


@at("AT-SAM-001")
def sam_001():
    """Two identical phi steps: the image equals the one-step image (steps = 2)."""
    base = f"{CUBIC} -default_F 100 -N 5 -detpixels 64 -oversample 1 {OUT}"
    for phi in (0, 10):
        one = run(f"{base} -phi {phi} -osc 0 -phisteps 1").floats()
        two = run(f"{base} -phi {phi} -osc 0 -phisteps 2").floats()
        near(f"phi {phi}: two steps = one step", two, one, rel=1e-6)


def subpixel_model(det, oversample, F=1.0, K=0.0, polar_each=False, omega_each=False):
    """nanoBragg's pixel for N = 1 (every term F^2): omega and polarization of the
    first sub-pixel, or with -oversample_omega/-oversample_polar each sub-pixel
    multiplying the running sum."""
    pos = det.positions(oversample)
    om = det.omega(pos)
    po = L.polarization(det.b, L.unit(pos), det.polar_axis, K)
    I = np.zeros(pos.shape[:2])
    for i in range(oversample):
        for j in range(oversample):
            I = I + F**2
            if polar_each:
                I = I * po[:, :, i, j]
            if omega_each:
                I = I * om[:, :, i, j]
    scale = L.R_E_SQR * L.FLUENCE / oversample**2
    if not polar_each:
        scale = scale * po[:, :, 0, 0]
    if not omega_each:
        scale = scale * om[:, :, 0, 0]
    return I * scale


@at("AT-SAM-002")
def sam_002():
    """-oversample 2: the unset -oversample_omega/-oversample_polar factors are applied
    once per pixel.  The original (and nanobragg) use the FIRST sub-pixel's value, not
    the last; with the switches each sub-pixel multiplies the running sum."""
    det = L.Detector("mosflm", 32, pixel=1, distance=50)
    base = f"{CUBIC} -default_F 1 -N 1 -detpixels 32 -pixel 1 -distance 50 -oversample 2 {OUT}"
    img = run(base).floats()
    near("unset: first sub-pixel's omega and polarization", img, subpixel_model(det, 2), rel=1e-5)
    pos = det.positions(2)[0, 0]
    last = det.omega(pos[1, 1]) / det.omega(pos[0, 0])
    print(f"      (corner pixel: the last sub-pixel's omega would be {last:.5f} x the first's)")
    near(
        "-oversample_omega: running sum times each omega",
        run(base + " -oversample_omega").floats(),
        subpixel_model(det, 2, omega_each=True),
        rel=1e-5,
    )
    near(
        "-oversample_polar: running sum times each polarization",
        run(base + " -oversample_polar").floats(),
        subpixel_model(det, 2, polar_each=True),
        rel=1e-5,
    )


@at("AT-ABS-001")
def abs_001():
    """Layers capture exp(-t dz mu/rho) - exp(-(t+1) dz mu/rho); without -oversample_thick
    the last layer's fraction scales the pixel, with it every layer multiplies the
    running sum.  The original spaces layers thickness/(count-1), not thickness/count."""
    det = L.Detector("mosflm", 32, pixel=1, distance=50, rot=(0, 20, 0))
    n, thick, mu = 4, 100e-6, 1 / 50e-6
    base = (
        f"{CUBIC} -default_F 1 -N 1 -detpixels 32 -pixel 1 -distance 50 -detector_roty 20 "
        f"-detector_thick 100 -detector_abs 50 -thicksteps {n} -oversample 1 {OUT}"
    )
    plain, r = run(base).floats(), run(base + " -oversample_thick")
    dz = thick / (n - 1)
    near("layer spacing thickness/(count-1)", r.find(r"thick1 = (\S+) um"), dz * 1e6, rel=1e-5)
    pos0 = det.positions(1)[:, :, 0, 0]
    k = L.R_E_SQR * L.FLUENCE * det.omega(pos0) * L.polarization(det.b, L.unit(pos0), det.polar_axis, 0)
    running = np.zeros(pos0.shape[:2])
    for t in range(n):
        rho = L.unit(det.positions(1, odet=t * dz)[:, :, 0, 0]) @ det.o
        cap = np.exp(-t * dz * mu / rho) - np.exp(-(t + 1) * dz * mu / rho)
        running = (running + 1.0) * cap
    near("unset: n layers' terms times the last layer's fraction", plain, k * n * cap, rel=1e-5)
    near("-oversample_thick: running sum times each layer's fraction", r.floats(), k * running, rel=1e-5)
    rho = L.unit(det.positions(1, odet=0)[:, :, 0, 0]) @ det.o
    total = 1 - np.exp(-n * dz * mu / rho)
    spec = 1 - np.exp(-thick * mu / rho[0, 0])
    print(
        f"      (fractions sum to 1 - exp(-{n * dz * 1e6:.4g} um mu/rho); the spec's "
        f"1 - exp(-thickness mu/rho) at pixel 0: {total[0, 0]:.5f} vs {spec:.5f})"
    )


@at("AT-SAM-003")
def sam_003():
    """-dmin: a sub-path with dmin > 0.5/stol (resolution finer than dmin) is skipped."""
    det = L.Detector("mosflm", 64, pixel=0.5)
    base = f"{CUBIC} -default_F 100 -N 5 -detpixels 64 -pixel 0.5 -oversample 1 {OUT}"
    full, cut = run(base).floats(), run(base + " -dmin 10").floats()
    h = L.miller(det, np.eye(3), 1.0)
    d = 1 / np.sqrt(sum(x**2 for x in h))[:, :, 0, 0]  # 1/|q| = 0.5/stol, Angstrom
    finer, coarser = d < 10 * (1 - 1e-9), d > 10 * (1 + 1e-9)
    check(
        finer.sum() > 100 and coarser.sum() > 100,
        f"both kinds of pixel present ({finer.sum()}, {coarser.sum()})",
    )
    check(np.all(cut[finer] == 0), "pixels finer than dmin are 0")
    near("coarser pixels unchanged", cut[coarser], full[coarser], rel=0)


@at("AT-STR-001")
def str_001():
    """-nointerpolate: F of the nearest (h0,k0,l0) inside the HKL grid, default_F outside."""
    table = {
        (h, k, l): 10 + 3 * h + 5 * k + 7 * l + 40
        for h in (-1, 0, 1)
        for k in range(-2, 3)
        for l in range(-2, 3)
        if (h, k, l) != (0, 1, 1)
    }
    det = L.Detector("mosflm", 64, pixel=0.3)
    base = f"{CUBIC} -N 5 -detpixels 64 -pixel 0.3 -oversample 1 {OUT}"
    img = run(f"{base} -hkl grid.hkl -default_F 3 -nointerpolate", {"grid.hkl": hkl_text(table)}).floats()
    ref = run(f"{base} -default_F 1").floats()
    h, k, l = (x[:, :, 0, 0] for x in L.miller(det, np.eye(3) * 100, 1.0))
    want = nearest_F(h, k, l, table, 3.0)
    ratio, good = ratio_map(img, ref)
    use = good & unambiguous(h, k, l)
    inside = (np.abs(k) < 2.5) & (np.abs(l) < 2.5)
    n_in, n_out = (use & inside).sum(), (use & ~inside).sum()
    check(n_in > 200 and n_out > 200, f"in-range and out-of-range pixels ({n_in}, {n_out})")
    near("image / (default_F 1 image) = F(h0,k0,l0)^2", ratio[use], want[use] ** 2, rel=1e-5)


def lagrange_F(x, table_F, lo):
    """Tricubic interpolation as polin3: Lagrange through floor(x)-1 .. floor(x)+2."""
    h = [np.asarray(v, float) for v in x]
    base = [np.floor(v).astype(int) - 1 for v in h]
    out = np.zeros(h[0].shape)
    for i in range(4):
        for j in range(4):
            for m in range(4):
                w = np.ones(h[0].shape)
                for axis, node in zip(range(3), (i, j, m)):
                    for other in range(4):
                        if other != node:
                            w = w * (h[axis] - (base[axis] + other)) / (node - other)
                out += w * table_F[base[0] + i - lo, base[1] + j - lo, base[2] + m - lo]
    return out


@at("AT-STR-002")
def str_002():
    """Tricubic interpolation (auto-selected for N <= 2) of F between grid points; at
    the first neighbourhood outside the grid a one-time warning, and interpolation off
    for the rest of the run.  For that evaluation the original takes the nearest
    reflection (the spec says default_F); the test asserts the original."""
    rng = np.random.default_rng(7)
    grid = np.round(rng.uniform(20, 80, (13, 13, 13)), 2)  # h, k, l = -6 .. 6
    table = {
        (h, k, l): grid[h + 6, k + 6, l + 6] for h in range(-6, 7) for k in range(-6, 7) for l in range(-6, 7)
    }
    # beam near the first row: k grows with the slow index, serial order
    det = L.Detector("mosflm", 16, spixels=48, pixel=0.15, Xbeam=0.3)
    cell = "-cell 50 50 50 90 90 90 -N 1 -detpixels_f 16 -detpixels_s 48 -pixel 0.15 -Xbeam 0.3 -oversample 1"
    h = [x[:, :, 0, 0] for x in L.miller(det, np.eye(3) * 50, 1.0)]
    ref = run(f"{cell} -default_F 1 {OUT}").floats()
    r = run(f"{cell} -hkl grid.hkl {OUT}", {"grid.hkl": hkl_text(table)})
    check("auto-selected tricubic interpolation" in r.out, "N = 1 auto-selects interpolation")
    check(all(np.all((v >= -4) & (v <= 4)) for v in h), "every neighbourhood inside the -6..6 grid")
    interp = lagrange_F(h, grid, -6)
    near("image / reference = interpolated F^2", r.floats() / ref, interp**2, rel=1e-5)
    # a -3..3 grid: neighbourhoods are inside only for -1 <= h, k, l <= 1
    small = {key: v for key, v in table.items() if max(abs(i) for i in key) <= 3}
    r = run(f"{cell} -hkl small.hkl {OUT}", {"small.hkl": hkl_text(small)})
    check(r.out.count("out of range for three point interpolation") == 1, "one warning")
    out = np.zeros(h[0].shape, bool)
    for v in h:
        out |= (v + 3 + 3 > 7) | (v - 2 < -3)  # nanoBragg's test, range 7
    first = int(np.argmax(out.ravel()))
    check(out.any() and first > 16, f"first pixel out of range (serial order): {first}")
    order = np.arange(out.size).reshape(out.shape)
    nearest = nearest_F(*h, small, 0.0)
    want = np.where(order < first, interp, nearest)
    use = unambiguous(*h) | (order < first)
    near(
        "before it interpolated, from it on the nearest F (squared)",
        (r.floats() / ref)[use],
        want[use] ** 2,
        rel=1e-5,
    )
    i = np.unravel_index(first, out.shape)
    print(f"      (at the switch pixel {i}: the nearest F {nearest[i]:g}; the spec's default_F: 0)")


def lattice_factor(shape, h, N, fudge=1.0, astar=0.01):
    h0 = [np.ceil(x - 0.5) for x in h]
    if shape == "square":
        return np.prod([L.sincg(np.pi * x, N) for x in h], axis=0)
    if shape == "round":
        hrad = sum((x - x0) ** 2 * N**2 for x, x0 in zip(h, h0))
        x = np.pi * np.sqrt(hrad * fudge)
        with np.errstate(invalid="ignore", divide="ignore"):
            sinc3 = np.where(x == 0, 1.0, 3 * (np.sin(x) / x - np.cos(x)) / x**2)
        return N**3 * 0.723601254558268 * sinc3
    rad = sum(((x - x0) * astar) ** 2 for x, x0 in zip(h, h0)) * N**6
    if shape == "gauss":
        return N**3 * np.exp(-(rad / 0.63 * fudge))
    return N**3 * (rad * fudge < 0.3969)


@at("AT-STR-003")
def str_003():
    """Lattice factors: SQUARE = prod sincg(pi h, N), ROUND = N^3 0.7236 sinc3(pi sqrt(fudge
    hrad^2)), GAUSS = N^3 exp(-dr*^2/0.63 fudge), TOPHAT = N^3 [dr*^2 fudge < 0.3969]."""
    det = L.Detector("mosflm", 64, pixel=0.2)
    base = f"{CUBIC} -default_F 100 -detpixels 64 -pixel 0.2 -lambda 1 -oversample 1 {OUT}"
    ref = run(f"{base} -N 1").floats()
    h = [x[:, :, 0, 0] for x in L.miller(det, np.eye(3) * 100, 1.0)]
    for flag, shape, fudge in (
        ("-square_xtal", "square", 1),
        ("-round_xtal", "round", 1),
        ("-round_xtal", "round", 2),
        ("-gauss_xtal", "gauss", 1),
        ("-tophat_spots", "tophat", 1),
        ("-tophat_spots", "tophat", 0.5),
    ):
        img = run(f"{base} -N 5 {flag} -fudge {fudge}").floats()
        want = lattice_factor(shape, h, 5, fudge) ** 2
        use = unambiguous(*h)
        if shape == "tophat":
            rad = sum((x - np.ceil(x - 0.5)) ** 2 for x in h) * 1e-4 * 5**6 * fudge
            use &= np.abs(rad - 0.3969) > 1e-6
            check(want.max() > 0 and (want[use] == 0).sum() > 0, "tophat: spots and zeros")
        near(
            f"{flag} -fudge {fudge}: image / (N=1 image) = F_latt^2",
            img[use] / ref[use],
            want[use],
            rel=1e-5,
            abs_=1e-9 * want.max(),
        )


@at("AT-STR-004")
def str_004():
    """Sparse HKL (0,0,0):100 (2,0,0):80 (0,2,0):60 with -default_F 10: missing
    reflections get 10, so I(0,0,0)/I(0,1,0) = (100/10)^2 = 100 (the spec's (1,0,0) is
    not on a MOSFLM detector: h <= 0 there; (0,1,0) is missing alike)."""
    table = {(0, 0, 0): 100.0, (2, 0, 0): 80.0, (0, 2, 0): 60.0}
    det = L.Detector("mosflm", 64, pixel=0.4)
    base = f"{CUBIC} -N 5 -lambda 6.2 -detpixels 64 -pixel 0.4 -oversample 1 -nointerpolate {OUT}"
    img = run(f"{base} -hkl sparse.hkl -default_F 10", {"sparse.hkl": hkl_text(table)}).floats()
    ref = run(f"{base} -default_F 1").floats()
    h, k, l = (x[:, :, 0, 0] for x in L.miller(det, np.eye(3) * 100, 6.2))
    ratio, good = ratio_map(img, ref)
    use = good & unambiguous(h, k, l)
    want = nearest_F(h, k, l, table, 10.0) ** 2
    near("image / reference = F^2 (table, default_F 10 elsewhere)", ratio[use], want[use], rel=1e-5)
    at000 = use & (np.ceil(k - 0.5) == 0) & (np.ceil(l - 0.5) == 0)
    at010 = use & (np.ceil(k - 0.5) == 1) & (np.ceil(l - 0.5) == 0)
    at020 = use & (np.ceil(k - 0.5) == 2) & (np.ceil(l - 0.5) == 0)
    check(at000.any() and at010.any() and at020.any(), "(0,0,0), (0,1,0), (0,2,0) on the detector")
    near("I(0,0,0)/I(0,1,0) after geometry", np.median(ratio[at000]) / np.median(ratio[at010]), 100, rel=0.01)
    near("I(0,2,0)/I(0,1,0) after geometry", np.median(ratio[at020]) / np.median(ratio[at010]), 36, rel=0.01)


@at("AT-POL-001")
def pol_001():
    """Kahn factor 0.5(1 + cos^2 2t - K cos 2psi sin^2 2t); -nopolar gives 1; without
    -oversample_polar one value per pixel (the original's: the first sub-pixel's, the
    spec says the last), with it each sub-pixel multiplies the running sum."""
    det = L.Detector("mosflm", 32, pixel=1, distance=30)
    base = f"{CUBIC} -default_F 1 -N 1 -detpixels 32 -pixel 1 -distance 30 {OUT}"
    pos = det.positions(1)[:, :, 0, 0]
    k = L.R_E_SQR * L.FLUENCE * det.omega(pos)
    near(
        "-polar 0.6: Kahn factor",
        run(base + " -polar 0.6 -oversample 1").floats(),
        k * L.polarization(det.b, L.unit(pos), det.polar_axis, 0.6),
        rel=1e-5,
    )
    near("-nopolar: factor 1", run(base + " -nopolar -oversample 1").floats(), k, rel=1e-5)
    near(
        "-oversample 2: first sub-pixel's factor",
        run(base + " -polar 0.6 -oversample 2").floats(),
        subpixel_model(det, 2, K=0.6),
        rel=1e-5,
    )
    near(
        "-oversample_polar: each sub-pixel's factor on the running sum",
        run(base + " -polar 0.6 -oversample 2 -oversample_polar").floats(),
        subpixel_model(det, 2, K=0.6, polar_each=True),
        rel=1e-5,
    )


@at("AT-BKG-001")
def bkg_001():
    """With no Bragg term (F = 0), a pixel is r_e^2 fluence I_bg / steps * omega * polar,
    I_bg = F_bg^2 r_e^2 fluence water^3 1e6 Avogadro / 18 (F_bg = 2.57)."""
    det = L.Detector("mosflm", 32, pixel=0.5)
    pos = det.positions(1)[:, :, 0, 0]
    img = run(
        f"{WATER} -water 20 -fluence 1e22 -nopolar -detpixels 32 -pixel 0.5 -oversample 1 {OUT}",
        {"zero.hkl": F0_HKL},
    ).floats()
    near(
        "pixel = r_e^2 fluence I_bg omega",
        img,
        L.R_E_SQR * 1e22 * water_bg(20, 1e22) * det.omega(pos),
        rel=1e-5,
    )


def uniform_water(mean):
    """Arguments for a flat image of the given mean: water only, curved detector, point
    pixels, no polarization (fluence enters I_bg and the scale: squared)."""
    k = 2.57**2 * 1e-18 * 1e6 * L.AVOGADRO / 18 / 0.1**2
    fluence = np.sqrt(mean / k) / L.R_E_SQR
    return (
        f"{WATER} -water 1 -fluence {fluence:.9g} -curved_det -point_pixel -nopolar "
        f"-detpixels 48 -oversample 1 -floatfile float.bin -nopgm"
    )


@at("AT-NOISE-001")
def noise_001():
    """Poisson noise about the float image: means < 12 (exact), up to 1e6 (rejection),
    > 1e6 (Gaussian); -seed reproduces it; ADC offset and clipping; overloads counted."""
    files = {"zero.hkl": F0_HKL}
    for mean in (5.0, 1000.0):
        r = run(f"{uniform_water(mean)} -seed 11 -adc 10 -noisefile noise.img", files)
        flt = r.floats()
        near(f"mean {mean:g}: flat float image", flt, np.full(flt.shape, mean), rel=1e-5)
        n = r.smv("noise.img")[1].astype(float) - 10
        check(np.all(n >= 0) and np.all(n == np.round(n)), f"mean {mean:g}: counts - adc are whole, >= 0")
        sigma = np.sqrt(mean / n.size)
        near(f"mean {mean:g}: sample mean (5 sigma)", n.mean(), mean, rel=0, abs_=5 * sigma)
        near(f"mean {mean:g}: sample variance = mean", n.var(ddof=1), mean, rel=0.15)
        if mean < 12:
            near("P(0) = exp(-mean)", np.mean(n == 0), np.exp(-mean), rel=0, abs_=0.006)
        again = run(f"{uniform_water(mean)} -seed 11 -adc 10 -noisefile noise.img", files)
        check(
            np.array_equal(again.smv("noise.img")[1], r.smv("noise.img")[1]),
            f"mean {mean:g}: same seed, same image",
        )
    r = run(f"{uniform_water(2e6)} -seed 11 -noisefile noise.img", files)
    noise = r.smv("noise.img")[1]
    check(np.all(noise == 65535), "mean 2e6: every pixel clipped to 65535")
    check(r.find(r"\((\d+) overloads\)", int) == noise.size, f"mean 2e6: {noise.size} overloads reported")


@at("AT-IO-001")
def io_001():
    """SMV: the required keys, '}' + form feed, padded to 512 bytes; unsigned shorts,
    fast-major (index = slow*fpixels + fast)."""
    keys = (
        "HEADER_BYTES DIM BYTE_ORDER TYPE SIZE1 SIZE2 PIXEL_SIZE DISTANCE WAVELENGTH "
        "BEAM_CENTER_X BEAM_CENTER_Y ADXV_CENTER_X ADXV_CENTER_Y MOSFLM_CENTER_X MOSFLM_CENTER_Y "
        "DENZO_X_BEAM DENZO_Y_BEAM DIALS_ORIGIN XDS_ORGX XDS_ORGY CLOSE_DISTANCE PHI OSC_START "
        "OSC_RANGE TWOTHETA DETECTOR_SN BEAMLINE"
    ).split()
    # beam (point-pixel water peak) at slow 10, fast 30 of a 48 x 32 detector
    r = run(
        f"{WATER} -water 1 -point_pixel -detpixels_f 48 -detpixels_s 32 -pixel 1 -Xbeam 10 -Ybeam 30 "
        f"-oversample 1 -floatfile float.bin -intfile int.img -noisefile noise.img -seed 1 -nopgm",
        {"zero.hkl": F0_HKL},
    )
    for name in ("int.img", "noise.img"):
        header, data, raw = r.smv(name)
        text = raw.decode("ascii")
        check(text.startswith("{\nHEADER_BYTES=512;\n"), f"{name}: starts with {{ HEADER_BYTES=512;")
        check(
            all(k in header for k in keys),
            f"{name}: all required keys " + str([k for k in keys if k not in header]),
        )
        end = text.index("}\f")
        check(
            len(raw) == 512 and text[end + 2 :].strip(" ") == "", f"{name}: closed with }}\\f, spaces to 512"
        )
        check(os.path.getsize(r.path(name)) == 512 + 2 * 48 * 32, f"{name}: 512 + 2 bytes per pixel")
        check(
            header["BYTE_ORDER"] == ("little_endian" if sys.byteorder == "little" else "big_endian"),
            f"{name}: BYTE_ORDER {header['BYTE_ORDER']}",
        )
        check(header["SIZE1"] == "48" and header["SIZE2"] == "32", f"{name}: SIZE1=48 (fast), SIZE2=32")
    flat = np.frombuffer(open(r.path("int.img"), "rb").read()[512:], "<u2")
    check(
        int(np.argmax(flat)) == 10 * 48 + 30,
        f"brightest pixel at index slow*48+fast = 510: {np.argmax(flat)}",
    )
    scale = r.find(r"intfile_scale = (\S+)")
    flt = r.floats()
    check(
        np.all(np.abs(flat.reshape(32, 48) - (flt * scale + 40)) <= 0.5 + 1e-3 * flt * scale),
        "int pixels = float * scale + adc, same order",
    )


def check_pgm(r, scale=None):
    """The PGM of run r: P5, 'width height', '# pixels scaled by <scale>', 255, then
    floor(min(255, float*scale)); scale None: the automatic 250/(5 rmsd)."""
    flt = r.floats().astype(np.float64)
    tag = f"-pgmscale {scale}" if scale else "automatic scale"
    if scale is None:
        scale = 250 / (5 * np.sqrt(np.sum((flt - flt.mean()) ** 2) / (flt.size - 1)))
        near("automatic scale = 250 / (5 rmsd)", r.find(r"pgm_scale = (\S+)"), scale, rel=1e-5)
    lines, data = r.pgm()
    s, f = flt.shape
    check(
        lines[:2] == ["P5", f"{f} {s}"] and lines[3] == "255" and lines[2].startswith("# pixels scaled by "),
        f"{tag}: header {lines}",
    )
    near(f"{tag}: scale in the comment", float(lines[2].split("by ")[1]), scale, rel=1e-5)
    want = np.floor(np.minimum(255, flt * scale))
    edge = np.abs(flt * scale - np.round(flt * scale)) < 1e-5 * np.maximum(flt * scale, 1)
    check(
        data.shape == flt.shape and np.all((data == want) | edge),
        f"{tag}: bytes floor(min(255, float*scale))",
    )


@at("AT-IO-002")
def io_002():
    """PGM: P5, width height, '# pixels scaled by <scale>', 255, then bytes
    floor(min(255, float * scale)); with and without -pgmscale."""
    base = (
        f"{CUBIC} -default_F 100 -N 5 -lambda 6.2 -detpixels_f 48 -detpixels_s 40 -oversample 1 "
        f"-floatfile float.bin -nonoise -pgmfile image.pgm"
    )
    check_pgm(run(f"{base} -pgmscale 2.5"), 2.5)
    check_pgm(run(base))


@at("AT-IO-003")
def io_003():
    """Fdump.bin: after -hkl a header 'h_min h_max k_min k_max l_min l_max' + form feed,
    then doubles, pages over h and k of l values (the original's layout: one padding
    index per axis); a run without -hkl reads it back and renders the same image;
    -default_F's prefill of missing points is kept."""
    table = {(-1, 0, -2): 5.0, (1, 2, 0): 7.0, (0, 1, -1): 9.0}
    det = L.Detector("mosflm", 48, pixel=0.3)
    base = f"{CUBIC} -N 5 -detpixels 48 -pixel 0.3 -oversample 1 -nointerpolate {OUT}"
    r = run(f"{base} -hkl small.hkl -default_F 3", {"small.hkl": hkl_text(table)})
    raw = open(r.path("Fdump.bin"), "rb").read()
    head, data = raw.split(b"\f", 1)
    check(head == b"-1 1 0 2 -2 0\n", f"header {head!r}")
    grid = np.frombuffer(data, "<f8")
    check(grid.size == 4 * 4 * 4, f"(range+1)^3 = 64 doubles: {grid.size}")
    grid = grid.reshape(4, 4, 4)
    want = np.zeros((4, 4, 4))
    want[:3, :3, :3] = 3.0
    for (h, k, l), F in table.items():
        want[h + 1, k, l + 2] = F
    check(np.array_equal(grid, want), "values: table, default_F prefill, zero padding")
    again = run(f"{base} -default_F 3", {"Fdump.bin": raw})
    check("Fdump.bin" in again.out, "read Fdump.bin")
    check(np.array_equal(again.floats(), r.floats()), "same image from the cache")
    bare = run(base, {"Fdump.bin": raw}).floats()  # no -default_F: 0 outside the grid only
    h, k, l = (x[:, :, 0, 0] for x in L.miller(det, np.eye(3) * 100, 1.0))
    inside = (
        (np.ceil(h - 0.5) >= -1)
        & (np.ceil(h - 0.5) <= 1)
        & (np.ceil(k - 0.5) >= 0)
        & (np.ceil(k - 0.5) <= 2)
        & (np.ceil(l - 0.5) >= -2)
        & (np.ceil(l - 0.5) <= 0)
    )
    use = unambiguous(h, k, l)
    check(
        np.array_equal(bare[inside & use], r.floats()[inside & use]) and np.all(bare[~inside & use] == 0),
        "without -default_F: prefilled points kept, 0 outside the grid",
    )


@at("AT-IO-004")
def io_004():
    """HKL files with 4, 5 (phase) and 6 (sigma, phase) columns, negative indices: the
    same image; Fdump.bin the same for each and reused with the same result."""
    rng = np.random.default_rng(3)
    keys = [(h, k, l) for h in (-1, 0) for k in range(-3, 4) for l in range(-3, 4)]
    F = dict(zip(keys, np.round(rng.uniform(10, 90, len(keys)), 2)))
    texts = {
        "minimal.hkl": "".join(f"{h} {k} {l} {F[h, k, l]}\n" for h, k, l in keys),
        "with_phase.hkl": "".join(f"{h} {k} {l} {F[h, k, l]} {37.5 * h + k}\n" for h, k, l in keys),
        "with_sigma.hkl": "".join(f"{h} {k} {l} {F[h, k, l]} 0.{abs(k)}5 -{12 + l}\n" for h, k, l in keys),
    }
    base = f"{CUBIC} -N 5 -detpixels 64 -pixel 0.25 -oversample 1 -nointerpolate {OUT}"
    images, dumps = {}, {}
    for name, text in texts.items():
        r = run(f"{base} -hkl {name}", {name: text})
        images[name] = r.floats()
        dumps[name] = open(r.path("Fdump.bin"), "rb").read()
        cached = run(base, {"Fdump.bin": dumps[name]}).floats()
        check(np.array_equal(cached, images[name]), f"{name}: same image from its Fdump.bin")
    for name in list(texts)[1:]:
        check(np.array_equal(images[name], images["minimal.hkl"]), f"{name}: same image as minimal.hkl")
        check(dumps[name] == dumps["minimal.hkl"], f"{name}: same Fdump.bin")
    det = L.Detector("mosflm", 64, pixel=0.25)
    ref = run(f"{base} -default_F 1").floats()
    h, k, l = (x[:, :, 0, 0] for x in L.miller(det, np.eye(3) * 100, 1.0))
    ratio, good = ratio_map(images["minimal.hkl"], ref)
    k0, l0 = np.ceil(k - 0.5), np.ceil(l - 0.5)
    use = good & unambiguous(h, k, l) & (k0 < 0) & (l0 < 0) & (k0 >= -3) & (l0 >= -3)
    check(use.sum() > 100, f"pixels with negative k and l in the file ({use.sum()})")
    near(
        "negative indices: image / reference = F^2", ratio[use], nearest_F(h, k, l, F, 0)[use] ** 2, rel=1e-5
    )


@at("AT-SRC-001")
def src_001():
    """-sourcefile with two sources of distinct weight and wavelength: steps = 2, the
    weights ignored, the image divided by steps.  The spec says -lambda is used for
    every source; the original (and nanobragg) use each source's wavelength column."""
    base = f"{CUBIC} -default_F 100 -N 5 -detpixels 64 -oversample 1 {OUT}"
    one = run(f"{base} -lambda 1.0").floats()
    other = run(f"{base} -lambda 1.2").floats()
    for w1, w2 in ((1, 5), (5, 1)):
        src = f"-10 0 0 {w1} 1.0e-10\n-10 0 0 {w2} 1.2e-10\n"
        r = run(f"{base} -lambda 1 -sourcefile sources.txt", {"sources.txt": src})
        check(r.find(r"created a total of (\d+) sources", int) == 2, "2 sources")
        near(
            f"weights {w1},{w2}: image = mean of the two wavelengths' images",
            r.floats(),
            (one + other) / 2,
            rel=1e-5,
            abs_=1e-6 * one.max(),
        )
    print(f"      (correlation with the -lambda 1 image the spec expects: {L.corr(r.floats(), one):.4f})")


@at("AT-SRC-002")
def src_002():
    """Missing count/range/step resolved (the original's rules): only a step: range =
    step, 2 steps; only a range: step = range, 2 steps (layers: step = range/2); only a
    count: range 1 rad, step = range/count (the Sources section's rule; core item 12
    says range/(count-1)); a layer or wavelength count alone does nothing, as in the
    original (the spec assumes 0.5 um / 100%)."""
    base = f"{CUBIC} -default_F 100 -detpixels 8 -roi 0 0 0 0 {OUT}"
    div = r"hdivrange=(\S+) hdivstep=(\S+)  radians"
    for extra, want in (
        ("-hdivstep 0.1", (1e-4, 1e-4, 2)),
        ("-hdivrange 0.5", (5e-4, 5e-4, 2)),
        ("-hdivsteps 3", (1.0, 1 / 3, 3)),
        ("-hdivrange 0.5 -hdivsteps 3", (5e-4, 2.5e-4, 3)),
        ("-hdivrange 0.5 -hdivstep 0.2", (5e-4, 2e-4, 3)),
    ):
        r = run(f"{base} {extra}")
        near(f"{extra}: range, step", r.find(div), want[:2], rel=1e-5)
        check(r.find(r"(\d+) divergence steps", int) == want[2], f"{extra}: {want[2]} steps")
    r = run(f"{base} -dispersion 2")
    near(
        "-dispersion 2: wavelengths lambda(1 -+ 1%)",
        [r.find(r"lambda0 = (\S+)"), r.find(r"lambda1 = (\S+)")],
        [0.99e-10, 1.01e-10],
        rel=1e-9,
    )
    r = run(f"{base} -dispsteps 3")
    check("in 1 steps" in r.out, "-dispsteps 3 alone: one wavelength")
    for extra, layers, step in (
        ("-detector_thick 100", 2, 50.0),
        ("-detector_thick 100 -thicksteps 4", 4, 100 / 3),
        ("-thicksteps 3", 1, 0.0),
        ("-detector_thick 100 -thicksteps 1", 2, 100.0),
    ):
        r = run(f"{base} {extra}")
        check(r.find(r"thick in (\d+) layers", int) == layers, f"{extra}: {layers} layer(s)")
        if layers > 1:
            near(f"{extra}: layer step (um)", r.find(r"thick1 = (\S+) um"), step, rel=1e-5)


@at("AT-PRE-001")
def pre_001():
    """-img and -mask headers: the one read last wins for shared keys (the original reads
    -mask, then -img, whatever the order on the command line); -mask's BEAM_CENTER_Y is
    flipped (detsize_s - value), -img's is taken as is."""
    mask = L.write_smv(
        16,
        16,
        {"PIXEL_SIZE": 0.1, "DISTANCE": 150, "BEAM_CENTER_X": 0.5, "BEAM_CENTER_Y": 0.4, "WAVELENGTH": 2},
    )
    img = L.write_smv(
        16,
        16,
        {"PIXEL_SIZE": 0.1, "DISTANCE": 120, "BEAM_CENTER_X": 0.7, "BEAM_CENTER_Y": 0.3, "WAVELENGTH": 1.5},
    )
    files = {"mask.img": mask, "header.img": img}
    base = f"{CUBIC} -default_F 100 -N 5 -roi 0 0 0 0 -floatfile float.bin -intfile out.img -nonoise -nopgm"
    keys = ("DISTANCE", "BEAM_CENTER_X", "BEAM_CENTER_Y", "WAVELENGTH")
    for extra, want in (
        ("-mask mask.img", (150, 0.5, 1.6 - 0.4, 2)),
        ("-img header.img", (120, 0.7, 0.3, 1.5)),
        ("-img header.img -mask mask.img", (120, 0.7, 0.3, 1.5)),
        ("-mask mask.img -img header.img", (120, 0.7, 0.3, 1.5)),
    ):
        h = run(f"{base} {extra}", files).smv("out.img")[0]
        near(f"{extra}: {', '.join(keys)}", [float(h[k]) for k in keys], want, rel=1e-6)


@at("AT-PRE-002")
def pre_002():
    """-Xbeam/-Ybeam give the beam pivot, -Xclose/-Yclose/-ORGX/-ORGY the sample pivot,
    -pivot (given last) wins.  As in the original, MOSFLM and XDS impose their pivots;
    the rules hold in the custom convention."""
    base = f"{CUBIC} -default_F 100 -detpixels 16 -roi 0 0 0 0 {OUT}"
    for conv, extra, want in (
        (CUSTOM, "-Xbeam 1 -Ybeam 1", "beam"),
        (CUSTOM, "-Xclose 1 -Yclose 1", "sample"),
        (CUSTOM, "-ORGX 5 -ORGY 5", "sample"),
        (CUSTOM, "-Xclose 1 -pivot beam", "beam"),
        (CUSTOM, "-Xbeam 1 -pivot sample", "sample"),
        ("-mosflm", "-Xclose 1 -Yclose 1", "beam"),
        ("-mosflm", "-ORGX 5 -ORGY 5", "beam"),
        ("-mosflm", "-pivot sample", "beam"),
        ("-xds", "-Xbeam 1 -Ybeam 1", "sample"),
        ("-xds", "-pivot beam", "sample"),
    ):
        name = "custom" if conv == CUSTOM else conv[1:]
        got = pivot(run(f"{base} {conv} {extra}"))
        check(got == want, f"{name} {extra}: {got} (the original: {want})")


def check_stats(r, img, use):
    vals = img[use].astype(np.float64)
    near("mean over rendered pixels", r.stats()[0], vals.mean(), rel=1e-5)
    near("rms = sqrt(sum x^2 / (N-1))", r.stats()[1], np.sqrt(np.sum(vals**2) / (vals.size - 1)), rel=1e-5)
    near("max_I", r.find(r"max_I = (\S+)"), vals.max(), rel=1e-5)
    near("rmsd = sqrt(sum (x - mean)^2 / (N-1)) over the same pixels", r.stats()[2],
         np.sqrt(np.sum((vals - vals.mean()) ** 2) / (vals.size - 1)), rel=1e-5)


@at("AT-ROI-001")
def roi_001():
    """Pixels outside -roi or masked are not rendered (0) and not in the statistics
    (mean, rms, rmsd, max_I)."""
    mask = np.ones((32, 32), np.uint16)
    mask[5:8, 8:12] = 0
    r = run(
        f"{CUBIC} -default_F 100 -N 5 -lambda 6.2 -water 5 -oversample 1 -mask mask.img -roi 5 20 3 12 {OUT}",
        {"mask.img": L.write_smv(32, 32, {"PIXEL_SIZE": 0.1}, mask)},
    )
    use = np.zeros((32, 32), bool)
    use[3:13, 5:21] = True  # rows 3..12, columns 5..20
    use &= mask != 0
    img = r.floats()
    check(np.all(img[~use] == 0), "outside the ROI and masked: 0")
    check(np.all(img[use] > 0), "rendered pixels > 0")
    check_stats(r, img, use)


@at("AT-FLU-001")
def flu_001():
    """fluence = flux exposure / beamsize^2 (overriding -fluence); a beam narrower than the
    sample clips sample_y and sample_z, with a warning."""
    base = f"{CUBIC} -default_F 1 -detpixels 16 -oversample 1 {OUT}"
    r = run(f"{base} -xtalsize 0.0004 -flux 1e12 -exposure 2 -beamsize 0.0002 -fluence 1e20")
    near(
        "fluence = 1e12 * 2 / (0.2 um)^2", r.find(r"incident fluence: (\S+)"), 1e12 * 2 / 2e-7**2, rel=1e-5
    )
    check(r.out.count("WARNING: clipping sample") == 2, "two clipping warnings")
    check(
        r.find(r"xtal: (\d+)x(\d+)x(\d+) cells", int) == [40, 20, 20],
        "crystal 40 x 20 x 20 cells (y, z clipped)",
    )
    same = run(f"{base} -Na 40 -Nb 20 -Nc 20 -fluence 5e25")
    check(np.array_equal(r.floats(), same.floats()), "same image as -fluence 5e25 and the clipped crystal")


@at("AT-STA-001")
def sta_001():
    """Statistics over the ROI: max_I and its last-set sub-pixel coordinates, mean,
    rms = sqrt(sum x^2/(N-1)), rmsd = sqrt(sum (x-mean)^2/(N-1))."""
    r = run(f"{CUBIC} -default_F 100 -N 5 -lambda 6.2 -detpixels 48 -oversample 2 -roi 10 40 5 30 {OUT}")
    img = r.floats()
    use = np.zeros(img.shape, bool)
    use[5:31, 10:41] = True
    check_stats(r, img, use)
    vals = img[use].astype(np.float64)
    near("rmsd", r.stats()[2], np.sqrt(np.sum((vals - vals.mean()) ** 2) / (vals.size - 1)), rel=1e-5)
    s, f = np.unravel_index(np.argmax(np.where(use, img, -1)), img.shape)
    sub = 0.1e-3 / 2
    near(
        "max_I position: last sub-pixel of the brightest pixel (m)",
        r.find(r"max_I = \S+  at (\S+) (\S+)"),
        [sub * (2 * f + 1) + sub / 2, sub * (2 * s + 1) + sub / 2],
        rel=1e-5,
    )


# ======================================================== spec-a-cli.md


@at("AT-CLI-001")
def cli_001():
    """-h and --help print the usage with at least the listed flags; exit 0."""
    for flag in ("-h", "--help"):
        out = run(flag).out
        names = (
            "-hkl -mat -cell -pixel -detpixels -distance -lambda -energy -floatfile -intfile -noisefile "
            "-pgmfile -scale -adc -mosflm -xds -adxv -denzo -dials -roi".split()
        )
        missing = [n for n in names if f"\n  {n} " not in out]
        check(not missing, f"{flag}: lists every required flag {missing}")


def expected_header(det, lam, phi=0.0, osc=0.0):
    px = det.px
    d = det.pix0 @ np.array([[0, 0, 1], [0, 1, 0], [-1, 0, 0]]).T * 1000
    return {
        "SIZE1": det.fpixels,
        "SIZE2": det.spixels,
        "PIXEL_SIZE": px * 1e3,
        "DISTANCE": det.distance * 1e3,
        "WAVELENGTH": lam,
        "BEAM_CENTER_X": det.Xbeam * 1e3,
        "BEAM_CENTER_Y": det.Ybeam * 1e3,
        "ADXV_CENTER_X": det.Fbeam * 1e3,
        "ADXV_CENTER_Y": (det.spixels * px - det.Sbeam) * 1e3,
        "MOSFLM_CENTER_X": (det.Sbeam - px / 2) * 1e3,
        "MOSFLM_CENTER_Y": (det.Fbeam - px / 2) * 1e3,
        "DENZO_X_BEAM": det.Sbeam * 1e3,
        "DENZO_Y_BEAM": det.Fbeam * 1e3,
        "DIALS_ORIGIN": tuple(d),
        "XDS_ORGX": det.Fclose / px + 0.5,
        "XDS_ORGY": det.Sclose / px + 0.5,
        "CLOSE_DISTANCE": det.close * 1e3,
        "PHI": phi,
        "OSC_START": phi,
        "OSC_RANGE": osc,
        "TWOTHETA": 0,
    }


def check_header(tag, header, want):
    for key, value in want.items():
        got = [float(v) for v in header[key].split(",")]
        near(f"{tag}: {key}", got, np.atleast_1d(value), rel=2e-5, abs_=1e-4)


@at("AT-CLI-002")
def cli_002():
    """32x32, 0.1 mm, 100 mm, -default_F: float and SMV files; the header keys with their
    values (mm, A, deg, pixels); fast-major data."""
    r = run(
        f"{CUBIC} -default_F 100 -N 5 -detpixels 32 -pixel 0.1 -distance 100 -lambda 1.5 -phi 3 -osc 1 "
        f"-floatfile float.bin -intfile int.img -nonoise -nopgm"
    )
    check(os.path.isfile(r.path("float.bin")) and os.path.isfile(r.path("int.img")), "both files written")
    header, data, _ = r.smv()
    check_header("MOSFLM", header, expected_header(L.Detector("mosflm", 32), 1.5, 3, 1))
    check(header["DETECTOR_SN"] == "000" and header["BEAMLINE"] == "fake", "DETECTOR_SN, BEAMLINE")
    flt = r.floats().astype(float)
    check(
        np.array_equal(data, np.floor(flt * 55000 / flt.max() + 40 + 0.5)),
        "data: float * scale + adc, same order",
    )


@at("AT-CLI-003")
def cli_003():
    """-mosflm pivots on the beam, -xds on the sample; ORGX/ORGY and the ADXV, MOSFLM,
    DENZO centres follow the mapping rules.  -pivot does not override a convention's
    pivot in the original (nor here): the test asserts that."""
    base = f"{CUBIC} -default_F 100 -detpixels 32 -distance 100 -detector_rotx 4 -roi 0 0 0 0 {OUT}"
    for conv, want in (("mosflm", "beam"), ("xds", "sample")):
        r = run(f"{base} -{conv}")
        check(pivot(r) == want, f"-{conv}: pivot {want}")
        check_header(conv, r.smv()[0], expected_header(L.Detector(conv, 32, rot=(4, 0, 0)), 1.0))
        other = "sample" if want == "beam" else "beam"
        r2 = run(f"{base} -{conv} -pivot {other}")
        check(
            pivot(r2) == want and r2.smv()[0] == r.smv()[0],
            f"-{conv} -pivot {other}: still {want}, same header",
        )


@at("AT-CLI-004")
def cli_004():
    """-img and -mask with conflicting headers: the last read (-img) wins; mask-0 pixels
    stay 0 in the float image (the SMV images hold the ADC offset there) and are not in
    the statistics (mean, rms, rmsd, max_I)."""
    mask = np.ones((32, 32), np.uint16)
    mask[5:8, 8:12] = 0
    files = {
        "mask.img": L.write_smv(32, 32, {"PIXEL_SIZE": 0.1, "DISTANCE": 150, "WAVELENGTH": 2}, mask),
        "header.img": L.write_smv(32, 32, {"PIXEL_SIZE": 0.1, "DISTANCE": 120, "WAVELENGTH": 6.2}),
    }
    r = run(
        f"{CUBIC} -default_F 100 -N 5 -oversample 1 -mask mask.img -img header.img -roi 5 20 3 12 "
        f"-floatfile float.bin -intfile int.img -noisefile noise.img -seed 3 -nopgm",
        files,
    )
    h = r.smv()[0]
    check(float(h["DISTANCE"]) == 120 and float(h["WAVELENGTH"]) == 6.2, "-img's DISTANCE and WAVELENGTH")
    img = r.floats()
    masked = mask == 0
    check(np.all(img[masked] == 0), "masked pixels 0 in the float image")
    check(
        np.all(r.smv("int.img")[1][masked] == 40) and np.all(r.smv("noise.img")[1][masked] == 40),
        "masked pixels = adc (40) in the SMV images",
    )
    use = np.zeros(img.shape, bool)
    use[3:13, 5:21] = True
    check_stats(r, img, use & ~masked)


@at("AT-CLI-005")
def cli_005():
    """-roi inside the detector: only ROI pixels non-zero in the float, int and noise images."""
    inroi = np.zeros((32, 32), bool)
    inroi[3:13, 5:21] = True
    r = run(
        f"{WATER} -water 5 -detpixels 32 -roi 5 20 3 12 -floatfile float.bin -intfile int.img "
        f"-noisefile noise.img -seed 3 -nopgm",
        {"zero.hkl": F0_HKL},
    )
    for name, data in (("float", r.floats()), ("int", r.smv("int.img")[1]), ("noise", r.smv("noise.img")[1])):
        check(
            np.all(data[~inroi] == 0) and np.all(data[inroi] > 0), f"{name}: non-zero exactly inside the ROI"
        )


@at("AT-CLI-006")
def cli_006():
    """Without -scale the brightest pixel maps to 55000 counts (+ adc); with -scale,
    float*scale + adc clipped to 65535: the original rounds to nearest (core spec: 'rounded
    to nearest'), not floor as this AT says.  PGM: P5, comment, 255, min(255, floor(float*s))."""
    base = (
        f"{CUBIC} -default_F 100 -N 5 -lambda 6.2 -detpixels 48 -oversample 1 -floatfile float.bin -nonoise"
    )
    r = run(f"{base} -intfile int.img -nopgm")
    img, data = r.floats().astype(np.float64), r.smv()[1].astype(np.float64)
    check(
        data.flat[np.argmax(img)] == 55040,
        f"auto scale: brightest pixel 55000 + 40 ({data.flat[np.argmax(img)]:g})",
    )
    for scale in (2.5, 1000):
        r = run(f"{base} -intfile int.img -scale {scale} -adc 20 -pgmfile image.pgm -pgmscale 3")
        img, data = r.floats().astype(np.float64), r.smv()[1].astype(np.float64)
        want = np.floor(np.minimum(65535, np.maximum(0, img * scale + 20)) + 0.5)
        check(
            np.array_equal(data, np.minimum(want, 65535)),
            f"-scale {scale}: round(min(65535, float*scale + adc))",
        )
        floor = np.floor(np.minimum(65535, img * scale + 20))
        print(f"      (pixels where floor would differ: {int(np.sum(floor != data))} of {data.size})")
        check_pgm(r, 3)
    check(np.any(data == 65535), "-scale 1000: clipped pixels present")
    check_pgm(run(f"{base} -pgmfile image.pgm"))


@at("AT-CLI-007")
def cli_007():
    """-noisefile twice with the same -seed: identical images and overload counts; another
    seed: a different image."""
    base = (
        f"{CUBIC} -default_F 100 -N 5 -lambda 6.2 -detpixels 48 -fluence 1e32 -roi 4 40 4 40 "
        f"-floatfile float.bin -noisefile noise.img -nopgm"
    )
    a, b, c = run(f"{base} -seed 123"), run(f"{base} -seed 123"), run(f"{base} -seed 456")
    over = [x.find(r"\((\d+) overloads\)", int) for x in (a, b, c)]
    check(np.array_equal(a.smv("noise.img")[1], b.smv("noise.img")[1]), "same seed: identical noise images")
    check(over[0] == over[1] and over[0] > 0, f"same seed: same overload count {over[:2]}")
    check(not np.array_equal(a.smv("noise.img")[1], c.smv("noise.img")[1]), "other seed: different image")


@at("AT-CLI-008")
def cli_008():
    """-dmin: total intensity over the ROI <= without it; the pixels that change are the
    high-angle ones (resolution finer than dmin)."""
    det = L.Detector("mosflm", 96)
    base = (
        f"{CUBIC} -default_F 100 -N 5 -lambda 1 -distance 40 -detpixels 96 -oversample 1 -roi 8 88 8 88 {OUT}"
    )
    full, cut = run(base).floats(), run(base + " -dmin 12").floats()
    check(cut.sum() <= full.sum() and cut.sum() < full.sum(), f"sum {cut.sum():.6g} < {full.sum():.6g}")
    det = L.Detector("mosflm", 96, distance=40)
    d = 1 / np.linalg.norm(np.stack(L.miller(det, np.eye(3), 1.0), -1)[:, :, 0, 0], axis=-1)
    changed = cut != full
    check(changed.any() and np.all(d[changed] < 12), f"changed pixels all finer than 12 A ({changed.sum()})")


@at("AT-CLI-009")
def cli_009():
    """No -hkl, no Fdump.bin, -default_F 0: usage on the output, non-zero exit."""
    for extra in ("", "-default_F 0"):
        r = run(f"{CUBIC} -detpixels 16 {extra}", expect=None)
        check(
            r.rc != 0 and "usage:" in r.out and "-hkl" in r.out, f"'{extra}': exit {r.rc}, usage naming -hkl"
        )


# ======================================================== spec-a-parallel.md


@at("AT-PARALLEL-001")
def par_001():
    """Beam centre vs detector size (64 ... 1024 pixels of 0.1 mm): the spec wants
    n/2 x 0.1 mm; the original's MOSFLM default is (n + 1)/2 x 0.1 mm (asserted).  The
    brightest pixel within 2 pixels of the centre; correlation >= 0.9999 with the model."""
    for n in (64, 128, 256, 512, 1024):
        det = L.Detector("mosflm", n)
        centre = beam_index(det)
        roi = "" if n <= 256 else window(det, centre, 16)
        r = run(f"{CUBIC} -default_F 100 -N 3 -lambda 6.2 -detpixels {n} -oversample 1 {roi} {OUT}")
        h = r.smv()[0]
        near(
            f"{n}: BEAM_CENTER_X, _Y = (n + 1)/2 x 0.1 mm (spec {n * 0.05:g})",
            [float(h["BEAM_CENTER_X"]), float(h["BEAM_CENTER_Y"])],
            [(n + 1) * 0.05] * 2,
            rel=1e-6,
        )
        img = r.floats()
        peak = np.array(np.unravel_index(np.argmax(img), img.shape))
        check(np.all(np.abs(peak - n / 2) <= 2), f"{n}: brightest pixel {tuple(peak)} within 2 of {n / 2:g}")
        if n <= 256:
            check(
                L.corr(img, L.render(det, lam=6.2, N=(3, 3, 3))) >= 0.9999, f"{n}: correlation with the model"
            )


@at("AT-PARALLEL-002")
def par_002():
    """Pixel sizes 0.05 ... 0.4 mm, beam centre 25.6 mm: beam centre in pixels 25.6/pixel
    (+-0.1), peak offsets scale as 1/pixel, correlation >= 0.9999 with the model.  1024
    pixels (rendered around the beam) so that the 25.6 mm beam is on the detector."""
    offsets = []
    for px in (0.05, 0.1, 0.2, 0.4):
        det = L.Detector("mosflm", 1024, pixel=px, Xbeam=25.6, Ybeam=25.6)
        centre = beam_index(det)
        near(f"{px} mm: beam centre (pixels)", centre, [25.6 / px] * 2, rel=0, abs_=0.1)
        half = int(round(8 / px))
        r = run(
            f"{CUBIC} -default_F 100 -N 5 -lambda 6.2 -detpixels 1024 -pixel {px} -Xbeam 25.6 -Ybeam 25.6 "
            f"-oversample 1 {window(det, centre, half)} {OUT}"
        )
        img = r.floats()
        s0, f0 = (int(round(c)) for c in centre)
        box = (slice(s0 - half, s0 + half + 1), slice(f0 - half, f0 + half + 1))
        model = L.render(det, lam=6.2, N=(5, 5, 5))
        check(L.corr(img[box], model[box]) >= 0.9999, f"{px} mm: correlation with the model")
        beam = L.centroid(img, centre, int(round(0.6 / px)))
        near(f"{px} mm: direct-beam spot centroid (pixels)", beam, [25.6 / px] * 2, rel=0, abs_=0.1)
        spot = L.centroid(img, centre + [-6.2 / px, 0], int(round(1.0 / px)))  # (0,1,0): up the slow axis
        offsets.append(np.linalg.norm(spot - beam) * px)
    near("(0,1,0) offset in mm the same for every pixel size", offsets, [offsets[1]] * 4, rel=0.01)


@at("AT-PARALLEL-003")
def par_003():
    """Beam centres (20,20) (30,40) (45,25) (60,60) mm on 256/512/1024-pixel detectors
    (where on the detector): peak at centre/pixel +-1 pixel, offset ratios kept +-2%."""
    for n in (256, 512, 1024):
        for X, Y in ((20, 20), (30, 40), (45, 25), (60, 60)):
            if max(X, Y) >= n * 0.1:
                continue
            det = L.Detector("mosflm", n, Xbeam=X, Ybeam=Y)
            r = run(
                f"{CUBIC} -default_F 100 -N 5 -lambda 6.2 -detpixels {n} -Xbeam {X} -Ybeam {Y} "
                f"-oversample 1 {window(det, beam_index(det), 10)} {OUT}"
            )
            img = r.floats()
            peak = np.array(np.unravel_index(np.argmax(img), img.shape))
            near(f"{n} px, beam ({X},{Y}) mm: peak (slow, fast)", peak, [X / 0.1, Y / 0.1], rel=0, abs_=1)
            near(f"{n} px, beam ({X},{Y}): ratio slow/fast", peak[0] / peak[1], X / Y, rel=0.02)


@at("AT-PARALLEL-004")
def par_004():
    """MOSFLM vs XDS, beam centre 25.6 mm (512-pixel detector, so both are on it): the
    MOSFLM spot is +0.5 pixel from the XDS one (0.4 ... 0.6); each correlates >= 0.9999
    with the model."""
    pos = {}
    for conv in ("mosflm", "xds"):
        det = L.Detector(conv, 512, Xbeam=25.6, Ybeam=25.6)
        r = run(
            f"{CUBIC} -default_F 100 -N 5 -lambda 6.2 -detpixels 512 -{conv} -Xbeam 25.6 -Ybeam 25.6 "
            f"-oversample 1 {window(det, beam_index(det), 30)} {OUT}"
        )
        img = r.floats()
        pos[conv] = L.centroid(img, beam_index(det), 6)
        box = (slice(226, 287), slice(226, 287))
        check(
            L.corr(img[box], L.render(det, lam=6.2, N=(5, 5, 5))[box]) >= 0.9999,
            f"{conv}: correlation with the model",
        )
    diff = pos["mosflm"] - pos["xds"]
    check(np.all((diff >= 0.4) & (diff <= 0.6)), f"MOSFLM - XDS spot position {diff} pixels")


@at("AT-PARALLEL-005")
def par_005():
    """-Xbeam/-Ybeam, -ORGX/-ORGY, -Xclose/-Yclose: equivalent settings give the same
    beam centre (+-0.5 pixel).  In the original (and here) MOSFLM reads only
    -Xbeam/-Ybeam and XDS only -ORGX/-ORGY; the others are ignored (asserted)."""
    base = f"{CUBIC} -default_F 100 -detpixels 64 -roi 0 0 0 0 {OUT}"

    def spot(extra):
        r = run(f"{base} {extra}")
        fb, sb = r.find(r"Fbeam=(\S+) Sbeam=(\S+)")
        return np.array([sb, fb]) / 1e-4 - 0.5, pivot(r)

    want = np.array([30.0, 20.0])  # (slow, fast) pixel index
    for extra, goal, piv in (
        ("-mosflm -Xbeam 3.0 -Ybeam 2.0", want, "beam"),
        ("-xds -ORGX 21 -ORGY 31", want, "sample"),
        (f"{CUSTOM} -Xbeam 2.05 -Ybeam 3.05", want, "beam"),
        (f"{CUSTOM} -Xclose 2.05 -Yclose 3.05", want, "sample"),
        (f"{CUSTOM} -ORGX 21 -ORGY 31", want, "sample"),
        ("-mosflm -ORGX 21 -ORGY 31", [32.5, 32.5], "beam"),
        ("-mosflm -Xclose 3.0 -Yclose 2.0", [32.5, 32.5], "beam"),
        ("-xds -Xbeam 2.05 -Ybeam 3.05", [31.5, 31.5], "sample"),
        ("-xds -Xclose 2.05 -Yclose 3.05", [31.5, 31.5], "sample"),
    ):
        got, p = spot(extra)
        near(f"{extra}: beam at (slow, fast)", got, goal, rel=0, abs_=0.5)
        check(p == piv, f"{extra}: pivot {p}")


@at("AT-PARALLEL-006")
def par_006():
    """Cubic 100 A, the (0,1,0) reflection, distances 50/100/200 mm, wavelengths 1/1.5/2 A:
    peak at distance tan(2 asin(lambda/2d)) +-0.5 pixel; distance scaling +-2%;
    wavelength scaling by Bragg's law +-1%.  (N 5, automatic oversampling, 0.05 mm
    pixels, the beam on a pixel centre.)"""
    radius, tan2t = {}, {}
    for dist in (50, 100, 200):
        for lam in (1.0, 1.5, 2.0):
            det = L.Detector("mosflm", 256, pixel=0.05, distance=dist, Xbeam=6.4, Ybeam=6.4)
            img = run(
                f"{CUBIC} -default_F 100 -N 5 -lambda {lam} -distance {dist} -detpixels 256 -pixel 0.05 "
                f"-Xbeam 6.4 -Ybeam 6.4 {OUT}"
            ).floats()
            beam = beam_index(det)
            tan2t[lam] = np.tan(2 * np.arcsin(lam / 200))
            want = dist * tan2t[lam] / 0.05
            spot = L.centroid(img, beam + [-want, 0], max(2, round(dist * lam / 500 / 0.05)))
            radius[dist, lam] = np.linalg.norm(spot - beam)
            near(
                f"d {dist} mm, lambda {lam} A: spot radius (pixels)", radius[dist, lam], want, rel=0, abs_=0.5
            )
    for lam in (1.0, 1.5, 2.0):
        near(f"lambda {lam}: radius(200)/radius(50)", radius[200, lam] / radius[50, lam], 4, rel=0.02)
    for dist in (50, 100, 200):
        for lam in (1.5, 2.0):
            near(
                f"d {dist}: radius({lam} A)/radius(1 A)",
                radius[dist, lam] / radius[dist, 1.0],
                tan2t[lam] / tan2t[1.0],
                rel=0.01,
            )


def compare_model(tag, img, model, n_peaks, tol, min_corr, percentile=99.5, radius=1):
    c = L.corr(img, model)
    check(c >= min_corr, f"{tag}: correlation with the model {c:.6f} >= {min_corr}")
    p, q = L.peaks(img, n_peaks, radius, percentile), L.peaks(model, n_peaks * 2, radius, percentile - 0.5)
    m = L.matched(p, q, tol)
    check(len(p) >= min(n_peaks, 10) and m >= 0.95, f"{tag}: {m:.0%} of {len(p)} peaks within {tol} pixel")
    ratio = img.sum() / model.sum()
    check(0.9 <= ratio <= 1.1, f"{tag}: sum ratio {ratio:.5f}")
    return p


@at("AT-PARALLEL-007")
def par_007():
    """Detector rotx 5, roty 3, rotz 2, two-theta 10, beam pivot (256 pixels, N 5,
    lambda 1): correlation >= 0.9999 with the model, >= 95% of the top 25 peaks within
    1 pixel, sum ratio in [0.9, 1.1]."""
    det = L.Detector("mosflm", 256, rot=(5, 3, 2), twotheta=10)
    r = run(
        f"{CUBIC} -default_F 100 -N 5 -lambda 1 -detpixels 256 -distance 100 -mosflm -phi 0 -osc 0 "
        f"-mosaic 0 -oversample 1 -pivot beam -detector_rotx 5 -detector_roty 3 -detector_rotz 2 "
        f"-twotheta 10 {OUT}"
    )
    compare_model("tilted", r.floats(), L.render(det, lam=1.0, N=(5, 5, 5)), 25, 1.0, 0.9999)


@at("AT-PARALLEL-008")
def par_008():
    """Triclinic 70 80 90 75 85 95, N 5, 512 pixels: >= 95% of the top 100 peaks (radius 3,
    99th percentile) within 1 pixel of the model's, their intensity ratios within 10%
    RMS, correlation >= 0.98 (model built on the reported cell vectors)."""
    det = L.Detector("mosflm", 512)
    r = run(
        f"-cell 70 80 90 75 85 95 -default_F 100 -N 5 -detpixels 512 -distance 100 -phi 0 -osc 0 "
        f"-mosaic 0 -oversample 1 {OUT}"
    )
    img, model = r.floats(), L.render(det, r.cell(), lam=1.0, N=(5, 5, 5))
    p = compare_model("triclinic", img, model, 100, 1.0, 0.98, percentile=99, radius=3)
    idx = tuple(p.astype(int).T)
    rms = np.sqrt(np.mean((img[idx] / model[idx] - 1) ** 2))
    check(rms < 0.1, f"intensity ratios at the peaks: RMS error {rms:.2e}")


@at("AT-PARALLEL-009")
def par_009():
    """Peak intensity ~ N^6 F^2: slope of log I_max over N in {1,2,3,5,10} 6 +-0.3, over
    F in {50,100,200,500} 2 +-0.05, R^2 >= 0.99; I_max within 10% of the model's.  (Beam
    centre on a pixel centre, -Xbeam/-Ybeam 12.8, so that the direct-beam spot is sampled
    at its maximum.)"""
    det = L.Detector("mosflm", 256, Xbeam=12.8, Ybeam=12.8)
    base = (
        f"{CUBIC} -detpixels 256 -distance 100 -phi 0 -osc 0 -mosaic 0 -oversample 1 "
        f"-Xbeam 12.8 -Ybeam 12.8 {OUT}"
    )

    def imax(N, F):
        img = run(f"{base} -N {N} -default_F {F}").floats()
        s, f = np.unravel_index(np.argmax(img), img.shape)
        val = img[max(s - 10, 0) : s + 11, max(f - 10, 0) : f + 11].max()
        mod = L.render(det, lam=1.0, N=(N, N, N), F=F).max()
        near(f"N {N} F {F}: I_max vs the model", val, mod, rel=0.1)
        return val

    for xs, fn, slope, tol in (
        ((1, 2, 3, 5, 10), lambda n: imax(n, 100), 6.0, 0.3),
        ((50, 100, 200, 500), lambda F: imax(5, F), 2.0, 0.05),
    ):
        x, y = np.log(xs), np.log([fn(v) for v in xs])
        fit = np.polyfit(x, y, 1)
        r2 = 1 - np.sum((y - np.polyval(fit, x)) ** 2) / np.sum((y - y.mean()) ** 2)
        near(f"slope over {xs}", fit[0], slope, rel=0, abs_=tol)
        check(r2 >= 0.99, f"R^2 {r2:.6f}")


@at("AT-PARALLEL-010")
def par_010():
    """Solid angle vs distance 50-400 mm and tilts 0-30 deg: (A) point pixel, sum ~ 1/R^2
    +-5%; (B) sum ~ close_distance/R^3 +-10%.  Holds for a uniform scatterer (water,
    asserted); a Bragg pattern on a fixed pixel grid does not scale so (spots change
    number and size), in the original as here: its sums are checked against the model."""
    files = {"zero.hkl": F0_HKL}
    for tilt in (0, 10, 20, 30):
        for mode in ("-point_pixel", ""):
            sums = []
            for R in (50, 100, 200, 400):
                det = L.Detector("mosflm", 16, distance=R, rot=(0, tilt, 0))
                img = run(
                    f"{WATER} -water 1 -nopolar -detpixels 16 -distance {R} -detector_roty {tilt} "
                    f"-oversample 1 {mode} {OUT}",
                    files,
                ).floats()
                sums.append(img.sum() / (1 / R**2 if mode else det.close / (R / 1000) ** 3 / 1000))
            near(
                f"water, tilt {tilt} {mode or 'obliquity'}: sum x R^2 (or R^3/close) constant",
                sums,
                [sums[0]] * 4,
                rel=0.05 if mode else 0.1,
            )
    for R in (50, 400):
        det = L.Detector("mosflm", 128, distance=R, rot=(0, 20, 0))
        img = run(
            f"{CUBIC} -default_F 100 -N 5 -detpixels 128 -distance {R} -detector_roty 20 "
            f"-oversample 1 {OUT}"
        ).floats()
        near(
            f"Bragg, R {R}, tilt 20: sum as the model", img.sum(), L.render(det, N=(5, 5, 5)).sum(), rel=1e-5
        )


@at("AT-PARALLEL-011")
def par_011():
    """Polarization: image(K)/image(-nopolar) against the Kahn factor from the incident and
    diffracted vectors: R^2 >= 0.95 and mean |relative error| <= 1% (K 0) / 2% (K 0.95)."""
    det = L.Detector("mosflm", 256)
    base = f"{CUBIC} -default_F 100 -N 5 -detpixels 256 -distance 100 -phi 0 -mosaic 0 -oversample 1 {OUT}"
    ref = run(f"{base} -nopolar").floats()
    d = L.unit(det.positions()[:, :, 0, 0])
    for K, tol in ((0.0, 0.01), (0.95, 0.02)):
        P, good = ratio_map(run(f"{base} -polar {K}").floats(), ref, 1e-6)
        theory = L.polarization(det.b, d, det.polar_axis, K)
        err = np.abs(P[good] / theory[good] - 1)
        r2 = 1 - np.sum((P[good] - theory[good]) ** 2) / np.sum((P[good] - P[good].mean()) ** 2)
        check(r2 >= 0.95 and err.mean() <= tol, f"K {K}: R^2 {r2:.6f}, mean relative error {err.mean():.2e}")


def corpus_compare(name, min_corr, tol, n=50):
    args, files, expected = corpus_case(name)
    r = run(args, files)
    img = r.floats()
    ref = np.fromfile(expected, "<f4").reshape(img.shape)
    c = L.corr(img, ref)
    check(c >= min_corr, f"{name}: correlation with the original's image {c:.9f}")
    p, q = L.peaks(img, n, 1, 95), L.peaks(ref, 2 * n, 1, 94)
    check(L.matched(p, q, tol) >= 0.95, f"{name}: top {len(p)} peaks within {tol} pixel")
    return r, img, ref


@at("AT-PARALLEL-012")
def par_012():
    """Reference patterns: the original's images of a simple cubic, a triclinic (misset)
    and a tilted-detector case (tests/reference), correlation >= 0.9995, top 50 peaks
    within 0.5 (tilted: 1.0) pixel; high-resolution variant (4096 pixels of 0.05 mm at
    500 mm, lambda 0.5, 512-pixel ROI): finite, correlation >= 0.95 with the model, top
    50 peaks within 1 pixel."""
    corpus_compare("basic_cubic", 0.9995, 0.5)
    corpus_compare("triclinic_misset", 0.9995, 0.5)
    corpus_compare("det_rotations", 0.9995, 1.0)
    det = L.Detector("mosflm", 4096, pixel=0.05, distance=500)
    r = run(
        f"{CUBIC} -default_F 100 -N 5 -lambda 0.5 -detpixels 4096 -pixel 0.05 -distance 500 "
        f"-oversample 1 -roi 1792 2303 1792 2303 -floatfile float.bin -intfile int.img -nonoise -nopgm"
    )
    img = r.floats()[1792:2304, 1792:2304]
    check(np.all(np.isfinite(img)), "high resolution: no NaN or Inf")
    sub = L.Detector("mosflm", 512, pixel=0.05, distance=500)
    sub.pix0 = det.pix0 + 1792 * det.px * (det.f + det.s)
    model = L.render(sub, lam=0.5, N=(5, 5, 5))
    check(L.corr(img, model) >= 0.95, f"high resolution: correlation with the model {L.corr(img, model):.6f}")
    check(
        L.matched(L.peaks(img, 50), L.peaks(model, 100), 1.0) >= 0.95,
        "high resolution: top 50 peaks within 1 pixel",
    )


@at("AT-PARALLEL-013")
def par_013():
    """Consistency: the triclinic case run on 1 and 2 threads is identical (the spec asks
    rtol 1e-7 between two machines); against the original's image allclose (rtol 1e-5,
    atol 1e-6) with correlation >= 0.995."""
    args, files, expected = corpus_case("triclinic_misset")
    one = run(args, files, env={"OMP_NUM_THREADS": "1"}).floats()
    two = run(args, files, env={"OMP_NUM_THREADS": "2"}).floats()
    check(np.array_equal(one, two), "1 and 2 threads: identical")
    ref = np.fromfile(expected, "<f4").reshape(one.shape)
    check(np.allclose(one, ref, rtol=1e-5, atol=1e-6), "allclose to the original's image")
    check(L.corr(one, ref) >= 0.995, f"correlation {L.corr(one, ref):.9f}")


@at("AT-PARALLEL-014")
def par_014():
    """Noise: simple cubic scaled to mean ~1e3, seeds 123 and 456: mean(noise) within 1%
    of mean(float) + adc; top 20 peak centroids moved <= 0.5 pixel (median), <= 1.0
    (90th percentile); overload counts within 10%."""
    base = (
        f"{CUBIC} -default_F 100 -N 5 -lambda 6.2 -distance 100 -detpixels 128 -fluence 1.84e31 "
        f"-floatfile float.bin -noisefile noise.img -nopgm"
    )
    counts = []
    for seed in (123, 456):
        r = run(f"{base} -seed {seed}")
        flt, noise = r.floats().astype(float), r.smv("noise.img")[1].astype(float)
        near(f"seed {seed}: mean(noise) = mean(float) + 40", noise.mean(), flt.mean() + 40, rel=0.01)
        shifts = [
            np.linalg.norm(L.centroid(noise - 40, p, 2) - L.centroid(flt, p, 2))
            for p in L.peaks(flt, 20, 2, 99)
            if min(p) >= 2 and max(p) <= 125
        ]
        check(
            np.median(shifts) <= 0.5 and np.percentile(shifts, 90) <= 1.0,
            f"seed {seed}: peak shifts median {np.median(shifts):.3f}, 90% {np.percentile(shifts, 90):.3f}",
        )
        counts.append(r.find(r"\((\d+) overloads\)", int))
    check(abs(counts[0] - counts[1]) <= 0.1 * max(counts), f"overloads {counts}")
    print(f"      (mean of the float image {flt.mean():.4g})")


@at("AT-PARALLEL-015")
def par_015():
    """Units: -energy vs -lambda, -detsize vs -detpixels, -close_distance vs -distance,
    -xtalsize vs -N give the same image."""
    base = f"{CUBIC} -default_F 100 -oversample 1 {OUT}"
    pairs = (
        ("-energy 12398.42 -N 5 -detpixels 64", "-lambda 1 -N 5 -detpixels 64", 0),
        ("-energy 8000 -N 5 -detpixels 64", "-lambda 1.5498025 -N 5 -detpixels 64", 1e-6),
        ("-detsize 6.4 -pixel 0.1 -N 5", "-detpixels 64 -pixel 0.1 -N 5", 0),
        ("-detsize 12.8 -pixel 0.2 -N 5", "-detpixels 64 -pixel 0.2 -N 5", 0),
        ("-close_distance 80 -N 5 -detpixels 64", "-distance 80 -N 5 -detpixels 64", 0),
        ("-xtalsize 0.000495 -detpixels 64", "-N 50 -detpixels 64", 0),
    )
    for a, b, rel in pairs:
        x, y = run(f"{base} {a}").floats(), run(f"{base} {b}").floats()
        near(f"'{a}' = '{b}'", x, y, rel=rel)


@at("AT-PARALLEL-016")
def par_016():
    """Extremes: (1) N 1, lambda 0.1, 10 mm, 128 x 0.05 mm; (2) cell 300, N 10, lambda 6,
    1024 x 0.1 mm; (3) 10 m, 256 x 0.2 mm: finite, correlation >= 0.95 with the model,
    top 25 peaks within 2 pixels."""
    for cell, N, lam, dist, n, px in (
        (100, 1, 0.1, 10, 128, 0.05),
        (300, 10, 6, 100, 1024, 0.1),
        (100, 5, 1, 10000, 256, 0.2),
    ):
        det = L.Detector("mosflm", n, pixel=px, distance=dist)
        r = run(
            f"-cell {cell} {cell} {cell} 90 90 90 -default_F 100 -N {N} -lambda {lam} -distance {dist} "
            f"-detpixels {n} -pixel {px} -phi 0 -mosaic 0 -oversample 1 {OUT}"
        )
        img = r.floats()
        model = L.render(det, np.eye(3) * cell, lam=lam, N=(N, N, N))
        tag = f"cell {cell} N {N} lambda {lam} d {dist} {n}x{px}"
        check(np.all(np.isfinite(img)), f"{tag}: finite")
        check(L.corr(img, model) >= 0.95, f"{tag}: correlation {L.corr(img, model):.6f}")
        check(
            L.matched(L.peaks(img, 25), L.peaks(model, 50), 2.0) >= 0.95,
            f"{tag}: top 25 peaks within 2 pixels",
        )


@at("AT-PARALLEL-017")
def par_017():
    """Grazing geometry (tilts > 45 deg, two-theta > 60 deg): finite, the solid angle
    (px^2/R^2 close/R, from a water image) and the Bragg image as the model."""
    for conv, rot, tt in (("mosflm", (0, 50, 0), 65), ("xds", (50, 0, 10), 70)):
        flags = (
            f"-{conv} -detector_rotx {rot[0]} -detector_roty {rot[1]} -detector_rotz {rot[2]} -twotheta {tt}"
        )
        det = L.Detector(conv, 64, pixel=0.2, rot=rot, twotheta=tt)
        pos = det.positions()[:, :, 0, 0]
        k = L.R_E_SQR * L.FLUENCE * water_bg(1)
        w = run(
            f"{WATER} -water 1 -nopolar -detpixels 64 -pixel 0.2 -oversample 1 {flags} {OUT}",
            {"zero.hkl": F0_HKL},
        ).floats()
        check(np.all(np.isfinite(w)), f"{conv} tilted {rot} two-theta {tt}: finite")
        near(f"{conv}: omega = px^2/R^2 close/R", w, k * det.omega(pos), rel=1e-5)
        img = run(
            f"{CUBIC} -default_F 100 -N 5 -lambda 1 -detpixels 64 -pixel 0.2 -oversample 1 {flags} {OUT}"
        ).floats()
        c = L.corr(img, L.render(det, lam=1.0, N=(5, 5, 5)))
        check(c >= 0.9999, f"{conv}: Bragg image correlation with the model {c:.6f}")


@at("AT-PARALLEL-018")
def par_018():
    """Singular orientations (axes along the beam, exact Bragg condition at a pixel
    centre, 90-degree missets): no NaN/Inf, and continuous (1e-6 deg away: same image to
    1e-4)."""
    base = f"{CUBIC} -default_F 100 -N 5 -detpixels 64 -Xbeam 3.2 -Ybeam 3.2 -oversample 1 {OUT}"
    for extra, bumped in (
        ("-misset 0 0 0", "-misset 0.000001 0 0"),
        ("-misset 90 0 0", "-misset 90 0.000001 0"),
        ("-misset 0 90 0", "-misset 0 90 0.000001"),
        ("-misset 0 0 90", "-misset 0.000001 0 90"),
        ("-phi 90 -osc 0", "-phi 90.000001 -osc 0"),
    ):
        img = run(f"{base} {extra}").floats()
        check(np.all(np.isfinite(img)), f"{extra}: finite")
        other = run(f"{base} {bumped}").floats()
        near(f"{extra} vs {bumped}: continuous", other, img, rel=1e-4, abs_=1e-6 * img.max())
    img = run(f"{base} -misset 0 0 0").floats()
    near(
        "exact Bragg at the beam pixel (32, 32): N^6 F^2 r_e^2 fluence omega",
        img[32, 32],
        L.R_E_SQR * L.FLUENCE * 100**2 * 5**6 * 1e-8 / 0.1**2,
        rel=1e-5,
    )


@at("AT-PARALLEL-020")
def par_020():
    """Everything at once (triclinic, mosaic 0.5 x 5 domains, phi steps, detector
    rotations, two-theta, absorption, Kahn 0.95, fixed seeds): the reference corpus's
    'integrated' case against the original's image: correlation >= 0.95, top 50 peaks
    within 1 pixel, sum ratio in [0.9, 1.1]."""
    r, img, ref = corpus_compare("integrated", 0.95, 1.0)
    ratio = img.sum() / ref.sum()
    check(0.9 <= ratio <= 1.1, f"sum ratio {ratio:.9f}")


@at("AT-PARALLEL-021")
def par_021():
    """-phi 0 -osc 90: one step renders phi 0 in the original (the spec: the midpoint, 45);
    nine steps average the orientations, except that the original keeps the last step's
    orientation for phi = 0 after the first pixel (docs/deviations.md): asserted
    against the model with that rule, correlation > 0.99, peaks within 0.5 pixel."""
    det = L.Detector("mosflm", 128)
    base = f"{CUBIC} -default_F 100 -N 5 -detpixels 128 -oversample 1 {OUT}"
    one = run(f"{base} -phi 0 -osc 90 -phisteps 1").floats()
    near("one step = the phi 0 image", one, run(f"{base} -phi 0 -osc 0").floats(), rel=1e-6)
    print(
        f"      (correlation with the phi 45 image the spec expects: "
        f"{L.corr(one, run(f'{base} -phi 45 -osc 0').floats()):.4f})"
    )
    nine = run(f"{base} -phi 0 -osc 90 -phisteps 9").floats()
    model = L.render(det, lam=1.0, N=(5, 5, 5), phis=[80] + list(range(10, 90, 10)))
    near(
        "nine steps: mean over phi 80, 10, ..., 80 (pixel 0 excepted)",
        nine.ravel()[1:],
        model.ravel()[1:],
        rel=1e-5,
        abs_=1e-7 * model.max(),
    )
    compare_model("nine steps", nine, model, 25, 0.5, 0.99)
    print(
        f"      (correlation with the spec's mean over 0..80: "
        f"{L.corr(nine, L.render(det, lam=1.0, N=(5, 5, 5), phis=range(0, 90, 10))):.4f})"
    )


@at("AT-PARALLEL-022")
def par_022():
    """Detector rotations (5, 3, 2, two-theta 10) with the phi cases of AT-PARALLEL-021
    (phi 5 .. 95, so that no step is phi 0): correlation > 0.98 with the model, peaks
    within 1 pixel, sums within 10%."""
    det = L.Detector("mosflm", 128, rot=(5, 3, 2), twotheta=10)
    base = (
        f"{CUBIC} -default_F 100 -N 5 -detpixels 128 -oversample 1 -detector_rotx 5 -detector_roty 3 "
        f"-detector_rotz 2 -twotheta 10 {OUT}"
    )
    for steps in (1, 9):
        img = run(f"{base} -phi 5 -osc 90 -phisteps {steps}").floats()
        model = L.render(det, lam=1.0, N=(5, 5, 5), phis=[5 + 90 / steps * i for i in range(steps)])
        compare_model(f"{steps} phi step(s)", img, model, 25, 1.0, 0.98)


@at("AT-PARALLEL-023")
def par_023():
    """-misset a b c: right-handed rotations about x, y, z applied once (reported cell
    vectors = Rz Ry Rx applied to the unrotated ones); images: correlation >= 0.99 with
    the model, top 25 peaks within 0.5 pixel (cubic and triclinic, five triplets)."""
    det = L.Detector("mosflm", 256)
    for cell in ("100 100 100 90 90 90", "70 80 90 75 85 95"):
        base = f"-cell {cell} -default_F 100 -N 5 -detpixels 256 -phi 0 -osc 0 -oversample 1 {OUT}"
        plain = run(f"{base} -misset 0 0 0").cell()
        for angles in ((10.5, 0, 0), (0, 10.25, 0), (0, 0, 9.75), (15, 20.5, 30.25)):
            r = run(f"{base} -misset {angles[0]} {angles[1]} {angles[2]}")
            want = [L.rot_xyz(v, *np.radians(angles)) for v in plain]
            near(f"{cell} misset {angles}: reported vectors", r.cell(), want, rel=0, abs_=2e-6)
            compare_model(
                f"{cell} misset {angles}", r.floats(), L.render(det, r.cell(), N=(5, 5, 5)), 25, 0.5, 0.99
            )


@at("AT-PARALLEL-024")
def par_024():
    """-misset random with -misset_seed: the same seed gives the same image and reported
    angles, seeds 12345 and 54321 images correlated <= 0.7."""
    base = (
        f"{CUBIC} -default_F 100 -N 5 -lambda 1 -detpixels 256 -distance 100 -phi 0 -osc 0 -mosaic 0 "
        f"-oversample 1 -misset random {OUT}"
    )
    a, b = run(f"{base} -misset_seed 12345"), run(f"{base} -misset_seed 12345")
    c = run(f"{base} -misset_seed 54321")
    angles = [x.find(r"misset angles: (\S+) (\S+) (\S+) deg") for x in (a, b, c)]
    check(
        angles[0] == angles[1] and angles[0] != angles[2],
        f"reported angles {angles[0]} (seed 12345), {angles[2]}",
    )
    check(np.array_equal(a.floats(), b.floats()), "same seed: identical images")
    check(
        L.corr(a.floats(), c.floats()) <= 0.7, f"other seed: correlation {L.corr(a.floats(), c.floats()):.4f}"
    )
    det = L.Detector("mosflm", 256)
    check(
        L.corr(a.floats(), L.render(det, a.cell(), N=(5, 5, 5))) >= 0.99,
        "image as the model of its reported cell",
    )


@at("AT-PARALLEL-025")
def par_025():
    """N 1, 64 pixels: the brightest pixel is where the model's is (within 0.5 pixel:
    one of the model's equal maxima)."""
    det = L.Detector("mosflm", 64)
    img = run(
        f"{CUBIC} -default_F 100 -N 1 -lambda 1 -detpixels 64 -distance 100 -oversample 1 {OUT}"
    ).floats()
    model = L.render(det, lam=1.0)
    s, f = np.unravel_index(np.argmax(img), img.shape)
    check(model[s, f] >= model.max() * (1 - 1e-6), f"brightest pixel ({s}, {f}) is a maximum of the model")


@at("AT-PARALLEL-026")
def par_026():
    """Triclinic 70 80 90 85 95 105, lambda 1.5, N 1, 256 pixels at 150 mm: the brightest
    pixel within 1 pixel of the model's."""
    det = L.Detector("mosflm", 256, distance=150)
    r = run(
        f"-cell 70 80 90 85 95 105 -default_F 100 -N 1 -lambda 1.5 -detpixels 256 -distance 150 "
        f"-oversample 1 {OUT}"
    )
    img, model = r.floats(), L.render(det, r.cell(), lam=1.5)
    got = np.array(np.unravel_index(np.argmax(img), img.shape))
    near("brightest pixel", got, np.unravel_index(np.argmax(model), model.shape), rel=0, abs_=1)


@at("AT-PARALLEL-027")
def par_027():
    """HKL (0,0,0):100 (1,0,0):50 (0,1,0):25 (1,1,0):12.5 (2,0,0):200 (0,2,0):150, no
    -default_F, lambda 6.2, N 5, 64 pixels: correlation >= 0.999 with the model and peak
    intensities in the ratio of F^2 (1%)."""
    table = {(0, 0, 0): 100, (1, 0, 0): 50, (0, 1, 0): 25, (1, 1, 0): 12.5, (2, 0, 0): 200, (0, 2, 0): 150}
    det = L.Detector("mosflm", 64)
    base = (
        f"{CUBIC} -N 5 -lambda 6.2 -detpixels 64 -pixel 0.1 -distance 100 -oversample 1 -nointerpolate {OUT}"
    )
    img = run(f"{base} -hkl pattern.hkl", {"pattern.hkl": hkl_text(table)}).floats()
    ref = run(f"{base} -default_F 1").floats()
    h, k, l = (x[:, :, 0, 0] for x in L.miller(det, np.eye(3) * 100, 6.2))
    F = nearest_F(h, k, l, table, 0.0)
    check(L.corr(img, ref * F**2) >= 0.999, "correlation with the model")
    ratio, good = ratio_map(img, ref)
    use = good & unambiguous(h, k, l)
    near("image / reference = F^2", ratio[use], F[use] ** 2, rel=1e-5, abs_=1e-3)
    i000, i010 = use & (F == 100), use & (F == 25)
    check(i000.any() and i010.any(), "(0,0,0) and (0,1,0) on the detector")
    near("I(0,0,0)/I(0,1,0)", np.median(ratio[i000]) / np.median(ratio[i010]), 16, rel=0.01)


@at("AT-PARALLEL-029")
def par_029():
    """Oversample 1, 2, 4, 8 (256 pixels at 50 mm): the spec asks high frequencies to drop
    >= 50% from oversample 1; the original's images drop about 25-30% (measured, reported)
    and converge: FWHM stable (5%), peaks within 0.5 pixel, each image as the model."""
    det = L.Detector("mosflm", 256, distance=50)
    base = f"{CUBIC} -default_F 100 -N 5 -lambda 1 -detpixels 256 -distance 50 -phi 0 -osc 0 -mosaic 0 {OUT}"
    fy, fx = np.meshgrid(np.arange(256) - 128, np.arange(256) - 128, indexing="ij")
    high = np.maximum(abs(fx), abs(fy)) > 64
    res = {}
    for n in (1, 2, 4, 8):
        img = run(f"{base} -oversample {n}").floats().astype(float)
        if n <= 2:
            check(
                L.corr(img, L.render(det, N=(5, 5, 5), oversample=n)) >= 0.98, f"oversample {n}: as the model"
            )
        P = np.abs(np.fft.fftshift(np.fft.fft2(img))) ** 2
        p = L.peaks(img, 10, 3, 99)
        fwhm = np.mean(
            [
                np.sum(img[int(s) - 4 : int(s) + 5, int(f) - 4 : int(f) + 5] >= img[int(s), int(f)] / 2)
                for s, f in p
            ]
        )
        res[n] = (P[high].sum() / P.sum(), fwhm, p, L.peaks(img, 20, 3, 99))
    for n in (2, 4, 8):
        print(f"      (oversample {n}: high-frequency power {res[n][0] / res[1][0]:.3f} x oversample 1's)")
        check(res[n][0] < res[1][0], f"oversample {n}: less high-frequency power than oversample 1")
        check(L.matched(res[n][2], res[1][3], 0.5) == 1, f"oversample {n}: top 10 peaks within 0.5 pixel")
    near("FWHM (pixels above half maximum) oversample 8 vs 4", res[8][1], res[4][1], rel=0.05)


# ================================================================ driver


def main(argv):
    if len(argv) == 2 and argv[1] == "--list":
        print("\n".join(TESTS))
        return 0
    if len(argv) != 4 or argv[2] not in TESTS:
        print(__doc__)
        return 2
    L.NB, name, L.SCRATCH = os.path.abspath(argv[1]), argv[2], os.path.abspath(argv[3])
    shutil.rmtree(L.SCRATCH, ignore_errors=True)
    os.makedirs(L.SCRATCH)
    print(f"{name}: {' '.join(TESTS[name].__doc__.split())}")
    try:
        TESTS[name]()
    except AssertionError as e:
        check(False, str(e))
    if L.FAILED:
        print(f"{len(L.FAILED)} check(s) failed; runs kept in {L.SCRATCH}")
        return 1
    shutil.rmtree(L.SCRATCH)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
