/*
 * test_sampling.c - unit tests of nanoBragg's count/range/step rules
 * (sampling.c) and of source generation (beam.c): every branch of the
 * divergence/dispersion, phi, detector-thickness and mosaic-domain rules of
 * the reference (nanoBragg.c "default sampling logic" and "sanity checks"),
 * the elliptical divergence trim, and the generated source directions and
 * wavelengths.  Expected values are worked out by hand in the comments.
 */
#include <string.h>

#include "support.h"

#include "beam.h"
#include "sampling.h"

/* ------------------------------------------------------------ helpers */

/* Resolve {range, step, count} with fn and compare with the expectation. */
#define check_sweep(fn, r, st, n, er, est, en) \
    sweep_impl(fn, r, st, n, er, est, en, #fn "(" #r ", " #st ", " #n ")", __FILE__, __LINE__)
static void sweep_impl(void (*fn)(nbi_sweep *), double range, double step, int count, double er,
                       double est, int en, const char *what, const char *file, int line)
{
    nbi_sweep s = {range, step, count};
    fn(&s);
    if (!(s.count == en && fabs(s.range - er) <= 1e-15 * fabs(er) && fabs(s.step - est) <= 1e-15 * fabs(est))) {
        print_error("%s -> range %.17g step %.17g count %d, expected %.17g %.17g %d\n", what, s.range,
                    s.step, s.count, er, est, en);
        _fail(file, line);
    }
}

typedef struct capture {
    int warnings;
    char last[256];
} capture;

static void capture_fn(void *ctx, nb_log_level level, const char *line)
{
    capture *c = ctx;
    if (level == NB_LOG_WARN)
        c->warnings++;
    snprintf(c->last, sizeof c->last, "%s", line);
}

/* ------------------------------------------------------------ divergence / dispersion */

/* nanoBragg's rules for hdiv, vdiv and dispersion (negative range/step and
   non-positive count mean "not given"), then the sanity check that collapses
   anything with range, step or count not positive to one point. */
static void test_grid_rules(void **state)
{
    (void)state;
    /* count not given */
    /* nothing: one point, no spread */
    check_sweep(nbi_sweep_resolve_grid, -1.0, -1.0, -1, 0.0, 0.0, 1);
    /* only step 0.1 mrad: range = step, 2 points */
    check_sweep(nbi_sweep_resolve_grid, -1.0, 0.1e-3, 0, 0.1e-3, 0.1e-3, 2);
    /* only range 0.5 mrad: step = range, 2 points */
    check_sweep(nbi_sweep_resolve_grid, 0.5e-3, -1.0, -1, 0.5e-3, 0.5e-3, 2);
    /* range 0 (the default dispersion): step 0, 2 points, then the sanity
       check collapses it to one point */
    check_sweep(nbi_sweep_resolve_grid, 0.0, -1.0, -1, 0.0, 0.0, 1);
    /* range and step: count = ceil(range/step): 0.5/0.125 = 4 exactly,
       0.5/0.2 = 2.5 -> 3 (the step is kept, so the grid overshoots) */
    check_sweep(nbi_sweep_resolve_grid, 0.5, 0.125, -1, 0.5, 0.125, 4);
    check_sweep(nbi_sweep_resolve_grid, 0.5, 0.2, 0, 0.5, 0.2, 3);

    /* count given */
    /* only count 4: nominal range 1.0 rad, step = range/count = 0.25 (the
       reference divides by count here, not count - 1) */
    check_sweep(nbi_sweep_resolve_grid, -1.0, -1.0, 4, 1.0, 0.25, 4);
    /* count and step: range = step and count forced to 2 */
    check_sweep(nbi_sweep_resolve_grid, -1.0, 0.3e-3, 7, 0.3e-3, 0.3e-3, 2);
    /* W1: range 0.5 mrad with 25 steps: step = 0.5e-3/24 */
    check_sweep(nbi_sweep_resolve_grid, 0.5e-3, -1.0, 25, 0.5e-3, 0.5e-3 / 24.0, 25);
    /* dispersion 0.2% with 9 steps: step = 0.002/8 = 0.00025 */
    check_sweep(nbi_sweep_resolve_grid, 0.002, -1.0, 9, 0.002, 0.00025, 9);
    /* range with a single step: count raised to 2, step = range/1 */
    check_sweep(nbi_sweep_resolve_grid, 0.5e-3, -1.0, 1, 0.5e-3, 0.5e-3, 2);
    /* everything given: kept as is */
    check_sweep(nbi_sweep_resolve_grid, 1.0, 0.1, 3, 1.0, 0.1, 3);
    /* range 0 with 5 steps: step 0/4 = 0 -> collapsed */
    check_sweep(nbi_sweep_resolve_grid, 0.0, -1.0, 5, 0.0, 0.0, 1);
    /* a step of exactly 0 counts as not given here (step <= 0): 1/(3-1) */
    check_sweep(nbi_sweep_resolve_grid, 1.0, 0.0, 3, 1.0, 0.5, 3);
}

/* Phi has its own rules: only osc -> 2 steps of osc/2; steps and osc ->
   step = osc/steps; only steps -> osc = 1 degree; no sanity collapse, and a
   given step of 0 is kept. */
static void test_phi_rules(void **state)
{
    (void)state;
    /* steps not given */
    check_sweep(nbi_sweep_resolve_phi, -1.0, -1.0, -1, 0.0, 0.0, 1);
    check_sweep(nbi_sweep_resolve_phi, -1.0, 0.5 * DEG, -1, 0.5 * DEG, 0.5 * DEG, 2);
    /* -osc 10: 2 steps of 5 degrees */
    check_sweep(nbi_sweep_resolve_phi, 10 * DEG, -1.0, -1, 10 * DEG, 5 * DEG, 2);
    /* -osc 0: 2 steps of 0 (not collapsed: both at phi0) */
    check_sweep(nbi_sweep_resolve_phi, 0.0, -1.0, -1, 0.0, 0.0, 2);
    /* -osc 1 -phistep 0.25 (exact in binary): ceil(4) = 4 steps */
    check_sweep(nbi_sweep_resolve_phi, 1.0, 0.25, -1, 1.0, 0.25, 4);
    /* -osc 1 -phistep 0.3: ceil(3.33) = 4 */
    check_sweep(nbi_sweep_resolve_phi, 1.0, 0.3, -1, 1.0, 0.3, 4);

    /* steps given */
    /* -phisteps 4 only: osc = 1 degree, step = osc/4 = 0.25 degree */
    check_sweep(nbi_sweep_resolve_phi, -1.0, -1.0, 4, 1.0 * DEG, 0.25 * DEG, 4);
    /* -phisteps 0: treated as 1, then osc = 1 degree, step = 1 degree */
    check_sweep(nbi_sweep_resolve_phi, -1.0, -1.0, 0, 1.0 * DEG, 1.0 * DEG, 1);
    /* -phisteps 7 -phistep 0.1: osc = step, steps = 2 */
    check_sweep(nbi_sweep_resolve_phi, -1.0, 0.1 * DEG, 7, 0.1 * DEG, 0.1 * DEG, 2);
    /* -osc 10 -phisteps 5: step = 10/5 = 2 degrees (divided by steps) */
    check_sweep(nbi_sweep_resolve_phi, 10 * DEG, -1.0, 5, 10 * DEG, 2 * DEG, 5);
    /* everything given, including a step of exactly 0: kept */
    check_sweep(nbi_sweep_resolve_phi, 1.0, 0.0, 3, 1.0, 0.0, 3);
    check_sweep(nbi_sweep_resolve_phi, 1.0, 0.5, 3, 1.0, 0.5, 3);
}

/* Detector layers: like the grid, except "only thickness" gives 2 layers of
   thickness/2 and "only layers" gives a nominal 0.5 um. */
static void test_thick_rules(void **state)
{
    (void)state;
    /* layers not given */
    check_sweep(nbi_sweep_resolve_thick, -1.0, -1.0, -1, 0.0, 0.0, 1);
    check_sweep(nbi_sweep_resolve_thick, -1.0, 10e-6, 0, 10e-6, 10e-6, 2);
    /* -detector_thick 100 um: 2 layers of 50 um */
    check_sweep(nbi_sweep_resolve_thick, 100e-6, -1.0, -1, 100e-6, 50e-6, 2);
    /* thickness 0 (the default): collapsed to one layer */
    check_sweep(nbi_sweep_resolve_thick, 0.0, -1.0, -1, 0.0, 0.0, 1);
    /* thickness 1 and step 0.25: ceil(4) = 4 layers */
    check_sweep(nbi_sweep_resolve_thick, 1.0, 0.25, -1, 1.0, 0.25, 4);

    /* layers given */
    /* -detector_thicksteps 5 only: thickness 0.5 um, step 0.5/5 = 0.1 um */
    check_sweep(nbi_sweep_resolve_thick, -1.0, -1.0, 5, 0.5e-6, 0.1e-6, 5);
    /* layers and step: thickness = step, 2 layers */
    check_sweep(nbi_sweep_resolve_thick, -1.0, 20e-6, 5, 20e-6, 20e-6, 2);
    /* -detector_thick 100 -detector_thicksteps 5: step = 100/(5-1) = 25 um */
    check_sweep(nbi_sweep_resolve_thick, 100e-6, -1.0, 5, 100e-6, 25e-6, 5);
    /* one layer asked for: raised to 2, step = thickness/1 */
    check_sweep(nbi_sweep_resolve_thick, 100e-6, -1.0, 1, 100e-6, 100e-6, 2);
    /* everything given */
    check_sweep(nbi_sweep_resolve_thick, 100e-6, 10e-6, 3, 100e-6, 10e-6, 3);
    /* zero thickness with layers: collapsed */
    check_sweep(nbi_sweep_resolve_thick, 0.0, -1.0, 4, 0.0, 0.0, 1);
}

/* Mosaic domains: every branch of the reference's rule, with its warnings. */
static void test_mosaic_rules(void **state)
{
    struct {
        double spread;
        int domains;
        double e_spread;
        int e_domains, warnings;
    } cases[] = {
        {-1.0, -1, 0.0, 1, 0},   /* nothing given */
        {0.0, -1, 0.0, 1, 0},    /* zero spread, no count */
        {0.01, -1, 0.01, 10, 1}, /* spread only: 10 domains, warning */
        {0.01, 0, 0.01, 10, 1},  /* count 0 counts as not given */
        {-1.0, 5, 0.0, 1, 1},    /* count without spread: 1 domain, warning */
        {0.0, 5, 0.0, 1, 1},     /* zero spread with count: 1 domain, warning */
        {0.01, 5, 0.01, 5, 0},   /* both given: kept */
    };
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; ++i) {
        capture c = {0, ""};
        nb_log log = {.fn = capture_fn, .ctx = &c};
        double spread = cases[i].spread;
        int domains = cases[i].domains;
        nbi_resolve_mosaic(&spread, &domains, &log);
        assert_int_equal(domains, cases[i].e_domains);
        assert_true(spread == cases[i].e_spread);
        assert_int_equal(c.warnings, cases[i].warnings);
    }
    /* and without a log */
    {
        double spread = 0.01;
        int domains = -1;
        nbi_resolve_mosaic(&spread, &domains, NULL);
        assert_int_equal(domains, 10);
    }
}

