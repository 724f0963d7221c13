"""nanobragg: diffraction images of small crystals (libnanobragg) from Python.

    import nanobragg
    exp = nanobragg.Experiment(cell=(79, 79, 38, 90, 90, 90), N=10, default_F=100,
                               lambda_A=1.0, distance_mm=100, detpixels=256)
    image = exp.simulate()            # float32 photons/pixel, shape (spixels, fpixels)
    nanobragg.write_float("float.bin", image)

Every parameter of the library (see ``nanobragg.PARAMS`` or ``nanobragg -- params``) is a
keyword of :class:`Experiment`, with its unit in its name.  Analytic derivatives of the image
(``exp.jacobian``, ``exp.loss_gradient``) and refinement against an observed image
(``nanobragg.refine``) work on the parameters ``deriv_params()`` names.  python/README.md
describes the API.
"""

import difflib
import shlex
import time
import warnings

import numpy as np

from . import _nanobragg as _nb
from ._nanobragg import CancelledError

__all__ = ["Experiment", "CancelledError", "NanobraggWarning", "PARAMS", "add_noise", "to_counts", "to_pgm",
           "write_float", "write_smv", "write_pgm", "version", "deriv_params", "LossGradient", "refine",
           "RefineResult"]

class NanobraggWarning(UserWarning):
    """A warning the library gave while setting up an experiment (the lines of one WARNING)."""


#: The library's parameter table: name -> dict(kind, count, min_count, units, min, max,
#: choices, default, help, interacts).
PARAMS = {p["name"]: p for p in _nb.params()}

# Keywords of Experiment beyond the library's parameters: data given as arrays.
_DATA_KEYWORDS = ("hkl", "F", "F_minus", "F_grid", "hkl_origin", "missing_F", "mtz", "refln", "structure",
                  "sources_xyz", "sources_weight", "sources_lambda_A", "mask")
# gemmi objects taken as structure factors (as the files mtz_path, sfcif_path, model_path)
_SF_OBJECTS = ("mtz", "refln", "structure")
# keywords that give new structure factors (with_params then does not reuse the table)
_SF_KEYWORDS = ("hkl", "F", "F_minus", "F_grid", "hkl_path", "mtz_path", "sfcif_path", "model_path", "spacegroup",
                "sf_column") + _SF_OBJECTS

# The differentiable parameters (nb_deriv_param_name), and those of them that are not in the
# table: the elements of the cell (set with the library's nb_deriv_param_set).
_DERIV = tuple(_nb.deriv_params())
_CELL_ELEMENTS = tuple(n for n in _DERIV if n not in PARAMS)
_LOSSES = {"lsq": 0, "poisson": 1}
_METHODS = {"lm": 0, "lbfgs": 1}


def version():
    """The library's version, e.g. '0.2.0'."""
    return _nb.version()


def deriv_params():
    """The names of the parameters the derivatives and refinement work on (a new list):
    Na, Nb, Nc, distance_mm, Xbeam_mm, cell_a_A, crystal_rotx_deg, fluence, lambda_A, ..."""
    return list(_DERIV)


def _unknown(name):
    near = difflib.get_close_matches(name, list(PARAMS) + list(_DATA_KEYWORDS) + list(_CELL_ELEMENTS), n=1)
    hint = f" (did you mean {near[0]}?)" if near else ""
    return ValueError(f"unknown parameter '{name}'{hint}")


def _deriv_names(params, what="params"):
    """params (a name or a sequence of names) as a list of differentiable parameter names."""
    if isinstance(params, str):
        params = [params]
    if isinstance(params, (bytes, dict)) or not hasattr(params, "__iter__"):
        raise TypeError(f"{what}: expected a list of parameter names, got {type(params).__name__}")
    names = list(params)
    for name in names:
        if not isinstance(name, str):
            raise TypeError(f"{what}: expected parameter names (strings), got {type(name).__name__}")
        if name not in _DERIV:
            near = difflib.get_close_matches(name, _DERIV, n=1)
            hint = f" (did you mean {near[0]}?)" if near else ""
            raise ValueError(f"'{name}' is not a differentiable parameter{hint}; nanobragg.deriv_params() "
                             "lists them")
    return names


