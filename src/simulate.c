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

#include "kernel_row.h"
#include "util.h"

enum { PIX_SWEPT = NBI_PIX_SWEPT, PIX_INTERP_OFF = NBI_PIX_INTERP_OFF };

static void store(float *data, uint8_t *flags, long idx, const nbi_pixel *px)
{
    data[idx] = (float)px->value;
    flags[idx] = (uint8_t)((px->swept ? PIX_SWEPT : 0) | (px->interp_off ? PIX_INTERP_OFF : 0));
}

/* One row with the reference kernel, pixel by pixel. */
static double reference_row(const nb_experiment *e, int s, int f_start, int interp, float *data,
                            uint8_t *flags)
{
    const nb_detector *d = &e->det;
    double omega = 0.0;
    for (int f = f_start; f < d->fpixels; ++f) {
        nbi_pixel px;
        if (!nbi_pixel_rendered(d, f, s))
            continue;
        nbi_render_pixel(e, f, s, interp, 0, &px);
        store(data, flags, (long)s * d->fpixels + f, &px);
        omega += px.omega_sum;
    }
    return omega;
}

/* Count n more pixels rendered; the first thread reports the fraction. */
static void report_progress(const nb_log *log, long *done, long n, double total)
{
    long now;
#ifdef NB_HAVE_OPENMP
#pragma omp atomic capture
#endif
    now = *done += n;
#ifdef NB_HAVE_OPENMP
    if (omp_get_thread_num() != 0)
        return;
#endif
    log->progress(log->progress_ctx, total > 0 ? (double)now / total : 1.0);
}

/* Render, in parallel over rows, every pixel from index start on (serial
   order), with interpolation state interp.  Row sums of solid angle go to
   omega_rows when not NULL. */
static nb_status render_range(const nb_experiment *e, long start, int interp, float *data, uint8_t *flags,
                              double *omega_rows, const nb_log *log)
{
    const nb_detector *d = &e->det;
    const int nf = d->fpixels, ns = d->spixels, fast = nbi_row_kernel_ok(e);
    const int s0 = (int)(start / nf);
    int threads = e->threads, nomem = 0;
    long done_pixels = 0;
    const double total = (double)nf * ns - (double)start;
    const nb_progress_fn progress = log ? log->progress : NULL;
    (void)threads;
#ifdef NB_HAVE_OPENMP
#pragma omp parallel num_threads(threads > 0 ? threads : omp_get_max_threads()) reduction(| : nomem)
#endif
    {
        nbi_row w = {0};
        int ok = !fast || nbi_row_init(&w, e) == NB_OK;
        nomem |= !ok;
#ifdef NB_HAVE_OPENMP
#pragma omp for schedule(dynamic, 1)
#endif
        for (int s = s0; s < ns; ++s) {
            int f_start = s == s0 ? (int)(start % nf) : 0;
            double omega;
            if (!ok)
                continue;
            if (fast) {
                omega = 0.0;
                for (int f = f_start; f < nf; f += w.chunk) {
                    const int f_end = f + w.chunk < nf ? f + w.chunk : nf;
                    omega += nbi_render_row(e, s, f, f_end, interp, &w, data, flags);
                    if (progress)
                        report_progress(log, &done_pixels, f_end - f, total);
                }
            } else {
                omega = reference_row(e, s, f_start, interp, data, flags);
                if (progress)
                    report_progress(log, &done_pixels, nf - f_start, total);
            }
            if (omega_rows)
                omega_rows[s] = omega;
        }
        if (fast)
            nbi_row_free(&w);
    }
    return nomem ? NB_ERR_NOMEM : NB_OK;
}

static long first_flagged(const uint8_t *flags, long n, long from, uint8_t bit)
{
    for (long i = from; i < n; ++i)
        if (flags[i] & bit)
            return i;
    return -1;
}

/* Serial-order corrections; see the top of this file. */
static nb_status serial_order_fixes(const nb_experiment *e, float *data, uint8_t *flags,
                                    const nb_log *log)
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
        return NB_OK;
    /* the first pixel where the reference kernel switches interpolation off
       (the fast kernel's flag is confirmed by rendering the pixel exactly) */
    for (off = first_flagged(flags, n, 0, PIX_INTERP_OFF); off >= 0;
         off = first_flagged(flags, n, off + 1, PIX_INTERP_OFF)) {
        nbi_render_pixel(e, (int)(off % d->fpixels), (int)(off / d->fpixels), 1, off == first, &px);
        store(data, flags, off, &px);
        if (px.interp_off)
            break;
    }
    if (off < 0)
        return NB_OK;
    nbi_log(log, NB_LOG_WARN,
            "WARNING: out of range for three point interpolation: h,k,l,h0,k0,l0: %g,%g,%g,%d,%d,%d ",
            px.off_hkl[0], px.off_hkl[1], px.off_hkl[2], px.off_hkl0[0], px.off_hkl0[1], px.off_hkl0[2]);
    nbi_log(log, NB_LOG_WARN, "WARNING: further warnings will not be printed! ");
    return render_range(e, off + 1, 0, data, flags, NULL, NULL);
}

