/*
 * flags.c - the one flag table of the nanobragg program.  Every flag of
 * nanoBragg, with its aliases, is one row: its arguments, the library
 * parameter (include/nanobragg.h, nb_param_*) or program option it sets, and
 * its help line.  Ranges, units and defaults are the library's: a value out
 * of range is refused by the library's check, whose message the program
 * prints.  Names match exactly (nanoBragg matched substrings, so that e.g.
 * -twotheta_axis also reset -twotheta); numbers are parsed completely.
 */
#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
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
    F_SET,     /* program switch: int field = (int)scale */
    F_REAL,    /* program number: double field = value */
    F_PATH,    /* program file: const char * field = argument */
    P_SET,     /* library parameter = scale (a switch) */
    P_WORD,    /* library parameter = word (a switch for a choice) */
    P_REAL,    /* library parameter = the number given */
    P_INT,     /* library parameter = the whole number given */
    P_VEC,     /* library parameter = the three numbers given */
    P_PATH,    /* library parameter = the file name given */
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
    E_NOISE = 16
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
    int topic;         /* section of -h */
    const char *param; /* the library parameter P_* rows set */
    const char *word;  /* the value of a P_WORD row */
};

#define OPT(field) offsetof(app_options, field)

/* The last parse error (what follows "nanobragg: error: "), and whether
   messages go to stderr; per thread, so that bindings parsing in several
   threads keep their own. */
static _Thread_local char last_error[1024];
static _Thread_local int quiet;

void app_flags_quiet(int on) { quiet = on; }
const char *app_flags_last_error(void) { return last_error; }

/* The program's name in messages, and the flags of its own that the
   nearest-flag suggestion also considers (set once, at start-up). */
static const char *program_name = "nanobragg";
static const char *const *extra_names;
static size_t extra_count;

void app_set_name(const char *name) { program_name = name; }
const char *app_name(void) { return program_name; }

void app_flags_extra(const char *const *names, size_t n)
{
    extra_names = names;
    extra_count = n;
}

/* Print "<program>: <kind>: <text>" to stderr (unless quiet); an error's
   text is also kept for app_flags_last_error. */
