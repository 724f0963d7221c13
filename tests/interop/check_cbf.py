#!/usr/bin/python3
"""check_cbf.py - nanobragg's CBF images decoded back and their headers read.

    check_cbf.py NANOBRAGG SCRATCH_DIR

Runs NANOBRAGG in a fresh SCRATCH_DIR on a non-square detector with an
off-centre beam, an ROI, a Kahn factor and a fluence high enough for counts
beyond 65535, writing float.bin, noise.img (SMV, -adc 40) and image.cbf, and
checks:
  - the layout: "###CBF" magic, the MIME lines dxtbx's FormatCBF reads
    (X-Binary-Size equal to the bytes between the binary marker and the
    padding, element count and dimensions), 4095 bytes of padding;
  - the data, decoded by the byte-offset decoder below (the CBF spec's
    algorithm, written independently of the writer): every ROI pixel equals
    the noise image's photon count (noise.img - adc) where that is below
    65535 - adc, pixels beyond it exceed 65535 (no 16-bit ceiling), pixels
    outside the ROI are -1; with -nonoise, the float image rounded;
  - the header: the "# Key value" lines dxtbx's FormatCBFMini parses
    (Pixel_size, Wavelength, Detector_distance, Beam_xy, Start_angle,
    Angle_increment, Exposure_period, Polarization, Count_cutoff), with the
    values of the command line; Beam_xy against the SMV header's
    DIALS_ORIGIN (dxtbx's simple detector puts the origin at
    (-x px, +y px, -distance)) and against the Fclose/Sclose the report
    prints;
  - a series (-nimages 3 -cbffile s_#.cbf): each image's Start_angle;
  - FabIO (Debian python3-fabio), when it can be imported, reads the same
    pixels and header.
Exit status 0 when all checks pass (SCRATCH_DIR is then removed), 1 when one
fails, 77 (ctest SKIP_RETURN_CODE) when numpy cannot be imported.
"""
import os
import re
import shutil
import struct
import subprocess
import sys

SKIP = 77
try:
    import numpy as np
except ImportError as e:
    print(f"SKIP: {sys.executable} cannot import numpy ({e}); install python3-numpy")
    sys.exit(SKIP)
try:
    import fabio
except ImportError:
    fabio = None

FAST, SLOW = 64, 48
ADC = 40.0
ARGS = [
    "-default_F", "3000", "-cell", "60", "60", "60", "90", "90", "90", "-N", "8",
    "-detpixels_f", str(FAST), "-detpixels_s", str(SLOW), "-pixel", "0.172",
    "-distance", "80", "-Xbeam", "3", "-Ybeam", "7", "-lambda", "1.3", "-polar", "0.9",
    "-phi", "12.5", "-osc", "0.25", "-exposure", "2", "-seed", "12345", "-adc", str(ADC),
    "-roi", "2", "60", "1", "40", "-misset", "10", "20", "30", "-noprogress",
]

failures = []


def check(ok, what):
    if not ok:
        failures.append(what)
        print("FAIL:", what)


def run(prog, args):
    r = subprocess.run([prog] + args, capture_output=True, text=True)
    if r.returncode != 0:
        print(r.stdout[-2000:], r.stderr)
        raise SystemExit(f"FAIL: {prog} {' '.join(args)} exited {r.returncode}")
    return r.stdout + r.stderr


def decode_byte_offset(packed, n):
    """The CBF spec's byte_offset decompression, element by element."""
    out = np.empty(n, dtype=np.int64)
    pos, value = 0, 0
    for i in range(n):
        delta = struct.unpack_from("<b", packed, pos)[0]
        pos += 1
        if delta == -128:
            delta = struct.unpack_from("<h", packed, pos)[0]
            pos += 2
            if delta == -32768:
                delta = struct.unpack_from("<i", packed, pos)[0]
                pos += 4
                if delta == -2147483648:
                    delta = struct.unpack_from("<q", packed, pos)[0]
                    pos += 8
        value += delta
        out[i] = value
    return out, pos


def read_cbf(path):
    data = open(path, "rb").read()
    check(data[:6] == b"###CBF", f"{path}: no ###CBF magic")
    start = data.find(b"\x0c\x1a\x04\xd5")
    text = data[:start].decode("ascii")
    mime = {}
    for line in text.split("\r\n"):
        if line.startswith("X-Binary"):
            key, value = line.split(":")
            mime[key.strip()] = value.strip()
    head = {}
    for line in text.split("\r\n"):
        if line.startswith("# "):
            tokens = line.replace("=", "").replace(":", "").split()
            if len(tokens) > 2:
                head[tokens[1]] = " ".join(tokens[2:])
    fast = int(mime["X-Binary-Size-Fastest-Dimension"])
    slow = int(mime["X-Binary-Size-Second-Dimension"])
    n = int(mime["X-Binary-Number-of-Elements"])
    size = int(mime["X-Binary-Size"])
    check(n == fast * slow, f"{path}: {n} elements for {fast}x{slow}")
    check('conversions="x-CBF_BYTE_OFFSET"' in text, f"{path}: not byte-offset")
    check(mime["X-Binary-Element-Type"] == '"signed 32-bit integer"', f"{path}: element type")
    packed = data[start + 4:]
    values, used = decode_byte_offset(packed, n)
    check(used == size, f"{path}: X-Binary-Size {size} but the data take {used} bytes")
    check(packed[size:size + 4095] == bytes(4095), f"{path}: no 4095 bytes of zero padding")
    check(packed[size + 4095:].startswith(b"\r\n--CIF-BINARY-FORMAT-SECTION----\r\n;"),
          f"{path}: no closing boundary")
    return values.reshape(slow, fast), head