def _apply(cfg, params, default_F):
    """Set params (a dict) on the _nanobragg.Config cfg."""
    for name in params:
        if name not in PARAMS and name not in _DATA_KEYWORDS and name not in _CELL_ELEMENTS:
            raise _unknown(name)
    objects = [name for name in _SF_OBJECTS if params.get(name) is not None]
    if len(objects) > 1 or (objects and any(k in params for k in ("hkl", "F", "F_minus", "F_grid"))):
        raise ValueError(f"{', '.join(objects + [k for k in ('hkl', 'F', 'F_grid') if k in params])}: "
                         "give one source of structure factors")
    for name, value in params.items():
        if name == "spacegroup" and isinstance(value, (int, np.integer)) and not isinstance(value, bool):
            value = str(int(value))  # a space group's number
        if name in PARAMS and not (name == "sf_column" and objects and objects[0] != "structure"):
            cfg.set(name, value)
    for name, value in params.items():     # one element of the cell (after the cell itself)
        if name in _CELL_ELEMENTS:
            cfg.deriv_set(name, value)
    if objects:
        from . import _sfinput
        obj = params[objects[0]]
        if objects[0] == "mtz":
            cfg.set_reflections(*_sfinput.mtz_arrays(obj, params.get("sf_column")))
        elif objects[0] == "refln":
            cfg.set_reflections(*_sfinput.refln_arrays(obj, params.get("sf_column")))
        else:
            cfg.set_atoms(*_sfinput.structure_arrays(obj))
    elif "hkl" in params or "F" in params:
        if "hkl" not in params or "F" not in params:
            raise ValueError("hkl and F: give both (hkl=(h, k, l) and F=values)")
        hkl = params["hkl"]
        if isinstance(hkl, np.ndarray) and hkl.ndim == 2 and hkl.shape[1] == 3 and hkl.shape[0] != 3:
            hkl = hkl.T
        try:
            h, k, l = hkl
        except (TypeError, ValueError):
            raise ValueError("hkl: expected (h, k, l): three arrays of Miller indices") from None
        if cfg.is_set("spacegroup"):
            # an asymmetric unit: expanded by the library as a file's (missing: default_F)
            if params.get("missing_F") is not None:
                raise ValueError("missing_F: not with spacegroup (reflections the list lacks take default_F)")
            cfg.set_reflections(h, k, l, params["F"], params.get("F_minus"), False, None, None)
        else:
            if params.get("F_minus") is not None:
                raise ValueError("F_minus: only with spacegroup (the other of each anomalous pair of an "
                                 "asymmetric unit)")
            missing = params.get("missing_F")
            if missing is None:
                missing = default_F
            cfg.set_sf_list(h, k, l, params["F"], _real(missing, "missing_F"))
    elif "F_minus" in params:
        raise ValueError("F_minus: only with hkl and F")
    elif "F_grid" in params:
        cfg.set_sf_grid(params.get("hkl_origin", (0, 0, 0)), params["F_grid"])
    elif "hkl_origin" in params:
        raise ValueError("hkl_origin: only with F_grid")
    if "sources_xyz" in params:
        cfg.set_sources(params["sources_xyz"], params.get("sources_weight"), params.get("sources_lambda_A"))
    elif "sources_weight" in params or "sources_lambda_A" in params:
        raise ValueError("sources_weight, sources_lambda_A: only with sources_xyz")
    if "mask" in params:
        mask = params["mask"]
        if mask is not None:
            mask = np.asarray(mask)
            if mask.dtype.kind not in "biuf":
                raise TypeError(f"mask: expected numbers or booleans, got {mask.dtype}")
            if mask.dtype != np.uint16:
                mask = (mask != 0).astype(np.uint16)
        cfg.set_mask(mask)


def _warn(lines):
    """One NanobraggWarning per WARNING of the library (with its continuation lines)."""
    groups = []
    for line in lines:
        if line.lstrip().startswith("WARNING") or not groups:
            groups.append([line])
        else:
            groups[-1].append(line)
    for group in groups:
        text = " ".join(" ".join(group).split())
        warnings.warn(text[len("WARNING: "):] if text.startswith("WARNING: ") else text, NanobraggWarning,
                      stacklevel=4)


def _real(value, what):
    if isinstance(value, (str, bytes)) or value is None:
        raise TypeError(f"{what}: expected a number, got {type(value).__name__}")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{what}: expected a number, got {type(value).__name__}") from None


def _index(value, what):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{what}: expected an integer, got {type(value).__name__}")
    return int(value)


