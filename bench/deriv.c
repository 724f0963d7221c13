/*
 * deriv.c - the cost of derivatives against the forward simulation
 * (nanobragg-bench-deriv; docs/performance.md): for workloads of
 * bench/workloads.txt, in one process, side by side and alternating,
 *
 *   forward    nb_experiment_create + nb_simulate (the image)
 *   gradient   nb_loss_gradient: a least-squares loss against the image and
 *              its gradient with respect to every crystal, beam and detector
 *              parameter the workload can move (about 20)
 *   jacobian   nb_jacobian of the 9 crystal parameters (3 rotations, 6 cell
 *              values) on a 10% pixel subset (every tenth pixel)
 *
 * and reports each median wall time and the ratios to the forward one.
 *
 *   nanobragg-bench-deriv [--runs N] [--only NAME] [--workloads FILE]
 *                         [--threads T]
 *
 * Default: W1_sources and W2_mosaic, 3 runs, the machine's threads.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "options.h"

#define MAX_ARGS 128
#define MAX_RUNS 50

static double now(void)
{
    struct timespec t;
    clock_gettime(getenv("NB_BENCH_CPU") ? CLOCK_PROCESS_CPUTIME_ID : CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static void fail(const char *what, const nb_error *err)
{
    fprintf(stderr, "nanobragg-bench-deriv: %s: %s\n", what, err ? err->msg : "");
    exit(1);
}

/* The workload's configuration from its nanoBragg flags. */
static nb_config *configure(char *line, int threads)
{
    char *argv[MAX_ARGS];
    int argc = 0;
    app_options o;
    nb_config *cfg;
    nb_error err = {0};
    argv[argc++] = "nanobragg";
    for (char *t = strtok(line, " \t\n"); t && argc < MAX_ARGS - 1; t = strtok(NULL, " \t\n"))
        if (strcmp(t, "+outputs") != 0) /* the bench's word for writing every output */
            argv[argc++] = t;
    argv[argc] = NULL;
    if (app_options_init(&o) != 0 || app_parse_flags(&o, argc, argv) != 0)
        fail("flags", NULL);
    cfg = nb_config_copy(o.cfg);
    app_options_free(&o);
    if (!cfg)
        fail("out of memory", NULL);
    if (nb_param_unset(cfg, "fdump_path", &err) != NB_OK) /* no structure-factor cache written */
        fail("fdump_path", &err);
    if (threads > 0 && nb_param_set(cfg, "threads", threads, &err) != NB_OK)
        fail("threads", &err);
    return cfg;
}

