/*
 * cuda/backend.cu - the CUDA backend (backend.h): the experiment packed by
 * gpu.c (nbg_exp) copied to a GPU once, and the kernels that render runs of
 * its pixels with the per-pixel code of gpu_pixel.h, which calls the same
 * physics functions as the CPU kernels (physics.h, compiled here for the
 * device too).
 *
 * One thread computes one whole pixel, its sums in the CPU kernel's order:
 * no atomics, no reductions across threads, so an image is the same at
 * every run.  Compiled without contraction (--fmad=false, as the C code is
 * compiled with -ffp-contract=off) and with IEEE division and square root
 * (nvcc's defaults), so that double precision gives the CPU's bits where
 * the device's sin, cos and exp agree with the C library's.
 *
 * The structure factors, the sources and the mask are kept in a resident
 * part that experiments of a series share (gpu.c decides when); the cells
 * and the pass tables are the experiment's own.  Renders reuse scratch
 * buffers that grow as needed.
 */
#include <cuda_runtime.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"

/* What a series shares on the device. */
struct resident {
    int refs;
    double *src;
    uint16_t *mask;
    double *Fd;
    float *Ff;
};

struct nbi_cuda {
    int device;
    char name[160];
    nbg_exp x; /* device pointers */
    resident *res;
    double *cells;
    nbg_pass_d *pass_d;
    nbg_pass_f *pass_f;
    cudaStream_t stream;
    /* scratch of the renders */
    nbg_run *runs;
    size_t runs_cap;
    float *value;
    uint8_t *flags;
    double *omega_px;
    size_t px_cap;
    double *omega_runs;
};

#define BLOCK 128

/* ---------------------------------------------------------------- kernels */

/* The run that holds pixel i of the batch (runs sorted by first). */
__device__ static int find_run(const nbg_run *runs, int n, long i)
{
    int lo = 0, hi = n - 1;
    while (lo < hi) {
        const int mid = (lo + hi + 1) / 2;
        if (runs[mid].first <= i)
            lo = mid;
        else
            hi = mid - 1;
    }
    return lo;
}

/* Pixel i of the batch: its run, (f, s) and interpolation; 0 if i is
   beyond the batch or its run's interpolation is not interp (< 0: any). */
__device__ static int locate(const nbg_run *runs, int nruns, long npixels, int interp, long i, int *f, int *s, int *on)
{
    int r;
    if (i >= npixels)
        return 0;
    r = find_run(runs, nruns, i);
    *on = runs[r].interp != 0;
    if (interp >= 0 && *on != interp)
        return 0;
    *f = runs[r].f_begin + (int)(i - runs[r].first);
    *s = runs[r].s;
    return 1;
}

__device__ static void store(const nbg_result *px, long i, float *value, uint8_t *flags, double *omega)
{
    value[i] = (float)px->value;
    flags[i] = (uint8_t)px->flags;
    omega[i] = px->omega;
}

/* The row kernel's order with loop V in double (SINGLE 0) or float, for the
   runs whose interpolation is interp; N: the cube's N, or for NBG_GENERAL
   whether interpolation is on. */
template <int V, int SINGLE>
__global__ void __launch_bounds__(BLOCK) row_kernel(const __grid_constant__ nbg_exp x, const nbg_run *runs,
                                                    int nruns, long npixels, int interp, int N, float *value,
                                                    uint8_t *flags, double *omega)
{
    const long i = (long)blockIdx.x * blockDim.x + threadIdx.x;
    nbg_result px = {0.0, 0.0, 0};
    int f, s, on;
    if (!locate(runs, nruns, npixels, interp, i, &f, &s, &on))
        return;
    if (nbg_rendered(&x, f, s))
        nbg_row_pixel(&x, f, s, V, SINGLE, N, &px);
    store(&px, i, value, flags, omega);
}

/* The reference kernel's order: every pixel (exact 0), or those the row
   kernel flagged NBG_EXACT (exact 1: their solid-angle sums kept). */
__global__ void __launch_bounds__(BLOCK) reference_kernel(const __grid_constant__ nbg_exp x, const nbg_run *runs,
                                                          int nruns, long npixels, int exact, float *value,
                                                          uint8_t *flags, double *omega)
{
    const long i = (long)blockIdx.x * blockDim.x + threadIdx.x;
    nbg_result px = {0.0, 0.0, 0};
    int f, s, on;
    if (!locate(runs, nruns, npixels, -1, i, &f, &s, &on))
        return;
    if (exact && !(flags[i] & NBG_EXACT))
        return;
    if (nbg_rendered(&x, f, s)) {
        const double om = omega[i];
        nbg_reference_pixel(&x, f, s, on, &px);
        if (exact)
            px.omega = om;
    }
    store(&px, i, value, flags, omega);
}