class Experiment:
    """A simulated experiment: crystal, beam and detector, resolved once.

    Experiment(**params): every parameter of the library by name (units in the names:
    cell=(a, b, c, alpha, beta, gamma), N=10, lambda_A=1.0, distance_mm=100,
    detpixels=1024, mosaic_spread_deg=0.2, convention='xds', ...), plus data as arrays:

    - structure factors: ``hkl=(h, k, l), F=values`` (``missing_F``: F of the other grid
      points, default default_F), or ``F_grid=`` (3-D, l fastest) with
      ``hkl_origin=(h0, k0, l0)``, or the file ``hkl_path=``;
    - structure factors as crystallographers hold them, expanded by their space group to
      every reflection the detector reaches (as the program's -mtz, -sfcif, -model): the
      files ``mtz_path=``, ``sfcif_path=`` (with ``sf_column=``), ``model_path=``; an
      asymmetric unit as arrays, ``hkl=, F=`` with ``spacegroup=`` (``F_minus=``: F(-) of
      anomalous pairs); or gemmi objects (python3-gemmi): ``mtz=gemmi.Mtz``,
      ``refln=gemmi.ReflnBlock`` (with ``sf_column=``), ``structure=gemmi.Structure``.
      The cell and space group come with them unless ``cell=`` and ``spacegroup=`` say
      otherwise (``sf_grid()`` shows the table made);
    - orientation: ``umatrix=`` (3x3), ``mosflm_matrix=`` (3x3 as a .mat file holds it),
      ``misset_deg=``;
    - sources: ``sources_xyz=`` (n, 3), ``sources_weight=`` (n), ``sources_lambda_A=`` (n);
    - ``mask=``: a (spixels, fpixels) array, 0 (False) skips the pixel;
    - one element of the cell: ``cell_a_A=``, ``cell_b_A=``, ``cell_c_A=``,
      ``cell_alpha_deg=``, ``cell_beta_deg=``, ``cell_gamma_deg=`` (after ``cell=``).

    Invalid values raise ValueError (or TypeError for the wrong type) naming the parameter;
    files that cannot be read raise OSError.
    """

    def __init__(self, **params):
        cfg = _nb.Config()
        default_F = params.get("default_F", 0.0)
        _apply(cfg, params, default_F)
        self._setup(cfg, dict(params), None)

    def _setup(self, cfg, params, flags, warn=True):
        self._cfg = cfg
        self._exp = _nb.Experiment(cfg)
        if warn:
            _warn(self._exp.warnings)
        self._params = params
        self._flags = flags
        self._info = self._exp.info()
        self._by_threads = {}
        self.stats = None

    @classmethod
    def from_flags(cls, flags):
        """An experiment from nanoBragg's command line (a string or a list of words).

        Every flag of the nanobragg program is accepted, with its aliases; the program's own
        options (-floatfile, -intfile, -noisefile, -pgmfile, -scale, -pgmscale, -adc, -seed,
        ...) are kept in ``exp.flags``.  Unlike the program, no Fdump.bin cache is read or
        written.  A bad flag raises ValueError with the program's message.
        """
        words = shlex.split(flags) if isinstance(flags, str) else list(flags)
        if words and words[0].endswith(("nanobragg", "nanoBragg")):
            words = words[1:]
        cfg, options = _nb.parse_flags(words)
        self = cls.__new__(cls)
        self._setup(cfg, {}, options)
        self._words = words
        return self

    # -- what it is
    @property
    def info(self):
        """What set-up derived (a new dict): fpixels, spixels, pixel_mm, distance_mm, beam
        centres, lambda_A, sources, mosaic_domains, phisteps, oversample, steps,
        samples_per_pixel, ..."""
        return dict(self._info)

    def sf_grid(self):
        """The structure factors this experiment uses, as a dense grid: ``(hkl_origin, F_grid)``
        with F_grid[h - h0, k - k0, l - l0] (a new float64 array; what ``F_grid=`` and
        ``hkl_origin=`` take), or None when it has none (default_F only).  For files and
        gemmi objects expanded by their space group: every reflection made, systematic
        absences 0, reflections the list lacks default_F."""
        return self._exp.sf_grid()

    @property
    def params(self):
        """The keywords this experiment was made with (with_params: with the changes)."""
        return dict(self._params)

    @property
    def flags(self):
        """from_flags: the program's options (output files, scale, adc, seed, ...); else None."""
        return None if self._flags is None else dict(self._flags)

    @property
    def log(self):
        """The lines the library logged while setting up (e.g. files read)."""
        return self._exp.log

    @property
    def shape(self):
        """(spixels, fpixels): the shape of simulate()'s image."""
        return (self._info["spixels"], self._info["fpixels"])

    def get(self, name):
        """The value of parameter name as configured (set or default; None when derived:
        see info, or value() for a differentiable parameter, for the value used).  The
        elements of the cell (cell_a_A, ..., cell_gamma_deg) are parameters here too."""
        if name in _CELL_ELEMENTS:
            return self._exp.value(name)
        if name not in PARAMS:
            raise _unknown(name)
        return self._cfg.get(name)

    def value(self, name):
        """The value of a differentiable parameter (deriv_params()) as the experiment uses
        it, derived ones included (Xbeam_mm, ORGX, distance_mm, fluence from flux, ...)."""
        if not isinstance(name, str):
            raise TypeError(f"name: expected a parameter name, got {type(name).__name__}")
        return self._exp.value(_deriv_names(name, "name")[0])

    def __repr__(self):
        s, f = self.shape
        return f"<nanobragg.Experiment {f}x{s} pixels, lambda {self._info['lambda_A']:g} A>"

    # -- changed copies
    def with_params(self, **changes):
        """A new experiment with these parameters changed, sharing the structure factors
        (not read again) unless the changes give new ones."""
        cfg = self._cfg.copy()
        new_sf = any(k in changes for k in _SF_KEYWORDS)
        if new_sf and all(k in ("spacegroup", "sf_column") for k in changes if k in _SF_KEYWORDS):
            # a new column or space group of the arrays or gemmi object given before
            changes = dict(changes)
            for k in _SF_OBJECTS + ("hkl", "F", "F_minus", "missing_F"):
                if self._params.get(k) is not None:
                    changes[k] = self._params[k]
        if not new_sf:
            cfg.use_sf_of(self._exp)
        default_F = changes.get("default_F", cfg.get("default_F"))
        _apply(cfg, changes, default_F)
        other = Experiment.__new__(Experiment)
        params = dict(self._params)
        params.update(changes)
        other._setup(cfg, params, self._flags)
        return other

    def _for_threads(self, threads):
        if threads is None:
            return self._exp
        threads = _index(threads, "threads")
        exp = self._by_threads.get(threads)
        if exp is None:
            cfg = self._cfg.copy()
            cfg.use_sf_of(self._exp)
            cfg.set("threads", threads)
            exp = self._by_threads[threads] = _nb.Experiment(cfg)
        return exp

    # -- rendering
    def simulate(self, region=None, pixels=None, out=None, threads=None, progress=None):
        """Render the image (photons/pixel, float32).

        - no region or pixels: the whole detector, shape (spixels, fpixels); nanoBragg's
          statistics of it are kept in ``exp.stats`` (max_I, mean, rms, rmsd, ...);
        - region=(f0, s0, width, height): that rectangle, shape (height, width);
        - pixels: flat indices s * fpixels + f (any shape, repeats allowed), or a pair
          (s, f) of index arrays: an array of their values, of the indices' shape.

        Values are those of the whole image, bit for bit, at any thread count.  out: a
        C-contiguous float32 array of the right shape, written in place and returned.
        threads: the library's threads parameter (0: OpenMP's default).  progress: called
        with the fraction done (0 to 1); returning True, or raising, cancels the render
        (CancelledError, or the exception raised).  Ctrl-C cancels too (KeyboardInterrupt).
        The GIL is released while rendering.
        """
        if region is not None and pixels is not None:
            raise ValueError("simulate: give region or pixels, not both")
        exp = self._for_threads(threads)
        if pixels is not None:
            return self._pixels(exp, pixels, out, progress)
        if region is not None:
            f0, s0, w, h = self._region(region)
            out = self._out(out, (h, w))
            exp.render_region(out, f0, s0, w, h, progress)
            return out
        out = self._out(out, self.shape)
        self.stats = exp.simulate(out, progress)
        return out

    def _region(self, region):
        """(f0, s0, width, height), checked to lie inside the detector."""
        try:
            f0, s0, w, h = (_index(v, "region") for v in region)
        except (TypeError, ValueError) as e:
            if isinstance(e, TypeError) and "region" in str(e):
                raise
            raise ValueError("region: expected (f0, s0, width, height)") from None
        S, F = self.shape
        if not (0 <= f0 < F and 0 <= s0 < S and 1 <= w <= F - f0 and 1 <= h <= S - s0):
            raise ValueError(f"region: ({f0}, {s0}, {w}, {h}) is not a rectangle (f0, s0, width, height) "
                             f"inside the {F} x {S} detector")
        return f0, s0, w, h

    def _pixels(self, exp, pixels, out, progress):
        index = self._pixel_index(pixels)
        out = self._out(out, index.shape)
        exp.render_pixels(out.reshape(-1), index.reshape(-1), progress)
        return out

    def _pixel_index(self, pixels):
        """pixels (flat indices or a pair (s, f) of index arrays) as int64 flat indices."""
        if isinstance(pixels, tuple) and len(pixels) == 2:
            s, f = (np.asarray(p) for p in pixels)
            if s.shape != f.shape:
                raise ValueError("pixels: the s and f index arrays differ in shape")
            for name, a, n in (("s", s, self.shape[0]), ("f", f, self.shape[1])):
                if a.size and (a.dtype.kind not in "iu" or a.min() < 0 or a.max() >= n):
                    raise ValueError(f"pixels: {name} indices must be integers from 0 to {n - 1}")
            index = s.astype(np.int64) * self.shape[1] + f.astype(np.int64)
        else:
            index = np.asarray(pixels)
            if index.dtype.kind not in "iu":
                if index.size or index.dtype.kind not in "f":
                    raise TypeError(f"pixels: expected integer indices, got {index.dtype}")
                index = index.astype(np.int64)
        return np.ascontiguousarray(index, dtype=np.int64)

    @staticmethod
    def _out(out, shape):
        if out is None:
            return np.empty(shape, dtype=np.float32)
        if not isinstance(out, np.ndarray) or out.dtype != np.float32 or out.shape != tuple(shape) \
                or not out.flags.c_contiguous or not out.flags.writeable:
            raise ValueError(f"out: expected a writeable C-contiguous float32 array of shape {tuple(shape)}")
        return out

    # -- derivatives
    def jacobian(self, params, region=None, pixels=None, threads=None, progress=None):
        """The image in double precision and its analytic derivatives with respect to params
        (names from deriv_params(); a single name is a list of one).  Returns (image, J):

        - no region or pixels: image (spixels, fpixels) and J (nparams, spixels, fpixels);
        - region=(f0, s0, width, height): image (height, width), J (nparams, height, width);
        - pixels (as simulate's: flat indices of any shape, or a pair (s, f)): image of the
          indices' shape, J (nparams,) + that shape.

        J[p] is d(image)/d(params[p]) per unit of that parameter (per degree, per mm, ...).
        The image is simulate()'s before its rounding to float32.  Pixels outside the ROI or
        masked are 0.  threads and progress as simulate's; the GIL is released.
        """
        names = _deriv_names(params)
        if region is not None and pixels is not None:
            raise ValueError("jacobian: give region or pixels, not both")
        exp = self._for_threads(threads)
        if pixels is not None:
            index = self._pixel_index(pixels)
            shape = index.shape
            index = index.reshape(-1)
        elif region is not None:
            f0, s0, w, h = self._region(region)
            shape = (h, w)
            index = ((np.arange(s0, s0 + h, dtype=np.int64) * self.shape[1])[:, None]
                     + np.arange(f0, f0 + w, dtype=np.int64)).reshape(-1)
        else:
            shape, index = self.shape, None
        image, J = exp.jacobian(names, index, progress)
        return image.reshape(shape), J.reshape((len(names),) + tuple(shape))

    def loss_gradient(self, observed, params=(), loss="lsq", weights=None, mask=None, F_grad=False, model=False,
                      threads=None, progress=None):
        """The loss between this experiment's image (the model m) and an observed image o,
        and its gradient with respect to params (deriv_params()), in one pass over the
        pixels (no Jacobian is stored).  Returns a LossGradient.

        observed: (spixels, fpixels) photons, any real dtype (used as float32).  loss:
        "lsq", sum w (m - o)^2 with weights w (default 1), or "poisson", sum m - o ln m (the
        negative log-likelihood up to a constant; a pixel where photons are seen needs
        m > 0).  mask: (spixels, fpixels), non-zero (True) where the pixel counts; pixels
        outside the ROI or the experiment's own mask never count.  F_grad: also the
        gradient with respect to every structure factor of the table (the experiment needs
        one: hkl and F, F_grid or hkl_path).  model: also the model image (double).
        """
        names = _deriv_names(params)
        obs, w, m, kind = _observation(self, observed, weights, mask, loss)
        exp = self._for_threads(threads)
        value, grad, Fg, origin, image = exp.loss_gradient(names, obs, w, m, kind, bool(F_grad), bool(model),
                                                           progress)
        return LossGradient(value, dict(zip(names, grad.tolist())), Fg, origin, image)



