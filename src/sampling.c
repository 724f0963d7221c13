/*
 * sampling.c - count/range/step resolution, following nanoBragg's rules
 * exactly (including their asymmetries between the different sweeps).
 */
#include "sampling.h"

#include <math.h>

#include "util.h"

/* Counts derived from range/step are capped here before conversion to int;
   the limits on sources, orientations and samples then refuse them. */
#define NB_SWEEP_MAX_COUNT 1.0e9

static int count_of(double range, double step)
{
    const double n = ceil(range / step);
    return n > NB_SWEEP_MAX_COUNT || n != n ? (int)NB_SWEEP_MAX_COUNT : (int)n;
}

/* No count given: from range and step.  "Range only" means two points a whole
   range apart for a grid, half a range apart for layers and phi. */
static void auto_count(nbi_sweep *s, int halve)
{
    if (s->range < 0.0) {
        if (s->step <= 0.0) {
            s->count = 1;
            s->range = 0.0;
            s->step = 0.0;
        } else {
            s->range = s->step;
            s->count = 2;
        }
    } else if (s->step <= 0.0) {
        s->count = 2;
        s->step = halve ? s->range / 2.0 : s->range;
    } else {
        s->count = count_of(s->range, s->step);
    }
}

/*
 * The rules shared by divergence, dispersion and detector layers.  They
 * differ in two places: what "range only" means for the step (the whole
 * range for a grid, half of it for layers), and the range assumed when only
 * a count is given (1 for a grid, 0.5 um for layers).
 */
static void resolve_sweep(nbi_sweep *s, int layers, double default_range)
{
    if (s->count <= 0) {
        auto_count(s, layers);
    } else if (s->range < 0.0) {
        if (s->step <= 0.0) {
            s->range = default_range;
            s->step = s->range / s->count;
        } else {
            s->range = s->step;
            s->count = 2;
        }
    } else if (s->step <= 0.0) {
        if (s->count <= 1)
            s->count = 2;
        s->step = s->range / (s->count - 1);
    }
    if (s->range <= 0.0 || s->step <= 0.0 || s->count <= 0) {
        s->count = 1;
        s->range = 0.0;
        s->step = 0.0;
    }
}

void nbi_sweep_resolve_grid(nbi_sweep *s) { resolve_sweep(s, 0, 1.0); }

void nbi_sweep_resolve_phi(nbi_sweep *s)
{
    if (s->count < 0) {
        auto_count(s, 1);
        if (s->count < 1) /* a step over no range: one step (nanoBragg: none, and a NaN image) */
            s->count = 1;
        return;
    }
    if (s->count == 0)
        s->count = 1;
    if (s->range < 0.0) {
        if (s->step <= 0.0) {
            s->range = 1.0 / (180.0 * M_1_PI);
            s->step = s->range / s->count;
        } else {
            s->range = s->step;
            s->count = 2;
        }
    } else if (s->step < 0.0) {
        s->step = s->range / s->count;
    }
}

void nbi_sweep_resolve_thick(nbi_sweep *s) { resolve_sweep(s, 1, 0.5e-6); }

void nbi_resolve_mosaic(double *spread, int *domains, const nb_log *log)
{
    if (*domains <= 0) {
        if (*spread < 0.0) {
            *domains = 1;
            *spread = 0.0;
        } else if (*spread == 0.0) {
            *domains = 1;
        } else {
            nbi_log(log, NB_LOG_WARN,
                    "WARNING: finite mosaicity with only one domain! upping to 10 mosaic domains");
            *domains = 10;
        }
    } else if (*spread < 0.0) {
        nbi_log(log, NB_LOG_WARN, "WARNING: no mosaic spread specified.  setting mosaic_domains = 1");
        *spread = 0.0;
        *domains = 1;
    } else if (*spread == 0.0) {
        nbi_log(log, NB_LOG_WARN, "WARNING: zero mosaic spread specified.  setting mosaic_domains = 1");
        *domains = 1;
    }
}

void nbi_sampling_resolve(const nb_config *cfg, const nb_log *log, nbi_sampling *out)
{
    out->phi0_rad = cfg->phi0_rad;
    out->phi = (nbi_sweep){cfg->osc_rad, cfg->phistep_rad, cfg->phisteps};
    nbi_sweep_resolve_phi(&out->phi);
    out->thick = (nbi_sweep){cfg->detector_thick_m, -1.0, cfg->detector_thicksteps};
    nbi_sweep_resolve_thick(&out->thick);
    out->mu = cfg->detector_mu;
    if (out->thick.range > 0.0 && out->mu < 0.0) {
        out->mu = 1.0 / out->thick.range;
        nbi_log(log, NB_LOG_WARN, "WARNING: setting detector attenuation depth to %g m", out->mu);
    }
    out->mosaic_spread_rad = cfg->mosaic_spread_rad;
    out->mosaic_domains = cfg->mosaic_domains;
    nbi_resolve_mosaic(&out->mosaic_spread_rad, &out->mosaic_domains, log);
}
