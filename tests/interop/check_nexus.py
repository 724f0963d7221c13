#!/usr/bin/python3
"""check_nexus.py - nanobragg's NeXus/NXmx files read back with h5py.

    check_nexus.py NANOBRAGG SCRATCH_DIR

Runs NANOBRAGG in a fresh SCRATCH_DIR on a 64x48-pixel detector and reads
the -nexusfile it writes with h5py (docs/nexus.md describes the layout):

  A. a 3-image rotation series, MOSFLM convention, off-centre beam
     (-Xbeam 3 -Ybeam 7), an ROI, a Kahn factor, a silicon sensor, with
     -cbffile and -noisefile alongside;
  B. a 3-image rotation series about a non-default spindle axis
     (-spindle_axis 0 0.6 0.8: the custom convention), written -nonoise;
  C. 3 stills (-misset random, no oscillation) with -matrixfile;
  D. one image without -nimages (a file of one image);
  E. a detector turned by -twotheta 15 (XDS convention);

and checks:
  - the structure: every group has its NX_class, /entry/definition is NXmx,
    the data set is int32 [n, slow, fast], chunked one image per chunk,
    shuffled and deflated, /entry/data names it as its signal;
  - the counts: data[k] equals image k's CBF counts (the script's own
    byte-offset decoder) and its SMV noise image less -adc, pixel for pixel
    (A), the float image rounded (B, -nonoise), -1 outside the ROI and
    pixel_mask bit 8 there;
  - the geometry, computed here from the command line and nanoBragg's
    conventions (not read from nanobragg's report): the McStas frame
    (x = -lab z, y = lab y, z = lab x for a beam along lab +x), the first
    pixel's corner found by following the depends_on chains and composing
    the NeXus transformations, the fast and slow directions, the pixel
    size, the distance and the beam centre (metres and pixels; the beam
    centre at the distance on the beam, found through the chain, also for
    a turned detector), the
    wavelength, the Stokes vector, the sensor, the saturation and underload
    values and the stated pedestal of 0;
  - the sample: depends_on the rotation axis phi (vector = the spindle in
    McStas, one angle per image, phi_end = phi + osc, units deg) for a
    rotation series, "." for stills, whose ub_matrix is each image's
    -matrixfile matrix / lambda in McStas; for a rotation series ub_matrix
    turned by phi about the axis is the image's matrix;
  - every depends_on chain resolves and ends in ".";
  - the same run twice writes the same bytes;
  - when dxtbx can be imported (Debian's python3-dials), dxtbx's FormatNXmx
    reads the file with the true geometry (beam centre, distance, pixel
    size, wavelength, scan, rotation axis) and the same pixels as the CBF
    images, with no overrides.
Exit status 0 when all checks pass (SCRATCH_DIR is then removed), 1 when one
fails, 77 (ctest SKIP_RETURN_CODE) when h5py or numpy cannot be imported
(Debian: python3-h5py) or nanobragg was built without HDF5.
"""
import math
import os
import re
import shutil
import struct
import subprocess
import sys

SKIP = 77
try:
    import numpy as np
    import h5py
except ImportError as e:
    print(f"SKIP: {sys.executable} cannot import h5py/numpy ({e}); install python3-h5py")
    sys.exit(SKIP)

FAST, SLOW, PIXEL = 64, 48, 0.172  # pixel in mm
ADC = 40
COMMON = ["-default_F", "3000", "-cell", "60", "60", "60", "90", "90", "90", "-N", "8",
          "-detpixels_f", str(FAST), "-detpixels_s", str(SLOW), "-pixel", str(PIXEL),
          "-distance", "80", "-Xbeam", "3", "-Ybeam", "7", "-lambda", "1.3", "-exposure", "2",
          "-seed", "12345", "-noprogress"]

failures = []


def check(ok, what):
    if not ok:
        failures.append(what)
        print("FAIL:", what)
    return ok


