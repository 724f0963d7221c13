/*
 * trace.c - nanoBragg's -printout: the intermediate values of chosen pixels,
 * handed to the nb_log trace callback after the image is complete.
 *
 * Each traced pixel is rendered again with the reference kernel, which
 * records its values as it sums (nbi_render_pixel_traced); the pixel's value
 * reported is the image's.  What nanoBragg prints is what its variables hold
 * when the pixel is done, on one thread:
 *
 * - the last sample's values: stol and the position of the last sub-pixel
 *   and source (stol is computed before the -dmin cut); h, k, l, h0, k0,
 *   l0, F_latt and the rotated cell of the last phi step x mosaic domain of
 *   the last source that passed -dmin, including a sample skipped because
 *   its F_latt is 0; F_cell of the last sample not skipped; the pixel's
 *   sum I and the polarization, solid angle and capture fraction it kept
 *   (the first sub-pixel's and source's unless -oversample_* asks, the last
 *   layer's capture fraction);
 * - the serial order's state: interpolation switched off by an earlier
 *   pixel, and the first phi sweep of the run (which sees the unrotated
 *   cell at phi = 0);
 * - a value the pixel did not set at all (every source cut by -dmin; no
 *   F_cell when every sample had F_latt = 0) keeps what an earlier pixel
 *   left.  When every pixel is traced that is the previous pixel's value, as
 *   in nanoBragg, and before any pixel set the cell it is the crystal at
 *   phi = 0 without mosaic, as in nanoBragg; the other values no pixel has
 *   set yet are NaN (h0, k0, l0: 0), where nanoBragg prints what set-up left
 *   in its variables (or nothing defined).  When one pixel is traced, a
 *   value it did not set is NaN (h0, k0, l0: 0; the cell too).
 *
 * Finding the serial state of a single pixel costs a second render of the
 * image only where it matters: with interpolation on, or with -dmin when the
 * first phi sweep differs from the later ones.
 */
#include "trace.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernel.h"
#include "kernel_row.h"
#include "render.h"
#include "util.h"

/* Nothing recorded yet. */
static void trace_unset(nbi_pixel_trace *tr)
{
    tr->stol_m = NAN;
    tr->pos_m = v3(NAN, NAN, NAN);
    for (int i = 0; i < 3; ++i)
        tr->hkl[i] = tr->hkl0[i] = NAN;
    tr->F_cell = tr->F_latt = NAN;
    tr->cell = NULL;
    tr->I = tr->polar = tr->omega = tr->capture = NAN;
}

static int as_int(double x) { return isnan(x) ? 0 : (int)fmax(fmin(x, 2e9), -2e9); }

/* Call the trace callback with pixel (f, s)'s recorded values and value. */
static void emit(const nb_experiment *e, const nb_log *log, int f, int s, const nbi_pixel_trace *tr,
                 float value)
{
    const vec3 p = tr->pos_m;
    const double twotheta = atan2(sqrt(p.y * p.y + p.z * p.z), p.x);
    nb_trace t;
    memset(&t, 0, sizeof t);
    t.fpixel = f;
    t.spixel = s;
    t.stol = tr->stol_m / 1e10;
    /* nanoBragg's second stol: from the position, as if the beam ran along x */
    t.stol_centre = sin(twotheta / 2.0) / (e->beam.lambda0_m * 1e10);
    v3_store(p, t.pixel_pos_m);
    for (int i = 0; i < 3; ++i) {
        t.hkl[i] = tr->hkl[i];
        t.hkl0[i] = as_int(tr->hkl0[i]);
        t.a_A[i] = tr->cell ? tr->cell[i] * 1e10 : NAN;
        t.b_A[i] = tr->cell ? tr->cell[3 + i] * 1e10 : NAN;
        t.c_A[i] = tr->cell ? tr->cell[6 + i] * 1e10 : NAN;
    }
    t.F_cell = tr->F_cell;
    t.F_latt = tr->F_latt;
    t.I = tr->I;
    t.steps = (double)e->steps;
    t.polar = tr->polar;
    t.omega = tr->omega;
    t.capture_fraction = tr->capture;
    t.pixel = value;
    log->trace(log->trace_ctx, &t);
}

/* Every rendered pixel in serial order, carrying the interpolation switch,
   the first sweep and the recorded values from pixel to pixel. */
