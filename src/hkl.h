/*
 * hkl.h - structure factors: the HKL text reader, the Fdump.bin cache, nearest
 * lookup and nanoBragg's tricubic (4x4x4 Lagrange) interpolation.
 */
#ifndef NB_HKL_H
#define NB_HKL_H

#include <math.h>

#include "nanobragg.h"
#include "physics.h"

/*
 * A dense grid of F over [h_min,h_max] x [k_min,k_max] x [l_min,l_max].
 * Storage has one padding plane on each axis as nanoBragg's Fdump.bin does:
 * dimensions (h_range+1) x (k_range+1) x (l_range+1), l fastest, where
 * h_range = h_max - h_min + 1.  Padding entries are 0.
 */
typedef struct nbi_hkl {
    int h_min, h_max, k_min, k_max, l_min, l_max;
    int h_range, k_range, l_range;
    double *F; /* owned */
    float *F_single; /* owned: F in float for -precision single (nbi_hkl_make_single), or NULL */
    long count; /* entries read from text (nanoBragg's "hkls") or h*k*l ranges from Fdump */
} nbi_hkl;

/* The largest |F| a table, missing_F or default_F may hold: F^2 times the
   lattice factor, the fluence and the solid angle then stay finite doubles. */
#define NBI_F_MAX 1e30

/* 1 if F is a usable structure factor (|F| <= NBI_F_MAX; not NaN). */
static inline int nbi_F_usable(double F) { return fabs(F) <= NBI_F_MAX; }

/* Index of (h,k,l) in F; caller guarantees it is inside the grid. */
static inline long nbi_hkl_index(const nbi_hkl *t, int h, int k, int l)
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
NB_WARN_UNUSED nb_status nbi_hkl_read_text(const char *path, double default_F, const nb_log *log,
                                          nbi_hkl *out, nb_error *err);

/* The entries of an "h k l F" text file, in file order, with the reader's
   checks and warnings: hkl gets 3n indices, F n values (both malloc'd, the
   caller frees them). */
NB_WARN_UNUSED nb_status nbi_hkl_read_text_entries(const char *path, const nb_log *log, int **hkl, double **F,
                                                   size_t *n, nb_error *err);

/* The grid of n reflections (h, k, l, F): their index range, missing points
   holding missing_F; later repeats win.  Errors name the offending entry. */
NB_WARN_UNUSED nb_status nbi_hkl_from_list(const int *h, const int *k, const int *l, const double *F,
                                           size_t n, double missing_F, nbi_hkl *out, nb_error *err);
/* The grid dims[0] x dims[1] x dims[2] from origin, F l-fastest (copied). */
NB_WARN_UNUSED nb_status nbi_hkl_from_grid(const int origin[3], const int dims[3], const double *F,
                                           nbi_hkl *out, nb_error *err);

/* Read / write nanoBragg's Fdump.bin: text line "h_min h_max k_min k_max l_min l_max\n\f"
   then the padded grid as native doubles.  The reader checks the header and the
   file size and refuses anything inconsistent (NB_ERR_FORMAT). */
NB_WARN_UNUSED nb_status nbi_hkl_read_fdump(const char *path, nbi_hkl *out, nb_error *err);
NB_WARN_UNUSED nb_status nbi_hkl_write_fdump(const char *path, const nbi_hkl *t, nb_error *err);

void nbi_hkl_free(nbi_hkl *t);

/* F at integer (h,k,l), or default_F outside the grid (or for an empty table). */
double nbi_hkl_nearest(const nbi_hkl *t, int h, int k, int l, double default_F);

/* The grid as the physics terms read it (physics_real.h): F in double, or
   F_single in float (NULL until nbi_hkl_make_single). */
static inline nbi_grid_d nbi_hkl_grid(const nbi_hkl *t)
{
    const nbi_grid_d g = {t->F, t->h_min, t->h_max, t->k_min, t->k_max, t->l_min, t->l_max,
                          t->h_range, t->k_range, t->l_range,
                          (t->k_range + 1) * (t->l_range + 1), t->l_range + 1};
    return g;
}

static inline nbi_grid_f nbi_hkl_grid_single(const nbi_hkl *t)
{
    const nbi_grid_f g = {t->F_single, (float)t->h_min, (float)t->h_max, (float)t->k_min, (float)t->k_max,
                          (float)t->l_min, (float)t->l_max, (float)t->h_range, (float)t->k_range,
                          (float)t->l_range, (t->k_range + 1) * (t->l_range + 1), t->l_range + 1};
    return g;
}

/* Fill t->F_single, F rounded to float, for -precision single (again: no-op). */
NB_WARN_UNUSED nb_status nbi_hkl_make_single(nbi_hkl *t, nb_error *err);

/* nanoBragg's test for a safe 4x4x4 neighbourhood around fractional (h,k,l):
   false when h-h_min+3 > h_range or h-2 < h_min (same for k, l); see
   nbi_interp_ok_d. */
int nbi_hkl_interp_ok(const nbi_hkl *t, double h, double k, double l);

/* Tricubic interpolation at fractional (h,k,l) (nanoBragg's polin3; the
   formula is nbi_interpolate_d in physics_real.h, which the vector loops
   evaluate too).  Caller must have checked nbi_hkl_interp_ok().  Inline so
   that it is compiled for the kernel's instruction set. */
static inline double nbi_hkl_interpolate(const nbi_hkl *t, double h, double k, double l)
{
    return nbi_interpolate_d(nbi_hkl_grid(t), h, k, l);
}

#endif
