/*
 * test_deriv.c - the analytic derivatives (nb_jacobian, nb_loss_gradient)
 * against finite differences of the image and of the loss.
 *
 * Rule: for every differentiable parameter and every configuration below,
 * the derivative image J (nb_jacobian) is compared with the central
 * difference of the double-precision image at steps h and h/2, combined by
 * Richardson extrapolation, D = (4 D(h/2) - D(h)) / 3 (truncation error
 * O(h^4)).  Per pixel, where |J| is at least 1e-3 of the largest |J| of the
 * image (the derivative is "not tiny"), |J - D| <= 1e-5 |J|.  The steps are
 * in the table of each configuration (STEP): small against the width of the
 * features they move (spots, the mosaic spread), large against the rounding
 * of the parameter (the mosaic spread passes through a float in nanoBragg's
 * domain generator, so its step is 2% of it).
 *
 * Configurations (each on a 40x40 detector, 2x2 sub-pixels):
 *   triclinic   a triclinic cell with misset, a crystal rotation, Kahn
 *               polarization and 2 mosaic domains (0.5 degree spread);
 *   sources     divergence and dispersion (3 x 3 x 3 sources) and water
 *               background;
 *   detector    a rotated, two-theta-swung detector with a 3-layer absorbing
 *               sensor (MOSFLM convention, beam pivot);
 *   xds         the XDS convention (sample pivot) with rotations, ORGX/ORGY;
 *   tricubic    a structure-factor table with tricubic interpolation.
 *
 * The loss (nb_loss_gradient; least squares with weights, and Poisson with
 * a mask): its gradient with respect to all 22 parameters equals the sum of
 * d loss/d pixel times the Jacobian (relative 1e-9) and the loss's
 * differences as above (1e-5; the mosaic spread 1e-3: its float rounding,
 * see MOSAIC, adds up over the pixels); 60 structure factors' gradients
 * equal the loss's differences in that F (Richardson at 0.5 and 0.25, exact
 * for the loss's degree 4 in F) to 1e-6.  The gradient has the same bits at
 * 1 and 3 threads.  Refusals name the parameter or the reason.
 */
#include <string.h>

#include "nanobragg.h"
#include "support.h"

static nb_config *cfg_new(void)
{
    nb_config *c = nb_config_new();
    assert_non_null(c);
    return c;
}

static void setp(nb_config *c, const char *name, double v)
{
    nb_error err = {0};
    nb_status st = nb_param_set(c, name, v, &err);
    if (st != NB_OK)
        fprintf(stderr, "%s = %g: %s\n", name, v, err.msg);
    assert_int_equal(st, NB_OK);
}

static void seta(nb_config *c, const char *name, const double *v, size_t n)
{
    nb_error err = {0};
    nb_status st = nb_param_set_array(c, name, v, n, &err);
    if (st != NB_OK)
        fprintf(stderr, "%s: %s\n", name, err.msg);
    assert_int_equal(st, NB_OK);
}

/* What all configurations share: a small detector near a small crystal. */
static nb_config *small(void)
{
    nb_config *c = cfg_new();
    const double cell[6] = {60, 70, 80, 90, 90, 90};
    seta(c, "cell", cell, 6);
    setp(c, "default_F", 100);
    setp(c, "fpixels", 40);
    setp(c, "spixels", 40);
    setp(c, "pixel_mm", 0.25);
    setp(c, "distance_mm", 60);
    setp(c, "lambda_A", 1.2);
    setp(c, "oversample", 2);
    setp(c, "Na", 4);
    setp(c, "Nb", 5);
    setp(c, "Nc", 6);
    setp(c, "threads", 2);
    return c;
}

static nb_config *config_triclinic(void)
{
    nb_config *c = small();
    const double cell[6] = {61, 72, 83, 84, 97, 106}, mis[3] = {10, 20, 30};
    seta(c, "cell", cell, 6);
    seta(c, "misset_deg", mis, 3);
    setp(c, "crystal_rotx_deg", 0.5);
    setp(c, "crystal_roty_deg", -0.3);
    setp(c, "crystal_rotz_deg", 0.2);
    setp(c, "mosaic_spread_deg", 0.5);
    setp(c, "mosaic_domains", 2);
    setp(c, "Na", 4);
    setp(c, "polarization", 0.9);
    return c;
}

static nb_config *config_sources(void)
{
    nb_config *c = small();
    const double mis[3] = {5, -7, 11};
    seta(c, "misset_deg", mis, 3);
    setp(c, "hdivrange_mrad", 2.0);
    setp(c, "vdivrange_mrad", 2.0);
    setp(c, "hdivsteps", 3);
    setp(c, "vdivsteps", 3);
    setp(c, "dispersion_percent", 1.0);
    setp(c, "dispsteps", 3);
    setp(c, "water_um", 2);
    return c;
}

static nb_config *config_detector(void)
{
    nb_config *c = small();
    const double mis[3] = {-12, 3, 25};
    seta(c, "misset_deg", mis, 3);
    setp(c, "detector_rotx_deg", 2);
    setp(c, "detector_roty_deg", -3);
    setp(c, "detector_rotz_deg", 4);
    setp(c, "twotheta_deg", 5);
    setp(c, "detector_thick_um", 100);
    setp(c, "detector_abs_um", 200);
    setp(c, "detector_thicksteps", 3);
    setp(c, "Xbeam_mm", 5.3);
    setp(c, "Ybeam_mm", 4.6);
    return c;
}

