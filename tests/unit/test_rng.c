/*
 * test_rng.c - unit tests of the Numerical Recipes generators (ran1,
 * gaussdev, poidev), the random mosaic rotations, umat2misset, and the
 * noise-image loop built on them.
 *
 * The literal sequences below were produced once by nanoBragg's own
 * functions (compiled outside this repository); hex float literals make the
 * comparisons bit-exact.
 */
#include <math.h>
#include <string.h>

#include "support.h"

#include "noise.h"
#include "rng.h"
#include "row_loops.h"

static void test_ran1_seed_minus1(void **state)
{
    static const float want[5] = {0x1.a9fbbcp-2f, 0x1.78b02ep-4f, 0x1.83483cp-1f,
                                  0x1.0f34dep-1f, 0x1.dc622cp-1f};
    nbi_rng r;
    int i;
    float x = 0.0f;
    (void)state;
    nbi_rng_init(&r, -1);
    for (i = 0; i < 5; i++)
        assert_true(nbi_rng_ran1(&r) == want[i]);
    for (; i < 40; i++)
        x = nbi_rng_ran1(&r);
    assert_true(x == 0x1.cf2ebp-1f);
    assert_int_equal(r.idum, 1654001669L);
    /* seed 0 is treated as 1, like -1 */
    nbi_rng_init(&r, 0);
    assert_true(nbi_rng_ran1(&r) == want[0]);
}

static void test_ran1_mosaic_seed(void **state)
{
    static const float want[5] = {0x1.882fcp-1f, 0x1.8043ccp-6f, 0x1.2df0a6p-1f,
                                  0x1.11f8d6p-1f, 0x1.f6e70ap-1f};
    nbi_rng r;
    int i;
    (void)state;
    nbi_rng_init(&r, -12345678);
    for (i = 0; i < 5; i++)
        assert_true(nbi_rng_ran1(&r) == want[i]);
}

static void test_ran1_range(void **state)
{
    nbi_rng r;
    double sum = 0.0;
    int i;
    (void)state;
    nbi_rng_init(&r, -99);
    for (i = 0; i < 100000; i++) {
        float x = nbi_rng_ran1(&r);
        assert_true(x > 0.0f && x < 1.0f);
        sum += x;
    }
    assert_true(fabs(sum / 100000 - 0.5) < 5 * sqrt(1.0 / 12 / 100000));
}

static void test_gauss_sequence(void **state)
{
    static const float want[4] = {0x1.14da78p-3f, 0x1.d8d0bep-1f, 0x1.eb9fccp-2f,
                                  0x1.703488p+0f};
    nbi_rng r;
    int i;
    (void)state;
    nbi_rng_init(&r, -3);
    for (i = 0; i < 4; i++)
        assert_true(nbi_rng_gauss(&r) == want[i]);
}

static void test_poisson_sequences(void **state)
{
    static const float want3[6] = {2, 2, 5, 4, 1, 4};
    static const float want50[6] = {54, 35, 48, 56, 47, 55};
    static const float want2e6[6] = {0x1.e83712p+20f, 0x1.e7eeb8p+20f, 0x1.e81d68p+20f,
                                     0x1.e906bcp+20f, 0x1.e82aeap+20f, 0x1.e8544ap+20f};
    nbi_rng r;
    int i;
    (void)state;
    nbi_rng_init(&r, -7);
    for (i = 0; i < 6; i++)
        assert_true(nbi_rng_poisson(&r, 3.0f) == want3[i]);
    nbi_rng_init(&r, -7);
    for (i = 0; i < 6; i++)
        assert_true(nbi_rng_poisson(&r, 50.0f) == want50[i]);
    nbi_rng_init(&r, -7);
    for (i = 0; i < 6; i++)
        assert_true(nbi_rng_poisson(&r, 2e6f) == want2e6[i]);
}

/* ran1 as Numerical Recipes writes it (Schrage's method on every step): the
   generator's faster step must give the same deviates, from seeds inside
   and outside its range. */
