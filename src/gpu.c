/*
 * gpu.c - the GPU backend's host side (gpu.h): the device parameter, the
 * packing of an experiment for the GPU kernel (gpu_pixel.h), the context
 * an experiment keeps, and the renders of runs of pixels, by CUDA
 * (cuda/backend.cu, with NB_HAVE_CUDA) or by the kernel's own code on the
 * CPU threads (emulate).
 */
#include "gpu.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef NB_HAVE_OPENMP
#include <omp.h>
#endif

#include "kernel_row.h"
#include "row_loops.h"
#include "util.h"
#ifdef NB_HAVE_CUDA
#include "cuda/backend.h"
#endif

/* The kernel repeats the row kernel's constants (gpu_pixel.h). */
_Static_assert(NBG_SINGLE_FLUSH == NB_SINGLE_FLUSH, "gpu_pixel.h: NBG_SINGLE_FLUSH");
_Static_assert((int)NBG_SWEPT == (int)NBI_PIX_SWEPT && (int)NBG_INTERP_OFF == (int)NBI_PIX_INTERP_OFF, "gpu_pixel.h: flags");

/* Most passes (orientations x sources) the kernel's tables hold: 16 Mi,
   192 bytes each, 3 GiB. */
#define NBG_MAX_PASSES (1L << 24)

/* Pixels x samples a render hands to the device at a time (between
   progress reports and cancellation checks), and the fewest pixels. */
#define NBG_BATCH_SAMPLES 2e10
#define NBG_BATCH_MIN_PIXELS (1L << 20)

struct nbi_gpu {
    int kind, index;
    nbg_exp x;              /* host arrays */
    nbi_gpu_tables owned;
    const nb_experiment *e; /* the experiment whose arrays x points into */
#ifdef NB_HAVE_CUDA
    nbi_cuda *cuda;
#endif
    pthread_mutex_t lock;   /* one render at a time on the device */
    char name[160];
    char error[300];        /* the last render's CUDA error (under lock), or "" */
};

/* ---------------------------------------------------------------- device names */

int nbi_device_parse(const char *text, int *kind, int *index)
{
    if (!text)
        return 0;
    *index = 0;
    if (strcmp(text, "cpu") == 0) {
        *kind = NBI_DEVICE_CPU;
        return 1;
    }
    if (strcmp(text, "emulate") == 0) {
        *kind = NBI_DEVICE_EMULATE;
        return 1;
    }
    if (strncmp(text, "cuda", 4) != 0)
        return 0;
    *kind = NBI_DEVICE_CUDA;
    if (text[4] == '\0')
        return 1;
    if (text[4] != ':' || text[5] < '0' || text[5] > '9' || strlen(text + 5) > 4)
        return 0;
    for (const char *c = text + 5; *c; ++c)
        if (*c < '0' || *c > '9')
            return 0;
    *index = atoi(text + 5);
    return *index < 1024;
}

nb_status nbi_gpu_check(int kind, int index, nb_error *err)
{
    if (kind != NBI_DEVICE_CUDA)
        return NB_OK;
#ifdef NB_HAVE_CUDA
    {
        char msg[256] = "";
        const int count = nbi_cuda_device_count(msg, sizeof msg);
        if (count < 0)
            return nbi_fail(err, NB_ERR_INVALID, "device cuda: no GPU can be used here (CUDA: %s); render on the "
                            "CPU with -device cpu (device=cpu)", msg);
        if (count == 0)
            return nbi_fail(err, NB_ERR_INVALID, "device cuda: no CUDA GPU found; render on the CPU with -device cpu "
                            "(device=cpu)");
        if (index >= count)
            return nbi_fail(err, NB_ERR_INVALID, "device cuda:%d: this machine has %d CUDA GPU%s (cuda:0 to cuda:%d); "
                            "render on the CPU with -device cpu (device=cpu)", index, count, count == 1 ? "" : "s",
                            count - 1);
        return NB_OK;
    }
#else
    (void)index;
    return nbi_fail(err, NB_ERR_INVALID, "device cuda: this build of libnanobragg has no CUDA backend (build it with "
                    "-DNB_CUDA=ON where the CUDA toolkit is installed); render on the CPU with -device cpu (device=cpu)");
#endif
}

/* ---------------------------------------------------------------- packing */

/* The kernel's copy of the row kernel's loop fn: its NBG_* variant, whether
   in float, and the cube's N; 0 if it has none. */