static nb_config *config_xds(void)
{
    nb_config *c = small();
    const double mis[3] = {40, -15, 8};
    nb_error err = {0};
    assert_int_equal(nb_param_set_string(c, "convention", "xds", &err), NB_OK);
    seta(c, "misset_deg", mis, 3);
    setp(c, "detector_rotx_deg", -1.5);
    setp(c, "detector_roty_deg", 2.5);
    setp(c, "twotheta_deg", -4);
    setp(c, "ORGX", 18.3);
    setp(c, "ORGY", 22.1);
    return c;
}

/* F on a grid that covers the detector's reflections: a smooth function of
   h, k, l plus a fixed pseudo-random part. */
static nb_sf *table(void)
{
    enum { H = 25 };
    static double F[H * H * H];
    const int origin[3] = {-12, -12, -12}, dims[3] = {H, H, H};
    nb_sf *sf = NULL;
    nb_error err = {0};
    unsigned long x = 12345;
    for (int i = 0; i < H * H * H; ++i) {
        x = x * 6364136223846793005UL + 1442695040888963407UL;
        F[i] = 50.0 + 40.0 * (double)(x >> 11) / 9007199254740992.0;
    }
    assert_int_equal(nb_sf_from_grid(origin, dims, F, &sf, &err), NB_OK);
    return sf;
}

static nb_config *config_tricubic(void)
{
    nb_config *c = config_triclinic();
    nb_sf *sf = table();
    nb_error err = {0};
    assert_int_equal(nb_config_set_sf(c, sf, &err), NB_OK);
    nb_sf_free(sf);
    assert_int_equal(nb_param_set_string(c, "interpolate", "on", &err), NB_OK);
    return c;
}

/* The double image of cfg (every pixel). */
static double *image_of(const nb_config *cfg, size_t n)
{
    double *img = malloc(n * sizeof *img);
    nb_error err = {0};
    nb_status st;
    assert_non_null(img);
    st = nb_jacobian(cfg, NULL, 0, NULL, n, img, NULL, NULL, &err);
    if (st != NB_OK)
        fprintf(stderr, "image: %s\n", err.msg);
    assert_int_equal(st, NB_OK);
    return img;
}

/* The image with parameter name moved by dv. */
static double *moved(const nb_config *cfg, const char *name, double v0, double dv, size_t n)
{
    nb_config *c = nb_config_copy(cfg);
    nb_error err = {0};
    double *img;
    assert_non_null(c);
    assert_int_equal(nb_deriv_param_set(c, name, v0 + dv, &err), NB_OK);
    img = image_of(c, n);
    nb_config_free(c);
    return img;
}

typedef struct step {
    const char *name;
    double h;       /* absolute step, or ... */
    double rel;     /* ... relative to the value when h is 0 */
} step;

/* J of name against Richardson-extrapolated central differences; returns
   the worst relative error over the pixels where |J| is not tiny. */
static double check(const nb_config *cfg, const char *label, const step *sp)
{
    const size_t n = 40 * 40;
    double *J = malloc(n * sizeof *J), v0, h, worst = 0.0, jmax = 0.0;
    double *p1, *m1, *p2, *m2;
    size_t counted = 0, at = 0;
    nb_error err = {0};
    nb_status st;
    assert_non_null(J);
    st = nb_jacobian(cfg, &sp->name, 1, NULL, n, NULL, J, NULL, &err);
    if (st != NB_OK)
        fprintf(stderr, "%s %s: %s\n", label, sp->name, err.msg);
    assert_int_equal(st, NB_OK);
    assert_int_equal(nb_deriv_param_get(cfg, sp->name, &v0, &err), NB_OK);
    h = (sp->h > 0 ? sp->h : sp->rel * fabs(v0)) * (getenv("NB_DERIV_STEP") ? atof(getenv("NB_DERIV_STEP")) : 1.0);
    p1 = moved(cfg, sp->name, v0, h, n);
    m1 = moved(cfg, sp->name, v0, -h, n);
    p2 = moved(cfg, sp->name, v0, h / 2, n);
    m2 = moved(cfg, sp->name, v0, -h / 2, n);
    for (size_t i = 0; i < n; ++i)
        jmax = fmax(jmax, fabs(J[i]));
    for (size_t i = 0; i < n; ++i) {
        const double d1 = (p1[i] - m1[i]) / (2 * h), d2 = (p2[i] - m2[i]) / h, D = (4 * d2 - d1) / 3;
        if (fabs(J[i]) < 1e-3 * jmax)
            continue;
        counted++;
        if (fabs(J[i] - D) / fabs(J[i]) > worst) {
            worst = fabs(J[i] - D) / fabs(J[i]);
            at = i;
        }
    }
    printf("  %-10s %-18s step %-9.3g max|J| %-10.3g pixels %4zu worst %.2e at (%zu,%zu)\n", label, sp->name, h,
           jmax, counted, worst, at % 40, at / 40);
    assert_true(jmax > 0.0);
    assert_true(counted >= 10);
    free(J), free(p1), free(m1), free(p2), free(m2);
    return worst;
}

