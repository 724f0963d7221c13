/*
 * kernel_row.h - the fast kernel: a detector row at a time, vectorised over
 * its sub-pixel samples (see kernel_row.c).
 */
#ifndef NB_KERNEL_ROW_H
#define NB_KERNEL_ROW_H

#include "kernel.h"

/* Per-pixel flags reported by the kernels. */
enum { NBI_PIX_SWEPT = 1, NBI_PIX_INTERP_OFF = 2 };

/* Scratch space of one thread: a run of pixels of one row. */
typedef struct nbi_row {
    int n, np;
    int chunk;                  /* pixels per run */
    double *dx, *dy, *dz, *acc; /* per sample */
    double *lat;                /* per sample: lattice factor squared */
    double *hkl;                /* per sample: h (n), then k (n), then l (n) */
    float *single;              /* -precision single: 8n floats, as below */
    float *fx, *fy, *fz, *latf, *hklf, *accf;
    int pending;                /* passes summed in accf since its last flush */
    unsigned char *event;       /* interpolation left the grid at this sample */
    /* per pixel of the run (np of them), in one block: */
    double *pix;                /* the block */
    double *fpix, *omega, *polar, *capture, *value;
    int *f, *swept;             /* fast index; some source passed -dmin */
} nbi_row;

/* Whether the row kernel renders this experiment: not with
   -oversample_thick/polar/omega, whose sums depend on the loop order, nor
   with more than about a million samples per pixel (its scratch space). */
int nbi_row_kernel_ok(const nb_experiment *e);

NB_WARN_UNUSED nb_status nbi_row_init(nbi_row *w, const nb_experiment *e);
void nbi_row_free(nbi_row *w);

/* Render the rendered pixels f_start <= f < f_end (at most w->chunk of them)
   of row s, with interpolation on or off throughout: pixel f's value goes to
   data[f - f_start] and its NBI_PIX_* flags to flags[f - f_start] (pixels
   not rendered are left alone; flags may be NULL: none wanted).  A pixel's
   value and flags do not depend on the other pixels of the run.  Returns their solid-angle sum. */
double nbi_render_row(const nb_experiment *e, int s, int f_start, int f_end, int interp, nbi_row *w,
                      float *data, unsigned char *flags);

#endif
