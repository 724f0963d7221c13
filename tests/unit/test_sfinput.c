/*
 * test_sfinput.c - structure factors from an atomic model (model_path)
 * against a direct summation worked here: the test writes a PDB file of
 * random atoms (C, N, O, S; occupancies and B factors of their own) in
 * P 21 21 21, simulates from it through the public API, and compares |F|
 * of a few reflections (and of symmetry mates and Friedel mates, and one at
 * the detector's edge) with
 *   F(h) = sum over atoms and the four operators (R, t) of
 *          occ f0(s) exp(-B s^2) exp(2 pi i h.(R x + t)),  s = 1/(2d),
 * f0 from the International Tables (1992) four-Gaussian coefficients
 * (typed below from the published table), to 1e-4 relative.
 * The summation's symmetry operators and geometry are the test's own.
 * Skipped in a build without gemmi.
 */
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
#include "sfio.h"

SCRATCH_GROUP("nb_sfinput")

#define NATOMS 10
static const double CELL[3] = {36.5, 41.25, 45.75}; /* P 21 21 21: orthorhombic */

typedef struct atom {
    const char *el;
    double xyz[3], occ, B;
} atom;

/* International Tables for Crystallography Vol. C (1992), Table 6.1.1.4:
   a1..a4, b1..b4, c. */
static const struct { const char *el; double a[4], b[4], c; } IT92[] = {
    {"C", {2.31, 1.02, 1.5886, 0.865}, {20.8439, 10.2075, 0.5687, 51.6512}, 0.2156},
    {"N", {12.2126, 3.1322, 2.0125, 1.1663}, {0.0057, 9.8933, 28.9975, 0.5826}, -11.529},
    {"O", {3.0485, 2.2868, 1.5463, 0.867}, {13.2771, 5.7011, 0.3239, 32.9089}, 0.2508},
    {"S", {6.9053, 5.2034, 1.4379, 1.5863}, {1.4679, 22.2151, 0.2536, 56.172}, 0.8669},
};

static double f0(const char *el, double s2)
{
    for (size_t i = 0; i < sizeof IT92 / sizeof IT92[0]; ++i)
        if (strcmp(IT92[i].el, el) == 0) {
            double f = IT92[i].c;
            for (int j = 0; j < 4; ++j)
                f += IT92[i].a[j] * exp(-IT92[i].b[j] * s2);
            return f;
        }
    fail_msg("no form factor for %s", el);
    return 0.0;
}

/* Random atoms with the precision a PDB file keeps (3 decimals for
   coordinates, 2 for occupancy and B), so that the file holds them exactly. */
static void make_atoms(atom *at)
{
    static const char *els[] = {"C", "N", "O", "S"};
    unsigned long x = 12345;
    for (int i = 0; i < NATOMS; ++i) {
        at[i].el = els[i % 4];
        for (int a = 0; a < 3; ++a) {
            x = x * 6364136223846793005UL + 1442695040888963407UL;
            at[i].xyz[a] = (double)((long)((x >> 33) % (unsigned long)(CELL[a] * 1000))) / 1000.0;
        }
        at[i].occ = (double)(50 + (i * 7) % 51) / 100.0;
        at[i].B = (double)(1000 + (i * 977) % 3000) / 100.0;
    }
}

static void write_pdb(const char *path, const atom *at)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "CRYST1%9.3f%9.3f%9.3f%7.2f%7.2f%7.2f %-11s%4d\n", CELL[0], CELL[1], CELL[2], 90.0, 90.0, 90.0,
            "P 21 21 21", 4);
    for (int i = 0; i < NATOMS; ++i)
        fprintf(f, "HETATM%5d  %-2s  HOH A%4d    %8.3f%8.3f%8.3f%6.2f%6.2f          %2s\n", i + 1, at[i].el,
                i + 1, at[i].xyz[0], at[i].xyz[1], at[i].xyz[2], at[i].occ, at[i].B, at[i].el);
    fprintf(f, "END\n");
    assert_int_equal(fclose(f), 0);
}

/* |F(h k l)| by direct summation over the atoms and P 21 21 21's operators:
   (x, y, z), (-x+1/2, -y, z+1/2), (-x, y+1/2, -z+1/2), (x+1/2, -y+1/2, -z). */
