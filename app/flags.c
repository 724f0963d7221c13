/*
 * flags.c - the one flag table of the nanobragg program.  Every flag of
 * nanoBragg, with its aliases, is one row: its arguments, where the value goes,
 * the unit conversion, the allowed range and its help line.  Names match
 * exactly (nanoBragg matched substrings, so that e.g. -twotheta_axis also
 * reset -twotheta); numbers are parsed completely and checked.
 */
#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "options.h"

#define RTD (180.0 * M_1_PI)
#define POS DBL_MIN /* smallest allowed value for "must be positive" */
#define BIG 1e300

typedef enum {
    F_SET,     /* switch: int field = (int)scale */
    F_REAL,    /* double field = value * scale */
    F_INT,     /* int field = value */
    F_NREAL,   /* double field = (integer) value: unit-cell counts */
    F_VEC3,    /* double[3] field = three values */
    F_PATH,    /* const char * field = argument */
    F_SPECIAL  /* handled by the row's function */
} flag_kind;

/* Sections of -h, in the order printed. */
enum {
    T_CRYSTAL,
    T_SF,
    T_BEAM,
    T_DETECTOR,
    T_SAMPLING,
    T_NOISE,
    T_OUTPUTS,
    T_PROGRAM,
    T_COMPAT,
    T_COUNT
};

/* Side effects nanoBragg attaches to some flags. */
enum {
    E_PIVOT_BEAM = 1,
    E_PIVOT_SAMPLE = 2,
    E_CUSTOM = 4,
    E_PGM = 8,
    E_NOISE = 16,
    E_PIX0 = 32,
    E_USER_CELL = 64
};

typedef struct flag flag;
typedef int (*flag_fn)(app_options *o, const flag *f, char **args, int avail, int *used);

struct flag {
    const char *name;
    flag_kind kind;
    size_t offset;
    double scale, min, max;
    int effects;
    const char *args;  /* argument synopsis for -h */
    const char *units;
    const char *help;
    flag_fn fn;
    int topic; /* section of -h */
};

#define CFG(field) offsetof(app_options, cfg.field)
#define OPT(field) offsetof(app_options, field)

static int fail(const flag *f, const char *what, const char *value)
{
    fprintf(stderr, "nanobragg: error: %s %s%s%s\n", f->name, what, value ? ": " : "", value ? value : "");
    return 2;
}

static int parse_real(const char *s, double *v)
{
    char *end;
    errno = 0;
    *v = strtod(s, &end);
    return end != s && *end == '\0' && errno != ERANGE && isfinite(*v);
}

static int parse_int(const char *s, long *v)
{
    char *end;
    errno = 0;
    *v = strtol(s, &end, 10);
    return end != s && *end == '\0' && errno != ERANGE && *v >= -2147483647L && *v <= 2147483647L;
}

/* "expected ..." for a row's range, in words. */
static void describe_range(const flag *f, char *buf, size_t size)
{
    const char *u = f->units && f->units[0] ? f->units : "";
    if (f->min == POS && f->max >= BIG)
        snprintf(buf, size, "a positive number%s%s", u[0] ? " of " : "", u);
    else if (f->max >= BIG)
        snprintf(buf, size, "at least %g%s%s", f->min, u[0] ? " " : "", u);
    else
        snprintf(buf, size, "%g to %g%s%s", f->min, f->max, u[0] ? " " : "", u);
}

/* Read n numbers into v, checking the row's range; 0 or an exit code. */
static int numbers(const flag *f, char **args, int avail, int n, double *v)
{
    char msg[200], range[100];
    if (avail < n) {
        snprintf(msg, sizeof msg, "needs %d value%s (%s)", n, n > 1 ? "s" : "", f->args);
        return fail(f, msg, NULL);
    }
    for (int i = 0; i < n; ++i) {
        if (!parse_real(args[i], &v[i])) {
            snprintf(msg, sizeof msg, "expects a number, got '%s'", args[i]);
            return fail(f, msg, NULL);
        }
        if (v[i] < f->min || v[i] > f->max) {
            describe_range(f, range, sizeof range);
            snprintf(msg, sizeof msg, "value %s is out of range (expected %s)", args[i], range);
            return fail(f, msg, NULL);
        }
    }
    return 0;
}

static int integer(const flag *f, char **args, int avail, long *v)
{
    char msg[160];
    if (avail < 1)
        return fail(f, "needs a value", f->args);
    if (!parse_int(args[0], v)) {
        snprintf(msg, sizeof msg, "expects an integer, got '%s'", args[0]);
        return fail(f, msg, NULL);
    }
    if (*v < f->min || *v > f->max) {
        snprintf(msg, sizeof msg, "value %s is out of range (expected %g to %g)", args[0], f->min, f->max);
        return fail(f, msg, NULL);
    }
    return 0;
}

static double *dfield(app_options *o, const flag *f) { return (double *)((char *)o + f->offset); }
static int *ifield(app_options *o, const flag *f) { return (int *)((char *)o + f->offset); }

/* ---------------------------------------------------------------- specials */

static int fn_N(app_options *o, const flag *f, char **args, int avail, int *used)
{
    long n;
    int rc = integer(f, args, avail, &n);
    if (rc)
        return rc;
    o->cfg.Na = o->cfg.Nb = o->cfg.Nc = (double)n;
    *used = 1;
    return 0;
}

/* -cell a [b c alpha beta gamma]: as many numbers as follow, up to six. */
static int fn_cell(app_options *o, const flag *f, char **args, int avail, int *used)
{
    double v[6] = {0, 0, 0, 0, 0, 0};
    int n = 0;
    while (n < 6 && n < avail && parse_real(args[n], &v[n]))
        ++n;
    if (n == 0)
        return fail(f, "needs the cell: a b c alpha beta gamma (Angstrom, degrees)", NULL);
    for (int i = 0; i < n; ++i)
        if (!(v[i] > 0.0) || (i >= 3 && v[i] >= 180.0))
            return fail(f, "has an impossible value", args[i]);
    o->cfg.user_cell = 1;
    o->cell_values = n;
    for (int i = 0; i < 3; ++i) {
        o->cfg.cell_A[i] = v[i];
        o->cfg.cell_rad[i] = v[i + 3] / RTD;
    }
    *used = n;
    return 0;
}

