/*
 * simulate.c - nb_simulate: renders every pixel in parallel (render.c), then
 * applies nanoBragg's serial-order effects (serial_order.c), then computes
 * the statistics (stats.c), so that the image and every number are the same
 * bit for bit at any thread count.  The progress callback may cancel any
 * time before the statistics; the image is then freed.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gpu.h"
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

nb_status nb_simulate(const nb_experiment *e, const nb_log *log, nb_image *img, nb_error *err)
{
    const nbi_detector *d = &e->det;
    const long n = (long)d->fpixels * d->spixels;
    uint8_t *flags;
    double *omega_rows;
    nbi_progress progress;
    nbi_landmarks landmarks;
    long over;
    nb_status st;

    memset(img, 0, sizeof *img);
    img->fpixels = d->fpixels;
    img->spixels = d->spixels;
    img->data = calloc((size_t)n, sizeof(float));
    flags = calloc((size_t)n, 1);
    omega_rows = calloc((size_t)d->spixels, sizeof(double));
    if (!img->data || !flags || !omega_rows) {
        st = nbi_fail(err, NB_ERR_NOMEM, "out of memory for a %dx%d image", d->fpixels, d->spixels);
        goto done;
    }
    nbi_progress_init(&progress, log, (double)n);
    st = nbi_render_range(e, 0, e->interpolate, img->data, flags, omega_rows, &progress);
    if (st == NB_OK)
        st = nbi_serial_order_fixes(e, img->data, flags, log, &progress, &landmarks);
    if (st == NB_OK) {
        nbi_landmarks_offer(e, &landmarks);
        st = nbi_progress_finish(&progress);
    }
    if (st != NB_OK) {
        const char *gpu = st == NB_ERR_NOMEM ? nbi_gpu_error(e) : NULL;
        if (gpu)
            st = nbi_fail(err, st, "the GPU failed while rendering (%s): %s", nbi_gpu_name(e->gpu), gpu);
        else
            st = nbi_fail(err, st, st == NB_ERR_CANCELLED ? "cancelled by the progress callback"
                                                          : "out of memory while rendering");
        goto done;
    }
    if (st == NB_OK && (over = nbi_first_overflow(img->data, n)) >= 0) {
        st = nbi_overflow_error(err, over % d->fpixels, over / d->fpixels);
        goto done;
    }
    for (int s = 0; s < d->spixels; ++s)
        img->omega_sum += omega_rows[s];
    if (nbi_image_statistics(e, img) != NB_OK)
        st = nbi_fail(err, NB_ERR_NOMEM, "out of memory for the statistics");
    if (st == NB_OK)
        st = nbi_trace_pixels(e, img->data, log, err);
done:
    free(flags);
    free(omega_rows);
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
