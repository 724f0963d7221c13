/*
 * config.c - configurations: nanoBragg's defaults, copies, and the data a
 * configuration takes as arrays (structure factors, sources, mask).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "sf.h"
#include "sfinput.h"
#include "util.h"

#ifndef NB_VERSION /* set by the build */
#define NB_VERSION "(unversioned build)"
#endif

const char *nb_version(void) { return NB_VERSION; }

static void set3(double v[3], double x, double y, double z)
{
    v[0] = x;
    v[1] = y;
    v[2] = z;
}

void nbi_config_init(nb_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->misset_seed = -1;
    cfg->Na = cfg->Nb = cfg->Nc = 1.0;
    cfg->shape = NB_SHAPE_SQUARE;
    cfg->fudge = 1.0;
    cfg->mosaic_spread_rad = -1.0;
    cfg->mosaic_domains = -1;
    cfg->mosaic_seed = -12345678;
    cfg->interpolate = NB_INTERP_AUTO;
    cfg->ksol = 0.35;
    cfg->bsol = 46.0;

    cfg->lambda0_m = 1.0e-10;
    cfg->dispersion = 0.0;
    cfg->dispsteps = -1;
    cfg->hdivrange_rad = cfg->vdivrange_rad = -1.0;
    cfg->hdivstep_rad = cfg->vdivstep_rad = -1.0;
    cfg->hdivsteps = cfg->vdivsteps = -1;
    cfg->round_div = 1;
    cfg->fluence = 125932015286227086360700780544.0;
    cfg->flux = 0.0;
    cfg->exposure_s = 1.0;
    cfg->beamsize_m = 1e-4;
    cfg->polarization = 0.0;
    set3(cfg->beam_vector, 1, 0, 0);
    set3(cfg->polar_vector, 0, 0, 1);

    cfg->phi0_rad = 0.0;
    cfg->osc_rad = -1.0;
    cfg->phistep_rad = -1.0;
    cfg->phisteps = -1;
    set3(cfg->spindle_vector, 0, 0, 1);

    cfg->convention = NB_CONV_MOSFLM;
    cfg->pivot = NB_PIVOT_BEAM;
    cfg->pixel_m = 0.1e-3;
    cfg->detsize_f_m = cfg->detsize_s_m = 102.4e-3;
    cfg->distance_m = 100.0e-3;
    cfg->close_distance_m = NB_UNSET;
    cfg->Xbeam_m = cfg->Ybeam_m = NB_UNSET;
    cfg->Xclose_m = cfg->Yclose_m = NB_UNSET;
    cfg->ORGX = cfg->ORGY = NB_UNSET;
    set3(cfg->twotheta_axis, 0, 1, 0); /* nanoBragg's initial value; conventions set their own */
    set3(cfg->fdet_vector, 0, 0, 1);
    set3(cfg->sdet_vector, 0, -1, 0);
    set3(cfg->odet_vector, 1, 0, 0);
    cfg->detector_mu = -1.0;
    cfg->detector_thick_m = 0.0;
    cfg->detector_thicksteps = -1;
    cfg->oversample = -1;
    cfg->roi[0] = cfg->roi[1] = cfg->roi[2] = cfg->roi[3] = -1;
    cfg->precision = NB_PRECISION_DOUBLE;
    cfg->device = 0; /* NBI_DEVICE_CPU */
    cfg->device_index = 0;
    snprintf(cfg->device_text, sizeof cfg->device_text, "cpu");
}

nb_config *nb_config_new(void)
{
    nb_config *cfg = malloc(sizeof *cfg);
    if (cfg)
        nbi_config_init(cfg);
    return cfg;
}

static int dup_str(char **s)
{
    if (*s && !(*s = strdup(*s)))
        return 0;
    return 1;
}

static int dup_array(void **p, size_t bytes)
{
    void *copy;
    if (!*p)
        return 1;
    copy = malloc(bytes ? bytes : 1);
    if (copy)
        memcpy(copy, *p, bytes);
    *p = copy;
    return copy != NULL;
}

nb_config *nb_config_copy(const nb_config *cfg)
{
    nb_config *c;
    int ok;
    size_t ns, nm;
    if (!cfg || !(c = malloc(sizeof *c)))
        return NULL;
    ns = (size_t)cfg->nsources;
    nm = (size_t)cfg->mask_width * (size_t)cfg->mask_height;
    *c = *cfg;
    ok = dup_str(&c->hkl_path) & dup_str(&c->mat_path) & dup_str(&c->fdump_path) & dup_str(&c->source_path);
    ok &= dup_str(&c->mtz_path) & dup_str(&c->sfcif_path) & dup_str(&c->model_path) & dup_str(&c->sf_column)
          & dup_str(&c->spacegroup);
    ok &= dup_array((void **)&c->source_xyz, 3 * ns * sizeof(double));
    ok &= dup_array((void **)&c->source_weight, ns * sizeof(double));
    ok &= dup_array((void **)&c->source_lambda_m, ns * sizeof(double));
    ok &= dup_array((void **)&c->mask_owned, nm * sizeof(uint16_t));
    c->mask = c->mask_owned;
    ok &= nbi_sfinput_copy_arrays(cfg, c);
    nb_sf_ref(c->sf);
    if (!ok) {
        nb_config_free(c);
        return NULL;
    }
    return c;
}

