"""speclib.py - what the spec acceptance tests (run_spec.py) share.

- run(): run nanobragg in a fresh folder of the scratch directory and read what it
  wrote: the float image, SMV and PGM files, numbers from its report;
- check() / near(): record one numbered criterion, print it, keep going;
- Detector, miller(), render(): an independent numpy model of nanoBragg's geometry
  and kernel for the simple cases (one source, no mosaic), written from the spec's
  equations plus the original program's documented choices (docs/deviations.md):
  solid angle and polarization of the first sub-pixel, the conventions' pivots,
  the two-theta ratio taken before the two-theta turn;
- peaks(), matched(), corr(): the comparisons the parallel tests ask for.
"""
import os
import re
import shlex
import subprocess

import numpy as np

NB = None  # the nanobragg executable (set by run_spec.py)
SCRATCH = None  # a fresh folder for this test's runs
FAILED = []
_runs = [0]

R_E_SQR = 7.94079248018965e-30  # m^2
AVOGADRO = 6.02214179e23
FLUENCE = 125932015286227086360700780544.0  # nanoBragg's default, photons/m^2
OUT = "-floatfile float.bin -intfile int.img -nonoise -nopgm"
CUBIC = "-cell 100 100 100 90 90 90"


# ---------------------------------------------------------------- checks


def check(ok, what):
    print(("ok:   " if ok else "FAIL: ") + what, flush=True)
    if not ok:
        FAILED.append(what)
    return bool(ok)


def near(what, got, want, rel=1e-6, abs_=0.0):
    """got within rel*|want| + abs_ of want (arrays: every element)."""
    got = np.asarray(got, float)
    want = np.broadcast_to(np.asarray(want, float), got.shape)
    err = np.abs(got - want)
    ok = bool(np.all(np.isfinite(got)) and np.all(err <= rel * np.abs(want) + abs_))
    if got.size == 1:
        detail = f"{got.item():.9g} (expected {want.item():.9g})"
    else:
        worst = np.unravel_index(np.argmax(err - rel * np.abs(want)), err.shape)
        detail = f"worst at {tuple(int(i) for i in worst)}: {got[worst]:.9g} vs {want[worst]:.9g}"
    return check(ok, f"{what}: {detail}")


# ---------------------------------------------------------------- running


class Run:
    def __init__(self, folder, out, rc):
        self.dir, self.out, self.rc = folder, out, rc

    def path(self, name):
        return os.path.join(self.dir, name)

    def find(self, pattern, cast=float):
        """The groups of the first match of pattern in the report, converted."""
        m = re.search(pattern, self.out)
        if not m:
            raise AssertionError(f"not in the report: {pattern}")
        vals = [cast(g) for g in m.groups()]
        return vals[0] if len(vals) == 1 else vals

    def shape(self):
        f, s = self.find(r"\((\d+)x(\d+) pixels\)", int)
        return s, f

    def floats(self, name="float.bin"):
        return np.fromfile(self.path(name), dtype="<f4").reshape(self.shape())

    def smv(self, name="int.img"):
        return read_smv(self.path(name))

    def pgm(self, name="image.pgm"):
        with open(self.path(name), "rb") as f:
            raw = f.read()
        lines = raw.split(b"\n", 4)
        w, h = (int(v) for v in lines[1].split())
        data = np.frombuffer(lines[4], dtype=np.uint8)
        return [l.decode() for l in lines[:4]], data.reshape(h, w) if data.size == w * h else data

    def vectors(self):
        """fdet, sdet, odet, beam as printed in the report."""
        keys = [
            "DIRECTION_OF_DETECTOR_X-AXIS",
            "DIRECTION_OF_DETECTOR_Y-AXIS",
            "DIRECTION_OF_DETECTOR_Z-AXIS",
            "INCIDENT_BEAM_DIRECTION",
        ]
        return [np.array(self.find(k + r"= (\S+) (\S+) (\S+)")) for k in keys]

    def cell(self):
        """Real-space vectors a, b, c (rows, Angstrom) as printed in the report."""
        block = self.out.split("real-space cell vectors (Angstrom):")[1].splitlines()[2:5]
        return np.array([[float(v) for v in line.split()[1:4]] for line in block]).T

    def stats(self):
        return self.find(r"mean= (\S+) rms= (\S+) rmsd= (\S+)")


