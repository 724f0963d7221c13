/*
 * deriv.h - analytic first derivatives of the image (deriv.c): the
 * differentiable parameters, how each one moves the set-up (cells of every
 * orientation, detector frame, source wavelengths), and the per-pixel
 * adjoint of the physics terms.
 */
#ifndef NB_DERIV_H
#define NB_DERIV_H

#include "experiment.h"

/* What a differentiable parameter moves. */
typedef enum nbi_dkind {
    NBI_D_CRYSTAL,  /* the cells of every orientation */
    NBI_D_DETECTOR, /* pix0, fdet, sdet, odet and the near distance */
    NBI_D_LAMBDA,   /* the source wavelengths (and a matrix-given cell) */
    NBI_D_N,        /* Na, Nb, Nc */
    NBI_D_FLUENCE
} nbi_dkind;

typedef struct nbi_dparam {
    const char *name;  /* the derivative's name */
    const char *table; /* the parameter of the table that holds it */
    int component;     /* its index in an array parameter, else -1 */
    nbi_dkind kind;
    int which;         /* within its kind (e.g. 0..2 for Na, Nb, Nc) */
    double typical;    /* a typical refinement step, in its unit */
} nbi_dparam;

/* The parameter called name, or NULL. */
const nbi_dparam *nbi_dparam_find(const char *name);

#endif