static void run(const char *name, char *line, int runs, int threads)
{
    static const char *const crystal[] = {"crystal_rotx_deg", "crystal_roty_deg", "crystal_rotz_deg", "cell_a_A",
                                          "cell_b_A",         "cell_c_A",         "cell_alpha_deg",   "cell_beta_deg",
                                          "cell_gamma_deg"};
    static const char *const others[] = {"Na",        "Nb",           "Nc",       "lambda_A",          "fluence",
                                         "distance_mm", "Xbeam_mm",   "Ybeam_mm", "detector_rotx_deg",
                                         "detector_roty_deg", "detector_rotz_deg", "twotheta_deg", "mosaic_spread_deg"};
    const char *all[32];
    nb_config *cfg = configure(line, threads);
    nb_log quiet = {0};
    nb_error err = {0};
    nb_experiment *e;
    nb_image img;
    double tf[MAX_RUNS], tg[MAX_RUNS], tj[MAX_RUNS], spread = 0.0;
    int nall = 0, npix;
    float *obs;
    size_t *idx, nidx = 0;
    double *grad, *J, *jimg, L;
    nb_observed o;

    for (int i = 0; i < 9; ++i)
        all[nall++] = crystal[i];
    if (nb_param_get(cfg, "mosaic_spread_deg", &spread, &err) != NB_OK)
        spread = 0.0;
    for (int i = 0; i < 13; ++i)
        if (strcmp(others[i], "mosaic_spread_deg") != 0 || spread > 0.0)
            all[nall++] = others[i];
    if (nb_experiment_create(cfg, &quiet, &e, &err) != NB_OK || nb_simulate(e, &quiet, &img, &err) != NB_OK)
        fail(name, &err);
    npix = img.fpixels * img.spixels;
    obs = malloc((size_t)npix * sizeof *obs);
    idx = malloc((size_t)npix * sizeof *idx);
    grad = malloc((size_t)nall * sizeof *grad);
    J = malloc((size_t)9 * (size_t)(npix / 10 + 1) * sizeof *J);
    jimg = malloc((size_t)(npix / 10 + 1) * sizeof *jimg);
    if (!obs || !idx || !grad || !J || !jimg)
        fail("out of memory", NULL);
    /* an observation: the image, scaled */
    for (int i = 0; i < npix; ++i)
        obs[i] = 1.1f * img.data[i];
    for (int i = 0; i < npix; i += 10)
        idx[nidx++] = (size_t)i;
    nb_image_free(&img);
    nb_experiment_free(e);
    o = (nb_observed){obs, NULL, NULL, NB_LOSS_LSQ};
    for (int r = 0; r < runs; ++r) {
        double t0 = now();
        if (nb_experiment_create(cfg, &quiet, &e, &err) != NB_OK || nb_simulate(e, &quiet, &img, &err) != NB_OK)
            fail(name, &err);
        nb_image_free(&img);
        nb_experiment_free(e);
        tf[r] = now() - t0;
        t0 = now();
        if (nb_loss_gradient(cfg, &o, all, nall, &L, grad, NULL, NULL, NULL, &err) != NB_OK)
            fail(name, &err);
        tg[r] = now() - t0;
        t0 = now();
        if (nb_jacobian(cfg, crystal, 9, idx, nidx, jimg, J, NULL, &err) != NB_OK)
            fail(name, &err);
        tj[r] = now() - t0;
    }
    {
        const double f = median(tf, runs), g = median(tg, runs), j = median(tj, runs);
        printf("%-11s forward %8.3f s   gradient (%2d parameters) %8.3f s = %5.2f x   jacobian (9, 10%% of %d "
               "pixels) %8.3f s = %5.2f x\n",
               name, f, nall, g, g / f, npix, j, j / f);
        fflush(stdout);
    }
    free(obs), free(idx), free(grad), free(J), free(jimg);
    nb_config_free(cfg);
}

int main(int argc, char **argv)
{
    const char *path = "bench/workloads.txt", *only = NULL;
    int runs = 3, threads = 0;
    char text[4096];
    FILE *f;
    for (int i = 1; i < argc; ++i) {
        if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
            runs = atoi(argv[++i]);
        else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc)
            only = argv[++i];
        else if (strcmp(argv[i], "--workloads") == 0 && i + 1 < argc)
            path = argv[++i];
        else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
            threads = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: nanobragg-bench-deriv [--runs N] [--only NAME] [--workloads FILE] "
                            "[--threads T]\n");
            return 2;
        }
    }
    if (runs < 1 || runs > MAX_RUNS) {
        fprintf(stderr, "nanobragg-bench-deriv: --runs %d: expected 1 to %d\n", runs, MAX_RUNS);
        return 2;
    }
    if (!(f = fopen(path, "r"))) {
        fprintf(stderr, "nanobragg-bench-deriv: cannot read %s\n", path);
        return 1;
    }
    while (fgets(text, sizeof text, f)) {
        char name[64];
        int at = 0;
        if (text[0] == '#' || sscanf(text, "%63s %n", name, &at) != 1)
            continue;
        if (only ? strcmp(name, only) != 0 : strcmp(name, "W1_sources") != 0 && strcmp(name, "W2_mosaic") != 0)
            continue;
        run(name, text + at, runs, threads);
    }
    fclose(f);
    return 0;
}