static int map_loop(const nbi_row_loops *L, nbi_accumulate_fn fn, int *variant, int *single, int *N)
{
    const struct {
        nbi_accumulate_fn fn;
        int variant, single;
    } known[] = {{L->square_flat, NBG_FLAT, 0},     {L->single_flat, NBG_FLAT, 1},   {L->square_hkl, NBG_HKL, 0},
                 {L->single_hkl, NBG_HKL, 1},       {L->square_interp, NBG_INTERP, 0}, {L->single_interp, NBG_INTERP, 1},
                 {L->general, NBG_GENERAL, 0}};
    *N = 0;
    for (size_t i = 0; i < sizeof known / sizeof known[0]; ++i)
        if (fn == known[i].fn) {
            *variant = known[i].variant;
            *single = known[i].single;
            return 1;
        }
    for (int s = 0; s < 2; ++s)
        for (int n = 2; n <= 12; ++n)
            if (fn == L->cube[s][n]) {
                *variant = NBG_CUBE;
                *single = s;
                *N = n;
                return 1;
            }
    return 0;
}

void nbi_gpu_unpack(nbi_gpu_tables *owned)
{
    free(owned->src);
    free(owned->pass_d);
    free(owned->pass_f);
    memset(owned, 0, sizeof *owned);
}

nb_status nbi_gpu_pack(const nb_experiment *e, nbg_exp *x, nbi_gpu_tables *owned, nb_error *err)
{
    const nbi_detector *d = &e->det;
    const nbi_crystal *c = &e->xtal;
    const long ncells = (long)c->phisteps * c->domains, npasses = ncells * e->src.n;
    vec3 E0, B0;
    memset(x, 0, sizeof *x);
    memset(owned, 0, sizeof *owned);
    if (npasses > NBG_MAX_PASSES)
        return nbi_fail(err, NB_ERR_RANGE, "device: %ld orientations x %d sources is more than the GPU kernel's "
                        "tables hold (%ld); render on the CPU with -device cpu (device=cpu)", ncells, e->src.n,
                        NBG_MAX_PASSES);
    x->fpixels = d->fpixels, x->spixels = d->spixels;
    memcpy(x->roi, d->roi, sizeof x->roi);
    x->mask = d->mask;
    x->oversample = d->oversample, x->thicksteps = d->thicksteps, x->curved = d->curved;
    x->point_pixel = d->point_pixel;
    x->oversample_thick = d->oversample_thick, x->oversample_polar = d->oversample_polar;
    x->oversample_omega = d->oversample_omega;
    x->subpixel_m = d->subpixel_m, x->pixel_m = d->pixel_m, x->close_distance_m = d->close_distance_m;
    x->distance_m = d->distance_m, x->thick_m = d->thick_m, x->thickstep_m = d->thickstep_m, x->mu = d->mu;
    x->fdet = d->fdet, x->sdet = d->sdet, x->odet = d->odet, x->pix0 = d->pix0, x->beam_dir = e->beam.dir;
    x->nsrc = e->src.n;
    x->polarization = e->polarization, x->nopolar = e->nopolar, x->polar_vector = e->polar_vector;
    x->dmin_m = e->dmin_m, x->stol_max = e->dmin_m > 0.0 ? 0.5 / e->dmin_m : 0.0;
    x->water_m = e->water_m, x->I_bg = e->I_bg, x->scale = NB_R_E_SQR * e->fluence, x->steps = (double)e->steps;
    x->shape = (int)c->shape, x->Na = c->Na, x->Nb = c->Nb, x->Nc = c->Nc, x->fudge = c->fudge;
    x->astar = c->astar, x->bstar = c->bstar, x->cstar = c->cstar;
    x->ncells = (int)ncells, x->cells = c->cells;
    x->have_hkl = e->have_hkl, x->default_F = e->default_F;
    x->gd = nbi_hkl_grid(&e->hkl);
    x->gf = nbi_hkl_grid_single(&e->hkl);
    x->row_order = nbi_row_kernel_ok(e);
    for (int interp = 0; interp < 2; ++interp) {
        int N = 0;
        if (!map_loop(e->loops, nbi_row_choose_loop(e, interp), &x->variant[interp], &x->single[interp], &N))
            return nbi_fail(err, NB_ERR_INVALID, "device: the GPU kernel has no copy of the row kernel's loop for "
                            "this experiment; render on the CPU with -device cpu (device=cpu)");
        if (!N && (x->variant[interp] == NBG_HKL || x->variant[interp] == NBG_INTERP))
            N = nbi_cube_N(&e->xtal); /* their lattice factor, as the row kernel's */
        if (N)
            x->cube_N = N;
    }
    owned->src = malloc((size_t)(4 * e->src.n) * sizeof *owned->src);
    owned->pass_d = malloc((size_t)(npasses ? npasses : 1) * sizeof *owned->pass_d);
    owned->pass_f = malloc((size_t)(npasses ? npasses : 1) * sizeof *owned->pass_f);
    if (!owned->src || !owned->pass_d || !owned->pass_f) {
        nbi_gpu_unpack(owned);
        return nbi_fail(err, NB_ERR_NOMEM, "device: out of memory for the GPU kernel's tables (%ld passes)", npasses);
    }
    for (int s = 0; s < e->src.n; ++s) {
        owned->src[4 * s] = e->src.x[s];
        owned->src[4 * s + 1] = e->src.y[s];
        owned->src[4 * s + 2] = e->src.z[s];
        owned->src[4 * s + 3] = e->src.lambda_m[s];
    }
    nbi_polar_frame(v3(-e->src.x[0], -e->src.y[0], -e->src.z[0]), e->polar_vector, &E0, &B0);
    x->E0 = E0, x->B0 = B0;
    /* the row kernel's own passes, and their float copies as its float loops make them */
    for (long i = 0; i < npasses; ++i) {
        pass p;
        nbg_pass_d *pd = &owned->pass_d[i];
        nbg_pass_f *pf = &owned->pass_f[i];
        nbi_row_make_pass(e, c->cells + 9 * (i / e->src.n), (int)(i % e->src.n), &p);
        pd->H = p.H, pd->K = p.K, pd->L = p.L;
        pd->ix = p.ix, pd->iy = p.iy, pd->iz = p.iz, pd->il = p.inv_lambda;
        pf->H.x = (float)p.H.x, pf->H.y = (float)p.H.y, pf->H.z = (float)p.H.z, pf->H.off = (float)p.H.off;
        pf->K.x = (float)p.K.x, pf->K.y = (float)p.K.y, pf->K.z = (float)p.K.z, pf->K.off = (float)p.K.off;
        pf->L.x = (float)p.L.x, pf->L.y = (float)p.L.y, pf->L.z = (float)p.L.z, pf->L.off = (float)p.L.off;
        pf->ix = (float)p.ix, pf->iy = (float)p.iy, pf->iz = (float)p.iz, pf->il = (float)p.inv_lambda;
    }
    x->src = owned->src;
    x->npasses = (int)npasses;
    x->pass_d = owned->pass_d;
    x->pass_f = owned->pass_f;
    return NB_OK;
}

