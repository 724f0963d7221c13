/*
 * nexus.h - what a NeXus/NXmx file (nexus.c) states of an experiment, in
 * NeXus's McStas frame (docs/nexus.md): computed without HDF5, so that
 * builds without it (and the unit tests) have it too.
 */
#ifndef NB_NEXUS_H
#define NB_NEXUS_H

#include "experiment.h"

/* The McStas frame of a lab frame whose beam runs along beam: z is the beam,
   y the lab's +y made perpendicular to it (the lab's +z when the beam runs
   within 25 degrees of y), x = y cross z.  R's rows are x, y and z in lab
   coordinates, so v_mcstas = R v_lab. */
void nbi_mcstas_frame(vec3 beam, double R[9]);

/* A lab vector in the McStas frame R. */
vec3 nbi_to_mcstas(const double R[9], vec3 v);

/* The series-wide values of a NeXus file (lengths in metres). */
typedef struct nbi_nexus_geometry {
    int fpixels, spixels;
    double pixel_m, wavelength_A;
    double R[9];                 /* the McStas frame (nbi_mcstas_frame) */
    vec3 origin_m;               /* the outer corner of the first pixel (pix0) */
    vec3 fast, slow;             /* unit vectors of increasing pixel index */
    vec3 normal;                 /* the detector plane's unit normal, away from the sample */
    double close_distance_m;     /* sample to the plane along normal */
    double distance_m;           /* sample to where the beam meets the plane (the near
                                    point's distance if it misses the plane) */
    double beam_center_px[2];    /* where the beam meets it (else the near point): fast,
                                    slow pixels from the first pixel's outer corner */
    vec3 spindle;                /* the rotation axis (right-handed) */
    double stokes[4];            /* incident polarization: I, Q, U, V in McStas x, y */
    double thickness_m;          /* silicon sensor; 0: none simulated */
    double exposure_s, flux;
    double cell_A[3], cell_deg[3];
    int rotation;                /* 1: a rotation series (an oscillation), 0: stills */
} nbi_nexus_geometry;

void nbi_nexus_geometry_of(const nb_experiment *exp, nbi_nexus_geometry *g);


#endif
