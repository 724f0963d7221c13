#!/usr/bin/python3
"""Randomized differential test of nanobragg against the original nanoBragg.

    difftest.py --ref PATH [--ours build/nanobragg] [--compare build/nanobragg-compare]
                [--count N] [--seed S] [--keep DIR] [--jobs J] [--case K ...]

Generates N random but valid command lines (deterministic from --seed: case K
depends only on the seed and K), runs the reference program (OMP_NUM_THREADS=1)
and nanobragg, each in its own scratch directory holding the same input files,
and compares every output with nanobragg-compare (float, SMV, noise and PGM
images with the reference corpus tolerances; Fdump.bin bit for bit).  Both
programs must succeed.  One line per case, then a summary line
"N passed, N failed"; exit status 1 if any case failed.

Command lines avoid the reference's substring flag matching and its other
known quirks; docs/difftest.md lists the rules.  Python 3 standard library only.
"""
import argparse
import concurrent.futures
import math
import os
import random
import re
import shlex
import shutil
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

# Work per case (pixels x sub-pixels x layers x sources x phi steps x domains),
# sized so that the reference needs well under a couple of seconds.
BUDGET = 2.0e6
INTERP_COST = 6.0  # tricubic interpolation makes each sample this much dearer
MAX_SIDE = 128

LOGS = ("_stdout.txt", "_stderr.txt")

# ----------------------------------------------------------------- numbers


def num(x, digits=3):
    """Fixed-point text of x with at most `digits` decimals, no exponent."""
    s = "%.*f" % (digits, x)
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    if s in ("-0", ""):
        s = "0"
    return s


def vec_words(v, digits=6):
    return [num(c, digits) for c in v]


def cross(a, b):
    return (a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0])


def dot(a, b):
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]


def mat_vec(m, v):
    return tuple(dot(row, v) for row in m)


def random_rotation(rng, max_deg=None):
    """A rotation matrix: uniform, or about a random axis by at most max_deg."""
    if max_deg is None:
        q = [rng.gauss(0, 1) for _ in range(4)]
        n = math.sqrt(sum(c * c for c in q))
        w, x, y, z = (c / n for c in q)
    else:
        axis = [rng.gauss(0, 1) for _ in range(3)]
        n = math.sqrt(sum(c * c for c in axis))
        ang = math.radians(rng.uniform(-max_deg, max_deg))
        w = math.cos(ang / 2)
        x, y, z = (c / n * math.sin(ang / 2) for c in axis)
    return ((1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)),
            (2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)),
            (2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)))


def cell_vectors(a, b, c, al, be, ga):
    """Direct cell vectors (Angstrom) for lengths and angles (degrees)."""
    al, be, ga = (math.radians(t) for t in (al, be, ga))
    va = (a, 0.0, 0.0)
    vb = (b * math.cos(ga), b * math.sin(ga), 0.0)
    cx = c * math.cos(be)
    cy = c * (math.cos(al) - math.cos(be) * math.cos(ga)) / math.sin(ga)
    cz = math.sqrt(max(c * c - cx * cx - cy * cy, 0.0))
    return va, vb, (cx, cy, cz)


def cell_ok(al, be, ga):
    """Angles of a cell with a comfortable volume (the reference's skew term)."""
    al, be, ga = (math.radians(t) for t in (al, be, ga))
    s = (al + be + ga) / 2
    skew = math.sin(s) * math.sin(s - al) * math.sin(s - be) * math.sin(s - ga)
    return skew > 0 and 2 * math.sqrt(skew) > 0.5


# ----------------------------------------------------------------- cases


class Case:
    """One generated command line with its input files."""

    def __init__(self, index, seed, attempt=0):
        self.index = index
        self.seed = seed
        self.rng = random.Random("nanobragg-difftest:%d:%d:%d" % (seed, index, attempt))
        self.groups = []  # [name, words]
        self.after = []  # (earlier group, later group)
        self.files = {}  # name -> text
        self.tags = set()
        self.args = []

    def add(self, *words):
        """A flag with its arguments; returns its group number."""
        self.groups.append([str(w) for w in words])
        return len(self.groups) - 1

    def order(self, first, then):
        if first is not None and then is not None:
            self.after.append((first, then))

    def arrange(self):
        """Random order of the groups that keeps every (first, then) pair."""
        rng = self.rng
        preds = {i: set() for i in range(len(self.groups))}
        for a, b in self.after:
            preds[b].add(a)
        placed, out = set(), []
        while len(out) < len(self.groups):
            ready = [i for i in preds if i not in placed and preds[i] <= placed]
            pick = rng.choice(ready)
            placed.add(pick)
            out.append(pick)
        # -curved_det must not be the last word: the reference only honours
        # it when another word follows.
        if out and self.groups[out[-1]] == ["-curved_det"] and len(out) > 1:
            out.insert(0, out.pop())
        self.args = [w for i in out for w in self.groups[i]]
        pos = {g: n for n, g in enumerate(out)}
        return pos


def choose(rng, weighted):
    """weighted: list of (weight, value)."""
    total = sum(w for w, _ in weighted)
    r = rng.uniform(0, total)
    for w, v in weighted:
        r -= w
        if r <= 0:
            return v
    return weighted[-1][1]


def chance(rng, p):
    return rng.random() < p


def wide_angle(rng, small):
    """An angle equal to `small` modulo 360 but with a 6-digit value."""
    k = rng.randint(280, 2700) * rng.choice((-1, 1))
    return 360.0 * k + small


