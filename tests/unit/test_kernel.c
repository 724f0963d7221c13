/*
 * test_kernel.c - physics checks of the per-pixel sum (kernel.c) and of
 * nb_simulate (simulate.c) on tiny detectors whose every pixel can be worked
 * out by hand.
 *
 * The base geometry: MOSFLM, 5 x 5 pixels of 1 mm at 10 mm, -Xbeam 0 -Ybeam 0
 * so that Fbeam = Sbeam = 0.5 px and the direct beam hits the centre of pixel
 * (0,0).  Pixel (f,s) is then at pos = (d, -s px, f px) in the lab frame, at
 * distance R = sqrt(d^2 + (f px)^2 + (s px)^2).  With -N 1 the lattice factor
 * is 1, with no HKL file F_cell = default_F = F, one source, one domain, one
 * phi step and -oversample 1 make steps = 1, so
 *     pixel = r_e^2 fluence F^2 * omega * polar * capture
 * with omega = px^2/R^2 * d/R.  For pixel (3,4): R^2 = 100 + 9 + 16 = 125 mm^2,
 * omega = 1/125 * 10/sqrt(125) = 0.008 * 0.894427191 = 0.00715541753 sr.
 * r_e^2 * fluence = 7.94079248018965e-30 * 1.259320152862271e29 = 1.0000000
 * (nanoBragg's default fluence), so with F = 10 pixel (3,4) is 0.715541753.
 */
#include <string.h>
#include <unistd.h>

#include "support.h"

#define NPIX 5
#define PX 1e-3
#define DIST 10e-3
#define FVAL 10.0

/* ------------------------------------------------------------ helpers */

/* float pixels against a double formula: relative 1e-6 (float has 6e-8) */
#define assert_rel(a, b) near_impl((a), (b), 1e-6 * fabs(b), #a, __FILE__, __LINE__)

/* base_config with the tiny detector described at the top: 5 x 5 pixels of
   1 mm at 10 mm, the beam on pixel (0,0), default_F = FVAL, no polarization
   factor, one thread. */
static void tiny_config(nb_config *cfg)
{
    base_config(cfg);
    cfg->default_F = FVAL;
    cfg->fpixels = cfg->spixels = NPIX;
    cfg->pixel_m = PX;
    cfg->distance_m = DIST;
    cfg->Xbeam_m = cfg->Ybeam_m = 0.0;
    cfg->nopolar = 1;
    cfg->threads = 1;
}

static void simulate(const nb_config *cfg, const nb_log *log, nb_image *img)
{
    nb_experiment *e = create(cfg);
    nb_error err = {{0}};
    nb_status st = nb_simulate(e, log, img, &err);
    if (st != NB_OK)
        print_error("nb_simulate: %s\n", err.msg);
    assert_int_equal(st, NB_OK);
    assert_int_equal(img->fpixels, cfg->fpixels);
    assert_int_equal(img->spixels, cfg->spixels);
    nb_experiment_free(e);
}

static double K(const nb_config *cfg) { return NB_R_E_SQR * cfg->fluence; }

static double R2(int f, int s) { return DIST * DIST + (f * PX) * (f * PX) + (s * PX) * (s * PX); }

/* Solid angle of pixel (f,s) of the base geometry. */
static double omega(int f, int s)
{
    double R = sqrt(R2(f, s));
    return PX * PX / (R * R) * DIST / R;
}

static float pixel(const nb_image *img, int f, int s) { return img->data[s * img->fpixels + f]; }

/* ------------------------------------------------------------ intensity */