static int fn_misset(app_options *o, const flag *f, char **args, int avail, int *used)
{
    double v[3];
    int rc;
    if (avail >= 1 && strcmp(args[0], "random") == 0) {
        o->cfg.misset_mode = -1;
        *used = 1;
        return 0;
    }
    rc = numbers(f, args, avail, 3, v);
    if (rc)
        return rc;
    o->cfg.misset_mode = 1;
    for (int i = 0; i < 3; ++i)
        o->cfg.misset_rad[i] = v[i] / RTD;
    *used = 3;
    return 0;
}

static int fn_sample_size(app_options *o, const flag *f, char **args, int avail, int *used)
{
    double v;
    int rc = numbers(f, args, avail, 1, &v);
    if (rc)
        return rc;
    o->cfg.sample_x_m = o->cfg.sample_y_m = o->cfg.sample_z_m = v / 1000;
    *used = 1;
    return 0;
}

static int fn_detsize(app_options *o, const flag *f, char **args, int avail, int *used)
{
    double v;
    int rc = numbers(f, args, avail, 1, &v);
    if (rc)
        return rc;
    o->cfg.detsize_f_m = o->cfg.detsize_s_m = v / 1000.0;
    *used = 1;
    return 0;
}

static int fn_detpixels(app_options *o, const flag *f, char **args, int avail, int *used)
{
    long n;
    int rc = integer(f, args, avail, &n);
    if (rc)
        return rc;
    o->cfg.fpixels = o->cfg.spixels = (int)n;
    *used = 1;
    return 0;
}

static int fn_divergence(app_options *o, const flag *f, char **args, int avail, int *used)
{
    double v;
    int rc = numbers(f, args, avail, 1, &v);
    if (rc)
        return rc;
    o->cfg.hdivrange_rad = o->cfg.vdivrange_rad = v / 1000.0;
    *used = 1;
    return 0;
}

static int fn_divsteps(app_options *o, const flag *f, char **args, int avail, int *used)
{
    long n;
    int rc = integer(f, args, avail, &n);
    if (rc)
        return rc;
    o->cfg.hdivsteps = o->cfg.vdivsteps = (int)n;
    *used = 1;
    return 0;
}

/* -detector_abs <um>|inf|0: attenuation depth; inf or 0 turn absorption off. */
static int fn_detector_abs(app_options *o, const flag *f, char **args, int avail, int *used)
{
    double v;
    int rc;
    if (avail >= 1 && strcmp(args[0], "inf") == 0) {
        o->cfg.detector_thick_m = 0.0;
        o->cfg.detector_mu = 0.0;
        *used = 1;
        return 0;
    }
    rc = numbers(f, args, avail, 1, &v);
    if (rc)
        return rc;
    if (v == 0.0) {
        o->cfg.detector_thick_m = 0.0;
        o->cfg.detector_mu = 0.0;
    } else {
        o->cfg.detector_mu = 1.0 / (v * 1e-6);
    }
    *used = 1;
    return 0;
}

static int fn_pivot(app_options *o, const flag *f, char **args, int avail, int *used)
{
    if (avail < 1)
        return fail(f, "needs a value", "beam|sample");
    if (strcmp(args[0], "sample") == 0)
        o->cfg.pivot = NB_PIVOT_SAMPLE;
    else if (strcmp(args[0], "beam") == 0)
        o->cfg.pivot = NB_PIVOT_BEAM;
    else
        return fail(f, "expects beam or sample, got", args[0]);
    *used = 1;
    return 0;
}

static int fn_roi(app_options *o, const flag *f, char **args, int avail, int *used)
{
    if (avail < 4)
        return fail(f, "needs 4 values", f->args);
    for (int i = 0; i < 4; ++i) {
        long v;
        int rc = integer(f, args + i, avail - i, &v);
        if (rc)
            return rc;
        o->cfg.roi[i] = (int)v;
    }
    *used = 4;
    return 0;
}

static int fn_two_ints(app_options *o, const flag *f, char **args, int avail, int *used)
{
    long v[2];
    if (avail < 2)
        return fail(f, "needs 2 values", f->args);
    for (int i = 0; i < 2; ++i) {
        int rc = integer(f, args + i, avail - i, &v[i]);
        if (rc)
            return rc;
    }
    if (strcmp(f->name, "-printout_pixel") == 0) {
        o->printout = 1;
        o->printout_pixel[0] = (int)v[0];
        o->printout_pixel[1] = (int)v[1];
    }
    *used = 2;
    return 0;
}

static int fn_energy(app_options *o, const flag *f, char **args, int avail, int *used)
{
    double v;
    int rc = numbers(f, args, avail, 1, &v);
    if (rc)
        return rc;
    o->cfg.lambda0_m = (12398.42 / v) / 1.0e10;
    *used = 1;
    return 0;
}

/* Seeds are stored negated, as nanoBragg does. */
static int fn_seed(app_options *o, const flag *f, char **args, int avail, int *used)
{
    long v;
    int rc = integer(f, args, avail, &v);
    if (rc)
        return rc;
    if (strcmp(f->name, "-seed") == 0)
        o->seed = -v;
    else if (strcmp(f->name, "-mosaic_seed") == 0)
        o->cfg.mosaic_seed = -v;
    else
        o->cfg.misset_seed = -v;
    *used = 1;
    return 0;
}

static int fn_precision(app_options *o, const flag *f, char **args, int avail, int *used)
{
    if (avail < 1)
        return fail(f, "needs a value", "single|double");
    if (strcmp(args[0], "single") == 0)
        o->cfg.precision = NB_PRECISION_SINGLE;
    else if (strcmp(args[0], "double") == 0)
        o->cfg.precision = NB_PRECISION_DOUBLE;
    else
        return fail(f, "expects single or double, got", args[0]);
    *used = 1;
    return 0;
}

/* -polar sets the Kahn factor and turns polarization back on (a later
   -nopolar turns it off again): the last of the two wins, as in nanoBragg. */
static int fn_polar(app_options *o, const flag *f, char **args, int avail, int *used)
{
    double v;
    int rc = numbers(f, args, avail, 1, &v);
    if (rc)
        return rc;
    o->cfg.polarization = v;
    o->cfg.nopolar = 0;
    *used = 1;
    return 0;
}

/* Spellings found in nanoBragg's examples and README that it silently
   ignored (-hdiv, -vdiv, -dispstep, -source_distance, -xdet_vector, ...):
   accepted with no effect, as there, taking as many values as the row's
   synopsis names, with a warning naming the flag probably meant. */
