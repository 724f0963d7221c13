/*
 * test_refine.c - refinement (nb_refine) recovers the parameters an image
 * was simulated with.
 *
 * The observation: a still of an orthorhombic crystal (50 x 60 x 70 A,
 * misset 10 20 30 degrees, 6 x 6 x 6 cells, water background) on a
 * 128 x 128 detector of 0.2 mm pixels at 50 mm, with Poisson noise from a
 * fixed seed.  The start: the orientation off by 0.3 degrees (crystal
 * rotations 0.2, -0.2, 0.1), the cell edges 1% long, the distance 1 mm
 * long, the beam centre 2 pixels off along both axes, N 20% large and the
 * fluence (scale) 30% high.  Refined together: the 3 rotations, the 3
 * edges, distance, beam centre, Na, Nb, Nc and fluence (13 parameters).
 *
 * Required (the limits): orientation within 0.01 degree, cell
 * within 0.05%, distance within 0.05 mm, beam centre within 0.05 pixel, N
 * within 5%, scale within 1%; and each error within 5 of the standard
 * errors the refinement reports (the statistical limit).
 *
 * From that start: Levenberg-Marquardt on the Poisson loss (a 25% pixel
 * subset per Jacobian).  From a start a tenth as far (the local methods'
 * basin: the weighted least squares and L-BFGS runs lack the Poisson
 * likelihood's pull from afar, and from the full offsets settle in other
 * minima): LM and L-BFGS on the least squares of an image with Gaussian
 * noise of variance max(I, 1) weighted by its inverse, and L-BFGS on the
 * Poisson loss.
 */
#include <string.h>

#include "nanobragg.h"
#include "support.h"

enum { NF = 128, NS = 128 };

static void setp(nb_config *c, const char *name, double v)
{
    nb_error err = {0};
    nb_status st = nb_deriv_param_set(c, name, v, &err);
    if (st == NB_ERR_INVALID && strstr(err.msg, "not a differentiable"))
        st = nb_param_set(c, name, v, &err);
    if (st != NB_OK)
        fprintf(stderr, "%s = %g: %s\n", name, v, err.msg);
    assert_int_equal(st, NB_OK);
}

static nb_config *truth(void)
{
    nb_config *c = nb_config_new();
    nb_error err = {0};
    const double cell[6] = {50, 60, 70, 90, 90, 90}, mis[3] = {10, 20, 30};
    assert_int_equal(nb_param_set_array(c, "cell", cell, 6, &err), NB_OK);
    assert_int_equal(nb_param_set_array(c, "misset_deg", mis, 3, &err), NB_OK);
    setp(c, "default_F", 100);
    setp(c, "fpixels", NF);
    setp(c, "spixels", NS);
    setp(c, "pixel_mm", 0.2);
    setp(c, "distance_mm", 50);
    setp(c, "Xbeam_mm", 12.9);
    setp(c, "Ybeam_mm", 12.7);
    setp(c, "lambda_A", 1.0);
    setp(c, "oversample", 2);
    setp(c, "Na", 6);
    setp(c, "Nb", 6);
    setp(c, "Nc", 6);
    setp(c, "water_um", 0.02);
    setp(c, "fluence", 2e29);
    return c;
}

