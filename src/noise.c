/*
 * noise.c - nanoBragg's noise image: Poisson photon counts per pixel from the
 * reference's Numerical Recipes generator, plus the ADC offset, clipped to
 * 16 bits.  Pixel order and generator use match the reference, so a given
 * seed gives the same image.
 */
#include "noise.h"

#include "nanobragg.h"

#include "rng.h"
#include "roi.h"

/* The reference casts the double to unsigned short; values below 0 (a negative
   adc) or NaN would be undefined there, and are 0 here. */
static uint16_t to_count(double v)
{
    if (!(v >= 0.0))
        return 0;
    return (uint16_t)v;
}

/* The draws of the region's pixels in the reference's order (rows, then
   columns), a run of at most NOISE_RUN pixels at a time: dev receives the
   deviates of img[i0 .. i0 + n - 1]; returns 0 when done. */
#define NOISE_RUN 1024
typedef struct noise_walk {
    const float *img;
    nbi_exp_neg_fn exp_neg;
    int fpixels, spixels, f0, f1, s, f;
} noise_walk;

static void walk_start(noise_walk *w, const float *img, int fpixels, int spixels, const int roi[4],
                       nbi_exp_neg_fn exp_neg)
{
    w->img = img;
    w->exp_neg = exp_neg;
    w->fpixels = fpixels;
    w->spixels = spixels;
    nbi_roi_columns(roi, fpixels, &w->f0, &w->f1);
    w->s = roi[2] < 0 ? 0 : roi[2];
    if (roi[3] + 1 < w->spixels)
        w->spixels = roi[3] + 1;
    w->f = w->f0;
}

static int walk_next(noise_walk *w, nbi_rng *rng, float *dev, long *i0, int *n)
{
    if (w->f0 >= w->f1)
        return 0;
    while (w->s < w->spixels) {
        if (w->f < w->f1) {
            *n = w->f1 - w->f < NOISE_RUN ? w->f1 - w->f : NOISE_RUN;
            *i0 = (long)w->s * w->fpixels + w->f;
            nbi_rng_poisson_run(rng, w->img + *i0, *n, w->exp_neg, dev);
            w->f += *n;
            return 1;
        }
        ++w->s;
        w->f = w->f0;
    }
    return 0;
}

void nbi_noise_counts(const float *img, int fpixels, int spixels, const int roi[4], nbi_exp_neg_fn exp_neg,
                      long *seed, double adc, uint16_t *counts, double *photons, long *overloads)
{
    nbi_rng rng;
    noise_walk w;
    float dev[NOISE_RUN];
    double sum = 0.0;
    long over = 0, i0;
    int n;
    nbi_rng_init(&rng, *seed);
    walk_start(&w, img, fpixels, spixels, roi, exp_neg);
    while (walk_next(&w, &rng, dev, &i0, &n))
        for (int j = 0; j < n; ++j) {
            double test = dev[j];
            sum += test;
            test += adc;
            if (test > 65535.0) {
                test = 65535.0;
                ++over;
            }
            counts[i0 + j] = to_count(test);
        }
    *seed = rng.idum;
    *photons = sum;
    *overloads = over;
}

void nbi_noise_counts32(const float *img, int fpixels, int spixels, const int roi[4], nbi_exp_neg_fn exp_neg,
                        long *seed, int32_t *counts, double *photons)
{
    nbi_rng rng;
    noise_walk w;
    float dev[NOISE_RUN];
    double sum = 0.0;
    long i0;
    int n;
    nbi_rng_init(&rng, *seed);
    walk_start(&w, img, fpixels, spixels, roi, exp_neg);
    while (walk_next(&w, &rng, dev, &i0, &n))
        for (int j = 0; j < n; ++j) {
            const double test = dev[j]; /* the draws of nbi_noise_counts */
            sum += test;
            counts[i0 + j] = !(test >= 0.0) ? 0 : test > (double)NB_CBF_COUNT_CUTOFF ? (int32_t)NB_CBF_COUNT_CUTOFF
                                                                                   : (int32_t)test;
        }
    *seed = rng.idum;
    *photons = sum;
}