void nb_config_free(nb_config *cfg)
{
    if (!cfg)
        return;
    free(cfg->hkl_path);
    free(cfg->mat_path);
    free(cfg->fdump_path);
    free(cfg->source_path);
    free(cfg->mtz_path);
    free(cfg->sfcif_path);
    free(cfg->model_path);
    free(cfg->sf_column);
    free(cfg->spacegroup);
    free(cfg->source_xyz);
    free(cfg->source_weight);
    free(cfg->source_lambda_m);
    free(cfg->mask_owned);
    nbi_sfinput_free_arrays(cfg);
    nb_sf_free(cfg->sf);
    free(cfg);
}

nb_status nb_config_set_sf(nb_config *cfg, nb_sf *sf, nb_error *err)
{
    if (!cfg)
        return nbi_fail(err, NB_ERR_INVALID, "nb_config_set_sf: the configuration is NULL");
    nb_sf_ref(sf);
    nb_sf_free(cfg->sf);
    cfg->sf = sf;
    if (!sf)
        return NB_OK;
    nbi_sfinput_free_arrays(cfg);
    for (int i = 0; i < 4; ++i)
        if (nb_param_unset(cfg, (const char *[]){"hkl_path", "mtz_path", "sfcif_path", "model_path"}[i], err) != NB_OK)
            return NB_ERR_INVALID;
    /* the cell of the input they were made from, which was the crystal's */
    if (sf->have_cell && !cfg->user_cell && !cfg->mat_path && !cfg->have_matrix)
        nbi_params_set_cell(cfg, sf->cell_A, sf->cell_rad);
    return NB_OK;
}

nb_status nb_config_set_sources(nb_config *cfg, size_t n, const double *xyz, const double *weight,
                                const double *lambda_A, nb_error *err)
{
    double *x = NULL, *w = NULL, *l = NULL;
    const nb_param_info *lam = nb_param_find("lambda_A");
    if (!cfg)
        return nbi_fail(err, NB_ERR_INVALID, "nb_config_set_sources: the configuration is NULL");
    if (n > 0) {
        if (!xyz || !weight)
            return nbi_fail(err, NB_ERR_INVALID, "sources: %s is NULL", xyz ? "weight" : "xyz");
        if (n > 100000000)
            return nbi_fail(err, NB_ERR_RANGE, "sources: %zu is too many", n);
        for (size_t i = 0; i < n; ++i) {
            const double *p = xyz + 3 * i;
            if (!nbi_direction_usable(p[0], p[1], p[2]))
                return nbi_fail(err, NB_ERR_INVALID, "sources: point %zu (%g %g %g) gives no direction (expected "
                                "coordinates up to %g and a distance of at least %g)", i, p[0], p[1], p[2],
                                NBI_DIRECTION_MAX, 1.0 / NBI_DIRECTION_MAX);
            if (!isfinite(weight[i]) || weight[i] < 0)
                return nbi_fail(err, NB_ERR_INVALID, "sources: weight %zu = %g (expected a finite number >= 0)", i,
                                weight[i]);
            if (lambda_A && lambda_A[i] != 0.0 && !(lambda_A[i] >= lam->min && lambda_A[i] <= lam->max))
                return nbi_fail(err, NB_ERR_INVALID, "sources: lambda_A %zu = %g (expected %g to %g A; 0: lambda_A)",
                                i, lambda_A[i], lam->min, lam->max);
        }
        x = malloc(3 * n * sizeof *x);
        w = malloc(n * sizeof *w);
        l = malloc(n * sizeof *l);
        if (!x || !w || !l) {
            free(x), free(w), free(l);
            return nbi_fail(err, NB_ERR_NOMEM, "out of memory for %zu sources", n);
        }
        memcpy(x, xyz, 3 * n * sizeof *x);
        memcpy(w, weight, n * sizeof *w);
        for (size_t i = 0; i < n; ++i)
            l[i] = lambda_A ? lambda_A[i] * 1e-10 : 0.0;
        if (nb_param_unset(cfg, "source_path", err) != NB_OK) {
            free(x), free(w), free(l);
            return NB_ERR_INVALID;
        }
    }
    free(cfg->source_xyz), free(cfg->source_weight), free(cfg->source_lambda_m);
    cfg->source_xyz = x, cfg->source_weight = w, cfg->source_lambda_m = l;
    cfg->nsources = (int)n;
    return NB_OK;
}

nb_status nb_config_set_mask(nb_config *cfg, int width, int height, const uint16_t *mask, nb_error *err)
{
    uint16_t *copy = NULL;
    if (!cfg)
        return nbi_fail(err, NB_ERR_INVALID, "nb_config_set_mask: the configuration is NULL");
    if (mask) {
        if (width < 1 || height < 1 || width > 1000000 || height > 1000000)
            return nbi_fail(err, NB_ERR_INVALID, "mask: %d x %d pixels is not a usable size", width, height);
        copy = malloc((size_t)width * (size_t)height * sizeof *copy);
        if (!copy)
            return nbi_fail(err, NB_ERR_NOMEM, "out of memory for a %d x %d mask", width, height);
        memcpy(copy, mask, (size_t)width * (size_t)height * sizeof *copy);
    }
    free(cfg->mask_owned);
    cfg->mask_owned = copy;
    cfg->mask = copy;
    cfg->mask_width = mask ? width : 0;
    cfg->mask_height = mask ? height : 0;
    return NB_OK;
}
