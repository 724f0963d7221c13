/*
 * _nanobragg.c - the C layer of the Python package nanobragg: thin types
 * over libnanobragg's public API (include/nanobragg.h), with numpy arrays
 * for data.  The pythonic interface (keywords, defaults, checks of shapes)
 * is nanobragg/__init__.py; this file only converts and calls.
 *
 *   Config       an nb_config: set/get/unset parameters by name (and the
 *                differentiable ones by nb_deriv_param_set), structure
 *                factors, sources, mask
 *   Experiment   an nb_experiment made from a Config: info, renders into
 *                caller-given float32 arrays (the GIL released), conversions
 *                of images to counts, noise and PGM bytes; with a copy of
 *                its configuration, the derivatives (nb_jacobian,
 *                nb_loss_gradient) and refinement (nb_refine, of a copy)
 *   parse_flags  nanoBragg's command line through the program's flag table
 *                (app/flags.c) into a Config and the program's other options
 *   write_float, write_smv, write_pgm: the library's atomic writers
 *   deriv_params the names of the differentiable parameters
 *
 * Errors: the library's status codes become exceptions carrying its message
 * (ValueError for invalid input, OSError for files, MemoryError,
 * CancelledError when a render is cancelled); a Python exception raised by a
 * progress callback (KeyboardInterrupt included) is re-raised.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#define NPY_NO_DEPRECATED_API NPY_1_7_API_VERSION
#include <numpy/arrayobject.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nanobragg.h"
#include "options.h"

#if PY_VERSION_HEX < 0x030A0000
#error "nanobragg needs Python 3.10 or later"
#endif

static PyObject *CancelledError;

/* ---------------------------------------------------------------- errors */

static PyObject *raise_status(nb_status st, const nb_error *err)
{
    const char *msg = err && err->msg[0] ? err->msg : nb_strerror(st);
    PyObject *type = PyExc_ValueError;
    if (st == NB_ERR_IO)
        type = PyExc_OSError;
    else if (st == NB_ERR_NOMEM)
        type = PyExc_MemoryError;
    else if (st == NB_ERR_CANCELLED)
        type = CancelledError;
    PyErr_SetString(type, msg);
    return NULL;
}

/* A Python exception kept across a render (raised in the progress callback,
   restored by the caller once the library has returned). */
typedef struct saved_error {
#if PY_VERSION_HEX >= 0x030C0000
    PyObject *exc;
#else
    PyObject *type, *value, *tb;
#endif
    int set;
} saved_error;

static void save_error(saved_error *s)
{
#if PY_VERSION_HEX >= 0x030C0000
    s->exc = PyErr_GetRaisedException();
#else
    PyErr_Fetch(&s->type, &s->value, &s->tb);
#endif
    s->set = 1;
}

static void restore_error(saved_error *s)
{
#if PY_VERSION_HEX >= 0x030C0000
    PyErr_SetRaisedException(s->exc);
#else
    PyErr_Restore(s->type, s->value, s->tb);
#endif
    s->set = 0;
}

/* ---------------------------------------------------------------- arrays */

/* Prefix the pending TypeError or ValueError's message with what. */
static void name_error(const char *what)
{
    PyObject *type = PyErr_ExceptionMatches(PyExc_TypeError) ? PyExc_TypeError : PyExc_ValueError, *text;
#if PY_VERSION_HEX >= 0x030C0000
    PyObject *exc = PyErr_GetRaisedException();
    text = PyObject_Str(exc);
    Py_XDECREF(exc);
#else
    PyObject *t, *v, *tb;
    PyErr_Fetch(&t, &v, &tb);
    PyErr_NormalizeException(&t, &v, &tb);
    text = v ? PyObject_Str(v) : NULL;
    Py_XDECREF(t);
    Py_XDECREF(v);
    Py_XDECREF(tb);
#endif
    if (text)
        PyErr_Format(type, "%s: %U", what, text);
    Py_XDECREF(text);
}

/* value as a C-contiguous array of type, with min_dim..max_dim dimensions
   (new reference), or NULL with TypeError/ValueError naming what. */
static PyArrayObject *as_array(PyObject *value, int type, int min_dim, int max_dim, const char *what)
{
    PyArrayObject *a;
    if (PyUnicode_Check(value) || PyBytes_Check(value) || value == Py_None) {
        PyErr_Format(PyExc_TypeError, "%s: expected numbers, got %.80s", what, Py_TYPE(value)->tp_name);
        return NULL;
    }
    a = (PyArrayObject *)PyArray_FROMANY(value, type, min_dim, max_dim, NPY_ARRAY_CARRAY_RO);
    if (!a && (PyErr_ExceptionMatches(PyExc_TypeError) || PyErr_ExceptionMatches(PyExc_ValueError)))
        name_error(what);
    return a;
}

/* An output array: exactly type, C-contiguous, writeable, of n elements. */
/* The n pixel indices of ia (int64) as size_t (PyMem_Free), or NULL with
   an exception set: out of memory, or a negative index (named). */
static size_t *pixel_indices(PyArrayObject *ia, npy_intp n)
{
    size_t *index = PyMem_Malloc((size_t)(n > 0 ? n : 1) * sizeof *index);
    if (!index) {
        PyErr_NoMemory();
        return NULL;
    }
    for (npy_intp i = 0; i < n; ++i) {
        const npy_int64 v = ((const npy_int64 *)PyArray_DATA(ia))[i];
        if (v < 0) {
            PyErr_Format(PyExc_ValueError, "pixels[%zd] = %lld: not a pixel of the detector", (Py_ssize_t)i,
                         (long long)v);
            PyMem_Free(index);
            return NULL;
        }
        index[i] = (size_t)v;
    }
    return index;
}

static int check_out(PyObject *out, int type, npy_intp n, const char *what)
{
    PyArrayObject *a = (PyArrayObject *)out;
    if (!PyArray_Check(out) || PyArray_TYPE(a) != type || !PyArray_IS_C_CONTIGUOUS(a) || !PyArray_ISWRITEABLE(a)
        || PyArray_SIZE(a) != n) {
        PyErr_Format(PyExc_ValueError, "%s: expected a writeable C-contiguous %s array of %zd elements", what,
                     type == NPY_FLOAT32 ? "float32" : type == NPY_UINT16 ? "uint16" : "uint8", (Py_ssize_t)n);
        return 0;
    }
    return 1;
}

/* Every element of a finite, whole and within [lo, hi]; else ValueError. */
static int whole_numbers(PyArrayObject *a, double lo, double hi, const char *what)
{
    const double *v = PyArray_DATA(a);
    npy_intp n = PyArray_SIZE(a);
    for (npy_intp i = 0; i < n; ++i)
        if (!(v[i] >= lo && v[i] <= hi) || v[i] != floor(v[i])) {
            char msg[200];
            snprintf(msg, sizeof msg, "%s[%ld] = %g: expected a whole number from %.0f to %.0f", what, (long)i, v[i],
                     lo, hi);
            PyErr_SetString(PyExc_ValueError, msg);
            return 0;
        }
    return 1;
}

/* ---------------------------------------------------------------- Config */

typedef struct {
    PyObject_HEAD
    nb_config *cfg;
} ConfigObject;

static PyTypeObject ConfigType;

static PyObject *config_wrap(nb_config *cfg)
{
    ConfigObject *self;
    if (!cfg)
        return PyErr_NoMemory();
    self = PyObject_New(ConfigObject, &ConfigType);
    if (!self) {
        nb_config_free(cfg);
        return NULL;
    }
    self->cfg = cfg;
    return (PyObject *)self;
}

static PyObject *Config_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    ConfigObject *self;
    if (!PyArg_ParseTuple(args, ":Config") || (kwds && PyDict_Size(kwds) > 0)) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_TypeError, "Config() takes no arguments");
        return NULL;
    }
    self = (ConfigObject *)type->tp_alloc(type, 0);
    if (!self)
        return NULL;
    self->cfg = nb_config_new();
    if (!self->cfg) {
        Py_DECREF(self);
        return PyErr_NoMemory();
    }
    return (PyObject *)self;
}

