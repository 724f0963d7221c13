/*
 * kernel.c - per-pixel diffraction sum, written to reproduce nanoBragg's
 * arithmetic (operation order included) so that images agree to float
 * precision, including its quirks: polarization, solid angle and absorption
 * are taken from the first sub-pixel and source unless -oversample_* asks
 * otherwise, and then multiply the running sum; the absorption of the last
 * detector layer scales the whole pixel.
 *
 * The same sum can also record the intermediate values nanoBragg's
 * -printout shows (nbi_render_pixel_traced): the phi x mosaic loop is
 * instantiated twice from one text, with and without the recording, so the
 * untraced render carries no test in it.
 */
#include "kernel.h"
#include "row_loops.h"

#include <math.h>

/* Nearest integer as nanoBragg rounds (ceil(x - 0.5)), kept as a double. */
static inline double round_index(double x) { return ceil(x - 0.5); }

static int as_index(double x, int *i)
{
    if (!(x > -1e9 && x < 1e9))
        return 0;
    *i = (int)x;
    return 1;
}

/* Squared lattice factor of the crystal at fractional (h,k,l) (physics.h;
   the parallelepiped's through the loops of the experiment's instruction
   set, row_loops.h). */
NB_INLINE double lattice_factor2(const nb_experiment *e, double h, double k, double l)
{
    const nbi_crystal *x = &e->xtal;
    double L, s_round;
    if (x->shape == NB_SHAPE_SQUARE)
        return e->loops->lattice_square2(h, k, l, x->Na, x->Nb, x->Nc);
    L = nbi_lattice_shape(x->shape, x->Na, x->Nb, x->Nc, x->fudge, x->astar, x->bstar, x->cstar, h, k, l,
                          &s_round);
    return L * L;
}

/* The lattice factor itself, signed as nanoBragg's (L2 is its square, from
   lattice_factor2); for the trace only. */
static double lattice_factor(const nb_experiment *e, double h, double k, double l, double L2)
{
    const nbi_crystal *x = &e->xtal;
    double s_round;
    if (x->shape != NB_SHAPE_SQUARE)
        return nbi_lattice_shape(x->shape, x->Na, x->Nb, x->Nc, x->fudge, x->astar, x->bstar, x->cstar, h,
                                 k, l, &s_round);
    return sqrt(L2) * nbi_grating_sign(h, x->Na) * nbi_grating_sign(k, x->Nb) * nbi_grating_sign(l, x->Nc);
}

/* Structure factor at (h,k,l); may switch interpolation off for good. */
NB_INLINE double structure_factor(const nb_experiment *e, double h, double k, double l, double h0,
                                  double k0, double l0, int *interp, nbi_pixel *out)
{
    int ih, ik, il;
    if (*interp) {
        if (nbi_hkl_interp_ok(&e->hkl, h, k, l))
            return e->loops->interpolate(&e->hkl, h, k, l);
        *interp = 0;
        if (!out->interp_off) {
            out->interp_off = 1;
            out->off_hkl[0] = h;
            out->off_hkl[1] = k;
            out->off_hkl[2] = l;
            out->off_hkl0[0] = (int)fmax(fmin(h0, 2e9), -2e9);
            out->off_hkl0[1] = (int)fmax(fmin(k0, 2e9), -2e9);
            out->off_hkl0[2] = (int)fmax(fmin(l0, 2e9), -2e9);
        }
    }
    if (e->have_hkl && as_index(h0, &ih) && as_index(k0, &ik) && as_index(l0, &il))
        return nbi_hkl_nearest(&e->hkl, ih, ik, il, e->default_F);
    return e->default_F;
}

/* Per-pixel running state shared by the loops below. */
typedef struct pixel_state {
    double I, polar, omega, capture;
    int interp;
    const double *cells;
    nbi_pixel_trace *trace; /* NULL: not traced */
} pixel_state;

