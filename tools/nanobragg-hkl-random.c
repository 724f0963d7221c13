/*
 * nanobragg-hkl-random.c - a P1 structure-factor table computed from random
 * atoms, so that a simulated image has a realistic intensity distribution
 * (Wilson statistics, resolution falloff) rather than one constant F.
 *
 *   nanobragg-hkl-random --cell a b c alpha beta gamma --dmin D
 *                        [--atoms N] [--seed S] [--bfactor B] [--no-f000] OUT.hkl
 *
 * N carbon atoms (default 1000) at uniformly random fractional positions,
 * drawn with a fixed generator (the same seed gives the same file on every
 * machine), give for every h k l with d >= D, 0 0 0 and both Friedel mates
 * included,
 *
 *   F(hkl) = f(s) exp(-B s^2/4) |sum_j exp(2 pi i (h x_j + k y_j + l z_j))|
 *
 * where s = 1/d comes from the reciprocal metric of the cell (any triclinic
 * cell), f is the Cromer-Mann scattering factor of carbon (f(0) = 5.9992
 * electrons) and B an isotropic B factor (default 0).  Lengths in Angstrom,
 * angles in degrees, B in A^2.  Each line is "h k l F", as nanobragg -hkl
 * (and nanoBragg) read it.  --no-f000 leaves out 0 0 0, as measured data
 * would: its spot is the direct beam, which a beamstop hides, and it would
 * otherwise be by far the brightest spot of an image.
 *
 * Exit status: 0 written, 1 I/O error, 2 usage (the message names the flag).
 * The file is written to a temporary and renamed, so no half file is left.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileout.h"

#define PROG "nanobragg-hkl-random"
#define EXIT_IO 1
#define EXIT_USAGE 2

#define PI 3.14159265358979323846
#define MAX_ATOMS 1000000
#define MAX_INDICES 1.0e8     /* h,k,l box searched for reflections */
#define MAX_TABLE 3.2e7       /* atoms x (index range of h, k and l) phases kept */
#define DMIN_SLACK (1.0 + 1e-9) /* keep d >= d_min when equal up to rounding */

typedef struct {
    double cell[6];      /* a, b, c (A), alpha, beta, gamma (degrees) */
    double dmin_A;
    double bfactor_A2;
    unsigned long long atoms, seed;
    int no_f000;
    const char *out;
} options;

/* exp(2 pi i m x_j) for m = -max..max and every atom j: [(m + max) * n + j]. */
typedef struct {
    double *re, *im;
    int max;
} phase_table;

/* ---------------------------------------------------------------- parsing */

static int usage(FILE *fp)
{
    fprintf(fp, "usage: " PROG " --cell a b c alpha beta gamma --dmin D [--atoms N]\n"
                "                            [--seed S] [--bfactor B] [--no-f000] OUT.hkl\n"
                "  a b c, D in A; angles in degrees; B in A^2 (default 0);\n"
                "  N carbon atoms (default 1000) at random positions drawn from seed S (default 1);\n"
                "  --no-f000: leave out 0 0 0 (the direct beam)\n");
    return fp == stdout ? 0 : EXIT_USAGE;
}

static int bad_value(const char *flag, const char *text, const char *why)
{
    fprintf(stderr, PROG ": %s: '%s' %s\n", flag, text, why);
    return -1;
}

static int parse_real(const char *flag, const char *text, double *v)
{
    char *end;
    errno = 0;
    *v = strtod(text, &end);
    if (end == text || *end != '\0' || !isfinite(*v))
        return bad_value(flag, text, "is not a number");
    return 0;
}

/* A whole number in [min, max], digits only. */
static int parse_count(const char *flag, const char *text, unsigned long long min,
                       unsigned long long max, unsigned long long *v)
{
    char *end;
    if (text[0] < '0' || text[0] > '9')
        return bad_value(flag, text, "is not a whole number >= 0");
    errno = 0;
    *v = strtoull(text, &end, 10);
    if (*end != '\0')
        return bad_value(flag, text, "is not a whole number >= 0");
    if (errno == ERANGE || *v < min || *v > max) {
        fprintf(stderr, PROG ": %s: '%s' is out of range (%llu to %llu)\n", flag, text, min, max);
        return -1;
    }
    return 0;
}

/* The n values after the flag at argv[*i], or NULL (with a message). */
static char **values(int argc, char **argv, int *i, int n)
{
    const char *flag = argv[*i];
    if (argc - *i - 1 < n) {
        fprintf(stderr, PROG ": %s needs %d value%s\n", flag, n, n == 1 ? "" : "s");
        return NULL;
    }
    *i += n;
    return argv + *i - n + 1;
}