static float nr_ran1(long *idum, long *iy, long iv[32])
{
    const long IA = 16807, IM = 2147483647, IQ = 127773, IR = 2836, NDIV = 1 + (IM - 1) / 32;
    long k;
    int j;
    float temp;
    if (*idum <= 0 || !*iy) {
        if (-(*idum) < 1)
            *idum = 1;
        else
            *idum = -(*idum);
        for (j = 32 + 7; j >= 0; j--) {
            k = (*idum) / IQ;
            *idum = IA * (*idum - k * IQ) - IR * k;
            if (*idum < 0)
                *idum += IM;
            if (j < 32)
                iv[j] = *idum;
        }
        *iy = iv[0];
    }
    k = (*idum) / IQ;
    *idum = IA * (*idum - k * IQ) - IR * k;
    if (*idum < 0)
        *idum += IM;
    j = (int)(*iy / NDIV);
    *iy = iv[j];
    iv[j] = *idum;
    if ((temp = (float)((1.0 / IM) * *iy)) > 1.0 - 1.2e-7)
        return (float)(1.0 - 1.2e-7);
    return temp;
}

static void test_ran1_against_schrage(void **state)
{
    static const long seeds[] = {-1, -2, -12345678, -2147483646L, -2147483647L, -2147483648L, -3000000000L};
    (void)state;
    for (size_t s = 0; s < sizeof seeds / sizeof seeds[0]; ++s) {
        long idum = seeds[s], iy = 0, iv[32] = {0};
        nbi_rng r;
        nbi_rng_init(&r, seeds[s]);
        for (int i = 0; i < 2000000; ++i) {
            const float want = nr_ran1(&idum, &iy, iv);
            const float got = nbi_rng_ran1(&r);
            if (got != want)
                fail_msg("seed %ld, draw %d: %a against %a", seeds[s], i, got, want);
        }
        assert_int_equal(r.idum, idum);
    }
}

/* gammln and poidev (below 1e6) as Numerical Recipes and nanoBragg write
   them, on nr_ran1: the oracle of the remembered gammln table. */
static float nr_gammln(float xx)
{
    static const double cof[6] = {76.18009172947146,     -86.50532032941677,
                                  24.01409824083091,     -1.231739572450155,
                                  0.1208650973866179e-2, -0.5395239384953e-5};
    double x, y, tmp, ser;
    y = x = xx;
    tmp = x + 5.5;
    tmp -= (x + 0.5) * log(tmp);
    ser = 1.000000000190015;
    for (int j = 0; j <= 5; j++)
        ser += cof[j] / ++y;
    return (float)(-tmp + log(2.5066282746310005 * ser / x));
}

typedef struct nr_state {
    long idum, iy, iv[32];
    float oldm, sq, alxm, g;
} nr_state;

static float nr_poidev(nr_state *z, float xm)
{
    float em, t, y;
    if (xm < 12.0) {
        if (xm != z->oldm) {
            z->oldm = xm;
            z->g = (float)exp(-xm);
        }
        em = -1;
        t = 1.0;
        do {
            ++em;
            t *= nr_ran1(&z->idum, &z->iy, z->iv);
        } while (t > z->g);
    } else {
        if (xm != z->oldm) {
            z->oldm = xm;
            z->sq = (float)sqrt(2.0 * xm);
            z->alxm = (float)log(xm);
            z->g = xm * z->alxm - nr_gammln((float)(xm + 1.0));
        }
        do {
            do {
                y = (float)tan(M_PI * nr_ran1(&z->idum, &z->iy, z->iv));
                em = z->sq * y + xm;
            } while (em < 0.0);
            em = (float)floor(em);
            t = (float)(0.9 * (1.0 + y * y) * exp(em * z->alxm - nr_gammln((float)(em + 1.0)) - z->g));
        } while (nr_ran1(&z->idum, &z->iy, z->iv) > t);
    }
    return em;
}

/* Each instruction set's exp_neg gives the C library's (float)exp(-x)
   wherever it does not ask for it: every 61st float in [0, 12), the ends,
   and the inputs it must leave to the library. */
