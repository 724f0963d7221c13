/*
 * experiment.c - nb_experiment_create: resolves a configuration into a
 * ready-to-render experiment.  build() runs the set-up stages in nanoBragg's
 * order, which is also the order of the lines they log.  Each stage takes the
 * configuration and the results of earlier stages as const and fills its own
 * result; no stage changes another's:
 *
 *   panel (detector size)  ->  beam intensity (fluence; sample clipped by
 *   the beam)  ->  frame (convention: axes, beam centre, pivot)  ->  region
 *   (ROI)  ->  sampling (phi, layers, mosaic)  ->  placement (the rotated,
 *   placed detector)  ->  interpolation  ->  cell  ->  crystal size  ->
 *   sub-pixels (from crystal size and placement)  ->  structure factors  ->
 *   beam (divergence, dispersion)  ->  sources  ->  crystal (mosaic domains,
 *   rotated cells)  ->  detector  ->  limits
 *
 * The experiment keeps the last stages' results (beam, sources, crystal,
 * detector, structure factors and its own parameters); nb_info is filled
 * from them once, at the end (info.c).
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "beam.h"
#include "crystal.h"
#include "detector.h"
#include "gpu.h"
#include "info.h"
#include "row_loops.h"
#include "sf.h"
#include "sfinput.h"
#include "sampling.h"
#include "serial_order.h"
#include "util.h"

#define RTD (180.0 * M_1_PI)
#define NB_MAX_STEPS_PER_PIXEL 1000000000000L
#define NB_MAX_ORIENTATIONS (1L << 20)      /* phi steps x mosaic domains */

/* What the stages resolve on the way to the experiment's parts. */
typedef struct stages {
    nbi_panel panel;
    double sample_m[3];     /* crystal size asked for, clipped by the beam (0: use N) */
    nbi_frame frame;
    int roi[4];             /* inclusive */
    nbi_sampling sampling;
    nbi_placement place;
    int interpolate;        /* asked for or auto-selected */
    nbi_cell cell;
    nbi_size size;
    nbi_subpixels sub;
} stages;

/* Beam intensity (exp's fluence, flux, exposure_s, beamsize_m): fluence from
   flux, and the sample size clipped by the beam.  NB_ERR_INVALID when the
   fluence flux gives is beyond NBI_FLUENCE_MAX (or not a number). */
static nb_status beam_intensity(const nb_config *cfg, const nb_log *log, nb_experiment *exp, double sample_m[3],
                                nb_error *err)
{
    double fluence = cfg->fluence, flux = cfg->flux, exposure = cfg->exposure_s, bs = cfg->beamsize_m;
    sample_m[0] = cfg->sample_x_m;
    sample_m[1] = cfg->sample_y_m;
    sample_m[2] = cfg->sample_z_m;
    if (flux != 0.0 && exposure > 0.0 && bs >= 0) {
        fluence = flux * exposure / bs / bs;
        if (!(fluence <= NBI_FLUENCE_MAX))
            return nbi_fail(err, NB_ERR_INVALID, "flux %g x exposure_s %g / beamsize_mm %g squared gives a fluence "
                            "of %g photons/m^2 (at most %g)", flux, exposure, bs * 1e3, fluence, NBI_FLUENCE_MAX);
    }
    if (bs >= 0) {
        if (bs < sample_m[1]) {
            nbi_log(log, NB_LOG_WARN, "WARNING: clipping sample (%lg m high) with beam (%lg m)",
                    sample_m[1], bs);
            sample_m[1] = bs;
        }
        if (bs < sample_m[2]) {
            nbi_log(log, NB_LOG_WARN, "WARNING: clipping sample (%lg m wide) with beam (%lg m)",
                    sample_m[2], bs);
            sample_m[2] = bs;
        }
    }
    if (exposure > 0.0)
        flux = fluence / exposure * bs * bs;
    exp->fluence = fluence;
    exp->flux = flux;
    exp->exposure_s = exposure;
    exp->beamsize_m = bs;
    return NB_OK;
}