class LossGradient:
    """What Experiment.loss_gradient gives: ``loss``; ``grad`` (dict: parameter name ->
    d loss / d parameter); ``F_grad`` (d loss / d F on the structure factor grid, indexed
    [h - h0, k - k0, l - l0], with ``hkl_origin`` = (h0, k0, l0)) or None; ``model`` (the
    model image, double) or None."""

    __slots__ = ("loss", "grad", "F_grad", "hkl_origin", "model")

    def __init__(self, loss, grad, F_grad=None, hkl_origin=None, model=None):
        self.loss = loss
        self.grad = grad
        self.F_grad = F_grad
        self.hkl_origin = hkl_origin
        self.model = model

    def __repr__(self):
        grad = ", ".join(f"{k}: {v:.6g}" for k, v in self.grad.items())
        return f"<nanobragg.LossGradient loss {self.loss:.10g}, grad {{{grad}}}>"


def _observation(exp, observed, weights, mask, loss):
    """The observed image, weights and mask as the C layer takes them, and the loss's code."""
    if not isinstance(loss, str) or loss not in _LOSSES:
        raise ValueError(f"loss: expected 'lsq' or 'poisson', got {loss!r}")

    def image(value, what, kinds):
        a = np.asarray(value)
        if a.dtype.kind not in kinds:
            raise TypeError(f"{what}: expected real numbers, got {a.dtype}")
        if a.shape != exp.shape:
            raise ValueError(f"{what}: shape {a.shape} is not the detector's {exp.shape} (spixels, fpixels)")
        return a
    obs = image(observed, "observed", "iuf")
    with np.errstate(over="ignore", invalid="ignore"):    # beyond float32: inf, which the library refuses
        obs = np.ascontiguousarray(obs, dtype=np.float32)
        if weights is not None:
            if loss != "lsq":
                raise ValueError("weights: only with loss='lsq'")
            weights = np.ascontiguousarray(image(weights, "weights", "iuf"), dtype=np.float32)
    if mask is not None:
        mask = np.ascontiguousarray(image(mask, "mask", "biuf") != 0, dtype=np.uint8)
    return obs, weights, mask, _LOSSES[loss]


