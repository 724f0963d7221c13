/*
 * physics.h - the physical terms of the simulation, each written once as a
 * small pure function (no state, no library calls but math), that the
 * kernels (kernel.c, the reference order; loops/row_loops.c, the vector
 * loops) evaluate in their own loop orders:
 *
 *   term                                   function
 *   Miller index of a sample               nbi_miller_index_d/_f (physics_real.h)
 *   -dmin cut                              nbi_within_dmin_d/_f (physics_real.h)
 *   lattice factor, parallelepiped         nbi_lattice_square2_d/_f, nbi_grating_chebyshev_d/_f,
 *                                          its sign nbi_grating_sign
 *   lattice factor, round/Gauss/top-hat    nbi_lattice_shape
 *   polarization (Kahn)                    nbi_polarization
 *   solid angle and obliquity              nbi_solid_angle
 *   sensor capture fraction                nbi_capture_fraction
 *   structure factor, nearest reflection   nbi_nearest_index_d/_f (physics_real.h)
 *   structure factor, tricubic             nbi_interp_ok_d/_f, nbi_interpolate_d/_f
 *   lattice factor's derivatives (deriv.c)  nbi_grating_diff
 *
 * The terms the vector loops evaluate per sample exist in double and in
 * float, from one text (physics_real.h).
 *
 * Contraction: every multiply-add that the speed of the loops needs is an
 * explicit fma()/fmaf() (fused, correctly rounded everywhere), and the code
 * is compiled without implicit contraction (-ffp-contract=off, ISO C's
 * default), so a term has the same bits on every instruction set: with FMA
 * hardware the compiler emits the instruction, without it the C library's
 * fma computes the same result (slowly).
 */
#ifndef NB_PHYSICS_H
#define NB_PHYSICS_H

#include <math.h>

#include "hostdevice.h"
#include "nanobragg.h"
#include "vec3.h"

/* The small functions of the vector loops must be inlined into them (a call
   per sample would forbid vectorisation). */
#if defined(__CUDACC__)
#define NB_INLINE static __forceinline__ __host__ __device__
#elif defined(__GNUC__) || defined(__clang__)
#define NB_INLINE static inline __attribute__((always_inline))
#else
#define NB_INLINE static inline
#endif

/* p = Horner's rule at z over the coefficient table c (at most 12 entries,
   highest power first, c[0] already in p), with the multiply-add FMA,
   written out: each step is there only if the table has that entry (a
   constant condition), so no loop is left inside a vector loop.
   NB_HORNER_SCALED: over the table times s, a power of two, folded into the
   constants: exactly s times NB_HORNER's value (p starts at s c[0]). */
#define NB_HORNER_STEP(FMA, c, s, k, z, p)                                                         \
    if ((k) < sizeof c / sizeof c[0])                                                              \
        p = FMA(p, z, (s) * c[(k) < sizeof c / sizeof c[0] ? (k) : 0]);
#define NB_HORNER_SCALED(FMA, c, s, z, p)                                                          \
    do {                                                                                           \
        NB_HORNER_STEP(FMA, c, s, 1, z, p) NB_HORNER_STEP(FMA, c, s, 2, z, p)                      \
        NB_HORNER_STEP(FMA, c, s, 3, z, p) NB_HORNER_STEP(FMA, c, s, 4, z, p)                      \
        NB_HORNER_STEP(FMA, c, s, 5, z, p) NB_HORNER_STEP(FMA, c, s, 6, z, p)                      \
        NB_HORNER_STEP(FMA, c, s, 7, z, p) NB_HORNER_STEP(FMA, c, s, 8, z, p)                      \
        NB_HORNER_STEP(FMA, c, s, 9, z, p) NB_HORNER_STEP(FMA, c, s, 10, z, p)                     \
        NB_HORNER_STEP(FMA, c, s, 11, z, p)                                                        \
    } while (0)
#define NB_HORNER(FMA, c, z, p) NB_HORNER_SCALED(FMA, c, 1, z, p)

/* Loops over a constant number of terms that must be unrolled (a loop left
   inside a vector loop stops its vectorisation). */
#if defined(__CUDA_ARCH__)
#define NB_UNROLL _Pragma("unroll")
#elif defined(__CUDACC__) /* nvcc's host pass: these loops run on the device only */
#define NB_UNROLL
#elif defined(__GNUC__) || defined(__clang__)
#define NB_UNROLL _Pragma("GCC unroll 16")
#else
#define NB_UNROLL
#endif

/* A short loop over contiguous lanes inside a per-sample function (a
   vector operation of its own, not a loop over samples). */
