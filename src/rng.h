/*
 * rng.h - the Numerical Recipes generators nanoBragg uses (ran1 with its
 * shuffle table, Box-Muller gaussdev, poidev), with their state held in a
 * struct instead of statics, and the random rotations built from them.
 */
#ifndef NB_RNG_H
#define NB_RNG_H

/* Whole arguments below this have their gammln remembered (see nbi_rng). */
#define NBI_RNG_GAMMLN_MEMO 1024

typedef struct nbi_rng {
    long idum;      /* nanoBragg's seed variable (negative means "reinitialise") */
    long iy;
    long iv[32];
    int gauss_have; /* gaussdev keeps a spare deviate */
    float gauss_spare;
    float poi_oldm, poi_sq, poi_alxm, poi_g; /* poidev's cache */
    int gammln_known;                        /* gammln_memo[m] holds gammln(m) for m = 1..gammln_known */
    float gammln_memo[NBI_RNG_GAMMLN_MEMO];  /* poidev's gammln(em + 1) at whole em, computed once */
} nbi_rng;

/* Start a generator from nanoBragg's seed value (e.g. -12345678 for the
   default mosaic seed, -seed for "-seed N"). */
void nbi_rng_init(nbi_rng *r, long seed);
float nbi_rng_ran1(nbi_rng *r);
float nbi_rng_gauss(nbi_rng *r);
/* Poisson deviate of mean xm (Gaussian approximation above 1e6), as poidev. */
float nbi_rng_poisson(nbi_rng *r, float xm);
/* poidev's exp(-xm) for means below 12 over a run of them, computed
   apart from the draws (it depends on xm alone): g[i] = (float)exp(-xm[i])
   wherever the function can show that to be the C library's value, and
   need[i] = 1 where the C library must give it (row_loops.h). */
typedef void (*nbi_exp_neg_fn)(const float *xm, int n, float *g, unsigned char *need);
/* dev[i] = nbi_rng_poisson(r, xm[i]) for i = 0..n-1, in that order;
   exp_neg (or NULL: the C library's exp one mean at a time) gives the
   small means' exp(-xm) first, the same values. */
void nbi_rng_poisson_run(nbi_rng *r, const float *xm, int n, nbi_exp_neg_fn exp_neg, float *dev);

/* Random rotation within a spherical cap of the given angular size (radians),
   nanoBragg's mosaic_rotation_umat; umat is row-major 3x3. */
void nbi_rng_mosaic_umat(nbi_rng *r, float mosaicity, double umat[9]);

/* Rotation matrix to misset angles (rotx, roty, rotz in radians), umat2misset. */
void nbi_umat_to_misset(const double umat[9], double missets[3]);

#endif