static double direct_F(const atom *at, int h, int k, int l)
{
    static const int R[4][3] = {{1, 1, 1}, {-1, -1, 1}, {-1, 1, -1}, {1, -1, -1}};
    static const double T[4][3] = {{0, 0, 0}, {0.5, 0, 0.5}, {0, 0.5, 0.5}, {0.5, 0.5, 0}};
    const int hkl[3] = {h, k, l};
    const double s2 = 0.25 * (h * h / (CELL[0] * CELL[0]) + k * k / (CELL[1] * CELL[1]) + l * l / (CELL[2] * CELL[2]));
    double re = 0, im = 0;
    for (int i = 0; i < NATOMS; ++i) {
        const double w = at[i].occ * f0(at[i].el, s2) * exp(-at[i].B * s2);
        for (int o = 0; o < 4; ++o) {
            double phase = 0;
            for (int a = 0; a < 3; ++a)
                phase += hkl[a] * (R[o][a] * at[i].xyz[a] / CELL[a] + T[o][a]);
            re += w * cos(2 * M_PI * phase);
            im += w * sin(2 * M_PI * phase);
        }
    }
    return hypot(re, im);
}

static void test_model_against_direct_sum(void **state)
{
    static const int hkl[][3] = {{1, 2, 3}, {-1, 2, -3}, {1, -2, -3}, {-1, -2, -3}, {4, 0, 7}, {0, 5, 2},
                                 {7, 3, 11}, {-9, 6, 4}, {12, -8, 15}, {2, 1, 0}};
    atom at[NATOMS];
    nb_error err;
    nb_config *cfg;
    nb_experiment *exp = NULL;
    const nb_sf *sf;
    double worst = 0;
    (void)state;
    if (!nbi_sfio_available())
        skip();
    make_atoms(at);
    write_pdb(in_scratch("model.pdb"), at);
    assert_non_null(cfg = nb_config_new());
    assert_int_equal(nb_param_set_string(cfg, "model_path", in_scratch("model.pdb"), &err), NB_OK);
    assert_int_equal(nb_param_set(cfg, "lambda_A", 1.0, &err), NB_OK);
    assert_int_equal(nb_param_set(cfg, "distance_mm", 60.0, &err), NB_OK);
    assert_int_equal(nb_param_set(cfg, "pixel_mm", 0.8, &err), NB_OK);
    assert_int_equal(nb_param_set(cfg, "fpixels", 64, &err), NB_OK);
    assert_int_equal(nb_param_set(cfg, "spixels", 64, &err), NB_OK);
    if (nb_experiment_create(cfg, NULL, &exp, &err) != NB_OK)
        fail_msg("%s", err.msg);
    assert_non_null(sf = nb_experiment_sf(exp));
    for (size_t i = 0; i < sizeof hkl / sizeof hkl[0]; ++i) {
        const double want = direct_F(at, hkl[i][0], hkl[i][1], hkl[i][2]);
        const double got = nb_sf_value(sf, hkl[i][0], hkl[i][1], hkl[i][2], -1.0);
        print_message("%3d %3d %3d  model %.8g  direct %.8g\n", hkl[i][0], hkl[i][1], hkl[i][2], got, want);
        assert_true(want > 1.0); /* a reflection worth comparing */
        worst = fmax(worst, fabs(got - want) / want);
    }
    print_message("largest relative difference %.3g\n", worst);
    assert_true(worst < 1e-4);
    /* screw-axis absences are zero; the detector's corner (about 1.82 A;
       19 0 1 is 1.92 A) is covered, 1.1 A is beyond what it needs */
    assert_true(nb_sf_value(sf, 0, 0, 7, -1.0) == 0.0);
    assert_true(nb_sf_value(sf, 19, 0, 0, -1.0) == 0.0);
    assert_true(nb_sf_value(sf, 19, 0, 1, -1.0) > 0.0);
    assert_true(nb_sf_value(sf, 0, 0, 40, -1.0) == -1.0);
    nb_experiment_free(exp);
    nb_config_free(cfg);
}

