#!/usr/bin/python3
"""check_sfinput.py - structure factors from MTZ and mmCIF files, expanded by
their space group, against P1 lists expanded here by hand.

    check_sfinput.py NANOBRAGG SCRATCH_DIR

For each case the test makes a random-atom model with gemmi, computes |F|
of the reciprocal asymmetric unit (gemmi's ReciprocalAsu) and writes them
as an MTZ file and as an mmCIF structure-factor file (gemmi's writers).
Independently of nanobragg it expands that asymmetric unit to P1 itself,
from the symmetry operators of the group written out below on (h, k, l)
(not gemmi's), Friedel mates included, F+/F- apart for anomalous columns,
systematic absences as zeros, and writes the P1 list as "h k l F" text with
every F exact (17 digits).  Then, for every file and column:
  - the image simulated from the file (-mtz / -sfcif, cell from the file)
    equals, byte for byte, the image simulated from the P1 list (-hkl,
    -cell), and has signal;
  - the same list without its Friedel mates gives another image (the
    comparison can fail);
  - -hkl of the asymmetric unit with -spacegroup gives the same image too.
Cases: P 21 21 21 (MTZ amplitudes, mmCIF F_meas_au and intensity_meas),
C 1 2 1 (MTZ anomalous pair F(+)/F(-)), P 65 (MTZ intensities, some
negative: F = sqrt(max(I, 0))).  Then the errors and warnings: an unknown
column (the message lists the file's labels), a corrupt MTZ, an unknown
space group, a space group that does not fit the cell, a given cell that
differs from the file's, and the completeness warning of a list that ends
before the detector's edge.  Last, a model with and without -bulk_solvent (the solvent
mask and its transform run; the images differ) and -bulk_solvent refused without a model.
Exit status 0 when all pass (SCRATCH_DIR is then removed), 1 when one
fails, 77 (ctest's SKIP_RETURN_CODE) when gemmi or numpy cannot be imported
or the program was built without gemmi.
"""
import math
import os
import random
import shutil
import subprocess
import sys

SKIP = 77
try:
    import numpy as np
    import gemmi
except ImportError as e:
    print(f"SKIP: {sys.executable} cannot import gemmi/numpy ({e}); install python3-gemmi (Debian)")
    sys.exit(SKIP)

PROG, SCRATCH = sys.argv[1], sys.argv[2]
GEOMETRY = ["-lambda", "1", "-distance", "60", "-detpixels", "64", "-pixel", "0.8", "-N", "3",
            "-oversample", "1", "-phi", "0", "-osc", "4", "-phisteps", "2"]
DMIN = 1.75  # the files' resolution; the detector reaches 1.82 A
failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures.append(what)


def powers(gens):
    """The group of integer 3x3 matrices (acting on h k l rows) the generators make."""
    group = [((1, 0, 0), (0, 1, 0), (0, 0, 1))]
    grew = True
    while grew:
        grew = False
        for g in list(group):
            for x in gens:
                m = tuple(tuple(sum(g[i][t] * x[t][j] for t in range(3)) for j in range(3)) for i in range(3))
                if m not in group:
                    group.append(m)
                    grew = True
    return group


def apply(m, hkl):
    return tuple(sum(hkl[t] * m[t][j] for t in range(3)) for j in range(3))


# Each group: its reciprocal-space rotations (as row-vector matrices) and absences, by hand.
GROUPS = {
    "P 21 21 21": dict(cell=(36.5, 41.25, 45.75, 90, 90, 90),
                       ops=powers([((-1, 0, 0), (0, -1, 0), (0, 0, 1)), ((-1, 0, 0), (0, 1, 0), (0, 0, -1))]),
                       absent=lambda h, k, l: (k == 0 and l == 0 and h % 2) or (h == 0 and l == 0 and k % 2)
                       or (h == 0 and k == 0 and l % 2)),
    "C 1 2 1": dict(cell=(60.5, 35.25, 40.75, 90, 104.5, 90),
                    ops=powers([((-1, 0, 0), (0, 1, 0), (0, 0, -1))]),
                    absent=lambda h, k, l: (h + k) % 2),
    "P 65": dict(cell=(40.5, 40.5, 50.25, 90, 90, 120),
                 ops=powers([((1, -1, 0), (1, 0, 0), (0, 0, 1))]),  # (h, k, l) -> (h+k, -h, l)
                 absent=lambda h, k, l: h == 0 and k == 0 and l % 6),
}


