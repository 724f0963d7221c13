"""Structure factors as crystallographers hold them, from Python: MTZ and mmCIF files, models,
asymmetric units as arrays with a space group, and gemmi objects (python3-gemmi), against the
program's images for the same files, bit for bit.

The test writes its own files with gemmi from random-atom models: an MTZ and an mmCIF
structure-factor file of each model's reciprocal asymmetric unit (P 21 21 21 amplitudes,
C 1 2 1 with an anomalous pair, P 65 intensities, some negative) and the model itself (mmCIF
and PDB).  For each, the program simulates an image (-mtz / -sfcif / -model, cell and space
group from the file), and the same image comes, bit for bit, from Experiment(mtz_path=...)
and from_flags, from the gemmi object (mtz=, refln=, structure=) and, for the MTZ's
amplitudes, from hkl=, F= and spacegroup=; the tables of F (sf_grid) agree too.  Errors name
the file or the column.  Skipped without gemmi (python3-gemmi) or in a library built without
it (gemmi-dev).
"""
import math
import re
import random
import subprocess

import numpy as np
import pytest

from conftest import PROGRAM, nanobragg, read_float

gemmi = pytest.importorskip("gemmi")

GEOMETRY = ["-lambda", "1", "-distance", "60", "-detpixels", "48", "-pixel", "1.1", "-N", "3", "-oversample", "1",
            "-phi", "0", "-osc", "4", "-phisteps", "2"]
DMIN = 1.75  # the files' resolution; the detector reaches about 1.8 A

GROUPS = {
    "P 21 21 21": (36.5, 41.25, 45.75, 90, 90, 90),
    "C 1 2 1": (60.5, 35.25, 40.75, 90, 104.5, 90),
    "P 65": (40.5, 40.5, 50.25, 90, 90, 120),
}


pytestmark = pytest.mark.filterwarnings("ignore::nanobragg.NanobraggWarning")


def _library_has_gemmi():
    cfg = nanobragg._nb.Config()
    try:
        cfg.set_reflections([1], [0], [0], [1.0], None, False, None, "P 1")
    except ValueError as e:
        if "gemmi" in str(e):
            return False
        raise
    return True


if not _library_has_gemmi():
    pytest.skip("the library was built without gemmi (gemmi-dev)", allow_module_level=True)


def random_model(sgname, natoms=12, seed=1):
    rng = random.Random(seed)
    st = gemmi.Structure()
    st.cell = gemmi.UnitCell(*GROUPS[sgname])
    st.spacegroup_hm = sgname
    model, chain = gemmi.Model("1"), gemmi.Chain("A")
    for i in range(natoms):
        res = gemmi.Residue()
        res.name, res.seqid = "HOH", gemmi.SeqId(i + 1, " ")
        atom = gemmi.Atom()
        el = ("C", "N", "O", "S", "Fe")[i % 5]
        atom.name, atom.element = el, gemmi.Element(el)
        atom.pos = st.cell.orthogonalize(gemmi.Fractional(rng.random(), rng.random(), rng.random()))
        atom.b_iso, atom.occ = 12.0 + i, 0.5 + 0.04 * i
        if i % 4 == 1:
            atom.aniso = gemmi.SMat33f(0.2, 0.25, 0.3, 0.01, 0.02, -0.03)
        res.add_atom(atom)
        chain.add_residue(res)
    model.add_chain(chain)
    st.add_model(model)
    st.setup_cell_images()
    return st


def asu_rows(st):
    """(h, k, l, |F|) of the reciprocal asymmetric unit to DMIN, absences left out."""
    sg = gemmi.SpaceGroup(st.spacegroup_hm)
    asu, ops = gemmi.ReciprocalAsu(sg), sg.operations()
    calc = gemmi.StructureFactorCalculatorX(st.cell)
    lim = [int(x / DMIN) + 1 for x in (st.cell.a, st.cell.b, st.cell.c)]
    rows = []
    for h in range(-lim[0], lim[0] + 1):
        for k in range(-lim[1], lim[1] + 1):
            for l in range(-lim[2], lim[2] + 1):
                hkl = [h, k, l]
                if hkl == [0, 0, 0] or not asu.is_in(hkl) or ops.is_systematically_absent(hkl) \
                        or st.cell.calculate_d(hkl) < DMIN:
                    continue
                rows.append((h, k, l, abs(calc.calculate_sf_from_model(st[0], hkl))))
    return rows


