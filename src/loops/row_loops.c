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
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifndef NBI_LOOPS_TABLE
#define NBI_LOOPS_TABLE nbi_row_loops_baseline
#endif
#ifndef NBI_LOOPS_ISA
#define NBI_LOOPS_ISA "the compiler's baseline"
#endif

/* The length of the run of ones at l (bytes 0 or 1), up to max: eight
   bytes a step, so l[0 .. max + 7) must be readable. */
static inline int run_of_ones(const unsigned char *l, int max)
{
    for (int n = 0; n < max; n += 8) {
        uint64_t w, z;
        memcpy(&w, l + n, sizeof w);
        z = ~w & UINT64_C(0x0101010101010101);
        if (z) {
            n += __builtin_ctzll(z) / 8;
            return n < max ? n : max;
        }
    }
    return max;
}

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
    if (nopolar || kahn == 0.0) { /* no Kahn term: the same factor without its division */
        NB_SIMD
        for (int j = 0; j < np; ++j) {
            omega[j] = nbi_solid_angle(point, pixel, close, air[j]);
            polar[j] = nopolar ? 1.0 : nbi_polarization(0.0, ix, iy, iz, ex, ey, ez, bx, by, bz, dx[j], dy[j], dz[j]);
        }
        return;
    }
    NB_SIMD
    for (int j = 0; j < np; ++j) {
        omega[j] = nbi_solid_angle(point, pixel, close, air[j]);
        polar[j] = nbi_polarization(kahn, ix, iy, iz, ex, ey, ez, bx, by, bz, dx[j], dy[j], dz[j]);
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

/* Miller index j of the direction (dx, dy, dz) in pass m: the row
   kernel's arithmetic (nbi_miller_index_d). */
NB_INLINE double grad_index(const nbi_grad_pass *m, int j, double dx, double dy, double dz)
{
    return fma(m->H[j][2], dz, fma(m->H[j][1], dy, m->H[j][0] * dx)) - m->H0[j];
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

/* The lattice factor along one axis, its slope in h and its slope in N as
   num/den: NN > 0, the whole N of an N x N x N crystal known at compile
   time (nbi_grating_chebyshev_parts); 0, any N (nbi_grating_diff). */
NB_INLINE double grad_grating(double h, double N, const int NN, const double *slope, double *dh, double *num,
                              double *den)
{
    if (NN)
        return nbi_grating_chebyshev_parts(h, NN, slope, dh, num, den);
    *den = 1.0;
    return nbi_grating_diff(h, N, dh, num);
}

/*
 * The first sweep for pass m: per sample, the value F^2 L^2 (NN: the row
 * kernel's to the bit where there is no table) and the sums over the passes
 * of d(F^2 L^2)/dh_j / lambda (in slots m->slot ..) and of d(F^2 L^2)/dN
 * (want_N), into the blocks of b->S.
 */
NB_INLINE void grad_fused_body(const nb_experiment *e, const nbi_grad_pass *m, nbi_grad_row *b, const int hkl,
                               const int NN, const int want_N)
{
    const nbi_crystal *x = &e->xtal;
    const nbi_grid_d g = nbi_hkl_grid(&e->hkl);
    const double Na = x->Na, Nb = x->Nb, Nc = x->Nc, il = m->inv_lambda;
    const int first = m->first, W = NB_GRAD_LANES, o = m->slot;
    const double *restrict dx = b->dx, *restrict dy = b->dy, *restrict dz = b->dz;
    const double *slope = b->slope;
    for (int i0 = 0; i0 < b->n; i0 += W) {
        double *restrict S = b->S + (size_t)(i0 / W) * (size_t)b->bs;
        double *restrict A = S + o * W;
        NB_SIMD
        for (int q = 0; q < W; ++q) {
            const int i = i0 + q;
            const double h = grad_index(m, 0, dx[i], dy[i], dz[i]), k = grad_index(m, 1, dx[i], dy[i], dz[i]);
            const double l = grad_index(m, 2, dx[i], dy[i], dz[i]);
            double da, db, dc, na, nb, nc, pa, pb, pc; /* dG/dN = n / p */
            const double Ga = grad_grating(h, Na, NN, slope, &da, &na, &pa);
            const double Gb = grad_grating(k, Nb, NN, slope, &db, &nb, &pb);
            const double Gc = grad_grating(l, Nc, NN, slope, &dc, &nc, &pc);
            const double F = grad_F(e, &g, h, k, l, hkl), F2 = F * F, r = Ga * Gb * Gc, Q = 2.0 * F2 * r;
            const double Qa = Q * Gb * Gc, Qb = Q * Ga * Gc, Qc = Q * Ga * Gb;
            const double gh = Qa * da, gk = Qb * db, gl = Qc * dc;
            S[q] = fma(F2, r * r, S[q]);
            A[q] = fma(il, gh, first ? 0.0 : A[q]);
            A[W + q] = fma(il, gk, first ? 0.0 : A[W + q]);
            A[2 * W + q] = fma(il, gl, first ? 0.0 : A[2 * W + q]);
            if (want_N) {
                /* one division for the three axes */
                const double inv = 1.0 / (pa * pb * pc);
                S[W + q] = fma(Qa * na, pb * pc * inv, S[W + q]);
                S[2 * W + q] = fma(Qb * nb, pa * pc * inv, S[2 * W + q]);
                S[3 * W + q] = fma(Qc * nc, pa * pb * inv, S[3 * W + q]);
            }
        }
    }
}

#define GRAD_FUSED(hkl, NN)                                                                        \
    do {                                                                                           \
        if (m->want_N)                                                                             \
            grad_fused_body(e, m, b, hkl, NN, 1);                                                  \
        else                                                                                       \
            grad_fused_body(e, m, b, hkl, NN, 0);                                                  \
    } while (0)

#define GRAD_CUBE(NN)                                                                              \
    do {                                                                                           \
        if (e->have_hkl)                                                                           \
            GRAD_FUSED(1, NN);                                                                     \
        else                                                                                       \
            GRAD_FUSED(0, NN);                                                                     \
    } while (0)

static void grad_fused(const nb_experiment *e, const nbi_grad_pass *m, nbi_grad_row *b)
{
    NB_CUBE_DISPATCH(&e->xtal, GRAD_CUBE)
    GRAD_CUBE(0);
}
#undef GRAD_CUBE
#undef GRAD_FUSED

/* The second sweep for orientation o: the sums over the samples with the
   weights aw (kept per lane of NB_WEIGH_LANES, few enough that they stay in
   registers), then u += sum_j cell_j A_j (unweighted). */
#define NB_WEIGH_LANES 4
NB_INLINE void grad_weigh_body(const nbi_grad_row *b, int o, const double *cell, double sums[NB_GRAD_SUMS],
                               const int incident)
{
    const int W = NB_GRAD_LANES, V = NB_WEIGH_LANES;
    const double *dx = b->dx, *dy = b->dy, *dz = b->dz, *aw = b->aw;
    const double *c = cell;
    double *ux = b->ux, *uy = b->uy, *uz = b->uz;
    double r[NB_GRAD_SUMS][NB_WEIGH_LANES];
    memset(r, 0, sizeof r);
    for (int i0 = 0; i0 < b->n; i0 += W) {
        const double *A = b->S + (size_t)(i0 / W) * (size_t)b->bs + (NB_GRAD_ORIENT + b->na * o) * W;
        for (int h = 0; h < W; h += V) {
            NB_SIMD
            for (int q = 0; q < V; ++q) {
                const int i = i0 + h + q;
                const double A0 = A[h + q], A1 = A[W + h + q], A2 = A[2 * W + h + q];
                const double wx = aw[i] * dx[i], wy = aw[i] * dy[i], wz = aw[i] * dz[i];
                r[0][q] = fma(A0, wx, r[0][q]), r[1][q] = fma(A0, wy, r[1][q]), r[2][q] = fma(A0, wz, r[2][q]);
                r[3][q] = fma(A1, wx, r[3][q]), r[4][q] = fma(A1, wy, r[4][q]), r[5][q] = fma(A1, wz, r[5][q]);
                r[6][q] = fma(A2, wx, r[6][q]), r[7][q] = fma(A2, wy, r[7][q]), r[8][q] = fma(A2, wz, r[8][q]);
                if (incident) {
                    for (int s = 0; s < 9; ++s)
                        r[s][q] = fma(-aw[i], A[(3 + s) * W + h + q], r[s][q]);
                } else {
                    r[9][q] = fma(A0, aw[i], r[9][q]), r[10][q] = fma(A1, aw[i], r[10][q]);
                    r[11][q] = fma(A2, aw[i], r[11][q]);
                }
            }
        }
    }
    for (int i0 = 0; i0 < b->n; i0 += W) {
        const double *A = b->S + (size_t)(i0 / W) * (size_t)b->bs + (NB_GRAD_ORIENT + b->na * o) * W;
        NB_SIMD
        for (int q = 0; q < W; ++q) {
            const int i = i0 + q;
            const double A0 = A[q], A1 = A[W + q], A2 = A[2 * W + q];
            ux[i] = fma(c[6], A2, fma(c[3], A1, fma(c[0], A0, ux[i])));
            uy[i] = fma(c[7], A2, fma(c[4], A1, fma(c[1], A0, uy[i])));
            uz[i] = fma(c[8], A2, fma(c[5], A1, fma(c[2], A0, uz[i])));
        }
    }
    for (int s = 0; s < NB_GRAD_SUMS; ++s) {
        double v = 0.0;
        for (int q = 0; q < NB_WEIGH_LANES; ++q)
            v += r[s][q];
        sums[s] = v;
    }
}

static void grad_weigh(const nbi_grad_row *b, int o, const double *cell, double sums[NB_GRAD_SUMS])
{
    if (b->na == 12)
        grad_weigh_body(b, o, cell, sums, 1);
    else
        grad_weigh_body(b, o, cell, sums, 0);
}

/* Orientation o's sums += those of a run of sources with one incident
   direction inc (slots 4 .. 6): alone, and times each component of inc. */
static void grad_flush(nbi_grad_row *b, int o, const double inc[3], int first)
{
    const int W = NB_GRAD_LANES;
    const double ix = inc[0], iy = inc[1], iz = inc[2];
    for (int i0 = 0; i0 < b->n; i0 += W) {
        double *restrict S = b->S + (size_t)(i0 / W) * (size_t)b->bs;
        double *restrict A = S + (NB_GRAD_ORIENT + b->na * o) * W;
        const double *restrict G = S + 4 * W;
        NB_SIMD
        for (int q = 0; q < W; ++q) {
            for (int j = 0; j < 3; ++j) {
                const double g = G[j * W + q];
                A[j * W + q] = first ? g : A[j * W + q] + g;
                A[(3 + 3 * j) * W + q] = fma(ix, g, first ? 0.0 : A[(3 + 3 * j) * W + q]);
                A[(4 + 3 * j) * W + q] = fma(iy, g, first ? 0.0 : A[(4 + 3 * j) * W + q]);
                A[(5 + 3 * j) * W + q] = fma(iz, g, first ? 0.0 : A[(5 + 3 * j) * W + q]);
            }
        }
    }
}

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

/* poidev's g = exp(-xm) for means 0 <= xm < 12 (rng.h): (float)exp(-xm)
   from a short evaluation in double, with the C library's exp left to
   decide only where the rounding to float could differ.  exp(x) =
   2^k exp(r), k = round(x/ln 2), r = x - k ln 2 (|r| <= ln(2)/2, ln 2 in
   two parts), exp(r) by its Taylor series to r^12 (remainder below 2^-47
   relative), 2^k from the exponent bits: the double y is within 2^-45 of
   exp(x) (relative), and the C library's exp within one unit in the last
   place (2^-52).  Both round to the same float unless exp(x) lies near a
   midpoint between two floats, where the 29 low bits of y's significand
   are near 2^28: within 2^13 units of it (2^-39 relative, far more than
   both errors) need[i] is set and the C library decides.  So g is the
   library's value on every instruction set, whatever the compiler fuses;
   checked for every float in [0, 12), of which 7765 in 1.09e9 need the
   library.  Other xm (negative, 12 and up, NaN): need[i] = 1. */
static void exp_neg(const float *restrict xm, int n, float *restrict g, unsigned char *restrict need)
{
    const double log2e = 1.4426950408889634, ln2_hi = 0x1.62e42fee00000p-1, ln2_lo = 0x1.a39ef35793c76p-33;
    const double shift = 0x1.8p52; /* adding it rounds to an integer, held in the low bits */
    NB_SIMD
    for (int i = 0; i < n; ++i) {
        const double x = -(double)xm[i];
        const int ok = (x <= 0.0) & (x > -12.0);
        const double xs = x * (double)ok; /* NaN where not ok: need[i] covers it */
        union {
            double d;
            uint64_t u;
        } t, scale, y;
        double kd, r, p;
        t.d = xs * log2e + shift;
        kd = t.d - shift;
        r = (xs - kd * ln2_hi) - kd * ln2_lo;
        p = 1.0 / 479001600.0;
        p = p * r + 1.0 / 39916800.0;
        p = p * r + 1.0 / 3628800.0;
        p = p * r + 1.0 / 362880.0;
        p = p * r + 1.0 / 40320.0;
        p = p * r + 1.0 / 5040.0;
        p = p * r + 1.0 / 720.0;
        p = p * r + 1.0 / 120.0;
        p = p * r + 1.0 / 24.0;
        p = p * r + 1.0 / 6.0;
        p = p * r + 0.5;
        p = p * r + 1.0;
        p = p * r + 1.0;
        scale.u = (t.u + 1023) << 52; /* 2^k: k is t's low bits, -18 <= k <= 0 */
        y.d = p * scale.d;
        need[i] = (unsigned char)((ok ^ 1) | (((uint32_t)y.u & 0x1fffffffu) - (0x10000000u - 0x2000u) <= 0x4000u));
        g[i] = (float)y.d;
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
    grad_fused,
    grad_weigh,
    grad_flush,
    jac_terms,
    jac_add,
    exp_neg,
};