/* Errors name the input: a missing model, a file that is not one. */
static void test_model_errors(void **state)
{
    nb_error err;
    nb_config *cfg;
    nb_experiment *exp = NULL;
    FILE *f;
    (void)state;
    if (!nbi_sfio_available())
        skip();
    assert_non_null(cfg = nb_config_new());
    assert_int_equal(nb_param_set(cfg, "fpixels", 8, &err), NB_OK);
    assert_int_equal(nb_param_set(cfg, "spixels", 8, &err), NB_OK);
    assert_int_equal(nb_param_set_string(cfg, "model_path", in_scratch("none.pdb"), &err), NB_OK);
    assert_int_equal(nb_experiment_create(cfg, NULL, &exp, &err), NB_ERR_IO);
    assert_non_null(strstr(err.msg, "model_path"));
    assert_non_null(f = fopen(in_scratch("empty.pdb"), "w"));
    fputs("REMARK nothing here\nEND\n", f);
    fclose(f);
    assert_int_equal(nb_param_set_string(cfg, "model_path", in_scratch("empty.pdb"), &err), NB_OK);
    assert_int_not_equal(nb_experiment_create(cfg, NULL, &exp, &err), NB_OK);
    assert_non_null(strstr(err.msg, "empty.pdb"));
    assert_null(exp);
    nb_config_free(cfg);
}

/* A small experiment's configuration (the model test's geometry). */
static nb_config *small_config(void)
{
    nb_error err;
    nb_config *cfg = nb_config_new();
    assert_non_null(cfg);
    assert_int_equal(nb_param_set(cfg, "lambda_A", 1.0, &err), NB_OK);
    assert_int_equal(nb_param_set(cfg, "distance_mm", 60.0, &err), NB_OK);
    assert_int_equal(nb_param_set(cfg, "pixel_mm", 0.8, &err), NB_OK);
    assert_int_equal(nb_param_set(cfg, "fpixels", 48, &err), NB_OK);
    assert_int_equal(nb_param_set(cfg, "spixels", 48, &err), NB_OK);
    return cfg;
}

/* The table of F an experiment made from cfg uses. */
static nb_experiment *made(const nb_config *cfg)
{
    nb_error err;
    nb_experiment *exp = NULL;
    if (nb_experiment_create(cfg, NULL, &exp, &err) != NB_OK)
        fail_msg("%s", err.msg);
    assert_non_null(nb_experiment_sf(exp));
    return exp;
}

/* Two experiments' tables of F are the same grid, value for value (bits). */
static void assert_same_sf(const nb_experiment *a, const nb_experiment *b)
{
    int oa[3], da[3], ob[3], db[3];
    long n = 0;
    nb_sf_grid(nb_experiment_sf(a), oa, da);
    nb_sf_grid(nb_experiment_sf(b), ob, db);
    assert_memory_equal(oa, ob, sizeof oa);
    assert_memory_equal(da, db, sizeof da);
    for (int h = oa[0]; h < oa[0] + da[0]; ++h)
        for (int k = oa[1]; k < oa[1] + da[1]; ++k)
            for (int l = oa[2]; l < oa[2] + da[2]; ++l) {
                const double x = nb_sf_value(nb_experiment_sf(a), h, k, l, NAN);
                const double y = nb_sf_value(nb_experiment_sf(b), h, k, l, NAN);
                if (memcmp(&x, &y, sizeof x) != 0)
                    fail_msg("F(%d %d %d): %.17g and %.17g", h, k, l, x, y);
                n += x != 0.0;
            }
    assert_true(n > 1000);
}

/* nb_config_set_atoms with the atoms of the PDB file gives the table of F
   of model_path, bit for bit, and a configuration's copy keeps them. */
