/*
 * test_api.c - the public API alone (include/nanobragg.h): a reference case
 * built from parameters by name and data as arrays, with no file read or
 * written and no clock read, gives the program's float image bit for bit;
 * a region and 1,000 random pixels give exactly those pixels of the full
 * image; parameters are checked by the library; structure factors are
 * shared; a render cancelled by its progress callback writes nothing.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "nanobragg.h"
#include "scratch.h"

SCRATCH_GROUP("nb_test_api")

static void ok(nb_status st, const nb_error *err)
{
    if (st != NB_OK)
        fail_msg("status %d: %s", (int)st, err->msg);
}

static void set(nb_config *cfg, const char *name, double v)
{
    nb_error err;
    ok(nb_param_set(cfg, name, v, &err), &err);
}

static void set_array(nb_config *cfg, const char *name, const double *v, size_t n)
{
    nb_error err;
    ok(nb_param_set_array(cfg, name, v, n, &err), &err);
}

static void set_word(nb_config *cfg, const char *name, const char *w)
{
    nb_error err;
    ok(nb_param_set_string(cfg, name, w, &err), &err);
}

/* Structure factors F = 100 for every h, k, l in -12..12 (the case's
   -default_F 100, as an array). */
static nb_sf *flat_sf(void)
{
    enum { R = 12, N = (2 * R + 1) * (2 * R + 1) * (2 * R + 1) };
    static int h[N], k[N], l[N];
    static double F[N];
    nb_sf *sf = NULL;
    nb_error err;
    int n = 0;
    for (int a = -R; a <= R; ++a)
        for (int b = -R; b <= R; ++b)
            for (int c = -R; c <= R; ++c, ++n) {
                h[n] = a, k[n] = b, l[n] = c;
                F[n] = 100.0;
            }
    ok(nb_sf_from_list(h, k, l, F, (size_t)n, 0.0, &sf, &err), &err);
    return sf;
}

/* The reference case "integrated" (tests/reference/cases/integrated/args)
   by name: cell and orientation (U = 1) as arrays, F as an array. */
static nb_config *integrated_config(nb_sf *sf)
{
    const double cell[6] = {70, 80, 90, 75, 85, 95};
    const double U[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1};
    nb_config *cfg = nb_config_new();
    nb_error err;
    assert_non_null(cfg);
    set_array(cfg, "cell", cell, 6);
    set_array(cfg, "umatrix", U, 9);
    ok(nb_config_set_sf(cfg, sf, &err), &err);
    set(cfg, "default_F", 100);
    set(cfg, "N", 5);
    set(cfg, "lambda_A", 1);
    set(cfg, "distance_mm", 100);
    set(cfg, "detpixels", 96);
    set(cfg, "mosaic_spread_deg", 0.5);
    set(cfg, "mosaic_domains", 5);
    set(cfg, "mosaic_seed", 9);
    set(cfg, "phi_deg", 0);
    set(cfg, "osc_deg", 20);
    set(cfg, "phisteps", 4);
    set(cfg, "detector_rotx_deg", 5);
    set(cfg, "detector_roty_deg", 3);
    set(cfg, "detector_rotz_deg", 2);
    set(cfg, "twotheta_deg", 10);
    set_word(cfg, "pivot", "sample"); /* the program's -twotheta implies it */
    set(cfg, "detector_abs_um", 500);
    set(cfg, "detector_thick_um", 450);
    set(cfg, "detector_thicksteps", 3);
    set(cfg, "polarization", 0.95);
    return cfg;
}

/* The program's float image of the case, run in its own directory. */
static float *program_image(const char *case_name, size_t n)
{
    char cmd[2048];
    float *img = malloc(n * sizeof *img);
    FILE *fp;
    snprintf(cmd, sizeof cmd, "cd '%s' && '%s' $(cat '%s/reference/cases/%s/args') >/dev/null 2>&1", scratch,
             NB_PROGRAM, NB_TEST_DATA_DIR, case_name);
    assert_int_equal(system(cmd), 0);
    snprintf(cmd, sizeof cmd, "%s/float.bin", scratch);
    fp = fopen(cmd, "rb");
    assert_non_null(fp);
    assert_non_null(img);
    assert_int_equal(fread(img, sizeof *img, n, fp), n);
    assert_int_equal(fgetc(fp), EOF);
    fclose(fp);
    return img;
}

