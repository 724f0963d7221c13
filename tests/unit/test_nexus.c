/*
 * test_nexus.c - NeXus/NXmx output (src/nexus.c): the McStas frame of each
 * convention's lab frame (right-handed, z along the beam, the MOSFLM lab
 * as docs/nexus.md states it), the geometry and image records a file
 * states (beam centre, origin, axes, polarization, orientation), and the
 * writer: open / append / close publishes one HDF5 file; too many or too
 * few images, an unwritable directory, a special file, abort and a failed
 * set leave nothing behind.  The file's contents are read back by
 * tests/interop/check_nexus.py (h5py); a build without HDF5 runs only the
 * checks that need none (test_nexus_none.c tests its refusals).
 */
#include <string.h>
#include <sys/stat.h>

#include "support.h"
#include "scratch.h"
#include "nexus.h"

SCRATCH_GROUP("nb_nexus")

static void small(nb_config *cfg)
{
    base_config(cfg);
    cfg->fpixels = 24;
    cfg->spixels = 16;
    cfg->distance_m = 0.05;
    cfg->Na = cfg->Nb = cfg->Nc = 3;
    set_cell(cfg, 30, 40, 50, 90, 90, 90);
}

/* R is a proper rotation whose last row is the beam. */
static void check_frame(const double R[9], const double beam[3])
{
    double RRt[9];
    for (int i = 0; i < 3; ++i)
        for (int j = 0; j < 3; ++j)
            RRt[3 * i + j] = dot(R + 3 * i, R + 3 * j);
    for (int i = 0; i < 9; ++i)
        assert_near(RRt[i], i % 4 == 0 ? 1.0 : 0.0, 1e-15);
    assert_near(det3(R), 1.0, 1e-15);
    assert_vec(R + 6, beam[0], beam[1], beam[2], 1e-15);
}

static void test_frames(void **state)
{
    static const double beams[][3] = {{1, 0, 0}, {0, 0, 1}, {0, 1, 0}, {0, -1, 0}, {0.6, 0, 0.8}, {0.3, 0.9, 0}};
    double R[9];
    (void)state;
    for (size_t i = 0; i < sizeof beams / sizeof beams[0]; ++i) {
        double u[3];
        double n = sqrt(dot(beams[i], beams[i]));
        for (int k = 0; k < 3; ++k)
            u[k] = beams[i][k] / n;
        nbi_mcstas_frame(v3_from(beams[i]), R);
        check_frame(R, u);
    }
    /* MOSFLM (beam along +x, y up): McStas x = -z, y = y, z = x */
    nbi_mcstas_frame(v3(1, 0, 0), R);
    assert_vec(R, 0, 0, -1, 0);
    assert_vec(R + 3, 0, 1, 0, 0);
    /* beam along +z (XDS, DIALS, ADXV conventions): the lab frame itself */
    nbi_mcstas_frame(v3(0, 0, 1), R);
    assert_vec(R, 1, 0, 0, 0);
    assert_vec(R + 3, 0, 1, 0, 0);
    /* beam along y: y is the lab's +z made perpendicular */
    nbi_mcstas_frame(v3(0, 1, 0), R);
    assert_vec(R + 3, 0, 0, 1, 0);
}

/* MOSFLM, -Xbeam 3 -Ybeam 7 (mm), 0.1 mm pixels, 50 mm: the beam meets the
   detector 7 mm + half a pixel along fast, 3 mm + half a pixel along slow
   (nanoBragg's MOSFLM convention); fast is lab +z (McStas -x), slow lab -y. */