def generate(index, seed, attempt):
    case = Case(index, seed, attempt)
    rng = case.rng
    p = {}  # parameters needed for the cost estimate
    wide = chance(rng, 0.12)  # wide SMV header values (headers over 512 bytes)
    if wide:
        case.tags.add("wide-header")

    # ---------------------------------------------------------- convention
    conv = choose(rng, [(30, None), (12, "mosflm"), (12, "xds"), (10, "adxv"), (10, "denzo"),
                        (10, "dials"), (16, "custom")])
    beam_dir = (1.0, 0.0, 0.0)
    if conv in ("xds", "dials", "adxv"):
        beam_dir = (0.0, 0.0, 1.0)
    conv_groups = []  # every group that sets the convention
    final_conv = None
    custom_groups = []
    if conv == "custom":
        full = chance(rng, 0.5)
        rot = random_rotation(rng, None if full else 12.0)
        base = {"-beam_vector": (1, 0, 0), "-fdet_vector": (0, 0, 1), "-sdet_vector": (0, -1, 0),
                "-odet_vector": (1, 0, 0), "-polar_vector": (0, 0, 1), "-spindle_axis": (0, 0, 1)}
        names = list(base)
        if not full:
            names = [n for n in names if chance(rng, 0.5)] or ["-fdet_vector"]
        for n in names:
            v = mat_vec(rot, base[n])
            custom_groups.append(case.add(n, *vec_words(v)))
            if n == "-beam_vector":
                beam_dir = v
        if chance(rng, 0.1):
            custom_groups.append(case.add("-pix0_vector", *vec_words(
                [rng.uniform(-0.05, 0.05), rng.uniform(-0.05, 0.05), rng.uniform(0.05, 0.2)])))
        if chance(rng, 0.25):  # a named convention given first, then overridden
            conv_groups.append(case.add(rng.choice(["-mosflm", "-xds", "-adxv", "-denzo", "-dials"])))
    elif conv is not None:
        final_conv = case.add("-" + conv)
        if chance(rng, 0.1):  # custom vectors and another convention, overridden
            conv_groups.append(case.add("-fdet_vector", "0", "0", "1"))
        if chance(rng, 0.1):
            conv_groups.append(case.add(rng.choice(["-mosflm", "-xds", "-adxv", "-denzo", "-dials"])))
    p["beam_dir"] = beam_dir

    # ---------------------------------------------------------- wavelength
    lam = choose(rng, [(6, rng.uniform(0.6, 2.5)), (2, rng.uniform(2.5, 6.2))])
    lam = float(num(lam, 4))
    form = choose(rng, [(5, "-lambda"), (1, "-wavelength"), (1, "-wave"), (2, "-energy"), (1, None)])
    lam_group = None
    if form == "-energy":
        energy = float(num(12398.42 / lam, 2))
        lam = 12398.42 / energy
        lam_group = case.add("-energy", num(energy, 2))
    elif form is not None:
        lam_group = case.add(form, num(lam, 4))
    else:
        lam = 1.0
    if lam_group is not None and chance(rng, 0.06):  # overridden by the later one
        if chance(rng, 0.5):
            first = case.add("-lambda", num(rng.uniform(1, 2), 3))
        else:
            first = case.add("-energy", num(rng.uniform(6000, 12000), 1))
        case.order(first, lam_group)
    p["lambda"] = lam

    # ---------------------------------------------------------- cell
    kind = choose(rng, [(3, "cubic"), (2, "tetragonal"), (2, "orthorhombic"), (2, "monoclinic"),
                        (3, "triclinic")])
    a = rng.uniform(30, 150)
    b = a if kind in ("cubic", "tetragonal") else rng.uniform(30, 150)
    c = a if kind == "cubic" else rng.uniform(30, 150)
    al = be = ga = 90.0
    if kind == "monoclinic":
        be = rng.uniform(92, 118)
    elif kind == "triclinic":
        while True:
            al, be, ga = (rng.uniform(65, 115) for _ in range(3))
            if cell_ok(al, be, ga):
                break
    a, b, c = (float(num(t, 2)) for t in (a, b, c))
    al, be, ga = (float(num(t, 2)) for t in (al, be, ga))
    if chance(rng, 0.78):
        words = [num(a, 2), num(b, 2), num(c, 2), num(al, 2), num(be, 2), num(ga, 2)]
        if chance(rng, 0.3):  # partial forms: b, c default to a; angles to 90
            n = rng.randint(1, 5)
            words = words[:n]
            if n < 2:
                b = a
            if n < 3:
                c = a
            al = al if n >= 4 else 90.0
            be = be if n >= 5 else 90.0
            ga = 90.0
            if not cell_ok(al, be, ga):
                words = words[:3]
                al = be = ga = 90.0
        case.add("-cell", *words)
    else:
        va, vb, vc = cell_vectors(a, b, c, al, be, ga)
        vol = dot(va, cross(vb, vc))
        stars = [tuple(t / vol for t in cross(vb, vc)), tuple(t / vol for t in cross(vc, va)),
                 tuple(t / vol for t in cross(va, vb))]
        u = random_rotation(rng)
        stars = [mat_vec(u, s) for s in stars]
        rows = ["%.10f %.10f %.10f" % tuple(lam * stars[j][i] for j in range(3)) for i in range(3)]
        sep = rng.choice([" ", "  ", "\t"])
        case.files["A.mat"] = "".join(" " + r.replace(" ", sep) + "\n" for r in rows)
        case.add("-mat", "A.mat")
    p["cell"] = (a, b, c)

    # ---------------------------------------------------------- orientation
    m = choose(rng, [(55, None), (30, "angles"), (15, "random")])
    if m == "angles":
        g = case.add("-misset", *[num(rng.uniform(-180, 180), 2) for _ in range(3)])
        if chance(rng, 0.1):
            case.order(case.add("-misset_seed", rng.randint(1, 10**6)), g)
    elif m == "random":
        g = case.add("-misset", "random")
        case.order(case.add("-misset_seed", rng.randint(1, 10**8)), g)

    # ---------------------------------------------------------- crystal size
    n_cells = [1, 1, 1]
    size = choose(rng, [(50, "N"), (20, "Nabc"), (15, "xtalsize"), (10, "sample"), (5, None)])
    nchoices = [(1, 1), (2, 2), (3, 3), (5, 4), (5, 5), (4, 6), (3, 8), (2, 10), (1, 15)]
    if size == "N":
        n = choose(rng, nchoices)
        case.add("-N", n)
        n_cells = [n, n, n]
        if chance(rng, 0.1):  # -N and one axis, in either order (last wins)
            ax = rng.randint(0, 2)
            k = choose(rng, nchoices)
            case.add(["-Na", "-Nb", "-Nc"][ax], k)
            n_cells[ax] = max(n, k)
    elif size == "Nabc":
        for ax, flag in enumerate(["-Na", "-Nb", "-Nc"]):
            if chance(rng, 0.8):
                n_cells[ax] = choose(rng, nchoices)
                case.add(flag, n_cells[ax])
    sample = [0.0, 0.0, 0.0]
    cellv = p["cell"]
    if size == "xtalsize":  # mm, about 1 to 40 cells
        s = float(num(rng.uniform(1, 40) * cellv[0] * 1e-7, 6))
        case.add(rng.choice(["-xtalsize", "-xtal_size", "-sample_size", "-samplesize"]), num(s, 6))
        sample = [s, s, s]
    elif size == "sample":
        spell = [["-sample_thick", "-sample_x", "-xtal_thick", "-xtal_x"],
                 ["-sample_width", "-sample_y", "-xtal_width", "-xtal_y", "-width"],
                 ["-sample_height", "-sample_z", "-xtal_height", "-xtal_z", "-height"]]
        for ax in range(3):
            if chance(rng, 0.7):
                sample[ax] = float(num(rng.uniform(1, 40) * cellv[ax] * 1e-7, 6))
                case.add(rng.choice(spell[ax]), num(sample[ax], 6))
    for ax in range(3):
        if sample[ax] > 0:
            n_cells[ax] = max(1, math.ceil(sample[ax] * 1e7 / cellv[ax]))
    p["N"] = n_cells

    # ---------------------------------------------------------- spot shape
    shape = choose(rng, [(60, None), (8, "-square_xtal"), (12, "-round_xtal"), (10, "-gauss_xtal"),
                         (8, "-tophat_spots"), (2, "-binary_spots")])
    if shape:
        case.add(shape)
        if chance(rng, 0.08):
            case.add(rng.choice(["-square_xtal", "-round_xtal", "-gauss_xtal", "-tophat_spots"]))
    if chance(rng, 0.2):
        case.add("-fudge", num(rng.uniform(0.3, 3), 3))

    # ---------------------------------------------------------- structure factors
    interp = False
    if chance(rng, 0.55):
        hmax = [rng.randint(1, 7) for _ in range(3)]
        hmin = [-rng.randint(0, 7) for _ in range(3)]
        sparse = chance(rng, 0.4)
        keep = rng.uniform(0.05, 0.7) if sparse else 1.0
        lines = []
        sep = rng.choice([" ", " ", "  ", "\t"])  # plain "h k l F" lines
        for h in range(hmin[0], hmax[0] + 1):
            for k in range(hmin[1], hmax[1] + 1):
                for l in range(hmin[2], hmax[2] + 1):
                    if rng.random() <= keep:
                        f = rng.uniform(0, 400) * (-1 if chance(rng, 0.05) else 1)
                        text = num(f, 2) if chance(rng, 0.9) else "%.4e" % f
                        lines.append(sep.join(["%d" % h, "%d" % k, "%d" % l, text]))
        if not lines:
            lines.append("0 0 0 100")
        name = "sparse.hkl" if sparse else "F.hkl"
        if chance(rng, 0.2):  # blank lines and leading blanks are allowed
            lines = [(" " if chance(rng, 0.1) else "") + t + ("\n" if chance(rng, 0.05) else "")
                     for t in lines]
        case.files[name] = "\n".join(lines) + "\n"
        case.add("-hkl", name)
        if sparse:
            case.tags.add("sparse-hkl")
        if chance(rng, 0.5):
            case.add("-default_F", num(rng.uniform(1, 200), 2))
        mode = choose(rng, [(35, None), (25, "-interpolate"), (30, "-nointerpolate"), (10, "both")])
        if mode == "both":
            first, last = rng.sample(["-interpolate", "-nointerpolate"], 2)
            case.order(case.add(first), case.add(last))
            mode = last
        elif mode:
            case.add(mode)
        interp = mode == "-interpolate" or (mode is None and min(n_cells) <= 2)
    else:
        case.add("-default_F", num(rng.uniform(5, 500), 2))
    p["interp"] = interp

    # ---------------------------------------------------------- mosaicity
    domains = 1
    if chance(rng, 0.25):
        spread = rng.uniform(0.05, 2.0)
        case.add(rng.choice(["-mosaic", "-mosaic", "-mosaic_spread", "-mosaicity", "-mosaic_spr"]),
                 num(spread, 3))
        domains = 10
        if chance(rng, 0.7):
            domains = rng.randint(1, 8)
            case.add(rng.choice(["-mosaic_dom", "-mosaic_domains"]), domains)
        if chance(rng, 0.6):
            case.add("-mosaic_seed", rng.randint(1, 10**7))
    elif chance(rng, 0.03):
        case.add("-mosaic_dom", rng.randint(2, 6))  # no spread: one domain
    p["domains"] = domains

    # ---------------------------------------------------------- spindle
    phisteps = 1
    if chance(rng, 0.3) or (wide and chance(rng, 0.5)):
        phi0 = rng.uniform(-90, 90)
        if wide and chance(rng, 0.6):
            phi0 = wide_angle(rng, phi0)
        if chance(rng, 0.15):
            phi0 = 0.0
        osc = phistep = nsteps = None
        form = choose(rng, [(3, "osc"), (3, "osc+steps"), (2, "osc+step"), (1, "step"),
                            (1, "steps"), (1, "phi")])
        if "osc" in form:
            osc = rng.uniform(0.1, 20)
        if form == "osc+steps" or form == "steps":
            nsteps = rng.randint(1, 5)
        if form == "osc+step":
            phistep = osc / rng.randint(1, 5) * rng.uniform(0.9, 1.0)
        if form == "step":
            phistep = rng.uniform(0.05, 5)
        case.add("-phi", num(phi0, 2))
        if osc is not None:
            case.add("-osc", num(osc, 3))
        if phistep is not None:
            case.add("-phistep", num(phistep, 4))
            phistep = float(num(phistep, 4))
        if nsteps is not None:
            case.add("-phisteps", nsteps)
        # the reference's step logic
        if nsteps is None:
            if osc is None:
                phisteps = 2 if phistep else 1
            else:
                phisteps = math.ceil(float(num(osc, 3)) / phistep) if phistep else 2
        else:
            phisteps = max(nsteps, 1)
            if osc is None and phistep:
                phisteps = 2
    p["phisteps"] = phisteps

    # ---------------------------------------------------------- sources
    nsources = 1
    if chance(rng, 0.1):
        ns = rng.randint(1, 6)
        cols = rng.choice([3, 4, 5, 5])
        u = beam_dir
        lines = []
        sep = rng.choice([" ", " ", "\t", ",", ", ", "  "])  # the reference's delimiters
        for _ in range(ns):
            d = (u[0] + rng.uniform(-1e-3, 1e-3), u[1] + rng.uniform(-1e-3, 1e-3),
                 u[2] + rng.uniform(-1e-3, 1e-3))
            dist = rng.choice([10.0, 10.0, rng.uniform(1, 20)])
            row = [num(-dist * t, 6) for t in d]
            if cols >= 4:
                row.append(num(rng.uniform(0.2, 2), 3))
            if cols >= 5:
                row.append("%.6e" % (lam * 1e-10 * rng.uniform(0.98, 1.02)))
            lines.append(sep.join(row))
        case.files["sources.txt"] = "\n".join(lines) + "\n"
        case.add("-sourcefile", "sources.txt")
        nsources = ns
    if chance(rng, 0.2):
        form = choose(rng, [(5, "range+steps"), (2, "range"), (1, "count")])
        if form == "count":
            disp_steps = rng.randint(2, 3)
            case.add("-dispsteps", disp_steps)  # range 1 (100%), as the reference does
        else:
            case.add("-dispersion", num(rng.uniform(0.1, 5), 3))
            disp_steps = 2
            if form == "range+steps":
                disp_steps = rng.randint(1, 5)
                case.add("-dispsteps", disp_steps)
                disp_steps = max(disp_steps, 2)
    else:
        disp_steps = 1
    hsteps = vsteps = 1
    if chance(rng, 0.2):
        form = choose(rng, [(3, "divergence"), (3, "ranges+steps"), (2, "ranges+step"), (1, "step"),
                            (1, "count")])
        if form == "divergence":
            case.add("-divergence", num(rng.uniform(0.05, 2), 3))
            hsteps = vsteps = 2
            if chance(rng, 0.7):
                hsteps = vsteps = rng.randint(1, 5)
                case.add("-divsteps", hsteps)
        elif form == "ranges+steps":
            hr, vr = rng.uniform(0.05, 2), rng.uniform(0.05, 2)
            case.add("-hdivrange", num(hr, 3))
            case.add("-vdivrange", num(vr, 3))
            hsteps, vsteps = rng.randint(1, 5), rng.randint(1, 5)
            case.add("-hdivsteps", hsteps)
            case.add("-vdivsteps", vsteps)
        elif form == "ranges+step":
            hr, vr = rng.uniform(0.05, 2), rng.uniform(0.05, 2)
            hs, vs = hr / rng.uniform(1, 4.5), vr / rng.uniform(1, 4.5)
            case.add("-hdivrange", num(hr, 3))
            case.add("-vdivrange", num(vr, 3))
            case.add("-hdivstep", num(hs, 4))
            case.add("-vdivstep", num(vs, 4))
            hsteps, vsteps = 6, 6
        elif form == "step":  # a step alone: range = step, 2 steps
            case.add("-hdivstep", num(rng.uniform(0.05, 1), 4))
            case.add("-vdivstep", num(rng.uniform(0.05, 1), 4))
            if chance(rng, 0.5):
                case.add(rng.choice(["-hdivsteps", "-vdivsteps", "-divsteps"]), rng.randint(1, 4))
        else:
            hsteps = vsteps = rng.randint(2, 3)  # range 1 rad, as the reference does
            case.add("-divsteps", hsteps)
        hsteps, vsteps = max(hsteps, 2), max(vsteps, 2)
        if chance(rng, 0.35):
            case.add(rng.choice(["-round_div", "-square_div"]))
    if "sources.txt" not in case.files:
        nsources = hsteps * vsteps * disp_steps
    p["sources"] = nsources

    # ---------------------------------------------------------- flux
    if chance(rng, 0.25):
        if chance(rng, 0.5):
            case.add("-fluence", "%.3e" % (10 ** rng.uniform(20, 27)))
        if chance(rng, 0.5):
            case.add("-flux", "%.3e" % (10 ** rng.uniform(8, 14)))
            if chance(rng, 0.6):
                case.add("-exposure", num(rng.uniform(0.1, 10), 3))
        if chance(rng, 0.5):
            case.add("-beamsize", num(10 ** rng.uniform(-4, -0.7), 6))

    # ---------------------------------------------------------- polarization
    has_polar = chance(rng, 0.3)
    has_nopolar = chance(rng, 0.15)
    gp = case.add("-polar", num(rng.uniform(0, 1), 3)) if has_polar else None
    gn = case.add("-nopolar") if has_nopolar else None

    # ---------------------------------------------------------- detector
    distance = None
    dform = choose(rng, [(60, "distance"), (15, "close"), (5, "both"), (20, None)])
    if wide and chance(rng, 0.4):
        dform = "distance"
        distance = rng.uniform(1000, 99999)
    d_est = 100.0
    if dform in ("distance", "both"):
        distance = distance or rng.uniform(40, 300)
        case.add("-distance", num(distance, 3))
        d_est = float(num(distance, 3))
    if dform in ("close", "both"):
        close = float(num(rng.uniform(40, 300), 3))
        case.add("-close_distance", num(close, 3))
        d_est = close if dform == "close" else min(d_est, close)

    for axis in "xyz":
        if chance(rng, 0.15):
            r = rng.uniform(-15, 15)
            if wide and chance(rng, 0.3):
                r = wide_angle(rng, r)
            case.add("-detector_rot" + axis, num(r, 3))
    if chance(rng, 0.15) or (wide and chance(rng, 0.4)):
        tt = rng.uniform(-30, 30)
        if wide and chance(rng, 0.6):
            tt = wide_angle(rng, tt)
        g_tt = case.add("-twotheta", num(tt, 3))
        if chance(rng, 0.35):
            if conv == "custom" or chance(rng, 0.5):
                axis = [rng.gauss(0, 1) for _ in range(3)]
                n = math.sqrt(dot(axis, axis))
                axis = [t / n for t in axis]
            else:
                axis = [0, 1, 0]
            g_ax = case.add("-twotheta_axis", *vec_words(axis))
            case.order(g_ax, g_tt)  # -twotheta_axis also resets -twotheta in the reference
            if conv == "custom":
                custom_groups.append(g_ax)
            else:
                conv_groups.append(g_ax)
    if chance(rng, 0.15):
        case.add("-pivot", rng.choice(["beam", "sample"]))

    # conventions: the final one after all others
    if final_conv is not None:
        for g in conv_groups + custom_groups:
            case.order(g, final_conv)
    else:
        for g in conv_groups:
            for h in custom_groups:
                case.order(g, h)

    point_pixel = chance(rng, 0.1)
    if point_pixel:
        case.add("-point_pixel")
    if chance(rng, 0.1):
        case.add("-curved_det")

    layers = 1
    thick = None
    if chance(rng, 0.15):
        if chance(rng, 0.85):
            thick = rng.uniform(10, 500)
            case.add("-detector_thick", num(thick, 2))
        if chance(rng, 0.8):
            # "inf" and "0" mean no absorption and also reset the thickness;
            # given before the thickness, they would leave a sensor that absorbs
            # nothing (an all-zero image), so only without one
            absorb = num(rng.uniform(10, 1000), 2)
            if thick is None and chance(rng, 0.5):
                absorb = rng.choice(["inf", "0"])
            case.add(rng.choice(["-detector_abs", "-detector_absorb", "-detector_absorption"]), absorb)
        if chance(rng, 0.7):
            layers = rng.randint(1, 4)
            case.add(rng.choice(["-thicksteps", "-detector_thicksteps"]), layers)
        layers = max(layers, 2)

    # sub-pixels: explicit, or the reference's automatic choice when small
    os_flags = []
    for flag in ("-oversample_thick", "-oversample_polar", "-oversample_omega"):
        # with -point_pixel, -oversample_omega multiplies the running sum by
        # 1/R^2 (about 1e2 to 1e4) at every step: Inf pixels
        if flag == "-oversample_omega" and point_pixel:
            continue
        # without a sensor thickness -oversample_thick makes the image zero
        if chance(rng, 0.1 if flag != "-oversample_thick" or thick else 0.005):
            os_flags.append(case.add(flag))
    explicit_os = rng.randint(1, 3) if chance(rng, 0.5) else None
    os_budget = explicit_os or 2

    # detector size from the remaining budget
    per_pixel = os_budget ** 2 * layers * p["sources"] * p["phisteps"] * p["domains"]
    if interp:
        per_pixel *= INTERP_COST
    max_pixels = min(MAX_SIDE * MAX_SIDE, BUDGET / per_pixel)
    if max_pixels < 64:
        return None  # too much work: the caller draws again
    side_max = int(min(MAX_SIDE, math.sqrt(max_pixels)))
    fpix = rng.randint(min(8, side_max), side_max)
    spix = fpix if chance(rng, 0.6) else rng.randint(min(8, side_max), side_max)

    # pixel size: mostly from the angle the detector should cover, so that
    # spots fall on it; sometimes the default 0.1 mm
    default_ok = 0.1 * max(fpix, spix) / 2 >= d_est * math.tan(math.radians(2))
    if chance(rng, 0.25) and not wide and default_ok:
        pixel = 0.1
    else:
        half_angle = math.radians(rng.uniform(3, 35))
        pixel = d_est * math.tan(half_angle) / (max(fpix, spix) / 2.0)
        pixel = min(max(pixel, 0.01), 1000.0 if wide else 5.0)
    pixel = float(num(pixel, 4))
    if pixel != 0.1 or chance(rng, 0.2):
        case.add("-pixel", num(pixel, 4))

    nmax = max(n_cells[i] * p["cell"][i] for i in range(3)) * 1e-10
    rps = lam * 1e-10 * (d_est * 1e-3) / (pixel * 1e-3)
    auto_os = max(1, math.ceil(3.0 * nmax / rps))
    if explicit_os is None and (auto_os > 2 or os_flags or chance(rng, 0.2)):
        explicit_os = rng.randint(1, 2)
    if explicit_os is not None:
        g_os = case.add("-oversample", explicit_os)
        for g in os_flags:
            case.order(g, g_os)  # an older reference let -oversample_* set -oversample

    sform = choose(rng, [(5, "detpixels"), (3, "xy"), (3, "detsize"), (1, "both")])
    if fpix != spix and sform in ("detpixels", "both"):
        sform = "xy"
    if sform in ("detpixels", "both"):
        case.add("-detpixels", fpix)
    if sform == "xy":
        names = rng.choice([("-detpixels_x", "-detpixels_y"), ("-detpixels_f", "-detpixels_s")])
        case.add(names[0], fpix)
        case.add(names[1], spix)
    if sform == "both":
        case.add("-detsize", num(rng.uniform(10, 400), 2))  # -detpixels wins
    if sform == "detsize":
        if fpix == spix and chance(rng, 0.6):
            case.add("-detsize", num(fpix * pixel, 4))
        else:
            g_f = case.add("-detsize_f", num(fpix * pixel, 4))
            g_s = case.add("-detsize_s", num(spix * pixel, 4))
            if chance(rng, 0.25):  # overridden by the later -detsize_f/_s
                g = case.add("-detsize", num(rng.uniform(10, 400), 2))
                case.order(g, g_f)
                case.order(g, g_s)
    size_f, size_s = fpix * pixel, spix * pixel

    if chance(rng, 0.25):
        case.add("-Xbeam", num(rng.uniform(0.2, 0.8) * size_s, 3))
        case.add("-Ybeam", num(rng.uniform(0.2, 0.8) * size_f, 3))
    if chance(rng, 0.1):
        case.add("-Xclose", num(rng.uniform(0.2, 0.8) * size_f, 3))
        case.add("-Yclose", num(rng.uniform(0.2, 0.8) * size_s, 3))
    if chance(rng, 0.1):
        case.add("-ORGX", num(rng.uniform(0.2, 0.8) * fpix, 2))
        case.add("-ORGY", num(rng.uniform(0.2, 0.8) * spix, 2))
    if chance(rng, 0.15):
        x0, x1 = sorted(rng.randint(0, fpix - 1) for _ in range(2))
        y0, y1 = sorted(rng.randint(0, spix - 1) for _ in range(2))
        case.add("-roi", x0, x1, y0, y1)
    if chance(rng, 0.1):
        case.add("-dmin", num(rng.uniform(1, 15), 2))
    if chance(rng, 0.1):
        case.add("-water", num(rng.uniform(1, 500), 2))

    # ---------------------------------------------------------- outputs
    float_name = choose(rng, [(7, ("-floatfile", "float.bin")), (1, ("-floatimage", "float.bin")),
                              (2, None)])
    if float_name:
        case.add(*float_name)
    int_name = choose(rng, [(7, ("-intfile", "int.img")), (1, ("-intimage", "int.img")), (2, None)])
    if int_name:
        case.add(*int_name)
    noise = chance(rng, 0.45)
    if noise:
        nn = choose(rng, [(6, ("-noisefile", "noise.img")), (1, ("-noiseimage", "noise.img")),
                          (2, None)])
        g_noise = case.add(*nn) if nn else None
        if g_noise is not None and chance(rng, 0.15):  # re-enabled after -nonoise
            case.order(case.add("-nonoise"), g_noise)
    else:
        case.add("-nonoise")
    if noise or chance(rng, 0.3):
        case.add("-seed", rng.randint(1, 10**7))
    if chance(rng, 0.45):
        pn = choose(rng, [(6, ("-pgmfile", "img.pgm")), (1, ("-pgmimage", "img.pgm")), (2, None)])
        g_pgm = case.add(*pn) if pn else None
        if chance(rng, 0.3):
            g_scale = case.add("-pgmscale", num(10 ** rng.uniform(-2, 1), 4) if chance(rng, 0.9) else "0")
            if g_pgm is None and chance(rng, 0.3):  # re-enabled after -nopgm
                case.order(case.add("-nopgm"), g_scale)
        elif g_pgm is not None and chance(rng, 0.15):
            case.order(case.add("-nopgm"), g_pgm)
    else:
        case.add("-nopgm")
    if chance(rng, 0.15):
        case.add("-scale", num(10 ** rng.uniform(-1, 2), 4) if chance(rng, 0.9) else "0")
    if chance(rng, 0.15):
        case.add("-adc", num(rng.uniform(0, 100), 2))
    if chance(rng, 0.2):
        case.add(rng.choice(["-noprogress", "-progress"]))

    pos = case.arrange()
    if gp is not None and gn is not None and pos[gn] < pos[gp]:
        case.tags.add("nopolar-then-polar")
    p["pixels"] = fpix * spix
    p["work"] = per_pixel * fpix * spix
    case.params = p
    return case


