/*
 * rng.c - the Numerical Recipes random generators nanoBragg uses (ran1 with
 * its Bays-Durham shuffle, gaussdev, poidev, gammln) and the random rotations
 * built on them (mosaic_rotation_umat, umat2misset).
 *
 * Results must match nanoBragg bit for bit, so every intermediate keeps the
 * C type the reference gives it: ran1, gaussdev and poidev work in float with
 * some subexpressions promoted to double by double constants; gammln takes
 * and returns float but computes in double.  The state nanoBragg keeps in
 * function statics lives in nbi_rng instead.
 */
#include "rng.h"

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

/* ran1 constants (Park-Miller minimal standard with Schrage's method). */
#define RNG_IA 16807
#define RNG_IM 2147483647
#define RNG_AM (1.0 / RNG_IM)
#define RNG_IQ 127773
#define RNG_IR 2836
#define RNG_NTAB 32
#define RNG_NDIV (1 + (RNG_IM - 1) / RNG_NTAB)
#define RNG_EPS 1.2e-7
#define RNG_RNMX (1.0 - RNG_EPS)

void nbi_rng_init(nbi_rng *r, long seed)
{
    int j;
    r->idum = seed;
    r->iy = 0; /* forces ran1 to load the shuffle table on its first call */
    for (j = 0; j < RNG_NTAB; j++)
        r->iv[j] = 0;
    r->gauss_have = 0;
    r->gauss_spare = 0.0f;
    r->poi_oldm = -1.0f;
    r->poi_sq = r->poi_alxm = r->poi_g = 0.0f;
    r->gammln_known = 0;
}

/* One step of the Park-Miller generator on r->idum: idum = IA idum mod IM.
   In the generator's own range, 0 < idum < IM, the exact 46-bit product
   reduced modulo the Mersenne prime IM = 2^31 - 1 (the same values as
   Schrage's method, checked for every idum in the range; a shorter chain
   of dependent operations); elsewhere (a seed outside it, on the way into
   the shuffle table) Schrage's method as ran1 has it. */
static inline void rng_step(nbi_rng *r)
{
    if (r->idum > 0 && r->idum < RNG_IM) {
        uint64_t x = (uint64_t)r->idum * RNG_IA;
        x = (x & RNG_IM) + (x >> 31);
        r->idum = (long)(x >= RNG_IM ? x - RNG_IM : x);
        return;
    }
    long k = r->idum / RNG_IQ;
    r->idum = RNG_IA * (r->idum - k * RNG_IQ) - RNG_IR * k;
    if (r->idum < 0)
        r->idum += RNG_IM;
}

/* Load the shuffle table after 8 warm-up steps, as ran1 does when idum <= 0.
   A positive seed reaching here (only on a fresh struct) becomes 1, as in NR. */
static void rng_reload(nbi_rng *r)
{
    int j;
    if (-(r->idum) < 1)
        r->idum = 1;
    else
        r->idum = -(r->idum);
    for (j = RNG_NTAB + 7; j >= 0; j--) {
        rng_step(r);
        if (j < RNG_NTAB)
            r->iv[j] = r->idum;
    }
    r->iy = r->iv[0];
}

static inline float rng_ran1(nbi_rng *r)
{
    int j;
    float temp;
    if (r->idum <= 0 || !r->iy)
        rng_reload(r);
    rng_step(r);
    j = (int)(r->iy / RNG_NDIV);
    r->iy = r->iv[j];
    r->iv[j] = r->idum;
    if ((temp = (float)(RNG_AM * r->iy)) > RNG_RNMX)
        return (float)RNG_RNMX;
    return temp;
}

float nbi_rng_ran1(nbi_rng *r)
{
    return rng_ran1(r);
}

float nbi_rng_gauss(nbi_rng *r)
{
    float fac, rsq, v1, v2;
    if (r->gauss_have) {
        r->gauss_have = 0;
        return r->gauss_spare;
    }
    do {
        v1 = (float)(2.0 * rng_ran1(r) - 1.0);
        v2 = (float)(2.0 * rng_ran1(r) - 1.0);
        rsq = v1 * v1 + v2 * v2;
    } while (rsq >= 1.0 || rsq == 0);
    fac = (float)sqrt(-2.0 * log(rsq) / rsq);
    r->gauss_spare = v1 * fac;
    r->gauss_have = 1;
    return v2 * fac;
}

