/*
 * test_api_property.c - a property test of the public API: random parameter
 * sets, with NaN, infinities, zeros, negatives, tiny and huge values, range
 * ends and just beyond them, wrong array lengths, degenerate vectors and
 * inconsistent combinations, go through the setters, nb_experiment_create and
 * nb_simulate.  For every one:
 *
 *   - a setter either returns NB_OK, having checked the value (finite, within
 *     the row's range, a whole number where the row says so, as many numbers
 *     as the row takes), or an error whose message names the parameter set
 *     (the data setters: "sources", "mask", "structure factors");
 *   - nb_experiment_create either succeeds or returns an error whose message
 *     names a parameter (the rule below);
 *   - a successful experiment renders (nb_simulate) an image whose every
 *     pixel is finite and not negative, with finite statistics, or
 *     nb_simulate returns an error naming a parameter;
 *   - nothing crashes, hangs or trips AddressSanitizer/UBSan (the sanitizer
 *     build runs this test too).
 *
 * What "names a parameter" means (names_parameter): the message contains
 *   (a) the name of a row of the parameter table (nb_param_at) as a whole
 *       word: its neighbours are not letters, digits or '_' ("-oversample"
 *       names oversample, "Nab" does not name N), or
 *   (b) the name of data given as arrays: "structure factors",
 *       "structure-factor", "sources", "mask", or
 *   (c) the file name the configuration gives a path parameter (hkl_path,
 *       mat_path, source_path, fdump_path): a message about a file names it.
 *
 * Cost: an experiment whose samples per pixel times pixels exceed
 * RENDER_BUDGET is not rendered (counted as skipped); at least 60% of the
 * experiments created must be rendered, so the test cannot pass by skipping.
 * The baseline renders on one thread (idle OpenMP threads spin, which on a
 * busy machine costs more than the small renders); the threads parameter is
 * mutated like the others, but the render runs with at most MAX_THREADS
 * threads (its range end, 4096, is checked by its setter only): thousands of
 * threads on a small machine would only measure the machine.
 *
 * Deterministic: the cases come from a fixed seed (splitmix64); each case
 * reseeds from (seed, case number), so a failure names the case and its
 * actions, and NB_PROPERTY_FIRST=k NB_PROPERTY_CASES=1 replays it alone.
 * Environment: NB_PROPERTY_CASES (default 10000), NB_PROPERTY_SEED,
 * NB_PROPERTY_FIRST, NB_PROPERTY_VERBOSE=1 (print every case's actions
 * before it is created: for crashes; 2: every case's actions and outcome
 * after it), NB_PROPERTY_KEEP_GOING=1 (report each failing case in a line
 * and go on), NB_PROPERTY_BUDGET (samples per render, default RENDER_BUDGET).
 * No file is written: path parameters get names of files that do not exist
 * in a fresh scratch directory, or the directory itself, which must still be
 * empty at the end.
 */
#include <float.h>
#include <limits.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "nanobragg.h"
#include "scratch.h"

#define DEFAULT_CASES 10000
#define DEFAULT_SEED 0x6e62707270ULL
#define RENDER_BUDGET 5e5 /* samples per pixel x pixels */
#define MAX_THREADS 4

SCRATCH_GROUP("nb_property")

/* ------------------------------------------------------------ random numbers */

static uint64_t rng_state;

