/*
 * test_kernels_agree.c - the row kernel (kernel_row.c) against the reference
 * kernel (kernel.c) over random experiments.
 *
 * The two kernels compute the same sum in different ways: the reference one
 * pixel at a time in nanoBragg's loop order and arithmetic, the row kernel a
 * run of pixels at a time with vector loops, another summation order,
 * polynomial sines and fused multiply-adds.  Their double results must agree
 * far below float precision (the image is stored as float, 6e-8 relative).
 *
 * Each configuration is drawn from a fixed seed: cell (cubic to triclinic),
 * misset, N per axis, crystal shape and fudge, default_F or an HKL file (with
 * and without interpolation), mosaic domains, phi steps, dispersion,
 * divergence or a source file, polarization, detector convention (custom
 * vectors too), rotations, two-theta, pivot, beam centre, point pixel,
 * curved detector, sensor layers and absorption, oversampling, -dmin, water
 * background, ROI and mask, on detectors of a few pixels.  Every rendered
 * pixel is rendered by both kernels and compared:
 *
 *     |row - ref| <= TOL * max(|ref|, FLOOR * max |ref| over the image)
 *
 * The floor is for pixels between Bragg peaks, where the lattice factor
 * sin(N pi h)/sin(pi h) is near a zero and both kernels' rounding of h (and
 * nanoBragg's sin of an argument N pi h of several thousand) is amplified.
 * Observed: worst 8e-12 over these configurations (x86-64-v3 with FMA; 3e-12
 * in the unoptimised build), 2.3e-10 over 25,000 configurations drawn from
 * other seeds (a pixel at 1e-5 of its image's maximum, square crystal).  TOL
 * is a few times the latter, so that reordering the arithmetic does not
 * break the test, and still 60 times below float precision.  Values below
 * TINY photons (deep in a Gaussian crystal's tails, exp(-300), where the
 * exponent amplifies rounding) are compared absolutely.  Also compared: the per-pixel flags (some phi
 * sweep ran), the solid-angle sums, and that pixels outside the ROI or masked
 * are left alone.  Not compared: pixels where either kernel reports that
 * tricubic interpolation left the HKL grid (from there on nanoBragg's result
 * depends on the serial pixel order; simulate.c re-renders them), and
 * configurations with -oversample_thick/polar/omega (the row kernel does not
 * take them).  The first-sweep quirk is left out on both sides (first_sweep
 * = 0), as simulate.c corrects it afterwards.
 *
 * The row kernel stores floats; its double results for the run just
 * rendered are in nbi_row.value (one per rendered pixel, in order).  A pixel
 * it hands to the reference kernel (round crystal next to a lattice point)
 * gets the reference's float instead: that is checked bit for bit.
 *
 * NB_TEST_VERBOSE=1 in the environment lists every configuration; SEED,
 * CONFIGS and TOL can be set with -D to explore other draws.
 */
#include <float.h>
#include <string.h>

#include "support.h"

#include "kernel_row.h"
#include "scratch.h"

SCRATCH_GROUP("nb_test_kernels_agree")

#ifndef CONFIGS
#define CONFIGS 500
#endif
#ifndef SEED
#define SEED 20240611u
#endif
#ifndef TOL
#define TOL 1e-9      /* relative, see the top of this file */
#endif
#define FLOOR 1e-6    /* of the image maximum */
#define TINY 1e-30    /* photons: below this, differences are compared absolutely */
#define MAX_SKIPPED 0.05 /* fraction of pixels not compared (interpolation events) */
#define MAX_SAMPLES 1500 /* sources x orientations x sub-pixels x layers per pixel */
#define MAX_GRID 30000   /* HKL grid points written */
#define MAX_PIXELS 8

/* ------------------------------------------------------------ random numbers */

typedef struct rng {
    uint64_t s;
} rng;