def make_case(index, seed):
    """generate() with redraws (each from the same case stream) when over budget."""
    for attempt in range(50):
        case = generate(index, seed, attempt)
        if case is not None:
            return case
    raise RuntimeError("case %d: no command line within the budget" % index)


# ----------------------------------------------------------------- SMV files


def smv_layout(data):
    """(header text incl. '}', HEADER_BYTES, pixel offset from the file's end) or None."""
    end = data.find(b"}")
    if not data.startswith(b"{") or end < 0:
        return None
    text = data[:end + 1].decode("latin-1")
    keys = {}
    for part in text.strip("{}").replace("\n", ";").split(";"):
        if "=" in part:
            k, v = part.split("=", 1)
            keys[k.strip()] = v.strip()
    try:
        w, h, hb = int(keys["SIZE1"]), int(keys["SIZE2"]), int(keys["HEADER_BYTES"])
    except (KeyError, ValueError):
        return None
    return text, hb, len(data) - 2 * w * h


def normalized_smv(src, dst):
    """Copy a reference SMV image whose header text overflows its HEADER_BYTES=512
    (the reference writes such headers unpadded) to dst with the header padded to
    the next multiple of 512 and HEADER_BYTES saying so.  Returns the header text
    length if the file needed it, else 0 (dst not written)."""
    with open(src, "rb") as f:
        data = f.read()
    lay = smv_layout(data)
    if lay is None:
        return 0
    text, hb, offset = lay
    if offset == hb:
        return 0
    pixels = data[offset:]
    size = 512
    while True:
        new = text.replace("HEADER_BYTES=%d;" % hb, "HEADER_BYTES=%d;" % size, 1)
        if len(new) + 1 <= size:
            break
        size += 512
    header = (new + "\f").encode("latin-1")
    header += b" " * (size - len(header))
    with open(dst, "wb") as f:
        f.write(header + pixels)
    return len(text)


