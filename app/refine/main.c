/*
 * main.c - the nanobragg-refine program: refines parameters of a nanobragg
 * model against an observed image.  The starting model is what nanobragg
 * would simulate from the same command line (its flag table, app/flags.c);
 * the program's own flags name the observation, the parameters and the
 * outputs.  The library fits (nb_refine); every output is written only
 * once the refinement has succeeded, all of them or none.
 * Exit codes: 0 success, 1 runtime failure (files, memory, the
 * refinement), 2 usage; 128 + the signal when interrupted.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "refine.h"

#define PROGRAM "nanobragg-refine"
#define MAX_BOUNDS 64

typedef struct refine_args {
    const char *observed, *weights, *mask;
    const char *refined, *modelfile, *modelimg;
    const char *params, *loss_word, *method_word;
    const char *bounds[MAX_BOUNDS];
    int nbounds;
    double maxiter, tolerance, pixel_fraction;
    int quiet;
    /* from the words above */
    nb_loss loss;
    nb_refine_method method;
    char *names_text;   /* a copy of params, split at the commas */
    const char **names; /* into names_text */
    int nnames;
    double *lower, *upper; /* per name; NaN: no bound */
} refine_args;

/* ---------------------------------------------------------------- flags */

typedef enum { R_PATH, R_WORD, R_NUMBER, R_BOUNDS, R_SWITCH } rflag_kind;

typedef struct rflag {
    const char *name;
    rflag_kind kind;
    size_t offset;
    const char *args, *help;
} rflag;

#define ARG(field) offsetof(refine_args, field)

/* The program's own flags, in the order -h lists them. */
static const rflag RFLAGS[] = {
    {"-observed", R_PATH, ARG(observed), "<file>",
     "the observed image (required), of the detector's size: raw 4-byte floats of photons (as "
     "-floatfile writes), or an SMV image whose counts less -adc are photons (as in a -noisefile "
     "image) and whose overloads (65535) are left out"},
    {"-refine", R_WORD, ARG(params), "<name,name,...>", "the parameters to refine (required; listed below)"},
    {"-loss", R_WORD, ARG(loss_word), "poisson|lsq",
     "poisson: the sum of m-o*ln(m) over the pixels, for counts (default); lsq: the sum of w*(m-o)^2"},
    {"-method", R_WORD, ARG(method_word), "lm|lbfgs", "Levenberg-Marquardt (default) or L-BFGS"},
    {"-maxiter", R_NUMBER, ARG(maxiter), "<int>", "accepted steps at most (default 50)"},
    {"-tolerance", R_NUMBER, ARG(tolerance), "<x>",
     "stop when a step lowers the loss by less than this fraction of it (default 1e-9)"},
    {"-pixel_fraction", R_NUMBER, ARG(pixel_fraction), "<f>",
     "lm: the fraction of the pixels whose derivatives each step uses (default 1: all)"},
    {"-weights", R_PATH, ARG(weights), "<file>", "lsq: per-pixel weights, raw 4-byte floats >= 0 (default 1)"},
    {"-observed_mask", R_PATH, ARG(mask), "<file>",
     "the pixels to use (non-zero): an SMV image or raw 4-byte floats (default: all)"},
    {"-bounds", R_BOUNDS, 0, "<name:lo:hi>",
     "keep a refined parameter within lo and hi (either may be empty: no bound); repeatable"},
    {"-refined", R_PATH, ARG(refined), "<file>", "write the result table there too (default: stdout only)"},
    {"-modelfile", R_PATH, ARG(modelfile), "<file>", "the model at the refined values: raw 4-byte floats"},
    {"-modelimg", R_PATH, ARG(modelimg), "<file>",
     "the model at the refined values: an SMV image (scaled as nanobragg's -intfile: -scale, -adc)"},
    {"-quiet", R_SWITCH, ARG(quiet), "", "no progress lines (the table is still printed unless -refined is given)"},
};
#define NRFLAGS (sizeof RFLAGS / sizeof RFLAGS[0])

