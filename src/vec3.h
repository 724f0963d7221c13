/*
 * vec3.h - 3-vectors and the rotations nanoBragg uses (about x then y then z,
 * about an arbitrary unit axis, by a 3x3 matrix).  Header-only so the kernel
 * can inline everything.
 */
#ifndef NB_VEC3_H
#define NB_VEC3_H

#include <math.h>

#include "hostdevice.h"

typedef struct vec3 {
    double x, y, z;
} vec3;

NB_HD static inline vec3 v3(double x, double y, double z)
{
    vec3 r = {x, y, z};
    return r;
}
NB_HD static inline vec3 v3_from(const double a[3]) { return v3(a[0], a[1], a[2]); }
NB_HD static inline void v3_store(vec3 v, double a[3])
{
    a[0] = v.x;
    a[1] = v.y;
    a[2] = v.z;
}
NB_HD static inline double v3_dot(vec3 a, vec3 b) { return a.x * b.x + a.y * b.y + a.z * b.z; }
NB_HD static inline vec3 v3_cross(vec3 a, vec3 b)
{
    return v3(a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x);
}
NB_HD static inline vec3 v3_scale(vec3 a, double s) { return v3(s * a.x, s * a.y, s * a.z); }
NB_HD static inline vec3 v3_add(vec3 a, vec3 b) { return v3(a.x + b.x, a.y + b.y, a.z + b.z); }
NB_HD static inline vec3 v3_sub(vec3 a, vec3 b) { return v3(a.x - b.x, a.y - b.y, a.z - b.z); }
NB_HD static inline double v3_mag(vec3 a) { return sqrt(a.x * a.x + a.y * a.y + a.z * a.z); }

/* Unit vector along a (zero vector if a is zero); returns |a|. */
NB_HD static inline double v3_unit(vec3 a, vec3 *u)
{
    double m = v3_mag(a);
    if (m != 0.0)
        *u = v3(a.x / m, a.y / m, a.z / m);
    else
        *u = v3(0.0, 0.0, 0.0);
    return m;
}

/* Rescale a to length len (a zero vector is treated as having length 1). */
NB_HD static inline vec3 v3_rescale(vec3 a, double len)
{
    double m = v3_mag(a);
    if (m <= 0.0)
        m = 1.0;
    return v3(len / m * a.x, len / m * a.y, len / m * a.z);
}

/* Rotate about x by rx, then y by ry, then z by rz (radians); zero angles are
   skipped exactly as nanoBragg's rotate(). */
NB_HD static inline vec3 v3_rotate_xyz(vec3 v, double rx, double ry, double rz)
{
    double x = v.x, y = v.y, z = v.z, nx, ny, nz;
    if (rx != 0) {
        double c = cos(rx), s = sin(rx);
        ny = y * c + z * (-s);
        nz = y * s + z * c;
        y = ny;
        z = nz;
    }
    if (ry != 0) {
        double c = cos(ry), s = sin(ry);
        nx = x * c + y * 0 + z * s;
        nz = x * (-s) + y * 0 + z * c;
        x = nx;
        z = nz;
    }
    if (rz != 0) {
        double c = cos(rz), s = sin(rz);
        nx = x * c + y * (-s);
        ny = x * s + y * c;
        x = nx;
        y = ny;
    }
    return v3(x, y, z);
}

/* Rotate v about the unit vector axis by the angle whose sine and cosine are
   s and c (right-handed). */
NB_HD static inline vec3 v3_rotate_axis_sc(vec3 v, vec3 axis, double s, double c)
{
    double d = (axis.x * v.x + axis.y * v.y + axis.z * v.z) * (1.0 - c);
    return v3(axis.x * d + v.x * c + (-axis.z * v.y + axis.y * v.z) * s,
              axis.y * d + v.y * c + (+axis.z * v.x - axis.x * v.z) * s,
              axis.z * d + v.z * c + (-axis.y * v.x + axis.x * v.y) * s);
}

/* Rotate v by phi radians about the unit vector axis (right-handed). */
NB_HD static inline vec3 v3_rotate_axis(vec3 v, vec3 axis, double phi)
{
    return v3_rotate_axis_sc(v, axis, sin(phi), cos(phi));
}

/* Multiply by a row-major 3x3 matrix. */
NB_HD static inline vec3 v3_rotate_umat(vec3 v, const double u[9])
{
    return v3(u[0] * v.x + u[1] * v.y + u[2] * v.z, u[3] * v.x + u[4] * v.y + u[5] * v.z,
              u[6] * v.x + u[7] * v.y + u[8] * v.z);
}

#endif