static const step CRYSTAL[] = {
    {"crystal_rotx_deg", 0.02, 0}, {"crystal_roty_deg", 0.02, 0}, {"crystal_rotz_deg", 0.02, 0},
    {"cell_a_A", 0.02, 0},         {"cell_b_A", 0.02, 0},         {"cell_c_A", 0.02, 0},
    {"cell_alpha_deg", 0.02, 0},   {"cell_beta_deg", 0.02, 0},    {"cell_gamma_deg", 0.02, 0},
    {"Na", 0.01, 0},               {"Nb", 0.01, 0},               {"Nc", 0.01, 0},
};
/* tricubic interpolation is continuous but its slope jumps at whole
   indices: steps 100 times smaller keep a sample from straddling one */
static const step CRYSTAL_TRICUBIC[] = {
    {"crystal_rotx_deg", 2e-4, 0}, {"crystal_roty_deg", 2e-4, 0}, {"crystal_rotz_deg", 2e-4, 0},
    {"cell_a_A", 2e-4, 0},         {"cell_b_A", 2e-4, 0},         {"cell_c_A", 2e-4, 0},
    {"cell_alpha_deg", 2e-4, 0},   {"cell_beta_deg", 2e-4, 0},    {"cell_gamma_deg", 2e-4, 0},
    {"Na", 1e-4, 0},               {"Nb", 1e-4, 0},               {"Nc", 1e-4, 0},
};
static const step BEAM[] = {{"lambda_A", 4e-5, 0}, {"fluence", 0, 1e-3}};
static const step BEAM_TRICUBIC[] = {{"lambda_A", 4e-7, 0}, {"fluence", 0, 1e-3}};
static const step DETECTOR[] = {
    {"distance_mm", 0.01, 0},        {"Xbeam_mm", 0.001, 0},          {"Ybeam_mm", 0.001, 0},
    {"detector_rotx_deg", 0.002, 0}, {"detector_roty_deg", 0.002, 0}, {"detector_rotz_deg", 0.002, 0},
    {"twotheta_deg", 0.002, 0},
};
static const step XDS_DETECTOR[] = {
    {"distance_mm", 0.01, 0},        {"ORGX", 0.005, 0},              {"ORGY", 0.005, 0},
    {"detector_rotx_deg", 0.001, 0}, {"detector_roty_deg", 0.001, 0}, {"detector_rotz_deg", 0.001, 0},
    {"twotheta_deg", 0.001, 0},
};
/* the domain generator rounds the spread through a float (nanoBragg's
   arithmetic): a step of 10% (and 5%) of the spread keeps that rounding
   below 1e-6 of the differences where one domain moves (the triclinic
   configuration's two domains: the first is never turned); where several
   domains' contributions cancel in a pixel the rounding is amplified */
static const step MOSAIC[] = {{"mosaic_spread_deg", 0, 0.1}};

#define TOL 1e-5

static void check_all(nb_config *c, const char *label, const step *list, size_t n)
{
    int bad = 0;
    for (size_t i = 0; i < n; ++i)
        bad += !(check(c, label, &list[i]) <= TOL);
    assert_int_equal(bad, 0);
}

#define CHECK_ALL(c, label, list) check_all(c, label, list, sizeof list / sizeof list[0])

static void test_triclinic(void **state)
{
    nb_config *c = config_triclinic();
    (void)state;
    CHECK_ALL(c, "triclinic", CRYSTAL);
    CHECK_ALL(c, "triclinic", MOSAIC);
    CHECK_ALL(c, "triclinic", BEAM);
    CHECK_ALL(c, "triclinic", DETECTOR);
    nb_config_free(c);
}

static void test_sources(void **state)
{
    nb_config *c = config_sources();
    (void)state;
    CHECK_ALL(c, "sources", CRYSTAL);
    CHECK_ALL(c, "sources", BEAM);
    CHECK_ALL(c, "sources", DETECTOR);
    nb_config_free(c);
}

static void test_detector(void **state)
{
    nb_config *c = config_detector();
    (void)state;
    CHECK_ALL(c, "detector", CRYSTAL);
    CHECK_ALL(c, "detector", BEAM);
    CHECK_ALL(c, "detector", DETECTOR);
    nb_config_free(c);
}

static void test_xds(void **state)
{
    nb_config *c = config_xds();
    (void)state;
    CHECK_ALL(c, "xds", BEAM);
    CHECK_ALL(c, "xds", XDS_DETECTOR);
    nb_config_free(c);
}

static void test_tricubic(void **state)
{
    nb_config *c = config_tricubic();
    (void)state;
    CHECK_ALL(c, "tricubic", CRYSTAL_TRICUBIC);
    CHECK_ALL(c, "tricubic", BEAM_TRICUBIC);
    nb_config_free(c);
}

/* ---------------------------------------------------------------- the loss */

static const char *const ALL[] = {
    "crystal_rotx_deg", "crystal_roty_deg", "crystal_rotz_deg", "cell_a_A",    "cell_b_A",
    "cell_c_A",         "cell_alpha_deg",   "cell_beta_deg",    "cell_gamma_deg", "Na",
    "Nb",               "Nc",               "mosaic_spread_deg", "lambda_A",   "fluence",
    "distance_mm",      "Xbeam_mm",         "Ybeam_mm",         "detector_rotx_deg", "detector_roty_deg",
    "detector_rotz_deg", "twotheta_deg",
};
#define NALL ((int)(sizeof ALL / sizeof ALL[0]))
/* steps of the loss's differences (tricubic: see CRYSTAL_TRICUBIC) */
static const double ALL_STEP[NALL] = {2e-4, 2e-4, 2e-4, 2e-4, 2e-4, 2e-4, 2e-4, 2e-4, 2e-4, 1e-4, 1e-4,
                                      1e-4, 0.05, 4e-7, 0, 1e-3, 1e-4, 1e-4, 2e-4, 2e-4, 2e-4, 2e-4};

