/*
 * srcgen.c - micro-benchmark of in-process source generation: the 25 x 25
 * divergence grid (0.5 mrad, elliptically trimmed) x 9 wavelengths (2%
 * dispersion) of workload W1, which must give nanoBragg's 4,473 sources.
 * Prints "srcgen sources=<n> median_us=<median>" over many repetitions.
 *
 *   nanobragg-srcgen [REPEATS]
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "beam.h"

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec * 1e-3;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* One generation from scratch: the sources of the resolved beam (the sweeps
   resolved and the trimmed grid points counted first, untimed). */
static int generate(const nb_config *cfg, double *us)
{
    nbi_beam beam;
    nbi_sources src = {0};
    nb_error err;
    nb_status st;
    double t0;
    int n;
    /* MOSFLM: beam along x, polarization along z */
    st = nbi_beam_resolve(cfg, v3(1.0, 0.0, 0.0), &beam, &err);
    t0 = now_us();
    if (st == NB_OK)
        st = nbi_beam_sources(cfg, &beam, v3(0.0, 0.0, 1.0), NULL, &src, &err);
    *us = now_us() - t0;
    n = src.n;
    nbi_sources_free(&src);
    if (st != NB_OK) {
        fprintf(stderr, "nanobragg-srcgen: %s\n", err.msg);
        return -1;
    }
    return n;
}

int main(int argc, char **argv)
{
    int repeats = argc > 1 ? atoi(argv[1]) : 201, n = 0;
    double *t;
    nb_config cfg;
    if (repeats < 1 || repeats > 1000000) {
        fprintf(stderr, "usage: nanobragg-srcgen [REPEATS]\n");
        return 2;
    }
    t = malloc((size_t)repeats * sizeof *t);
    if (!t)
        return 1;
    nbi_config_init(&cfg);
    cfg.lambda0_m = 1e-10;
    cfg.hdivrange_rad = cfg.vdivrange_rad = 0.5e-3;
    cfg.hdivsteps = cfg.vdivsteps = 25;
    cfg.dispersion = 0.02;
    cfg.dispsteps = 9;
    for (int i = 0; i < repeats; ++i)
        if ((n = generate(&cfg, &t[i])) < 0)
            return 1;
    qsort(t, (size_t)repeats, sizeof *t, cmp);
    printf("srcgen sources=%d median_us=%.2f\n", n, t[repeats / 2]);
    free(t);
    return n == 4473 ? 0 : 1;
}
