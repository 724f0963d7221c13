/*
 * simulate.c - nb_simulate: renders every pixel in parallel (render.c), then
 * applies nanoBragg's serial-order effects (serial_order.c), then computes
 * the statistics (stats.c), so that the image and every number are the same
 * bit for bit at any thread count.  The progress callback may cancel any
 * time before the statistics; the image is then freed.
 *
 * nb_simulate_rows and nb_simulate_finish are the same two steps apart: bands
 * of rows rendered anywhere (other processes), then the whole-image steps
 * once, on the assembled image.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gpu.h"
#include "pages.h"
#include "render.h"
#include "serial_order.h"
#include "stats.h"
#include "trace.h"
#include "util.h"

long nbi_first_overflow(const float *data, long n)
{
    for (long i = 0; i < n; ++i)
        if (isinf(data[i]))
            return i;
    return -1;
}

nb_status nbi_overflow_error(nb_error *err, long f, long s)
{
    return nbi_fail(err, NB_ERR_RANGE, "pixel (%ld, %ld) overflows the float image (over 3.4e38 photons): "
                    "lower fluence (flux, exposure_s, beamsize_mm), water_um, the structure factors "
                    "(default_F) or the crystal (N, xtalsize_mm)", f, s);
}

/* What nb_simulate does once every row is rendered (img->data, flags,
   omega_rows of the whole image): nanoBragg's serial-order effects, the
   overflow check, the solid angle, the statistics, the traces. */
/* The error of a render that stopped with st: cancelled, out of memory, or
   (on a GPU) the device's failure. */
static nb_status render_failure(const nb_experiment *e, nb_status st, nb_error *err)
{
    const char *gpu = st == NB_ERR_NOMEM ? nbi_gpu_error(e) : NULL;
    if (gpu)
        return nbi_fail(err, st, "the GPU failed while rendering (%s): %s", nbi_gpu_name(e->gpu), gpu);
    return nbi_fail(err, st, st == NB_ERR_CANCELLED ? "cancelled by the progress callback"
                                                    : "out of memory while rendering");
}

static nb_status finish_image(const nb_experiment *e, nb_image *img, uint8_t *flags, const double *omega_rows,
                              const nb_log *log, nbi_progress *progress, nb_error *err)
{
    const nbi_detector *d = &e->det;
    nbi_landmarks landmarks;
    long over;
    nb_status st = nbi_serial_order_fixes(e, img->data, flags, log, progress, &landmarks);
    if (st == NB_OK) {
        nbi_landmarks_offer(e, &landmarks);
        st = nbi_progress_finish(progress);
    }
    if (st != NB_OK)
        return render_failure(e, st, err);
    st = nbi_image_statistics(e, img, &over); /* finds an overflow too */
    if (st == NB_ERR_RANGE)
        return nbi_overflow_error(err, over % d->fpixels, over / d->fpixels);
    if (st != NB_OK)
        return nbi_fail(err, NB_ERR_NOMEM, "out of memory for the statistics");
    img->omega_sum = 0.0;
    for (int s = 0; s < d->spixels; ++s)
        img->omega_sum += omega_rows[s];
    return nbi_trace_pixels(e, img->data, log, err);
}