/* An observation near the model of cfg: the image of a slightly moved
   crystal, scaled, with a fixed pseudo-random error. */
static float *observe(const nb_config *cfg)
{
    const size_t n = 40 * 40;
    nb_config *c = nb_config_copy(cfg);
    double *img;
    float *obs = malloc(n * sizeof *obs);
    unsigned long x = 99;
    assert_non_null(obs);
    setp(c, "crystal_rotx_deg", 0.51);
    setp(c, "distance_mm", 60.2);
    img = image_of(c, n);
    for (size_t i = 0; i < n; ++i) {
        x = x * 6364136223846793005UL + 1442695040888963407UL;
        obs[i] = (float)(img[i] * 1.1 + 2.0 * (double)(x >> 11) / 9007199254740992.0);
    }
    free(img);
    nb_config_free(c);
    return obs;
}

static double loss_of(const nb_config *cfg, const nb_observed *o)
{
    double L;
    nb_error err = {0};
    nb_status st = nb_loss_gradient(cfg, o, NULL, 0, &L, NULL, NULL, NULL, NULL, &err);
    if (st != NB_OK)
        fprintf(stderr, "loss: %s\n", err.msg);
    assert_int_equal(st, NB_OK);
    return L;
}

static double loss_moved(const nb_config *cfg, const nb_observed *o, const char *name, double v)
{
    nb_config *c = nb_config_copy(cfg);
    nb_error err = {0};
    double L;
    assert_int_equal(nb_deriv_param_set(c, name, v, &err), NB_OK);
    L = loss_of(c, o);
    nb_config_free(c);
    return L;
}

/* The gradient of the loss o against the Jacobian's sum and against the
   loss's differences (Richardson, as check()); the structure factors' part
   against exact differences of the loss (it is quadratic in each F). */
static void check_loss(nb_config *cfg, nb_observed *o, const char *label, int differences)
{
    const size_t n = 40 * 40;
    double grad[NALL], L, *model = malloc(n * sizeof *model), *J = malloc((size_t)NALL * n * sizeof *J);
    double *Fg, worst_sum = 0.0, worst_fd = 0.0, worst_F = 0.0;
    int origin[3], dims[3], checked = 0;
    nb_error err = {0};
    nb_status st;
    nb_experiment *e;
    nb_sf *sf;
    nb_log quiet = {0};
    assert_int_equal(nb_experiment_create(cfg, &quiet, &e, &err), NB_OK);
    sf = nb_sf_ref(nb_experiment_sf(e));
    nb_experiment_free(e);
    nb_sf_grid(sf, origin, dims);
    Fg = calloc((size_t)dims[0] * dims[1] * dims[2], sizeof *Fg);
    st = nb_loss_gradient(cfg, o, ALL, NALL, &L, grad, Fg, model, NULL, &err);
    if (st != NB_OK)
        fprintf(stderr, "%s: %s\n", label, err.msg);
    assert_int_equal(st, NB_OK);
    assert_int_equal(nb_jacobian(cfg, ALL, NALL, NULL, n, NULL, J, NULL, &err), NB_OK);
    for (int p = 0; p < NALL; ++p) {
        double sum = 0.0, v0, h, d1, d2, D;
        for (size_t i = 0; i < n; ++i) {
            const double oi = o->data[i], w = o->weight ? o->weight[i] : 1.0;
            if (o->mask && !o->mask[i])
                continue;
            const double dL = o->loss == NB_LOSS_LSQ ? 2.0 * w * (model[i] - oi)
                              : oi == 0.0 ? 1.0 : 1.0 - oi / model[i];
            sum += dL * J[(size_t)p * n + i];
        }
        worst_sum = fmax(worst_sum, fabs(sum - grad[p]) / fabs(grad[p]));
        if (!differences)
            continue;
        assert_int_equal(nb_deriv_param_get(cfg, ALL[p], &v0, &err), NB_OK);
        h = ALL_STEP[p] > 0 ? ALL_STEP[p] : 1e-3 * v0;
        d1 = (loss_moved(cfg, o, ALL[p], v0 + h) - loss_moved(cfg, o, ALL[p], v0 - h)) / (2 * h);
        d2 = (loss_moved(cfg, o, ALL[p], v0 + h / 2) - loss_moved(cfg, o, ALL[p], v0 - h / 2)) / h;
        D = (4 * d2 - d1) / 3;
        printf("  %-8s %-18s grad %-12.5g differences %-12.5g rel %.1e   Jacobian sum rel %.1e\n", label, ALL[p],
               grad[p], D, fabs(D - grad[p]) / fabs(grad[p]), fabs(sum - grad[p]) / fabs(grad[p]));
        /* the mosaic spread's float rounding (see MOSAIC), summed over pixels */
        worst_fd = fmax(worst_fd, fabs(D - grad[p]) / fabs(grad[p]) * (strcmp(ALL[p], "mosaic_spread_deg") ? 1.0 : 0.01));
    }
    /* 60 structure factors, spread over those with a non-zero gradient */
    {
        const size_t nF = (size_t)dims[0] * dims[1] * dims[2];
        double *F = malloc(nF * sizeof *F);
        for (int h = 0; h < dims[0]; ++h)
            for (int k = 0; k < dims[1]; ++k)
                for (int l = 0; l < dims[2]; ++l)
                    F[((size_t)h * dims[1] + k) * dims[2] + l] = nb_sf_value(sf, origin[0] + h, origin[1] + k,
                                                                             origin[2] + l, 0.0);
        size_t nonzero = 0, stride;
        for (size_t q = 0; q < nF; ++q)
            nonzero += Fg[q] != 0.0;
        stride = nonzero / 60 > 1 ? nonzero / 60 : 1;
        for (size_t q = 0, seen = 0; q < nF && checked < 60; ++q) {
            double D, Dh[2], F0 = F[q];
            if (Fg[q] == 0.0 || seen++ % stride != 0)
                continue;
            for (int k = 0; k < 2; ++k) {
                const double dF = k == 0 ? 0.5 : 0.25;
                double Lpm[2];
                for (int sgn = 0; sgn < 2; ++sgn) {
                    nb_sf *s2;
                    nb_config *c2 = nb_config_copy(cfg);
                    F[q] = F0 + (sgn ? -dF : dF);
                    assert_int_equal(nb_sf_from_grid(origin, dims, F, &s2, &err), NB_OK);
                    assert_int_equal(nb_config_set_sf(c2, s2, &err), NB_OK);
                    Lpm[sgn] = loss_of(c2, o);
                    nb_sf_free(s2);
                    nb_config_free(c2);
                }
                Dh[k] = (Lpm[0] - Lpm[1]) / (2 * dF);
            }
            F[q] = F0;
            /* Richardson: exact for a loss of degree 4 in F (the least squares of F^2) */
            D = (4 * Dh[1] - Dh[0]) / 3;
            worst_F = fmax(worst_F, fabs(D - Fg[q]) / fmax(fabs(Fg[q]), 1e-6 * fabs(L)));
            checked++;
        }
        free(F);
    }
    printf("  %-8s worst: Jacobian sum %.1e, differences %.1e, %d structure factors %.1e\n", label, worst_sum,
           worst_fd, checked, worst_F);
    assert_true(worst_sum <= 1e-9);
    assert_true(worst_fd <= TOL);
    assert_true(checked >= 50);
    assert_true(worst_F <= 1e-6);
    nb_sf_free(sf);
    free(Fg), free(model), free(J);
}