static int fn_ignored_hint(app_options *o, const flag *f, char **args, int avail, int *used)
{
    const char *see = strstr(f->help, "see ");
    int n = 1;
    (void)o;
    for (const char *c = f->args; *c; ++c)
        n += *c == ' ';
    if (avail < n)
        return fail(f, n > 1 ? "needs 3 values" : "needs a value", f->args);
    fprintf(stderr, "nanobragg: warning: %s %s%s has no effect (nanoBragg ignored it too)%s%.*s%s\n", f->name,
            args[0], n > 1 ? " ..." : "", see ? "; did you mean " : "", see ? (int)strcspn(see + 4, ")") : 0,
            see ? see + 4 : "", see ? "?" : "");
    *used = n;
    return 0;
}

/* Accepted for compatibility; nanoBragg reads these but never uses them. */
static int fn_ignored(app_options *o, const flag *f, char **args, int avail, int *used)
{
    (void)o;
    if (avail < 1)
        return fail(f, "needs a value", f->args);
    fprintf(stderr, "nanobragg: warning: %s %s has no effect (as in nanoBragg)\n", f->name, args[0]);
    *used = 1;
    return 0;
}

/* ---------------------------------------------------------------- the table */

#define SW(n, off, val, eff, help, t) {n, F_SET, off, val, 0, 0, eff, "", NULL, help, NULL, t}
#define REAL(n, off, scale, lo, hi, eff, units, help, t) {n, F_REAL, off, scale, lo, hi, eff, "<" units ">", units, help, NULL, t}
#define FACTOR(n, off, lo, hi, eff, arg, help, t) {n, F_REAL, off, 1, lo, hi, eff, "<" arg ">", NULL, help, NULL, t}
#define INT(n, off, lo, hi, help, t) {n, F_INT, off, 1, lo, hi, 0, "<int>", NULL, help, NULL, t}
#define NCELL(n, off, help, t) {n, F_NREAL, off, 1, 0, 1e6, 0, "<int>", NULL, help, NULL, t}
#define VEC(n, off, eff, help, t) {n, F_VEC3, off, 1, -BIG, BIG, eff, "<x y z>", NULL, help, NULL, t}
#define PATH(n, off, eff, help, t) {n, F_PATH, off, 0, 0, 0, eff, "<file>", NULL, help, NULL, t}
#define SPEC(n, fn, lo, hi, args, units, help, t) {n, F_SPECIAL, 0, 1, lo, hi, 0, args, units, help, fn, t}

