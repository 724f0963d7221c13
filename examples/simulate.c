/*
 * simulate.c - a small diffraction image entirely through libnanobragg's
 * public API, with no file read or written: parameters set by name, the
 * structure factors and the crystal's orientation given as arrays.
 * A 10 x 10 x 10-cell cubic crystal (a = 50 Angstrom) with scrambled
 * structure factors out to index 8, turned 30 degrees about z, 1 Angstrom
 * X-rays, a 128 x 128-pixel detector 50 mm away.  Prints the library's
 * version and the image's maximum and mean (photons).
 *
 *   cc simulate.c $(pkg-config --cflags --libs nanobragg) -o simulate
 */
#include <stdio.h>
#include <stdlib.h>

#include <nanobragg.h>

#define R 8 /* Miller indices -R..R */
#define NREFL ((2 * R + 1) * (2 * R + 1) * (2 * R + 1))

static int fail(const char *what, nb_status st, const nb_error *err)
{
    fprintf(stderr, "simulate: %s: %s: %s\n", what, nb_strerror(st), err->msg);
    return 1;
}

int main(void)
{
    static int h[NREFL], k[NREFL], l[NREFL];
    static double F[NREFL];
    const double cell[6] = {50, 50, 50, 90, 90, 90}; /* Angstrom, degrees */
    const double c = 0.86602540378443865, s = 0.5;    /* cos, sin 30 deg */
    const double U[9] = {c, -s, 0, s, c, 0, 0, 0, 1}; /* orientation: 30 deg about z */
    nb_config *cfg = nb_config_new();
    nb_sf *sf = NULL;
    nb_experiment *exp = NULL;
    nb_image img;
    nb_error err;
    nb_status st;
    int n = 0;

    /* 1. Structure factors as a list (h, k, l, F); shared, never copied. */
    for (int a = -R; a <= R; ++a)
        for (int b = -R; b <= R; ++b)
            for (int d = -R; d <= R; ++d, ++n) {
                h[n] = a, k[n] = b, l[n] = d;
                F[n] = 10.0 + (double)((unsigned)(a * 7919 + b * 104729 + d * 1299709) % 97u);
            }
    if (!cfg)
        return 1;
    if ((st = nb_sf_from_list(h, k, l, F, NREFL, 0.0, &sf, &err)) != NB_OK)
        return fail("structure factors", st, &err);

    /* 2. The configuration, parameters by name (units in the names). */
    if ((st = nb_config_set_sf(cfg, sf, &err)) != NB_OK
        || (st = nb_param_set_array(cfg, "cell", cell, 6, &err)) != NB_OK
        || (st = nb_param_set_array(cfg, "umatrix", U, 9, &err)) != NB_OK
        || (st = nb_param_set(cfg, "N", 10, &err)) != NB_OK
        || (st = nb_param_set(cfg, "lambda_A", 1.0, &err)) != NB_OK
        || (st = nb_param_set(cfg, "distance_mm", 50.0, &err)) != NB_OK
        || (st = nb_param_set(cfg, "detpixels", 128, &err)) != NB_OK)
        return fail("configuration", st, &err);
    nb_sf_free(sf); /* the configuration holds its own reference */

    /* 3. The experiment: geometry, beam and crystal, resolved once. */
    if ((st = nb_experiment_create(cfg, NULL, &exp, &err)) != NB_OK)
        return fail("experiment", st, &err);

    /* 4. The image: fpixels x spixels floats, with its statistics. */
    if ((st = nb_simulate(exp, NULL, &img, &err)) != NB_OK)
        return fail("simulate", st, &err);
    printf("libnanobragg %s: %d x %d pixels\n", nb_version(), img.fpixels, img.spixels);
    printf("max %g photons\n", img.max_I);
    printf("mean %g photons\n", img.mean);

    nb_image_free(&img);
    nb_experiment_free(exp);
    nb_config_free(cfg);
    return 0;
}