static void integrated_by_api_equals_program(void **state)
{
    nb_sf *sf = flat_sf();
    nb_config *cfg = integrated_config(sf);
    nb_experiment *exp = NULL;
    nb_image img;
    nb_error err;
    char api_dir[600];
    float *prog;
    (void)state;

    /* the API run happens in an empty directory, which it must leave empty */
    snprintf(api_dir, sizeof api_dir, "%s/api", scratch);
    assert_int_equal(mkdir(api_dir, 0700), 0);
    assert_int_equal(chdir(api_dir), 0);
    ok(nb_experiment_create(cfg, NULL, &exp, &err), &err);
    ok(nb_simulate(exp, NULL, &img, &err), &err);
    assert_int_equal(count_entries(api_dir), 0);
    assert_int_equal(chdir(scratch), 0);

    assert_int_equal(img.fpixels, 96);
    assert_int_equal(img.spixels, 96);
    prog = program_image("integrated", 96 * 96);
    assert_memory_equal(img.data, prog, 96 * 96 * sizeof(float));
    assert_true(img.max_I > 0);

    /* a region and 1,000 random pixels (repeats, any order) are exactly
       those pixels of the full image */
    {
        enum { F0 = 17, S0 = 40, W = 50, H = 23, NPIX = 1000 };
        static float region[W * H], pixels[NPIX];
        static size_t index[NPIX];
        unsigned long long x = 88172645463325252ULL;
        ok(nb_render_region(exp, F0, S0, W, H, region, NULL, &err), &err);
        for (int s = 0; s < H; ++s)
            assert_memory_equal(region + s * W, img.data + (S0 + s) * 96 + F0, W * sizeof(float));
        for (int i = 0; i < NPIX; ++i) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            index[i] = (size_t)(x % (96 * 96));
        }
        ok(nb_render_pixels(exp, index, NPIX, pixels, NULL, &err), &err);
        for (int i = 0; i < NPIX; ++i)
            assert_memory_equal(&pixels[i], &img.data[index[i]], sizeof(float));
    }

    /* the experiment shares the structure factors it was given */
    assert_ptr_equal(nb_experiment_sf(exp), sf);
    free(prog);
    nb_image_free(&img);
    nb_experiment_free(exp);
    nb_config_free(cfg);
    nb_sf_free(sf);
}

/* A changed experiment from a copy of the configuration shares the same
   structure factors (no copy) and sees the change. */
static void derived_experiment_shares_sf(void **state)
{
    nb_sf *sf = flat_sf();
    nb_config *cfg = integrated_config(sf), *near;
    nb_experiment *a = NULL, *b = NULL;
    nb_image ia, ib;
    nb_error err;
    (void)state;
    nb_sf_free(sf); /* the configuration keeps its own reference */
    set(cfg, "detpixels", 32);
    set(cfg, "phisteps", 1);
    near = nb_config_copy(cfg);
    assert_non_null(near);
    set(near, "distance_mm", 90);
    ok(nb_experiment_create(cfg, NULL, &a, &err), &err);
    ok(nb_experiment_create(near, NULL, &b, &err), &err);
    assert_ptr_equal(nb_experiment_sf(a), nb_experiment_sf(b));
    ok(nb_simulate(a, NULL, &ia, &err), &err);
    ok(nb_simulate(b, NULL, &ib, &err), &err);
    assert_true(memcmp(ia.data, ib.data, 32 * 32 * sizeof(float)) != 0);
    nb_image_free(&ia);
    nb_image_free(&ib);
    nb_experiment_free(a);
    nb_config_free(cfg); /* b still holds the structure factors */
    nb_experiment_free(b);
    nb_config_free(near);
}

/* Setters check values and name the parameter; getters give the value in
   the parameter's units; unset restores the default. */
static void parameters_by_name(void **state)
{
    nb_config *cfg = nb_config_new();
    nb_error err;
    double v, cell[6];
    size_t n;
    const char *w;
    (void)state;
    assert_int_equal(nb_param_set(cfg, "distance_mm", NAN, &err), NB_ERR_INVALID);
    assert_non_null(strstr(err.msg, "distance_mm"));
    assert_int_equal(nb_param_set(cfg, "distance_mm", -5, &err), NB_ERR_INVALID);
    assert_int_equal(nb_param_set(cfg, "Na", -1, &err), NB_ERR_INVALID);
    assert_non_null(strstr(err.msg, "Na"));
    assert_int_equal(nb_param_set(cfg, "Na", 2.5, &err), NB_OK); /* real: a fractional crystal */
    assert_int_equal(nb_param_set(cfg, "no_such_thing", 1, &err), NB_ERR_INVALID);
    assert_non_null(strstr(err.msg, "no_such_thing"));
    assert_int_equal(nb_param_set_string(cfg, "shape", "cube", &err), NB_ERR_INVALID);
    assert_non_null(strstr(err.msg, "square|round"));
    assert_int_equal(nb_param_set_array(cfg, "beam_vector", cell, 2, &err), NB_ERR_INVALID);
    assert_int_equal(nb_param_is_set(cfg, "distance_mm"), 0);
    ok(nb_param_get(cfg, "distance_mm", &v, &err), &err);
    assert_true(v == 100.0);
    set(cfg, "distance_mm", 250);
    assert_int_equal(nb_param_is_set(cfg, "distance_mm"), 1);
    ok(nb_param_get(cfg, "distance_mm", &v, &err), &err);
    assert_true(fabs(v - 250) < 1e-12);
    ok(nb_param_unset(cfg, "distance_mm", &err), &err);
    ok(nb_param_get(cfg, "distance_mm", &v, &err), &err);
    assert_true(v == 100.0);
    /* derived parameters say so when unset */
    assert_int_equal(nb_param_get(cfg, "Xbeam_mm", &v, &err), NB_ERR_USAGE);
    /* a partial cell: b = c = a, right angles */
    set_array(cfg, "cell", (const double[]){50}, 1);
    ok(nb_param_get_array(cfg, "cell", cell, 6, &n, &err), &err);
    assert_int_equal(n, 6);
    assert_true(cell[2] == 50 && fabs(cell[5] - 90) < 1e-12);
    /* groups and choices */
    set(cfg, "N", 7);
    ok(nb_param_get(cfg, "Nc", &v, &err), &err);
    assert_true(v == 7);
    set_word(cfg, "convention", "xds");
    ok(nb_param_get_string(cfg, "convention", &w, &err), &err);
    assert_string_equal(w, "xds");
    set(cfg, "energy_eV", 12398.42);
    ok(nb_param_get(cfg, "lambda_A", &v, &err), &err);
    assert_true(fabs(v - 1) < 1e-12);
    /* the table: sorted, every row described */
    for (size_t i = 0; i < nb_param_count(); ++i) {
        const nb_param_info *p = nb_param_at(i);
        assert_non_null(p->help);
        assert_true(p->help[0] != '\0');
        assert_ptr_equal(nb_param_find(p->name), p);
        if (i > 0)
            assert_true(strcmp(nb_param_at(i - 1)->name, p->name) < 0);
    }
    assert_null(nb_param_at(nb_param_count()));
    nb_config_free(cfg);
}

