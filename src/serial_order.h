/*
 * serial_order.h - the two places where nanoBragg's result for a pixel
 * depends on the pixels rendered before it, applied after a parallel render.
 */
#ifndef NB_SERIAL_ORDER_H
#define NB_SERIAL_ORDER_H

#include <stdint.h>

#include "experiment.h"
#include "render.h"

/*
 * Given the image rendered in any order (data, with the NBI_PIX_* flags of
 * every pixel), re-render with the reference kernel exactly the pixels whose
 * value nanoBragg's serial order decides: the first pixel that runs a phi
 * sweep (it sees the orientation nbi_crystal.cells_first describes), and the
 * pixel where tricubic interpolation switches itself off, after which every
 * later pixel is rendered again without interpolation (with nanoBragg's two
 * warnings on log; progress is extended by those pixels).  NB_OK,
 * NB_ERR_NOMEM or NB_ERR_CANCELLED.
 */
NB_WARN_UNUSED nb_status nbi_serial_order_fixes(const nb_experiment *e, float *data, uint8_t *flags,
                                                const nb_log *log, nbi_progress *progress);

#endif
