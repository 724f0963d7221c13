#!/usr/bin/python3
"""check_fabio.py - nanobragg's SMV images read by a standard reader (FabIO).

    check_fabio.py NANOBRAGG SCRATCH_DIR

Runs NANOBRAGG in a fresh SCRATCH_DIR on a small non-square case with a
non-default beam centre, writing float.bin, int.img and noise.img, then opens
both SMV images with fabio.open and checks:
  - the layout: HEADER_BYTES is 512, or 1024 for a second run whose wide
    header values (phi -123456, detector rotations) need more than 512
    bytes of header text, and the file is exactly header + pixels;
  - the data: shape (slow, fast) = (48, 64), dtype uint16, every pixel equal
    to the pixels read directly from the file, and (int.img) every pixel equal
    to float.bin * intfile_scale + adc, rounded, so that FabIO's orientation
    agrees with the raw float image;
  - the header: SIZE1/SIZE2, PIXEL_SIZE, DISTANCE, WAVELENGTH, BEAM_CENTER_X/Y,
    PHI and OSC_RANGE equal what the command line asked for.
Exit status 0 when all checks pass (SCRATCH_DIR is then removed), 1 when one
fails, 77 (ctest SKIP_RETURN_CODE) when fabio or numpy cannot be imported.
Meant for Debian's python3-fabio, i.e. /usr/bin/python3.
"""
import os
import re
import shutil
import subprocess
import sys

SKIP = 77

try:
    import numpy as np
    import fabio
except ImportError as e:  # not installed for this interpreter: skip, never fail
    print(f"SKIP: {sys.executable} cannot import fabio/numpy ({e}); "
          "install python3-fabio (Debian) to run this test")
    sys.exit(SKIP)

FAST, SLOW = 64, 48
ADC = 40.0
ASKED = {  # header key -> value asked on the command line (header units)
    "SIZE1": FAST,
    "SIZE2": SLOW,
    "PIXEL_SIZE": 0.172,  # mm
    "DISTANCE": 150.0,  # mm
    "WAVELENGTH": 1.2,  # Angstrom
    "BEAM_CENTER_X": 5.0,  # mm (MOSFLM convention: -Xbeam)
    "BEAM_CENTER_Y": 4.0,  # mm (-Ybeam)
    "PHI": 3.0,  # deg
    "OSC_RANGE": 0.5,  # deg
}
ARGS = [
    "-default_F", "100", "-cell", "100", "100", "100", "90", "90", "90", "-N", "5",
    "-detpixels_f", str(FAST), "-detpixels_s", str(SLOW), "-pixel", "0.172",
    "-distance", "150", "-Xbeam", "5", "-Ybeam", "4", "-lambda", "1.2",
    "-phi", "3", "-osc", "0.5", "-seed", "12345", "-adc", str(ADC),
    "-floatfile", "float.bin", "-intfile", "int.img", "-noisefile", "noise.img", "-nopgm",
]

failures = []


def check(ok, what):
    print(("ok:   " if ok else "FAIL: ") + what)
    if not ok:
        failures.append(what)


def read_smv_directly(path):
    """Header dict and (slow, fast) uint16 pixels, parsed without FabIO."""
    with open(path, "rb") as f:
        raw = f.read()
    m = re.search(rb"HEADER_BYTES=\s*(\d+)", raw[:512])  # within the first 512 bytes
    if not raw.startswith(b"{") or not m:
        raise ValueError(f"{path}: no SMV header")
    nbytes = int(m.group(1))
    text = raw[:nbytes].split(b"}")[0].decode("ascii")
    header = dict(re.findall(r"^\s*([A-Z0-9_]+)=([^;\n]*);?\s*$", text, re.M))
    w, h = int(header["SIZE1"]), int(header["SIZE2"])
    order = "<" if header.get("BYTE_ORDER") == "little_endian" else ">"
    data = np.frombuffer(raw, dtype=order + "u2", count=w * h, offset=nbytes)
    return header, data.reshape(h, w)


def read_like_dxtbx(path):
    """What DIALS' SMV reader (dxtbx FormatSMV, not packaged in Debian) does:
    HEADER_BYTES from the second line of the first 45 bytes, 'KEY=value;'
    records up to a line '}' within that many bytes, the pixels right after."""
    with open(path, "rb") as f:
        size = int(f.read(45).decode("ascii", "ignore").split("\n")[1].split("=")[1].replace(";", ""))
        f.seek(0)
        text = f.read(size).decode("ascii", "ignore")
        header = {}
        for record in text.split("\n"):
            if record == "}":
                break
            if "=" in record:
                key, value = record.replace(";", "").split("=")
                header[key.strip()] = value.strip()
        w, h = int(header["SIZE1"]), int(header["SIZE2"])
        f.seek(size)
        data = np.frombuffer(f.read(2 * w * h), dtype="<u2" if header["BYTE_ORDER"] == "little_endian" else ">u2")
    return header, data.reshape(h, w)


