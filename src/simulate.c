/*
 * simulate.c - nb_simulate: renders every pixel in parallel and then applies,
 * deterministically, the two places where nanoBragg's result depends on the
 * serial pixel order: the first phi sweep of the run, and the pixel where
 * tricubic interpolation switches itself off for the rest of the run.
 * Statistics are accumulated serially afterwards, so the image and every
 * number are the same bit for bit at any thread count.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifdef NB_HAVE_OPENMP
#include <omp.h>
#endif

#include "kernel.h"
#include "util.h"

enum { PIX_SWEPT = 1, PIX_INTERP_OFF = 2 };

static int rendered(const nb_detector *d, int f, int s)
{
    if (f < d->roi[0] || f > d->roi[1] || s < d->roi[2] || s > d->roi[3])
        return 0;
    return !d->mask || d->mask[(long)s * d->fpixels + f] != 0;
}

static void store(float *data, uint8_t *flags, long idx, const nbi_pixel *px)
{
    data[idx] = (float)px->value;
    flags[idx] = (uint8_t)((px->swept ? PIX_SWEPT : 0) | (px->interp_off ? PIX_INTERP_OFF : 0));
}

/* Render rows in parallel.  start: first pixel index to (re)render; interp:
   the interpolation state every pixel starts with.  Row sums of solid angle go
   to omega_rows (when not NULL). */
static void render_range(const nb_experiment *e, long start, int interp, float *data, uint8_t *flags,
                         double *omega_rows)
{
    const nb_detector *d = &e->det;
    const int nf = d->fpixels, ns = d->spixels;
    int threads = e->threads;
    (void)threads;
#ifdef NB_HAVE_OPENMP
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads > 0 ? threads : omp_get_max_threads())
#endif
    for (int s = 0; s < ns; ++s) {
        double omega = 0.0;
        for (int f = 0; f < nf; ++f) {
            long idx = (long)s * nf + f;
            nbi_pixel px;
            if (idx < start || !rendered(d, f, s))
                continue;
            nbi_render_pixel(e, f, s, interp, 0, &px);
            store(data, flags, idx, &px);
            omega += px.omega_sum;
        }
        if (omega_rows)
            omega_rows[s] = omega;
    }
}

static long first_flagged(const uint8_t *flags, long n, long from, uint8_t bit)
{
    for (long i = from; i < n; ++i)
        if (flags[i] & bit)
            return i;
    return -1;
}

/* Serial-order corrections; see the top of this file. */
static void serial_order_fixes(const nb_experiment *e, float *data, uint8_t *flags, const nb_log *log)
{
    const nb_detector *d = &e->det;
    const long n = (long)d->fpixels * d->spixels;
    long first, off;
    nbi_pixel px;

    first = first_flagged(flags, n, 0, PIX_SWEPT);
    if (first >= 0 && e->xtal.first_differs) {
        nbi_render_pixel(e, (int)(first % d->fpixels), (int)(first / d->fpixels), e->interpolate, 1, &px);
        store(data, flags, first, &px);
    }
    if (!e->interpolate)
        return;
    off = first_flagged(flags, n, 0, PIX_INTERP_OFF);
    if (off < 0)
        return;
    nbi_render_pixel(e, (int)(off % d->fpixels), (int)(off / d->fpixels), 1, off == first, &px);
    nbi_log(log, NB_LOG_WARN,
            "WARNING: out of range for three point interpolation: h,k,l,h0,k0,l0: %g,%g,%g,%d,%d,%d ",
            px.off_hkl[0], px.off_hkl[1], px.off_hkl[2], px.off_hkl0[0], px.off_hkl0[1], px.off_hkl0[2]);
    nbi_log(log, NB_LOG_WARN, "WARNING: further warnings will not be printed! ");
    render_range(e, off + 1, 0, data, flags, NULL);
}

static void statistics(const nb_experiment *e, nb_image *img)
{
    const nb_detector *d = &e->det;
    double sum = 0.0, sumsqr = 0.0, avg, dev = 0.0;
    long n = 0, m = 0;
    img->max_I = 0.0;
    img->max_I_x_m = img->max_I_y_m = 0.0;
    for (int s = 0; s < d->spixels; ++s)
        for (int f = 0; f < d->fpixels; ++f) {
            double v = img->data[(long)s * d->fpixels + f];
            if (!rendered(d, f, s))
                continue;
            if (v > img->max_I) {
                img->max_I = v;
                img->max_I_x_m = d->subpixel_m * (f * d->oversample + d->oversample - 1) + d->subpixel_m / 2.0;
                img->max_I_y_m = d->subpixel_m * (s * d->oversample + d->oversample - 1) + d->subpixel_m / 2.0;
            }
            sum += v;
            sumsqr += v * v;
            ++n;
        }
    img->rendered = n;
    avg = sum / (n <= 0 ? 1 : n);
    img->mean = avg;
    img->rms = sqrt(sumsqr / ((n <= 1 ? 2 : n) - 1));
    for (int s = 0; s < d->spixels; ++s)
        for (int f = 0; f < d->fpixels; ++f) {
            double t;
            if (f < d->roi[0] || f > d->roi[1] || s < d->roi[2] || s > d->roi[3])
                continue;
            t = img->data[(long)s * d->fpixels + f] - avg;
            dev += t * t;
            ++m;
        }
    img->rmsd = sqrt(dev / ((m <= 1 ? 2 : m) - 1));
}

nb_status nb_simulate(const nb_experiment *e, const nb_log *log, nb_image *img, nb_error *err)
{
    const nb_detector *d = &e->det;
    const long n = (long)d->fpixels * d->spixels;
    uint8_t *flags;
    double *omega_rows;

    memset(img, 0, sizeof *img);
    img->fpixels = d->fpixels;
    img->spixels = d->spixels;
    img->data = calloc((size_t)n, sizeof(float));
    flags = calloc((size_t)n, 1);
    omega_rows = calloc((size_t)d->spixels, sizeof(double));
    if (!img->data || !flags || !omega_rows) {
        free(flags);
        free(omega_rows);
        nb_image_free(img);
        return nbi_fail(err, NB_ERR_NOMEM, "out of memory for a %dx%d image", d->fpixels, d->spixels);
    }
    render_range(e, 0, e->interpolate, img->data, flags, omega_rows);
    serial_order_fixes(e, img->data, flags, log);
    for (int s = 0; s < d->spixels; ++s)
        img->omega_sum += omega_rows[s];
    statistics(e, img);
    free(flags);
    free(omega_rows);
    return NB_OK;
}

void nb_image_free(nb_image *img)
{
    if (!img)
        return;
    free(img->data);
    img->data = NULL;
}
