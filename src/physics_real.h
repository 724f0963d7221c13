/*
 * physics_real.h - the physics terms the vector loops evaluate per sample,
 * written once over a real type.  physics.h includes this file twice: with
 * REAL double and names ending in _d, and with REAL float and names ending
 * in _f.  Before each inclusion it defines
 *
 *   REAL            the type
 *   R(name)         name with the type's suffix
 *   R_RINT, R_FLOOR, R_CEIL, R_FABS, R_SQRT, R_FMA   the math functions
 *                   of the type
 *   R_GRATING_FLAT  |N delta| below which sin(N pi h)/sin(pi h) = N to the
 *                   type's precision
 *
 * and the tables R(sinpi_coef), R(cospi_coef).  Pure functions: no state,
 * no library calls but the math functions above.  The parameters are
 * undefined again at the end.
 */

/* P(z) of sin(pi x) = x P(x^2) for |x| <= 1/2 (P(0) = pi). */
NB_INLINE REAL R(sinpi_over_x)(REAL z)
{
    REAL p = R(sinpi_coef)[0];
    NB_HORNER(R_FMA, R(sinpi_coef), z, p);
    return p;
}

/* sin(pi x) for |x| <= 1/2: the odd polynomial x P(x^2). */
NB_INLINE REAL R(sinpi_reduced)(REAL x)
{
    return x * R(sinpi_over_x)(x * x);
}

/* cos(pi x) for |x| <= 1/2: the even polynomial Q(x^2). */
NB_INLINE REAL R(cospi_reduced)(REAL x)
{
    const REAL z = x * x;
    REAL p = R(cospi_coef)[0];
    NB_HORNER(R_FMA, R(cospi_coef), z, p);
    return p;
}

/* 2 cos(pi x) for |x| <= 1/2: 2 Q(x^2), the factor in the constants (the
   same bits as 2 times R(cospi_reduced)). */
NB_INLINE REAL R(cospi2_reduced)(REAL x)
{
    const REAL z = x * x;
    REAL p = (REAL)2 * R(cospi_coef)[0];
    NB_HORNER_SCALED(R_FMA, R(cospi_coef), (REAL)2, z, p);
    return p;
}

/* sin(N pi h) and sin(pi h) on the reduced arguments (signs irrelevant:
   only the squared ratio is used), N an integer >= 1.  Where N delta is
   within R_GRATING_FLAT of 0 the ratio is N to the type's precision (it is
   N (1 - (N^2-1) (pi delta)^2/6 + ...)): the pair (N, 1) is returned there,
   no division by a vanishing sine. */
NB_INLINE void R(grating_pair)(REAL h, REAL N, REAL *num, REAL *den)
{
    const REAL d = h - R_RINT(h);
    const REAL y = N * d;
    const int flat = R_FABS(y) < R_GRATING_FLAT;
    const REAL sn = R(sinpi_reduced)(y - R_RINT(y)), sd = R(sinpi_reduced)(d); /* both: no branch */
    *num = flat ? N : sn;
    *den = flat ? (REAL)1 : sd;
}

/* Lattice factor of a parallelepiped of Na x Nb x Nc cells, squared:
   (sin(Na pi h)/sin(pi h) sin(Nb pi k)/sin(pi k) sin(Nc pi l)/sin(pi l))^2. */
NB_INLINE REAL R(lattice_square2)(REAL h, REAL k, REAL l, REAL Na, REAL Nb, REAL Nc)
{
    REAL nh, dh, nk, dk, nl, dl, num, den;
    R(grating_pair)(h, Na, &nh, &dh);
    R(grating_pair)(k, Nb, &nk, &dk);
    R(grating_pair)(l, Nc, &nl, &dl);
    num = nh * nk * nl;
    den = dh * dk * dl;
    num /= den;
    return num * num;
}

/* sin(N pi h)/sin(pi h) = U_{N-1}(cos pi h), the Chebyshev polynomial of the
   second kind, by its recurrence: no division and no special case at the
   peaks.  With N a compile-time constant the recurrence unrolls. */
NB_INLINE REAL R(grating_chebyshev)(REAL h, const int N)
{
    const REAL c2 = R(cospi2_reduced)(h - R_RINT(h));
    REAL u_prev = 1, u = c2;
    if (N == 1)
        return 1;
    NB_UNROLL
    for (int m = 2; m < N; ++m) {
        const REAL t = R_FMA(c2, u, -u_prev);
        u_prev = u;
        u = t;
    }
    return u;
}