static void test_geometry(void **state)
{
    nb_config *cfg = nb_config_new();
    nbi_nexus_geometry g;
    nb_nexus_image im;
    nb_experiment *e;
    double v[3];
    (void)state;
    small(cfg);
    cfg->Xbeam_m = 3e-3;
    cfg->Ybeam_m = 7e-3;
    cfg->polarization = 0.9;
    cfg->phi0_rad = 10 * DEG;
    cfg->osc_rad = 0.5 * DEG;
    e = create(cfg);
    nbi_nexus_geometry_of(e, &g);
    assert_int_equal(g.fpixels, 24);
    assert_int_equal(g.spixels, 16);
    assert_near(g.beam_center_px[0], 70.5, 1e-9);
    assert_near(g.beam_center_px[1], 30.5, 1e-9);
    v3_store(g.fast, v);
    assert_vec(v, -1, 0, 0, 1e-15);
    v3_store(g.slow, v);
    assert_vec(v, 0, -1, 0, 1e-15);
    v3_store(g.normal, v);
    assert_vec(v, 0, 0, 1, 1e-15);
    v3_store(g.origin_m, v);
    assert_vec(v, 7.05e-3, 3.05e-3, 0.05, 1e-15);
    assert_near(g.close_distance_m, 0.05, 1e-15);
    assert_near(g.distance_m, 0.05, 1e-15);
    v3_store(g.spindle, v);
    assert_vec(v, -1, 0, 0, 1e-15); /* MOSFLM's spindle, lab +z */
    /* E along lab +z = McStas -x: horizontal, Q = K */
    assert_near(g.stokes[0], 1, 0);
    assert_near(g.stokes[1], 0.9, 1e-15);
    assert_near(g.stokes[2], 0, 1e-15);
    assert_int_equal(g.rotation, 1);
    assert_near(g.cell_A[1], 40, 1e-9);
    nb_experiment_nexus_image(e, &im);
    assert_near(im.phi_deg, 10, 1e-12);
    assert_near(im.osc_deg, 0.5, 1e-12);
    /* at the axis' zero: a* along lab x = McStas z, b* along y, c* along lab z = McStas -x */
    assert_vec(((double[3]){im.ub[0], im.ub[3], im.ub[6]}), 0, 0, 1.0 / 30, 1e-15);
    assert_vec(((double[3]){im.ub[1], im.ub[4], im.ub[7]}), 0, 1.0 / 40, 0, 1e-15);
    assert_vec(((double[3]){im.ub[2], im.ub[5], im.ub[8]}), -1.0 / 50, 0, 0, 1e-15);
    assert_null(nb_nexus_geometry_note(e));
    nb_experiment_free(e);

    /* a still (no oscillation): its orientation as the image sees it, phi turned */
    cfg->osc_rad = 0;
    cfg->phi0_rad = 90 * DEG;
    cfg->curved_detector = 1;
    e = create(cfg);
    nbi_nexus_geometry_of(e, &g);
    assert_int_equal(g.rotation, 0);
    nb_experiment_nexus_image(e, &im);
    /* a* (lab x) turned 90 degrees about lab z: lab y */
    assert_vec(((double[3]){im.ub[0], im.ub[3], im.ub[6]}), 0, 1.0 / 30, 0, 1e-15);
    assert_non_null(nb_nexus_geometry_note(e));
    nb_experiment_free(e);
    nb_config_free(cfg);
}

static int32_t *counts_of(int n, int32_t base)
{
    int32_t *c = malloc((size_t)n * sizeof *c);
    assert_non_null(c);
    for (int i = 0; i < n; ++i)
        c[i] = base + i;
    return c;
}

static int is_hdf5(const char *path)
{
    unsigned char magic[8] = {0};
    FILE *f = fopen(path, "rb");
    int ok = f && fread(magic, 1, 8, f) == 8 && memcmp(magic, "\x89HDF\r\n\x1a\n", 8) == 0;
    if (f)
        fclose(f);
    return ok;
}