/* ln(Gamma(xx)) for xx > 0 (Lanczos), float in and out, double inside. */
static float rng_gammln(float xx)
{
    static const double cof[6] = {76.18009172947146,     -86.50532032941677,
                                  24.01409824083091,     -1.231739572450155,
                                  0.1208650973866179e-2, -0.5395239384953e-5};
    double x, y, tmp, ser;
    int j;
    y = x = xx;
    tmp = x + 5.5;
    tmp -= (x + 0.5) * log(tmp);
    ser = 1.000000000190015;
    for (j = 0; j <= 5; ++j)
        ser += cof[j] / ++y;
    return (float)(-tmp + log(2.5066282746310005 * ser / x));
}

/* rng_gammln(m) for a whole m >= 1 (em + 1 in poidev, which gives it as
   (float)(em + 1.0), the same float while em < 2^24): remembered in r below
   NBI_RNG_GAMMLN_MEMO, the table filled up to m when first asked. */
static inline float rng_gammln_whole(nbi_rng *r, float m)
{
    if (m < (float)NBI_RNG_GAMMLN_MEMO) {
        const int i = (int)m;
        while (r->gammln_known < i) {
            ++r->gammln_known;
            r->gammln_memo[r->gammln_known] = rng_gammln((float)r->gammln_known);
        }
        return r->gammln_memo[i];
    }
    return rng_gammln(m);
}

/* poidev's direct method for small means: count uniform deviates until
   their product falls below exp(-xm). */
static inline float rng_poisson_small(nbi_rng *r, float xm, const float *g)
{
    float em = -1.0f, t = 1.0f;
    if (xm != r->poi_oldm) {
        r->poi_oldm = xm;
        r->poi_g = g ? *g : (float)exp(-xm);
    }
    do {
        ++em;
        t *= rng_ran1(r);
    } while (t > r->poi_g);
    return em;
}

/* poidev's rejection method against a Lorentzian comparison function. */
static float rng_poisson_large(nbi_rng *r, float xm)
{
    float em, t, y;
    if (xm != r->poi_oldm) {
        r->poi_oldm = xm;
        r->poi_sq = (float)sqrt(2.0 * xm);
        r->poi_alxm = (float)log(xm);
        r->poi_g = xm * r->poi_alxm - rng_gammln((float)(xm + 1.0));
    }
    do {
        do {
            y = (float)tan(M_PI * rng_ran1(r));
            em = r->poi_sq * y + xm;
        } while (em < 0.0);
        em = (float)floor(em);
        t = (float)(0.9 * (1.0 + y * y) * exp(em * r->poi_alxm - rng_gammln_whole(r, em + 1.0f) - r->poi_g));
    } while (rng_ran1(r) > t);
    return em;
}

/* g: exp(-xm) when known (xm below 12), else NULL. */
static inline float rng_poisson(nbi_rng *r, float xm, const float *g)
{
    if (xm > 1.0e6) {
        float dev = nbi_rng_gauss(r);
        return (float)(xm + sqrt(xm) * dev);
    }
    if (xm < 12.0)
        return rng_poisson_small(r, xm, g);
    return rng_poisson_large(r, xm);
}

float nbi_rng_poisson(nbi_rng *r, float xm)
{
    return rng_poisson(r, xm, NULL);
}

#define POISSON_RUN 1024

void nbi_rng_poisson_run(nbi_rng *r, const float *xm, int n, nbi_exp_neg_fn exp_neg, float *dev)
{
    float g[POISSON_RUN];
    unsigned char need[POISSON_RUN];
    if (!exp_neg) {
        for (int i = 0; i < n; ++i)
            dev[i] = rng_poisson(r, xm[i], NULL);
        return;
    }
    for (int c = 0; c < n; c += POISSON_RUN) {
        const int m = n - c < POISSON_RUN ? n - c : POISSON_RUN;
        exp_neg(xm + c, m, g, need);
        for (int i = 0; i < m; ++i)
            if (need[i] && xm[c + i] < 12.0)
                g[i] = (float)exp(-xm[c + i]);
        for (int i = 0; i < m; ++i)
            dev[c + i] = rng_poisson(r, xm[c + i], &g[i]);
    }
}