/* Each run's solid-angle sum, its pixels in order. */
__global__ void omega_kernel(const nbg_run *runs, int nruns, const double *omega, double *sums)
{
    const int r = blockIdx.x * blockDim.x + threadIdx.x;
    double sum = 0.0;
    if (r >= nruns)
        return;
    for (int f = runs[r].f_begin; f < runs[r].f_end; ++f)
        sum += omega[runs[r].first + (f - runs[r].f_begin)];
    sums[r] = sum;
}

/* ---------------------------------------------------------------- errors */

#define CK(call)                                                                                   \
    do {                                                                                           \
        const cudaError_t e_ = (call);                                                             \
        if (e_ != cudaSuccess) {                                                                   \
            snprintf(msg, size, "%s (%s)", cudaGetErrorString(e_), #call);                         \
            if (e_ == cudaErrorMemoryAllocation && nomem)                                          \
                *nomem = 1;                                                                        \
            goto fail;                                                                             \
        }                                                                                          \
    } while (0)

/* Copy n bytes of host to a new device array *dev (NULL for n = 0). */
static cudaError_t upload(void **dev, const void *host, size_t n)
{
    cudaError_t e;
    *dev = NULL;
    if (!n || !host)
        return cudaSuccess;
    if ((e = cudaMalloc(dev, n)) != cudaSuccess)
        return e;
    return cudaMemcpy(*dev, host, n, cudaMemcpyHostToDevice);
}

extern "C" int nbi_cuda_device_count(char *msg, size_t size)
{
    int n = 0;
    const cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess) {
        snprintf(msg, size, "%s", cudaGetErrorString(e));
        return -1;
    }
    return n;
}

/* ---------------------------------------------------------------- the context */

static void resident_free(resident *r)
{
    if (!r || __atomic_sub_fetch(&r->refs, 1, __ATOMIC_ACQ_REL) > 0)
        return;
    cudaFree(r->src);
    cudaFree(r->mask);
    cudaFree(r->Fd);
    cudaFree(r->Ff);
    free(r);
}

extern "C" void nbi_cuda_free(nbi_cuda *c)
{
    if (!c)
        return;
    cudaSetDevice(c->device);
    resident_free(c->res);
    cudaFree(c->cells);
    cudaFree(c->pass_d);
    cudaFree(c->pass_f);
    cudaFree(c->runs);
    cudaFree(c->value);
    cudaFree(c->flags);
    cudaFree(c->omega_px);
    cudaFree(c->omega_runs);
    if (c->stream)
        cudaStreamDestroy(c->stream);
    free(c);
}

extern "C" const char *nbi_cuda_name(const nbi_cuda *c) { return c->name; }

extern "C" int nbi_cuda_create(int device, const nbg_exp *x, const nbi_cuda *share, nbi_cuda **out, int *nomem,
                               char *msg, size_t size)
{
    nbi_cuda *c = (nbi_cuda *)calloc(1, sizeof *c);
    cudaDeviceProp prop;
    const size_t grid = x->gd.F ? (size_t)(x->gd.h_range + 1) * (size_t)x->gd.hstride : 0;
    *out = NULL;
    if (!c) {
        snprintf(msg, size, "out of host memory");
        *nomem = 1;
        return -1;
    }
    c->device = device;
    c->x = *x;
    CK(cudaSetDevice(device));
    CK(cudaGetDeviceProperties(&prop, device));
    snprintf(c->name, sizeof c->name, "cuda:%d (%.100s, compute capability %d.%d)", device, prop.name, prop.major,
             prop.minor);
    CK(cudaStreamCreateWithFlags(&c->stream, cudaStreamNonBlocking));
    if (share) {
        c->res = share->res;
        __atomic_add_fetch(&c->res->refs, 1, __ATOMIC_ACQ_REL); /* experiments may be made in several threads */
    } else {
        if (!(c->res = (resident *)calloc(1, sizeof *c->res))) {
            snprintf(msg, size, "out of host memory");
            *nomem = 1;
            goto fail;
        }
        c->res->refs = 1;
        CK(upload((void **)&c->res->src, x->src, (size_t)x->nsrc * 4 * sizeof(double)));
        CK(upload((void **)&c->res->mask, x->mask, x->mask ? (size_t)x->fpixels * x->spixels * sizeof(uint16_t) : 0));
        CK(upload((void **)&c->res->Fd, x->gd.F, grid * sizeof(double)));
        CK(upload((void **)&c->res->Ff, x->gf.F, x->gf.F ? grid * sizeof(float) : 0));
    }
    CK(upload((void **)&c->cells, x->cells, (size_t)x->ncells * 9 * sizeof(double)));
    CK(upload((void **)&c->pass_d, x->pass_d, (size_t)x->npasses * sizeof(nbg_pass_d)));
    CK(upload((void **)&c->pass_f, x->pass_f, (size_t)x->npasses * sizeof(nbg_pass_f)));
    c->x.src = c->res->src;
    c->x.mask = c->res->mask;
    c->x.gd.F = c->res->Fd;
    c->x.gf.F = c->res->Ff;
    c->x.cells = c->cells;
    c->x.pass_d = c->pass_d;
    c->x.pass_f = c->pass_f;
    *out = c;
    return 0;
fail:
    nbi_cuda_free(c);
    return -1;
}

