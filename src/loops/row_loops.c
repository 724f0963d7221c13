/*
 * row_loops.c - the row kernel's vector loops: for one pass (orientation x
 * source), F^2 times the squared lattice factor of every sample of a run of
 * pixels (see kernel_row.c for the method, row_loops.h for how the copies
 * per instruction set are built and chosen).
 *
 * This file is compiled once per instruction set; NBI_LOOPS_TABLE names the
 * table the copy exports (nbi_row_loops_baseline when not defined) and
 * NBI_LOOPS_ISA describes it.  The parallelepiped loops exist in double and
 * in float from one text (row_loops_real.h); the physics they evaluate is
 * in physics.h.
 */
#include "row_loops.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifndef NBI_LOOPS_TABLE
#define NBI_LOOPS_TABLE nbi_row_loops_baseline
#endif
#ifndef NBI_LOOPS_ISA
#define NBI_LOOPS_ISA "the compiler's baseline"
#endif

/* Double precision: directions and sums in double. */
#define REAL double
#define L(name) name##_d
#define P(name) nbi_##name##_d
#define DIRS(w, c) ((w)->d##c)
#define ACC(w) ((w)->acc)
#define AFTER_PASS(w) ((void)(w))
#define LAT(w) ((w)->lat)
#define HKL(w) ((w)->hkl)
#define GRID(e) nbi_hkl_grid(&(e)->hkl)
#define FMA fma
#include "row_loops_real.h"

/* -precision single: float directions (copies of the double ones) and float
   terms, summed in float and flushed into the double sums. */
#define REAL float
#define L(name) name##_f
#define P(name) nbi_##name##_f
#define DIRS(w, c) ((w)->f##c)
#define ACC(w) ((w)->accf)
#define AFTER_PASS(w)                                                                              \
    do {                                                                                           \
        if (++(w)->pending == NB_SINGLE_FLUSH)                                                     \
            nbi_flush_single(w);                                                                   \
    } while (0)
#define LAT(w) ((w)->latf)
#define HKL(w) ((w)->hklf)
#define GRID(e) nbi_hkl_grid_single(&(e)->hkl)
#define FMA fmaf
#include "row_loops_real.h"

/* Other crystal shapes: nanoBragg's formulas, one sample at a time. */
static void accumulate_general(const nb_experiment *e, const pass *p, int interp, nbi_row *w)
{
    const nbi_crystal *x = &e->xtal;
    const nbi_grid_d g = nbi_hkl_grid(&e->hkl);
    for (int i = 0; i < w->n; ++i) {
        const double h = nbi_miller_index_d(p->H, w->dx[i], w->dy[i], w->dz[i]);
        const double k = nbi_miller_index_d(p->K, w->dx[i], w->dy[i], w->dz[i]);
        const double l = nbi_miller_index_d(p->L, w->dx[i], w->dy[i], w->dz[i]);
        double L, F, s_round;
        if (p->stol_max > 0.0 && !passes_dmin(p, w->dx[i], w->dy[i], w->dz[i]))
            continue;
        L = nbi_lattice_shape(x->shape, x->Na, x->Nb, x->Nc, x->fudge, x->astar, x->bstar, x->cstar, h, k, l,
                              &s_round);
        if (x->shape == NB_SHAPE_ROUND && s_round < ROUND_EXACT_S)
            w->event[i] |= EV_EXACT;
        /* nanoBragg looks no further where the lattice factor is exactly 0 */
        if (L == 0.0 && e->water_m == 0.0)
            continue;
        if (interp && nbi_interp_ok_d(g, h, k, l)) {
            F = nbi_interpolate_d(g, h, k, l);
        } else {
            int inside = 0;
            const int j = e->have_hkl ? nbi_nearest_index_d(g, h, k, l, &inside) : 0;
            w->event[i] |= (unsigned char)(interp ? EV_INTERP_OFF : 0);
            F = inside ? g.F[j] : e->default_F;
        }
        w->acc[i] = fma(F * F, L * L, w->acc[i]);
    }
}

/* Unit directions and distances of sample q (sub-pixel subF, subS of layer t)
   of every pixel of the run: samples q*np .. q*np + np - 1. */