static void Config_dealloc(ConfigObject *self)
{
    nb_config_free(self->cfg);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static const nb_param_info *find_param(const char *name)
{
    const nb_param_info *p = nb_param_find(name);
    if (!p)
        PyErr_Format(PyExc_ValueError, "unknown parameter '%s'", name);
    return p;
}

static nb_status set_number(nb_config *cfg, const nb_param_info *p, PyObject *value, nb_error *err, int *pyerr)
{
    double v;
    if (PyUnicode_Check(value) || PyBytes_Check(value) || PyComplex_Check(value)) {
        PyErr_Format(PyExc_TypeError, "%s: expected a number, got %.80s", p->name, Py_TYPE(value)->tp_name);
        *pyerr = 1;
        return NB_ERR_INVALID;
    }
    v = PyFloat_AsDouble(value);
    if (v == -1.0 && PyErr_Occurred()) {
        PyErr_Clear();
        PyErr_Format(PyExc_TypeError, "%s: expected a number, got %.80s", p->name, Py_TYPE(value)->tp_name);
        *pyerr = 1;
        return NB_ERR_INVALID;
    }
    return nb_param_set(cfg, p->name, v, err);
}

static nb_status set_numbers(nb_config *cfg, const nb_param_info *p, PyObject *value, nb_error *err, int *pyerr)
{
    PyArrayObject *a = as_array(value, NPY_DOUBLE, 0, 2, p->name);
    nb_status st;
    if (!a) {
        *pyerr = 1;
        return NB_ERR_INVALID;
    }
    st = nb_param_set_array(cfg, p->name, PyArray_DATA(a), (size_t)PyArray_SIZE(a), err);
    Py_DECREF(a);
    return st;
}

/* A str without NUL characters, as UTF-8 (valid while value lives). */
static const char *word(PyObject *value, const char *what)
{
    Py_ssize_t n;
    const char *s;
    if (!PyUnicode_Check(value)) {
        PyErr_Format(PyExc_TypeError, "%s: expected a string, got %.80s", what, Py_TYPE(value)->tp_name);
        return NULL;
    }
    s = PyUnicode_AsUTF8AndSize(value, &n);
    if (s && (size_t)n != strlen(s)) {
        PyErr_Format(PyExc_ValueError, "%s: the string contains a NUL character", what);
        return NULL;
    }
    return s;
}

static nb_status set_text(nb_config *cfg, const nb_param_info *p, PyObject *value, nb_error *err, int *pyerr)
{
    nb_status st;
    if (p->kind == NB_PARAM_CHOICE) {
        const char *s = word(value, p->name);
        if (!s) {
            *pyerr = 1;
            return NB_ERR_INVALID;
        }
        return nb_param_set_string(cfg, p->name, s, err);
    } else {
        PyObject *bytes = NULL;
        if (PyUnicode_Check(value) || PyBytes_Check(value) || PyObject_HasAttrString(value, "__fspath__")) {
            if (!PyUnicode_FSConverter(value, &bytes)) {
                *pyerr = 1;
                return NB_ERR_INVALID;
            }
        } else {
            PyErr_Format(PyExc_TypeError, "%s: expected a file name, got %.80s", p->name, Py_TYPE(value)->tp_name);
            *pyerr = 1;
            return NB_ERR_INVALID;
        }
        st = nb_param_set_string(cfg, p->name, PyBytes_AS_STRING(bytes), err);
        Py_DECREF(bytes);
        return st;
    }
}

/* set(name, value): value None unsets. */
static PyObject *Config_set(ConfigObject *self, PyObject *args)
{
    const char *name;
    PyObject *value;
    const nb_param_info *p;
    nb_error err = {{0}};
    nb_status st;
    int pyerr = 0;
    if (!PyArg_ParseTuple(args, "sO:set", &name, &value) || !(p = find_param(name)))
        return NULL;
    if (value == Py_None)
        st = nb_param_unset(self->cfg, name, &err);
    else if (p->kind == NB_PARAM_ARRAY)
        st = set_numbers(self->cfg, p, value, &err, &pyerr);
    else if (p->kind == NB_PARAM_CHOICE || p->kind == NB_PARAM_STRING)
        st = set_text(self->cfg, p, value, &err, &pyerr);
    else
        st = set_number(self->cfg, p, value, &err, &pyerr);
    if (pyerr)
        return NULL;
    if (st != NB_OK)
        return raise_status(st, &err);
    Py_RETURN_NONE;
}

/* get(name): the value set or the default; None for a derived default or no file. */
static PyObject *Config_get(ConfigObject *self, PyObject *args)
{
    const char *name;
    const nb_param_info *p;
    nb_error err = {{0}};
    nb_status st;
    if (!PyArg_ParseTuple(args, "s:get", &name) || !(p = find_param(name)))
        return NULL;
    if (p->kind == NB_PARAM_ARRAY) {
        double v[64];
        size_t n = 0;
        PyObject *t;
        st = nb_param_get_array(self->cfg, name, v, 64, &n, &err);
        if (st == NB_ERR_USAGE)
            Py_RETURN_NONE;
        if (st != NB_OK)
            return raise_status(st, &err);
        if (!(t = PyTuple_New((Py_ssize_t)n)))
            return NULL;
        for (size_t i = 0; i < n; ++i) {
            PyObject *x = PyFloat_FromDouble(v[i]);
            if (!x) {
                Py_DECREF(t);
                return NULL;
            }
            PyTuple_SET_ITEM(t, (Py_ssize_t)i, x);
        }
        return t;
    }
    if (p->kind == NB_PARAM_CHOICE || p->kind == NB_PARAM_STRING) {
        const char *s = NULL;
        st = nb_param_get_string(self->cfg, name, &s, &err);
        if (st == NB_ERR_USAGE || (st == NB_OK && !s))
            Py_RETURN_NONE;
        return st == NB_OK ? PyUnicode_DecodeFSDefault(s) : raise_status(st, &err);
    }
    {
        double v = 0;
        st = nb_param_get(self->cfg, name, &v, &err);
        if (st == NB_ERR_USAGE)
            Py_RETURN_NONE;
        if (st != NB_OK)
            return raise_status(st, &err);
        if (p->kind == NB_PARAM_BOOL)
            return PyBool_FromLong(v != 0);
        if (p->kind == NB_PARAM_INT)
            return PyLong_FromDouble(v);
        return PyFloat_FromDouble(v);
    }
}

/* deriv_set(name, value): a differentiable parameter (nb_deriv_param_set:
   cell elements set the whole cell). */
static PyObject *Config_deriv_set(ConfigObject *self, PyObject *args)
{
    const char *name;
    PyObject *value;
    double v = -1.0;
    nb_error err = {{0}};
    nb_status st;
    if (!PyArg_ParseTuple(args, "sO:deriv_set", &name, &value))
        return NULL;
    if (!PyUnicode_Check(value) && !PyBytes_Check(value) && !PyComplex_Check(value))
        v = PyFloat_AsDouble(value);
    if (PyUnicode_Check(value) || PyBytes_Check(value) || PyComplex_Check(value) || (v == -1.0 && PyErr_Occurred())) {
        PyErr_Clear();
        PyErr_Format(PyExc_TypeError, "%s: expected a number, got %.80s", name, Py_TYPE(value)->tp_name);
        return NULL;
    }
    st = nb_deriv_param_set(self->cfg, name, v, &err);
    return st == NB_OK ? Py_NewRef(Py_None) : raise_status(st, &err);
}

static PyObject *Config_is_set(ConfigObject *self, PyObject *args)
{
    const char *name;
    if (!PyArg_ParseTuple(args, "s:is_set", &name) || !find_param(name))
        return NULL;
    return PyBool_FromLong(nb_param_is_set(self->cfg, name));
}

static PyObject *Config_copy(ConfigObject *self, PyObject *noargs)
{
    (void)noargs;
    return config_wrap(nb_config_copy(self->cfg));
}

/* Use sf (a new reference the caller gives up) for the structure factors. */
static PyObject *use_sf(ConfigObject *self, nb_sf *sf)
{
    nb_error err = {{0}};
    nb_status st = nb_config_set_sf(self->cfg, sf, &err);
    nb_sf_free(sf);
    if (st != NB_OK)
        return raise_status(st, &err);
    Py_RETURN_NONE;
}

/* set_sf_list(h, k, l, F, missing_F): reflections as four 1-D arrays. */
static PyObject *Config_set_sf_list(ConfigObject *self, PyObject *args)
{
    PyObject *ho, *ko, *lo, *Fo;
    PyArrayObject *a[4] = {NULL, NULL, NULL, NULL};
    const char *names[4] = {"h", "k", "l", "F"};
    double missing;
    int *idx[3] = {NULL, NULL, NULL};
    PyObject *result = NULL;
    npy_intp n;
    nb_sf *sf = NULL;
    nb_error err = {{0}};
    nb_status st;
    if (!PyArg_ParseTuple(args, "OOOOd:set_sf_list", &ho, &ko, &lo, &Fo, &missing))
        return NULL;
    {
        PyObject *objs[4] = {ho, ko, lo, Fo};
        for (int i = 0; i < 4; ++i)
            if (!(a[i] = as_array(objs[i], NPY_DOUBLE, 1, 1, names[i])))
                goto done;
    }
    n = PyArray_SIZE(a[0]);
    for (int i = 1; i < 4; ++i)
        if (PyArray_SIZE(a[i]) != n) {
            PyErr_Format(PyExc_ValueError, "hkl, F: h has %zd values but %s has %zd", (Py_ssize_t)n, names[i],
                         (Py_ssize_t)PyArray_SIZE(a[i]));
            goto done;
        }
    for (int i = 0; i < 3; ++i) {
        const double *v = PyArray_DATA(a[i]);
        if (!whole_numbers(a[i], -1e9, 1e9, names[i]))
            goto done;
        if (!(idx[i] = PyMem_Malloc((size_t)(n > 0 ? n : 1) * sizeof(int)))) {
            PyErr_NoMemory();
            goto done;
        }
        for (npy_intp j = 0; j < n; ++j)
            idx[i][j] = (int)v[j];
    }
    st = nb_sf_from_list(idx[0], idx[1], idx[2], PyArray_DATA(a[3]), (size_t)n, missing, &sf, &err);
    result = st == NB_OK ? use_sf(self, sf) : raise_status(st, &err);
done:
    for (int i = 0; i < 4; ++i)
        Py_XDECREF(a[i]);
    for (int i = 0; i < 3; ++i)
        PyMem_Free(idx[i]);
    return result;
}

/* A cell (None or six numbers) into cell; 0 with an exception set. */
static int opt_cell(PyObject *o, double cell[6], const double **out, const char *what)
{
    PyArrayObject *a;
    *out = NULL;
    if (o == Py_None)
        return 1;
    if (!(a = as_array(o, NPY_DOUBLE, 1, 1, what)))
        return 0;
    if (PyArray_SIZE(a) != 6) {
        Py_DECREF(a);
        PyErr_Format(PyExc_ValueError, "%s: expected 6 numbers (a, b, c, alpha, beta, gamma)", what);
        return 0;
    }
    memcpy(cell, PyArray_DATA(a), 6 * sizeof *cell);
    Py_DECREF(a);
    *out = cell;
    return 1;
}

/* A space group (None or a str, or an int: its number) as UTF-8 in buf, or
   NULL in *out; 0 with an exception set. */
static int opt_spacegroup(PyObject *o, char buf[64], const char **out)
{
    *out = NULL;
    if (o == Py_None)
        return 1;
    if (PyLong_Check(o)) {
        long n = PyLong_AsLong(o);
        if (n == -1 && PyErr_Occurred())
            return 0;
        snprintf(buf, 64, "%ld", n);
    } else if (PyUnicode_Check(o)) {
        const char *u = PyUnicode_AsUTF8(o);
        if (!u)
            return 0;
        if (strlen(u) >= 64) {
            PyErr_SetString(PyExc_ValueError, "spacegroup: too long a name");
            return 0;
        }
        snprintf(buf, 64, "%s", u);
    } else {
        PyErr_Format(PyExc_TypeError, "spacegroup: expected a name or a number, got %.80s", Py_TYPE(o)->tp_name);
        return 0;
    }
    *out = buf;
    return 1;
}

/* set_reflections(h, k, l, F, F_minus, intensities, cell, spacegroup): an
   asymmetric unit (nb_config_set_reflections). */
static PyObject *Config_set_reflections(ConfigObject *self, PyObject *args)
{
    PyObject *ho, *ko, *lo, *Fo, *Fmo, *co, *so, *result = NULL;
    PyArrayObject *a[5] = {NULL, NULL, NULL, NULL, NULL};
    const char *names[5] = {"h", "k", "l", "F", "F_minus"};
    int intensities, *idx[3] = {NULL, NULL, NULL};
    double cellv[6];
    const double *cell;
    char sgbuf[64];
    const char *sg;
    npy_intp n;
    nb_error err = {{0}};
    nb_status st;
    if (!PyArg_ParseTuple(args, "OOOOOpOO:set_reflections", &ho, &ko, &lo, &Fo, &Fmo, &intensities, &co, &so))
        return NULL;
    if (!opt_cell(co, cellv, &cell, "cell") || !opt_spacegroup(so, sgbuf, &sg))
        return NULL;
    {
        PyObject *objs[5] = {ho, ko, lo, Fo, Fmo};
        for (int i = 0; i < 5; ++i)
            if ((i < 4 || Fmo != Py_None) && !(a[i] = as_array(objs[i], NPY_DOUBLE, 1, 1, names[i])))
                goto done;
    }
    n = PyArray_SIZE(a[0]);
    for (int i = 1; i < 5; ++i)
        if (a[i] && PyArray_SIZE(a[i]) != n) {
            PyErr_Format(PyExc_ValueError, "reflections: h has %zd values but %s has %zd", (Py_ssize_t)n, names[i],
                         (Py_ssize_t)PyArray_SIZE(a[i]));
            goto done;
        }
    if (n == 0) {
        PyErr_SetString(PyExc_ValueError, "reflections: none given");
        goto done;
    }
    for (int i = 0; i < 3; ++i) {
        const double *v = PyArray_DATA(a[i]);
        if (!whole_numbers(a[i], -1e9, 1e9, names[i]))
            goto done;
        if (!(idx[i] = PyMem_Malloc((size_t)n * sizeof(int)))) {
            PyErr_NoMemory();
            goto done;
        }
        for (npy_intp j = 0; j < n; ++j)
            idx[i][j] = (int)v[j];
    }
    st = nb_config_set_reflections(self->cfg, (size_t)n, idx[0], idx[1], idx[2], PyArray_DATA(a[3]),
                                   a[4] ? PyArray_DATA(a[4]) : NULL, intensities, cell, sg, &err);
    result = st == NB_OK ? Py_NewRef(Py_None) : raise_status(st, &err);
done:
    for (int i = 0; i < 5; ++i)
        Py_XDECREF(a[i]);
    for (int i = 0; i < 3; ++i)
        PyMem_Free(idx[i]);
    return result;
}

/* set_atoms(elements, xyz, occ, b_iso, aniso_U, cell, spacegroup): a model
   as arrays (nb_config_set_atoms); elements a sequence of str. */
static PyObject *Config_set_atoms(ConfigObject *self, PyObject *args)
{
    PyObject *eo, *xo, *oo, *bo, *uo, *co, *so, *seq = NULL, *result = NULL;
    PyArrayObject *x = NULL, *occ = NULL, *b = NULL, *u = NULL;
    const char **el = NULL;
    double cellv[6];
    const double *cell;
    char sgbuf[64];
    const char *sg;
    Py_ssize_t n;
    nb_error err = {{0}};
    nb_status st;
    if (!PyArg_ParseTuple(args, "OOOOOOO:set_atoms", &eo, &xo, &oo, &bo, &uo, &co, &so))
        return NULL;
    if (!opt_cell(co, cellv, &cell, "cell") || !opt_spacegroup(so, sgbuf, &sg))
        return NULL;
    if (!(seq = PySequence_Fast(eo, "atoms: elements: expected a sequence of element symbols")))
        return NULL;
    n = PySequence_Fast_GET_SIZE(seq);
    if (n == 0) {
        PyErr_SetString(PyExc_ValueError, "atoms: none given");
        goto done;
    }
    if (!(x = as_array(xo, NPY_DOUBLE, 2, 2, "atoms: xyz")) || !(occ = as_array(oo, NPY_DOUBLE, 1, 1, "atoms: occ"))
        || !(b = as_array(bo, NPY_DOUBLE, 1, 1, "atoms: b_iso"))
        || (uo != Py_None && !(u = as_array(uo, NPY_DOUBLE, 2, 2, "atoms: aniso_U"))))
        goto done;
    if (PyArray_DIM(x, 0) != n || PyArray_DIM(x, 1) != 3 || PyArray_SIZE(occ) != n || PyArray_SIZE(b) != n
        || (u && (PyArray_DIM(u, 0) != n || PyArray_DIM(u, 1) != 6))) {
        PyErr_Format(PyExc_ValueError, "atoms: %zd elements, but xyz (n, 3), occ, b_iso (n) or aniso_U (n, 6) "
                     "of another size", n);
        goto done;
    }
    if (!(el = PyMem_Malloc((size_t)n * sizeof *el))) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t i = 0; i < n; ++i) {
        PyObject *e = PySequence_Fast_GET_ITEM(seq, i);
        if (!PyUnicode_Check(e)) {
            PyErr_Format(PyExc_TypeError, "atoms: element %zd: expected a symbol (str), got %.80s", i,
                         Py_TYPE(e)->tp_name);
            goto done;
        }
        if (!(el[i] = PyUnicode_AsUTF8(e)))
            goto done;
    }
    st = nb_config_set_atoms(self->cfg, (size_t)n, el, PyArray_DATA(x), PyArray_DATA(occ), PyArray_DATA(b),
                             u ? PyArray_DATA(u) : NULL, cell, sg, &err);
    result = st == NB_OK ? Py_NewRef(Py_None) : raise_status(st, &err);
done:
    PyMem_Free(el);
    Py_XDECREF(seq);
    Py_XDECREF(x);
    Py_XDECREF(occ);
    Py_XDECREF(b);
    Py_XDECREF(u);
    return result;
}