static void test_atoms_as_model_file(void **state)
{
    static const double cell[6] = {36.5, 41.25, 45.75, 90, 90, 90};
    atom at[NATOMS];
    const char *el[NATOMS];
    double xyz[3 * NATOMS], occ[NATOMS], B[NATOMS];
    nb_error err;
    nb_config *file, *arrays, *copy;
    nb_experiment *a, *b, *c;
    (void)state;
    if (!nbi_sfio_available())
        skip();
    make_atoms(at);
    write_pdb(in_scratch("atoms.pdb"), at);
    for (int i = 0; i < NATOMS; ++i) {
        el[i] = at[i].el, occ[i] = at[i].occ, B[i] = at[i].B;
        memcpy(xyz + 3 * i, at[i].xyz, sizeof at[i].xyz);
    }
    file = small_config();
    arrays = small_config();
    assert_int_equal(nb_param_set_string(file, "model_path", in_scratch("atoms.pdb"), &err), NB_OK);
    if (nb_config_set_atoms(arrays, NATOMS, el, xyz, occ, B, NULL, cell, "P 21 21 21", &err) != NB_OK)
        fail_msg("%s", err.msg);
    assert_non_null(copy = nb_config_copy(arrays));
    a = made(file), b = made(arrays);
    nb_config_free(arrays); /* the copy holds its own atoms */
    c = made(copy);
    assert_same_sf(a, b);
    assert_same_sf(a, c);
    nb_experiment_free(a), nb_experiment_free(b), nb_experiment_free(c);
    /* a file set afterwards replaces the atoms */
    assert_int_equal(nb_param_set_string(copy, "model_path", in_scratch("atoms.pdb"), &err), NB_OK);
    a = made(copy);
    nb_experiment_free(a);
    nb_config_free(copy);
    nb_config_free(file);
}

/* nb_config_set_reflections of an asymmetric unit gives the table of the
   same list as an "h k l F" file with spacegroup, bit for bit; an anomalous
   pair puts F(-) at the Friedel mates; intensities give sqrt(max(I, 0)). */
static void test_reflections_as_hkl_file(void **state)
{
    static const double cell[6] = {36.5, 41.25, 45.75, 90, 90, 90};
    enum { M = 8 };
    int h[M * M * M], k[M * M * M], l[M * M * M];
    double F[M * M * M], Fm[M * M * M], I[M * M * M];
    size_t n = 0;
    nb_error err;
    nb_config *file, *arrays;
    nb_experiment *a, *b;
    FILE *f;
    (void)state;
    if (!nbi_sfio_available())
        skip();
    assert_non_null(f = fopen(in_scratch("asu.hkl"), "w"));
    for (int x = 0; x < M; ++x) /* P 21 21 21's asymmetric unit: h, k, l >= 0 */
        for (int y = 0; y < M; ++y)
            for (int z = 0; z < M; ++z) {
                h[n] = x, k[n] = y, l[n] = z;
                F[n] = 10.0 + 7.0 * sin(1.7 * (double)n) * sin(0.3 * x + y);
                Fm[n] = 0.9 * F[n];
                I[n] = n % 7 == 3 ? -F[n] : F[n] * F[n];
                fprintf(f, "%d %d %d %.17g\n", x, y, z, F[n]);
                ++n;
            }
    assert_int_equal(fclose(f), 0);
    file = small_config();
    arrays = small_config();
    assert_int_equal(nb_param_set_string(file, "hkl_path", in_scratch("asu.hkl"), &err), NB_OK);
    assert_int_equal(nb_param_set_string(file, "spacegroup", "19", &err), NB_OK);
    assert_int_equal(nb_param_set_array(file, "cell", cell, 6, &err), NB_OK);
    if (nb_config_set_reflections(arrays, n, h, k, l, F, NULL, 0, cell, "P 21 21 21", &err) != NB_OK)
        fail_msg("%s", err.msg);
    a = made(file), b = made(arrays);
    assert_same_sf(a, b);
    nb_experiment_free(b);
    /* the space group parameter replaces the one given with the arrays */
    assert_int_equal(nb_param_set_string(arrays, "spacegroup", "P 21 21 21", &err), NB_OK);
    assert_int_equal(nb_config_set_reflections(arrays, n, h, k, l, F, NULL, 0, cell, "P 2 2 2", &err), NB_OK);
    b = made(arrays);
    assert_same_sf(a, b);
    nb_experiment_free(b);
    assert_int_equal(nb_param_unset(arrays, "spacegroup", &err), NB_OK);
    /* anomalous pairs, intensities */
    assert_int_equal(nb_config_set_reflections(arrays, n, h, k, l, F, Fm, 0, cell, "P 21 21 21", &err), NB_OK);
    b = made(arrays);
    assert_true(nb_sf_value(nb_experiment_sf(b), 1, 2, 3, 0) == F[1 * M * M + 2 * M + 3]);
    assert_true(nb_sf_value(nb_experiment_sf(b), -1, -2, -3, 0) == Fm[1 * M * M + 2 * M + 3]);
    assert_true(nb_sf_value(nb_experiment_sf(b), -1, 2, -3, 0) == F[1 * M * M + 2 * M + 3]); /* 2-fold along y */
    nb_experiment_free(b);
    assert_int_equal(nb_config_set_reflections(arrays, n, h, k, l, I, NULL, 1, cell, "P 21 21 21", &err), NB_OK);
    b = made(arrays);
    assert_true(nb_sf_value(nb_experiment_sf(b), 1, 2, 3, -1) == sqrt(I[1 * M * M + 2 * M + 3]));
    assert_true(nb_sf_value(nb_experiment_sf(b), 0, 0, 3, -1) == 0.0); /* I < 0 and the 2_1 absence */
    assert_true(nb_sf_value(nb_experiment_sf(b), 0, 0, 2, -1) == sqrt(I[2]));
    nb_experiment_free(b);
    nb_experiment_free(a);
    nb_config_free(file);
    nb_config_free(arrays);
}

