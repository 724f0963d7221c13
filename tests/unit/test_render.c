/*
 * test_render.c - nb_render_region and nb_render_pixels against nb_simulate,
 * cancellation through the progress callback, argument checks.
 *
 * A region or a pixel list must give, bit for bit, the values nb_simulate
 * gives those pixels of the whole image, at any thread count.  That holds
 * only if every part is rendered by the kernel the whole image uses for it
 * (the row kernel or the reference kernel), if a pixel's row-kernel value
 * does not depend on the other pixels of its run, and if the pixels whose
 * value nanoBragg's serial order decides (the first pixel that runs a phi
 * sweep; the pixel where tricubic interpolation switches itself off, and
 * every pixel after it) are treated as in the whole image.  The cases below
 * make each of these matter:
 *
 *   integrated  the reference case of that name: phi sweep from 0 (the first
 *               sweep differs), mosaic, rotated detector, sensor layers;
 *   dmin        the same with -dmin, so that the first pixels run no sweep;
 *   interp      an HKL grid that interpolation leaves partway through the
 *               image (and a first sweep that differs);
 *   roi_mask    -roi and a mask that hides the ROI's first pixels;
 *   reference   -oversample_thick/polar/omega: the reference kernel
 *               throughout, with interpolation switching off too;
 *   single      integrated in single precision, where the row kernel's
 *               values often differ from the reference kernel's in the last
 *               bit of the float (in double precision they rarely do).
 *
 * Each is rendered whole (nb_simulate), then in random rectangles (the whole
 * detector, single pixels, the landmark pixels and their neighbours) and as a
 * list of 1,000 random pixel indices (unsorted, with repeats), on a fresh
 * experiment (the first partial render finds the landmarks) and on the one
 * nb_simulate rendered (which kept them), at 1 and 2 threads.  Also: a pixel
 * the two kernels disagree on (forced), calls from several threads at once,
 * progress reports and cancellation (nothing written), argument checks.
 * And nb_simulate_rows in bands then nb_simulate_finish (as the program
 * splits one image over MPI ranks): the image and statistics of
 * nb_simulate, bit for bit, for every case.
 */
#include <limits.h>
#include <pthread.h>
#include <string.h>

#include "support.h"

#include "kernel_row.h"
#include "render.h"
#include "scratch.h"
#include "serial_order.h"

SCRATCH_GROUP("nb_test_render")

#define NPIXELS 1000 /* pixels per random list */
#define NRECTS 10    /* random rectangles per experiment */

/* ------------------------------------------------------------ random numbers */

typedef struct rng {
    uint64_t s;
} rng;

static uint64_t next(rng *r) /* splitmix64 */
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

/* uniform in [lo, hi] */
static long irand(rng *r, long lo, long hi) { return lo + (long)(next(r) % (uint64_t)(hi - lo + 1)); }

/* ------------------------------------------------------------ the cases */

/* The HKL grid of the interpolation cases: every h, k, l in [-4, 4], where
   interpolation holds for indices in [-2, 1]. */
static char grid_path[512];

static void write_grid(void)
{
    FILE *f;
    snprintf(grid_path, sizeof grid_path, "%s", in_scratch("grid.hkl"));
    f = fopen(grid_path, "w");
    assert_non_null(f);
    for (int h = -4; h <= 4; ++h)
        for (int k = -4; k <= 4; ++k)
            for (int l = -4; l <= 4; ++l)
                fprintf(f, "%d %d %d %.4f\n", h, k, l, 20.0 + 80.0 * fabs(cos(0.37 * h + 0.11 * k * k - 0.23 * l)));
    assert_int_equal(fclose(f), 0);
}

/* What a case must show, so that it tests what it is meant to. */
enum {
    FIRST_DIFFERS = 1,   /* the first phi sweep sees another orientation */
    FIRST_LATE = 2,      /* the first swept pixel is not the first rendered one */
    INTERP_OFF = 4,      /* interpolation switches off partway through */
    REFERENCE = 8,       /* the reference kernel renders the image */
    ROI_MASK = 16        /* pixels outside the ROI or masked, the ROI's first too */
};

typedef struct rcase {
    const char *name;
    void (*setup)(nb_config *cfg);
    int expect;
} rcase;

