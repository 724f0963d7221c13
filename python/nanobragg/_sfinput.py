"""gemmi objects (python3-gemmi) as the arrays the library takes for structure factors.

``Experiment(mtz=gemmi.Mtz)``, ``refln=gemmi.ReflnBlock`` and ``structure=gemmi.Structure``
come here.  Reflections become the arguments of ``Config.set_reflections``
(nb_config_set_reflections: h, k, l, F, F_minus, intensities, cell, space group), chosen
by the column rules of the library's MTZ and mmCIF readers (src/sfio_gemmi.cpp: the same
default column, anomalous pairs X(+)/X(-) and pdbx_F_plus/pdbx_F_minus, intensity
columns); a model becomes the arguments of ``Config.set_atoms`` (nb_config_set_atoms:
its first model's atoms, in order).  What follows is the library's, as for the files: F
from intensities, missing values, the space group's expansion, a model's structure factors
(python/tests/test_sfinput.py compares the images with the program's from the same files,
bit for bit).  gemmi is imported only when one of these keywords is used.
"""
import re

import numpy as np

_INDEX = re.compile(r"[+-]?[0-9]+")


def _check(obj, name, what):
    try:
        import gemmi
    except ImportError:
        gemmi = None
    cls = getattr(gemmi, name, None)
    if cls is None or not isinstance(obj, cls):
        hint = "" if gemmi else " (python3-gemmi is not installed)"
        raise TypeError(f"{what}: expected a gemmi.{name}, got {type(obj).__name__}{hint}")


def _column_arg(column, what):
    if column is not None and not isinstance(column, str):
        raise TypeError(f"{what}: sf_column: expected a column label, got {type(column).__name__}")
    return column


def _partner(label):
    """The other label of an anomalous pair X(+)/X(-), X_plus/X_minus, or ''."""
    for a, b in (("(+)", "(-)"), ("(-)", "(+)"), ("_plus", "_minus"), ("_minus", "_plus")):
        if len(label) > len(a) and label.endswith(a):
            return label[:-len(a)] + b
    return ""


def _is_plus(label):
    return "(+)" in label or "_plus" in label


def _pair(label, other_exists):
    """(plus, minus) labels for a chosen label (minus None without a partner)."""
    mate = _partner(label)
    if not mate or not other_exists(mate):
        return label, None
    return (label, mate) if _is_plus(label) else (mate, label)


def _cell(cell):
    """A gemmi.UnitCell as six numbers, or None for gemmi's placeholder (no cell)."""
    if not cell.is_crystal():
        return None
    return (cell.a, cell.b, cell.c, cell.alpha, cell.beta, cell.gamma)


def _spacegroup(sg):
    return sg.xhm() if sg is not None else None


def mtz_arrays(mtz, column):
    """The arguments of Config.set_reflections for column (None: the first amplitude (F)
    column, else the first intensity (J) one) of a gemmi.Mtz."""
    _check(mtz, "Mtz", "mtz")
    column = _column_arg(column, "mtz")
    labels = [c.label for c in mtz.columns]
    if column is not None:
        col = mtz.column_with_label(column)
        if col is None:
            raise ValueError(f"mtz: no column labelled '{column}' (its columns: {' '.join(labels)})")
    else:
        col = next((c for t in "FJ" for c in mtz.columns if c.type == t), None)
        if col is None:
            raise ValueError(f"mtz: no amplitude (F) or intensity (J) column (its columns: {' '.join(labels)})")
    if col.type not in "FJGKR":
        raise ValueError(f"mtz: column '{col.label}' has type {col.type}, not an amplitude or intensity")
    mate = _partner(col.label)
    if mate and mtz.column_with_label(mate) is None:
        raise ValueError(f"mtz: column '{col.label}' is one of an anomalous pair but '{mate}' is missing "
                         f"(its columns: {' '.join(labels)})")
    plus, minus = _pair(col.label, lambda label: mtz.column_with_label(label) is not None)
    if len(mtz.columns) < 3 or any(mtz.columns[i].type != "H" for i in range(3)):
        raise ValueError("mtz: its first three columns are not H, K and L")
    data = np.asarray(mtz.array)
    if data.ndim != 2 or data.shape[0] == 0:
        raise ValueError("mtz: no reflections (its data were not read?)")
    h, k, l = (data[:, i].astype(np.float64) for i in range(3))
    F = data[:, mtz.column_with_label(plus).idx].astype(np.float64)
    Fm = data[:, mtz.column_with_label(minus).idx].astype(np.float64) if minus else None
    return h, k, l, F, Fm, col.type in "JK", _cell(mtz.get_cell()), _spacegroup(mtz.spacegroup)