/* set_sf_grid(origin, F): F a 3-D array over h, k, l from origin (h0, k0, l0). */
static PyObject *Config_set_sf_grid(ConfigObject *self, PyObject *args)
{
    PyObject *oo, *Fo;
    PyArrayObject *o = NULL, *F = NULL;
    PyObject *result = NULL;
    nb_sf *sf = NULL;
    nb_error err = {{0}};
    nb_status st;
    int origin[3], dims[3];
    if (!PyArg_ParseTuple(args, "OO:set_sf_grid", &oo, &Fo))
        return NULL;
    if (!(o = as_array(oo, NPY_DOUBLE, 1, 1, "hkl_origin")) || !(F = as_array(Fo, NPY_DOUBLE, 3, 3, "F_grid")))
        goto done;
    if (PyArray_SIZE(o) != 3) {
        PyErr_SetString(PyExc_ValueError, "hkl_origin: expected 3 numbers (h0, k0, l0)");
        goto done;
    }
    if (!whole_numbers(o, -1e9, 1e9, "hkl_origin"))
        goto done;
    for (int i = 0; i < 3; ++i) {
        npy_intp d = PyArray_DIM(F, i);
        if (d < 1 || d > 1000000000) {
            PyErr_Format(PyExc_ValueError, "F_grid: dimension %d is %zd: expected 1 to 1e9", i, (Py_ssize_t)d);
            goto done;
        }
        origin[i] = (int)((const double *)PyArray_DATA(o))[i];
        dims[i] = (int)d;
    }
    st = nb_sf_from_grid(origin, dims, PyArray_DATA(F), &sf, &err);
    result = st == NB_OK ? use_sf(self, sf) : raise_status(st, &err);
done:
    Py_XDECREF(o);
    Py_XDECREF(F);
    return result;
}

/* read_hkl(path, missing_F): an "h k l F" file or an Fdump.bin cache. */
static PyObject *Config_read_hkl(ConfigObject *self, PyObject *args)
{
    PyObject *path;
    double missing;
    nb_sf *sf = NULL;
    nb_error err = {{0}};
    nb_status st;
    if (!PyArg_ParseTuple(args, "O&d:read_hkl", PyUnicode_FSConverter, &path, &missing))
        return NULL;
    st = nb_sf_read_hkl(PyBytes_AS_STRING(path), missing, NULL, &sf, &err);
    Py_DECREF(path);
    return st == NB_OK ? use_sf(self, sf) : raise_status(st, &err);
}

/* set_sources(xyz, weight, lambda_A): (n, 3) positions, n weights or None,
   n wavelengths or None. */
static PyObject *Config_set_sources(ConfigObject *self, PyObject *args)
{
    PyObject *xo, *wo, *lo, *result = NULL;
    PyArrayObject *x = NULL, *w = NULL, *l = NULL;
    nb_error err = {{0}};
    nb_status st;
    npy_intp n;
    if (!PyArg_ParseTuple(args, "OOO:set_sources", &xo, &wo, &lo))
        return NULL;
    if (!(x = as_array(xo, NPY_DOUBLE, 2, 2, "sources_xyz")))
        return NULL;
    n = PyArray_DIM(x, 0);
    if (PyArray_DIM(x, 1) != 3) {
        PyErr_SetString(PyExc_ValueError, "sources_xyz: expected an (n, 3) array");
        goto done;
    }
    if (wo != Py_None && !(w = as_array(wo, NPY_DOUBLE, 1, 1, "sources_weight")))
        goto done;
    if (lo != Py_None && !(l = as_array(lo, NPY_DOUBLE, 1, 1, "sources_lambda_A")))
        goto done;
    if ((w && PyArray_SIZE(w) != n) || (l && PyArray_SIZE(l) != n)) {
        PyErr_Format(PyExc_ValueError, "sources: %zd positions but %zd weights and %zd wavelengths",
                     (Py_ssize_t)n, (Py_ssize_t)(w ? PyArray_SIZE(w) : n), (Py_ssize_t)(l ? PyArray_SIZE(l) : n));
        goto done;
    }
    if (!w) {
        /* nanoBragg's source file: weight 1 unless given */
        PyObject *ones = PyArray_ZEROS(1, &n, NPY_DOUBLE, 0);
        if (!ones)
            goto done;
        for (npy_intp i = 0; i < n; ++i)
            ((double *)PyArray_DATA((PyArrayObject *)ones))[i] = 1.0;
        w = (PyArrayObject *)ones;
    }
    st = nb_config_set_sources(self->cfg, (size_t)n, PyArray_DATA(x), PyArray_DATA(w), l ? PyArray_DATA(l) : NULL,
                               &err);
    if (st != NB_OK)
        raise_status(st, &err);
    else
        result = Py_NewRef(Py_None);
done:
    Py_XDECREF(x);
    Py_XDECREF(w);
    Py_XDECREF(l);
    return result;
}

/* set_mask(mask): a 2-D (slow, fast) array, 0 = skip the pixel; None removes it. */
static PyObject *Config_set_mask(ConfigObject *self, PyObject *args)
{
    PyObject *mo;
    PyArrayObject *m;
    nb_error err = {{0}};
    nb_status st;
    if (!PyArg_ParseTuple(args, "O:set_mask", &mo))
        return NULL;
    if (mo == Py_None) {
        st = nb_config_set_mask(self->cfg, 0, 0, NULL, &err);
        return st == NB_OK ? Py_NewRef(Py_None) : raise_status(st, &err);
    }
    if (!(m = as_array(mo, NPY_UINT16, 2, 2, "mask")))
        return NULL;
    if (PyArray_DIM(m, 0) > 1000000 || PyArray_DIM(m, 1) > 1000000 || PyArray_SIZE(m) == 0) {
        Py_DECREF(m);
        PyErr_SetString(PyExc_ValueError, "mask: expected a non-empty (spixels, fpixels) array");
        return NULL;
    }
    st = nb_config_set_mask(self->cfg, (int)PyArray_DIM(m, 1), (int)PyArray_DIM(m, 0), PyArray_DATA(m), &err);
    Py_DECREF(m);
    return st == NB_OK ? Py_NewRef(Py_None) : raise_status(st, &err);
}

