/*
 * kernel.c - per-pixel diffraction sum, written to reproduce nanoBragg's
 * arithmetic (operation order included) so that images agree to float
 * precision, including its quirks: polarization, solid angle and absorption
 * are taken from the first sub-pixel and source unless -oversample_* asks
 * otherwise, and then multiply the running sum; the absorption of the last
 * detector layer scales the whole pixel.
 */
#include "kernel.h"

#include <math.h>

/* Kahn polarization factor; renormalises diffracted in place as nanoBragg does. */
double nbi_polarization_factor(double kahn, vec3 incident, vec3 *diffracted, vec3 axis)
{
    double c2, c2sq, s2sq, psi = 0.0;
    vec3 B_in, E_in;
    v3_unit(incident, &incident);
    v3_unit(*diffracted, diffracted);
    v3_unit(axis, &axis);
    c2 = v3_dot(incident, *diffracted);
    c2sq = c2 * c2;
    s2sq = 1 - c2sq;
    if (kahn != 0.0) {
        v3_unit(v3_cross(axis, incident), &B_in);
        v3_unit(v3_cross(incident, B_in), &E_in);
        psi = -atan2(v3_dot(*diffracted, B_in), v3_dot(*diffracted, E_in));
    }
    return 0.5 * (1.0 + c2sq - kahn * cos(2 * psi) * s2sq);
}

static inline double sincg(double x, double N) { return x == 0.0 ? N : sin(x * N) / sin(x); }
static inline double sinc3(double x) { return x == 0.0 ? 1.0 : 3.0 * (sin(x) / x - cos(x)) / (x * x); }

/* Nearest integer as nanoBragg rounds (ceil(x - 0.5)), kept as a double. */
static inline double round_index(double x) { return ceil(x - 0.5); }

static int as_index(double x, int *i)
{
    if (!(x > -1e9 && x < 1e9))
        return 0;
    *i = (int)x;
    return 1;
}

/* Lattice transform of the crystal at fractional (h,k,l). */
static double lattice_factor(const nb_crystal *x, double h, double k, double l, double h0, double k0,
                             double l0)
{
    double Na = x->Na, Nb = x->Nb, Nc = x->Nc, r2;
    if (x->shape == NB_SHAPE_SQUARE) {
        double F = 1.0;
        if (Na > 1) F *= sincg(M_PI * h, Na);
        if (Nb > 1) F *= sincg(M_PI * k, Nb);
        if (Nc > 1) F *= sincg(M_PI * l, Nc);
        return F;
    }
    if (x->shape == NB_SHAPE_ROUND) {
        double hr = (h - h0) * (h - h0) * Na * Na + (k - k0) * (k - k0) * Nb * Nb + (l - l0) * (l - l0) * Nc * Nc;
        return Na * Nb * Nc * 0.723601254558268 * sinc3(M_PI * sqrt(hr * x->fudge));
    }
    {
        double dx = (h - h0) * x->astar.x + (k - k0) * x->bstar.x + (l - l0) * x->cstar.x;
        double dy = (h - h0) * x->astar.y + (k - k0) * x->bstar.y + (l - l0) * x->cstar.y;
        double dz = (h - h0) * x->astar.z + (k - k0) * x->bstar.z + (l - l0) * x->cstar.z;
        r2 = (dx * dx + dy * dy + dz * dz) * Na * Na * Nb * Nb * Nc * Nc;
    }
    if (x->shape == NB_SHAPE_GAUSS)
        return Na * Nb * Nc * exp(-(r2 / 0.63 * x->fudge));
    return Na * Nb * Nc * (r2 * x->fudge < 0.3969);
}

