#!/usr/bin/python3
"""make_sf_seeds.py - the seed corpora of fuzz_mtz and fuzz_sfcif (fuzz/corpus/mtz,
fuzz/corpus/sfcif), written with gemmi (Debian: python3-gemmi).

    python3 fuzz/make_sf_seeds.py [CORPUS_DIR]   (default: fuzz/corpus beside this script)

Small files of a few reflections each, in several space groups (orthorhombic, centred
monoclinic, hexagonal, rhombohedral): amplitudes, intensities (some negative), an
anomalous pair F(+)/F(-), missing values; MTZ in the native and the other byte order;
mmCIF with _cell and _symmetry, F_meas_au, intensity_meas and pdbx_F_plus/minus; and
broken ones: truncated, a header beyond the end, and what the fuzz targets found (a
header record that does not start in ASCII, numbers too long for an int, a batch count,
symmetry-operator count or reflection count the file cannot hold, a cell that is NaN, an
index beyond +-1e9).  Deterministic: running it again
writes the same bytes.  Files already in the folders that it does not write (crash-*
inputs kept as regressions) are left alone.
"""
import math
import os
import struct
import sys

import gemmi
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "corpus")

CASES = [  # name, space group, cell, max index
    ("p212121", "P 21 21 21", (36.5, 41.25, 45.75, 90, 90, 90), 2),
    ("c2", "C 1 2 1", (60.5, 35.25, 40.75, 90, 104.5, 90), 2),
    ("p65", "P 65", (40.5, 40.5, 50.25, 90, 90, 120), 2),
    ("r3h", "R 3 :H", (50.0, 50.0, 60.0, 90, 90, 120), 2),
]


def rows_of(name, sgname, cell, m):
    """The reciprocal ASU to |index| <= m, with made-up values: F, SIGF, I, SIGI, F(+), F(-)."""
    sg = gemmi.SpaceGroup(sgname)
    asu, ops = gemmi.ReciprocalAsu(sg), sg.operations()
    rows = []
    for h in range(-m, m + 1):
        for k in range(-m, m + 1):
            for l in range(-m, m + 1):
                if (h, k, l) == (0, 0, 0) or not asu.is_in([h, k, l]) or ops.is_systematically_absent([h, k, l]):
                    continue
                n = len(rows)
                F = 10.0 + 7.0 * math.sin(1.7 * n + h - 2 * k + 3 * l) ** 2
                I = F * F - (60.0 if n % 5 == 0 else 0.0) * F  # some negative
                Fp, Fm = F * 1.05, (F * 0.95 if n % 4 else float("nan"))  # a missing F(-)
                rows.append((h, k, l, F, 1.0, I, 2.0, Fp, Fm))
    return sg, rows


def write_mtz(path, sg, cell, rows, big_endian=False):
    mtz = gemmi.Mtz(with_base=True)
    mtz.spacegroup = sg
    mtz.set_cell_for_all(gemmi.UnitCell(*cell))
    mtz.add_dataset("sim")
    for label, kind in (("FP", "F"), ("SIGFP", "Q"), ("I", "J"), ("SIGI", "Q"), ("F(+)", "G"), ("F(-)", "G")):
        mtz.add_column(label, kind)
    mtz.set_data(np.array(rows, dtype=np.float32))
    mtz.history = []
    mtz.write_to_file(path)
    if big_endian:
        swap_mtz(path)


def swap_mtz(path):
    """The same file in the other byte order (machine stamp 0x11 0x11, numbers big-endian)."""
    with open(path, "rb") as f:
        b = bytearray(f.read())
    header = struct.unpack_from("<i", b, 4)[0]
    start = 4 * (header - 1)
    struct.pack_into(">i", b, 4, header)
    b[8:12] = bytes((0x11, 0x11, 0, 0))
    for pos in range(80, start, 4):
        b[pos:pos + 4] = b[pos:pos + 4][::-1]
    with open(path, "wb") as f:
        f.write(b)


