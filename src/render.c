/*
 * render.c - the threaded rendering loop.  Every pixel's value depends only
 * on the experiment and the interpolation state it starts with, so rows may
 * be rendered in any order, by any number of threads.
 */
#include "render.h"

#ifdef NB_HAVE_OPENMP
#include <omp.h>
#endif

#include "kernel_row.h"

void nbi_store_pixel(float *data, uint8_t *flags, long idx, const nbi_pixel *px)
{
    data[idx] = (float)px->value;
    flags[idx] = (uint8_t)((px->swept ? NBI_PIX_SWEPT : 0) | (px->interp_off ? NBI_PIX_INTERP_OFF : 0));
}

/* One row with the reference kernel, pixel by pixel. */
static double reference_row(const nb_experiment *e, int s, int f_start, int interp, float *data,
                            uint8_t *flags)
{
    const nbi_detector *d = &e->det;
    double omega = 0.0;
    for (int f = f_start; f < d->fpixels; ++f) {
        nbi_pixel px;
        if (!nbi_pixel_rendered(d, f, s))
            continue;
        nbi_render_pixel(e, f, s, interp, 0, &px);
        nbi_store_pixel(data, flags, (long)s * d->fpixels + f, &px);
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

nb_status nbi_render_range(const nb_experiment *e, long start, int interp, float *data, uint8_t *flags,
                           double *omega_rows, const nb_log *log)
{
    const nbi_detector *d = &e->det;
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
                    omega += nbi_render_row(e, s, f, f_end, interp, &w, data + (long)s * nf + f,
                                            flags + (long)s * nf + f);
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