static void test_loss_lsq(void **state)
{
    nb_config *c = config_tricubic();
    float *obs = observe(c), *w = malloc(40 * 40 * sizeof *w);
    nb_observed o = {obs, w, NULL, NB_LOSS_LSQ};
    (void)state;
    for (int i = 0; i < 40 * 40; ++i)
        w[i] = (float)(1.0 / (1.0 + obs[i]));
    check_loss(c, &o, "lsq", 1);
    free(obs), free(w);
    nb_config_free(c);
}

/* Poisson, tricubic, a mask */
static void test_loss_poisson(void **state)
{
    nb_config *c = config_tricubic();
    float *obs = observe(c);
    unsigned char mask[40 * 40];
    nb_observed o = {obs, NULL, mask, NB_LOSS_POISSON};
    (void)state;
    for (int i = 0; i < 40 * 40; ++i)
        mask[i] = (unsigned char)(i % 11 != 0);
    check_loss(c, &o, "poisson", 1);
    free(obs);
    nb_config_free(c);
}

/* Poisson with the nearest structure factor: the loss jumps where a sample
   crosses from one reflection to the next (not differentiable there), so
   only the structure factors' gradient and the Jacobian's sum are checked */
static void test_loss_poisson_nearest(void **state)
{
    nb_config *c = config_tricubic();
    nb_error err = {0};
    float *obs;
    unsigned char mask[40 * 40];
    nb_observed o = {NULL, NULL, mask, NB_LOSS_POISSON};
    (void)state;
    assert_int_equal(nb_param_set_string(c, "interpolate", "off", &err), NB_OK);
    obs = observe(c);
    o.data = obs;
    for (int i = 0; i < 40 * 40; ++i)
        mask[i] = (unsigned char)(i % 11 != 0);
    check_loss(c, &o, "poisson", 0);
    free(obs);
    nb_config_free(c);
}

/* The gradient a row at a time (no tricubic interpolation, no -dmin, no
   structure factors' gradient) against the Jacobian's sum and image. */
