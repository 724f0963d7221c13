/*
 * gpu_pixel.h - the GPU kernel's work for one pixel, over a flat,
 * pointer-only description of the experiment (nbg_exp).  Compiled twice
 * from this text: by nvcc inside the CUDA kernel (cuda/backend.cu), and by
 * the C compiler for the host (gpu.c: the "emulate" device and the tests),
 * so that the GPU's physics and data packing are checked on any machine.
 *
 * A pixel is summed in the order and arithmetic of the CPU kernel that
 * renders it there:
 *   - the row kernel's (kernel_row.c, loops/row_loops.c): per sample
 *     (sub-pixel x layer, in the row kernel's order) the sum over the passes
 *     (orientation outer, source inner) with the loop the row kernel chooses
 *     for the experiment (nbg_exp.variant: flat, N x N x N cube, HKL table,
 *     interpolation, other shapes; double or float sums flushed every
 *     NBG_SINGLE_FLUSH passes), then the samples added in order and
 *     nanoBragg's per-pixel factors (first sample's solid angle and
 *     polarization, last layer's capture fraction);
 *   - the reference kernel's (kernel.c), for -oversample_thick/polar/omega
 *     and for the round crystal's pixels next to a lattice point (the row
 *     kernel hands those over too: NBG_EXACT).
 * Every term is a function of physics.h / subpixel.h (the same text as the
 * CPU kernels'); what is here is only loop order.  Double precision gives
 * the CPU's bits wherever the device's sin, cos and exp agree with the C
 * library's (they are used only by the round, Gaussian and top-hat
 * crystals, the sensor's absorption and the curved detector).
 */
#ifndef NB_GPU_PIXEL_H
#define NB_GPU_PIXEL_H

#include <stdint.h>

#include "physics.h"
#include "subpixel.h"

#ifdef __CUDACC__
#define NBG_INLINE static __forceinline__ __host__ __device__
#else
#define NBG_INLINE NB_INLINE
#endif

/* The row kernel's constants (row_loops.h; gpu.c checks they agree). */
#define NBG_ROUND_EXACT_S 1e-5 /* ROUND_EXACT_S */
#define NBG_SINGLE_FLUSH 64    /* NB_SINGLE_FLUSH */

/* The row kernel's accumulation loops (nbi_row_choose_loop). */
enum { NBG_FLAT = 0, NBG_CUBE, NBG_HKL, NBG_INTERP, NBG_GENERAL, NBG_VARIANTS };

/* A pixel's flags: NBI_PIX_SWEPT and NBI_PIX_INTERP_OFF (kernel_row.h),
   and two of the GPU's own. */
enum { NBG_SWEPT = 1, NBG_INTERP_OFF = 2, NBG_EXACT = 4, NBG_RENDERED = 8 };

/* One orientation x source: the Miller-index maps h = H.d - H.off and the
   incident direction (nbi_row_make_pass), in double and in float. */
typedef struct nbg_pass_d {
    nbi_miller_d H, K, L;
    double ix, iy, iz, il;
} nbg_pass_d;

typedef struct nbg_pass_f {
    nbi_miller_f H, K, L;
    float ix, iy, iz, il;
} nbg_pass_f;

/* The experiment as the GPU reads it: numbers and pointers to arrays (on
   the host for the emulation, on the device for CUDA). */
