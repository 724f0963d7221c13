/*
 * test_geometry.c - unit tests of detector geometry (detector.c) through
 * nb_experiment_create: beam-centre conventions, pix0, XDS/DIALS origins,
 * rotations and pivots, and the SMV header values (nb_experiment_smv_info).
 * Every expected number is worked out by hand in the comments, from the
 * nanoBragg spec (AT-GEO-*) and the reference's convention table.
 */
#include "support.h"

/* ------------------------------------------------------------ helpers */

/* f, s, o unit, mutually orthogonal, and f x s = o (right-handed). */
static void assert_right_handed_basis(const nb_info *in)
{
    double fxs[3];
    assert_near(dot(in->fdet, in->fdet), 1.0, 1e-14);
    assert_near(dot(in->sdet, in->sdet), 1.0, 1e-14);
    assert_near(dot(in->odet, in->odet), 1.0, 1e-14);
    assert_near(dot(in->fdet, in->sdet), 0.0, 1e-14);
    assert_near(dot(in->fdet, in->odet), 0.0, 1e-14);
    assert_near(dot(in->sdet, in->odet), 0.0, 1e-14);
    cross(in->fdet, in->sdet, fxs);
    assert_vec(fxs, in->odet[0], in->odet[1], in->odet[2], 1e-14);
}

/* Where the direct beam meets the detector plane, in (fast, slow) metres,
   from the placed geometry alone: t b lies in the plane when
   (t b - pix0).o = 0, i.e. t = pix0.o / b.o; then R = t b - pix0. */
static void geometric_beam_spot(const nb_info *in, double *F, double *S)
{
    double t = dot(in->pix0_m, in->odet) / dot(in->beam, in->odet), R[3];
    for (int i = 0; i < 3; ++i)
        R[i] = t * in->beam[i] - in->pix0_m[i];
    *F = dot(R, in->fdet);
    *S = dot(R, in->sdet);
}

/* ------------------------------------------------------------ MOSFLM */

/* AT-GEO-001: MOSFLM, 0.1 mm pixels, 100 mm, Xbeam = Ybeam = 51.2 mm, BEAM
   pivot, no rotations.  Fbeam = Ybeam + 0.5 px = 51.25 mm, Sbeam = Xbeam +
   0.5 px = 51.25 mm; pix0 = -Fbeam f - Sbeam s + distance b with f = (0,0,1),
   s = (0,-1,0), b = (1,0,0):
   pix0 = (0.1, +0.05125, -0.05125) m (spec tolerance 1e-9 m). */
static void test_at_geo_001(void **state)
{
    nb_config cfg;
    nb_experiment *e;
    const nb_info *in;
    (void)state;
    base_config(&cfg);
    cfg.Xbeam_m = cfg.Ybeam_m = 51.2e-3;
    e = create(&cfg);
    in = nb_experiment_info(e);
    assert_int_equal(in->convention, NB_CONV_MOSFLM);
    assert_int_equal(in->pivot, NB_PIVOT_BEAM);
    assert_int_equal(in->fpixels, 1024);
    assert_int_equal(in->spixels, 1024);
    assert_vec(in->beam, 1, 0, 0, 0.0);
    assert_vec(in->fdet, 0, 0, 1, 0.0);
    assert_vec(in->sdet, 0, -1, 0, 0.0);
    assert_vec(in->odet, 1, 0, 0, 0.0);
    assert_vec(in->polar, 0, 0, 1, 0.0);
    assert_vec(in->spindle, 0, 0, 1, 0.0);
    assert_vec(in->twotheta_axis, 0, 0, -1, 0.0);
    assert_vec(in->pix0_m, 0.1, 0.05125, -0.05125, 1e-9);
    assert_vec(in->pix0_m, 0.1, 0.05125, -0.05125, 1e-15);
    assert_near(in->Fbeam_m, 0.05125, 1e-15);
    assert_near(in->Sbeam_m, 0.05125, 1e-15);
    /* no rotation: the near point is the beam spot, Fclose = -pix0.f = 0.05125;
       ORGX = Fclose/pixel + 0.5 = 512.5 + 0.5 = 513 */
    assert_near(in->Fclose_m, 0.05125, 1e-15);
    assert_near(in->Sclose_m, 0.05125, 1e-15);
    assert_near(in->ORGX, 513.0, 1e-9);
    assert_near(in->ORGY, 513.0, 1e-9);
    assert_near(in->distance_m, 0.1, 1e-15);
    assert_near(in->close_distance_m, 0.1, 1e-15);
    /* the same geometry pinned by the detector itself */
    assert_near(e->det.pix0.x, 0.1, 1e-15);
    assert_near(e->det.pix0.y, 0.05125, 1e-15);
    assert_near(e->det.pix0.z, -0.05125, 1e-15);
    assert_true(e->det.close_distance_m == in->close_distance_m);
    nb_experiment_free(e);
}

