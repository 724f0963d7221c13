/*
 * kernel_row.c - the fast kernel: one detector row at a time, vectorised
 * across the row's sub-pixel samples.
 *
 * For each row it lays out every sub-pixel (x detector layer) of the
 * rendered pixels as an array of diffracted directions, then for every
 * crystal orientation (phi step x mosaic domain) and source adds
 * F_cell^2 F_latt^2 to each sample in one contiguous loop that the compiler
 * vectorises.  Everything that does not depend on the sample is hoisted out
 * of that loop: Miller indices come from h = (a/lambda).d - (a.i)/lambda with
 * the pixel direction d and the incident direction i.  The lattice factor
 * sin(N pi h)/sin(pi h) is evaluated on the reduced arguments h - round(h)
 * and N(h - round(h)) with a polynomial, which is exact in the first and
 * more accurate than libm in the second near Bragg peaks (only its square
 * is used, so the sign is irrelevant).
 *
 * nanoBragg's per-pixel quirks are kept: polarization from the first source
 * that passes -dmin at the first sub-pixel, solid angle from the first
 * sub-pixel, absorption from the last layer's first sub-pixel.  The
 * -oversample_thick/polar/omega switches make the sum order-dependent and
 * use the reference kernel instead (nbi_row_kernel_ok).
 *
 * This file is the driver (scratch space, layout, per-pixel factors, the
 * choice of loop); the loops themselves are in loops/row_loops.c, compiled
 * per instruction set, and the physics they evaluate in physics.h.
 */
#include "row_loops.h"

#include <stdlib.h>
#include <string.h>

/* Samples laid out at a time: enough for long vector loops, small enough to
   stay in cache. */
#define NBI_ROW_SAMPLES 4096

/* Samples per pixel beyond which the row kernel's scratch space (about 100
   bytes a sample, per thread) would grow past ~100 MiB: such pixels are
   rendered one sample at a time by the reference kernel instead. */
#define NBI_ROW_MAX_PER_PIXEL (1L << 20)

int nbi_row_kernel_ok(const nb_experiment *e)
{
    const nbi_detector *d = &e->det;
    return !d->oversample_thick && !d->oversample_polar && !d->oversample_omega
           && (long)d->thicksteps * d->oversample * d->oversample <= NBI_ROW_MAX_PER_PIXEL;
}

nb_status nbi_row_init(nbi_row *w, const nb_experiment *e)
{
    const nbi_detector *d = &e->det;
    const size_t per_pixel = (size_t)d->thicksteps * d->oversample * d->oversample;
    size_t np = NBI_ROW_SAMPLES / per_pixel, n;
    if (np < 1)
        np = 1;
    if (np > (size_t)d->fpixels)
        np = (size_t)d->fpixels;
    n = np * per_pixel;
    w->chunk = (int)np;
    w->dx = malloc(n * sizeof(double));
    w->dy = malloc(n * sizeof(double));
    w->dz = malloc(n * sizeof(double));
    w->acc = malloc(n * sizeof(double));
    w->event = malloc(n);
    w->lat = malloc(n * sizeof(double));
    w->hkl = malloc(3 * n * sizeof(double));
    w->single = malloc(8 * n * sizeof(float));
    w->pix = malloc(np * (5 * sizeof(double) + 2 * sizeof(int)));
    if (w->single) {
        w->fx = w->single;
        w->fy = w->fx + n;
        w->fz = w->fy + n;
        w->latf = w->fz + n;
        w->hklf = w->latf + n;
        w->accf = w->hklf + 3 * n;
    }
    if (w->pix) {
        w->fpix = w->pix;
        w->omega = w->fpix + np;
        w->polar = w->omega + np;
        w->capture = w->polar + np;
        w->value = w->capture + np;
        w->f = (int *)(w->value + np);
        w->swept = w->f + np;
    }
    if (!w->dx || !w->dy || !w->dz || !w->acc || !w->event || !w->lat || !w->hkl || !w->single || !w->pix) {
        nbi_row_free(w);
        return NB_ERR_NOMEM;
    }
    return NB_OK;
}

void nbi_row_free(nbi_row *w)
{
    free(w->dx);
    free(w->dy);
    free(w->dz);
    free(w->acc);
    free(w->event);
    free(w->lat);
    free(w->hkl);
    free(w->single);
    free(w->pix);
    w->dx = w->dy = w->dz = w->acc = w->lat = w->hkl = NULL;
    w->single = NULL;
    w->event = NULL;
    w->pix = NULL;
}

/* nanoBragg's polarization factor for pixel j: computed at its first sample
   and source (in loop order) that pass -dmin.  *swept: some did. */