def model(name, natoms=12, seed=1):
    """A random-atom structure in the group and its reciprocal ASU |F| to DMIN."""
    rng = random.Random(seed)
    g = GROUPS[name]
    st = gemmi.Structure()
    st.cell = gemmi.UnitCell(*g["cell"])
    st.spacegroup_hm = name
    m, ch = gemmi.Model("1"), gemmi.Chain("A")
    for i in range(natoms):
        r = gemmi.Residue()
        r.name, r.seqid = "HOH", gemmi.SeqId(i + 1, " ")
        a = gemmi.Atom()
        a.name, a.element = "O", gemmi.Element("O")
        a.pos = st.cell.orthogonalize(gemmi.Fractional(rng.random(), rng.random(), rng.random()))
        a.b_iso, a.occ = 15.0, 1.0
        r.add_atom(a)
        ch.add_residue(r)
    m.add_chain(ch)
    st.add_model(m)
    st.setup_cell_images()
    sg = gemmi.SpaceGroup(name)
    asu, calc = gemmi.ReciprocalAsu(sg), gemmi.StructureFactorCalculatorX(st.cell)
    lim = [int(x / DMIN) + 1 for x in g["cell"][:3]]
    rows = []
    for h in range(-lim[0], lim[0] + 1):
        for k in range(-lim[1], lim[1] + 1):
            for l in range(-lim[2], lim[2] + 1):
                if (h, k, l) == (0, 0, 0) or not asu.is_in([h, k, l]) or st.cell.calculate_d([h, k, l]) < DMIN:
                    continue
                if g["absent"](h, k, l):
                    continue
                rows.append((h, k, l, abs(calc.calculate_sf_from_model(st[0], [h, k, l]))))
    return st.cell, sg, rows


def write_mtz(path, cell, sg, rows, columns):
    """columns: [(label, type)]; rows: (h, k, l, v1, v2, ...)."""
    mtz = gemmi.Mtz(with_base=True)
    mtz.spacegroup = sg
    mtz.set_cell_for_all(cell)
    mtz.add_dataset("sim")
    for label, kind in columns:
        mtz.add_column(label, kind)
    mtz.set_data(np.array(rows, dtype=np.float32))
    mtz.write_to_file(path)


def write_sfcif(path, cell, sg, rows, labels):
    doc = gemmi.cif.Document()
    b = doc.add_new_block("sim")
    for tag, v in zip(("length_a", "length_b", "length_c", "angle_alpha", "angle_beta", "angle_gamma"),
                      (cell.a, cell.b, cell.c, cell.alpha, cell.beta, cell.gamma)):
        b.set_pair("_cell." + tag, repr(v))
    b.set_pair("_symmetry.space_group_name_H-M", gemmi.cif.quote(sg.hm))
    loop = b.init_loop("_refln.", ["index_h", "index_k", "index_l"] + labels)
    for r in rows:
        loop.add_row([str(r[0]), str(r[1]), str(r[2])] + [repr(float(v)) for v in r[3:]])
    doc.write_file(path)


def expand_p1(name, entries, friedel=True):
    """entries: (h, k, l, F, anomalous_minus_or_None).  By hand: every rotation,
    F- at the Friedel mates where given, absences within the box as 0."""
    g = GROUPS[name]
    out = {}
    for h, k, l, fp, fm in entries:
        for m in g["ops"]:
            hk = apply(m, (h, k, l))
            out[hk] = fp
            if friedel:
                out[tuple(-x for x in hk)] = fp if fm is None else fm
    lo = [min(x[i] for x in out) for i in range(3)]
    hi = [max(x[i] for x in out) for i in range(3)]
    for h in range(lo[0], hi[0] + 1):
        for k in range(lo[1], hi[1] + 1):
            for l in range(lo[2], hi[2] + 1):
                if g["absent"](h, k, l):
                    out[(h, k, l)] = 0.0
    return out


def write_hkl(path, table):
    with open(path, "w") as f:
        for (h, k, l), F in sorted(table.items()):
            f.write(f"{h} {k} {l} {F!r}\n")


def run(args, expect_rc=0):
    p = subprocess.run([PROG] + args, cwd=SCRATCH, capture_output=True, text=True)
    out = p.stdout + p.stderr
    if (p.returncode == 0) != (expect_rc == 0):
        print(out[-2000:])
    return p.returncode, out


def image(args, name):
    rc, out = run(args + GEOMETRY + ["-floatfile", name, "-nonoise", "-nopgm", "-intfile", name + ".img"])
    with open(os.path.join(SCRATCH, name), "rb") as f:
        data = f.read()
    return rc, out, data


def cell_args(cell):
    return ["-cell"] + [repr(float(x)) for x in cell]