/* The "integrated" reference case (tests/reference/cases/integrated/args). */
static void setup_integrated(nb_config *cfg)
{
    nbi_config_init(cfg);
    cfg->fdump_path = NULL;
    set_cell(cfg, 70, 80, 90, 75, 85, 95);
    cfg->default_F = 100;
    cfg->Na = cfg->Nb = cfg->Nc = 5;
    cfg->lambda0_m = 1e-10;
    cfg->distance_m = 100e-3;
    cfg->fpixels = cfg->spixels = 96;
    cfg->mosaic_spread_rad = 0.5 * DEG;
    cfg->mosaic_domains = 5;
    cfg->mosaic_seed = -9;
    cfg->phi0_rad = 0.0;
    cfg->osc_rad = 20 * DEG;
    cfg->phisteps = 4;
    cfg->detector_rot_rad[0] = 5 * DEG;
    cfg->detector_rot_rad[1] = 3 * DEG;
    cfg->detector_rot_rad[2] = 2 * DEG;
    cfg->twotheta_rad = 10 * DEG;
    cfg->pivot = NB_PIVOT_SAMPLE;
    cfg->detector_mu = 1.0 / 500e-6;
    cfg->detector_thick_m = 450e-6;
    cfg->detector_thicksteps = 3;
    cfg->polarization = 0.95;
    cfg->nopolar = 0;
}

/* integrated with -dmin 20: the first pixels (about 15 A) run no sweep. */
static void setup_dmin(nb_config *cfg)
{
    setup_integrated(cfg);
    cfg->dmin_m = 20e-10;
}

/* Interpolation over a grid the image leaves: the beam in the middle of the
   first row, so that the first rows are inside the grid and interpolation
   switches off in row 40 (at pixel 26). */
static void setup_interp(nb_config *cfg)
{
    nbi_config_init(cfg);
    cfg->fdump_path = NULL;
    cfg->hkl_path = grid_path;
    set_cell(cfg, 60, 60, 60, 90, 90, 90);
    cfg->Na = cfg->Nb = cfg->Nc = 2;
    cfg->interpolate = NB_INTERP_ON;
    cfg->lambda0_m = 3e-10;
    cfg->distance_m = 40e-3;
    cfg->fpixels = cfg->spixels = 64;
    cfg->Xbeam_m = 0.0;
    cfg->Ybeam_m = 3.2e-3;
    cfg->phi0_rad = 0.0;
    cfg->osc_rad = 2 * DEG;
    cfg->phisteps = 2;
    cfg->oversample = 2;
}

/* A mask hiding random pixels and the ROI's first two; pixel 0 of the mask
   is 0 too, outside the ROI. */
static uint16_t roi_mask[96 * 96];

static void setup_roi_mask(nb_config *cfg)
{
    rng r = {7};
    setup_integrated(cfg);
    cfg->roi[0] = 10;
    cfg->roi[1] = 60;
    cfg->roi[2] = 20;
    cfg->roi[3] = 40;
    for (int i = 0; i < 96 * 96; ++i)
        roi_mask[i] = irand(&r, 0, 9) != 0;
    roi_mask[0] = roi_mask[20 * 96 + 10] = roi_mask[20 * 96 + 11] = 0;
    cfg->mask = roi_mask;
    cfg->mask_width = cfg->mask_height = 96;
}

/* The reference kernel throughout, with interpolation switching off (in
   row 30, at pixel 2). */
static void setup_reference(nb_config *cfg)
{
    setup_interp(cfg);
    cfg->fpixels = cfg->spixels = 40;
    cfg->Ybeam_m = 2.0e-3;
    cfg->distance_m = 30e-3;
    cfg->detector_mu = 1.0 / 300e-6;
    cfg->detector_thick_m = 300e-6;
    cfg->detector_thicksteps = 2;
    cfg->oversample_thick = cfg->oversample_polar = cfg->oversample_omega = 1;
}

/* integrated in single precision: the row kernel's floats and the
   reference kernel's doubles round to different floats in many pixels, so
   a part rendered by the wrong kernel shows. */
static void setup_single(nb_config *cfg)
{
    setup_integrated(cfg);
    cfg->precision = NB_PRECISION_SINGLE;
}

static const rcase cases[] = {
    {"integrated", setup_integrated, FIRST_DIFFERS},
    {"dmin", setup_dmin, FIRST_DIFFERS | FIRST_LATE},
    {"interp", setup_interp, FIRST_DIFFERS | INTERP_OFF},
    {"roi_mask", setup_roi_mask, FIRST_DIFFERS | ROI_MASK},
    {"reference", setup_reference, FIRST_DIFFERS | INTERP_OFF | REFERENCE},
    {"single", setup_single, FIRST_DIFFERS},
};
#define NCASES (sizeof cases / sizeof cases[0])

static nb_experiment *make(const rcase *c, int threads)
{
    nb_config cfg;
    c->setup(&cfg);
    cfg.threads = threads;
    return create(&cfg);
}

static void simulate(const nb_experiment *e, const nb_log *log, nb_image *img)
{
    nb_error err = {{0}};
    nb_status st = nb_simulate(e, log, img, &err);
    if (st != NB_OK)
        print_error("nb_simulate: %s\n", err.msg);
    assert_int_equal(st, NB_OK);
}