/* MOSFLM defaults: Xbeam = (detsize_s + px)/2 = (102.4 + 0.1)/2 = 51.25 mm,
   Ybeam = (detsize_f + px)/2 = 51.25 mm; Fbeam = Sbeam = 51.25 + 0.05 = 51.3 mm;
   pix0 = (0.1, 0.0513, -0.0513); Fclose = Sclose = 51.3 mm, so
   ORGX = ORGY = 513 + 0.5 = 513.5.
   DIALS origin = 1000 * (pix0.z, pix0.y, -pix0.x) = (-51.3, 51.3, -100) mm.
   SMV: BEAM_CENTER = Xbeam, Ybeam = 51.25; ADXV_CENTER_X = Fbeam = 51.3,
   ADXV_CENTER_Y = detsize_s - Sbeam = 102.4 - 51.3 = 51.1;
   MOSFLM_CENTER_X = Sbeam - 0.5 px = 51.25, MOSFLM_CENTER_Y = Fbeam - 0.5 px = 51.25;
   DENZO_X_BEAM = Sbeam = 51.3, DENZO_Y_BEAM = Fbeam = 51.3. */
static void test_mosflm_defaults_and_smv(void **state)
{
    nb_config cfg;
    nb_experiment *e;
    const nb_info *in;
    nb_smv_info h;
    (void)state;
    base_config(&cfg);
    e = create(&cfg);
    in = nb_experiment_info(e);
    assert_near(in->Xbeam_m, 0.05125, 1e-15);
    assert_near(in->Ybeam_m, 0.05125, 1e-15);
    assert_near(in->Fbeam_m, 0.0513, 1e-15);
    assert_near(in->Sbeam_m, 0.0513, 1e-15);
    assert_vec(in->pix0_m, 0.1, 0.0513, -0.0513, 1e-15);
    assert_near(in->ORGX, 513.5, 1e-9);
    assert_near(in->ORGY, 513.5, 1e-9);
    assert_vec(in->dials_origin_mm, -51.3, 51.3, -100.0, 1e-11);
    /* the beam hits along b, so XDS sees it as (0, 0, 1) in (f, s, o) */
    assert_vec(in->incident_beam_xds, 0, 0, 1, 0.0);

    nb_experiment_smv_info(e, &h);
    assert_int_equal(h.fpixels, 1024);
    assert_int_equal(h.spixels, 1024);
    assert_near(h.pixel_mm, 0.1, 1e-15);
    assert_near(h.distance_mm, 100.0, 1e-12);
    assert_near(h.close_distance_mm, 100.0, 1e-12);
    assert_near(h.wavelength_A, 1.0, 1e-15);
    assert_near(h.beam_center_x_mm, 51.25, 1e-11);
    assert_near(h.beam_center_y_mm, 51.25, 1e-11);
    assert_near(h.adxv_center_x_mm, 51.3, 1e-11);
    assert_near(h.adxv_center_y_mm, 51.1, 1e-11);
    assert_near(h.mosflm_center_x_mm, 51.25, 1e-11);
    assert_near(h.mosflm_center_y_mm, 51.25, 1e-11);
    assert_near(h.denzo_x_beam_mm, 51.3, 1e-11);
    assert_near(h.denzo_y_beam_mm, 51.3, 1e-11);
    assert_vec(h.dials_origin_mm, -51.3, 51.3, -100.0, 1e-11);
    assert_near(h.xds_orgx, 513.5, 1e-9);
    assert_near(h.xds_orgy, 513.5, 1e-9);
    assert_near(h.phi_deg, 0.0, 0.0);
    assert_near(h.osc_start_deg, 0.0, 0.0);
    assert_near(h.osc_range_deg, 0.0, 0.0);
    assert_near(h.twotheta_deg, 0.0, 0.0);
    nb_experiment_free(e);
}