class RefineResult:
    """What refine gives: ``experiment`` (a new Experiment with the refined values),
    ``values`` and ``std_errors`` (dicts: parameter name -> value, in its unit; a standard
    error is NaN where the data do not determine the parameter), ``start`` (the starting
    values), ``loss`` (at the end), ``loss_history`` (at the start and after each accepted
    step), ``iterations`` (accepted steps), ``converged`` (stopped by the tolerance),
    ``stop`` (why it stopped, in words), ``log`` (a line per accepted step)."""

    __slots__ = ("experiment", "values", "std_errors", "start", "loss", "loss_history", "iterations", "converged",
                 "stop", "log")

    def __init__(self, **fields):
        for name in self.__slots__:
            setattr(self, name, fields[name])

    def __repr__(self):
        return (f"<nanobragg.RefineResult {len(self.values)} parameters, {self.iterations} steps, "
                f"loss {self.loss:.10g} ({self.stop})>")


def refine(experiment, observed, params, loss="poisson", method="lm", weights=None, mask=None, bounds=None,
           max_iterations=50, tolerance=1e-9, pixel_fraction=1.0, seed=1, threads=None, progress=None):
    """Refine params (names from deriv_params()) of experiment against an observed image,
    from the experiment's values.  Returns a RefineResult whose ``experiment`` is a new
    Experiment with the refined values (the one given is unchanged).

    observed, loss ("poisson" or "lsq"), weights, mask: as Experiment.loss_gradient.
    method: "lm" (Levenberg-Marquardt from the Jacobian of a pixel_fraction of the counted
    pixels, chosen with seed) or "lbfgs" (L-BFGS from the loss's gradient over every counted
    pixel).  bounds: dict name -> (lower, upper), either None for no bound; the start must
    lie within them (the parameter table's ranges always hold).  max_iterations: accepted
    steps at most; tolerance: stop when a step lowers the loss by less than this fraction of
    it.  Standard errors come from the curvature at the end (Poisson: the inverse Fisher
    information; least squares: (J^T W J)^-1 scaled by loss / (pixels - parameters)).
    threads, progress: as simulate's (progress reports each evaluation; Ctrl-C cancels).
    """
    if not isinstance(experiment, Experiment):
        raise TypeError(f"experiment: expected a nanobragg.Experiment, got {type(experiment).__name__}")
    names = _deriv_names(params)
    if not isinstance(method, str) or method not in _METHODS:
        raise ValueError(f"method: expected 'lm' or 'lbfgs', got {method!r}")
    obs, w, m, kind = _observation(experiment, observed, weights, mask, loss)
    lower = upper = None
    if bounds is not None:
        if not isinstance(bounds, dict):
            raise TypeError(f"bounds: expected a dict name -> (lower, upper), got {type(bounds).__name__}")
        lower = np.full(len(names), np.nan)
        upper = np.full(len(names), np.nan)
        for name, pair in bounds.items():
            if name not in names:
                raise ValueError(f"bounds: '{name}' is not among the parameters refined")
            try:
                lo, hi = pair
            except (TypeError, ValueError):
                raise ValueError(f"bounds: {name}: expected (lower, upper)") from None
            i = names.index(name)
            lower[i] = np.nan if lo is None else _real(lo, f"bounds: {name}")
            upper[i] = np.nan if hi is None else _real(hi, f"bounds: {name}")
            if not (np.isnan(lower[i]) or np.isfinite(lower[i])) or not (np.isnan(upper[i]) or np.isfinite(upper[i])):
                raise ValueError(f"bounds: {name}: ({lo}, {hi}) is not finite (None: no bound)")
    max_iterations = _index(max_iterations, "max_iterations")
    if not 0 <= max_iterations <= 2 ** 31 - 1:
        raise ValueError(f"max_iterations: {max_iterations} is out of range (0 to 2**31 - 1)")
    seed = _index(seed, "seed")
    if not 0 <= seed < 2 ** 64:
        raise ValueError(f"seed: {seed} is out of range (0 to 2**64 - 1)")
    exp = experiment._for_threads(threads)
    start = {name: exp.value(name) for name in names}
    cfg, res = exp.refine(names, obs, w, m, kind, _METHODS[method], lower, upper, max_iterations,
                          _real(tolerance, "tolerance"), _real(pixel_fraction, "pixel_fraction"), seed, progress)
    if threads is not None:     # the result keeps the experiment's own threads
        cfg.set("threads", experiment._cfg.get("threads") if experiment._cfg.is_set("threads") else None)
    # the parameters the refinement changed, as the table names them
    changed = {n for n in names if n in PARAMS} | ({"cell"} if set(names) & set(_CELL_ELEMENTS) else set())
    if "fluence" in names:
        changed.add("flux")
    params = experiment.params
    if "cell" in changed:
        for name in _CELL_ELEMENTS:
            params.pop(name, None)
    for name in sorted(changed):
        if cfg.is_set(name):
            params[name] = cfg.get(name)
    refined = Experiment.__new__(Experiment)
    refined._setup(cfg, params, experiment._flags, warn=False)
    return RefineResult(experiment=refined, values=dict(zip(names, res["values"])),
                        std_errors=dict(zip(names, res["std_errors"])), start=start, loss=res["loss"],
                        loss_history=res["loss_history"], iterations=res["iterations"],
                        converged=res["converged"], stop=res["stop"], log=res["log"])