/* Every pixel is K F^2 omega; the statistics follow. */
static void test_formula_all_pixels(void **state)
{
    nb_config cfg;
    nb_image img;
    double sum = 0.0, sumsq = 0.0, osum = 0.0;
    (void)state;
    tiny_config(&cfg);
    simulate(&cfg, NULL, &img);
    assert_near(K(&cfg), 1.0, 1e-6);
    assert_near(omega(3, 4), 0.00715541753, 1e-11);
    assert_rel(pixel(&img, 3, 4), 0.715541753 * K(&cfg));
    for (int s = 0; s < NPIX; ++s)
        for (int f = 0; f < NPIX; ++f) {
            double v = K(&cfg) * FVAL * FVAL * omega(f, s);
            assert_rel(pixel(&img, f, s), v);
            sum += v;
            sumsq += v * v;
            osum += omega(f, s);
        }
    assert_int_equal(img.rendered, 25);
    /* the beam pixel is brightest: omega = 1/100 * 10/10 = 0.01, value 1.0 */
    assert_rel(img.max_I, K(&cfg) * FVAL * FVAL * 0.01);
    assert_near(img.max_I_x_m, 0.5e-3, 1e-15);
    assert_near(img.max_I_y_m, 0.5e-3, 1e-15);
    assert_rel(img.mean, sum / 25);
    assert_rel(img.rms, sqrt(sumsq / 24));
    assert_near(img.omega_sum, osum, 1e-12 * osum);
    nb_image_free(&img);
}

/* AT-GEO-006: -point_pixel: omega = 1/R^2, pixel (3,4) = K F^2 / 1.25e-4 m^2
   = 100 * 8000 = 8e5. */
static void test_point_pixel(void **state)
{
    nb_config cfg;
    nb_image img;
    (void)state;
    tiny_config(&cfg);
    cfg.point_pixel = 1;
    simulate(&cfg, NULL, &img);
    assert_rel(pixel(&img, 3, 4), 8e5 * K(&cfg));
    for (int s = 0; s < NPIX; ++s)
        for (int f = 0; f < NPIX; ++f)
            assert_rel(pixel(&img, f, s), K(&cfg) * FVAL * FVAL / R2(f, s));
    nb_image_free(&img);
}

/* AT-GEO-005: -curved_det puts every pixel at the distance d along a
   direction turned from the beam, so R = d and omega = px^2/d^2 * d/d = 0.01
   for all pixels: every pixel is K F^2 * 0.01 = 1.0, where the flat detector
   has 0.7155 at (3,4). */
static void test_curved_detector(void **state)
{
    nb_config cfg;
    nb_image img;
    (void)state;
    tiny_config(&cfg);
    cfg.curved_detector = 1;
    simulate(&cfg, NULL, &img);
    for (int s = 0; s < NPIX; ++s)
        for (int f = 0; f < NPIX; ++f)
            assert_rel(pixel(&img, f, s), K(&cfg) * FVAL * FVAL * 0.01);
    nb_image_free(&img);
}

/* ------------------------------------------------------------ polarization */

/* Kahn factor 0.5 (1 + cos^2 2th - K cos 2psi sin^2 2th).  MOSFLM: incident
   i = (1,0,0), polar p = (0,0,1): B_in = unit(p x i) = (0,1,0), E_in =
   unit(i x B_in) = (0,0,1); psi = -atan2(d.B_in, d.E_in).
   Pixel (3,4): d = (10,-4,3)/sqrt(125): cos^2 2th = 100/125 = 0.8,
   sin^2 2th = 0.2; cos 2psi = (E^2 - B^2)/(E^2 + B^2) = (9 - 16)/25 = -0.28:
     K = 0.5: 0.5 (1.8 + 0.5 * 0.28 * 0.2) = 0.914
     K = 0:   0.5 * 1.8 = 0.9
     K = 1:   0.928 = 1 - (d.p)^2 = 1 - 9/125 (fully polarized along p).
   Pixel (4,0): d = (10,0,4)/sqrt(116): cos 2psi = +1:
     K = 0.5: 0.5 (1 + 100/116 - 0.5 * 16/116) = 104/116 = 0.896551724.
   Pixel (0,4): d = (10,-4,0)/sqrt(116): cos 2psi = -1:
     K = 0.5: 0.5 (1 + 100/116 + 0.5 * 16/116) = 112/116 = 0.965517241.
   Pixel (0,0): 2th = 0, factor 1. */
