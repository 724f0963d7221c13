/*
 * row_loops.c - the row kernel's vector loops (see kernel_row.c for the
 * method and row_loops.h for how they are compiled and chosen).
 *
 * This file is compiled once per instruction set; NBI_LOOPS_TABLE names the
 * table the copy exports (nbi_row_loops_baseline when not defined) and
 * NBI_LOOPS_ISA describes it.
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

/* sin(pi x) for |x| <= 0.5: odd Taylor polynomial of degree 19, relative
   error below 6e-16. */
NB_INLINE double sinpi_reduced(double x)
{
    const double z = x * x;
    double p = 5.392664662608129e-10;
    p = p * z - 2.2948428997269873e-08;
    p = p * z + 7.952054001475513e-07;
    p = p * z - 2.1915353447830217e-05;
    p = p * z + 0.00046630280576761255;
    p = p * z - 0.0073704309457143504;
    p = p * z + 0.08214588661112823;
    p = p * z - 0.5992645293207921;
    p = p * z + 2.5501640398773455;
    p = p * z - 5.16771278004997;
    p = p * z + 3.141592653589793;
    return x * p;
}

/* sin(N pi h) and sin(pi h) (signs irrelevant: only the squared ratio is
   used), N an integer >= 1.  Within 1e-9/N of an integer the ratio equals N
   to double precision (it is N (1 - (N^2-1) (pi delta)^2/6 + ...)), so the
   pair (N, 1) is returned there: no division by a vanishing sine. */
NB_INLINE void grating_pair(double h, double N, double *num, double *den)
{
    const double d = h - rint(h);
    const double y = N * d;
    const int zero = fabs(y) < 1e-9;
    *num = zero ? N : sinpi_reduced(y - rint(y));
    *den = zero ? 1.0 : sinpi_reduced(d);
}

/* (sin(N pi h)/sin(pi h))^2 for a parallelepiped of Na x Nb x Nc cells. */
NB_INLINE double lattice2(double h, double k, double l, double Na, double Nb, double Nc)
{
    double nh, dh, nk, dk, nl, dl, num, den;
    grating_pair(h, Na, &nh, &dh);
    grating_pair(k, Nb, &nk, &dk);
    grating_pair(l, Nc, &nl, &dl);
    num = nh * nk * nl;
    den = dh * dk * dl;
    num /= den;
    return num * num;
}


/* The lattice factor of the round, Gaussian and top-hat shapes; *exact is
   set where only nanoBragg's own arithmetic (the reference kernel) gives
   its value. */
static double lattice_other(const nb_crystal *x, double h, double k, double l, unsigned char *exact)
{
    const double h0 = ceil(h - 0.5), k0 = ceil(k - 0.5), l0 = ceil(l - 0.5);
    const double Na = x->Na, Nb = x->Nb, Nc = x->Nc;
    double dx, dy, dz, r2;
    if (x->shape == NB_SHAPE_ROUND) {
        double hr = (h - h0) * (h - h0) * Na * Na + (k - k0) * (k - k0) * Nb * Nb + (l - l0) * (l - l0) * Nc * Nc;
        double s = M_PI * sqrt(hr * x->fudge);
        double sinc3;
        if (s < ROUND_EXACT_S)
            *exact |= EV_EXACT;
        sinc3 = s == 0.0 ? 1.0 : 3.0 * (sin(s) / s - cos(s)) / (s * s);
        return Na * Nb * Nc * 0.723601254558268 * sinc3;
    }
    dx = (h - h0) * x->astar.x + (k - k0) * x->bstar.x + (l - l0) * x->cstar.x;
    dy = (h - h0) * x->astar.y + (k - k0) * x->bstar.y + (l - l0) * x->cstar.y;
    dz = (h - h0) * x->astar.z + (k - k0) * x->bstar.z + (l - l0) * x->cstar.z;
    r2 = (dx * dx + dy * dy + dz * dz) * Na * Na * Nb * Nb * Nc * Nc;
    if (x->shape == NB_SHAPE_GAUSS)
        return Na * Nb * Nc * exp(-(r2 / 0.63 * x->fudge));
    return Na * Nb * Nc * (r2 * x->fudge < 0.3969);
}

