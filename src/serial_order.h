/*
 * serial_order.h - the two places where nanoBragg's result for a pixel
 * depends on the pixels rendered before it, applied after a parallel render
 * of the whole image or of some of its pixels.
 */
#ifndef NB_SERIAL_ORDER_H
#define NB_SERIAL_ORDER_H

#include <stdint.h>

#include "experiment.h"
#include "render.h"

/*
 * Given the whole image rendered in any order with interpolation
 * e->interpolate (data, with the NBI_PIX_* flags of every pixel), re-render
 * with the reference kernel exactly the pixels whose value nanoBragg's
 * serial order decides: the first pixel that runs a phi sweep (it sees the
 * orientation nbi_crystal.cells_first describes), and the pixel where
 * tricubic interpolation switches itself off, after which every later pixel
 * is rendered again without interpolation (with nanoBragg's two warnings on
 * log; progress is extended by those pixels).  *found: the landmarks.
 * NB_OK, NB_ERR_NOMEM or NB_ERR_CANCELLED.
 */
NB_WARN_UNUSED nb_status nbi_serial_order_fixes(const nb_experiment *e, float *data, uint8_t *flags,
                                                const nb_log *log, nbi_progress *progress,
                                                nbi_landmarks *found);
/* Whether nbi_serial_order_fixes needs the flags of the image: where it
   does not (no interpolation, and -dmin does not decide the first pixel
   that sweeps), flags may be NULL, and no pixel's flags need be stored. */
int nbi_serial_order_needs_flags(const nb_experiment *e);

/*
 * The whole image's landmarks, as nbi_serial_order_fixes finds them: kept in
 * the experiment once found (by nb_simulate, through nbi_landmarks_offer, or
 * here).  Finding them renders the whole image once (into scratch space, in
 * parallel, counted by progress) when interpolation is on, or when the first
 * phi sweep differs and -dmin decides which pixel runs it; otherwise they
 * cost nothing.  Safe to call from several threads at once (one finds them,
 * the others wait).  NB_OK, NB_ERR_NOMEM, or NB_ERR_CANCELLED (nothing is
 * kept: a later call starts again).
 */
NB_WARN_UNUSED nb_status nbi_landmarks_get(const nb_experiment *e, nbi_progress *progress,
                                           nbi_landmarks *lm);
/* Whether nbi_landmarks_get would render the whole image now. */
int nbi_landmarks_pending(const nb_experiment *e);
/* Keep lm, found by nbi_serial_order_fixes, unless the landmarks are known. */
void nbi_landmarks_offer(const nb_experiment *e, const nbi_landmarks *lm);

/*
 * Given pixels rendered by nbi_render_runs(runs) into data and flags, with
 * interpolation e->interpolate up to pixel lm->off and off after it,
 * re-render those whose value depends on the pixels before them, as
 * nbi_serial_order_fixes leaves them in the whole image: the first swept
 * pixel, the pixel where interpolation switches off, and the pixels before
 * it where the row kernel saw interpolation leave the grid.
 */
void nbi_serial_order_apply(const nb_experiment *e, const nbi_landmarks *lm, const nbi_run *runs, size_t n,
                            float *data, uint8_t *flags);

/* The experiment's landmark store: a new one (NULL if out of memory), and
   its release (NULL is fine). */
nbi_landmark_cache *nbi_landmark_cache_new(void);
void nbi_landmark_cache_free(nbi_landmark_cache *c);

#endif