/* ------------------------------------------------------------ comparisons */

/* Whether two floats are the same bits. */
static int same(float a, float b) { return memcmp(&a, &b, sizeof a) == 0; }

static void check_region(const char *what, const nb_experiment *e, const nb_image *img, int f0, int s0, int w,
                         int h)
{
    float *out = malloc((size_t)w * h * sizeof *out);
    nb_error err = {{0}};
    nb_status st;
    assert_non_null(out);
    st = nb_render_region(e, f0, s0, w, h, out, NULL, &err);
    if (st != NB_OK)
        print_error("%s: nb_render_region(%d, %d, %d, %d): %s\n", what, f0, s0, w, h, err.msg);
    assert_int_equal(st, NB_OK);
    for (int s = 0; s < h; ++s)
        for (int f = 0; f < w; ++f) {
            const float want = img->data[(long)(s0 + s) * img->fpixels + f0 + f], got = out[(long)s * w + f];
            if (!same(got, want)) {
                print_error("%s: region (%d, %d) %dx%d: pixel (%d, %d) = %.9g, the image has %.9g\n", what, f0, s0,
                            w, h, f0 + f, s0 + s, got, want);
                fail();
            }
        }
    free(out);
}

static void check_pixels(const char *what, const nb_experiment *e, const nb_image *img, const size_t *index,
                         size_t n)
{
    float *out = malloc(n * sizeof *out);
    nb_error err = {{0}};
    nb_status st;
    assert_non_null(out);
    st = nb_render_pixels(e, index, n, out, NULL, &err);
    if (st != NB_OK)
        print_error("%s: nb_render_pixels: %s\n", what, err.msg);
    assert_int_equal(st, NB_OK);
    for (size_t i = 0; i < n; ++i)
        if (!same(out[i], img->data[index[i]])) {
            print_error("%s: index[%zu] = %zu (pixel %zu, %zu) = %.9g, the image has %.9g\n", what, i, index[i],
                        index[i] % (size_t)img->fpixels, index[i] / (size_t)img->fpixels, out[i],
                        img->data[index[i]]);
            fail();
        }
    free(out);
}

/* The landmark pixels and their neighbours (those on the detector). */
static int landmark_pixels(const nbi_landmarks *lm, long npix, long out[6])
{
    const long cand[6] = {lm->first, lm->first + 1, lm->off - 1, lm->off, lm->off + 1, lm->off + 2};
    int n = 0;
    for (int i = 0; i < 6; ++i)
        if (cand[i] >= 0 && cand[i] < npix && (i < 2 ? lm->first >= 0 : lm->off >= 0))
            out[n++] = cand[i];
    return n;
}

/* Rectangles: the whole detector, random ones, single pixels, and around the
   landmarks: the pixel alone, the rest of its row from it, a block around
   it. */
static void check_regions(const char *what, const nb_experiment *e, const nb_image *img, const nbi_landmarks *lm,
                          rng *r, int nrects)
{
    const int nf = img->fpixels, ns = img->spixels;
    long marks[6];
    const int nmarks = landmark_pixels(lm, (long)nf * ns, marks);
    check_region(what, e, img, 0, 0, nf, ns);
    for (int i = 0; i < nrects; ++i) {
        const int f0 = (int)irand(r, 0, nf - 1), s0 = (int)irand(r, 0, ns - 1);
        check_region(what, e, img, f0, s0, (int)irand(r, 1, nf - f0), (int)irand(r, 1, ns - s0));
    }
    for (int i = 0; i < 4; ++i)
        check_region(what, e, img, (int)irand(r, 0, nf - 1), (int)irand(r, 0, ns - 1), 1, 1);
    for (int i = 0; i < nmarks; ++i) {
        const int f = (int)(marks[i] % nf), s = (int)(marks[i] / nf);
        const int f0 = f > 3 ? f - 3 : 0, s0 = s > 2 ? s - 2 : 0;
        check_region(what, e, img, f, s, 1, 1);
        check_region(what, e, img, f, s, nf - f, 1);
        check_region(what, e, img, f0, s0, (f + 4 < nf ? f + 4 : nf) - f0, (s + 3 < ns ? s + 3 : ns) - s0);
    }
}