static void check_rows(nb_config *c, const char *label, const char *const *names, int np)
{
    const size_t n = 40 * 40;
    float *obs = observe(c);
    unsigned char mask[40 * 40];
    nb_observed o = {obs, NULL, mask, NB_LOSS_POISSON};
    double grad[NALL], L, Lj = 0.0, worst = 0.0, imax = 0.0, *model = malloc(n * sizeof *model);
    double *J = malloc((size_t)np * n * sizeof *J), *img = malloc(n * sizeof *img);
    nb_error err = {0};
    for (size_t i = 0; i < n; ++i)
        mask[i] = (unsigned char)(i % 13 != 0);
    assert_int_equal(nb_loss_gradient(c, &o, names, np, &L, grad, NULL, model, NULL, &err), NB_OK);
    assert_int_equal(nb_jacobian(c, names, np, NULL, n, img, J, NULL, &err), NB_OK);
    for (size_t i = 0; i < n; ++i)
        imax = fmax(imax, img[i]);
    for (size_t i = 0; i < n; ++i) {
        if (!mask[i])
            continue;
        /* Miller indices rounded differently (the row's maps): near a zero
           of the lattice factor a tiny value differs in its 12th digit */
        assert_true(fabs(model[i] - img[i]) <= 1e-12 * fabs(img[i]) + 1e-14 * imax);
        Lj += obs[i] == 0.0f ? img[i] : img[i] - obs[i] * log(img[i]);
    }
    for (int p = 0; p < np; ++p) {
        double sum = 0.0;
        for (size_t i = 0; i < n; ++i)
            if (mask[i])
                sum += (obs[i] == 0.0f ? 1.0 : 1.0 - obs[i] / img[i]) * J[(size_t)p * n + i];
        worst = fmax(worst, fabs(sum - grad[p]) / fmax(fabs(grad[p]), 1e-300));
    }
    printf("  %-9s rows: loss %.10g (Jacobian's image %.10g), gradient against the Jacobian's sum %.1e\n", label, L, Lj,
           worst);
    assert_true(fabs(L - Lj) <= 1e-11 * fabs(L));
    assert_true(worst <= 1e-9);
    free(obs), free(model), free(J), free(img);
}

static void test_loss_rows(void **state)
{
    static const char *const xds[] = {"crystal_rotx_deg", "cell_b_A", "Nc", "lambda_A", "fluence", "distance_mm",
                                      "ORGX", "ORGY", "detector_roty_deg", "twotheta_deg"};
    const char *nomosaic[NALL];
    nb_config *c;
    (void)state;
    c = config_triclinic();
    check_rows(c, "triclinic", ALL, NALL);
    nb_config_free(c);
    c = config_sources();
    check_rows(c, "sources", ALL, NALL - 10);
    /* every parameter but the mosaic spread (no mosaic here): the
       wavelengths' common scale among them */
    memcpy(nomosaic, ALL, sizeof nomosaic);
    nomosaic[12] = ALL[NALL - 1];
    check_rows(c, "sources", nomosaic, NALL - 1);
    setp(c, "Na", 3), setp(c, "Nb", 3), setp(c, "Nc", 3); /* the Chebyshev loops, several incident directions */
    check_rows(c, "cube sources", nomosaic, NALL - 1);
    nb_config_free(c);
    c = config_detector();
    check_rows(c, "detector", ALL, NALL);
    nb_config_free(c);
    c = config_xds();
    check_rows(c, "xds", xds, 10);
    nb_config_free(c);
    c = config_tricubic();
    {
        nb_error err = {0};
        assert_int_equal(nb_param_set_string(c, "interpolate", "off", &err), NB_OK);
    }
    check_rows(c, "nearest", ALL, NALL);
    setp(c, "Na", 5), setp(c, "Nb", 5), setp(c, "Nc", 5); /* an N x N x N crystal: the Chebyshev loops */
    check_rows(c, "cube hkl", ALL, NALL);
    nb_config_free(c);
    c = config_detector();
    setp(c, "Na", 6), setp(c, "Nb", 6), setp(c, "Nc", 6);
    check_rows(c, "cube", ALL, NALL);
    check_rows(c, "cube no N", ALL, 9); /* no N among them: the loops leave N's terms out */
    nb_config_free(c);
}

/* The Jacobian's vector path (runs of pixels) against its per-pixel path
   (taken when a -dmin cut is set: here one that cuts nothing). */
static void check_paths(nb_config *c, const char *label)
{
    const size_t n = 40 * 40;
    double *J1 = malloc((size_t)NALL * n * sizeof *J1), *J2 = malloc((size_t)NALL * n * sizeof *J2);
    double *I1 = malloc(n * sizeof *I1), *I2 = malloc(n * sizeof *I2), worst = 0.0;
    nb_config *cut = nb_config_copy(c);
    nb_error err = {0};
    setp(cut, "dmin_A", 1e-3);
    assert_int_equal(nb_jacobian(c, ALL, NALL, NULL, n, I1, J1, NULL, &err), NB_OK);
    assert_int_equal(nb_jacobian(cut, ALL, NALL, NULL, n, I2, J2, NULL, &err), NB_OK);
    for (int p = 0; p < NALL; ++p) {
        double jmax = 0.0;
        for (size_t i = 0; i < n; ++i)
            jmax = fmax(jmax, fabs(J2[(size_t)p * n + i]));
        for (size_t i = 0; i < n; ++i)
            worst = fmax(worst, fabs(J1[(size_t)p * n + i] - J2[(size_t)p * n + i]) / (jmax > 0.0 ? jmax : 1.0));
    }
    for (size_t i = 0; i < n; ++i)
        worst = fmax(worst, fabs(I1[i] - I2[i]) / fmax(fabs(I2[i]), 1e-300) * 1e-3);
    printf("  %-9s the Jacobian's two paths differ by %.1e of each parameter's largest\n", label, worst);
    assert_true(worst <= 1e-10);
    nb_config_free(cut);
    free(J1), free(J2), free(I1), free(I2);
}