/* The region of interest, inclusive, and a check of the mask's size. */
static nb_status region(const nb_config *cfg, const nbi_panel *panel, int roi[4], nb_error *err)
{
    const int nf = panel->fpixels, ns = panel->spixels;
    roi[0] = cfg->roi[0] < 0 ? 0 : cfg->roi[0];
    roi[1] = cfg->roi[1] < 0 ? nf : cfg->roi[1];
    roi[2] = cfg->roi[2] < 0 ? 0 : cfg->roi[2];
    roi[3] = cfg->roi[3] < 0 ? ns : cfg->roi[3];
    if (roi[0] > roi[1] || roi[2] > roi[3] || roi[0] >= nf || roi[2] >= ns)
        return nbi_fail(err, NB_ERR_INVALID,
                        "roi %d %d %d %d selects no pixel of the %dx%d detector", roi[0], roi[1], roi[2],
                        roi[3], nf, ns);
    if (cfg->mask && (cfg->mask_width != nf || cfg->mask_height != ns))
        return nbi_fail(err, NB_ERR_INVALID, "the mask has %dx%d pixels but the detector %dx%d",
                        cfg->mask_width, cfg->mask_height, nf, ns);
    return NB_OK;
}

static int file_exists(const char *path)
{
    FILE *f = path ? fopen(path, "rb") : NULL;
    if (f)
        fclose(f);
    return f != NULL;
}

static nb_status check_inputs(const nb_config *cfg, nb_error *err)
{
    int have_F = cfg->hkl_path || cfg->sf || cfg->mtz_path || cfg->sfcif_path || cfg->model_path || cfg->refl
                 || cfg->atoms || file_exists(cfg->fdump_path) || cfg->default_F != 0.0;
    int have_cell = cfg->mat_path || cfg->have_matrix || (cfg->user_cell && cfg->cell_A[0] != 0.0);
    if (!have_F)
        return nbi_fail(err, NB_ERR_USAGE, "no structure factors: give -hkl, -default_F, or an %s "
                        "(hkl_path, nb_config_set_sf, default_F or fdump_path)",
                        cfg->fdump_path ? cfg->fdump_path : "Fdump.bin");
    if (!have_cell)
        return nbi_fail(err, NB_ERR_USAGE, "no unit cell: give -cell or -mat (cell, mat_path or mosflm_matrix)");
    return NB_OK;
}

/* Sizes the kernel's tables are built for. */
static nb_status sampling_limits(const nbi_sampling *sm, nb_error *err)
{
    if ((double)sm->phi.count * sm->mosaic_domains > (double)NB_MAX_ORIENTATIONS)
        return nbi_fail(err, NB_ERR_RANGE, "%d phi steps x %d mosaic domains is too many (at most %ld): "
                        "lower phisteps (osc_deg / phistep_deg) or mosaic_domains",
                        sm->phi.count, sm->mosaic_domains, NB_MAX_ORIENTATIONS);
    return NB_OK;
}

/* Tricubic interpolation of structure factors: asked for, or chosen for
   crystals of at most 2 cells along an axis. */
static int choose_interpolation(const nb_config *cfg, const nb_log *log)
{
    if (cfg->interpolate != NB_INTERP_AUTO)
        return cfg->interpolate == NB_INTERP_ON;
    if (cfg->Na <= 2 || cfg->Nb <= 2 || cfg->Nc <= 2) {
        nbi_log(log, NB_LOG_INFO, "auto-selected tricubic interpolation of structure factors");
        return 1;
    }
    nbi_log(log, NB_LOG_INFO, "auto-selected no interpolation");
    return 0;
}

/* The structure factors (exp->sf, and exp->hkl viewing its grid): given
   as an object, read from -hkl (then written to the Fdump cache if one is
   named), or read from the cache; none with -default_F only.  With
   -precision single also their float copy (made once, shared). */
static nb_status structure_factors(const nb_config *cfg, const nb_log *log, nb_experiment *exp,
                                   nb_error *err)
{
    nb_status st;
    exp->default_F = cfg->default_F;
    if (exp->sf) {
        /* made from a crystallographic input (sfinput.c) */
    } else if (cfg->sf) {
        exp->sf = nb_sf_ref(cfg->sf);
    } else if (cfg->hkl_path) {
        nbi_log(log, NB_LOG_INFO, "counting entries in %s", cfg->hkl_path);
        st = nb_sf_read_hkl(cfg->hkl_path, cfg->default_F, log, &exp->sf, err);
        if (st != NB_OK)
            return st;
        if (cfg->fdump_path) {
            nb_error werr;
            if (nb_sf_write_fdump(exp->sf, cfg->fdump_path, &werr) == NB_OK)
                nbi_log(log, NB_LOG_INFO, "writing dump file for next time: %s", cfg->fdump_path);
            else
                nbi_log(log, NB_LOG_WARN, "WARNING: unable to write dump file: %s", werr.msg);
        }
    } else if (file_exists(cfg->fdump_path)) {
        nb_error rerr;
        st = nb_sf_read_fdump(cfg->fdump_path, &exp->sf, &rerr);
        if (st == NB_OK) {
            nbi_log(log, NB_LOG_INFO, "reading Fs from %s", cfg->fdump_path);
        } else if (st == NB_ERR_NOMEM) {
            return nbi_fail(err, st, "%s", rerr.msg);
        } else {
            nbi_log(log, NB_LOG_WARN, "WARNING: ignoring the structure-factor cache: %s", rerr.msg);
            if (cfg->default_F == 0.0)
                return nbi_fail(err, NB_ERR_USAGE, "no structure factors: %s", rerr.msg);
        }
    }
    if (exp->sf) {
        exp->hkl_from_fdump = exp->sf->from_fdump;
        if (cfg->precision == NB_PRECISION_SINGLE && (st = nbi_sf_make_single(exp->sf, err)) != NB_OK)
            return st;
        exp->hkl = exp->sf->hkl; /* a view: the grid belongs to exp->sf */
    }
    exp->have_hkl = exp->hkl.count > 0;
    return NB_OK;
}

