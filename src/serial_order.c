/*
 * serial_order.c - nanoBragg's serial-order effects, applied
 * deterministically to an image rendered in parallel: the first phi sweep of
 * the run, and the pixel where tricubic interpolation switches itself off for
 * the rest of the run.  Where these two landmarks lie is a property of the
 * whole image; the experiment keeps them once found, so that parts of the
 * image (region.c) get the values the whole image has.
 */
#include "serial_order.h"

#include <pthread.h>
#include <stdlib.h>

#include "kernel_row.h"
#include "util.h"

struct nbi_landmark_cache {
    pthread_mutex_t lock;
    int known;
    nbi_landmarks lm;
};

static long first_flagged(const uint8_t *flags, long n, long from, uint8_t bit)
{
    for (long i = from; i < n; ++i)
        if (flags[i] & bit)
            return i;
    return -1;
}

/* Render pixel i of the whole image with the reference kernel into data and
   flags. */
static void rerender(const nb_experiment *e, long i, int interp, int first_sweep, float *data, uint8_t *flags,
                     nbi_pixel *px)
{
    const int nf = e->det.fpixels;
    nbi_render_pixel(e, (int)(i % nf), (int)(i / nf), interp, first_sweep, px);
    nbi_store_pixel(data, flags, i, px);
}

/* The first rendered pixel (inside the ROI, unmasked) in serial order. */
static long first_rendered(const nbi_detector *d)
{
    int f0, f1;
    nbi_roi_columns(d->roi, d->fpixels, &f0, &f1);
    for (int s = d->roi[2] < 0 ? 0 : d->roi[2]; s < d->spixels && nbi_roi_has_row(d->roi, s); ++s)
        for (int f = f0; f < f1; ++f)
            if (nbi_pixel_rendered(d, f, s))
                return (long)s * d->fpixels + f;
    return -1;
}

/* Whether the landmarks that matter take a render of the whole image: the
   pixel where interpolation switches off does, and so does the first swept
   pixel where it matters and -dmin decides it.  Without -dmin every rendered
   pixel runs a sweep. */
int nbi_serial_order_needs_flags(const nb_experiment *e)
{
    return e->interpolate || (e->xtal.first_differs && e->dmin_m > 0.0);
}

/* Find the landmarks of the whole image (data and flags rendered with
   interpolation e->interpolate), re-rendering the pixels nanoBragg's serial
   order decides up to the one where interpolation switches off (its
   rendering is left in *px). */
static void locate(const nb_experiment *e, float *data, uint8_t *flags, nbi_landmarks *lm, nbi_pixel *px)
{
    const nbi_detector *d = &e->det;
    const long n = (long)d->fpixels * d->spixels;
    /* without flags (nbi_serial_order_needs_flags): every rendered pixel
       sweeps, and interpolation is off */
    const long first = flags ? first_flagged(flags, n, 0, NBI_PIX_SWEPT)
                             : e->xtal.first_differs ? first_rendered(d) : -1;

    lm->first = first;
    lm->off = -1;
    if (first >= 0 && e->xtal.first_differs)
        rerender(e, first, e->interpolate, 1, data, flags, px);
    if (!e->interpolate)
        return;
    /* the first pixel where the reference kernel switches interpolation off
       (the fast kernel's flag is confirmed by rendering the pixel exactly) */
    for (long off = first_flagged(flags, n, 0, NBI_PIX_INTERP_OFF); off >= 0;
         off = first_flagged(flags, n, off + 1, NBI_PIX_INTERP_OFF)) {
        rerender(e, off, 1, off == first, data, flags, px);
        if (px->interp_off) {
            lm->off = off;
            return;
        }
    }
}

nb_status nbi_serial_order_fixes(const nb_experiment *e, float *data, uint8_t *flags, const nb_log *log,
                                 nbi_progress *progress, nbi_landmarks *found)
{
    const nbi_detector *d = &e->det;
    nbi_pixel px;

    locate(e, data, flags, found, &px);
    if (found->off < 0)
        return NB_OK;
    nbi_log(log, NB_LOG_WARN,
            "WARNING: out of range for three point interpolation: h,k,l,h0,k0,l0: %g,%g,%g,%d,%d,%d ",
            px.off_hkl[0], px.off_hkl[1], px.off_hkl[2], px.off_hkl0[0], px.off_hkl0[1], px.off_hkl0[2]);
    nbi_log(log, NB_LOG_WARN, "WARNING: further warnings will not be printed! ");
    nbi_progress_extend(progress, (double)d->fpixels * d->spixels - (double)(found->off + 1));
    return nbi_render_range(e, found->off + 1, 0, data, flags, NULL, progress);
}

