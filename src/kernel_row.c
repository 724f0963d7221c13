/*
 * kernel_row.c - the fast kernel: one detector row at a time, vectorised
 * across the row's sub-pixel samples.
 *
 * For each row it lays out every sub-pixel (x detector layer) of the
 * rendered pixels as an array of diffracted directions, then for every
 * crystal orientation (phi step x mosaic domain) and source adds
 * F_cell^2 F_latt^2 to each sample in one contiguous loop that the compiler
 * vectorises.  Everything that does not depend on the sample is hoisted out
 * of that loop: Miller indices come from h = (a/lambda).d - (a.i)/lambda with
 * the pixel direction d and the incident direction i.  The lattice factor
 * sin(N pi h)/sin(pi h) is evaluated on the reduced arguments h - round(h)
 * and N(h - round(h)) with a polynomial, which is exact in the first and
 * more accurate than libm in the second near Bragg peaks (only its square
 * is used, so the sign is irrelevant).
 *
 * nanoBragg's per-pixel quirks are kept: polarization from the first source
 * that passes -dmin at the first sub-pixel, solid angle from the first
 * sub-pixel, absorption from the last layer's first sub-pixel.  The
 * -oversample_thick/polar/omega switches make the sum order-dependent and
 * use the reference kernel instead (nbi_row_kernel_ok).
 */
#include "kernel_row.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The small functions of the vector loops must be inlined into them (a call
   per sample would forbid vectorisation). */
#if defined(__GNUC__) || defined(__clang__)
#define NB_INLINE static inline __attribute__((always_inline))
#else
#define NB_INLINE static inline
#endif

/* Vector loops: OpenMP's simd directive where OpenMP is on. */
#ifdef NB_HAVE_OPENMP
#define NB_SIMD _Pragma("omp simd")
#else
#define NB_SIMD
#endif

/* Samples laid out at a time: enough for long vector loops, small enough to
   stay in cache. */
#define NBI_ROW_SAMPLES 4096

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


/* Non-parallelepiped shapes, with nanoBragg's formulas. */
/* Flags of a sample in nbi_row.event. */
enum {
    EV_INTERP_OFF = 1, /* interpolation left the HKL grid */
    EV_EXACT = 2       /* round crystal next to a lattice point: see lattice_other */
};

/* Below this argument the round crystal's 3 (sin s/s - cos s)/s^2 is mostly
   rounding noise, which nanoBragg's arithmetic decides (at the direct beam
   its s is exactly 0: F000 at full strength; ours, from the affine Miller
   indices, is ~1e-16, where the formula gives 0 or anything). */
#define ROUND_EXACT_S 1e-5

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

/* The HKL table as the vector loops read it (copied out of the experiment so
   the compiler can keep it in registers). */
typedef struct table {
    double h_min, h_max, k_min, k_max, l_min, l_max, default_F;
    double kstride, hstride;
} table;

static table table_of(const nb_experiment *e)
{
    const nb_hkl *t = &e->hkl;
    table v = {t->h_min, t->h_max, t->k_min, t->k_max, t->l_min, t->l_max, e->default_F,
               t->l_range + 1, (t->k_range + 1) * (t->l_range + 1)};
    return v;
}

/* Miller index as an affine function of the sample direction. */
typedef struct affine {
    double x, y, z, off;
} affine;

NB_INLINE double apply(affine a, double dx, double dy, double dz)
{
    return a.x * dx + a.y * dy + a.z * dz - a.off;
}

/* One orientation x source over all samples of the row. */
typedef struct pass {
    affine H, K, L;
    double ix, iy, iz, inv_lambda; /* incident direction, 1/lambda (1/m) */
    double stol_max;               /* 0.5/dmin (1/m): larger stol is cut; 0: no cut */
} pass;

NB_INLINE int passes_dmin(const pass *p, double dx, double dy, double dz)
{
    /* nanoBragg: skip if dmin > 0.5/stol, stol = |d - i|/(2 lambda) */
    const double sx = dx - p->ix, sy = dy - p->iy, sz = dz - p->iz;
    const double stol = 0.5 * sqrt(sx * sx + sy * sy + sz * sz) * p->inv_lambda;
    return !(stol > p->stol_max);
}