typedef struct nbg_exp {
    /* detector */
    int fpixels, spixels, roi[4];
    const uint16_t *mask; /* fpixels x spixels, or NULL */
    int oversample, thicksteps, curved, point_pixel;
    int oversample_thick, oversample_polar, oversample_omega;
    double subpixel_m, pixel_m, close_distance_m, distance_m, thick_m, thickstep_m, mu;
    vec3 fdet, sdet, odet, pix0, beam_dir;
    /* sources: x, y, z (unit, towards the source), lambda (m) each */
    int nsrc;
    const double *src;
    double polarization;
    int nopolar;
    vec3 polar_vector, E0, B0; /* the first source's polarization frame */
    double dmin_m, stol_max, water_m, I_bg, scale, steps; /* scale: r_e^2 x fluence */
    /* crystal */
    int shape;
    double Na, Nb, Nc, fudge;
    vec3 astar, bstar, cstar;
    int ncells;
    const double *cells; /* 9 each: a, b, c (m) per phi step x mosaic domain */
    /* structure factors */
    int have_hkl;
    double default_F;
    nbi_grid_d gd;
    nbi_grid_f gf; /* gf.F NULL unless precision single */
    /* passes: cell c x source s at c * nsrc + s */
    int npasses;
    const nbg_pass_d *pass_d;
    const nbg_pass_f *pass_f;
    /* how the CPU renders it */
    int row_order;              /* 1: the row kernel; 0: the reference kernel */
    int variant[2], single[2];  /* row kernel: the loop with interpolation off [0] and on [1] */
    int cube_N;                 /* NBG_CUBE: N */
} nbg_exp;

/* What one pixel gives. */
typedef struct nbg_result {
    double value; /* photons */
    double omega; /* solid-angle sum (as the CPU kernel's) */
    int flags;    /* NBG_* */
} nbg_result;

/* Whether pixel (f, s) is rendered: in the ROI and not masked. */
NBG_INLINE int nbg_rendered(const nbg_exp *x, int f, int s)
{
    if (!(f >= x->roi[0] && f <= x->roi[1] && s >= x->roi[2] && s <= x->roi[3]))
        return 0;
    return !x->mask || x->mask[(long)s * x->fpixels + f] != 0;
}

/* The lab-frame position of sub-pixel (subF, subS) of pixel (f, s) in layer t. */
NBG_INLINE vec3 nbg_position(const nbg_exp *x, int f, int s, int t, int subF, int subS)
{
    const int os = x->oversample;
    const vec3 p = nbi_detector_point(x->fdet, x->sdet, x->odet, x->pix0, nbi_subpixel_offset(x->subpixel_m, f, os, subF),
                                      nbi_subpixel_offset(x->subpixel_m, s, os, subS), t * x->thickstep_m);
    return x->curved ? nbi_curved_position(x->beam_dir, x->sdet, x->fdet, x->distance_m, p) : p;
}

/* The unit direction of the row kernel's sample q of pixel (f, s) and its
   distance *air: flat detectors as loops/row_loops.c flat_directions
   computes it (the reciprocal of the distance times the position), curved
   ones as nbi_subpixel_direction. */
NBG_INLINE vec3 nbg_row_direction(const nbg_exp *x, int f, int s, int q, double *air)
{
    const int os = x->oversample, t = q / (os * os), subS = q % (os * os) / os, subF = q % os;
    const vec3 p = nbg_position(x, f, s, t, subF, subS);
    if (x->curved) {
        vec3 u;
        *air = v3_unit(p, &u);
        return u;
    } else {
        const double r = sqrt(p.x * p.x + p.y * p.y + p.z * p.z), inv = 1.0 / r;
        *air = r;
        return v3(p.x * inv, p.y * inv, p.z * inv);
    }
}

/* nanoBragg's polarization of a pixel under a -dmin cut: at its first
   sample and source (in loop order) that pass the cut (kernel_row.c
   pixel_polar); *swept: some did. */
NBG_INLINE double nbg_pixel_polar(const nbg_exp *x, int f, int s, int *swept)
{
    const int per_pixel = x->thicksteps * x->oversample * x->oversample;
    double polar = x->nopolar ? 1.0 : 0.0;
    *swept = 0;
    for (int q = 0; q < per_pixel; ++q) {
        double air;
        const vec3 d = nbg_row_direction(x, f, s, q, &air);
        for (int i = 0; i < x->nsrc; ++i) {
            const double *src = x->src + 4 * i;
            const vec3 inc = v3(-src[0], -src[1], -src[2]);
            if (!nbi_within_dmin_d(d.x, d.y, d.z, inc.x, inc.y, inc.z, 1.0 / src[3], 0.5 / x->dmin_m))
                continue;
            *swept = 1;
            if (polar == 0.0) {
                vec3 E, B;
                nbi_polar_frame(inc, x->polar_vector, &E, &B);
                polar = nbi_polarization(x->polarization, inc.x, inc.y, inc.z, E.x, E.y, E.z, B.x, B.y, B.z, d.x, d.y, d.z);
            }
            if (polar != 0.0)
                return polar;
        }
    }
    return polar;
}

