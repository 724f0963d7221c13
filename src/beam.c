/*
 * beam.c - source generation (divergence grid x dispersion) and source files.
 */
#include "beam.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "textio.h"
#include "util.h"

/* nanoBragg's elliptical trim: keep grid points inside the ellipse, with a
   half-step allowance for even counts. */
/* nanoBragg's elliptical trim, one axis' share: (x^2 - step^2/4 [even
   counts])/range^2.  A grid point is kept when 4 (h + v) <= 1.1. */
static double ellipse_term(const nbi_sweep *g, double x)
{
    return (x * x - g->step * g->step / 4.0 * (1 - g->count % 2)) / g->range / g->range;
}

static int div_point_kept(const nbi_sweep *h, const nbi_sweep *v, double hdiv, double vdiv, int round_div)
{
    return !round_div || !((ellipse_term(h, hdiv) + ellipse_term(v, vdiv)) * 4.0 > 1.1);
}

/* Kept flags of the whole grid (h major) and their count; kept may be NULL.
   Each axis' share of the trim test is computed once per grid line. */
static int grid_kept(const nbi_sweep *h, const nbi_sweep *v, int round_div, unsigned char *kept)
{
    double *vt = round_div ? malloc((size_t)v->count * sizeof *vt) : NULL;
    int n = 0;
    if (round_div && !vt)
        return -1;
    for (int j = 0; round_div && j < v->count; ++j)
        vt[j] = ellipse_term(v, v->step * j - v->range / 2.0);
    for (int i = 0; i < h->count; ++i) {
        const double ht = round_div ? ellipse_term(h, h->step * i - h->range / 2.0) : 0.0;
        for (int j = 0; j < v->count; ++j) {
            const int k = !round_div || !((ht + vt[j]) * 4.0 > 1.1);
            if (kept)
                kept[(long)i * v->count + j] = (unsigned char)k;
            n += k;
        }
    }
    free(vt);
    return n;
}

int nbi_divergence_count(const nbi_sweep *h, const nbi_sweep *v, int round_div)
{
    return grid_kept(h, v, round_div, NULL);
}

nb_status nbi_beam_check(const nbi_sweep *h, const nbi_sweep *v, const nbi_sweep *disp, nb_error *err)
{
    double n = (double)h->count * (double)v->count * (double)disp->count;
    if (n > (double)NB_MAX_SOURCES)
        return nbi_fail(err, NB_ERR_RANGE,
                        "%d x %d divergence steps x %d wavelengths is too many sources (at most %ld): "
                        "lower hdivsteps, vdivsteps or dispsteps (or raise hdivstep_mrad, vdivstep_mrad)",
                        h->count, v->count, disp->count, NB_MAX_SOURCES);
    return NB_OK;
}

/* All per-source arrays in one block (src->x owns it). */
static nb_status alloc_sources(nbi_sources *src, long n, nb_error *err)
{
    double *block, **arrays[] = {&src->x, &src->y, &src->z, &src->lambda_m, &src->weight};
    const size_t count = sizeof arrays / sizeof arrays[0];
    if (n <= 0 || n > NB_MAX_SOURCES)
        return nbi_fail(err, NB_ERR_RANGE, "%ld sources is out of range (1 to %ld)", n, NB_MAX_SOURCES);
    block = malloc((size_t)n * count * sizeof(double)); /* every entry is written */
    if (!block)
        return nbi_fail(err, NB_ERR_NOMEM, "out of memory for %ld sources", n);
    for (size_t i = 0; i < count; ++i)
        *arrays[i] = block + i * (size_t)n;
    src->n = (int)n;
    return NB_OK;
}

static nb_status sources_from_file(const char *path, vec3 beam, double lambda0, nbi_sources *src,
                                   nb_error *err)
{
    double *col[5] = {NULL, NULL, NULL, NULL, NULL};
    const nb_param_info *lam = nb_param_find("lambda_A");
    size_t n = 0;
    nb_status st = nbi_read_columns(path, 5, col, &n, err);
    if (st == NB_OK)
        st = alloc_sources(src, (long)n, err);
    for (size_t i = 0; st == NB_OK && i < n; ++i) {
        src->x[i] = isnan(col[0][i]) ? -NB_SOURCE_DISTANCE_M * beam.x : col[0][i];
        src->y[i] = isnan(col[1][i]) ? -NB_SOURCE_DISTANCE_M * beam.y : col[1][i];
        src->z[i] = isnan(col[2][i]) ? -NB_SOURCE_DISTANCE_M * beam.z : col[2][i];
        src->weight[i] = isnan(col[3][i]) ? 1.0 : col[3][i];
        src->lambda_m[i] = isnan(col[4][i]) ? lambda0 : col[4][i];
        if (!(src->lambda_m[i] >= lam->min * 1e-10 && src->lambda_m[i] <= lam->max * 1e-10))
            st = nbi_fail(err, NB_ERR_INVALID, "%s: source %zu has wavelength %g m (expected %g to %g m)",
                          path, i + 1, src->lambda_m[i], lam->min * 1e-10, lam->max * 1e-10);
        else if (src->x[i] == 0.0 && src->y[i] == 0.0 && src->z[i] == 0.0)
            st = nbi_fail(err, NB_ERR_INVALID, "%s: source %zu is at the sample (0 0 0)", path, i + 1);
        else if (!nbi_direction_usable(src->x[i], src->y[i], src->z[i]))
            st = nbi_fail(err, NB_ERR_INVALID, "%s: source %zu (%g %g %g) gives no direction (expected coordinates "
                          "up to %g and a distance of at least %g)", path, i + 1, src->x[i], src->y[i], src->z[i],
                          NBI_DIRECTION_MAX, 1.0 / NBI_DIRECTION_MAX);
    }
    for (int c = 0; c < 5; ++c)
        free(col[c]);
    return st;
}