/* splitmix64 */
static uint64_t next_u64(rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static double uni(rng *r, double lo, double hi)
{
    return lo + (hi - lo) * ((double)(next_u64(r) >> 11) * (1.0 / 9007199254740992.0));
}

static int irand(rng *r, int lo, int hi) /* inclusive */
{
    return lo + (int)(next_u64(r) % (uint64_t)(hi - lo + 1));
}

static int chance(rng *r, double p) { return uni(r, 0.0, 1.0) < p; }

/* A random unit vector. */
static vec3 random_unit(rng *r)
{
    vec3 u;
    do
        u = v3(uni(r, -1, 1), uni(r, -1, 1), uni(r, -1, 1));
    while (v3_mag(u) < 0.1 || v3_mag(u) > 1.0);
    v3_unit(u, &u);
    return u;
}

/* ------------------------------------------------------------ configurations */

/* Features a configuration has, for the summary line (the enum and the
   names in the same order). */
enum {
    F_TRICLINIC, F_MISSET, F_N_MIXED, F_SQUARE, F_ROUND, F_GAUSS, F_TOPHAT, F_FUDGE,
    F_HKL, F_INTERP, F_SMALL_GRID, F_MOSAIC, F_PHI, F_DISP, F_DIV, F_SOURCES,
    F_NOPOLAR, F_KAHN, F_MOSFLM, F_XDS, F_DIALS, F_ADXV, F_DENZO, F_CUSTOM,
    F_SAMPLE_PIVOT, F_ROT, F_TWOTHETA, F_POINT, F_CURVED, F_THICK, F_OS2, F_OS3,
    F_BEAM_PIXEL, F_DMIN, F_WATER, F_ROI, F_MASK, F_SPLIT, NFEAT
};
static const char *const feature_name[NFEAT] = {
    "triclinic", "misset", "N-mixed", "square", "round", "gauss", "tophat", "fudge",
    "hkl", "interp", "small-grid", "mosaic", "phi", "dispersion", "divergence", "source-file",
    "nopolar", "kahn", "mosflm", "xds", "dials", "adxv", "denzo", "custom",
    "sample-pivot", "rotations", "twotheta", "point-pixel", "curved", "layers", "os2", "os3",
    "beam-on-pixel", "dmin", "water", "roi", "mask", "split-runs"};

typedef struct trial {
    nb_config cfg;
    int feat[NFEAT];
    int want_hkl, small_grid, want_dmin, split;
    uint16_t mask[MAX_PIXELS * MAX_PIXELS];
    char hkl_path[512], source_path[512];
} trial;

static double deg(rng *r, double lo, double hi) { return uni(r, lo, hi) * DEG; }

static void random_cell(rng *r, trial *t)
{
    const int kind = irand(r, 0, 5);
    double a = uni(r, 10, 80), b = a, c = a, al = 90, be = 90, ga = 90;
    if (kind >= 1)
        c = uni(r, 10, 80);
    if (kind == 2 || kind >= 4)
        b = uni(r, 10, 80);
    if (kind == 3)
        ga = 120;
    if (kind == 4)
        be = uni(r, 92, 120);
    if (kind == 5) {
        double ca, cb, cg;
        do {
            al = uni(r, 65, 115);
            be = uni(r, 65, 115);
            ga = uni(r, 65, 115);
            ca = cos(al * DEG);
            cb = cos(be * DEG);
            cg = cos(ga * DEG);
        } while (1 - ca * ca - cb * cb - cg * cg + 2 * ca * cb * cg < 0.3); /* (V/abc)^2 */
        t->feat[F_TRICLINIC] = 1;
    }
    set_cell(&t->cfg, a, b, c, al, be, ga);
}

static void random_crystal(rng *r, trial *t)
{
    nb_config *cfg = &t->cfg;
    random_cell(r, t);
    if (chance(r, 0.5)) {
        cfg->misset_mode = chance(r, 0.6) ? 1 : -1;
        cfg->misset_seed = -irand(r, 1, 1000000);
        for (int i = 0; i < 3; ++i)
            cfg->misset_rad[i] = deg(r, -180, 180);
        t->feat[F_MISSET] = 1;
    }
    cfg->Na = cfg->Nb = cfg->Nc = irand(r, 1, 12);
    if (chance(r, 0.3)) {
        cfg->Nb = irand(r, 1, 12);
        cfg->Nc = irand(r, 1, 12);
        t->feat[F_N_MIXED] = 1;
    }
    cfg->shape = (nb_shape)irand(r, 0, 3);
    t->feat[F_SQUARE + cfg->shape] = 1;
    if (cfg->shape != NB_SHAPE_SQUARE && chance(r, 0.5)) {
        cfg->fudge = uni(r, 0.3, 3.0);
        t->feat[F_FUDGE] = 1;
    }
    cfg->default_F = uni(r, 0.5, 50);
    if (chance(r, 0.4)) {
        t->want_hkl = 1;
        t->small_grid = chance(r, 0.15);
        cfg->interpolate = (nb_interp)irand(r, -1, 1);
    }
    if (chance(r, 0.4)) {
        cfg->mosaic_spread_rad = deg(r, 0.05, 2.0);
        cfg->mosaic_domains = irand(r, 2, 6);
        cfg->mosaic_seed = -irand(r, 1, 1000000);
        t->feat[F_MOSAIC] = 1;
    }
    if (chance(r, 0.5))
        cfg->phi0_rad = deg(r, -180, 180);
    if (chance(r, 0.4)) {
        if (chance(r, 0.3))
            cfg->phi0_rad = 0.0;
        cfg->osc_rad = deg(r, 0.01, 3.0);
        cfg->phisteps = irand(r, 1, 4);
        t->feat[F_PHI] = 1;
    }
}

/* A source file: 1-4 sources about 10 m upstream, with their own wavelengths. */
static void write_sources(rng *r, trial *t, vec3 beam)
{
    FILE *fp;
    const int n = irand(r, 1, 4);
    snprintf(t->source_path, sizeof t->source_path, "%s", in_scratch("sources.txt"));
    fp = fopen(t->source_path, "w");
    assert_non_null(fp);
    for (int i = 0; i < n; ++i)
        fprintf(fp, "%.17g %.17g %.17g %g %.17g\n", -10 * beam.x + uni(r, -0.01, 0.01),
                -10 * beam.y + uni(r, -0.01, 0.01), -10 * beam.z + uni(r, -0.01, 0.01), uni(r, 0.5, 2),
                uni(r, 0.5e-10, 3e-10));
    assert_int_equal(fclose(fp), 0);
    t->cfg.source_path = t->source_path;
}

static void random_beam(rng *r, trial *t, vec3 beam)
{
    nb_config *cfg = &t->cfg;
    cfg->lambda0_m = uni(r, 0.5e-10, 3e-10);
    if (chance(r, 0.1)) {
        write_sources(r, t, beam);
        t->feat[F_SOURCES] = 1;
    } else {
        if (chance(r, 0.25)) {
            cfg->dispersion = uni(r, 0.001, 0.05);
            cfg->dispsteps = irand(r, 2, 4);
            t->feat[F_DISP] = 1;
        }
        if (chance(r, 0.25)) {
            cfg->hdivrange_rad = uni(r, 0.1e-3, 3e-3);
            cfg->hdivsteps = irand(r, 1, 3);
            cfg->vdivrange_rad = uni(r, 0.1e-3, 3e-3);
            cfg->vdivsteps = irand(r, 1, 3);
            cfg->round_div = irand(r, 0, 1);
            t->feat[F_DIV] = 1;
        }
    }
    if (chance(r, 0.3)) {
        cfg->nopolar = 1;
        t->feat[F_NOPOLAR] = 1;
    } else {
        cfg->polarization = chance(r, 0.2) ? 0.0 : uni(r, 0.0, 1.0);
        t->feat[F_KAHN] = cfg->polarization != 0.0;
    }
}

/* Custom convention: MOSFLM's frame turned by a random rotation. */
static void custom_vectors(rng *r, nb_config *cfg, vec3 *beam)
{
    const vec3 ax = random_unit(r);
    const double ang = deg(r, -180, 180);
    const vec3 b = v3_rotate_axis(v3(1, 0, 0), ax, ang), f = v3_rotate_axis(v3(0, 0, 1), ax, ang);
    const vec3 s = v3_rotate_axis(v3(0, -1, 0), ax, ang);
    v3_store(b, cfg->beam_vector);
    v3_store(f, cfg->fdet_vector);
    v3_store(s, cfg->sdet_vector);
    v3_store(b, cfg->odet_vector);
    v3_store(f, cfg->polar_vector);
    v3_store(chance(r, 0.5) ? f : random_unit(r), cfg->spindle_vector);
    v3_store(v3_scale(f, -1.0), cfg->twotheta_axis);
    *beam = b;
}

static const nb_convention conventions[6] = {NB_CONV_MOSFLM, NB_CONV_XDS, NB_CONV_DIALS, NB_CONV_ADXV,
                                             NB_CONV_DENZO, NB_CONV_CUSTOM};

/* Detector geometry; *beam is the beam direction it implies. */
static void random_detector(rng *r, trial *t, vec3 *beam)
{
    nb_config *cfg = &t->cfg;
    const int conv = irand(r, 0, 5);
    cfg->convention = conventions[conv];
    t->feat[F_MOSFLM + conv] = 1;
    *beam = conv == 0 || conv == 4 ? v3(1, 0, 0) : v3(0, 0, 1);
    if (cfg->convention == NB_CONV_CUSTOM)
        custom_vectors(r, cfg, beam);
    cfg->pivot = (nb_pivot)irand(r, 0, 1);
    cfg->fpixels = irand(r, 3, MAX_PIXELS);
    cfg->spixels = irand(r, 3, MAX_PIXELS);
    cfg->pixel_m = uni(r, 0.05e-3, 0.5e-3);
    cfg->distance_m = uni(r, 50e-3, 300e-3);
    if (chance(r, 0.7)) { /* beam centre near the detector, sometimes off it */
        const double off = chance(r, 0.2) ? 20.0 : 3.0;
        cfg->Xbeam_m = cfg->pixel_m * (cfg->spixels / 2.0 + uni(r, -off, off));
        cfg->Ybeam_m = cfg->pixel_m * (cfg->fpixels / 2.0 + uni(r, -off, off));
    } else if ((conv == 1 || conv == 2) && chance(r, 0.5)) {
        cfg->ORGX = uni(r, -2, cfg->fpixels + 2);
        cfg->ORGY = uni(r, -2, cfg->spixels + 2);
    }
    if (chance(r, 0.3)) {
        for (int i = 0; i < 3; ++i)
            cfg->detector_rot_rad[i] = deg(r, -10, 10);
        t->feat[F_ROT] = 1;
    }
    if (chance(r, 0.25)) {
        cfg->twotheta_rad = deg(r, -40, 40);
        t->feat[F_TWOTHETA] = 1;
    }
    if (chance(r, 0.15)) {
        cfg->point_pixel = 1;
        t->feat[F_POINT] = 1;
    }
    if (chance(r, 0.15)) {
        cfg->curved_detector = 1;
        t->feat[F_CURVED] = 1;
    }
    if (chance(r, 0.3)) {
        cfg->detector_thick_m = uni(r, 20e-6, 500e-6);
        cfg->detector_thicksteps = chance(r, 0.2) ? -1 : irand(r, 1, 3);
        cfg->detector_mu = chance(r, 0.2) ? -1.0 : 1.0 / uni(r, 20e-6, 1e-3);
        t->feat[F_THICK] = 1;
    }
    cfg->oversample = irand(r, 1, 3);
    if (conv == 0 || conv == 3 || conv == 4) {
        if (chance(r, 0.15)) { /* the direct beam through a pixel's central sample */
            const double px = cfg->pixel_m, F = px * (irand(r, 0, cfg->fpixels - 1) + 0.5),
                         S = px * (irand(r, 0, cfg->spixels - 1) + 0.5);
            cfg->oversample = chance(r, 0.5) ? 1 : 3;
            cfg->Xbeam_m = conv == 3 ? F : conv == 0 ? S - 0.5 * px : S;
            cfg->Ybeam_m = conv == 3 ? cfg->spixels * px - S : conv == 0 ? F - 0.5 * px : F;
            t->feat[F_BEAM_PIXEL] = 1;
        }
    }
    t->feat[F_OS2] = cfg->oversample == 2;
    t->feat[F_OS3] = cfg->oversample == 3;
}

static void random_region(rng *r, trial *t)
{
    nb_config *cfg = &t->cfg;
    const int nf = cfg->fpixels, ns = cfg->spixels;
    if (chance(r, 0.2)) {
        cfg->roi[0] = irand(r, 0, nf - 1);
        cfg->roi[1] = irand(r, cfg->roi[0], nf - 1);
        cfg->roi[2] = irand(r, 0, ns - 1);
        cfg->roi[3] = irand(r, cfg->roi[2], ns - 1);
        t->feat[F_ROI] = 1;
    }
    if (chance(r, 0.2)) {
        for (int i = 0; i < nf * ns; ++i)
            t->mask[i] = chance(r, 0.3) ? 0 : 1;
        cfg->mask = t->mask;
        cfg->mask_width = nf;
        cfg->mask_height = ns;
        t->feat[F_MASK] = 1;
    }
}

/* Everything but the HKL file and -dmin, which depend on the Miller indices
   and resolutions the detector sees (see survey). */
static void random_trial(rng *r, trial *t)
{
    vec3 beam;
    memset(t, 0, sizeof *t);
    base_config(&t->cfg);
    t->cfg.threads = 1;
    random_crystal(r, t);
    random_detector(r, t, &beam);
    random_beam(r, t, beam);
    random_region(r, t);
    t->want_dmin = chance(r, 0.2);
    if (chance(r, 0.2)) {
        t->cfg.water_m = uni(r, 0.5e-9, 20e-9);
        t->feat[F_WATER] = 1;
    }
    if (chance(r, 0.05)) { /* the reference-order kernel only */
        const int which = irand(r, 0, 2);
        t->cfg.oversample_thick = which == 0;
        t->cfg.oversample_polar = which == 1;
        t->cfg.oversample_omega = which == 2;
    }
    t->split = chance(r, 0.25);
    t->feat[F_SPLIT] = t->split;
}

/* ------------------------------------------------------------ survey */

/* The range of fractional Miller indices and of sin(theta)/lambda (1/m) over
   every sample of every pixel, source and orientation. */
typedef struct survey {
    double lo[3], hi[3], stol_lo, stol_hi;
} survey;

static void take_survey(const nb_experiment *e, survey *sv)
{
    const nbi_detector *d = &e->det;
    const nbi_crystal *x = &e->xtal;
    const int os = d->oversample, ncells = x->phisteps * x->domains;
    for (int i = 0; i < 3; ++i) {
        sv->lo[i] = DBL_MAX;
        sv->hi[i] = -DBL_MAX;
    }
    sv->stol_lo = DBL_MAX;
    sv->stol_hi = 0.0;
    for (int s = 0; s < d->spixels; ++s)
        for (int f = 0; f < d->fpixels; ++f)
            for (int q = 0; q < d->thicksteps * os * os; ++q) {
                double air;
                const int t = q / (os * os), subF = q % os, subS = q % (os * os) / os;
                const vec3 u = nbi_subpixel_direction(e, f, s, t, subF, subS, &air);
                for (int src = 0; src < e->src.n; ++src) {
                    const double il = 1.0 / e->src.lambda_m[src];
                    const vec3 S = v3((u.x + e->src.x[src]) * il, (u.y + e->src.y[src]) * il,
                                      (u.z + e->src.z[src]) * il);
                    const double stol = 0.5 * v3_mag(S);
                    sv->stol_lo = fmin(sv->stol_lo, stol);
                    sv->stol_hi = fmax(sv->stol_hi, stol);
                    for (int c = 0; c < 2 * ncells; ++c) {
                        const double *m = (c < ncells ? x->cells : x->cells_first) + 9 * (c % ncells);
                        for (int i = 0; i < 3; ++i) {
                            const double h = m[3 * i] * S.x + m[3 * i + 1] * S.y + m[3 * i + 2] * S.z;
                            sv->lo[i] = fmin(sv->lo[i], h);
                            sv->hi[i] = fmax(sv->hi[i], h);
                        }
                    }
                }
            }
}

/* An HKL file whose grid holds every 4x4x4 interpolation neighbourhood the
   detector sees (a few random reflections left out: they take default_F),
   or, for small_grid or when that is too large, only the middle of it (some
   samples then fall outside the grid). */
static void write_hkl(rng *r, trial *t, const survey *sv)
{
    int lo[3], hi[3];
    long volume = 1;
    FILE *fp;
    for (int i = 0; i < 3; ++i) {
        lo[i] = (int)floor(sv->lo[i]) - 3;
        hi[i] = (int)ceil(sv->hi[i]) + 3;
        volume *= hi[i] - lo[i] + 1;
    }
    if (t->small_grid || volume > MAX_GRID) {
        t->small_grid = 1;
        for (int i = 0; i < 3; ++i) {
            const int mid = (lo[i] + hi[i]) / 2;
            lo[i] = mid - 2;
            hi[i] = mid + 2;
        }
    }
    snprintf(t->hkl_path, sizeof t->hkl_path, "%s", in_scratch("F.hkl"));
    fp = fopen(t->hkl_path, "w");
    assert_non_null(fp);
    for (int h = lo[0]; h <= hi[0]; ++h)
        for (int k = lo[1]; k <= hi[1]; ++k)
            for (int l = lo[2]; l <= hi[2]; ++l)
                if (!chance(r, 0.05))
                    fprintf(fp, "%d %d %d %.6f\n", h, k, l, uni(r, 1.0, 60.0));
    /* the corners fix the grid */
    fprintf(fp, "%d %d %d 7\n%d %d %d 9\n", lo[0], lo[1], lo[2], hi[0], hi[1], hi[2]);
    assert_int_equal(fclose(fp), 0);
    t->cfg.hkl_path = t->hkl_path;
}

/* Sources x orientations x sub-pixels x layers. */
static long samples_per_pixel(const nb_experiment *e)
{
    return e->steps * e->det.thicksteps;
}

/* Draw configurations until one is cheap enough, then add the HKL file and
   -dmin it asks for; returns its experiment. */
static nb_experiment *draw(rng *r, trial *t)
{
    nb_experiment *e;
    survey sv;
    for (;;) {
        random_trial(r, t);
        e = create(&t->cfg);
        if (samples_per_pixel(e) <= MAX_SAMPLES)
            break;
        nb_experiment_free(e);
    }
    t->feat[F_SAMPLE_PIVOT] = nb_experiment_info(e)->pivot == NB_PIVOT_SAMPLE;
    if (!t->want_hkl && !t->want_dmin)
        return e;
    take_survey(e, &sv);
    nb_experiment_free(e);
    if (t->want_hkl) {
        write_hkl(r, t, &sv);
        t->feat[F_HKL] = 1;
        t->feat[F_SMALL_GRID] = t->small_grid;
    }
    if (t->want_dmin && sv.stol_hi > 0.0) { /* cuts some of the samples */
        t->cfg.dmin_m = 0.5 / uni(r, fmax(sv.stol_lo, 0.5 * sv.stol_hi), sv.stol_hi);
        t->feat[F_DMIN] = 1;
    }
    e = create(&t->cfg);
    return e;
}

/* ------------------------------------------------------------ comparison */

typedef struct tally {
    int compared, reference_only;
    long pixels, skipped, delegated, zero;
    double worst;
    int worst_config;
    int feat[NFEAT];
} tally;

/* One configuration's images: the reference kernel's pixels, and the row
   kernel's doubles, floats and flags. */
typedef struct images {
    nbi_pixel ref[MAX_PIXELS * MAX_PIXELS];
    double row[MAX_PIXELS * MAX_PIXELS];
    float data[MAX_PIXELS * MAX_PIXELS];
    unsigned char flags[MAX_PIXELS * MAX_PIXELS];
} images;

#define NOT_RENDERED -12345.0f
#define NO_FLAGS 0xA5

/* The row kernel over every row, in runs of w.chunk pixels as simulate.c
   renders them (or of random lengths up to that, for t->split); checks each
   run's solid-angle sum against the reference's. */
static void render_rows(const nb_experiment *e, const trial *t, rng *r, int config, images *im)
{
    const nbi_detector *d = &e->det;
    const int nf = d->fpixels;
    nbi_row w = {0};
    assert_int_equal(nbi_row_init(&w, e), NB_OK);
    assert_true(w.chunk >= 1);
    for (int s = 0; s < d->spixels; ++s)
        for (int f = 0; f < nf;) {
            const int len = t->split ? irand(r, 1, w.chunk) : w.chunk;
            const int f_end = f + len < nf ? f + len : nf;
            const double omega = nbi_render_row(e, s, f, f_end, e->interpolate, &w, im->data + s * nf + f,
                                                im->flags + s * nf + f);
            double omega_ref = 0.0;
            int j = 0;
            for (int g = f; g < f_end; ++g)
                if (nbi_pixel_rendered(d, g, s)) {
                    im->row[s * nf + g] = w.value[j++];
                    omega_ref += im->ref[s * nf + g].omega_sum;
                }
            if (j != w.np) {
                print_error("config %d row %d pixels %d..%d: the row kernel rendered %d pixels, %d are in "
                            "the ROI and unmasked\n", config, s, f, f_end - 1, w.np, j);
                fail();
            }
            if (fabs(omega - omega_ref) > 1e-12 * omega_ref) {
                print_error("config %d row %d pixels %d..%d: solid angle %.17g, reference %.17g\n", config,
                            s, f, f_end - 1, omega, omega_ref);
                fail();
            }
            f = f_end;
        }
    nbi_row_free(&w);
}

/* Whether pixel i is compared: rendered, and no interpolation event. */
static int comparable(const nbi_detector *d, const images *im, int i)
{
    return nbi_pixel_rendered(d, i % d->fpixels, i / d->fpixels) && !im->ref[i].interp_off
           && !(im->flags[i] & NBI_PIX_INTERP_OFF);
}

/* Compare pixel i; max_ref is the image's largest reference value. */
static void check_pixel(const nbi_detector *d, const images *im, int i, double max_ref, int config, tally *tl)
{
    const int f = i % d->fpixels, s = i / d->fpixels;
    const double ref = im->ref[i].value, row = im->row[i];
    double err;
    if (im->flags[i] != (im->ref[i].swept ? NBI_PIX_SWEPT : 0)) {
        print_error("config %d: pixel (%d,%d) flags %d, reference swept %d\n", config, f, s, im->flags[i],
                    im->ref[i].swept);
        fail();
    }
    if (im->data[i] != (float)row) { /* handed to the reference kernel */
        tl->delegated++;
        if (im->data[i] != (float)ref) {
            print_error("config %d: pixel (%d,%d) = %.9g, reference %.9g\n", config, f, s, im->data[i], ref);
            fail();
        }
        return;
    }
    tl->zero += ref == 0.0;
    err = row == ref ? 0.0 : fabs(row - ref) / fmax(fabs(ref), fmax(FLOOR * max_ref, TINY));
    if (!(err <= TOL)) {
        print_error("config %d: pixel (%d,%d) row kernel %.17g, reference %.17g: relative %.3g "
                    "(image maximum %.6g)\n", config, f, s, row, ref, err, max_ref);
        fail();
    }
    if (err > tl->worst) {
        tl->worst = err;
        tl->worst_config = config;
    }
}

/* Render every pixel of e with both kernels and compare; config is the
   configuration's number, for messages. */
static void compare(const nb_experiment *e, const trial *t, rng *r, int config, tally *tl)
{
    const nbi_detector *d = &e->det;
    const int nf = d->fpixels, n = nf * d->spixels;
    images *im = malloc(sizeof *im);
    double max_ref = 0.0;
    assert_non_null(im);
    for (int i = 0; i < n; ++i) {
        im->data[i] = NOT_RENDERED;
        im->flags[i] = NO_FLAGS;
        im->row[i] = NAN;
        if (nbi_pixel_rendered(d, i % nf, i / nf))
            nbi_render_pixel(e, i % nf, i / nf, e->interpolate, 0, &im->ref[i]);
    }
    render_rows(e, t, r, config, im);
    for (int i = 0; i < n; ++i)
        if (comparable(d, im, i))
            max_ref = fmax(max_ref, fabs(im->ref[i].value));
    for (int i = 0; i < n; ++i) {
        if (!nbi_pixel_rendered(d, i % nf, i / nf)) {
            if (im->data[i] != NOT_RENDERED || im->flags[i] != NO_FLAGS) {
                print_error("config %d: pixel (%d,%d) is outside the ROI or masked but was written\n",
                            config, i % nf, i / nf);
                fail();
            }
            continue;
        }
        tl->pixels++;
        if (comparable(d, im, i))
            check_pixel(d, im, i, max_ref, config, tl);
        else
            tl->skipped++;
    }
    free(im);
}

static void print_trial(int config, const trial *t, const nb_experiment *e)
{
    const nb_config *c = &t->cfg;
    const nb_info *in = nb_experiment_info(e);
    print_message("config %d: %dx%d px, N %gx%gx%g, shape %d, os %d, %d layers, %d sources, %d phi x %d "
                  "domains, interp %d, hkl %ld:", config, c->fpixels, c->spixels, e->xtal.Na, e->xtal.Nb,
                  e->xtal.Nc, c->shape, e->det.oversample, e->det.thicksteps, e->src.n, e->xtal.phisteps,
                  e->xtal.domains, e->interpolate, in->hkls);
    for (int i = 0; i < NFEAT; ++i)
        if (t->feat[i])
            print_message(" %s", feature_name[i]);
    print_message("\n");
}

/* CONFIGS random configurations, each rendered by both kernels; then the
   summary, and checks that nearly all were compared, few pixels skipped and
   every feature covered. */
static void test_kernels_agree(void **state)
{
    rng r = {SEED};
    tally tl;
    trial t;
    const int verbose = getenv("NB_TEST_VERBOSE") != NULL;
    (void)state;
    memset(&tl, 0, sizeof tl);
    for (int config = 0; config < CONFIGS; ++config) {
        nb_experiment *e = draw(&r, &t);
        t.feat[F_INTERP] = e->interpolate;
        if (verbose)
            print_trial(config, &t, e);
        if (!nbi_row_kernel_ok(e)) {
            tl.reference_only++;
        } else {
            compare(e, &t, &r, config, &tl);
            tl.compared++;
            for (int i = 0; i < NFEAT; ++i)
                tl.feat[i] += t.feat[i];
        }
        nb_experiment_free(e);
    }
    print_message("kernels agree: %d configurations (%d compared, %d reference-order only), %ld pixels "
                  "(%ld skipped at interpolation events, %ld delegated, %ld zero); worst relative "
                  "difference %.3g (config %d), tolerance %.3g with floor %.3g of the image maximum\n",
                  CONFIGS, tl.compared, tl.reference_only, tl.pixels, tl.skipped, tl.delegated, tl.zero,
                  tl.worst, tl.worst_config, TOL, FLOOR);
    print_message("features compared:");
    for (int i = 0; i < NFEAT; ++i)
        print_message(" %s %d", feature_name[i], tl.feat[i]);
    print_message("\n");
    assert_true(tl.compared >= CONFIGS * 8 / 10);
    assert_true(tl.skipped <= MAX_SKIPPED * tl.pixels);
    for (int i = 0; i < NFEAT; ++i)
        if (tl.feat[i] == 0) {
            print_error("no compared configuration has %s\n", feature_name[i]);
            fail();
        }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kernels_agree),
    };
    return cmocka_run_group_tests(tests, scratch_setup, scratch_teardown);
}