/* F of the nearest reflection, or default_F outside the table. */
#define NBG_NEAREST(nearest, g, h, k, l, dF, have)                                                 \
    do {                                                                                           \
        int inside_ = 0;                                                                           \
        const int j_ = (have) ? nearest(g, h, k, l, &inside_) : 0;                                 \
        F = inside_ ? (g).F[j_] : (dF);                                                            \
    } while (0)

/* The N that loop v takes (a constant of the kernel): the cube's for the
   cube, table and interpolation loops (0: not a cube), whether
   interpolation is on for the general loop. */
NBG_INLINE int nbg_loop_N(const nbg_exp *x, int v, int interp)
{
    return v == NBG_CUBE || v == NBG_HKL || v == NBG_INTERP ? x->cube_N : v == NBG_GENERAL ? interp != 0 : 0;
}

/* One sample's sum over the passes in double, with loop v of the row kernel
   (v, N: constants where inlined); *ev gets NBG_INTERP_OFF and NBG_EXACT. */
NBG_INLINE double nbg_sample_d(const nbg_exp *x, vec3 d, const int v, const int N, int *ev)
{
    const double F2 = x->default_F * x->default_F, Na = x->Na, Nb = x->Nb, Nc = x->Nc, smax = x->stol_max;
    const int cut = smax > 0.0, have = x->have_hkl && x->gd.F;
    const nbi_grid_d g = x->gd;
    double acc = 0.0;
    for (int p = 0; p < x->npasses; ++p) {
        const nbg_pass_d P = x->pass_d[p];
        const double h = nbi_miller_index_d(P.H, d.x, d.y, d.z), k = nbi_miller_index_d(P.K, d.x, d.y, d.z);
        const double l = nbi_miller_index_d(P.L, d.x, d.y, d.z);
        if (v == NBG_GENERAL) {
            double L, F, s_round;
            if (cut && !nbi_within_dmin_d(d.x, d.y, d.z, P.ix, P.iy, P.iz, P.il, smax))
                continue;
            L = nbi_lattice_shape((nb_shape)x->shape, Na, Nb, Nc, x->fudge, x->astar, x->bstar, x->cstar, h, k, l,
                                  &s_round);
            if (x->shape == NB_SHAPE_ROUND && s_round < NBG_ROUND_EXACT_S)
                *ev |= NBG_EXACT;
            if (L == 0.0 && x->water_m == 0.0)
                continue;
            if (N && nbi_interp_ok_d(g, h, k, l)) { /* N: interpolation on */
                F = nbi_interpolate_d(g, h, k, l);
            } else {
                NBG_NEAREST(nbi_nearest_index_d, g, h, k, l, x->default_F, x->have_hkl);
                *ev |= N ? NBG_INTERP_OFF : 0;
            }
            acc = fma(F * F, L * L, acc);
        } else if (v == NBG_CUBE) {
            const double r = nbi_grating_chebyshev_d(h, N) * nbi_grating_chebyshev_d(k, N) * nbi_grating_chebyshev_d(l, N);
            acc = fma(F2, r * r, acc);
        } else {
            double L2, F;
            if (N && v != NBG_FLAT) { /* the table loops' cube: the Chebyshev recurrence */
                const double r = nbi_grating_chebyshev_d(h, N) * nbi_grating_chebyshev_d(k, N) *
                                 nbi_grating_chebyshev_d(l, N);
                L2 = r * r;
            } else {
                L2 = nbi_lattice_square2_d(h, k, l, Na, Nb, Nc);
            }
            if (v == NBG_FLAT) {
                if (cut)
                    acc += nbi_within_dmin_d(d.x, d.y, d.z, P.ix, P.iy, P.iz, P.il, smax) ? F2 * L2 : 0.0;
                else
                    acc = fma(F2, L2, acc);
                continue;
            }
            if (cut && !nbi_within_dmin_d(d.x, d.y, d.z, P.ix, P.iy, P.iz, P.il, smax))
                L2 = -1; /* as the row kernel marks a sample cut by -dmin */
            if (v == NBG_HKL) {
                NBG_NEAREST(nbi_nearest_index_d, g, h, k, l, x->default_F, 1);
                acc += F * F * (L2 < 0 ? 0.0 : L2);
            } else if (!(L2 < 0)) { /* NBG_INTERP */
                if (nbi_interp_ok_d(g, h, k, l)) {
                    F = nbi_interpolate_d(g, h, k, l);
                } else {
                    NBG_NEAREST(nbi_nearest_index_d, g, h, k, l, x->default_F, have);
                    *ev |= NBG_INTERP_OFF;
                }
                acc = fma(F * F, L2, acc);
            }
        }
    }
    return acc;
}