# -- images to counts, noise and files

def _experiment_for(image, exp):
    """exp's C experiment, or a plain one of the image's shape (whole-detector ROI)."""
    image = np.asarray(image)
    if image.ndim != 2:
        raise ValueError(f"image: expected a 2-D (spixels, fpixels) array, got {image.ndim} dimensions")
    if exp is not None:
        if not isinstance(exp, Experiment):
            raise TypeError(f"exp: expected a nanobragg.Experiment, got {type(exp).__name__}")
        return exp._exp
    s, f = image.shape
    cfg = _nb.Config()
    cfg.set("cell", (10.0,))
    cfg.set("default_F", 1.0)   # any: only the geometry and ROI are used
    cfg.set("fpixels", f)
    cfg.set("spixels", s)
    return _nb.Experiment(cfg)


def _float_image(image):
    a = np.asarray(image)
    if a.dtype.kind not in "fiu":
        raise TypeError(f"image: expected a float array, got {a.dtype}")
    with np.errstate(over="ignore"):   # beyond float32: inf, as the program's float image
        return np.ascontiguousarray(a, dtype=np.float32)


def _roi_view(image, exp):
    if exp is None:
        return image
    x0, x1, y0, y1 = exp._info["roi"]
    return image[y0:y1 + 1, x0:x1 + 1]