/* ------------------------------------------------------------ elliptical trim */

/* The W1 grid: hdivrange = vdivrange = 0.5 mrad, 25 x 25 steps, step =
   range/24, points at (i-12) step, (j-12) step.  Odd counts need no half-step
   allowance, so a point is kept when 4 ((i-12)^2 + (j-12)^2) step^2 / range^2
   <= 1.1, i.e. (i-12)^2 + (j-12)^2 <= 1.1 * 144 = 158.4.  Per row |i-12| = n
   the largest |j-12| with j^2 <= 158.4 - n^2 is
   n:    0  1  2  3  4  5  6  7  8  9 10 11 12
   max: 12 12 12 12 11 11 11 10  9  8  7  6  3
   so the rows hold 25 25 25 25 23 23 23 21 19 17 15 13 7 points and the
   total is 25 + 2*(3*25 + 3*23 + 21 + 19 + 17 + 15 + 13 + 7) = 25 + 2*236 = 497.
   With 9 dispersion steps: 497 * 9 = 4473 sources, as the reference makes. */
static void test_divergence_count(void **state)
{
    nbi_sweep h = {0.5e-3, -1.0, 25}, v = {0.5e-3, -1.0, 25};
    (void)state;
    nbi_sweep_resolve_grid(&h);
    nbi_sweep_resolve_grid(&v);
    assert_int_equal(nbi_divergence_count(&h, &v, 1), 497);
    assert_int_equal(nbi_divergence_count(&h, &v, 1) * 9, 4473);
    /* a square grid keeps every point */
    assert_int_equal(nbi_divergence_count(&h, &v, 0), 625);

    /* 3 x 3, range 2, step 1: points -1, 0, 1; corners 4(1/4 + 1/4) = 2 > 1.1
       go, edge points 4(1/4) = 1 stay: 9 - 4 = 5 */
    {
        nbi_sweep a = {2.0, 1.0, 3};
        assert_int_equal(nbi_divergence_count(&a, &a, 1), 5);
        assert_int_equal(nbi_divergence_count(&a, &a, 0), 9);
    }
    /* 4 x 4 (even), range 3, step 1: points -1.5, -0.5, 0.5, 1.5, allowance
       step^2/4 = 0.25; per axis (x^2 - 0.25)/9 = 2/9 at 1.5 and 0 at 0.5;
       corners 4(4/9) = 1.78 go, (1.5, 0.5) 4(2/9) = 0.89 stays: 16 - 4 = 12 */
    {
        nbi_sweep a = {3.0, 1.0, 4};
        assert_int_equal(nbi_divergence_count(&a, &a, 1), 12);
    }
    /* 2 x 2, range 1, step 1: (0.25 - 0.25)/1 = 0 everywhere: all 4 stay */
    {
        nbi_sweep a = {1.0, 1.0, 2};
        assert_int_equal(nbi_divergence_count(&a, &a, 1), 4);
    }
    /* no divergence: the single point is kept (0/0 is not > 1.1) */
    {
        nbi_sweep a = {-1.0, -1.0, -1};
        nbi_sweep_resolve_grid(&a);
        assert_int_equal(nbi_divergence_count(&a, &a, 1), 1);
    }
}