static void test_exp_neg(void **state)
{
    enum { RUN = 4096 };
    static const nb_isa isas[3] = {NB_ISA_BASELINE, NB_ISA_AVX2, NB_ISA_AVX512};
    static float x[RUN], g[RUN];
    static unsigned char need[RUN];
    const float twelve = 12.0f;
    uint32_t end;
    (void)state;
    memcpy(&end, &twelve, sizeof end);
    for (int v = 0; v < 3; ++v) {
        const nbi_row_loops *loops = nbi_row_loops_for(isas[v]);
        long checked = 0, needed = 0;
        uint32_t b = 0;
        if (!loops)
            continue;
        while (b < end) {
            int n = 0;
            for (; n < RUN && b < end; ++n, b += 61)
                memcpy(&x[n], &b, sizeof b);
            if (b >= end && n < RUN) { /* the last float below 12 */
                const uint32_t last = end - 1;
                memcpy(&x[n++], &last, sizeof last);
            }
            loops->exp_neg(x, n, g, need);
            for (int i = 0; i < n; ++i) {
                ++checked;
                if (need[i]) {
                    ++needed;
                    continue;
                }
                if (g[i] != (float)exp(-x[i]))
                    fail_msg("%s: exp(-%a) = %a against %a", loops->isa, (double)x[i], (double)g[i],
                             (double)(float)exp(-x[i]));
            }
        }
        assert_true(checked > 17000000 && needed < checked / 10000);
        {
            const float odd[6] = {-1.0f, -0.0f, 12.0f, 1e30f, INFINITY, NAN};
            loops->exp_neg(odd, 6, g, need);
            assert_true(need[0] && need[2] && need[3] && need[4] && need[5]);
            assert_true(need[1] || g[1] == 1.0f);
        }
    }
}

/* A run of draws (nbi_rng_poisson_run) is the same as one draw at a time,
   across the three methods, repeated and changing means, and whole
   deviates on both sides of the remembered gammln table. */
static void test_poisson_run(void **state)
{
    enum { N = 4000 };
    static float xm[N], dev[N];
    nbi_rng a, b;
    (void)state;
    for (int i = 0; i < N; ++i) {
        const int kind = i % 9;
        xm[i] = kind == 0   ? 0.0f
                : kind == 1 ? 3.0f
                : kind == 2 ? 0.37f * (float)(i % 31)
                : kind == 3 ? 11.99f
                : kind == 4 ? 12.0f + (float)(i % 50)
                : kind == 5 ? 50.0f
                : kind == 6 ? 900.0f + 0.5f * (float)(i % 400) /* em around NBI_RNG_GAMMLN_MEMO */
                : kind == 7 ? 2e6f
                            : 1e4f;
    }
    for (int v = 0; v < 4; ++v) { /* the C library's exp, then each instruction set's exp_neg */
        static const nb_isa isas[3] = {NB_ISA_BASELINE, NB_ISA_AVX2, NB_ISA_AVX512};
        const nbi_row_loops *loops = v ? nbi_row_loops_for(isas[v - 1]) : NULL;
        const nbi_exp_neg_fn exp_neg = loops ? loops->exp_neg : NULL;
        if (v && !loops)
            continue; /* not on this processor */
        nbi_rng_init(&a, -4242);
        nbi_rng_init(&b, -4242);
        nbi_rng_poisson_run(&a, xm, N / 2, exp_neg, dev);
        nbi_rng_poisson_run(&a, xm + N / 2, N - N / 2, exp_neg, dev + N / 2);
        for (int i = 0; i < N; ++i) {
            const float want = nbi_rng_poisson(&b, xm[i]);
            if (dev[i] != want)
                fail_msg("%s: draw %d (mean %g): %a against %a", loops ? loops->isa : "libm", i, (double)xm[i],
                         dev[i], want);
        }
        assert_int_equal(a.idum, b.idum);
        assert_true(a.gammln_known > 1000 && a.gammln_known < NBI_RNG_GAMMLN_MEMO);
    }
    /* and the same as poidev itself wherever it is used (means below 1e6) */
    {
        nr_state z = {.idum = -4243, .oldm = -1.0f};
        int m = 0;
        for (int i = 0; i < N; ++i)
            if (xm[i] <= 1e6f)
                xm[m++] = xm[i];
        nbi_rng_init(&a, -4243);
        nbi_rng_poisson_run(&a, xm, m, nbi_row_loops_for(NB_ISA_AUTO)->exp_neg, dev);
        for (int i = 0; i < m; ++i) {
            const float want = nr_poidev(&z, xm[i]);
            if (dev[i] != want)
                fail_msg("poidev draw %d (mean %g): %a against %a", i, (double)xm[i], dev[i], want);
        }
    }
}