/* A Miller index as an affine function of the unit diffracted direction d:
   h = a.(d - i)/lambda = (a/lambda).d - (a.i)/lambda, for one orientation
   (real-space axis a) and source (incident direction i, wavelength). */
typedef struct R(miller) {
    REAL x, y, z, off;
} R(miller);

NB_INLINE REAL R(miller_index)(R(miller) m, REAL dx, REAL dy, REAL dz)
{
    return R_FMA(m.z, dz, R_FMA(m.y, dy, m.x * dx)) - m.off;
}

/* The -dmin cut: a sample is kept unless sin(theta)/lambda =
   |d - i|/(2 lambda) exceeds stol_max = 1/(2 dmin). */
NB_INLINE int R(within_dmin)(REAL dx, REAL dy, REAL dz, REAL ix, REAL iy, REAL iz, REAL inv_lambda,
                             REAL stol_max)
{
    const REAL sx = dx - ix, sy = dy - iy, sz = dz - iz;
    const REAL stol = (REAL)0.5 * R_SQRT(R_FMA(sz, sz, R_FMA(sy, sy, sx * sx))) * inv_lambda;
    return !(stol > stol_max);
}

/* The HKL grid of structure factors as the look-ups read it: the table F
   in this type (hkl.h: nbi_hkl's storage, one padding plane per axis, l
   fastest), the index bounds, the ranges (h_range = h_max - h_min + 1) and
   the strides of h and k in entries.  The table has fewer than 2^27
   entries, so int indices suffice. */
typedef struct R(grid) {
    const REAL *F;
    REAL h_min, h_max, k_min, k_max, l_min, l_max;
    REAL h_range, k_range, l_range;
    int hstride, kstride;
} R(grid);

/* x clamped to [0, hi] (0 for NaN), branch-free for the vector loops. */
NB_INLINE REAL R(clamp)(REAL x, REAL hi)
{
    x = x > 0 ? x : 0;
    return x < hi ? x : hi;
}

/* Index in g.F of the reflection nearest to fractional (h, k, l) (rounded
   as nanoBragg does, ceil(x - 0.5)); *inside: 0 where that reflection is
   outside the grid (or an index is NaN), and the index is then that of a
   grid point nearby (converted without overflow). */
NB_INLINE int R(nearest_index)(R(grid) g, REAL h, REAL k, REAL l, int *inside)
{
    const REAL h0 = R_CEIL(h - (REAL)0.5), k0 = R_CEIL(k - (REAL)0.5), l0 = R_CEIL(l - (REAL)0.5);
    *inside = (h0 >= g.h_min) & (h0 <= g.h_max) & (k0 >= g.k_min) & (k0 <= g.k_max) & (l0 >= g.l_min)
              & (l0 <= g.l_max);
    return (int)R(clamp)(h0 - g.h_min, g.h_max - g.h_min) * g.hstride
           + (int)R(clamp)(k0 - g.k_min, g.k_max - g.k_min) * g.kstride
           + (int)R(clamp)(l0 - g.l_min, g.l_max - g.l_min);
}

/* nanoBragg's test for a safe 4x4x4 neighbourhood around fractional
   (h, k, l): false when h - h_min + 3 > h_range or h - 2 < h_min (the same
   for k and l), or an index is NaN.  Never true unless every range is at
   least 5. */
NB_INLINE int R(interp_ok)(R(grid) g, REAL h, REAL k, REAL l)
{
    return ((h - g.h_min + 3) <= g.h_range) & (h - 2 >= g.h_min) & ((k - g.k_min + 3) <= g.k_range)
           & (k - 2 >= g.k_min) & ((l - g.l_min + 3) <= g.l_range) & (l - 2 >= g.l_min);
}

/* Lagrange weights of the nodes f-1, f, f+1, f+2 at f + t. */
NB_INLINE void R(lagrange_weights)(REAL t, REAL w[4])
{
    const REAL a = t + 1, b = t - 1, c = t - 2;
    w[0] = -t * b * c * ((REAL)1 / 6);
    w[1] = a * b * c * (REAL)0.5;
    w[2] = -a * t * c * (REAL)0.5;
    w[3] = a * t * b * ((REAL)1 / 6);
}