static void flat_directions(const nbi_detector *d, int s, int q, int t, int subF, int subS, nbi_row *w)
{
    const int np = w->np, os = d->oversample, base = q * np;
    const double sub = d->subpixel_m;
    const double Sdet = nbi_subpixel_offset(sub, s, os, subS), Odet = t * d->thickstep_m;
    const vec3 f = d->fdet, sd = d->sdet, o = d->odet, p0 = d->pix0;
    const double *restrict fpix = w->fpix;
    double *restrict dx = w->dx + base, *restrict dy = w->dy + base, *restrict dz = w->dz + base,
                     *restrict air = w->lat + base;
    NB_SIMD
    for (int j = 0; j < np; ++j) {
        const vec3 x = nbi_detector_point(f, sd, o, p0, nbi_subpixel_offset(sub, fpix[j], os, subF), Sdet, Odet);
        const double r = sqrt(x.x * x.x + x.y * x.y + x.z * x.z), inv = 1.0 / r;
        air[j] = r;
        dx[j] = x.x * inv;
        dy[j] = x.y * inv;
        dz[j] = x.z * inv;
    }
}

/* Per-pixel factors with no -dmin cut: solid angle (first sample),
   polarization (first sample, first source), all pixels at once. */
static void pixel_factors_uncut(const nb_experiment *e, nbi_row *w)
{
    const nbi_detector *d = &e->det;
    const nbi_sources *src = &e->src;
    const int np = w->np;
    const double pixel = d->pixel_m, close = d->close_distance_m, kahn = e->polarization;
    const double ix = -src->x[0], iy = -src->y[0], iz = -src->z[0];
    vec3 E, B;
    nbi_polar_frame(v3(ix, iy, iz), e->polar_vector, &E, &B);
    const double ex = E.x, ey = E.y, ez = E.z, bx = B.x, by = B.y, bz = B.z;
    const int point = d->point_pixel, nopolar = e->nopolar;
    const double *restrict air = w->lat, *restrict dx = w->dx, *restrict dy = w->dy, *restrict dz = w->dz;
    double *restrict omega = w->omega, *restrict polar = w->polar;
    NB_SIMD
    for (int j = 0; j < np; ++j) {
        omega[j] = nbi_solid_angle(point, pixel, close, air[j]);
        polar[j] = nopolar ? 1.0 : nbi_polarization(kahn, ix, iy, iz, ex, ey, ez, bx, by, bz, dx[j], dy[j], dz[j]);
    }
}

/* Pixel values from the sums (nanoBragg's final scaling), all pixels at once. */
static double finish_pixels(const nb_experiment *e, const nbi_row *w, double *value)
{
    const int np = w->np, per_pixel = w->n / np;
    const double scale = NB_R_E_SQR * e->fluence, steps = (double)e->steps, I_bg = e->I_bg;
    const double *restrict acc = w->acc;
    double omega_sum = 0.0;
    NB_SIMD
    for (int j = 0; j < np; ++j)
        value[j] = I_bg;
    for (int q = 0; q < per_pixel; ++q) {
        const double *restrict a = acc + (long)q * np;
        NB_SIMD
        for (int j = 0; j < np; ++j)
            value[j] += a[j];
    }
#ifdef NB_HAVE_OPENMP
#pragma omp simd reduction(+ : omega_sum)
#endif
    for (int j = 0; j < np; ++j) {
        double test = scale * value[j] / steps;
        test *= w->capture[j];
        test *= w->polar[j];
        test *= w->omega[j];
        value[j] = test;
        omega_sum += w->omega[j] * per_pixel;
    }
    return omega_sum;
}


static double lattice_square2(double h, double k, double l, double Na, double Nb, double Nc)
{
    return nbi_lattice_square2_d(h, k, l, Na, Nb, Nc);
}

static double interpolate(const nbi_hkl *t, double h, double k, double l)
{
    return nbi_hkl_interpolate(t, h, k, l);
}

/* ---- the loss gradient's loops (deriv.c): the sums per lane, see row_loops.h ---- */

/* Miller index j of the direction (dx, dy, dz) in pass m (unfused: the
   same bits on every instruction set). */