/* Sorted by name (strcmp order) for bsearch; checked at start-up. */
static const flag FLAGS[] = {
    SW("--help", OPT(show_help), 1, 0, "print this list and exit", T_PROGRAM),
    SW("--version", OPT(show_version), 1, 0, "print the version and build and exit", T_PROGRAM),
    SPEC("-4stol", fn_ignored, 0, 0, "<file>", NULL, "S(4 stol) table (read but unused, as in nanoBragg)", T_COMPAT),
    SPEC("-MW", fn_ignored, 0, 0, "<g/mol>", NULL, "molecular weight (unused, as in nanoBragg)", T_COMPAT),
    SPEC("-N", fn_N, 0, 1000000, "<int>", NULL, "unit cells along a, b and c", T_CRYSTAL),
    NCELL("-Na", CFG(Na), "unit cells along a", T_CRYSTAL),
    NCELL("-Nb", CFG(Nb), "unit cells along b", T_CRYSTAL),
    NCELL("-Nc", CFG(Nc), "unit cells along c", T_CRYSTAL),
    REAL("-ORGX", CFG(ORGX), 1, -BIG, BIG, E_PIVOT_SAMPLE, "pixels", "XDS-convention beam centre, fast axis (pivot: sample)", T_DETECTOR),
    REAL("-ORGY", CFG(ORGY), 1, -BIG, BIG, E_PIVOT_SAMPLE, "pixels", "XDS-convention beam centre, slow axis (pivot: sample)", T_DETECTOR),
    SPEC("-Q", fn_ignored, 0, 0, "<file>", NULL, "S(Q) table (read but unused, as in nanoBragg)", T_COMPAT),
    REAL("-Xbeam", CFG(Xbeam_m), 1e-3, -BIG, BIG, E_PIVOT_BEAM, "mm", "direct-beam position, convention's X (pivot: beam)", T_DETECTOR),
    REAL("-Xclose", CFG(Xclose_m), 1e-3, -BIG, BIG, E_PIVOT_SAMPLE, "mm", "near point on the detector, X (pivot: sample)", T_DETECTOR),
    REAL("-Ybeam", CFG(Ybeam_m), 1e-3, -BIG, BIG, E_PIVOT_BEAM, "mm", "direct-beam position, convention's Y (pivot: beam)", T_DETECTOR),
    REAL("-Yclose", CFG(Yclose_m), 1e-3, -BIG, BIG, E_PIVOT_SAMPLE, "mm", "near point on the detector, Y (pivot: sample)", T_DETECTOR),
    REAL("-adc", OPT(adc), 1, -BIG, BIG, 0, "counts", "offset added to SMV pixels (default 40)", T_NOISE),
    SW("-adxv", CFG(convention), NB_CONV_ADXV, E_PIVOT_BEAM, "ADXV beam-centre convention", T_DETECTOR),
    VEC("-beam_vector", CFG(beam_vector), E_CUSTOM, "direction of the x-ray beam (custom convention)", T_BEAM),
    REAL("-beamsize", CFG(beamsize_m), 1e-3, 0, BIG, 0, "mm", "beam size, with -flux and -exposure (default 0.1)", T_BEAM),
    SW("-binary_spots", CFG(shape), NB_SHAPE_TOPHAT, 0, "same as -tophat_spots", T_CRYSTAL),
    SPEC("-cell", fn_cell, 0, 0, "<a b c al be ga>", "A, deg", "unit cell (Angstrom and degrees)", T_CRYSTAL),
    REAL("-close_distance", CFG(close_distance_m), 1e-3, -BIG, BIG, E_PIVOT_SAMPLE, "mm", "sample to detector plane along its normal (pivot: sample)", T_DETECTOR),
    SW("-coherent", OPT(coherent), 1, 0, "accepted for compatibility (no effect, as in nanoBragg)", T_COMPAT),
    SW("-curved_det", CFG(curved_detector), 1, 0, "spherical detector: all pixels at the same distance", T_DETECTOR),
    REAL("-default_F", CFG(default_F), 1, -BIG, BIG, 0, "electrons", "structure factor of reflections not in -hkl (default 0)", T_SF),
    SPEC("-density", fn_ignored, 0, 0, "<g/cm^3>", NULL, "sample density (unused, as in nanoBragg)", T_COMPAT),
    SW("-denzo", CFG(convention), NB_CONV_DENZO, E_PIVOT_BEAM, "DENZO beam-centre convention", T_DETECTOR),
    SPEC("-detector_abs", fn_detector_abs, 0, BIG, "<um>|inf", "um", "sensor attenuation depth (inf or 0: no absorption)", T_DETECTOR),
    SPEC("-detector_absorb", fn_detector_abs, 0, BIG, "<um>|inf", "um", "same as -detector_abs", T_DETECTOR),
    SPEC("-detector_absorption", fn_detector_abs, 0, BIG, "<um>|inf", "um", "same as -detector_abs", T_DETECTOR),
    REAL("-detector_rotx", CFG(detector_rot_rad[0]), 1 / RTD, -BIG, BIG, 0, "deg", "detector rotation about x", T_DETECTOR),
    REAL("-detector_roty", CFG(detector_rot_rad[1]), 1 / RTD, -BIG, BIG, 0, "deg", "detector rotation about y", T_DETECTOR),
    REAL("-detector_rotz", CFG(detector_rot_rad[2]), 1 / RTD, -BIG, BIG, 0, "deg", "detector rotation about z", T_DETECTOR),
    REAL("-detector_thick", CFG(detector_thick_m), 1e-6, 0, BIG, 0, "um", "sensor thickness", T_DETECTOR),
    INT("-detector_thicksteps", CFG(detector_thicksteps), 0, 10000, "sensor layers (default 1)", T_DETECTOR),
    SPEC("-detpixels", fn_detpixels, 1, 1000000, "<int>", NULL, "square detector size in pixels", T_DETECTOR),
    INT("-detpixels_f", CFG(fpixels), 1, 1000000, "fast-axis pixels", T_DETECTOR),
    INT("-detpixels_s", CFG(spixels), 1, 1000000, "slow-axis pixels", T_DETECTOR),
    INT("-detpixels_x", CFG(fpixels), 1, 1000000, "same as -detpixels_f", T_DETECTOR),
    INT("-detpixels_y", CFG(spixels), 1, 1000000, "same as -detpixels_s", T_DETECTOR),
    SPEC("-detsize", fn_detsize, POS, BIG, "<mm>", "mm", "square detector size", T_DETECTOR),
    REAL("-detsize_f", CFG(detsize_f_m), 1e-3, POS, BIG, 0, "mm", "detector size along the fast axis", T_DETECTOR),
    REAL("-detsize_s", CFG(detsize_s_m), 1e-3, POS, BIG, 0, "mm", "detector size along the slow axis", T_DETECTOR),
    SW("-dials", CFG(convention), NB_CONV_DIALS, E_PIVOT_BEAM, "DIALS convention", T_DETECTOR),
    REAL("-dispersion", CFG(dispersion), 0.01, 0, 1000, 0, "percent", "spectral width delta-lambda/lambda", T_BEAM),
    SPEC("-dispstep", fn_ignored_hint, 0, 0, "<int>", NULL, "no effect, as in nanoBragg (see -dispsteps)", T_COMPAT),
    INT("-dispsteps", CFG(dispsteps), 0, 1000000, "wavelengths across the dispersion", T_BEAM),
    REAL("-distance", CFG(distance_m), 1e-3, POS, BIG, E_PIVOT_BEAM, "mm", "sample to detector centre (pivot: beam)", T_DETECTOR),
    SPEC("-divergence", fn_divergence, 0, BIG, "<mrad>", "mrad", "horizontal and vertical divergence range", T_BEAM),
    SPEC("-divsteps", fn_divsteps, 0, 100000, "<int>", NULL, "divergence steps, both directions", T_BEAM),
    REAL("-dmin", CFG(dmin_m), 1e-10, 0, BIG, 0, "A", "skip scattering beyond this resolution", T_SAMPLING),
    SPEC("-dump_pixel", fn_two_ints, -1, 2147483647, "<s f>", NULL, "accepted for compatibility (no effect)", T_COMPAT),
    SPEC("-energy", fn_energy, POS, BIG, "<eV>", "eV", "x-ray photon energy (alternative to -lambda)", T_BEAM),
    REAL("-exposure", CFG(exposure_s), 1, 0, BIG, 0, "s", "exposure time, with -flux and -beamsize (default 1)", T_BEAM),
    VEC("-fdet_vector", CFG(fdet_vector), E_CUSTOM, "fast-axis direction of the detector (custom convention)", T_DETECTOR),
    PATH("-floatfile", OPT(float_path), 0, "raw 4-byte float image output (default floatimage.bin)", T_OUTPUTS),
    PATH("-floatimage", OPT(float_path), 0, "same as -floatfile", T_OUTPUTS),
    REAL("-fluence", CFG(fluence), 1, 0, BIG, 0, "photons/m^2", "integrated incident fluence", T_BEAM),
    REAL("-flux", CFG(flux), 1, 0, BIG, 0, "photons/s", "incident flux, with -exposure and -beamsize", T_BEAM),
    FACTOR("-fudge", CFG(fudge), 0, BIG, 0, "factor", "spot-shape scale factor", T_CRYSTAL),
    SW("-gauss_xtal", CFG(shape), NB_SHAPE_GAUSS, 0, "Gaussian spots", T_CRYSTAL),
    SW("-h", OPT(show_help), 1, 0, "print this list and exit", T_PROGRAM),
    SPEC("-hdiv", fn_ignored_hint, 0, 0, "<mrad>", NULL, "no effect, as in nanoBragg (see -hdivrange)", T_COMPAT),
    REAL("-hdivrange", CFG(hdivrange_rad), 1e-3, 0, BIG, 0, "mrad", "horizontal divergence range", T_BEAM),
    REAL("-hdivstep", CFG(hdivstep_rad), 1e-3, 0, BIG, 0, "mrad", "horizontal divergence step", T_BEAM),
    INT("-hdivsteps", CFG(hdivsteps), 0, 100000, "horizontal divergence steps", T_BEAM),
    REAL("-height", CFG(sample_z_m), 1e-3, 0, BIG, 0, "mm", "same as -sample_height", T_CRYSTAL),
    PATH("-hkl", CFG(hkl_path), 0, "structure factors: text lines 'h k l F'", T_SF),
    PATH("-img", OPT(img_path), 0, "take detector geometry from an SMV header", T_DETECTOR),
    SW("-interpolate", CFG(interpolate), NB_INTERP_ON, 0, "tricubic interpolation of F between reflections", T_SF),
    PATH("-intfile", OPT(int_path), 0, "SMV image output, scaled (default intimage.img)", T_OUTPUTS),
    PATH("-intimage", OPT(int_path), 0, "same as -intfile", T_OUTPUTS),
    REAL("-lambda", CFG(lambda0_m), 1e-10, POS, BIG, 0, "A", "x-ray wavelength", T_BEAM),
    PATH("-mask", OPT(mask_path), 0, "SMV mask: zero pixels are skipped; geometry from its header", T_DETECTOR),
    PATH("-mat", CFG(mat_path), 0, "MOSFLM orientation matrix (alternative to -cell)", T_CRYSTAL),
    PATH("-matrix", CFG(mat_path), 0, "same as -mat", T_CRYSTAL),
    SPEC("-misset", fn_misset, -BIG, BIG, "<rx ry rz>|random", "deg", "crystal rotation about x, y, z", T_CRYSTAL),
    SPEC("-misset_seed", fn_seed, -2147483647, 2147483647, "<int>", NULL, "seed of -misset random", T_CRYSTAL),
    SPEC("-molec", fn_ignored, 0, 0, "<g/mol>", NULL, "same as -MW", T_COMPAT),
    REAL("-mosaic", CFG(mosaic_spread_rad), 1 / RTD, 0, BIG, 0, "deg", "isotropic mosaic spread", T_CRYSTAL),
    INT("-mosaic_dom", CFG(mosaic_domains), 0, 100000000, "number of mosaic domains", T_CRYSTAL),
    INT("-mosaic_domains", CFG(mosaic_domains), 0, 100000000, "same as -mosaic_dom", T_CRYSTAL),
    SPEC("-mosaic_seed", fn_seed, -2147483647, 2147483647, "<int>", NULL, "seed of the mosaic domains", T_CRYSTAL),
    REAL("-mosaic_spr", CFG(mosaic_spread_rad), 1 / RTD, 0, BIG, 0, "deg", "same as -mosaic", T_CRYSTAL),
    REAL("-mosaic_spread", CFG(mosaic_spread_rad), 1 / RTD, 0, BIG, 0, "deg", "same as -mosaic", T_CRYSTAL),
    REAL("-mosaici", CFG(mosaic_spread_rad), 1 / RTD, 0, BIG, 0, "deg", "same as -mosaic", T_CRYSTAL),
    REAL("-mosaicity", CFG(mosaic_spread_rad), 1 / RTD, 0, BIG, 0, "deg", "same as -mosaic", T_CRYSTAL),
    SW("-mosflm", CFG(convention), NB_CONV_MOSFLM, E_PIVOT_BEAM, "MOSFLM convention (default)", T_DETECTOR),
    SW("-nointerpolate", CFG(interpolate), NB_INTERP_OFF, 0, "no interpolation of F", T_SF),
    PATH("-noisefile", OPT(noise_path), E_NOISE, "SMV image with Poisson noise (default noiseimage.img)", T_OUTPUTS),
    PATH("-noiseimage", OPT(noise_path), E_NOISE, "same as -noisefile", T_OUTPUTS),
    SW("-nonoise", OPT(write_noise), 0, 0, "do not write the noise image", T_NOISE),
    SW("-nopgm", OPT(write_pgm), 0, 0, "do not write the PGM image", T_OUTPUTS),
    SW("-nopolar", CFG(nopolar), 1, 0, "no polarization correction", T_BEAM),
    SW("-noprogress", OPT(progress), 0, 0, "no progress meter", T_PROGRAM),
    VEC("-odet_vector", CFG(odet_vector), E_CUSTOM, "detector normal (custom convention)", T_DETECTOR),
    REAL("-osc", CFG(osc_rad), 1 / RTD, 0, BIG, 0, "deg", "oscillation range about the spindle", T_SAMPLING),
    INT("-oversample", CFG(oversample), 0, 1000, "sub-pixels per pixel edge (default: auto)", T_SAMPLING),
    SW("-oversample_omega", CFG(oversample_omega), 1, 0, "solid angle per sub-pixel", T_SAMPLING),
    SW("-oversample_polar", CFG(oversample_polar), 1, 0, "polarization per sub-pixel", T_SAMPLING),
    SW("-oversample_thick", CFG(oversample_thick), 1, 0, "absorption per sub-pixel", T_SAMPLING),
    PATH("-pgmfile", OPT(pgm_path), E_PGM, "8-bit PGM image output (default image.pgm)", T_OUTPUTS),
    PATH("-pgmimage", OPT(pgm_path), E_PGM, "same as -pgmfile", T_OUTPUTS),
    FACTOR("-pgmscale", OPT(pgm_scale), -BIG, BIG, E_PGM, "scale", "PGM grey levels per photon (default: 250/(5 rmsd))", T_OUTPUTS),
    REAL("-phi", CFG(phi0_rad), 1 / RTD, -BIG, BIG, 0, "deg", "starting spindle angle", T_SAMPLING),
    REAL("-phistep", CFG(phistep_rad), 1 / RTD, 0, BIG, 0, "deg", "spindle step", T_SAMPLING),
    INT("-phisteps", CFG(phisteps), 0, 100000000, "spindle steps", T_SAMPLING),
    SPEC("-pivot", fn_pivot, 0, 0, "beam|sample", NULL, "detector rotation pivot (conventions other than custom impose theirs)", T_DETECTOR),
    VEC("-pix0_vector", CFG(pix0_vector_m), E_CUSTOM | E_PIX0, "sample to first pixel (m; custom convention)", T_DETECTOR),
    REAL("-pixel", CFG(pixel_m), 1e-3, POS, BIG, 0, "mm", "pixel size (default 0.1)", T_DETECTOR),
    SW("-point_pixel", CFG(point_pixel), 1, 0, "1/R^2 solid angle, no obliquity", T_DETECTOR),
    SPEC("-polar", fn_polar, -BIG, BIG, "<factor>", NULL, "Kahn polarization factor; turns polarization on (default 0)", T_BEAM),
    VEC("-polar_vector", CFG(polar_vector), E_CUSTOM, "E-vector of the beam (custom convention)", T_BEAM),
    SPEC("-precision", fn_precision, 0, 0, "single|double", NULL, "lattice sums in float (parallelepiped crystals, no interpolation; ~2x faster) or double (default)", T_PROGRAM),
    SW("-printout", OPT(printout), 1, 0, "print every pixel's last sample (stol, hkl, F_cell, F_latt, ...); no progress meter", T_PROGRAM),
    SPEC("-printout_pixel", fn_two_ints, -1, 2147483647, "<f s>", NULL, "-printout of only pixel f (fast) s (slow); f = -1: every pixel", T_PROGRAM),
    SW("-progress", OPT(progress), 1, 0, "progress meter", T_PROGRAM),
    SPEC("-roi", fn_roi, 0, 1000000, "<xmin xmax ymin ymax>", "pixels", "render only these pixels (inclusive)", T_SAMPLING),
    SW("-round_div", CFG(round_div), 1, 0, "trim the divergence grid to an ellipse (default)", T_BEAM),
    SW("-round_xtal", CFG(shape), NB_SHAPE_ROUND, 0, "ellipsoidal crystal", T_CRYSTAL),
    SPEC("-sample_den", fn_ignored, 0, 0, "<g/cm^3>", NULL, "same as -density", T_COMPAT),
    REAL("-sample_height", CFG(sample_z_m), 1e-3, 0, BIG, 0, "mm", "crystal size along z", T_CRYSTAL),
    SPEC("-sample_size", fn_sample_size, 0, BIG, "<mm>", "mm", "same as -xtalsize", T_CRYSTAL),
    REAL("-sample_thick", CFG(sample_x_m), 1e-3, 0, BIG, 0, "mm", "crystal size along x", T_CRYSTAL),
    REAL("-sample_width", CFG(sample_y_m), 1e-3, 0, BIG, 0, "mm", "crystal size along y", T_CRYSTAL),
    REAL("-sample_x", CFG(sample_x_m), 1e-3, 0, BIG, 0, "mm", "same as -sample_thick", T_CRYSTAL),
    REAL("-sample_y", CFG(sample_y_m), 1e-3, 0, BIG, 0, "mm", "same as -sample_width", T_CRYSTAL),
    REAL("-sample_z", CFG(sample_z_m), 1e-3, 0, BIG, 0, "mm", "same as -sample_height", T_CRYSTAL),
    SPEC("-samplesize", fn_sample_size, 0, BIG, "<mm>", "mm", "same as -xtalsize", T_CRYSTAL),
    FACTOR("-scale", OPT(int_scale), -BIG, BIG, 0, "scale", "SMV counts per photon (default: 55000/max)", T_OUTPUTS),
    VEC("-sdet_vector", CFG(sdet_vector), E_CUSTOM, "slow-axis direction of the detector (custom convention)", T_DETECTOR),
    SPEC("-seed", fn_seed, -2147483647, 2147483647, "<int>", NULL, "seed of the noise (default: time)", T_NOISE),
    SPEC("-source_distance", fn_ignored_hint, 0, 0, "<mm>", NULL, "no effect, as in nanoBragg", T_COMPAT),
    PATH("-sourcefile", CFG(source_path), 0, "sources: lines 'X Y Z weight lambda(m)'", T_BEAM),
    VEC("-spindle_axis", CFG(spindle_vector), E_CUSTOM, "spindle rotation axis (custom convention)", T_SAMPLING),
    SW("-square_div", CFG(round_div), 0, 0, "full rectangular divergence grid", T_BEAM),
    SW("-square_xtal", CFG(shape), NB_SHAPE_SQUARE, 0, "parallelepiped crystal (default)", T_CRYSTAL),
    SPEC("-stol", fn_ignored, 0, 0, "<file>", NULL, "S(stol) table (read but unused, as in nanoBragg)", T_COMPAT),
    SPEC("-stolout", fn_ignored, 0, 0, "<file>", NULL, "accepted for compatibility (no effect)", T_COMPAT),
    INT("-thicksteps", CFG(detector_thicksteps), 0, 10000, "same as -detector_thicksteps", T_DETECTOR),
    SW("-tophat_spots", CFG(shape), NB_SHAPE_TOPHAT, 0, "flat-top spots", T_CRYSTAL),
    SPEC("-trace_pixel", fn_two_ints, -1, 2147483647, "<s f>", NULL, "accepted for compatibility (no effect)", T_COMPAT),
    REAL("-twotheta", CFG(twotheta_rad), 1 / RTD, -BIG, BIG, E_PIVOT_SAMPLE, "deg", "detector swing about the two-theta axis (pivot: sample)", T_DETECTOR),
    VEC("-twotheta_axis", CFG(twotheta_axis), E_CUSTOM, "two-theta rotation axis (custom convention)", T_DETECTOR),
    SPEC("-vdiv", fn_ignored_hint, 0, 0, "<mrad>", NULL, "no effect, as in nanoBragg (see -vdivrange)", T_COMPAT),
    REAL("-vdivrange", CFG(vdivrange_rad), 1e-3, 0, BIG, 0, "mrad", "vertical divergence range", T_BEAM),
    REAL("-vdivstep", CFG(vdivstep_rad), 1e-3, 0, BIG, 0, "mrad", "vertical divergence step", T_BEAM),
    INT("-vdivsteps", CFG(vdivsteps), 0, 100000, "vertical divergence steps", T_BEAM),
    REAL("-water", CFG(water_m), 1e-6, 0, BIG, 0, "um", "water around the crystal (background)", T_NOISE),
    REAL("-wave", CFG(lambda0_m), 1e-10, POS, BIG, 0, "A", "same as -lambda", T_BEAM),
    REAL("-wavelength", CFG(lambda0_m), 1e-10, POS, BIG, 0, "A", "same as -lambda", T_BEAM),
    REAL("-width", CFG(sample_y_m), 1e-3, 0, BIG, 0, "mm", "same as -sample_width", T_CRYSTAL),
    SPEC("-xdet_vector", fn_ignored_hint, 0, 0, "<x y z>", NULL, "no effect, as in nanoBragg (see -fdet_vector)", T_COMPAT),
    SW("-xds", CFG(convention), NB_CONV_XDS, E_PIVOT_SAMPLE, "XDS convention", T_DETECTOR),
    REAL("-xtal_height", CFG(sample_z_m), 1e-3, 0, BIG, 0, "mm", "same as -sample_height", T_CRYSTAL),
    SPEC("-xtal_size", fn_sample_size, 0, BIG, "<mm>", "mm", "same as -xtalsize", T_CRYSTAL),
    REAL("-xtal_thick", CFG(sample_x_m), 1e-3, 0, BIG, 0, "mm", "same as -sample_thick", T_CRYSTAL),
    REAL("-xtal_width", CFG(sample_y_m), 1e-3, 0, BIG, 0, "mm", "same as -sample_width", T_CRYSTAL),
    REAL("-xtal_x", CFG(sample_x_m), 1e-3, 0, BIG, 0, "mm", "same as -sample_thick", T_CRYSTAL),
    REAL("-xtal_y", CFG(sample_y_m), 1e-3, 0, BIG, 0, "mm", "same as -sample_width", T_CRYSTAL),
    REAL("-xtal_z", CFG(sample_z_m), 1e-3, 0, BIG, 0, "mm", "same as -sample_height", T_CRYSTAL),
    SPEC("-xtalsize", fn_sample_size, 0, BIG, "<mm>", "mm", "crystal size, x = y = z (alternative to -N)", T_CRYSTAL),
    SPEC("-ydet_vector", fn_ignored_hint, 0, 0, "<x y z>", NULL, "no effect, as in nanoBragg (see -sdet_vector)", T_COMPAT),
    SPEC("-zdet_vector", fn_ignored_hint, 0, 0, "<x y z>", NULL, "no effect, as in nanoBragg (see -odet_vector)", T_COMPAT),
};