def run(args, files=None, expect=0, env=None):
    """Run nanobragg with args (a string, shell words) in a new folder holding files
    (name -> str or bytes); check the exit status (expect None: any but 0)."""
    _runs[0] += 1
    folder = os.path.join(SCRATCH, f"run{_runs[0]}")
    os.makedirs(folder)
    for name, content in (files or {}).items():
        with open(os.path.join(folder, name), "wb") as f:
            f.write(content.encode() if isinstance(content, str) else content)
    argv = [NB] + (shlex.split(args) if isinstance(args, str) else list(args))
    full_env = dict(os.environ, **(env or {}))
    p = subprocess.run(
        argv, cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=full_env, timeout=120
    )
    out = p.stdout.decode(errors="replace")
    if p.returncode != expect and not (expect is None and p.returncode != 0):
        print(out[-3000:])
        raise AssertionError(f"exit status {p.returncode} (expected {expect}): nanobragg {args}")
    return Run(folder, out, p.returncode)


def read_smv(path):
    """(header dict of strings, (slow, fast) uint16 pixels, raw header bytes)."""
    with open(path, "rb") as f:
        raw = f.read()
    nbytes = int(re.search(rb"HEADER_BYTES=\s*(\d+)", raw[:512]).group(1))
    text = raw[:nbytes].split(b"}")[0].decode("ascii")
    header = dict(re.findall(r"^([A-Z0-9_]+)=([^;\n]*);?$", text, re.M))
    w, h = int(header["SIZE1"]), int(header["SIZE2"])
    order = "<" if header["BYTE_ORDER"] == "little_endian" else ">"
    data = np.frombuffer(raw, dtype=order + "u2", count=w * h, offset=nbytes)
    return header, data.reshape(h, w), raw[:nbytes]


def write_smv(fast, slow, keys, data=None):
    """An SMV file (bytes): 512-byte header with keys, then uint16 pixels."""
    head = "{\nHEADER_BYTES=512;\nDIM=2;\nBYTE_ORDER=little_endian;\nTYPE=unsigned_short;\n"
    head += f"SIZE1={fast};\nSIZE2={slow};\n"
    head += "".join(f"{k}={v};\n" for k, v in keys.items()) + "}\f"
    raw = head.encode().ljust(512, b" ")
    if data is None:
        data = np.ones((slow, fast), np.uint16)
    return raw + np.asarray(data, "<u2").tobytes()


# ---------------------------------------------------------------- geometry model


def rot_xyz(v, rx, ry, rz):
    """Right-handed rotations about x, then y, then z (radians)."""
    x, y, z = v
    if rx:
        y, z = y * np.cos(rx) - z * np.sin(rx), y * np.sin(rx) + z * np.cos(rx)
    if ry:
        x, z = x * np.cos(ry) + z * np.sin(ry), -x * np.sin(ry) + z * np.cos(ry)
    if rz:
        x, y = x * np.cos(rz) - y * np.sin(rz), x * np.sin(rz) + y * np.cos(rz)
    return np.array([x, y, z])


def rot_axis(v, axis, phi):
    """Rotate v (..., 3) about the unit vector axis by phi (scalar or (...)), Rodrigues."""
    v, axis = np.asarray(v, float), np.asarray(axis, float)
    phi = np.asarray(phi, float)[..., None]
    dot = np.sum(v * axis, axis=-1, keepdims=True)
    return v * np.cos(phi) + np.cross(axis, v) * np.sin(phi) + axis * dot * (1 - np.cos(phi))


def unit(v):
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


# beam, fast, slow, normal, two-theta axis, polarization, spindle, pivot
CONVENTIONS = {
    "mosflm": ((1, 0, 0), (0, 0, 1), (0, -1, 0), (1, 0, 0), (0, 0, -1), (0, 0, 1), (0, 0, 1), "beam"),
    "denzo": ((1, 0, 0), (0, 0, 1), (0, -1, 0), (1, 0, 0), (0, 0, -1), (0, 0, 1), (0, 0, 1), "beam"),
    "adxv": ((0, 0, 1), (1, 0, 0), (0, -1, 0), (0, 0, 1), (-1, 0, 0), (1, 0, 0), (1, 0, 0), "beam"),
    "xds": ((0, 0, 1), (1, 0, 0), (0, 1, 0), (0, 0, 1), (1, 0, 0), (1, 0, 0), (1, 0, 0), "sample"),
    "dials": ((0, 0, 1), (1, 0, 0), (0, 1, 0), (0, 0, 1), (0, 1, 0), (0, 1, 0), (0, 1, 0), "sample"),
}


