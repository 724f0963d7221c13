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

/* Most sources a beam may have (their tables take 40 bytes each: 400 MB). */
#define NB_MAX_SOURCES 10000000L

/* Refuse grids (before walking them) of more than NB_MAX_SOURCES points. */
NB_WARN_UNUSED nb_status nbi_beam_check(const nbi_sweep *h, const nbi_sweep *v, const nbi_sweep *disp,
                                        nb_error *err);

/* Number of divergence grid points kept by the elliptical (round) trim. */
int nbi_divergence_count(const nbi_sweep *h, const nbi_sweep *v, int round_div);

/*
 * The beam: wavelength cfg->lambda0_m, unit direction dir, the divergence and
 * dispersion sweeps of cfg resolved, and the divergence points kept by the
 * elliptical trim.  Without a source file, grids of more than NB_MAX_SOURCES
 * points are refused (NB_ERR_RANGE) before they are walked.
 */
NB_WARN_UNUSED nb_status nbi_beam_resolve(const nb_config *cfg, vec3 dir, nbi_beam *out, nb_error *err);

/*
 * The sources of the beam.  With a source file, read X Y Z weight lambda(m)
 * columns (missing values: along -dir at 10 m, weight 1, lambda0);
 * otherwise the divergence x dispersion grid around beam->dir (unit vectors
 * dir, polar, dir x polar; round_div: elliptically trimmed).  Directions are
 * normalised.  Log lines as nanoBragg prints them.  On failure out may hold
 * an allocation (nbi_sources_free).
 */
NB_WARN_UNUSED nb_status nbi_beam_sources(const nb_config *cfg, const nbi_beam *beam, vec3 polar,
                                          const nb_log *log, nbi_sources *out, nb_error *err);

/* A copy of from into to (allocated; nbi_sources_free): NB_OK or NB_ERR_NOMEM. */
NB_WARN_UNUSED nb_status nbi_sources_copy(const nbi_sources *from, nbi_sources *to, nb_error *err);
void nbi_sources_free(nbi_sources *src);

#endif
