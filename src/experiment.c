/*
 * experiment.c - nb_experiment_create: resolves a configuration into a
 * ready-to-render experiment, in nanoBragg's order (detector size, beam
 * intensity, conventions, sampling, detector placement, crystal, structure
 * factors, sources, mosaic domains), logging what nanoBragg prints.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beam.h"
#include "crystal.h"
#include "detector.h"
#include "kernel_row.h"
#include "sampling.h"
#include "util.h"

#define RTD (180.0 * M_1_PI)
#define NB_MAX_STEPS_PER_PIXEL 1000000000000L
#define NB_MAX_ORIENTATIONS (1L << 20)      /* phi steps x mosaic domains */
#define NB_MAX_SAMPLES_PER_PIXEL (1L << 24) /* sub-pixels x detector layers */

/* Beam intensity: fluence from flux, sample clipped by the beam. */
static void beam_intensity(const nb_config *cfg, nb_experiment *exp, const nb_log *log)
{
    nb_info *in = &exp->info;
    double fluence = cfg->fluence, flux = cfg->flux, exposure = cfg->exposure_s, bs = cfg->beamsize_m;
    in->xtal_size_m[0] = cfg->sample_x_m;
    in->xtal_size_m[1] = cfg->sample_y_m;
    in->xtal_size_m[2] = cfg->sample_z_m;
    if (flux != 0.0 && exposure > 0.0 && bs >= 0)
        fluence = flux * exposure / bs / bs;
    if (bs >= 0) {
        if (bs < in->xtal_size_m[1]) {
            nbi_log(log, NB_LOG_WARN, "WARNING: clipping sample (%lg m high) with beam (%lg m)",
                    in->xtal_size_m[1], bs);
            in->xtal_size_m[1] = bs;
        }
        if (bs < in->xtal_size_m[2]) {
            nbi_log(log, NB_LOG_WARN, "WARNING: clipping sample (%lg m wide) with beam (%lg m)",
                    in->xtal_size_m[2], bs);
            in->xtal_size_m[2] = bs;
        }
    }
    if (exposure > 0.0)
        flux = fluence / exposure * bs * bs;
    in->fluence = exp->fluence = fluence;
    in->flux = flux;
    in->exposure_s = exposure;
    in->beamsize_m = bs;
}

static nb_status region(const nb_config *cfg, nb_experiment *exp, nb_error *err)
{
    int *r = exp->det.roi, nf = exp->det.fpixels, ns = exp->det.spixels;
    r[0] = cfg->roi[0] < 0 ? 0 : cfg->roi[0];
    r[1] = cfg->roi[1] < 0 ? nf : cfg->roi[1];
    r[2] = cfg->roi[2] < 0 ? 0 : cfg->roi[2];
    r[3] = cfg->roi[3] < 0 ? ns : cfg->roi[3];
    memcpy(exp->info.roi, r, sizeof exp->info.roi);
    if (r[0] > r[1] || r[2] > r[3] || r[0] >= nf || r[2] >= ns)
        return nbi_fail(err, NB_ERR_INVALID,
                        "-roi %d %d %d %d selects no pixel of the %dx%d detector", r[0], r[1], r[2],
                        r[3], nf, ns);
    if (cfg->mask) {
        size_t n;
        if (cfg->mask_width != nf || cfg->mask_height != ns)
            return nbi_fail(err, NB_ERR_INVALID, "the mask has %dx%d pixels but the detector %dx%d",
                            cfg->mask_width, cfg->mask_height, nf, ns);
        n = (size_t)nf * (size_t)ns;
        exp->det.mask = malloc(n * sizeof(uint16_t));
        if (!exp->det.mask)
            return nbi_fail(err, NB_ERR_NOMEM, "out of memory for the mask");
        memcpy(exp->det.mask, cfg->mask, n * sizeof(uint16_t));
    }
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
    int have_F = cfg->hkl_path || file_exists(cfg->fdump_path) || cfg->default_F != 0.0;
    int have_cell = cfg->mat_path || (cfg->user_cell && cfg->cell_A[0] != 0.0);
    if (!have_F)
        return nbi_fail(err, NB_ERR_USAGE, "no structure factors: give -hkl, -default_F, or an %s",
                        cfg->fdump_path ? cfg->fdump_path : "Fdump.bin");
    if (!have_cell)
        return nbi_fail(err, NB_ERR_USAGE, "no unit cell: give -cell or -mat");
    return NB_OK;
}