/* -Xbeam 40 -Ybeam 60 (mm).  MOSFLM: Fbeam = 60 + 0.05 = 60.05 mm, Sbeam =
   40 + 0.05 = 40.05 mm, pix0 = (0.1, 0.04005, -0.06005); the header's MOSFLM
   centre gives back (Sbeam - 0.05, Fbeam - 0.05) = (40, 60) and DENZO
   (40.05, 60.05).  DENZO: no half pixel, Fbeam = 60, Sbeam = 40 mm,
   pix0 = (0.1, 0.04, -0.06); DENZO_X/Y_BEAM = (40, 60), MOSFLM centre
   (39.95, 59.95). */
static void test_mosflm_denzo_beam_centre(void **state)
{
    nb_config cfg;
    nb_experiment *e;
    const nb_info *in;
    nb_smv_info h;
    (void)state;
    base_config(&cfg);
    cfg.Xbeam_m = 40e-3;
    cfg.Ybeam_m = 60e-3;
    e = create(&cfg);
    in = nb_experiment_info(e);
    assert_near(in->Fbeam_m, 0.06005, 1e-15);
    assert_near(in->Sbeam_m, 0.04005, 1e-15);
    assert_vec(in->pix0_m, 0.1, 0.04005, -0.06005, 1e-15);
    nb_experiment_smv_info(e, &h);
    assert_near(h.beam_center_x_mm, 40.0, 1e-11);
    assert_near(h.beam_center_y_mm, 60.0, 1e-11);
    assert_near(h.mosflm_center_x_mm, 40.0, 1e-11);
    assert_near(h.mosflm_center_y_mm, 60.0, 1e-11);
    assert_near(h.denzo_x_beam_mm, 40.05, 1e-11);
    assert_near(h.denzo_y_beam_mm, 60.05, 1e-11);
    nb_experiment_free(e);

    cfg.convention = NB_CONV_DENZO;
    e = create(&cfg);
    in = nb_experiment_info(e);
    assert_int_equal(in->pivot, NB_PIVOT_BEAM);
    assert_vec(in->beam, 1, 0, 0, 0.0);
    assert_vec(in->fdet, 0, 0, 1, 0.0);
    assert_vec(in->sdet, 0, -1, 0, 0.0);
    assert_near(in->Fbeam_m, 0.06, 1e-15);
    assert_near(in->Sbeam_m, 0.04, 1e-15);
    assert_vec(in->pix0_m, 0.1, 0.04, -0.06, 1e-15);
    nb_experiment_smv_info(e, &h);
    assert_near(h.denzo_x_beam_mm, 40.0, 1e-11);
    assert_near(h.denzo_y_beam_mm, 60.0, 1e-11);
    assert_near(h.mosflm_center_x_mm, 39.95, 1e-11);
    assert_near(h.mosflm_center_y_mm, 59.95, 1e-11);
    nb_experiment_free(e);

    /* DENZO defaults: Xbeam = Ybeam = 51.25 mm, Fbeam = Sbeam = 51.25 mm
       (no half-pixel shift): pix0 = (0.1, 0.05125, -0.05125). */
    cfg.Xbeam_m = cfg.Ybeam_m = NB_UNSET;
    e = create(&cfg);
    in = nb_experiment_info(e);
    assert_near(in->Fbeam_m, 0.05125, 1e-15);
    assert_vec(in->pix0_m, 0.1, 0.05125, -0.05125, 1e-15);
    nb_experiment_free(e);
}

/* ------------------------------------------------------------ ADXV */

/* ADXV: b = (0,0,1), f = (1,0,0), s = (0,-1,0), o = (0,0,1), BEAM pivot.
   Defaults Xbeam = (102.4 + 0.1)/2 = 51.25 mm, Ybeam = (102.4 - 0.1)/2 =
   51.15 mm; Fbeam = Xbeam = 51.25, Sbeam = detsize_s - Ybeam = 51.25 mm;
   pix0 = -0.05125 f - 0.05125 s + 0.1 b = (-0.05125, 0.05125, 0.1).
   -Xbeam 30 -Ybeam 70: Fbeam = 30 mm, Sbeam = 102.4 - 70 = 32.4 mm,
   pix0 = (-0.03, 0.0324, 0.1); ADXV_CENTER = (Fbeam, detsize_s - Sbeam) = (30, 70). */