/* The vectorised loops: parallelepiped crystal, F = default_F everywhere
   (no HKL table) or the nearest reflection's. */
static void accumulate_square_flat(const nb_experiment *e, const pass *p, int interp, nbi_row *w)
{
    (void)interp;
    const double Na = e->xtal.Na, Nb = e->xtal.Nb, Nc = e->xtal.Nc;
    const double F2 = e->default_F * e->default_F;
    const int n = w->n;
    const double *restrict dx = w->dx, *restrict dy = w->dy, *restrict dz = w->dz;
    double *restrict acc = w->acc;
    const pass q = *p;
    if (q.stol_max > 0.0) {
        NB_SIMD
        for (int i = 0; i < n; ++i) {
            const double h = apply(q.H, dx[i], dy[i], dz[i]);
            const double k = apply(q.K, dx[i], dy[i], dz[i]);
            const double l = apply(q.L, dx[i], dy[i], dz[i]);
            const double term = F2 * lattice2(h, k, l, Na, Nb, Nc);
            acc[i] += passes_dmin(&q, dx[i], dy[i], dz[i]) ? term : 0.0;
        }
        return;
    }
    NB_SIMD
    for (int i = 0; i < n; ++i) {
        const double h = apply(q.H, dx[i], dy[i], dz[i]);
        const double k = apply(q.K, dx[i], dy[i], dz[i]);
        const double l = apply(q.L, dx[i], dy[i], dz[i]);
        acc[i] += F2 * lattice2(h, k, l, Na, Nb, Nc);
    }
}

/* cos(pi x) for |x| <= 0.5: even Taylor polynomial of degree 22, absolute
   error below 3e-16. */
NB_INLINE double cospi_reduced(double x)
{
    const double z = x * x;
    double p = -7.700707130601354e-11;
    p = p * z + 3.604730797462501e-09;
    p = p * z - 1.3878952462213771e-07;
    p = p * z + 4.303069587032947e-06;
    p = p * z - 0.0001046381049248457;
    p = p * z + 0.0019295743094039231;
    p = p * z - 0.02580689139001406;
    p = p * z + 0.2353306303588932;
    p = p * z - 1.3352627688545895;
    p = p * z + 4.0587121264167685;
    p = p * z - 4.934802200544679;
    return p * z + 1.0;
}

/* sin(N pi h)/sin(pi h) = U_{N-1}(cos pi h), the Chebyshev polynomial of the
   second kind, by its recurrence: no division and no special case at the
   peaks.  N is a compile-time constant where this is inlined, so the
   recurrence unrolls inside the vector loop. */
NB_INLINE double chebyshev_grating(double h, const int N)
{
    const double c2 = 2.0 * cospi_reduced(h - rint(h));
    double u_prev = 1.0, u = c2;
    if (N == 1)
        return 1.0;
    for (int m = 2; m < N; ++m) {
        const double t = c2 * u - u_prev;
        u_prev = u;
        u = t;
    }
    return u;
}

/* The flat loop for a crystal of N x N x N cells with small N (the usual
   -N n): one specialised, fully unrolled loop per N. */
#define NB_CUBE_LOOP(NN)                                                                           \
    static void accumulate_cube_##NN(const nb_experiment *e, const pass *p, int interp,        \
                                     nbi_row *w)                                              \
    {                                                                                              \
        (void)interp;                                                                              \
        const double F2 = e->default_F * e->default_F;                                             \
        const int n = w->n;                                                                        \
        const double *restrict dx = w->dx, *restrict dy = w->dy, *restrict dz = w->dz;             \
        double *restrict acc = w->acc;                                                             \
        const pass q = *p;                                                                         \
        NB_SIMD for (int i = 0; i < n; ++i)                                                        \
        {                                                                                          \
            const double r = chebyshev_grating(apply(q.H, dx[i], dy[i], dz[i]), NN)                \
                             * chebyshev_grating(apply(q.K, dx[i], dy[i], dz[i]), NN)              \
                             * chebyshev_grating(apply(q.L, dx[i], dy[i], dz[i]), NN);             \
            acc[i] += F2 * (r * r);                                                                \
        }                                                                                          \
    }