/* The same in float (-precision single): float directions and terms, float
   sums flushed into the double sum every NBG_SINGLE_FLUSH passes. */
NBG_INLINE double nbg_sample_f(const nbg_exp *x, vec3 dd, const int v, const int N, int *ev)
{
    const float dx = (float)dd.x, dy = (float)dd.y, dz = (float)dd.z;
    const float F2 = (float)(x->default_F * x->default_F), Na = (float)x->Na, Nb = (float)x->Nb, Nc = (float)x->Nc;
    const float smax = (float)x->stol_max, dF = (float)x->default_F;
    const int cut = x->stol_max > 0.0, have = x->have_hkl && x->gf.F;
    const nbi_grid_f g = x->gf;
    double acc = 0.0;
    float accf = 0.0f;
    int pending = 0;
    for (int p = 0; p < x->npasses; ++p) {
        const nbg_pass_f P = x->pass_f[p];
        const float h = nbi_miller_index_f(P.H, dx, dy, dz), k = nbi_miller_index_f(P.K, dx, dy, dz);
        const float l = nbi_miller_index_f(P.L, dx, dy, dz);
        if (v == NBG_CUBE) {
            const float r = nbi_grating_chebyshev_f(h, N) * nbi_grating_chebyshev_f(k, N) * nbi_grating_chebyshev_f(l, N);
            accf = fmaf(F2, r * r, accf);
        } else {
            float L2;
            const int kept = !cut || nbi_within_dmin_f(dx, dy, dz, P.ix, P.iy, P.iz, P.il, smax);
            if (N && v != NBG_FLAT) { /* the table loops' cube: the Chebyshev recurrence */
                const float r = nbi_grating_chebyshev_f(h, N) * nbi_grating_chebyshev_f(k, N) *
                                nbi_grating_chebyshev_f(l, N);
                L2 = r * r;
            } else {
                L2 = nbi_lattice_square2_f(h, k, l, Na, Nb, Nc);
            }
            if (v == NBG_FLAT) {
                if (cut)
                    accf += kept ? F2 * L2 : 0.0f;
                else
                    accf = fmaf(F2, L2, accf);
            } else if (v == NBG_HKL) {
                float F;
                NBG_NEAREST(nbi_nearest_index_f, g, h, k, l, dF, 1);
                accf += F * F * (kept ? L2 : 0.0f);
            } else if (kept) { /* NBG_INTERP */
                float F;
                if (nbi_interp_ok_f(g, h, k, l)) {
                    F = nbi_interpolate_f(g, h, k, l);
                } else {
                    NBG_NEAREST(nbi_nearest_index_f, g, h, k, l, dF, have);
                    *ev |= NBG_INTERP_OFF;
                }
                accf = fmaf(F * F, L2, accf);
            }
        }
        if (++pending == NBG_SINGLE_FLUSH) {
            acc += accf;
            accf = 0.0f;
            pending = 0;
        }
    }
    return acc + accf;
}