def run(prog, args):
    r = subprocess.run([prog] + args, capture_output=True, text=True)
    if r.returncode != 0:
        print(r.stdout[-2000:], r.stderr)
        raise SystemExit(f"FAIL: {prog} {' '.join(args)} exited {r.returncode}")
    return r.stdout + r.stderr


def text(v):
    if isinstance(v, np.ndarray):
        v = v[()]
    return v.decode() if isinstance(v, (bytes, np.bytes_)) else str(v)


# ---------------------------------------------------------------- reference images

def decode_cbf(path):
    """Counts of a CBF image (byte-offset, the spec's algorithm)."""
    data = open(path, "rb").read()
    start = data.find(b"\x0c\x1a\x04\xd5") + 4
    n = FAST * SLOW
    out = np.empty(n, dtype=np.int64)
    pos, value = start, 0
    for i in range(n):
        delta = struct.unpack_from("<b", data, pos)[0]
        pos += 1
        if delta == -128:
            delta = struct.unpack_from("<h", data, pos)[0]
            pos += 2
            if delta == -32768:
                delta = struct.unpack_from("<i", data, pos)[0]
                pos += 4
        value += delta
        out[i] = value
    return out.reshape(SLOW, FAST)


def smv(path):
    data = open(path, "rb").read()
    hb = int(re.search(rb"HEADER_BYTES=\s*(\d+)", data).group(1))
    return np.frombuffer(data[hb:], dtype="<u2").reshape(SLOW, FAST).astype(np.int64)


# ---------------------------------------------------------------- geometry

def mcstas(v):
    """nanoBragg lab (beam along +x, y up) to McStas (z along the beam, y up)."""
    return np.array([-v[2], v[1], v[0]], dtype=float)


def rotation(axis, deg):
    a = np.asarray(axis, float) / np.linalg.norm(axis)
    t = math.radians(deg)
    K = np.array([[0, -a[2], a[1]], [a[2], 0, -a[0]], [-a[1], a[0], 0]])
    return np.eye(3) + math.sin(t) * K + (1 - math.cos(t)) * K @ K


def axis_matrix(ds, index=0):
    """The 4x4 matrix of one NXtransformations axis (NeXus: T = (R | o) or (I | t + o))."""
    kind = text(ds.attrs["transformation_type"])
    vector = np.asarray(ds.attrs["vector"], float)
    offset = np.asarray(ds.attrs.get("offset", np.zeros(3)), float)
    value = np.atleast_1d(ds[()])[index]
    units = text(ds.attrs["units"])
    A = np.eye(4)
    if kind == "rotation":
        check(units == "deg", f"{ds.name} units {units}")
        A[:3, :3] = rotation(vector, value)
        A[:3, 3] = offset
    else:
        check(units == "m", f"{ds.name} units {units}")
        A[:3, 3] = value * vector + offset
    if "offset" in ds.attrs:
        check(text(ds.attrs["offset_units"]) == "m", f"{ds.name} offset_units")
    return A


def chain(f, start):
    """The axes from start along depends_on to '.', resolving every link."""
    out, path, seen = [], start, set()
    while path != ".":
        if not check(path in f and isinstance(f[path], h5py.Dataset), f"depends_on {path} does not resolve"):
            return out
        if not check(path not in seen, f"depends_on loop at {path}"):
            return out
        seen.add(path)
        ds = f[path]
        out.append(ds)
        check("depends_on" in ds.attrs, f"{path} has no depends_on")
        path = text(ds.attrs.get("depends_on", "."))
    return out


def compose(axes):
    """NeXus: a chain T1 -> T2 -> ... -> Tn places points by Tn ... T2 T1."""
    A = np.eye(4)
    for ds in axes:
        A = axis_matrix(ds) @ A
    return A


def close(a, b, tol=1e-9):
    return np.allclose(np.asarray(a, float), np.asarray(b, float), atol=tol, rtol=0)


# ---------------------------------------------------------------- checks