NB_CUBE_LOOP(2)
NB_CUBE_LOOP(3)
NB_CUBE_LOOP(4)
NB_CUBE_LOOP(5)
NB_CUBE_LOOP(6)
NB_CUBE_LOOP(7)
NB_CUBE_LOOP(8)
NB_CUBE_LOOP(9)
NB_CUBE_LOOP(10)
NB_CUBE_LOOP(11)
NB_CUBE_LOOP(12)

/* Index of the nearest reflection in the table, or -1 outside it; in double
   arithmetic (exact: the table has fewer than 2^27 entries) so that the
   vector loops need no integer lanes. */
NB_INLINE double nearest_index(table t, double h, double k, double l)
{
    const double h0 = ceil(h - 0.5), k0 = ceil(k - 0.5), l0 = ceil(l - 0.5);
    double idx = (h0 - t.h_min) * t.hstride + (k0 - t.k_min) * t.kstride + (l0 - t.l_min);
    idx = h0 < t.h_min ? -1.0 : idx;
    idx = h0 > t.h_max ? -1.0 : idx;
    idx = k0 < t.k_min ? -1.0 : idx;
    idx = k0 > t.k_max ? -1.0 : idx;
    idx = l0 < t.l_min ? -1.0 : idx;
    idx = l0 > t.l_max ? -1.0 : idx;
    return idx;
}

/* Vector part shared by the table look-up loops: Miller indices (stored) and
   the squared lattice factor (0 where -dmin cuts the sample). */
static void miller_and_lattice(const nb_experiment *e, const pass *p, nbi_row *w)
{
    const double Na = e->xtal.Na, Nb = e->xtal.Nb, Nc = e->xtal.Nc, stol_max = p->stol_max;
    const int n = w->n, cut = stol_max > 0.0;
    const double *restrict dx = w->dx, *restrict dy = w->dy, *restrict dz = w->dz;
    double *restrict lat = w->lat;
    double *restrict hh = w->hkl, *restrict kk = w->hkl + n, *restrict ll = w->hkl + 2 * n;
    const pass q = *p;
    NB_SIMD
    for (int i = 0; i < n; ++i) {
        const double h = apply(q.H, dx[i], dy[i], dz[i]);
        const double k = apply(q.K, dx[i], dy[i], dz[i]);
        const double l = apply(q.L, dx[i], dy[i], dz[i]);
        double L2 = lattice2(h, k, l, Na, Nb, Nc);
        if (cut && !passes_dmin(&q, dx[i], dy[i], dz[i]))
            L2 = -1.0; /* marks a sample cut by -dmin */
        lat[i] = L2;
        hh[i] = h;
        kk[i] = k;
        ll[i] = l;
    }
}

/* With an HKL table: the vector loop, then the table look-ups (gathers are
   slow or unavailable on many processors). */
static void accumulate_square_hkl(const nb_experiment *e, const pass *p, int interp, nbi_row *w)
{
    (void)interp;
    const int n = w->n;
    const double *hh = w->hkl, *kk = w->hkl + n, *ll = w->hkl + 2 * n, *Ftab = e->hkl.F;
    const table t = table_of(e);
    miller_and_lattice(e, p, w);
    for (int i = 0; i < n; ++i) {
        const double j = nearest_index(t, hh[i], kk[i], ll[i]);
        const double F = j >= 0.0 ? Ftab[(long)j] : t.default_F;
        if (w->lat[i] >= 0.0)
            w->acc[i] += F * F * w->lat[i];
    }
}

