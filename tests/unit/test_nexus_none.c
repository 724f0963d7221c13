/*
 * test_nexus_none.c - the NeXus writers of a build without HDF5: this file
 * compiles src/nexus.c itself without NB_HAVE_HDF5 (its definitions take
 * the place of the library's, whatever the library was built with), and
 * checks that -nexusfile's functions refuse with NB_ERR_USAGE and a message
 * naming the Debian package to install, leave nothing behind and spoil an
 * output set; the geometry, which needs no HDF5, is still there.
 */
#undef NB_HAVE_HDF5
#include "../../src/nexus.c"

#include "support.h"
#include "scratch.h"

SCRATCH_GROUP("nb_nexus_none")

static void test_refusals(void **state)
{
    nb_config *cfg = nb_config_new();
    nb_nexus *nx = (nb_nexus *)cfg;
    nb_nexus_image im;
    nb_outputs *set = nb_outputs_new();
    nb_experiment *e;
    nb_error err;
    int32_t counts[16] = {0};
    (void)state;
    base_config(cfg);
    cfg->fpixels = cfg->spixels = 4;
    e = create(cfg);
    assert_int_equal(nb_nexus_supported(), 0);
    assert_int_equal(nb_nexus_open(in_scratch("s.nxs"), e, 2, &nx, &err), NB_ERR_USAGE);
    assert_null(nx);
    assert_non_null(strstr(err.msg, "s.nxs"));
    assert_non_null(strstr(err.msg, "libhdf5-dev"));
    nb_experiment_nexus_image(e, &im);
    assert_int_equal(nb_nexus_append(NULL, &im, counts, &err), NB_ERR_USAGE);
    assert_non_null(strstr(err.msg, "libhdf5-dev"));
    assert_int_equal(nb_nexus_close(NULL, &err), NB_ERR_USAGE);
    nb_nexus_abort(NULL);
    assert_int_equal(nb_outputs_add_nexus(set, in_scratch("t.nxs"), e, counts, &err), NB_ERR_USAGE);
    assert_non_null(strstr(err.msg, "libhdf5-dev"));
    assert_int_equal(nb_outputs_add_bytes(set, in_scratch("t.txt"), "t", 1, &err), NB_ERR_INVALID);
    assert_int_equal(nb_outputs_publish(set, &err), NB_ERR_INVALID);
    nb_outputs_free(set);
    assert_int_equal(count_entries(scratch), 0);
    assert_near(im.ub[6], 1.0 / 100, 1e-15); /* a* along the beam: McStas z */
    nb_experiment_free(e);
    nb_config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, scratch_setup, scratch_teardown);
}
