/*
 * experiment.h - the resolved, ready-to-render experiment (private layout).
 * Built once by nb_experiment_create (set-up stages: detector, beam, crystal,
 * hkl) and then only read by the kernels and the converters.
 */
#ifndef NB_EXPERIMENT_H
#define NB_EXPERIMENT_H

#include "hkl.h"
#include "config.h"
#include "nanobragg.h"
#include "sampling.h"
#include "vec3.h"

/* Thomson cross section (m^2) and Avogadro's number, as nanoBragg uses them. */
#define NB_R_E_SQR 7.94079248018965e-30
#define NB_AVOGADRO 6.02214179e23

/* Where the direct beam and the near point (the foot of the perpendicular
   from the sample) lie on the detector, in metres from the corner of its
   first pixel: as a convention names them (X, Y) and along the fast and
   slow axes (F, S). */
typedef struct nbi_centres {
    double Xbeam_m, Ybeam_m, Xclose_m, Yclose_m;
    double Fbeam_m, Sbeam_m, Fclose_m, Sclose_m;
} nbi_centres;

/* The detector's origin as XDS and DIALS state it. */
typedef struct nbi_origins {
    double ORGX, ORGY;                /* XDS: the near point, pixels */
    double dials_origin_mm[3];        /* DIALS: pix0 in its lab frame */
    vec3 incident_xds;                /* the beam along fdet, sdet, odet */
} nbi_origins;

/* The detector: geometry, layers and sampling (detector.c). */
typedef struct nbi_detector {
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
    /* Not read by the kernels: for reports and file headers. */
    nb_convention convention;
    nb_pivot pivot;
    double size_f_m, size_s_m;
    vec3 twotheta_axis;               /* as given or set by the convention */
    double twotheta_rad;
    nbi_centres centres;              /* of the placed detector */
    nbi_origins origins;
    int recommended_oversample;
    int oversample_auto;              /* oversample was chosen, not given */
} nbi_detector;

/* The incident beam (beam.c). */
typedef struct nbi_beam {
    double lambda0_m;
    vec3 dir;                   /* unit vector from the source towards the sample */
    nbi_sweep hdiv, vdiv;        /* divergence, radians */
    nbi_sweep disp;              /* dispersion, a fraction of lambda0 */
    int divsteps;               /* divergence points kept by the elliptical trim */
} nbi_beam;

typedef struct nbi_sources {
    int n;
    double *x, *y, *z; /* unit vectors from the sample towards each source */
    double *lambda_m;
    double *weight;    /* as listed; nanoBragg does not weight by it */
} nbi_sources;

/* What reports state about a cell: lengths (Angstrom) and angles (degrees)
   of its real and reciprocal (1/Angstrom) vectors, its volume and the
   misset that turned it. */
typedef struct nbi_cell_params {
    double len_A[3], deg[3];
    double rlen[3], rdeg[3];
    double volume_A3;
    double misset_deg[3];
    int misset_random;
} nbi_cell_params;

/* The crystal: cell, size, spindle sweep and mosaic domains (crystal.c). */
typedef struct nbi_crystal {
    double Na, Nb, Nc;
    nb_shape shape;
    double fudge;
    vec3 astar, bstar, cstar;       /* 1/Angstrom, for the Gauss/tophat radius */
    int phisteps;
    double phi0_rad, phistep_rad;
    int domains;
    double mosaic_spread_rad;
    double *umats;                  /* domains x 9 */
    /* Rotated cells (a,b,c: 9 doubles, metres) per phi step x domain.
       cells_first is what the very first phi sweep of a run sees, cells what
       every later sweep sees: nanoBragg skips the rotation at phi = 0 and
       keeps whatever orientation the previous sweep left behind. */
    double *cells, *cells_first;
    int first_differs;              /* cells_first != cells */
    /* Not read by the kernels: for reports and file headers. */
    vec3 a_A, b_A, c_A;             /* Angstrom, phi = 0, no mosaic (after misset) */
    nbi_cell_params params;
    double size_m[3];               /* Na |a|, Nb |b|, Nc |c| */
    double molecular_weight;
    vec3 spindle;                   /* unit rotation axis */
    double osc_rad;                 /* the range the phi steps cover */
} nbi_crystal;

/* Where nanoBragg's serial pixel order shows in the whole image
   (serial_order.c): serial indices s * fpixels + f, -1 for none. */
typedef struct nbi_landmarks {
    long first; /* the first pixel that runs a phi sweep */
    long off;   /* the pixel where tricubic interpolation switches itself off */
} nbi_landmarks;

/* The landmarks, found on demand (serial_order.c), behind a lock. */
typedef struct nbi_landmark_cache nbi_landmark_cache;

/* The GPU backend's context of an experiment (gpu.h). */
typedef struct nbi_gpu nbi_gpu;

/*
 * Each part is the result of one set-up stage (see experiment.c, which runs
 * them in order) and is written only by it.  info is filled from the parts
 * once, at the end of nb_experiment_create, and nothing in the library reads it.
 */
struct nb_experiment {
    nbi_detector det;
    nbi_beam beam;
    nbi_sources src;
    nbi_crystal xtal;
    nb_sf *sf;                      /* the structure factors (a reference), or NULL */
    nbi_hkl hkl;                    /* a view of sf's grid (zeroed when sf is NULL) */
    int have_hkl;                   /* hkls > 0 */
    int hkl_from_fdump;             /* hkl was read from the Fdump cache */
    double default_F;
    int interpolate;
    double polarization;
    int nopolar;
    vec3 polar_vector;
    double dmin_m;
    double water_m;
    double I_bg;                    /* water background per pixel (nanoBragg's units) */
    double fluence, flux, exposure_s, beamsize_m;
    long steps;
    int threads;
    nb_precision precision;         /* of the lattice sums, as they run */
    const char *precision_note;     /* why -precision single was turned into double, or NULL */
    const struct nbi_row_loops *loops; /* the row kernel's vector loops (isa.c) */
    nbi_gpu *gpu;                   /* the device that renders (gpu.h), or NULL: the CPU kernels */
    nb_info info;
    /* Not part of the set-up: the only thing rendering writes into an
       experiment, once, under its own lock (nbi_landmarks_get). */
    nbi_landmark_cache *landmarks;
};

/*
 * nb_experiment_create, and with like (may be NULL) its sources copied
 * instead of built from cfg: for the images of a series (series.c), whose
 * configurations differ from like's only in the crystal's orientation
 * (phi_deg, misset), on which the sources do not depend.
 */
NB_WARN_UNUSED nb_status nbi_experiment_create_like(const nb_config *cfg, const nb_experiment *like,
                                                    const nb_log *log, nb_experiment **out, nb_error *err);

#endif