#ifdef NB_HAVE_OPENMP
#define NB_LANES _Pragma("omp simd")
#else
#define NB_LANES
#endif

/* Coefficients of sin(pi x) = x P(x^2) and cos(pi x) = Q(x^2) on |x| <= 1/2,
   highest power first: minimax polynomials in x^2 (Remez, weighted by 1/sin
   for the relative error of sin), so that fewer terms reach the type's
   rounding.  Double: degrees 17 and 16 in x (fit errors 3e-19 relative and
   4e-18 absolute; evaluated with fused multiply-adds, the relative error of
   sin stays below 3e-16 and the absolute error of cos below 3e-16, the
   rounding of the arithmetic); float: degrees
   9 and 10 (fit errors 5e-9 and 2e-10; evaluated, 1.7e-7 and 1.1e-7).  Q(0)
   is exactly 1: cos 0 = 1, so the lattice factor is exactly N on a lattice
   point. */
NB_TABLE
static const double nbi_sinpi_coef_d[] = {7.694727221602218e-07, -2.190318541358144e-05,
                                          0.0004662996887728074, -0.007370430478763308,
                                          0.08214588656989288, -0.5992645293187383,
                                          2.550164039877294, -5.167712780049969,
                                          3.141592653589793};
NB_TABLE
static const double nbi_cospi_coef_d[] = {4.149591677190981e-06, -0.00010456658070965193,
                                          0.0019295562835807969, -0.025806888739349942,
                                          0.23533063012980796, -1.3352627688434646,
                                          4.058712126416498, -4.934802200544676, 1.0};
NB_TABLE
static const float nbi_sinpi_coef_f[] = {0.07756038693518182f, -0.5982421263871489f,
                                         2.5500697263291623f, -5.16770968479864f,
                                         3.141592636895401f};
NB_TABLE
static const float nbi_cospi_coef_f[] = {-0.024396716658671217f, 0.2349375589827164f,
                                         -1.3352120566732397f, 4.0587091643432185f,
                                         -4.934802137228384f, 1.0f};

#define REAL double
#define R(name) nbi_##name##_d
#define R_RINT rint
#define R_FLOOR floor
#define R_CEIL ceil
#define R_FABS fabs
#define R_SQRT sqrt
#define R_FMA fma
#define R_GRATING_FLAT 1e-9
#include "physics_real.h"

#define REAL float
#define R(name) nbi_##name##_f
#define R_RINT rintf
#define R_FLOOR floorf
#define R_CEIL ceilf
#define R_FABS fabsf
#define R_SQRT sqrtf
#define R_FMA fmaf
#define R_GRATING_FLAT 1e-4f
#include "physics_real.h"

/* ---------------------------------------------------------------- double only */

/* Multiply-add without fusing, for the derivatives (deriv.c and their row
   loops): the same bits on every instruction set without fma() calls. */
#define NB_MULADD(a, b, c) ((a) * (b) + (c))

/* sin(pi x) and cos(pi x) for |x| <= 1/2, the polynomials above, unfused. */
NB_INLINE double nbi_sinpi_plain(double x)
{
    const double z = x * x;
    double p = nbi_sinpi_coef_d[0];
    NB_HORNER(NB_MULADD, nbi_sinpi_coef_d, z, p);
    return x * p;
}

NB_INLINE double nbi_cospi_plain(double x)
{
    const double z = x * x;
    double p = nbi_cospi_coef_d[0];
    NB_HORNER(NB_MULADD, nbi_cospi_coef_d, z, p);
    return p;
}

/* The lattice factor along one axis, sin(N pi h)/sin(pi h), on the reduced
   h (as the kernels evaluate it), and its derivatives with respect to h
   (*dh) and N (*dN); near the peak (|N d| < 1e-4) the series.  Branch-free,
   for vector loops.  Only the products G dG/dh and G dG/dN matter (the
   image has G^2): a common sign, that of sin(N pi h) against its reduced
   argument, does not. */
NB_INLINE double nbi_grating_diff(double h, double N, double *dh, double *dN)
{
    const double d = h - rint(h), y = N * d, r = rint(y), t = y - r;
    const double sgn = 1.0 - 2.0 * (r - 2.0 * floor(0.5 * r)); /* (-1)^r */
    const int flat = fabs(y) < 1e-4;
    const double sd = flat ? 1.0 : nbi_sinpi_plain(d), cd = nbi_cospi_plain(d);
    const double sn = sgn * nbi_sinpi_plain(t), cn = sgn * nbi_cospi_plain(t);
    const double x = M_PI * d, n2 = N * N - 1.0, inv = 1.0 / sd, G = sn * inv;
    /* d/dh of sin(N pi d)/sin(pi d) = pi (N cos(N pi d) - G cos(pi d)) / sin(pi d) */
    *dh = flat ? M_PI * N * (-n2 * x / 3.0) : M_PI * (N * cn - G * cd) * inv;
    *dN = flat ? 1.0 - (3.0 * N * N - 1.0) * x * x / 6.0 : x * cn * inv;
    return flat ? N * (1.0 - n2 * x * x / 6.0) : G;
}

