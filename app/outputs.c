/*
 * outputs.c - statistics lines and the output files (float, SMV, PGM,
 * noise), each written whole or not at all.
 */
#include <stdio.h>
#include <stdlib.h>

#include "app.h"

static int report_error(const nb_error *err)
{
    fprintf(stderr, "nanobragg: error: %s\n", err->msg);
    return 1;
}

static int write_counts(const char *path, const nb_experiment *exp, const uint16_t *counts)
{
    nb_smv_info info;
    nb_error err;
    nb_experiment_smv_info(exp, &info);
    printf("writing %s as %zu-byte integers\n", path, sizeof(uint16_t));
    if (nb_write_smv(path, &info, counts, &err) != NB_OK)
        return report_error(&err);
    return 0;
}

static int write_pgm(app_options *o, const nb_experiment *exp, const nb_image *img, double int_scale)
{
    size_t n = (size_t)img->fpixels * (size_t)img->spixels;
    uint8_t *bytes = malloc(n);
    nb_error err;
    int rc = 0;
    if (!bytes) {
        fprintf(stderr, "nanobragg: error: out of memory for the PGM image\n");
        return 1;
    }
    nb_image_to_pgm(exp, img, &o->pgm_scale, int_scale, bytes);
    printf("pgm_scale = %g\n", o->pgm_scale);
    printf("writing %s as %zu-byte integers\n", o->pgm_path, sizeof(uint8_t));
    if (nb_write_pgm(o->pgm_path, img->fpixels, img->spixels, bytes, o->pgm_scale, &err) != NB_OK)
        rc = report_error(&err);
    free(bytes);
    return rc;
}

int app_write_outputs(app_options *o, const nb_experiment *exp, const nb_image *img)
{
    size_t n = (size_t)img->fpixels * (size_t)img->spixels;
    uint16_t *counts = malloc(n * sizeof *counts);
    nb_error err;
    int rc = 0;

    if (!counts) {
        fprintf(stderr, "nanobragg: error: out of memory for the SMV image\n");
        return 1;
    }
    printf("writing %s as %zu %zu-byte floats\n", o->float_path, n, sizeof(float));
    if (nb_write_float(o->float_path, img->data, n, &err) != NB_OK)
        rc = report_error(&err);
    printf("max_I = %g  at %g %g\n", img->max_I, img->max_I_x_m, img->max_I_y_m);
    printf("mean= %g rms= %g rmsd= %g\n", img->mean, img->rms, img->rmsd);
    nb_image_to_counts(exp, img, &o->int_scale, o->adc, counts);
    printf("intfile_scale = %g\n", o->int_scale);
    if (!rc)
        rc = write_counts(o->int_path, exp, counts);
    if (!rc && o->write_pgm)
        rc = write_pgm(o, exp, img, o->int_scale);
    if (!rc && o->write_noise) {
        double photons;
        long overloads;
        nb_image_to_noise(exp, img, &o->seed, o->adc, counts, &photons, &overloads);
        printf("%.0f photons on noise image (%ld overloads)\n", photons, overloads);
        rc = write_counts(o->noise_path, exp, counts);
    }
    free(counts);
    return rc;
}