NB_INLINE double grad_index(const nbi_grad_pass *m, int j, double dx, double dy, double dz)
{
    return m->H[j][0] * dx + m->H[j][1] * dy + m->H[j][2] * dz - m->H0[j];
}

/* F of the sample at (h, k, l): the nearest reflection's (hkl: the
   experiment has a table; the index is always that of a grid point, so the
   load is unconditional), or default_F. */
NB_INLINE double grad_F(const nb_experiment *e, const nbi_grid_d *g, double h, double k, double l, const int hkl)
{
    int inside;
    int at;
    double F;
    if (!hkl)
        return e->default_F;
    at = nbi_nearest_index_d(*g, h, k, l, &inside);
    F = g->F[at];
    return inside ? F : e->default_F;
}

NB_INLINE void grad_values_body(const nb_experiment *e, const nbi_grad_pass *m, nbi_grad_row *b, const int hkl)
{
    const nbi_crystal *x = &e->xtal;
    const nbi_grid_d g = nbi_hkl_grid(&e->hkl);
    const double Na = x->Na, Nb = x->Nb, Nc = x->Nc;
    const double *dx = b->dx, *dy = b->dy, *dz = b->dz;
    double *t = b->t;
    NB_SIMD
    for (int i = 0; i < b->n; ++i) {
        const double h = grad_index(m, 0, dx[i], dy[i], dz[i]), k = grad_index(m, 1, dx[i], dy[i], dz[i]);
        const double l = grad_index(m, 2, dx[i], dy[i], dz[i]);
        double d0, d1, d2, n0, n1, n2;
        const double L = nbi_grating_diff(h, Na, &d0, &n0) * nbi_grating_diff(k, Nb, &d1, &n1)
                         * nbi_grating_diff(l, Nc, &d2, &n2);
        const double F = grad_F(e, &g, h, k, l, hkl);
        t[i] += F * F * L * L;
    }
}

static void grad_values(const nb_experiment *e, const nbi_grad_pass *m, nbi_grad_row *b)
{
    if (e->have_hkl)
        grad_values_body(e, m, b, 1);
    else
        grad_values_body(e, m, b, 0);
}

/* NN: 0 for any Na, Nb, Nc; else the whole N of an N x N x N crystal,
   known at compile time (the Chebyshev forms of the lattice factor). */
NB_INLINE double grad_grating(double h, double N, const int NN, double *dh, double *dN)
{
    return NN ? nbi_grating_chebyshev_diff(h, NN, dh, dN) : nbi_grating_diff(h, N, dh, dN);
}

/* want_N: 0 when no parameter needs the sums over N (their terms, with a
   division each, are then left out: the compiler drops them). */

