/*
 * info.h - nb_info, the report of what set-up resolved, filled from the
 * experiment's parts.
 */
#ifndef NB_INFO_H
#define NB_INFO_H

#include "experiment.h"

/* Fill *out from exp's detector, beam, sources, crystal, structure factors
   and parameters (nothing else writes an nb_info, and nothing in the library
   reads one). */
void nbi_info_fill(const nb_experiment *exp, nb_info *out);

#endif
