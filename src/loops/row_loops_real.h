/*
 * row_loops_real.h - the parallelepiped-crystal loops of the row kernel,
 * written once over a real type.  row_loops.c includes this file twice, for
 * double precision (the default) and for -precision single, having defined
 *
 *   REAL         the type of the per-sample arithmetic
 *   L(name)      a loop's name with the precision's suffix
 *   P(name)      a physics term of that type (physics.h: nbi_name_d/_f)
 *   FMA          fma or fmaf
 *   DIRS(w, c)   the sample directions of that type (c: x, y or z)
 *   ACC(w)       the sums the loops add to (double: w->acc; single: float
 *                sums w->accf, flushed into w->acc every NB_SINGLE_FLUSH
 *                passes by AFTER_PASS(w))
 *   LAT(w), HKL(w)  scratch for the table look-up loops
 *   GRID(e)      the HKL grid in this type (hkl.h: nbi_hkl_grid, nbi_hkl_grid_single)
 *
 * Each loop adds, for one pass (orientation x source), F^2 times the
 * squared lattice factor of every sample of the run.  The parameters are
 * undefined again at the end.
 */

/* The pass's Miller-index maps in this type. */
static void L(millers)(const pass *p, P(miller) m[3])
{
    const nbi_miller_d *src[3] = {&p->H, &p->K, &p->L};
    for (int j = 0; j < 3; ++j) {
        m[j].x = (REAL)src[j]->x;
        m[j].y = (REAL)src[j]->y;
        m[j].z = (REAL)src[j]->z;
        m[j].off = (REAL)src[j]->off;
    }
}

/* F = default_F everywhere (no HKL table), with or without the -dmin cut. */
static void L(accumulate_flat)(const nb_experiment *e, const pass *p, int interp, nbi_row *w)
{
    const REAL Na = (REAL)e->xtal.Na, Nb = (REAL)e->xtal.Nb, Nc = (REAL)e->xtal.Nc;
    const REAL F2 = (REAL)(e->default_F * e->default_F);
    const REAL ix = (REAL)p->ix, iy = (REAL)p->iy, iz = (REAL)p->iz;
    const REAL il = (REAL)p->inv_lambda, smax = (REAL)p->stol_max;
    const int n = w->n;
    const REAL *restrict dx = DIRS(w, x), *restrict dy = DIRS(w, y), *restrict dz = DIRS(w, z);
    REAL *restrict acc = ACC(w);
    P(miller) m[3];
    (void)interp;
    L(millers)(p, m);
    if (p->stol_max > 0.0) {
        NB_SIMD
        for (int i = 0; i < n; ++i) {
            const REAL h = P(miller_index)(m[0], dx[i], dy[i], dz[i]);
            const REAL k = P(miller_index)(m[1], dx[i], dy[i], dz[i]);
            const REAL l = P(miller_index)(m[2], dx[i], dy[i], dz[i]);
            const REAL term = F2 * P(lattice_square2)(h, k, l, Na, Nb, Nc);
            acc[i] += P(within_dmin)(dx[i], dy[i], dz[i], ix, iy, iz, il, smax) ? term : (REAL)0;
        }
    } else {
        NB_SIMD
        for (int i = 0; i < n; ++i) {
            const REAL h = P(miller_index)(m[0], dx[i], dy[i], dz[i]);
            const REAL k = P(miller_index)(m[1], dx[i], dy[i], dz[i]);
            const REAL l = P(miller_index)(m[2], dx[i], dy[i], dz[i]);
            acc[i] = FMA(F2, P(lattice_square2)(h, k, l, Na, Nb, Nc), acc[i]);
        }
    }
    AFTER_PASS(w);
}

/* An N x N x N crystal with small N (the usual -N n) and no table or cut:
   one loop per N, the Chebyshev recurrence unrolled in it. */