static void say(const char *kind, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(const char *kind, const char *fmt, ...)
{
    char text[sizeof last_error];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    if (strcmp(kind, "error") == 0)
        snprintf(last_error, sizeof last_error, "%s", text);
    if (!quiet)
        fprintf(stderr, "%s: %s: %s\n", program_name, kind, text);
}

static int fail(const flag *f, const char *what, const char *value)
{
    say("error", "%s %s%s%s", f->name, what, value ? ": " : "", value ? value : "");
    return 2;
}

/* Report a value the library refused (its message names the parameter). */
static int refused(const flag *f, char **args, int used, const nb_error *err)
{
    char words[480] = "";
    size_t len = 0;
    for (int i = 0; i < used && len < sizeof words; ++i)
        len += (size_t)snprintf(words + len, sizeof words - len, " %s", args[i]);
    say("error", "%s%s: %s", f->name, words, err->msg);
    return 2;
}

/* Set parameter name of o's configuration to v[0..n-1]: 0, or 2 after
   printing the library's reason. */
static int set_param(app_options *o, const flag *f, const char *name, const double *v, size_t n, char **args,
                     int used)
{
    nb_error err;
    nb_status st = n == 1 ? nb_param_set(o->cfg, name, v[0], &err) : nb_param_set_array(o->cfg, name, v, n, &err);
    return st == NB_OK ? 0 : refused(f, args, used, &err);
}

static int set_word(app_options *o, const flag *f, const char *name, const char *word, char **args, int used)
{
    nb_error err;
    return nb_param_set_string(o->cfg, name, word, &err) == NB_OK ? 0 : refused(f, args, used, &err);
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
        if (f->kind == F_REAL && (v[i] < f->min || v[i] > f->max)) {
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
    if (f->kind == F_SPECIAL && f->max > f->min && (*v < f->min || *v > f->max)) {
        snprintf(msg, sizeof msg, "value %s is out of range (expected %g to %g)", args[0], f->min, f->max);
        return fail(f, msg, NULL);
    }
    return 0;
}

static double *dfield(app_options *o, const flag *f) { return (double *)((char *)o + f->offset); }
static int *ifield(app_options *o, const flag *f) { return (int *)((char *)o + f->offset); }

/* ---------------------------------------------------------------- specials */

/* A flag taking one number for a library parameter of its own name. */
static int one_number(app_options *o, const flag *f, const char *param, char **args, int avail, int *used)
{
    double v;
    int rc = numbers(f, args, avail, 1, &v);
    if (rc)
        return rc;
    *used = 1;
    return set_param(o, f, param, &v, 1, args, 1);
}

static int one_integer(app_options *o, const flag *f, const char *param, char **args, int avail, int *used)
{
    long n;
    double v;
    int rc = integer(f, args, avail, &n);
    if (rc)
        return rc;
    v = (double)n;
    *used = 1;
    return set_param(o, f, param, &v, 1, args, 1);
}

static int fn_N(app_options *o, const flag *f, char **args, int avail, int *used)
{
    return one_integer(o, f, "N", args, avail, used);
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
    o->cell_values = n;
    *used = n;
    return set_param(o, f, "cell", v, (size_t)n, args, n);
}

static int fn_misset(app_options *o, const flag *f, char **args, int avail, int *used)
{
    double v[3];
    int rc;
    if (avail >= 1 && strcmp(args[0], "random") == 0) {
        *used = 1;
        v[0] = 1;
        return set_param(o, f, "misset_random", v, 1, args, 1);
    }
    rc = numbers(f, args, avail, 3, v);
    if (rc)
        return rc;
    *used = 3;
    return set_param(o, f, "misset_deg", v, 3, args, 3);
}

static int fn_sample_size(app_options *o, const flag *f, char **args, int avail, int *used)
{
    return one_number(o, f, "xtalsize_mm", args, avail, used);
}

static int fn_detsize(app_options *o, const flag *f, char **args, int avail, int *used)
{
    return one_number(o, f, "detsize_mm", args, avail, used);
}

static int fn_detpixels(app_options *o, const flag *f, char **args, int avail, int *used)
{
    return one_integer(o, f, "detpixels", args, avail, used);
}

static int fn_divergence(app_options *o, const flag *f, char **args, int avail, int *used)
{
    return one_number(o, f, "divergence_mrad", args, avail, used);
}

static int fn_divsteps(app_options *o, const flag *f, char **args, int avail, int *used)
{
    return one_integer(o, f, "divsteps", args, avail, used);
}

/* -detector_abs <um>|inf|0: attenuation depth; inf or 0 turn absorption
   off and make the sensor thin, as in nanoBragg. */
static int fn_detector_abs(app_options *o, const flag *f, char **args, int avail, int *used)
{
    double v = 0.0;
    int rc;
    if (!(avail >= 1 && strcmp(args[0], "inf") == 0) && (rc = numbers(f, args, avail, 1, &v)) != 0)
        return rc;
    *used = 1;
    if ((rc = set_param(o, f, "detector_abs_um", &v, 1, args, 1)) != 0)
        return rc;
    if (v == 0.0)
        return set_param(o, f, "detector_thick_um", &v, 1, args, 1);
    return 0;
}

static int fn_pivot(app_options *o, const flag *f, char **args, int avail, int *used)
{
    if (avail < 1)
        return fail(f, "needs a value", "beam|sample");
    if (strcmp(args[0], "sample") != 0 && strcmp(args[0], "beam") != 0)
        return fail(f, "expects beam or sample, got", args[0]);
    *used = 1;
    return set_word(o, f, "pivot", args[0], args, 1);
}

static int fn_roi(app_options *o, const flag *f, char **args, int avail, int *used)
{
    double v[4];
    if (avail < 4)
        return fail(f, "needs 4 values", f->args);
    for (int i = 0; i < 4; ++i) {
        long n;
        int rc = integer(f, args + i, avail - i, &n);
        if (rc)
            return rc;
        v[i] = (double)n;
    }
    *used = 4;
    return set_param(o, f, "roi", v, 4, args, 4);
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
    return one_number(o, f, "energy_eV", args, avail, used);
}

/* -seed is the program's (noise); the crystal's seeds are the library's,
   which keeps them negated as nanoBragg does. */
static int fn_seed(app_options *o, const flag *f, char **args, int avail, int *used)
{
    long v;
    int rc;
    if (strcmp(f->name, "-seed") != 0)
        return one_integer(o, f, f->name + 1, args, avail, used);
    if ((rc = integer(f, args, avail, &v)) != 0)
        return rc;
    o->seed = -v;
    *used = 1;
    return 0;
}

static int fn_nimages(app_options *o, const flag *f, char **args, int avail, int *used)
{
    long v;
    int rc = integer(f, args, avail, &v);
    if (rc)
        return rc;
    o->nimages = (int)v;
    *used = 1;
    return 0;
}

static int fn_precision(app_options *o, const flag *f, char **args, int avail, int *used)
{
    if (avail < 1)
        return fail(f, "needs a value", "single|double");
    if (strcmp(args[0], "single") != 0 && strcmp(args[0], "double") != 0)
        return fail(f, "expects single or double, got", args[0]);
    *used = 1;
    return set_word(o, f, "precision", args[0], args, 1);
}

/* -polar sets the Kahn factor and turns polarization back on (a later
   -nopolar turns it off again): the last of the two wins, as in nanoBragg. */
static int fn_polar(app_options *o, const flag *f, char **args, int avail, int *used)
{
    const double off = 0.0;
    int rc = one_number(o, f, "polarization", args, avail, used);
    return rc ? rc : set_param(o, f, "nopolar", &off, 1, args, 1);
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
    say("warning", "%s %s%s has no effect (nanoBragg ignored it too)%s%.*s%s", f->name,
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
    say("warning", "%s %s has no effect (as in nanoBragg)", f->name, args[0]);
    *used = 1;
    return 0;
}

/* ---------------------------------------------------------------- the table */

#define SW(n, off, val, eff, help, t) {n, F_SET, off, val, 0, 0, eff, "", NULL, help, NULL, t, NULL, NULL}
#define REAL(n, off, scale, lo, hi, eff, units, help, t) {n, F_REAL, off, scale, lo, hi, eff, "<" units ">", units, help, NULL, t, NULL, NULL}
#define FACTOR(n, off, lo, hi, eff, arg, help, t) {n, F_REAL, off, 1, lo, hi, eff, "<" arg ">", NULL, help, NULL, t, NULL, NULL}
#define PATH(n, off, eff, help, t) {n, F_PATH, off, 0, 0, 0, eff, "<file>", NULL, help, NULL, t, NULL, NULL}
#define SPEC(n, fn, lo, hi, args, units, help, t) {n, F_SPECIAL, 0, 1, lo, hi, 0, args, units, help, fn, t, NULL, NULL}
#define PSW(n, prm, val, eff, help, t) {n, P_SET, 0, val, 0, 0, eff, "", NULL, help, NULL, t, prm, NULL}
#define PWORD(n, prm, word, eff, help, t) {n, P_WORD, 0, 0, 0, 0, eff, "", NULL, help, NULL, t, prm, word}
#define PREAL(n, prm, eff, units, help, t) {n, P_REAL, 0, 1, 0, 0, eff, "<" units ">", units, help, NULL, t, prm, NULL}
#define PFACTOR(n, prm, eff, arg, help, t) {n, P_REAL, 0, 1, 0, 0, eff, "<" arg ">", NULL, help, NULL, t, prm, NULL}
#define PINT(n, prm, help, t) {n, P_INT, 0, 1, 0, 0, 0, "<int>", NULL, help, NULL, t, prm, NULL}
#define PVEC(n, prm, eff, help, t) {n, P_VEC, 0, 1, 0, 0, eff, "<x y z>", NULL, help, NULL, t, prm, NULL}
#define PPATH(n, prm, eff, help, t) {n, P_PATH, 0, 0, 0, 0, eff, "<file>", NULL, help, NULL, t, prm, NULL}
#define PWORDARG(n, prm, arg, help, t) {n, P_PATH, 0, 0, 0, 0, 0, "<" arg ">", NULL, help, NULL, t, prm, NULL}

/* Sorted by name (strcmp order) for bsearch; checked at start-up. */
static const flag FLAGS[] = {
    SW("--help", OPT(show_help), 1, 0, "print this list and exit", T_PROGRAM),
    SW("--params", OPT(show_params), 1, 0, "print the library's parameter table (names, units, ranges, defaults) and exit", T_PROGRAM),
    SW("--version", OPT(show_version), 1, 0, "print the version and build and exit", T_PROGRAM),
    SPEC("-4stol", fn_ignored, 0, 0, "<file>", NULL, "S(4 stol) table (read but unused, as in nanoBragg)", T_COMPAT),
    SPEC("-MW", fn_ignored, 0, 0, "<g/mol>", NULL, "molecular weight (unused, as in nanoBragg)", T_COMPAT),
    SPEC("-N", fn_N, 0, 1000000, "<int>", NULL, "unit cells along a, b and c", T_CRYSTAL),
    PINT("-Na", "Na", "unit cells along a", T_CRYSTAL),
    PINT("-Nb", "Nb", "unit cells along b", T_CRYSTAL),
    PINT("-Nc", "Nc", "unit cells along c", T_CRYSTAL),
    PREAL("-ORGX", "ORGX", E_PIVOT_SAMPLE, "pixels", "XDS-convention beam centre, fast axis (pivot: sample)", T_DETECTOR),
    PREAL("-ORGY", "ORGY", E_PIVOT_SAMPLE, "pixels", "XDS-convention beam centre, slow axis (pivot: sample)", T_DETECTOR),
    SPEC("-Q", fn_ignored, 0, 0, "<file>", NULL, "S(Q) table (read but unused, as in nanoBragg)", T_COMPAT),
    PREAL("-Xbeam", "Xbeam_mm", E_PIVOT_BEAM, "mm", "direct-beam position, convention's X (pivot: beam)", T_DETECTOR),
    PREAL("-Xclose", "Xclose_mm", E_PIVOT_SAMPLE, "mm", "near point on the detector, X (pivot: sample)", T_DETECTOR),
    PREAL("-Ybeam", "Ybeam_mm", E_PIVOT_BEAM, "mm", "direct-beam position, convention's Y (pivot: beam)", T_DETECTOR),
    PREAL("-Yclose", "Yclose_mm", E_PIVOT_SAMPLE, "mm", "near point on the detector, Y (pivot: sample)", T_DETECTOR),
    REAL("-adc", OPT(adc), 1, -BIG, BIG, 0, "counts", "offset added to SMV pixels (default 40)", T_NOISE),
    PWORD("-adxv", "convention", "adxv", E_PIVOT_BEAM, "ADXV beam-centre convention", T_DETECTOR),
    PVEC("-beam_vector", "beam_vector", E_CUSTOM, "direction of the x-ray beam (custom convention)", T_BEAM),
    PREAL("-beamsize", "beamsize_mm", 0, "mm", "beam size, with -flux and -exposure (default 0.1)", T_BEAM),
    PWORD("-binary_spots", "shape", "tophat", 0, "same as -tophat_spots", T_CRYSTAL),
    PREAL("-bsol", "bsol_A2", 0, "A^2", "B factor of the bulk solvent of -model (default 46)", T_SF),
    PSW("-bulk_solvent", "bulk_solvent", 1, 0, "add a flat bulk solvent (-ksol, -bsol) to the structure factors of -model", T_SF),
    PATH("-cbffile", OPT(cbf_path), 0, "CBF image output: 32-bit photon counts (the noise image's, or rounded photons with -nonoise), byte-offset compressed, miniCBF header", T_OUTPUTS),
    SPEC("-cell", fn_cell, 0, 0, "<a b c al be ga>", "A, deg", "unit cell (Angstrom and degrees)", T_CRYSTAL),
    PREAL("-close_distance", "close_distance_mm", E_PIVOT_SAMPLE, "mm", "sample to detector plane along its normal (pivot: sample)", T_DETECTOR),
    SW("-coherent", OPT(coherent), 1, 0, "accepted for compatibility (no effect, as in nanoBragg)", T_COMPAT),
    PSW("-curved_det", "curved_detector", 1, 0, "spherical detector: all pixels at the same distance", T_DETECTOR),
    PREAL("-default_F", "default_F", 0, "electrons", "structure factor of reflections not in -hkl (default 0)", T_SF),
    SPEC("-density", fn_ignored, 0, 0, "<g/cm^3>", NULL, "sample density (unused, as in nanoBragg)", T_COMPAT),
    PWORD("-denzo", "convention", "denzo", E_PIVOT_BEAM, "DENZO beam-centre convention", T_DETECTOR),
    SPEC("-detector_abs", fn_detector_abs, 0, BIG, "<um>|inf", "um", "sensor attenuation depth (inf or 0: no absorption)", T_DETECTOR),
    SPEC("-detector_absorb", fn_detector_abs, 0, BIG, "<um>|inf", "um", "same as -detector_abs", T_DETECTOR),
    SPEC("-detector_absorption", fn_detector_abs, 0, BIG, "<um>|inf", "um", "same as -detector_abs", T_DETECTOR),
    PREAL("-detector_rotx", "detector_rotx_deg", 0, "deg", "detector rotation about x", T_DETECTOR),
    PREAL("-detector_roty", "detector_roty_deg", 0, "deg", "detector rotation about y", T_DETECTOR),
    PREAL("-detector_rotz", "detector_rotz_deg", 0, "deg", "detector rotation about z", T_DETECTOR),
    PREAL("-detector_thick", "detector_thick_um", 0, "um", "sensor thickness", T_DETECTOR),
    PINT("-detector_thicksteps", "detector_thicksteps", "sensor layers (default 1)", T_DETECTOR),
    SPEC("-detpixels", fn_detpixels, 1, 1000000, "<int>", NULL, "square detector size in pixels", T_DETECTOR),
    PINT("-detpixels_f", "fpixels", "fast-axis pixels", T_DETECTOR),
    PINT("-detpixels_s", "spixels", "slow-axis pixels", T_DETECTOR),
    PINT("-detpixels_x", "fpixels", "same as -detpixels_f", T_DETECTOR),
    PINT("-detpixels_y", "spixels", "same as -detpixels_s", T_DETECTOR),
    SPEC("-detsize", fn_detsize, POS, BIG, "<mm>", "mm", "square detector size", T_DETECTOR),
    PREAL("-detsize_f", "detsize_f_mm", 0, "mm", "detector size along the fast axis", T_DETECTOR),
    PREAL("-detsize_s", "detsize_s_mm", 0, "mm", "detector size along the slow axis", T_DETECTOR),
    PWORDARG("-device", "device", "cpu|cuda[:N]|emulate", "where the image is rendered: the CPU (default), CUDA GPU N (default 0), or the GPU kernel run on the CPU (emulate, for testing)", T_PROGRAM),
    PWORD("-dials", "convention", "dials", E_PIVOT_BEAM, "DIALS convention", T_DETECTOR),
    PREAL("-dispersion", "dispersion_percent", 0, "percent", "spectral width delta-lambda/lambda", T_BEAM),
    SPEC("-dispstep", fn_ignored_hint, 0, 0, "<int>", NULL, "no effect, as in nanoBragg (see -dispsteps)", T_COMPAT),
    PINT("-dispsteps", "dispsteps", "wavelengths across the dispersion", T_BEAM),
    PREAL("-distance", "distance_mm", E_PIVOT_BEAM, "mm", "sample to detector centre (pivot: beam)", T_DETECTOR),
    SPEC("-divergence", fn_divergence, 0, BIG, "<mrad>", "mrad", "horizontal and vertical divergence range", T_BEAM),
    SPEC("-divsteps", fn_divsteps, 0, 100000, "<int>", NULL, "divergence steps, both directions", T_BEAM),
    PREAL("-dmin", "dmin_A", 0, "A", "skip scattering beyond this resolution", T_SAMPLING),
    SPEC("-dump_pixel", fn_two_ints, -1, 2147483647, "<s f>", NULL, "accepted for compatibility (no effect)", T_COMPAT),
    SPEC("-energy", fn_energy, POS, BIG, "<eV>", "eV", "x-ray photon energy (alternative to -lambda)", T_BEAM),
    PREAL("-exposure", "exposure_s", 0, "s", "exposure time, with -flux and -beamsize (default 1)", T_BEAM),
    PVEC("-fdet_vector", "fdet_vector", E_CUSTOM, "fast-axis direction of the detector (custom convention)", T_DETECTOR),
    PATH("-floatfile", OPT(float_path), 0, "raw 4-byte float image output (default floatimage.bin)", T_OUTPUTS),
    PATH("-floatimage", OPT(float_path), 0, "same as -floatfile", T_OUTPUTS),
    PREAL("-fluence", "fluence", 0, "photons/m^2", "integrated incident fluence", T_BEAM),
    PREAL("-flux", "flux", 0, "photons/s", "incident flux, with -exposure and -beamsize", T_BEAM),
    PFACTOR("-fudge", "fudge", 0, "factor", "spot-shape scale factor", T_CRYSTAL),
    PWORD("-gauss_xtal", "shape", "gauss", 0, "Gaussian spots", T_CRYSTAL),
    SW("-h", OPT(show_help), 1, 0, "print this list and exit", T_PROGRAM),
    SPEC("-hdiv", fn_ignored_hint, 0, 0, "<mrad>", NULL, "no effect, as in nanoBragg (see -hdivrange)", T_COMPAT),
    PREAL("-hdivrange", "hdivrange_mrad", 0, "mrad", "horizontal divergence range", T_BEAM),
    PREAL("-hdivstep", "hdivstep_mrad", 0, "mrad", "horizontal divergence step", T_BEAM),
    PINT("-hdivsteps", "hdivsteps", "horizontal divergence steps", T_BEAM),
    PREAL("-height", "sample_z_mm", 0, "mm", "same as -sample_height", T_CRYSTAL),
    PPATH("-hkl", "hkl_path", 0, "structure factors: text lines 'h k l F'", T_SF),
    PATH("-img", OPT(img_path), 0, "take detector geometry from an SMV header", T_DETECTOR),
    PWORD("-interpolate", "interpolate", "on", 0, "tricubic interpolation of F between reflections", T_SF),
    PATH("-intfile", OPT(int_path), 0, "SMV image output, scaled (default intimage.img)", T_OUTPUTS),
    PATH("-intimage", OPT(int_path), 0, "same as -intfile", T_OUTPUTS),
    PREAL("-ksol", "ksol_e_A3", 0, "e/A^3", "electron density of the bulk solvent of -model (default 0.35)", T_SF),
    PREAL("-lambda", "lambda_A", 0, "A", "x-ray wavelength", T_BEAM),
    PATH("-mask", OPT(mask_path), 0, "SMV mask: zero pixels are skipped; geometry from its header", T_DETECTOR),
    PPATH("-mat", "mat_path", 0, "MOSFLM orientation matrix (alternative to -cell)", T_CRYSTAL),
    PPATH("-matrix", "mat_path", 0, "same as -mat", T_CRYSTAL),
    PATH("-matrixfile", OPT(matrix_path), 0, "text output: each image's crystal orientation as a MOSFLM A matrix (three lines, as -mat reads them) under a '# image k' line", T_OUTPUTS),
    SPEC("-misset", fn_misset, -BIG, BIG, "<rx ry rz>|random", "deg", "crystal rotation about x, y, z", T_CRYSTAL),
    SPEC("-misset_seed", fn_seed, -2147483647, 2147483647, "<int>", NULL, "seed of -misset random", T_CRYSTAL),
    PPATH("-model", "model_path", 0, "structure factors computed from an atomic model (PDB or mmCIF) to the detector's resolution", T_SF),
    SPEC("-molec", fn_ignored, 0, 0, "<g/mol>", NULL, "same as -MW", T_COMPAT),
    PREAL("-mosaic", "mosaic_spread_deg", 0, "deg", "isotropic mosaic spread", T_CRYSTAL),
    PINT("-mosaic_dom", "mosaic_domains", "number of mosaic domains", T_CRYSTAL),
    PINT("-mosaic_domains", "mosaic_domains", "same as -mosaic_dom", T_CRYSTAL),
    SPEC("-mosaic_seed", fn_seed, -2147483647, 2147483647, "<int>", NULL, "seed of the mosaic domains", T_CRYSTAL),
    PREAL("-mosaic_spr", "mosaic_spread_deg", 0, "deg", "same as -mosaic", T_CRYSTAL),
    PREAL("-mosaic_spread", "mosaic_spread_deg", 0, "deg", "same as -mosaic", T_CRYSTAL),
    PREAL("-mosaici", "mosaic_spread_deg", 0, "deg", "same as -mosaic", T_CRYSTAL),
    PREAL("-mosaicity", "mosaic_spread_deg", 0, "deg", "same as -mosaic", T_CRYSTAL),
    PWORD("-mosflm", "convention", "mosflm", E_PIVOT_BEAM, "MOSFLM convention (default)", T_DETECTOR),
    PPATH("-mtz", "mtz_path", 0, "structure factors: an MTZ file (asymmetric unit, expanded by its space group)", T_SF),
    PWORDARG("-mtzcol", "sf_column", "label", "column of -mtz or -sfcif: F, an intensity (F = sqrt(I)) or an anomalous pair F(+)", T_SF),
    PATH("-nexusfile", OPT(nexus_path), 0, "NeXus/NXmx (HDF5) output: one file for the whole series (or the one image), the CBF's 32-bit counts in /entry/data/data [n, slow, fast], deflated, with the NXmx geometry DIALS reads (needs a build with HDF5)", T_OUTPUTS),
    SPEC("-nimages", fn_nimages, 1, NB_SERIES_MAX_IMAGES, "<int>", NULL, "a series of that many images (rotation: image k starts at -phi + (k-1) -osc; stills: -misset random, no -osc); outputs named by '#' templates", T_OUTPUTS),
    PWORD("-nointerpolate", "interpolate", "off", 0, "no interpolation of F", T_SF),
    PATH("-noisefile", OPT(noise_path), E_NOISE, "SMV image with Poisson noise (default noiseimage.img)", T_OUTPUTS),
    PATH("-noiseimage", OPT(noise_path), E_NOISE, "same as -noisefile", T_OUTPUTS),
    SW("-nonoise", OPT(write_noise), 0, 0, "do not write the noise image", T_NOISE),
    SW("-nopgm", OPT(write_pgm), 0, 0, "do not write the PGM image", T_OUTPUTS),
    PSW("-nopolar", "nopolar", 1, 0, "no polarization correction", T_BEAM),
    SW("-noprogress", OPT(progress), 0, 0, "no progress meter", T_PROGRAM),
    PVEC("-odet_vector", "odet_vector", E_CUSTOM, "detector normal (custom convention)", T_DETECTOR),
    PREAL("-osc", "osc_deg", 0, "deg", "oscillation range about the spindle", T_SAMPLING),
    PINT("-oversample", "oversample", "sub-pixels per pixel edge (default: auto)", T_SAMPLING),
    PSW("-oversample_omega", "oversample_omega", 1, 0, "solid angle per sub-pixel", T_SAMPLING),
    PSW("-oversample_polar", "oversample_polar", 1, 0, "polarization per sub-pixel", T_SAMPLING),
    PSW("-oversample_thick", "oversample_thick", 1, 0, "absorption per sub-pixel", T_SAMPLING),
    PATH("-pgmfile", OPT(pgm_path), E_PGM, "8-bit PGM image output (default image.pgm)", T_OUTPUTS),
    PATH("-pgmimage", OPT(pgm_path), E_PGM, "same as -pgmfile", T_OUTPUTS),
    FACTOR("-pgmscale", OPT(pgm_scale), -BIG, BIG, E_PGM, "scale", "PGM grey levels per photon (default: 250/(5 rmsd))", T_OUTPUTS),
    PREAL("-phi", "phi_deg", 0, "deg", "starting spindle angle", T_SAMPLING),
    PREAL("-phistep", "phistep_deg", 0, "deg", "spindle step", T_SAMPLING),
    PINT("-phisteps", "phisteps", "spindle steps", T_SAMPLING),
    SPEC("-pivot", fn_pivot, 0, 0, "beam|sample", NULL, "detector rotation pivot (conventions other than custom impose theirs)", T_DETECTOR),
    PVEC("-pix0_vector", "pix0_vector_m", E_CUSTOM, "sample to first pixel (m; custom convention)", T_DETECTOR),
    PREAL("-pixel", "pixel_mm", 0, "mm", "pixel size (default 0.1)", T_DETECTOR),
    PSW("-point_pixel", "point_pixel", 1, 0, "1/R^2 solid angle, no obliquity", T_DETECTOR),
    SPEC("-polar", fn_polar, -BIG, BIG, "<factor>", NULL, "Kahn polarization factor; turns polarization on (default 0)", T_BEAM),
    PVEC("-polar_vector", "polar_vector", E_CUSTOM, "E-vector of the beam (custom convention)", T_BEAM),
    SPEC("-precision", fn_precision, 0, 0, "single|double", NULL, "lattice sums in float (parallelepiped crystals, no interpolation; ~2x faster) or double (default)", T_PROGRAM),
    SW("-printout", OPT(printout), 1, 0, "print every pixel's last sample (stol, hkl, F_cell, F_latt, ...); no progress meter", T_PROGRAM),
    SPEC("-printout_pixel", fn_two_ints, -1, 2147483647, "<f s>", NULL, "-printout of only pixel f (fast) s (slow); f = -1: every pixel", T_PROGRAM),
    SW("-progress", OPT(progress), 1, 0, "progress meter", T_PROGRAM),
    SPEC("-roi", fn_roi, 0, 1000000, "<xmin xmax ymin ymax>", "pixels", "render only these pixels (inclusive)", T_SAMPLING),
    PSW("-round_div", "round_div", 1, 0, "trim the divergence grid to an ellipse (default)", T_BEAM),
    PWORD("-round_xtal", "shape", "round", 0, "ellipsoidal crystal", T_CRYSTAL),
    SPEC("-sample_den", fn_ignored, 0, 0, "<g/cm^3>", NULL, "same as -density", T_COMPAT),
    PREAL("-sample_height", "sample_z_mm", 0, "mm", "crystal size along z", T_CRYSTAL),
    SPEC("-sample_size", fn_sample_size, 0, BIG, "<mm>", "mm", "same as -xtalsize", T_CRYSTAL),
    PREAL("-sample_thick", "sample_x_mm", 0, "mm", "crystal size along x", T_CRYSTAL),
    PREAL("-sample_width", "sample_y_mm", 0, "mm", "crystal size along y", T_CRYSTAL),
    PREAL("-sample_x", "sample_x_mm", 0, "mm", "same as -sample_thick", T_CRYSTAL),
    PREAL("-sample_y", "sample_y_mm", 0, "mm", "same as -sample_width", T_CRYSTAL),
    PREAL("-sample_z", "sample_z_mm", 0, "mm", "same as -sample_height", T_CRYSTAL),
    SPEC("-samplesize", fn_sample_size, 0, BIG, "<mm>", "mm", "same as -xtalsize", T_CRYSTAL),
    FACTOR("-scale", OPT(int_scale), -BIG, BIG, 0, "scale", "SMV counts per photon (default: 55000/max)", T_OUTPUTS),
    PVEC("-sdet_vector", "sdet_vector", E_CUSTOM, "slow-axis direction of the detector (custom convention)", T_DETECTOR),
    SPEC("-seed", fn_seed, -2147483647, 2147483647, "<int>", NULL, "seed of the noise (default: time)", T_NOISE),
    PPATH("-sfcif", "sfcif_path", 0, "structure factors: an mmCIF structure-factor file (_refln loop, expanded by its space group)", T_SF),
    PWORDARG("-sfcol", "sf_column", "label", "same as -mtzcol", T_SF),
    SPEC("-source_distance", fn_ignored_hint, 0, 0, "<mm>", NULL, "no effect, as in nanoBragg", T_COMPAT),
    PPATH("-sourcefile", "source_path", 0, "sources: lines 'X Y Z weight lambda(m)'", T_BEAM),
    PWORDARG("-spacegroup", "spacegroup", "name|number", "space group expanding -hkl, -mtz, -sfcif or -model (default: the file's)", T_SF),
    PVEC("-spindle_axis", "spindle_axis", E_CUSTOM, "spindle rotation axis (custom convention)", T_SAMPLING),
    PSW("-square_div", "round_div", 0, 0, "full rectangular divergence grid", T_BEAM),
    PWORD("-square_xtal", "shape", "square", 0, "parallelepiped crystal (default)", T_CRYSTAL),
    SPEC("-stol", fn_ignored, 0, 0, "<file>", NULL, "S(stol) table (read but unused, as in nanoBragg)", T_COMPAT),
    SPEC("-stolout", fn_ignored, 0, 0, "<file>", NULL, "accepted for compatibility (no effect)", T_COMPAT),
    PINT("-thicksteps", "detector_thicksteps", "same as -detector_thicksteps", T_DETECTOR),
    PWORD("-tophat_spots", "shape", "tophat", 0, "flat-top spots", T_CRYSTAL),
    SPEC("-trace_pixel", fn_two_ints, -1, 2147483647, "<s f>", NULL, "accepted for compatibility (no effect)", T_COMPAT),
    PREAL("-twotheta", "twotheta_deg", E_PIVOT_SAMPLE, "deg", "detector swing about the two-theta axis (pivot: sample)", T_DETECTOR),
    PVEC("-twotheta_axis", "twotheta_axis", E_CUSTOM, "two-theta rotation axis (custom convention)", T_DETECTOR),
    SPEC("-vdiv", fn_ignored_hint, 0, 0, "<mrad>", NULL, "no effect, as in nanoBragg (see -vdivrange)", T_COMPAT),
    PREAL("-vdivrange", "vdivrange_mrad", 0, "mrad", "vertical divergence range", T_BEAM),
    PREAL("-vdivstep", "vdivstep_mrad", 0, "mrad", "vertical divergence step", T_BEAM),
    PINT("-vdivsteps", "vdivsteps", "vertical divergence steps", T_BEAM),
    PREAL("-water", "water_um", 0, "um", "water around the crystal (background)", T_NOISE),
    PREAL("-wave", "lambda_A", 0, "A", "same as -lambda", T_BEAM),
    PREAL("-wavelength", "lambda_A", 0, "A", "same as -lambda", T_BEAM),
    PREAL("-width", "sample_y_mm", 0, "mm", "same as -sample_width", T_CRYSTAL),
    SPEC("-xdet_vector", fn_ignored_hint, 0, 0, "<x y z>", NULL, "no effect, as in nanoBragg (see -fdet_vector)", T_COMPAT),
    PWORD("-xds", "convention", "xds", E_PIVOT_SAMPLE, "XDS convention", T_DETECTOR),
    PREAL("-xtal_height", "sample_z_mm", 0, "mm", "same as -sample_height", T_CRYSTAL),
    SPEC("-xtal_size", fn_sample_size, 0, BIG, "<mm>", "mm", "same as -xtalsize", T_CRYSTAL),
    PREAL("-xtal_thick", "sample_x_mm", 0, "mm", "same as -sample_thick", T_CRYSTAL),
    PREAL("-xtal_width", "sample_y_mm", 0, "mm", "same as -sample_width", T_CRYSTAL),
    PREAL("-xtal_x", "sample_x_mm", 0, "mm", "same as -sample_thick", T_CRYSTAL),
    PREAL("-xtal_y", "sample_y_mm", 0, "mm", "same as -sample_width", T_CRYSTAL),
    PREAL("-xtal_z", "sample_z_mm", 0, "mm", "same as -sample_height", T_CRYSTAL),
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

int app_options_init(app_options *o)
{
    nb_error err;
    memset(o, 0, sizeof *o);
    o->cfg = nb_config_new();
    o->float_path = "floatimage.bin";
    o->int_path = "intimage.img";
    o->pgm_path = "image.pgm";
    o->noise_path = "noiseimage.img";
    o->write_pgm = 1;
    o->write_noise = 1;
    o->adc = 40.0;
    o->seed = -(long)time(NULL);
    o->progress = 1;
    o->printout_pixel[0] = o->printout_pixel[1] = -1;
    /* nanoBragg's: the structure-factor cache in the working directory, and
       a random orientation seeded from the clock */
    if (!o->cfg || nb_param_set_string(o->cfg, "fdump_path", "Fdump.bin", &err) != NB_OK
        || nb_param_set(o->cfg, "misset_seed", (double)-o->seed, &err) != NB_OK) {
        say("error", "out of memory");
        return 1;
    }
    return 0;
}

void app_options_free(app_options *o)
{
    nb_config_free(o->cfg);
    o->cfg = NULL;
}

static int apply_effects(app_options *o, const flag *f, char **args, int used)
{
    const int e = f->effects;
    int rc = 0;
    if (e & E_PIVOT_BEAM) rc = set_word(o, f, "pivot", "beam", args, used);
    if (!rc && (e & E_PIVOT_SAMPLE)) rc = set_word(o, f, "pivot", "sample", args, used);
    if (!rc && (e & E_CUSTOM)) rc = set_word(o, f, "convention", "custom", args, used);
    if (e & E_PGM) o->write_pgm = 1;
    if (e & E_NOISE) o->write_noise = 1;
    return rc;
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
    case F_PATH:
    case P_PATH:
        if (avail < 1 || args[0][0] == '\0')
            return fail(f, "needs a file name", NULL);
        if (f->kind == F_PATH)
            *(const char **)((char *)o + f->offset) = args[0];
        else
            rc = set_word(o, f, f->param, args[0], args, 1);
        *used = 1;
        break;
    case P_SET:
        v[0] = f->scale;
        rc = set_param(o, f, f->param, v, 1, args, 0);
        break;
    case P_WORD:
        rc = set_word(o, f, f->param, f->word, args, 0);
        break;
    case P_REAL:
        if (!(rc = numbers(f, args, avail, 1, v))) {
            *used = 1;
            rc = set_param(o, f, f->param, v, 1, args, 1);
        }
        break;
    case P_INT:
        if (!(rc = integer(f, args, avail, &n))) {
            v[0] = (double)n;
            *used = 1;
            rc = set_param(o, f, f->param, v, 1, args, 1);
        }
        break;
    case P_VEC:
        if (!(rc = numbers(f, args, avail, 3, v))) {
            *used = 3;
            rc = set_param(o, f, f->param, v, 3, args, 3);
        }
        break;
    case F_SPECIAL:
        rc = f->fn(o, f, args, avail, used);
        break;
    }
    return rc ? rc : apply_effects(o, f, args, *used);
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

/* The known flag nearest to an unknown name (the table's and the
   program's own, app_flags_extra), or NULL if none is close (within a third
   of the name's length, at least 2 edits). */
static const char *nearest_flag(const char *name)
{
    const char *best = NULL;
    int best_d = 99, limit = (int)strlen(name) / 3;
    if (limit < 2)
        limit = 2;
    for (size_t i = 0; i < NFLAGS + extra_count; ++i) {
        const char *known = i < NFLAGS ? FLAGS[i].name : extra_names[i - NFLAGS];
        int d = distance(name, known);
        if (d < best_d) {
            best_d = d;
            best = known;
        }
    }
    return best_d <= limit ? best : NULL;
}

static int unknown_word(char **argv, int i, int last_flag, int last_used)
{
    const char *w = argv[i];
    double v;
    if (w[0] == '-' && !parse_real(w, &v)) {
        const char *near = nearest_flag(w);
        if (near)
            say("error", "unknown flag %s (did you mean %s?)", w, near);
        else
            say("error", "unknown flag %s (%s -h lists them)", w, program_name);
    } else if (last_flag > 0) {
        say("error", "unexpected word '%s' after %s: not a flag, and %s took "
                     "%d value%s", w, argv[last_flag], argv[last_flag], last_used, last_used == 1 ? "" : "s");
    } else {
        say("error", "unexpected word '%s': not a flag (flags start with '-')", w);
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
    {
        const flag_kind k = FLAGS[find_flag(o->argv[at]) - FLAGS].kind;
        return k == F_SET || k == P_SET || k == P_WORD ? "" : o->argv[at + 1];
    }
}

double app_param(const app_options *o, const char *name)
{
    double v;
    nb_error err;
    return nb_param_get(o->cfg, name, &v, &err) == NB_OK ? v : NAN;
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

/* " (default X)": the library's default for parameter rows, the fresh
   program options' for the others; "" where the help says it or the default
   is derived at run time. */
static void default_text(const app_options *init, const flag *f, char *buf, size_t size)
{
    const nb_param_info *p = f->param ? nb_param_find(f->param) : NULL;
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
        v = *(const double *)((const char *)init + f->offset);
        snprintf(buf, size, " (default %g)", v / f->scale);
        return;
    case F_PATH:
        if (*(const char *const *)((const char *)init + f->offset))
            snprintf(buf, size, " (default %s)", *(const char *const *)((const char *)init + f->offset));
        return;
    case P_SET:
    case P_WORD:
        if (p && ((f->kind == P_WORD && strcmp(p->default_text, f->word) == 0)
                  || (f->kind == P_SET && atof(p->default_text) == f->scale && p->default_text[0] != 'n')))
            snprintf(buf, size, " (default)");
        return;
    case P_REAL:
    case P_INT:
    case P_VEC:
    case P_PATH:
        if (p && strcmp(p->default_text, "derived") != 0 && strcmp(p->default_text, "none") != 0)
            snprintf(buf, size, " (default %s)", p->default_text);
        return;
    case F_SPECIAL:
        return;
    }
}

void app_print_help(const char *prog)
{
    app_options init;
    if (app_options_init(&init) != 0)
        return;
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
    app_options_free(&init);
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

void app_print_params(void)
{
    static const char *const KIND[] = {"real", "integer", "switch", "array", "choice", "file"};
    printf("# libnanobragg parameters (nb_param_set / nb_param_get by name)\n");
    printf("# name | kind | units | range | default | help | interacts with\n");
    for (size_t i = 0; i < nb_param_count(); ++i) {
        const nb_param_info *p = nb_param_at(i);
        char kind[32], range[96];
        if (p->kind == NB_PARAM_ARRAY && p->min_count != p->count)
            snprintf(kind, sizeof kind, "array of %d to %d", p->min_count, p->count);
        else if (p->kind == NB_PARAM_ARRAY)
            snprintf(kind, sizeof kind, "array of %d", p->count);
        else
            snprintf(kind, sizeof kind, "%s", KIND[p->kind]);
        if (p->kind == NB_PARAM_CHOICE)
            snprintf(range, sizeof range, "%s", p->choices);
        else if (p->kind == NB_PARAM_STRING || p->kind == NB_PARAM_BOOL)
            snprintf(range, sizeof range, "%s", p->kind == NB_PARAM_BOOL ? "0 or 1" : "");
        else if (p->min < -1e299 && p->max > 1e299)
            snprintf(range, sizeof range, "any");
        else
            snprintf(range, sizeof range, "%s%g to %g", p->min_exclusive ? "above " : "", p->min, p->max);
        printf("%s | %s | %s | %s | %s | %s | %s\n", p->name, kind, p->units, range, p->default_text, p->help,
               p->interacts);
    }
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
    printf("NeXus/NXmx output: %s\n", nb_nexus_supported() ? "yes (HDF5)" : "no (built without HDF5: libhdf5-dev)");
}

int app_isa_from_env(app_options *o)
{
    const char *v = getenv("NB_ISA");
    if (!v || !*v)
        return 0;
    for (nb_isa i = NB_ISA_AUTO; nb_isa_name(i); ++i)
        if (strcmp(v, nb_isa_name(i)) == 0) {
            nb_error err;
            if (nb_param_set_string(o->cfg, "isa", v, &err) == NB_OK)
                return 0;
            fprintf(stderr, "%s: error: NB_ISA=%s: %s\n", program_name, v, err.msg);
            return 2;
        }
    fprintf(stderr, "%s: error: NB_ISA=%s: expected auto, baseline, avx2 or avx512\n", program_name, v);
    return 2;
}