/* The same W1 grid through nb_experiment_create with 0.2% dispersion in 9
   steps: 497 divergence points, 4473 sources, steps = 4473 (1 domain, 1 phi
   step, oversample 1). */
static void test_w1_sources(void **state)
{
    nb_config cfg;
    nb_experiment *e;
    const nb_info *in;
    (void)state;
    base_config(&cfg);
    cfg.hdivrange_rad = cfg.vdivrange_rad = 0.5e-3;
    cfg.hdivsteps = cfg.vdivsteps = 25;
    cfg.dispersion = 0.002;
    cfg.dispsteps = 9;
    e = create(&cfg);
    in = nb_experiment_info(e);
    assert_int_equal(in->divsteps, 497);
    assert_int_equal(in->sources, 4473);
    assert_int_equal(e->src.n, 4473);
    assert_int_equal(in->dispsteps, 9);
    assert_near(in->hdivstep_rad, 0.5e-3 / 24, 1e-18);
    assert_near(in->vdivstep_rad, 0.5e-3 / 24, 1e-18);
    assert_int_equal(in->steps, 4473);
    nb_experiment_free(e);

    /* -round_div off: the full 625 x 9 */
    cfg.round_div = 0;
    e = create(&cfg);
    assert_int_equal(nb_experiment_info(e)->sources, 625 * 9);
    nb_experiment_free(e);
}