static void test_polarization(void **state)
{
    const double kahn[3] = {0.5, 0.0, 1.0}, p34[3] = {0.914, 0.9, 0.928};
    (void)state;
    for (int i = 0; i < 3; ++i) {
        nb_config cfg;
        nb_image img;
        double base;
        tiny_config(&cfg);
        cfg.nopolar = 0;
        cfg.polarization = kahn[i];
        simulate(&cfg, NULL, &img);
        base = K(&cfg) * FVAL * FVAL;
        assert_rel(pixel(&img, 3, 4), base * omega(3, 4) * p34[i]);
        assert_rel(pixel(&img, 0, 0), base * omega(0, 0));
        if (kahn[i] == 0.5) {
            assert_rel(pixel(&img, 4, 0), base * omega(4, 0) * 104.0 / 116.0);
            assert_rel(pixel(&img, 0, 4), base * omega(0, 4) * 112.0 / 116.0);
        }
        nb_image_free(&img);
    }
}

/* ------------------------------------------------------------ absorption */

/* AT-ABS-001.  -detector_thick 0.5 mm -detector_abs 500 um (mu = 2000/m),
   layers not given: 2 layers of D = 0.25 mm (Odet = 0 and 0.25 mm).  Both
   layers add F^2 (I = 2 F^2; steps does not count layers).  Without
   -oversample_thick the capture fraction of the last layer scales the pixel;
   it is computed at layer 1's first sub-pixel, pos1 = (d + D, -s px, f px),
   R1 = |pos1|, parallax rho1 = (d + D)/R1,
   capture1 = exp(-D mu/rho1) - exp(-2 D mu/rho1).  The solid angle, like
   nanoBragg's omega_pixel, is computed once per pixel (first sub-pixel of the
   first layer, Odet = 0) unless -oversample_omega, so it is omega(f,s).
   Pixel (0,0): rho = 1, capture1 = e^-0.5 - e^-1 = 0.606530660 - 0.367879441
   = 0.238651219, omega = 0.01, pixel = 2 * 100 * 0.238651219 * 0.01 = 0.47730244.
   With -oversample_thick the running sum is scaled per layer instead:
   I = (F^2 capture0 + F^2) capture1 with capture0 = 1 - exp(-D mu/rho0) and
   rho0 = d/R0 from the front layer; pixel (0,0): capture0 = 1 - e^-0.5
   = 0.393469340, pixel = 100 * 1.393469340 * 0.238651219 * 0.01 = 0.33255316.
   With -oversample_omega as well, omega is recomputed per layer and the sum is
   scaled by it after each term: I = ((F^2 c0 w0 + F^2) c1 w1), where
   w1 = px^2/R1^2 * d/R1; pixel (0,0): w1 = 1/105.0625 * 10/10.25 = 0.00928599. */
static double layer_capture(int f, int s, int t, double D, double mu)
{
    double x = DIST + t * D, R = sqrt(x * x + (f * PX) * (f * PX) + (s * PX) * (s * PX)), rho = x / R;
    return exp(-t * D * mu / rho) - exp(-(t + 1) * D * mu / rho);
}

static double layer_omega(int f, int s, double Odet)
{
    double x = DIST + Odet, R = sqrt(x * x + (f * PX) * (f * PX) + (s * PX) * (s * PX));
    return PX * PX / (R * R) * DIST / R;
}