/* Resolve every sweep (phi, divergence, dispersion, layers, mosaic). */
static void sampling(const nb_config *cfg, nb_experiment *exp, nb_sweep *h, nb_sweep *v, nb_sweep *d,
                     const nb_log *log)
{
    nb_info *in = &exp->info;
    nb_sampling sm;

    *h = (nb_sweep){cfg->hdivrange_rad, cfg->hdivstep_rad, cfg->hdivsteps};
    *v = (nb_sweep){cfg->vdivrange_rad, cfg->vdivstep_rad, cfg->vdivsteps};
    *d = (nb_sweep){cfg->dispersion, -1.0, cfg->dispsteps};
    nb_sweep_resolve_grid(h);
    nb_sweep_resolve_grid(v);
    nb_sweep_resolve_grid(d);
    nbi_sampling_resolve(cfg, log, &sm);

    exp->xtal.phisteps = in->phisteps = sm.phi.count;
    exp->xtal.phi0_rad = in->phi0_rad = sm.phi0_rad;
    exp->xtal.phistep_rad = in->phistep_rad = sm.phi.step;
    in->osc_rad = sm.phi.range;
    exp->det.thicksteps = in->thicksteps = sm.thick.count;
    exp->det.thick_m = in->detector_thick_m = sm.thick.range;
    exp->det.thickstep_m = in->detector_thickstep_m = sm.thick.step;
    exp->det.mu = in->detector_mu = sm.mu;
    exp->xtal.domains = in->mosaic_domains = sm.mosaic_domains;
    exp->xtal.mosaic_spread_rad = in->mosaic_spread_rad = sm.mosaic_spread_rad;
    in->hdivrange_rad = h->range;
    in->hdivstep_rad = h->step;
    in->vdivrange_rad = v->range;
    in->vdivstep_rad = v->step;
    in->dispersion = d->range;
    in->dispsteps = d->count;
}

/* Sizes the kernel's tables are built for. */
static nb_status sampling_limits(const nb_experiment *exp, nb_error *err)
{
    const nb_crystal *x = &exp->xtal;
    if ((double)x->phisteps * x->domains > (double)NB_MAX_ORIENTATIONS)
        return nbi_fail(err, NB_ERR_RANGE, "%d phi steps x %d mosaic domains is too many (at most %ld)",
                        x->phisteps, x->domains, NB_MAX_ORIENTATIONS);
    return NB_OK;
}

static void choose_interpolation(const nb_config *cfg, nb_experiment *exp, const nb_log *log)
{
    exp->interpolate = cfg->interpolate == NB_INTERP_ON;
    if (cfg->interpolate == NB_INTERP_AUTO) {
        if (cfg->Na <= 2 || cfg->Nb <= 2 || cfg->Nc <= 2) {
            nbi_log(log, NB_LOG_INFO, "auto-selected tricubic interpolation of structure factors");
            exp->interpolate = 1;
        } else {
            nbi_log(log, NB_LOG_INFO, "auto-selected no interpolation");
        }
    }
}

