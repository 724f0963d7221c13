/*
 * row_loops.h - the vector loops of the row kernel and what they share with
 * its driver (kernel_row.c).
 *
 * The loops (src/loops/row_loops.c) are compiled once per instruction set
 * (x86-64 baseline, x86-64-v3 with AVX2 and FMA, x86-64-v4 with AVX-512 on
 * x86; the compiler's baseline elsewhere), each copy exporting one table of
 * function pointers.  The experiment picks one table at set-up
 * (nbi_row_loops_for), so the choice is made once, can be forced, and is
 * reported.
 */
#ifndef NB_ROW_LOOPS_H
#define NB_ROW_LOOPS_H

#include <math.h>

#include "kernel_row.h"
#include "physics.h"
#include "rng.h"

/* Vector loops: OpenMP's simd directive where OpenMP is on. */
#ifdef NB_HAVE_OPENMP
#define NB_SIMD _Pragma("omp simd")
#else
#define NB_SIMD
#endif

/* Flags of a sample in nbi_row.event. */
enum {
    EV_INTERP_OFF = 1, /* interpolation left the HKL grid */
    EV_EXACT = 2       /* round crystal next to a lattice point: see ROUND_EXACT_S */
};

/* Below this argument the round crystal's 3 (sin s/s - cos s)/s^2 is mostly
   rounding noise, which nanoBragg's arithmetic decides (at the direct beam
   its s is exactly 0: F000 at full strength; ours, from the affine Miller
   indices, is ~1e-16, where the formula gives 0 or anything). */
#define ROUND_EXACT_S 1e-5

/* One orientation x source over all samples of the row: the Miller-index
   maps h = (a/lambda).d - (a.i)/lambda (physics.h) and the -dmin cut. */
typedef struct pass {
    nbi_miller_d H, K, L;
    double ix, iy, iz, inv_lambda; /* incident direction, 1/lambda (1/m) */
    double stol_max;               /* 0.5/dmin (1/m): larger stol is cut; 0: no cut */
} pass;

NB_INLINE int passes_dmin(const pass *p, double dx, double dy, double dz)
{
    return nbi_within_dmin_d(dx, dy, dz, p->ix, p->iy, p->iz, p->inv_lambda, p->stol_max);
}

/* Float sums are flushed into the double sums after this many passes. */
#define NB_SINGLE_FLUSH 64

/* N of an N x N x N parallelepiped with 2 <= N <= NBI_CHEB_MAX, whose
   lattice factor the loops take from the Chebyshev recurrence; else 0. */
static inline int nbi_cube_N(const nbi_crystal *x)
{
    return x->shape == NB_SHAPE_SQUARE && x->Na == x->Nb && x->Na == x->Nc && x->Na == (int)x->Na && x->Na >= 2
                   && x->Na <= NBI_CHEB_MAX
               ? (int)x->Na
               : 0;
}

/* In a loop that has a copy per cube N: CALL(N) with the crystal x's N
   (nbi_cube_N) as a constant, and return; nothing for other crystals. */
#define NB_CUBE_DISPATCH(x, CALL)                                                                  \
    switch (nbi_cube_N(x)) {                                                                       \
    case 2: CALL(2); return;                                                                       \
    case 3: CALL(3); return;                                                                       \
    case 4: CALL(4); return;                                                                       \
    case 5: CALL(5); return;                                                                       \
    case 6: CALL(6); return;                                                                       \
    case 7: CALL(7); return;                                                                       \
    case 8: CALL(8); return;                                                                       \
    case 9: CALL(9); return;                                                                       \
    case 10: CALL(10); return;                                                                     \
    case 11: CALL(11); return;                                                                     \
    case 12: CALL(12); return;                                                                     \
    default: break;                                                                                \
    }

static inline void nbi_flush_single(nbi_row *w)
{
    for (int i = 0; i < w->n; ++i) {
        w->acc[i] += w->accf[i];
        w->accf[i] = 0.0f;
    }
    w->pending = 0;
}

/* The loss gradient's vector loops (deriv.c, row_gradient): a run of
   samples padded to a multiple of NB_GRAD_LANES (the padding's weights 0).
   The first sweep (grad_fused) adds, per sample and over the passes
   (orientation x source), the value F^2 L^2 and what its derivatives need,
   without the loss's weights; the second (grad_weigh), once the pixels'
   weights are known, sums over the samples.  Those sums are kept per lane
   (sample i in lane i % 4) and the lanes added in order: the same bits
   whatever the vector width. */
#define NB_GRAD_LANES 8
typedef struct nbi_grad_row {
    int n;                                  /* samples, a multiple of NB_GRAD_LANES */
    int cap;                                /* the length of each per-sample array */
    double *dx, *dy, *dz;                   /* unit diffracted directions */
    double *aw;                             /* d loss / d (F^2 L^2) of each sample */
    double *t;                              /* sums of F^2 L^2 (the Jacobian) */
    double *ux, *uy, *uz;                   /* the diffracted direction's adjoint */
    /* The first sweep's sums over the passes, per sample, in blocks of
       NB_GRAD_LANES samples (sample i in block i / NB_GRAD_LANES, lane i %
       NB_GRAD_LANES; a block's sums contiguous, so that the loops' many
       streams cannot alias each other's addresses): block k holds at
       S + k bs + s NB_GRAD_LANES + lane the sums s of
         0          F^2 L^2 (the value)
         1, 2, 3    d(F^2 L^2)/dNa, dNb, dNc (when wanted)
         4, 5, 6    d(F^2 L^2)/dh_j / lambda over a run of sources with one
                    incident direction (where the directions differ)
         NB_GRAD_ORIENT + na o + j   d(F^2 L^2)/dh_j / lambda over
                    orientation o's sources (j < 3)
         NB_GRAD_ORIENT + na o + 3 + 3 j + q   that times the incident
                    direction's component q (na = 12: the sources'
                    directions differ; else na = 3) */
    double *S;
    int bs, na;
    /* an N x N x N crystal with whole N <= NBI_CHEB_MAX: the coefficients of
       U'_{N-1} (nbi_chebyshev_u_slope) */
    double slope[NBI_CHEB_MAX];
    /* the Jacobian's terms of one pass, per sample (weight 1): d(F^2 L^2)
       with respect to h, k, l, the source's wavelength and Na, Nb, Nc */
    double *gh, *gk, *gl, *glam, *gn0, *gn1, *gn2;
} nbi_grad_row;