static void test_absorption(void **state)
{
    const double T = 0.5e-3, mu = 2000.0, D = T / 2;
    nb_config cfg;
    nb_image img;
    nb_experiment *e;
    (void)state;
    tiny_config(&cfg);
    cfg.detector_thick_m = T;
    cfg.detector_mu = mu;
    e = create(&cfg);
    assert_int_equal(e->det.thicksteps, 2);
    assert_near(e->det.thickstep_m, D, 1e-18);
    nb_experiment_free(e);

    assert_near(layer_capture(0, 0, 1, D, mu), 0.238651219, 1e-9);
    assert_near(layer_capture(0, 0, 0, D, mu), 0.393469340, 1e-9);
    assert_near(layer_omega(0, 0, D), 0.00928599, 1e-8);

    simulate(&cfg, NULL, &img);
    assert_rel(pixel(&img, 0, 0), 0.47730244 * K(&cfg));
    for (int s = 0; s < NPIX; ++s)
        for (int f = 0; f < NPIX; ++f)
            assert_rel(pixel(&img, f, s),
                       K(&cfg) * 2 * FVAL * FVAL * layer_capture(f, s, 1, D, mu) * omega(f, s));
    nb_image_free(&img);

    cfg.oversample_thick = 1;
    simulate(&cfg, NULL, &img);
    assert_rel(pixel(&img, 0, 0), 0.33255316 * K(&cfg));
    for (int s = 0; s < NPIX; ++s)
        for (int f = 0; f < NPIX; ++f) {
            double I = (FVAL * FVAL * layer_capture(f, s, 0, D, mu) + FVAL * FVAL) * layer_capture(f, s, 1, D, mu);
            assert_rel(pixel(&img, f, s), K(&cfg) * I * omega(f, s));
        }
    nb_image_free(&img);

    cfg.oversample_omega = 1;
    simulate(&cfg, NULL, &img);
    for (int s = 0; s < NPIX; ++s)
        for (int f = 0; f < NPIX; ++f) {
            double I = FVAL * FVAL * layer_capture(f, s, 0, D, mu) * layer_omega(f, s, 0);
            I = (I + FVAL * FVAL) * layer_capture(f, s, 1, D, mu) * layer_omega(f, s, D);
            assert_rel(pixel(&img, f, s), K(&cfg) * I);
        }
    nb_image_free(&img);
    cfg.oversample_thick = cfg.oversample_omega = 0;

    /* one layer asked for: nanoBragg raises it to 2 with step = thickness */
    cfg.detector_thicksteps = 1;
    e = create(&cfg);
    assert_int_equal(e->det.thicksteps, 2);
    assert_near(e->det.thickstep_m, T, 1e-18);
    nb_experiment_free(e);
}

/* ------------------------------------------------------------ background */

/* AT-BKG-001: -water 0.001 um (1 nm):
   I_bg = 2.57^2 r_e^2 fluence w^3 1e6 N_A / 18
        = 6.6049 * K * 1e-27 * 1e6 * 6.02214179e23 / 18
        = 6.6049 * 33.4563433 * K = 220.97 K,
   added to the accumulator before the Bragg term and scaled like it:
   pixel = K (I_bg + F^2) omega. */
static void test_water_background(void **state)
{
    nb_config cfg;
    nb_image img;
    nb_experiment *e;
    double Ibg;
    (void)state;
    tiny_config(&cfg);
    cfg.water_m = 1e-9;
    Ibg = 2.57 * 2.57 * K(&cfg) * 1e-27 * 1e6 * 6.02214179e23 / 18.0;
    assert_near(Ibg, 220.97, 0.01 * K(&cfg));
    e = create(&cfg);
    assert_near(e->I_bg, Ibg, 1e-12 * Ibg);
    nb_experiment_free(e);
    simulate(&cfg, NULL, &img);
    for (int s = 0; s < NPIX; ++s)
        for (int f = 0; f < NPIX; ++f)
            assert_rel(pixel(&img, f, s), K(&cfg) * (Ibg + FVAL * FVAL) * omega(f, s));
    nb_image_free(&img);
}

/* ------------------------------------------------------------ normalisation */

/* AT-SAM-001: -osc 0 gives 2 phi steps at the same angle: I = 2 F^2 and
   steps = 2, so the image equals the single-step one.  AT-SRC-001: two
   sources along -beam with different weights and wavelengths: steps = 2,
   weights ignored; with -N 1 and a constant F the wavelength does not
   matter, so again the same image. */