static void test_adxv(void **state)
{
    nb_config cfg;
    nb_experiment *e;
    const nb_info *in;
    nb_smv_info h;
    (void)state;
    base_config(&cfg);
    cfg.convention = NB_CONV_ADXV;
    e = create(&cfg);
    in = nb_experiment_info(e);
    assert_int_equal(in->pivot, NB_PIVOT_BEAM);
    assert_vec(in->beam, 0, 0, 1, 0.0);
    assert_vec(in->fdet, 1, 0, 0, 0.0);
    assert_vec(in->sdet, 0, -1, 0, 0.0);
    assert_vec(in->odet, 0, 0, 1, 0.0);
    assert_vec(in->polar, 1, 0, 0, 0.0);
    assert_vec(in->spindle, 1, 0, 0, 0.0);
    assert_vec(in->twotheta_axis, -1, 0, 0, 0.0);
    assert_near(in->Xbeam_m, 0.05125, 1e-15);
    assert_near(in->Ybeam_m, 0.05115, 1e-15);
    assert_near(in->Fbeam_m, 0.05125, 1e-15);
    assert_near(in->Sbeam_m, 0.05125, 1e-15);
    assert_vec(in->pix0_m, -0.05125, 0.05125, 0.1, 1e-15);
    nb_experiment_free(e);

    cfg.Xbeam_m = 30e-3;
    cfg.Ybeam_m = 70e-3;
    e = create(&cfg);
    in = nb_experiment_info(e);
    assert_near(in->Fbeam_m, 0.030, 1e-15);
    assert_near(in->Sbeam_m, 0.0324, 1e-15);
    assert_vec(in->pix0_m, -0.03, 0.0324, 0.1, 1e-15);
    nb_experiment_smv_info(e, &h);
    assert_near(h.adxv_center_x_mm, 30.0, 1e-11);
    assert_near(h.adxv_center_y_mm, 70.0, 1e-11);
    assert_near(h.beam_center_x_mm, 30.0, 1e-11);
    assert_near(h.beam_center_y_mm, 70.0, 1e-11);
    nb_experiment_free(e);
}

/* ------------------------------------------------------------ XDS, DIALS */

/* XDS: b = o = (0,0,1), f = (1,0,0), s = (0,1,0), SAMPLE pivot.  Defaults
   Fclose = Sclose = detsize/2 = 51.2 mm, Xbeam = Xclose = 51.2 mm.
   close = |b.o * distance| = 0.1, pix0 = -Fclose f - Sclose s + close o =
   (-0.0512, -0.0512, 0.1); ORGX = ORGY = 512 + 0.5 = 512.5; the beam meets the
   plane at R = 0.1 b - pix0 = (0.0512, 0.0512, 0): Fbeam = Sbeam = 51.2 mm.
   DIALS origin = 1000 * (pix0.z, pix0.y, -pix0.x) = (100, -51.2, 51.2) mm.
   -ORGX 100.5 -ORGY 200.5: Fclose = (100.5 - 0.5) * 0.1 mm = 10 mm,
   Sclose = 20 mm, pix0 = (-0.01, -0.02, 0.1), ORGX back to 100.5. */
