/*
 * simulate.c - a small diffraction image through libnanobragg's public API:
 * a 10 x 10 x 10-cell cubic crystal (a = 50 Angstrom, every structure factor
 * 100 electrons), 1 Angstrom X-rays, a 128 x 128-pixel detector 50 mm away.
 * Prints the library's version and the image's maximum and mean (photons).
 *
 *   cc simulate.c $(pkg-config --cflags --libs nanobragg) -o simulate
 */
#include <stdio.h>

#include <nanobragg.h>

#define RAD_PER_DEG (3.14159265358979323846 / 180.0)

int main(void)
{
    /* 1. The configuration: nanoBragg's defaults, then this experiment (SI units). */
    nb_config cfg;
    nb_config_init(&cfg);
    cfg.fdump_path = NULL; /* no structure-factor cache file */
    cfg.default_F = 100.0; /* no HKL file: every reflection has F = 100 */
    cfg.user_cell = 1;
    for (int i = 0; i < 3; i++) {
        cfg.cell_A[i] = 50.0;          /* Angstrom */
        cfg.cell_rad[i] = 90.0 * RAD_PER_DEG;
    }
    cfg.Na = cfg.Nb = cfg.Nc = 10.0;   /* unit cells along a, b, c */
    cfg.lambda0_m = 1.0e-10;
    cfg.distance_m = 50.0e-3;
    cfg.fpixels = cfg.spixels = 128;

    /* 2. The experiment: geometry, beam and crystal, resolved once. */
    nb_error err;
    nb_experiment *exp = NULL;
    nb_status st = nb_experiment_create(&cfg, NULL, &exp, &err);
    if (st != NB_OK) {
        fprintf(stderr, "simulate: %s: %s\n", nb_strerror(st), err.msg);
        return 1;
    }

    /* 3. The image: fpixels x spixels floats, with its statistics. */
    nb_image img;
    st = nb_simulate(exp, NULL, &img, &err);
    if (st != NB_OK) {
        fprintf(stderr, "simulate: %s: %s\n", nb_strerror(st), err.msg);
        nb_experiment_free(exp);
        return 1;
    }
    printf("libnanobragg %s: %d x %d pixels\n", nb_version(), img.fpixels, img.spixels);
    printf("max %g photons\n", img.max_I);
    printf("mean %g photons\n", img.mean);

    nb_image_free(&img);
    nb_experiment_free(exp);
    return 0;
}