def add_noise(image, exp=None, seed=None, adc=40.0, full_output=False):
    """Poisson noise as nanoBragg's -noisefile: uint16 counts (adc added, clipped to
    0..65535) of a float image, with nanoBragg's generator.  seed as the program's -seed
    (default: the clock, as nanoBragg); the same seed gives the program's noise image.
    exp: the experiment the image is of (its ROI); None: every pixel.
    full_output: return (counts, photons, overloads) instead."""
    image = _float_image(image)
    cexp = _experiment_for(image, exp)
    seed = int(time.time()) if seed is None else _index(seed, "seed")
    counts, _, photons, overloads = cexp.to_noise(image, -seed, _real(adc, "adc"))
    return (counts, photons, overloads) if full_output else counts


def to_counts(image, exp=None, scale=None, adc=40.0):
    """SMV counts as nanoBragg's -intfile: floor(photons * scale + adc + 0.5) clipped to
    0..65535 inside the ROI (0 outside).  scale None: 55000 / the image's maximum.
    Returns (counts, scale)."""
    image = _float_image(image)
    cexp = _experiment_for(image, exp)
    roi = _roi_view(image, exp)
    max_I = float(roi.max()) if roi.size else 0.0
    return cexp.to_counts(image, 0.0 if scale is None else _real(scale, "scale"), _real(adc, "adc"), max_I)


