/*
 * region.c - nb_render_region and nb_render_pixels: parts of the image with
 * exactly the values nb_simulate gives them.  The pixels are rendered as runs
 * of rows, in parallel, by the kernels that render the whole image
 * (render.c), with interpolation on up to the pixel where the whole image
 * switches it off; then the few pixels whose value nanoBragg's serial order
 * decides are rendered again as nb_simulate has them (serial_order.c).  The
 * renders go to scratch space: the caller's buffer is written only on
 * success.
 */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gpu.h"
#include "render.h"
#include "serial_order.h"
#include "util.h"

/* Append the run f_begin <= f < f_end of row s (stored from out on) to
   runs[*n], split where the whole image switches interpolation off. */
static void add_run(const nb_experiment *e, const nbi_landmarks *lm, int s, int f_begin, int f_end, size_t out,
                    nbi_run *runs, size_t *n)
{
    const long row = (long)s * e->det.fpixels;
    /* the last pixel with interpolation on (when it is on) */
    const long on_until = e->interpolate && lm->off >= 0 ? lm->off : LONG_MAX;
    int f_split = f_end; /* pixels from here on: interpolation off */
    if (on_until < row + f_end - 1)
        f_split = on_until < row + f_begin ? f_begin : (int)(on_until - row) + 1;
    if (f_split > f_begin)
        runs[(*n)++] = (nbi_run){s, f_begin, f_split, e->interpolate, out};
    if (f_split < f_end)
        runs[(*n)++] = (nbi_run){s, f_split, f_end, 0, out + (size_t)(f_split - f_begin)};
}

/* A partial render: its runs, and scratch space for the values and flags of
   its pixels. */
typedef struct part {
    size_t npixels;  /* output pixels (scratch size) */
    nbi_run *runs;
    size_t nruns;
    float *data;     /* npixels, zeroed */
    uint8_t *flags;  /* npixels */
} part;

static void part_free(part *p)
{
    free(p->runs);
    free(p->data);
    free(p->flags);
}

/* Allocate the scratch space of p (npixels set, at most max_runs runs). */
static nb_status part_alloc(part *p, size_t max_runs)
{
    p->runs = malloc(max_runs * sizeof *p->runs);
    p->data = calloc(p->npixels, sizeof *p->data);
    p->flags = calloc(p->npixels, 1);
    return p->runs && p->data && p->flags ? NB_OK : NB_ERR_NOMEM;
}

/* Render p's runs and apply the serial order (lm). */
static nb_status part_render(const nb_experiment *e, const nbi_landmarks *lm, part *p, nbi_progress *progress)
{
    nb_status st = nbi_render_runs(e, p->runs, p->nruns, p->data, p->flags, NULL, progress);
    if (st != NB_OK)
        return st;
    nbi_serial_order_apply(e, lm, p->runs, p->nruns, p->data, p->flags);
    return nbi_progress_finish(progress);
}

static nb_status render_failed(const nb_experiment *e, nb_error *err, nb_status st, const char *what)
{
    const char *gpu = st == NB_ERR_NOMEM ? nbi_gpu_error(e) : NULL;
    if (gpu)
        return nbi_fail(err, st, "%s: the GPU failed while rendering (%s): %s", what, nbi_gpu_name(e->gpu), gpu);
    if (st == NB_ERR_CANCELLED)
        return nbi_fail(err, st, "%s: cancelled by the progress callback", what);
    return nbi_fail(err, st, "%s: out of memory", what);
}

/* The pixels rendered besides npixels: the whole image, when finding the
   landmarks takes it. */
static double extra_pixels(const nb_experiment *e)
{
    return nbi_landmarks_pending(e) ? (double)e->det.fpixels * e->det.spixels : 0.0;
}

/* ---------------------------------------------------------------- region */

static nb_status check_region(const nb_experiment *e, int f0, int s0, int width, int height, const float *out,
                              nb_error *err)
{
    const int nf = e->det.fpixels, ns = e->det.spixels;
    const char *fn = "nb_render_region";
    if (width <= 0 || height <= 0)
        return nbi_fail(err, NB_ERR_INVALID, "%s: width = %d, height = %d: the region is empty", fn, width,
                        height);
    if (f0 < 0 || f0 >= nf || width > nf - f0)
        return nbi_fail(err, NB_ERR_INVALID, "%s: f0 = %d, width = %d: the region's fast pixels are not all on "
                        "the %dx%d detector (0..%d)", fn, f0, width, nf, ns, nf - 1);
    if (s0 < 0 || s0 >= ns || height > ns - s0)
        return nbi_fail(err, NB_ERR_INVALID, "%s: s0 = %d, height = %d: the region's slow pixels are not all on "
                        "the %dx%d detector (0..%d)", fn, s0, height, nf, ns, ns - 1);
    if (!nbi_checked_size((size_t)width, (size_t)height, 1, sizeof(float), SIZE_MAX))
        return nbi_fail(err, NB_ERR_INVALID, "%s: width x height = %d x %d is too many pixels", fn, width, height);
    if (!out)
        return nbi_fail(err, NB_ERR_INVALID, "%s: out is NULL", fn);
    return NB_OK;
}