/* Interpolated structure factors (parallelepiped crystal): the vector loop,
   then the interpolation, recording where it would leave the table. */
static void accumulate_square_interp(const nb_experiment *e, const pass *p, int interp, nbi_row *w)
{
    (void)interp;
    const int n = w->n;
    const double *hh = w->hkl, *kk = w->hkl + n, *ll = w->hkl + 2 * n;
    const table t = table_of(e);
    miller_and_lattice(e, p, w);
    for (int i = 0; i < n; ++i) {
        double F;
        if (w->lat[i] < 0.0)
            continue;
        if (nb_hkl_interp_ok(&e->hkl, hh[i], kk[i], ll[i])) {
            F = nb_hkl_interpolate_fast(&e->hkl, hh[i], kk[i], ll[i]);
        } else {
            const double j = e->have_hkl ? nearest_index(t, hh[i], kk[i], ll[i]) : -1.0;
            w->event[i] |= EV_INTERP_OFF;
            F = j >= 0.0 ? e->hkl.F[(long)j] : e->default_F;
        }
        w->acc[i] += F * F * w->lat[i];
    }
}

/* ---------------------------------------------------------------- single precision
 * -precision single: the same loops in float (twice the vector lanes).  The
 * set-up (directions, per-pixel factors, Miller-index maps) stays in double;
 * each sample's term is computed in float and added to the double sum. */

/* sin(pi x) for |x| <= 0.5 in float: Taylor degree 11, relative error 2e-7. */
NB_INLINE float sinpi_reduced_f(float x)
{
    const float z = x * x;
    float p = -0.00737043097615242f;
    p = p * z + 0.08214588463306427f;
    p = p * z - 0.5992645025253296f;
    p = p * z + 2.550163984298706f;
    p = p * z - 5.167712688446045f;
    p = p * z + 3.1415927410125732f;
    return x * p;
}

/* As grating_pair, in float: within 1e-4/N of an integer the ratio is N to
   float precision. */
NB_INLINE void grating_pair_f(float h, float N, float *num, float *den)
{
    const float d = h - rintf(h);
    const float y = N * d;
    const int zero = fabsf(y) < 1e-4f;
    *num = zero ? N : sinpi_reduced_f(y - rintf(y));
    *den = zero ? 1.0f : sinpi_reduced_f(d);
}

NB_INLINE float lattice2_f(float h, float k, float l, float Na, float Nb, float Nc)
{
    float nh, dh, nk, dk, nl, dl, num, den;
    grating_pair_f(h, Na, &nh, &dh);
    grating_pair_f(k, Nb, &nk, &dk);
    grating_pair_f(l, Nc, &nl, &dl);
    num = nh * nk * nl;
    den = dh * dk * dl;
    num /= den;
    return num * num;
}

typedef struct affine_f {
    float x, y, z, off;
} affine_f;

NB_INLINE float apply_f(affine_f a, float dx, float dy, float dz)
{
    return a.x * dx + a.y * dy + a.z * dz - a.off;
}

static affine_f to_float(affine a)
{
    affine_f f = {(float)a.x, (float)a.y, (float)a.z, (float)a.off};
    return f;
}

/* Single precision, with an HKL table: the squared lattice factor of every
   sample into w->latf (negative where -dmin cuts), and the Miller indices
   into w->hklf when store_hkl. */