def number(head, key, index=0):
    return float(head[key].replace("(", "").replace(")", "").replace(",", "").split()[index])


def smv(path):
    data = open(path, "rb").read()
    hb = int(re.search(rb"HEADER_BYTES=\s*(\d+)", data).group(1))
    text = data[:hb].decode("ascii", "ignore")
    pixels = np.frombuffer(data[hb:], dtype="<u2").reshape(SLOW, FAST).astype(np.int64)
    return pixels, text


def main():
    prog, scratch = sys.argv[1], sys.argv[2]
    shutil.rmtree(scratch, ignore_errors=True)
    os.makedirs(scratch)
    os.chdir(scratch)
    report = run(prog, ARGS + ["-floatfile", "float.bin", "-noisefile", "noise.img", "-cbffile",
                               "image.cbf", "-nopgm", "-intfile", "int.img"])
    cbf, head = read_cbf("image.cbf")
    noise, smv_text = smv("noise.img")
    roi = np.zeros((SLOW, FAST), bool)
    roi[1:41, 2:61] = True
    check((cbf[~roi] == -1).all(), "pixels outside the ROI are not -1")
    inside = roi & (noise < 65535)
    check((cbf[inside] == noise[inside] - ADC).all(), "CBF counts differ from the noise image's photons")
    over = roi & (noise == 65535)
    check(over.sum() > 0 and (cbf[over] >= 65535 - ADC).all() and cbf.max() > 65535,
          f"no counts beyond 65535 where the SMV image saturates (max {cbf.max()}, {over.sum()} saturated)")
    check(cbf.max() > 32767 + 127, "the 4-byte escape of the byte-offset code is not exercised")

    # header values: the command line's, and the geometry's as nanobragg reports it
    check(head["Pixel_size"].startswith("172e-6 m x 172e-6 m"), f"Pixel_size {head['Pixel_size']}")
    check(abs(number(head, "Wavelength") - 1.3) < 1e-9, "Wavelength")
    check(abs(number(head, "Detector_distance") - 0.080) < 1e-12, "Detector_distance")
    check(abs(number(head, "Start_angle") - 12.5) < 1e-9, "Start_angle")
    check(abs(number(head, "Angle_increment") - 0.25) < 1e-9, "Angle_increment")
    check(abs(number(head, "Exposure_period") - 2) < 1e-9, "Exposure_period")
    check(abs(number(head, "Polarization") - 0.95) < 1e-9, "Polarization (1 + Kahn) / 2")
    check(int(number(head, "Count_cutoff")) == 2147483646, "Count_cutoff")
    check(number(head, "Pedestal") == 0, "Pedestal (no offset in the CBF)")
    bx, by = number(head, "Beam_xy", 0), number(head, "Beam_xy", 1)
    fclose = float(re.search(r"Fclose=(\S+) Sclose=(\S+)", report).group(1))
    sclose = float(re.search(r"Fclose=(\S+) Sclose=(\S+)", report).group(2))
    check(abs(bx * 0.172e-3 - fclose) < 1e-9 and abs(by * 0.172e-3 - sclose) < 1e-9,
          f"Beam_xy ({bx}, {by}) px against Fclose {fclose} Sclose {sclose} m")
    # MOSFLM -Xbeam 3 -Ybeam 7: the beam meets the detector at 7 mm along fast, 3 mm along slow,
    # plus nanoBragg's half pixel
    check(abs(bx - (7 + 0.086) / 0.172) < 1e-6 and abs(by - (3 + 0.086) / 0.172) < 1e-6,
          f"Beam_xy ({bx}, {by}) is not -Ybeam, -Xbeam (+ half a pixel)")
    origin = [float(v) for v in re.search(r"DIALS_ORIGIN=([^\n;]+)", smv_text).group(1).split(",")]
    want = [-bx * 0.172, by * 0.172, -80.0]
    check(all(abs(a - b) < 1e-3 for a, b in zip(origin, want)),
          f"dxtbx's origin from Beam_xy {want} differs from the SMV header's DIALS_ORIGIN {origin}")

    # -nonoise: the float image rounded
    run(prog, ARGS + ["-floatfile", "f2.bin", "-cbffile", "plain.cbf", "-nopgm", "-nonoise",
                      "-intfile", "i2.img"])
    plain, _ = read_cbf("plain.cbf")
    fl = np.fromfile("f2.bin", dtype="<f4").reshape(SLOW, FAST)
    check((plain[roi] == np.floor(fl[roi].astype(np.float64) + 0.5)).all(), "-nonoise CBF is not the rounded float image")

    # a series: each image states its own start
    run(prog, ARGS + ["-nimages", "3", "-cbffile", "s_#.cbf"])
    for k in (1, 2, 3):
        _, h = read_cbf(f"s_{k}.cbf")
        check(abs(number(h, "Start_angle") - (12.5 + 0.25 * (k - 1))) < 1e-9, f"s_{k}.cbf Start_angle")

    if fabio is None:
        print("note: fabio not importable: the CBF was checked by this script's own decoder only")
    else:
        img = fabio.open("image.cbf")
        check(img.data.shape == (SLOW, FAST), f"fabio shape {img.data.shape}")
        check((img.data.astype(np.int64) == cbf).all(), "fabio's pixels differ")
        check("Beam_xy" in str(img.header.get("_array_data.header_contents", "")), "fabio header contents")
    if failures:
        return 1
    os.chdir("/")
    shutil.rmtree(scratch, ignore_errors=True)
    print(f"CBF: {FAST}x{SLOW} image decoded, counts up to {cbf.max()}, header checked"
          + ("" if fabio is None else ", FabIO agrees"))
    return 0


sys.exit(main())
