/*
 * detector.h - detector geometry: pixel counts, beam-centre conventions
 * (MOSFLM, XDS, ADXV, DENZO, DIALS, custom), pivots, rotations and two-theta,
 * the derived origin (pix0), near point, beam spot, XDS and DIALS origins,
 * and the sub-pixel sampling.  Each stage takes the results of the earlier
 * ones and fills its own; nbi_detector_create puts them together.
 */
#ifndef NB_DETECTOR_H
#define NB_DETECTOR_H

#include "experiment.h"

/* The panel: pixel counts, pixel size and detector size (metres). */
typedef struct nbi_panel {
    int fpixels, spixels;
    double pixel_m, size_f_m, size_s_m;
} nbi_panel;

/* The lab frame a convention sets: unit vectors of the beam, polarization
   axis, spindle and the detector axes before any rotation, the two-theta
   axis (as given), the pivot, and the beam centre and near point. */
typedef struct nbi_frame {
    nb_convention convention;
    nb_pivot pivot;
    vec3 beam, polar, spindle;
    vec3 fdet, sdet, odet;
    vec3 twotheta_axis;
    nbi_centres centres;
} nbi_frame;

/* The rotated detector, placed: axes, origin (pix0, metres), distances and
   the beam centre, near point and origins derived from them. */
typedef struct nbi_placement {
    double twotheta_rad;
    vec3 fdet, sdet, odet, pix0;
    double distance_m, close_distance_m;
    nbi_centres centres;
    nbi_origins origins;
} nbi_placement;

/* Sub-pixels per pixel side: as used, as recommended, and whether chosen. */
typedef struct nbi_subpixels {
    int oversample, recommended, automatic;
} nbi_subpixels;

/* Pixel counts and detector size from pixel size, -detpixels and -detsize.
   Fails on sizes that are not positive or too large. */
NB_WARN_UNUSED nb_status nbi_detector_size(const nb_config *cfg, nbi_panel *out, nb_error *err);

/* The convention's frame (basis vectors, beam centre defaults, pivot), with
   unit vectors; a warning on log if odet has to be generated. */
void nbi_detector_frame(const nb_config *cfg, const nbi_panel *panel, const nb_log *log, nbi_frame *out);

/* Rotate the detector and place it (pix0), then derive near point, beam spot,
   distance, XDS ORGX/ORGY and the DIALS origin; log lines as nanoBragg. */
void nbi_detector_place(const nb_config *cfg, const nbi_panel *panel, const nbi_frame *frame,
                        const nb_log *log, nbi_placement *out);

/* NB_OK if the placed detector faces the sample: fast and slow axes not
   parallel, and every point of it in front of the sample along odet (at
   least 1 nm), else NB_ERR_INVALID naming the parameters that place it:
   solid angles and absorption would be negative, or infinite. */
NB_WARN_UNUSED nb_status nbi_detector_check_placement(const nbi_panel *panel, const nbi_placement *place,
                                                      nb_error *err);

/* Sub-pixels per pixel side: requested (> 0) or, when not, the number that
   resolves a crystal of largest dimension xtal_max_m on a detector whose
   reciprocal pixel size is rpix_m (lambda * distance / pixel); nanoBragg's
   lines on log, and its warnings when fewer than that are requested. */
void nbi_detector_oversample(int requested, double xtal_max_m, double rpix_m, const nb_log *log,
                             nbi_subpixels *out);

/* The detector from the stages' results, the layers of sampling, the region
   roi (resolved, inclusive) and cfg's switches and mask (copied: out owns
   it).  NB_ERR_RANGE if the samples per pixel are too many, NB_ERR_NOMEM. */
NB_WARN_UNUSED nb_status nbi_detector_create(const nb_config *cfg, const nbi_panel *panel,
                                             const nbi_frame *frame, const nbi_placement *place,
                                             const nbi_sampling *sampling, const int roi[4],
                                             const nbi_subpixels *sub, nbi_detector *out, nb_error *err);

void nbi_detector_free(nbi_detector *det);

/* The largest scattering angle (rad, at most pi) a pixel of the placed
   detector can see, from the corners of the pixels round its edge: for a
   flat detector the angle to the beam (unit vector beam); for a curved one
   (curved = 1, at distance_m) a bound from nanoBragg's angles.  What
   reflections the structure factors must cover (sfinput.c). */
double nbi_detector_max_twotheta(const nbi_panel *panel, const nbi_placement *place, vec3 beam, int curved,
                                 double distance_m);

#endif