NB_INLINE void grad_adjoint_body(const nb_experiment *e, const nbi_grad_pass *m, nbi_grad_row *b,
                                 double sums[NB_GRAD_SUMS], const int hkl, const int NN, const int want_N)
{
    const nbi_crystal *x = &e->xtal;
    const nbi_grid_d g = nbi_hkl_grid(&e->hkl);
    const double Na = x->Na, Nb = x->Nb, Nc = x->Nc, il = m->inv_lambda, *c = m->cell;
    const double *dx = b->dx, *dy = b->dy, *dz = b->dz, *aw = b->aw;
    double *ux = b->ux, *uy = b->uy, *uz = b->uz;
    double r[NB_GRAD_SUMS][NB_GRAD_LANES];
    memset(r, 0, sizeof r);
    for (int i0 = 0; i0 < b->n; i0 += NB_GRAD_LANES) {
        NB_SIMD
        for (int q = 0; q < NB_GRAD_LANES; ++q) {
            const int i = i0 + q;
            const double h = grad_index(m, 0, dx[i], dy[i], dz[i]), k = grad_index(m, 1, dx[i], dy[i], dz[i]);
            const double l = grad_index(m, 2, dx[i], dy[i], dz[i]);
            double d0, d1, d2, n0, n1, n2;
            const double Ga = grad_grating(h, Na, NN, &d0, &n0), Gb = grad_grating(k, Nb, NN, &d1, &n1);
            const double Gc = grad_grating(l, Nc, NN, &d2, &n2);
            const double F = grad_F(e, &g, h, k, l, hkl), wF2 = aw[i] * F * F;
            const double Ga2 = Ga * Ga, Gb2 = Gb * Gb, Gc2 = Gc * Gc;
            const double gh = wF2 * 2.0 * Ga * d0 * Gb2 * Gc2, gk = wF2 * 2.0 * Gb * d1 * Ga2 * Gc2;
            const double gl = wF2 * 2.0 * Gc * d2 * Ga2 * Gb2;
            r[0][q] += gh * dx[i], r[1][q] += gh * dy[i], r[2][q] += gh * dz[i], r[3][q] += gh;
            r[4][q] += gk * dx[i], r[5][q] += gk * dy[i], r[6][q] += gk * dz[i], r[7][q] += gk;
            r[8][q] += gl * dx[i], r[9][q] += gl * dy[i], r[10][q] += gl * dz[i], r[11][q] += gl;
            r[12][q] += gh * h + gk * k + gl * l;
            if (want_N) {
                r[13][q] += wF2 * 2.0 * Ga * n0 * Gb2 * Gc2;
                r[14][q] += wF2 * 2.0 * Gb * n1 * Ga2 * Gc2;
                r[15][q] += wF2 * 2.0 * Gc * n2 * Ga2 * Gb2;
            }
            ux[i] += (gh * c[0] + gk * c[3] + gl * c[6]) * il;
            uy[i] += (gh * c[1] + gk * c[4] + gl * c[7]) * il;
            uz[i] += (gh * c[2] + gk * c[5] + gl * c[8]) * il;
        }
    }
    for (int s = 0; s < NB_GRAD_SUMS; ++s) {
        double v = 0.0;
        for (int q = 0; q < NB_GRAD_LANES; ++q)
            v += r[s][q];
        sums[s] = v;
    }
}

#define GRAD_CUBE(NN)                                                                              \
    case NN:                                                                                       \
        if (e->have_hkl)                                                                           \
            grad_adjoint_body(e, m, b, sums, 1, NN, 1);                                            \
        else if (m->want_N)                                                                        \
            grad_adjoint_body(e, m, b, sums, 0, NN, 1);                                            \
        else                                                                                       \
            grad_adjoint_body(e, m, b, sums, 0, NN, 0);                                            \
        return;

static void grad_adjoint(const nb_experiment *e, const nbi_grad_pass *m, nbi_grad_row *b, double sums[NB_GRAD_SUMS])
{
    const nbi_crystal *x = &e->xtal;
    if (x->Na == x->Nb && x->Na == x->Nc && x->Na == (int)x->Na) {
        switch ((int)x->Na) {
            /* beyond N = 6 the recurrences (value, slope, T_N: 8 operations a step)
               cost more than the general form's sines */
            GRAD_CUBE(2) GRAD_CUBE(3) GRAD_CUBE(4) GRAD_CUBE(5) GRAD_CUBE(6)
        default: break;
        }
    }
    if (e->have_hkl)
        grad_adjoint_body(e, m, b, sums, 1, 0, 1);
    else
        grad_adjoint_body(e, m, b, sums, 0, 0, 1);
}
#undef GRAD_CUBE

