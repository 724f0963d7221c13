/*
 * gpu.h - the GPU backend behind the renders: an experiment whose device
 * parameter is cuda (or emulate) gets a context at set-up, which holds the
 * experiment packed for the GPU kernel (gpu_pixel.h) and, for CUDA, its
 * arrays on the device; nbi_render_runs (render.c) then hands its runs of
 * pixels here.  Everything else (nanoBragg's serial-order corrections, the
 * scaling, statistics, noise and files) stays on the CPU as it is.
 *
 *   cpu       no context: the CPU kernels
 *   cuda[:N]  CUDA device N (cuda/backend.cu); a build without CUDA, or a
 *             machine without a GPU, refuses it at set-up (NB_ERR_INVALID)
 *   emulate   the GPU kernel's code compiled for the host, run on the CPU
 *             threads: the GPU path tested where there is no GPU
 */
#ifndef NB_GPU_H
#define NB_GPU_H

#include <stddef.h>
#include <stdint.h>

#include "experiment.h"
#include "gpu_pixel.h"
#include "render.h"

/* The device parameter (config.h: nb_config.device). */
enum { NBI_DEVICE_CPU = 0, NBI_DEVICE_CUDA = 1, NBI_DEVICE_EMULATE = 2 };

/* Parse a device name: "cpu", "cuda", "cuda:N" (0 <= N < 1024) or
   "emulate" into *kind and *index; 0 if it is none of them. */
int nbi_device_parse(const char *text, int *kind, int *index);

/* Whether the configuration's device can be used here: NB_OK, or
   NB_ERR_INVALID with a message naming -device (no CUDA in this build, no
   GPU, no GPU N). */
NB_WARN_UNUSED nb_status nbi_gpu_check(int kind, int index, nb_error *err);

/* Give the experiment (set up but for this) its context for device kind,
   index (NBI_DEVICE_CUDA or _EMULATE): packed, uploaded.  like (may be
   NULL): an experiment of the same series, whose structure factors,
   sources and mask stay on the device and are shared when they are the
   same.  NB_ERR_NOMEM, NB_ERR_RANGE (too many passes), NB_ERR_INVALID (a
   CUDA error), each with a message. */
NB_WARN_UNUSED nb_status nbi_gpu_attach(nb_experiment *e, int kind, int index, const nb_experiment *like,
                                        nb_error *err);
void nbi_gpu_free(nbi_gpu *g);

/* The device in words ("cuda:0 (NVIDIA H200)", "emulate"). */
const char *nbi_gpu_name(const nbi_gpu *g);

/* nbi_render_runs for an experiment with a context (same contract); a
   device failure is NB_ERR_NOMEM, and nbi_gpu_error then says what failed. */
NB_WARN_UNUSED nb_status nbi_gpu_render_runs(const nb_experiment *e, const nbi_run *runs, size_t n, float *data,
                                             uint8_t *flags, double *omega, nbi_progress *progress);

/* What failed in the experiment's last device render (a CUDA error), or
   NULL (none, or no device). */
const char *nbi_gpu_error(const nb_experiment *e);

/* The experiment packed for the GPU kernel, its arrays on the host (the
   experiment's own, and the source and pass tables in *owned, which the
   caller frees with nbi_gpu_unpack). */
typedef struct nbi_gpu_tables {
    double *src;
    nbg_pass_d *pass_d;
    nbg_pass_f *pass_f;
} nbi_gpu_tables;
NB_WARN_UNUSED nb_status nbi_gpu_pack(const nb_experiment *e, nbg_exp *x, nbi_gpu_tables *owned, nb_error *err);
void nbi_gpu_unpack(nbi_gpu_tables *owned);

/* Render pixel (f, s) with the packed experiment on the host (the GPU
   kernel's code), interpolation interp at its start. */
void nbi_gpu_host_pixel(const nbg_exp *x, int f, int s, int interp, nbg_result *out);

#endif