/* Record the Miller indices, lattice factor and cell of a sample. */
static void trace_sample(const nb_experiment *e, nbi_pixel_trace *tr, const double *cell, double h,
                         double k, double l, double h0, double k0, double l0, double L2)
{
    tr->hkl[0] = h;
    tr->hkl[1] = k;
    tr->hkl[2] = l;
    tr->hkl0[0] = h0;
    tr->hkl0[1] = k0;
    tr->hkl0[2] = l0;
    tr->F_latt = lattice_factor(e, h, k, l, L2);
    tr->cell = cell;
}

/* The phi x mosaic loop; tr is a constant NULL in the untraced copy. */
NB_INLINE void sweep_samples(const nb_experiment *e, vec3 S, pixel_state *ps, nbi_pixel *out,
                             nbi_pixel_trace *tr)
{
    const nbi_crystal *x = &e->xtal;
    const nbi_detector *d = &e->det;
    const int n = x->phisteps * x->domains;
    for (int i = 0; i < n; ++i) {
        const double *c = ps->cells + 9 * i;
        double h = c[0] * S.x + c[1] * S.y + c[2] * S.z;
        double k = c[3] * S.x + c[4] * S.y + c[5] * S.z;
        double l = c[6] * S.x + c[7] * S.y + c[8] * S.z;
        double h0 = round_index(h), k0 = round_index(k), l0 = round_index(l);
        double L2 = lattice_factor2(e, h, k, l), F_cell;
        if (tr)
            trace_sample(e, tr, c, h, k, l, h0, k0, l0, L2);
        if (L2 == 0.0 && e->water_m == 0.0)
            continue;
        F_cell = structure_factor(e, h, k, l, h0, k0, l0, &ps->interp, out);
        if (tr)
            tr->F_cell = F_cell;
        ps->I += F_cell * F_cell * L2;
        if (d->oversample_thick) ps->I *= ps->capture;
        if (d->oversample_polar) ps->I *= ps->polar;
        if (d->oversample_omega) ps->I *= ps->omega;
    }
}

/* Sum over phi steps and mosaic domains for one scattering vector. */
static void sweep(const nb_experiment *e, vec3 S, pixel_state *ps, nbi_pixel *out)
{
    if (ps->trace)
        sweep_samples(e, S, ps, out, ps->trace);
    else
        sweep_samples(e, S, ps, out, NULL);
    ps->cells = e->xtal.cells;
    out->swept = 1;
}

/* All sources for one sub-pixel whose unit direction is diff. */
static void sources(const nb_experiment *e, vec3 diff, pixel_state *ps, nbi_pixel *out)
{
    const nbi_sources *src = &e->src;
    for (int s = 0; s < src->n; ++s) {
        vec3 inc = v3(-src->x[s], -src->y[s], -src->z[s]);
        double lambda = src->lambda_m[s];
        vec3 S = v3((diff.x - inc.x) / lambda, (diff.y - inc.y) / lambda, (diff.z - inc.z) / lambda);
        if (ps->trace)
            ps->trace->stol_m = 0.5 * v3_mag(S);
        if (e->dmin_m > 0.0
            && !nbi_within_dmin_d(diff.x, diff.y, diff.z, inc.x, inc.y, inc.z, 1.0 / lambda, 0.5 / e->dmin_m))
            continue;
        if (ps->polar == 0.0 || e->det.oversample_polar) {
            vec3 E, B;
            v3_unit(diff, &diff); /* nanoBragg renormalises the diffracted direction here */
            nbi_polar_frame(inc, e->polar_vector, &E, &B);
            /* (with -oversample_polar even under -nopolar, as nanoBragg) */
            ps->polar = nbi_polarization(e->polarization, inc.x, inc.y, inc.z, E.x, E.y, E.z, B.x, B.y, B.z,
                                         diff.x, diff.y, diff.z);
        }
        sweep(e, S, ps, out);
    }
}