class Detector:
    """The detector of a run (lengths in metres internally; arguments in the
    command line's units: mm, degrees).  Follows the spec's Geometry & Conventions
    section, with the original's two choices: each convention imposes its pivot,
    and the ratio r = b.o is taken before the two-theta turn."""

    def __init__(
        self,
        conv="mosflm",
        pixels=64,
        spixels=None,
        pixel=0.1,
        distance=100.0,
        close_distance=None,
        Xbeam=None,
        Ybeam=None,
        ORGX=None,
        ORGY=None,
        rot=(0, 0, 0),
        twotheta=0.0,
        curved=False,
    ):
        b, f, s, o, tt, p, u, self.pivot = (
            np.array(v, float) if i < 7 else v for i, v in enumerate(CONVENTIONS[conv])
        )
        self.conv, self.curved, self.polar_axis, self.spindle = conv, curved, p, u
        self.fpixels, self.spixels = pixels, spixels or pixels
        px = self.px = pixel / 1000
        dsf, dss = px * self.fpixels, px * self.spixels
        Fclose = (ORGX - 0.5) * px if ORGX is not None else dsf / 2
        Sclose = (ORGY - 0.5) * px if ORGY is not None else dss / 2

        def mm(v, default):
            return v / 1000 if v is not None else default

        if conv in ("mosflm", "denzo"):
            X, Y = mm(Xbeam, (dss + px) / 2), mm(Ybeam, (dsf + px) / 2)
            shift = 0.5 * px if conv == "mosflm" else 0.0
            Fbeam, Sbeam = Y + shift, X + shift
        elif conv == "adxv":
            X, Y = mm(Xbeam, (dsf + px) / 2), mm(Ybeam, (dss - px) / 2)
            Fbeam, Sbeam = X, dss - Y
        else:
            X, Y = mm(Xbeam, Fclose), mm(Ybeam, Sclose)
            Fbeam, Sbeam = X, Y
        self.Xbeam, self.Ybeam = X, Y
        rx, ry, rz = np.radians(rot)
        t2 = np.radians(twotheta)
        ratio = b @ rot_xyz(o, rx, ry, rz)
        dist = distance / 1000
        close = close_distance / 1000 if close_distance is not None else abs(ratio * dist)
        dist = close / ratio
        if self.pivot == "sample":
            pix0 = rot_axis(rot_xyz(-Fclose * f - Sclose * s + close * o, rx, ry, rz), tt, t2)
        f, s, o = (rot_axis(rot_xyz(v, rx, ry, rz), tt, t2) for v in (f, s, o))
        if self.pivot == "beam":
            pix0 = -Fbeam * f - Sbeam * s + dist * b
        self.b, self.f, self.s, self.o, self.pix0 = b, f, s, o, pix0
        self.Fclose, self.Sclose, self.close = -pix0 @ f, -pix0 @ s, pix0 @ o
        R = self.close / ratio * b - pix0
        self.Fbeam, self.Sbeam, self.distance, self.ratio = f @ R, s @ R, self.close / ratio, ratio

    def positions(self, oversample=1, odet=0.0):
        """Sub-pixel centres, shape (slow, fast, subS, subF, 3), metres."""
        sub = self.px / oversample
        F = sub * (np.arange(self.fpixels)[:, None] * oversample + np.arange(oversample)) + sub / 2
        S = sub * (np.arange(self.spixels)[:, None] * oversample + np.arange(oversample)) + sub / 2
        pos = (
            self.pix0
            + odet * self.o
            + S[:, None, :, None, None] * self.s
            + F[None, :, None, :, None] * self.f
        )
        if self.curved:
            # nanoBragg's sphere: distance*b turned about s by y/distance, then
            # about f by z/distance (y, z: lab components of the flat point)
            start = np.broadcast_to(self.distance * self.b, pos.shape)
            pos = rot_axis(
                rot_axis(start, self.s, pos[..., 1] / self.distance), self.f, pos[..., 2] / self.distance
            )
        return pos

    def omega(self, pos, point_pixel=False):
        R = np.linalg.norm(pos, axis=-1)
        return 1 / R**2 if point_pixel else self.px**2 / R**2 * self.close / R