def check_image(name, float_img, int_scale):
    img = fabio.open(name)
    print(f"{name}: fabio.open -> {type(img).__module__}.{type(img).__name__}")
    _, direct = read_smv_directly(name)
    data = img.data
    check(data.shape == (SLOW, FAST), f"{name}: data shape {data.shape} == {(SLOW, FAST)}")
    check(data.dtype == np.uint16, f"{name}: dtype {data.dtype} == uint16")
    same = data.shape == direct.shape and np.array_equal(np.asarray(data, dtype=np.uint16), direct)
    check(same, f"{name}: every pixel equals the file's own pixels")
    check(int(data.max()) > int(data.min()), f"{name}: not a flat image ({data.min()}..{data.max()})")
    for key, want in ASKED.items():
        got = img.header.get(key)
        try:
            ok = got is not None and abs(float(got) - want) <= 1e-9 * max(1.0, abs(want))
        except ValueError:
            ok = False
        check(ok, f"{name}: header {key}={got!r} == {want:g}")
    dx_header, dx_data = read_like_dxtbx(name)
    check(np.array_equal(dx_data, direct) and all(k in dx_header for k in ASKED)
          and dx_header["TWOTHETA"] == img.header.get("TWOTHETA"),
          f"{name}: read as DIALS' SMV reader reads it: same pixels, every header key")
    if float_img is not None and data.shape == float_img.shape:
        expected = np.clip(np.floor(float_img.astype(np.float64) * int_scale + ADC + 0.5), 0, 65535)
        # intfile_scale is printed with 6 significant digits
        tol = 1.0 + 1e-5 * expected
        worst = float(np.max(np.abs(data.astype(np.float64) - expected) - tol))
        check(worst <= 0.0, f"{name}: pixels == float.bin * intfile_scale + adc (same orientation)")


# Wide header values (a six-digit negative phi, rotations, two-theta) make the
# header text longer than 512 bytes: the header is then padded to 1024 bytes
# and HEADER_BYTES says so.
LONG_HEADER = ["-phi", "-123456", "-detector_rotx", "-95.973", "-detector_roty", "-112.3456",
               "-detector_rotz", "-137.654321", "-twotheta", "-12.3456", "-Xbeam", "5.12345",
               "-Ybeam", "4.56789", "-lambda", "1.23456", "-distance", "150.123"]
LONG_ASKED = {"PHI": -123456.0, "TWOTHETA": -12.3456, "BEAM_CENTER_X": 5.12345,
              "BEAM_CENTER_Y": 4.56789, "WAVELENGTH": 1.23456}
CASES = [("plain", [], {}, 512), ("long_header", LONG_HEADER, LONG_ASKED, 1024)]


def run_case(nanobragg, name, extra, asked, header_bytes):
    global ASKED
    os.makedirs(name)
    os.chdir(name)
    ASKED = dict(ASKED, **asked)
    if "-twotheta" in extra:  # the beam pivot then moves the detector along the beam
        del ASKED["DISTANCE"]
    run = subprocess.run([nanobragg] + ARGS + extra, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         universal_newlines=True)
    with open("stdout.log", "w") as f:
        f.write(run.stdout)
    if run.returncode != 0:
        check(False, f"{name}: nanobragg exited with status {run.returncode}:\n{run.stdout[-2000:]}")
        return
    m = re.search(r"^intfile_scale = (\S+)", run.stdout, re.M)
    if not m:
        check(False, f"{name}: nanobragg printed no intfile_scale")
        return
    float_img = np.fromfile("float.bin", dtype="<f4")
    check(float_img.size == FAST * SLOW, f"float.bin holds {float_img.size} == {FAST * SLOW} floats")
    float_img = float_img.reshape(SLOW, FAST) if float_img.size == FAST * SLOW else None
    try:
        for image in ("int.img", "noise.img"):
            header, _ = read_smv_directly(image)
            size = os.path.getsize(image)
            check(int(header["HEADER_BYTES"]) == header_bytes and size == header_bytes + 2 * FAST * SLOW,
                  f"{name}/{image}: HEADER_BYTES={header['HEADER_BYTES']} == {header_bytes}, "
                  f"file size {size} == header + pixels")
        check_image("int.img", float_img, float(m.group(1)))
        check_image("noise.img", None, None)
    except Exception as e:  # a reader error is a failure, with its message
        check(False, f"{name}: reading the images raised {type(e).__name__}: {e}")
    os.chdir("..")


def main():
    if len(sys.argv) != 3:
        print("usage: check_fabio.py NANOBRAGG SCRATCH_DIR", file=sys.stderr)
        return 1
    nanobragg, scratch = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    print(f"fabio {fabio.version} (numpy {np.__version__}) under {sys.executable}")
    shutil.rmtree(scratch, ignore_errors=True)
    os.makedirs(scratch)
    os.chdir(scratch)
    for case in CASES:
        run_case(nanobragg, *case)
    if failures:
        print(f"{len(failures)} check(s) failed; scratch directory kept: {os.getcwd()}")
        return 1
    os.chdir("/")
    shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
