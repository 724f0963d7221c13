/*
 * sfio_none.c - the structure-factor inputs of sfio.h in a build without
 * gemmi: each refuses with NB_ERR_USAGE, naming the Debian packages to
 * install (then configure and build again).  In a build with gemmi,
 * sfio_gemmi.cpp provides them and this file is empty.
 */
#include "sfio.h"

#ifndef NB_HAVE_GEMMI

#include "util.h"

#define NO_GEMMI "this build of nanobragg has no gemmi: install the Debian packages gemmi-dev and " \
                 "tao-pegtl-dev, then build again"

int nbi_sfio_available(void) { return 0; }

nb_status nbi_sfio_read_mtz(const char *path, const char *column, nbi_refl_list *out, nb_error *err)
{
    (void)column, (void)out;
    return nbi_fail(err, NB_ERR_USAGE, "reading the MTZ file %s: %s", path, NO_GEMMI);
}

nb_status nbi_sfio_read_sfcif(const char *path, const char *column, nbi_refl_list *out, nb_error *err)
{
    (void)column, (void)out;
    return nbi_fail(err, NB_ERR_USAGE, "reading the mmCIF file %s: %s", path, NO_GEMMI);
}

nb_status nbi_sfio_model_header(const char *path, nbi_refl_list *out, nb_error *err)
{
    (void)out;
    return nbi_fail(err, NB_ERR_USAGE, "reading the model %s: %s", path, NO_GEMMI);
}

nb_status nbi_sfio_model_sf(const char *path, const char *spacegroup, const double *cell, double inv_d_max,
                            const double *bulk, nbi_refl_list *out, nb_error *err)
{
    (void)spacegroup, (void)cell, (void)inv_d_max, (void)bulk, (void)out;
    return nbi_fail(err, NB_ERR_USAGE, "reading the model %s: %s", path, NO_GEMMI);
}

nb_status nbi_sfio_element(const char *symbol, nb_error *err)
{
    return nbi_fail(err, NB_ERR_USAGE, "element %s: %s", symbol, NO_GEMMI);
}

nb_status nbi_sfio_atoms_sf(const nbi_atoms *atoms, const char *name, const char *spacegroup, const double *cell,
                            double inv_d_max, const double *bulk, nbi_refl_list *out, nb_error *err)
{
    (void)atoms, (void)spacegroup, (void)cell, (void)inv_d_max, (void)bulk, (void)out;
    return nbi_fail(err, NB_ERR_USAGE, "structure factors of %s: %s", name, NO_GEMMI);
}

nb_status nbi_sfio_spacegroup(const char *name, const double *cell, char xhm[32], nb_error *err)
{
    (void)cell, (void)xhm;
    return nbi_fail(err, NB_ERR_USAGE, "space group %s: %s", name, NO_GEMMI);
}

nb_status nbi_sfio_expand(const char *spacegroup, const nbi_refl_list *in, nbi_refl_list *out, nb_error *err)
{
    (void)in, (void)out;
    return nbi_fail(err, NB_ERR_USAGE, "space group %s: %s", spacegroup, NO_GEMMI);
}

#else
typedef int nbi_sfio_none_unused; /* ISO C: a translation unit is not empty */
#endif