/* The two halves of the tricubic interpolation (R(interpolate)): where
   and with which weights, then the weighted sum.  R(interp_base) is the
   index in g.F of the grid point (floor(h)-1, floor(k)-1, floor(l)-1);
   R(interp_weights) gives it too, and the Lagrange weights of the four
   nodes on each axis. */
NB_INLINE int R(interp_base)(R(grid) g, REAL h, REAL k, REAL l)
{
    /* clamped (no effect where R(interp_ok) holds) so that any sample converts safely */
    return ((int)R(clamp)(R_FLOOR(h) - g.h_min, g.h_range) - 1) * g.hstride
           + ((int)R(clamp)(R_FLOOR(k) - g.k_min, g.k_range) - 1) * g.kstride
           + (int)R(clamp)(R_FLOOR(l) - g.l_min, g.l_range) - 1;
}

NB_INLINE int R(interp_weights)(R(grid) g, REAL h, REAL k, REAL l, REAL wh[4], REAL wk[4], REAL wl[4])
{
    R(lagrange_weights)(h - R_FLOOR(h), wh);
    R(lagrange_weights)(k - R_FLOOR(k), wk);
    R(lagrange_weights)(l - R_FLOOR(l), wl);
    return R(interp_base)(g, h, k, l);
}

/* The two steps of the weighted sum over the 4x4x4 points (R(interp_sum)),
   for the loop orders that use them: R(interp_node) adds c times the sum
   over the four k nodes of wk F (k0 y0 + k1 y1 + k2 y2 + k3 y3, in that
   order) to v; R(interp_dot) is the sum over the four l nodes of wl v. */
NB_INLINE REAL R(interp_node)(REAL v, REAL c, REAL k0, REAL k1, REAL k2, REAL k3, REAL y0, REAL y1, REAL y2,
                              REAL y3)
{
    return R_FMA(c, R_FMA(k3, y3, R_FMA(k2, y2, R_FMA(k1, y1, k0 * y0))), v);
}

NB_INLINE REAL R(interp_dot)(REAL w0, REAL w1, REAL w2, REAL w3, REAL v0, REAL v1, REAL v2, REAL v3)
{
    return R_FMA(w3, v3, R_FMA(w2, v2, R_FMA(w1, v1, w0 * v0)));
}

/* The weighted sum over the 4x4x4 points from F[base], given the weights
   of the four nodes on each axis: for each h node i the sum over k of wk F
   (a vector of the four l nodes, which are contiguous in the table: one
   vector load and one fused multiply-add per (h, k) pair), added with
   weight wh to v, then the sum over l of wl v.  The order of every
   operation is fixed, so scalar and vector code give the same bits, and so
   does a loop across samples that calls the two steps in this order. */
NB_INLINE REAL R(interp_sum)(const REAL *F, int base, int hstride, int kstride, const REAL wh[4], const REAL wk[4],
                             const REAL wl[4])
{
    REAL v[4] = {0, 0, 0, 0};
    NB_UNROLL
    for (int i = 0; i < 4; ++i) {
        const REAL *y0 = F + base + i * hstride, *y1 = y0 + kstride, *y2 = y1 + kstride, *y3 = y2 + kstride;
        NB_LANES
        for (int m = 0; m < 4; ++m)
            v[m] = R(interp_node)(v[m], wh[i], wk[0], wk[1], wk[2], wk[3], y0[m], y1[m], y2[m], y3[m]);
    }
    return R(interp_dot)(wl[0], wl[1], wl[2], wl[3], v[0], v[1], v[2], v[3]);
}

/* Tricubic interpolation at fractional (h, k, l): the Lagrange interpolant
   of the 4x4x4 grid points floor(x)-1 .. floor(x)+2 (nanoBragg's polin3), in
   tensor-product form: weights per axis, then one weighted sum over the 64
   points (equal to nanoBragg's nested polint up to rounding).  The caller
   has checked R(interp_ok). */
NB_INLINE REAL R(interpolate)(R(grid) g, REAL h, REAL k, REAL l)
{
    REAL wh[4], wk[4], wl[4];
    const int base = R(interp_weights)(g, h, k, l, wh, wk, wl);
    return R(interp_sum)(g.F, base, g.hstride, g.kstride, wh, wk, wl);
}

#undef REAL
#undef R
#undef R_RINT
#undef R_FLOOR
#undef R_CEIL
#undef R_FABS
#undef R_SQRT
#undef R_FMA
#undef R_GRATING_FLAT