/* NPIXELS random indices, a fifth of them repeats, and the landmarks. */
static void check_pixel_list(const char *what, const nb_experiment *e, const nb_image *img,
                             const nbi_landmarks *lm, rng *r)
{
    const long npix = (long)img->fpixels * img->spixels;
    size_t index[NPIXELS + 6];
    long marks[6];
    const int nmarks = landmark_pixels(lm, npix, marks);
    size_t n = 0;
    for (int i = 0; i < NPIXELS; ++i)
        index[n++] = i > 0 && irand(r, 0, 4) == 0 ? index[irand(r, 0, i - 1)] : (size_t)irand(r, 0, npix - 1);
    for (int i = 0; i < nmarks; ++i)
        index[irand(r, 0, (long)n - 1)] = (size_t)marks[i];
    for (int i = 0; i < nmarks; ++i)
        index[n++] = (size_t)marks[i];
    check_pixels(what, e, img, index, n);
    /* every pixel of a few rows, backwards: long runs of adjacent pixels */
    {
        const int s = (int)irand(r, 0, img->spixels - 3);
        size_t *rows = malloc(3 * (size_t)img->fpixels * sizeof *rows);
        assert_non_null(rows);
        for (size_t i = 0; i < 3 * (size_t)img->fpixels; ++i)
            rows[i] = (size_t)s * img->fpixels + 3 * (size_t)img->fpixels - 1 - i;
        check_pixels(what, e, img, rows, 3 * (size_t)img->fpixels);
        free(rows);
    }
}

/* The first rendered pixel in serial order, -1 if none. */
static long first_rendered(const nb_experiment *e)
{
    for (int s = 0; s < e->det.spixels; ++s)
        for (int f = 0; f < e->det.fpixels; ++f)
            if (nbi_pixel_rendered(&e->det, f, s))
                return (long)s * e->det.fpixels + f;
    return -1;
}

/* The case shows what it is meant to (see rcase.expect). */
static void check_expectations(const rcase *c, const nb_experiment *e, const nbi_landmarks *lm)
{
    const long npix = (long)e->det.fpixels * e->det.spixels;
    if (getenv("NB_TEST_VERBOSE"))
        fprintf(stderr, "%s: first_differs %d, first %ld (first rendered %ld), off %ld of %ld, kernel %s\n",
                c->name, e->xtal.first_differs, lm->first, first_rendered(e), lm->off, npix,
                nbi_row_kernel_ok(e) ? "row" : "reference");
    assert_int_equal(e->xtal.first_differs, !!(c->expect & FIRST_DIFFERS));
    assert_true(lm->first >= 0);
    if (c->expect & FIRST_LATE)
        assert_true(lm->first > first_rendered(e));
    if (c->expect & INTERP_OFF) {
        assert_true(lm->off > lm->first);
        assert_true(lm->off < npix - e->det.fpixels);
    } else {
        assert_int_equal(lm->off, -1);
    }
    assert_int_equal(nbi_row_kernel_ok(e), !(c->expect & REFERENCE));
    if (c->expect & ROI_MASK) /* the mask hides the ROI's first pixels */
        assert_true(first_rendered(e) > (long)e->det.roi[2] * e->det.fpixels + e->det.roi[0] + 1);
}

static void check_case(const rcase *c, int threads)
{
    nb_experiment *whole = make(c, threads), *fresh = make(c, threads);
    nbi_progress quiet;
    nbi_landmarks lm, lm_fresh;
    nb_image img;
    char what[64];
    rng r = {(uint64_t)threads * 1000 + (uint64_t)(c - cases)};

    snprintf(what, sizeof what, "%s, %d thread%s", c->name, threads, threads > 1 ? "s" : "");
    simulate(whole, NULL, &img);
    nbi_progress_init(&quiet, NULL, 0);
    assert_int_equal(nbi_landmarks_pending(whole), 0); /* kept by nb_simulate */
    assert_int_equal(nbi_landmarks_get(whole, &quiet, &lm), NB_OK);
    check_expectations(c, whole, &lm);

    /* the fresh experiment finds the landmarks in its first partial render */
    check_pixel_list(what, fresh, &img, &lm, &r);
    assert_int_equal(nbi_landmarks_get(fresh, &quiet, &lm_fresh), NB_OK);
    assert_int_equal(lm_fresh.first, lm.first);
    assert_int_equal(lm_fresh.off, lm.off);
    check_regions(what, fresh, &img, &lm, &r, NRECTS);
    check_regions(what, whole, &img, &lm, &r, NRECTS / 4);
    check_pixel_list(what, whole, &img, &lm, &r);

    nb_image_free(&img);
    nb_experiment_free(whole);
    nb_experiment_free(fresh);
}

static void test_parts_one_thread(void **state)
{
    (void)state;
    for (size_t i = 0; i < NCASES; ++i)
        check_case(&cases[i], 1);
}

static void test_parts_two_threads(void **state)
{
    (void)state;
    for (size_t i = 0; i < NCASES; ++i)
        check_case(&cases[i], 2);
}