void nbi_rng_mosaic_umat(nbi_rng *r, float mosaicity, double umat[9])
{
    double r1, r2, r3, xyrad, rot, v1, v2, v3;
    double t1, t2, t3, t6, t7, t8, t9, t11, t12, t15, t19, t20, t24;

    /* three uniform deviates on [-1:1], drawn in this order */
    r1 = 2.0 * nbi_rng_ran1(r) - 1.0;
    r2 = 2.0 * nbi_rng_ran1(r) - 1.0;
    r3 = 2.0 * nbi_rng_ran1(r) - 1.0;

    xyrad = sqrt(1.0 - r2 * r2);
    /* powf and a float product, as the reference */
    rot = mosaicity * powf((float)(1.0 - r3 * r3), (float)(1.0 / 3.0));

    /* random axis v, rotation angle rot: axis-angle to matrix */
    v1 = xyrad * sin(M_PI * r1);
    v2 = xyrad * cos(M_PI * r1);
    v3 = r2;
    t1 = cos(rot);
    t2 = 1.0 - t1;
    t3 = v1 * v1;
    t6 = t2 * v1;
    t7 = t6 * v2;
    t8 = sin(rot);
    t9 = t8 * v3;
    t11 = t6 * v3;
    t12 = t8 * v2;
    t15 = v2 * v2;
    t19 = t2 * v2 * v3;
    t20 = t8 * v1;
    t24 = v3 * v3;

    umat[0] = t1 + t2 * t3;
    umat[1] = t7 - t9;
    umat[2] = t11 + t12;
    umat[3] = t7 + t9;
    umat[4] = t1 + t2 * t15;
    umat[5] = t19 - t20;
    umat[6] = t11 - t12;
    umat[7] = t19 + t20;
    umat[8] = t1 + t2 * t24;
}

/* ---- umat2misset ---- */

/* Scale the row v to unit length when its length is positive; returns the
   length before scaling. */
static double row_unitize(double v[3])
{
    double m = sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]);
    if (m > 0) {
        v[0] /= m;
        v[1] /= m;
        v[2] /= m;
    }
    return m;
}

/* out = unit(a x b) (left unscaled when zero), in the reference's order. */
static void row_cross_unit(const double a[3], const double b[3], double out[3])
{
    out[0] = a[1] * b[2] - a[2] * b[1];
    out[1] = a[2] * b[0] - a[0] * b[2];
    out[2] = a[0] * b[1] - a[1] * b[0];
    row_unitize(out);
}

/* Replace each empty row by the cross product of the other two. */
static void rows_fill_empty(double u[3][3], double mx, double my, double mz)
{
    double xcy[3], ycz[3], zcx[3];
    int i;
    row_cross_unit(u[0], u[1], xcy);
    row_cross_unit(u[1], u[2], ycz);
    row_cross_unit(u[2], u[0], zcx);
    for (i = 0; i < 3; i++) {
        if (mx <= 0)
            u[0][i] = ycz[i];
        if (my <= 0)
            u[1][i] = zcx[i];
        if (mz <= 0)
            u[2][i] = xcy[i];
    }
}

static void rows_set_unit(double row[3], int axis)
{
    row[0] = axis == 0 ? 1.0 : 0.0;
    row[1] = axis == 1 ? 1.0 : 0.0;
    row[2] = axis == 2 ? 1.0 : 0.0;
}

void nbi_umat_to_misset(const double umat[9], double missets[3])
{
    double u[3][3], mx, my, mz;
    int i;
    for (i = 0; i < 9; i++)
        u[i / 3][i % 3] = umat[i];

    /* normalise rows; with only one non-empty row, the others become axes */
    mx = row_unitize(u[0]);
    my = row_unitize(u[1]);
    mz = row_unitize(u[2]);
    if (mx >= 0 && my <= 0 && mz <= 0) {
        rows_set_unit(u[1], 1);
        rows_set_unit(u[2], 2);
    }
    if (mx <= 0 && my >= 0 && mz <= 0) {
        rows_set_unit(u[0], 0);
        rows_set_unit(u[2], 2);
    }
    if (mx <= 0 && my <= 0 && mz >= 0) {
        rows_set_unit(u[0], 0);
        rows_set_unit(u[1], 1);
    }
    /* the reference fills empty rows twice, then renormalises */
    rows_fill_empty(u, mx, my, mz);
    rows_fill_empty(u, mx, my, mz);
    row_unitize(u[0]);
    row_unitize(u[1]);
    row_unitize(u[2]);

    if (u[2][0] * u[2][0] < 1.0) {
        missets[0] = atan2(u[2][1], u[2][2]);
        missets[1] = atan2(-u[2][0], sqrt(u[2][1] * u[2][1] + u[2][2] * u[2][2]));
        missets[2] = atan2(u[1][0], u[0][0]);
    } else {
        missets[0] = atan2(1, 1) * 4;
        missets[1] = atan2(1, 1) * 2;
        missets[2] = atan2(u[0][1], -u[1][1]);
    }
}