static double pixel_polar(const nb_experiment *e, const nbi_row *w, int j, int *swept)
{
    const nbi_sources *src = &e->src;
    const int per_pixel = w->n / w->np;
    double polar = e->nopolar ? 1.0 : 0.0;
    *swept = 0;
    for (int q = 0; q < per_pixel; ++q) {
        const int i = q * w->np + j;
        const vec3 d = v3(w->dx[i], w->dy[i], w->dz[i]);
        for (int s = 0; s < src->n; ++s) {
            const vec3 inc = v3(-src->x[s], -src->y[s], -src->z[s]);
            if (e->dmin_m > 0.0
                && !nbi_within_dmin_d(d.x, d.y, d.z, inc.x, inc.y, inc.z, 1.0 / src->lambda_m[s], 0.5 / e->dmin_m))
                continue;
            *swept = 1;
            if (polar == 0.0) {
                vec3 E, B;
                nbi_polar_frame(inc, e->polar_vector, &E, &B);
                polar = nbi_polarization(e->polarization, inc.x, inc.y, inc.z, E.x, E.y, E.z, B.x, B.y, B.z, d.x,
                                     d.y, d.z);
            }
            if (polar != 0.0)
                return polar;
        }
    }
    return polar;
}

/* Lay out the samples of the rendered pixels f_start <= f < f_end of row s,
   sample-major (sample q of pixel j at q*np + j), then give each pixel
   nanoBragg's solid angle (first sample), capture fraction (first sample of
   the last layer) and polarization. */
static void layout(const nb_experiment *e, int s, int f_start, int f_end, nbi_row *w)
{
    const nbi_detector *d = &e->det;
    const int os = d->oversample, per_pixel = d->thicksteps * os * os;
    int np = 0;
    if (!d->mask && nbi_roi_has_row(d->roi, s)) { /* the run's part of the ROI's columns */
        int f0, f1;
        nbi_roi_columns(d->roi, d->fpixels, &f0, &f1);
        f0 = f0 > f_start ? f0 : f_start;
        f1 = f1 < f_end ? f1 : f_end;
        for (int f = f0; f < f1; ++f) {
            w->f[np] = f;
            w->fpix[np++] = f;
        }
    } else {
        for (int f = f_start; f < f_end; ++f)
            if (nbi_pixel_rendered(d, f, s)) {
                w->f[np] = f;
                w->fpix[np++] = f;
            }
    }
    w->np = np;
    w->n = np * per_pixel;
    if (np == 0) /* outside the ROI or masked: nothing to lay out */
        return;
    for (int q = 0; q < per_pixel; ++q) {
        const int t = q / (os * os), subS = q % (os * os) / os, subF = q % os;
        if (!d->curved) {
            e->loops->flat_directions(d, s, q, t, subF, subS, w);
            continue;
        }
        for (int j = 0; j < np; ++j) {
            const int i = q * np + j;
            vec3 u = nbi_subpixel_direction(e, w->f[j], s, t, subF, subS, &w->lat[i]);
            w->dx[i] = u.x;
            w->dy[i] = u.y;
            w->dz[i] = u.z;
        }
    }
    if (e->dmin_m > 0.0) {
        for (int j = 0; j < np; ++j) {
            w->omega[j] = nbi_solid_angle(d->point_pixel, d->pixel_m, d->close_distance_m, w->lat[j]);
            w->polar[j] = pixel_polar(e, w, j, &w->swept[j]);
        }
    } else {
        e->loops->pixel_factors_uncut(e, w);
        for (int j = 0; j < np; ++j)
            w->swept[j] = 1;
    }
    for (int j = 0; j < np; ++j) {
        const int i = (d->thicksteps - 1) * os * os * np + j;
        w->capture[j] = d->thick_m == 0.0 ? 1.0
                                          : nbi_capture_fraction(v3_dot(v3(w->dx[i], w->dy[i], w->dz[i]), d->odet),
                                                                 d->thicksteps - 1, d->thickstep_m, d->mu);
    }
    memset(w->acc, 0, (size_t)w->n * sizeof *w->acc);
    memset(w->event, 0, (size_t)w->n);
    if (e->precision == NB_PRECISION_SINGLE) {
        for (int i = 0; i < w->n; ++i) {
            w->fx[i] = (float)w->dx[i];
            w->fy[i] = (float)w->dy[i];
            w->fz[i] = (float)w->dz[i];
            w->accf[i] = 0.0f;
        }
        w->pending = 0;
    }
}

/* Miller-index maps for orientation c (9 doubles: a, b, c in metres) and
   source s: h = (a/lambda).d - (a.i)/lambda. */