static const size_t NFLAGS = sizeof FLAGS / sizeof FLAGS[0];

static int by_name(const void *key, const void *elem)
{
    return strcmp((const char *)key, ((const flag *)elem)->name);
}

static const flag *find_flag(const char *name)
{
    return bsearch(name, FLAGS, NFLAGS, sizeof FLAGS[0], by_name);
}

void app_options_init(app_options *o)
{
    memset(o, 0, sizeof *o);
    nb_config_init(&o->cfg);
    o->float_path = "floatimage.bin";
    o->int_path = "intimage.img";
    o->pgm_path = "image.pgm";
    o->noise_path = "noiseimage.img";
    o->write_pgm = 1;
    o->write_noise = 1;
    o->adc = 40.0;
    o->seed = -(long)time(NULL);
    o->cfg.misset_seed = o->seed;
    o->progress = 1;
    o->printout_pixel[0] = o->printout_pixel[1] = -1;
}

static void apply_effects(app_options *o, int effects)
{
    if (effects & E_PIVOT_BEAM) o->cfg.pivot = NB_PIVOT_BEAM;
    if (effects & E_PIVOT_SAMPLE) o->cfg.pivot = NB_PIVOT_SAMPLE;
    if (effects & E_CUSTOM) o->cfg.convention = NB_CONV_CUSTOM;
    if (effects & E_PGM) o->write_pgm = 1;
    if (effects & E_NOISE) o->write_noise = 1;
    if (effects & E_PIX0) o->cfg.pix0_given = 1;
}

