/*
 * cuda/backend.h - the CUDA backend (backend.cu), behind gpu.c: a device's
 * copy of a packed experiment (gpu_pixel.h: nbg_exp) and the kernel that
 * renders runs of its pixels.  Built only with NB_CUDA (NB_HAVE_CUDA); C
 * linkage, no CUDA types.  Messages go to msg (size bytes).
 */
#ifndef NB_CUDA_BACKEND_H
#define NB_CUDA_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "../gpu_pixel.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A run of pixels for the kernel: f_begin <= f < f_end of row s,
   interpolation interp at the start, results from index first on. */
typedef struct nbg_run {
    int s, f_begin, f_end, interp;
    long first;
} nbg_run;

typedef struct nbi_cuda nbi_cuda;

/* The number of CUDA devices (>= 0), or -1 with msg saying why none can
   be used (no driver, ...). */
int nbi_cuda_device_count(char *msg, size_t size);

/* Upload the packed experiment x (host arrays) to device index: *out.
   share (may be NULL): a context whose structure factors, sources and mask
   (the same arrays) are used instead of new copies.  0, or -1 with msg (a
   CUDA error; *nomem set when memory ran out). */
int nbi_cuda_create(int device, const nbg_exp *x, const nbi_cuda *share, nbi_cuda **out, int *nomem, char *msg,
                    size_t size);
void nbi_cuda_free(nbi_cuda *c);
/* "cuda:N (device name)". */
const char *nbi_cuda_name(const nbi_cuda *c);

/* Render runs[0..n-1] (npixels in all, pixel i of run r at runs[r].first +
   i): value, flags (NBG_*) and per-run solid-angle sums (omega, may be
   NULL), on the host.  0, or -1 with msg.  One call at a time per context
   (the caller locks). */
int nbi_cuda_render(nbi_cuda *c, const nbg_run *runs, size_t n, long npixels, float *value, uint8_t *flags,
                    double *omega, char *msg, size_t size);

#ifdef __cplusplus
}
#endif

#endif