void nbi_row_make_pass(const nb_experiment *e, const double *c, int s, pass *p)
{
    const nbi_sources *src = &e->src;
    const double il = 1.0 / src->lambda_m[s];
    const double ix = -src->x[s], iy = -src->y[s], iz = -src->z[s];
    nbi_miller_d *m[3] = {&p->H, &p->K, &p->L};
    for (int j = 0; j < 3; ++j) {
        const double *v = c + 3 * j;
        m[j]->x = v[0] * il;
        m[j]->y = v[1] * il;
        m[j]->z = v[2] * il;
        m[j]->off = (v[0] * ix + v[1] * iy + v[2] * iz) * il;
    }
    p->ix = ix;
    p->iy = iy;
    p->iz = iz;
    p->inv_lambda = il;
    p->stol_max = e->dmin_m > 0.0 ? 0.5 / e->dmin_m : 0.0;
}

/* The accumulation loop for this experiment, chosen once per call: the
   specialised loop of an N x N x N parallelepiped (2 <= N <= 12) without HKL
   table, -dmin cut or interpolation, else by shape, table and precision. */
nbi_accumulate_fn nbi_row_choose_loop(const nb_experiment *e, int interp)
{
    const nbi_row_loops *L = e->loops;
    const nbi_crystal *x = &e->xtal;
    const int single = e->precision == NB_PRECISION_SINGLE;
    if (x->shape != NB_SHAPE_SQUARE)
        return L->general;
    if (interp)
        return single ? L->single_interp : L->square_interp;
    if (!e->have_hkl && e->dmin_m <= 0.0 && nbi_cube_N(x))
        return L->cube[single][nbi_cube_N(x)];
    if (single)
        return e->have_hkl ? L->single_hkl : L->single_flat;
    return e->have_hkl ? L->square_hkl : L->square_flat;
}

double nbi_render_row(const nb_experiment *e, int s, int f_start, int f_end, int interp, nbi_row *w,
                      float *data, unsigned char *flags)
{
    const nbi_crystal *x = &e->xtal;
    const int ncells = x->phisteps * x->domains, single = e->precision == NB_PRECISION_SINGLE;
    const nbi_accumulate_fn accumulate = nbi_row_choose_loop(e, interp);
    double omega_sum = 0.0;
    int events;

    layout(e, s, f_start, f_end, w);
    if (w->np == 0)
        return 0.0;
    for (int c = 0; c < ncells; ++c)
        for (int src = 0; src < e->src.n; ++src) {
            pass p;
            nbi_row_make_pass(e, x->cells + 9 * c, src, &p);
            accumulate(e, &p, interp, w);
        }
    if (single)
        nbi_flush_single(w);
    omega_sum = e->loops->finish_pixels(e, w, w->value);
    events = interp || x->shape == NB_SHAPE_ROUND; /* the loops that flag samples */
    if (!events && w->f[w->np - 1] - w->f[0] == w->np - 1) {
        /* the usual case: no sample events, the pixels a contiguous run */
        float *restrict out = data + (w->f[0] - f_start);
        const double *restrict value = w->value;
        const int *restrict swept = w->swept;
        for (int j = 0; j < w->np; ++j)
            out[j] = (float)value[j];
        if (flags) {
            unsigned char *restrict state = flags + (w->f[0] - f_start);
            for (int j = 0; j < w->np; ++j)
                state[j] = (unsigned char)(swept[j] ? NBI_PIX_SWEPT : 0);
        }
        return omega_sum;
    }
    for (int j = 0; j < w->np; ++j) {
        const int idx = w->f[j] - f_start;
        int event = 0, swept = w->swept[j];
        for (int i = j; events && i < w->n; i += w->np)
            event |= w->event[i];
        if (!event) { /* the usual case */
            data[idx] = (float)w->value[j];
            if (flags)
                flags[idx] = (unsigned char)(swept ? NBI_PIX_SWEPT : 0);
            continue;
        }
        data[idx] = (float)w->value[j];
        if (event & EV_EXACT) { /* rare: see ROUND_EXACT_S */
            nbi_pixel px;
            nbi_render_pixel(e, w->f[j], s, interp, 0, &px);
            data[idx] = (float)px.value;
            swept = px.swept;
            event = px.interp_off ? EV_INTERP_OFF : 0;
        }
        if (flags)
            flags[idx] = (unsigned char)((swept ? NBI_PIX_SWEPT : 0) | (event & EV_INTERP_OFF ? NBI_PIX_INTERP_OFF : 0));
    }
    return omega_sum;
}