static void test_steps_normalisation(void **state)
{
    nb_config cfg;
    nb_image one, two;
    char path[] = "/tmp/nb_test_sourcesXXXXXX";
    int fd;
    FILE *fp;
    (void)state;
    tiny_config(&cfg);
    simulate(&cfg, NULL, &one);
    cfg.osc_rad = 0.0;
    simulate(&cfg, NULL, &two);
    for (int i = 0; i < NPIX * NPIX; ++i)
        assert_rel(two.data[i], one.data[i]);
    nb_image_free(&two);

    fd = mkstemp(path);
    assert_true(fd >= 0);
    fp = fdopen(fd, "w");
    assert_non_null(fp);
    fprintf(fp, "-10 0 0 1.0 1e-10\n-10 0 0 5.0 1.2e-10\n");
    fclose(fp);
    tiny_config(&cfg);
    cfg.source_path = path;
    {
        nb_experiment *e = create(&cfg);
        assert_int_equal(e->src.n, 2);
        assert_int_equal(nb_experiment_info(e)->steps, 2);
        nb_experiment_free(e);
    }
    simulate(&cfg, NULL, &two);
    for (int i = 0; i < NPIX * NPIX; ++i)
        assert_rel(two.data[i], one.data[i]);
    nb_image_free(&two);
    nb_image_free(&one);
    remove(path);
}

/* AT-SAM-003: -dmin 3 A skips a source when the pixel's resolution
   d = lambda/(2 sin th) is finer than 3 A: sin th > 1/6, th > 9.594 deg,
   2th > 19.188 deg, i.e. in-plane radius > 10 mm * tan 19.188 = 3.480 mm,
   (f^2 + s^2) > 12.11.  Pixels with f^2 + s^2 = 13 or more are 0, those with
   10 or less keep K F^2 omega; the beam pixel (stol = 0) is never skipped. */
static void test_dmin(void **state)
{
    nb_config cfg;
    nb_image img;
    (void)state;
    tiny_config(&cfg);
    cfg.dmin_m = 3e-10;
    simulate(&cfg, NULL, &img);
    for (int s = 0; s < NPIX; ++s)
        for (int f = 0; f < NPIX; ++f) {
            if (f * f + s * s > 12)
                assert_true(pixel(&img, f, s) == 0.0f);
            else
                assert_rel(pixel(&img, f, s), K(&cfg) * FVAL * FVAL * omega(f, s));
        }
    nb_image_free(&img);
}

/* ------------------------------------------------------------ ROI, mask */

/* -roi 1 2 1 3: pixels f = 1..2, s = 1..3 (6 pixels) rendered, every other
   pixel exactly 0, statistics over the 6: the brightest is (1,1), nearest the
   beam, at (1.5 mm, 1.5 mm). */
static void test_roi(void **state)
{
    nb_config cfg;
    nb_image img;
    double sum = 0.0, sumsq = 0.0, osum = 0.0;
    (void)state;
    tiny_config(&cfg);
    cfg.roi[0] = 1;
    cfg.roi[1] = 2;
    cfg.roi[2] = 1;
    cfg.roi[3] = 3;
    simulate(&cfg, NULL, &img);
    for (int s = 0; s < NPIX; ++s)
        for (int f = 0; f < NPIX; ++f) {
            if (f < 1 || f > 2 || s < 1 || s > 3) {
                assert_true(pixel(&img, f, s) == 0.0f);
                continue;
            }
            double v = K(&cfg) * FVAL * FVAL * omega(f, s);
            assert_rel(pixel(&img, f, s), v);
            sum += v;
            sumsq += v * v;
            osum += omega(f, s);
        }
    assert_int_equal(img.rendered, 6);
    assert_rel(img.mean, sum / 6);
    assert_rel(img.rms, sqrt(sumsq / 5));
    assert_rel(img.max_I, K(&cfg) * FVAL * FVAL * omega(1, 1));
    assert_near(img.max_I_x_m, 1.5e-3, 1e-15);
    assert_near(img.max_I_y_m, 1.5e-3, 1e-15);
    assert_near(img.omega_sum, osum, 1e-12 * osum);
    nb_image_free(&img);
}

