/*
 * beam.c - source generation (divergence grid x dispersion) and source files.
 */
#include "beam.h"

#include <math.h>
#include <stdlib.h>

#include "textio.h"
#include "util.h"

/* nanoBragg's elliptical trim: keep grid points inside the ellipse, with a
   half-step allowance for even counts. */
static int div_point_kept(const nb_sweep *h, const nb_sweep *v, double hdiv, double vdiv, int round_div)
{
    double test;
    if (!round_div)
        return 1;
    test = (hdiv * hdiv - h->step * h->step / 4.0 * (1 - h->count % 2)) / h->range / h->range;
    test += (vdiv * vdiv - v->step * v->step / 4.0 * (1 - v->count % 2)) / v->range / v->range;
    return !(test * 4.0 > 1.1);
}

int nbi_divergence_count(const nb_sweep *h, const nb_sweep *v, int round_div)
{
    int n = 0;
    for (int i = 0; i < h->count; ++i)
        for (int j = 0; j < v->count; ++j)
            n += div_point_kept(h, v, h->step * i - h->range / 2.0, v->step * j - v->range / 2.0, round_div);
    return n;
}

nb_status nbi_beam_check(const nb_sweep *h, const nb_sweep *v, const nb_sweep *disp, nb_error *err)
{
    double n = (double)h->count * (double)v->count * (double)disp->count;
    if (n > (double)NB_MAX_SOURCES)
        return nbi_fail(err, NB_ERR_RANGE,
                        "%d x %d divergence steps x %d wavelengths is too many sources (at most %ld)",
                        h->count, v->count, disp->count, NB_MAX_SOURCES);
    return NB_OK;
}

static nb_status alloc_sources(nb_sources *src, long n, nb_error *err)
{
    if (n <= 0 || n > NB_MAX_SOURCES)
        return nbi_fail(err, NB_ERR_RANGE, "%ld sources is out of range (1 to %ld)", n, NB_MAX_SOURCES);
    src->n = (int)n;
    src->x = calloc((size_t)n, sizeof(double));
    src->y = calloc((size_t)n, sizeof(double));
    src->z = calloc((size_t)n, sizeof(double));
    src->lambda_m = calloc((size_t)n, sizeof(double));
    src->weight = calloc((size_t)n, sizeof(double));
    src->ex = calloc((size_t)n, sizeof(double));
    src->ey = calloc((size_t)n, sizeof(double));
    src->ez = calloc((size_t)n, sizeof(double));
    src->bx = calloc((size_t)n, sizeof(double));
    src->by = calloc((size_t)n, sizeof(double));
    src->bz = calloc((size_t)n, sizeof(double));
    if (!src->x || !src->y || !src->z || !src->lambda_m || !src->weight || !src->ex || !src->ey || !src->ez
        || !src->bx || !src->by || !src->bz)
        return nbi_fail(err, NB_ERR_NOMEM, "out of memory for %ld sources", n);
    return NB_OK;
}

static nb_status sources_from_file(const char *path, vec3 beam, double lambda0, nb_sources *src,
                                   nb_error *err)
{
    double *col[5] = {NULL, NULL, NULL, NULL, NULL};
    size_t n = 0;
    nb_status st = nb_read_columns(path, 5, col, &n, err);
    if (st == NB_OK)
        st = alloc_sources(src, (long)n, err);
    for (size_t i = 0; st == NB_OK && i < n; ++i) {
        src->x[i] = isnan(col[0][i]) ? -NB_SOURCE_DISTANCE_M * beam.x : col[0][i];
        src->y[i] = isnan(col[1][i]) ? -NB_SOURCE_DISTANCE_M * beam.y : col[1][i];
        src->z[i] = isnan(col[2][i]) ? -NB_SOURCE_DISTANCE_M * beam.z : col[2][i];
        src->weight[i] = isnan(col[3][i]) ? 1.0 : col[3][i];
        src->lambda_m[i] = isnan(col[4][i]) ? lambda0 : col[4][i];
        if (!(src->lambda_m[i] > 0.0) || !isfinite(src->lambda_m[i]))
            st = nbi_fail(err, NB_ERR_INVALID, "%s: source %zu has wavelength %g m (must be positive)",
                          path, i + 1, src->lambda_m[i]);
        else if (src->x[i] == 0.0 && src->y[i] == 0.0 && src->z[i] == 0.0)
            st = nbi_fail(err, NB_ERR_INVALID, "%s: source %zu is at the sample (0 0 0)", path, i + 1);
    }
    for (int c = 0; c < 5; ++c)
        free(col[c]);
    return st;
}

