/*
 * serial_order.c - nanoBragg's serial-order effects, applied
 * deterministically to an image rendered in parallel: the first phi sweep of
 * the run, and the pixel where tricubic interpolation switches itself off for
 * the rest of the run.
 */
#include "serial_order.h"

#include "kernel_row.h"
#include "render.h"
#include "util.h"

static long first_flagged(const uint8_t *flags, long n, long from, uint8_t bit)
{
    for (long i = from; i < n; ++i)
        if (flags[i] & bit)
            return i;
    return -1;
}

nb_status nbi_serial_order_fixes(const nb_experiment *e, float *data, uint8_t *flags, const nb_log *log,
                                 nbi_progress *progress)
{
    const nbi_detector *d = &e->det;
    const long n = (long)d->fpixels * d->spixels;
    long first, off;
    nbi_pixel px;

    first = first_flagged(flags, n, 0, NBI_PIX_SWEPT);
    if (first >= 0 && e->xtal.first_differs) {
        nbi_render_pixel(e, (int)(first % d->fpixels), (int)(first / d->fpixels), e->interpolate, 1, &px);
        nbi_store_pixel(data, flags, first, &px);
    }
    if (!e->interpolate)
        return NB_OK;
    /* the first pixel where the reference kernel switches interpolation off
       (the fast kernel's flag is confirmed by rendering the pixel exactly) */
    for (off = first_flagged(flags, n, 0, NBI_PIX_INTERP_OFF); off >= 0;
         off = first_flagged(flags, n, off + 1, NBI_PIX_INTERP_OFF)) {
        nbi_render_pixel(e, (int)(off % d->fpixels), (int)(off / d->fpixels), 1, off == first, &px);
        nbi_store_pixel(data, flags, off, &px);
        if (px.interp_off)
            break;
    }
    if (off < 0)
        return NB_OK;
    nbi_log(log, NB_LOG_WARN,
            "WARNING: out of range for three point interpolation: h,k,l,h0,k0,l0: %g,%g,%g,%d,%d,%d ",
            px.off_hkl[0], px.off_hkl[1], px.off_hkl[2], px.off_hkl0[0], px.off_hkl0[1], px.off_hkl0[2]);
    nbi_log(log, NB_LOG_WARN, "WARNING: further warnings will not be printed! ");
    nbi_progress_extend(progress, (double)n - (double)(off + 1));
    return nbi_render_range(e, off + 1, 0, data, flags, NULL, progress);
}