def write_sfcif(path, sg, cell, rows, anomalous):
    doc = gemmi.cif.Document()
    b = doc.add_new_block("sim")
    for tag, v in zip(("length_a", "length_b", "length_c", "angle_alpha", "angle_beta", "angle_gamma"), cell):
        b.set_pair("_cell." + tag, repr(float(v)))
    b.set_pair("_symmetry.space_group_name_H-M", gemmi.cif.quote(sg.hm))
    labels = ["F_meas_au", "F_meas_sigma_au", "intensity_meas", "intensity_sigma"]
    if anomalous:
        labels += ["pdbx_F_plus", "pdbx_F_minus"]
    loop = b.init_loop("_refln.", ["index_h", "index_k", "index_l"] + labels)
    for r in rows:
        vals = r[3:3 + len(labels)]
        loop.add_row([str(x) for x in r[:3]] + ["?" if math.isnan(v) else f"{v:.2f}" for v in vals])
    doc.write_file(path)


def main():
    mtz_dir, cif_dir = os.path.join(OUT, "mtz"), os.path.join(OUT, "sfcif")
    os.makedirs(mtz_dir, exist_ok=True)
    os.makedirs(cif_dir, exist_ok=True)
    for i, (name, sgname, cell, m) in enumerate(CASES):
        sg, rows = rows_of(name, sgname, cell, m)
        write_mtz(os.path.join(mtz_dir, name + ".mtz"), sg, cell, rows)
        write_sfcif(os.path.join(cif_dir, name + ".cif"), sg, cell, rows, anomalous=i % 2 == 1)
    sg, rows = rows_of(*CASES[0])
    write_mtz(os.path.join(mtz_dir, "p212121-big-endian.mtz"), sg, CASES[0][2], rows, big_endian=True)
    with open(os.path.join(mtz_dir, "p212121.mtz"), "rb") as f:
        good = f.read()
    header = struct.unpack_from("<i", good, 4)[0]
    with open(os.path.join(mtz_dir, "bad-truncated.mtz"), "wb") as f:
        f.write(good[:4 * (header - 1) + 240])
    with open(os.path.join(mtz_dir, "bad-header-beyond-end.mtz"), "wb") as f:
        f.write(good[:4] + struct.pack("<i", 1 << 28) + good[8:])
    # what the fuzz targets found (src/sfio_gemmi.cpp guards against each)
    write(mtz_dir, "bad-nonascii-record.mtz", with_record(good, "TITLE", b"\xe9TLE made-up"))
    write(mtz_dir, "bad-long-number.mtz", with_record(good, "NCOL", b"NCOL    9 99999999999999999999 0"))
    write(mtz_dir, "bad-batches.mtz", with_record(good, "NCOL", b"NCOL    9 23 9999999"))
    write(mtz_dir, "bad-symops.mtz", with_record(good, "SYMINF", b"SYMINF 2000000000 4 P 19 'P 21 21 21' PG222"))
    write(mtz_dir, "bad-nan-cell.mtz", with_record(good, "CELL", b"CELL 36.5 nan 45.75 90 90 90"))
    write(mtz_dir, "bad-too-many-rows.mtz", with_record(good, "NCOL", b"NCOL    9 40000000 0"))
    with open(os.path.join(cif_dir, "p212121.cif")) as f:
        text = f.read()
    with open(os.path.join(cif_dir, "bad-short-row.cif"), "w") as f:
        f.write(text.rstrip("\n").rsplit(" ", 1)[0] + "\n")
    with open(os.path.join(cif_dir, "bad-nan-cell.cif"), "w") as f:
        f.write(text.replace("_cell.length_c 45.75", "_cell.length_c 45_cell.length_c.75"))
    with open(os.path.join(cif_dir, "bad-huge-index.cif"), "w") as f:
        f.write(text.replace("\n0 0 2 ", "\n0 0 2386092942 ", 1))


def write(folder, name, data):
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


def with_record(mtz, keyword, record):
    """mtz (bytes) with its first header record starting with keyword replaced by record."""
    start = 4 * (struct.unpack_from("<i", mtz, 4)[0] - 1)
    for pos in range(start, len(mtz) - 79, 80):
        if mtz[pos:pos + len(keyword)] == keyword.encode():
            return mtz[:pos] + record.ljust(80) + mtz[pos + 80:]
    raise ValueError(f"no {keyword} record")


if __name__ == "__main__":
    main()
