/*
 * test_series.c - nb_series: each image's experiment gives the image of a
 * single experiment made with that image's phi_deg and misset_seed, bit
 * for bit (rotation series with mosaic and phi steps from a file of
 * structure factors; stills); the frames' values; the derived seeds; the
 * orientation matrix; argument checks.
 */
#include <string.h>

#include "support.h"

static void small(nb_config *cfg)
{
    nb_error err;
    base_config(cfg);
    assert_int_equal(nb_param_set(cfg, "detpixels", 32, &err), NB_OK);
    assert_int_equal(nb_param_set(cfg, "distance_mm", 30, &err), NB_OK);
    assert_int_equal(nb_param_set(cfg, "N", 4, &err), NB_OK);
    set_cell(cfg, 30, 40, 50, 90, 90, 90);
}

static void render(const nb_experiment *exp, nb_image *img)
{
    nb_error err;
    assert_int_equal(nb_simulate(exp, NULL, img, &err), NB_OK);
}

/* Image k of the series against nb_experiment_create of cfg with the frame's values. */
static void check_image(const nb_series *s, const nb_config *cfg, int k)
{
    nb_series_frame fr;
    nb_experiment *a = NULL, *b;
    nb_config *one = nb_config_copy(cfg);
    nb_image ia, ib;
    nb_error err;
    assert_non_null(one);
    assert_int_equal(nb_series_frame_of(s, k, &fr, &err), NB_OK);
    assert_int_equal(nb_series_experiment(s, k, NULL, &a, &err), NB_OK);
    assert_int_equal(nb_param_set(one, "phi_deg", fr.phi_deg, &err), NB_OK);
    if (fr.own_orientation)
        assert_int_equal(nb_param_set(one, "misset_seed", (double)fr.misset_seed, &err), NB_OK);
    b = create(one);
    render(a, &ia);
    render(b, &ib);
    assert_memory_equal(ia.data, ib.data, sizeof(float) * 32 * 32);
    assert_true(ia.max_I > 0);
    nb_image_free(&ia);
    nb_image_free(&ib);
    nb_experiment_free(a);
    nb_experiment_free(b);
    nb_config_free(one);
}

static void test_rotation(void **state)
{
    nb_config *cfg = nb_config_new();
    nb_series *s = NULL;
    nb_series_frame fr;
    nb_error err;
    (void)state;
    small(cfg);
    assert_int_equal(nb_param_set(cfg, "phi_deg", 10, &err), NB_OK);
    assert_int_equal(nb_param_set(cfg, "osc_deg", 0.1, &err), NB_OK);
    assert_int_equal(nb_param_set(cfg, "phisteps", 2, &err), NB_OK);
    assert_int_equal(nb_param_set(cfg, "mosaic_spread_deg", 0.3, &err), NB_OK);
    assert_int_equal(nb_param_set(cfg, "mosaic_domains", 3, &err), NB_OK);
    assert_int_equal(nb_series_create(cfg, 30, NULL, &s, &err), NB_OK);
    assert_int_equal(nb_series_count(s), 30);
    /* 10 + 29 x 0.1 is 12.899999999999999 in doubles: the frame says 12.9 */
    assert_int_equal(nb_series_frame_of(s, 30, &fr, &err), NB_OK);
    assert_true(fr.phi_deg == 12.9);
    assert_true(fr.osc_deg == 0.1);
    assert_int_equal(fr.own_orientation, 0);
    check_image(s, cfg, 1);
    check_image(s, cfg, 2);
    check_image(s, cfg, 30);
    assert_int_equal(nb_series_frame_of(s, 31, &fr, &err), NB_ERR_INVALID);
    assert_non_null(strstr(err.msg, "image 31 is not in the series (1 to 30)"));
    assert_int_equal(nb_series_frame_of(s, 0, &fr, &err), NB_ERR_INVALID);
    nb_series_free(s);
    nb_config_free(cfg);
}