def check_structure(f, n):
    def visit(name, obj):
        if isinstance(obj, h5py.Group):
            check("NX_class" in obj.attrs, f"group /{name} has no NX_class")
    f.visititems(visit)
    check(text(f["/entry"].attrs["NX_class"]) == "NXentry", "/entry NX_class")
    check(text(f["/entry/definition"][()]) == "NXmx", "definition is not NXmx")
    for path, cls in (("/entry/data", "NXdata"), ("/entry/instrument", "NXinstrument"),
                      ("/entry/instrument/beam", "NXbeam"), ("/entry/instrument/detector", "NXdetector"),
                      ("/entry/instrument/detector/module", "NXdetector_module"),
                      ("/entry/instrument/detector/transformations", "NXtransformations"),
                      ("/entry/sample", "NXsample"), ("/entry/source", "NXsource")):
        check(path in f and text(f[path].attrs.get("NX_class", "")) == cls, f"{path} is not {cls}")
    check(text(f["/entry/data"].attrs["signal"]) == "data", "NXdata signal")
    d = f["/entry/data/data"]
    check(d.shape == (n, SLOW, FAST) and d.dtype == np.dtype("<i4"), f"data {d.shape} {d.dtype}")
    check(d.chunks == (1, SLOW, FAST), f"chunks {d.chunks}")
    check(d.compression == "gzip" and d.shuffle, f"compression {d.compression} shuffle {d.shuffle}")
    check(text(f["/entry/instrument/name"][()]).startswith("nanoBragg"), "instrument name")
    check(text(f["/entry/source/probe"][()]) == "x-ray", "source probe")
    check(text(f["/entry/start_time"][()]) == "1970-01-01T00:00:00.000Z", "start_time")


def check_detector(f, fast, slow, beam_f_mm, beam_s_mm, thickness_m=None):
    """fast, slow: lab unit vectors; beam_*_mm: where the beam meets the detector."""
    det = f["/entry/instrument/detector"]
    px = PIXEL * 1e-3
    fast_m, slow_m, beam_m = mcstas(fast), mcstas(slow), np.array([0, 0, 1.0])
    # nanoBragg: the beam meets the detector plane (normal to the beam, 80 mm
    # away) at beam_f along fast and beam_s along slow from the first pixel's corner
    origin = 0.080 * beam_m - beam_f_mm * 1e-3 * fast_m - beam_s_mm * 1e-3 * slow_m
    check(close(det["x_pixel_size"][()], px, 1e-15) and close(det["y_pixel_size"][()], px, 1e-15), "pixel size")
    check(text(det["x_pixel_size"].attrs["units"]) == "m", "pixel size units")
    check(close(det["distance"][()], 0.080, 1e-12), f"distance {det['distance'][()]}")
    check(close(det["beam_center_x"][()], beam_f_mm / PIXEL, 1e-9)
          and close(det["beam_center_y"][()], beam_s_mm / PIXEL, 1e-9),
          f"beam centre {det['beam_center_x'][()]} {det['beam_center_y'][()]} px, "
          f"expected {beam_f_mm / PIXEL} {beam_s_mm / PIXEL}")
    check(text(det["beam_center_x"].attrs["units"]) == "pixel", "beam centre units")
    check(text(det["sensor_material"][()]) == "Si", "sensor material")
    if thickness_m is not None:
        check(close(det["sensor_thickness"][()], thickness_m, 1e-15), f"sensor thickness {det['sensor_thickness'][()]}")
    check(det["sensor_thickness"][()] > 0 and text(det["sensor_thickness"].attrs["units"]) == "m", "sensor thickness > 0, m")
    check(int(det["saturation_value"][()]) == 2147483646, "saturation_value")
    check(int(det["underload_value"][()]) == 0, "underload_value")
    check(float(det["pedestal"][()]) == 0.0, "pedestal")
    check(close(det["frame_time"][()], 2.0) and close(det["count_time"][()], 2.0), "frame/count time")
    check("no offset added" in text(det["description"][()]), "description states the offset")

    # the chains: detector -> det_z -> "."; fast/slow -> module_offset -> det_z -> "."
    top = chain(f, text(det["depends_on"][()]))
    check([a.name for a in top] == ["/entry/instrument/detector/transformations/det_z"], "detector chain")
    mod = f["/entry/instrument/detector/module"]
    check(list(mod["data_origin"][()]) == [0, 0] and list(mod["data_size"][()]) == [SLOW, FAST], "module hyperslab")
    for name, vec in (("fast_pixel_direction", fast_m), ("slow_pixel_direction", slow_m)):
        ds = mod[name]
        check(text(ds.attrs["transformation_type"]) == "translation", f"{name} type")
        check(close(ds.attrs["vector"], vec, 1e-12), f"{name} vector {ds.attrs['vector']} expected {vec}")
        check(close(ds[()], px, 1e-15), f"{name} value")
        axes = chain(f, text(ds.attrs["depends_on"]))
        check([a.name.split("/")[-1] for a in axes] == ["module_offset", "det_z"], f"{name} chain")
        corner = compose(axes) @ np.array([0, 0, 0, 1.0])
        check(close(corner[:3], origin, 1e-12), f"{name}: first pixel corner {corner[:3]}, expected {origin}")
    check_beam_centre(f)
    return origin


