/*
 * support.h - helpers shared by the cmocka unit tests (tests/unit/test_*.c).
 *
 * Everything here is a macro or a static inline function, so each test
 * executable gets its own copy and an unused helper costs nothing (no
 * -Wunused-function).  The header includes what it needs itself: cmocka.h
 * with the headers cmocka wants before it, <math.h>, and experiment.h.
 *
 *   DEG                           degrees to radians (M_PI / 180).
 *   assert_near(a, b, tol)        fails unless |a - b| <= tol, printing the
 *                                 expression, both values to 17 digits and
 *                                 the tolerance (a NaN always fails).
 *   assert_vec(v, x, y, z, tol)   the same for a double[3] against (x, y, z),
 *                                 component by component.
 *   dot(a, b), cross(a, b, out)   3-vector dot and cross products.
 *   det3(u)                       determinant of a row-major 3x3 matrix.
 *   set_cell(cfg, a, b, c, al, be, ga)
 *                                 -cell a b c al be ga: lengths in A, angles
 *                                 in degrees; sets user_cell.
 *   base_config(cfg)              nanoBragg's defaults (nb_config_init:
 *                                 MOSFLM, 1024x1024 0.1 mm pixels at 100 mm,
 *                                 1 A) plus what a run needs: -default_F 1
 *                                 -cell 100 100 100 90 90 90, no Fdump,
 *                                 -oversample 1.
 *   create(cfg)                   nb_experiment_create that must succeed:
 *                                 prints the library's message on failure,
 *                                 asserts NB_OK and a non-NULL experiment.
 */
#ifndef NB_TESTS_UNIT_SUPPORT_H
#define NB_TESTS_UNIT_SUPPORT_H

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "experiment.h"

#define DEG (M_PI / 180.0)

/* ------------------------------------------------------------ assertions */

#define assert_near(a, b, tol) near_impl((a), (b), (tol), #a, __FILE__, __LINE__)
static inline void near_impl(double a, double b, double tol, const char *what, const char *file,
                             int line)
{
    if (!(fabs(a - b) <= tol)) {
        print_error("%s = %.17g, expected %.17g (tolerance %g)\n", what, a, b, tol);
        _fail(file, line);
    }
}

#define assert_vec(v, x, y, z, tol) vec_impl((v), (x), (y), (z), (tol), #v, __FILE__, __LINE__)
static inline void vec_impl(const double v[3], double x, double y, double z, double tol,
                            const char *what, const char *file, int line)
{
    if (!(fabs(v[0] - x) <= tol && fabs(v[1] - y) <= tol && fabs(v[2] - z) <= tol)) {
        print_error("%s = (%.17g, %.17g, %.17g), expected (%.17g, %.17g, %.17g) (tolerance %g)\n",
                    what, v[0], v[1], v[2], x, y, z, tol);
        _fail(file, line);
    }
}

/* ------------------------------------------------------------ vectors */

static inline double dot(const double a[3], const double b[3])
{
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}

static inline void cross(const double a[3], const double b[3], double out[3])
{
    out[0] = a[1] * b[2] - a[2] * b[1];
    out[1] = a[2] * b[0] - a[0] * b[2];
    out[2] = a[0] * b[1] - a[1] * b[0];
}

static inline double det3(const double u[9])
{
    return u[0] * (u[4] * u[8] - u[5] * u[7]) - u[1] * (u[3] * u[8] - u[5] * u[6])
           + u[2] * (u[3] * u[7] - u[4] * u[6]);
}

/* ------------------------------------------------------------ experiments */

static inline void set_cell(nb_config *cfg, double a, double b, double c, double al, double be,
                            double ga)
{
    cfg->user_cell = 1;
    cfg->cell_A[0] = a;
    cfg->cell_A[1] = b;
    cfg->cell_A[2] = c;
    cfg->cell_rad[0] = al * DEG;
    cfg->cell_rad[1] = be * DEG;
    cfg->cell_rad[2] = ga * DEG;
}

static inline void base_config(nb_config *cfg)
{
    nbi_config_init(cfg);
    cfg->fdump_path = NULL;
    cfg->default_F = 1.0;
    set_cell(cfg, 100, 100, 100, 90, 90, 90);
    cfg->oversample = 1;
}

static inline nb_experiment *create(const nb_config *cfg)
{
    nb_experiment *e = NULL;
    nb_error err = {{0}};
    nb_status st = nb_experiment_create(cfg, NULL, &e, &err);
    if (st != NB_OK)
        print_error("nb_experiment_create: %s\n", err.msg);
    assert_int_equal(st, NB_OK);
    assert_non_null(e);
    return e;
}

#endif