/* The polarization axis where it is used, the divergence grid (its
   vertical axis; beam x polar the horizontal one) and the Kahn factor (the
   plane of E), must not lie along the beam: NB_ERR_INVALID. */
static nb_status check_polar(const nb_config *cfg, const nbi_beam *beam, vec3 polar, nb_error *err)
{
    const int grid = !cfg->source_path && cfg->nsources == 0 && (beam->hdiv.count > 1 || beam->vdiv.count > 1);
    const int kahn = cfg->polarization != 0.0 && (!cfg->nopolar || cfg->oversample_polar);
    if ((grid || kahn) && !(v3_mag(v3_cross(beam->dir, polar)) >= 1e-6))
        return nbi_fail(err, NB_ERR_INVALID, "polar_vector is parallel to beam_vector: the E-vector must be "
                        "perpendicular to the beam (for the divergence grid and the polarization factor)");
    return NB_OK;
}

static void log_sweeps(const nbi_sampling *sm, const nb_log *log)
{
    for (int t = 0; t < sm->thick.count; ++t)
        nbi_log(log, NB_LOG_INFO, "thick%d = %g um", t, sm->thick.step * t * 1e6);
    for (int t = 0; t < sm->phi.count; ++t)
        nbi_log(log, NB_LOG_INFO, "phi%d = %g", t, (sm->phi0_rad + sm->phi.step * t) * RTD);
}

/* The sub-pixels: enough to resolve the crystal's largest dimension on the
   placed detector, unless given; then the molecular weight, as nanoBragg
   prints them. */
static void subpixels(const nb_config *cfg, const nbi_panel *panel, const nbi_placement *place,
                      const nbi_size *size, const nb_log *log, nbi_subpixels *out)
{
    const double *m = size->size_m;
    const double xmax = fmax(m[0], fmax(m[1], m[2]));
    const double rpix = cfg->lambda0_m * place->distance_m / panel->pixel_m;
    nbi_detector_oversample(cfg->oversample, xmax, rpix, log, out);
    nbi_log(log, NB_LOG_INFO, "approximate MW = %g", size->molecular_weight);
}

/* -precision single sums NB_SINGLE_FLUSH terms F^2 L^2 in float (L at most
   Na Nb Nc): 1 if they cannot overflow, with room for the interpolation's
   overshoot. */
static int single_sums_fit(const nb_experiment *exp)
{
    const nbi_hkl *t = &exp->hkl;
    const double L = exp->xtal.Na * exp->xtal.Nb * exp->xtal.Nc;
    double F = fabs(exp->default_F);
    if (t->F) {
        const size_t n = ((size_t)t->h_range + 1) * ((size_t)t->k_range + 1) * ((size_t)t->l_range + 1);
        for (size_t i = 0; i < n; ++i)
            F = fmax(F, fabs(t->F[i]));
    }
    return F * F * L * L * NB_SINGLE_FLUSH < FLT_MAX / 1024;
}

/* The experiment's own parameters: polarization, cuts, background, the
   number of kernel steps per pixel (refused when too many), execution. */
