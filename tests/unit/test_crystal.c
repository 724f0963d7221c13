/*
 * test_crystal.c - unit tests of the crystal module (crystal.c) through
 * nb_experiment_create: direct and reciprocal cells from -cell, misset,
 * crystal size in unit cells, mosaic domain rotations and the rotated-cell
 * tables per phi step (including nanoBragg's phi = 0 carry-over).
 * Expected values are worked out by hand in the comments.
 */
#include "support.h"

/* ------------------------------------------------------------ helpers */

static double mag(const double a[3]) { return sqrt(dot(a, a)); }
static double angle_deg(const double a[3], const double b[3])
{
    return acos(dot(a, b) / mag(a) / mag(b)) / DEG;
}

/* assert_vec for a vec3. */
#define assert_v3(v, ex, ey, ez, tol)                                                              \
    do {                                                                                           \
        const vec3 v3_ = (v);                                                                      \
        const double a3_[3] = {v3_.x, v3_.y, v3_.z};                                               \
        vec_impl(a3_, (ex), (ey), (ez), (tol), #v, __FILE__, __LINE__);                            \
    } while (0)

/* A cell edge in metres, as the rotated-cell tables hold it. */
static vec3 edge_m(vec3 edge_A) { return v3_scale(edge_A, 1e-10); }

/* ------------------------------------------------------------ cells */

/* -cell 100 100 100 90 90 90: nanoBragg puts a* along x, b* in the xy plane:
   a = (100, 0, 0) A, b = (0, 100, 0) A, c = (0, 0, 100) A;
   a* = (0.01, 0, 0) 1/A etc.; V = 100^3 = 1e6 A^3.  (cos 90 deg is 6e-17,
   not 0, so off-axis components are ~1e-15 A, hence the tolerances.) */
static void test_cubic_cell(void **state)
{
    nb_config cfg;
    nb_experiment *e;
    const nb_info *in;
    (void)state;
    base_config(&cfg);
    e = create(&cfg);
    in = nb_experiment_info(e);
    assert_v3(e->xtal.a_A, 100, 0, 0, 1e-10);
    assert_v3(e->xtal.b_A, 0, 100, 0, 1e-10);
    assert_v3(e->xtal.c_A, 0, 0, 100, 1e-10);
    assert_v3(e->xtal.astar, 0.01, 0, 0, 1e-15);
    assert_v3(e->xtal.bstar, 0, 0.01, 0, 1e-15);
    assert_v3(e->xtal.cstar, 0, 0, 0.01, 1e-15);
    assert_vec(in->a_A, 100, 0, 0, 1e-10);
    assert_vec(in->cell_A, 100, 100, 100, 1e-10);
    assert_vec(in->cell_deg, 90, 90, 90, 1e-10);
    assert_vec(in->rcell, 0.01, 0.01, 0.01, 1e-15);
    assert_vec(in->rcell_deg, 90, 90, 90, 1e-10);
    assert_near(in->volume_A3, 1e6, 1e-6);
    nb_experiment_free(e);
}

/* Lengths, angles, volume and reciprocity of the cell -cell a b c al be ga,
   with the angles that the vectors actually make given as exp_deg. */
static void check_cell(const nb_info *in, const double len[3], const double exp_deg[3], double V,
                       double diag)
{
    const double *real[3] = {in->a_A, in->b_A, in->c_A}, *recp[3] = {in->astar, in->bstar, in->cstar};
    double bxc[3];
    assert_near(in->volume_A3, V, 1e-9 * V);
    assert_near(mag(in->a_A), len[0], 1e-9);
    assert_near(mag(in->b_A), len[1], 1e-9);
    assert_near(mag(in->c_A), len[2], 1e-9);
    assert_near(angle_deg(in->b_A, in->c_A), exp_deg[0], 1e-9);
    assert_near(angle_deg(in->a_A, in->c_A), exp_deg[1], 1e-9);
    assert_near(angle_deg(in->a_A, in->b_A), exp_deg[2], 1e-9);
    assert_vec(in->cell_A, len[0], len[1], len[2], 1e-9);
    assert_vec(in->cell_deg, exp_deg[0], exp_deg[1], exp_deg[2], 1e-9);
    /* a.a* = diag, a.b* = 0, ... */
    for (int i = 0; i < 3; ++i)
        for (int j = 0; j < 3; ++j)
            assert_near(dot(real[i], recp[j]), i == j ? diag : 0.0, 1e-12);
    cross(in->b_A, in->c_A, bxc);
    assert_near(dot(in->a_A, bxc), V * diag, 1e-9 * V);
}

/* Monoclinic -cell 70 80 90 90 105 90: V = abc sin(beta) = 504000 sin 105 deg
   = 504000 * 0.96592583 = 486826.62 A^3.  gamma* = 90 deg here, so nanoBragg's
   construction is exact: the vectors give back 90, 105, 90 and a.a* = 1. */
static void test_monoclinic_cell(void **state)
{
    nb_config cfg;
    nb_experiment *e;
    const double len[3] = {70, 80, 90}, deg[3] = {90, 105, 90};
    double V = 70.0 * 80.0 * 90.0 * sin(105 * DEG);
    (void)state;
    assert_near(V, 486826.62, 0.01);
    base_config(&cfg);
    set_cell(&cfg, 70, 80, 90, 90, 105, 90);
    e = create(&cfg);
    check_cell(nb_experiment_info(e), len, deg, V, 1.0);
    /* a* stays along x with |a*| = bc sin(alpha)/V = 7200/V */
    assert_vec(nb_experiment_info(e)->astar, 7200.0 / V, 0, 0, 1e-15);
    nb_experiment_free(e);
}

/* Triclinic -cell 70 80 90 75 85 95.  Independent of the code's half-angle
   formula, V = abc sqrt(1 - cos^2 al - cos^2 be - cos^2 ga + 2 cos al cos be cos ga)
     = 504000 * sqrt(1 - 0.0669873 - 0.0075961 - 0.0075961 - 0.0039320)
     = 504000 * 0.9559751 = 481811.46 A^3 (reported as the volume).
   nanoBragg's default orientation sets c*_z = |c*| V/(abc sin gamma*)
   = sin(gamma)/(c sin gamma*) where c . c* = 1 needs 1/c; the two agree only
   when sin gamma* = sin gamma (e.g. monoclinic, above).  Here gamma* =
   83.4517 deg, so c*_z = 0.0111415 instead of 0.0111111.  The direct vectors
   come from the cross products rescaled to 70, 80, 90 A, which makes the
   angles the vectors actually form (worked out from those formulas)
   75.0390588556846, 85.0135628035853, 95.0080842214622 deg, as the reference
   prints ("Unit Cell: 70 80 90 75.0391 85.0136 95.0081"), and
   a.(b x c) = 481909.319243212 A^3.  The reciprocal vectors are regenerated
   as (b x c)/V with the formula V, so a.b* = 0 but a.a* = 481909.319/481811.456
   = 1.000203. */
static void test_triclinic_cell(void **state)
{
    nb_config cfg;
    nb_experiment *e;
    const double len[3] = {70, 80, 90};
    const double deg[3] = {75.0390588556846, 85.0135628035853, 95.0080842214622};
    double ca = cos(75 * DEG), cb = cos(85 * DEG), cg = cos(95 * DEG), V;
    (void)state;
    V = 70.0 * 80.0 * 90.0 * sqrt(1 - ca * ca - cb * cb - cg * cg + 2 * ca * cb * cg);
    assert_near(V, 481811.46, 0.01); /* the hand value above */
    base_config(&cfg);
    set_cell(&cfg, 70, 80, 90, 75, 85, 95);
    e = create(&cfg);
    check_cell(nb_experiment_info(e), len, deg, V, 481909.319243212 / 481811.455731698);
    /* the reference's printout, to its 6 significant digits */
    assert_near(nb_experiment_info(e)->cell_deg[0], 75.0391, 5e-5);
    assert_near(nb_experiment_info(e)->cell_deg[1], 85.0136, 5e-5);
    assert_near(nb_experiment_info(e)->cell_deg[2], 95.0081, 5e-5);
    /* Reciprocal angles: the angles the reciprocal vectors form (105.532 deg
       for alpha-star).  nanoBragg prints 105.535: it takes sin(alpha-star)
       as a Vs / (|bs| |cs|) with Vs = 1/481811.46, from the volume of the
       cell asked for, while these vectors have |bs x cs| = a Vs^2 a.(b x c),
       larger by 481909.32/481811.46; its sine and cosine then disagree. */
    {
        const nb_info *in = nb_experiment_info(e);
        const double bs = sqrt(in->bstar[0] * in->bstar[0] + in->bstar[1] * in->bstar[1] + in->bstar[2] * in->bstar[2]);
        const double cs = sqrt(in->cstar[0] * in->cstar[0] + in->cstar[1] * in->cstar[1] + in->cstar[2] * in->cstar[2]);
        const double cosa = (in->bstar[0] * in->cstar[0] + in->bstar[1] * in->cstar[1] + in->bstar[2] * in->cstar[2]) / bs / cs;
        assert_near(in->rcell_deg[0], acos(cosa) / DEG, 1e-9);
        assert_near(in->rcell_deg[0], 105.532, 5e-4);
        assert_near(atan2(in->cell_A[0] / V / bs / cs, cosa) / DEG, 105.535, 5e-4); /* nanoBragg's */
    }
    /* the report's vectors are the crystal's; the kernels' tables hold them
       in metres (phi = 0, one domain: unrotated) */
    assert_true(e->xtal.a_A.x == nb_experiment_info(e)->a_A[0]);
    assert_true(e->xtal.c_A.z == nb_experiment_info(e)->c_A[2]);
    assert_true(e->xtal.cells[0] == edge_m(e->xtal.a_A).x);
    assert_true(e->xtal.cells[8] == edge_m(e->xtal.c_A).z);
    nb_experiment_free(e);
}

/* -misset 90 0 0 rotates the reciprocal vectors about x by +90 deg; rotate()
   maps (x,y,z) -> (x, y cos t - z sin t, y sin t + z cos t), so y -> z and
   z -> -y: b* -> (0,0,0.01), c* -> (0,-0.01,0), and the direct vectors follow:
   a = (100,0,0), b = (0,0,100), c = (0,-100,0). */
static void test_misset(void **state)
{
    nb_config cfg;
    nb_experiment *e;
    const nb_info *in;
    (void)state;
    base_config(&cfg);
    cfg.misset_mode = 1;
    cfg.misset_rad[0] = 90 * DEG;
    e = create(&cfg);
    in = nb_experiment_info(e);
    assert_vec(in->a_A, 100, 0, 0, 1e-10);
    assert_vec(in->b_A, 0, 0, 100, 1e-10);
    assert_vec(in->c_A, 0, -100, 0, 1e-10);
    assert_vec(in->bstar, 0, 0, 0.01, 1e-15);
    assert_vec(in->cstar, 0, -0.01, 0, 1e-15);
    assert_vec(in->misset_deg, 90, 0, 0, 1e-12);
    assert_near(in->volume_A3, 1e6, 1e-6);
    nb_experiment_free(e);

    /* -misset 0 0 90 about z: x -> y, y -> -x: a = (0,100,0), b = (-100,0,0) */
    cfg.misset_rad[0] = 0.0;
    cfg.misset_rad[2] = 90 * DEG;
    e = create(&cfg);
    in = nb_experiment_info(e);
    assert_vec(in->a_A, 0, 100, 0, 1e-10);
    assert_vec(in->b_A, -100, 0, 0, 1e-10);
    assert_vec(in->c_A, 0, 0, 100, 1e-10);
    nb_experiment_free(e);
}

/* ------------------------------------------------------------ size */

/* -samplesize (x y z) 1.234 0.333 0.005 um with a 100 A cell:
   Na = ceil(1.234e-6 / 1e-8) = ceil(123.4) = 124, Nb = ceil(33.3) = 34,
   Nc = ceil(0.5) = 1; crystal 1.24 x 0.34 x 0.01 um.  Auto oversampling:
   reciprocal pixel = lambda distance / pixel = 1e-10 * 0.1 / 1e-4 = 1e-7 m,
   ceil(3 * 1.24e-6 / 1e-7) = ceil(37.2) = 38. */
static void test_crystal_size(void **state)
{
    nb_config cfg;
    nb_experiment *e;
    const nb_info *in;
    (void)state;
    base_config(&cfg);
    cfg.sample_x_m = 1.234e-6;
    cfg.sample_y_m = 0.333e-6;
    cfg.sample_z_m = 0.005e-6;
    cfg.oversample = -1;
    e = create(&cfg);
    in = nb_experiment_info(e);
    assert_true(e->xtal.Na == 124.0);
    assert_true(e->xtal.Nb == 34.0);
    assert_true(e->xtal.Nc == 1.0);
    assert_true(in->Na == 124.0);
    assert_near(in->xtal_size_m[0], 1.24e-6, 1e-18);
    assert_near(in->xtal_size_m[1], 0.34e-6, 1e-18);
    assert_near(in->xtal_size_m[2], 0.01e-6, 1e-18);
    assert_int_equal(in->recommended_oversample, 38);
    assert_int_equal(in->oversample, 38);
    nb_experiment_free(e);

    /* -N 5 with no sizes; -Na 0 is clamped to 1 */
    base_config(&cfg);
    cfg.Na = 0.0;
    cfg.Nb = 5.0;
    cfg.Nc = 5.0;
    e = create(&cfg);
    assert_true(e->xtal.Na == 1.0);
    assert_true(e->xtal.Nb == 5.0);
    assert_true(e->xtal.Nc == 5.0);
    nb_experiment_free(e);
}

/* ------------------------------------------------------------ mosaic */

/* -mosaic 2 -mosaic_domains 12: domain 0 is the identity; every matrix is a
   proper rotation (U U^T = I, det U = +1) by an angle acos((trace - 1)/2) of
   at most the spread; the cells are the phi-rotated cell times U. */
static void test_mosaic_domains(void **state)
{
    nb_config cfg;
    nb_experiment *e;
    const double spread = 2 * DEG;
    int moved = 0;
    (void)state;
    base_config(&cfg);
    cfg.mosaic_spread_rad = spread;
    cfg.mosaic_domains = 12;
    e = create(&cfg);
    assert_int_equal(e->xtal.domains, 12);
    assert_int_equal(nb_experiment_info(e)->mosaic_domains, 12);
    assert_int_equal(nb_experiment_info(e)->steps, 12);
    for (int i = 0; i < 9; ++i)
        assert_true(e->xtal.umats[i] == ((i % 4 == 0) ? 1.0 : 0.0));
    for (int m = 0; m < e->xtal.domains; ++m) {
        const double *u = e->xtal.umats + 9 * m;
        double trace = u[0] + u[4] + u[8], angle;
        for (int r = 0; r < 3; ++r)
            for (int c = 0; c < 3; ++c) {
                double s = u[3 * r] * u[3 * c] + u[3 * r + 1] * u[3 * c + 1] + u[3 * r + 2] * u[3 * c + 2];
                assert_near(s, r == c ? 1.0 : 0.0, 1e-12);
            }
        assert_near(det3(u), 1.0, 1e-12);
        angle = acos(fmin(1.0, (trace - 1.0) / 2.0));
        assert_true(angle <= spread * (1 + 1e-6));
        if (angle > 1e-6)
            moved++;
        /* phi step 0 (phi0 = 0: no rotation) of domain m is U_m a etc. */
        for (int j = 0; j < 3; ++j) {
            vec3 base = edge_m(j == 0 ? e->xtal.a_A : j == 1 ? e->xtal.b_A : e->xtal.c_A);
            const double *cell = e->xtal.cells_first + 9 * m + 3 * j;
            assert_near(cell[0], u[0] * base.x + u[1] * base.y + u[2] * base.z, 1e-22);
            assert_near(cell[1], u[3] * base.x + u[4] * base.y + u[5] * base.z, 1e-22);
            assert_near(cell[2], u[6] * base.x + u[7] * base.y + u[8] * base.z, 1e-22);
        }
    }
    assert_true(moved >= 10); /* the random domains are not the identity */
    nb_experiment_free(e);

    /* no spread: one domain, the identity, cells unrotated */
    base_config(&cfg);
    e = create(&cfg);
    assert_int_equal(e->xtal.domains, 1);
    assert_true(e->xtal.mosaic_spread_rad == 0.0);
    assert_true(e->xtal.cells_first[0] == edge_m(e->xtal.a_A).x);
    nb_experiment_free(e);
}

/* ------------------------------------------------------------ phi */

/* The cell a = L (1,0,0), b = L (0,1,0), c = L (0,0,1) (L = 1e-8 m)
   turned by phi about the MOSFLM spindle (0,0,1), right-handed:
   a -> L (cos, sin, 0), b -> L (-sin, cos, 0), c unchanged. */
static void assert_cell_at(const double *cell, double phi_deg)
{
    const double L = 1e-8, c = cos(phi_deg * DEG), s = sin(phi_deg * DEG);
    assert_vec(cell, L * c, L * s, 0, 1e-20);
    assert_vec(cell + 3, -L * s, L * c, 0, 1e-20);
    assert_vec(cell + 6, 0, 0, L, 1e-20);
}

/* -phi 0 -osc 10 -phisteps 5: step 10/5 = 2 deg, steps at 0, 2, 4, 6, 8.
   nanoBragg skips the rotation when phi == 0 and keeps the orientation it
   had: the first sweep of the run starts from the unrotated cell
   (cells_first[0] = a, b, c exactly, in metres) but every later sweep starts from
   where the previous one ended, the 8 deg cell (cells[0]).  Steps 1..4 are
   2, 4, 6, 8 deg in both tables. */
static void test_phi_table(void **state)
{
    nb_config cfg;
    nb_experiment *e;
    (void)state;
    base_config(&cfg);
    cfg.phi0_rad = 0.0;
    cfg.osc_rad = 10 * DEG;
    cfg.phisteps = 5;
    e = create(&cfg);
    assert_int_equal(e->xtal.phisteps, 5);
    assert_near(e->xtal.phistep_rad, 2 * DEG, 1e-16);
    assert_int_equal(nb_experiment_info(e)->steps, 5);
    {
        const vec3 a = edge_m(e->xtal.a_A), b = edge_m(e->xtal.b_A), c = edge_m(e->xtal.c_A);
        assert_true(e->xtal.cells_first[0] == a.x && e->xtal.cells_first[1] == a.y
                    && e->xtal.cells_first[2] == a.z);
        assert_true(e->xtal.cells_first[3] == b.x && e->xtal.cells_first[4] == b.y
                    && e->xtal.cells_first[8] == c.z);
    }
    assert_cell_at(e->xtal.cells_first, 0.0);
    assert_cell_at(e->xtal.cells, 8.0);
    for (int t = 1; t < 5; ++t) {
        assert_cell_at(e->xtal.cells + 9 * t, 2.0 * t);
        assert_cell_at(e->xtal.cells_first + 9 * t, 2.0 * t);
    }
    assert_int_equal(e->xtal.first_differs, 1);
    nb_experiment_free(e);

    /* -phi 1: no step is at 0, both tables agree: 1, 3, 5, 7, 9 deg */
    cfg.phi0_rad = 1 * DEG;
    e = create(&cfg);
    for (int t = 0; t < 5; ++t) {
        assert_cell_at(e->xtal.cells + 9 * t, 1.0 + 2.0 * t);
        assert_cell_at(e->xtal.cells_first + 9 * t, 1.0 + 2.0 * t);
    }
    assert_int_equal(e->xtal.first_differs, 0);
    nb_experiment_free(e);

    /* one phi step at 0: the carried-over orientation is the cell itself */
    base_config(&cfg);
    e = create(&cfg);
    assert_int_equal(e->xtal.phisteps, 1);
    assert_cell_at(e->xtal.cells, 0.0);
    assert_int_equal(e->xtal.first_differs, 0);
    nb_experiment_free(e);
}

/* Phi steps x mosaic domains: cell (t, m) is at 9 (t domains + m) and equals
   U_m applied to the phi-rotated cell. */
static void test_phi_mosaic_layout(void **state)
{
    nb_config cfg;
    nb_experiment *e;
    (void)state;
    base_config(&cfg);
    cfg.phi0_rad = 1 * DEG;
    cfg.osc_rad = 4 * DEG;
    cfg.phisteps = 2;
    cfg.mosaic_spread_rad = 1 * DEG;
    cfg.mosaic_domains = 3;
    e = create(&cfg);
    assert_int_equal(nb_experiment_info(e)->steps, 6);
    for (int t = 0; t < 2; ++t) {
        double phi = (1.0 + 2.0 * t) * DEG, L = 1e-8;
        double a[3] = {L * cos(phi), L * sin(phi), 0};
        for (int m = 0; m < 3; ++m) {
            const double *u = e->xtal.umats + 9 * m, *cell = e->xtal.cells + 9 * (t * 3 + m);
            assert_near(cell[0], u[0] * a[0] + u[1] * a[1] + u[2] * a[2], 1e-20);
            assert_near(cell[1], u[3] * a[0] + u[4] * a[1] + u[5] * a[2], 1e-20);
            assert_near(cell[2], u[6] * a[0] + u[7] * a[1] + u[8] * a[2], 1e-20);
        }
    }
    nb_experiment_free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cubic_cell),
        cmocka_unit_test(test_monoclinic_cell),
        cmocka_unit_test(test_triclinic_cell),
        cmocka_unit_test(test_misset),
        cmocka_unit_test(test_crystal_size),
        cmocka_unit_test(test_mosaic_domains),
        cmocka_unit_test(test_phi_table),
        cmocka_unit_test(test_phi_mosaic_layout),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
