/*
 * noise.h - nanoBragg's Poisson noise image: photon counts drawn with the
 * reference's generator (poidev), an ADC offset, clipping at 65535.
 */
#ifndef NB_NOISE_H
#define NB_NOISE_H

#include <stdint.h>

#include "rng.h"

/*
 * Draw a Poisson deviate for each pixel of img (fpixels*spixels photons,
 * fast-major) inside roi = {xmin, xmax, ymin, ymax} (inclusive pixel indices),
 * in nanoBragg's order (slow, then fast), from a generator started with *seed
 * (nanoBragg's value, e.g. -N for "-seed N"); *seed is left at the generator's
 * final idum.  counts[i] = min(65535, deviate + adc), truncated; pixels outside
 * the ROI are not written (the caller zeroes counts).  *photons is the sum of
 * the deviates, *overloads the number of clipped pixels.  exp_neg: the
 * experiment's vector exp for the small means (nbi_rng_poisson_run), or
 * NULL; the same draws either way.
 */
void nbi_noise_counts(const float *img, int fpixels, int spixels, const int roi[4], nbi_exp_neg_fn exp_neg,
                      long *seed, double adc, uint16_t *counts, double *photons, long *overloads);

/* The same draws as 32-bit counts, no offset: counts[i] = the deviate,
   clipped to [0, NB_CBF_COUNT_CUTOFF]; pixels outside the ROI are not
   written. */
void nbi_noise_counts32(const float *img, int fpixels, int spixels, const int roi[4], nbi_exp_neg_fn exp_neg,
                        long *seed, int32_t *counts, double *photons);

#endif