/* Apply one flag at argv[i]; *used is the number of arguments it took. */
static int apply_flag(app_options *o, const flag *f, char **args, int avail, int *used)
{
    double v[3];
    long n;
    int rc = 0;
    *used = 0;
    switch (f->kind) {
    case F_SET:
        *ifield(o, f) = (int)f->scale;
        break;
    case F_REAL:
        if (!(rc = numbers(f, args, avail, 1, v))) {
            *dfield(o, f) = v[0] * f->scale;
            *used = 1;
        }
        break;
    case F_INT:
    case F_NREAL:
        if (!(rc = integer(f, args, avail, &n))) {
            if (f->kind == F_INT)
                *ifield(o, f) = (int)n;
            else
                *dfield(o, f) = (double)n;
            *used = 1;
        }
        break;
    case F_VEC3:
        if (!(rc = numbers(f, args, avail, 3, v))) {
            memcpy(dfield(o, f), v, sizeof v);
            *used = 3;
        }
        break;
    case F_PATH:
        if (avail < 1 || args[0][0] == '\0')
            return fail(f, "needs a file name", NULL);
        *(const char **)((char *)o + f->offset) = args[0];
        *used = 1;
        break;
    case F_SPECIAL:
        rc = f->fn(o, f, args, avail, used);
        break;
    }
    if (!rc)
        apply_effects(o, f->effects);
    return rc;
}