static uint64_t next_u64(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static double uniform(void) { return (double)(next_u64() >> 11) * 0x1.0p-53; }
static int below(int n) { return (int)(next_u64() % (uint64_t)n); }
static double between(double lo, double hi) { return lo + (hi - lo) * uniform(); }
static int chance(double p) { return uniform() < p; }

/* A random magnitude, log-uniform over [10^lo, 10^hi]. */
static double log_uniform(double lo, double hi) { return pow(10.0, between(lo, hi)); }

/* ------------------------------------------------------------ what a case did */

static char trace[16384];
static size_t trace_len;
static int verbose;
static long case_no;

static void note(const char *fmt, ...)
{
    va_list ap;
    int n;
    if (trace_len >= sizeof trace - 1)
        return;
    va_start(ap, fmt);
    n = vsnprintf(trace + trace_len, sizeof trace - trace_len, fmt, ap);
    va_end(ap);
    if (n > 0)
        trace_len += (size_t)n < sizeof trace - trace_len ? (size_t)n : sizeof trace - 1 - trace_len;
}

/* Fail the test, showing the case and everything it did (or, with
   NB_PROPERTY_KEEP_GOING=1, for triage: print a line and go on with the
   next case, leaking what the case held). */
static int keep_going;
static double budget = RENDER_BUDGET;
static long failures;
static jmp_buf case_jmp;
#define case_fail(...)                                                                             \
    do {                                                                                           \
        if (keep_going) {                                                                          \
            fprintf(stderr, "FAIL case %ld: ", case_no);                                           \
            fprintf(stderr, __VA_ARGS__);                                                          \
            failures++;                                                                            \
            longjmp(case_jmp, 1);                                                                  \
        }                                                                                          \
        print_error("case %ld:\n%s", case_no, trace);                                              \
        print_error(__VA_ARGS__);                                                                  \
        fail();                                                                                    \
    } while (0)

/* ------------------------------------------------------------ counts */

typedef struct counts {
    long cases, setter_ok, setter_err, created, create_err[NB_ERR_CANCELLED + 1];
    long rendered, skipped, simulate_err, copies;
    double samples; /* kernel samples rendered */
} counts;

static counts tally;

/* ------------------------------------------------------------ naming rule */

static int ident_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* word occurs in msg with no letter, digit or '_' on either side. */
static int has_word(const char *msg, const char *word)
{
    const size_t n = strlen(word);
    for (const char *p = strstr(msg, word); p; p = strstr(p + 1, word))
        if ((p == msg || !ident_char(p[-1])) && !ident_char(p[n]))
            return 1;
    return 0;
}

static const char *PATH_PARAMS[] = {"hkl_path", "mat_path", "source_path", "fdump_path"};

/* The rule of the header comment: (a) a table name, (b) a data name, (c) a
   file the configuration names. */
static int names_parameter(const char *msg, const nb_config *cfg)
{
    static const char *data[] = {"structure factors", "structure-factor", "sources", "mask"};
    for (size_t i = 0; i < nb_param_count(); ++i)
        if (has_word(msg, nb_param_at(i)->name))
            return 1;
    for (size_t i = 0; i < sizeof data / sizeof data[0]; ++i)
        if (strstr(msg, data[i]))
            return 1;
    for (size_t i = 0; cfg && i < sizeof PATH_PARAMS / sizeof PATH_PARAMS[0]; ++i) {
        const char *path = NULL;
        nb_error err;
        if (nb_param_get_string(cfg, PATH_PARAMS[i], &path, &err) == NB_OK && path && strstr(msg, path))
            return 1;
    }
    return 0;
}

/* ------------------------------------------------------------ setters */

/* A setter's result: NB_OK, or an error whose message names `name` (as a
   word; for data setters, contains it). */
static int setter_result(nb_status st, const nb_error *err, const char *name, int word)
{
    if (st == NB_OK)
        note("  -> OK\n");
    else
        note("  -> %s: %s\n", nb_strerror(st), err->msg);
    if (st == NB_OK) {
        tally.setter_ok++;
        return 1;
    }
    tally.setter_err++;
    if (!err->msg[0] || !(word ? has_word(err->msg, name) : strstr(err->msg, name) != NULL))
        case_fail("setting %s: the error (%s) does not name it: '%s'\n", name, nb_strerror(st), err->msg);
    return 0;
}

/* Did the setter accept only what the row allows?  (values accepted) */
static void check_accepted(const nb_param_info *p, const double *v, size_t n)
{
    const int whole = p->kind == NB_PARAM_INT || p->kind == NB_PARAM_BOOL;
    if (n < (size_t)p->min_count || n > (size_t)p->count)
        case_fail("%s accepted %zu values (takes %d to %d)\n", p->name, n, p->min_count, p->count);
    for (size_t i = 0; i < n; ++i) {
        const double x = v[i];
        if (!isfinite(x) || x < p->min || x > p->max || (p->min_exclusive && x <= p->min)
            || (whole && x != floor(x)))
            case_fail("%s accepted %.17g (range %g%s to %g%s)\n", p->name, x, p->min,
                      p->min_exclusive ? " exclusive" : "", p->max, whole ? ", whole" : "");
    }
}

static int set_real(nb_config *cfg, const char *name, double v)
{
    nb_error err = {{0}};
    nb_status st = nb_param_set(cfg, name, v, &err);
    note("set %s = %.17g\n", name, v);
    if (setter_result(st, &err, name, 1)) {
        check_accepted(nb_param_find(name), &v, 1);
        return 1;
    }
    return 0;
}

static int set_array(nb_config *cfg, const char *name, const double *v, size_t n)
{
    nb_error err = {{0}};
    nb_status st = nb_param_set_array(cfg, name, v, n, &err);
    note("set %s =", name);
    for (size_t i = 0; i < n; ++i)
        note(" %.17g", v[i]);
    note(" (%zu)\n", n);
    if (setter_result(st, &err, name, 1)) {
        check_accepted(nb_param_find(name), v, n);
        return 1;
    }
    return 0;
}

static int set_string(nb_config *cfg, const char *name, const char *s)
{
    nb_error err = {{0}};
    nb_status st = nb_param_set_string(cfg, name, s, &err);
    note("set %s = %s%s%s\n", name, s ? "'" : "", s ? s : "NULL", s ? "'" : "");
    return setter_result(st, &err, name, 1);
}

/* A setter that must succeed (the baseline). */
#define must(call)                                                                                 \
    do {                                                                                           \
        if (!(call))                                                                               \
            case_fail("the baseline was refused: %s\n", #call);                                    \
    } while (0)

/* ------------------------------------------------------------ values */

/* A value just outside x towards dir (-1 below, +1 above): the next double
   or, for whole numbers, the next integer. */
static double beyond(double x, int dir, int whole)
{
    if (whole || chance(0.5))
        return x + dir * (whole ? 1.0 : fmax(1e-9, fabs(x) * 1e-9));
    return nextafter(x, dir < 0 ? -INFINITY : INFINITY);
}

/* A value in p's range: uniform where the range is narrow, else log-uniform
   over the magnitudes, either sign the range allows. */
static double in_range(const nb_param_info *p, int whole)
{
    double lo = p->min, hi = p->max, x;
    if (hi - lo <= 1e4 && chance(0.7)) {
        x = between(lo, hi);
    } else {
        const double top = log10(fmax(fabs(lo), fabs(hi)));
        const int neg = lo < 0 && (hi <= 0 || chance(0.5));
        x = log_uniform(-6, top > -6 ? top : -6) * (neg ? -1 : 1);
        if (x < lo) x = lo;
        if (x > hi) x = hi;
    }
    if (whole) {
        x = floor(x);
        if (x < lo) x = ceil(lo);
    }
    return x;
}

/* Counts that multiply the work of set-up or of the render (sources,
   orientations, sub-pixels, layers, pixels): their values in range are drawn
   from 1 to 100, so that the cases stay fast; their range ends and the
   values beyond them are drawn as for every parameter. */
static int is_cost(const nb_param_info *p)
{
    static const char *rows[] = {"divsteps", "hdivsteps", "vdivsteps", "dispsteps", "phisteps",
                                 "mosaic_domains", "detector_thicksteps", "oversample", "fpixels",
                                 "spixels", "detpixels", "threads"};
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; ++i)
        if (strcmp(p->name, rows[i]) == 0)
            return 1;
    return 0;
}

/* A number for parameter p: NaN, infinities, zeros, negatives, tiny and
   huge values, the range ends and just outside them, values in range. */
static double draw(const nb_param_info *p)
{
    const int whole = p->kind == NB_PARAM_INT || p->kind == NB_PARAM_BOOL;
    static const double tiny[] = {1e-300, -1e-300, 5e-324, DBL_MIN, 1e-30};
    static const double huge[] = {1e300, -1e300, 1e30, DBL_MAX, -DBL_MAX, 1e15, 1e100, 2147483648.0};
    if (p->kind == NB_PARAM_BOOL && chance(0.6))
        return below(2);
    switch (below(22)) {
    case 0: return NAN;
    case 1: return INFINITY;
    case 2: return -INFINITY;
    case 3: return 0.0;
    case 4: return -0.0;
    case 5: return -log_uniform(-3, 6) * (whole ? 1 : 1.0 + uniform());
    case 6: return tiny[below(sizeof tiny / sizeof tiny[0])];
    case 7: return huge[below(sizeof huge / sizeof huge[0])];
    case 8: return p->min;
    case 9: return p->max;
    case 10: return beyond(p->min, -1, whole);
    case 11: return beyond(p->max, +1, whole);
    case 12: case 13: case 14: case 15: return is_cost(p) ? floor(log_uniform(0, 2)) : in_range(p, whole);
    case 16: case 17: return is_cost(p) ? floor(log_uniform(0, 2)) : floor(in_range(p, 1));
    case 18: return is_cost(p) ? -floor(log_uniform(0, 6)) : between(-1e6, 1e6);
    default: return whole ? below(20) : log_uniform(-2, 3); /* plausible */
    }
}

/* Directions: the vector parameters that must not be zero or parallel. */
static const char *DIRECTIONS[] = {"beam_vector", "polar_vector", "fdet_vector", "sdet_vector",
                                   "odet_vector", "spindle_axis", "twotheta_axis"};

static int is_direction(const char *name)
{
    for (size_t i = 0; i < sizeof DIRECTIONS / sizeof DIRECTIONS[0]; ++i)
        if (strcmp(name, DIRECTIONS[i]) == 0)
            return 1;
    return 0;
}

/* The current value of a 3-vector parameter (the default when unset). */
static void current3(const nb_config *cfg, const char *name, double v[3])
{
    size_t n = 0;
    nb_error err;
    if (nb_param_get_array(cfg, name, v, 3, &n, &err) != NB_OK || n != 3)
        v[0] = 1, v[1] = 0, v[2] = 0;
}

/* A 3-vector for a direction: zero, tiny, huge, random, or parallel to
   another direction (the cross products the set-up takes are then zero). */
static void draw_direction(const nb_config *cfg, const char *name, double v[3])
{
    double s = chance(0.5) ? between(-3, 3) : (chance(0.5) ? 1e-200 : 1e200);
    switch (below(8)) {
    case 0: v[0] = v[1] = v[2] = chance(0.5) ? 0.0 : -0.0; break;
    case 1:
    case 2: { /* parallel to a partner */
        const char *partner = strcmp(name, "beam_vector") == 0    ? "polar_vector"
                              : strcmp(name, "polar_vector") == 0 ? "beam_vector"
                              : strcmp(name, "fdet_vector") == 0  ? "sdet_vector"
                              : strcmp(name, "sdet_vector") == 0  ? "fdet_vector"
                              : strcmp(name, "odet_vector") == 0  ? (chance(0.5) ? "fdet_vector" : "sdet_vector")
                              : strcmp(name, "spindle_axis") == 0 ? "beam_vector"
                                                                  : "odet_vector";
        current3(cfg, partner, v);
        if (chance(0.7))
            s = chance(0.5) ? 1.0 : -2.0;
        v[0] *= s, v[1] *= s, v[2] *= s;
        break;
    }
    case 3: v[0] = s, v[1] = s * 1e-300, v[2] = 0; break;
    case 4: v[0] = v[1] = v[2] = s; break;
    default:
        for (int i = 0; i < 3; ++i)
            v[i] = chance(0.2) ? 0.0 : between(-1, 1);
        break;
    }
}

/* ------------------------------------------------------------ mutations */

static const char *JUNK_WORDS[] = {"", "junk", "SQUARE", "square ", "mosflm\n", "autox", "0", "-1"};

static void mutate_choice(nb_config *cfg, const nb_param_info *p)
{
    if (chance(0.75)) { /* a valid word */
        const char *c = p->choices;
        int n = 1, k;
        char word[64];
        for (const char *q = c; *q; ++q)
            n += *q == '|';
        k = below(n);
        while (k-- > 0)
            c = strchr(c, '|') + 1;
        snprintf(word, sizeof word, "%.*s", (int)strcspn(c, "|"), c);
        set_string(cfg, p->name, word);
    } else {
        set_string(cfg, p->name, chance(0.1) ? NULL : JUNK_WORDS[below(sizeof JUNK_WORDS / sizeof JUNK_WORDS[0])]);
    }
}

static void mutate_path(nb_config *cfg, const nb_param_info *p)
{
    switch (below(5)) {
    case 0: set_string(cfg, p->name, NULL); break;
    case 1: set_string(cfg, p->name, ""); break;
    case 2: set_string(cfg, p->name, scratch); break; /* a directory */
    default: set_string(cfg, p->name, in_scratch(chance(0.5) ? "missing.hkl" : "no/such/dir/file")); break;
    }
}

static void mutate_array(nb_config *cfg, const nb_param_info *p)
{
    double v[16];
    size_t n;
    if (is_direction(p->name) && chance(0.6)) {
        draw_direction(cfg, p->name, v);
        set_array(cfg, p->name, v, 3);
        return;
    }
    n = chance(0.7) ? (size_t)(p->min_count + below(p->count - p->min_count + 1)) : (size_t)below(p->count + 2);
    if (strcmp(p->name, "cell") == 0 && chance(0.5)) { /* mostly plausible, one value odd */
        for (int i = 0; i < 6; ++i)
            v[i] = i < 3 ? between(5, 300) : between(20, 160);
        if (chance(0.5)) {
            const int i = below(6);
            v[i] = draw(p);
        }
    } else if ((strcmp(p->name, "umatrix") == 0 || strcmp(p->name, "mosflm_matrix") == 0) && chance(0.5)) {
        const double a = between(-M_PI, M_PI), c = cos(a), s = sin(a);
        const double scale = strcmp(p->name, "mosflm_matrix") == 0 ? between(0.001, 0.05) : 1.0;
        const double rot[9] = {c, -s, 0, s, c, 0, 0, 0, 1};
        for (int i = 0; i < 9; ++i)
            v[i] = rot[i] * scale;
        if (chance(0.5)) {
            const int i = below(9);
            v[i] = chance(0.5) ? draw(p) : 0.0;
        }
        if (chance(0.2))
            memset(v, 0, sizeof v); /* degenerate */
    } else if (strcmp(p->name, "roi") == 0 && chance(0.6)) {
        for (int i = 0; i < 4; ++i)
            v[i] = chance(0.8) ? below(24) : draw(p);
    } else {
        const double lo = fmax(p->min, -100), hi = fmin(p->max, 100); /* plausible values */
        for (size_t i = 0; i < (size_t)p->count + 1; ++i)
            v[i] = chance(0.6) ? between(lo, hi) : draw(p);
    }
    set_array(cfg, p->name, n ? v : NULL, n);
}

static void mutate_param(nb_config *cfg, const nb_param_info *p)
{
    if (chance(0.04)) { /* back to the default */
        nb_error err = {{0}};
        nb_status st = nb_param_unset(cfg, p->name, &err);
        note("unset %s\n", p->name);
        if (st != NB_OK)
            case_fail("nb_param_unset(%s): %s\n", p->name, err.msg);
        return;
    }
    if (chance(0.03)) { /* the wrong setter for the kind */
        if (p->kind == NB_PARAM_CHOICE || p->kind == NB_PARAM_STRING)
            set_real(cfg, p->name, 1.0);
        else
            set_string(cfg, p->name, "1");
        return;
    }
    switch (p->kind) {
    case NB_PARAM_REAL:
    case NB_PARAM_INT:
    case NB_PARAM_BOOL: set_real(cfg, p->name, draw(p)); break;
    case NB_PARAM_ARRAY: mutate_array(cfg, p); break;
    case NB_PARAM_CHOICE: mutate_choice(cfg, p); break;
    case NB_PARAM_STRING: mutate_path(cfg, p); break;
    }
}

/* A coordinate, weight or wavelength of a source: mostly plausible. */
static double source_number(double lo, double hi)
{
    static const nb_param_info any = {"source", NB_PARAM_REAL, 1, 1, "", -1e300, 1e300, 0, NULL, "", "", ""};
    return chance(0.75) ? between(lo, hi) : draw(&any);
}

static void mutate_sources(nb_config *cfg)
{
    const size_t n = chance(0.1) ? 0 : (size_t)(1 + below(chance(0.9) ? 4 : 40));
    double xyz[3 * 40] = {0}, w[40] = {0}, lam[40] = {0};
    nb_error err = {{0}};
    nb_status st;
    const int with_lambda = chance(0.5);
    for (size_t i = 0; i < n; ++i) {
        xyz[3 * i] = source_number(-20, -5);
        xyz[3 * i + 1] = source_number(-0.1, 0.1);
        xyz[3 * i + 2] = source_number(-0.1, 0.1);
        if (chance(0.05))
            xyz[3 * i] = xyz[3 * i + 1] = xyz[3 * i + 2] = chance(0.5) ? 0.0 : 1e-300;
        w[i] = source_number(0, 2);
        lam[i] = chance(0.2) ? 0.0 : source_number(0.5, 3);
    }
    st = nb_config_set_sources(cfg, n, n ? xyz : NULL, n ? w : NULL, with_lambda ? lam : NULL, &err);
    note("set sources: n = %zu%s", n, with_lambda ? " with wavelengths:" : ":");
    for (size_t i = 0; i < n && i < 4; ++i)
        note(" (%g %g %g w %g l %g)", xyz[3 * i], xyz[3 * i + 1], xyz[3 * i + 2], w[i], with_lambda ? lam[i] : 0.0);
    note("\n");
    setter_result(st, &err, "sources", 0);
}

static void mutate_mask(nb_config *cfg)
{
    double fp = 16, sp = 16;
    nb_error err = {{0}};
    int w, h;
    uint16_t *mask;
    nb_status st;
    if (nb_param_get(cfg, "fpixels", &fp, &err) != NB_OK || nb_param_get(cfg, "spixels", &sp, &err) != NB_OK)
        fp = sp = 8;
    w = (int)fp, h = (int)sp;
    if (chance(0.3)) { /* a mismatch, or an unusable size */
        static const int odd[] = {0, -1, 1, 2, 1000001, INT_MIN};
        w = chance(0.5) ? w + below(3) - 1 : odd[below(6)];
        h = chance(0.5) ? h + below(3) - 1 : odd[below(6)];
    }
    if (chance(0.1)) {
        st = nb_config_set_mask(cfg, w, h, NULL, &err);
        note("set mask NULL\n");
        setter_result(st, &err, "mask", 0);
        return;
    }
    if (w < 1 || h < 1 || w > 64 || h > 64) { /* not allocated: must be refused before reading */
        static const uint16_t one = 1;
        if (w >= 1 && h >= 1 && (long)w * h > 1)
            w = 1, h = 1; /* a buffer of one value: keep the size honest */
        st = nb_config_set_mask(cfg, w, h, &one, &err);
        note("set mask %d x %d\n", w, h);
        setter_result(st, &err, "mask", 0);
        return;
    }
    mask = malloc((size_t)w * (size_t)h * sizeof *mask);
    assert_non_null(mask);
    for (int i = 0; i < w * h; ++i)
        mask[i] = chance(0.1) ? 0 : (uint16_t)(1 + below(3));
    if (chance(0.1))
        memset(mask, 0, (size_t)w * (size_t)h * sizeof *mask); /* nothing to render */
    st = nb_config_set_mask(cfg, w, h, mask, &err);
    note("set mask %d x %d\n", w, h);
    setter_result(st, &err, "mask", 0);
    free(mask);
}

/* An index for a reflection list: small, or (rarely) huge. */
static int draw_index(void)
{
    static const int huge[] = {INT_MAX, INT_MIN, 1 << 27, -(1 << 27), 1 << 30};
    return chance(0.97) ? below(13) - 6 : huge[below(5)];
}

static double draw_F(void)
{
    static const nb_param_info any = {"F", NB_PARAM_REAL, 1, 1, "", -1e300, 1e300, 0, NULL, "", "", ""};
    return chance(0.85) ? between(0, 200) : draw(&any);
}

/* Structure factors from a list or a grid, given to the configuration when made. */
static void mutate_sf(nb_config *cfg)
{
    nb_sf *sf = NULL;
    nb_error err = {{0}};
    nb_status st;
    if (chance(0.6)) {
        const size_t n = chance(0.05) ? 0 : (size_t)(1 + below(30));
        int h[30], k[30], l[30];
        double F[30];
        const double missing = chance(0.8) ? between(0, 50) : draw_F();
        long lo[3] = {LONG_MAX, LONG_MAX, LONG_MAX}, hi[3] = {LONG_MIN, LONG_MIN, LONG_MIN};
        for (size_t i = 0; i < n; ++i) {
            h[i] = draw_index(), k[i] = draw_index(), l[i] = draw_index();
            F[i] = draw_F();
            const int idx[3] = {h[i], k[i], l[i]};
            for (int a = 0; a < 3; ++a) {
                if (idx[a] < lo[a]) lo[a] = idx[a];
                if (idx[a] > hi[a]) hi[a] = idx[a];
            }
        }
        st = nb_sf_from_list(h, k, l, F, n, missing, &sf, &err);
        note("structure factors from a list of %zu (missing_F %g; spans", n, missing);
        for (int a = 0; a < 3 && n; ++a)
            note(" %ld..%ld", lo[a], hi[a]);
        note(")\n");
        setter_result(st, &err, "structure factors", 0);
        for (int a = 0; a < 3 && n; ++a) /* 2^27 indices along an axis is far more than 1 GiB */
            if (hi[a] - lo[a] >= (1L << 27) && st != NB_ERR_RANGE && st != NB_ERR_INVALID)
                case_fail("a list spanning %ld..%ld was not refused (%s)\n", lo[a], hi[a], nb_strerror(st));
    } else {
        double F[64];
        int origin[3], dims[3];
        const int huge = chance(0.1);
        for (int a = 0; a < 3; ++a) {
            origin[a] = chance(0.95) ? below(9) - 4 : (chance(0.5) ? INT_MAX - 1 : INT_MIN);
            dims[a] = huge ? (chance(0.5) ? (1 << 11) + below(1 << 20) : (chance(0.5) ? 0 : -3)) : 1 + below(4);
        }
        for (int i = 0; i < 64; ++i)
            F[i] = draw_F();
        st = nb_sf_from_grid(origin, dims, F, &sf, &err);
        note("structure factors from a grid at %d %d %d of %d x %d x %d\n", origin[0], origin[1], origin[2],
             dims[0], dims[1], dims[2]);
        setter_result(st, &err, "structure-factor", 0);
        if (huge && st == NB_OK)
            case_fail("a grid of %d x %d x %d was accepted\n", dims[0], dims[1], dims[2]);
    }
    if (st == NB_OK) {
        st = nb_config_set_sf(cfg, chance(0.95) ? sf : NULL, &err);
        if (st != NB_OK)
            case_fail("nb_config_set_sf: %s\n", err.msg);
        nb_sf_free(sf);
    }
}

/* Combinations: several related parameters at once, mostly plausible with
   one edge. */
static const nb_param_info *row(const char *name)
{
    const nb_param_info *p = nb_param_find(name);
    if (!p)
        case_fail("no parameter %s in the table\n", name);
    return p;
}

static double plausible_or_edge(const char *name, double lo, double hi)
{
    return chance(0.7) ? between(lo, hi) : draw(row(name));
}

/* A thick sensor that absorbs (the capture fraction then matters). */
static void thick_sensor(nb_config *cfg)
{
    set_real(cfg, "detector_thick_um", plausible_or_edge("detector_thick_um", 1, 500));
    set_real(cfg, "detector_abs_um", plausible_or_edge("detector_abs_um", 1, 500));
    if (chance(0.5))
        set_real(cfg, "detector_thicksteps", 1 + below(4));
}

static void mutate_combination(nb_config *cfg)
{
    double v[9];
    switch (below(20)) {
    case 0: /* roi outside the detector */
        v[0] = below(40), v[1] = v[0] + below(40), v[2] = below(40), v[3] = v[2] + below(40);
        set_array(cfg, "roi", v, 4);
        break;
    case 1: /* mosaic */
        set_real(cfg, "mosaic_spread_deg", plausible_or_edge("mosaic_spread_deg", 0, 5));
        set_real(cfg, "mosaic_domains", chance(0.9) ? below(12) : draw(row("mosaic_domains")));
        break;
    case 2: /* oscillation */
        set_real(cfg, "osc_deg", plausible_or_edge("osc_deg", 0, 5));
        if (chance(0.5))
            set_real(cfg, "phisteps", chance(0.7) ? below(6) : draw(row("phisteps")));
        else
            set_real(cfg, "phistep_deg", plausible_or_edge("phistep_deg", 0, 2));
        break;
    case 3: set_real(cfg, "dmin_A", plausible_or_edge("dmin_A", 0, 5)); break;
    case 4: /* water background */
        set_real(cfg, "water_um", plausible_or_edge("water_um", 0, 1000));
        if (chance(0.5))
            set_real(cfg, "fluence", chance(0.5) ? log_uniform(20, 40) : draw(row("fluence")));
        break;
    case 5: /* curved detector, perhaps wider than a half sphere */
        set_real(cfg, "curved_detector", 1);
        set_real(cfg, "distance_mm", plausible_or_edge("distance_mm", 1, 300));
        if (chance(0.5))
            set_real(cfg, "pixel_mm", plausible_or_edge("pixel_mm", 0.05, 50));
        if (chance(0.4))
            thick_sensor(cfg);
        break;
    case 6: /* absorption */
        set_real(cfg, "detector_thick_um", plausible_or_edge("detector_thick_um", 0, 500));
        set_real(cfg, "detector_abs_um", plausible_or_edge("detector_abs_um", 0, 500));
        set_real(cfg, "detector_thicksteps", chance(0.7) ? below(5) : draw(row("detector_thicksteps")));
        if (chance(0.3))
            set_real(cfg, "oversample_thick", 1);
        break;
    case 7: /* a custom frame with degenerate vectors */
    case 8: {
        const char *name = DIRECTIONS[below(sizeof DIRECTIONS / sizeof DIRECTIONS[0])];
        set_string(cfg, "convention", "custom");
        draw_direction(cfg, name, v);
        set_array(cfg, name, v, 3);
        if (chance(0.3)) {
            v[0] = plausible_or_edge("pix0_vector_m", -0.1, 0.1), v[1] = between(-0.1, 0.1), v[2] = between(-0.1, 0.1);
            set_array(cfg, "pix0_vector_m", v, 3);
        }
        if (chance(0.3))
            thick_sensor(cfg);
        break;
    }
    case 9: /* divergence */
        set_real(cfg, "divergence_mrad", plausible_or_edge("divergence_mrad", 0, 5));
        set_real(cfg, "divsteps", chance(0.7) ? below(5) : draw(row("divsteps")));
        if (chance(0.3))
            set_real(cfg, "round_div", below(2));
        break;
    case 10: /* dispersion */
        set_real(cfg, "dispersion_percent", plausible_or_edge("dispersion_percent", 0, 10));
        set_real(cfg, "dispsteps", chance(0.7) ? below(5) : draw(row("dispsteps")));
        break;
    case 11: /* detector swing */
        set_real(cfg, "twotheta_deg", plausible_or_edge("twotheta_deg", -180, 180));
        if (chance(0.5)) {
            draw_direction(cfg, "twotheta_axis", v);
            set_array(cfg, "twotheta_axis", v, 3);
        }
        set_string(cfg, "pivot", chance(0.5) ? "beam" : "sample");
        break;
    case 12: /* intensity */
        set_real(cfg, "flux", chance(0.6) ? log_uniform(5, 20) : draw(row("flux")));
        set_real(cfg, "exposure_s", plausible_or_edge("exposure_s", 0, 10));
        set_real(cfg, "beamsize_mm", plausible_or_edge("beamsize_mm", 0, 1));
        break;
    case 13: /* near point and pixels */
        set_real(cfg, "point_pixel", below(2));
        set_real(cfg, "close_distance_mm", plausible_or_edge("close_distance_mm", -300, 300));
        break;
    case 14: /* beam centre */
        for (int i = 0; i < 2; ++i) {
            const char *name = chance(0.5) ? (i ? "Ybeam_mm" : "Xbeam_mm") : (i ? "ORGY" : "ORGX");
            set_real(cfg, name, plausible_or_edge("Xbeam_mm", -10, 10));
        }
        break;
    case 15: /* crystal size and shape */
        set_real(cfg, "xtalsize_mm", plausible_or_edge("xtalsize_mm", 0, 0.001));
        set_string(cfg, "shape", chance(0.5) ? "gauss" : chance(0.5) ? "round" : "tophat");
        set_real(cfg, "fudge", plausible_or_edge("fudge", 0, 3));
        break;
    case 16: /* orientation */
        if (chance(0.5)) {
            v[0] = plausible_or_edge("misset_deg", -180, 180), v[1] = between(-180, 180), v[2] = between(-180, 180);
            set_array(cfg, "misset_deg", v, 3);
        } else {
            set_real(cfg, "misset_random", 1);
            set_real(cfg, "misset_seed", chance(0.7) ? below(1000) - 500 : draw(row("misset_seed")));
        }
        break;
    case 18: /* detector rotations near a quarter or half turn */
        for (int i = 0; i < 3; ++i) {
            static const char *rot[] = {"detector_rotx_deg", "detector_roty_deg", "detector_rotz_deg"};
            if (chance(0.5))
                set_real(cfg, rot[i], chance(0.7) ? 90.0 * below(5) - 180.0 + (chance(0.5) ? 0.0 : between(-1e-6, 1e-6))
                                                  : draw(row(rot[i])));
        }
        set_string(cfg, "pivot", chance(0.5) ? "beam" : "sample");
        if (chance(0.3))
            thick_sensor(cfg);
        break;
    case 19: /* polarization */
        set_real(cfg, "polarization", plausible_or_edge("polarization", -1, 1));
        if (chance(0.3))
            set_real(cfg, "nopolar", below(2));
        if (chance(0.6)) {
            set_string(cfg, "convention", "custom");
            draw_direction(cfg, "polar_vector", v);
            set_array(cfg, "polar_vector", v, 3);
        }
        break;
    default: /* sub-pixels */
        set_real(cfg, "oversample", chance(0.7) ? below(4) : draw(row("oversample")));
        set_real(cfg, chance(0.5) ? "oversample_omega" : "oversample_polar", 1);
        break;
    }
}

/* ------------------------------------------------------------ a case */

static void baseline(nb_config *cfg)
{
    double cell[6];
    for (int i = 0; i < 6; ++i) /* one at a time: the order of the draws is fixed */
        cell[i] = i < 3 ? between(50, 150) : between(85, 95);
    must(set_array(cfg, "cell", cell, 6));
    if (chance(0.5)) {
        must(set_real(cfg, "default_F", between(1, 100)));
    } else {
        int h[20], k[20], l[20];
        double F[20];
        const size_t n = (size_t)(1 + below(20));
        nb_sf *sf = NULL;
        nb_error err = {{0}};
        for (size_t i = 0; i < n; ++i)
            h[i] = below(7) - 3, k[i] = below(7) - 3, l[i] = below(7) - 3, F[i] = between(0, 100);
        note("structure factors from a list of %zu\n", n);
        if (nb_sf_from_list(h, k, l, F, n, chance(0.5) ? 0.0 : between(0, 100), &sf, &err) != NB_OK
            || nb_config_set_sf(cfg, sf, &err) != NB_OK)
            case_fail("baseline structure factors: %s\n", err.msg);
        nb_sf_free(sf);
        if (chance(0.3))
            must(set_real(cfg, "default_F", between(1, 100)));
    }
    if (chance(0.7)) {
        must(set_real(cfg, "N", 1 + below(10)));
    } else {
        must(set_real(cfg, "Na", 1 + below(10)));
        must(set_real(cfg, "Nb", 1 + below(10)));
        must(set_real(cfg, "Nc", 1 + below(10)));
    }
    if (chance(0.5)) {
        must(set_real(cfg, "detpixels", 4 + below(13)));
    } else {
        must(set_real(cfg, "fpixels", 4 + below(13)));
        must(set_real(cfg, "spixels", 4 + below(13)));
    }
    must(set_real(cfg, "distance_mm", between(50, 300)));
    must(set_real(cfg, "lambda_A", between(0.5, 3)));
    if (chance(0.7))
        must(set_real(cfg, "oversample", 1 + below(2)));
    must(set_real(cfg, "threads", 1));
}

static void mutate(nb_config *cfg)
{
    const int n = 1 + below(6);
    for (int i = 0; i < n; ++i) {
        const int r = below(100);
        if (r < 70)
            mutate_param(cfg, nb_param_at((size_t)below((int)nb_param_count())));
        else if (r < 76)
            mutate_sources(cfg);
        else if (r < 81)
            mutate_mask(cfg);
        else if (r < 87)
            mutate_sf(cfg);
        else
            do
                mutate_combination(cfg);
            while (chance(0.3)); /* combinations of combinations */
    }
}

/* Every pixel finite and not negative; the statistics finite. */
static void check_image(const nb_image *img, const nb_info *info)
{
    const long n = (long)img->fpixels * img->spixels;
    if (!img->data || img->fpixels != info->fpixels || img->spixels != info->spixels)
        case_fail("the image is %d x %d (data %p), the experiment %d x %d\n", img->fpixels, img->spixels,
                  (void *)img->data, info->fpixels, info->spixels);
    for (long i = 0; i < n; ++i)
        if (!isfinite(img->data[i]) || !(img->data[i] >= 0.0f))
            case_fail("pixel (%ld, %ld) = %g\n", i % img->fpixels, i / img->fpixels, (double)img->data[i]);
    if (!isfinite(img->max_I) || !isfinite(img->mean) || !isfinite(img->rms) || !isfinite(img->rmsd))
        case_fail("statistics: max_I %g mean %g rms %g rmsd %g\n", img->max_I, img->mean, img->rms, img->rmsd);
}

static void render(const nb_experiment *exp, const nb_config *cfg)
{
    const nb_info *info = nb_experiment_info(exp);
    const double cost = (double)info->samples_per_pixel * info->fpixels * info->spixels;
    nb_image img;
    nb_error err = {{0}};
    nb_status st;
    note("created: %d x %d pixels, %ld samples per pixel\n", info->fpixels, info->spixels, info->samples_per_pixel);
    if (!(cost <= budget)) {
        tally.skipped++;
        return;
    }
    st = nb_simulate(exp, NULL, &img, &err);
    if (st != NB_OK) {
        note("nb_simulate: %s: %s\n", nb_strerror(st), err.msg);
        tally.simulate_err++;
        if (!err.msg[0] || !names_parameter(err.msg, cfg))
            case_fail("nb_simulate failed (%s) without naming a parameter: '%s'\n", nb_strerror(st), err.msg);
        if (img.data)
            case_fail("nb_simulate failed but left data\n");
        return;
    }
    tally.rendered++;
    tally.samples += cost;
    check_image(&img, info);
    nb_image_free(&img);
}

/* Keep the render's thread count small (see the top of the file). */
static void cap_threads(nb_config *cfg)
{
    double t = 0;
    nb_error err;
    if (nb_param_get(cfg, "threads", &t, &err) == NB_OK && t > MAX_THREADS)
        must(set_real(cfg, "threads", MAX_THREADS));
}

static void run_case(uint64_t seed, long k)
{
    nb_config *cfg = nb_config_new(), *use;
    nb_experiment *exp = NULL;
    nb_error err = {{0}};
    nb_status st;

    rng_state = seed ^ (0x9e3779b97f4a7c15ULL * (uint64_t)(k + 1));
    case_no = k;
    trace_len = 0;
    trace[0] = 0;
    assert_non_null(cfg);
    if (keep_going && setjmp(case_jmp))
        return;
    baseline(cfg);
    note("-- mutations\n");
    mutate(cfg);
    cap_threads(cfg);
    use = cfg;
    if (chance(0.1)) { /* the same through a copy */
        use = nb_config_copy(cfg);
        assert_non_null(use);
        tally.copies++;
    }
    if (verbose == 1) {
        fprintf(stderr, "case %ld:\n%s", k, trace);
        fflush(stderr);
    }
    st = nb_experiment_create(use, NULL, &exp, &err);
    tally.cases++;
    if (st != NB_OK) {
        note("nb_experiment_create: %s: %s\n", nb_strerror(st), err.msg);
        if (st < 0 || st > NB_ERR_CANCELLED)
            case_fail("unknown status %d\n", (int)st);
        tally.create_err[st]++;
        if (exp)
            case_fail("nb_experiment_create failed but gave an experiment\n");
        if (!err.msg[0] || !names_parameter(err.msg, use))
            case_fail("nb_experiment_create failed (%s) without naming a parameter: '%s'\n", nb_strerror(st),
                      err.msg);
    } else {
        if (!exp)
            case_fail("nb_experiment_create succeeded without an experiment\n");
        tally.created++;
        render(exp, use);
        nb_experiment_free(exp);
    }
    if (verbose > 1)
        fprintf(stderr, "case %ld:\n%s", k, trace);
    if (use != cfg)
        nb_config_free(use);
    nb_config_free(cfg);
}

static long env_long(const char *name, long dflt)
{
    const char *s = getenv(name);
    char *end;
    long v;
    if (!s || !*s)
        return dflt;
    v = strtol(s, &end, 0);
    return *end ? dflt : v;
}

static void test_random_parameter_sets(void **state)
{
    const long cases = env_long("NB_PROPERTY_CASES", DEFAULT_CASES);
    const long first = env_long("NB_PROPERTY_FIRST", 0);
    const uint64_t seed = (uint64_t)env_long("NB_PROPERTY_SEED", (long)DEFAULT_SEED);
    long create_errors = 0;
    (void)state;
    verbose = (int)env_long("NB_PROPERTY_VERBOSE", 0);
    keep_going = env_long("NB_PROPERTY_KEEP_GOING", 0) != 0;
    budget = (double)env_long("NB_PROPERTY_BUDGET", (long)RENDER_BUDGET);
    memset(&tally, 0, sizeof tally);
    for (long k = first; k < first + cases; ++k)
        run_case(seed, k);
    for (int s = 0; s <= NB_ERR_CANCELLED; ++s)
        create_errors += tally.create_err[s];
    print_message("%ld cases (%ld through a copy): setters %ld OK, %ld refused; nb_experiment_create %ld OK, "
                  "%ld refused (invalid %ld, range %ld, usage %ld, io %ld, parse %ld, format %ld, nomem %ld); "
                  "rendered %ld (%.3g samples), skipped %ld (cost), nb_simulate refused %ld\n",
                  tally.cases, tally.copies, tally.setter_ok, tally.setter_err, tally.created, create_errors,
                  tally.create_err[NB_ERR_INVALID], tally.create_err[NB_ERR_RANGE], tally.create_err[NB_ERR_USAGE],
                  tally.create_err[NB_ERR_IO], tally.create_err[NB_ERR_PARSE], tally.create_err[NB_ERR_FORMAT],
                  tally.create_err[NB_ERR_NOMEM], tally.rendered, tally.samples, tally.skipped, tally.simulate_err);
    assert_int_equal(failures, 0);
    assert_int_equal(tally.cases, cases);
    if (tally.created > 0 && (double)tally.rendered < 0.6 * (double)tally.created)
        fail_msg("only %ld of %ld experiments rendered (%ld skipped for cost)", tally.rendered, tally.created,
                 tally.skipped);
    if (cases >= 1000)
        assert_true(tally.rendered >= cases / 10); /* the cases are not all refused */
    assert_int_equal(count_entries(scratch), 0);   /* nothing was written */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_parameter_sets),
    };
    return cmocka_run_group_tests(tests, scratch_setup, scratch_teardown);
}