static nb_status finish(const nb_config *cfg, vec3 polar, nb_experiment *exp, nb_error *err)
{
    const nbi_detector *det = &exp->det;
    const double os = det->oversample;
    exp->polarization = cfg->polarization;
    exp->nopolar = cfg->nopolar;
    exp->polar_vector = polar;
    exp->dmin_m = cfg->dmin_m;
    exp->water_m = cfg->water_m;
    exp->I_bg = 2.57 * 2.57 * NB_R_E_SQR * exp->fluence * cfg->water_m * cfg->water_m * cfg->water_m * 1e6
                * NB_AVOGADRO / 18.0;
    exp->threads = cfg->threads;
    exp->precision = cfg->precision;
    if (exp->precision == NB_PRECISION_SINGLE && !single_sums_fit(exp)) {
        exp->precision = NB_PRECISION_DOUBLE;
        exp->precision_note = "F x Na x Nb x Nc is too large for float sums";
    }
    exp->loops = nbi_row_loops_for(cfg->isa);
    if ((double)exp->src.n * exp->xtal.domains * exp->xtal.phisteps * os * os * det->thicksteps
        > (double)NB_MAX_STEPS_PER_PIXEL)
        return nbi_fail(err, NB_ERR_RANGE, "too many samples per pixel (%d sources x %d domains x %d "
                        "phi steps x %d^2 sub-pixels): lower divsteps, dispsteps, mosaic_domains, phisteps "
                        "or oversample", exp->src.n, exp->xtal.domains,
                        exp->xtal.phisteps, det->oversample);
    exp->steps = (long)exp->src.n * exp->xtal.domains * exp->xtal.phisteps * det->oversample * det->oversample;
    return NB_OK;
}

static nb_status validate(const nb_config *cfg, nb_error *err)
{
    nb_status st;
    if (!cfg)
        return nbi_fail(err, NB_ERR_INVALID, "the configuration is NULL");
    if ((st = nbi_params_check(cfg, err)) != NB_OK)
        return st;
    if (!nb_isa_name(cfg->isa) || !nbi_row_loops_for(cfg->isa))
        return nbi_fail(err, NB_ERR_INVALID, "isa: instruction set %s is not available on this processor or in this build",
                        nb_isa_name(cfg->isa) ? nb_isa_name(cfg->isa) : "(unknown)");
    if ((st = nbi_gpu_check(cfg->device, cfg->device_index, err)) != NB_OK)
        return st;
    if (!(cfg->lambda0_m > 0.0) || !isfinite(cfg->lambda0_m))
        return nbi_fail(err, NB_ERR_INVALID, "lambda_A: the wavelength must be positive (got %g A)", cfg->lambda0_m * 1e10);
    if (cfg->oversample > 1000)
        return nbi_fail(err, NB_ERR_RANGE, "-oversample %d is too large (at most 1000)", cfg->oversample);
    return NB_OK;
}

/* 1/d (1/A) of the finest reflection the detector reaches, at the shortest
   wavelength the beam may have; no finer than dmin_A when it is set. */
static double detector_reach(const nb_config *cfg, const stages *s)
{
    double lambda_m = cfg->lambda0_m * (1.0 - 0.5 * cfg->dispersion);
    const double twotheta = nbi_detector_max_twotheta(&s->panel, &s->place, s->frame.beam, cfg->curved_detector,
                                                      s->place.distance_m);
    double inv_d;
    for (int i = 0; i < cfg->nsources; ++i)
        if (cfg->source_lambda_m && cfg->source_lambda_m[i] > 0.0)
            lambda_m = fmin(lambda_m, cfg->source_lambda_m[i]);
    inv_d = 2.0 * sin(0.5 * twotheta) / (fmax(lambda_m, 0.5 * cfg->lambda0_m) * 1e10);
    return cfg->dmin_m > 0.0 ? fmin(inv_d, 1e-10 / cfg->dmin_m) : inv_d;
}

/* The stages in order (see the top of this file).  With like, its sources
   are copied instead of built (nbi_experiment_create_like). */
