/*
 * sf.c - structure factors as a shared, immutable, reference-counted object
 * (nb_sf): made from a reflection list, a dense grid, an HKL text file or
 * nanoBragg's Fdump.bin cache (hkl.c does the reading and the layout).
 */
#include "sf.h"

#include <stdlib.h>

#include "util.h"

static nb_status wrap(nbi_hkl *t, nb_status st, nb_sf **out, nb_error *err)
{
    nb_sf *sf;
    *out = NULL;
    if (st != NB_OK)
        return st;
    sf = calloc(1, sizeof *sf);
    if (!sf || pthread_mutex_init(&sf->lock, NULL) != 0) {
        free(sf);
        nbi_hkl_free(t);
        return nbi_fail(err, NB_ERR_NOMEM, "out of memory for structure factors");
    }
    sf->hkl = *t;
    atomic_init(&sf->refs, 1);
    *out = sf;
    return NB_OK;
}

nb_status nb_sf_from_list(const int *h, const int *k, const int *l, const double *F, size_t n,
                          double missing_F, nb_sf **out, nb_error *err)
{
    nbi_hkl t;
    if (!out)
        return nbi_fail(err, NB_ERR_INVALID, "nb_sf_from_list: out is NULL");
    return wrap(&t, nbi_hkl_from_list(h, k, l, F, n, missing_F, &t, err), out, err);
}

nb_status nb_sf_from_grid(const int origin[3], const int dims[3], const double *F, nb_sf **out,
                          nb_error *err)
{
    nbi_hkl t;
    if (!out)
        return nbi_fail(err, NB_ERR_INVALID, "nb_sf_from_grid: out is NULL");
    return wrap(&t, nbi_hkl_from_grid(origin, dims, F, &t, err), out, err);
}

nb_status nb_sf_read_hkl(const char *path, double missing_F, const nb_log *log, nb_sf **out, nb_error *err)
{
    nbi_hkl t;
    if (!out || !path)
        return nbi_fail(err, NB_ERR_INVALID, "nb_sf_read_hkl: %s is NULL", out ? "path" : "out");
    if (!nbi_F_usable(missing_F))
        return nbi_fail(err, NB_ERR_INVALID, "nb_sf_read_hkl: missing_F = %g (expected a magnitude up to %g)",
                        missing_F, NBI_F_MAX);
    return wrap(&t, nbi_hkl_read_text(path, missing_F, log, &t, err), out, err);
}

nb_status nb_sf_read_fdump(const char *path, nb_sf **out, nb_error *err)
{
    nbi_hkl t;
    nb_status st;
    if (!out || !path)
        return nbi_fail(err, NB_ERR_INVALID, "nb_sf_read_fdump: %s is NULL", out ? "path" : "out");
    st = wrap(&t, nbi_hkl_read_fdump(path, &t, err), out, err);
    if (st == NB_OK)
        (*out)->from_fdump = 1;
    return st;
}

nb_status nb_sf_write_fdump(const nb_sf *sf, const char *path, nb_error *err)
{
    if (!sf || !path)
        return nbi_fail(err, NB_ERR_INVALID, "nb_sf_write_fdump: %s is NULL", sf ? "path" : "sf");
    return nbi_hkl_write_fdump(path, &sf->hkl, err);
}

nb_sf *nb_sf_ref(nb_sf *sf)
{
    if (sf)
        atomic_fetch_add(&sf->refs, 1);
    return sf;
}

void nb_sf_free(nb_sf *sf)
{
    if (!sf || atomic_fetch_sub(&sf->refs, 1) != 1)
        return;
    nbi_hkl_free(&sf->hkl);
    pthread_mutex_destroy(&sf->lock);
    free(sf);
}

void nb_sf_grid(const nb_sf *sf, int origin[3], int dims[3])
{
    origin[0] = sf->hkl.h_min, origin[1] = sf->hkl.k_min, origin[2] = sf->hkl.l_min;
    dims[0] = sf->hkl.h_range, dims[1] = sf->hkl.k_range, dims[2] = sf->hkl.l_range;
}

double nb_sf_value(const nb_sf *sf, int h, int k, int l, double fallback)
{
    return nbi_hkl_nearest(sf ? &sf->hkl : NULL, h, k, l, fallback);
}

nb_status nbi_sf_make_single(nb_sf *sf, nb_error *err)
{
    nb_status st;
    pthread_mutex_lock(&sf->lock);
    st = nbi_hkl_make_single(&sf->hkl, err);
    pthread_mutex_unlock(&sf->lock);
    return st;
}