/* How one parameter moves one pass, for the Jacobian: dh_j = D[j].d - D0[j]
   (the cell's move over lambda), the source's wavelength by lam, N by N. */
typedef struct nbi_jac_move {
    double D[3][3], D0[3], lam, N[3];
} nbi_jac_move;

enum { NB_GRAD_ORIENT = 7 };

/* One orientation (cell: a, b, c in metres) x source: h_j = H[j].d - H0[j]. */
typedef struct nbi_grad_pass {
    double H[3][3], H0[3], inc[3], inv_lambda;
    const double *cell;
    int slot;     /* the sums of d(F^2 L^2)/dh_j / lambda: S's sums slot .. slot + 2 */
    int first;    /* they start at this pass */
    int want_N;   /* the sums over N are needed (else left alone) */
} nbi_grad_pass;

/* Sum s of sample i (see nbi_grad_row.S). */
static inline double nbi_grad_sum(const nbi_grad_row *b, int i, int s)
{
    return b->S[(size_t)(i / NB_GRAD_LANES) * (size_t)b->bs + (size_t)s * NB_GRAD_LANES + (size_t)(i % NB_GRAD_LANES)];
}

/* The second sweep's sums over the samples for one orientation: of
   w A_j d_q (3 j + q) and, with one incident direction for all sources, of
   w A_j (9 + j), or else of w (A_j d_q - Ainc_jq) in 3 j + q. */
enum { NB_GRAD_SUMS = 12 };

/* One accumulation loop: adds F^2 L^2 of pass p to every sample of w.
   interp: tricubic interpolation still on (the loops that need it). */
typedef void (*nbi_accumulate_fn)(const nb_experiment *e, const pass *p, int interp, nbi_row *w);

/* Miller-index maps for orientation c (9 doubles: a, b, c in metres) and
   source s; and the accumulation loop the row kernel runs for this
   experiment (kernel_row.c; the loss gradient's values use them too). */
void nbi_row_make_pass(const nb_experiment *e, const double *c, int s, pass *p);
nbi_accumulate_fn nbi_row_choose_loop(const nb_experiment *e, int interp);

/* The loops of one instruction set. */
typedef struct nbi_row_loops {
    const char *isa; /* e.g. "x86-64-v3 (AVX2, FMA)" */
    nbi_accumulate_fn square_flat, square_hkl, square_interp, single_flat, single_hkl, single_interp, general;
    nbi_accumulate_fn cube[2][13]; /* [single][N], N x N x N crystals, 2 <= N <= 12 */
    /* directions and distances of sample q of every pixel of the run */
    void (*flat_directions)(const nbi_detector *d, int s, int q, int t, int subF, int subS, nbi_row *w);
    /* solid angle and polarization of every pixel (no -dmin cut) */
    void (*pixel_factors_uncut)(const nb_experiment *e, nbi_row *w);
    /* pixel values from the sums; returns the solid-angle sum */
    double (*finish_pixels)(const nb_experiment *e, const nbi_row *w, double *value);
    /* one sample's terms for the reference-order kernel (kernel.c), compiled
       for this instruction set so that their fused multiply-adds are
       instructions where the processor has them */
    double (*lattice_square2)(double h, double k, double l, double Na, double Nb, double Nc);
    double (*interpolate)(const nbi_hkl *t, double h, double k, double l);
    /* the loss gradient's loops: the first sweep for one pass; the second
       for orientation o (cell: its a, b, c in metres; u += sum_j a_j A_j,
       unweighted) */
    void (*grad_fused)(const nb_experiment *e, const nbi_grad_pass *m, nbi_grad_row *b);
    void (*grad_weigh)(const nbi_grad_row *b, int o, const double *cell, double sums[NB_GRAD_SUMS]);
    /* where the sources' directions differ, after the last of a run of
       sources with one incident direction inc: orientation o's sums +=
       the run's (first: they start here) */
    void (*grad_flush)(nbi_grad_row *b, int o, const double inc[3], int first);
    /* the Jacobian's loops: t += F^2 L^2, u += and the terms g* of one pass;
       and one parameter's tangent T += g . move */
    void (*jac_terms)(const nb_experiment *e, const nbi_grad_pass *m, nbi_grad_row *b);
    void (*jac_add)(const nbi_jac_move *mv, const nbi_grad_row *b, double *T);
    /* the noise image's exp(-xm) for its small means (rng.h) */
    nbi_exp_neg_fn exp_neg;
} nbi_row_loops;

extern const nbi_row_loops nbi_row_loops_baseline;
#ifdef NB_ISA_VARIANTS
extern const nbi_row_loops nbi_row_loops_v3, nbi_row_loops_v4;
#endif

/* The loops for isa, or NULL if this build or this processor has none
   (NB_ISA_AUTO: the best the processor runs).  In isa.c. */
const nbi_row_loops *nbi_row_loops_for(nb_isa isa);

#endif
