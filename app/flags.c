/*
 * flags.c - the one flag table of the nanobragg program.  Every flag of
 * nanoBragg, with its aliases, is one row: its arguments, where the value goes,
 * the unit conversion, the allowed range and its help line.  Names match
 * exactly (nanoBragg matched substrings, so that e.g. -twotheta_axis also
 * reset -twotheta); numbers are parsed completely and checked.
 */
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

static int fn_help(app_options *o, const flag *f, char **args, int avail, int *used)
{
    (void)f;
    (void)args;
    (void)avail;
    o->show_help = 1;
    *used = 0;
    return 0;
}

/* ---------------------------------------------------------------- the table */

#define SW(n, off, val, eff, help) {n, F_SET, off, val, 0, 0, eff, "", NULL, help, NULL}
#define REAL(n, off, scale, lo, hi, eff, units, help) {n, F_REAL, off, scale, lo, hi, eff, "<" units ">", units, help, NULL}
#define INT(n, off, lo, hi, help) {n, F_INT, off, 1, lo, hi, 0, "<int>", NULL, help, NULL}
#define NCELL(n, off, help) {n, F_NREAL, off, 1, 0, 1e6, 0, "<int>", NULL, help, NULL}
#define VEC(n, off, eff, help) {n, F_VEC3, off, 1, -BIG, BIG, eff, "<x y z>", NULL, help, NULL}
#define PATH(n, off, eff, help) {n, F_PATH, off, 0, 0, 0, eff, "<file>", NULL, help, NULL}
#define SPEC(n, fn, lo, hi, args, units, help) {n, F_SPECIAL, 0, 1, lo, hi, 0, args, units, help, fn}