def polarization(incident, d, axis, K):
    """Kahn factor 0.5(1 + cos^2 2t - K cos(2 psi) sin^2 2t) for unit d (..., 3)."""
    c2 = d @ incident
    if K == 0:
        return 0.5 * (1 + c2**2)
    B = unit(np.cross(axis, incident))
    E = unit(np.cross(incident, B))
    psi = -np.arctan2(d @ B, d @ E)
    return 0.5 * (1 + c2**2 - K * np.cos(2 * psi) * (1 - c2**2))


def miller(det, cell, lam, oversample=1, odet=0.0, pos=None):
    """Fractional h, k, l (each (slow, fast, os, os)) for cell rows a, b, c in
    Angstrom and wavelength lam in Angstrom; scattering vector (d - i)/lambda."""
    if pos is None:
        pos = det.positions(oversample, odet)
    q = (unit(pos) - det.b) / lam
    return [q @ np.asarray(v, float) for v in cell]


def sincg(x, N):
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(x == 0, N, np.sin(N * x) / np.sin(x))


def render(
    det,
    cell=None,
    lam=1.0,
    N=(1, 1, 1),
    F=100.0,
    K=0.0,
    nopolar=False,
    point_pixel=False,
    oversample=1,
    fluence=FLUENCE,
    phis=(0.0,),
):
    """The float image of a single-source, single-domain run with a constant
    structure factor F and a parallelepiped crystal (SQUARE lattice factor)."""
    cell = np.diag([100.0] * 3) if cell is None else np.asarray(cell, float)
    pos = det.positions(oversample)
    d = unit(pos)
    I = np.zeros(pos.shape[:2])
    for phi in phis:
        turned = [rot_axis(v, det.spindle, np.radians(phi)) for v in cell]
        h = miller(det, turned, lam, pos=pos)
        latt = np.ones_like(h[0])
        for x, n in zip(h, N):
            if n > 1:
                latt = latt * sincg(np.pi * x, n)
        I += np.sum(F**2 * latt**2, axis=(2, 3))
    first = (slice(None), slice(None), 0, 0)
    omega = det.omega(pos[first], point_pixel)
    polar = 1.0 if nopolar else polarization(det.b, d[first], det.polar_axis, K)
    steps = oversample**2 * len(phis)
    return R_E_SQR * fluence * I / steps * omega * polar


# ---------------------------------------------------------------- comparisons


def corr(a, b):
    return float(np.corrcoef(np.ravel(a), np.ravel(b))[0, 1])


def peaks(img, n, radius=1, percentile=99.0):
    """(slow, fast) of the n brightest local maxima (window 2*radius+1) above the
    percentile, brightest first, each refined to the centroid of its 3x3 pixels
    (so that two equal neighbours give one peak between them)."""
    img = np.asarray(img, float)
    pad = np.pad(img, radius, mode="constant", constant_values=-np.inf)
    win = np.lib.stride_tricks.sliding_window_view(pad, (2 * radius + 1,) * 2)
    local = (img >= win.max(axis=(2, 3))) & (img > np.percentile(img, percentile)) & (img > 0)
    idx = np.argwhere(local)
    idx = idx[np.argsort(-img[local], kind="stable")]
    out = []
    for s, f in idx:
        c = centroid(img, (s, f), 1, iterations=1)
        if all(np.linalg.norm(c - o) > 1 for o in out):
            out.append(c)
        if len(out) == n:
            break
    return np.array(out).reshape(-1, 2)


def matched(p, q, tol):
    """Fraction of peaks p with a peak of q within tol pixels."""
    if len(p) == 0 or len(q) == 0:
        return 0.0
    dist = np.linalg.norm(p[:, None, :] - q[None, :, :], axis=-1)
    return float(np.mean(dist.min(axis=1) <= tol))


def centroid(img, centre, half, iterations=5):
    """Intensity-weighted (slow, fast) centroid of the pixels within half of the
    current estimate (starting at centre), repeated so that the window ends up
    symmetric about the spot."""
    c = np.asarray(centre, float)
    for _ in range(iterations):
        lo = np.maximum(np.ceil(c - half - 1e-9).astype(int), 0)
        hi = np.minimum(np.floor(c + half + 1e-9).astype(int), np.array(img.shape) - 1)
        w = np.asarray(img[lo[0] : hi[0] + 1, lo[1] : hi[1] + 1], float)
        ss, ff = np.mgrid[lo[0] : hi[0] + 1, lo[1] : hi[1] + 1]
        c = np.array([(w * ss).sum(), (w * ff).sum()]) / w.sum()
    return c
