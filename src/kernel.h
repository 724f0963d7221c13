/*
 * kernel.h - the hot loop: the photon count of one pixel, summed over
 * detector layers, sub-pixels, sources, phi steps and mosaic domains.
 * Pure: reads the experiment, writes only its result argument.
 */
#ifndef NB_KERNEL_H
#define NB_KERNEL_H

#include "experiment.h"
#include "physics.h"
#include "roi.h"
#include "subpixel.h"

/* What rendering one pixel reports besides its value. */
typedef struct nbi_pixel {
    double value;     /* photons in this pixel (before conversion to float) */
    double omega_sum; /* solid angles summed over layers x sub-pixels */
    int swept;        /* at least one phi sweep ran (some source passed -dmin) */
    int interp_off;   /* interpolation hit the edge of the HKL grid here */
    double off_hkl[3];/* fractional h,k,l where it did */
    int off_hkl0[3];
} nbi_pixel;

/*
 * Render pixel (fpixel, spixel).  interpolate: whether tricubic interpolation
 * is still on when the pixel starts (it switches off for good at the first
 * neighbourhood outside the grid).  first_sweep: this pixel holds the first
 * phi sweep of the run (see nbi_crystal.cells_first).
 */
void nbi_render_pixel(const nb_experiment *exp, int fpixel, int spixel, int interpolate,
                      int first_sweep, nbi_pixel *out);

/*
 * The values of a pixel's sum that nanoBragg's -printout shows, as the
 * kernel leaves them: those of the last sample that set each one.  A field
 * is written only when the kernel evaluates that quantity, so what the
 * caller put there survives where the pixel evaluated none (nanoBragg then
 * prints what an earlier pixel left in the variable):
 *   stol_m, pos_m       every source, sub-pixel (stol before the -dmin cut)
 *   hkl, hkl0, F_latt, cell   every phi step x mosaic domain of a source
 *                       that passed -dmin (before the skip of a zero F_latt)
 *   F_cell              samples whose F_latt is not 0 (or with -water)
 *   I, polar, omega, capture   always, at the end of the pixel.
 */
typedef struct nbi_pixel_trace {
    double stol_m;        /* |S|/2 = sin(theta)/lambda, 1/m */
    vec3 pos_m;           /* the sub-pixel's position in the lab frame, m */
    double hkl[3], hkl0[3];
    double F_cell, F_latt; /* F_latt signed, as nanoBragg's sincg product */
    const double *cell;   /* a, b, c (9 doubles, m) of the sample: into the
                             experiment's tables */
    double I, polar, omega, capture;
} nbi_pixel_trace;

/* nbi_render_pixel that also records the pixel's intermediate values in
   *trace (not NULL); the same sum, the same result in *out. */
void nbi_render_pixel_traced(const nb_experiment *exp, int fpixel, int spixel, int interpolate,
                             int first_sweep, nbi_pixel *out, nbi_pixel_trace *trace);

/* ---- pieces shared with the row kernel (kernel_row.c) ---- */

/* Whether pixel (f, s) is rendered: inside the ROI and not masked. */
static inline int nbi_pixel_rendered(const nbi_detector *d, int f, int s)
{
    if (!nbi_roi_has(d->roi, f, s))
        return 0;
    return !d->mask || d->mask[(long)s * d->fpixels + f] != 0;
}

/* Unit vector from the sample to sub-pixel (subF, subS) of pixel (f, s) in
   detector layer t; *airpath is the distance (m). */
vec3 nbi_subpixel_direction(const nb_experiment *e, int f, int s, int t, int subF, int subS,
                            double *airpath);
#endif