/* Lattice factor of the round (ellipsoid), Gaussian and top-hat crystals at
   fractional (h, k, l), nanoBragg's formulas around the nearest integers
   (rounded as nanoBragg does, ceil(x - 0.5)); astar.. in 1/Angstrom.  The
   round crystal's argument s of 3 (sin s/s - cos s)/s^2 goes to *s_round
   (0 for the other shapes). */
NB_HD
static inline double nbi_lattice_shape(nb_shape shape, double Na, double Nb, double Nc, double fudge,
                                       vec3 astar, vec3 bstar, vec3 cstar, double h, double k, double l,
                                       double *s_round)
{
    const double h0 = ceil(h - 0.5), k0 = ceil(k - 0.5), l0 = ceil(l - 0.5);
    double dx, dy, dz, r2;
    *s_round = 0.0;
    if (shape == NB_SHAPE_ROUND) {
        const double hr = (h - h0) * (h - h0) * Na * Na + (k - k0) * (k - k0) * Nb * Nb
                          + (l - l0) * (l - l0) * Nc * Nc;
        const double s = M_PI * sqrt(hr * fudge);
        *s_round = s;
        return Na * Nb * Nc * 0.723601254558268 * (s == 0.0 ? 1.0 : 3.0 * (sin(s) / s - cos(s)) / (s * s));
    }
    dx = (h - h0) * astar.x + (k - k0) * bstar.x + (l - l0) * cstar.x;
    dy = (h - h0) * astar.y + (k - k0) * bstar.y + (l - l0) * cstar.y;
    dz = (h - h0) * astar.z + (k - k0) * bstar.z + (l - l0) * cstar.z;
    r2 = (dx * dx + dy * dy + dz * dz) * Na * Na * Nb * Nb * Nc * Nc;
    if (shape == NB_SHAPE_GAUSS)
        return Na * Nb * Nc * exp(-(r2 / 0.63 * fudge));
    return Na * Nb * Nc * (r2 * fudge < 0.3969);
}

/* The sign of sin(N pi h)/sin(pi h), the parallelepiped's lattice factor
   along one axis (N an integer; 1 for N <= 1, where nanoBragg takes the
   factor as 1), which nbi_lattice_square2_d squares away.  With h = m + d
   (m = rint(h)) and N d = n + y (n = rint(N d)), the ratio is
   (-1)^((N-1) m + n) sin(pi y)/sin(pi d), the reduced pair of
   nbi_grating_pair_d. */
NB_HD
static inline double nbi_grating_sign(double h, double N)
{
    const double m = rint(h), n = rint(N * (h - m));
    double num, den;
    int negative;
    if (!(N > 1.0))
        return 1.0;
    nbi_grating_pair_d(h, N, &num, &den);
    negative = (num < 0.0) != (den < 0.0);
    if (fmod(fabs((N - 1.0) * m + n), 2.0) == 1.0)
        negative = !negative;
    return negative ? -1.0 : 1.0;
}

/* The frame nanoBragg measures the polarization angle in, for a unit
   incident direction and polarization axis: B = unit(axis x incident),
   E = incident x B (already a unit vector).  Zero vectors if the incident
   beam lies along the axis. */
NB_HD
static inline void nbi_polar_frame(vec3 incident, vec3 axis, vec3 *E, vec3 *B)
{
    v3_unit(v3_cross(axis, incident), B);
    *E = v3_cross(incident, *B);
}

/* Kahn polarization factor 0.5 (1 + cos^2 2theta - K cos 2psi sin^2 2theta)
   for unit incident direction i and unit diffracted direction d, with psi
   the angle of d about i measured in the frame (E, B) of the polarization
   axis (nbi_polar_frame): psi = -atan2(d.B, d.E), so
   cos 2psi = ((d.E)^2 - (d.B)^2)/((d.E)^2 + (d.B)^2). */
