/*
 * gpu.c - the GPU's throughput (nanobragg-bench-gpu; docs/performance.md,
 * docs/gpu.md): workloads rendered in one process on a device, the set-up
 * (experiment, upload to the GPU) done once and left out of the times, then
 * a render to warm up and N timed renders (nb_simulate: the kernel, the
 * copies back, nanoBragg's serial-order corrections and the statistics on
 * the CPU); the median and the samples per second (rendered pixels x
 * samples per pixel: sub-pixels x sources x mosaic domains x phi steps x
 * layers).
 *
 *   nanobragg-bench-gpu [--device D] [--precision double|single] [--runs N]
 *                       [--workloads FILE] [--only NAME] [--large]
 *
 * Default: -device cuda, double, 5 runs, W1_sources and W2_mosaic of
 * bench/workloads.txt.  --large adds the published comparison's detector:
 * 4096 x 4096 pixels, 1000 mosaic domains, single precision.  One line per
 * workload:  name device precision median_s samples samples_per_s.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "options.h"

#define MAX_ARGS 128
#define MAX_RUNS 50

/* The 4096 x 4096 detector with 1000 mosaic domains (single precision). */
static const char LARGE[] = "-cell 79 79 38 90 90 90 -default_F 100 -N 10 -lambda 1 -distance 200 -detpixels 4096 "
                            "-pixel 0.05 -mosaic 0.5 -mosaic_dom 1000 -mosaic_seed 7 -oversample 1";

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void fail(const char *what, const char *msg)
{
    fprintf(stderr, "nanobragg-bench-gpu: %s: %s\n", what, msg);
    exit(1);
}

/* The workload's experiment on device, in precision. */
static nb_experiment *setup(const char *name, const char *flags, const char *device, const char *precision)
{
    char line[2300], *argv[MAX_ARGS];
    int argc = 0;
    app_options o;
    nb_experiment *e = NULL;
    nb_log quiet = {0};
    nb_error err = {{0}};
    snprintf(line, sizeof line, "%s", flags);
    argv[argc++] = "nanobragg";
    for (char *t = strtok(line, " \t\n"); t && argc < MAX_ARGS - 1; t = strtok(NULL, " \t\n"))
        if (strcmp(t, "+outputs") != 0) /* the bench's word for writing every output */
            argv[argc++] = t;
    argv[argc] = NULL;
    if (app_options_init(&o) != 0 || app_parse_flags(&o, argc, argv) != 0)
        fail(name, "flags");
    if (nb_param_unset(o.cfg, "fdump_path", &err) != NB_OK || nb_param_set_string(o.cfg, "device", device, &err) != NB_OK
        || nb_param_set_string(o.cfg, "precision", precision, &err) != NB_OK
        || nb_experiment_create(o.cfg, &quiet, &e, &err) != NB_OK)
        fail(name, err.msg);
    app_options_free(&o);
    return e;
}

/* Rendered pixels of the experiment's ROI (the mask aside). */
static double rendered_pixels(const nb_info *in)
{
    const int f1 = in->roi[1] < in->fpixels ? in->roi[1] : in->fpixels - 1;
    const int s1 = in->roi[3] < in->spixels ? in->roi[3] : in->spixels - 1;
    return (double)(f1 - in->roi[0] + 1) * (double)(s1 - in->roi[2] + 1);
}

static void run(const char *name, const char *flags, const char *device, const char *precision, int runs)
{
    nb_experiment *e = setup(name, flags, device, precision);
    const nb_info *in = nb_experiment_info(e);
    const double samples = rendered_pixels(in) * (double)in->samples_per_pixel;
    nb_log quiet = {0};
    nb_error err = {{0}};
    double t[MAX_RUNS], med;
    for (int r = -1; r < runs; ++r) { /* r = -1: the warm-up */
        nb_image img;
        const double t0 = now();
        if (nb_simulate(e, &quiet, &img, &err) != NB_OK)
            fail(name, err.msg);
        if (r >= 0)
            t[r] = now() - t0;
        nb_image_free(&img);
    }
    qsort(t, (size_t)runs, sizeof *t, cmp_double);
    med = runs % 2 ? t[runs / 2] : 0.5 * (t[runs / 2 - 1] + t[runs / 2]);
    printf("%-12s %-8s %-6s %10.4f %14.6g %14.6g  (%s)\n", name, device, in->precision_used == NB_PRECISION_SINGLE ? "single" : "double",
           med, samples, samples / med, in->device);
    fflush(stdout);
    nb_experiment_free(e);
}

int main(int argc, char **argv)
{
    const char *device = "cuda", *precision = "double", *wfile = "bench/workloads.txt", *only = NULL;
    int runs = 5, large = 0;
    char line[2300];
    FILE *f;
    for (int i = 1; i < argc; ++i) {
        if (!strcmp(argv[i], "--device") && i + 1 < argc) device = argv[++i];
        else if (!strcmp(argv[i], "--precision") && i + 1 < argc) precision = argv[++i];
        else if (!strcmp(argv[i], "--runs") && i + 1 < argc) runs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--workloads") && i + 1 < argc) wfile = argv[++i];
        else if (!strcmp(argv[i], "--only") && i + 1 < argc) only = argv[++i];
        else if (!strcmp(argv[i], "--large")) large = 1;
        else {
            fprintf(stderr, "usage: nanobragg-bench-gpu [--device D] [--precision double|single] [--runs N] "
                            "[--workloads FILE] [--only NAME] [--large]\n");
            return 2;
        }
    }
    if (runs < 1 || runs > MAX_RUNS)
        fail("--runs", "1 to 50");
    if (!(f = fopen(wfile, "r")))
        fail(wfile, "cannot read the workloads");
    printf("%-12s %-8s %-6s %10s %14s %14s\n", "workload", "device", "prec", "median_s", "samples", "samples/s");
    while (fgets(line, sizeof line, f)) {
        char *p = line + strspn(line, " \t"), name[64];
        size_t len = strcspn(p, " \t");
        if (*p == '#' || *p == '\n' || len >= sizeof name)
            continue;
        memcpy(name, p, len);
        name[len] = '\0';
        if (only ? strcmp(only, name) != 0 : strcmp(name, "W1_sources") != 0 && strcmp(name, "W2_mosaic") != 0)
            continue;
        run(name, p + len, device, precision, runs);
    }
    fclose(f);
    if (large)
        run("large_4096", LARGE, device, "single", runs);
    return 0;
}
