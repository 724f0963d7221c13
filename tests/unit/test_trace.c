/*
 * test_trace.c - the pixel trace hook of nb_simulate (nb_log.trace, trace.c):
 * which pixels are traced and in which order, and the values against the
 * image and against numbers worked out by hand.
 *
 * The geometry is test_kernel.c's: MOSFLM, 5 x 5 pixels of 1 mm at 10 mm,
 * -Xbeam 0 -Ybeam 0, so the direct beam hits the centre of pixel (0,0) and
 * pixel (f,s) is at pos = (d, -s px, f px), R^2 = d^2 + (f px)^2 + (s px)^2,
 * omega = px^2/R^2 d/R.  -N 1 makes the lattice factor 1, no HKL file makes
 * F_cell = default_F, and one source, domain and phi step make steps = 1,
 * so I = F^2 and pixel = r_e^2 fluence I polar omega.  The cell is
 * -cell 100 100 100 90 90 90: a, b, c along x, y, z.
 */
#include <string.h>

#include "support.h"

#define NPIX 5
#define PX 1e-3
#define DIST 10e-3
#define FVAL 10.0
#define MAXT (NPIX * NPIX)

/* The traces one run handed over. */
typedef struct traces {
    int n;
    nb_trace t[MAXT];
} traces;

static void collect(void *ctx, const nb_trace *trace)
{
    traces *c = ctx;
    assert_true(c->n < MAXT);
    c->t[c->n++] = *trace;
}

static void tiny_config(nb_config *cfg)
{
    base_config(cfg);
    cfg->default_F = FVAL;
    cfg->fpixels = cfg->spixels = NPIX;
    cfg->pixel_m = PX;
    cfg->distance_m = DIST;
    cfg->Xbeam_m = cfg->Ybeam_m = 0.0;
    cfg->polarization = 0.5;
    cfg->threads = 1;
}

/* nb_simulate with trace pixel (f, s) (f < 0: every pixel) into *c. */
static void simulate_traced(const nb_config *cfg, int f, int s, nb_image *img, traces *c)
{
    nb_experiment *e = create(cfg);
    nb_log log = {0};
    nb_error err = {{0}};
    nb_status st;
    memset(c, 0, sizeof *c);
    log.trace = collect;
    log.trace_ctx = c;
    log.trace_fpixel = f;
    log.trace_spixel = s;
    st = nb_simulate(e, &log, img, &err);
    if (st != NB_OK)
        print_error("nb_simulate: %s\n", err.msg);
    assert_int_equal(st, NB_OK);
    nb_experiment_free(e);
}

static float pixel(const nb_image *img, int f, int s) { return img->data[s * img->fpixels + f]; }

/* Two traces with the same numbers, bit for bit. */
static void same_trace(const nb_trace *a, const nb_trace *b)
{
    const double va[] = {a->stol, a->stol_centre, a->pixel_pos_m[0], a->pixel_pos_m[1], a->pixel_pos_m[2],
                         a->hkl[0], a->hkl[1], a->hkl[2], a->F_cell, a->F_latt, a->I, a->steps,
                         a->polar, a->omega, a->capture_fraction, a->pixel, a->a_A[0], a->b_A[1], a->c_A[2]};
    const double vb[] = {b->stol, b->stol_centre, b->pixel_pos_m[0], b->pixel_pos_m[1], b->pixel_pos_m[2],
                         b->hkl[0], b->hkl[1], b->hkl[2], b->F_cell, b->F_latt, b->I, b->steps,
                         b->polar, b->omega, b->capture_fraction, b->pixel, b->a_A[0], b->b_A[1], b->c_A[2]};
    assert_int_equal(a->fpixel, b->fpixel);
    assert_int_equal(a->spixel, b->spixel);
    for (int i = 0; i < 3; ++i)
        assert_int_equal(a->hkl0[i], b->hkl0[i]);
    assert_memory_equal(va, vb, sizeof va);
}