def to_pgm(image, exp=None, scale=None):
    """8-bit grey levels as nanoBragg's -pgmfile: min(255, photons * scale).  scale None:
    250 / (5 rmsd) of the ROI's pixels.  Returns (bytes, scale)."""
    image = _float_image(image)
    cexp = _experiment_for(image, exp)
    roi = _roi_view(image, exp).astype(np.float64)
    rmsd = float(np.sqrt(np.mean((roi - roi.mean()) ** 2))) if roi.size else 0.0
    return cexp.to_pgm(image, 0.0 if scale is None else _real(scale, "scale"), 1.0, rmsd)


def write_float(path, image):
    """Write image as raw little-endian float32 (nanoBragg's -floatfile), atomically."""
    a = np.asarray(image)
    if a.dtype.kind not in "fiu":
        raise TypeError(f"image: expected a float array, got {a.dtype}")
    with np.errstate(over="ignore"):
        a = np.ascontiguousarray(a, dtype=np.float32)
    _nb.write_float(path, a)


def write_smv(path, image, exp, scale=None, adc=40.0):
    """Write an SMV (ADSC) image with exp's header, atomically.  image: uint16 counts
    (written as they are, e.g. from add_noise) or a float image (scaled as -intfile:
    see to_counts).  Returns the scale used (None for counts)."""
    if not isinstance(exp, Experiment):
        raise TypeError(f"exp: expected a nanobragg.Experiment, got {type(exp).__name__}")
    a = np.asarray(image)
    used = None
    if a.dtype != np.uint16:
        a, used = to_counts(a, exp, scale, adc)
    exp._exp.write_smv(path, a)
    return used


def write_pgm(path, image, exp=None, scale=None):
    """Write an 8-bit PGM (nanoBragg's -pgmfile), atomically.  image: uint8 grey levels,
    or a float image (scaled as the program does: see to_pgm).  Returns the scale."""
    a = np.asarray(image)
    used = 0.0 if scale is None else _real(scale, "scale")
    if a.dtype != np.uint8:
        a, used = to_pgm(a, exp, scale)
    _nb.write_pgm(path, a, used)
    return used