/* Pixel (f, s) in the row kernel's order with loop v (single: float sums;
   N: the cube's N, or for NBG_GENERAL whether interpolation is on).  A
   round crystal's pixel next to a lattice point comes back with NBG_EXACT:
   its value is then the reference kernel's (nbg_reference_pixel). */
NBG_INLINE void nbg_row_pixel(const nbg_exp *x, int f, int s, const int v, const int single, const int N,
                              nbg_result *out)
{
    const int os = x->oversample, per_pixel = x->thicksteps * os * os;
    double air, omega, polar, capture = 1.0, value = x->I_bg, test;
    int swept = 1, ev = 0;
    const vec3 d0 = nbg_row_direction(x, f, s, 0, &air);
    omega = nbi_solid_angle(x->point_pixel, x->pixel_m, x->close_distance_m, air);
    if (x->dmin_m > 0.0)
        polar = nbg_pixel_polar(x, f, s, &swept);
    else
        polar = x->nopolar ? 1.0
                           : nbi_polarization(x->polarization, -x->src[0], -x->src[1], -x->src[2], x->E0.x, x->E0.y,
                                              x->E0.z, x->B0.x, x->B0.y, x->B0.z, d0.x, d0.y, d0.z);
    if (x->thick_m != 0.0) {
        const vec3 dl = nbg_row_direction(x, f, s, (x->thicksteps - 1) * os * os, &air);
        capture = nbi_capture_fraction(v3_dot(dl, x->odet), x->thicksteps - 1, x->thickstep_m, x->mu);
    }
    for (int q = 0; q < per_pixel; ++q) {
        const vec3 d = q ? nbg_row_direction(x, f, s, q, &air) : d0;
        value += single ? nbg_sample_f(x, d, v, N, &ev) : nbg_sample_d(x, d, v, N, &ev);
    }
    test = x->scale * value / x->steps;
    test *= capture;
    test *= polar;
    test *= omega;
    out->value = test;
    out->omega = omega * per_pixel;
    out->flags = NBG_RENDERED | (swept ? NBG_SWEPT : 0) | (ev & (NBG_INTERP_OFF | NBG_EXACT));
}

/* Structure factor in the reference kernel's way (kernel.c): interpolated
   while *interp holds and the neighbourhood is inside the grid (else it
   switches off for the rest of the pixel: *off), else the nearest
   reflection's or default_F. */
NBG_INLINE double nbg_reference_F(const nbg_exp *x, double h, double k, double l, double h0, double k0, double l0,
                                  int *interp, int *off)
{
    const nbi_grid_d g = x->gd;
    if (*interp) {
        if (nbi_interp_ok_d(g, h, k, l))
            return nbi_interpolate_d(g, h, k, l);
        *interp = 0;
        *off = 1;
    }
    if (x->have_hkl && g.F && h0 > -1e9 && h0 < 1e9 && k0 > -1e9 && k0 < 1e9 && l0 > -1e9 && l0 < 1e9) {
        const int ih = (int)h0, ik = (int)k0, il = (int)l0;
        if (ih >= g.h_min && ih <= g.h_max && ik >= g.k_min && ik <= g.k_max && il >= g.l_min && il <= g.l_max)
            return g.F[(long)(ih - (int)g.h_min) * g.hstride + (long)(ik - (int)g.k_min) * g.kstride + (il - (int)g.l_min)];
    }
    return x->default_F;
}

/* Pixel (f, s) in the reference kernel's order and arithmetic (kernel.c,
   not traced, not the first sweep), interpolation on at the start when
   interpolate is. */