/* Mean and variance of n draws of mean m within 5 standard errors. */
static void check_poisson_moments(float m, long seed)
{
    const int n = 200000;
    nbi_rng r;
    double s = 0.0, s2 = 0.0, mean, var;
    int i;
    nbi_rng_init(&r, seed);
    for (i = 0; i < n; i++) {
        double x = nbi_rng_poisson(&r, m);
        /* integers, except in the Gaussian branch above 1e6 */
        assert_true(x >= 0.0 && (m > 1e6f || x == floor(x)));
        s += x;
        s2 += x * x;
    }
    mean = s / n;
    var = s2 / n - mean * mean;
    /* se(mean) = sqrt(m/n); se(var) ~ sqrt((m + 2 m^2)/n) */
    assert_true(fabs(mean - m) < 5.0 * sqrt(m / n));
    assert_true(fabs(var - m) < 5.0 * sqrt((m + 2.0 * (double)m * m) / n));
}

static void test_poisson_moments(void **state)
{
    (void)state;
    check_poisson_moments(3.0f, -11);
    check_poisson_moments(50.0f, -12);
    check_poisson_moments(2e6f, -13);
}

static void test_poisson_edge(void **state)
{
    nbi_rng r;
    (void)state;
    nbi_rng_init(&r, -5);
    assert_true(nbi_rng_poisson(&r, 0.0f) == 0.0f);
    assert_true(nbi_rng_poisson(&r, -1.0f) == 0.0f);
}

static void check_rotation(const double u[9])
{
    int i, j, k;
    for (i = 0; i < 3; i++)
        for (j = 0; j < 3; j++) {
            double d = 0.0;
            for (k = 0; k < 3; k++)
                d += u[3 * i + k] * u[3 * j + k];
            assert_true(fabs(d - (i == j)) < 1e-12);
        }
    assert_true(fabs(det3(u) - 1.0) < 1e-12);
}

static void test_mosaic_umat(void **state)
{
    static const double want[9] = {
        0x1.ffee3d499b1a6p-1,  0x1.0d8c55e06c6abp-6, -0x1.292e5a22c7665p-11,
        -0x1.0d97c377c6fbdp-6, 0x1.ffec7c69f1b1cp-1, -0x1.546d2d6bacdf6p-8,
        0x1.f8a9b76b898cap-12, 0x1.54fdd94602394p-8, 0x1.fffe35e91186ap-1};
    static const float spreads[3] = {0.01f, 0.2f, 1.0f};
    nbi_rng r;
    double u[9];
    int s, i;
    (void)state;
    nbi_rng_init(&r, -12345678);
    nbi_rng_mosaic_umat(&r, 0.0174533f, u);
    assert_memory_equal(u, want, sizeof want);
    for (s = 0; s < 3; s++)
        for (i = 0; i < 5000; i++) {
            double angle;
            nbi_rng_mosaic_umat(&r, spreads[s], u);
            check_rotation(u);
            angle = acos(fmin(1.0, fmax(-1.0, 0.5 * (u[0] + u[4] + u[8] - 1.0))));
            assert_true(angle <= spreads[s] + 1e-6);
        }
}

/* R = Rz(c) Ry(b) Rx(a), nanoBragg's rotation order for misset angles. */
static void misset_matrix(const double m[3], double R[9])
{
    double ca = cos(m[0]), sa = sin(m[0]), cb = cos(m[1]), sb = sin(m[1]);
    double cc = cos(m[2]), sc = sin(m[2]);
    R[0] = cc * cb;
    R[1] = cc * sb * sa - sc * ca;
    R[2] = cc * sb * ca + sc * sa;
    R[3] = sc * cb;
    R[4] = sc * sb * sa + cc * ca;
    R[5] = sc * sb * ca - cc * sa;
    R[6] = -sb;
    R[7] = cb * sa;
    R[8] = cb * ca;
}