/* Pixel (3,4): every value by hand, and the pixel equal to the image's. */
static void test_one_pixel(void **state)
{
    nb_config cfg;
    nb_image img;
    traces c;
    const double R = sqrt(DIST * DIST + 9 * PX * PX + 16 * PX * PX);
    const double omega = PX * PX / (R * R) * DIST / R;
    const double lambda = 1e-10, twotheta = acos(DIST / R);
    const double stol_A = sin(twotheta / 2) / (lambda * 1e10);
    const double d[3] = {DIST / R, -4 * PX / R, 3 * PX / R};
    const nb_trace *t;
    (void)state;
    tiny_config(&cfg);
    simulate_traced(&cfg, 3, 4, &img, &c);
    assert_int_equal(c.n, 1);
    t = &c.t[0];
    assert_int_equal(t->fpixel, 3);
    assert_int_equal(t->spixel, 4);
    /* the image's value, bit for bit */
    assert_true(t->pixel == (double)pixel(&img, 3, 4));
    assert_true(t->F_cell == FVAL);
    assert_true(t->F_latt == 1.0);
    assert_true(t->steps == 1.0);
    assert_near(t->I, FVAL * FVAL, 1e-12);
    assert_near(t->omega, omega, 1e-12 * omega);
    /* the Kahn factor 0.914 worked out in test_kernel.c */
    assert_near(t->polar, 0.914, 1e-12);
    assert_true(t->polar > 0.0 && t->polar <= 1.0 && t->omega > 0.0 && t->omega <= 1.0);
    assert_true(t->capture_fraction == 1.0);
    assert_near(t->pixel, NB_R_E_SQR * cfg.fluence * t->I / t->steps * t->polar * t->omega,
                1e-6 * t->pixel);
    assert_vec(t->pixel_pos_m, DIST, -4 * PX, 3 * PX, 1e-15);
    /* one source along the beam (x): both stols are sin(theta)/lambda */
    assert_near(t->stol, stol_A, 1e-12 * stol_A);
    assert_near(t->stol_centre, stol_A, 1e-12 * stol_A);
    /* h = a.(d - i)/lambda with a = 100 A x, i = x */
    assert_near(t->hkl[0], 100 * (d[0] - 1), 1e-9);
    assert_near(t->hkl[1], 100 * d[1], 1e-9);
    assert_near(t->hkl[2], 100 * d[2], 1e-9);
    for (int i = 0; i < 3; ++i)
        assert_int_equal(t->hkl0[i], (int)ceil(t->hkl[i] - 0.5));
    assert_vec(t->a_A, 100, 0, 0, 1e-9);
    assert_vec(t->b_A, 0, 100, 0, 1e-9);
    assert_vec(t->c_A, 0, 0, 100, 1e-9);
    nb_image_free(&img);
}

/* Every pixel (trace_fpixel < 0): each rendered pixel once, in serial order
   (slow index outer), each equal to the image; the same at two threads. */
static void test_every_pixel(void **state)
{
    nb_config cfg;
    nb_image img, img2;
    traces c, c2;
    (void)state;
    tiny_config(&cfg);
    cfg.Na = cfg.Nb = cfg.Nc = 3;
    cfg.mosaic_spread_rad = 0.5 * DEG;
    cfg.mosaic_domains = 3;
    cfg.phi0_rad = 0.0;
    cfg.osc_rad = 2 * DEG;
    cfg.phisteps = 2;
    simulate_traced(&cfg, -1, 0, &img, &c);
    assert_int_equal(c.n, NPIX * NPIX);
    for (int i = 0; i < c.n; ++i) {
        assert_int_equal(c.t[i].fpixel, i % NPIX);
        assert_int_equal(c.t[i].spixel, i / NPIX);
        assert_true(c.t[i].pixel == (double)img.data[i]);
        assert_true(c.t[i].F_cell == FVAL);
        assert_true(c.t[i].steps == 6.0);
        assert_true(c.t[i].omega > 0.0 && c.t[i].omega <= 1.0);
        assert_true(c.t[i].polar > 0.0 && c.t[i].polar <= 1.0);
        /* pixel = r_e^2 fluence I/steps polar omega, up to float rounding */
        assert_near(c.t[i].pixel, NB_R_E_SQR * cfg.fluence * c.t[i].I / 6 * c.t[i].polar * c.t[i].omega,
                    1e-6 * c.t[i].pixel);
    }
    cfg.threads = 2;
    simulate_traced(&cfg, -1, 0, &img2, &c2);
    assert_int_equal(c2.n, c.n);
    for (int i = 0; i < c.n; ++i)
        same_trace(&c2.t[i], &c.t[i]);
    nb_image_free(&img);
    nb_image_free(&img2);
}

