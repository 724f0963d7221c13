/*
 * hostdevice.h - what makes a header's functions compile for the GPU too.
 * The physics (physics.h, physics_real.h), the vectors (vec3.h) and the
 * sub-pixel geometry (subpixel.h) are compiled by the C compiler for the
 * CPU kernels and by nvcc for the CUDA kernel (cuda/backend.cu), from the
 * same text: under nvcc their functions are __host__ __device__ (NB_HD),
 * and the constant tables they read are device variables in the device
 * pass (NB_TABLE); to the C compiler both words mean nothing new.
 */
#ifndef NB_HOSTDEVICE_H
#define NB_HOSTDEVICE_H

#ifdef __CUDACC__
#define NB_HD __host__ __device__
#else
#define NB_HD
#endif

/* Before a constant table (static const, file scope) that a function of
   both kinds reads: in the device pass of nvcc it is a device variable,
   elsewhere a plain one. */
#ifdef __CUDA_ARCH__
#define NB_TABLE __device__
#else
#define NB_TABLE
#endif

#endif