/* The whole image is the same at 1 and 2 threads. */
static void test_threads_agree(void **state)
{
    (void)state;
    for (size_t i = 0; i < NCASES; ++i) {
        nb_experiment *one = make(&cases[i], 1), *two = make(&cases[i], 2);
        nb_image a, b;
        simulate(one, NULL, &a);
        simulate(two, NULL, &b);
        assert_memory_equal(a.data, b.data, (size_t)a.fpixels * a.spixels * sizeof(float));
        nb_image_free(&a);
        nb_image_free(&b);
        nb_experiment_free(one);
        nb_experiment_free(two);
    }
}

/* A pixel before the one where interpolation switches off, which the row
   kernel flags as leaving the grid but the reference kernel does not (their
   Miller indices differ in the last bits, so this can happen right at the
   grid's edge), is rendered again by the reference kernel in the whole image
   (nbi_serial_order_fixes tries it as the switching pixel): the parts do the
   same.  The flags are forced here, on pixel 100 and on the first swept
   pixel (0), whose own re-rendering takes precedence; the reference
   kernel's flags show which kernel rendered the pixel last (its values and
   the row kernel's mostly round to the same float). */
static void test_unconfirmed_candidate(void **state)
{
    nb_experiment *e = make(&cases[2], 1); /* interp */
    const int nf = e->det.fpixels;
    const size_t npix = (size_t)nf * e->det.spixels;
    const int forced[2] = {0, 100};
    float *data = calloc(npix, sizeof *data);
    uint8_t *flags = calloc(npix, 1);
    const nbi_run runs[2] = {{0, 0, nf, 1, 0}, {1, 0, nf, 1, (size_t)nf}};
    float part[2 * 64];
    uint8_t part_flags[2 * 64];
    nbi_progress quiet;
    nbi_landmarks lm;
    (void)state;
    assert_non_null(data);
    assert_non_null(flags);
    assert_true(nf <= 64);
    nbi_progress_init(&quiet, NULL, 0);
    assert_int_equal(nbi_render_range(e, 0, 1, data, flags, NULL, &quiet), NB_OK);
    for (int i = 0; i < 2; ++i) {
        assert_int_equal(flags[forced[i]] & NBI_PIX_INTERP_OFF, 0);
        flags[forced[i]] |= NBI_PIX_INTERP_OFF;
    }
    assert_int_equal(nbi_serial_order_fixes(e, data, flags, NULL, &quiet, &lm), NB_OK);
    assert_int_equal(lm.first, 0);
    assert_true(lm.off > 2 * nf);
    for (int i = 0; i < 2; ++i) /* re-rendered: the reference kernel's flags */
        assert_int_equal(flags[forced[i]] & NBI_PIX_INTERP_OFF, 0);

    assert_int_equal(nbi_render_runs(e, runs, 2, part, part_flags, NULL, &quiet), NB_OK);
    for (int i = 0; i < 2; ++i)
        part_flags[forced[i]] |= NBI_PIX_INTERP_OFF;
    nbi_serial_order_apply(e, &lm, runs, 2, part, part_flags);
    assert_memory_equal(part, data, 2 * (size_t)nf * sizeof *part);
    assert_memory_equal(part_flags, flags, 2 * (size_t)nf);
    free(data);
    free(flags);
    nb_experiment_free(e);
}

/* Several threads of the caller render parts of one fresh experiment at
   once: one finds the landmarks, the others wait for them. */
typedef struct worker {
    const nb_experiment *e;
    int f0, s0, w, h;
    float *out;
    nb_status st;
} worker;

static void *work(void *arg)
{
    worker *k = arg;
    k->st = nb_render_region(k->e, k->f0, k->s0, k->w, k->h, k->out, NULL, NULL);
    return NULL;
}

static void test_concurrent_calls(void **state)
{
    nb_experiment *whole = make(&cases[2], 1), *fresh = make(&cases[2], 1); /* interp */
    const int nf = whole->det.fpixels, ns = whole->det.spixels;
    pthread_t tid[4];
    worker k[4];
    nb_image img;
    (void)state;
    simulate(whole, NULL, &img);
    for (int i = 0; i < 4; ++i) {
        k[i] = (worker){fresh, 0, 16 * i, nf, ns - 16 * i, malloc((size_t)nf * ns * sizeof(float)), NB_ERR_IO};
        assert_non_null(k[i].out);
        assert_int_equal(pthread_create(&tid[i], NULL, work, &k[i]), 0);
    }
    for (int i = 0; i < 4; ++i) {
        assert_int_equal(pthread_join(tid[i], NULL), 0);
        assert_int_equal(k[i].st, NB_OK);
        assert_memory_equal(k[i].out, img.data + (size_t)k[i].s0 * nf, (size_t)nf * k[i].h * sizeof(float));
        free(k[i].out);
    }
    nb_image_free(&img);
    nb_experiment_free(whole);
    nb_experiment_free(fresh);
}