def compare(label, file_args, table, cell):
    write_hkl(os.path.join(SCRATCH, "p1.hkl"), table)
    rc1, out1, a = image(file_args, "file.bin")
    rc2, _, b = image(["-hkl", "p1.hkl"] + cell_args(cell), "p1.bin")
    pix = np.frombuffer(a, dtype=np.float32)
    check(rc1 == 0 and rc2 == 0 and len(a) == 64 * 64 * 4 and a == b,
          f"{label}: image equals the hand-expanded P1 list's, bit for bit ({len(table)} reflections)")
    check(pix.max() > 0 and np.count_nonzero(pix) > 100,
          f"{label}: the image has signal (max {pix.max():.4g}, {np.count_nonzero(pix)} lit pixels)")
    check("missing from the structure factors" not in out1, f"{label}: no completeness warning")
    return a, out1


def case_p212121():
    name = "P 21 21 21"
    cell, sg, rows = model(name)
    write_mtz(os.path.join(SCRATCH, "p212121.mtz"), cell, sg, [r for r in rows], [("FP", "F")])
    entries = [(h, k, l, float(np.float32(F)), None) for h, k, l, F in rows]
    table = expand_p1(name, entries)
    img, out = compare("P 21 21 21 MTZ", ["-mtz", "p212121.mtz"], table, GROUPS[name]["cell"])
    check("space group P 21 21 21" in out and "unit cell from p212121.mtz" in out,
          "P 21 21 21 MTZ: the space group and the cell come from the file")
    # without Friedel mates the image differs: the comparison can fail
    write_hkl(os.path.join(SCRATCH, "half.hkl"), expand_p1(name, entries, friedel=False))
    _, _, half = image(["-hkl", "half.hkl"] + cell_args(GROUPS[name]["cell"]), "half.bin")
    check(half != img, "P 21 21 21: the list without Friedel mates gives another image")
    # the asymmetric unit as text, expanded by -spacegroup (by number)
    with open(os.path.join(SCRATCH, "asu.hkl"), "w") as f:
        for h, k, l, F, _ in entries:
            f.write(f"{h} {k} {l} {F!r}\n")
    rc, _, b = image(["-hkl", "asu.hkl", "-spacegroup", "19"] + cell_args(GROUPS[name]["cell"]), "asu.bin")
    check(rc == 0 and b == img, "P 21 21 21: -hkl of the asymmetric unit with -spacegroup 19 gives the same image")
    # mmCIF: amplitudes (exact decimal text), then intensities I = F^2
    write_sfcif(os.path.join(SCRATCH, "p212121.cif"), cell, sg, [(h, k, l, F, F * F) for h, k, l, F in rows],
                ["F_meas_au", "intensity_meas"])
    table = expand_p1(name, [(h, k, l, float(F), None) for h, k, l, F in rows])
    compare("P 21 21 21 mmCIF F_meas_au", ["-sfcif", "p212121.cif"], table, GROUPS[name]["cell"])
    table = expand_p1(name, [(h, k, l, math.sqrt(float(F * F)), None) for h, k, l, F in rows])
    compare("P 21 21 21 mmCIF intensity_meas", ["-sfcif", "p212121.cif", "-sfcol", "intensity_meas"], table,
            GROUPS[name]["cell"])
    errors(cell, sg, rows)


def case_c2():
    name = "C 1 2 1"
    cell, sg, rows = model(name, seed=2)
    # anomalous pair: F- differs from F+ except for centric reflections (k = 0 in C2)
    arows = [(h, k, l, F, F if k == 0 else F * (0.8 + 0.4 * ((h * 7 + k * 3 + l) % 5) / 5)) for h, k, l, F in rows]
    write_mtz(os.path.join(SCRATCH, "c2.mtz"), cell, sg, arows, [("F(+)", "G"), ("F(-)", "G")])
    entries = [(h, k, l, float(np.float32(fp)), float(np.float32(fm))) for h, k, l, fp, fm in arows]
    table = expand_p1(name, entries)
    img, _ = compare("C 1 2 1 MTZ F(+)/F(-)", ["-mtz", "c2.mtz", "-mtzcol", "F(+)"], table, GROUPS[name]["cell"])
    mean = expand_p1(name, [(h, k, l, fp, None) for h, k, l, fp, _ in entries])
    write_hkl(os.path.join(SCRATCH, "mean.hkl"), mean)
    _, _, b = image(["-hkl", "mean.hkl"] + cell_args(GROUPS[name]["cell"]), "mean.bin")
    check(b != img, "C 1 2 1: F+ alone (Friedel's law) gives another image than F+/F-")


def case_p65():
    name = "P 65"
    cell, sg, rows = model(name, seed=3)
    irows = [(h, k, l, F * F if (h + 2 * k + 3 * l) % 7 else -F * F) for h, k, l, F in rows]  # some I < 0
    write_mtz(os.path.join(SCRATCH, "p65.mtz"), cell, sg, irows, [("IMEAN", "J")])
    entries = [(h, k, l, math.sqrt(max(float(np.float32(i)), 0.0)), None) for h, k, l, i in irows]
    compare("P 65 MTZ intensities", ["-mtz", "p65.mtz", "-mtzcol", "IMEAN"], expand_p1(name, entries),
            GROUPS[name]["cell"])