/* Run-time dispatch: the vector loops are compiled for AVX-512, AVX2 and the
   baseline, and the loader picks the best the processor has. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(NB_NO_DISPATCH)
#define NB_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#define NB_DISPATCH 1
#else
#define NB_CLONES
#define NB_DISPATCH 0
#endif

/* Contract in nanobragg.h: the clone the loader picks, by the same test. */
const char *nb_kernel_isa(void)
{
#if NB_DISPATCH
    __builtin_cpu_init();
    if (__builtin_cpu_supports("x86-64-v4"))
        return "x86-64-v4 (AVX-512)";
    if (__builtin_cpu_supports("x86-64-v3"))
        return "x86-64-v3 (AVX2, FMA)";
    return "x86-64 baseline (SSE2)";
#else
    return "the compiler's baseline (this build has no run-time dispatch)";
#endif
}

/* The vectorised loops: parallelepiped crystal, F = default_F everywhere
   (no HKL table) or the nearest reflection's. */
NB_CLONES static void accumulate_square_flat(const nb_experiment *e, const pass *p, nbi_row *w)
{
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
    NB_CLONES static void accumulate_cube_##NN(const nb_experiment *e, const pass *p, nbi_row *w)  \
    {                                                                                              \
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

typedef void (*accumulate_fn)(const nb_experiment *e, const pass *p, nbi_row *w);

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
NB_CLONES static void miller_and_lattice(const nb_experiment *e, const pass *p, nbi_row *w)
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
NB_CLONES static void accumulate_square_hkl(const nb_experiment *e, const pass *p, nbi_row *w)
{
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
NB_CLONES static void accumulate_square_interp(const nb_experiment *e, const pass *p, nbi_row *w)
{
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
NB_CLONES static void lattice_single(const nb_experiment *e, const pass *p, nbi_row *w, int store_hkl)
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

/* Float sums are flushed into the double sums after this many passes. */
#define NB_SINGLE_FLUSH 64

static void flush_single(nbi_row *w)
{
    for (int i = 0; i < w->n; ++i) {
        w->acc[i] += w->accf[i];
        w->accf[i] = 0.0f;
    }
    w->pending = 0;
}

/* No HKL table: the whole term in float, summed in float for up to
   NB_SINGLE_FLUSH passes. */
NB_CLONES static void accumulate_single_flat(const nb_experiment *e, const pass *p, nbi_row *w)
{
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
        flush_single(w);
}

/* With an HKL table: lattice factors in float, table look-ups after. */
NB_CLONES static void accumulate_single_hkl(const nb_experiment *e, const pass *p, nbi_row *w)
{
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
    NB_CLONES static void accumulate_cube_f##NN(const nb_experiment *e, const pass *p, nbi_row *w) \
    {                                                                                              \
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
            flush_single(w);                                                                       \
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

/* The specialised loop for an N x N x N crystal (2 <= N <= 12) without HKL
   table or -dmin cut, in the experiment's precision; NULL otherwise. */
static accumulate_fn cube_loop(const nb_experiment *e)
{
    static const accumulate_fn loops[2][13] = {
        {NULL, NULL, accumulate_cube_2, accumulate_cube_3, accumulate_cube_4, accumulate_cube_5,
         accumulate_cube_6, accumulate_cube_7, accumulate_cube_8, accumulate_cube_9, accumulate_cube_10,
         accumulate_cube_11, accumulate_cube_12},
        {NULL, NULL, accumulate_cube_f2, accumulate_cube_f3, accumulate_cube_f4, accumulate_cube_f5,
         accumulate_cube_f6, accumulate_cube_f7, accumulate_cube_f8, accumulate_cube_f9, accumulate_cube_f10,
         accumulate_cube_f11, accumulate_cube_f12}};
    const double N = e->xtal.Na;
    if (e->have_hkl || e->dmin_m > 0.0 || e->xtal.shape != NB_SHAPE_SQUARE || N != e->xtal.Nb
        || N != e->xtal.Nc || N < 2 || N > 12 || N != (int)N)
        return NULL;
    return loops[e->precision == NB_PRECISION_SINGLE][(int)N];
}

/* Other crystal shapes: nanoBragg's formulas, one sample at a time. */
NB_CLONES static void accumulate_general(const nb_experiment *e, const pass *p, int interp, nbi_row *w)
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

int nbi_row_kernel_ok(const nb_experiment *e)
{
    const nb_detector *d = &e->det;
    return !d->oversample_thick && !d->oversample_polar && !d->oversample_omega;
}

nb_status nbi_row_init(nbi_row *w, const nb_experiment *e)
{
    const nb_detector *d = &e->det;
    const size_t per_pixel = (size_t)d->thicksteps * d->oversample * d->oversample;
    size_t np = NBI_ROW_SAMPLES / per_pixel, n;
    if (np < 1)
        np = 1;
    if (np > (size_t)d->fpixels)
        np = (size_t)d->fpixels;
    n = np * per_pixel;
    w->chunk = (int)np;
    w->dx = malloc(n * sizeof(double));
    w->dy = malloc(n * sizeof(double));
    w->dz = malloc(n * sizeof(double));
    w->acc = malloc(n * sizeof(double));
    w->event = malloc(n);
    w->lat = malloc(n * sizeof(double));
    w->hkl = malloc(3 * n * sizeof(double));
    w->single = malloc(8 * n * sizeof(float));
    w->pix = malloc(np * (5 * sizeof(double) + 2 * sizeof(int)));
    if (w->single) {
        w->fx = w->single;
        w->fy = w->fx + n;
        w->fz = w->fy + n;
        w->latf = w->fz + n;
        w->hklf = w->latf + n;
        w->accf = w->hklf + 3 * n;
    }
    if (w->pix) {
        w->fpix = w->pix;
        w->omega = w->fpix + np;
        w->polar = w->omega + np;
        w->capture = w->polar + np;
        w->value = w->capture + np;
        w->f = (int *)(w->value + np);
        w->swept = w->f + np;
    }
    if (!w->dx || !w->dy || !w->dz || !w->acc || !w->event || !w->lat || !w->hkl || !w->single || !w->pix) {
        nbi_row_free(w);
        return NB_ERR_NOMEM;
    }
    return NB_OK;
}

void nbi_row_free(nbi_row *w)
{
    free(w->dx);
    free(w->dy);
    free(w->dz);
    free(w->acc);
    free(w->event);
    free(w->lat);
    free(w->hkl);
    free(w->single);
    free(w->pix);
    w->dx = w->dy = w->dz = w->acc = w->lat = w->hkl = NULL;
    w->single = NULL;
    w->event = NULL;
    w->pix = NULL;
}

/* Kahn polarization factor for incident direction inc (source s) and unit
   diffracted direction d, nanoBragg's formula with cos(2 psi) taken from the
   projections E, B of d on the source's E-B frame:
   psi = -atan2(B, E), so cos(2 psi) = (E^2 - B^2)/(E^2 + B^2). */
static inline double polar_factor(double kahn, double ix, double iy, double iz, double ex, double ey,
                                  double ez, double bx, double by, double bz, double dx, double dy, double dz)
{
    const double c = ix * dx + iy * dy + iz * dz, c2 = c * c;
    const double E = dx * ex + dy * ey + dz * ez, B = dx * bx + dy * by + dz * bz;
    const double r = E * E + B * B;
    const double cos2psi = (kahn != 0.0 && r > 0.0) ? (E * E - B * B) / r : 1.0;
    return 0.5 * (1.0 + c2 - kahn * cos2psi * (1 - c2));
}

/* nanoBragg's polarization factor for pixel j: computed at its first sample
   and source (in loop order) that pass -dmin.  *swept: some did. */
static double pixel_polar(const nb_experiment *e, const nbi_row *w, int j, int *swept)
{
    const nb_sources *src = &e->src;
    const int per_pixel = w->n / w->np;
    double polar = e->nopolar ? 1.0 : 0.0;
    *swept = 0;
    for (int q = 0; q < per_pixel; ++q) {
        const int i = q * w->np + j;
        const vec3 d = v3(w->dx[i], w->dy[i], w->dz[i]);
        for (int s = 0; s < src->n; ++s) {
            const vec3 inc = v3(-src->x[s], -src->y[s], -src->z[s]);
            if (e->dmin_m > 0.0) {
                vec3 S = v3_scale(v3_sub(d, inc), 1.0 / src->lambda_m[s]);
                double stol = 0.5 * v3_mag(S);
                if (stol > 0.0 && e->dmin_m > 0.5 / stol)
                    continue;
            }
            *swept = 1;
            if (polar == 0.0) {
                vec3 E, B;
                nbi_polar_frame(inc, e->polar_vector, &E, &B);
                polar = polar_factor(e->polarization, inc.x, inc.y, inc.z, E.x, E.y, E.z, B.x, B.y, B.z, d.x,
                                     d.y, d.z);
            }
            if (polar != 0.0)
                return polar;
        }
    }
    return polar;
}

/* Unit directions and distances of sample q (sub-pixel subF, subS of layer t)
   of every pixel of the run: samples q*np .. q*np + np - 1. */
NB_CLONES static void flat_directions(const nb_detector *d, int s, int q, int t, int subF, int subS, nbi_row *w)
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
NB_CLONES static void pixel_factors_uncut(const nb_experiment *e, nbi_row *w)
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
        polar[j] = nopolar ? 1.0 : polar_factor(kahn, ix, iy, iz, ex, ey, ez, bx, by, bz, dx[j], dy[j], dz[j]);
    }
}

/* Lay out the samples of the rendered pixels f_start <= f < f_end of row s,
   sample-major (sample q of pixel j at q*np + j), then give each pixel
   nanoBragg's solid angle (first sample), capture fraction (first sample of
   the last layer) and polarization. */
static void layout(const nb_experiment *e, int s, int f_start, int f_end, nbi_row *w)
{
    const nb_detector *d = &e->det;
    const int os = d->oversample, per_pixel = d->thicksteps * os * os;
    int np = 0;
    for (int f = f_start; f < f_end; ++f)
        if (nbi_pixel_rendered(d, f, s)) {
            w->f[np] = f;
            w->fpix[np++] = f;
        }
    w->np = np;
    w->n = np * per_pixel;
    if (np == 0) /* outside the ROI or masked: nothing to lay out */
        return;
    for (int q = 0; q < per_pixel; ++q) {
        const int t = q / (os * os), subS = q % (os * os) / os, subF = q % os;
        if (!d->curved) {
            flat_directions(d, s, q, t, subF, subS, w);
            continue;
        }
        for (int j = 0; j < np; ++j) {
            const int i = q * np + j;
            vec3 u = nbi_subpixel_direction(e, w->f[j], s, t, subF, subS, &w->lat[i]);
            w->dx[i] = u.x;
            w->dy[i] = u.y;
            w->dz[i] = u.z;
        }
    }
    if (e->dmin_m > 0.0) {
        for (int j = 0; j < np; ++j) {
            w->omega[j] = nbi_solid_angle(d, w->lat[j]);
            w->polar[j] = pixel_polar(e, w, j, &w->swept[j]);
        }
    } else {
        pixel_factors_uncut(e, w);
        for (int j = 0; j < np; ++j)
            w->swept[j] = 1;
    }
    for (int j = 0; j < np; ++j) {
        const int i = (d->thicksteps - 1) * os * os * np + j;
        w->capture[j] = d->thick_m == 0.0 ? 1.0
                                          : nbi_capture_fraction(d, d->thicksteps - 1,
                                                                 v3(w->dx[i], w->dy[i], w->dz[i]));
    }
    memset(w->acc, 0, (size_t)w->n * sizeof *w->acc);
    memset(w->event, 0, (size_t)w->n);
    if (e->precision == NB_PRECISION_SINGLE) {
        for (int i = 0; i < w->n; ++i) {
            w->fx[i] = (float)w->dx[i];
            w->fy[i] = (float)w->dy[i];
            w->fz[i] = (float)w->dz[i];
            w->accf[i] = 0.0f;
        }
        w->pending = 0;
    }
}

/* Pixel values from the sums (nanoBragg's final scaling), all pixels at once. */
NB_CLONES static double finish_pixels(const nb_experiment *e, const nbi_row *w, double *value)
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

/* Miller-index maps for orientation c (9 doubles: a, b, c in metres) and
   source s: h = (a/lambda).d - (a.i)/lambda. */
static void make_pass(const nb_experiment *e, const double *c, int s, pass *p)
{
    const nb_sources *src = &e->src;
    const double il = 1.0 / src->lambda_m[s];
    const double ix = -src->x[s], iy = -src->y[s], iz = -src->z[s];
    affine *m[3] = {&p->H, &p->K, &p->L};
    for (int j = 0; j < 3; ++j) {
        const double *v = c + 3 * j;
        m[j]->x = v[0] * il;
        m[j]->y = v[1] * il;
        m[j]->z = v[2] * il;
        m[j]->off = (v[0] * ix + v[1] * iy + v[2] * iz) * il;
    }
    p->ix = ix;
    p->iy = iy;
    p->iz = iz;
    p->inv_lambda = il;
    p->stol_max = e->dmin_m > 0.0 ? 0.5 / e->dmin_m : 0.0;
}

double nbi_render_row(const nb_experiment *e, int s, int f_start, int f_end, int interp, nbi_row *w,
                      float *data, unsigned char *flags)
{
    const nb_detector *d = &e->det;
    const nb_crystal *x = &e->xtal;
    const int ncells = x->phisteps * x->domains;
    const int square = x->shape == NB_SHAPE_SQUARE, single = e->precision == NB_PRECISION_SINGLE;
    const accumulate_fn cube = interp ? NULL : cube_loop(e);
    double omega_sum = 0.0;

    layout(e, s, f_start, f_end, w);
    if (w->np == 0)
        return 0.0;
    for (int c = 0; c < ncells; ++c)
        for (int src = 0; src < e->src.n; ++src) {
            pass p;
            make_pass(e, x->cells + 9 * c, src, &p);
            if (cube)
                cube(e, &p, w);
            else if (square && !interp && single && e->have_hkl)
                accumulate_single_hkl(e, &p, w);
            else if (square && !interp && single)
                accumulate_single_flat(e, &p, w);
            else if (square && !interp && e->have_hkl)
                accumulate_square_hkl(e, &p, w);
            else if (square && !interp)
                accumulate_square_flat(e, &p, w);
            else if (square)
                accumulate_square_interp(e, &p, w);
            else
                accumulate_general(e, &p, interp, w);
        }
    if (single)
        flush_single(w);
    omega_sum = finish_pixels(e, w, w->value);
    for (int j = 0; j < w->np; ++j) {
        const long idx = (long)s * d->fpixels + w->f[j];
        int event = 0, swept = w->swept[j];
        for (int i = j; (interp || x->shape == NB_SHAPE_ROUND) && i < w->n; i += w->np)
            event |= w->event[i];
        data[idx] = (float)w->value[j];
        if (event & EV_EXACT) { /* rare: see ROUND_EXACT_S */
            nbi_pixel px;
            nbi_render_pixel(e, w->f[j], s, interp, 0, &px);
            data[idx] = (float)px.value;
            swept = px.swept;
            event = px.interp_off ? EV_INTERP_OFF : 0;
        }
        flags[idx] = (unsigned char)((swept ? NBI_PIX_SWEPT : 0) | (event & EV_INTERP_OFF ? NBI_PIX_INTERP_OFF : 0));
    }
    return omega_sum;
}