/* Edit distance between a and b (insertions, deletions, substitutions and
   swaps of neighbours; letters compared without case), at most 64 chars. */
static int distance(const char *a, const char *b)
{
    int d[65][65];
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64)
        return 99;
    for (size_t i = 0; i <= la; ++i)
        d[i][0] = (int)i;
    for (size_t j = 0; j <= lb; ++j)
        d[0][j] = (int)j;
    for (size_t i = 1; i <= la; ++i)
        for (size_t j = 1; j <= lb; ++j) {
            int cost = tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]);
            int v = d[i - 1][j - 1] + cost;
            if (d[i - 1][j] + 1 < v) v = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < v) v = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < v)
                v = d[i - 2][j - 2] + 1;
            d[i][j] = v;
        }
    return d[la][lb];
}

/* The known flag nearest to an unknown name, or NULL if none is close
   (within a third of the name's length, at least 2 edits). */
static const flag *nearest_flag(const char *name)
{
    const flag *best = NULL;
    int best_d = 99, limit = (int)strlen(name) / 3;
    if (limit < 2)
        limit = 2;
    for (size_t i = 0; i < NFLAGS; ++i) {
        int d = distance(name, FLAGS[i].name);
        if (d < best_d) {
            best_d = d;
            best = &FLAGS[i];
        }
    }
    return best_d <= limit ? best : NULL;
}

static int unknown_word(char **argv, int i, int last_flag, int last_used)
{
    const char *w = argv[i];
    double v;
    if (w[0] == '-' && !parse_real(w, &v)) {
        const flag *near = nearest_flag(w);
        if (near)
            fprintf(stderr, "nanobragg: error: unknown flag %s (did you mean %s?)\n", w, near->name);
        else
            fprintf(stderr, "nanobragg: error: unknown flag %s (nanobragg -h lists them)\n", w);
    } else if (last_flag > 0) {
        fprintf(stderr, "nanobragg: error: unexpected word '%s' after %s: not a flag, and %s took "
                        "%d value%s\n", w, argv[last_flag], argv[last_flag], last_used, last_used == 1 ? "" : "s");
    } else {
        fprintf(stderr, "nanobragg: error: unexpected word '%s': not a flag (flags start with '-')\n", w);
    }
    return 2;
}

int app_parse_flags(app_options *o, int argc, char **argv)
{
    int last_flag = 0, last_used = 0;
    o->argv = argv;
    for (int i = 1; i < argc; ++i) {
        const flag *f = find_flag(argv[i]);
        int used, rc;
        if (!f)
            return unknown_word(argv, i, last_flag, last_used);
        rc = apply_flag(o, f, argv + i + 1, argc - i - 1, &used);
        if (rc)
            return rc;
        o->given_at[f - FLAGS] = i;
        last_flag = i;
        last_used = used;
        i += used;
    }
    return 0;
}