# ----------------------------------------------------------------- running


class Result:
    def __init__(self, case):
        self.case = case
        self.ok = False
        self.category = ""
        self.details = []
        self.dir = None
        self.long_header = 0
        self.times = []  # seconds: reference, nanobragg


def run_program(prog, args, cwd, timeout, threads, times=None):
    start = time.monotonic()
    try:
        return _run_program(prog, args, cwd, timeout, threads)
    finally:
        if times is not None:
            times.append(time.monotonic() - start)


def _run_program(prog, args, cwd, timeout, threads):
    env = dict(os.environ)
    env["OMP_NUM_THREADS"] = str(threads)
    with open(os.path.join(cwd, LOGS[0]), "wb") as out, open(os.path.join(cwd, LOGS[1]), "wb") as err:
        try:
            return subprocess.run([prog] + args, cwd=cwd, stdout=out, stderr=err, env=env,
                                  timeout=timeout).returncode
        except subprocess.TimeoutExpired:
            return "timeout"


def read_text(path):
    try:
        with open(path, "r", errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def outputs(directory, inputs):
    return sorted(f for f in os.listdir(directory)
                  if f not in inputs and f not in LOGS and os.path.isfile(os.path.join(directory, f)))


def compare_dirs(opts, case, ref_dir, our_dir, res):
    """Compare every output; returns the list of differing outputs."""
    ref_out = outputs(ref_dir, case.files)
    our_out = outputs(our_dir, case.files)
    bad = []
    for name in sorted(set(ref_out) ^ set(our_out)):
        where = "reference" if name in ref_out else "nanobragg"
        res.details.append("%s written only by %s" % (name, where))
        bad.append(name)
    for name in ref_out:
        if name not in our_out:
            continue
        ref_path = os.path.join(ref_dir, name)
        cmd = [opts.compare]
        if name == "Fdump.bin":
            cmd.append("--bitwise")
        elif name.endswith(".img"):
            norm_dir = os.path.join(ref_dir, "normalized")
            os.makedirs(norm_dir, exist_ok=True)
            n = normalized_smv(ref_path, os.path.join(norm_dir, name))
            if n:
                ref_path = os.path.join(norm_dir, name)
                res.long_header = max(res.long_header, n)
        cmd += [ref_path, os.path.join(our_dir, name)]
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if proc.returncode != 0:
            bad.append(name)
            text = proc.stdout.decode(errors="replace").strip().splitlines()
            res.details += ["%s: %s" % (name, t) for t in text if t.strip()][-6:]
    return bad


def read_floats(path):
    with open(path, "rb") as f:
        data = f.read()
    return struct.unpack("<%df" % (len(data) // 4), data[:len(data) // 4 * 4])


def float_differences(ref_path, our_path, res):
    """Pixels (fast, slow) outside the corpus tolerance; summarised into res."""
    try:
        a, b = read_floats(ref_path), read_floats(our_path)
    except OSError:
        return []
    if len(a) != len(b):
        return []
    width = int(re.search(r"\((\d+)x\d+ pixels\)", read_text(
        os.path.join(os.path.dirname(ref_path), LOGS[0])) or "(0x0 pixels)").group(1)) or 1
    top = max((abs(x) for x in a if math.isfinite(x)), default=0.0)
    out = []
    for i, (x, y) in enumerate(zip(a, b)):
        if not (math.isfinite(x) and math.isfinite(y)):
            if not (x == y or (math.isnan(x) and math.isnan(y))):
                out.append(i)  # identical non-finite values agree
        elif abs(x - y) > 1e-4 * abs(x) + 1e-6 * top:
            out.append(i)
    if out:
        worst = max(out, key=lambda i: abs(a[i] - b[i]) if math.isfinite(a[i] - b[i]) else math.inf)
        res.details.append("float: %d pixel(s) outside tolerance; worst at fast %d slow %d: "
                           "reference %g, nanobragg %g" % (len(out), worst % width, worst // width,
                                                            a[worst], b[worst]))
    return [(i % width, i // width) for i in out]


def beam_pixel(log):
    """The direct-beam pixel (fast, slow) from the reference's log."""
    m = re.search(r"Fbeam=(\S+) Sbeam=(\S+)", log)
    px = re.search(r"pixel=(\S+) meters", log)
    try:
        return float(m.group(1)) / float(px.group(1)), float(m.group(2)) / float(px.group(1))
    except (AttributeError, ValueError, ZeroDivisionError):
        return None


def setup_dir(path, case):
    os.makedirs(path)
    for name, text in case.files.items():
        with open(os.path.join(path, name), "w") as f:
            f.write(text)


def run_case(opts, index):
    case = make_case(index, opts.seed)
    res = Result(case)
    base = os.path.join(opts.root, "case-%05d" % index)
    if os.path.exists(base):
        shutil.rmtree(base)
    ref_dir, our_dir = os.path.join(base, "ref"), os.path.join(base, "ours")
    setup_dir(ref_dir, case)
    setup_dir(our_dir, case)
    with open(os.path.join(base, "cmdline"), "w") as f:
        f.write(shlex.join(case.args) + "\n")
    rc_ref = run_program(opts.ref, case.args, ref_dir, opts.timeout, 1, res.times)
    rc_our = run_program(opts.ours, case.args, our_dir, opts.timeout, opts.threads, res.times)
    our_err = read_text(os.path.join(our_dir, LOGS[1]))
    if rc_ref != 0:
        res.category = "reference-failed"
        res.details.append("reference exit status %s (the generated command line is invalid)" % rc_ref)
    elif rc_our != 0:
        res.category = "nanobragg-failed"
        res.details.append("nanobragg exit status %s: %s" % (rc_our, our_err.strip()[-300:]))
    else:
        bad = compare_dirs(opts, case, ref_dir, our_dir, res)
        if not bad:
            res.ok = True
        else:
            res.category = "differ: " + ",".join(bad)
            float_name = next((n for n in bad if n.endswith(".bin") and n != "Fdump.bin"), None)
            if float_name:
                where = float_differences(os.path.join(ref_dir, float_name),
                                          os.path.join(our_dir, float_name), res)
                beam = beam_pixel(read_text(os.path.join(ref_dir, LOGS[0])))
                if bad == [float_name] and not where:
                    # the corpus tolerance refuses any NaN or Inf; here both programs
                    # wrote the same non-finite values in the same pixels
                    res.ok = True
                    res.category = "agree: identical non-finite pixels"
                elif ("-round_xtal" in case.args and where and beam
                        and all(abs(f - beam[0]) <= 1 and abs(s - beam[1]) <= 1 for f, s in where)):
                    res.category = "-round_xtal: direct-beam pixel"
            if "nopolar-then-polar" in case.tags and not res.ok:
                res.category += " (with -nopolar before -polar)"
    res.dir = base
    if res.ok and not opts.keep_all:
        shutil.rmtree(base, ignore_errors=True)
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ref", required=True, help="the original nanoBragg binary")
    ap.add_argument("--ours", default=os.path.join(ROOT, "build", "nanobragg"))
    ap.add_argument("--compare", default=os.path.join(ROOT, "build", "nanobragg-compare"))
    ap.add_argument("--count", type=int, default=100, help="number of command lines (default 100)")
    ap.add_argument("--seed", type=int, default=1, help="seed of the generator (default 1)")
    ap.add_argument("--case", type=int, action="append", default=[],
                    help="run only case K of this seed (repeatable); overrides --count")
    ap.add_argument("--keep", metavar="DIR", help="scratch directories under DIR (failed cases stay)")
    ap.add_argument("--keep-all", action="store_true", help="keep passing cases' directories too")
    ap.add_argument("--jobs", type=int, default=1, help="cases run in parallel (default 1)")
    ap.add_argument("--threads", type=int, default=1, help="OMP_NUM_THREADS for nanobragg (default 1)")
    ap.add_argument("--timeout", type=float, default=120, help="seconds per program run (default 120)")
    ap.add_argument("--list", action="store_true", help="only print the command lines")
    opts = ap.parse_args()

    indices = opts.case or list(range(opts.count))
    if opts.list:
        for i in indices:
            case = make_case(i, opts.seed)
            files = " ".join(sorted(case.files))
            print("%5d %s%s" % (i, shlex.join(case.args), "   [files: %s]" % files if files else ""))
        return 0
    for what in ("ref", "ours", "compare"):
        path = os.path.abspath(getattr(opts, what))
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            print("difftest: --%s %s is not an executable file" % (what, path), file=sys.stderr)
            return 2
        setattr(opts, what, path)
    if opts.keep:
        opts.root = os.path.abspath(opts.keep)
        os.makedirs(opts.root, exist_ok=True)
    else:
        opts.root = tempfile.mkdtemp(prefix="nb-difftest-")

    passed = failed = long_headers = 0
    ref_times = []
    categories = {}
    script = os.path.relpath(os.path.abspath(__file__))
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, opts.jobs)) as pool:
        for res in pool.map(lambda i: run_case(opts, i), indices):
            line = shlex.join(res.case.args)
            if res.times:
                ref_times.append(res.times[0])
            if res.long_header:
                long_headers += 1
            if res.ok:
                passed += 1
                if res.category:
                    categories.setdefault(res.category, []).append(res.case.index)
                print("PASS %5d %s%s" % (res.case.index, "[%s] " % res.category if res.category else "",
                                         line), flush=True)
                continue
            failed += 1
            categories.setdefault(res.category, []).append(res.case.index)
            print("FAIL %5d [%s] %s" % (res.case.index, res.category, line))
            for d in res.details:
                print("      " + d)
            print("      kept: %s" % res.dir)
            print("      reproduce: %s %s --ref %s --ours %s --compare %s --seed %d --case %d"
                  % (sys.executable, script, opts.ref, opts.ours, opts.compare, opts.seed,
                     res.case.index), flush=True)
    if not opts.keep and failed == 0 and not opts.keep_all:
        shutil.rmtree(opts.root, ignore_errors=True)
    if ref_times:
        print("reference run time: %.1f s in all, %.2f s at most" % (sum(ref_times), max(ref_times)))
    if long_headers:
        print("%d case(s) with reference SMV headers over 512 bytes" % long_headers)
    for cat in sorted(categories):
        ids = categories[cat]
        shown = " ".join(str(i) for i in ids[:20]) + (" ..." if len(ids) > 20 else "")
        print("category %s: %d case(s): %s" % (cat, len(ids), shown))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