def write_mtz(path, st, columns, rows):
    mtz = gemmi.Mtz(with_base=True)
    mtz.spacegroup = gemmi.SpaceGroup(st.spacegroup_hm)
    mtz.set_cell_for_all(st.cell)
    mtz.add_dataset("sim")
    for label, kind in columns:
        mtz.add_column(label, kind)
    mtz.set_data(np.array(rows, dtype=np.float32))
    mtz.write_to_file(str(path))


def write_sfcif(path, st, labels, rows):
    doc = gemmi.cif.Document()
    b = doc.add_new_block("sim")
    c = st.cell
    for tag, v in zip(("length_a", "length_b", "length_c", "angle_alpha", "angle_beta", "angle_gamma"),
                      (c.a, c.b, c.c, c.alpha, c.beta, c.gamma)):
        b.set_pair("_cell." + tag, repr(v))
    b.set_pair("_symmetry.space_group_name_H-M", gemmi.cif.quote(st.spacegroup_hm))
    loop = b.init_loop("_refln.", ["index_h", "index_k", "index_l"] + labels)
    for r in rows:
        loop.add_row([str(int(x)) for x in r[:3]] + ["?" if math.isnan(v) else repr(float(v)) for v in r[3:]])
    doc.write_file(str(path))


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """The test's files: name -> path."""
    d = tmp_path_factory.mktemp("sfinput")
    out = {}
    st = random_model("P 21 21 21")
    rows = asu_rows(st)
    out["p212121.mtz"] = d / "p212121.mtz"
    write_mtz(out["p212121.mtz"], st, [("FP", "F"), ("SIGFP", "Q")], [r + (1.0,) for r in rows])
    out["p212121.cif"] = d / "p212121.cif"
    write_sfcif(out["p212121.cif"], st, ["F_meas_au", "intensity_meas"], [r + (r[3] ** 2,) for r in rows])
    out["model.cif"], out["model.pdb"] = d / "model.cif", d / "model.pdb"
    st.make_mmcif_document().write_file(str(out["model.cif"]))
    st.write_pdb(str(out["model.pdb"]))
    st = random_model("C 1 2 1", seed=2)
    rows = asu_rows(st)
    out["c2.mtz"] = d / "c2.mtz"
    write_mtz(out["c2.mtz"], st, [("F(+)", "G"), ("F(-)", "G")],
              [r + (r[3] * (0.9 if i % 3 else float("nan")),) for i, r in enumerate(rows)])
    out["c2.cif"] = d / "c2.cif"
    write_sfcif(out["c2.cif"], st, ["pdbx_F_plus", "pdbx_F_minus"],
                [r + (r[3] * (0.9 if i % 3 else float("nan")),) for i, r in enumerate(rows)])
    st = random_model("P 65", seed=3)
    rows = asu_rows(st)
    out["p65.mtz"] = d / "p65.mtz"
    write_mtz(out["p65.mtz"], st, [("IMEAN", "J")], [r[:3] + (r[3] ** 2 - (50.0 if i % 5 == 0 else 0.0),)
                                                      for i, r in enumerate(rows)])
    return out