/* Pixels outside the detector, the ROI or the mask are not traced; tracing
   every pixel covers just the rendered ones. */
static void test_not_rendered(void **state)
{
    nb_config cfg;
    nb_image img;
    traces c;
    uint16_t mask[NPIX * NPIX];
    (void)state;
    tiny_config(&cfg);
    simulate_traced(&cfg, NPIX, 0, &img, &c);
    assert_int_equal(c.n, 0);
    nb_image_free(&img);
    simulate_traced(&cfg, 0, NPIX, &img, &c);
    assert_int_equal(c.n, 0);
    nb_image_free(&img);
    simulate_traced(&cfg, 2, -1, &img, &c);
    assert_int_equal(c.n, 0);
    nb_image_free(&img);

    cfg.roi[0] = 1;
    cfg.roi[1] = 2;
    cfg.roi[2] = 1;
    cfg.roi[3] = 3;
    simulate_traced(&cfg, 0, 0, &img, &c);
    assert_int_equal(c.n, 0);
    nb_image_free(&img);
    simulate_traced(&cfg, -1, 0, &img, &c);
    assert_int_equal(c.n, 6);
    assert_int_equal(c.t[0].fpixel, 1);
    assert_int_equal(c.t[0].spixel, 1);
    assert_int_equal(c.t[5].fpixel, 2);
    assert_int_equal(c.t[5].spixel, 3);
    nb_image_free(&img);

    cfg.roi[0] = cfg.roi[1] = cfg.roi[2] = cfg.roi[3] = -1;
    for (int i = 0; i < NPIX * NPIX; ++i)
        mask[i] = 1;
    mask[4 * NPIX + 3] = 0;
    cfg.mask = mask;
    cfg.mask_width = cfg.mask_height = NPIX;
    simulate_traced(&cfg, 3, 4, &img, &c);
    assert_int_equal(c.n, 0);
    nb_image_free(&img);
    simulate_traced(&cfg, -1, 0, &img, &c);
    assert_int_equal(c.n, NPIX * NPIX - 1);
    nb_image_free(&img);
}

/* A top-hat crystal off its spots: every sample has F_latt = 0 and is
   skipped, so the pixel computes no F_cell.  Traced alone, F_cell is NaN
   (nanoBragg prints what an earlier pixel left); traced with every pixel it
   is the last F_cell an earlier pixel computed. */
static void test_value_not_set(void **state)
{
    nb_config cfg;
    nb_image img;
    traces c;
    int off = -1;
    (void)state;
    tiny_config(&cfg);
    cfg.shape = NB_SHAPE_TOPHAT;
    cfg.Na = cfg.Nb = cfg.Nc = 5;
    simulate_traced(&cfg, -1, 0, &img, &c);
    assert_int_equal(c.n, NPIX * NPIX);
    assert_true(c.t[0].F_latt != 0.0); /* the direct beam: 0 0 0 */
    for (int i = 1; i < c.n && off < 0; ++i)
        if (c.t[i].F_latt == 0.0 && c.t[i].pixel == 0.0)
            off = i;
    assert_true(off > 0);
    assert_true(c.t[off].F_cell == FVAL);
    nb_image_free(&img);
    simulate_traced(&cfg, off % NPIX, off / NPIX, &img, &c);
    assert_int_equal(c.n, 1);
    assert_true(c.t[0].F_latt == 0.0);
    assert_true(isnan(c.t[0].F_cell));
    assert_true(c.t[0].pixel == 0.0);
    nb_image_free(&img);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_pixel),
        cmocka_unit_test(test_every_pixel),
        cmocka_unit_test(test_not_rendered),
        cmocka_unit_test(test_value_not_set),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