/* The row an alias stands for ("same as -lambda"), else the row itself. */
static const flag *canonical(const flag *f)
{
    const flag *c;
    char name[40];
    if (strncmp(f->help, "same as -", 8) != 0)
        return f;
    snprintf(name, sizeof name, "%.*s", (int)strcspn(f->help + 8, " ,;)"), f->help + 8);
    c = find_flag(name);
    return c ? c : f;
}

const char *app_flag_value(const app_options *o, const char *name)
{
    const flag *f = find_flag(name);
    int at = 0;
    if (!f || !o->argv)
        return NULL;
    for (size_t i = 0; i < NFLAGS; ++i)
        if (canonical(&FLAGS[i]) == canonical(f) && o->given_at[i] > at)
            at = o->given_at[i];
    if (!at)
        return NULL;
    return FLAGS[find_flag(o->argv[at]) - FLAGS].kind == F_SET ? "" : o->argv[at + 1];
}

void app_prescan_headers(app_options *o, int argc, char **argv)
{
    for (int i = 1; i + 1 < argc; ++i) {
        if (strcmp(argv[i], "-img") == 0)
            o->img_path = argv[i + 1];
        else if (strcmp(argv[i], "-mask") == 0)
            o->mask_path = argv[i + 1];
    }
}

static const char *const TOPICS[] = {
    [T_CRYSTAL] = "Crystal: cell, orientation, size, shape, mosaic spread",
    [T_SF] = "Structure factors",
    [T_BEAM] = "Beam: wavelength, spectrum, divergence, intensity, polarization",
    [T_DETECTOR] = "Detector: size, pixels, placement, conventions, sensor",
    [T_SAMPLING] = "Rotation and sampling: spindle, sub-pixels, region, resolution cut",
    [T_NOISE] = "Background and noise",
    [T_OUTPUTS] = "Outputs",
    [T_PROGRAM] = "Program",
    [T_COMPAT] = "Accepted for compatibility, no effect (as in nanoBragg)",
};

/* " (default X)" from the value a fresh configuration holds, for rows whose
   help does not say it; "" where the default is derived at run time. */
static void default_text(const app_options *init, const flag *f, char *buf, size_t size)
{
    double v;
    buf[0] = '\0';
    if (strstr(f->help, "default") || strncmp(f->help, "same as", 7) == 0)
        return;
    switch (f->kind) {
    case F_SET:
        if (*(const int *)((const char *)init + f->offset) == (int)f->scale)
            snprintf(buf, size, " (default)");
        return;
    case F_REAL:
    case F_NREAL:
        v = *(const double *)((const char *)init + f->offset);
        if (v == NB_UNSET || (v < 0 && f->min >= 0))
            return;
        snprintf(buf, size, " (default %g)", v / f->scale);
        return;
    case F_INT:
        if (*(const int *)((const char *)init + f->offset) >= 0)
            snprintf(buf, size, " (default %d)", *(const int *)((const char *)init + f->offset));
        return;
    case F_PATH:
        if (*(const char *const *)((const char *)init + f->offset))
            snprintf(buf, size, " (default %s)", *(const char *const *)((const char *)init + f->offset));
        return;
    case F_VEC3:
    case F_SPECIAL:
        return;
    }
}

void app_print_help(const char *prog)
{
    app_options init;
    app_options_init(&init);
    printf("usage: %s -hkl Fs.hkl|-default_F F  -cell a b c al be ga|-mat A.mat  [options]\n", prog);
    printf("Simulates the diffraction image of a small crystal (a drop-in for nanoBragg).\n");
    printf("Lengths on the command line are in mm unless noted; angles in degrees.\n");
    printf("When two flags set the same thing, the later one wins.\n");
    for (int t = 0; t < T_COUNT; ++t) {
        printf("\n%s:\n", TOPICS[t]);
        for (size_t i = 0; i < NFLAGS; ++i) {
            const flag *f = &FLAGS[i];
            char left[64], dflt[80];
            if (f->topic != t)
                continue;
            snprintf(left, sizeof left, "%s %s", f->name, f->args);
            default_text(&init, f, dflt, sizeof dflt);
            if (f->units && f->units[0])
                printf("  %-34s %s [%s]%s\n", left, f->help, f->units, dflt);
            else
                printf("  %-34s %s%s\n", left, f->help, dflt);
        }
    }
}

/* The table must stay sorted for bsearch; used by the tests and at start-up. */
int app_flags_sorted(void);
int app_flags_sorted(void)
{
    _Static_assert(sizeof FLAGS / sizeof FLAGS[0] <= APP_MAX_FLAGS, "raise APP_MAX_FLAGS");
    for (size_t i = 0; i < NFLAGS; ++i) {
        if (i > 0 && strcmp(FLAGS[i - 1].name, FLAGS[i].name) >= 0) {
            fprintf(stderr, "nanobragg: internal error: flag table out of order at %s\n", FLAGS[i].name);
            return 0;
        }
        if (strncmp(FLAGS[i].help, "same as -", 8) == 0 && canonical(&FLAGS[i]) == &FLAGS[i]) {
            fprintf(stderr, "nanobragg: internal error: %s is an alias of an unknown flag\n", FLAGS[i].name);
            return 0;
        }
    }
    return 1;
}

void app_print_version(void)
{
    printf("nanobragg %s, a drop-in for nanoBragg (Holton and Frankel, 12-5-23)\n", nb_version());
#if defined(__clang__)
    printf("built with clang %s", __clang_version__);
#elif defined(__GNUC__)
    printf("built with gcc %s", __VERSION__);
#else
    printf("built with an unknown C compiler");
#endif
#ifdef _OPENMP
    printf(", OpenMP %d\n", _OPENMP);
#else
    printf(", without OpenMP\n");
#endif
    printf("kernel instruction sets:");
    for (nb_isa i = NB_ISA_BASELINE; nb_isa_name(i); ++i)
        if (nb_isa_available(i))
            printf(" %s", nb_isa_name(i));
    printf(" (NB_ISA chooses); this processor runs %s\n", nb_kernel_isa());
}

int app_isa_from_env(app_options *o)
{
    const char *v = getenv("NB_ISA");
    if (!v || !*v)
        return 0;
    for (nb_isa i = NB_ISA_AUTO; nb_isa_name(i); ++i)
        if (strcmp(v, nb_isa_name(i)) == 0) {
            o->cfg.isa = i;
            return 0;
        }
    fprintf(stderr, "nanobragg: error: NB_ISA=%s: expected auto, baseline, avx2 or avx512\n", v);
    return 2;
}