def _is_intensity_label(label):
    return "intensity" in label or label.startswith("I_") or label.startswith("pdbx_I_")


def _indices(rb, axis):
    values = list(rb.block.find_values("_refln.index_" + axis))
    out = np.empty(len(values), dtype=np.float64)
    for i, v in enumerate(values):
        if not _INDEX.fullmatch(v) or abs(int(v)) > 1000000000:
            raise ValueError(f"refln: _refln row {i + 1}: index_{axis} '{v[:40]}' is not an integer within +-1e9")
        out[i] = int(v)
    return out


def refln_arrays(rb, column):
    """The arguments of Config.set_reflections for column of the _refln loop of a
    gemmi.ReflnBlock (a label after '_refln.'; None: the first of F_meas_au, F_meas,
    F_calc, intensity_meas, I_meas)."""
    _check(rb, "ReflnBlock", "refln")
    column = _column_arg(column, "refln")
    unmerged = rb.is_unmerged()
    rb.use_unmerged(False)  # the _refln loop, as the reader takes it
    try:
        try:
            labels = rb.column_labels()
        except RuntimeError:
            raise ValueError("refln: no _refln loop (not an mmCIF structure-factor block)") from None
        if column is not None:
            label = column if column in labels else None
        else:
            label = next((c for c in ("F_meas_au", "F_meas", "F_calc", "intensity_meas", "I_meas") if c in labels),
                         None)
        if label is None:
            wanted = (f"no _refln column '{column}'" if column is not None else
                      "no F_meas_au, F_meas, F_calc, intensity_meas or I_meas column")
            raise ValueError(f"refln: {wanted} (its _refln columns: {' '.join(labels)})")
        mate = _partner(label)
        if mate and mate not in labels:
            raise ValueError(f"refln: column '{label}' is one of an anomalous pair but '{mate}' is missing")
        plus, minus = _pair(label, lambda x: x in labels)
        for axis in "hkl":
            if "index_" + axis not in labels:
                raise ValueError(f"refln: no _refln.index_{axis}")
        h, k, l = (_indices(rb, axis) for axis in "hkl")
        F = np.asarray(rb.make_float_array(plus), dtype=np.float64)
        Fm = np.asarray(rb.make_float_array(minus), dtype=np.float64) if minus else None
    finally:
        rb.use_unmerged(unmerged)
    if len(F) == 0:
        raise ValueError("refln: the _refln loop has no rows")
    return h, k, l, F, Fm, _is_intensity_label(label), _cell(rb.cell), _spacegroup(rb.spacegroup)


def structure_arrays(st):
    """The arguments of Config.set_atoms for the first model of a gemmi.Structure."""
    _check(st, "Structure", "structure")
    if len(st) == 0:
        raise ValueError("structure: no model")
    elements, xyz, occ, b_iso, aniso = [], [], [], [], []
    for chain in st[0]:
        for res in chain:
            for atom in res:
                elements.append(atom.element.name)
                p, u = atom.pos, atom.aniso
                xyz.append((p.x, p.y, p.z))
                occ.append(atom.occ)
                b_iso.append(atom.b_iso)
                aniso.append((u.u11, u.u22, u.u33, u.u12, u.u13, u.u23))
    if not elements:
        raise ValueError("structure: no atoms in its first model")
    U = np.array(aniso, dtype=np.float64)
    return (elements, np.array(xyz, dtype=np.float64), np.array(occ, dtype=np.float64),
            np.array(b_iso, dtype=np.float64), U if U.any() else None, _cell(st.cell),
            _spacegroup(st.find_spacegroup()))
