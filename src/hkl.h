/*
 * hkl.h - structure factors: the HKL text reader, the Fdump.bin cache, nearest
 * lookup and nanoBragg's tricubic (4x4x4 Lagrange) interpolation.
 */
#ifndef NB_HKL_H
#define NB_HKL_H

#include <math.h>

#include "nanobragg.h"

/*
 * A dense grid of F over [h_min,h_max] x [k_min,k_max] x [l_min,l_max].
 * Storage has one padding plane on each axis as nanoBragg's Fdump.bin does:
 * dimensions (h_range+1) x (k_range+1) x (l_range+1), l fastest, where
 * h_range = h_max - h_min + 1.  Padding entries are 0.
 */
typedef struct nb_hkl {
    int h_min, h_max, k_min, k_max, l_min, l_max;
    int h_range, k_range, l_range;
    double *F; /* owned */
    long count; /* entries read from text (nanoBragg's "hkls") or h*k*l ranges from Fdump */
} nb_hkl;

/* Index of (h,k,l) in F; caller guarantees it is inside the grid. */
static inline long nb_hkl_index(const nb_hkl *t, int h, int k, int l)
{
    return ((long)(h - t->h_min) * (t->k_range + 1) + (k - t->k_min)) * (long)(t->l_range + 1)
           + (l - t->l_min);
}

/*
 * Read "h k l F" lines (further columns such as sigma or phase are ignored).
 * Blank lines and lines starting with '#' are skipped.  Indices that are not
 * integers draw a warning "non-integer value for h (...) at line N" on log and
 * are rounded as nanoBragg does (conversion to int).  Grid cells not in the file
 * hold default_F.  Errors (unreadable file, a line with fewer than four numbers,
 * non-numeric text, no reflections, a grid over 1 GiB) name the file and line.
 */
NB_WARN_UNUSED nb_status nb_hkl_read_text(const char *path, double default_F, const nb_log *log,
                                          nb_hkl *out, nb_error *err);

/* Read / write nanoBragg's Fdump.bin: text line "h_min h_max k_min k_max l_min l_max\n\f"
   then the padded grid as native doubles.  The reader checks the header and the
   file size and refuses anything inconsistent (NB_ERR_FORMAT). */
NB_WARN_UNUSED nb_status nb_hkl_read_fdump(const char *path, nb_hkl *out, nb_error *err);
NB_WARN_UNUSED nb_status nb_hkl_write_fdump(const char *path, const nb_hkl *t, nb_error *err);

void nb_hkl_free(nb_hkl *t);

/* F at integer (h,k,l), or default_F outside the grid (or for an empty table). */
double nb_hkl_nearest(const nb_hkl *t, int h, int k, int l, double default_F);

/* nanoBragg's test for a safe 4x4x4 neighbourhood around fractional (h,k,l):
   false when h-h_min+3 > h_range or h-2 < h_min (same for k, l). */
int nb_hkl_interp_ok(const nb_hkl *t, double h, double k, double l);

/* Lagrange weights of the nodes f-1, f, f+1, f+2 at f + t. */
static inline void nb_hkl_lagrange_weights(double t, double w[4])
{
    const double a = t + 1.0, b = t - 1.0, c = t - 2.0;
    w[0] = -t * b * c * (1.0 / 6.0);
    w[1] = a * b * c * 0.5;
    w[2] = -a * t * c * 0.5;
    w[3] = a * t * b * (1.0 / 6.0);
}

/* Tricubic interpolation at fractional (h,k,l): the Lagrange interpolant of
   the 4x4x4 grid points floor(x)-1 .. floor(x)+2 (nanoBragg's polin3), in
   tensor-product form (weights per axis, then one weighted sum over the 64
   points; equal to nanoBragg's nested polint up to rounding).  Caller must
   have checked nb_hkl_interp_ok().  Inline so that it is compiled for the
   kernel's instruction set. */
static inline double nb_hkl_interpolate(const nb_hkl *t, double h, double k, double l)
{
    const double hf = floor(h), kf = floor(k), lf = floor(l);
    const long kstride = t->l_range + 1, hstride = (long)(t->k_range + 1) * kstride;
    const double *base = t->F + nb_hkl_index(t, (int)hf - 1, (int)kf - 1, (int)lf - 1);
    double wh[4], wk[4], wl[4], sum = 0.0;
    nb_hkl_lagrange_weights(h - hf, wh);
    nb_hkl_lagrange_weights(k - kf, wk);
    nb_hkl_lagrange_weights(l - lf, wl);
    for (int i = 0; i < 4; ++i) {
        double plane = 0.0;
        for (int j = 0; j < 4; ++j) {
            const double *y = base + i * hstride + j * kstride;
            plane = fma(wk[j], fma(wl[3], y[3], fma(wl[2], y[2], fma(wl[1], y[1], wl[0] * y[0]))), plane);
        }
        sum = fma(wh[i], plane, sum);
    }
    return sum;
}

#endif