static void test_xds(void **state)
{
    nb_config cfg;
    nb_experiment *e;
    const nb_info *in;
    nb_smv_info h;
    (void)state;
    base_config(&cfg);
    cfg.convention = NB_CONV_XDS;
    e = create(&cfg);
    in = nb_experiment_info(e);
    assert_int_equal(in->pivot, NB_PIVOT_SAMPLE);
    assert_vec(in->beam, 0, 0, 1, 0.0);
    assert_vec(in->fdet, 1, 0, 0, 0.0);
    assert_vec(in->sdet, 0, 1, 0, 0.0);
    assert_vec(in->odet, 0, 0, 1, 0.0);
    assert_vec(in->polar, 1, 0, 0, 0.0);
    assert_vec(in->spindle, 1, 0, 0, 0.0);
    assert_vec(in->twotheta_axis, 1, 0, 0, 0.0);
    assert_near(in->Xbeam_m, 0.0512, 1e-15);
    assert_near(in->Ybeam_m, 0.0512, 1e-15);
    assert_vec(in->pix0_m, -0.0512, -0.0512, 0.1, 1e-15);
    assert_near(in->Fclose_m, 0.0512, 1e-15);
    assert_near(in->Sclose_m, 0.0512, 1e-15);
    assert_near(in->ORGX, 512.5, 1e-9);
    assert_near(in->ORGY, 512.5, 1e-9);
    assert_near(in->Fbeam_m, 0.0512, 1e-15);
    assert_near(in->Sbeam_m, 0.0512, 1e-15);
    assert_near(in->close_distance_m, 0.1, 1e-15);
    assert_vec(in->dials_origin_mm, 100.0, -51.2, 51.2, 1e-11);
    nb_experiment_smv_info(e, &h);
    assert_near(h.xds_orgx, 512.5, 1e-9);
    assert_near(h.xds_orgy, 512.5, 1e-9);
    assert_near(h.beam_center_x_mm, 51.2, 1e-11);
    assert_near(h.beam_center_y_mm, 51.2, 1e-11);
    assert_vec(h.dials_origin_mm, 100.0, -51.2, 51.2, 1e-11);
    nb_experiment_free(e);

    cfg.ORGX = 100.5;
    cfg.ORGY = 200.5;
    e = create(&cfg);
    in = nb_experiment_info(e);
    assert_near(in->Fclose_m, 0.01, 1e-15);
    assert_near(in->Sclose_m, 0.02, 1e-15);
    assert_vec(in->pix0_m, -0.01, -0.02, 0.1, 1e-15);
    assert_near(in->ORGX, 100.5, 1e-9);
    assert_near(in->ORGY, 200.5, 1e-9);
    /* Xbeam defaults to Xclose = Fclose = 10 mm */
    assert_near(in->Xbeam_m, 0.01, 1e-15);
    assert_near(in->Ybeam_m, 0.02, 1e-15);
    nb_experiment_smv_info(e, &h);
    assert_near(h.xds_orgx, 100.5, 1e-9);
    assert_near(h.xds_orgy, 200.5, 1e-9);
    nb_experiment_free(e);
}

/* DIALS: same detector basis as XDS, but polar = spindle = two-theta axis =
   (0,1,0).  Defaults as XDS: pix0 = (-0.0512, -0.0512, 0.1) and DIALS origin
   (pix0.z, pix0.y, -pix0.x) * 1000 = (100, -51.2, 51.2) mm. */
static void test_dials(void **state)
{
    nb_config cfg;
    nb_experiment *e;
    const nb_info *in;
    (void)state;
    base_config(&cfg);
    cfg.convention = NB_CONV_DIALS;
    e = create(&cfg);
    in = nb_experiment_info(e);
    assert_int_equal(in->pivot, NB_PIVOT_SAMPLE);
    assert_vec(in->beam, 0, 0, 1, 0.0);
    assert_vec(in->fdet, 1, 0, 0, 0.0);
    assert_vec(in->sdet, 0, 1, 0, 0.0);
    assert_vec(in->odet, 0, 0, 1, 0.0);
    assert_vec(in->polar, 0, 1, 0, 0.0);
    assert_vec(in->spindle, 0, 1, 0, 0.0);
    assert_vec(in->twotheta_axis, 0, 1, 0, 0.0);
    assert_vec(in->pix0_m, -0.0512, -0.0512, 0.1, 1e-15);
    assert_vec(in->dials_origin_mm, 100.0, -51.2, 51.2, 1e-11);
    nb_experiment_free(e);
}

/* ------------------------------------------------------------ rotations */

/* Single rotations with exact answers (rotate(): about x by t maps
   (x,y,z) -> (x, y cos t - z sin t, y sin t + z cos t)).
   MOSFLM -detector_rotx 10: f = (0,0,1) -> (0, -sin10, cos10),
   s = (0,-1,0) -> (0, -cos10, -sin10), o = (1,0,0) unchanged.
   MOSFLM -twotheta 20 about (0,0,-1), i.e. about z by -20 deg:
   f = (0,0,1) unchanged, s -> (-sin20, -cos20, 0), o -> (cos20, -sin20, 0);
   TWOTHETA in the header = 20. */