static void trace_all(const nb_experiment *e, const float *image, const nb_log *log)
{
    const nbi_detector *d = &e->det;
    int interp = e->interpolate, swept = 0;
    double setup_cell[9]; /* what nanoBragg's a, b, c hold before the first sweep */
    nbi_pixel_trace tr;
    v3_store(v3_scale(e->xtal.a_A, 1e-10), setup_cell);
    v3_store(v3_scale(e->xtal.b_A, 1e-10), setup_cell + 3);
    v3_store(v3_scale(e->xtal.c_A, 1e-10), setup_cell + 6);
    trace_unset(&tr);
    tr.cell = setup_cell;
    for (int s = 0; s < d->spixels; ++s)
        for (int f = 0; f < d->fpixels; ++f) {
            nbi_pixel px;
            if (!nbi_pixel_rendered(d, f, s))
                continue;
            nbi_render_pixel_traced(e, f, s, interp, !swept, &px, &tr);
            emit(e, log, f, s, &tr, image[(long)s * d->fpixels + f]);
            interp = interp && !px.interp_off;
            swept = swept || px.swept;
        }
}

static long first_flagged(const uint8_t *flags, long n, long from, uint8_t bit)
{
    for (long i = from; i < n; ++i)
        if (flags[i] & bit)
            return i;
    return -1;
}

/* From a render of the whole image with its flags: whether pixel p holds
   the run's first phi sweep, and whether interpolation is still on when p
   starts (off after the first pixel where the reference kernel switches it
   off, as nbi_serial_order_fixes decides). */
static nb_status state_from_render(const nb_experiment *e, long p, int *interp, int *first_sweep)
{
    const nbi_detector *d = &e->det;
    const long n = (long)d->fpixels * d->spixels;
    float *data = malloc((size_t)n * sizeof *data);
    uint8_t *flags = calloc((size_t)n, 1);
    nb_status st = NB_ERR_NOMEM;
    long first, off;
    if (data && flags)
        st = nbi_render_range(e, 0, e->interpolate, data, flags, NULL, NULL);
    if (st == NB_OK) {
        first = first_flagged(flags, n, 0, NBI_PIX_SWEPT);
        *first_sweep = first == p;
        for (off = first_flagged(flags, n, 0, NBI_PIX_INTERP_OFF); e->interpolate && off >= 0 && off < p;
             off = first_flagged(flags, n, off + 1, NBI_PIX_INTERP_OFF)) {
            nbi_pixel px;
            nbi_render_pixel(e, (int)(off % d->fpixels), (int)(off / d->fpixels), 1, off == first, &px);
            if (px.interp_off) {
                *interp = 0;
                break;
            }
        }
    }
    free(data);
    free(flags);
    return st;
}

/* The serial state pixel p = s * fpixels + f starts with. */
static nb_status serial_state(const nb_experiment *e, long p, int *interp, int *first_sweep)
{
    const nbi_detector *d = &e->det;
    *interp = e->interpolate;
    *first_sweep = 0;
    if (e->interpolate || (e->xtal.first_differs && e->dmin_m > 0.0))
        return state_from_render(e, p, interp, first_sweep);
    if (e->xtal.first_differs) {
        /* without -dmin every rendered pixel sweeps: the first one is first */
        long q = 0;
        while (!nbi_pixel_rendered(d, (int)(q % d->fpixels), (int)(q / d->fpixels)))
            ++q;
        *first_sweep = q == p;
    }
    return NB_OK;
}

nb_status nbi_trace_pixels(const nb_experiment *e, const float *image, const nb_log *log, nb_error *err)
{
    const nbi_detector *d = &e->det;
    int f, s, interp, first_sweep;
    nbi_pixel_trace tr;
    nbi_pixel px;
    if (!log || !log->trace)
        return NB_OK;
    if (log->trace_fpixel < 0) {
        trace_all(e, image, log);
        return NB_OK;
    }
    f = log->trace_fpixel;
    s = log->trace_spixel;
    if (f >= d->fpixels || s < 0 || s >= d->spixels || !nbi_pixel_rendered(d, f, s))
        return NB_OK;
    if (serial_state(e, (long)s * d->fpixels + f, &interp, &first_sweep) != NB_OK)
        return nbi_fail(err, NB_ERR_NOMEM, "out of memory for the trace of pixel %d %d", f, s);
    trace_unset(&tr);
    nbi_render_pixel_traced(e, f, s, interp, first_sweep, &px, &tr);
    emit(e, log, f, s, &tr, image[(long)s * d->fpixels + f]);
    return NB_OK;
}
