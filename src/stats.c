/*
 * stats.c - image statistics as nanoBragg computes them, from per-row sums
 * computed in parallel and added in row order, so that every number is the
 * same bit for bit at any thread count.  Rows without a mask are summed four
 * at a time side by side (independent chains, each in its own column order).
 */
#include "stats.h"
#include "roi.h"

#ifdef NB_HAVE_OPENMP
#include <omp.h>
#endif

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Statistics of one row: sums over rendered pixels, the first maximum, and
   the squared deviations from avg over the ROI (when avg is given). */
typedef struct row_stats {
    double sum, sumsqr, max, dev, dev_all;
    long n, m;
    int max_f;
} row_stats;

static void row_statistics(const nb_experiment *e, const float *data, int s, const double *avg, row_stats *r)
{
    const nbi_detector *d = &e->det;
    const float *row = data + (long)s * d->fpixels;
    int f0, f1;
    const uint16_t *mask = d->mask ? d->mask + (long)s * d->fpixels : NULL;
    memset(r, 0, sizeof *r);
    r->max_f = -1;
    nbi_roi_columns(d->roi, d->fpixels, &f0, &f1);
    if (!nbi_roi_has_row(d->roi, s))
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

#define STATS_BLOCK 4 /* rows summed side by side: independent chains, same order per row */

/* The sums of rows [s, s + STATS_BLOCK) of an unmasked image over columns
   [f0, f1), each row in column order exactly as row_statistics adds it;
   avg as there. */
static void row_block_statistics(const float *data, int nf, int s, int f0, int f1, const double *avg,
                                 row_stats *r)
{
    const float *row[STATS_BLOCK];
    for (int j = 0; j < STATS_BLOCK; ++j) {
        row[j] = data + (long)(s + j) * nf;
        memset(&r[j], 0, sizeof r[j]);
        r[j].max_f = -1;
    }
    if (avg) {
        for (int f = f0; f < f1; ++f)
            for (int j = 0; j < STATS_BLOCK; ++j) {
                const double dev = (row[j][f] - *avg) * (row[j][f] - *avg);
                r[j].dev_all += dev;
                r[j].dev += dev;
            }
        for (int j = 0; j < STATS_BLOCK; ++j)
            r[j].m = f1 > f0 ? f1 - f0 : 0;
        return;
    }
    for (int f = f0; f < f1; ++f)
        for (int j = 0; j < STATS_BLOCK; ++j) {
            const double v = row[j][f];
            if (v > r[j].max) {
                r[j].max = v;
                r[j].max_f = f;
            }
            r[j].sum += v;
            r[j].sumsqr += v * v;
        }
    for (int j = 0; j < STATS_BLOCK; ++j)
        r[j].n = f1 > f0 ? f1 - f0 : 0;
}

/* The statistics of every row into rows[], in parallel: blocks of ROI rows
   side by side when there is no mask, the other rows one by one. */
static void all_rows(const nb_experiment *e, const float *data, const double *avg, row_stats *rows)
{
    const nbi_detector *d = &e->det;
    const int ns = d->spixels, nblocks = (ns + STATS_BLOCK - 1) / STATS_BLOCK;
    int f0, f1;
    nbi_roi_columns(d->roi, d->fpixels, &f0, &f1);
#ifdef NB_HAVE_OPENMP
#pragma omp parallel for schedule(static) num_threads(e->threads > 0 ? e->threads : omp_get_max_threads())
#endif
    for (int b = 0; b < nblocks; ++b) {
        const int s = b * STATS_BLOCK;
        if (!d->mask && s + STATS_BLOCK <= ns && nbi_roi_has_row(d->roi, s) &&
            nbi_roi_has_row(d->roi, s + STATS_BLOCK - 1))
            row_block_statistics(data, d->fpixels, s, f0, f1, avg, &rows[s]);
        else
            for (int j = s; j < s + STATS_BLOCK && j < ns; ++j)
                row_statistics(e, data, j, avg, &rows[j]);
    }
}

/* The first infinite pixel of row s, whose maximum is infinite. */
static long first_infinite(const nbi_detector *d, const float *data, int s)
{
    const float *row = data + (long)s * d->fpixels;
    for (int f = 0; f < d->fpixels; ++f)
        if (isinf(row[f]))
            return (long)s * d->fpixels + f;
    return -1;
}

nb_status nbi_image_statistics(const nb_experiment *e, nb_image *img, long *overflow)
{
    const nbi_detector *d = &e->det;
    const int ns = d->spixels;
    row_stats *rows = malloc((size_t)ns * sizeof *rows);
    double sum = 0.0, sumsqr = 0.0, dev = 0.0, dev_all = 0.0, avg;
    long n = 0, m = 0;
    if (!rows)
        return NB_ERR_NOMEM;
    all_rows(e, img->data, NULL, rows);
    /* pixels only overflow to +inf (photons are not negative), which is
       then the maximum of its row; pixels not rendered are 0 */
    *overflow = -1;
    for (int s = 0; s < ns && *overflow < 0; ++s)
        if (isinf(rows[s].max))
            *overflow = first_infinite(d, img->data, s);
    if (*overflow >= 0) {
        free(rows);
        return NB_ERR_RANGE;
    }
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
    all_rows(e, img->data, &avg, rows);
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