/* ------------------------------------------------------------ source directions */

/* 3 x 3 grid of range 20 mrad (step 10 mrad) and 10% dispersion in 3 steps,
   MOSFLM beam b = (1,0,0), polar p = (0,0,1), vert = unit(b x p) = (0,-1,0).
   A source starts at -10 b, is rotated about p by vdiv and then about vert
   by hdiv: about z by v, (-1,0,0) -> (-cos v, -sin v, 0); about -y by h
   (x' = x cos h - z sin h, z' = z cos h + x sin h) ->
   (-cos v cos h, -sin v, -cos v sin h), already unit length.
   Wavelengths lambda0 (1 + 0.05 k - 0.05) = 0.95, 1.00, 1.05 A.
   Round: corners are trimmed, leaving (h,v) = (-r/2,0), (0,-r/2), (0,0),
   (0,r/2), (r/2,0) in loop order (h outer, v inner, lambda innermost). */
static void check_sources(int round_div)
{
    nb_config cfg;
    nbi_beam beam;
    nbi_sources src = {0};
    nb_error err;
    double sum[3] = {0, 0, 0};
    int n = 0;
    nbi_config_init(&cfg);
    cfg.round_div = round_div;
    cfg.lambda0_m = 1e-10;
    cfg.hdivrange_rad = cfg.vdivrange_rad = 0.02;
    cfg.hdivsteps = cfg.vdivsteps = 3;
    cfg.dispersion = 0.1;
    cfg.dispsteps = 3;
    assert_int_equal(nbi_beam_resolve(&cfg, v3(1, 0, 0), &beam, &err), NB_OK);
    assert_near(beam.hdiv.step, 0.01, 1e-18);
    assert_near(beam.disp.step, 0.05, 1e-17);
    assert_int_equal(beam.divsteps, round_div ? 5 : 9);
    assert_int_equal(nbi_beam_sources(&cfg, &beam, v3(0, 0, 1), NULL, &src, &err), NB_OK);
    assert_int_equal(src.n, round_div ? 15 : 27);
    for (int i = 0; i < 3; ++i)
        for (int j = 0; j < 3; ++j) {
            double hd = 0.01 * (i - 1), vd = 0.01 * (j - 1);
            if (round_div && i != 1 && j != 1)
                continue; /* corner */
            for (int k = 0; k < 3; ++k, ++n) {
                double x = src.x[n], y = src.y[n], z = src.z[n];
                assert_near(x * x + y * y + z * z, 1.0, 1e-15);
                assert_near(x, -cos(vd) * cos(hd), 1e-15);
                assert_near(y, -sin(vd), 1e-15);
                assert_near(z, -cos(vd) * sin(hd), 1e-15);
                assert_near(src.lambda_m[n], 1e-10 * (0.95 + 0.05 * k), 1e-25);
                assert_near(src.weight[n], 1.0 / src.n, 1e-16);
                sum[0] += x;
                sum[1] += y;
                sum[2] += z;
            }
        }
    assert_int_equal(n, src.n);
    /* symmetric about -beam: the mean direction is along (-1, 0, 0) */
    assert_true(sum[0] < 0.0);
    assert_near(sum[1], 0.0, 1e-15);
    assert_near(sum[2], 0.0, 1e-15);
    nbi_sources_free(&src);
}

static void test_source_grid(void **state)
{
    (void)state;
    check_sources(1);
    check_sources(0);
}

/* No divergence or dispersion: one source along -beam with lambda0. */
static void test_single_source(void **state)
{
    nb_config cfg;
    nb_experiment *e;
    (void)state;
    base_config(&cfg);
    cfg.lambda0_m = 1.5e-10;
    e = create(&cfg);
    assert_int_equal(e->src.n, 1);
    assert_true(e->src.x[0] == -1.0 && e->src.y[0] == 0.0 && e->src.z[0] == 0.0);
    assert_true(e->src.lambda_m[0] == 1.5e-10);
    assert_int_equal(nb_experiment_info(e)->steps, 1);
    nb_experiment_free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grid_rules),
        cmocka_unit_test(test_phi_rules),
        cmocka_unit_test(test_thick_rules),
        cmocka_unit_test(test_mosaic_rules),
        cmocka_unit_test(test_divergence_count),
        cmocka_unit_test(test_w1_sources),
        cmocka_unit_test(test_source_grid),
        cmocka_unit_test(test_single_source),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