/* Poisson deviates with mean mu (a fixed generator: splitmix64). */
static unsigned long long rng_state = 20261130;
static double uniform(void)
{
    unsigned long long z = (rng_state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    z ^= z >> 31;
    return ((double)(z >> 11) + 0.5) / 9007199254740992.0;
}

static double poisson(double mu)
{
    if (mu < 50.0) {
        const double L = exp(-mu);
        double p = 1.0;
        int k = 0;
        do {
            k++;
            p *= uniform();
        } while (p > L);
        return k - 1;
    }
    {
        const double n = sqrt(-2.0 * log(uniform())) * cos(2.0 * M_PI * uniform());
        return fmax(0.0, floor(mu + sqrt(mu) * n + 0.5));
    }
}

/* The image of c with Poisson noise; or, where w is not NULL, with Gaussian
   noise of variance max(I, 1) and weights w = 1/variance (least squares'
   proper weights). */
static float *observe(const nb_config *c, float *w)
{
    const size_t n = (size_t)NF * NS;
    double *img = malloc(n * sizeof *img);
    float *obs = malloc(n * sizeof *obs);
    nb_error err = {0};
    assert_non_null(img);
    assert_non_null(obs);
    assert_int_equal(nb_jacobian(c, NULL, 0, NULL, n, img, NULL, NULL, &err), NB_OK);
    rng_state = 20261130;
    for (size_t i = 0; i < n; ++i) {
        if (w) {
            const double var = fmax(img[i], 1.0);
            const double g = sqrt(-2.0 * log(uniform())) * cos(2.0 * M_PI * uniform());
            obs[i] = (float)(img[i] + sqrt(var) * g);
            w[i] = (float)(1.0 / var);
        } else {
            obs[i] = (float)poisson(img[i]);
        }
    }
    free(img);
    return obs;
}

static const char *const NAMES[] = {"crystal_rotx_deg", "crystal_roty_deg", "crystal_rotz_deg", "cell_a_A",
                                    "cell_b_A",         "cell_c_A",         "distance_mm",      "Xbeam_mm",
                                    "Ybeam_mm",         "Na",               "Nb",               "Nc",
                                    "fluence"};
#define NP ((int)(sizeof NAMES / sizeof NAMES[0]))

/* The start: the offsets above times offset. */
static void start(nb_config *c, double *want, double offset)
{
    for (int p = 0; p < NP; ++p) {
        nb_error err = {0};
        assert_int_equal(nb_deriv_param_get(c, NAMES[p], &want[p], &err), NB_OK);
    }
    setp(c, "crystal_rotx_deg", 0.2 * offset);
    setp(c, "crystal_roty_deg", -0.2 * offset);
    setp(c, "crystal_rotz_deg", 0.1 * offset);
    setp(c, "cell_a_A", want[3] * (1 + 0.01 * offset));
    setp(c, "cell_b_A", want[4] * (1 + 0.01 * offset));
    setp(c, "cell_c_A", want[5] * (1 + 0.01 * offset));
    setp(c, "distance_mm", want[6] + 1.0 * offset);
    setp(c, "Xbeam_mm", want[7] + 0.4 * offset);
    setp(c, "Ybeam_mm", want[8] - 0.4 * offset);
    setp(c, "Na", want[9] * (1 + 0.2 * offset));
    setp(c, "Nb", want[10] * (1 + 0.2 * offset));
    setp(c, "Nc", want[11] * (1 + 0.2 * offset));
    setp(c, "fluence", want[12] * (1 + 0.3 * offset));
}

/* The limit of each parameter's error (the issue's), in its unit. */
static double limit(int p, const double *want)
{
    if (p < 3)
        return 0.01;                 /* degrees (each rotation: the orientation's error is smaller still) */
    if (p < 6)
        return 5e-4 * want[p];       /* 0.05% */
    if (p == 6)
        return 0.05;                 /* mm */
    if (p < 9)
        return 0.05 * 0.2;           /* 0.05 pixel of 0.2 mm */
    if (p < 12)
        return 0.05 * want[p];       /* 5% */
    return 0.01 * want[p];           /* 1% */
}

static void refine_and_check(nb_refine_method method, nb_loss loss, double fraction, double offset)
{
    nb_config *c = truth();
    float *w = loss == NB_LOSS_LSQ ? malloc((size_t)NF * NS * sizeof *w) : NULL;
    float *obs = observe(c, w);
    double want[NP], worst = 0.0;
    nb_observed o = {obs, NULL, NULL, loss};
    nb_refine_options opt;
    nb_refine_result res;
    nb_error err = {0};
    nb_status st;
    o.weight = w;
    start(c, want, offset);
    nb_refine_options_init(&opt);
    opt.method = method;
    opt.pixel_fraction = fraction;
    opt.max_iterations = 100;
    st = nb_refine(c, &o, NAMES, NP, &opt, &res, NULL, &err);
    if (st != NB_OK)
        fprintf(stderr, "refine: %s\n", err.msg);
    assert_int_equal(st, NB_OK);
    printf("  %s, %s: %d steps, loss %.8g -> %.8g (%s)\n", method == NB_REFINE_LM ? "LM" : "L-BFGS",
           loss == NB_LOSS_LSQ ? "least squares" : "Poisson", res.iterations, res.loss_history[0], res.loss, res.stop);
    for (int p = 0; p < NP; ++p) {
        const double e = res.values[p] - want[p];
        printf("    %-18s %-14.8g true %-12.8g error %-10.3g limit %-9.3g std error %.3g\n", NAMES[p], res.values[p],
               want[p], e, limit(p, want), res.std_errors[p]);
        worst = fmax(worst, fabs(e) / limit(p, want));
    }
    for (int p = 0; p < NP; ++p) {
        const double e = res.values[p] - want[p];
        assert_true(fabs(e) <= limit(p, want));
        assert_true(fabs(e) <= 5.0 * res.std_errors[p]);
    }
    {
        double v;
        assert_int_equal(nb_deriv_param_get(c, "distance_mm", &v, &err), NB_OK);
        assert_true(v == res.values[6]); /* the configuration holds the result */
    }
    printf("    worst error / limit %.2f\n", worst);
    nb_refine_result_free(&res);
    free(obs);
    free(w);
    nb_config_free(c);
}

static void test_lm_poisson(void **state)
{
    (void)state;
    refine_and_check(NB_REFINE_LM, NB_LOSS_POISSON, 0.25, 1.0);
}

static void test_lbfgs_lsq(void **state)
{
    (void)state;
    refine_and_check(NB_REFINE_LBFGS, NB_LOSS_LSQ, 0.25, 0.1);
}

static void test_lm_lsq(void **state)
{
    (void)state;
    refine_and_check(NB_REFINE_LM, NB_LOSS_LSQ, 0.25, 0.1);
}

static void test_lbfgs_poisson(void **state)
{
    (void)state;
    refine_and_check(NB_REFINE_LBFGS, NB_LOSS_POISSON, 0.25, 0.1);
}

static void test_refusals(void **state)
{
    nb_config *c = truth();
    float obs[NF * NS] = {0};
    nb_observed o = {obs, NULL, NULL, NB_LOSS_LSQ};
    nb_refine_options opt;
    nb_refine_result res;
    nb_error err = {0};
    const char *bad[1] = {"pixel_mm"}, *ok[1] = {"distance_mm"};
    const double lo[1] = {60.0};
    (void)state;
    assert_int_equal(nb_refine(c, &o, bad, 1, NULL, &res, NULL, &err), NB_ERR_INVALID);
    assert_non_null(strstr(err.msg, "pixel_mm"));
    assert_int_equal(nb_refine(c, &o, ok, 0, NULL, &res, NULL, &err), NB_ERR_INVALID);
    assert_int_equal(nb_refine(NULL, &o, ok, 1, NULL, &res, NULL, &err), NB_ERR_INVALID);
    assert_int_equal(nb_refine(c, NULL, ok, 1, NULL, &res, NULL, &err), NB_ERR_INVALID);
    assert_int_equal(nb_refine(c, &o, ok, 1, NULL, NULL, NULL, &err), NB_ERR_INVALID);
    nb_refine_options_init(&opt);
    opt.method = (nb_refine_method)9;
    assert_int_equal(nb_refine(c, &o, ok, 1, &opt, &res, NULL, &err), NB_ERR_INVALID);
    assert_non_null(strstr(err.msg, "method"));
    nb_refine_options_init(&opt);
    opt.tolerance = NAN;
    assert_int_equal(nb_refine(c, &o, ok, 1, &opt, &res, NULL, &err), NB_ERR_INVALID);
    assert_non_null(strstr(err.msg, "tolerance"));
    nb_refine_options_init(&opt);
    opt.max_iterations = -1;
    assert_int_equal(nb_refine(c, &o, ok, 1, &opt, &res, NULL, &err), NB_ERR_INVALID);
    assert_non_null(strstr(err.msg, "max_iterations"));
    nb_refine_options_init(&opt);
    opt.lower = lo;
    assert_int_equal(nb_refine(c, &o, ok, 1, &opt, &res, NULL, &err), NB_ERR_INVALID);
    assert_non_null(strstr(err.msg, "distance_mm"));
    nb_refine_options_init(&opt);
    opt.pixel_fraction = 0;
    assert_int_equal(nb_refine(c, &o, ok, 1, &opt, &res, NULL, &err), NB_ERR_INVALID);
    assert_non_null(strstr(err.msg, "pixel_fraction"));
    assert_null(res.values);
    nb_config_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lm_poisson),
        cmocka_unit_test(test_lbfgs_lsq),
        cmocka_unit_test(test_lm_lsq),
        cmocka_unit_test(test_lbfgs_poisson),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