/* ---------------------------------------------------------------- renders */

/* Scratch for n runs and npixels pixels. */
static int scratch(nbi_cuda *c, size_t n, size_t npixels, char *msg, size_t size)
{
    int *nomem = NULL;
    if (n > c->runs_cap) {
        cudaFree(c->runs);
        cudaFree(c->omega_runs);
        c->runs = NULL, c->omega_runs = NULL, c->runs_cap = 0;
        CK(cudaMalloc((void **)&c->runs, n * sizeof *c->runs));
        CK(cudaMalloc((void **)&c->omega_runs, n * sizeof *c->omega_runs));
        c->runs_cap = n;
    }
    if (npixels > c->px_cap) {
        cudaFree(c->value);
        cudaFree(c->flags);
        cudaFree(c->omega_px);
        c->value = NULL, c->flags = NULL, c->omega_px = NULL, c->px_cap = 0;
        CK(cudaMalloc((void **)&c->value, npixels * sizeof *c->value));
        CK(cudaMalloc((void **)&c->flags, npixels));
        CK(cudaMalloc((void **)&c->omega_px, npixels * sizeof *c->omega_px));
        c->px_cap = npixels;
    }
    return 0;
fail:
    return -1;
}

/* Launch the row kernel of loop v (single) for the runs of interpolation interp. */
static void launch_row(nbi_cuda *c, int v, int single, int nruns, long npixels, int interp, unsigned blocks)
{
    const nbg_exp &x = c->x;
    const int N = nbg_loop_N(&x, v, interp);
#define ROW(V, S) row_kernel<V, S><<<blocks, BLOCK, 0, c->stream>>>(x, c->runs, nruns, npixels, interp, N, c->value, c->flags, c->omega_px)
    switch (v * 2 + (single != 0)) {
    case NBG_FLAT * 2: ROW(NBG_FLAT, 0); break;
    case NBG_FLAT * 2 + 1: ROW(NBG_FLAT, 1); break;
    case NBG_CUBE * 2: ROW(NBG_CUBE, 0); break;
    case NBG_CUBE * 2 + 1: ROW(NBG_CUBE, 1); break;
    case NBG_HKL * 2: ROW(NBG_HKL, 0); break;
    case NBG_HKL * 2 + 1: ROW(NBG_HKL, 1); break;
    case NBG_INTERP * 2: ROW(NBG_INTERP, 0); break;
    case NBG_INTERP * 2 + 1: ROW(NBG_INTERP, 1); break;
    default: ROW(NBG_GENERAL, 0); break; /* the general loop is in double only */
    }
#undef ROW
}

extern "C" int nbi_cuda_render(nbi_cuda *c, const nbg_run *runs, size_t n, long npixels, float *value, uint8_t *flags,
                               double *omega, char *msg, size_t size)
{
    int *nomem = NULL;
    const unsigned blocks = (unsigned)((npixels + BLOCK - 1) / BLOCK);
    const int nruns = (int)n;
    if (n == 0 || npixels == 0)
        return 0;
    CK(cudaSetDevice(c->device));
    if (scratch(c, n, (size_t)npixels, msg, size) != 0)
        return -1;
    CK(cudaMemcpyAsync(c->runs, runs, n * sizeof *runs, cudaMemcpyHostToDevice, c->stream));
    if (!c->x.row_order) {
        reference_kernel<<<blocks, BLOCK, 0, c->stream>>>(c->x, c->runs, nruns, npixels, 0, c->value, c->flags,
                                                          c->omega_px);
    } else {
        for (int interp = 0; interp < 2; ++interp) {
            int any = 0;
            for (size_t r = 0; r < n && !any; ++r)
                any = (runs[r].interp != 0) == interp;
            if (any)
                launch_row(c, c->x.variant[interp], c->x.single[interp], nruns, npixels, interp, blocks);
        }
        if (c->x.shape == NB_SHAPE_ROUND) /* pixels next to a lattice point, exactly */
            reference_kernel<<<blocks, BLOCK, 0, c->stream>>>(c->x, c->runs, nruns, npixels, 1, c->value, c->flags,
                                                              c->omega_px);
    }
    CK(cudaGetLastError());
    omega_kernel<<<(nruns + BLOCK - 1) / BLOCK, BLOCK, 0, c->stream>>>(c->runs, nruns, c->omega_px, c->omega_runs);
    CK(cudaGetLastError());
    CK(cudaMemcpyAsync(value, c->value, (size_t)npixels * sizeof *value, cudaMemcpyDeviceToHost, c->stream));
    CK(cudaMemcpyAsync(flags, c->flags, (size_t)npixels, cudaMemcpyDeviceToHost, c->stream));
    if (omega)
        CK(cudaMemcpyAsync(omega, c->omega_runs, n * sizeof *omega, cudaMemcpyDeviceToHost, c->stream));
    CK(cudaStreamSynchronize(c->stream));
    return 0;
fail:
    return -1;
}
