/*
 * test_physics.c - each physical term of src/physics.h against worked values
 * and against the textbook formula it evaluates, in double and in float.
 */
#include "support.h"

#include "physics.h"

/* sin(pi x), cos(pi x) on |x| <= 1/2 against libm, and exact at the nodes. */
static void test_sinpi_cospi(void **state)
{
    double worst_s = 0.0, worst_c = 0.0, worst_sf = 0.0, worst_cf = 0.0;
    (void)state;
    for (int i = -1000; i <= 1000; ++i) {
        const double x = 0.5 * i / 1000.0;
        const double s = sin(M_PI * x), c = cos(M_PI * x);
        worst_s = fmax(worst_s, fabs(nbi_sinpi_reduced_d(x) - s) / fmax(fabs(s), 1e-300));
        worst_c = fmax(worst_c, fabs(nbi_cospi_reduced_d(x) - c));
        worst_sf = fmax(worst_sf, fabs(nbi_sinpi_reduced_f((float)x) - s) / fmax(fabs(s), 1e-30));
        worst_cf = fmax(worst_cf, fabs(nbi_cospi_reduced_f((float)x) - c));
    }
    assert_true(worst_s < 1e-15);  /* documented: relative error below 6e-16 */
    assert_true(worst_c < 1e-15);  /* absolute error below 3e-16 */
    assert_true(worst_sf < 1e-6);  /* float: 2e-7 */
    assert_true(worst_cf < 1e-6);  /* float: 1.3e-7 */
    assert_true(nbi_sinpi_reduced_d(0.0) == 0.0);
    assert_near(nbi_sinpi_reduced_d(0.5), 1.0, 1e-15);
    assert_near(nbi_sinpi_reduced_d(1.0 / 6.0), 0.5, 1e-15);
    assert_near(nbi_cospi_reduced_d(1.0 / 3.0), 0.5, 1e-15);
    assert_true(nbi_cospi_reduced_d(0.0) == 1.0);
}

/* (sin(N pi h)/sin(pi h))^2 per axis: N^2 at integers, 0 at h = j/N, and
   the textbook ratio in between; the Chebyshev form gives the same. */
static void test_lattice_square(void **state)
{
    (void)state;
    /* at a Bragg peak: (Na Nb Nc)^2 */
    assert_near(nbi_lattice_square2_d(3.0, -2.0, 7.0, 5, 4, 3), 60.0 * 60.0, 1e-9);
    /* a zero of the first axis' grating: h = 1 + 1/5 */
    assert_near(nbi_lattice_square2_d(1.2, 0.0, 0.0, 5, 4, 3), 0.0, 1e-20);
    for (int i = 1; i < 200; ++i) {
        const double h = -3.0 + 0.0371 * i, k = 0.25 + 0.013 * i, l = 2.0 - 0.007 * i;
        const double gh = sin(5 * M_PI * h) / sin(M_PI * h), gk = sin(4 * M_PI * k) / sin(M_PI * k),
                     gl = sin(3 * M_PI * l) / sin(M_PI * l);
        const double want = gh * gh * gk * gk * gl * gl;
        assert_near(nbi_lattice_square2_d(h, k, l, 5, 4, 3), want, 1e-9 * fmax(want, 1.0));
        assert_near(nbi_lattice_square2_f((float)h, (float)k, (float)l, 5, 4, 3), want,
                    2e-3 * fmax(want, 1.0));
        /* U_{N-1} of cos(pi (h - round h)): the ratio up to its sign (only the square is used) */
        assert_near(fabs(nbi_grating_chebyshev_d(h, 5)), fabs(gh), 1e-11);
        assert_near(fabs(nbi_grating_chebyshev_d(k, 4)), fabs(gk), 1e-11);
    }
    assert_true(nbi_grating_chebyshev_d(0.3, 1) == 1.0);
    assert_near(nbi_grating_chebyshev_d(2.0, 7), 7.0, 1e-13);
    assert_near(nbi_grating_chebyshev_d(2.5, 2), 0.0, 1e-15); /* 2 cos(pi h) at a half integer */
}

/* The sign of sin(N pi h)/sin(pi h) that nbi_lattice_square2 squares away
   (the trace reports the signed lattice factor, as nanoBragg prints it). */