static void lattice_single(const nb_experiment *e, const pass *p, nbi_row *w, int store_hkl)
{
    const float Na = (float)e->xtal.Na, Nb = (float)e->xtal.Nb, Nc = (float)e->xtal.Nc;
    const int n = w->n, cut = p->stol_max > 0.0;
    const float *restrict fx = w->fx, *restrict fy = w->fy, *restrict fz = w->fz;
    float *restrict latf = w->latf;
    const affine_f H = to_float(p->H), K = to_float(p->K), L = to_float(p->L);
    const float ix = (float)p->ix, iy = (float)p->iy, iz = (float)p->iz;
    const float il = (float)p->inv_lambda, smax = (float)p->stol_max;
    if (store_hkl) {
        float *restrict hh = w->hklf, *restrict kk = w->hklf + n, *restrict ll = w->hklf + 2 * n;
        NB_SIMD
        for (int i = 0; i < n; ++i) {
            hh[i] = apply_f(H, fx[i], fy[i], fz[i]);
            kk[i] = apply_f(K, fx[i], fy[i], fz[i]);
            ll[i] = apply_f(L, fx[i], fy[i], fz[i]);
        }
    }
    NB_SIMD
    for (int i = 0; i < n; ++i) {
        const float h = apply_f(H, fx[i], fy[i], fz[i]);
        const float k = apply_f(K, fx[i], fy[i], fz[i]);
        const float l = apply_f(L, fx[i], fy[i], fz[i]);
        float L2 = lattice2_f(h, k, l, Na, Nb, Nc);
        if (cut) {
            const float sx = fx[i] - ix, sy = fy[i] - iy, sz = fz[i] - iz;
            const float stol = 0.5f * sqrtf(sx * sx + sy * sy + sz * sz) * il;
            L2 = stol > smax ? -1.0f : L2;
        }
        latf[i] = L2;
    }
}

/* No HKL table: the whole term in float, summed in float for up to
   NB_SINGLE_FLUSH passes. */
static void accumulate_single_flat(const nb_experiment *e, const pass *p, int interp, nbi_row *w)
{
    (void)interp;
    const float Na = (float)e->xtal.Na, Nb = (float)e->xtal.Nb, Nc = (float)e->xtal.Nc;
    const float F2 = (float)(e->default_F * e->default_F);
    const int n = w->n, cut = p->stol_max > 0.0;
    const float *restrict fx = w->fx, *restrict fy = w->fy, *restrict fz = w->fz;
    float *restrict accf = w->accf;
    const affine_f H = to_float(p->H), K = to_float(p->K), L = to_float(p->L);
    const float ix = (float)p->ix, iy = (float)p->iy, iz = (float)p->iz;
    const float il = (float)p->inv_lambda, smax = (float)p->stol_max;
    NB_SIMD
    for (int i = 0; i < n; ++i) {
        const float h = apply_f(H, fx[i], fy[i], fz[i]);
        const float k = apply_f(K, fx[i], fy[i], fz[i]);
        const float l = apply_f(L, fx[i], fy[i], fz[i]);
        float term = F2 * lattice2_f(h, k, l, Na, Nb, Nc);
        if (cut) {
            const float sx = fx[i] - ix, sy = fy[i] - iy, sz = fz[i] - iz;
            const float stol = 0.5f * sqrtf(sx * sx + sy * sy + sz * sz) * il;
            term = stol > smax ? 0.0f : term;
        }
        accf[i] += term;
    }
    if (++w->pending == NB_SINGLE_FLUSH)
        nbi_flush_single(w);
}

/* With an HKL table: lattice factors in float, table look-ups after. */
static void accumulate_single_hkl(const nb_experiment *e, const pass *p, int interp, nbi_row *w)
{
    (void)interp;
    const int n = w->n;
    const float *latf = w->latf, *hh = w->hklf, *kk = w->hklf + n, *ll = w->hklf + 2 * n;
    const table t = table_of(e);
    lattice_single(e, p, w, 1);
    for (int i = 0; i < n; ++i) {
        const double j = nearest_index(t, hh[i], kk[i], ll[i]);
        const double F = j >= 0.0 ? e->hkl.F[(long)j] : t.default_F;
        if (latf[i] >= 0.0f)
            w->acc[i] += (double)((float)(F * F) * latf[i]);
    }
}