static void test_single_rotations(void **state)
{
    nb_config cfg;
    nb_experiment *e;
    const nb_info *in;
    nb_smv_info h;
    double c = cos(10 * DEG), s = sin(10 * DEG);
    (void)state;
    base_config(&cfg);
    cfg.detector_rot_rad[0] = 10 * DEG;
    e = create(&cfg);
    in = nb_experiment_info(e);
    assert_vec(in->fdet, 0, -s, c, 1e-15);
    assert_vec(in->sdet, 0, -c, -s, 1e-15);
    assert_vec(in->odet, 1, 0, 0, 1e-15);
    /* a rotation about the beam does not tilt the plane: close = distance */
    assert_near(in->close_distance_m, 0.1, 1e-15);
    assert_right_handed_basis(in);
    nb_experiment_free(e);

    base_config(&cfg);
    cfg.twotheta_rad = 20 * DEG;
    c = cos(20 * DEG);
    s = sin(20 * DEG);
    e = create(&cfg);
    in = nb_experiment_info(e);
    assert_vec(in->fdet, 0, 0, 1, 1e-15);
    assert_vec(in->sdet, -s, -c, 0, 1e-15);
    assert_vec(in->odet, c, -s, 0, 1e-15);
    assert_near(in->twotheta_rad, 20 * DEG, 0.0);
    assert_right_handed_basis(in);
    nb_experiment_smv_info(e, &h);
    assert_near(h.twotheta_deg, 20.0, 1e-12);
    nb_experiment_free(e);
}

/* Combined rotations keep the basis orthonormal and right-handed (f x s = o
   holds for MOSFLM, XDS and DIALS before rotation: (0,0,1)x(0,-1,0) = (1,0,0),
   (1,0,0)x(0,1,0) = (0,0,1)). */
static void test_rotated_basis_orthonormal(void **state)
{
    const nb_convention convs[] = {NB_CONV_MOSFLM, NB_CONV_XDS, NB_CONV_DIALS, NB_CONV_DENZO};
    (void)state;
    for (size_t i = 0; i < sizeof convs / sizeof convs[0]; ++i) {
        nb_config cfg;
        nb_experiment *e;
        base_config(&cfg);
        cfg.convention = convs[i];
        cfg.detector_rot_rad[0] = 5 * DEG;
        cfg.detector_rot_rad[1] = 3 * DEG;
        cfg.detector_rot_rad[2] = -2 * DEG;
        cfg.twotheta_rad = 15 * DEG;
        e = create(&cfg);
        assert_right_handed_basis(nb_experiment_info(e));
        nb_experiment_free(e);
    }
}

/* BEAM pivot (MOSFLM): the beam spot stays at Fbeam = Sbeam = 51.3 mm under
   -detector_rotx/y/z.  The plane tilts: ratio r = b.o' with
   o' = Rz Ry Rx (1,0,0) = (cos ry cos rz, cos ry sin rz, -sin ry), so
   r = cos(ry) cos(rz); close = |r d| and distance = close / r = d = 0.1 m;
   close_distance = pix0.o' = 0.1 cos(ry) cos(rz). */
static void test_beam_pivot_keeps_beam_spot(void **state)
{
    nb_config cfg;
    nb_experiment *e;
    const nb_info *in;
    double rx = 0.1, ry = 0.05, rz = 0.02, F, S;
    (void)state;
    base_config(&cfg);
    cfg.detector_rot_rad[0] = rx;
    cfg.detector_rot_rad[1] = ry;
    cfg.detector_rot_rad[2] = rz;
    e = create(&cfg);
    in = nb_experiment_info(e);
    assert_int_equal(in->pivot, NB_PIVOT_BEAM);
    assert_vec(in->odet, cos(ry) * cos(rz), cos(ry) * sin(rz), -sin(ry), 1e-15);
    assert_near(in->Fbeam_m, 0.0513, 1e-15);
    assert_near(in->Sbeam_m, 0.0513, 1e-15);
    assert_near(in->distance_m, 0.1, 1e-15);
    assert_near(in->close_distance_m, 0.1 * cos(ry) * cos(rz), 1e-15);
    geometric_beam_spot(in, &F, &S);
    assert_near(F, 0.0513, 1e-15);
    assert_near(S, 0.0513, 1e-15);
    /* the near point moved away from the beam spot */
    assert_true(fabs(in->Fclose_m - 0.0513) > 1e-4 || fabs(in->Sclose_m - 0.0513) > 1e-4);
    nb_experiment_free(e);

    /* With two-theta as well the plane still contains the user's beam spot
       (pix0 is built from the rotated f, s), as the geometry shows. */
    cfg.twotheta_rad = 0.2;
    e = create(&cfg);
    in = nb_experiment_info(e);
    geometric_beam_spot(in, &F, &S);
    assert_near(F, 0.0513, 1e-15);
    assert_near(S, 0.0513, 1e-15);
    nb_experiment_free(e);
}