static nb_status sources_from_grid(const nb_sweep *h, const nb_sweep *v, const nb_sweep *d, int round_div,
                                   vec3 beam, vec3 polar, double lambda0, nb_sources *src,
                                   const nb_log *log, nb_error *err)
{
    vec3 vert;
    int divsteps = 0;
    long n;
    nb_status st;

    v3_unit(v3_cross(beam, polar), &vert);
    for (int i = 0; i < h->count; ++i)
        for (int j = 0; j < v->count; ++j) {
            double hdiv = h->step * i - h->range / 2.0, vdiv = v->step * j - v->range / 2.0;
            if (!div_point_kept(h, v, hdiv, vdiv, round_div))
                continue;
            ++divsteps;
            nbi_log(log, NB_LOG_INFO, "divergence deviation: %g %g", hdiv, vdiv);
        }
    for (int k = 0; k < d->count; ++k)
        nbi_log(log, NB_LOG_INFO, "lambda%d = %.15g", k, lambda0 * (1.0 + d->step * k - d->range / 2.0));
    n = (long)divsteps * d->count;
    st = alloc_sources(src, n, err);
    if (st != NB_OK)
        return st;
    n = 0;
    for (int i = 0; i < h->count; ++i)
        for (int j = 0; j < v->count; ++j) {
            double hdiv = h->step * i - h->range / 2.0, vdiv = v->step * j - v->range / 2.0;
            vec3 dir;
            if (!div_point_kept(h, v, hdiv, vdiv, round_div))
                continue;
            dir = v3_scale(beam, -NB_SOURCE_DISTANCE_M);
            dir = v3_rotate_axis(v3_rotate_axis(dir, polar, vdiv), vert, hdiv);
            for (int k = 0; k < d->count; ++k, ++n) {
                src->x[n] = dir.x;
                src->y[n] = dir.y;
                src->z[n] = dir.z;
                src->weight[n] = 1.0 / src->n;
                src->lambda_m[n] = lambda0 * (1.0 + d->step * k - d->range / 2.0);
            }
        }
    return NB_OK;
}

/* E and B axes of source i for the Kahn polarization factor, as nanoBragg
   builds them: B = unit(axis x incident), E = unit(incident x B). */
static void polar_frame(nb_sources *src, int i, vec3 axis)
{
    vec3 inc = v3(-src->x[i], -src->y[i], -src->z[i]), B, E;
    v3_unit(inc, &inc);
    v3_unit(v3_cross(axis, inc), &B);
    v3_unit(v3_cross(inc, B), &E);
    src->ex[i] = E.x;
    src->ey[i] = E.y;
    src->ez[i] = E.z;
    src->bx[i] = B.x;
    src->by[i] = B.y;
    src->bz[i] = B.z;
}

nb_status nbi_beam_sources(const nb_config *cfg, const nb_sweep *hdiv, const nb_sweep *vdiv,
                           const nb_sweep *disp, nb_experiment *exp, const nb_log *log, nb_error *err)
{
    nb_sources *src = &exp->src;
    vec3 beam = v3_from(exp->info.beam);
    double lambda0 = exp->info.lambda0_m;
    nb_status st;

    if (cfg->source_path)
        st = sources_from_file(cfg->source_path, beam, lambda0, src, err);
    else
        st = sources_from_grid(hdiv, vdiv, disp, cfg->round_div, beam, exp->polar_vector, lambda0, src,
                               log, err);
    if (st != NB_OK)
        return st;
    nbi_log(log, NB_LOG_INFO, "  created a total of %d sources:", src->n);
    for (int i = 0; i < src->n; ++i) {
        vec3 u;
        nbi_log(log, NB_LOG_INFO, "%g %g %g   %g %g", src->x[i], src->y[i], src->z[i], src->weight[i],
                src->lambda_m[i]);
        v3_unit(v3(src->x[i], src->y[i], src->z[i]), &u);
        src->x[i] = u.x;
        src->y[i] = u.y;
        src->z[i] = u.z;
        polar_frame(src, i, exp->polar_vector);
    }
    exp->info.sources = src->n;
    return NB_OK;
}

void nbi_sources_free(nb_sources *src)
{
    free(src->x);
    free(src->y);
    free(src->z);
    free(src->lambda_m);
    free(src->weight);
    free(src->ex);
    free(src->ey);
    free(src->ez);
    free(src->bx);
    free(src->by);
    free(src->bz);
    src->x = src->y = src->z = src->lambda_m = src->weight = NULL;
    src->ex = src->ey = src->ez = src->bx = src->by = src->bz = NULL;
    src->n = 0;
}
