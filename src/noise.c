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

void nbi_noise_counts(const float *img, int fpixels, int spixels, const int roi[4], long *seed,
                     double adc, uint16_t *counts, double *photons, long *overloads)
{
    nbi_rng rng;
    double sum = 0.0;
    long over = 0;
    int f, s;
    nbi_rng_init(&rng, *seed);
    for (s = 0; s < spixels; ++s) {
        if (!nbi_roi_has_row(roi, s))
            continue;
        for (f = 0; f < fpixels; ++f) {
            long i = (long)s * fpixels + f;
            double test;
            if (!nbi_roi_has(roi, f, s))
                continue;
            test = nbi_rng_poisson(&rng, img[i]);
            sum += test;
            test += adc;
            if (test > 65535.0) {
                test = 65535.0;
                ++over;
            }
            counts[i] = to_count(test);
        }
    }
    *seed = rng.idum;
    *photons = sum;
    *overloads = over;
}

void nbi_noise_counts32(const float *img, int fpixels, int spixels, const int roi[4], long *seed,
                        int32_t *counts, double *photons)
{
    nbi_rng rng;
    double sum = 0.0;
    nbi_rng_init(&rng, *seed);
    for (int s = 0; s < spixels; ++s) {
        if (!nbi_roi_has_row(roi, s))
            continue;
        for (int f = 0; f < fpixels; ++f) {
            const long i = (long)s * fpixels + f;
            double test;
            if (!nbi_roi_has(roi, f, s))
                continue;
            test = nbi_rng_poisson(&rng, img[i]); /* the draws of nbi_noise_counts */
            sum += test;
            counts[i] = !(test >= 0.0) ? 0 : test > (double)NB_CBF_COUNT_CUTOFF ? (int32_t)NB_CBF_COUNT_CUTOFF
                                                                              : (int32_t)test;
        }
    }
    *seed = rng.idum;
    *photons = sum;
}