static PyObject *Config_use_sf_of(ConfigObject *self, PyObject *args);

static PyMethodDef Config_methods[] = {
    {"set", (PyCFunction)(void (*)(void))Config_set, METH_VARARGS, "set(name, value): set a parameter (None: unset)"},
    {"get", (PyCFunction)(void (*)(void))Config_get, METH_VARARGS, "get(name): value set or default (None: derived)"},
    {"is_set", (PyCFunction)(void (*)(void))Config_is_set, METH_VARARGS, "is_set(name)"},
    {"deriv_set", (PyCFunction)(void (*)(void))Config_deriv_set, METH_VARARGS,
     "deriv_set(name, value): set a differentiable parameter"},
    {"copy", (PyCFunction)(void (*)(void))Config_copy, METH_NOARGS, "a deep copy sharing structure factors"},
    {"set_sf_list", (PyCFunction)(void (*)(void))Config_set_sf_list, METH_VARARGS, "set_sf_list(h, k, l, F, missing_F)"},
    {"set_sf_grid", (PyCFunction)(void (*)(void))Config_set_sf_grid, METH_VARARGS, "set_sf_grid(origin, F)"},
    {"set_reflections", (PyCFunction)(void (*)(void))Config_set_reflections, METH_VARARGS,
     "set_reflections(h, k, l, F, F_minus, intensities, cell, spacegroup)"},
    {"set_atoms", (PyCFunction)(void (*)(void))Config_set_atoms, METH_VARARGS,
     "set_atoms(elements, xyz, occ, b_iso, aniso_U, cell, spacegroup)"},
    {"read_hkl", (PyCFunction)(void (*)(void))Config_read_hkl, METH_VARARGS, "read_hkl(path, missing_F)"},
    {"use_sf_of", (PyCFunction)(void (*)(void))Config_use_sf_of, METH_VARARGS,
     "use_sf_of(experiment): share the experiment's structure factors"},
    {"set_sources", (PyCFunction)(void (*)(void))Config_set_sources, METH_VARARGS,
     "set_sources(xyz, weight, lambda_A)"},
    {"set_mask", (PyCFunction)(void (*)(void))Config_set_mask, METH_VARARGS, "set_mask(mask)"},
    {NULL, NULL, 0, NULL}};

static PyTypeObject ConfigType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "nanobragg._nanobragg.Config",
    .tp_basicsize = sizeof(ConfigObject),
    .tp_dealloc = (destructor)Config_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A libnanobragg configuration: parameters by name, data as arrays.",
    .tp_methods = Config_methods,
    .tp_new = Config_new,
};

/* ---------------------------------------------------------------- Experiment */

typedef struct {
    PyObject_HEAD
    nb_experiment *exp;
    nb_config *cfg; /* a copy of the configuration exp was made from, sharing its
                       structure factors: what the derivatives and refinement use */
    PyObject *log;  /* list of the lines set-up logged */
    PyObject *warn; /* list of (level, line) pairs: the warnings among them */
} ExperimentObject;

static PyTypeObject ExperimentType;

static PyObject *Config_use_sf_of(ConfigObject *self, PyObject *args)
{
    ExperimentObject *e;
    nb_sf *sf;
    if (!PyArg_ParseTuple(args, "O!:use_sf_of", &ExperimentType, &e))
        return NULL;
    sf = nb_experiment_sf(e->exp);
    if (!sf)
        Py_RETURN_NONE;
    return use_sf(self, nb_sf_ref(sf));
}

static void log_line(void *ctx, nb_log_level level, const char *line)
{
    ExperimentObject *self = ctx;
    PyGILState_STATE g = PyGILState_Ensure();
    PyObject *s = PyUnicode_DecodeUTF8(line, (Py_ssize_t)strlen(line), "replace");
    if (!s || PyList_Append(self->log, s) < 0 || (level == NB_LOG_WARN && PyList_Append(self->warn, s) < 0))
        PyErr_Clear();
    Py_XDECREF(s);
    PyGILState_Release(g);
}

static PyObject *Experiment_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    ConfigObject *cfg;
    ExperimentObject *self;
    nb_log log = {0};
    nb_error err = {{0}};
    nb_status st;
    if (kwds && PyDict_Size(kwds) > 0) {
        PyErr_SetString(PyExc_TypeError, "Experiment(config) takes no keywords");
        return NULL;
    }
    if (!PyArg_ParseTuple(args, "O!:Experiment", &ConfigType, &cfg))
        return NULL;
    self = (ExperimentObject *)type->tp_alloc(type, 0);
    if (!self)
        return NULL;
    if (!(self->log = PyList_New(0)) || !(self->warn = PyList_New(0))) {
        Py_DECREF(self);
        return NULL;
    }
    log.fn = log_line;
    log.ctx = self;
    st = nb_experiment_create(cfg->cfg, &log, &self->exp, &err);
    if (st != NB_OK) {
        Py_DECREF(self);
        return raise_status(st, &err);
    }
    if (!(self->cfg = nb_config_copy(cfg->cfg))) {
        Py_DECREF(self);
        return PyErr_NoMemory();
    }
    /* the table set-up read (no file is read again) */
    if (nb_experiment_sf(self->exp) && (st = nb_config_set_sf(self->cfg, nb_experiment_sf(self->exp), &err)) != NB_OK) {
        Py_DECREF(self);
        return raise_status(st, &err);
    }
    return (PyObject *)self;
}