/* cos(pi x) for |x| <= 0.5 in float: Taylor degree 12, error 1.3e-7. */
NB_INLINE float cospi_reduced_f(float x)
{
    const float z = x * x;
    float p = 0.001929574296809733f;
    p = p * z - 0.025806890800595284f;
    p = p * z + 0.23533062636852264f;
    p = p * z - 1.3352627754211426f;
    p = p * z + 4.058712005615234f;
    p = p * z - 4.934802055358887f;
    return p * z + 1.0f;
}

NB_INLINE float chebyshev_grating_f(float h, const int N)
{
    const float c2 = 2.0f * cospi_reduced_f(h - rintf(h));
    float u_prev = 1.0f, u = c2;
    if (N == 1)
        return 1.0f;
    for (int m = 2; m < N; ++m) {
        const float t = c2 * u - u_prev;
        u_prev = u;
        u = t;
    }
    return u;
}

/* Single precision: the same specialised loops, summed in float and flushed
   into the double sums every NB_SINGLE_FLUSH passes. */
#define NB_CUBE_LOOP_F(NN)                                                                         \
    static void accumulate_cube_f##NN(const nb_experiment *e, const pass *p, int interp,       \
                                      nbi_row *w)                                             \
    {                                                                                              \
        (void)interp;                                                                              \
        const float F2 = (float)(e->default_F * e->default_F);                                     \
        const int n = w->n;                                                                        \
        const float *restrict fx = w->fx, *restrict fy = w->fy, *restrict fz = w->fz;              \
        float *restrict accf = w->accf;                                                            \
        const affine_f H = to_float(p->H), K = to_float(p->K), L = to_float(p->L);                 \
        NB_SIMD for (int i = 0; i < n; ++i)                                                        \
        {                                                                                          \
            const float r = chebyshev_grating_f(apply_f(H, fx[i], fy[i], fz[i]), NN)               \
                            * chebyshev_grating_f(apply_f(K, fx[i], fy[i], fz[i]), NN)             \
                            * chebyshev_grating_f(apply_f(L, fx[i], fy[i], fz[i]), NN);            \
            accf[i] += F2 * (r * r);                                                               \
        }                                                                                          \
        if (++w->pending == NB_SINGLE_FLUSH)                                                       \
            nbi_flush_single(w);                                                                       \
    }
NB_CUBE_LOOP_F(2)
NB_CUBE_LOOP_F(3)
NB_CUBE_LOOP_F(4)
NB_CUBE_LOOP_F(5)
NB_CUBE_LOOP_F(6)
NB_CUBE_LOOP_F(7)
NB_CUBE_LOOP_F(8)
NB_CUBE_LOOP_F(9)
NB_CUBE_LOOP_F(10)
NB_CUBE_LOOP_F(11)
NB_CUBE_LOOP_F(12)

/* Other crystal shapes: nanoBragg's formulas, one sample at a time. */
static void accumulate_general(const nb_experiment *e, const pass *p, int interp, nbi_row *w)
{
    const nb_crystal *x = &e->xtal;
    const table tab = table_of(e);
    for (int i = 0; i < w->n; ++i) {
        const double h = apply(p->H, w->dx[i], w->dy[i], w->dz[i]);
        const double k = apply(p->K, w->dx[i], w->dy[i], w->dz[i]);
        const double l = apply(p->L, w->dx[i], w->dy[i], w->dz[i]);
        double L, F;
        if (p->stol_max > 0.0 && !passes_dmin(p, w->dx[i], w->dy[i], w->dz[i]))
            continue;
        L = lattice_other(x, h, k, l, &w->event[i]);
        /* nanoBragg looks no further where the lattice factor is exactly 0 */
        if (L == 0.0 && e->water_m == 0.0)
            continue;
        if (interp && nb_hkl_interp_ok(&e->hkl, h, k, l)) {
            F = nb_hkl_interpolate_fast(&e->hkl, h, k, l);
        } else {
            const double j = e->have_hkl ? nearest_index(tab, h, k, l) : -1.0;
            w->event[i] |= (unsigned char)(interp ? EV_INTERP_OFF : 0);
            F = j >= 0.0 ? e->hkl.F[(long)j] : e->default_F;
        }
        w->acc[i] += F * F * L * L;
    }
}

