/*
 * render.h - the threaded rendering loop: rows of the image in parallel
 * (OpenMP, dynamic schedule), each with the row kernel or, where it does not
 * apply, the reference kernel pixel by pixel; progress reports.
 */
#ifndef NB_RENDER_H
#define NB_RENDER_H

#include <stdint.h>

#include "kernel.h"

/* Store a rendered pixel: its value at data[idx] and its NBI_PIX_* flags at
   flags[idx]. */
void nbi_store_pixel(float *data, uint8_t *flags, long idx, const nbi_pixel *px);

/*
 * Render every rendered pixel from serial index start (s * fpixels + f) to
 * the end of the image, in parallel over rows, with interpolation state
 * interp, into data and flags.  The solid-angle sum of each row goes to
 * omega_rows[s] when omega_rows is not NULL.  Progress goes to log->progress
 * when log is not NULL.  NB_OK, or NB_ERR_NOMEM when a thread's scratch space
 * could not be allocated (data is then incomplete).
 */
NB_WARN_UNUSED nb_status nbi_render_range(const nb_experiment *e, long start, int interp, float *data,
                                          uint8_t *flags, double *omega_rows, const nb_log *log);

#endif