static void test_stills(void **state)
{
    nb_config *cfg = nb_config_new();
    nb_series *s = NULL;
    nb_series_frame f1, f2;
    nb_experiment *e1, *e2;
    double A1[9], A2[9];
    nb_error err;
    (void)state;
    small(cfg);
    assert_int_equal(nb_param_set(cfg, "misset_random", 1, &err), NB_OK);
    assert_int_equal(nb_param_set(cfg, "misset_seed", 77, &err), NB_OK);
    assert_int_equal(nb_series_create(cfg, 3, NULL, &s, &err), NB_OK);
    assert_int_equal(nb_series_frame_of(s, 1, &f1, &err), NB_OK);
    assert_int_equal(nb_series_frame_of(s, 2, &f2, &err), NB_OK);
    assert_int_equal(f1.own_orientation, 1);
    assert_int_equal(f1.misset_seed, 77);
    assert_int_equal(f2.misset_seed, nb_series_seed(77, 2));
    check_image(s, cfg, 1);
    check_image(s, cfg, 3);
    /* the orientations differ, and each matrix is a rotation of the cell:
       |a*| lambda = lambda / 30 A for this orthogonal cell */
    assert_int_equal(nb_series_experiment(s, 1, NULL, &e1, &err), NB_OK);
    assert_int_equal(nb_series_experiment(s, 2, NULL, &e2, &err), NB_OK);
    nb_experiment_orientation(e1, A1);
    nb_experiment_orientation(e2, A2);
    assert_near(sqrt(A1[0] * A1[0] + A1[3] * A1[3] + A1[6] * A1[6]), 1.0 / 30, 1e-12);
    assert_near(sqrt(A2[2] * A2[2] + A2[5] * A2[5] + A2[8] * A2[8]), 1.0 / 50, 1e-12);
    assert_true(fabs(A1[0] - A2[0]) > 1e-4 || fabs(A1[3] - A2[3]) > 1e-4);
    nb_experiment_free(e1);
    nb_experiment_free(e2);
    nb_series_free(s);
    nb_config_free(cfg);
}

/* The matrix at phi: a* turned about the spindle (MOSFLM: +z) by phi. */
static void test_orientation_phi(void **state)
{
    nb_config *cfg = nb_config_new();
    nb_experiment *e;
    double A[9];
    nb_error err;
    (void)state;
    small(cfg);
    assert_int_equal(nb_param_set(cfg, "phi_deg", 90, &err), NB_OK);
    e = create(cfg);
    nb_experiment_orientation(e, A);
    /* a* along x (1/30 A^-1) turned by 90 degrees about z: along y */
    assert_vec(((double[3]){A[0], A[3], A[6]}), 0, 1.0 / 30, 0, 1e-15);
    assert_vec(((double[3]){A[2], A[5], A[8]}), 0, 0, 1.0 / 50, 1e-15);
    nb_experiment_free(e);
    nb_config_free(cfg);
}

static void test_seeds(void **state)
{
    (void)state;
    assert_int_equal(nb_series_seed(5, 1), 5);
    assert_int_equal(nb_series_seed(-5, 1), -5);
    for (int k = 2; k < 1000; ++k) {
        long s = nb_series_seed(5, k);
        assert_true(s >= 1 && s <= 2147483646L);
        assert_true(s != nb_series_seed(5, k + 1));
        assert_true(s != nb_series_seed(6, k));
        assert_int_equal(s, nb_series_seed(5, k)); /* a function of its arguments */
    }
}

static void test_refusals(void **state)
{
    nb_config *cfg = nb_config_new();
    nb_series *s = (nb_series *)cfg; /* must be set to NULL on failure */
    nb_experiment *e = NULL;
    nb_error err;
    (void)state;
    small(cfg);
    assert_int_equal(nb_series_create(cfg, 0, NULL, &s, &err), NB_ERR_INVALID);
    assert_null(s);
    assert_non_null(strstr(err.msg, "nimages = 0 is out of range"));
    assert_int_equal(nb_series_create(NULL, 2, NULL, &s, &err), NB_ERR_INVALID);
    assert_int_equal(nb_series_create(cfg, 2, NULL, NULL, &err), NB_ERR_INVALID);
    /* a configuration that cannot be set up: no cell */
    {
        nb_config *bad = nb_config_new();
        assert_int_equal(nb_param_set(bad, "default_F", 1, &err), NB_OK);
        assert_int_equal(nb_series_create(bad, 2, NULL, &s, &err), NB_ERR_USAGE);
        assert_null(s);
        nb_config_free(bad);
    }
    /* a phi beyond the parameter's range at the last image */
    assert_int_equal(nb_param_set(cfg, "osc_deg", 1e5, &err), NB_OK);
    assert_int_equal(nb_series_create(cfg, 100, NULL, &s, &err), NB_OK);
    assert_int_equal(nb_series_experiment(s, 100, NULL, &e, &err), NB_ERR_INVALID);
    assert_null(e);
    assert_non_null(strstr(err.msg, "phi_deg"));
    nb_series_free(s);
    nb_series_free(NULL);
    nb_config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rotation),        cmocka_unit_test(test_stills),
        cmocka_unit_test(test_orientation_phi), cmocka_unit_test(test_seeds),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