/* Structure factor at (h,k,l); may switch interpolation off for good. */
static double structure_factor(const nb_experiment *e, double h, double k, double l, double h0,
                               double k0, double l0, int *interp, nbi_pixel *out)
{
    int ih, ik, il;
    if (*interp) {
        if (nb_hkl_interp_ok(&e->hkl, h, k, l))
            return nb_hkl_interpolate(&e->hkl, h, k, l);
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
        return nb_hkl_nearest(&e->hkl, ih, ik, il, e->default_F);
    return e->default_F;
}

/* Per-pixel running state shared by the loops below. */
typedef struct pixel_state {
    double I, polar, omega, capture;
    int interp;
    const double *cells;
} pixel_state;

/* Sum over phi steps and mosaic domains for one scattering vector. */
static void sweep(const nb_experiment *e, vec3 S, pixel_state *ps, nbi_pixel *out)
{
    const nb_crystal *x = &e->xtal;
    const nb_detector *d = &e->det;
    const int n = x->phisteps * x->domains;
    for (int i = 0; i < n; ++i) {
        const double *c = ps->cells + 9 * i;
        double h = c[0] * S.x + c[1] * S.y + c[2] * S.z;
        double k = c[3] * S.x + c[4] * S.y + c[5] * S.z;
        double l = c[6] * S.x + c[7] * S.y + c[8] * S.z;
        double h0 = round_index(h), k0 = round_index(k), l0 = round_index(l);
        double F_latt = lattice_factor(x, h, k, l, h0, k0, l0), F_cell;
        if (F_latt == 0.0 && e->water_m == 0.0)
            continue;
        F_cell = structure_factor(e, h, k, l, h0, k0, l0, &ps->interp, out);
        ps->I += F_cell * F_cell * F_latt * F_latt;
        if (d->oversample_thick) ps->I *= ps->capture;
        if (d->oversample_polar) ps->I *= ps->polar;
        if (d->oversample_omega) ps->I *= ps->omega;
    }
    ps->cells = x->cells;
    out->swept = 1;
}

/* All sources for one sub-pixel whose unit direction is diff. */
static void sources(const nb_experiment *e, vec3 diff, pixel_state *ps, nbi_pixel *out)
{
    const nb_sources *src = &e->src;
    for (int s = 0; s < src->n; ++s) {
        vec3 inc = v3(-src->x[s], -src->y[s], -src->z[s]);
        double lambda = src->lambda_m[s];
        vec3 S = v3((diff.x - inc.x) / lambda, (diff.y - inc.y) / lambda, (diff.z - inc.z) / lambda);
        double stol = 0.5 * v3_mag(S);
        if (e->dmin_m > 0.0 && stol > 0.0 && e->dmin_m > 0.5 / stol)
            continue;
        if (ps->polar == 0.0 || e->det.oversample_polar)
            ps->polar = nbi_polarization_factor(e->polarization, inc, &diff, e->polar_vector);
        sweep(e, S, ps, out);
    }
}

/* Position of a sub-pixel in the lab frame (metres). */
static vec3 subpixel_position(const nb_detector *d, double Fdet, double Sdet, double Odet)
{
    return v3(Fdet * d->fdet.x + Sdet * d->sdet.x + Odet * d->odet.x + d->pix0.x,
              Fdet * d->fdet.y + Sdet * d->sdet.y + Odet * d->odet.y + d->pix0.y,
              Fdet * d->fdet.z + Sdet * d->sdet.z + Odet * d->odet.z + d->pix0.z);
}

/* Curved detector: every pixel at the same distance; nanoBragg treats the
   flat position's y and z as angles about the slow and fast axes. */
static vec3 curved_position(const nb_experiment *e, vec3 p)
{
    const nb_detector *d = &e->det;
    vec3 beam = e->beam.dir;
    vec3 v = v3(d->distance_m * beam.x, d->distance_m * beam.y, d->distance_m * beam.z);
    v = v3_rotate_axis(v, d->sdet, p.y / d->distance_m);
    return v3_rotate_axis(v, d->fdet, p.z / d->distance_m);
}

vec3 nbi_subpixel_direction(const nb_experiment *e, int f, int s, int t, int subF, int subS,
                            double *airpath)
{
    const nb_detector *d = &e->det;
    const int os = d->oversample;
    const double sub = d->subpixel_m;
    double Fdet = sub * (f * os + subF) + sub / 2.0;
    double Sdet = sub * (s * os + subS) + sub / 2.0;
    vec3 pos = subpixel_position(d, Fdet, Sdet, t * d->thickstep_m), diff;
    if (d->curved)
        pos = curved_position(e, pos);
    *airpath = v3_unit(pos, &diff);
    return diff;
}

double nbi_solid_angle(const nb_detector *d, double airpath)
{
    if (d->point_pixel)
        return 1.0 / airpath / airpath;
    return d->pixel_m * d->pixel_m / airpath / airpath * d->close_distance_m / airpath;
}

double nbi_capture_fraction(const nb_detector *d, int t, vec3 diff)
{
    double parallax = v3_dot(diff, d->odet);
    return exp(-t * d->thickstep_m * d->mu / parallax) - exp(-(t + 1) * d->thickstep_m * d->mu / parallax);
}

static void subpixel(const nb_experiment *e, int f, int s, int t, int subF, int subS, pixel_state *ps,
                     nbi_pixel *out)
{
    const nb_detector *d = &e->det;
    double airpath;
    vec3 diff = nbi_subpixel_direction(e, f, s, t, subF, subS, &airpath);
    if (ps->omega == 0.0 || d->oversample_omega)
        ps->omega = nbi_solid_angle(d, airpath);
    out->omega_sum += ps->omega;
    if (ps->capture == 0.0 || d->oversample_thick)
        ps->capture = nbi_capture_fraction(d, t, diff);
    sources(e, diff, ps, out);
}

void nbi_render_pixel(const nb_experiment *e, int fpixel, int spixel, int interpolate, int first_sweep,
                      nbi_pixel *out)
{
    const nb_detector *d = &e->det;
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
}