/* Lab-frame position (m) of sub-pixel (subF, subS) of pixel (f, s) in
   detector layer t. */
static inline vec3 subpixel_position(const nb_experiment *e, int f, int s, int t, int subF, int subS)
{
    const nbi_detector *d = &e->det;
    const int os = d->oversample;
    const double sub = d->subpixel_m;
    vec3 pos = nbi_detector_point(d->fdet, d->sdet, d->odet, d->pix0, nbi_subpixel_offset(sub, f, os, subF),
                                  nbi_subpixel_offset(sub, s, os, subS), t * d->thickstep_m);
    return d->curved ? nbi_curved_position(e->beam.dir, d->sdet, d->fdet, d->distance_m, pos) : pos;
}

vec3 nbi_subpixel_direction(const nb_experiment *e, int f, int s, int t, int subF, int subS,
                            double *airpath)
{
    vec3 diff;
    *airpath = v3_unit(subpixel_position(e, f, s, t, subF, subS), &diff);
    return diff;
}

static void subpixel(const nb_experiment *e, int f, int s, int t, int subF, int subS, pixel_state *ps,
                     nbi_pixel *out)
{
    const nbi_detector *d = &e->det;
    const vec3 pos = subpixel_position(e, f, s, t, subF, subS);
    vec3 diff;
    const double airpath = v3_unit(pos, &diff);
    if (ps->trace)
        ps->trace->pos_m = pos;
    if (ps->omega == 0.0 || d->oversample_omega)
        ps->omega = nbi_solid_angle(d->point_pixel, d->pixel_m, d->close_distance_m, airpath);
    out->omega_sum += ps->omega;
    if (ps->capture == 0.0 || d->oversample_thick)
        ps->capture = nbi_capture_fraction(v3_dot(diff, d->odet), t, d->thickstep_m, d->mu);
    sources(e, diff, ps, out);
}

static void render_pixel(const nb_experiment *e, int fpixel, int spixel, int interpolate, int first_sweep,
                         nbi_pixel *out, nbi_pixel_trace *trace)
{
    const nbi_detector *d = &e->det;
    const int os = d->oversample;
    pixel_state ps;
    double test;

    out->value = out->omega_sum = 0.0;
    out->swept = out->interp_off = 0;
    ps.I = e->I_bg;
    ps.polar = e->nopolar ? 1.0 : 0.0;
    ps.omega = 0.0;
    ps.capture = 1.0;
    ps.interp = interpolate;
    ps.cells = first_sweep ? e->xtal.cells_first : e->xtal.cells;
    ps.trace = trace;
    for (int t = 0; t < d->thicksteps; ++t) {
        ps.capture = d->thick_m == 0.0 ? 1.0 : 0.0;
        for (int subS = 0; subS < os; ++subS)
            for (int subF = 0; subF < os; ++subF)
                subpixel(e, fpixel, spixel, t, subF, subS, &ps, out);
    }
    test = NB_R_E_SQR * e->fluence * ps.I / e->steps;
    if (!d->oversample_thick) test *= ps.capture;
    if (!d->oversample_polar) test *= ps.polar;
    if (!d->oversample_omega) test *= ps.omega;
    out->value = test;
    if (trace) {
        trace->I = ps.I;
        trace->polar = ps.polar;
        trace->omega = ps.omega;
        trace->capture = ps.capture;
    }
}

void nbi_render_pixel(const nb_experiment *e, int fpixel, int spixel, int interpolate, int first_sweep,
                      nbi_pixel *out)
{
    render_pixel(e, fpixel, spixel, interpolate, first_sweep, out, NULL);
}

void nbi_render_pixel_traced(const nb_experiment *e, int fpixel, int spixel, int interpolate,
                             int first_sweep, nbi_pixel *out, nbi_pixel_trace *trace)
{
    render_pixel(e, fpixel, spixel, interpolate, first_sweep, out, trace);
}