def check_beam_centre(f):
    """beam_center_x/y (pixels along fast and slow from the corner) and distance
    name the point where the beam (the McStas z axis) meets the detector."""
    det = f["/entry/instrument/detector"]
    mod = det["module"]
    corner = compose(chain(f, text(mod["fast_pixel_direction"].attrs["depends_on"])))[:3, 3]
    px = mod["fast_pixel_direction"][()]
    spot = (corner + det["beam_center_x"][()] * px * mod["fast_pixel_direction"].attrs["vector"]
            + det["beam_center_y"][()] * px * mod["slow_pixel_direction"].attrs["vector"])
    check(close(spot, [0, 0, det["distance"][()]], 1e-12),
          f"the beam centre {spot} is not on the beam at the distance {det['distance'][()]}")


def check_beam(f, stokes):
    b = f["/entry/instrument/beam"]
    check(close(b["incident_wavelength"][()], 1.3, 1e-12), "wavelength")
    check(text(b["incident_wavelength"].attrs["units"]) == "angstrom", "wavelength units")
    check(close(b["incident_polarization_stokes"][()], stokes, 1e-12),
          f"Stokes {b['incident_polarization_stokes'][()]} expected {stokes}")


def check_rotation(f, n, phi0, osc, spindle):
    s = f["/entry/sample"]
    check(text(s["depends_on"][()]) == "/entry/sample/transformations/phi", "sample depends_on")
    axes = chain(f, text(s["depends_on"][()]))
    check(len(axes) == 1, "sample chain")
    phi = s["transformations/phi"]
    check(text(phi.attrs["transformation_type"]) == "rotation" and text(phi.attrs["units"]) == "deg", "phi attrs")
    check(close(phi.attrs["vector"], mcstas(spindle), 1e-12), f"axis {phi.attrs['vector']} expected {mcstas(spindle)}")
    want = [phi0 + k * osc for k in range(n)]
    check(close(phi[()], want, 1e-9), f"phi {phi[()]} expected {want}")
    check(close(s["transformations/phi_end"][()], [w + osc for w in want], 1e-9), "phi_end")
    check(close(s["transformations/phi_increment_set"][()], osc, 1e-12), "phi_increment_set")


def check_data(f, references, what):
    d = f["/entry/data/data"]
    for k, ref in enumerate(references):
        check(np.array_equal(d[k].astype(np.int64), ref), f"data[{k}] differs from {what} of image {k + 1}")


