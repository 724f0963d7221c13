/*
 * experiment.h - the resolved, ready-to-render experiment (private layout).
 * Built once by nb_experiment_create (setup modules: detector, beam, crystal,
 * hkl) and then only read by the kernel.
 */
#ifndef NB_EXPERIMENT_H
#define NB_EXPERIMENT_H

#include "hkl.h"
#include "nanobragg.h"
#include "vec3.h"

/* Thomson cross section (m^2) and Avogadro's number, as nanoBragg uses them. */
#define NB_R_E_SQR 7.94079248018965e-30
#define NB_AVOGADRO 6.02214179e23

typedef struct nb_detector {
    int fpixels, spixels;
    double pixel_m, subpixel_m;
    int oversample;
    vec3 fdet, sdet, odet, pix0;
    double distance_m, close_distance_m;
    int curved, point_pixel;
    int thicksteps;
    double thick_m, thickstep_m, mu; /* mu in 1/m */
    int oversample_thick, oversample_polar, oversample_omega;
    int roi[4];       /* inclusive fast min/max, slow min/max */
    uint16_t *mask;   /* owned copy, or NULL */
} nb_detector;

typedef struct nb_sources {
    int n;
    double *x, *y, *z; /* unit vectors from the sample towards each source */
    double *lambda_m;
    double *weight;    /* as listed; nanoBragg does not weight by it */
} nb_sources;

typedef struct nb_crystal {
    double Na, Nb, Nc;
    nb_shape shape;
    double fudge;
    vec3 a0, b0, c0;                /* metres, phi = 0, no mosaic */
    vec3 astar, bstar, cstar;       /* 1/Angstrom, for the Gauss/tophat radius */
    int phisteps;
    double phi0_rad, phistep_rad;
    int domains;
    double mosaic_spread_rad;
    double *umats;                  /* domains x 9 */
    /* Rotated cells (a,b,c: 9 doubles) per phi step x domain.  cells_first is
       what the very first phi sweep of a run sees, cells what every later
       sweep sees: nanoBragg skips the rotation at phi = 0 and keeps whatever
       orientation the previous sweep left behind. */
    double *cells, *cells_first;
    int first_differs;              /* cells_first != cells */
} nb_crystal;

struct nb_experiment {
    nb_info info;
    nb_detector det;
    nb_sources src;
    nb_crystal xtal;
    nb_hkl hkl;
    int have_hkl;                   /* hkls > 0 */
    double default_F;
    int interpolate;
    double polarization;
    int nopolar;
    vec3 polar_vector;
    double dmin_m;
    double water_m;
    double I_bg;                    /* water background per pixel (nanoBragg's units) */
    double fluence;
    long steps;
    int threads;
    nb_precision precision;
    const struct nbi_row_loops *loops; /* the row kernel's vector loops (isa.c) */
};

#endif