NBG_INLINE void nbg_reference_pixel(const nbg_exp *x, int f, int s, int interpolate, nbg_result *out)
{
    const int os = x->oversample, n = x->ncells;
    double I = x->I_bg, polar = x->nopolar ? 1.0 : 0.0, omega = 0.0, capture = 1.0, omega_sum = 0.0, test;
    int interp = interpolate, swept = 0, off = 0;
    for (int t = 0; t < x->thicksteps; ++t) {
        capture = x->thick_m == 0.0 ? 1.0 : 0.0;
        for (int subS = 0; subS < os; ++subS)
            for (int subF = 0; subF < os; ++subF) {
                vec3 diff;
                const double airpath = v3_unit(nbg_position(x, f, s, t, subF, subS), &diff);
                if (omega == 0.0 || x->oversample_omega)
                    omega = nbi_solid_angle(x->point_pixel, x->pixel_m, x->close_distance_m, airpath);
                omega_sum += omega;
                if (capture == 0.0 || x->oversample_thick)
                    capture = nbi_capture_fraction(v3_dot(diff, x->odet), t, x->thickstep_m, x->mu);
                for (int i = 0; i < x->nsrc; ++i) {
                    const double *src = x->src + 4 * i, lambda = src[3];
                    const vec3 inc = v3(-src[0], -src[1], -src[2]);
                    const vec3 S = v3((diff.x - inc.x) / lambda, (diff.y - inc.y) / lambda, (diff.z - inc.z) / lambda);
                    if (x->dmin_m > 0.0
                        && !nbi_within_dmin_d(diff.x, diff.y, diff.z, inc.x, inc.y, inc.z, 1.0 / lambda, 0.5 / x->dmin_m))
                        continue;
                    if (polar == 0.0 || x->oversample_polar) {
                        vec3 E, B;
                        v3_unit(diff, &diff); /* nanoBragg renormalises the diffracted direction here */
                        nbi_polar_frame(inc, x->polar_vector, &E, &B);
                        polar = nbi_polarization(x->polarization, inc.x, inc.y, inc.z, E.x, E.y, E.z, B.x, B.y, B.z,
                                                 diff.x, diff.y, diff.z);
                    }
                    for (int c = 0; c < n; ++c) {
                        const double *a = x->cells + 9 * c;
                        const double h = a[0] * S.x + a[1] * S.y + a[2] * S.z;
                        const double k = a[3] * S.x + a[4] * S.y + a[5] * S.z;
                        const double l = a[6] * S.x + a[7] * S.y + a[8] * S.z;
                        double L2, F;
                        if (x->shape == NB_SHAPE_SQUARE) {
                            L2 = nbi_lattice_square2_d(h, k, l, x->Na, x->Nb, x->Nc);
                        } else {
                            double s_round;
                            const double L = nbi_lattice_shape((nb_shape)x->shape, x->Na, x->Nb, x->Nc, x->fudge,
                                                               x->astar, x->bstar, x->cstar, h, k, l, &s_round);
                            L2 = L * L;
                        }
                        if (L2 == 0.0 && x->water_m == 0.0)
                            continue;
                        F = nbg_reference_F(x, h, k, l, ceil(h - 0.5), ceil(k - 0.5), ceil(l - 0.5), &interp, &off);
                        I += F * F * L2;
                        if (x->oversample_thick)
                            I *= capture;
                        if (x->oversample_polar)
                            I *= polar;
                        if (x->oversample_omega)
                            I *= omega;
                    }
                    swept = 1;
                }
            }
    }
    test = x->scale * I / x->steps;
    if (!x->oversample_thick)
        test *= capture;
    if (!x->oversample_polar)
        test *= polar;
    if (!x->oversample_omega)
        test *= omega;
    out->value = test;
    out->omega = omega_sum;
    out->flags = NBG_RENDERED | (swept ? NBG_SWEPT : 0) | (off ? NBG_INTERP_OFF : 0);
}

/* A pixel as the CPU renders it (nbi_render_runs) is nbg_reference_pixel's
   where the experiment is not the row kernel's (row_order 0), else
   nbg_row_pixel's with the loop variant[interp] (in float where
   single[interp]), or, where that flags NBG_EXACT, nbg_reference_pixel's
   with the row kernel's solid-angle sum: gpu.c (nbi_gpu_host_pixel) and
   cuda/backend.cu (row_kernel, then reference_kernel on the flagged
   pixels) put them together so. */

#endif