static int parse_flag(int argc, char **argv, int *i, options *o, int *seen)
{
    const char *flag = argv[*i];
    char **v;
    int k;
    if (strcmp(flag, "--cell") == 0) {
        if (!(v = values(argc, argv, i, 6)))
            return -1;
        for (k = 0; k < 6; k++)
            if (parse_real(flag, v[k], &o->cell[k]) != 0)
                return -1;
        *seen |= 1;
        return 0;
    }
    if (strcmp(flag, "--dmin") == 0) {
        *seen |= 2;
        return (v = values(argc, argv, i, 1)) ? parse_real(flag, v[0], &o->dmin_A) : -1;
    }
    if (strcmp(flag, "--no-f000") == 0) {
        o->no_f000 = 1;
        return 0;
    }
    if (strcmp(flag, "--bfactor") == 0)
        return (v = values(argc, argv, i, 1)) ? parse_real(flag, v[0], &o->bfactor_A2) : -1;
    if (strcmp(flag, "--atoms") == 0)
        return (v = values(argc, argv, i, 1)) ? parse_count(flag, v[0], 1, MAX_ATOMS, &o->atoms)
                                              : -1;
    if (strcmp(flag, "--seed") == 0)
        return (v = values(argc, argv, i, 1)) ? parse_count(flag, v[0], 0, UINT64_MAX, &o->seed)
                                              : -1;
    fprintf(stderr, PROG ": unknown option '%s'\n", flag);
    return -1;
}

/* Values that parse but make no table. */
static int check_options(const options *o, int seen)
{
    int k;
    if (!(seen & 1) || !(seen & 2) || !o->out) {
        fprintf(stderr, PROG ": %s is required\n",
                !(seen & 1) ? "--cell" : !(seen & 2) ? "--dmin" : "an output file");
        return -1;
    }
    for (k = 0; k < 3; k++)
        if (!(o->cell[k] > 0)) {
            fprintf(stderr, PROG ": --cell: lengths must be > 0 (got %g)\n", o->cell[k]);
            return -1;
        }
    for (k = 3; k < 6; k++)
        if (!(o->cell[k] > 0 && o->cell[k] < 180)) {
            fprintf(stderr, PROG ": --cell: angles must be between 0 and 180 (got %g)\n",
                    o->cell[k]);
            return -1;
        }
    if (!(o->dmin_A > 0)) {
        fprintf(stderr, PROG ": --dmin: must be > 0 (got %g)\n", o->dmin_A);
        return -1;
    }
    if (!(o->bfactor_A2 >= 0)) {
        fprintf(stderr, PROG ": --bfactor: must be >= 0 (got %g)\n", o->bfactor_A2);
        return -1;
    }
    return 0;
}

static int parse_args(int argc, char **argv, options *o)
{
    int i, seen = 0;
    memset(o, 0, sizeof *o);
    o->atoms = 1000;
    o->seed = 1;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            exit(0);
        }
        if (a[0] == '-' && a[1] != '\0') {
            if (parse_flag(argc, argv, &i, o, &seen) != 0)
                return -1;
        } else if (o->out) {
            fprintf(stderr, PROG ": one output file only ('%s', then '%s')\n", o->out, a);
            return -1;
        } else {
            o->out = a;
        }
    }
    return check_options(o, seen);
}

/* ---------------------------------------------------------------- physics */

static double cos_deg(double deg)
{
    return deg == 90.0 ? 0.0 : cos(deg * PI / 180.0);
}

/* The reciprocal metric G* (A^-2), the inverse of the real-space metric
   G_ij = a_i . a_j, so that 1/d^2 = h^T G* h.  Returns -1 if the angles make
   no cell (zero or imaginary volume). */
static int reciprocal_metric(const double cell[6], double gs[3][3])
{
    double a = cell[0], b = cell[1], c = cell[2];
    double ca = cos_deg(cell[3]), cb = cos_deg(cell[4]), cg = cos_deg(cell[5]);
    double g[3][3] = {{a * a, a * b * cg, a * c * cb},
                      {a * b * cg, b * b, b * c * ca},
                      {a * c * cb, b * c * ca, c * c}};
    double shape = 1 - ca * ca - cb * cb - cg * cg + 2 * ca * cb * cg; /* (V/abc)^2 */
    double det = a * a * b * b * c * c * shape;
    int i, j;
    if (!(shape > 1e-9))
        return -1;
    for (i = 0; i < 3; i++)
        for (j = 0; j < 3; j++) {
            int i1 = (j + 1) % 3, i2 = (j + 2) % 3, j1 = (i + 1) % 3, j2 = (i + 2) % 3;
            gs[i][j] = (g[i1][j1] * g[i2][j2] - g[i1][j2] * g[i2][j1]) / det;
        }
    return 0;
}