/* A mask with zeros at (0,0) and (3,4): those stay exactly 0 and the
   statistics count 23 pixels; the brightest left is at R^2 = d^2 + px^2. */
static void test_mask(void **state)
{
    nb_config cfg;
    nb_image img;
    uint16_t mask[NPIX * NPIX];
    double sum = 0.0;
    nb_experiment *e = NULL;
    nb_error err;
    (void)state;
    for (int i = 0; i < NPIX * NPIX; ++i)
        mask[i] = 1;
    mask[0 * NPIX + 0] = 0;
    mask[4 * NPIX + 3] = 0;
    tiny_config(&cfg);
    cfg.mask = mask;
    cfg.mask_width = cfg.mask_height = NPIX;
    simulate(&cfg, NULL, &img);
    for (int s = 0; s < NPIX; ++s)
        for (int f = 0; f < NPIX; ++f) {
            if ((f == 0 && s == 0) || (f == 3 && s == 4)) {
                assert_true(pixel(&img, f, s) == 0.0f);
                continue;
            }
            assert_rel(pixel(&img, f, s), K(&cfg) * FVAL * FVAL * omega(f, s));
            sum += K(&cfg) * FVAL * FVAL * omega(f, s);
        }
    assert_int_equal(img.rendered, 23);
    assert_rel(img.mean, sum / 23);
    assert_rel(img.max_I, K(&cfg) * FVAL * FVAL * omega(1, 0));
    {
        /* rmsd: over the 23 rendered pixels, like mean and rms; rmsd_roi (which
           scales the PGM) is nanoBragg's, over all 25 with the masked ones as 0 */
        const double mean = sum / 23;
        double dev = 0.0, dev_all = 2 * mean * mean;
        for (int s = 0; s < NPIX; ++s)
            for (int f = 0; f < NPIX; ++f)
                if (!((f == 0 && s == 0) || (f == 3 && s == 4))) {
                    const double v = K(&cfg) * FVAL * FVAL * omega(f, s);
                    dev += (v - mean) * (v - mean);
                    dev_all += (v - mean) * (v - mean);
                }
        assert_rel(img.rmsd, sqrt(dev / 22));
        assert_rel(img.rmsd_roi, sqrt(dev_all / 24));
        assert_true(fabs(img.rmsd - img.rmsd_roi) > 1e-3 * img.rmsd); /* the two differ */
    }
    nb_image_free(&img);

    /* a mask of the wrong size is refused */
    cfg.mask_width = NPIX - 1;
    assert_int_equal(nb_experiment_create(&cfg, NULL, &e, &err), NB_ERR_INVALID);
    assert_null(e);
}

/* ------------------------------------------------------------ instruction sets */

/* Every instruction set the processor runs renders the same float image;
   one it lacks, or no instruction set at all, is refused at set-up. */
static void test_isa_choice(void **state)
{
    static const nb_isa isas[] = {NB_ISA_BASELINE, NB_ISA_AVX2, NB_ISA_AVX512};
    nb_config cfg;
    nb_image ref, img;
    nb_experiment *e = NULL;
    nb_error err;
    int ran = 0;
    (void)state;
    tiny_config(&cfg);
    cfg.Na = cfg.Nb = cfg.Nc = 3;
    cfg.oversample = 2;
    cfg.isa = NB_ISA_AUTO;
    simulate(&cfg, NULL, &ref);
    for (int i = 0; i < 3; ++i) {
        cfg.isa = isas[i];
        if (!nb_isa_available(isas[i])) {
            assert_int_equal(nb_experiment_create(&cfg, NULL, &e, &err), NB_ERR_INVALID);
            assert_null(e);
            assert_non_null(strstr(err.msg, "not available"));
            continue;
        }
        simulate(&cfg, NULL, &img);
        assert_memory_equal(ref.data, img.data, sizeof(float) * NPIX * NPIX);
        nb_image_free(&img);
        ++ran;
    }
    assert_true(ran >= 1 && nb_isa_available(NB_ISA_BASELINE) && nb_isa_available(NB_ISA_AUTO));
    cfg.isa = (nb_isa)99;
    assert_int_equal(nb_experiment_create(&cfg, NULL, &e, &err), NB_ERR_INVALID);
    nb_image_free(&ref);
}

