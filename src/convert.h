/*
 * convert.h - the conversions of convert.c that the writers use a block of
 * rows at a time (smv.c: an SMV image streamed from the float image).
 */
#ifndef NB_CONVERT_H
#define NB_CONVERT_H

#include <stdint.h>

#include "nanobragg.h"

/* The SMV counts' scale nb_image_to_counts uses: scale, or where scale <= 0
   55000/max_I (1 for an empty image). */
double nbi_counts_scale(const nb_image *img, double scale);

/* nb_image_to_counts's counts of rows s0 <= s < s1 of img, at the final
   scale, into counts ((s1 - s0) rows of fpixels). */
void nbi_counts_rows(const nb_experiment *e, const nb_image *img, double scale, double adc, int s0, int s1,
                     uint16_t *counts);

#endif
