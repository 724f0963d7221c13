/*
 * render.h - the threaded rendering loop: runs of pixels of the image's rows
 * in parallel (OpenMP, dynamic schedule), each with the row kernel or, where
 * it does not apply, the reference kernel pixel by pixel; progress reports
 * and cancellation.
 */
#ifndef NB_RENDER_H
#define NB_RENDER_H

#include <stddef.h>
#include <stdint.h>

#include "kernel.h"

/* Store a rendered pixel: its value at data[idx] and its NBI_PIX_* flags at
   flags[idx] (flags may be NULL: none wanted, here and below). */
void nbi_store_pixel(float *data, uint8_t *flags, long idx, const nbi_pixel *px);

/* A run of pixels of one row, f_begin <= f < f_end of row s, rendered with
   interpolation state interp; pixel f goes to index out + f - f_begin of the
   output arrays. */
typedef struct nbi_run {
    int s, f_begin, f_end;
    int interp;
    size_t out;
} nbi_run;

/*
 * Progress and cancellation of one call of the public API: the pixels it
 * renders are counted, and the first thread reports the fraction of total
 * done to log->progress; when that returns non-zero, every thread stops at
 * its next run of pixels.  Without a progress callback nothing is counted.
 */
typedef struct nbi_progress {
    const nb_log *log; /* NULL: no reports */
    double total;      /* pixels the call renders, as far as known */
    long done;         /* pixels rendered (atomic) */
    double last;       /* the fraction last reported (fractions never decrease) */
    int cancelled;     /* the callback asked to stop (atomic) */
} nbi_progress;

/* A call that renders total pixels, reporting to log (may be NULL). */
void nbi_progress_init(nbi_progress *p, const nb_log *log, double total);
/* The call renders more pixels than it first knew. */
void nbi_progress_extend(nbi_progress *p, double more);
/* n more pixels are done (from any thread; the first reports). */
void nbi_progress_add(nbi_progress *p, long n);
/* Whether the callback asked to stop. */
int nbi_progress_cancelled(nbi_progress *p);
/* End of the call: NB_ERR_CANCELLED if the callback asked to stop, else
   report 1 (and NB_ERR_CANCELLED if the callback answers that with a
   request to stop), else NB_OK. */
NB_WARN_UNUSED nb_status nbi_progress_finish(nbi_progress *p);

/*
 * Render the rendered pixels (inside the ROI, unmasked) of runs[0..n-1], in
 * parallel over runs, into data and flags (pixels not rendered are left
 * alone).  A pixel gets the same value and flags whichever run holds it.
 * The solid-angle sum of run i goes to omega[i] when omega is not NULL.
 * NB_OK; NB_ERR_NOMEM when a thread's scratch space could not be allocated,
 * NB_ERR_CANCELLED when progress says so (data is then incomplete).
 */
NB_WARN_UNUSED nb_status nbi_render_runs(const nb_experiment *e, const nbi_run *runs, size_t n, float *data,
                                         uint8_t *flags, double *omega, nbi_progress *progress);

/*
 * Render every rendered pixel from serial index start (s * fpixels + f) to
 * the end of the image, in rows, with interpolation state interp, into data
 * and flags (whole-image arrays).  The solid-angle sum of each row goes to
 * omega_rows[s] when omega_rows is not NULL.  progress counts the pixels;
 * the caller gives it their number.  Errors as nbi_render_runs.
 */
NB_WARN_UNUSED nb_status nbi_render_range(const nb_experiment *e, long start, int interp, float *data,
                                          uint8_t *flags, double *omega_rows, nbi_progress *progress);

/* The first of data[0..n-1] that overflowed float (an infinity), or -1;
   and the error naming that pixel and the parameters that scale it. */
long nbi_first_overflow(const float *data, long n);
NB_WARN_UNUSED nb_status nbi_overflow_error(nb_error *err, long f, long s);

#endif
