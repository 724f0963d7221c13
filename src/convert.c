/*
 * convert.c - converts the float image into what the writers store: scaled
 * 16-bit counts, 8-bit greyscale and the Poisson noise image, and gives the
 * SMV header values of the experiment, each exactly as nanoBragg derives them.
 */
#ifdef NB_HAVE_OPENMP
#include <omp.h>
#endif

#include <math.h>
#include <string.h>

#include "convert.h"
#include "experiment.h"
#include "noise.h"
#include "pages.h"
#include "roi.h"
#include "row_loops.h"

#define RTD (180.0 * M_1_PI)

void nb_experiment_smv_info(const nb_experiment *e, nb_smv_info *h)
{
    const nbi_detector *d = &e->det;
    const nbi_centres *c = &d->centres;
    double px = d->pixel_m;
    memset(h, 0, sizeof *h);
    h->fpixels = d->fpixels;
    h->spixels = d->spixels;
    h->pixel_mm = px * 1000.0;
    h->distance_mm = d->distance_m * 1000.0;
    h->wavelength_A = e->beam.lambda0_m * 1e10;
    h->beam_center_x_mm = c->Xbeam_m * 1000.0;
    h->beam_center_y_mm = c->Ybeam_m * 1000;
    h->adxv_center_x_mm = c->Fbeam_m * 1000.0;
    h->adxv_center_y_mm = (d->size_s_m - c->Sbeam_m) * 1000;
    h->mosflm_center_x_mm = (c->Sbeam_m - 0.5 * px) * 1000.0;
    h->mosflm_center_y_mm = (c->Fbeam_m - 0.5 * px) * 1000;
    h->denzo_x_beam_mm = (c->Sbeam_m - 0.0 * px) * 1000.0;
    h->denzo_y_beam_mm = (c->Fbeam_m - 0.0 * px) * 1000;
    memcpy(h->dials_origin_mm, d->origins.dials_origin_mm, sizeof h->dials_origin_mm);
    h->xds_orgx = d->origins.ORGX;
    h->xds_orgy = d->origins.ORGY;
    h->close_distance_mm = d->close_distance_m * 1000.0;
    h->phi_deg = e->xtal.phi0_rad * RTD;
    h->osc_start_deg = e->xtal.phi0_rad * RTD;
    h->osc_range_deg = e->xtal.osc_rad * RTD;
    h->twotheta_deg = d->twotheta_rad * RTD;
}

/* nanoBragg's conversion of one photon count to an SMV count. */
static inline uint16_t to_count(float photons, double scale, double adc)
{
    double v = photons * scale + adc;
    v = v <= 65535.0 ? v : 65535.0; /* NaN too */
    v = v >= 0.0 ? v : 0.0;
    /* nanoBragg rounds with floorf((float)(v + 0.5)); the argument is
       positive here, where truncation is the same and vectorises */
    return (uint16_t)(int)(float)(v + 0.5);
}

/* Contract in convert.h. */
double nbi_counts_scale(const nb_image *img, double scale)
{
    return scale <= 0.0 ? (img->max_I > 0.0 ? 55000.0 / img->max_I : 1.0) : scale;
}

/* Contract in convert.h. */
void nbi_counts_rows(const nb_experiment *e, const nb_image *img, double scale, double adc, int s0, int s1,
                     uint16_t *counts)
{
    const nbi_detector *d = &e->det;
    int f0, f1;
    nbi_roi_columns(d->roi, d->fpixels, &f0, &f1);
    if (f0 > d->fpixels)
        f0 = d->fpixels;
    if (f1 < f0)
        f1 = f0;
    /* each row written once: zeros outside the ROI, counts inside */
    for (int s = s0; s < s1; ++s) {
        const float *row = img->data + (long)s * d->fpixels;
        uint16_t *out = counts + (long)(s - s0) * d->fpixels;
        if (!nbi_roi_has_row(d->roi, s)) {
            memset(out, 0, (size_t)d->fpixels * sizeof *out);
            continue;
        }
        memset(out, 0, (size_t)f0 * sizeof *out);
        for (int f = f0; f < f1; ++f)
            out[f] = to_count(row[f], scale, adc);
        memset(out + f1, 0, (size_t)(d->fpixels - f1) * sizeof *out);
    }
}

void nb_image_to_counts(const nb_experiment *e, const nb_image *img, double *scale, double adc,
                        uint16_t *counts)
{
    const int ns = e->det.spixels, nf = e->det.fpixels;
    const double sc = nbi_counts_scale(img, *scale);
    *scale = sc;
#ifdef NB_HAVE_OPENMP
#pragma omp parallel for schedule(static) num_threads(e->threads > 0 ? e->threads : omp_get_max_threads())
#endif
    for (int s = 0; s < ns; ++s)
        nbi_counts_rows(e, img, sc, adc, s, s + 1, counts + (long)s * nf);
}

void *nb_buffer_calloc(size_t count, size_t size)
{
    return nbi_pages_calloc(count, size);
}

void nb_image_to_pgm(const nb_experiment *e, const nb_image *img, double *scale, double fallback_scale,
                     uint8_t *bytes)
{
    const nbi_detector *d = &e->det;
    if (*scale <= 0.0) {
        *scale = fallback_scale;
        if (img->rmsd_roi > 0.0)
            *scale = 250.0 / (5.0 * img->rmsd_roi);
    }
    for (int s = 0; s < d->spixels; ++s)
        for (int f = 0; f < d->fpixels; ++f) {
            long i = (long)s * d->fpixels + f;
            double v;
            bytes[i] = 0;
            if (!nbi_roi_has(d->roi, f, s))
                continue;
            v = img->data[i] * *scale;
            if (!(v <= 255.0))
                v = 255.0;
            if (!(v >= 0.0))
                v = 0.0;
            bytes[i] = (uint8_t)v;
        }
}

void nb_image_to_noise(const nb_experiment *e, const nb_image *img, long *seed, double adc,
                       uint16_t *counts, double *photons, long *overloads)
{
    const nbi_detector *d = &e->det;
    memset(counts, 0, (size_t)d->fpixels * (size_t)d->spixels * sizeof *counts);
    nbi_noise_counts(img->data, d->fpixels, d->spixels, d->roi, e->loops->exp_neg, seed, adc, counts, photons,
                     overloads);
}

void nb_image_to_counts32(const nb_experiment *e, const nb_image *img, int noise, long *seed,
                          int32_t *counts, double *photons)
{
    const nbi_detector *d = &e->det;
    const size_t n = (size_t)d->fpixels * (size_t)d->spixels;
    double sum = 0.0;
    for (size_t i = 0; i < n; ++i)
        counts[i] = -1;
    if (noise) {
        nbi_noise_counts32(img->data, d->fpixels, d->spixels, d->roi, e->loops->exp_neg, seed, counts, &sum);
    } else {
        for (int s = 0; s < d->spixels; ++s)
            for (int f = 0; f < d->fpixels; ++f) {
                const size_t i = (size_t)s * (size_t)d->fpixels + (size_t)f;
                double v;
                if (!nbi_roi_has(d->roi, f, s))
                    continue;
                v = floor((double)img->data[i] + 0.5);
                counts[i] = !(v >= 0.0) ? 0 : v > (double)NB_CBF_COUNT_CUTOFF ? (int32_t)NB_CBF_COUNT_CUTOFF
                                                                              : (int32_t)v;
                sum += counts[i];
            }
    }
    if (d->mask)
        for (size_t i = 0; i < n; ++i)
            if (d->mask[i] == 0)
                counts[i] = -1;
    if (photons)
        *photons = sum;
}