/* ------------------------------------------------------------ progress */

typedef struct calls {
    int n;          /* calls so far */
    int cancel_at;  /* return 1 from this call on (0: never) */
    double last;    /* the last fraction */
    int bad;        /* a fraction out of [0, 1] or smaller than the one before */
} calls;

static int count_call(void *ctx, double fraction)
{
    calls *c = ctx;
    c->n++;
    if (!(fraction >= c->last && fraction <= 1.0))
        c->bad = 1;
    c->last = fraction;
    return c->cancel_at > 0 && c->n >= c->cancel_at;
}

static nb_log progress_log(calls *c, int cancel_at)
{
    nb_log log = {0};
    memset(c, 0, sizeof *c);
    c->cancel_at = cancel_at;
    log.progress = count_call;
    log.progress_ctx = c;
    return log;
}

#define SENTINEL -7.25f

static void fill(float *v, size_t n)
{
    for (size_t i = 0; i < n; ++i)
        v[i] = SENTINEL;
}

static int untouched(const float *v, size_t n)
{
    for (size_t i = 0; i < n; ++i)
        if (v[i] != SENTINEL)
            return 0;
    return 1;
}

/* A callback that never cancels sees fractions that never decrease, and 1
   last; one that answers 1 from its second call on (at 1 thread; from its
   first at 2) cancels, and is not called again. */
static void check_progress(const rcase *c, int threads)
{
    nb_experiment *e = make(c, threads);
    const size_t npix = (size_t)e->det.fpixels * e->det.spixels;
    const size_t index[4] = {npix - 1, 0, npix / 2, npix - 1};
    float *out = malloc(npix * sizeof *out);
    nb_error err = {{0}};
    nb_image img;
    /* only the first thread reports, and a loaded machine may give it no
       run of pixels: at 2 threads the final 1 may be the first call */
    const int at = threads == 1 ? 2 : 1;
    calls k;
    nb_log log;
    assert_non_null(out);

    /* cancelled while a fresh experiment finds its landmarks, or renders */
    log = progress_log(&k, at);
    fill(out, npix);
    assert_int_equal(nb_render_region(e, 0, 0, e->det.fpixels, e->det.spixels, out, &log, &err), NB_ERR_CANCELLED);
    assert_non_null(strstr(err.msg, "cancelled"));
    assert_true(untouched(out, npix));
    assert_int_equal(k.n, at);
    /* (three runs of one pixel: the first thread may report none of them,
       and the final 1 be the first call) */
    log = progress_log(&k, 1);
    assert_int_equal(nb_render_pixels(e, index, 4, out, &log, &err), NB_ERR_CANCELLED);
    assert_true(untouched(out, npix));
    assert_int_equal(k.n, 1);

    /* not cancelled */
    log = progress_log(&k, 0);
    simulate(e, &log, &img);
    assert_true(k.n >= at);
    assert_false(k.bad);
    assert_true(k.last == 1.0);
    log = progress_log(&k, 0);
    assert_int_equal(nb_render_region(e, 0, 0, e->det.fpixels, e->det.spixels, out, &log, &err), NB_OK);
    assert_memory_equal(out, img.data, npix * sizeof *out);
    assert_false(k.bad);
    assert_true(k.last == 1.0);
    log = progress_log(&k, 0);
    assert_int_equal(nb_render_pixels(e, index, 4, out, &log, &err), NB_OK);
    assert_false(k.bad);
    assert_true(k.last == 1.0);
    for (int i = 0; i < 4; ++i)
        assert_true(same(out[i], img.data[index[i]]));

    /* cancelled with the landmarks known */
    log = progress_log(&k, at);
    fill(out, npix);
    assert_int_equal(nb_render_region(e, 0, 0, e->det.fpixels, e->det.spixels, out, &log, &err), NB_ERR_CANCELLED);
    assert_true(untouched(out, npix));
    nb_image_free(&img);

    log = progress_log(&k, at);
    img.data = out;
    assert_int_equal(nb_simulate(e, &log, &img, &err), NB_ERR_CANCELLED);
    assert_null(img.data);
    assert_non_null(strstr(err.msg, "cancelled"));
    assert_int_equal(k.n, at);
    free(out);
    nb_experiment_free(e);
}

/* (with and without a render of the whole image to find the landmarks) */
static void test_progress_and_cancel(void **state)
{
    const rcase *c[2] = {&cases[0], &cases[2]}; /* integrated, interp */
    (void)state;
    for (int i = 0; i < 2; ++i) {
        check_progress(c[i], 1);
        check_progress(c[i], 2);
    }
}