static void test_grating_sign(void **state)
{
    (void)state;
    for (int N = 1; N <= 12; ++N)
        for (int i = 0; i < 997; ++i) {
            const double h = -40.0 + 0.0803 * i + 1e-4; /* away from the zeros j/N */
            const double g = sin(N * M_PI * h) / sin(M_PI * h);
            if (fabs(g) < 1e-6)
                continue;
            if (nbi_grating_sign(h, N) != (g < 0 ? -1.0 : 1.0)) {
                print_error("N = %d, h = %.17g: ratio %g, sign %g\n", N, h, g, nbi_grating_sign(h, N));
                fail();
            }
        }
    /* at the peaks the ratio is N (-1)^((N-1) h): -4 at h = 3 for N = 4 */
    assert_true(nbi_grating_sign(3.0, 4) == -1.0);
    assert_true(nbi_grating_sign(-2.0, 4) == 1.0);
    assert_true(nbi_grating_sign(3.0, 5) == 1.0);
    assert_true(nbi_grating_sign(7.3, 1) == 1.0);
}

/* h = (a/lambda).d - (a.i)/lambda = a.(d - i)/lambda, and the -dmin cut at
   sin(theta)/lambda = |d - i|/(2 lambda) = 1/(2 dmin). */
static void test_miller_and_dmin(void **state)
{
    const double a[3] = {50e-10, 10e-10, -20e-10}, lambda = 1.5e-10;
    const double i[3] = {1, 0, 0}, d[3] = {0.8, 0.6, 0.0};
    const nbi_miller_d m = {a[0] / lambda, a[1] / lambda, a[2] / lambda, dot(a, i) / lambda};
    const double want = (a[0] * (d[0] - i[0]) + a[1] * (d[1] - i[1]) + a[2] * (d[2] - i[2])) / lambda;
    const double stol = 0.5 * sqrt(0.2 * 0.2 + 0.6 * 0.6) / lambda; /* 1/(2 d) */
    (void)state;
    assert_near(nbi_miller_index_d(m, d[0], d[1], d[2]), want, 1e-12);
    assert_near(want, (-0.2 * 50 + 0.6 * 10) / 1.5, 1e-12); /* -2.6667 */
    /* d = 1/(2 stol) = 2.3717 A: kept at dmin 2.3 A, cut at 2.4 A */
    assert_true(nbi_within_dmin_d(d[0], d[1], d[2], i[0], i[1], i[2], 1 / lambda, 0.5 / 2.3e-10));
    assert_false(nbi_within_dmin_d(d[0], d[1], d[2], i[0], i[1], i[2], 1 / lambda, 0.5 / 2.4e-10));
    assert_near(0.5 / stol, 2.3717082451262845e-10, 1e-22);
    assert_true(nbi_within_dmin_f(0.8f, 0.6f, 0.0f, 1.0f, 0.0f, 0.0f, (float)(1 / lambda),
                                  (float)(0.5 / 2.3e-10)));
}

/* Round, Gaussian and top-hat crystals: Na Nb Nc (x 0.7236 for the round
   one) at a lattice point, nanoBragg's widths around it. */
static void test_lattice_shapes(void **state)
{
    const vec3 as = v3(0.01, 0, 0), bs = v3(0, 0.01, 0), cs = v3(0, 0, 0.01);
    double s;
    (void)state;
    assert_near(nbi_lattice_shape(NB_SHAPE_ROUND, 4, 5, 6, 1, as, bs, cs, 2, -1, 3, &s),
                120 * 0.723601254558268, 1e-12);
    assert_true(s == 0.0);
    /* round: s = pi sqrt((dh Na)^2 fudge); 3 (sin s/s - cos s)/s^2 */
    {
        const double got = nbi_lattice_shape(NB_SHAPE_ROUND, 4, 5, 6, 1, as, bs, cs, 2.1, -1, 3, &s);
        const double x = M_PI * 0.4;
        assert_near(s, x, 1e-14);
        assert_near(got, 120 * 0.723601254558268 * 3 * (sin(x) / x - cos(x)) / (x * x), 1e-12);
    }
    /* Gaussian: exp(-(|dh a*|^2 (Na Nb Nc)^2 / 0.63 fudge)) */
    assert_near(nbi_lattice_shape(NB_SHAPE_GAUSS, 2, 2, 2, 1, as, bs, cs, 2.3, 0, 0, &s),
                8 * exp(-(0.003 * 0.003 * 64 / 0.63)), 1e-12);
    assert_true(s == 0.0);
    /* top-hat: inside while r^2 fudge < 0.3969 */
    assert_near(nbi_lattice_shape(NB_SHAPE_TOPHAT, 10, 10, 10, 1, as, bs, cs, 0.06, 0, 0, &s), 1000, 0);
    assert_near(nbi_lattice_shape(NB_SHAPE_TOPHAT, 10, 10, 10, 1, as, bs, cs, 0.07, 0, 0, &s), 0, 0);
}