def dxtbx_checks(nxs, cbfs, beam_f_mm, beam_s_mm, axis, phi0, osc, n):
    """dxtbx's FormatNXmx (and FormatCBFMini for cbfs) with no overrides."""
    try:
        from dxtbx.model.experiment_list import ExperimentListFactory
    except Exception:  # noqa: BLE001 (a broken install is as good as none here)
        print("note: dxtbx not importable: the files were not read by DIALS's readers here")
        return False
    sets = [("NeXus", ExperimentListFactory.from_filenames([nxs]))]
    if cbfs:
        sets.append(("CBF", ExperimentListFactory.from_filenames(cbfs)))
    pixels = []
    for name, el in sets:
        e = el[0]
        p = e.detector[0]
        bx, by = p.get_beam_centre(e.beam.get_s0())
        check(abs(bx - beam_f_mm) < 1e-6 and abs(by - beam_s_mm) < 1e-6,
              f"dxtbx {name}: beam centre {bx} {by} mm, expected {beam_f_mm} {beam_s_mm}")
        check(abs(p.get_distance() - 80) < 1e-6, f"dxtbx {name}: distance {p.get_distance()}")
        check(close(p.get_pixel_size(), (PIXEL, PIXEL), 1e-12), f"dxtbx {name}: pixel size")
        check(abs(e.beam.get_wavelength() - 1.3) < 1e-12, f"dxtbx {name}: wavelength")
        check(e.scan.get_image_range() == (1, n), f"dxtbx {name}: image range {e.scan.get_image_range()}")
        check(close(e.scan.get_oscillation(), (phi0, osc), 1e-9), f"dxtbx {name}: oscillation {e.scan.get_oscillation()}")
        # dxtbx's imgCIF frame is McStas turned about y: diag(-1, 1, -1)
        want = np.diag([-1, 1, -1]) @ mcstas(axis)
        check(close(e.goniometer.get_rotation_axis(), want, 1e-12),
              f"dxtbx {name}: rotation axis {e.goniometer.get_rotation_axis()} expected {want}")
        check(p.get_pedestal() == 0, f"dxtbx {name}: pedestal")
        iset = e.imageset
        pixels.append([iset.get_raw_data(k)[0].as_numpy_array() for k in range(len(iset))])
    if len(pixels) == 2:
        check(all(np.array_equal(a, b) for a, b in zip(*pixels)), "dxtbx reads different pixels from NeXus and CBF")
    print(f"dxtbx read {nxs}" + (" and its CBF images" if cbfs else "") + ": geometry and scan as expected")
    return True