def errors(cell, sg, rows):
    rc, out = run(["-mtz", "p212121.mtz", "-mtzcol", "FOO"] + GEOMETRY, 1)
    check(rc != 0 and "FOO" in out and "H K L FP" in out, "unknown column: refused, naming the labels")
    with open(os.path.join(SCRATCH, "p212121.mtz"), "rb") as f:
        data = f.read()
    with open(os.path.join(SCRATCH, "bad.mtz"), "wb") as f:
        f.write(data[: len(data) // 2])
    rc, out = run(["-mtz", "bad.mtz"] + GEOMETRY, 1)
    check(rc != 0 and "bad.mtz" in out, "corrupt MTZ: refused, naming the file")
    rc, out = run(["-mtz", "p212121.mtz", "-spacegroup", "Q 42"] + GEOMETRY, 1)
    check(rc != 0 and "Q 42" in out, "unknown space group: refused")
    rc, out = run(["-mtz", "p212121.mtz", "-spacegroup", "P 65"] + GEOMETRY, 1)
    check(rc != 0 and "does not fit the cell" in out, "a space group that does not fit the cell: refused")
    rc, out = run(["-mtz", "p212121.mtz", "-cell", "37", "41.25", "45.75", "90", "90", "90"] + GEOMETRY)
    check(rc == 0 and "is not p212121.mtz's" in out, "a cell other than the file's: a warning")
    short = [r for r in rows if cell.calculate_d(list(r[:3])) >= 3.0]
    write_mtz(os.path.join(SCRATCH, "short.mtz"), cell, sg, short, [("FP", "F")])
    rc, out = run(["-mtz", "short.mtz"] + GEOMETRY)
    check(rc == 0 and "missing from the structure factors" in out and "the list ends at 3" in out,
          "a list ending at 3 A: the completeness warning")


def case_bulk_solvent():
    """-model with and without -bulk_solvent: the solvent mask and its transform run (under the
    sanitizers in their build); both images have signal and differ; the log reports the mask."""
    rng = random.Random(7)
    st = gemmi.Structure()
    st.cell = gemmi.UnitCell(30, 32, 34, 90, 90, 90)
    st.spacegroup_hm = "P 21 21 21"
    m, ch = gemmi.Model("1"), gemmi.Chain("A")
    for i in range(20):
        r = gemmi.Residue()
        r.name, r.seqid = "UNK", gemmi.SeqId(i + 1, " ")
        a = gemmi.Atom()
        a.name, a.element = "C", gemmi.Element("C")
        a.pos = gemmi.Position(8 + rng.gauss(0, 2), 9 + rng.gauss(0, 2), 10 + rng.gauss(0, 2))
        a.b_iso, a.occ = 15.0, 1.0
        r.add_atom(a)
        ch.add_residue(r)
    m.add_chain(ch)
    st.add_model(m)
    st.make_mmcif_document().write_file(os.path.join(SCRATCH, "blob.cif"))
    rc1, out1, a = image(["-model", "blob.cif"], "nobulk.bin")
    rc2, out2, b = image(["-model", "blob.cif", "-bulk_solvent", "-ksol", "0.4", "-bsol", "40"], "bulk.bin")
    pa, pb = np.frombuffer(a, dtype=np.float32), np.frombuffer(b, dtype=np.float32)
    check(rc1 == 0 and rc2 == 0 and pa.max() > 0 and pb.max() > 0 and a != b
          and "k_sol 0.4 e/A^3, B_sol 40 A^2; solvent mask on a" in out2,
          "-model with -bulk_solvent: another image, the mask reported")
    rc, out = run(["-mtz", "p212121.mtz", "-bulk_solvent"] + GEOMETRY + ["-floatfile", "x.bin"], 1)
    check(rc != 0 and "bulk_solvent: it adds solvent" in out, "-bulk_solvent without -model: refused")


def main():
    shutil.rmtree(SCRATCH, ignore_errors=True)
    os.makedirs(SCRATCH)
    rc, out = run(["-mtz", "none.mtz", "-detpixels", "8", "-lambda", "1"], 1)
    if "has no gemmi" in out:
        print("SKIP: nanobragg was built without gemmi")
        return SKIP
    case_p212121()
    case_c2()
    case_p65()
    case_bulk_solvent()
    if failures:
        print(f"{len(failures)} check(s) failed")
        return 1
    shutil.rmtree(SCRATCH, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