/* SAMPLE pivot (XDS): the near point stays at Fclose = Sclose = 51.2 mm (ORGX
   = ORGY = 512.5) under rotations and two-theta, because pix0, f, s, o turn
   together.  r = b.(Rz Ry Rx o) with b = o = (0,0,1):
   Rx: (0, -sin rx, cos rx); Ry: z -> cos rx cos ry; Rz keeps z, so
   r = cos(rx) cos(ry); close = 0.1 r and distance = close / r = 0.1. */
static void test_sample_pivot_keeps_near_point(void **state)
{
    nb_config cfg;
    nb_experiment *e;
    const nb_info *in;
    double rx = 0.1, ry = 0.05, rz = 0.02;
    (void)state;
    base_config(&cfg);
    cfg.convention = NB_CONV_XDS;
    cfg.detector_rot_rad[0] = rx;
    cfg.detector_rot_rad[1] = ry;
    cfg.detector_rot_rad[2] = rz;
    cfg.twotheta_rad = 0.2;
    e = create(&cfg);
    in = nb_experiment_info(e);
    assert_int_equal(in->pivot, NB_PIVOT_SAMPLE);
    assert_near(in->Fclose_m, 0.0512, 1e-15);
    assert_near(in->Sclose_m, 0.0512, 1e-15);
    assert_near(in->ORGX, 512.5, 1e-9);
    assert_near(in->ORGY, 512.5, 1e-9);
    assert_near(in->close_distance_m, 0.1 * cos(rx) * cos(ry), 1e-15);
    assert_near(in->distance_m, 0.1, 1e-15);
    /* and the beam spot is no longer at the near point */
    assert_true(fabs(in->Fbeam_m - 0.0512) > 1e-4 || fabs(in->Sbeam_m - 0.0512) > 1e-4);
    nb_experiment_free(e);
}

/* MOSFLM, beam along x, normal along x.  -detector_roty 5 and -detector_rotz 5
   tilt the normal out of the beam (o' = (cos5, 0, -sin5) and (cos5, sin5, 0)):
   close_distance = 100 mm * cos 5 deg = 99.61946980917455 mm, distance stays
   100 mm.  -detector_rotx is about the beam itself: no tilt, close = 100 mm.
   An explicit close_distance of 80 mm with roty 5 gives
   distance = 80 / cos 5 = 80.30534 mm. */
static void test_tilt_close_distance(void **state)
{
    nb_config cfg;
    nb_experiment *e;
    const nb_info *in;
    (void)state;
    for (int axis = 0; axis < 3; ++axis) {
        base_config(&cfg);
        cfg.detector_rot_rad[axis] = 5 * DEG;
        e = create(&cfg);
        in = nb_experiment_info(e);
        assert_near(in->distance_m, 0.1, 1e-15);
        assert_near(in->close_distance_m, axis == 0 ? 0.1 : 0.1 * cos(5 * DEG), 1e-15);
        assert_near(in->close_distance_m * 1e3, axis == 0 ? 100.0 : 99.61946980917455, 1e-11);
        nb_experiment_free(e);
    }
    base_config(&cfg);
    cfg.detector_rot_rad[1] = 5 * DEG;
    cfg.close_distance_m = 0.08;
    e = create(&cfg);
    in = nb_experiment_info(e);
    assert_near(in->close_distance_m, 0.08, 1e-15);
    assert_near(in->distance_m, 0.08 / cos(5 * DEG), 1e-15);
    nb_experiment_free(e);
}

/* ------------------------------------------------------------ flags, sizes */

static void test_curved_and_point_pixel_flags(void **state)
{
    nb_config cfg;
    nb_experiment *e;
    (void)state;
    base_config(&cfg);
    e = create(&cfg);
    assert_int_equal(e->det.curved, 0);
    assert_int_equal(e->det.point_pixel, 0);
    nb_experiment_free(e);
    cfg.curved_detector = 1;
    cfg.point_pixel = 1;
    e = create(&cfg);
    assert_int_equal(e->det.curved, 1);
    assert_int_equal(e->det.point_pixel, 1);
    nb_experiment_free(e);
}