/* ------------------------------------------------------------ determinism */

typedef struct warn_count {
    int interp;
} warn_count;

static void count_fn(void *ctx, nb_log_level level, const char *line)
{
    warn_count *c = ctx;
    if (level == NB_LOG_WARN && strstr(line, "out of range for three point interpolation"))
        c->interp++;
}

/* An HKL file of every h, k, l in [-lim, lim] with F(h, k, l), at path (a
   mkstemp template, filled in). */
static void write_hkl(char *path, int lim, double (*F)(int, int, int))
{
    const int fd = mkstemp(path);
    FILE *fp;
    assert_true(fd >= 0);
    fp = fdopen(fd, "w");
    assert_non_null(fp);
    for (int h = -lim; h <= lim; ++h)
        for (int k = -lim; k <= lim; ++k)
            for (int l = -lim; l <= lim; ++l)
                fprintf(fp, "%d %d %d %g\n", h, k, l, F(h, k, l));
    assert_int_equal(fclose(fp), 0);
}

static double F_wavy(int h, int k, int l) { return 20.0 + 10.0 * cos(0.7 * h + 0.3 * k * k - 0.5 * l); }

static double F_smooth(int h, int k, int l) { return 5.0 + h + 0.5 * k * k + 0.25 * l * (l + 1) + 0.1 * h * k; }

/* Tricubic interpolation with the whole detector inside the HKL grid: runs
   of samples that share a neighbourhood are summed across samples in one
   vector loop (x86-64-v3 and later), the others one sample at a time (the
   only path of the x86-64 baseline).  Every instruction set gives the same
   image bit for bit, in double and in single precision, and the image is
   not flat (the table values matter). */
static void test_interp_paths_bit_identical(void **state)
{
    static const nb_isa isas[] = {NB_ISA_BASELINE, NB_ISA_AVX2, NB_ISA_AVX512};
    char path[] = "/tmp/nb_test_kernel_interpXXXXXX";
    nb_config cfg;
    (void)state;
    write_hkl(path, 8, F_wavy);

    tiny_config(&cfg);
    cfg.hkl_path = path;
    cfg.cell_A[0] = cfg.cell_A[1] = cfg.cell_A[2] = 20.0;
    cfg.Na = cfg.Nb = cfg.Nc = 2.0;
    cfg.fpixels = cfg.spixels = 32;
    cfg.pixel_m = 0.4e-3; /* h, k grow by ~0.08 a pixel: runs of a few pixels */
    cfg.distance_m = 100e-3;
    cfg.oversample = 2;
    cfg.mosaic_spread_rad = 0.3 * DEG;
    cfg.mosaic_domains = 2;
    for (int prec = 0; prec < 2; ++prec) {
        nb_image ref;
        int ran = 0;
        cfg.precision = prec ? NB_PRECISION_SINGLE : NB_PRECISION_DOUBLE;
        cfg.isa = NB_ISA_BASELINE;
        {
            nb_experiment *e = create(&cfg);
            assert_int_equal(e->interpolate, 1);
            assert_int_equal(nb_experiment_info(e)->precision_used, cfg.precision);
            nb_experiment_free(e);
        }
        {
            warn_count wc = {0};
            nb_log log = {.fn = count_fn, .ctx = &wc};
            simulate(&cfg, &log, &ref);
            assert_int_equal(wc.interp, 0); /* interpolated everywhere */
        }
        assert_true(ref.max_I > 2.0 * ref.mean);
        for (int i = 1; i < 3; ++i) {
            nb_image img;
            cfg.isa = isas[i];
            if (!nb_isa_available(isas[i]))
                continue;
            simulate(&cfg, NULL, &img);
            assert_memory_equal(ref.data, img.data, sizeof(float) * 32 * 32);
            nb_image_free(&img);
            ++ran;
        }
        if (!ran)
            print_message("no vector instruction set here: only the baseline ran\n");
        nb_image_free(&ref);
    }
    remove(path);
}