/* nbg_row_pixel with its loop a constant (as each CUDA kernel has it). */
static void row_pixel(const nbg_exp *x, int f, int s, int v, int single, int N, nbg_result *out)
{
    switch (v * 2 + (single != 0)) {
    case NBG_FLAT * 2: nbg_row_pixel(x, f, s, NBG_FLAT, 0, N, out); break;
    case NBG_FLAT * 2 + 1: nbg_row_pixel(x, f, s, NBG_FLAT, 1, N, out); break;
    case NBG_CUBE * 2: nbg_row_pixel(x, f, s, NBG_CUBE, 0, N, out); break;
    case NBG_CUBE * 2 + 1: nbg_row_pixel(x, f, s, NBG_CUBE, 1, N, out); break;
    case NBG_HKL * 2: nbg_row_pixel(x, f, s, NBG_HKL, 0, N, out); break;
    case NBG_HKL * 2 + 1: nbg_row_pixel(x, f, s, NBG_HKL, 1, N, out); break;
    case NBG_INTERP * 2: nbg_row_pixel(x, f, s, NBG_INTERP, 0, N, out); break;
    case NBG_INTERP * 2 + 1: nbg_row_pixel(x, f, s, NBG_INTERP, 1, N, out); break;
    default: nbg_row_pixel(x, f, s, NBG_GENERAL, 0, N, out); break;
    }
}

/* nbg_pixel (gpu_pixel.h), the row kernel's loop a constant. */
void nbi_gpu_host_pixel(const nbg_exp *x, int f, int s, int interp, nbg_result *out)
{
    const int v = x->variant[interp != 0];
    out->flags = 0;
    if (!nbg_rendered(x, f, s))
        return;
    if (!x->row_order) {
        nbg_reference_pixel(x, f, s, interp, out);
        return;
    }
    row_pixel(x, f, s, v, x->single[interp != 0], nbg_loop_N(x, v, interp), out);
    if (out->flags & NBG_EXACT) {
        const double omega = out->omega;
        nbg_reference_pixel(x, f, s, interp, out);
        out->omega = omega;
    }
}