NB_INLINE void jac_terms_body(const nb_experiment *e, const nbi_grad_pass *m, nbi_grad_row *b, const int hkl)
{
    const nbi_crystal *x = &e->xtal;
    const nbi_grid_d g = nbi_hkl_grid(&e->hkl);
    const double Na = x->Na, Nb = x->Nb, Nc = x->Nc, il = m->inv_lambda, *c = m->cell;
    const double *dx = b->dx, *dy = b->dy, *dz = b->dz;
    double *ux = b->ux, *uy = b->uy, *uz = b->uz, *t = b->t;
    double *Gh = b->gh, *Gk = b->gk, *Gl = b->gl, *Glam = b->glam, *N0 = b->gn0, *N1 = b->gn1, *N2 = b->gn2;
    NB_SIMD
    for (int i = 0; i < b->n; ++i) {
        const double h = grad_index(m, 0, dx[i], dy[i], dz[i]), k = grad_index(m, 1, dx[i], dy[i], dz[i]);
        const double l = grad_index(m, 2, dx[i], dy[i], dz[i]);
        double d0, d1, d2, n0, n1, n2;
        const double Ga = nbi_grating_diff(h, Na, &d0, &n0), Gb = nbi_grating_diff(k, Nb, &d1, &n1);
        const double Gc = nbi_grating_diff(l, Nc, &d2, &n2);
        const double F = grad_F(e, &g, h, k, l, hkl), F2 = F * F;
        const double Ga2 = Ga * Ga, Gb2 = Gb * Gb, Gc2 = Gc * Gc;
        const double gh = F2 * 2.0 * Ga * d0 * Gb2 * Gc2, gk = F2 * 2.0 * Gb * d1 * Ga2 * Gc2;
        const double gl = F2 * 2.0 * Gc * d2 * Ga2 * Gb2;
        t[i] += F2 * Ga2 * Gb2 * Gc2;
        Gh[i] = gh, Gk[i] = gk, Gl[i] = gl;
        Glam[i] = -(gh * h + gk * k + gl * l) * il;
        N0[i] = F2 * 2.0 * Ga * n0 * Gb2 * Gc2;
        N1[i] = F2 * 2.0 * Gb * n1 * Ga2 * Gc2;
        N2[i] = F2 * 2.0 * Gc * n2 * Ga2 * Gb2;
        ux[i] += (gh * c[0] + gk * c[3] + gl * c[6]) * il;
        uy[i] += (gh * c[1] + gk * c[4] + gl * c[7]) * il;
        uz[i] += (gh * c[2] + gk * c[5] + gl * c[8]) * il;
    }
}

static void jac_terms(const nb_experiment *e, const nbi_grad_pass *m, nbi_grad_row *b)
{
    if (e->have_hkl)
        jac_terms_body(e, m, b, 1);
    else
        jac_terms_body(e, m, b, 0);
}

static void jac_add(const nbi_jac_move *mv, const nbi_grad_row *b, double *T)
{
    const double *dx = b->dx, *dy = b->dy, *dz = b->dz;
    const double *Gh = b->gh, *Gk = b->gk, *Gl = b->gl, *Glam = b->glam, *N0 = b->gn0, *N1 = b->gn1, *N2 = b->gn2;
    NB_SIMD
    for (int i = 0; i < b->n; ++i) {
        const double dh = mv->D[0][0] * dx[i] + mv->D[0][1] * dy[i] + mv->D[0][2] * dz[i] - mv->D0[0];
        const double dk = mv->D[1][0] * dx[i] + mv->D[1][1] * dy[i] + mv->D[1][2] * dz[i] - mv->D0[1];
        const double dl = mv->D[2][0] * dx[i] + mv->D[2][1] * dy[i] + mv->D[2][2] * dz[i] - mv->D0[2];
        T[i] += Gh[i] * dh + Gk[i] * dk + Gl[i] * dl + Glam[i] * mv->lam + N0[i] * mv->N[0] + N1[i] * mv->N[1]
                + N2[i] * mv->N[2];
    }
}

const nbi_row_loops NBI_LOOPS_TABLE = {
    NBI_LOOPS_ISA,
    accumulate_flat_d,
    accumulate_hkl_d,
    accumulate_interp_d,
    accumulate_flat_f,
    accumulate_hkl_f,
    accumulate_interp_f,
    accumulate_general,
    {{NULL, NULL, accumulate_cube_2_d, accumulate_cube_3_d, accumulate_cube_4_d, accumulate_cube_5_d,
      accumulate_cube_6_d, accumulate_cube_7_d, accumulate_cube_8_d, accumulate_cube_9_d,
      accumulate_cube_10_d, accumulate_cube_11_d, accumulate_cube_12_d},
     {NULL, NULL, accumulate_cube_2_f, accumulate_cube_3_f, accumulate_cube_4_f, accumulate_cube_5_f,
      accumulate_cube_6_f, accumulate_cube_7_f, accumulate_cube_8_f, accumulate_cube_9_f,
      accumulate_cube_10_f, accumulate_cube_11_f, accumulate_cube_12_f}},
    flat_directions,
    pixel_factors_uncut,
    finish_pixels,
    lattice_square2,
    interpolate,
    grad_values,
    grad_adjoint,
    jac_terms,
    jac_add,
};