static void Experiment_dealloc(ExperimentObject *self)
{
    nb_experiment_free(self->exp);
    nb_config_free(self->cfg);
    Py_XDECREF(self->log);
    Py_XDECREF(self->warn);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int put(PyObject *d, const char *key, PyObject *v)
{
    int rc = v ? PyDict_SetItemString(d, key, v) : -1;
    Py_XDECREF(v);
    return rc;
}

static PyObject *vec(const double *v, int n)
{
    PyObject *t = PyTuple_New(n);
    for (int i = 0; t && i < n; ++i) {
        PyObject *x = PyFloat_FromDouble(v[i]);
        if (!x) {
            Py_DECREF(t);
            return NULL;
        }
        PyTuple_SET_ITEM(t, i, x);
    }
    return t;
}

/* sf_grid(): ((h0, k0, l0), F) of the structure factors the experiment
   uses (F a new 3-D float64 array, l fastest), or None. */
static PyObject *Experiment_sf_grid(ExperimentObject *self, PyObject *noargs)
{
    const nb_sf *sf = nb_experiment_sf(self->exp);
    int o[3], d[3];
    npy_intp dims[3];
    PyArrayObject *F;
    double *v;
    (void)noargs;
    if (!sf)
        Py_RETURN_NONE;
    nb_sf_grid(sf, o, d);
    for (int i = 0; i < 3; ++i)
        dims[i] = d[i];
    if (!(F = (PyArrayObject *)PyArray_SimpleNew(3, dims, NPY_DOUBLE)))
        return NULL;
    v = PyArray_DATA(F);
    Py_BEGIN_ALLOW_THREADS
    for (int h = 0; h < d[0]; ++h)
        for (int k = 0; k < d[1]; ++k)
            for (int l = 0; l < d[2]; ++l)
                *v++ = nb_sf_value(sf, o[0] + h, o[1] + k, o[2] + l, 0.0);
    Py_END_ALLOW_THREADS
    return Py_BuildValue("(iii)N", o[0], o[1], o[2], (PyObject *)F);
}

static PyObject *Experiment_info(ExperimentObject *self, PyObject *noargs)
{
    static const char *const CONV[] = {"custom", "adxv", "mosflm", "xds", "dials", "denzo"};
    const nb_info *in = nb_experiment_info(self->exp);
    PyObject *d = PyDict_New();
    int rc = 0;
    (void)noargs;
    if (!d)
        return NULL;
#define I(k, v) rc |= put(d, k, PyLong_FromLong((long)(v)))
#define R(k, v) rc |= put(d, k, PyFloat_FromDouble(v))
#define V(k, v, n) rc |= put(d, k, vec(v, n))
#define S(k, v) rc |= put(d, k, (v) ? PyUnicode_FromString(v) : Py_NewRef(Py_None))
    S("convention", (unsigned)in->convention < 6 ? CONV[in->convention] : "?");
    S("pivot", in->pivot == NB_PIVOT_BEAM ? "beam" : "sample");
    I("fpixels", in->fpixels);
    I("spixels", in->spixels);
    R("pixel_mm", in->pixel_m * 1e3);
    R("detsize_f_mm", in->detsize_f_m * 1e3);
    R("detsize_s_mm", in->detsize_s_m * 1e3);
    R("distance_mm", in->distance_m * 1e3);
    R("close_distance_mm", in->close_distance_m * 1e3);
    R("Xbeam_mm", in->Xbeam_m * 1e3);
    R("Ybeam_mm", in->Ybeam_m * 1e3);
    R("Fbeam_mm", in->Fbeam_m * 1e3);
    R("Sbeam_mm", in->Sbeam_m * 1e3);
    R("Xclose_mm", in->Xclose_m * 1e3);
    R("Yclose_mm", in->Yclose_m * 1e3);
    R("Fclose_mm", in->Fclose_m * 1e3);
    R("Sclose_mm", in->Sclose_m * 1e3);
    R("ORGX", in->ORGX);
    R("ORGY", in->ORGY);
    V("dials_origin_mm", in->dials_origin_mm, 3);
    V("fdet_vector", in->fdet, 3);
    V("sdet_vector", in->sdet, 3);
    V("odet_vector", in->odet, 3);
    V("beam_vector", in->beam, 3);
    V("spindle_axis", in->spindle, 3);
    V("polar_vector", in->polar, 3);
    V("pix0_vector_m", in->pix0_m, 3);
    R("twotheta_deg", in->twotheta_rad * 180.0 / M_PI);
    V("twotheta_axis", in->twotheta_axis, 3);
    R("lambda_A", in->lambda0_m * 1e10);
    R("dispersion", in->dispersion);
    I("dispsteps", in->dispsteps);
    R("hdivrange_mrad", in->hdivrange_rad * 1e3);
    R("vdivrange_mrad", in->vdivrange_rad * 1e3);
    R("hdivstep_mrad", in->hdivstep_rad * 1e3);
    R("vdivstep_mrad", in->vdivstep_rad * 1e3);
    I("divsteps", in->divsteps);
    I("sources", in->sources);
    I("mosaic_domains", in->mosaic_domains);
    R("mosaic_spread_deg", in->mosaic_spread_rad * 180.0 / M_PI);
    I("phisteps", in->phisteps);
    R("phi_deg", in->phi0_rad * 180.0 / M_PI);
    R("osc_deg", in->osc_rad * 180.0 / M_PI);
    R("phistep_deg", in->phistep_rad * 180.0 / M_PI);
    I("oversample", in->oversample);
    I("recommended_oversample", in->recommended_oversample);
    I("oversample_auto", in->oversample_auto);
    I("thicksteps", in->thicksteps);
    R("detector_thick_um", in->detector_thick_m * 1e6);
    R("detector_thickstep_um", in->detector_thickstep_m * 1e6);
    R("detector_mu", in->detector_mu);
    V("N", &in->Na, 3);
    V("cell_A", in->cell_A, 3);
    V("cell_deg", in->cell_deg, 3);
    R("volume_A3", in->volume_A3);
    V("a_A", in->a_A, 3);
    V("b_A", in->b_A, 3);
    V("c_A", in->c_A, 3);
    V("astar", in->astar, 3);
    V("bstar", in->bstar, 3);
    V("cstar", in->cstar, 3);
    V("misset_deg", in->misset_deg, 3);
    V("xtal_size_mm", in->xtal_size_m, 3);
    I("hkls", in->hkls);
    I("interpolate", in->interpolate);
    R("fluence", in->fluence);
    R("flux", in->flux);
    R("exposure_s", in->exposure_s);
    R("beamsize_mm", in->beamsize_m * 1e3);
    R("water_um", in->water_m * 1e6);
    rc |= put(d, "roi", Py_BuildValue("(iiii)", in->roi[0], in->roi[1], in->roi[2], in->roi[3]));
    I("steps", in->steps);
    I("samples_per_pixel", in->samples_per_pixel);
    S("kernel", in->kernel);
    S("isa", in->isa);
    S("precision", in->precision_used == NB_PRECISION_SINGLE ? "single" : "double");
    S("precision_note", in->precision_note);
    S("device", in->device);
#undef I
#undef R
#undef V
#undef S
    if (rc) {
        Py_DECREF(d);
        return NULL;
    }
    return d;
}

/* The progress callback: runs with the GIL; a signal (Ctrl-C), an exception
   or a true result from the Python callable cancels the render. */
typedef struct progress_ctx {
    PyObject *callable; /* may be NULL */
    saved_error error;
} progress_ctx;

static int progress_cb(void *ctx, double fraction)
{
    progress_ctx *p = ctx;
    PyGILState_STATE g = PyGILState_Ensure();
    int stop = p->error.set;
    if (!stop && PyErr_CheckSignals() < 0)
        stop = 1;
    if (!stop && p->callable) {
        PyObject *r = PyObject_CallFunction(p->callable, "d", fraction);
        if (!r)
            stop = 1;
        else {
            stop = r != Py_None && PyObject_IsTrue(r) != 0;
            Py_DECREF(r);
        }
    }
    if (PyErr_Occurred())
        save_error(&p->error);
    PyGILState_Release(g);
    return stop;
}

/* After a render: the callback's exception, or the library's error. */
static PyObject *render_result(nb_status st, progress_ctx *p, const nb_error *err)
{
    if (p->error.set) {
        restore_error(&p->error);
        return NULL;
    }
    if (st == NB_ERR_CANCELLED) {
        PyErr_SetString(CancelledError, "the progress callback cancelled the render");
        return NULL;
    }
    if (st != NB_OK)
        return raise_status(st, err);
    return Py_NewRef(Py_None);
}

static PyObject *progress_arg(PyObject *o)
{
    if (o != Py_None && !PyCallable_Check(o)) {
        PyErr_SetString(PyExc_TypeError, "progress: expected a callable or None");
        return NULL;
    }
    return o == Py_None ? NULL : o;
}

/* simulate(out, progress): the whole image into out (float32, spixels x
   fpixels); returns nanoBragg's statistics as a dict. */
static PyObject *Experiment_simulate(ExperimentObject *self, PyObject *args)
{
    const nb_info *in = nb_experiment_info(self->exp);
    PyObject *out, *po, *r;
    progress_ctx pc = {0};
    nb_log log = {0};
    nb_image img = {0};
    nb_error err = {{0}};
    nb_status st;
    if (!PyArg_ParseTuple(args, "OO:simulate", &out, &po))
        return NULL;
    if (!check_out(out, NPY_FLOAT32, (npy_intp)in->fpixels * in->spixels, "out"))
        return NULL;
    pc.callable = progress_arg(po);
    if (PyErr_Occurred())
        return NULL;
    log.progress = progress_cb;
    log.progress_ctx = &pc;
    Py_BEGIN_ALLOW_THREADS
    st = nb_simulate(self->exp, &log, &img, &err);
    if (st == NB_OK)
        memcpy(PyArray_DATA((PyArrayObject *)out), img.data,
               (size_t)img.fpixels * (size_t)img.spixels * sizeof(float));
    Py_END_ALLOW_THREADS
    if (!(r = render_result(st, &pc, &err))) {
        nb_image_free(&img);
        return NULL;
    }
    Py_DECREF(r);
    r = Py_BuildValue("{s:d,s:d,s:d,s:d,s:d,s:d,s:d,s:d,s:l,s:d}", "max_I", img.max_I, "max_I_x_mm",
                      img.max_I_x_m * 1e3, "max_I_y_mm", img.max_I_y_m * 1e3, "mean", img.mean, "rms", img.rms,
                      "rmsd", img.rmsd, "rmsd_roi", img.rmsd_roi, "omega_sum", img.omega_sum, "rendered",
                      img.rendered, "solid_angle_sr", img.omega_sum / (double)in->steps);
    nb_image_free(&img);
    return r;
}

/* render_region(out, f0, s0, width, height, progress) */
static PyObject *Experiment_render_region(ExperimentObject *self, PyObject *args)
{
    PyObject *out, *po;
    int f0, s0, w, h;
    progress_ctx pc = {0};
    nb_log log = {0};
    nb_error err = {{0}};
    nb_status st;
    float *data;
    if (!PyArg_ParseTuple(args, "OiiiiO:render_region", &out, &f0, &s0, &w, &h, &po))
        return NULL;
    if (w < 1 || h < 1) {
        PyErr_Format(PyExc_ValueError, "region: width %d and height %d must be at least 1", w, h);
        return NULL;
    }
    if (!check_out(out, NPY_FLOAT32, (npy_intp)w * h, "out"))
        return NULL;
    pc.callable = progress_arg(po);
    if (PyErr_Occurred())
        return NULL;
    log.progress = progress_cb;
    log.progress_ctx = &pc;
    data = PyArray_DATA((PyArrayObject *)out);
    Py_BEGIN_ALLOW_THREADS
    st = nb_render_region(self->exp, f0, s0, w, h, data, &log, &err);
    Py_END_ALLOW_THREADS
    return render_result(st, &pc, &err);
}

/* render_pixels(out, index, progress): index a 1-D array of s * fpixels + f. */
static PyObject *Experiment_render_pixels(ExperimentObject *self, PyObject *args)
{
    PyObject *out, *io, *po, *r = NULL;
    PyArrayObject *ia;
    progress_ctx pc = {0};
    nb_log log = {0};
    nb_error err = {{0}};
    nb_status st;
    size_t *index = NULL;
    npy_intp n;
    float *data;
    if (!PyArg_ParseTuple(args, "OOO:render_pixels", &out, &io, &po))
        return NULL;
    if (!(ia = as_array(io, NPY_INT64, 1, 1, "pixels")))
        return NULL;
    n = PyArray_SIZE(ia);
    if (!check_out(out, NPY_FLOAT32, n, "out"))
        goto done;
    pc.callable = progress_arg(po);
    if (PyErr_Occurred())
        goto done;
    if (!(index = pixel_indices(ia, n)))
        goto done;
    log.progress = progress_cb;
    log.progress_ctx = &pc;
    data = PyArray_DATA((PyArrayObject *)out);
    Py_BEGIN_ALLOW_THREADS
    st = nb_render_pixels(self->exp, index, (size_t)n, data, &log, &err);
    Py_END_ALLOW_THREADS
    r = render_result(st, &pc, &err);
done:
    PyMem_Free(index);
    Py_DECREF(ia);
    return r;
}

/* An nb_image around a float32 array of this experiment's shape (borrowed
   data), or NULL with ValueError. */
static int image_of(ExperimentObject *self, PyObject *o, PyArrayObject **arr, nb_image *img)
{
    const nb_info *in = nb_experiment_info(self->exp);
    PyArrayObject *a = as_array(o, NPY_FLOAT32, 2, 2, "image");
    if (!a)
        return 0;
    if (PyArray_DIM(a, 0) != in->spixels || PyArray_DIM(a, 1) != in->fpixels) {
        PyErr_Format(PyExc_ValueError, "image: shape (%zd, %zd) is not the detector's (%d, %d) (spixels, fpixels)",
                     (Py_ssize_t)PyArray_DIM(a, 0), (Py_ssize_t)PyArray_DIM(a, 1), in->spixels, in->fpixels);
        Py_DECREF(a);
        return 0;
    }
    memset(img, 0, sizeof *img);
    img->fpixels = in->fpixels;
    img->spixels = in->spixels;
    img->data = PyArray_DATA(a);
    *arr = a;
    return 1;
}

static PyObject *new_array(ExperimentObject *self, int type)
{
    const nb_info *in = nb_experiment_info(self->exp);
    npy_intp dims[2] = {in->spixels, in->fpixels};
    return PyArray_ZEROS(2, dims, type, 0);
}

/* to_counts(image, scale, adc, max_I) -> (uint16 counts, scale used) */
static PyObject *Experiment_to_counts(ExperimentObject *self, PyObject *args)
{
    PyObject *o, *counts;
    PyArrayObject *a;
    nb_image img;
    double scale, adc, max_I;
    if (!PyArg_ParseTuple(args, "Oddd:to_counts", &o, &scale, &adc, &max_I) || !image_of(self, o, &a, &img))
        return NULL;
    img.max_I = max_I;
    if (!(counts = new_array(self, NPY_UINT16))) {
        Py_DECREF(a);
        return NULL;
    }
    nb_image_to_counts(self->exp, &img, &scale, adc, PyArray_DATA((PyArrayObject *)counts));
    Py_DECREF(a);
    return Py_BuildValue("(Nd)", counts, scale);
}

/* to_pgm(image, scale, fallback_scale, rmsd_roi) -> (uint8 bytes, scale used) */
static PyObject *Experiment_to_pgm(ExperimentObject *self, PyObject *args)
{
    PyObject *o, *bytes;
    PyArrayObject *a;
    nb_image img;
    double scale, fallback, rmsd_roi;
    if (!PyArg_ParseTuple(args, "Oddd:to_pgm", &o, &scale, &fallback, &rmsd_roi) || !image_of(self, o, &a, &img))
        return NULL;
    img.rmsd_roi = rmsd_roi;
    if (!(bytes = new_array(self, NPY_UINT8))) {
        Py_DECREF(a);
        return NULL;
    }
    nb_image_to_pgm(self->exp, &img, &scale, fallback, PyArray_DATA((PyArrayObject *)bytes));
    Py_DECREF(a);
    return Py_BuildValue("(Nd)", bytes, scale);
}

/* to_noise(image, seed, adc) -> (uint16 counts, next seed, photons, overloads) */
static PyObject *Experiment_to_noise(ExperimentObject *self, PyObject *args)
{
    PyObject *o, *counts;
    PyArrayObject *a;
    nb_image img;
    long seed, overloads = 0;
    double adc, photons = 0;
    if (!PyArg_ParseTuple(args, "Old:to_noise", &o, &seed, &adc) || !image_of(self, o, &a, &img))
        return NULL;
    if (!(counts = new_array(self, NPY_UINT16))) {
        Py_DECREF(a);
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
    nb_image_to_noise(self->exp, &img, &seed, adc, PyArray_DATA((PyArrayObject *)counts), &photons, &overloads);
    Py_END_ALLOW_THREADS
    Py_DECREF(a);
    return Py_BuildValue("(Nldl)", counts, seed, photons, overloads);
}

/* write_smv(path, counts): an SMV image with this experiment's header. */
static PyObject *Experiment_write_smv(ExperimentObject *self, PyObject *args)
{
    PyObject *path, *co;
    PyArrayObject *c;
    nb_smv_info info;
    nb_error err = {{0}};
    nb_status st;
    if (!PyArg_ParseTuple(args, "O&O:write_smv", PyUnicode_FSConverter, &path, &co))
        return NULL;
    nb_experiment_smv_info(self->exp, &info);
    if (!(c = as_array(co, NPY_UINT16, 2, 2, "counts"))) {
        Py_DECREF(path);
        return NULL;
    }
    if (PyArray_DIM(c, 0) != info.spixels || PyArray_DIM(c, 1) != info.fpixels) {
        PyErr_Format(PyExc_ValueError, "counts: shape (%zd, %zd) is not the detector's (%d, %d)",
                     (Py_ssize_t)PyArray_DIM(c, 0), (Py_ssize_t)PyArray_DIM(c, 1), info.spixels, info.fpixels);
        st = NB_OK;
    } else {
        st = nb_write_smv(PyBytes_AS_STRING(path), &info, PyArray_DATA(c), &err);
    }
    Py_DECREF(path);
    Py_DECREF(c);
    if (PyErr_Occurred())
        return NULL;
    return st == NB_OK ? Py_NewRef(Py_None) : raise_status(st, &err);
}

/* ---------------------------------------------------------------- derivatives and refinement */

/* names: a sequence of parameter names (not a str) as C strings, borrowed
   from *keep (a tuple of the names, a new reference the caller drops), in
   an array the caller frees with PyMem_Free; NULL with an exception. */
static const char **name_list(PyObject *o, PyObject **keep, int *n)
{
    const char **names;
    Py_ssize_t count;
    *keep = NULL;
    if (PyUnicode_Check(o) || PyBytes_Check(o) || !PySequence_Check(o)) {
        PyErr_Format(PyExc_TypeError, "params: expected a list of parameter names, got %.80s", Py_TYPE(o)->tp_name);
        return NULL;
    }
    if (!(*keep = PySequence_Tuple(o)))
        return NULL;
    count = PyTuple_GET_SIZE(*keep);
    if (count > 10000) {
        PyErr_Format(PyExc_ValueError, "params: %zd names (expected at most %d)", count, nb_deriv_param_count());
        goto fail;
    }
    if (!(names = PyMem_Calloc((size_t)count + 1, sizeof *names))) {
        PyErr_NoMemory();
        goto fail;
    }
    for (Py_ssize_t i = 0; i < count; ++i)
        if (!(names[i] = word(PyTuple_GET_ITEM(*keep, i), "params"))) {
            PyMem_Free(names);
            goto fail;
        }
    *n = (int)count;
    return names;
fail:
    Py_CLEAR(*keep);
    return NULL;
}

/* An array of this experiment's detector shape (spixels, fpixels) of type,
   C-contiguous (new reference), or NULL with an exception naming what. */
static PyArrayObject *detector_array(ExperimentObject *self, PyObject *o, int type, const char *what)
{
    const nb_info *in = nb_experiment_info(self->exp);
    PyArrayObject *a = as_array(o, type, 2, 2, what);
    if (a && (PyArray_DIM(a, 0) != in->spixels || PyArray_DIM(a, 1) != in->fpixels)) {
        PyErr_Format(PyExc_ValueError, "%s: shape (%zd, %zd) is not the detector's (%d, %d) (spixels, fpixels)", what,
                     (Py_ssize_t)PyArray_DIM(a, 0), (Py_ssize_t)PyArray_DIM(a, 1), in->spixels, in->fpixels);
        Py_CLEAR(a);
    }
    return a;
}

/* An observation: the observed image, optional weights and mask (arrays of
   the detector's shape; None: none) and the loss (0 least squares, 1 Poisson). */
typedef struct observation {
    PyArrayObject *data, *weight, *mask;
    nb_observed obs;
} observation;

static int observation_of(ExperimentObject *self, PyObject *data, PyObject *weight, PyObject *mask, int loss,
                          observation *o)
{
    memset(o, 0, sizeof *o);
    if (loss != NB_LOSS_LSQ && loss != NB_LOSS_POISSON) {
        PyErr_Format(PyExc_ValueError, "loss: %d is neither least squares (0) nor Poisson (1)", loss);
        return 0;
    }
    if (!(o->data = detector_array(self, data, NPY_FLOAT32, "observed")))
        return 0;
    if (weight != Py_None && !(o->weight = detector_array(self, weight, NPY_FLOAT32, "weights")))
        return 0;
    if (mask != Py_None && !(o->mask = detector_array(self, mask, NPY_UINT8, "mask")))
        return 0;
    o->obs.data = PyArray_DATA(o->data);
    o->obs.weight = o->weight ? PyArray_DATA(o->weight) : NULL;
    o->obs.mask = o->mask ? PyArray_DATA(o->mask) : NULL;
    o->obs.loss = (nb_loss)loss;
    return 1;
}

static void observation_free(observation *o)
{
    Py_XDECREF(o->data);
    Py_XDECREF(o->weight);
    Py_XDECREF(o->mask);
}

/* value(name): a differentiable parameter's value as the experiment resolves it. */
static PyObject *Experiment_value(ExperimentObject *self, PyObject *args)
{
    const char *name;
    double v = 0;
    nb_error err = {{0}};
    nb_status st;
    if (!PyArg_ParseTuple(args, "s:value", &name))
        return NULL;
    st = nb_deriv_param_get(self->cfg, name, &v, &err);
    return st == NB_OK ? PyFloat_FromDouble(v) : raise_status(st, &err);
}

/* jacobian(names, index, progress) -> (image, J): the image in double (n
   values) and its derivatives (nparams x n), for the pixels index (a 1-D
   int64 array of s * fpixels + f) or, index None, every pixel. */
static PyObject *Experiment_jacobian(ExperimentObject *self, PyObject *args)
{
    const nb_info *in = nb_experiment_info(self->exp);
    PyObject *no, *io, *po, *keep = NULL, *image = NULL, *jac = NULL, *r = NULL;
    PyArrayObject *ia = NULL;
    const char **names = NULL;
    size_t *index = NULL;
    progress_ctx pc = {0};
    nb_log log = {0};
    nb_error err = {{0}};
    nb_status st;
    npy_intp n, dims[2];
    int np = 0;
    double *img, *J;
    if (!PyArg_ParseTuple(args, "OOO:jacobian", &no, &io, &po) || !(names = name_list(no, &keep, &np)))
        return NULL;
    pc.callable = progress_arg(po);
    if (PyErr_Occurred())
        goto done;
    if (io == Py_None) {
        n = (npy_intp)in->fpixels * in->spixels;
    } else {
        if (!(ia = as_array(io, NPY_INT64, 1, 1, "pixels")))
            goto done;
        n = PyArray_SIZE(ia);
        if (!(index = pixel_indices(ia, n)))
            goto done;
    }
    dims[0] = np;
    dims[1] = n;
    if (!(image = PyArray_EMPTY(1, &dims[1], NPY_DOUBLE, 0)) || !(jac = PyArray_EMPTY(2, dims, NPY_DOUBLE, 0)))
        goto done;
    img = PyArray_DATA((PyArrayObject *)image);
    J = PyArray_DATA((PyArrayObject *)jac);
    log.progress = progress_cb;
    log.progress_ctx = &pc;
    Py_BEGIN_ALLOW_THREADS
    st = nb_jacobian(self->cfg, names, np, index, (size_t)n, img, J, &log, &err);
    Py_END_ALLOW_THREADS
    if ((r = render_result(st, &pc, &err))) {
        Py_DECREF(r);
        r = PyTuple_Pack(2, image, jac);
    }
done:
    Py_XDECREF(image);
    Py_XDECREF(jac);
    Py_XDECREF(ia);
    Py_XDECREF(keep);
    PyMem_Free(index);
    PyMem_Free(names);
    return r;
}

/* loss_gradient(names, observed, weights, mask, loss, want_F, want_model,
   progress) -> (loss, grad, F_grad, hkl_origin, model): the gradient as an
   array of nparams; F_grad (on the structure factor grid, with its first
   indices hkl_origin) and model (the image in double) or None. */
static PyObject *Experiment_loss_gradient(ExperimentObject *self, PyObject *args)
{
    const nb_info *in = nb_experiment_info(self->exp);
    PyObject *no, *obs_o, *w_o, *m_o, *po, *keep = NULL, *grad = NULL, *Fg = NULL, *origin = NULL, *model = NULL;
    PyObject *r = NULL;
    observation ob = {0};
    const char **names = NULL;
    progress_ctx pc = {0};
    nb_log log = {0};
    nb_error err = {{0}};
    nb_status st;
    npy_intp dims[3];
    int np = 0, loss_kind, want_F, want_model;
    double loss = 0, *g, *F = NULL, *m = NULL;
    if (!PyArg_ParseTuple(args, "OOOOippO:loss_gradient", &no, &obs_o, &w_o, &m_o, &loss_kind, &want_F, &want_model,
                          &po)
        || !(names = name_list(no, &keep, &np)))
        return NULL;
    pc.callable = progress_arg(po);
    if (PyErr_Occurred() || !observation_of(self, obs_o, w_o, m_o, loss_kind, &ob))
        goto done;
    dims[0] = np;
    if (!(grad = PyArray_ZEROS(1, dims, NPY_DOUBLE, 0)))
        goto done;
    g = PyArray_DATA((PyArrayObject *)grad);
    if (want_F) {
        const nb_sf *sf = nb_experiment_sf(self->exp);
        int o3[3], d3[3];
        if (!sf) {
            PyErr_SetString(PyExc_ValueError, "F_grad: the experiment has no structure factor table (give hkl and F, "
                                              "F_grid or hkl_path)");
            goto done;
        }
        nb_sf_grid(sf, o3, d3);
        for (int i = 0; i < 3; ++i)
            dims[i] = d3[i];
        if (!(Fg = PyArray_ZEROS(3, dims, NPY_DOUBLE, 0)) || !(origin = Py_BuildValue("(iii)", o3[0], o3[1], o3[2])))
            goto done;
        F = PyArray_DATA((PyArrayObject *)Fg);
    }
    if (want_model) {
        dims[0] = in->spixels;
        dims[1] = in->fpixels;
        if (!(model = PyArray_ZEROS(2, dims, NPY_DOUBLE, 0)))
            goto done;
        m = PyArray_DATA((PyArrayObject *)model);
    }
    log.progress = progress_cb;
    log.progress_ctx = &pc;
    Py_BEGIN_ALLOW_THREADS
    st = nb_loss_gradient(self->cfg, &ob.obs, names, np, &loss, g, F, m, &log, &err);
    Py_END_ALLOW_THREADS
    if ((r = render_result(st, &pc, &err))) {
        Py_DECREF(r);
        r = Py_BuildValue("(dOOOO)", loss, grad, Fg ? Fg : Py_None, origin ? origin : Py_None,
                          model ? model : Py_None);
    }
done:
    observation_free(&ob);
    Py_XDECREF(grad);
    Py_XDECREF(Fg);
    Py_XDECREF(origin);
    Py_XDECREF(model);
    Py_XDECREF(keep);
    PyMem_Free(names);
    return r;
}

/* The lines refinement logs (one per accepted step), into a list. */
static void list_line(void *ctx, nb_log_level level, const char *line)
{
    PyGILState_STATE g = PyGILState_Ensure();
    PyObject *s = PyUnicode_DecodeUTF8(line, (Py_ssize_t)strlen(line), "replace");
    (void)level;
    if (!s || PyList_Append((PyObject *)ctx, s) < 0)
        PyErr_Clear();
    Py_XDECREF(s);
    PyGILState_Release(g);
}

/* Per-parameter bounds: None, or a 1-D array of nparams numbers (NaN: none). */
static int bounds_of(PyObject *o, int np, const char *what, PyArrayObject **a)
{
    *a = NULL;
    if (o == Py_None)
        return 1;
    if (!(*a = as_array(o, NPY_DOUBLE, 1, 1, what)))
        return 0;
    if (PyArray_SIZE(*a) != np) {
        PyErr_Format(PyExc_ValueError, "%s: %zd values for %d parameters", what, (Py_ssize_t)PyArray_SIZE(*a), np);
        Py_CLEAR(*a);
        return 0;
    }
    return 1;
}

static PyObject *double_list(const double *v, int n)
{
    PyObject *l = PyList_New(n > 0 ? n : 0);
    for (int i = 0; l && i < n; ++i) {
        PyObject *x = PyFloat_FromDouble(v[i]);
        if (!x) {
            Py_CLEAR(l);
            break;
        }
        PyList_SET_ITEM(l, i, x);
    }
    return l;
}

/* refine(names, observed, weights, mask, loss, method, lower, upper,
   max_iterations, tolerance, pixel_fraction, seed, progress) -> (Config,
   result dict): a copy of the configuration with the refined values (this
   experiment's is unchanged) and values, std_errors, loss_history, loss,
   iterations, converged, stop and log (the lines of the accepted steps). */
static PyObject *Experiment_refine(ExperimentObject *self, PyObject *args)
{
    PyObject *no, *obs_o, *w_o, *m_o, *lo_o, *hi_o, *seed_o, *po, *keep = NULL, *lines = NULL, *cfg_o = NULL;
    PyObject *d = NULL, *r = NULL;
    PyArrayObject *lo = NULL, *hi = NULL;
    observation ob = {0};
    const char **names = NULL;
    progress_ctx pc = {0};
    nb_log log = {0};
    nb_error err = {{0}};
    nb_refine_options opt;
    nb_refine_result res;
    nb_config *cfg = NULL;
    nb_status st;
    int np = 0, loss_kind, method, max_it;
    double tol, fraction;
    unsigned long seed;
    memset(&res, 0, sizeof res);
    if (!PyArg_ParseTuple(args, "OOOOiiOOiddOO:refine", &no, &obs_o, &w_o, &m_o, &loss_kind, &method, &lo_o, &hi_o,
                          &max_it, &tol, &fraction, &seed_o, &po)
        || !(names = name_list(no, &keep, &np)))
        return NULL;
    pc.callable = progress_arg(po);
    if (PyErr_Occurred() || !observation_of(self, obs_o, w_o, m_o, loss_kind, &ob)
        || !bounds_of(lo_o, np, "lower bounds", &lo) || !bounds_of(hi_o, np, "upper bounds", &hi))
        goto done;
    if (method != NB_REFINE_LM && method != NB_REFINE_LBFGS) {
        PyErr_Format(PyExc_ValueError, "method: %d is neither Levenberg-Marquardt (0) nor L-BFGS (1)", method);
        goto done;
    }
    if (!PyLong_Check(seed_o)) {
        PyErr_Format(PyExc_TypeError, "seed: expected an integer, got %.80s", Py_TYPE(seed_o)->tp_name);
        goto done;
    }
    seed = PyLong_AsUnsignedLong(seed_o);
    if (seed == (unsigned long)-1 && PyErr_Occurred()) {
        PyErr_Clear();
        PyErr_SetString(PyExc_ValueError, "seed: expected an integer from 0 to 2**64 - 1");
        goto done;
    }
    nb_refine_options_init(&opt);
    opt.method = (nb_refine_method)method;
    opt.max_iterations = max_it;
    opt.tolerance = tol;
    opt.lower = lo ? PyArray_DATA(lo) : NULL;
    opt.upper = hi ? PyArray_DATA(hi) : NULL;
    opt.pixel_fraction = fraction;
    opt.seed = seed;
    if (!(lines = PyList_New(0)))
        goto done;
    if (!(cfg = nb_config_copy(self->cfg))) {
        PyErr_NoMemory();
        goto done;
    }
    log.fn = list_line;
    log.ctx = lines;
    log.progress = progress_cb;
    log.progress_ctx = &pc;
    Py_BEGIN_ALLOW_THREADS
    st = nb_refine(cfg, &ob.obs, names, np, &opt, &res, &log, &err);
    Py_END_ALLOW_THREADS
    if (!(r = render_result(st, &pc, &err)))
        goto done;
    Py_CLEAR(r);
    d = Py_BuildValue("{s:N,s:N,s:N,s:d,s:i,s:O,s:s,s:O}", "values", double_list(res.values, res.nparams),
                      "std_errors", double_list(res.std_errors, res.nparams), "loss_history",
                      double_list(res.loss_history, res.nhistory), "loss", res.loss, "iterations", res.iterations,
                      "converged", res.converged ? Py_True : Py_False, "stop", res.stop ? res.stop : "", "log", lines);
    if (!d)
        goto done;
    cfg_o = config_wrap(cfg); /* takes the configuration */
    cfg = NULL;
    if (cfg_o)
        r = PyTuple_Pack(2, cfg_o, d);
done:
    nb_refine_result_free(&res);
    nb_config_free(cfg);
    observation_free(&ob);
    Py_XDECREF(lo);
    Py_XDECREF(hi);
    Py_XDECREF(lines);
    Py_XDECREF(cfg_o);
    Py_XDECREF(d);
    Py_XDECREF(keep);
    PyMem_Free(names);
    return r;
}

static PyMethodDef Experiment_methods[] = {
    {"info", (PyCFunction)(void (*)(void))Experiment_info, METH_NOARGS, "what set-up derived, as a dict"},
    {"sf_grid", (PyCFunction)(void (*)(void))Experiment_sf_grid, METH_NOARGS,
     "((h0, k0, l0), F): the structure factors used, or None"},
    {"simulate", (PyCFunction)(void (*)(void))Experiment_simulate, METH_VARARGS, "simulate(out, progress)"},
    {"render_region", (PyCFunction)(void (*)(void))Experiment_render_region, METH_VARARGS,
     "render_region(out, f0, s0, width, height, progress)"},
    {"render_pixels", (PyCFunction)(void (*)(void))Experiment_render_pixels, METH_VARARGS,
     "render_pixels(out, index, progress)"},
    {"to_counts", (PyCFunction)(void (*)(void))Experiment_to_counts, METH_VARARGS, "to_counts(image, scale, adc, max_I)"},
    {"to_pgm", (PyCFunction)(void (*)(void))Experiment_to_pgm, METH_VARARGS, "to_pgm(image, scale, fallback, rmsd_roi)"},
    {"to_noise", (PyCFunction)(void (*)(void))Experiment_to_noise, METH_VARARGS, "to_noise(image, seed, adc)"},
    {"write_smv", (PyCFunction)(void (*)(void))Experiment_write_smv, METH_VARARGS, "write_smv(path, counts)"},
    {"value", (PyCFunction)(void (*)(void))Experiment_value, METH_VARARGS,
     "value(name): a differentiable parameter's value as resolved"},
    {"jacobian", (PyCFunction)(void (*)(void))Experiment_jacobian, METH_VARARGS,
     "jacobian(names, index, progress) -> (image, J)"},
    {"loss_gradient", (PyCFunction)(void (*)(void))Experiment_loss_gradient, METH_VARARGS,
     "loss_gradient(names, observed, weights, mask, loss, want_F, want_model, progress)"},
    {"refine", (PyCFunction)(void (*)(void))Experiment_refine, METH_VARARGS,
     "refine(names, observed, weights, mask, loss, method, lower, upper, max_iterations, tolerance, "
     "pixel_fraction, seed, progress) -> (Config, result)"},
    {NULL, NULL, 0, NULL}};

static PyObject *Experiment_get_log(ExperimentObject *self, void *closure)
{
    (void)closure;
    return PySequence_List(self->log);
}

static PyObject *Experiment_get_warnings(ExperimentObject *self, void *closure)
{
    (void)closure;
    return PySequence_List(self->warn);
}

static PyGetSetDef Experiment_getset[] = {
    {"log", (getter)Experiment_get_log, NULL, "lines the library logged while setting up", NULL},
    {"warnings", (getter)Experiment_get_warnings, NULL, "the warning lines among them", NULL},
    {NULL, NULL, NULL, NULL, NULL}};

static PyTypeObject ExperimentType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "nanobragg._nanobragg.Experiment",
    .tp_basicsize = sizeof(ExperimentObject),
    .tp_dealloc = (destructor)Experiment_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A libnanobragg experiment (immutable), made from a Config.",
    .tp_methods = Experiment_methods,
    .tp_getset = Experiment_getset,
    .tp_new = Experiment_new,
};

/* ---------------------------------------------------------------- module functions */

static PyObject *param_dict(const nb_param_info *p)
{
    static const char *const KIND[] = {"real", "int", "bool", "array", "choice", "file"};
    return Py_BuildValue("{s:s,s:s,s:i,s:i,s:s,s:d,s:d,s:O,s:z,s:s,s:s,s:s}", "name", p->name, "kind",
                         (unsigned)p->kind < 6 ? KIND[p->kind] : "?", "count", p->count, "min_count", p->min_count,
                         "units", p->units, "min", p->min, "max", p->max, "min_exclusive",
                         p->min_exclusive ? Py_True : Py_False, "choices", p->choices, "default", p->default_text,
                         "help", p->help, "interacts", p->interacts);
}

static PyObject *mod_params(PyObject *mod, PyObject *noargs)
{
    PyObject *l = PyList_New(0);
    (void)mod;
    (void)noargs;
    for (size_t i = 0; l && i < nb_param_count(); ++i) {
        PyObject *d = param_dict(nb_param_at(i));
        if (!d || PyList_Append(l, d) < 0) {
            Py_XDECREF(d);
            Py_DECREF(l);
            return NULL;
        }
        Py_DECREF(d);
    }
    return l;
}

/* -mask and -img as the program reads them (before the flags): geometry
   from the headers, the mask's pixels into the configuration. */
static int apply_headers(app_options *o)
{
    const char *paths[2] = {o->mask_path, o->img_path};
    for (int is_img = 0; is_img < 2; ++is_img) {
        nb_smv_frame fr = {0};
        nb_error err = {{0}};
        nb_status st;
        if (!paths[is_img])
            continue;
        st = nb_smv_read(paths[is_img], &fr, &err);
        if (st == NB_OK)
            st = nb_config_apply_smv_header(o->cfg, &fr, !is_img, &err);
        if (st == NB_OK && !is_img)
            st = nb_config_set_mask(o->cfg, fr.width, fr.height, fr.data, &err);
        nb_smv_frame_free(&fr);
        if (st != NB_OK) {
            if (st == NB_ERR_IO)
                PyErr_Format(PyExc_OSError, "%s", err.msg);
            else
                PyErr_Format(st == NB_ERR_NOMEM ? PyExc_MemoryError : PyExc_ValueError, "%s: %s",
                             paths[is_img], err.msg);
            return 0;
        }
    }
    return 1;
}

static PyObject *opt_path(const char *s) { return s ? PyUnicode_DecodeFSDefault(s) : Py_NewRef(Py_None); }

/* The program's options beyond the configuration, as a dict. */
static PyObject *program_options(const app_options *o)
{
    const char *seed = app_flag_value(o, "-seed");
    PyObject *d = Py_BuildValue("{s:N,s:N,s:N,s:N,s:N,s:N,s:O,s:O,s:d,s:d,s:d,s:O}", "floatfile", opt_path(o->float_path),
                                "intfile", opt_path(o->int_path), "pgmfile", opt_path(o->pgm_path), "noisefile",
                                opt_path(o->noise_path), "img", opt_path(o->img_path), "mask", opt_path(o->mask_path),
                                "write_pgm", o->write_pgm ? Py_True : Py_False, "write_noise",
                                o->write_noise ? Py_True : Py_False, "scale", o->int_scale, "pgmscale", o->pgm_scale,
                                "adc", o->adc, "printout", o->printout ? Py_True : Py_False);
    if (d && put(d, "seed", seed ? PyLong_FromLong(-o->seed) : Py_NewRef(Py_None)) < 0)
        Py_CLEAR(d);
    return d;
}

/* parse_flags(words) -> (Config, options): nanoBragg's command line (without
   the program name) through the program's flag table. */
static PyObject *mod_parse_flags(PyObject *mod, PyObject *args)
{
    PyObject *wo, *seq = NULL, *result = NULL, *cfg = NULL, *opts = NULL;
    char **argv = NULL;
    app_options o;
    nb_error err = {{0}};
    Py_ssize_t n;
    int rc;
    (void)mod;
    if (!PyArg_ParseTuple(args, "O:parse_flags", &wo))
        return NULL;
    if (!(seq = PySequence_Fast(wo, "flags: expected a list of strings")))
        return NULL;
    n = PySequence_Fast_GET_SIZE(seq);
    if (n > 100000 || !(argv = PyMem_Calloc((size_t)n + 2, sizeof *argv))) {
        Py_DECREF(seq);
        return PyErr_NoMemory();
    }
    argv[0] = (char *)"nanobragg";
    for (Py_ssize_t i = 0; i < n; ++i) {
        const char *s = word(PySequence_Fast_GET_ITEM(seq, i), "flags");
        if (!s)
            goto done;
        argv[i + 1] = (char *)s;
    }
    if (app_options_init(&o) != 0) {
        app_options_free(&o);
        PyErr_NoMemory();
        goto done;
    }
    /* Unlike the program: no Fdump.bin cache in the working directory, and
       the library's fixed seed for -misset random unless -misset_seed. */
    if (nb_param_unset(o.cfg, "fdump_path", &err) != NB_OK || nb_param_unset(o.cfg, "misset_seed", &err) != NB_OK) {
        app_options_free(&o);
        raise_status(NB_ERR_NOMEM, &err);
        goto done;
    }
    app_prescan_headers(&o, (int)n + 1, argv);
    if (!apply_headers(&o)) {
        app_options_free(&o);
        goto done;
    }
    app_flags_quiet(1);
    rc = app_parse_flags(&o, (int)n + 1, argv);
    app_flags_quiet(0);
    if (rc != 0) {
        PyErr_SetString(PyExc_ValueError, app_flags_last_error());
        app_options_free(&o);
        goto done;
    }
    opts = program_options(&o);
    cfg = config_wrap(o.cfg); /* takes the configuration */
    o.cfg = NULL;
    if (cfg && opts)
        result = PyTuple_Pack(2, cfg, opts);
    Py_XDECREF(cfg);
    Py_XDECREF(opts);
done:
    PyMem_Free(argv);
    Py_DECREF(seq);
    return result;
}

/* write_float(path, data): float32 values, any shape, as raw little-endian floats. */
static PyObject *mod_write_float(PyObject *mod, PyObject *args)
{
    PyObject *path, *o;
    PyArrayObject *a;
    nb_error err = {{0}};
    nb_status st;
    (void)mod;
    if (!PyArg_ParseTuple(args, "O&O:write_float", PyUnicode_FSConverter, &path, &o))
        return NULL;
    if (!(a = as_array(o, NPY_FLOAT32, 0, 32, "image"))) {
        Py_DECREF(path);
        return NULL;
    }
    st = nb_write_float(PyBytes_AS_STRING(path), PyArray_DATA(a), (size_t)PyArray_SIZE(a), &err);
    Py_DECREF(a);
    Py_DECREF(path);
    return st == NB_OK ? Py_NewRef(Py_None) : raise_status(st, &err);
}

/* write_pgm(path, bytes, scale): a 2-D uint8 array as a P5 PGM. */
static PyObject *mod_write_pgm(PyObject *mod, PyObject *args)
{
    PyObject *path, *o;
    PyArrayObject *a;
    double scale;
    nb_error err = {{0}};
    nb_status st;
    (void)mod;
    if (!PyArg_ParseTuple(args, "O&Od:write_pgm", PyUnicode_FSConverter, &path, &o, &scale))
        return NULL;
    if (!(a = as_array(o, NPY_UINT8, 2, 2, "image"))) {
        Py_DECREF(path);
        return NULL;
    }
    if (PyArray_DIM(a, 0) < 1 || PyArray_DIM(a, 1) < 1 || PyArray_DIM(a, 0) > 1000000 || PyArray_DIM(a, 1) > 1000000) {
        PyErr_SetString(PyExc_ValueError, "image: expected 1 to 1e6 pixels along each axis");
        st = NB_OK;
    } else {
        st = nb_write_pgm(PyBytes_AS_STRING(path), (int)PyArray_DIM(a, 1), (int)PyArray_DIM(a, 0), PyArray_DATA(a),
                          scale, &err);
    }
    Py_DECREF(a);
    Py_DECREF(path);
    if (PyErr_Occurred())
        return NULL;
    return st == NB_OK ? Py_NewRef(Py_None) : raise_status(st, &err);
}

/* deriv_params() -> the names of the differentiable parameters */
static PyObject *mod_deriv_params(PyObject *mod, PyObject *noargs)
{
    int n = nb_deriv_param_count();
    PyObject *l = PyList_New(n > 0 ? n : 0);
    (void)mod;
    (void)noargs;
    for (int i = 0; l && i < n; ++i) {
        const char *name = nb_deriv_param_name(i);
        PyObject *s = PyUnicode_FromString(name ? name : "");
        if (!s) {
            Py_CLEAR(l);
            break;
        }
        PyList_SET_ITEM(l, i, s);
    }
    return l;
}

static PyObject *mod_version(PyObject *mod, PyObject *noargs)
{
    (void)mod;
    (void)noargs;
    return PyUnicode_FromString(nb_version());
}

static PyMethodDef module_methods[] = {
    {"params", (PyCFunction)(void (*)(void))mod_params, METH_NOARGS, "the library's parameter table"},
    {"parse_flags", (PyCFunction)(void (*)(void))mod_parse_flags, METH_VARARGS,
     "parse_flags(words) -> (Config, program options)"},
    {"write_float", (PyCFunction)(void (*)(void))mod_write_float, METH_VARARGS, "write_float(path, data)"},
    {"write_pgm", (PyCFunction)(void (*)(void))mod_write_pgm, METH_VARARGS, "write_pgm(path, bytes, scale)"},
    {"deriv_params", (PyCFunction)(void (*)(void))mod_deriv_params, METH_NOARGS,
     "the names of the differentiable parameters"},
    {"version", (PyCFunction)(void (*)(void))mod_version, METH_NOARGS, "the library's version"},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    .m_name = "nanobragg._nanobragg",
    .m_doc = "C layer of nanobragg (libnanobragg over numpy arrays).",
    .m_size = -1,
    .m_methods = module_methods,
};

PyMODINIT_FUNC PyInit__nanobragg(void);
PyMODINIT_FUNC PyInit__nanobragg(void)
{
    PyObject *m;
    import_array();
    if (PyType_Ready(&ConfigType) < 0 || PyType_Ready(&ExperimentType) < 0)
        return NULL;
    if (!(m = PyModule_Create(&module_def)))
        return NULL;
    CancelledError = PyErr_NewExceptionWithDoc("nanobragg.CancelledError",
                                               "A render was cancelled by its progress callback.",
                                               PyExc_RuntimeError, NULL);
    if (!CancelledError || PyModule_AddObjectRef(m, "CancelledError", CancelledError) < 0
        || PyModule_AddObjectRef(m, "Config", (PyObject *)&ConfigType) < 0
        || PyModule_AddObjectRef(m, "Experiment", (PyObject *)&ExperimentType) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
