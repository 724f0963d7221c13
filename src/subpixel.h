/*
 * subpixel.h - where a sub-pixel lies: its offset along a detector axis, the
 * lab-frame point of a position on the detector, and a curved detector's
 * placement of it.  Shared by the CPU kernels (kernel.c, kernel_row.c,
 * loops/row_loops.c) and the CUDA kernel (gpu_pixel.h), compiled for both.
 */
#ifndef NB_SUBPIXEL_H
#define NB_SUBPIXEL_H

#include "hostdevice.h"
#include "vec3.h"

/* Offset (m) of sub-pixel sub (of os per pixel edge) of pixel index i along
   a detector axis: its centre, nanoBragg's (i os + sub + 1/2) x subpixel. */
NB_HD static inline double nbi_subpixel_offset(double subpixel_m, double i, int os, int sub)
{
    return subpixel_m * (i * os + sub) + subpixel_m / 2.0;
}

/* The lab-frame point (m) at offsets F, S, O along the detector's fast,
   slow and normal axes f, s, o from its origin pix0. */
NB_HD static inline vec3 nbi_detector_point(vec3 f, vec3 s, vec3 o, vec3 pix0, double F, double S, double O)
{
    return v3(F * f.x + S * s.x + O * o.x + pix0.x, F * f.y + S * s.y + O * o.y + pix0.y,
              F * f.z + S * s.z + O * o.z + pix0.z);
}

/* Curved detector: every pixel at distance_m along the beam, turned by the
   flat position p's y and z (as angles: nanoBragg's) about the slow and
   fast axes. */
NB_HD static inline vec3 nbi_curved_position(vec3 beam, vec3 sdet, vec3 fdet, double distance_m, vec3 p)
{
    vec3 v = v3(distance_m * beam.x, distance_m * beam.y, distance_m * beam.z);
    v = v3_rotate_axis(v, sdet, p.y / distance_m);
    return v3_rotate_axis(v, fdet, p.z / distance_m);
}

#endif