/* 1/d^2 in A^-2; the same bits for h k l and -h -k -l. */
static double inv_d2(const double gs[3][3], int h, int k, int l)
{
    double dh = h, dk = k, dl = l;
    return gs[0][0] * (dh * dh) + gs[1][1] * (dk * dk) + gs[2][2] * (dl * dl) +
           2 * (gs[0][1] * (dh * dk) + gs[0][2] * (dh * dl) + gs[1][2] * (dk * dl));
}

/* Cromer-Mann scattering factor of carbon (International Tables C,
   6.1.1.4) at stol2 = (sin(theta)/lambda)^2 = s^2/4 in A^-2; f(0) = 5.9992. */
static double carbon_f(double stol2)
{
    static const double a[4] = {2.31, 1.02, 1.5886, 0.865};
    static const double b[4] = {20.8439, 10.2075, 0.5687, 51.6512};
    double f = 0.2156;
    int i;
    for (i = 0; i < 4; i++)
        f += a[i] * exp(-b[i] * stol2);
    return f;
}

/* splitmix64: a small generator with the same output everywhere. */
static uint64_t next_random(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

/* n atoms, fractional x y z each uniform in [0, 1); caller owns the result. */
static double *random_atoms(size_t n, uint64_t seed)
{
    double *xyz = malloc(3 * n * sizeof *xyz);
    size_t i;
    if (xyz)
        for (i = 0; i < 3 * n; i++)
            xyz[i] = (double)(next_random(&seed) >> 11) * 0x1.0p-53;
    return xyz;
}

/* Fill t for m = -max..max from coordinate axis of the n atoms; the entries
   for -m are the exact conjugates of those for m. */
static int phase_table_fill(phase_table *t, int max, const double *xyz, size_t n, int axis)
{
    size_t rows = 2 * (size_t)max + 1, j;
    int m;
    t->max = max;
    t->re = malloc(rows * n * sizeof *t->re);
    t->im = malloc(rows * n * sizeof *t->im);
    if (!t->re || !t->im)
        return -1;
    for (m = 0; m <= max; m++)
        for (j = 0; j < n; j++) {
            double phase = 2 * PI * m * xyz[3 * j + (size_t)axis];
            size_t up = (size_t)(max + m) * n + j, down = (size_t)(max - m) * n + j;
            t->re[up] = t->re[down] = cos(phase);
            t->im[down] = -sin(phase);
            t->im[up] = sin(phase); /* last: +0 for m = 0 */
        }
    return 0;
}

static void phase_table_free(phase_table *t)
{
    free(t->re);
    free(t->im);
}

/* ---------------------------------------------------------------- table */

typedef struct {
    const options *o;
    double gs[3][3];
    size_t n;               /* atoms */
    phase_table axis[3];    /* h, k, l */
    double *pair_re, *pair_im; /* exp(2 pi i (h x + k y)) of the current h, k */
} table_job;

/* F of one reflection with 1/d^2 = q, from the h, k phases in job->pair_*. */
static double structure_factor(const table_job *job, int l, double q)
{
    const phase_table *z = &job->axis[2];
    const double *zr = z->re + (size_t)(l + z->max) * job->n;
    const double *zi = z->im + (size_t)(l + z->max) * job->n;
    double re = 0, im = 0, stol2 = q / 4;
    size_t j;
    for (j = 0; j < job->n; j++) {
        re += job->pair_re[j] * zr[j] - job->pair_im[j] * zi[j];
        im += job->pair_re[j] * zi[j] + job->pair_im[j] * zr[j];
    }
    return carbon_f(stol2) * exp(-job->o->bfactor_A2 * stol2) * sqrt(re * re + im * im);
}

static void set_pair(table_job *job, int h, int k)
{
    const phase_table *x = &job->axis[0], *y = &job->axis[1];
    size_t j, xo = (size_t)(h + x->max) * job->n, yo = (size_t)(k + y->max) * job->n;
    for (j = 0; j < job->n; j++) {
        double xr = x->re[xo + j], xi = x->im[xo + j], yr = y->re[yo + j], yi = y->im[yo + j];
        job->pair_re[j] = xr * yr - xi * yi;
        job->pair_im[j] = xr * yi + xi * yr;
    }
}

/* Write every reflection with d >= d_min; returns the count. */
static size_t write_reflections(table_job *job, FILE *fp)
{
    double limit = DMIN_SLACK / (job->o->dmin_A * job->o->dmin_A);
    int hm = job->axis[0].max, km = job->axis[1].max, lm = job->axis[2].max, h, k, l;
    size_t count = 0;
    for (h = -hm; h <= hm; h++)
        for (k = -km; k <= km; k++) {
            int have_pair = 0;
            for (l = -lm; l <= lm; l++) {
                double q = inv_d2(job->gs, h, k, l);
                if (q > limit || (job->o->no_f000 && h == 0 && k == 0 && l == 0))
                    continue;
                if (!have_pair)
                    set_pair(job, h, k);
                have_pair = 1;
                fprintf(fp, "%d %d %d %.4f\n", h, k, l, structure_factor(job, l, q));
                count++;
            }
        }
    return count;
}

/* Index limits: |h| <= a/d_min since h = a . d* and |d*| <= 1/d_min. */
static int index_limits(const options *o, int max[3])
{
    double box = 1, table = 0;
    int k;
    for (k = 0; k < 3; k++) {
        double m = floor(o->cell[k] / o->dmin_A * DMIN_SLACK);
        box *= 2 * m + 1;
        table += (2 * m + 1) * (double)o->atoms;
        if (box > MAX_INDICES || table > MAX_TABLE) {
            fprintf(stderr, PROG ": --dmin %g: too many reflections%s (raise --dmin)\n",
                    o->dmin_A, box > MAX_INDICES ? "" : " for this many --atoms");
            return -1;
        }
        max[k] = (int)m;
    }
    return 0;
}

/* Atoms, phase tables, then the reflections; 0 or EXIT_IO (out of memory). */
static int make_table(table_job *job, const int max[3], FILE *fp, size_t *count)
{
    double *xyz = random_atoms(job->n, job->o->seed);
    int k;
    job->pair_re = malloc(job->n * sizeof *job->pair_re);
    job->pair_im = malloc(job->n * sizeof *job->pair_im);
    for (k = 0; k < 3 && xyz; k++)
        if (phase_table_fill(&job->axis[k], max[k], xyz, job->n, k) != 0)
            break;
    free(xyz);
    if (k < 3 || !job->pair_re || !job->pair_im) {
        fprintf(stderr, PROG ": out of memory\n");
        return EXIT_IO;
    }
    *count = write_reflections(job, fp);
    return 0;
}

int main(int argc, char **argv)
{
    options o;
    table_job job;
    nbi_fileout out = {0};
    nb_error err;
    size_t count = 0;
    int max[3], k, rc;
    if (parse_args(argc, argv, &o) != 0)
        return EXIT_USAGE;
    memset(&job, 0, sizeof job);
    job.o = &o;
    job.n = (size_t)o.atoms;
    if (reciprocal_metric(o.cell, job.gs) != 0) {
        fprintf(stderr, PROG ": --cell: angles %g %g %g make no cell\n", o.cell[3], o.cell[4],
                o.cell[5]);
        return EXIT_USAGE;
    }
    if (index_limits(&o, max) != 0)
        return EXIT_USAGE;
    if (nbi_fileout_open(&out, o.out, &err) != NB_OK) {
        fprintf(stderr, PROG ": %s\n", err.msg);
        return EXIT_IO;
    }
    rc = make_table(&job, max, out.fp, &count);
    if (rc == 0 && nbi_fileout_commit(&out, &err) != NB_OK) {
        fprintf(stderr, PROG ": %s\n", err.msg);
        rc = EXIT_IO;
    }
    nbi_fileout_abort(&out);
    for (k = 0; k < 3; k++)
        phase_table_free(&job.axis[k]);
    free(job.pair_re);
    free(job.pair_im);
    if (rc == 0)
        printf("%s: %zu reflections to d = %g A (|h| <= %d, |k| <= %d, |l| <= %d), %llu atom%s\n",
               o.out, count, o.dmin_A, job.axis[0].max, job.axis[1].max, job.axis[2].max,
               o.atoms, o.atoms == 1 ? "" : "s");
    return rc;
}