nb_status nb_render_region(const nb_experiment *e, int f0, int s0, int width, int height, float *out,
                           const nb_log *log, nb_error *err)
{
    const char *fn = "nb_render_region";
    part p = {0};
    nbi_progress progress;
    nbi_landmarks lm;
    nb_status st;

    if (!e)
        return nbi_fail(err, NB_ERR_INVALID, "%s: the experiment is NULL", fn);
    if ((st = check_region(e, f0, s0, width, height, out, err)) != NB_OK)
        return st;
    p.npixels = (size_t)width * (size_t)height;
    nbi_progress_init(&progress, log, (double)p.npixels + extra_pixels(e));
    st = nbi_landmarks_get(e, &progress, &lm);
    if (st == NB_OK)
        st = part_alloc(&p, (size_t)height + 1);
    if (st == NB_OK) {
        for (int s = s0; s < s0 + height; ++s)
            add_run(e, &lm, s, f0, f0 + width, (size_t)(s - s0) * (size_t)width, p.runs, &p.nruns);
        st = part_render(e, &lm, &p, &progress);
    }
    if (st == NB_OK) {
        const long over = nbi_first_overflow(p.data, (long)p.npixels);
        if (over >= 0) {
            st = nbi_overflow_error(err, f0 + over % width, s0 + over / width);
            part_free(&p);
            return st;
        }
        memcpy(out, p.data, p.npixels * sizeof *out);
    } else {
        st = render_failed(e, err, st, fn);
    }
    part_free(&p);
    return st;
}

/* ---------------------------------------------------------------- pixels */

/* A requested pixel and where its value goes. */
typedef struct request {
    size_t index, at;
} request;

static int by_index(const void *a, const void *b)
{
    const size_t x = ((const request *)a)->index, y = ((const request *)b)->index;
    return (x > y) - (x < y);
}

static nb_status check_pixels(const nb_experiment *e, const size_t *index, size_t n, const float *out,
                              nb_error *err)
{
    const int nf = e->det.fpixels, ns = e->det.spixels;
    const size_t npix = (size_t)nf * (size_t)ns;
    const char *fn = "nb_render_pixels";
    if (!index)
        return nbi_fail(err, NB_ERR_INVALID, "%s: index is NULL (n = %zu)", fn, n);
    if (!out)
        return nbi_fail(err, NB_ERR_INVALID, "%s: out is NULL (n = %zu)", fn, n);
    if (!nbi_checked_size(n, 1, 1, sizeof(request) + sizeof(size_t), SIZE_MAX))
        return nbi_fail(err, NB_ERR_INVALID, "%s: n = %zu is too many pixels", fn, n);
    for (size_t i = 0; i < n; ++i)
        if (index[i] >= npix)
            return nbi_fail(err, NB_ERR_INVALID, "%s: index[%zu] = %zu is not a pixel of the %dx%d detector "
                            "(at most %zu)", fn, i, index[i], nf, ns, npix - 1);
    return NB_OK;
}

/* The distinct pixels of req (sorted) as runs of adjacent pixels of a row,
   into p (npixels: their number); where[req[i].at] = the place of req[i]'s
   value in p->data. */
static void pixel_runs(const nb_experiment *e, const nbi_landmarks *lm, const request *req, size_t n, part *p,
                       size_t *where)
{
    const size_t nf = (size_t)e->det.fpixels;
    size_t k = 0; /* distinct pixels so far */
    for (size_t i = 0; i < n;) {
        const size_t s = req[i].index / nf, f_begin = req[i].index % nf, start = k;
        size_t f_end = f_begin;
        /* pixels f_begin..f_end-1 of row s, each requested one or more times */
        for (; i < n && req[i].index / nf == s && req[i].index % nf <= f_end; ++i) {
            if (req[i].index % nf == f_end) {
                f_end++;
                k++;
            }
            where[req[i].at] = k - 1;
        }
        add_run(e, lm, (int)s, (int)f_begin, (int)f_end, start, p->runs, &p->nruns);
    }
}

/* The number of distinct indices of req (sorted). */
static size_t distinct(const request *req, size_t n)
{
    size_t m = n > 0;
    for (size_t i = 1; i < n; ++i)
        m += req[i].index != req[i - 1].index;
    return m;
}

nb_status nb_render_pixels(const nb_experiment *e, const size_t *index, size_t n, float *out, const nb_log *log,
                           nb_error *err)
{
    const char *fn = "nb_render_pixels";
    part p = {0};
    request *req = NULL;
    size_t *where = NULL;
    nbi_progress progress;
    nbi_landmarks lm;
    nb_status st;

    if (!e)
        return nbi_fail(err, NB_ERR_INVALID, "%s: the experiment is NULL", fn);
    if (n == 0)
        return NB_OK;
    if ((st = check_pixels(e, index, n, out, err)) != NB_OK)
        return st;
    req = malloc(n * sizeof *req);
    where = malloc(n * sizeof *where);
    if (!req || !where) {
        st = NB_ERR_NOMEM;
        goto done;
    }
    for (size_t i = 0; i < n; ++i)
        req[i] = (request){index[i], i};
    qsort(req, n, sizeof *req, by_index);
    p.npixels = distinct(req, n);
    nbi_progress_init(&progress, log, (double)p.npixels + extra_pixels(e));
    st = nbi_landmarks_get(e, &progress, &lm);
    if (st == NB_OK)
        st = part_alloc(&p, p.npixels + 1);
    if (st == NB_OK) {
        pixel_runs(e, &lm, req, n, &p, where);
        st = part_render(e, &lm, &p, &progress);
    }
    if (st == NB_OK) {
        for (size_t i = 0; i < n; ++i)
            if (isinf(p.data[where[i]])) {
                st = nbi_overflow_error(err, (long)(index[i] % (size_t)e->det.fpixels),
                                        (long)(index[i] / (size_t)e->det.fpixels));
                goto done;
            }
        for (size_t i = 0; i < n; ++i)
            out[i] = p.data[where[i]];
    }
done:
    if (st != NB_OK && st != NB_ERR_RANGE)
        st = render_failed(e, err, st, fn);
    free(req);
    free(where);
    part_free(&p);
    return st;
}