def main():
    prog, scratch = sys.argv[1], sys.argv[2]
    shutil.rmtree(scratch, ignore_errors=True)
    os.makedirs(scratch)
    os.chdir(scratch)
    probe = subprocess.run([prog] + COMMON + ["-nexusfile", "probe.nxs", "-nonoise", "-nopgm",
                                              "-floatfile", "/dev/null", "-intfile", "/dev/null"],
                           capture_output=True, text=True)
    if probe.returncode != 0 and "libhdf5-dev" in probe.stderr:
        print("SKIP: nanobragg was built without HDF5 (libhdf5-dev): no NeXus output to check")
        return SKIP

    # A: MOSFLM, off-centre beam, ROI, polarization, sensor; CBF and SMV alongside
    run(prog, COMMON + ["-phi", "12.5", "-osc", "0.25", "-polar", "0.9", "-adc", str(ADC), "-roi", "2", "60", "1", "40",
                        "-detector_thick", "300", "-nimages", "3", "-cbffile", "a_#.cbf", "-noisefile", "a_#.img",
                        "-nexusfile", "a.nxs"])
    with h5py.File("a.nxs", "r") as f:
        check_structure(f, 3)
        # MOSFLM: fast = lab +z, slow = lab -y; -Xbeam along slow, -Ybeam along fast, plus half a pixel
        bf, bs = 7 + PIXEL / 2, 3 + PIXEL / 2
        check_detector(f, (0, 0, 1), (0, -1, 0), bf, bs, 300e-6)
        check_beam(f, (1, 0.9, 0, 0))  # E along lab +z = McStas -x: horizontal
        check_rotation(f, 3, 12.5, 0.25, (0, 0, 1))
        cbf = [decode_cbf(f"a_{k}.cbf") for k in (1, 2, 3)]
        check_data(f, cbf, "the CBF counts")
        roi = np.zeros((SLOW, FAST), bool)
        roi[1:41, 2:61] = True
        for k in (1, 2, 3):
            noise = smv(f"a_{k}.img")
            ok = roi & (noise < 65535)
            check((f["/entry/data/data"][k - 1][ok] == noise[ok] - ADC).all(), f"data[{k - 1}] is not the noise image - adc")
            check((f["/entry/data/data"][k - 1][~roi] == -1).all(), "pixels outside the ROI are not -1")
        mask = f["/entry/instrument/detector/pixel_mask"][()]
        check(mask.shape == (SLOW, FAST) and ((mask == 256) == ~roi).all() and (mask[roi] == 0).all(), "pixel_mask")
        ub = f["/entry/sample/ub_matrix"][()]
        check(ub.shape == (3, 3, 3) and np.allclose(ub[0], ub[2], atol=1e-15), "ub_matrix of a rotation series")
    dxtbx_checks("a.nxs", [f"a_{k}.cbf" for k in (1, 2, 3)], 7 + PIXEL / 2, 3 + PIXEL / 2, (0, 0, 1), 12.5, 0.25, 3)

    # the same run again: the same bytes
    run(prog, COMMON + ["-phi", "12.5", "-osc", "0.25", "-polar", "0.9", "-adc", str(ADC), "-roi", "2", "60", "1", "40",
                        "-detector_thick", "300", "-nimages", "3", "-nexusfile", "a2.nxs"])
    check(open("a.nxs", "rb").read() == open("a2.nxs", "rb").read(), "the same run wrote different NeXus bytes")

    # B: a non-default spindle axis (the custom convention: -Xbeam along fast, no half pixel), -nonoise
    axis = np.array([0, 0.6, 0.8])
    run(prog, COMMON + ["-phi", "-3", "-osc", "0.5", "-spindle_axis", "0", "0.6", "0.8", "-nonoise", "-nimages", "3",
                        "-floatfile", "b_#.bin", "-nexusfile", "b.nxs", "-matrixfile", "b.txt"])
    with h5py.File("b.nxs", "r") as f:
        check_structure(f, 3)
        check_detector(f, (0, 0, 1), (0, -1, 0), 3, 7)
        check_beam(f, (1, 0, 0, 0))
        check_rotation(f, 3, -3, 0.5, axis)
        fl = [np.fromfile(f"b_{k}.bin", dtype="<f4").reshape(SLOW, FAST) for k in (1, 2, 3)]
        check_data(f, [np.floor(x.astype(np.float64) + 0.5).astype(np.int64) for x in fl], "the rounded float image")
        # turned by phi about the axis, the orientation at the axis' zero is the image's matrix
        mats = matrices("b.txt")
        ub = f["/entry/sample/ub_matrix"][()]
        for k in range(3):
            want = np.column_stack([mcstas(mats[k][:, j]) for j in range(3)]) / 1.3
            got = rotation(mcstas(axis), -3 + 0.5 * k) @ ub[k]
            check(close(got, want, 1e-12), f"ub_matrix[{k}] turned by phi is not the image's matrix")
    dxtbx_checks("b.nxs", None, 3, 7, axis, -3, 0.5, 3)

    # C: stills: no rotation axis, each image's orientation
    run(prog, COMMON + ["-misset", "random", "-misset_seed", "9", "-nimages", "3", "-nexusfile", "c.nxs",
                        "-matrixfile", "c.txt", "-cbffile", "c_#.cbf"])
    with h5py.File("c.nxs", "r") as f:
        check_structure(f, 3)
        check(text(f["/entry/sample/depends_on"][()]) == ".", "stills: sample depends_on is not '.'")
        check("transformations" not in f["/entry/sample"], "stills have a rotation axis")
        mats = matrices("c.txt")
        ub = f["/entry/sample/ub_matrix"][()]
        for k in range(3):
            want = np.column_stack([mcstas(mats[k][:, j]) for j in range(3)]) / 1.3
            check(close(ub[k], want, 1e-12), f"stills: ub_matrix[{k}] is not the matrix file's")
        check(not np.allclose(ub[0], ub[1]), "stills share one orientation")
        check_data(f, [decode_cbf(f"c_{k}.cbf") for k in (1, 2, 3)], "the CBF counts")
        abc = f["/entry/sample/unit_cell_abc"][()]
        check(close(abc, (60, 60, 60), 1e-9), f"unit cell {abc}")
    try:
        from dxtbx.model.experiment_list import ExperimentListFactory
        el = ExperimentListFactory.from_filenames(["c.nxs"])
    except ImportError:
        el = None
    if el is not None:
        check(len(el) == 3 and el[0].goniometer is None and el[0].scan is None, "dxtbx: stills")

    # E: a detector turned by -twotheta (XDS convention, beam centre by ORGX/ORGY): the
    # beam centre and distance are where the beam meets the turned plane
    run(prog, COMMON[:COMMON.index("-Xbeam")] + COMMON[COMMON.index("-lambda"):]
        + ["-xds", "-ORGX", "20", "-ORGY", "30", "-twotheta", "15", "-osc", "0.5", "-nimages", "2",
           "-nexusfile", "e.nxs"])
    with h5py.File("e.nxs", "r") as f:
        check_structure(f, 2)
        check_beam_centre(f)
        # the plane is 80 mm from the sample along its normal, turned 15 degrees from the beam
        check(close(f["/entry/instrument/detector/distance"][()], 0.080 / math.cos(math.radians(15)), 1e-12),
              f"twotheta: distance {f['/entry/instrument/detector/distance'][()]}")
        check(close(f["/entry/instrument/detector/transformations/det_z"][()], 0.080, 1e-12), "twotheta: det_z")
    try:
        from dxtbx.model.experiment_list import ExperimentListFactory
        el = ExperimentListFactory.from_filenames(["e.nxs"])
    except ImportError:
        el = None
    if el is not None:
        with h5py.File("e.nxs", "r") as f:
            det = f["/entry/instrument/detector"]
            want = (det["beam_center_x"][()] * PIXEL, det["beam_center_y"][()] * PIXEL)
        p = el[0].detector[0]
        got = p.get_beam_centre(el[0].beam.get_s0())
        check(close(got, want, 1e-9) and abs(p.get_distance() - 80) < 1e-9,
              f"dxtbx: twotheta beam centre {got} mm, expected {want}; distance {p.get_distance()}")

    # D: one image, no -nimages
    run(prog, COMMON + ["-phi", "5", "-osc", "1", "-nexusfile", "d.nxs", "-cbffile", "d.cbf", "-nopgm",
                        "-floatfile", "d.bin", "-intfile", "d.img"])
    with h5py.File("d.nxs", "r") as f:
        check_structure(f, 1)
        check_rotation(f, 1, 5, 1, (0, 0, 1))
        check_data(f, [decode_cbf("d.cbf")], "the CBF counts")

    if failures:
        return 1
    os.chdir("/")
    shutil.rmtree(scratch, ignore_errors=True)
    print("NeXus: rotation series (MOSFLM off-centre, custom spindle), stills and one image read back: "
          "structure, counts, geometry, chains")
    return 0


def matrices(path):
    """The -matrixfile's matrices, in order."""
    rows = [line.split() for line in open(path) if line.strip() and not line.startswith("#")]
    return [np.array(rows[3 * k:3 * k + 3], dtype=float) for k in range(len(rows) // 3)]


sys.exit(main())