/* -detsize 50 (mm) with 0.1 mm pixels: ceil(500 - 0.5) = 500 pixels; -detpixels
   wins over -detsize: 300 x 200 pixels = 30 x 20 mm.  MOSFLM defaults then
   follow the sizes: Xbeam = (20 + 0.1)/2 = 10.05 mm (slow size), Ybeam =
   (30 + 0.1)/2 = 15.05 mm (fast size). */
static void test_detector_size(void **state)
{
    nb_config cfg;
    nb_experiment *e;
    const nb_info *in;
    (void)state;
    base_config(&cfg);
    cfg.detsize_f_m = cfg.detsize_s_m = 50e-3;
    e = create(&cfg);
    in = nb_experiment_info(e);
    assert_int_equal(in->fpixels, 500);
    assert_int_equal(in->spixels, 500);
    nb_experiment_free(e);

    cfg.fpixels = 300;
    cfg.spixels = 200;
    e = create(&cfg);
    in = nb_experiment_info(e);
    assert_int_equal(in->fpixels, 300);
    assert_int_equal(in->spixels, 200);
    assert_near(in->detsize_f_m, 0.030, 1e-15);
    assert_near(in->detsize_s_m, 0.020, 1e-15);
    assert_near(in->Xbeam_m, 0.01005, 1e-15);
    assert_near(in->Ybeam_m, 0.01505, 1e-15);
    nb_experiment_free(e);
}

/* Header angles: -phi 10 -osc 5 -> PHI = OSC_START = 10, OSC_RANGE = 5. */
static void test_smv_angles(void **state)
{
    nb_config cfg;
    nb_experiment *e;
    nb_smv_info h;
    (void)state;
    base_config(&cfg);
    cfg.phi0_rad = 10 * DEG;
    cfg.osc_rad = 5 * DEG;
    cfg.lambda0_m = 1.5e-10;
    e = create(&cfg);
    nb_experiment_smv_info(e, &h);
    assert_near(h.phi_deg, 10.0, 1e-12);
    assert_near(h.osc_start_deg, 10.0, 1e-12);
    assert_near(h.osc_range_deg, 5.0, 1e-12);
    assert_near(h.wavelength_A, 1.5, 1e-14);
    nb_experiment_free(e);
}

/* Custom convention: without -twotheta_axis nanoBragg turns the detector
   about its initial axis (0, 1, 0).  odet (1, 0, 0) rotated by +90 degrees
   about y: z' = -x sin(90) = -1, so (0, 0, -1); fdet (0, 0, 1): x' = z sin(90)
   = 1, so (1, 0, 0). */
static void test_custom_default_twotheta_axis(void **state)
{
    nb_config cfg;
    nb_experiment *e;
    const nb_info *in;
    (void)state;
    base_config(&cfg);
    cfg.convention = NB_CONV_CUSTOM;
    cfg.pivot = NB_PIVOT_SAMPLE;
    cfg.twotheta_rad = 90.0 * DEG;
    e = create(&cfg);
    in = nb_experiment_info(e);
    assert_vec(in->twotheta_axis, 0.0, 1.0, 0.0, 0.0);
    assert_vec(in->odet, 0.0, 0.0, -1.0, 1e-15);
    assert_vec(in->fdet, 1.0, 0.0, 0.0, 1e-15);
    nb_experiment_free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_at_geo_001),
        cmocka_unit_test(test_mosflm_defaults_and_smv),
        cmocka_unit_test(test_mosflm_denzo_beam_centre),
        cmocka_unit_test(test_adxv),
        cmocka_unit_test(test_xds),
        cmocka_unit_test(test_dials),
        cmocka_unit_test(test_single_rotations),
        cmocka_unit_test(test_rotated_basis_orthonormal),
        cmocka_unit_test(test_beam_pivot_keeps_beam_spot),
        cmocka_unit_test(test_sample_pivot_keeps_near_point),
        cmocka_unit_test(test_tilt_close_distance),
        cmocka_unit_test(test_curved_and_point_pixel_flags),
        cmocka_unit_test(test_detector_size),
        cmocka_unit_test(test_smv_angles),
        cmocka_unit_test(test_custom_default_twotheta_axis),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