static void test_jacobian_paths(void **state)
{
    nb_config *c;
    (void)state;
    c = config_triclinic();
    check_paths(c, "triclinic");
    nb_config_free(c);
    c = config_detector();
    check_paths(c, "detector");
    nb_config_free(c);
    c = config_sources();
    check_paths(c, "sources");
    nb_config_free(c);
}

/* The derivatives' image is the image nb_render_region renders (to its
   float rounding), a curved detector's too; and on the curved detector the
   crystal's derivatives still agree with differences. */
static void check_image(nb_config *c, const char *label)
{
    const size_t n = 40 * 40;
    nb_experiment *x;
    nb_log quiet = {0};
    nb_error err = {0};
    float *f = malloc(n * sizeof *f);
    double *d = malloc(n * sizeof *d), worst = 0.0, fmaxv = 0.0;
    assert_int_equal(nb_experiment_create(c, &quiet, &x, &err), NB_OK);
    assert_int_equal(nb_render_region(x, 0, 0, 40, 40, f, NULL, &err), NB_OK);
    assert_int_equal(nb_jacobian(c, NULL, 0, NULL, n, d, NULL, NULL, &err), NB_OK);
    for (size_t i = 0; i < n; ++i)
        fmaxv = fmax(fmaxv, f[i]);
    for (size_t i = 0; i < n; ++i)
        worst = fmax(worst, fabs(d[i] - f[i]) / (fabs(f[i]) + 1e-6 * fmaxv));
    printf("  %-9s image against nb_render_region: worst %.1e\n", label, worst);
    assert_true(worst <= 1e-6);
    nb_experiment_free(x);
    free(f), free(d);
}

static void test_image(void **state)
{
    static const step curved[] = {{"crystal_rotx_deg", 0.02, 0}, {"cell_b_A", 0.02, 0}, {"Na", 0.01, 0},
                                  {"lambda_A", 4e-5, 0}};
    nb_config *c;
    (void)state;
    c = config_triclinic();
    check_image(c, "triclinic");
    nb_config_free(c);
    c = config_detector();
    check_image(c, "detector");
    nb_config_free(c);
    c = config_sources();
    setp(c, "curved_detector", 1);
    check_image(c, "curved");
    CHECK_ALL(c, "curved", curved);
    nb_config_free(c);
}

/* The gradient has the same bits with 1 and with 3 threads. */
static void test_loss_threads(void **state)
{
    nb_config *c = config_tricubic();
    float *obs = observe(c);
    nb_observed o = {obs, NULL, NULL, NB_LOSS_LSQ};
    double g1[NALL], g3[NALL], L1, L3;
    nb_error err = {0};
    (void)state;
    setp(c, "threads", 1);
    assert_int_equal(nb_loss_gradient(c, &o, ALL, NALL, &L1, g1, NULL, NULL, NULL, &err), NB_OK);
    setp(c, "threads", 3);
    assert_int_equal(nb_loss_gradient(c, &o, ALL, NALL, &L3, g3, NULL, NULL, NULL, &err), NB_OK);
    assert_memory_equal(g1, g3, sizeof g1);
    assert_memory_equal(&L1, &L3, sizeof L1);
    /* a row at a time (nearest structure factors) */
    assert_int_equal(nb_param_set_string(c, "interpolate", "off", &err), NB_OK);
    assert_int_equal(nb_loss_gradient(c, &o, ALL, NALL, &L3, g3, NULL, NULL, NULL, &err), NB_OK);
    setp(c, "threads", 1);
    assert_int_equal(nb_loss_gradient(c, &o, ALL, NALL, &L1, g1, NULL, NULL, NULL, &err), NB_OK);
    assert_memory_equal(g1, g3, sizeof g1);
    assert_memory_equal(&L1, &L3, sizeof L1);
    /* and on every instruction set this processor runs (the lanes' sums) */
    {
        static const char *const isas[] = {"baseline", "avx2", "avx512"};
        static const nb_isa ids[] = {NB_ISA_BASELINE, NB_ISA_AVX2, NB_ISA_AVX512};
        for (int i = 0; i < 3; ++i) {
            if (!nb_isa_available(ids[i]))
                continue;
            assert_int_equal(nb_param_set_string(c, "isa", isas[i], &err), NB_OK);
            assert_int_equal(nb_loss_gradient(c, &o, ALL, NALL, &L3, g3, NULL, NULL, NULL, &err), NB_OK);
            assert_memory_equal(g1, g3, sizeof g1);
            assert_memory_equal(&L1, &L3, sizeof L1);
        }
    }
    free(obs);
    nb_config_free(c);
}

static void expect(nb_config *c, const char *name, nb_status want, const char *says)
{
    nb_error err = {0};
    double J[4];
    size_t idx[2] = {0, 1};
    nb_status st = nb_jacobian(c, &name, 1, idx, 2, NULL, J, NULL, &err);
    if (st != want || !strstr(err.msg, says))
        fprintf(stderr, "%s: %d '%s' (expected %d, '%s')\n", name, st, err.msg, want, says);
    assert_int_equal(st, want);
    assert_non_null(strstr(err.msg, says));
}

