/*
 * outputs.c - statistics lines and the output files (float, SMV, PGM,
 * noise), written as one output set: every file is staged whole, and only
 * when all of them are complete are they renamed into place, so a failure
 * leaves none of them behind.
 */
#include <stdio.h>
#include <stdlib.h>

#include "app.h"

static nb_status out_of_memory(nb_error *err, const char *what)
{
    snprintf(err->msg, sizeof err->msg, "out of memory for the %s", what);
    return NB_ERR_NOMEM;
}

static nb_status stage_counts(nb_outputs *set, const char *path, const nb_experiment *exp,
                              const uint16_t *counts, nb_error *err)
{
    nb_smv_info info;
    nb_experiment_smv_info(exp, &info);
    printf("writing %s as %zu-byte integers\n", path, sizeof(uint16_t));
    return nb_outputs_add_smv(set, path, &info, counts, err);
}

static nb_status stage_pgm(nb_outputs *set, app_options *o, const nb_experiment *exp,
                           const nb_image *img, nb_error *err)
{
    size_t n = (size_t)img->fpixels * (size_t)img->spixels;
    uint8_t *bytes = malloc(n);
    nb_status st;
    if (!bytes)
        return out_of_memory(err, "PGM image");
    nb_image_to_pgm(exp, img, &o->pgm_scale, o->int_scale, bytes);
    printf("pgm_scale = %g\n", o->pgm_scale);
    printf("writing %s as %zu-byte integers\n", o->pgm_path, sizeof(uint8_t));
    st = nb_outputs_add_pgm(set, o->pgm_path, img->fpixels, img->spixels, bytes, o->pgm_scale, err);
    free(bytes);
    return st;
}

/* Stage the four outputs in order, printing nanoBragg's lines between them. */
static nb_status stage_all(nb_outputs *set, app_options *o, const nb_experiment *exp,
                           const nb_image *img, uint16_t *counts, nb_error *err)
{
    size_t n = (size_t)img->fpixels * (size_t)img->spixels;
    nb_status st;
    printf("writing %s as %zu %zu-byte floats\n", o->float_path, n, sizeof(float));
    st = nb_outputs_add_float(set, o->float_path, img->data, n, err);
    printf("max_I = %g  at %g %g\n", img->max_I, img->max_I_x_m, img->max_I_y_m);
    printf("mean= %g rms= %g rmsd= %g\n", img->mean, img->rms, img->rmsd);
    nb_image_to_counts(exp, img, &o->int_scale, o->adc, counts);
    printf("intfile_scale = %g\n", o->int_scale);
    if (st == NB_OK)
        st = stage_counts(set, o->int_path, exp, counts, err);
    if (st == NB_OK && o->write_pgm)
        st = stage_pgm(set, o, exp, img, err);
    if (st == NB_OK && o->write_noise) {
        double photons;
        long overloads;
        nb_image_to_noise(exp, img, &o->seed, o->adc, counts, &photons, &overloads);
        printf("%.0f photons on noise image (%ld overloads)\n", photons, overloads);
        st = stage_counts(set, o->noise_path, exp, counts, err);
    }
    return st;
}

int app_write_outputs(app_options *o, const nb_experiment *exp, const nb_image *img)
{
    size_t n = (size_t)img->fpixels * (size_t)img->spixels;
    uint16_t *counts = malloc(n * sizeof *counts);
    nb_outputs *set = nb_outputs_new();
    nb_error err;
    nb_status st;

    if (!counts || !set)
        st = out_of_memory(&err, "output images");
    else
        st = stage_all(set, o, exp, img, counts, &err);
    if (st == NB_OK)
        st = nb_outputs_publish(set, &err);
    nb_outputs_free(set); /* removes the temporaries of a failed set */
    free(counts);
    if (st == NB_OK)
        return 0;
    fflush(stdout);
    fprintf(stderr, "nanobragg: error: %s\n", err.msg);
    return 1;
}
