/*
 * config.c - nanoBragg's default configuration.
 */
#include <string.h>
#include <time.h>

#include "nanobragg.h"

#ifndef NB_VERSION /* set by the build */
#define NB_VERSION "(unversioned build)"
#endif

const char *nb_version(void) { return NB_VERSION; }

int nb_is_unset(double value) { return value == NB_UNSET; }

static void set3(double v[3], double x, double y, double z)
{
    v[0] = x;
    v[1] = y;
    v[2] = z;
}

void nb_config_init(nb_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->fdump_path = "Fdump.bin";
    cfg->misset_seed = -(long)time(NULL);
    cfg->Na = cfg->Nb = cfg->Nc = 1.0;
    cfg->shape = NB_SHAPE_SQUARE;
    cfg->fudge = 1.0;
    cfg->mosaic_spread_rad = -1.0;
    cfg->mosaic_domains = -1;
    cfg->mosaic_seed = -12345678;
    cfg->interpolate = NB_INTERP_AUTO;

    cfg->lambda0_m = 1.0e-10;
    cfg->dispersion = 0.0;
    cfg->dispsteps = -1;
    cfg->hdivrange_rad = cfg->vdivrange_rad = -1.0;
    cfg->hdivstep_rad = cfg->vdivstep_rad = -1.0;
    cfg->hdivsteps = cfg->vdivsteps = -1;
    cfg->round_div = 1;
    cfg->fluence = 125932015286227086360700780544.0;
    cfg->flux = 0.0;
    cfg->exposure_s = 1.0;
    cfg->beamsize_m = 1e-4;
    cfg->polarization = 0.0;
    set3(cfg->beam_vector, 1, 0, 0);
    set3(cfg->polar_vector, 0, 0, 1);

    cfg->phi0_rad = 0.0;
    cfg->osc_rad = -1.0;
    cfg->phistep_rad = -1.0;
    cfg->phisteps = -1;
    set3(cfg->spindle_vector, 0, 0, 1);

    cfg->convention = NB_CONV_MOSFLM;
    cfg->pivot = NB_PIVOT_BEAM;
    cfg->pixel_m = 0.1e-3;
    cfg->detsize_f_m = cfg->detsize_s_m = 102.4e-3;
    cfg->distance_m = 100.0e-3;
    cfg->close_distance_m = NB_UNSET;
    cfg->Xbeam_m = cfg->Ybeam_m = NB_UNSET;
    cfg->Xclose_m = cfg->Yclose_m = NB_UNSET;
    cfg->ORGX = cfg->ORGY = NB_UNSET;
    set3(cfg->twotheta_axis, 0, 1, 0); /* nanoBragg's initial value; conventions set their own */
    set3(cfg->fdet_vector, 0, 0, 1);
    set3(cfg->sdet_vector, 0, -1, 0);
    set3(cfg->odet_vector, 1, 0, 0);
    cfg->detector_mu = -1.0;
    cfg->detector_thick_m = 0.0;
    cfg->detector_thicksteps = -1;
    cfg->oversample = -1;
    cfg->roi[0] = cfg->roi[1] = cfg->roi[2] = cfg->roi[3] = -1;
    cfg->precision = NB_PRECISION_DOUBLE;
}