/* Unit directions and distances of sample q (sub-pixel subF, subS of layer t)
   of every pixel of the run: samples q*np .. q*np + np - 1. */
static void flat_directions(const nb_detector *d, int s, int q, int t, int subF, int subS, nbi_row *w)
{
    const int np = w->np, os = d->oversample, base = q * np;
    const double sub = d->subpixel_m;
    const double Sdet = sub * (s * os + subS) + sub / 2.0, Odet = t * d->thickstep_m;
    const vec3 f = d->fdet, sd = d->sdet, o = d->odet, p0 = d->pix0;
    const double *restrict fpix = w->fpix;
    double *restrict dx = w->dx + base, *restrict dy = w->dy + base, *restrict dz = w->dz + base,
                     *restrict air = w->lat + base;
    NB_SIMD
    for (int j = 0; j < np; ++j) {
        const double Fdet = sub * (fpix[j] * os + subF) + sub / 2.0;
        const double x = Fdet * f.x + Sdet * sd.x + Odet * o.x + p0.x;
        const double y = Fdet * f.y + Sdet * sd.y + Odet * o.y + p0.y;
        const double z = Fdet * f.z + Sdet * sd.z + Odet * o.z + p0.z;
        const double r = sqrt(x * x + y * y + z * z), inv = 1.0 / r;
        air[j] = r;
        dx[j] = x * inv;
        dy[j] = y * inv;
        dz[j] = z * inv;
    }
}

/* Per-pixel factors with no -dmin cut: solid angle (first sample),
   polarization (first sample, first source), all pixels at once. */
static void pixel_factors_uncut(const nb_experiment *e, nbi_row *w)
{
    const nb_detector *d = &e->det;
    const nb_sources *src = &e->src;
    const int np = w->np;
    const double pix2 = d->pixel_m * d->pixel_m, close = d->close_distance_m, kahn = e->polarization;
    const double ix = -src->x[0], iy = -src->y[0], iz = -src->z[0];
    vec3 E, B;
    nbi_polar_frame(v3(ix, iy, iz), e->polar_vector, &E, &B);
    const double ex = E.x, ey = E.y, ez = E.z, bx = B.x, by = B.y, bz = B.z;
    const int point = d->point_pixel, nopolar = e->nopolar;
    const double *restrict air = w->lat, *restrict dx = w->dx, *restrict dy = w->dy, *restrict dz = w->dz;
    double *restrict omega = w->omega, *restrict polar = w->polar;
    NB_SIMD
    for (int j = 0; j < np; ++j) {
        const double a = air[j];
        omega[j] = point ? 1.0 / a / a : pix2 / a / a * close / a;
        polar[j] = nopolar ? 1.0 : nbi_polar_factor(kahn, ix, iy, iz, ex, ey, ez, bx, by, bz, dx[j], dy[j], dz[j]);
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


const nbi_row_loops NBI_LOOPS_TABLE = {
    NBI_LOOPS_ISA,
    accumulate_square_flat,
    accumulate_square_hkl,
    accumulate_square_interp,
    accumulate_single_flat,
    accumulate_single_hkl,
    accumulate_general,
    {{NULL, NULL, accumulate_cube_2, accumulate_cube_3, accumulate_cube_4, accumulate_cube_5,
      accumulate_cube_6, accumulate_cube_7, accumulate_cube_8, accumulate_cube_9, accumulate_cube_10,
      accumulate_cube_11, accumulate_cube_12},
     {NULL, NULL, accumulate_cube_f2, accumulate_cube_f3, accumulate_cube_f4, accumulate_cube_f5,
      accumulate_cube_f6, accumulate_cube_f7, accumulate_cube_f8, accumulate_cube_f9, accumulate_cube_f10,
      accumulate_cube_f11, accumulate_cube_f12}},
    flat_directions,
    pixel_factors_uncut,
    finish_pixels,
};