nb_status nb_simulate(const nb_experiment *e, const nb_log *log, nb_image *img, nb_error *err)
{
    const nbi_detector *d = &e->det;
    const long n = (long)d->fpixels * d->spixels;
    uint8_t *flags;
    double *omega_rows;
    nbi_progress progress;
    nb_status st;

    memset(img, 0, sizeof *img);
    img->fpixels = d->fpixels;
    img->spixels = d->spixels;
    /* backed up front, in huge pages where there are any (pages.h): W3's
       16 MiB image and 4 MiB of flags took 25-45 ms of page faults in the
       rendering threads as fresh 4 KiB pages, and take 1-16 ms so; the
       flags only where the serial-order fixes look at them */
    img->data = nbi_pages_calloc((size_t)n, sizeof(float));
    flags = nbi_serial_order_needs_flags(e) ? nbi_pages_calloc((size_t)n, 1) : NULL;
    omega_rows = calloc((size_t)d->spixels, sizeof(double));
    if (!img->data || (!flags && nbi_serial_order_needs_flags(e)) || !omega_rows) {
        st = nbi_fail(err, NB_ERR_NOMEM, "out of memory for a %dx%d image", d->fpixels, d->spixels);
        goto done;
    }
    nbi_progress_init(&progress, log, (double)n);
    st = nbi_render_range(e, 0, e->interpolate, img->data, flags, omega_rows, &progress);
    if (st != NB_OK)
        st = render_failure(e, st, err);
    else
        st = finish_image(e, img, flags, omega_rows, log, &progress, err);
done:
    free(flags);
    free(omega_rows);
    if (st != NB_OK)
        nb_image_free(img);
    return st;
}

/* ---------------------------------------------------------------- in parts */

nb_status nb_simulate_rows(const nb_experiment *e, int s0, int height, float *data, uint8_t *state,
                           double *omega_rows, const nb_log *log, nb_error *err)
{
    const char *fn = "nb_simulate_rows";
    nbi_progress progress;
    nbi_run *runs;
    size_t npix;
    int nf;
    nb_status st;

    if (!e || !data || !state || !omega_rows)
        return nbi_fail(err, NB_ERR_INVALID, "%s: a NULL %s", fn,
                        !e ? "experiment" : !data ? "data" : !state ? "state" : "omega_rows");
    nf = e->det.fpixels;
    if (height <= 0 || s0 < 0 || s0 >= e->det.spixels || height > e->det.spixels - s0)
        return nbi_fail(err, NB_ERR_INVALID, "%s: s0 = %d, height = %d: the rows are not all on the %dx%d "
                        "detector (0..%d)", fn, s0, height, nf, e->det.spixels, e->det.spixels - 1);
    npix = (size_t)nf * (size_t)height;
    runs = malloc((size_t)height * sizeof *runs);
    if (!runs)
        return nbi_fail(err, NB_ERR_NOMEM, "%s: out of memory", fn);
    memset(data, 0, npix * sizeof *data);
    memset(state, 0, npix);
    memset(omega_rows, 0, (size_t)height * sizeof *omega_rows);
    for (int s = s0; s < s0 + height; ++s)
        runs[s - s0] = (nbi_run){s, 0, nf, e->interpolate, (size_t)(s - s0) * (size_t)nf};
    nbi_progress_init(&progress, log, (double)npix);
    st = nbi_render_runs(e, runs, (size_t)height, data, state, omega_rows, &progress);
    free(runs);
    if (st == NB_OK)
        st = nbi_progress_finish(&progress);
    if (st != NB_OK)
        return nbi_fail(err, st, "%s: %s", fn, st == NB_ERR_CANCELLED ? "cancelled by the progress callback"
                                                                      : "out of memory while rendering");
    return NB_OK;
}

nb_status nb_simulate_finish(const nb_experiment *e, float *data, uint8_t *state, const double *omega_rows,
                             const nb_log *log, nb_image *img, nb_error *err)
{
    nbi_progress progress;
    nb_status st;

    memset(img, 0, sizeof *img);
    if (!e || !data || !state || !omega_rows) {
        free(data);
        return nbi_fail(err, NB_ERR_INVALID, "nb_simulate_finish: a NULL %s",
                        !e ? "experiment" : !data ? "data" : !state ? "state" : "omega_rows");
    }
    img->fpixels = e->det.fpixels;
    img->spixels = e->det.spixels;
    img->data = data;
    nbi_progress_init(&progress, log, 0.0);
    st = finish_image(e, img, state, omega_rows, log, &progress, err);
    if (st != NB_OK)
        nb_image_free(img);
    return st;
}

void nb_image_free(nb_image *img)
{
    if (!img)
        return;
    free(img->data);
    img->data = NULL;
}
