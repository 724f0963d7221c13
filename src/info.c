/*
 * info.c - nb_info from the experiment's parts: what the program prints and
 * what bindings show.  Filled once, at the end of nb_experiment_create.
 */
#include "info.h"

#include <string.h>

#include "row_loops.h"

static void detector_info(const nbi_detector *d, nb_info *in)
{
    const nbi_centres *c = &d->centres;
    in->convention = d->convention;
    in->pivot = d->pivot;
    in->fpixels = d->fpixels;
    in->spixels = d->spixels;
    in->pixel_m = d->pixel_m;
    in->detsize_f_m = d->size_f_m;
    in->detsize_s_m = d->size_s_m;
    in->distance_m = d->distance_m;
    in->close_distance_m = d->close_distance_m;
    in->Xbeam_m = c->Xbeam_m;
    in->Ybeam_m = c->Ybeam_m;
    in->Fbeam_m = c->Fbeam_m;
    in->Sbeam_m = c->Sbeam_m;
    in->Xclose_m = c->Xclose_m;
    in->Yclose_m = c->Yclose_m;
    in->Fclose_m = c->Fclose_m;
    in->Sclose_m = c->Sclose_m;
    in->ORGX = d->origins.ORGX;
    in->ORGY = d->origins.ORGY;
    memcpy(in->dials_origin_mm, d->origins.dials_origin_mm, sizeof in->dials_origin_mm);
    v3_store(d->fdet, in->fdet);
    v3_store(d->sdet, in->sdet);
    v3_store(d->odet, in->odet);
    v3_store(d->pix0, in->pix0_m);
    in->twotheta_rad = d->twotheta_rad;
    v3_store(d->twotheta_axis, in->twotheta_axis);
    v3_store(d->origins.incident_xds, in->incident_beam_xds);
    memcpy(in->roi, d->roi, sizeof in->roi);
}

static void sampling_info(const nbi_detector *d, nb_info *in)
{
    in->oversample = d->oversample;
    in->recommended_oversample = d->recommended_oversample;
    in->oversample_auto = d->oversample_auto;
    in->thicksteps = d->thicksteps;
    in->detector_thick_m = d->thick_m;
    in->detector_thickstep_m = d->thickstep_m;
    in->detector_mu = d->mu;
}

static void beam_info(const nb_experiment *exp, nb_info *in)
{
    const nbi_beam *b = &exp->beam;
    v3_store(b->dir, in->beam);
    v3_store(exp->polar_vector, in->polar);
    in->lambda0_m = b->lambda0_m;
    in->dispersion = b->disp.range;
    in->dispsteps = b->disp.count;
    in->hdivrange_rad = b->hdiv.range;
    in->hdivstep_rad = b->hdiv.step;
    in->vdivrange_rad = b->vdiv.range;
    in->vdivstep_rad = b->vdiv.step;
    in->divsteps = b->divsteps;
    in->sources = exp->src.n;
    in->fluence = exp->fluence;
    in->flux = exp->flux;
    in->exposure_s = exp->exposure_s;
    in->beamsize_m = exp->beamsize_m;
}

static void crystal_info(const nbi_crystal *x, nb_info *in)
{
    v3_store(x->spindle, in->spindle);
    in->mosaic_domains = x->domains;
    in->mosaic_spread_rad = x->mosaic_spread_rad;
    in->phisteps = x->phisteps;
    in->phi0_rad = x->phi0_rad;
    in->osc_rad = x->osc_rad;
    in->phistep_rad = x->phistep_rad;
    in->Na = x->Na;
    in->Nb = x->Nb;
    in->Nc = x->Nc;
    memcpy(in->cell_A, x->params.len_A, sizeof in->cell_A);
    memcpy(in->cell_deg, x->params.deg, sizeof in->cell_deg);
    memcpy(in->rcell, x->params.rlen, sizeof in->rcell);
    memcpy(in->rcell_deg, x->params.rdeg, sizeof in->rcell_deg);
    in->volume_A3 = x->params.volume_A3;
    v3_store(x->a_A, in->a_A);
    v3_store(x->b_A, in->b_A);
    v3_store(x->c_A, in->c_A);
    v3_store(x->astar, in->astar);
    v3_store(x->bstar, in->bstar);
    v3_store(x->cstar, in->cstar);
    memcpy(in->misset_deg, x->params.misset_deg, sizeof in->misset_deg);
    in->misset_random = x->params.misset_random;
    memcpy(in->xtal_size_m, x->size_m, sizeof in->xtal_size_m);
    in->molecular_weight = x->molecular_weight;
}

/* Which kernel runs and whether -precision single applies to it: the row
   kernel's float loops cover parallelepiped crystals, with or without
   interpolation; everything else is summed in double. */
static void kernel_info(const nb_experiment *exp, nb_info *in)
{
    const int row = nbi_row_kernel_ok(exp);
    in->kernel = row ? "row" : "reference-order";
    in->isa = exp->loops->isa;
    in->device = "cpu";
    in->precision_used = exp->precision;
    in->precision_note = exp->precision_note;
    if (exp->precision != NB_PRECISION_SINGLE)
        return;
    if (!row)
        in->precision_note = "the reference-order kernel (-oversample_thick/polar/omega, or over a million "
                             "samples per pixel) sums in double";
    else if (exp->xtal.shape != NB_SHAPE_SQUARE)
        in->precision_note = "single precision covers parallelepiped crystals (-square_xtal) only";
    if (in->precision_note)
        in->precision_used = NB_PRECISION_DOUBLE;
}

void nbi_info_fill(const nb_experiment *exp, nb_info *out)
{
    memset(out, 0, sizeof *out);
    detector_info(&exp->det, out);
    sampling_info(&exp->det, out);
    beam_info(exp, out);
    crystal_info(&exp->xtal, out);
    out->hkls = exp->hkl.count;
    out->hkl_from_fdump = exp->hkl_from_fdump;
    out->interpolate = exp->interpolate;
    out->water_m = exp->water_m;
    out->steps = exp->steps;
    out->samples_per_pixel = exp->steps * exp->det.thicksteps;
    kernel_info(exp, out);
}
