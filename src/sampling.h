/*
 * sampling.h - nanoBragg's rules that turn any mix of given count / range /
 * step (divergence, dispersion, phi, detector layers, mosaic domains) into a
 * complete, consistent set.
 */
#ifndef NB_SAMPLING_H
#define NB_SAMPLING_H

#include "nanobragg.h"

/* A sampled interval: count points over range with spacing step.  Negative
   range/step and non-positive count mean "not given". */
typedef struct nb_sweep {
    double range, step;
    int count;
} nb_sweep;

/* Divergence and dispersion: range and steps -> step = range/(steps-1), etc.
   Degenerate results collapse to one point of zero range. */
void nb_sweep_resolve_grid(nb_sweep *s);
/* Spindle: osc and steps -> step = osc/steps, etc. */
void nb_sweep_resolve_phi(nb_sweep *s);
/* Detector layers: thickness and layers -> step = thick/(layers-1), etc. */
void nb_sweep_resolve_thick(nb_sweep *s);
/* Mosaic domains from spread (radians) and count; warnings go to log. */
void nb_resolve_mosaic(double *spread, int *domains, const nb_log *log);

/* The crystal's and the detector's sweeps of a run, resolved. */
typedef struct nb_sampling {
    double phi0_rad;
    nb_sweep phi;             /* spindle, radians */
    nb_sweep thick;           /* detector layers, metres */
    double mu;                /* detector attenuation, 1/m */
    double mosaic_spread_rad;
    int mosaic_domains;
} nb_sampling;

/* Resolve the spindle sweep, the detector layers (and their attenuation
   depth, when only a thickness is given) and the mosaic domains of cfg, in
   nanoBragg's order; its warnings go to log. */
void nbi_sampling_resolve(const nb_config *cfg, const nb_log *log, nb_sampling *out);

#endif