#define NB_CUBE_LOOP(NN)                                                                           \
    static void L(accumulate_cube_##NN)(const nb_experiment *e, const pass *p, int interp,        \
                                         nbi_row *w)                                              \
    {                                                                                              \
        const REAL F2 = (REAL)(e->default_F * e->default_F);                                       \
        const int n = w->n;                                                                        \
        const REAL *restrict dx = DIRS(w, x), *restrict dy = DIRS(w, y), *restrict dz = DIRS(w, z); \
        REAL *restrict acc = ACC(w);                                                               \
        P(miller) m[3];                                                                            \
        (void)interp;                                                                              \
        L(millers)(p, m);                                                                          \
        NB_SIMD for (int i = 0; i < n; ++i)                                                        \
        {                                                                                          \
            const REAL r = P(grating_chebyshev)(P(miller_index)(m[0], dx[i], dy[i], dz[i]), NN)    \
                           * P(grating_chebyshev)(P(miller_index)(m[1], dx[i], dy[i], dz[i]), NN)  \
                           * P(grating_chebyshev)(P(miller_index)(m[2], dx[i], dy[i], dz[i]), NN); \
            acc[i] = FMA(F2, r * r, acc[i]);                                                       \
        }                                                                                          \
        AFTER_PASS(w);                                                                             \
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
#undef NB_CUBE_LOOP

/* Vector part of the table look-up loops: the Miller indices into HKL(w)
   and the squared lattice factor into LAT(w), negative where -dmin cuts.
   NN: an N x N x N crystal with N = NN known at compile time (the
   Chebyshev recurrence, as the loops without a table), or 0: any
   parallelepiped. */
NB_INLINE void L(miller_and_lattice_body)(const nb_experiment *e, const pass *p, nbi_row *w, const int NN)
{
    const REAL Na = (REAL)e->xtal.Na, Nb = (REAL)e->xtal.Nb, Nc = (REAL)e->xtal.Nc;
    const REAL ix = (REAL)p->ix, iy = (REAL)p->iy, iz = (REAL)p->iz;
    const REAL il = (REAL)p->inv_lambda, smax = (REAL)p->stol_max;
    const int n = w->n, cut = p->stol_max > 0.0;
    const REAL *restrict dx = DIRS(w, x), *restrict dy = DIRS(w, y), *restrict dz = DIRS(w, z);
    REAL *restrict lat = LAT(w);
    REAL *restrict hh = HKL(w), *restrict kk = HKL(w) + n, *restrict ll = HKL(w) + 2 * n;
    P(miller) m[3];
    L(millers)(p, m);
    NB_SIMD
    for (int i = 0; i < n; ++i) {
        const REAL h = P(miller_index)(m[0], dx[i], dy[i], dz[i]);
        const REAL k = P(miller_index)(m[1], dx[i], dy[i], dz[i]);
        const REAL l = P(miller_index)(m[2], dx[i], dy[i], dz[i]);
        REAL L2;
        if (NN) {
            const REAL r = P(grating_chebyshev)(h, NN) * P(grating_chebyshev)(k, NN) * P(grating_chebyshev)(l, NN);
            L2 = r * r;
        } else {
            L2 = P(lattice_square2)(h, k, l, Na, Nb, Nc);
        }
        if (cut && !P(within_dmin)(dx[i], dy[i], dz[i], ix, iy, iz, il, smax))
            L2 = -1; /* marks a sample cut by -dmin */
        lat[i] = L2;
        hh[i] = h;
        kk[i] = k;
        ll[i] = l;
    }
}

#define NB_CALL(NN) L(miller_and_lattice_body)(e, p, w, NN)
static void L(miller_and_lattice)(const nb_experiment *e, const pass *p, nbi_row *w)
{
    NB_CUBE_DISPATCH(&e->xtal, NB_CALL)
    L(miller_and_lattice_body)(e, p, w, 0);
}
#undef NB_CALL

/* With an HKL table (nearest reflection): one vector loop, the table read
   as a gather; NN as in L(miller_and_lattice_body). */
NB_INLINE void L(accumulate_hkl_body)(const nb_experiment *e, const pass *p, nbi_row *w, const int NN)
{
    const REAL Na = (REAL)e->xtal.Na, Nb = (REAL)e->xtal.Nb, Nc = (REAL)e->xtal.Nc;
    const REAL ix = (REAL)p->ix, iy = (REAL)p->iy, iz = (REAL)p->iz;
    const REAL il = (REAL)p->inv_lambda, smax = (REAL)p->stol_max, dF = (REAL)e->default_F;
    const int n = w->n, cut = p->stol_max > 0.0;
    const REAL *restrict dx = DIRS(w, x), *restrict dy = DIRS(w, y), *restrict dz = DIRS(w, z);
    REAL *restrict acc = ACC(w);
    const P(grid) g = GRID(e);
    const REAL *restrict table = g.F;
    P(miller) m[3];
    L(millers)(p, m);
    NB_SIMD
    for (int i = 0; i < n; ++i) {
        const REAL h = P(miller_index)(m[0], dx[i], dy[i], dz[i]);
        const REAL k = P(miller_index)(m[1], dx[i], dy[i], dz[i]);
        const REAL l = P(miller_index)(m[2], dx[i], dy[i], dz[i]);
        int inside;
        const int j = P(nearest_index)(g, h, k, l, &inside);
        const REAL Fj = table[j]; /* always a grid point: a gather with no mask */
        const REAL F = inside ? Fj : dF;
        REAL L2;
        if (NN) {
            const REAL r = P(grating_chebyshev)(h, NN) * P(grating_chebyshev)(k, NN) * P(grating_chebyshev)(l, NN);
            L2 = r * r;
        } else {
            L2 = P(lattice_square2)(h, k, l, Na, Nb, Nc);
        }
        if (cut && !P(within_dmin)(dx[i], dy[i], dz[i], ix, iy, iz, il, smax))
            L2 = 0; /* cut by -dmin */
        acc[i] += F * F * L2;
    }
    AFTER_PASS(w);
}

#define NB_CALL(NN) L(accumulate_hkl_body)(e, p, w, NN)
static void L(accumulate_hkl)(const nb_experiment *e, const pass *p, int interp, nbi_row *w)
{
    (void)interp;
    NB_CUBE_DISPATCH(&e->xtal, NB_CALL)
    L(accumulate_hkl_body)(e, p, w, 0);
}
#undef NB_CALL

/* Interpolated structure factors (parallelepiped crystal): the Miller
   indices and lattice factors in one vector loop; then, a block of samples
   at a time, the grid point of each sample's 4x4x4 neighbourhood in a
   second, which reads no table, and the weighted sums.  Neighbouring
   samples mostly share their neighbourhood (along a row the grid point
   changes every dozen samples or so): a run of samples that do is summed
   in one vector loop across them, NB_INTERP_LANES (a 64-byte vector) at a
   time, the Lagrange weights computed in it and each of the 64 table
   values read once and broadcast.  The samples left over are interpolated
   one at a time (R(interpolate): the 64 points of a sample are 16 runs of
   4 in the table, each one vector load; reading them as gathers across
   samples was slower).  Both loops compute the same weights and call the
   sum's two steps in the same order, so a sample's F has the same bits
   whichever path it takes.  F^2 times the lattice factor is then added to
   the sums of the samples that -dmin keeps (lat not negative), F
   interpolated where the neighbourhood is inside the grid, else
   (EV_INTERP_OFF) the nearest reflection or default_F. */
#define NB_INTERP_BLOCK 256
#define NB_INTERP_LANES (64 / (int)sizeof(REAL))
/* Shortest run summed across samples; without vector fused multiply-adds
   (x86-64 before x86-64-v3: fma is a library call) none is. */
#if defined(__x86_64__) && !defined(__FMA__)
#define NB_INTERP_MIN_RUN (NB_INTERP_LANES + 1)
#else
#define NB_INTERP_MIN_RUN 3
#endif
static void L(accumulate_interp)(const nb_experiment *e, const pass *p, int interp, nbi_row *w)
{
    const int n = w->n;
    const REAL dF = (REAL)e->default_F;
    const REAL *lat = LAT(w), *hh = HKL(w), *kk = HKL(w) + n, *ll = HKL(w) + 2 * n;
    REAL *acc = ACC(w);
    const P(grid) g = GRID(e);
    const int have = e->have_hkl && g.F;
    REAL Fs[NB_INTERP_BLOCK + NB_INTERP_LANES];
    int base[NB_INTERP_BLOCK + 1];
    unsigned char ok[NB_INTERP_BLOCK + 1], got[NB_INTERP_BLOCK + NB_INTERP_LANES],
        link[NB_INTERP_BLOCK + NB_INTERP_LANES + 8];
    (void)interp;
    L(miller_and_lattice)(e, p, w);
    for (int b = 0; b < n; b += NB_INTERP_BLOCK) {
        const int m = n - b < NB_INTERP_BLOCK ? n - b : NB_INTERP_BLOCK;
        const REAL *restrict bh = hh + b, *restrict bk = kk + b, *restrict bl = ll + b;
        for (int i = 0; i < m; ++i) { /* vectorised: the grid points */
            base[i] = P(interp_base)(g, bh[i], bk[i], bl[i]);
            ok[i] = (unsigned char)(P(interp_ok)(g, bh[i], bk[i], bl[i]) & (lat[b + i] >= 0));
        }
        memset(got, 0, (size_t)m);
        ok[m] = 0;
        base[m] = 0;
        for (int i = 0; i < m; ++i) /* sample i + 1 continues sample i's run */
            link[i] = (unsigned char)(ok[i] & ok[i + 1] & (base[i + 1] == base[i]));
        memset(link + m, 0, NB_INTERP_LANES + 8);
        /* Runs of samples with one neighbourhood, up to NB_INTERP_LANES at a
           time: one vector loop across them, the weights computed in it and
           the table values the same for every lane.  The lanes past the run
           (samples of the row, never past its end) are computed and stored
           too, and overwritten later. */
        for (int c = 0; c < m;) {
            const int b0 = base[c];
            const int r = ok[c] ? 1 + run_of_ones(link + c, NB_INTERP_LANES - 1) : 0;
            if (r >= NB_INTERP_MIN_RUN && b + c + NB_INTERP_LANES <= n) {
                const REAL *restrict y = g.F + b0;
                const int hs = g.hstride, ks = g.kstride;
                for (int q = 0; q < NB_INTERP_LANES; ++q) { /* vectorised across the samples (no simd
                                                               directive: it would keep wh.. in memory) */
                    const int s = c + q;
                    REAL wh[4], wk[4], wl[4], v[4] = {0, 0, 0, 0};
                    (void)P(interp_weights)(g, bh[s], bk[s], bl[s], wh, wk, wl); /* its grid point is b0 */
                    NB_UNROLL
                    for (int i = 0; i < 4; ++i) {
                        NB_UNROLL
                        for (int u = 0; u < 4; ++u)
                            v[u] = P(interp_node)(v[u], wh[i], wk[0], wk[1], wk[2], wk[3], y[i * hs + u],
                                                  y[i * hs + ks + u], y[i * hs + 2 * ks + u], y[i * hs + 3 * ks + u]);
                    }
                    Fs[s] = P(interp_dot)(wl[0], wl[1], wl[2], wl[3], v[0], v[1], v[2], v[3]);
                }
                memset(got + c, 1, (size_t)r);
            }
            c += r ? r : 1;
        }
        /* The other samples one at a time. */
        for (int i = 0; i < m; ++i) {
            const int s = b + i;
            if (got[i])
                continue;
            if (ok[i]) {
                Fs[i] = P(interpolate)(g, bh[i], bk[i], bl[i]);
            } else if (lat[s] >= 0) {
                int inside = 0;
                const int j = have ? P(nearest_index)(g, hh[s], kk[s], ll[s], &inside) : 0;
                w->event[s] |= EV_INTERP_OFF;
                Fs[i] = inside ? g.F[j] : dF;
            } else {
                Fs[i] = 0; /* cut by -dmin: not added */
            }
        }
        {
            const REAL *restrict bl2 = lat + b, *restrict bF = Fs;
            REAL *restrict ba = acc + b;
            NB_SIMD
            for (int i = 0; i < m; ++i)
                ba[i] = bl2[i] >= 0 ? FMA(bF[i] * bF[i], bl2[i], ba[i]) : ba[i];
        }
    }
    AFTER_PASS(w);
}
#undef NB_INTERP_MIN_RUN
#undef NB_INTERP_LANES
#undef NB_INTERP_BLOCK

#undef REAL
#undef L
#undef P
#undef DIRS
#undef ACC
#undef AFTER_PASS
#undef LAT
#undef HKL
#undef GRID
#undef FMA
