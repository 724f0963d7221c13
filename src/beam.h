/*
 * beam.h - the incident beam as a list of point sources: a divergence grid
 * (with nanoBragg's elliptical trimming) times a dispersion sweep, or the
 * sources listed in a file.
 */
#ifndef NB_BEAM_H
#define NB_BEAM_H

#include "experiment.h"
#include "sampling.h"

/* Distance of generated sources from the sample (m); only directions matter. */
#define NB_SOURCE_DISTANCE_M 10.0

/* Most sources a beam may have. */
#define NB_MAX_SOURCES 100000000L

/* Refuse grids (before walking them) of more than NB_MAX_SOURCES points. */
NB_WARN_UNUSED nb_status nbi_beam_check(const nb_sweep *h, const nb_sweep *v, const nb_sweep *disp,
                                        nb_error *err);

/* Number of divergence grid points kept by the elliptical (round) trim. */
int nbi_divergence_count(const nb_sweep *h, const nb_sweep *v, int round_div);

/*
 * Build exp->src.  With cfg->source_path, read X Y Z weight lambda(m) columns
 * (missing values: along -beam at 10 m, weight 1, lambda0); otherwise the
 * divergence x dispersion grid around beam (unit vectors beam, polar, vert).
 * Directions are normalised.  Log lines as nanoBragg prints them.
 */
NB_WARN_UNUSED nb_status nbi_beam_sources(const nb_config *cfg, const nb_sweep *hdiv,
                                          const nb_sweep *vdiv, const nb_sweep *disp,
                                          nb_experiment *exp, const nb_log *log, nb_error *err);

void nbi_sources_free(nb_sources *src);

#endif