static nb_status structure_factors(const nb_config *cfg, nb_experiment *exp, const nb_log *log,
                                   nb_error *err)
{
    nb_status st;
    exp->default_F = cfg->default_F;
    if (cfg->hkl_path) {
        nbi_log(log, NB_LOG_INFO, "counting entries in %s", cfg->hkl_path);
        st = nb_hkl_read_text(cfg->hkl_path, cfg->default_F, log, &exp->hkl, err);
        if (st != NB_OK)
            return st;
        if (cfg->fdump_path) {
            nb_error werr;
            if (nb_hkl_write_fdump(cfg->fdump_path, &exp->hkl, &werr) == NB_OK)
                nbi_log(log, NB_LOG_INFO, "writing dump file for next time: %s", cfg->fdump_path);
            else
                nbi_log(log, NB_LOG_WARN, "WARNING: unable to write dump file: %s", werr.msg);
        }
    } else if (file_exists(cfg->fdump_path)) {
        nb_error rerr;
        st = nb_hkl_read_fdump(cfg->fdump_path, &exp->hkl, &rerr);
        if (st == NB_OK) {
            nbi_log(log, NB_LOG_INFO, "reading Fs from %s", cfg->fdump_path);
            exp->info.hkl_from_fdump = 1;
        } else if (st == NB_ERR_NOMEM) {
            return nbi_fail(err, st, "%s", rerr.msg);
        } else {
            nbi_log(log, NB_LOG_WARN, "WARNING: ignoring the structure-factor cache: %s", rerr.msg);
            if (cfg->default_F == 0.0)
                return nbi_fail(err, NB_ERR_USAGE, "no structure factors: %s", rerr.msg);
        }
    }
    exp->have_hkl = exp->hkl.count > 0;
    exp->info.hkls = exp->hkl.count;
    if (!exp->have_hkl)
        exp->interpolate = 0;
    exp->info.interpolate = exp->interpolate;
    return NB_OK;
}

static void log_sweeps(const nb_experiment *exp, const nb_log *log)
{
    for (int t = 0; t < exp->det.thicksteps; ++t)
        nbi_log(log, NB_LOG_INFO, "thick%d = %g um", t, exp->det.thickstep_m * t * 1e6);
    for (int t = 0; t < exp->xtal.phisteps; ++t)
        nbi_log(log, NB_LOG_INFO, "phi%d = %g", t, (exp->xtal.phi0_rad + exp->xtal.phistep_rad * t) * RTD);
}

/* Which kernel runs and whether -precision single applies to it: the row
   kernel's float loops cover parallelepiped crystals without interpolation;
   everything else is summed in double. */
static void choose_precision(nb_experiment *exp)
{
    nb_info *in = &exp->info;
    const int row = nbi_row_kernel_ok(exp);
    in->kernel = row ? "row" : "reference-order";
    in->precision_used = exp->precision;
    in->precision_note = NULL;
    if (exp->precision != NB_PRECISION_SINGLE)
        return;
    if (!row)
        in->precision_note = "-oversample_thick/polar/omega use the reference-order kernel";
    else if (exp->xtal.shape != NB_SHAPE_SQUARE)
        in->precision_note = "single precision covers parallelepiped crystals (-square_xtal) only";
    else if (exp->interpolate)
        in->precision_note = "single precision does not cover interpolated structure factors";
    if (in->precision_note)
        in->precision_used = NB_PRECISION_DOUBLE;
}

static nb_status finish(const nb_config *cfg, nb_experiment *exp, nb_error *err)
{
    nb_detector *det = &exp->det;
    nb_info *in = &exp->info;
    double os = in->oversample;
    if (os * os * det->thicksteps > (double)NB_MAX_SAMPLES_PER_PIXEL)
        return nbi_fail(err, NB_ERR_RANGE,
                        "%s%d x %d sub-pixels x %d detector layers per pixel is too many (at most %ld)%s",
                        cfg->oversample <= 0 ? "auto-selected " : "", in->oversample, in->oversample,
                        det->thicksteps, NB_MAX_SAMPLES_PER_PIXEL,
                        cfg->oversample <= 0 ? ": check -pixel (mm) and the crystal size, or set -oversample" : "");
    det->oversample = in->oversample;
    det->subpixel_m = det->pixel_m / det->oversample;
    det->curved = cfg->curved_detector;
    det->point_pixel = cfg->point_pixel;
    det->oversample_thick = cfg->oversample_thick;
    det->oversample_polar = cfg->oversample_polar;
    det->oversample_omega = cfg->oversample_omega;
    exp->polarization = cfg->polarization;
    exp->nopolar = cfg->nopolar;
    exp->dmin_m = cfg->dmin_m;
    exp->water_m = in->water_m = cfg->water_m;
    exp->I_bg = 2.57 * 2.57 * NB_R_E_SQR * exp->fluence * cfg->water_m * cfg->water_m * cfg->water_m * 1e6
                * NB_AVOGADRO / 18.0;
    exp->threads = cfg->threads;
    exp->precision = cfg->precision;
    if ((double)exp->src.n * exp->xtal.domains * exp->xtal.phisteps * os * os * det->thicksteps
        > (double)NB_MAX_STEPS_PER_PIXEL)
        return nbi_fail(err, NB_ERR_RANGE, "too many samples per pixel (%d sources x %d domains x %d "
                        "phi steps x %d^2 sub-pixels)", exp->src.n, exp->xtal.domains,
                        exp->xtal.phisteps, det->oversample);
    exp->steps = in->steps = (long)exp->src.n * exp->xtal.domains * exp->xtal.phisteps * det->oversample
                             * det->oversample;
    in->samples_per_pixel = exp->steps * det->thicksteps;
    in->oversample_auto = cfg->oversample <= 0;
    choose_precision(exp);
    in->polar[0] = exp->polar_vector.x;
    in->polar[1] = exp->polar_vector.y;
    in->polar[2] = exp->polar_vector.z;
    return NB_OK;
}

