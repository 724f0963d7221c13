/*
 * physics_real.h - the physics terms the vector loops evaluate per sample,
 * written once over a real type.  physics.h includes this file twice: with
 * REAL double and names ending in _d, and with REAL float and names ending
 * in _f.  Before each inclusion it defines
 *
 *   REAL            the type
 *   R(name)         name with the type's suffix
 *   R_RINT, R_FABS, R_SQRT, R_FMA   the math functions of the type
 *   R_GRATING_FLAT  |N delta| below which sin(N pi h)/sin(pi h) = N to the
 *                   type's precision
 *
 * and the tables R(sinpi_coef), R(cospi_coef).  Pure functions: no state,
 * no library calls but the math functions above.  The parameters are
 * undefined again at the end.
 */

/* sin(pi x) for |x| <= 1/2: the odd polynomial x P(x^2). */
NB_INLINE REAL R(sinpi_reduced)(REAL x)
{
    const REAL z = x * x;
    REAL p = R(sinpi_coef)[0];
    NB_HORNER(R_FMA, R(sinpi_coef), z, p);
    return x * p;
}

/* cos(pi x) for |x| <= 1/2: the even polynomial Q(x^2). */
NB_INLINE REAL R(cospi_reduced)(REAL x)
{
    const REAL z = x * x;
    REAL p = R(cospi_coef)[0];
    NB_HORNER(R_FMA, R(cospi_coef), z, p);
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
    const REAL c2 = (REAL)2 * R(cospi_reduced)(h - R_RINT(h));
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

#undef REAL
#undef R
#undef R_RINT
#undef R_FABS
#undef R_SQRT
#undef R_FMA
#undef R_GRATING_FLAT