/* The table an experiment made from a file whose cell was the crystal's
   keeps that cell: a configuration given it (nb_config_set_sf) and no cell
   makes the same crystal (the same image, bit for bit); one with a cell of
   its own keeps its own. */
static void test_table_keeps_the_cell(void **state)
{
    static const double other[6] = {40, 40, 40, 90, 90, 90};
    atom at[NATOMS];
    double cell[6];
    size_t n;
    nb_error err;
    nb_config *file = small_config(), *table = small_config();
    nb_experiment *a, *b;
    nb_image ia, ib;
    (void)state;
    if (!nbi_sfio_available())
        skip();
    make_atoms(at);
    write_pdb(in_scratch("cell.pdb"), at);
    assert_int_equal(nb_param_set_string(file, "model_path", in_scratch("cell.pdb"), &err), NB_OK);
    a = made(file);
    assert_int_equal(nb_config_set_sf(table, nb_experiment_sf(a), &err), NB_OK);
    assert_int_equal(nb_param_get_array(table, "cell", cell, 6, &n, &err), NB_OK);
    assert_true(cell[0] == CELL[0] && cell[1] == CELL[1] && cell[2] == CELL[2] && cell[5] == 90.0);
    b = made(table);
    assert_int_equal(nb_simulate(a, NULL, &ia, &err), NB_OK);
    assert_int_equal(nb_simulate(b, NULL, &ib, &err), NB_OK);
    assert_true(ia.max_I > 0);
    assert_memory_equal(ia.data, ib.data, sizeof(float) * (size_t)ia.fpixels * (size_t)ia.spixels);
    nb_image_free(&ia), nb_image_free(&ib);
    nb_experiment_free(b);
    nb_config_free(table);
    table = small_config();
    assert_int_equal(nb_param_set_array(table, "cell", other, 6, &err), NB_OK);
    assert_int_equal(nb_config_set_sf(table, nb_experiment_sf(a), &err), NB_OK);
    assert_int_equal(nb_param_get_array(table, "cell", cell, 6, &n, &err), NB_OK);
    assert_true(cell[0] == 40.0);
    nb_experiment_free(a);
    nb_config_free(table);
    nb_config_free(file);
}