/* At one thread the calls are the same every time: cancelling at each of
   the last ones (the pass that renders again without interpolation, the
   final 1) cancels nb_simulate. */
static void test_cancel_late(void **state)
{
    const rcase *c = &cases[2]; /* interp */
    nb_experiment *e = make(c, 1);
    nb_error err = {{0}};
    nb_image img;
    calls k;
    nb_log log = progress_log(&k, 0);
    int total;
    (void)state;
    simulate(e, &log, &img);
    nb_image_free(&img);
    total = k.n;
    assert_true(total >= 3);
    for (int at = total - 2; at <= total; ++at) {
        log = progress_log(&k, at);
        assert_int_equal(nb_simulate(e, &log, &img, &err), NB_ERR_CANCELLED);
        assert_null(img.data);
        assert_int_equal(k.n, at);
    }
    nb_experiment_free(e);
}

/* ------------------------------------------------------------ arguments */

static void expect_invalid(nb_status st, const nb_error *err, const char *word)
{
    assert_int_equal(st, NB_ERR_INVALID);
    if (!strstr(err->msg, word)) {
        print_error("message \"%s\" does not name \"%s\"\n", err->msg, word);
        fail();
    }
}

static void test_invalid_arguments(void **state)
{
    nb_experiment *e = make(&cases[0], 1);
    const int nf = e->det.fpixels, ns = e->det.spixels;
    const size_t npix = (size_t)nf * ns;
    size_t index[3] = {0, npix, 1};
    float out[4];
    nb_error err = {{0}};
    (void)state;

    fill(out, 4);
    expect_invalid(nb_render_region(e, 0, 0, 0, 1, out, NULL, &err), &err, "width = 0");
    expect_invalid(nb_render_region(e, 0, 0, 1, -1, out, NULL, &err), &err, "height = -1");
    expect_invalid(nb_render_region(e, -1, 0, 1, 1, out, NULL, &err), &err, "f0 = -1");
    expect_invalid(nb_render_region(e, nf, 0, 1, 1, out, NULL, &err), &err, "f0 = 96");
    expect_invalid(nb_render_region(e, 90, 0, 7, 1, out, NULL, &err), &err, "width = 7");
    expect_invalid(nb_render_region(e, 1, 0, INT_MAX, 1, out, NULL, &err), &err, "width = 2147483647");
    expect_invalid(nb_render_region(e, 0, -3, 1, 1, out, NULL, &err), &err, "s0 = -3");
    expect_invalid(nb_render_region(e, 0, ns - 1, 1, INT_MAX, out, NULL, &err), &err, "height = 2147483647");
    expect_invalid(nb_render_region(e, 0, 0, 1, 1, NULL, NULL, &err), &err, "out");
    expect_invalid(nb_render_region(NULL, 0, 0, 1, 1, out, NULL, &err), &err, "experiment");
    expect_invalid(nb_render_pixels(e, index, 3, out, NULL, &err), &err, "index[1] = 9216");
    expect_invalid(nb_render_pixels(e, NULL, 1, out, NULL, &err), &err, "index");
    expect_invalid(nb_render_pixels(e, index, 1, NULL, NULL, &err), &err, "out");
    expect_invalid(nb_render_pixels(NULL, index, 1, out, NULL, &err), &err, "experiment");
    assert_true(untouched(out, 4));
    /* nothing to do */
    assert_int_equal(nb_render_pixels(e, NULL, 0, NULL, NULL, &err), NB_OK);
    assert_int_equal(nb_render_pixels(e, index, 0, out, NULL, NULL), NB_OK);
    assert_true(untouched(out, 4));
    /* the corner pixel, twice: fine */
    index[1] = npix - 1;
    assert_int_equal(nb_render_pixels(e, index + 1, 1, out, NULL, NULL), NB_OK);
    assert_int_equal(nb_render_region(e, nf - 1, ns - 1, 1, 1, out + 1, NULL, NULL), NB_OK);
    assert_true(same(out[0], out[1]));
    nb_experiment_free(e);
}

/* nb_simulate_rows in bands (of every height from 1 row to the whole
   detector, on a fresh experiment each time), assembled and finished by
   nb_simulate_finish: the image and every statistic equal nb_simulate's bit
   for bit, for every case (interpolation switching off in a band, the
   first sweep, -dmin, ROI and mask, the reference kernel, single
   precision). */