static void test_umat_to_misset(void **state)
{
    static const double want[3] = {0x1.54fe40b1fd212p-8, -0x1.f8a9b8b267e64p-12,
                                   -0x1.0d9ae2e59e88p-6};
    nbi_rng r;
    double u[9], m[3], R[9];
    int i, j;
    (void)state;
    nbi_rng_init(&r, -12345678);
    nbi_rng_mosaic_umat(&r, 0.0174533f, u);
    nbi_umat_to_misset(u, m);
    assert_memory_equal(m, want, sizeof want);
    /* random orientations (nanoBragg's -misset random uses 90) round-trip */
    for (i = 0; i < 2000; i++) {
        nbi_rng_mosaic_umat(&r, 90.0f, u);
        nbi_umat_to_misset(u, m);
        misset_matrix(m, R);
        for (j = 0; j < 9; j++)
            assert_true(fabs(R[j] - u[j]) < 1e-12);
    }
    /* identity -> zero angles */
    memset(u, 0, sizeof u);
    u[0] = u[4] = u[8] = 1.0;
    nbi_umat_to_misset(u, m);
    assert_true(m[0] == 0.0 && m[1] == 0.0 && m[2] == 0.0);
}

static void test_noise_counts(void **state)
{
    enum { F = 6, S = 5 };
    const int roi[4] = {1, 4, 1, 3};
    float img[F * S];
    uint16_t counts[F * S];
    double photons, sum = 0.0;
    long seed = -77, overloads;
    nbi_rng r;
    int f, s;
    (void)state;
    for (f = 0; f < F * S; f++)
        img[f] = (float)(f % 7) * 10.0f;
    img[2 * F + 2] = 1e9f; /* clipped */
    memset(counts, 0, sizeof counts);
    nbi_noise_counts(img, F, S, roi, nbi_row_loops_for(NB_ISA_AUTO)->exp_neg, &seed, 10.0, counts, &photons, &overloads);
    assert_int_equal(overloads, 1);
    /* replay: same draws, slow-major, ROI only */
    nbi_rng_init(&r, -77);
    for (s = 0; s < S; s++)
        for (f = 0; f < F; f++) {
            double v;
            if (f < roi[0] || f > roi[1] || s < roi[2] || s > roi[3]) {
                assert_int_equal(counts[s * F + f], 0);
                continue;
            }
            v = nbi_rng_poisson(&r, img[s * F + f]);
            sum += v;
            v += 10.0;
            assert_int_equal(counts[s * F + f], v > 65535.0 ? 65535 : (uint16_t)v);
        }
    assert_true(photons == sum);
    assert_int_equal(seed, r.idum);

    /* a region reaching past the detector: every pixel, in order */
    {
        const int wide[4] = {-3, F + 4, -1, S + 2};
        seed = -78;
        nbi_noise_counts(img, F, S, wide, NULL, &seed, 0.0, counts, &photons, &overloads);
        nbi_rng_init(&r, -78);
        for (f = 0; f < F * S; f++) {
            const double v = nbi_rng_poisson(&r, img[f]);
            assert_int_equal(counts[f], v > 65535.0 ? 65535 : (uint16_t)v);
        }
        assert_int_equal(seed, r.idum);
    }
    /* an empty region: no draws, the seed unchanged */
    {
        const int none[4] = {3, 2, 0, S - 1};
        seed = -79;
        memset(counts, 0, sizeof counts);
        nbi_noise_counts(img, F, S, none, nbi_row_loops_for(NB_ISA_AUTO)->exp_neg, &seed, 0.0, counts, &photons, &overloads);
        assert_int_equal(seed, -79);
        assert_true(photons == 0.0);
        for (f = 0; f < F * S; f++)
            assert_int_equal(counts[f], 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ran1_seed_minus1),
        cmocka_unit_test(test_ran1_mosaic_seed),
        cmocka_unit_test(test_ran1_range),
        cmocka_unit_test(test_gauss_sequence),
        cmocka_unit_test(test_ran1_against_schrage),
        cmocka_unit_test(test_poisson_sequences),
        cmocka_unit_test(test_exp_neg),
        cmocka_unit_test(test_poisson_run),
        cmocka_unit_test(test_poisson_moments),
        cmocka_unit_test(test_poisson_edge),
        cmocka_unit_test(test_mosaic_umat),
        cmocka_unit_test(test_umat_to_misset),
        cmocka_unit_test(test_noise_counts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