/* Sorted by name (strcmp order) for bsearch; checked at start-up. */
static const flag FLAGS[] = {
    SPEC("--help", fn_help, 0, 0, "", NULL, "print this list and exit"),
    SPEC("-4stol", fn_ignored, 0, 0, "<file>", NULL, "S(4 stol) table (read but unused, as in nanoBragg)"),
    SPEC("-MW", fn_ignored, 0, 0, "<g/mol>", NULL, "molecular weight (unused, as in nanoBragg)"),
    SPEC("-N", fn_N, 0, 1000000, "<int>", NULL, "unit cells along a, b and c"),
    NCELL("-Na", CFG(Na), "unit cells along a"),
    NCELL("-Nb", CFG(Nb), "unit cells along b"),
    NCELL("-Nc", CFG(Nc), "unit cells along c"),
    REAL("-ORGX", CFG(ORGX), 1, -BIG, BIG, E_PIVOT_SAMPLE, "pixels", "XDS-convention beam centre, fast axis (pivot: sample)"),
    REAL("-ORGY", CFG(ORGY), 1, -BIG, BIG, E_PIVOT_SAMPLE, "pixels", "XDS-convention beam centre, slow axis (pivot: sample)"),
    SPEC("-Q", fn_ignored, 0, 0, "<file>", NULL, "S(Q) table (read but unused, as in nanoBragg)"),
    REAL("-Xbeam", CFG(Xbeam_m), 1e-3, -BIG, BIG, E_PIVOT_BEAM, "mm", "direct-beam position, convention's X (pivot: beam)"),
    REAL("-Xclose", CFG(Xclose_m), 1e-3, -BIG, BIG, E_PIVOT_SAMPLE, "mm", "near point on the detector, X (pivot: sample)"),
    REAL("-Ybeam", CFG(Ybeam_m), 1e-3, -BIG, BIG, E_PIVOT_BEAM, "mm", "direct-beam position, convention's Y (pivot: beam)"),
    REAL("-Yclose", CFG(Yclose_m), 1e-3, -BIG, BIG, E_PIVOT_SAMPLE, "mm", "near point on the detector, Y (pivot: sample)"),
    REAL("-adc", OPT(adc), 1, -BIG, BIG, 0, "counts", "offset added to SMV pixels (default 40)"),
    SW("-adxv", CFG(convention), NB_CONV_ADXV, E_PIVOT_BEAM, "ADXV beam-centre convention"),
    VEC("-beam_vector", CFG(beam_vector), E_CUSTOM, "direction of the x-ray beam (custom convention)"),
    REAL("-beamsize", CFG(beamsize_m), 1e-3, 0, BIG, 0, "mm", "beam size, with -flux and -exposure (default 0.1)"),
    SW("-binary_spots", CFG(shape), NB_SHAPE_TOPHAT, 0, "same as -tophat_spots"),
    SPEC("-cell", fn_cell, 0, 0, "<a b c al be ga>", "A, deg", "unit cell (Angstrom and degrees)"),
    REAL("-close_distance", CFG(close_distance_m), 1e-3, -BIG, BIG, E_PIVOT_SAMPLE, "mm", "sample to detector plane along its normal (pivot: sample)"),
    SW("-coherent", OPT(coherent), 1, 0, "accepted for compatibility (no effect, as in nanoBragg)"),
    SW("-curved_det", CFG(curved_detector), 1, 0, "spherical detector: all pixels at the same distance"),
    REAL("-default_F", CFG(default_F), 1, -BIG, BIG, 0, "electrons", "structure factor of reflections not in -hkl (default 0)"),
    SPEC("-density", fn_ignored, 0, 0, "<g/cm^3>", NULL, "sample density (unused, as in nanoBragg)"),
    SW("-denzo", CFG(convention), NB_CONV_DENZO, E_PIVOT_BEAM, "DENZO beam-centre convention"),
    SPEC("-detector_abs", fn_detector_abs, 0, BIG, "<um>|inf", "um", "sensor attenuation depth (inf or 0: no absorption)"),
    SPEC("-detector_absorb", fn_detector_abs, 0, BIG, "<um>|inf", "um", "same as -detector_abs"),
    SPEC("-detector_absorption", fn_detector_abs, 0, BIG, "<um>|inf", "um", "same as -detector_abs"),
    REAL("-detector_rotx", CFG(detector_rot_rad[0]), 1 / RTD, -BIG, BIG, 0, "deg", "detector rotation about x"),
    REAL("-detector_roty", CFG(detector_rot_rad[1]), 1 / RTD, -BIG, BIG, 0, "deg", "detector rotation about y"),
    REAL("-detector_rotz", CFG(detector_rot_rad[2]), 1 / RTD, -BIG, BIG, 0, "deg", "detector rotation about z"),
    REAL("-detector_thick", CFG(detector_thick_m), 1e-6, 0, BIG, 0, "um", "sensor thickness"),
    INT("-detector_thicksteps", CFG(detector_thicksteps), 0, 10000, "sensor layers (default 1)"),
    SPEC("-detpixels", fn_detpixels, 1, 1000000, "<int>", NULL, "square detector size in pixels"),
    INT("-detpixels_f", CFG(fpixels), 1, 1000000, "fast-axis pixels"),
    INT("-detpixels_s", CFG(spixels), 1, 1000000, "slow-axis pixels"),
    INT("-detpixels_x", CFG(fpixels), 1, 1000000, "same as -detpixels_f"),
    INT("-detpixels_y", CFG(spixels), 1, 1000000, "same as -detpixels_s"),
    SPEC("-detsize", fn_detsize, POS, BIG, "<mm>", "mm", "square detector size"),
    REAL("-detsize_f", CFG(detsize_f_m), 1e-3, POS, BIG, 0, "mm", "detector size along the fast axis"),
    REAL("-detsize_s", CFG(detsize_s_m), 1e-3, POS, BIG, 0, "mm", "detector size along the slow axis"),
    SW("-dials", CFG(convention), NB_CONV_DIALS, E_PIVOT_BEAM, "DIALS convention"),
    REAL("-dispersion", CFG(dispersion), 0.01, 0, 1000, 0, "percent", "spectral width delta-lambda/lambda"),
    INT("-dispsteps", CFG(dispsteps), 0, 1000000, "wavelengths across the dispersion"),
    REAL("-distance", CFG(distance_m), 1e-3, POS, BIG, E_PIVOT_BEAM, "mm", "sample to detector centre (pivot: beam)"),
    SPEC("-divergence", fn_divergence, 0, BIG, "<mrad>", "mrad", "horizontal and vertical divergence range"),
    SPEC("-divsteps", fn_divsteps, 0, 100000, "<int>", NULL, "divergence steps, both directions"),
    REAL("-dmin", CFG(dmin_m), 1e-10, 0, BIG, 0, "A", "skip scattering beyond this resolution"),
    SPEC("-dump_pixel", fn_two_ints, -1, 2147483647, "<s f>", NULL, "accepted for compatibility (no effect)"),
    SPEC("-energy", fn_energy, POS, BIG, "<eV>", "eV", "x-ray photon energy (alternative to -lambda)"),
    REAL("-exposure", CFG(exposure_s), 1, 0, BIG, 0, "s", "exposure time, with -flux and -beamsize (default 1)"),
    VEC("-fdet_vector", CFG(fdet_vector), E_CUSTOM, "fast-axis direction of the detector (custom convention)"),
    PATH("-floatfile", OPT(float_path), 0, "raw 4-byte float image output (default floatimage.bin)"),
    PATH("-floatimage", OPT(float_path), 0, "same as -floatfile"),
    REAL("-fluence", CFG(fluence), 1, 0, BIG, 0, "photons/m^2", "integrated incident fluence"),
    REAL("-flux", CFG(flux), 1, 0, BIG, 0, "photons/s", "incident flux, with -exposure and -beamsize"),
    REAL("-fudge", CFG(fudge), 1, 0, BIG, 0, "", "spot-shape scale factor"),
    SW("-gauss_xtal", CFG(shape), NB_SHAPE_GAUSS, 0, "Gaussian spots"),
    SPEC("-h", fn_help, 0, 0, "", NULL, "print this list and exit"),
    REAL("-hdivrange", CFG(hdivrange_rad), 1e-3, 0, BIG, 0, "mrad", "horizontal divergence range"),
    REAL("-hdivstep", CFG(hdivstep_rad), 1e-3, 0, BIG, 0, "mrad", "horizontal divergence step"),
    INT("-hdivsteps", CFG(hdivsteps), 0, 100000, "horizontal divergence steps"),
    REAL("-height", CFG(sample_z_m), 1e-3, 0, BIG, 0, "mm", "same as -sample_height"),
    PATH("-hkl", CFG(hkl_path), 0, "structure factors: text lines 'h k l F'"),
    PATH("-img", OPT(img_path), 0, "take detector geometry from an SMV header"),
    SW("-interpolate", CFG(interpolate), NB_INTERP_ON, 0, "tricubic interpolation of F between reflections"),
    PATH("-intfile", OPT(int_path), 0, "SMV image output, scaled (default intimage.img)"),
    PATH("-intimage", OPT(int_path), 0, "same as -intfile"),
    REAL("-lambda", CFG(lambda0_m), 1e-10, POS, BIG, 0, "A", "x-ray wavelength"),
    PATH("-mask", OPT(mask_path), 0, "SMV mask: zero pixels are skipped; geometry from its header"),
    PATH("-mat", CFG(mat_path), 0, "MOSFLM orientation matrix (alternative to -cell)"),
    SPEC("-misset", fn_misset, -BIG, BIG, "<rx ry rz>|random", "deg", "crystal rotation about x, y, z"),
    SPEC("-misset_seed", fn_seed, -2147483647, 2147483647, "<int>", NULL, "seed of -misset random"),
    REAL("-mosaic", CFG(mosaic_spread_rad), 1 / RTD, 0, BIG, 0, "deg", "isotropic mosaic spread"),
    INT("-mosaic_dom", CFG(mosaic_domains), 0, 100000000, "number of mosaic domains"),
    INT("-mosaic_domains", CFG(mosaic_domains), 0, 100000000, "same as -mosaic_dom"),
    SPEC("-mosaic_seed", fn_seed, -2147483647, 2147483647, "<int>", NULL, "seed of the mosaic domains"),
    REAL("-mosaic_spr", CFG(mosaic_spread_rad), 1 / RTD, 0, BIG, 0, "deg", "same as -mosaic"),
    REAL("-mosaic_spread", CFG(mosaic_spread_rad), 1 / RTD, 0, BIG, 0, "deg", "same as -mosaic"),
    REAL("-mosaici", CFG(mosaic_spread_rad), 1 / RTD, 0, BIG, 0, "deg", "same as -mosaic"),
    REAL("-mosaicity", CFG(mosaic_spread_rad), 1 / RTD, 0, BIG, 0, "deg", "same as -mosaic"),
    SW("-mosflm", CFG(convention), NB_CONV_MOSFLM, E_PIVOT_BEAM, "MOSFLM convention (default)"),
    SW("-nointerpolate", CFG(interpolate), NB_INTERP_OFF, 0, "no interpolation of F"),
    PATH("-noisefile", OPT(noise_path), E_NOISE, "SMV image with Poisson noise (default noiseimage.img)"),
    PATH("-noiseimage", OPT(noise_path), E_NOISE, "same as -noisefile"),
    SW("-nonoise", OPT(write_noise), 0, 0, "do not write the noise image"),
    SW("-nopgm", OPT(write_pgm), 0, 0, "do not write the PGM image"),
    SW("-nopolar", CFG(nopolar), 1, 0, "no polarization correction"),
    SW("-noprogress", OPT(progress), 0, 0, "no progress meter"),
    VEC("-odet_vector", CFG(odet_vector), E_CUSTOM, "detector normal (custom convention)"),
    REAL("-osc", CFG(osc_rad), 1 / RTD, 0, BIG, 0, "deg", "oscillation range about the spindle"),
    INT("-oversample", CFG(oversample), 0, 1000, "sub-pixels per pixel edge (default: auto)"),
    SW("-oversample_omega", CFG(oversample_omega), 1, 0, "solid angle per sub-pixel"),
    SW("-oversample_polar", CFG(oversample_polar), 1, 0, "polarization per sub-pixel"),
    SW("-oversample_thick", CFG(oversample_thick), 1, 0, "absorption per sub-pixel"),
    PATH("-pgmfile", OPT(pgm_path), E_PGM, "8-bit PGM image output (default image.pgm)"),
    PATH("-pgmimage", OPT(pgm_path), E_PGM, "same as -pgmfile"),
    REAL("-pgmscale", OPT(pgm_scale), 1, -BIG, BIG, E_PGM, "", "PGM scale (default: auto)"),
    REAL("-phi", CFG(phi0_rad), 1 / RTD, -BIG, BIG, 0, "deg", "starting spindle angle"),
    REAL("-phistep", CFG(phistep_rad), 1 / RTD, 0, BIG, 0, "deg", "spindle step"),
    INT("-phisteps", CFG(phisteps), 0, 100000000, "spindle steps"),
    SPEC("-pivot", fn_pivot, 0, 0, "beam|sample", NULL, "detector rotation pivot (conventions other than custom impose theirs)"),
    VEC("-pix0_vector", CFG(pix0_vector_m), E_CUSTOM | E_PIX0, "sample to first pixel (m; custom convention)"),
    REAL("-pixel", CFG(pixel_m), 1e-3, POS, BIG, 0, "mm", "pixel size (default 0.1)"),
    SW("-point_pixel", CFG(point_pixel), 1, 0, "1/R^2 solid angle, no obliquity"),
    REAL("-polar", CFG(polarization), 1, -BIG, BIG, 0, "", "Kahn polarization factor (default 0)"),
    VEC("-polar_vector", CFG(polar_vector), E_CUSTOM, "E-vector of the beam (custom convention)"),
    SPEC("-precision", fn_precision, 0, 0, "single|double", NULL, "lattice sums in float (parallelepiped crystals, no interpolation; ~2x faster) or double (default)"),
    SW("-printout", OPT(printout), 1, 0, "print pixel values"),
    SPEC("-printout_pixel", fn_two_ints, -1, 2147483647, "<f s>", NULL, "print only this pixel"),
    SW("-progress", OPT(progress), 1, 0, "progress meter"),
    SPEC("-roi", fn_roi, 0, 1000000, "<xmin xmax ymin ymax>", "pixels", "render only these pixels (inclusive)"),
    SW("-round_div", CFG(round_div), 1, 0, "trim the divergence grid to an ellipse (default)"),
    SW("-round_xtal", CFG(shape), NB_SHAPE_ROUND, 0, "ellipsoidal crystal"),
    SPEC("-sample_den", fn_ignored, 0, 0, "<g/cm^3>", NULL, "same as -density"),
    REAL("-sample_height", CFG(sample_z_m), 1e-3, 0, BIG, 0, "mm", "crystal size along z"),
    SPEC("-sample_size", fn_sample_size, 0, BIG, "<mm>", "mm", "same as -xtalsize"),
    REAL("-sample_thick", CFG(sample_x_m), 1e-3, 0, BIG, 0, "mm", "crystal size along x"),
    REAL("-sample_width", CFG(sample_y_m), 1e-3, 0, BIG, 0, "mm", "crystal size along y"),
    REAL("-sample_x", CFG(sample_x_m), 1e-3, 0, BIG, 0, "mm", "same as -sample_thick"),
    REAL("-sample_y", CFG(sample_y_m), 1e-3, 0, BIG, 0, "mm", "same as -sample_width"),
    REAL("-sample_z", CFG(sample_z_m), 1e-3, 0, BIG, 0, "mm", "same as -sample_height"),
    SPEC("-samplesize", fn_sample_size, 0, BIG, "<mm>", "mm", "same as -xtalsize"),
    REAL("-scale", OPT(int_scale), 1, -BIG, BIG, 0, "", "SMV scale (default: 55000/max)"),
    VEC("-sdet_vector", CFG(sdet_vector), E_CUSTOM, "slow-axis direction of the detector (custom convention)"),
    SPEC("-seed", fn_seed, -2147483647, 2147483647, "<int>", NULL, "seed of the noise (default: time)"),
    PATH("-sourcefile", CFG(source_path), 0, "sources: lines 'X Y Z weight lambda(m)'"),
    VEC("-spindle_axis", CFG(spindle_vector), E_CUSTOM, "spindle rotation axis (custom convention)"),
    SW("-square_div", CFG(round_div), 0, 0, "full rectangular divergence grid"),
    SW("-square_xtal", CFG(shape), NB_SHAPE_SQUARE, 0, "parallelepiped crystal (default)"),
    SPEC("-stol", fn_ignored, 0, 0, "<file>", NULL, "S(stol) table (read but unused, as in nanoBragg)"),
    SPEC("-stolout", fn_ignored, 0, 0, "<file>", NULL, "accepted for compatibility (no effect)"),
    INT("-thicksteps", CFG(detector_thicksteps), 0, 10000, "same as -detector_thicksteps"),
    SW("-tophat_spots", CFG(shape), NB_SHAPE_TOPHAT, 0, "flat-top spots"),
    SPEC("-trace_pixel", fn_two_ints, -1, 2147483647, "<s f>", NULL, "accepted for compatibility (no effect)"),
    REAL("-twotheta", CFG(twotheta_rad), 1 / RTD, -BIG, BIG, E_PIVOT_SAMPLE, "deg", "detector swing about the two-theta axis (pivot: sample)"),
    VEC("-twotheta_axis", CFG(twotheta_axis), E_CUSTOM, "two-theta rotation axis (custom convention)"),
    REAL("-vdivrange", CFG(vdivrange_rad), 1e-3, 0, BIG, 0, "mrad", "vertical divergence range"),
    REAL("-vdivstep", CFG(vdivstep_rad), 1e-3, 0, BIG, 0, "mrad", "vertical divergence step"),
    INT("-vdivsteps", CFG(vdivsteps), 0, 100000, "vertical divergence steps"),
    REAL("-water", CFG(water_m), 1e-6, 0, BIG, 0, "um", "water around the crystal (background)"),
    REAL("-wave", CFG(lambda0_m), 1e-10, POS, BIG, 0, "A", "same as -lambda"),
    REAL("-wavelength", CFG(lambda0_m), 1e-10, POS, BIG, 0, "A", "same as -lambda"),
    REAL("-width", CFG(sample_y_m), 1e-3, 0, BIG, 0, "mm", "same as -sample_width"),
    SW("-xds", CFG(convention), NB_CONV_XDS, E_PIVOT_SAMPLE, "XDS convention"),
    REAL("-xtal_height", CFG(sample_z_m), 1e-3, 0, BIG, 0, "mm", "same as -sample_height"),
    SPEC("-xtal_size", fn_sample_size, 0, BIG, "<mm>", "mm", "same as -xtalsize"),
    REAL("-xtal_thick", CFG(sample_x_m), 1e-3, 0, BIG, 0, "mm", "same as -sample_thick"),
    REAL("-xtal_width", CFG(sample_y_m), 1e-3, 0, BIG, 0, "mm", "same as -sample_width"),
    REAL("-xtal_x", CFG(sample_x_m), 1e-3, 0, BIG, 0, "mm", "same as -sample_thick"),
    REAL("-xtal_y", CFG(sample_y_m), 1e-3, 0, BIG, 0, "mm", "same as -sample_width"),
    REAL("-xtal_z", CFG(sample_z_m), 1e-3, 0, BIG, 0, "mm", "same as -sample_height"),
    SPEC("-xtalsize", fn_sample_size, 0, BIG, "<mm>", "mm", "crystal size, x = y = z (alternative to -N)"),
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

int app_parse_flags(app_options *o, int argc, char **argv)
{
    for (int i = 1; i < argc; ++i) {
        const flag *f = find_flag(argv[i]);
        int used, rc;
        if (!f) {
            if (argv[i][0] == '-')
                fprintf(stderr, "nanobragg: warning: unknown flag %s ignored\n", argv[i]);
            else
                fprintf(stderr, "nanobragg: warning: stray argument '%s' ignored\n", argv[i]);
            continue;
        }
        rc = apply_flag(o, f, argv + i + 1, argc - i - 1, &used);
        if (rc)
            return rc;
        i += used;
    }
    return 0;
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

void app_print_help(const char *prog)
{
    printf("usage: %s -hkl Fs.hkl|-default_F F  -cell a b c al be ga|-mat A.mat  [options]\n", prog);
    printf("Simulates the diffraction image of a small crystal (a drop-in for nanoBragg).\n");
    printf("Lengths on the command line are in mm unless noted; angles in degrees.\n\n");
    for (size_t i = 0; i < NFLAGS; ++i) {
        const flag *f = &FLAGS[i];
        char left[64];
        snprintf(left, sizeof left, "%s %s", f->name, f->args);
        if (f->units && f->units[0])
            printf("  %-34s %s [%s]\n", left, f->help, f->units);
        else
            printf("  %-34s %s\n", left, f->help);
    }
}

/* The table must stay sorted for bsearch; used by the tests and at start-up. */
int app_flags_sorted(void);
int app_flags_sorted(void)
{
    for (size_t i = 1; i < NFLAGS; ++i)
        if (strcmp(FLAGS[i - 1].name, FLAGS[i].name) >= 0) {
            fprintf(stderr, "nanobragg: internal error: flag table out of order at %s\n", FLAGS[i].name);
            return 0;
        }
    return 1;
}
