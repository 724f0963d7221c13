/*
 * stats.h - nanoBragg's statistics of a rendered image: the first maximum and
 * its position, mean, rms and rmsd over the rendered pixels, and the rmsd over
 * every ROI pixel that the PGM auto-scale uses.
 */
#ifndef NB_STATS_H
#define NB_STATS_H

#include "experiment.h"

/* Fill img->max_I, max_I_x_m, max_I_y_m, mean, rms, rmsd, rmsd_roi and
   rendered from img->data.  The numbers do not depend on the thread count.
   NB_OK; NB_ERR_RANGE, with *overflow the serial index of the first pixel
   that is infinite (the float image overflowed; the other numbers are then
   not computed), found by the same pass that finds the maximum; or
   NB_ERR_NOMEM (img unchanged but for max_I and its position). */
NB_WARN_UNUSED nb_status nbi_image_statistics(const nb_experiment *e, nb_image *img, long *overflow);

#endif