/* Statistics of one row: sums over rendered pixels, the first maximum, and
   the squared deviations from avg over the ROI (when avg is given). */
typedef struct row_stats {
    double sum, sumsqr, max, dev, dev_all;
    long n, m;
    int max_f;
} row_stats;

static void row_statistics(const nb_experiment *e, const float *data, int s, const double *avg, row_stats *r)
{
    const nb_detector *d = &e->det;
    const float *row = data + (long)s * d->fpixels;
    const int f0 = d->roi[0] < 0 ? 0 : d->roi[0];
    const int f1 = d->roi[1] + 1 > d->fpixels ? d->fpixels : d->roi[1] + 1;
    const uint16_t *mask = d->mask ? d->mask + (long)s * d->fpixels : NULL;
    memset(r, 0, sizeof *r);
    r->max_f = -1;
    if (s < d->roi[2] || s > d->roi[3])
        return;
    if (avg) { /* rendered pixels; and every ROI pixel, masked ones too, as nanoBragg */
        for (int f = f0; f < f1; ++f) {
            const double dev = (row[f] - *avg) * (row[f] - *avg);
            r->dev_all += dev;
            if (!mask || mask[f])
                r->dev += dev;
        }
        r->m = f1 > f0 ? f1 - f0 : 0;
        return;
    }
    for (int f = f0; f < f1; ++f) {
        const double v = row[f];
        if (mask && !mask[f])
            continue;
        if (v > r->max) {
            r->max = v;
            r->max_f = f;
        }
        r->sum += v;
        r->sumsqr += v * v;
        ++r->n;
    }
}

/* nanoBragg's statistics (first maximum and its position, mean, rms, rmsd),
   from per-row sums computed in parallel and added in row order, so the
   numbers do not depend on the thread count. */
static nb_status statistics(const nb_experiment *e, nb_image *img)
{
    const nb_detector *d = &e->det;
    const int ns = d->spixels;
    row_stats *rows = malloc((size_t)ns * sizeof *rows);
    double sum = 0.0, sumsqr = 0.0, dev = 0.0, dev_all = 0.0, avg;
    long n = 0, m = 0;
    if (!rows)
        return NB_ERR_NOMEM;
#ifdef NB_HAVE_OPENMP
#pragma omp parallel for schedule(static)
#endif
    for (int s = 0; s < ns; ++s)
        row_statistics(e, img->data, s, NULL, &rows[s]);
    img->max_I = 0.0;
    img->max_I_x_m = img->max_I_y_m = 0.0;
    for (int s = 0; s < ns; ++s) {
        if (rows[s].max_f >= 0 && rows[s].max > img->max_I) {
            img->max_I = rows[s].max;
            img->max_I_x_m = d->subpixel_m * (rows[s].max_f * d->oversample + d->oversample - 1) + d->subpixel_m / 2.0;
            img->max_I_y_m = d->subpixel_m * (s * d->oversample + d->oversample - 1) + d->subpixel_m / 2.0;
        }
        sum += rows[s].sum;
        sumsqr += rows[s].sumsqr;
        n += rows[s].n;
    }
    img->rendered = n;
    avg = sum / (n <= 0 ? 1 : n);
    img->mean = avg;
    img->rms = sqrt(sumsqr / ((n <= 1 ? 2 : n) - 1));
#ifdef NB_HAVE_OPENMP
#pragma omp parallel for schedule(static)
#endif
    for (int s = 0; s < ns; ++s)
        row_statistics(e, img->data, s, &avg, &rows[s]);
    for (int s = 0; s < ns; ++s) {
        dev += rows[s].dev;
        dev_all += rows[s].dev_all;
        m += rows[s].m;
    }
    img->rmsd = sqrt(dev / ((n <= 1 ? 2 : n) - 1));
    img->rmsd_roi = sqrt(dev_all / ((m <= 1 ? 2 : m) - 1));
    free(rows);
    return NB_OK;
}

nb_status nb_simulate(const nb_experiment *e, const nb_log *log, nb_image *img, nb_error *err)
{
    const nb_detector *d = &e->det;
    const long n = (long)d->fpixels * d->spixels;
    uint8_t *flags;
    double *omega_rows;
    nb_status st;

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
    st = render_range(e, 0, e->interpolate, img->data, flags, omega_rows, log);
    if (st == NB_OK && log && log->progress)
        log->progress(log->progress_ctx, 1.0);
    if (st == NB_OK)
        st = serial_order_fixes(e, img->data, flags, log);
    if (st != NB_OK) {
        free(flags);
        free(omega_rows);
        nb_image_free(img);
        return nbi_fail(err, st, "out of memory while rendering");
    }
    for (int s = 0; s < d->spixels; ++s)
        img->omega_sum += omega_rows[s];
    if (statistics(e, img) != NB_OK) {
        free(flags);
        free(omega_rows);
        nb_image_free(img);
        return nbi_fail(err, NB_ERR_NOMEM, "out of memory for the statistics");
    }
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