/* Kahn: 0.5 (1 + cos^2 2t - K cos 2psi sin^2 2t). */
static void test_polarization(void **state)
{
    const vec3 inc = v3(1, 0, 0), axis = v3(0, 0, 1);
    vec3 E, B;
    (void)state;
    nbi_polar_frame(inc, axis, &E, &B);
    assert_vec(((double[3]){B.x, B.y, B.z}), 0, 1, 0, 1e-15); /* unit(axis x inc) */
    assert_vec(((double[3]){E.x, E.y, E.z}), 0, 0, 1, 1e-15); /* inc x B */
    /* unpolarized, 2theta = 90 degrees: 0.5 */
    assert_near(nbi_polarization(0, 1, 0, 0, E.x, E.y, E.z, B.x, B.y, B.z, 0, 1, 0), 0.5, 1e-15);
    /* fully polarized along E (z), scattering in the y direction (along B): psi = -90 deg,
       cos 2psi = -1: 0.5 (1 + 0 + 1) = 1 */
    assert_near(nbi_polarization(1, 1, 0, 0, E.x, E.y, E.z, B.x, B.y, B.z, 0, 1, 0), 1.0, 1e-15);
    /* ... scattering along E (z): cos 2psi = 1: 0 */
    assert_near(nbi_polarization(1, 1, 0, 0, E.x, E.y, E.z, B.x, B.y, B.z, 0, 0, 1), 0.0, 1e-15);
    /* 2theta = 60 degrees in the B plane, K = 0.9: 0.5 (1 + 0.25 + 0.9 x 0.75) */
    assert_near(nbi_polarization(0.9, 1, 0, 0, E.x, E.y, E.z, B.x, B.y, B.z, 0.5, sqrt(3) / 2, 0),
                0.5 * (1 + 0.25 + 0.9 * 0.75), 1e-15);
    /* forward: no psi, 1 */
    assert_near(nbi_polarization(0.5, 1, 0, 0, E.x, E.y, E.z, B.x, B.y, B.z, 1, 0, 0), 1.0, 1e-15);
}

static void test_solid_angle_and_capture(void **state)
{
    (void)state;
    /* a 0.1 mm pixel 100 mm away, square on: 1e-6 sr */
    assert_near(nbi_solid_angle(0, 1e-4, 0.1, 0.1), 1e-6, 1e-21);
    /* 45 degrees off the normal at the same close distance: R = 0.1 sqrt 2,
       pixel^2/R^2 x close/R */
    assert_near(nbi_solid_angle(0, 1e-4, 0.1, 0.1 * sqrt(2)), 1e-8 / 0.02 / sqrt(2), 1e-21);
    assert_near(nbi_solid_angle(1, 1e-4, 0.1, 0.2), 25.0, 1e-12); /* point pixel: 1/R^2 */
    /* 100 um layers, attenuation length 300 um, square on: layer 0 absorbs
       1 - exp(-1/3), layer 1 exp(-1/3) - exp(-2/3) */
    assert_near(nbi_capture_fraction(1.0, 0, 100e-6, 1 / 300e-6), 1 - exp(-1.0 / 3), 1e-15);
    assert_near(nbi_capture_fraction(1.0, 1, 100e-6, 1 / 300e-6), exp(-1.0 / 3) - exp(-2.0 / 3), 1e-15);
    /* at 60 degrees the path doubles */
    assert_near(nbi_capture_fraction(0.5, 0, 100e-6, 1 / 300e-6), 1 - exp(-2.0 / 3), 1e-15);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sinpi_cospi),       cmocka_unit_test(test_lattice_square),
        cmocka_unit_test(test_miller_and_dmin),   cmocka_unit_test(test_lattice_shapes),
        cmocka_unit_test(test_polarization),      cmocka_unit_test(test_solid_angle_and_capture),
        cmocka_unit_test(test_grating_sign),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