/* Combinations are checked when the experiment is made. */
static void combinations_refused(void **state)
{
    nb_sf *sf = flat_sf();
    nb_config *cfg = integrated_config(sf);
    nb_experiment *exp = NULL;
    nb_error err;
    (void)state;
    set_array(cfg, "cell", (const double[]){50, 50, 50, 150, 150, 150}, 6);
    assert_int_equal(nb_experiment_create(cfg, NULL, &exp, &err), NB_ERR_INVALID);
    assert_null(exp);
    assert_non_null(strstr(err.msg, "cell"));
    nb_config_free(cfg);
    nb_sf_free(sf);
}

static int cancel_at_once(void *ctx, double fraction)
{
    (void)fraction;
    ++*(int *)ctx;
    return 1;
}

/* nb_module_load refuses bad arguments and names what it could not load. */
static void module_load_errors(void **state)
{
    const void *table = &table;
    char path[512];
    nb_error err;
    (void)state;
    assert_int_equal(nb_module_load(NULL, "t", "x", &table, path, sizeof path, &err), NB_ERR_INVALID);
    assert_non_null(strstr(err.msg, "file"));
    assert_int_equal(nb_module_load("m.so", "t", "x", NULL, path, sizeof path, &err), NB_ERR_INVALID);
    assert_int_equal(nb_module_load("m.so", "t", "x", &table, NULL, 0, &err), NB_ERR_INVALID);
    assert_int_equal(nb_module_load("/tmp/m.so", "t", "x", &table, path, sizeof path, &err), NB_ERR_INVALID);
    assert_non_null(strstr(err.msg, "/tmp/m.so"));
    assert_null(table);
    assert_int_equal(nb_module_load("libnanobragg-absent.so", "t", NULL, &table, path, sizeof path, &err),
                     NB_ERR_IO);
    assert_non_null(strstr(err.msg, "libnanobragg-absent.so"));
    assert_non_null(strstr(path, "libnanobragg-absent.so"));
    assert_null(table);
    assert_int_equal(nb_module_load("libnanobragg-absent.so", "t", "x", &table, path, sizeof path, NULL),
                     NB_ERR_IO);
}

static void cancelled_render_writes_nothing(void **state)
{
    nb_sf *sf = flat_sf();
    nb_config *cfg = integrated_config(sf);
    nb_experiment *exp = NULL;
    nb_image img;
    nb_error err;
    int calls = 0;
    nb_log log = {0};
    float out[16];
    (void)state;
    log.progress = cancel_at_once;
    log.progress_ctx = &calls;
    ok(nb_experiment_create(cfg, NULL, &exp, &err), &err);
    assert_int_equal(nb_simulate(exp, &log, &img, &err), NB_ERR_CANCELLED);
    assert_null(img.data);
    assert_true(calls >= 1);
    for (int i = 0; i < 16; ++i)
        out[i] = -1.0f;
    assert_int_equal(nb_render_region(exp, 0, 0, 4, 4, out, &log, &err), NB_ERR_CANCELLED);
    for (int i = 0; i < 16; ++i)
        assert_true(out[i] == -1.0f);
    nb_experiment_free(exp);
    nb_config_free(cfg);
    nb_sf_free(sf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(integrated_by_api_equals_program),
        cmocka_unit_test(derived_experiment_shares_sf),
        cmocka_unit_test(parameters_by_name),
        cmocka_unit_test(combinations_refused),
        cmocka_unit_test(cancelled_render_writes_nothing),
        cmocka_unit_test(module_load_errors),
    };
    return cmocka_run_group_tests(tests, scratch_setup, scratch_teardown);
}
