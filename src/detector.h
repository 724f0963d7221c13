/*
 * detector.h - detector geometry: pixel counts, beam-centre conventions
 * (MOSFLM, XDS, ADXV, DENZO, DIALS, custom), pivots, rotations and two-theta,
 * and the derived origin (pix0), near point, beam spot, XDS and DIALS origins.
 */
#ifndef NB_DETECTOR_H
#define NB_DETECTOR_H

#include "experiment.h"

/* Pixel counts and detector size from pixel size, -detpixels and -detsize;
   fills exp->det.fpixels/spixels and exp->info sizes.  Fails on sizes that
   are not positive or too large. */
NB_WARN_UNUSED nb_status nbi_detector_size(const nb_config *cfg, nb_experiment *exp, nb_error *err);

/* Apply the convention (basis vectors, beam centre defaults, pivot) and unit
   vectors; fills exp->info vectors and beam-centre values.  Call after
   nbi_detector_size. */
void nbi_detector_convention(const nb_config *cfg, nb_experiment *exp, const nb_log *log);

/* Rotate the detector and place it (pix0), then derive near point, beam spot,
   distance, XDS ORGX/ORGY and the DIALS origin.  Call after the convention. */
void nbi_detector_place(const nb_config *cfg, nb_experiment *exp, const nb_log *log);

#endif