/* Unit vector along a non-zero v, by one reciprocal (source set-up runs for
   thousands of sources; the last bit does not matter here). */
static vec3 unit_of(vec3 v)
{
    return v3_scale(v, 1.0 / v3_mag(v));
}

static void copy_direction(nbi_sources *src, int from, int to)
{
    src->x[to] = src->x[from];
    src->y[to] = src->y[from];
    src->z[to] = src->z[from];
}

/* Log a source as nanoBragg lists it (direction at 10 m, weight, lambda). */
static void log_source(const nb_log *log, vec3 raw, double weight, double lambda)
{
    nbi_log(log, NB_LOG_INFO, "%g %g %g   %g %g", raw.x, raw.y, raw.z, weight, lambda);
}

/* Unit direction of listed source i. */
static void finish_source(nbi_sources *src, int i, const nb_log *log)
{
    vec3 raw = v3(src->x[i], src->y[i], src->z[i]), u;
    if (log && log->fn)
        log_source(log, raw, src->weight[i], src->lambda_m[i]);
    u = unit_of(raw); /* not zero: checked when read, 10 m when generated */
    src->x[i] = u.x;
    src->y[i] = u.y;
    src->z[i] = u.z;
}

/* Sine and cosine of each grid angle (range/2 below the centre upwards). */
static void grid_angles(const nbi_sweep *g, double *angle, double *sn, double *cs)
{
    for (int i = 0; i < g->count; ++i) {
        angle[i] = g->step * i - g->range / 2.0;
        sn[i] = sin(angle[i]);
        cs[i] = cos(angle[i]);
    }
}

static void log_grid(const nbi_sweep *h, const nbi_sweep *v, const nbi_sweep *d, int round_div, double lambda0,
                     const nb_log *log)
{
    if (!log || !log->fn)
        return;
    for (int i = 0; i < h->count; ++i)
        for (int j = 0; j < v->count; ++j) {
            double hdiv = h->step * i - h->range / 2.0, vdiv = v->step * j - v->range / 2.0;
            if (div_point_kept(h, v, hdiv, vdiv, round_div))
                nbi_log(log, NB_LOG_INFO, "divergence deviation: %g %g", hdiv, vdiv);
        }
    for (int k = 0; k < d->count; ++k)
        nbi_log(log, NB_LOG_INFO, "lambda%d = %.15g", k, lambda0 * (1.0 + d->step * k - d->range / 2.0));
}

/* The divergence grid, rotated about the polarization axis (vertical angle)
   then about beam x polar (horizontal angle), times the wavelengths. */
static nb_status sources_from_grid(const nbi_sweep *h, const nbi_sweep *v, const nbi_sweep *d, int round_div,
                                   vec3 beam, vec3 polar, double lambda0, nbi_sources *src,
                                   const nb_log *log, nb_error *err)
{
    double *tab = malloc(6 * ((size_t)h->count + (size_t)v->count) * sizeof(double));
    unsigned char *kept = malloc((size_t)h->count * (size_t)v->count);
    double *ha, *hs, *hc, *va, *vs, *vc;
    vec3 vert, base = v3_scale(beam, -NB_SOURCE_DISTANCE_M);
    nb_status st;
    long n = 0;

    if (!tab || !kept) {
        free(tab);
        free(kept);
        return nbi_fail(err, NB_ERR_NOMEM, "out of memory for the divergence grid");
    }
    ha = tab;
    hs = ha + h->count;
    hc = hs + h->count;
    va = hc + h->count;
    vs = va + v->count;
    vc = vs + v->count;
    grid_angles(h, ha, hs, hc);
    grid_angles(v, va, vs, vc);
    log_grid(h, v, d, round_div, lambda0, log);
    n = grid_kept(h, v, round_div, kept);
    st = n < 0    ? nbi_fail(err, NB_ERR_NOMEM, "out of memory for the divergence grid")
         : n == 0 ? nbi_fail(err, NB_ERR_INVALID, "the %d x %d divergence grid keeps no point inside round_div's "
                             "ellipse: check hdivsteps, vdivsteps (a count alone spans 1 radian), hdivrange_mrad "
                             "and vdivrange_mrad, or set round_div 0", h->count, v->count)
                  : alloc_sources(src, n * d->count, err);
    n = 0;
    if (st == NB_OK)
        nbi_log(log, NB_LOG_INFO, "  created a total of %d sources:", src->n);
    v3_unit(v3_cross(beam, polar), &vert);
    for (int i = 0; st == NB_OK && i < h->count; ++i)
        for (int j = 0; j < v->count; ++j) {
            vec3 dir;
            const double weight = 1.0 / src->n;
            if (!kept[(long)i * v->count + j])
                continue;
            dir = v3_rotate_axis_sc(v3_rotate_axis_sc(base, polar, vs[j], vc[j]), vert, hs[i], hc[i]);
            src->x[n] = dir.x;
            src->y[n] = dir.y;
            src->z[n] = dir.z;
            src->weight[n] = weight;
            src->lambda_m[n] = lambda0 * (1.0 - d->range / 2.0);
            finish_source(src, (int)n, log);
            for (int k = 1; k < d->count; ++k) {
                src->weight[n + k] = weight;
                src->lambda_m[n + k] = lambda0 * (1.0 + d->step * k - d->range / 2.0);
                copy_direction(src, (int)n, (int)(n + k));
                if (log && log->fn)
                    log_source(log, dir, weight, src->lambda_m[n + k]);
            }
            n += d->count;
        }
    free(tab);
    free(kept);
    return st;
}