static void test_writer(void **state)
{
    nb_config *cfg = nb_config_new();
    nb_nexus *nx = NULL;
    nb_nexus_image im;
    nb_experiment *e;
    nb_error err;
    int32_t *c = counts_of(24 * 16, 0);
    (void)state;
    if (!nb_nexus_supported()) {
        free(c);
        nb_config_free(cfg);
        skip();
    }
    small(cfg);
    cfg->osc_rad = 0.2 * DEG;
    e = create(cfg);
    nb_experiment_nexus_image(e, &im);

    /* open, three appends, close: one file, no temporary */
    assert_int_equal(count_entries(scratch), 0);
    assert_int_equal(nb_nexus_open(in_scratch("s.nxs"), e, 3, &nx, &err), NB_OK);
    assert_int_equal(count_entries(scratch), 1); /* the temporary */
    for (int k = 0; k < 3; ++k)
        assert_int_equal(nb_nexus_append(nx, &im, c, &err), NB_OK);
    assert_int_equal(nb_nexus_append(nx, &im, c, &err), NB_ERR_INVALID);
    assert_non_null(strstr(err.msg, "it was opened for 3 images"));
    assert_int_equal(nb_nexus_close(nx, &err), NB_OK);
    assert_int_equal(count_entries(scratch), 1);
    assert_true(is_hdf5(in_scratch("s.nxs")));
    assert_int_equal(unlink(in_scratch("s.nxs")), 0);

    /* too few images: refused at close, nothing left */
    assert_int_equal(nb_nexus_open(in_scratch("t.nxs"), e, 2, &nx, &err), NB_OK);
    assert_int_equal(nb_nexus_append(nx, &im, c, &err), NB_OK);
    assert_int_equal(nb_nexus_close(nx, &err), NB_ERR_INVALID);
    assert_non_null(strstr(err.msg, "1 of its 2 images were written"));
    assert_int_equal(count_entries(scratch), 0);

    /* abort: nothing left */
    assert_int_equal(nb_nexus_open(in_scratch("u.nxs"), e, 1, &nx, &err), NB_OK);
    assert_int_equal(nb_nexus_append(nx, &im, c, &err), NB_OK);
    nb_nexus_abort(nx);
    nb_nexus_abort(NULL);
    assert_int_equal(count_entries(scratch), 0);

    /* a missing directory, a special file, bad arguments */
    nx = (nb_nexus *)cfg;
    assert_int_equal(nb_nexus_open(in_scratch("no/v.nxs"), e, 1, &nx, &err), NB_ERR_IO);
    assert_null(nx);
    assert_non_null(strstr(err.msg, "no/v.nxs"));
    assert_int_equal(nb_nexus_open("/dev/null", e, 1, &nx, &err), NB_ERR_IO);
    assert_non_null(strstr(err.msg, "must be a regular file"));
    assert_int_equal(nb_nexus_open(in_scratch("w.nxs"), e, 0, &nx, &err), NB_ERR_INVALID);
    assert_int_equal(nb_nexus_open(in_scratch("w.nxs"), NULL, 1, &nx, &err), NB_ERR_INVALID);
    assert_int_equal(nb_nexus_append(NULL, &im, c, &err), NB_ERR_INVALID);
    assert_int_equal(nb_nexus_close(NULL, &err), NB_ERR_INVALID);
    assert_int_equal(count_entries(scratch), 0);

    /* a one-image file in an output set: published with the set, or gone with it */
    {
        nb_outputs *set = nb_outputs_new();
        assert_int_equal(nb_outputs_add_nexus(set, in_scratch("x.nxs"), e, c, &err), NB_OK);
        assert_int_equal(nb_outputs_add_bytes(set, in_scratch("x.txt"), "x", 1, &err), NB_OK);
        assert_int_equal(nb_outputs_publish(set, &err), NB_OK);
        assert_int_equal(count_entries(scratch), 2);
        assert_true(is_hdf5(in_scratch("x.nxs")));
        assert_int_equal(unlink(in_scratch("x.nxs")), 0);
        assert_int_equal(unlink(in_scratch("x.txt")), 0);
        assert_int_equal(nb_outputs_add_nexus(set, in_scratch("y.nxs"), e, c, &err), NB_OK);
        assert_int_equal(nb_outputs_add_bytes(set, in_scratch("no/y.txt"), "y", 1, &err), NB_ERR_IO);
        nb_outputs_free(set);
        assert_int_equal(count_entries(scratch), 0);
    }
    nb_experiment_free(e);
    nb_config_free(cfg);
    free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_frames),
        cmocka_unit_test(test_geometry),
        cmocka_unit_test(test_writer),
    };
    return cmocka_run_group_tests(tests, scratch_setup, scratch_teardown);
}
