/*
 * series.c - data sets: the images of one experiment that differ only in
 * the crystal's orientation, a rotation series (image k starts at
 * phi + (k - 1) osc) or stills (misset_random with no oscillation: each
 * image its own seeded random orientation).
 *
 * nb_series_create does the set-up once: it builds image 1's experiment
 * (structure factors read, and the Fdump cache written, once; the sources
 * built once) and keeps a copy of the configuration that holds those
 * structure factors as an object.  Image k's experiment is that
 * configuration with image k's phi_deg and misset_seed, built with the
 * sources copied from image 1's: the same stages as nb_experiment_create
 * of that configuration, so the same bits, and an image can be made again
 * alone from the values nb_series_frame_of gives.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "experiment.h"
#include "util.h"
#include "vec3.h"

#define RTD (180.0 * M_1_PI)

struct nb_series {
    nb_config *cfg;        /* a copy, its structure factors an object */
    nb_experiment *first;  /* image 1's: what the images share */
    int nimages;
    double phi0_deg, osc_deg; /* to 12 significant digits */
    int stills;            /* an orientation per image */
    long misset_seed;      /* as misset_seed is given (not negated) */
};

/* x to 12 significant digits: the value a header or the text "%.12g"
   states, so that -phi given that text gives the same bits. */
static double round12(double x)
{
    char text[40];
    snprintf(text, sizeof text, "%.12g", x);
    return strtod(text, NULL);
}

long nb_series_seed(long seed, int image)
{
    uint64_t z;
    if (image <= 1)
        return seed;
    /* splitmix64's finaliser over the seed and the image number */
    z = (uint64_t)seed * 0x9E3779B97F4A7C15ULL + (uint64_t)image * 0xD1B54A32D192ED03ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    z ^= z >> 31;
    return 1 + (long)(z % 2147483646ULL);
}

nb_status nb_series_create(const nb_config *cfg, int nimages, const nb_log *log, nb_series **out,
                           nb_error *err)
{
    nb_series *s;
    nb_status st;
    if (!out)
        return nbi_fail(err, NB_ERR_INVALID, "nb_series_create: out is NULL");
    *out = NULL;
    if (!cfg)
        return nbi_fail(err, NB_ERR_INVALID, "nb_series_create: the configuration is NULL");
    if (nimages < 1 || nimages > NB_SERIES_MAX_IMAGES)
        return nbi_fail(err, NB_ERR_INVALID, "nimages = %d is out of range (1 to %d)", nimages,
                        NB_SERIES_MAX_IMAGES);
    s = calloc(1, sizeof *s);
    if (!s || !(s->cfg = nb_config_copy(cfg))) {
        free(s);
        return nbi_fail(err, NB_ERR_NOMEM, "out of memory");
    }
    st = nb_experiment_create(s->cfg, log, &s->first, err);
    if (st == NB_OK && s->first->sf)
        st = nb_config_set_sf(s->cfg, s->first->sf, err);
    if (st != NB_OK) {
        nb_series_free(s);
        return st;
    }
    s->nimages = nimages;
    s->phi0_deg = round12(s->cfg->phi0_rad * RTD);
    s->osc_deg = round12(s->first->xtal.osc_rad * RTD);
    s->stills = s->cfg->misset_mode < 0 && s->osc_deg == 0.0;
    s->misset_seed = -s->cfg->misset_seed;
    *out = s;
    return NB_OK;
}

void nb_series_free(nb_series *s)
{
    if (!s)
        return;
    nb_experiment_free(s->first);
    nb_config_free(s->cfg);
    free(s);
}

int nb_series_count(const nb_series *s) { return s ? s->nimages : 0; }

const nb_info *nb_series_info(const nb_series *s) { return &s->first->info; }

nb_status nb_series_frame_of(const nb_series *s, int image, nb_series_frame *out, nb_error *err)
{
    if (!s || !out)
        return nbi_fail(err, NB_ERR_INVALID, "nb_series_frame_of: %s is NULL", s ? "out" : "the series");
    if (image < 1 || image > s->nimages)
        return nbi_fail(err, NB_ERR_INVALID, "image %d is not in the series (1 to %d)", image, s->nimages);
    out->image = image;
    out->phi_deg = round12(s->phi0_deg + (double)(image - 1) * s->osc_deg);
    out->osc_deg = s->osc_deg;
    out->own_orientation = s->stills;
    out->misset_seed = s->stills ? nb_series_seed(s->misset_seed, image) : s->misset_seed;
    return NB_OK;
}

nb_status nb_series_experiment(const nb_series *s, int image, const nb_log *log, nb_experiment **out,
                               nb_error *err)
{
    nb_series_frame fr;
    nb_config *cfg;
    nb_status st;
    if (!out)
        return nbi_fail(err, NB_ERR_INVALID, "nb_series_experiment: out is NULL");
    *out = NULL;
    if ((st = nb_series_frame_of(s, image, &fr, err)) != NB_OK)
        return st;
    if (!(cfg = nb_config_copy(s->cfg)))
        return nbi_fail(err, NB_ERR_NOMEM, "out of memory");
    st = nb_param_set(cfg, "phi_deg", fr.phi_deg, err);
    if (st == NB_OK && fr.own_orientation)
        st = nb_param_set(cfg, "misset_seed", (double)fr.misset_seed, err);
    if (st == NB_OK)
        st = nbi_experiment_create_like(cfg, s->first, log, out, err);
    nb_config_free(cfg);
    return st;
}

void nb_experiment_orientation(const nb_experiment *exp, double A[9])
{
    const nbi_crystal *x = &exp->xtal;
    const double lambda_A = exp->beam.lambda0_m * 1e10;
    const vec3 r[3] = {x->astar, x->bstar, x->cstar};
    for (int j = 0; j < 3; ++j) {
        vec3 v = x->phi0_rad != 0.0 ? v3_rotate_axis(r[j], x->spindle, x->phi0_rad) : r[j];
        A[0 + j] = v.x * lambda_A;
        A[3 + j] = v.y * lambda_A;
        A[6 + j] = v.z * lambda_A;
    }
}