NB_HD
static inline double nbi_polarization(double kahn, double ix, double iy, double iz, double ex, double ey,
                                      double ez, double bx, double by, double bz, double dx, double dy,
                                      double dz)
{
    const double c = ix * dx + iy * dy + iz * dz, c2 = c * c;
    const double E = dx * ex + dy * ey + dz * ez, B = dx * bx + dy * by + dz * bz;
    const double r = E * E + B * B;
    const double cos2psi = (kahn != 0.0 && r > 0.0) ? (E * E - B * B) / r : 1.0;
    return 0.5 * (1.0 + c2 - kahn * cos2psi * (1 - c2));
}

/* Solid angle of a pixel of side pixel_m seen at distance airpath_m:
   pixel^2/R^2 times the obliquity close/R, or 1/R^2 for a point pixel. */
NB_HD
static inline double nbi_solid_angle(int point_pixel, double pixel_m, double close_m, double airpath_m)
{
    if (point_pixel)
        return 1.0 / airpath_m / airpath_m;
    return pixel_m * pixel_m / airpath_m / airpath_m * close_m / airpath_m;
}

/* Fraction of the photons arriving at parallax = cos(angle to the sensor
   normal) that sensor layer t (of thickness step_m, attenuation mu in 1/m)
   absorbs: exp(-t step mu/|parallax|) - exp(-(t+1) step mu/|parallax|).
   The magnitude: a curved detector's pixels beyond 90 degrees see the flat
   normal from behind (nanoBragg: negative photons); a grazing ray (0) is
   taken by the first layer that absorbs at all. */
NB_HD
static inline double nbi_capture_fraction(double parallax, int t, double step_m, double mu)
{
    const double p = fabs(parallax);
    if (p == 0.0)
        return t == 0 && step_m * mu > 0.0 ? 1.0 : 0.0;
    return exp(-t * step_m * mu / p) - exp(-(t + 1) * step_m * mu / p);
}

/* The coefficients of U'_{N-1}(c), the slope of the Chebyshev polynomial
   of the second kind, as a polynomial in z = c^2 (times c where N is odd),
   highest power first: (N - 2) / 2 + 1 of them into out (N >= 2, at most
   NBI_CHEB_MAX). */
#define NBI_CHEB_MAX 12
static inline int nbi_chebyshev_u_slope(int N, double out[NBI_CHEB_MAX])
{
    double u[NBI_CHEB_MAX + 1][NBI_CHEB_MAX + 1] = {{0}}; /* u[n][k]: c^k in U_n */
    const int n = N - 1, deg = n - 1, m = deg / 2 + 1;
    u[0][0] = 1.0;
    if (n >= 1)
        u[1][1] = 2.0;
    for (int j = 2; j <= n; ++j)
        for (int k = 0; k <= j; ++k)
            u[j][k] = (k > 0 ? 2.0 * u[j - 1][k - 1] : 0.0) - u[j - 2][k];
    /* U'_n = sum k u[n][k] c^(k-1): powers deg, deg - 2, ... */
    for (int i = 0; i < m; ++i) {
        const int k = deg - 2 * i + 1;
        out[i] = k * u[n][k];
    }
    return m;
}

/* The lattice factor along one axis and its derivatives for a whole N >= 2
   known at compile time (the loss gradient's vector loops): G = U_{N-1}(cos
   pi d) by the recurrence and the arithmetic of the row kernel's
   nbi_grating_chebyshev_d (the same bits), dG/dh = -pi sin(pi d)
   U'_{N-1}(cos pi d) (slope: nbi_chebyshev_u_slope's coefficients), and
   dG/dN = pi d cos(N pi d)/sin(pi d) = num/den with num = pi T_N(cos pi d)
   (T_N = cos U_{N-1} - U_{N-2}) and den = sin(pi d)/d, which is pi at the
   peak: no special case; the caller divides (one division for the three
   axes of a sample). */
NB_INLINE double nbi_grating_chebyshev_parts(double h, const int N, const double *slope, double *dh, double *num,
                                             double *den)
{
    const double d = h - rint(h), c = nbi_cospi_reduced_d(d), c2 = 2.0 * c, z = c * c;
    const double P = nbi_sinpi_over_x_d(d * d);
    const int m = (N - 2) / 2 + 1;
    double u_prev = 1.0, u = c2, up = slope[0];
    NB_UNROLL
    for (int k = 2; k < N; ++k) {
        const double un = fma(c2, u, -u_prev);
        u_prev = u, u = un;
    }
    NB_UNROLL
    for (int k = 1; k < m; ++k)
        up = fma(up, z, slope[k]);
    if (N % 2)
        up *= c;
    *dh = -M_PI * (d * P) * up;
    *num = M_PI * fma(c, u, -u_prev);
    *den = P;
    return u;
}

#endif
