/*
 * test_hkl_random.c - tests of the nanobragg-hkl-random tool (path in
 * NB_TOOL), run in a scratch folder: F000 is the number of atoms times
 * f(0); Friedel mates are equal (mirror mates are not); one atom gives
 * |F| = f(s) exp(-B s^2/4), with s from an independent triclinic reciprocal
 * cell, for exactly the reflections with d >= d_min; random atoms follow
 * Wilson's <|F|^2> = N f^2; the same seed gives the same file, another seed
 * another; --no-f000 leaves out only 0 0 0.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../unit/scratch.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define PI 3.14159265358979323846
#define CARBON_F0 5.9992
#define INDEX_MAX 40 /* brute-force search box, beyond every table below */

typedef struct {
    int h, k, l;
    double F;
} reflection;

typedef struct {
    reflection *r;
    size_t n;
} table;

/* ---------------------------------------------------------------- helpers */

/* Run the tool with args, writing name in the scratch folder; its exit status. */
static int run_tool(const char *args, const char *name)
{
    char cmd[1024];
    int status;
    snprintf(cmd, sizeof cmd, "'%s' %s '%s' > /dev/null", NB_TOOL, args, in_scratch(name));
    status = system(cmd);
    return status >= 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static table read_table(const char *name)
{
    FILE *fp = fopen(in_scratch(name), "r");
    table t = {NULL, 0};
    size_t cap = 0;
    reflection e;
    int got;
    assert_non_null(fp);
    while ((got = fscanf(fp, "%d %d %d %lf", &e.h, &e.k, &e.l, &e.F)) == 4) {
        if (t.n == cap) {
            cap = cap ? 2 * cap : 1024;
            t.r = realloc(t.r, cap * sizeof *t.r);
            assert_non_null(t.r);
        }
        t.r[t.n++] = e;
    }
    assert_int_equal(got, EOF);
    fclose(fp);
    return t;
}

static const reflection *find(const table *t, int h, int k, int l)
{
    size_t i;
    for (i = 0; i < t->n; i++)
        if (t->r[i].h == h && t->r[i].k == k && t->r[i].l == l)
            return &t->r[i];
    return NULL;
}

/* Carbon's Cromer-Mann factor at stol2 = (sin(theta)/lambda)^2. */
static double carbon_f(double stol2)
{
    return 2.31 * exp(-20.8439 * stol2) + 1.02 * exp(-10.2075 * stol2) +
           1.5886 * exp(-0.5687 * stol2) + 0.865 * exp(-51.6512 * stol2) + 0.2156;
}

static void cross(const double a[3], const double b[3], double out[3])
{
    out[0] = a[1] * b[2] - a[2] * b[1];
    out[1] = a[2] * b[0] - a[0] * b[2];
    out[2] = a[0] * b[1] - a[1] * b[0];
}

/* Reciprocal vectors of a cell (A, degrees), from real-space vectors with a
   along x and b in the xy plane: a* = b x c / V, ... */
static void reciprocal_cell(const double cell[6], double rec[3][3])
{
    double al = cell[3] * PI / 180, be = cell[4] * PI / 180, ga = cell[5] * PI / 180;
    double a[3] = {cell[0], 0, 0};
    double b[3] = {cell[1] * cos(ga), cell[1] * sin(ga), 0};
    double cx = cos(be), cy = (cos(al) - cos(be) * cos(ga)) / sin(ga);
    double c[3] = {cell[2] * cx, cell[2] * cy, cell[2] * sqrt(1 - cx * cx - cy * cy)};
    double bc[3], v;
    int i;
    cross(b, c, bc);
    v = a[0] * bc[0] + a[1] * bc[1] + a[2] * bc[2];
    cross(b, c, rec[0]);
    cross(c, a, rec[1]);
    cross(a, b, rec[2]);
    for (i = 0; i < 3; i++) {
        rec[i][0] /= v;
        rec[i][1] /= v;
        rec[i][2] /= v;
    }
}

/* 1/d^2 of h k l (A^-2). */
static double inv_d2(double rec[3][3], int h, int k, int l)
{
    double s[3];
    int i;
    for (i = 0; i < 3; i++)
        s[i] = h * rec[0][i] + k * rec[1][i] + l * rec[2][i];
    return s[0] * s[0] + s[1] * s[1] + s[2] * s[2];
}

static int files_equal(const char *a, const char *b)
{
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "cmp -s '%s' '%s'", a, b);
    return system(cmd) == 0;
}

/* ---------------------------------------------------------------- tests */

static void f000_is_atoms_times_f0(void **state)
{
    table t;
    const reflection *r;
    (void)state;
    assert_int_equal(run_tool("--cell 30 40 50 80 95 105 --dmin 5 --atoms 37 --seed 5 --bfactor 30",
                              "f000.hkl"),
                     0);
    t = read_table("f000.hkl");
    r = find(&t, 0, 0, 0);
    assert_non_null(r);
    assert_true(fabs(r->F - 37 * CARBON_F0) <= 1e-3);
    free(t.r);
}

/* F(-h -k -l) = F(h k l), while random atoms have no mirror: in an
   orthorhombic cell F(-h k l) differs from F(h k l) for most reflections. */