/* ---------------------------------------------------------------- the context */

/* Whether e and like share what stays on the device across a series:
   structure factors, sources and mask. */
static int same_resident(const nb_experiment *e, const nb_experiment *like)
{
    const size_t npix = (size_t)e->det.fpixels * (size_t)e->det.spixels;
    if (!like || !like->gpu || like->gpu->kind != NBI_DEVICE_CUDA || e->sf != like->sf || e->src.n != like->src.n)
        return 0;
    if (like->det.fpixels != e->det.fpixels || like->det.spixels != e->det.spixels || !e->det.mask != !like->det.mask)
        return 0;
    if (e->det.mask && memcmp(e->det.mask, like->det.mask, npix * sizeof *e->det.mask) != 0)
        return 0;
    return memcmp(e->src.x, like->src.x, (size_t)e->src.n * sizeof(double)) == 0
           && memcmp(e->src.y, like->src.y, (size_t)e->src.n * sizeof(double)) == 0
           && memcmp(e->src.z, like->src.z, (size_t)e->src.n * sizeof(double)) == 0
           && memcmp(e->src.lambda_m, like->src.lambda_m, (size_t)e->src.n * sizeof(double)) == 0;
}

nb_status nbi_gpu_attach(nb_experiment *e, int kind, int index, const nb_experiment *like, nb_error *err)
{
    nbi_gpu *g;
    nb_status st;
    if (kind == NBI_DEVICE_CPU)
        return NB_OK;
    if ((st = nbi_gpu_check(kind, index, err)) != NB_OK)
        return st;
    g = calloc(1, sizeof *g);
    if (!g || pthread_mutex_init(&g->lock, NULL) != 0) {
        free(g);
        return nbi_fail(err, NB_ERR_NOMEM, "device: out of memory");
    }
    g->kind = kind, g->index = index, g->e = e;
    e->gpu = g;
    if ((st = nbi_gpu_pack(e, &g->x, &g->owned, err)) != NB_OK)
        return st;
    if (kind == NBI_DEVICE_EMULATE) {
        snprintf(g->name, sizeof g->name, "emulate (the GPU kernel on the CPU)");
        return NB_OK;
    }
#ifdef NB_HAVE_CUDA
    {
        char msg[256] = "";
        int nomem = 0;
        if (nbi_cuda_create(index, &g->x, same_resident(e, like) ? like->gpu->cuda : NULL, &g->cuda, &nomem, msg,
                            sizeof msg)
            != 0)
            return nbi_fail(err, nomem ? NB_ERR_NOMEM : NB_ERR_INVALID, "device cuda:%d: %s", index, msg);
        snprintf(g->name, sizeof g->name, "%s", nbi_cuda_name(g->cuda));
    }
#else
    (void)like;
    (void)same_resident;
#endif
    return NB_OK;
}

void nbi_gpu_free(nbi_gpu *g)
{
    if (!g)
        return;
#ifdef NB_HAVE_CUDA
    nbi_cuda_free(g->cuda);
#endif
    nbi_gpu_unpack(&g->owned);
    pthread_mutex_destroy(&g->lock);
    free(g);
}

const char *nbi_gpu_name(const nbi_gpu *g) { return g ? g->name : "cpu"; }

const char *nbi_gpu_error(const nb_experiment *e)
{
    const char *msg = NULL;
    if (!e->gpu)
        return NULL;
    pthread_mutex_lock(&e->gpu->lock);
    msg = e->gpu->error[0] ? e->gpu->error : NULL;
    pthread_mutex_unlock(&e->gpu->lock);
    return msg;
}

/* ---------------------------------------------------------------- renders */

/* The runs from first on that make one batch: *end, *pixels. */
static void batch(const nb_experiment *e, const nbi_run *runs, size_t n, size_t first, size_t *end, long *pixels)
{
    const double per_pixel = (double)e->steps * e->det.thicksteps;
    double limit = NBG_BATCH_SAMPLES / (per_pixel > 1 ? per_pixel : 1);
    size_t r = first;
    long p = 0;
    if (limit < NBG_BATCH_MIN_PIXELS)
        limit = NBG_BATCH_MIN_PIXELS;
    if (limit > INT_MAX / 2)
        limit = INT_MAX / 2;
    do {
        p += runs[r].f_end - runs[r].f_begin;
        ++r;
    } while (r < n && p + (runs[r].f_end - runs[r].f_begin) <= limit);
    *end = r;
    *pixels = p;
}