/* ---------------------------------------------------------------- landmarks */

static nb_status find(const nb_experiment *e, nbi_progress *progress, nbi_landmarks *lm)
{
    const size_t n = (size_t)e->det.fpixels * e->det.spixels;
    float *data;
    uint8_t *flags;
    nb_status st;
    nbi_pixel px;

    if (!nbi_serial_order_needs_flags(e)) {
        lm->first = e->xtal.first_differs ? first_rendered(&e->det) : -1;
        lm->off = -1;
        return NB_OK;
    }
    data = calloc(n, sizeof *data);
    flags = calloc(n, 1);
    st = data && flags ? nbi_render_range(e, 0, e->interpolate, data, flags, NULL, progress) : NB_ERR_NOMEM;
    if (st == NB_OK)
        locate(e, data, flags, lm, &px);
    free(data);
    free(flags);
    return st;
}

nb_status nbi_landmarks_get(const nb_experiment *e, nbi_progress *progress, nbi_landmarks *lm)
{
    nbi_landmark_cache *c = e->landmarks;
    nb_status st = NB_OK;
    pthread_mutex_lock(&c->lock);
    if (!c->known) {
        st = find(e, progress, &c->lm);
        c->known = st == NB_OK;
    }
    *lm = c->lm;
    pthread_mutex_unlock(&c->lock);
    return st;
}

int nbi_landmarks_pending(const nb_experiment *e)
{
    nbi_landmark_cache *c = e->landmarks;
    int known;
    pthread_mutex_lock(&c->lock);
    known = c->known;
    pthread_mutex_unlock(&c->lock);
    return !known && nbi_serial_order_needs_flags(e);
}

void nbi_landmarks_offer(const nb_experiment *e, const nbi_landmarks *lm)
{
    nbi_landmark_cache *c = e->landmarks;
    pthread_mutex_lock(&c->lock);
    if (!c->known) {
        c->lm = *lm;
        c->known = 1;
    }
    pthread_mutex_unlock(&c->lock);
}

nbi_landmark_cache *nbi_landmark_cache_new(void)
{
    nbi_landmark_cache *c = calloc(1, sizeof *c);
    if (c && pthread_mutex_init(&c->lock, NULL) != 0) {
        free(c);
        return NULL;
    }
    return c;
}

void nbi_landmark_cache_free(nbi_landmark_cache *c)
{
    if (!c)
        return;
    pthread_mutex_destroy(&c->lock);
    free(c);
}

/* ---------------------------------------------------------------- parts */

/* How nbi_serial_order_fixes leaves pixel i (flags: its own, rendered with
   interpolation e->interpolate unless it lies after lm->off): 1 and the
   reference kernel's arguments if re-rendered, 0 if as first rendered. */
static int rerendered(const nb_experiment *e, const nbi_landmarks *lm, long i, uint8_t flags, int *interp,
                      int *first_sweep)
{
    if (e->interpolate && lm->off >= 0 && i > lm->off)
        return 0; /* rendered again without interpolation: as the run was */
    *first_sweep = i == lm->first;
    if (e->interpolate && i == lm->off) {
        *interp = 1;
        return 1;
    }
    if (i == lm->first && e->xtal.first_differs) {
        /* its own re-rendering, then again the same if its flags say
           interpolation left the grid */
        *interp = e->interpolate;
        return 1;
    }
    *interp = 1;
    return e->interpolate && (flags & NBI_PIX_INTERP_OFF); /* a candidate for off, not confirmed */
}

void nbi_serial_order_apply(const nb_experiment *e, const nbi_landmarks *lm, const nbi_run *runs, size_t n,
                            float *data, uint8_t *flags)
{
    const long nf = e->det.fpixels;
    if (!e->interpolate && !e->xtal.first_differs)
        return;
    for (size_t r = 0; r < n; ++r) {
        const nbi_run *run = &runs[r];
        for (int f = run->f_begin; f < run->f_end; ++f) {
            const size_t k = run->out + (size_t)(f - run->f_begin);
            int interp, first_sweep;
            nbi_pixel px;
            if (!rerendered(e, lm, run->s * nf + f, flags[k], &interp, &first_sweep))
                continue;
            nbi_render_pixel(e, f, run->s, interp, first_sweep, &px);
            nbi_store_pixel(data, flags, (long)k, &px);
        }
    }
}