nb_status nbi_beam_resolve(const nb_config *cfg, vec3 dir, nbi_beam *out, nb_error *err)
{
    nb_status st;
    out->lambda0_m = cfg->lambda0_m;
    out->dir = dir;
    out->hdiv = (nbi_sweep){cfg->hdivrange_rad, cfg->hdivstep_rad, cfg->hdivsteps};
    out->vdiv = (nbi_sweep){cfg->vdivrange_rad, cfg->vdivstep_rad, cfg->vdivsteps};
    out->disp = (nbi_sweep){cfg->dispersion, -1.0, cfg->dispsteps};
    nbi_sweep_resolve_grid(&out->hdiv);
    nbi_sweep_resolve_grid(&out->vdiv);
    nbi_sweep_resolve_grid(&out->disp);
    if (!cfg->source_path && cfg->nsources == 0 && (st = nbi_beam_check(&out->hdiv, &out->vdiv, &out->disp, err)) != NB_OK)
        return st;
    /* given sources replace the grid: one too large to build is not walked either */
    if ((double)out->hdiv.count * out->vdiv.count > (double)NB_MAX_SOURCES)
        out->divsteps = 0;
    else
        out->divsteps = nbi_divergence_count(&out->hdiv, &out->vdiv, cfg->round_div);
    return NB_OK;
}

/* The sources a configuration gives as arrays (nb_config_set_sources). */
static nb_status sources_from_arrays(const nb_config *cfg, double lambda0, nbi_sources *src, nb_error *err)
{
    nb_status st = alloc_sources(src, cfg->nsources, err);
    for (int i = 0; st == NB_OK && i < cfg->nsources; ++i) {
        src->x[i] = cfg->source_xyz[3 * i];
        src->y[i] = cfg->source_xyz[3 * i + 1];
        src->z[i] = cfg->source_xyz[3 * i + 2];
        src->weight[i] = cfg->source_weight[i];
        src->lambda_m[i] = cfg->source_lambda_m[i] > 0.0 ? cfg->source_lambda_m[i] : lambda0;
    }
    return st;
}

nb_status nbi_beam_sources(const nb_config *cfg, const nbi_beam *beam, vec3 polar, const nb_log *log,
                           nbi_sources *out, nb_error *err)
{
    nb_status st;

    if (cfg->source_path || cfg->nsources > 0) {
        st = cfg->source_path ? sources_from_file(cfg->source_path, beam->dir, beam->lambda0_m, out, err)
                              : sources_from_arrays(cfg, beam->lambda0_m, out, err);
        if (st == NB_OK) {
            nbi_log(log, NB_LOG_INFO, "  created a total of %d sources:", out->n);
            for (int i = 0; i < out->n; ++i)
                finish_source(out, i, log);
        }
    } else {
        st = sources_from_grid(&beam->hdiv, &beam->vdiv, &beam->disp, cfg->round_div, beam->dir, polar,
                               beam->lambda0_m, out, log, err);
    }
    return st;
}

nb_status nbi_sources_copy(const nbi_sources *from, nbi_sources *to, nb_error *err)
{
    nb_status st = alloc_sources(to, from->n, err);
    if (st != NB_OK)
        return st;
    memcpy(to->x, from->x, (size_t)from->n * 5 * sizeof(double)); /* the one block x owns */
    return NB_OK;
}

void nbi_sources_free(nbi_sources *src)
{
    free(src->x); /* owns every per-source array */
    src->x = src->y = src->z = src->lambda_m = src->weight = NULL;
    src->n = 0;
}