static void check_bands(const rcase *c, const nb_image *img, int bands)
{
    nb_experiment *parts = make(c, 2);
    const int nf = parts->det.fpixels, ns = parts->det.spixels;
    float *data = malloc((size_t)nf * ns * sizeof *data);
    uint8_t *state = malloc((size_t)nf * ns);
    double *omega = malloc((size_t)ns * sizeof *omega);
    nb_image got;
    nb_error err = {{0}};
    assert_non_null(data);
    assert_non_null(state);
    assert_non_null(omega);
    for (int b = 0; b < bands; ++b) {
        const int s0 = (int)((long)ns * b / bands), s1 = (int)((long)ns * (b + 1) / bands);
        nb_status st;
        if (s1 == s0)
            continue; /* more bands than rows */
        st = nb_simulate_rows(parts, s0, s1 - s0, data + (size_t)s0 * nf, state + (size_t)s0 * nf,
                                        omega + s0, NULL, &err);
        if (st != NB_OK)
            print_error("%s: nb_simulate_rows(%d, %d): %s\n", c->name, s0, s1 - s0, err.msg);
        assert_int_equal(st, NB_OK);
    }
    assert_int_equal(nb_simulate_finish(parts, data, state, omega, NULL, &got, &err), NB_OK);
    assert_int_equal(got.fpixels, nf);
    assert_int_equal(got.spixels, ns);
    for (long i = 0; i < (long)nf * ns; ++i)
        if (!same(got.data[i], img->data[i])) {
            print_error("%s, %d bands: pixel %ld: %.9g, nb_simulate %.9g\n", c->name, bands, i, got.data[i],
                        img->data[i]);
            fail();
        }
    assert_memory_equal(&got.max_I, &img->max_I, sizeof img->max_I);
    assert_memory_equal(&got.max_I_x_m, &img->max_I_x_m, sizeof img->max_I_x_m);
    assert_memory_equal(&got.mean, &img->mean, sizeof img->mean);
    assert_memory_equal(&got.rms, &img->rms, sizeof img->rms);
    assert_memory_equal(&got.rmsd, &img->rmsd, sizeof img->rmsd);
    assert_memory_equal(&got.rmsd_roi, &img->rmsd_roi, sizeof img->rmsd_roi);
    assert_memory_equal(&got.omega_sum, &img->omega_sum, sizeof img->omega_sum);
    assert_int_equal(got.rendered, img->rendered);
    free(state);
    free(omega);
    nb_image_free(&got);
    nb_experiment_free(parts);
}

static void test_bands(void **state)
{
    static const int bands[] = {3, 200}; /* 200: more bands than rows */
    (void)state;
    for (size_t i = 0; i < NCASES; ++i) {
        nb_experiment *whole = make(&cases[i], 2);
        nb_image img;
        simulate(whole, NULL, &img);
        for (size_t b = 0; b < sizeof bands / sizeof *bands; ++b)
            check_bands(&cases[i], &img, bands[b]);
        nb_image_free(&img);
        nb_experiment_free(whole);
    }
}

/* Bad arguments of nb_simulate_rows and nb_simulate_finish are named; a
   finish that fails frees the data it took over (the sanitizers see a
   leak otherwise). */
static void test_bands_invalid(void **state)
{
    nb_experiment *e = make(&cases[0], 1);
    const int nf = e->det.fpixels, ns = e->det.spixels;
    float out[96 * 2];
    uint8_t st8[96 * 2];
    double om[2];
    nb_image img;
    nb_error err = {{0}};
    (void)state;
    assert_int_equal(nf, 96);
    expect_invalid(nb_simulate_rows(e, -1, 1, out, st8, om, NULL, &err), &err, "s0 = -1");
    expect_invalid(nb_simulate_rows(e, ns - 1, 2, out, st8, om, NULL, &err), &err, "height = 2");
    expect_invalid(nb_simulate_rows(e, 0, 0, out, st8, om, NULL, &err), &err, "height = 0");
    expect_invalid(nb_simulate_rows(e, 0, 1, out, NULL, om, NULL, &err), &err, "state");
    expect_invalid(nb_simulate_rows(NULL, 0, 1, out, st8, om, NULL, &err), &err, "experiment");
    expect_invalid(nb_simulate_finish(e, malloc(4), st8, NULL, NULL, &img, &err), &err, "omega_rows");
    assert_null(img.data);
    nb_experiment_free(e);
}

static int group_setup(void **state)
{
    if (scratch_setup(state) != 0)
        return -1;
    write_grid();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_invalid_arguments),
        cmocka_unit_test(test_threads_agree),
        cmocka_unit_test(test_parts_one_thread),
        cmocka_unit_test(test_parts_two_threads),
        cmocka_unit_test(test_unconfirmed_candidate),
        cmocka_unit_test(test_concurrent_calls),
        cmocka_unit_test(test_progress_and_cancel),
        cmocka_unit_test(test_cancel_late),
        cmocka_unit_test(test_bands),
        cmocka_unit_test(test_bands_invalid),
    };
    return cmocka_run_group_tests(tests, group_setup, scratch_teardown);
}