static void friedel_mates_equal(void **state)
{
    table t;
    size_t i, mirror_differs = 0;
    (void)state;
    assert_int_equal(run_tool("--cell 30 40 50 90 90 90 --dmin 4 --atoms 50 --seed 9",
                              "friedel.hkl"),
                     0);
    t = read_table("friedel.hkl");
    assert_true(t.n > 1000);
    assert_int_equal(t.n % 2, 1); /* pairs and 0 0 0 */
    for (i = 0; i < t.n; i++) {
        const reflection *r = &t.r[i], *mate = find(&t, -r->h, -r->k, -r->l);
        assert_non_null(mate);
        assert_true(mate->F == r->F);
        mate = find(&t, -r->h, r->k, r->l); /* the same d in this cell */
        assert_non_null(mate);
        mirror_differs += mate->F != r->F;
    }
    assert_true(mirror_differs > t.n / 2);
    free(t.r);
}

/* One atom: |F| = f(s) exp(-B s^2/4) with s = 1/d from the reciprocal cell,
   for every h k l with d >= d_min and no other. */
static void one_atom_triclinic(void **state)
{
    static const double cell[6] = {31, 37, 43, 71, 83, 97};
    const double dmin = 3.1, bfactor = 15, limit = 1 / (dmin * dmin);
    double rec[3][3];
    table t;
    size_t i, inside = 0;
    int h, k, l;
    (void)state;
    assert_int_equal(run_tool("--cell 31 37 43 71 83 97 --dmin 3.1 --atoms 1 --bfactor 15 --seed 3",
                              "one.hkl"),
                     0);
    t = read_table("one.hkl");
    reciprocal_cell(cell, rec);
    for (i = 0; i < t.n; i++) {
        const reflection *r = &t.r[i];
        double q = inv_d2(rec, r->h, r->k, r->l), expect = carbon_f(q / 4) * exp(-bfactor * q / 4);
        assert_true(q <= limit * (1 + 1e-9));
        if (fabs(r->F - expect) > 1e-4)
            fail_msg("%d %d %d: F %.4f, expected %.6f", r->h, r->k, r->l, r->F, expect);
    }
    for (h = -INDEX_MAX; h <= INDEX_MAX; h++)
        for (k = -INDEX_MAX; k <= INDEX_MAX; k++)
            for (l = -INDEX_MAX; l <= INDEX_MAX; l++)
                if (inv_d2(rec, h, k, l) <= limit * (1 - 1e-9)) {
                    if (!find(&t, h, k, l))
                        fail_msg("%d %d %d (d = %g A) is missing", h, k, l,
                                 1 / sqrt(inv_d2(rec, h, k, l)));
                    inside++;
                }
    assert_int_equal(inside, t.n);
    free(t.r);
}

/* Random atoms: <|F|^2> / (N f^2 exp(-B s^2/2)) = 1 (Wilson). */
static void wilson_mean_intensity(void **state)
{
    double rec[3][3], sum = 0;
    static const double cell[6] = {40, 40, 60, 90, 90, 120};
    table t;
    size_t i, n = 0;
    (void)state;
    assert_int_equal(run_tool("--cell 40 40 60 90 90 120 --dmin 3 --atoms 200 --bfactor 20",
                              "wilson.hkl"),
                     0);
    t = read_table("wilson.hkl");
    reciprocal_cell(cell, rec);
    for (i = 0; i < t.n; i++) {
        double q = inv_d2(rec, t.r[i].h, t.r[i].k, t.r[i].l);
        double f = carbon_f(q / 4) * exp(-20 * q / 4);
        if (q == 0)
            continue;
        sum += t.r[i].F * t.r[i].F / (200 * f * f);
        n++;
    }
    assert_true(n > 5000);
    if (fabs(sum / (double)n - 1) > 0.1)
        fail_msg("<|F|^2>/(N f^2) = %g over %zu reflections", sum / (double)n, n);
    free(t.r);
}

static void seed_decides(void **state)
{
    const char *args = "--cell 20 20 20 90 90 90 --dmin 4 --atoms 10 --seed 42";
    char a[512];
    (void)state;
    assert_int_equal(run_tool(args, "s1.hkl"), 0);
    assert_int_equal(run_tool(args, "s2.hkl"), 0);
    assert_int_equal(run_tool("--cell 20 20 20 90 90 90 --dmin 4 --atoms 10 --seed 43", "s3.hkl"),
                     0);
    snprintf(a, sizeof a, "%s", in_scratch("s1.hkl"));
    assert_true(files_equal(a, in_scratch("s2.hkl")));
    assert_false(files_equal(a, in_scratch("s3.hkl")));
}

static void no_f000(void **state)
{
    table with, without;
    size_t i;
    (void)state;
    assert_int_equal(run_tool("--cell 20 20 20 90 90 90 --dmin 4 --atoms 10", "with.hkl"), 0);
    assert_int_equal(run_tool("--cell 20 20 20 90 90 90 --dmin 4 --atoms 10 --no-f000",
                              "without.hkl"),
                     0);
    with = read_table("with.hkl");
    without = read_table("without.hkl");
    assert_non_null(find(&with, 0, 0, 0));
    assert_null(find(&without, 0, 0, 0));
    assert_int_equal(without.n + 1, with.n);
    for (i = 0; i < without.n; i++) {
        const reflection *r = &without.r[i], *w = find(&with, r->h, r->k, r->l);
        assert_non_null(w);
        assert_true(w->F == r->F);
    }
    free(with.r);
    free(without.r);
}

/* ---------------------------------------------------------------- main */

SCRATCH_GROUP("nb_test_hkl_random")

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(f000_is_atoms_times_f0),
        cmocka_unit_test(friedel_mates_equal),
        cmocka_unit_test(one_atom_triclinic),
        cmocka_unit_test(wilson_mean_intensity),
        cmocka_unit_test(seed_decides),
        cmocka_unit_test(no_f000),
    };
    return cmocka_run_group_tests(tests, scratch_setup, scratch_teardown);
}