static nb_status build_stages(const nb_config *cfg, const nbi_sfinput *sfin, const nb_experiment *like,
                              nb_experiment *exp, const nb_log *log, nb_error *err)
{
    stages s;
    nb_status st;

    if ((st = nbi_detector_size(cfg, &s.panel, err)) != NB_OK)
        return st;
    if ((st = beam_intensity(cfg, log, exp, s.sample_m, err)) != NB_OK)
        return st;
    nbi_detector_frame(cfg, &s.panel, log, &s.frame);
    if ((st = region(cfg, &s.panel, s.roi, err)) != NB_OK || (st = check_inputs(cfg, err)) != NB_OK)
        return st;
    nbi_sampling_resolve(cfg, log, &s.sampling);
    if ((st = sampling_limits(&s.sampling, err)) != NB_OK)
        return st;
    nbi_detector_place(cfg, &s.panel, &s.frame, log, &s.place);
    if ((st = nbi_detector_check_placement(&s.panel, &s.place, err)) != NB_OK)
        return st;
    s.interpolate = choose_interpolation(cfg, log);
    if ((st = nbi_crystal_cell(cfg, log, &s.cell, err)) != NB_OK)
        return st;
    nbi_crystal_size(cfg, &s.cell, s.sample_m, log, &s.size);
    subpixels(cfg, &s.panel, &s.place, &s.size, log, &s.sub);
    if (sfin->kind != NBI_SFIN_NONE
        && (st = nbi_sfinput_make(sfin, cfg, &s.cell, detector_reach(cfg, &s), log, &exp->sf, err)) != NB_OK)
        return st;
    if ((st = structure_factors(cfg, log, exp, err)) != NB_OK)
        return st;
    exp->interpolate = s.interpolate && exp->have_hkl;
    log_sweeps(&s.sampling, log);
    if ((st = nbi_beam_resolve(cfg, s.frame.beam, &exp->beam, err)) != NB_OK
        || (st = check_polar(cfg, &exp->beam, s.frame.polar, err)) != NB_OK)
        return st;
    st = like ? nbi_sources_copy(&like->src, &exp->src, err)
              : nbi_beam_sources(cfg, &exp->beam, s.frame.polar, log, &exp->src, err);
    if (st != NB_OK)
        return st;
    st = nbi_crystal_create(cfg, &s.cell, &s.size, &s.sampling, s.frame.spindle, log, &exp->xtal, err);
    if (st != NB_OK)
        return st;
    st = nbi_detector_create(cfg, &s.panel, &s.frame, &s.place, &s.sampling, s.roi, &s.sub, &exp->det, err);
    if (st != NB_OK || (st = finish(cfg, s.frame.polar, exp, err)) != NB_OK)
        return st;
    nbi_info_fill(exp, &exp->info);
    return NB_OK;
}

/* A crystallographic input is read first: its cell is the crystal's unless
   the configuration gives one (then the stages run on a copy holding it). */
static nb_status build(const nb_config *cfg, const nb_experiment *like, nb_experiment *exp, const nb_log *log,
                       nb_error *err)
{
    nbi_sfinput sfin;
    nb_config eff;
    nb_status st;
    if ((st = validate(cfg, err)) != NB_OK)
        return st;
    if ((st = nbi_sfinput_open(cfg, log, &sfin, err)) == NB_OK) {
        if (sfin.kind != NBI_SFIN_NONE) {
            eff = *cfg;
            nbi_sfinput_apply_cell(&sfin, log, &eff);
            cfg = &eff;
        }
        st = build_stages(cfg, &sfin, like, exp, log, err);
    }
    nbi_sfinput_free(&sfin);
    return st;
}

/* Contract in experiment.h. */
nb_status nbi_experiment_create_like(const nb_config *cfg, const nb_experiment *like, const nb_log *log,
                                     nb_experiment **out, nb_error *err)
{
    nb_experiment *exp;
    nb_status st;
    if (!out)
        return nbi_fail(err, NB_ERR_INVALID, "nb_experiment_create: out is NULL");
    *out = NULL;
    exp = calloc(1, sizeof *exp);
    if (!exp || !(exp->landmarks = nbi_landmark_cache_new())) {
        free(exp);
        return nbi_fail(err, NB_ERR_NOMEM, "out of memory");
    }
    st = build(cfg, like, exp, log, err);
    if (st == NB_OK && (st = nbi_gpu_attach(exp, cfg->device, cfg->device_index, like, err)) == NB_OK)
        exp->info.device = nbi_gpu_name(exp->gpu);
    if (st != NB_OK) {
        nb_experiment_free(exp);
        return st;
    }
    *out = exp;
    return NB_OK;
}

nb_status nb_experiment_create(const nb_config *cfg, const nb_log *log, nb_experiment **out,
                               nb_error *err)
{
    return nbi_experiment_create_like(cfg, NULL, log, out, err);
}

void nb_experiment_free(nb_experiment *exp)
{
    if (!exp)
        return;
    nbi_sources_free(&exp->src);
    nbi_crystal_free(&exp->xtal);
    nb_sf_free(exp->sf);
    nbi_detector_free(&exp->det);
    nbi_landmark_cache_free(exp->landmarks);
    nbi_gpu_free(exp->gpu);
    free(exp);
}

const nb_info *nb_experiment_info(const nb_experiment *exp) { return &exp->info; }

nb_sf *nb_experiment_sf(const nb_experiment *exp) { return exp ? exp->sf : NULL; }