static const char *RFLAG_NAMES[NRFLAGS];

static void usage_hint(void)
{
    fprintf(stderr, "usage: " PROGRAM " -observed FILE -refine NAME[,NAME...] [nanobragg flags]\n"
                    "       " PROGRAM " -h lists the options\n");
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
    va_list ap;
    fflush(stdout);
    fputs(PROGRAM ": error: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return 2;
}

static const rflag *find_rflag(const char *name)
{
    for (size_t i = 0; i < NRFLAGS; ++i)
        if (strcmp(RFLAGS[i].name, name) == 0)
            return &RFLAGS[i];
    return NULL;
}

static int parse_number(const char *s, double *v)
{
    char *end;
    errno = 0;
    *v = strtod(s, &end);
    return end != s && *end == '\0' && errno != ERANGE && isfinite(*v);
}

/* Take the program's flags out of argv into r; the others (nanobragg's)
   go to rest[0..*nrest-1], after argv[0].  0 or 2 after a message. */
static int split_args(refine_args *r, int argc, char **argv, char **rest, int *nrest)
{
    *nrest = 0;
    rest[(*nrest)++] = argv[0];
    for (int i = 1; i < argc; ++i) {
        const rflag *f = find_rflag(argv[i]);
        const char *value;
        if (!f) {
            rest[(*nrest)++] = argv[i];
            continue;
        }
        if (f->kind == R_SWITCH) {
            *(int *)((char *)r + f->offset) = 1;
            continue;
        }
        if (i + 1 >= argc || argv[i + 1][0] == '\0')
            return usage_error("%s needs a value (%s)", f->name, f->args);
        value = argv[++i];
        switch (f->kind) {
        case R_PATH:
        case R_WORD:
            *(const char **)((char *)r + f->offset) = value;
            break;
        case R_NUMBER:
            if (!parse_number(value, (double *)((char *)r + f->offset)))
                return usage_error("%s expects a number, got '%s'", f->name, value);
            break;
        case R_BOUNDS:
            if (r->nbounds == MAX_BOUNDS)
                return usage_error("-bounds given more than %d times", MAX_BOUNDS);
            r->bounds[r->nbounds++] = value;
            break;
        case R_SWITCH:
            break;
        }
    }
    rest[*nrest] = NULL;
    return 0;
}

/* -loss, -method and the numbers: 0 or 2 after a message. */
static int check_choices(refine_args *r)
{
    if (!r->loss_word || strcmp(r->loss_word, "poisson") == 0)
        r->loss = NB_LOSS_POISSON;
    else if (strcmp(r->loss_word, "lsq") == 0)
        r->loss = NB_LOSS_LSQ;
    else
        return usage_error("-loss expects poisson or lsq, got '%s'", r->loss_word);
    if (!r->method_word || strcmp(r->method_word, "lm") == 0)
        r->method = NB_REFINE_LM;
    else if (strcmp(r->method_word, "lbfgs") == 0)
        r->method = NB_REFINE_LBFGS;
    else
        return usage_error("-method expects lm or lbfgs, got '%s'", r->method_word);
    /* NaN: not given */
    if (!isnan(r->maxiter) && (r->maxiter < 0 || r->maxiter > 1e9 || r->maxiter != floor(r->maxiter)))
        return usage_error("-maxiter %g: expected a whole number of steps, 0 to 1e9", r->maxiter);
    if (r->tolerance < 0)
        return usage_error("-tolerance %g: expected a number >= 0", r->tolerance);
    if (!isnan(r->pixel_fraction) && !(r->pixel_fraction > 0 && r->pixel_fraction <= 1))
        return usage_error("-pixel_fraction %g: expected a fraction above 0, at most 1", r->pixel_fraction);
    if (r->weights && r->loss != NB_LOSS_LSQ)
        return usage_error("-weights %s: weights apply to -loss lsq only", r->weights);
    return 0;
}

static int known_param(const char *name)
{
    for (int i = 0; i < nb_deriv_param_count(); ++i)
        if (strcmp(nb_deriv_param_name(i), name) == 0)
            return 1;
    return 0;
}

/* -refine's names, each differentiable and named once; 0, 1 (memory) or
   2 after a message. */
static int split_names(refine_args *r, const nb_config *cfg)
{
    size_t len = strlen(r->params), count = 1;
    for (size_t i = 0; i < len; ++i)
        count += r->params[i] == ',';
    r->names_text = malloc(len + 1);
    r->names = malloc(count * sizeof *r->names);
    r->lower = malloc(count * sizeof *r->lower);
    r->upper = malloc(count * sizeof *r->upper);
    if (!r->names_text || !r->names || !r->lower || !r->upper) {
        fprintf(stderr, PROGRAM ": error: out of memory\n");
        return 1;
    }
    memcpy(r->names_text, r->params, len + 1);
    for (char *s = r->names_text, *end;; s = end + 1) {
        end = strchr(s, ',');
        if (end)
            *end = '\0';
        if (*s == '\0')
            return usage_error("-refine %s: an empty name (names are separated by single commas)", r->params);
        if (!known_param(s)) {
            /* the library's words for it */
            nb_error err;
            double v;
            if (nb_deriv_param_get(cfg, s, &v, &err) == NB_OK)
                snprintf(err.msg, sizeof err.msg, "'%s' is not a differentiable parameter", s);
            return usage_error("-refine %s: %s (" PROGRAM " -h lists them)", r->params, err.msg);
        }
        for (int i = 0; i < r->nnames; ++i)
            if (strcmp(r->names[i], s) == 0)
                return usage_error("-refine %s: %s is named twice", r->params, s);
        r->lower[r->nnames] = r->upper[r->nnames] = NAN;
        r->names[r->nnames++] = s;
        if (!end)
            break;
    }
    return 0;
}

/* One bound: empty (none, NaN) or a number. */
static int bound_value(const char *text, size_t n, double *v)
{
    char buf[64];
    if (n == 0) {
        *v = NAN;
        return 1;
    }
    if (n >= sizeof buf)
        return 0;
    memcpy(buf, text, n);
    buf[n] = '\0';
    return parse_number(buf, v);
}

/* -bounds name:lo:hi into r->lower/upper; 0 or 2 after a message. */
static int parse_bounds(refine_args *r)
{
    for (int b = 0; b < r->nbounds; ++b) {
        const char *s = r->bounds[b], *c1 = strchr(s, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        double lo, hi;
        int p;
        if (!c1 || !c2 || strchr(c2 + 1, ':'))
            return usage_error("-bounds %s: expected name:lo:hi (lo or hi may be empty)", s);
        for (p = 0; p < r->nnames; ++p)
            if (strlen(r->names[p]) == (size_t)(c1 - s) && strncmp(r->names[p], s, (size_t)(c1 - s)) == 0)
                break;
        if (p == r->nnames)
            return usage_error("-bounds %s: %.*s is not among the -refine parameters (%s)", s, (int)(c1 - s), s,
                               r->params);
        if (!bound_value(c1 + 1, (size_t)(c2 - c1 - 1), &lo) || !bound_value(c2 + 1, strlen(c2 + 1), &hi))
            return usage_error("-bounds %s: lo and hi must be numbers (or empty: no bound)", s);
        if (lo > hi)
            return usage_error("-bounds %s: the lower bound is above the upper", s);
        r->lower[p] = lo;
        r->upper[p] = hi;
    }
    return 0;
}

static void free_args(refine_args *r)
{
    free(r->names_text);
    free(r->names);
    free(r->lower);
    free(r->upper);
}

/* ---------------------------------------------------------------- help */

/* Print text wrapped at width, each line after the first indented by indent. */
static void print_wrapped(const char *text, int col, int indent, int width)
{
    const char *w = text;
    while (*w) {
        int n = (int)strcspn(w, " ");
        if (col > indent && col + 1 + n > width) {
            printf("\n%*s", indent, "");
            col = indent;
        } else if (col > indent) {
            putchar(' ');
            ++col;
        }
        printf("%.*s", n, w);
        col += n;
        w += n;
        while (*w == ' ')
            ++w;
    }
    putchar('\n');
}

static void print_help(void)
{
    int col;
    printf("usage: " PROGRAM " -observed FILE -refine NAME[,NAME...] [options]\n"
           "Refines parameters of a nanobragg model against an observed image.  The model\n"
           "and the starting values are what nanobragg simulates from the same flags\n"
           "(nanobragg -h lists them: -hkl or -default_F, -cell or -mat, -N, -distance,\n"
           "-lambda, ...); the parameters -refine names are fitted with the library's\n"
           "analytic derivatives.  Progress: a line per accepted step.  The result: a table\n"
           "of lines 'name value std_error start', then loss, start_loss, iterations,\n"
           "converged (1 or 0) and stop (the reason).  Outputs are written only when the\n"
           "refinement succeeds.  No Fdump.bin cache is written (one is read, as nanobragg\n"
           "does, when no -hkl is given).\n\nOptions:\n");
    for (size_t i = 0; i < NRFLAGS; ++i) {
        char left[64];
        snprintf(left, sizeof left, "  %s %s", RFLAGS[i].name, RFLAGS[i].args);
        printf("%-32s", left);
        print_wrapped(RFLAGS[i].help, 32, 32, 80);
    }
    printf("%-32s", "  -adc <counts>");
    print_wrapped("(nanobragg's) subtracted from the SMV pixels of -observed, added to -modelimg (default 40)", 32,
                  32, 80);
    printf("%-32s%s\n", "  -h, --help", "print this list and exit");
    printf("%-32s%s\n", "  --version", "print the version and exit");
    printf("%-32s%s\n", "  --params", "print the library's parameter table and exit");
    printf("nanobragg's output flags (-floatfile, -intfile, -pgmfile, -noisefile) have no\n"
           "effect here.\n");
    printf("\nParameters -refine takes, each in its unit (--params describes them):\n  ");
    col = 2;
    for (int i = 0; i < nb_deriv_param_count(); ++i) {
        const char *name = nb_deriv_param_name(i);
        int n = (int)strlen(name) + (i + 1 < nb_deriv_param_count());
        if (col > 2 && col + 1 + n > 80) {
            printf("\n  ");
            col = 2;
        } else if (col > 2) {
            putchar(' ');
            ++col;
        }
        printf("%s%s", name, i + 1 < nb_deriv_param_count() ? "," : "");
        col += n;
    }
    printf("\n\nExample: refine the distance and the crystal size of a model against its image\n"
           "  nanobragg -default_F 100 -cell 50 60 70 90 90 90 -N 6 -distance 50 \\\n"
           "      -detpixels 128 -floatfile obs.bin\n"
           "  " PROGRAM " -default_F 100 -cell 50 60 70 90 90 90 -N 7 -distance 50.5 \\\n"
           "      -detpixels 128 -observed obs.bin -refine distance_mm,Na,Nb,Nc -loss lsq\n"
           "\nExit status: 0 success, 1 failure (files, memory, the refinement), 2 usage.\n");
}

/* ---------------------------------------------------------------- checks */

typedef struct named_path {
    const char *flag, *path;
} named_path;

static const char *config_path(const app_options *o, const char *name)
{
    const char *path = NULL;
    nb_error err;
    return nb_param_get_string(o->cfg, name, &path, &err) == NB_OK ? path : NULL;
}

/*
 * Before any work, as nanobragg does: refuse an output that is the same
 * file as an input or another output (exit 2), and one that cannot be
 * written (exit 1).
 */
static int check_paths(const app_options *o, const refine_args *r)
{
    const named_path in[] = {{"-observed", r->observed},
                             {"-weights", r->weights},
                             {"-observed_mask", r->mask},
                             {"-hkl", config_path(o, "hkl_path")},
                             {"-mat", config_path(o, "mat_path")},
                             {"-sourcefile", config_path(o, "source_path")},
                             {"-img", o->img_path},
                             {"-mask", o->mask_path},
                             {"structure-factor cache", config_path(o, "fdump_path")}};
    const named_path out[] = {{"-refined", r->refined}, {"-modelfile", r->modelfile}, {"-modelimg", r->modelimg}};
    const size_t nin = sizeof in / sizeof *in, nout = sizeof out / sizeof *out;
    nb_error err;
    for (size_t i = 0; i < nout; ++i) {
        if (!out[i].path)
            continue;
        for (size_t j = 0; j < nin; ++j)
            if (in[j].path && nb_paths_clash(out[i].path, in[j].path))
                return usage_error("output %s (%s) would overwrite an input file (%s %s)", out[i].path,
                                   out[i].flag, in[j].flag, in[j].path);
        for (size_t j = 0; j < i; ++j)
            if (out[j].path && nb_paths_clash(out[i].path, out[j].path))
                return usage_error("output %s (%s) would overwrite another output (%s %s)", out[i].path,
                                   out[i].flag, out[j].flag, out[j].path);
    }
    for (size_t i = 0; i < nout; ++i)
        if (out[i].path && nb_output_check(out[i].path, &err) != NB_OK) {
            fprintf(stderr, PROGRAM ": error: %s: %s\n", out[i].flag, err.msg);
            return 1;
        }
    return 0;
}

/* nanobragg's outputs are not written here: say so if one was asked for. */
static void warn_nanobragg_outputs(const app_options *o)
{
    static const char *const flags[] = {"-floatfile", "-intfile", "-pgmfile", "-noisefile", "-printout"};
    for (size_t i = 0; i < sizeof flags / sizeof *flags; ++i)
        if (app_flag_value(o, flags[i]))
            fprintf(stderr, PROGRAM ": warning: %s has no effect here (outputs: -refined, -modelfile, -modelimg)\n",
                    flags[i]);
}

/* ---------------------------------------------------------------- the run */

typedef struct observation {
    float *data, *weight, *maskv;
    unsigned char *overload, *use;
    size_t overloads;
} observation;

static void free_observation(observation *ob)
{
    free(ob->data);
    free(ob->weight);
    free(ob->maskv);
    free(ob->overload);
    free(ob->use);
}

/* Read -observed, -weights and -observed_mask for a detector of f x s
   pixels into ob and obs; 0, or 1 after a message. */
static int read_observation(const app_options *o, const refine_args *r, int f, int s, observation *ob,
                            nb_observed *obs)
{
    const size_t n = (size_t)f * (size_t)s;
    unsigned char *none = NULL;
    size_t skipped = 0;
    if (read_pixel_file("-observed", r->observed, IMG_PHOTONS, f, s, o->adc, &ob->data, &ob->overload,
                        &ob->overloads))
        return 1;
    if (r->weights && read_pixel_file("-weights", r->weights, IMG_WEIGHTS, f, s, o->adc, &ob->weight, &none, &skipped))
        return 1;
    if (r->mask && read_pixel_file("-observed_mask", r->mask, IMG_MASK, f, s, o->adc, &ob->maskv, &none, &skipped))
        return 1;
    if (ob->overload || ob->maskv) {
        if (!(ob->use = malloc(n))) {
            fprintf(stderr, PROGRAM ": error: out of memory\n");
            return 1;
        }
        for (size_t i = 0; i < n; ++i)
            ob->use[i] = !(ob->overload && ob->overload[i]) && !(ob->maskv && ob->maskv[i] == 0.0f);
    }
    if (r->loss == NB_LOSS_POISSON)
        for (size_t i = 0; i < n; ++i)
            if (ob->data[i] < 0.0f && !(ob->use && !ob->use[i])) {
                fflush(stdout);
                fprintf(stderr,
                        PROGRAM ": error: -observed %s: pixel (%zu, %zu) is %g photons: Poisson counts cannot be "
                                "negative (an SMV image's pixels are its counts less -adc, now %g; or use -loss lsq)\n",
                        r->observed, i % (size_t)f, i / (size_t)f, (double)ob->data[i], o->adc);
                return 1;
            }
    obs->data = ob->data;
    obs->weight = ob->weight;
    obs->mask = ob->use;
    obs->loss = r->loss;
    return 0;
}

typedef struct log_ctx {
    int quiet;
    int info; /* print NB_LOG_INFO lines */
} log_ctx;

/* The library's lines: warnings (blocks of lines, the first starting
   "WARNING:") to stderr as they are, the refinement's steps to stdout
   (unless -quiet). */
static void on_line(void *ctx, nb_log_level level, const char *line)
{
    const log_ctx *c = ctx;
    if (level == NB_LOG_WARN) {
        fflush(stdout);
        fprintf(stderr, "%s\n", line);
    } else if (c->info && !c->quiet) {
        printf("%s\n", line);
        fflush(stdout);
    }
}

/* Renders stop once the run is interrupted (SIGINT, SIGTERM). */
static int on_progress(void *ctx, double fraction)
{
    (void)ctx;
    (void)fraction;
    return app_interrupted() != 0;
}

/* A growing text buffer. */
typedef struct text {
    char *s;
    size_t len, cap;
    int failed;
} text;

static void add(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(text *t, const char *fmt, ...)
{
    va_list ap;
    int n;
    if (t->failed)
        return;
    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        t->failed = 1;
        return;
    }
    if (t->len + (size_t)n + 1 > t->cap) {
        const size_t cap = 2 * (t->len + (size_t)n + 1);
        char *grown = realloc(t->s, cap);
        if (!grown) {
            t->failed = 1;
            return;
        }
        t->s = grown;
        t->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(t->s + t->len, t->cap - t->len, fmt, ap);
    va_end(ap);
    t->len += (size_t)n;
}

static void result_table(text *t, const refine_args *r, const nb_refine_result *res, const double *start)
{
    add(t, "# " PROGRAM " %s: -observed %s, loss %s, method %s\n", nb_version(), r->observed,
        r->loss == NB_LOSS_LSQ ? "lsq" : "poisson", r->method == NB_REFINE_LM ? "lm" : "lbfgs");
    add(t, "# name value std_error start\n");
    for (int p = 0; p < r->nnames; ++p)
        add(t, "%s %.10g %.6g %.10g\n", r->names[p], res->values[p], res->std_errors[p], start[p]);
    add(t, "loss %.10g\n", res->loss);
    add(t, "start_loss %.10g\n", res->nhistory > 0 ? res->loss_history[0] : NAN);
    add(t, "iterations %d\n", res->iterations);
    add(t, "converged %d\n", res->converged);
    add(t, "stop %s\n", res->stop ? res->stop : "");
}

/* The exit code of a failed library call, after printing its message. */
static int library_error(nb_status st, const nb_error *err)
{
    fflush(stdout);
    if (st == NB_ERR_CANCELLED) {
        fprintf(stderr, PROGRAM ": interrupted: no output written\n");
        return 128 + app_interrupted();
    }
    fprintf(stderr, PROGRAM ": error: %s\n", err->msg);
    if (st == NB_ERR_USAGE)
        usage_hint();
    return st == NB_ERR_USAGE || st == NB_ERR_INVALID ? 2 : 1;
}

/* Stage the model image at the refined values (-modelfile, -modelimg). */
static nb_status stage_model(nb_outputs *set, app_options *o, const refine_args *r, const nb_log *log,
                             nb_error *err)
{
    nb_experiment *exp = NULL;
    nb_image img = {0};
    nb_status st = nb_experiment_create(o->cfg, NULL, &exp, err);
    if (st == NB_OK)
        st = nb_simulate(exp, log, &img, err);
    if (st == NB_OK && r->modelfile)
        st = nb_outputs_add_float(set, r->modelfile, img.data, (size_t)img.fpixels * (size_t)img.spixels, err);
    if (st == NB_OK && r->modelimg) {
        uint16_t *counts = malloc((size_t)img.fpixels * (size_t)img.spixels * sizeof *counts);
        nb_smv_info info;
        if (!counts) {
            snprintf(err->msg, sizeof err->msg, "out of memory for the model image");
            st = NB_ERR_NOMEM;
        } else {
            nb_image_to_counts(exp, &img, &o->int_scale, o->adc, counts);
            nb_experiment_smv_info(exp, &info);
            st = nb_outputs_add_smv(set, r->modelimg, &info, counts, err);
            free(counts);
        }
    }
    nb_image_free(&img);
    nb_experiment_free(exp);
    return st;
}

/* Write every output, all or none; 0 or 1 after a message. */
static int write_outputs(app_options *o, const refine_args *r, const text *table, const nb_log *log)
{
    nb_outputs *set = NULL;
    staged_text staged = {0};
    nb_error err;
    nb_status st = NB_OK;
    int rc = 0;
    if (r->modelfile || r->modelimg) {
        set = nb_outputs_new();
        if (!set) {
            snprintf(err.msg, sizeof err.msg, "out of memory for the outputs");
            st = NB_ERR_NOMEM;
        } else {
            app_catch_interrupt(1);
            st = stage_model(set, o, r, log, &err);
            app_catch_interrupt(0);
        }
    }
    if (st == NB_OK && r->refined)
        st = text_stage(&staged, r->refined, table->s, table->len, &err);
    if (st == NB_OK && set)
        st = nb_outputs_publish(set, &err);
    if (st == NB_OK && r->refined)
        st = text_publish(&staged, &err);
    else
        text_discard(&staged);
    nb_outputs_free(set);
    if (st != NB_OK)
        rc = library_error(st == NB_ERR_CANCELLED ? st : NB_ERR_IO, &err);
    return rc;
}

static int run(app_options *o, refine_args *r)
{
    log_ctx quiet_setup = {.quiet = r->quiet, .info = 0}, steps = {.quiet = r->quiet, .info = 1};
    nb_log setup_log = {.fn = on_line, .ctx = &quiet_setup};
    nb_log log = {.fn = on_line, .ctx = &steps, .progress = on_progress};
    nb_experiment *exp = NULL;
    const nb_info *in;
    observation ob = {0};
    nb_observed obs = {0};
    nb_refine_options opt;
    nb_refine_result res = {0};
    double *start = NULL;
    text table = {0};
    nb_error err;
    nb_status st;
    int rc = 0;

    app_warn_units(o);
    st = nb_experiment_create(o->cfg, &setup_log, &exp, &err);
    if (st != NB_OK)
        return library_error(st, &err);
    in = nb_experiment_info(exp);
    app_warn_setup(o, in);
    /* the structure factors once: the refinement builds many experiments */
    if (nb_experiment_sf(exp) && (st = nb_config_set_sf(o->cfg, nb_experiment_sf(exp), &err)) != NB_OK)
        rc = library_error(st, &err);
    if (!rc)
        rc = read_observation(o, r, in->fpixels, in->spixels, &ob, &obs);
    nb_experiment_free(exp);
    if (!rc && !(start = malloc((size_t)r->nnames * sizeof *start)))
        rc = library_error(NB_ERR_NOMEM, &(nb_error){"out of memory"});
    for (int p = 0; p < r->nnames && !rc; ++p)
        if ((st = nb_deriv_param_get(o->cfg, r->names[p], &start[p], &err)) != NB_OK)
            rc = library_error(st, &err);
    if (!rc) {
        nb_refine_options_init(&opt);
        opt.method = r->method;
        if (!isnan(r->maxiter))
            opt.max_iterations = (int)r->maxiter;
        if (!isnan(r->tolerance))
            opt.tolerance = r->tolerance;
        if (!isnan(r->pixel_fraction))
            opt.pixel_fraction = r->pixel_fraction;
        opt.lower = r->lower;
        opt.upper = r->upper;
        if (!r->quiet) {
            printf("refining %s against %s (%s loss, %s)", r->params, r->observed,
                   r->loss == NB_LOSS_LSQ ? "least-squares" : "Poisson",
                   r->method == NB_REFINE_LM ? "Levenberg-Marquardt" : "L-BFGS");
            if (ob.overloads)
                printf("; %zu overloaded pixels left out", ob.overloads);
            printf("\n");
            fflush(stdout);
        }
        app_catch_interrupt(1);
        st = nb_refine(o->cfg, &obs, r->names, r->nnames, &opt, &res, &log, &err);
        app_catch_interrupt(0);
        if (st != NB_OK)
            rc = library_error(st, &err);
    }
    if (!rc) {
        result_table(&table, r, &res, start);
        if (table.failed)
            rc = library_error(NB_ERR_NOMEM, &(nb_error){"out of memory"});
    }
    if (!rc)
        rc = write_outputs(o, r, &table, &log);
    if (!rc) {
        if (!r->quiet || !r->refined)
            fwrite(table.s, 1, table.len, stdout);
        if (!r->quiet) {
            const char *const written[] = {r->refined, r->modelfile, r->modelimg};
            for (size_t i = 0; i < 3; ++i)
                if (written[i])
                    printf("wrote %s\n", written[i]);
        }
        if (!res.converged) {
            fflush(stdout);
            fprintf(stderr, PROGRAM ": warning: not converged: %s\n", res.stop ? res.stop : "");
        }
    }
    nb_refine_result_free(&res);
    free_observation(&ob);
    free(start);
    free(table.s);
    return rc;
}

int main(int argc, char **argv)
{
    app_options o;
    refine_args r = {.maxiter = NAN, .tolerance = NAN, .pixel_fraction = NAN};
    nb_smv_frame mask = {0};
    char **rest;
    int nrest = 0, rc;

    for (size_t i = 0; i < NRFLAGS; ++i)
        RFLAG_NAMES[i] = RFLAGS[i].name;
    app_set_name(PROGRAM);
    app_flags_extra(RFLAG_NAMES, NRFLAGS);
    if (!app_flags_sorted() || app_options_init(&o) != 0)
        return 1;
    rest = malloc(((size_t)argc + 1) * sizeof *rest);
    if (!rest) {
        app_options_free(&o);
        fprintf(stderr, PROGRAM ": error: out of memory\n");
        return 1;
    }
    rc = split_args(&r, argc, argv, rest, &nrest);
    if (!rc) {
        app_prescan_headers(&o, nrest, rest);
        rc = app_read_headers(&o, &mask);
    }
    if (!rc)
        rc = app_parse_flags(&o, nrest, rest);
    if (!rc)
        rc = app_isa_from_env(&o);
    if (!rc && (o.show_help || o.show_version || o.show_params)) {
        if (o.show_help)
            print_help();
        else if (o.show_params)
            app_print_params();
        else
            printf(PROGRAM " %s: refines nanobragg models (libnanobragg %s)\n", nb_version(), nb_version());
    } else {
        if (!rc && !r.observed)
            rc = usage_error("no -observed image to refine against");
        if (!rc && !r.params)
            rc = usage_error("no -refine parameters (" PROGRAM " -h lists them)");
        if (!rc)
            rc = check_choices(&r);
        if (!rc)
            rc = split_names(&r, o.cfg);
        if (!rc)
            rc = parse_bounds(&r);
        if (rc == 2)
            usage_hint();
        /* refinement reads the structure factors once and writes no cache */
        if (!rc && config_path(&o, "hkl_path")) {
            nb_error err;
            if (nb_param_set_string(o.cfg, "fdump_path", NULL, &err) != NB_OK)
                rc = library_error(NB_ERR_INVALID, &err);
        }
        if (!rc)
            warn_nanobragg_outputs(&o);
        if (!rc)
            rc = check_paths(&o, &r);
        if (!rc)
            rc = run(&o, &r);
    }
    free_args(&r);
    free(rest);
    nb_smv_frame_free(&mask);
    app_options_free(&o);
    fflush(stdout);
    return rc;
}
