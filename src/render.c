/*
 * render.c - the threaded rendering loop.  Every pixel's value depends only
 * on the experiment and the interpolation state it starts with, so runs of
 * pixels may be rendered in any order, by any number of threads.
 */
#include "render.h"

#include <stdlib.h>

#ifdef NB_HAVE_OPENMP
#include <omp.h>
#endif

#include "gpu.h"
#include "kernel_row.h"

void nbi_store_pixel(float *data, uint8_t *flags, long idx, const nbi_pixel *px)
{
    data[idx] = (float)px->value;
    if (flags)
        flags[idx] = (uint8_t)((px->swept ? NBI_PIX_SWEPT : 0) | (px->interp_off ? NBI_PIX_INTERP_OFF : 0));
}

/* ---------------------------------------------------------------- progress */

void nbi_progress_init(nbi_progress *p, const nb_log *log, double total)
{
    p->log = log && log->progress ? log : NULL;
    p->total = total;
    p->done = 0;
    p->last = 0.0;
    p->cancelled = 0;
}

void nbi_progress_extend(nbi_progress *p, double more)
{
    if (p)
        p->total += more;
}

int nbi_progress_cancelled(nbi_progress *p)
{
    int c;
    if (!p)
        return 0;
#ifdef NB_HAVE_OPENMP
#pragma omp atomic read
#endif
    c = p->cancelled;
    return c;
}

/* Tell the callback fraction done (never less than last time); it may ask
   to stop.  From one thread at a time. */
static void report(nbi_progress *p, double fraction)
{
    if (fraction > 1.0)
        fraction = 1.0;
    if (fraction < p->last)
        fraction = p->last;
    p->last = fraction;
    if (p->log->progress(p->log->progress_ctx, fraction) != 0) {
#ifdef NB_HAVE_OPENMP
#pragma omp atomic write
#endif
        p->cancelled = 1;
    }
}

/* Count n more pixels rendered; the first thread reports the fraction. */
void nbi_progress_add(nbi_progress *p, long n)
{
    long now;
    if (!p || !p->log)
        return;
#ifdef NB_HAVE_OPENMP
#pragma omp atomic capture
#endif
    now = p->done += n;
#ifdef NB_HAVE_OPENMP
    if (omp_get_thread_num() != 0)
        return;
#endif
    report(p, p->total > 0 ? (double)now / p->total : 1.0);
}

nb_status nbi_progress_finish(nbi_progress *p)
{
    if (nbi_progress_cancelled(p))
        return NB_ERR_CANCELLED;
    if (p->log)
        report(p, 1.0);
    return nbi_progress_cancelled(p) ? NB_ERR_CANCELLED : NB_OK;
}

/* ---------------------------------------------------------------- runs */

/* One run with the reference kernel, pixel by pixel. */
static double reference_run(const nb_experiment *e, const nbi_run *r, float *data, uint8_t *flags)
{
    const nbi_detector *d = &e->det;
    double omega = 0.0;
    for (int f = r->f_begin; f < r->f_end; ++f) {
        nbi_pixel px;
        if (!nbi_pixel_rendered(d, f, r->s))
            continue;
        nbi_render_pixel(e, f, r->s, r->interp, 0, &px);
        nbi_store_pixel(data, flags, f - r->f_begin, &px);
        omega += px.omega_sum;
    }
    return omega;
}

/* One run with the row kernel, w->chunk pixels at a time (data and flags
   start at the run's first pixel). */
static double row_run(const nb_experiment *e, const nbi_run *r, nbi_row *w, float *data, uint8_t *flags,
                      nbi_progress *progress)
{
    double omega = 0.0;
    for (int f = r->f_begin; f < r->f_end; f += w->chunk) {
        const int f_end = f + w->chunk < r->f_end ? f + w->chunk : r->f_end;
        if (f > r->f_begin && nbi_progress_cancelled(progress))
            break;
        omega += nbi_render_row(e, r->s, f, f_end, r->interp, w, data + (f - r->f_begin),
                                flags ? flags + (f - r->f_begin) : NULL);
        nbi_progress_add(progress, f_end - f);
    }
    return omega;
}

nb_status nbi_render_runs(const nb_experiment *e, const nbi_run *runs, size_t n, float *data, uint8_t *flags,
                          double *omega, nbi_progress *progress)
{
    const int fast = nbi_row_kernel_ok(e);
    const long nruns = (long)n;
    int threads = e->threads, nomem = 0;
    (void)threads;
    if (e->gpu) /* the device renders them (gpu.c) */
        return nbi_gpu_render_runs(e, runs, n, data, flags, omega, progress);
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
        for (long i = 0; i < nruns; ++i) {
            const nbi_run *r = &runs[i];
            double om;
            if (!ok || nbi_progress_cancelled(progress))
                continue;
            if (fast) {
                om = row_run(e, r, &w, data + r->out, flags ? flags + r->out : NULL, progress);
            } else {
                om = reference_run(e, r, data + r->out, flags ? flags + r->out : NULL);
                nbi_progress_add(progress, r->f_end - r->f_begin);
            }
            if (omega)
                omega[i] = om;
        }
        if (fast)
            nbi_row_free(&w);
    }
    if (nomem)
        return NB_ERR_NOMEM;
    return nbi_progress_cancelled(progress) ? NB_ERR_CANCELLED : NB_OK;
}

nb_status nbi_render_range(const nb_experiment *e, long start, int interp, float *data, uint8_t *flags,
                           double *omega_rows, nbi_progress *progress)
{
    const int nf = e->det.fpixels, ns = e->det.spixels;
    const int s0 = (int)(start / nf);
    nbi_run *runs;
    nb_status st;
    if (s0 >= ns)
        return nbi_progress_cancelled(progress) ? NB_ERR_CANCELLED : NB_OK;
    runs = malloc((size_t)(ns - s0) * sizeof *runs);
    if (!runs)
        return NB_ERR_NOMEM;
    for (int s = s0; s < ns; ++s) {
        nbi_run *r = &runs[s - s0];
        r->s = s;
        r->f_begin = s == s0 ? (int)(start % nf) : 0;
        r->f_end = nf;
        r->interp = interp;
        r->out = (size_t)s * nf + r->f_begin;
    }
    st = nbi_render_runs(e, runs, (size_t)(ns - s0), data, flags, omega_rows ? omega_rows + s0 : NULL, progress);
    free(runs);
    return st;
}
