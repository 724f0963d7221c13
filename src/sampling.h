/*
 * sampling.h - nanoBragg's rules that turn any mix of given count / range /
 * step (divergence, dispersion, phi, detector layers, mosaic domains) into a
 * complete, consistent set.
 */
#ifndef NB_SAMPLING_H
#define NB_SAMPLING_H

#include "config.h"
#include "nanobragg.h"

/* A sampled interval: count points over range with spacing step.  Negative
   range/step and non-positive count mean "not given". */
typedef struct nbi_sweep {
    double range, step;
    int count;
} nbi_sweep;

/* Divergence and dispersion: range and steps -> step = range/(steps-1), etc.
   Degenerate results collapse to one point of zero range. */
void nbi_sweep_resolve_grid(nbi_sweep *s);
/* Spindle: osc and steps -> step = osc/steps, etc. */
void nbi_sweep_resolve_phi(nbi_sweep *s);
/* Detector layers: thickness and layers -> step = thick/(layers-1), etc. */
void nbi_sweep_resolve_thick(nbi_sweep *s);
/* Mosaic domains from spread (radians) and count; warnings go to log. */
void nbi_resolve_mosaic(double *spread, int *domains, const nb_log *log);

/* The crystal's and the detector's sweeps of a run, resolved. */
typedef struct nbi_sampling {
    double phi0_rad;
    nbi_sweep phi;             /* spindle, radians */
    nbi_sweep thick;           /* detector layers, metres */
    double mu;                /* detector attenuation, 1/m */
    double mosaic_spread_rad;
    int mosaic_domains;
} nbi_sampling;

/* Resolve the spindle sweep, the detector layers (and their attenuation
   depth, when only a thickness is given) and the mosaic domains of cfg, in
   nanoBragg's order; its warnings go to log. */
void nbi_sampling_resolve(const nb_config *cfg, const nb_log *log, nbi_sampling *out);

#endif