static void test_refusals(void **state)
{
    nb_config *c = small();
    nb_error err = {0};
    const char *two[2] = {"Na", "Na"};
    double J[4], v;
    size_t far = 40 * 40;
    float obs[40 * 40] = {0};
    nb_observed o = {obs, NULL, NULL, NB_LOSS_POISSON};
    (void)state;
    expect(c, "no_such", NB_ERR_INVALID, "no_such");
    assert_int_equal(nb_jacobian(c, NULL, 2, &far, 1, NULL, J, NULL, &err), NB_ERR_INVALID);
    assert_int_equal(nb_jacobian(c, two, -1, &far, 1, NULL, J, NULL, &err), NB_ERR_INVALID);
    assert_int_equal(nb_jacobian(NULL, two, 1, &far, 1, NULL, J, NULL, &err), NB_ERR_INVALID);
    {
        size_t zero = 0;
        assert_int_equal(nb_jacobian(c, two, 1, &zero, 1, NULL, NULL, NULL, &err), NB_ERR_INVALID);
        assert_non_null(strstr(err.msg, "jac"));
    }
    assert_int_equal(nb_loss_gradient(c, NULL, NULL, 0, &v, NULL, NULL, NULL, NULL, &err), NB_ERR_INVALID);
    {
        nb_observed bad = {NULL, NULL, NULL, NB_LOSS_LSQ};
        float w[40 * 40];
        assert_int_equal(nb_loss_gradient(c, &bad, NULL, 0, &v, NULL, NULL, NULL, NULL, &err), NB_ERR_INVALID);
        bad.data = obs;
        bad.loss = (nb_loss)7;
        assert_int_equal(nb_loss_gradient(c, &bad, NULL, 0, &v, NULL, NULL, NULL, NULL, &err), NB_ERR_INVALID);
        assert_non_null(strstr(err.msg, "loss"));
        bad.loss = NB_LOSS_LSQ;
        for (int i = 0; i < 40 * 40; ++i)
            w[i] = 1.0f;
        w[17] = -1.0f;
        bad.weight = w;
        assert_int_equal(nb_loss_gradient(c, &bad, NULL, 0, &v, NULL, NULL, NULL, NULL, &err), NB_ERR_INVALID);
        assert_non_null(strstr(err.msg, "weight"));
        bad.weight = NULL;
        assert_int_equal(nb_loss_gradient(c, &bad, two, 1, &v, NULL, NULL, NULL, NULL, &err), NB_ERR_INVALID);
        assert_non_null(strstr(err.msg, "grad"));
    }
    expect(c, NULL, NB_ERR_INVALID, "(null)");
    assert_int_equal(nb_jacobian(c, two, 2, &far, 1, NULL, J, NULL, &err), NB_ERR_INVALID);
    assert_non_null(strstr(err.msg, "twice"));
    assert_int_equal(nb_jacobian(c, two, 1, &far, 1, NULL, J, NULL, &err), NB_ERR_INVALID);
    assert_non_null(strstr(err.msg, "index[0]"));
    assert_int_equal(nb_jacobian(c, two, 1, NULL, 7, NULL, J, NULL, &err), NB_ERR_INVALID);
    assert_int_equal(nb_deriv_param_get(c, "bogus", &v, &err), NB_ERR_INVALID);
    assert_int_equal(nb_deriv_param_set(c, "cell_a_A", -3, &err), NB_ERR_INVALID);
    assert_non_null(strstr(err.msg, "cell"));
    /* a Poisson loss where the model is 0 and photons are seen */
    setp(c, "fluence", 0);
    obs[5] = 3;
    assert_int_equal(nb_loss_gradient(c, &o, NULL, 0, &v, NULL, NULL, NULL, NULL, &err), NB_ERR_RANGE);
    assert_non_null(strstr(err.msg, "(5, 0)"));
    obs[5] = NAN;
    assert_int_equal(nb_loss_gradient(c, &o, NULL, 0, &v, NULL, NULL, NULL, NULL, &err), NB_ERR_INVALID);
    assert_non_null(strstr(err.msg, "(5, 0)"));
    assert_int_equal(nb_loss_gradient(c, &o, NULL, 0, &v, NULL, (double *)J, NULL, NULL, &err), NB_ERR_USAGE);
    assert_non_null(strstr(err.msg, "structure factor"));
    setp(c, "fluence", 1e24);
    assert_int_equal(nb_param_set_string(c, "shape", "gauss", &err), NB_OK);
    expect(c, "Na", NB_ERR_USAGE, "shape");
    assert_int_equal(nb_param_set_string(c, "shape", "square", &err), NB_OK);
    setp(c, "oversample_omega", 1);
    expect(c, "Na", NB_ERR_USAGE, "oversample_omega");
    setp(c, "oversample_omega", 0);
    setp(c, "curved_detector", 1);
    expect(c, "distance_mm", NB_ERR_USAGE, "curved");
    expect(c, "Na", NB_OK, "");
    nb_config_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_triclinic), cmocka_unit_test(test_sources), cmocka_unit_test(test_detector),
        cmocka_unit_test(test_xds),       cmocka_unit_test(test_tricubic),
        cmocka_unit_test(test_loss_lsq),  cmocka_unit_test(test_loss_poisson), cmocka_unit_test(test_loss_poisson_nearest),
        cmocka_unit_test(test_loss_threads), cmocka_unit_test(test_loss_rows), cmocka_unit_test(test_jacobian_paths),
        cmocka_unit_test(test_image),       cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
