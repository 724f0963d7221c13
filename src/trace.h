/*
 * trace.h - nanoBragg's -printout through the library: the intermediate
 * values of chosen pixels, handed to the nb_log trace callback after the
 * image is complete.
 */
#ifndef NB_TRACE_H
#define NB_TRACE_H

#include "experiment.h"

/*
 * If log and log->trace are set, trace pixel (log->trace_fpixel,
 * log->trace_spixel), or every rendered pixel in serial order when
 * trace_fpixel < 0: re-render it with the reference kernel, recording its
 * intermediate values, and call log->trace with them and with image's value
 * of the pixel (image: the complete float image nb_simulate produced,
 * fpixels * spixels).  A pixel outside the detector or the ROI, or masked,
 * is not traced (nanoBragg prints nothing for it).  Each pixel is rendered
 * in the state nanoBragg's serial order gives it (interpolation on or off,
 * the first phi sweep).  NB_OK, or NB_ERR_NOMEM (err says so).
 */
NB_WARN_UNUSED nb_status nbi_trace_pixels(const nb_experiment *e, const float *image, const nb_log *log,
                                          nb_error *err);

#endif