static nb_status validate(const nb_config *cfg, nb_error *err)
{
    if (!(cfg->lambda0_m > 0.0) || !isfinite(cfg->lambda0_m))
        return nbi_fail(err, NB_ERR_INVALID, "wavelength must be positive (got %g A)", cfg->lambda0_m * 1e10);
    if (cfg->oversample > 1000)
        return nbi_fail(err, NB_ERR_RANGE, "-oversample %d is too large (at most 1000)", cfg->oversample);
    return NB_OK;
}

static nb_status build(const nb_config *cfg, nb_experiment *exp, const nb_log *log, nb_error *err)
{
    nb_sweep h, v, d;
    nb_status st = validate(cfg, err);
    if (st == NB_OK)
        st = nbi_detector_size(cfg, exp, err);
    if (st != NB_OK)
        return st;
    exp->info.lambda0_m = cfg->lambda0_m;
    beam_intensity(cfg, exp, log);
    nbi_detector_convention(cfg, exp, log);
    if ((st = region(cfg, exp, err)) != NB_OK || (st = check_inputs(cfg, err)) != NB_OK)
        return st;
    sampling(cfg, exp, &h, &v, &d, log);
    if ((st = sampling_limits(exp, err)) != NB_OK)
        return st;
    nbi_detector_place(cfg, exp, log);
    choose_interpolation(cfg, exp, log);
    if ((st = nbi_crystal_cell(cfg, exp, log, err)) != NB_OK)
        return st;
    nbi_crystal_size(cfg, exp, log);
    if ((st = structure_factors(cfg, exp, log, err)) != NB_OK)
        return st;
    log_sweeps(exp, log);
    if (!cfg->source_path && (st = nbi_beam_check(&h, &v, &d, err)) != NB_OK)
        return st;
    exp->info.divsteps = nbi_divergence_count(&h, &v, cfg->round_div);
    if ((st = nbi_beam_sources(cfg, &h, &v, &d, exp, log, err)) != NB_OK)
        return st;
    if ((st = nbi_crystal_orientations(cfg, exp, log, err)) != NB_OK)
        return st;
    return finish(cfg, exp, err);
}

nb_status nb_experiment_create(const nb_config *cfg, const nb_log *log, nb_experiment **out,
                               nb_error *err)
{
    nb_experiment *exp;
    nb_status st;
    *out = NULL;
    exp = calloc(1, sizeof *exp);
    if (!exp)
        return nbi_fail(err, NB_ERR_NOMEM, "out of memory");
    st = build(cfg, exp, log, err);
    if (st != NB_OK) {
        nb_experiment_free(exp);
        return st;
    }
    *out = exp;
    return NB_OK;
}

void nb_experiment_free(nb_experiment *exp)
{
    if (!exp)
        return;
    nbi_sources_free(&exp->src);
    nbi_crystal_free(&exp->xtal);
    nb_hkl_free(&exp->hkl);
    free(exp->det.mask);
    free(exp);
}

const nb_info *nb_experiment_info(const nb_experiment *exp) { return &exp->info; }