/* A 7 x 7 x 7 HKL grid (h,k,l = -3..3) and a 20 A cell with -N 2 (tricubic
   interpolation on by default): from the beam at pixel (0,0) outwards, h grows
   by ~0.5 per 0.5 mm pixel, and at h > 1 the 4x4x4 neighbourhood leaves the
   grid, so interpolation switches off for good a few pixels into the first
   row.  With a phi sweep from 0 (the first-sweep orientation quirk), three
   mosaic domains and 2x2 oversampling, the image and statistics must be the
   same bit for bit at 1, 2 and 4 threads. */
static void test_threads_bit_identical(void **state)
{
    char path[] = "/tmp/nb_test_kernel_hklXXXXXX";
    nb_config cfg;
    nb_image img[3];
    const int threads[3] = {1, 2, 4};
    (void)state;
    write_hkl(path, 3, F_smooth);

    tiny_config(&cfg);
    cfg.hkl_path = path;
    cfg.default_F = 3.0;
    cfg.cell_A[0] = cfg.cell_A[1] = cfg.cell_A[2] = 20.0;
    cfg.Na = cfg.Nb = cfg.Nc = 2.0;
    cfg.fpixels = cfg.spixels = 24;
    cfg.pixel_m = 0.5e-3;
    cfg.distance_m = 20e-3;
    cfg.oversample = 2;
    cfg.phi0_rad = 0.0;
    cfg.osc_rad = 6 * DEG;
    cfg.phisteps = 3;
    cfg.mosaic_spread_rad = 0.5 * DEG;
    cfg.mosaic_domains = 3;
    cfg.nopolar = 0;
    cfg.polarization = 0.3;
    {
        nb_experiment *e = create(&cfg);
        assert_int_equal(e->interpolate, 1);
        assert_int_equal(e->xtal.first_differs, 1);
        nb_experiment_free(e);
    }
    for (int i = 0; i < 3; ++i) {
        warn_count wc = {0};
        nb_log log = {.fn = count_fn, .ctx = &wc};
        cfg.threads = threads[i];
        simulate(&cfg, &log, &img[i]);
        assert_int_equal(wc.interp, 1); /* the fallback happened, once */
    }
    assert_true(img[0].max_I > 0.0);
    for (int i = 1; i < 3; ++i) {
        assert_memory_equal(img[0].data, img[i].data, sizeof(float) * 24 * 24);
        assert_true(img[0].max_I == img[i].max_I);
        assert_true(img[0].max_I_x_m == img[i].max_I_x_m && img[0].max_I_y_m == img[i].max_I_y_m);
        assert_true(img[0].mean == img[i].mean);
        assert_true(img[0].rms == img[i].rms);
        assert_true(img[0].rmsd == img[i].rmsd);
        assert_true(img[0].omega_sum == img[i].omega_sum);
        assert_int_equal(img[0].rendered, img[i].rendered);
    }
    for (int i = 0; i < 3; ++i)
        nb_image_free(&img[i]);
    remove(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_formula_all_pixels),
        cmocka_unit_test(test_point_pixel),
        cmocka_unit_test(test_curved_detector),
        cmocka_unit_test(test_polarization),
        cmocka_unit_test(test_absorption),
        cmocka_unit_test(test_water_background),
        cmocka_unit_test(test_steps_normalisation),
        cmocka_unit_test(test_dmin),
        cmocka_unit_test(test_roi),
        cmocka_unit_test(test_mask),
        cmocka_unit_test(test_isa_choice),
        cmocka_unit_test(test_interp_paths_bit_identical),
        cmocka_unit_test(test_threads_bit_identical),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