/* Errors of the arrays name what is wrong. */
static void test_array_errors(void **state)
{
    static const double cell[6] = {36.5, 41.25, 45.75, 90, 90, 90}, hexagonal[6] = {40, 40, 50, 90, 90, 120};
    static const double nocell[6] = {36.5, -1, 45.75, 90, 90, 90};
    const int h[2] = {1, 0}, k[2] = {2, 1}, l[2] = {3, 1}, big[2] = {1, 2000000000};
    const double F[2] = {5, 6}, none[2] = {NAN, NAN}, xyz[6] = {1, 2, 3, 4, 5, 6}, occ[2] = {1, 1};
    const double B[2] = {20, 20}, badB[2] = {20, INFINITY};
    const char *el[2] = {"C", "O"}, *badel[2] = {"C", "Qq"};
    nb_error err;
    nb_config *cfg = small_config();
    nb_experiment *exp = NULL;
    (void)state;
    if (!nbi_sfio_available()) {
        assert_int_equal(nb_config_set_reflections(cfg, 2, h, k, l, F, NULL, 0, cell, "P 1", &err), NB_ERR_USAGE);
        assert_non_null(strstr(err.msg, "gemmi-dev"));
        nb_config_free(cfg);
        skip();
    }
    assert_int_equal(nb_config_set_reflections(cfg, 2, h, k, l, NULL, NULL, 0, cell, "P 1", &err), NB_ERR_INVALID);
    assert_non_null(strstr(err.msg, "F is NULL"));
    assert_int_equal(nb_config_set_reflections(cfg, 2, h, big, l, F, NULL, 0, cell, "P 1", &err), NB_ERR_INVALID);
    assert_non_null(strstr(err.msg, "1e9"));
    assert_int_equal(nb_config_set_reflections(cfg, 2, h, k, l, none, NULL, 0, cell, "P 1", &err), NB_ERR_INVALID);
    assert_non_null(strstr(err.msg, "NaN"));
    assert_int_equal(nb_config_set_reflections(cfg, 2, h, k, l, F, NULL, 0, nocell, "P 1", &err), NB_ERR_INVALID);
    assert_non_null(strstr(err.msg, "not a unit cell"));
    assert_int_equal(nb_config_set_reflections(cfg, 2, h, k, l, F, NULL, 0, cell, "P 7 7", &err), NB_ERR_INVALID);
    assert_non_null(strstr(err.msg, "P 7 7"));
    assert_int_equal(nb_config_set_reflections(cfg, 2, h, k, l, F, NULL, 0, hexagonal, "P 21 21 21", &err),
                     NB_ERR_INVALID);
    assert_non_null(strstr(err.msg, "does not fit the cell"));
    assert_int_equal(nb_config_set_atoms(cfg, 2, badel, xyz, occ, B, NULL, cell, NULL, &err), NB_ERR_INVALID);
    assert_non_null(strstr(err.msg, "atom 1"));
    assert_non_null(strstr(err.msg, "Qq"));
    assert_int_equal(nb_config_set_atoms(cfg, 2, el, xyz, occ, badB, NULL, cell, NULL, &err), NB_ERR_INVALID);
    assert_non_null(strstr(err.msg, "atom 1"));
    /* a list without a space group needs the parameter; without a cell, the configuration's */
    assert_int_equal(nb_config_set_reflections(cfg, 2, h, k, l, F, NULL, 0, NULL, NULL, &err), NB_OK);
    assert_int_equal(nb_experiment_create(cfg, NULL, &exp, &err), NB_ERR_USAGE);
    assert_non_null(strstr(err.msg, "spacegroup"));
    assert_int_equal(nb_param_set_string(cfg, "spacegroup", "P 1", &err), NB_OK);
    assert_int_equal(nb_experiment_create(cfg, NULL, &exp, &err), NB_ERR_USAGE);
    assert_non_null(strstr(err.msg, "cell"));
    assert_int_equal(nb_param_set_array(cfg, "cell", cell, 6, &err), NB_OK);
    exp = made(cfg);
    nb_experiment_free(exp);
    /* atoms without a space group: P 1; n = 0 removes them */
    assert_int_equal(nb_param_unset(cfg, "spacegroup", &err), NB_OK);
    assert_int_equal(nb_config_set_atoms(cfg, 2, el, xyz, occ, B, NULL, NULL, NULL, &err), NB_OK);
    exp = made(cfg);
    nb_experiment_free(exp);
    assert_int_equal(nb_config_set_atoms(cfg, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, &err), NB_OK);
    assert_int_equal(nb_experiment_create(cfg, NULL, &exp, &err), NB_ERR_USAGE);
    assert_non_null(strstr(err.msg, "no structure factors"));
    nb_config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_model_against_direct_sum),
        cmocka_unit_test(test_model_errors),
        cmocka_unit_test(test_atoms_as_model_file),
        cmocka_unit_test(test_reflections_as_hkl_file),
        cmocka_unit_test(test_table_keeps_the_cell),
        cmocka_unit_test(test_array_errors),
    };
    return cmocka_run_group_tests(tests, scratch_setup, scratch_teardown);
}