/* Emulation: the runs first <= r < end on the CPU threads. */
static void emulate(const nb_experiment *e, const nbi_run *runs, size_t first, size_t end, float *data,
                    uint8_t *flags, double *omega)
{
    const nbg_exp *x = &e->gpu->x;
    const long n = (long)(end - first);
    int threads = e->threads;
    (void)threads;
#ifdef NB_HAVE_OPENMP
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads > 0 ? threads : omp_get_max_threads())
#endif
    for (long i = 0; i < n; ++i) {
        const nbi_run *r = &runs[first + (size_t)i];
        double om = 0.0;
        for (int f = r->f_begin; f < r->f_end; ++f) {
            nbg_result px;
            const size_t k = r->out + (size_t)(f - r->f_begin);
            nbi_gpu_host_pixel(x, f, r->s, r->interp, &px);
            if (!(px.flags & NBG_RENDERED))
                continue;
            data[k] = (float)px.value;
            if (flags)
                flags[k] = (uint8_t)(px.flags & (NBG_SWEPT | NBG_INTERP_OFF));
            om += px.omega;
        }
        if (omega)
            omega[first + (size_t)i] = om;
    }
}

#ifdef NB_HAVE_CUDA
/* CUDA: the runs first <= r < end (pixels of them) on the device. */
static nb_status on_device(const nb_experiment *e, const nbi_run *runs, size_t first, size_t end, long pixels,
                           float *data, uint8_t *flags, double *omega)
{
    nbi_gpu *g = e->gpu;
    const size_t n = end - first;
    nbg_run *dr = malloc(n * sizeof *dr);
    float *value = malloc((size_t)pixels * sizeof *value);
    uint8_t *fl = malloc((size_t)pixels);
    double *om = malloc(n * sizeof *om);
    char msg[256];
    long at = 0;
    int rc = -1;
    if (dr && value && fl && om) {
        for (size_t i = 0; i < n; ++i) {
            const nbi_run *r = &runs[first + i];
            dr[i] = (nbg_run){r->s, r->f_begin, r->f_end, r->interp, at};
            at += r->f_end - r->f_begin;
        }
        pthread_mutex_lock(&g->lock);
        rc = nbi_cuda_render(g->cuda, dr, n, pixels, value, fl, om, msg, sizeof msg);
        snprintf(g->error, sizeof g->error, "%s", rc == 0 ? "" : msg);
        pthread_mutex_unlock(&g->lock);
    }
    if (rc == 0)
        for (size_t i = 0; i < n; ++i) {
            const nbi_run *r = &runs[first + i];
            for (int f = r->f_begin; f < r->f_end; ++f) {
                const long j = dr[i].first + (f - r->f_begin);
                const size_t k = r->out + (size_t)(f - r->f_begin);
                if (!(fl[j] & NBG_RENDERED))
                    continue;
                data[k] = value[j];
                if (flags)
                    flags[k] = (uint8_t)(fl[j] & (NBG_SWEPT | NBG_INTERP_OFF));
            }
            if (omega)
                omega[first + i] = om[i];
        }
    free(dr);
    free(value);
    free(fl);
    free(om);
    return rc == 0 ? NB_OK : NB_ERR_NOMEM;
}
#endif

nb_status nbi_gpu_render_runs(const nb_experiment *e, const nbi_run *runs, size_t n, float *data, uint8_t *flags,
                              double *omega, nbi_progress *progress)
{
    size_t first = 0;
    while (first < n) {
        size_t end;
        long pixels;
        nb_status st = NB_OK;
        if (nbi_progress_cancelled(progress))
            return NB_ERR_CANCELLED;
        batch(e, runs, n, first, &end, &pixels);
        if (e->gpu->kind == NBI_DEVICE_EMULATE)
            emulate(e, runs, first, end, data, flags, omega);
#ifdef NB_HAVE_CUDA
        else
            st = on_device(e, runs, first, end, pixels, data, flags, omega);
#endif
        if (st != NB_OK)
            return st;
        nbi_progress_add(progress, pixels);
        first = end;
    }
    return nbi_progress_cancelled(progress) ? NB_ERR_CANCELLED : NB_OK;
}