def program_image(words, tmp_path):
    if not PROGRAM.exists():
        pytest.skip(f"{PROGRAM} is not built")
    out = tmp_path / "prog.bin"
    p = subprocess.run([str(PROGRAM)] + words + GEOMETRY + ["-floatfile", str(out), "-nonoise", "-nopgm"],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr[-2000:]
    return read_float(out, (48, 48))


def same_bits(a, b):
    return a.dtype == b.dtype == np.float32 and np.array_equal(a.view(np.uint32), b.view(np.uint32))


def params(words):
    """The Experiment keywords of GEOMETRY."""
    return dict(lambda_A=1.0, distance_mm=60.0, detpixels=48, pixel_mm=1.1, N=3, oversample=1, phi_deg=0.0,
                osc_deg=4.0, phisteps=2)


def check_image(expected, exp):
    image = exp.simulate()
    assert same_bits(image, expected)
    assert image.max() > 0


CASES = [  # file, flag, column, keyword of the gemmi object, how to read it
    ("p212121.mtz", "-mtz", None, "mtz"),
    ("p212121.cif", "-sfcif", None, "refln"),
    ("p212121.cif", "-sfcif", "intensity_meas", "refln"),
    ("c2.mtz", "-mtz", "F(-)", "mtz"),
    ("c2.cif", "-sfcif", "pdbx_F_plus", "refln"),
    ("p65.mtz", "-mtz", None, "mtz"),
    ("model.cif", "-model", None, "structure"),
    ("model.pdb", "-model", None, "structure"),
]


def gemmi_object(keyword, path):
    if keyword == "mtz":
        return gemmi.read_mtz_file(str(path))
    if keyword == "refln":
        return gemmi.as_refln_blocks(gemmi.cif.read(str(path)))[0]
    return gemmi.read_structure(str(path))


@pytest.mark.parametrize("name, flag, column, keyword", CASES)
def test_same_image_as_the_program(files, tmp_path, name, flag, column, keyword):
    path = files[name]
    words = [flag, str(path)] + (["-mtzcol", column] if column else [])
    expected = program_image(words, tmp_path)
    by_path = nanobragg.Experiment(**{{"-mtz": "mtz_path", "-sfcif": "sfcif_path", "-model": "model_path"}[flag]:
                                      str(path)}, sf_column=column, **params(GEOMETRY))
    check_image(expected, by_path)
    check_image(expected, nanobragg.Experiment.from_flags(words + GEOMETRY))
    extra = {"sf_column": column} if column else {}
    by_object = nanobragg.Experiment(**{keyword: gemmi_object(keyword, path)}, **extra, **params(GEOMETRY))
    check_image(expected, by_object)
    (o1, F1), (o2, F2) = by_path.sf_grid(), by_object.sf_grid()
    assert o1 == o2 and np.array_equal(F1, F2)
    assert by_object.info["cell_A"] == pytest.approx(list(by_path.info["cell_A"]))


def test_arrays_with_a_space_group(files, tmp_path):
    """hkl=, F=, spacegroup= (cell=) of the MTZ's asymmetric unit: the program's -mtz image."""
    mtz = gemmi.read_mtz_file(str(files["p212121.mtz"]))
    data = np.array(mtz.array)
    expected = program_image(["-mtz", str(files["p212121.mtz"])], tmp_path)
    c = mtz.cell
    exp = nanobragg.Experiment(hkl=data[:, :3].T, F=data[:, 3], spacegroup="P 21 21 21",
                               cell=(c.a, c.b, c.c, c.alpha, c.beta, c.gamma), **params(GEOMETRY))
    check_image(expected, exp)
    # the same list in P 1 (no expansion) gives another image
    p1 = nanobragg.Experiment(hkl=data[:, :3].T, F=data[:, 3], cell=(c.a, c.b, c.c, c.alpha, c.beta, c.gamma),
                              **params(GEOMETRY))
    assert not same_bits(p1.simulate(), expected)
    # an anomalous pair: F(-) at the Friedel mates
    a = nanobragg.Experiment(hkl=data[:, :3].T, F=data[:, 3], F_minus=0.5 * data[:, 3], spacegroup=19,
                             cell=(c.a, c.b, c.c, 90, 90, 90), **params(GEOMETRY))
    (h0, k0, l0), F = a.sf_grid()
    row = next(i for i in range(len(data)) if data[i, :3].all())  # acentric: h, k, l not 0
    h, k, l = (int(x) for x in data[row, :3])
    assert F[h - h0, k - k0, l - l0] == np.float64(data[row, 3])
    assert F[-h - h0, -k - k0, -l - l0] == 0.5 * np.float64(data[row, 3])


def test_with_params_changes_the_column(files):
    rb = gemmi.as_refln_blocks(gemmi.cif.read(str(files["p212121.cif"])))[0]
    a = nanobragg.Experiment(refln=rb, sf_column="F_meas_au", **params(GEOMETRY))
    b = a.with_params(sf_column="intensity_meas")
    c = nanobragg.Experiment(sfcif_path=str(files["p212121.cif"]), sf_column="intensity_meas", **params(GEOMETRY))
    assert np.array_equal(b.sf_grid()[1], c.sf_grid()[1])
    assert "intensities" in " ".join(b.log) and "intensities" not in " ".join(a.log)
    d = a.with_params(distance_mm=70.0)  # the table is reused
    assert np.array_equal(a.sf_grid()[1], d.sf_grid()[1])


def test_errors_name_the_file_or_column(files, tmp_path):
    kw = params(GEOMETRY)
    with pytest.raises(ValueError, match=r"mtz_path: .*p212121\.mtz: no column labelled 'XX' \(its columns: "
                                         r"H K L FP SIGFP\)"):
        nanobragg.Experiment(mtz_path=str(files["p212121.mtz"]), sf_column="XX", **kw)
    with pytest.raises(ValueError, match=r"mtz: no column labelled 'XX' \(its columns: H K L FP SIGFP\)"):
        nanobragg.Experiment(mtz=gemmi.read_mtz_file(str(files["p212121.mtz"])), sf_column="XX", **kw)
    with pytest.raises(ValueError, match=r"mtz: column 'SIGFP' has type Q"):
        nanobragg.Experiment(mtz=gemmi.read_mtz_file(str(files["p212121.mtz"])), sf_column="SIGFP", **kw)
    rb = gemmi.as_refln_blocks(gemmi.cif.read(str(files["p212121.cif"])))[0]
    with pytest.raises(ValueError, match=r"refln: no _refln column 'F_calc' \(its _refln columns: index_h"):
        nanobragg.Experiment(refln=rb, sf_column="F_calc", **kw)
    with pytest.raises(ValueError, match=r"sfcif_path: .*p212121\.cif: no _refln column 'F_calc'"):
        nanobragg.Experiment(sfcif_path=str(files["p212121.cif"]), sf_column="F_calc", **kw)
    with pytest.raises(OSError, match="none.mtz"):
        nanobragg.Experiment(mtz_path=str(tmp_path / "none.mtz"), **kw)
    corrupt = tmp_path / "corrupt.mtz"
    corrupt.write_bytes(files["p212121.mtz"].read_bytes()[:300])
    with pytest.raises(ValueError, match="corrupt.mtz"):
        nanobragg.Experiment(mtz_path=str(corrupt), **kw)
    with pytest.raises(ValueError, match=r"spacegroup 'P 65' does not fit the cell"):
        nanobragg.Experiment(mtz=gemmi.read_mtz_file(str(files["p212121.mtz"])), spacegroup="P 65", **kw)
    with pytest.raises(TypeError, match=r"mtz: expected a gemmi.Mtz, got str"):
        nanobragg.Experiment(mtz=str(files["p212121.mtz"]), **kw)
    with pytest.raises(ValueError, match="give one source of structure factors"):
        nanobragg.Experiment(mtz=gemmi.read_mtz_file(str(files["p212121.mtz"])),
                             structure=gemmi.read_structure(str(files["model.pdb"])), **kw)
    st = gemmi.read_structure(str(files["model.pdb"]))
    st[0][0][0][0].element = gemmi.Element("X")
    with pytest.raises(ValueError, match=r"atoms: atom 0: element 'X'"):
        nanobragg.Experiment(structure=st, **kw)
    with pytest.raises(ValueError, match="missing_F: not with spacegroup"):
        nanobragg.Experiment(hkl=([1], [2], [3]), F=[1.0], missing_F=1.0, spacegroup="P 1", cell=(50,) * 3 + (90,) * 3,
                             **kw)
    with pytest.raises(ValueError, match="F_minus: only with spacegroup"):
        nanobragg.Experiment(hkl=([1], [2], [3]), F=[1.0], F_minus=[1.0], cell=(50,) * 3 + (90,) * 3, **kw)


def blob_model():
    """A 'protein': 40 atoms in a blob near one corner of a P 21 21 21 cell, the rest solvent."""
    rng = random.Random(5)
    st = gemmi.Structure()
    st.cell = gemmi.UnitCell(30, 32, 34, 90, 90, 90)
    st.spacegroup_hm = "P 21 21 21"
    model, chain = gemmi.Model("1"), gemmi.Chain("A")
    for i in range(40):
        res = gemmi.Residue()
        res.name, res.seqid = "UNK", gemmi.SeqId(i + 1, " ")
        atom = gemmi.Atom()
        el = ("C", "N", "O", "S")[i % 4]
        atom.name, atom.element = el, gemmi.Element(el)
        atom.pos = gemmi.Position(8 + rng.gauss(0, 2.5), 9 + rng.gauss(0, 2.5), 10 + rng.gauss(0, 2.5))
        atom.b_iso, atom.occ = 15.0, 1.0
        res.add_atom(atom)
        chain.add_residue(res)
    model.add_chain(chain)
    st.add_model(model)
    st.setup_cell_images()
    return st


def test_bulk_solvent(tmp_path):
    """|F_model + k_sol exp(-B_sol s^2/4) F_mask| against the same sum made here: F_model by gemmi's
    direct summation, F_mask as gemmi's mask (cctbx radii) on the grid the library reports,
    transformed here; F(000) gains k_sol times the solvent volume; doubling k_sol doubles that;
    solvent lowers the low-resolution amplitudes; the program's -bulk_solvent image is Python's."""
    st = blob_model()
    kw = dict(lambda_A=1.0, distance_mm=60.0, detpixels=32, pixel_mm=1.6, N=2)
    none = nanobragg.Experiment(structure=st, **kw)
    bulk = nanobragg.Experiment(structure=st, bulk_solvent=True, **kw)
    double = nanobragg.Experiment(structure=st, bulk_solvent=True, ksol_e_A3=0.7, bsol_A2=46.0, **kw)
    line = next(x for x in bulk.log if x.startswith("bulk solvent:"))
    nu, nv, nw = (int(x) for x in re.search(r"on a (\d+) x (\d+) x (\d+) grid", line).groups())
    fraction = float(re.search(r"grid, ([0-9.]+) of the cell", line).group(1))
    assert 0.7 < fraction < 0.98
    grid = gemmi.FloatGrid()
    grid.spacegroup = gemmi.SpaceGroup("P 21 21 21")
    grid.set_unit_cell(st.cell)
    grid.set_size(nu, nv, nw)
    gemmi.SolventMasker(gemmi.AtomicRadiiSet.Cctbx).put_mask_on_float_grid(grid, st[0])
    assert grid.array.mean() == pytest.approx(fraction, abs=1e-4)
    fmask = gemmi.transform_map_to_f_phi(grid)
    calc = gemmi.StructureFactorCalculatorX(st.cell)
    (o, F), (o0, F0), (o2, F2) = bulk.sf_grid(), none.sf_grid(), double.sf_grid()
    assert o == o0 == o2
    for hkl in [(1, 2, 3), (2, 0, 1), (0, 1, 1), (3, 4, 5), (5, 1, 2), (1, 1, 0), (7, 3, 9), (0, 0, 2)]:
        fc = calc.calculate_sf_from_model(st[0], list(hkl))
        s2 = st.cell.calculate_1_d2(list(hkl))
        want = abs(fc + 0.35 * math.exp(-46.0 * s2 / 4) * fmask.get_value(*hkl))
        got = F[hkl[0] - o[0], hkl[1] - o[1], hkl[2] - o[2]]
        assert got == pytest.approx(want, rel=1e-9), hkl
        assert F0[hkl[0] - o[0], hkl[1] - o[1], hkl[2] - o[2]] == pytest.approx(abs(fc), rel=1e-12)
    origin = tuple(-x for x in o)
    solvent_volume = fraction * st.cell.volume
    assert F[origin] - F0[origin] == pytest.approx(0.35 * solvent_volume, rel=1e-3)
    assert F2[origin] - F0[origin] == pytest.approx(2 * (F[origin] - F0[origin]), rel=1e-6)
    h, k, l = np.meshgrid(*(np.arange(F.shape[i]) + o[i] for i in range(3)), indexing="ij")
    inv_d2 = (h / 30.0) ** 2 + (k / 32.0) ** 2 + (l / 34.0) ** 2
    low = (inv_d2 > 0) & (inv_d2 < 1 / 12.0 ** 2)
    assert (F[low] ** 2).sum() < 0.6 * (F0[low] ** 2).sum()  # solvent flattens the low resolution
    high = (inv_d2 > 1 / 2.2 ** 2) & (F0 > 20)
    assert np.abs(F[high] / F0[high] - 1).max() < 0.05
    # the program, from the model written as mmCIF, and Python from the same file
    path = tmp_path / "blob.cif"
    st.make_mmcif_document().write_file(str(path))
    words = ["-model", str(path), "-bulk_solvent", "-ksol", "0.35", "-bsol", "46"]
    expected = program_image(words, tmp_path)
    check_image(expected, nanobragg.Experiment(model_path=str(path), bulk_solvent=True, **params(GEOMETRY)))
    check_image(expected, nanobragg.Experiment(structure=gemmi.read_structure(str(path)), bulk_solvent=True,
                                               **params(GEOMETRY)))
    with pytest.raises(ValueError, match="bulk_solvent: it adds solvent to the structure factors of model_path"):
        nanobragg.Experiment(hkl=([1], [2], [3]), F=[1.0], spacegroup="P 1", cell=(50,) * 3 + (90,) * 3,
                             bulk_solvent=True, **kw)
