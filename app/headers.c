/*
 * headers.c - -img and -mask: detector geometry taken from an SMV header
 * before the command line is parsed (so flags given later override it, and
 * a header's CLOSE_DISTANCE, which the command line rarely sets, decides the
 * distance as in nanoBragg).
 */
#include <stdio.h>
#include <stdlib.h>

#include "app.h"


/* The header's geometry into the configuration (the library reads it as
   nanoBragg does); 0, or 1 after printing why not. */
static int apply_header(app_options *o, const char *path, const nb_smv_frame *fr, int is_mask)
{
    nb_error err;
    if (nb_config_apply_smv_header(o->cfg, fr, is_mask, &err) == NB_OK)
        return 0;
    fprintf(stderr, "%s: error: %s: %s\n", app_name(), path, err.msg);
    return 1;
}

int app_read_headers(app_options *o, nb_smv_frame *mask)
{
    nb_error err;
    if (o->mask_path) {
        if (nb_smv_read(o->mask_path, mask, &err) != NB_OK) {
            fprintf(stderr, "%s: error: %s\n", app_name(), err.msg);
            return 1;
        }
        printf("reading %s\n", o->mask_path);
        if (apply_header(o, o->mask_path, mask, 1)
            || nb_config_set_mask(o->cfg, mask->width, mask->height, mask->data, &err) != NB_OK) {
            fprintf(stderr, "%s: error: %s: %s\n", app_name(), o->mask_path, err.msg);
            return 1;
        }
    }
    if (o->img_path) {
        nb_smv_frame img = {0};
        if (nb_smv_read(o->img_path, &img, &err) != NB_OK) {
            fprintf(stderr, "%s: error: %s\n", app_name(), err.msg);
            return 1;
        }
        printf("reading %s\n", o->img_path);
        if (apply_header(o, o->img_path, &img, 0)) {
            nb_smv_frame_free(&img);
            return 1;
        }
        nb_smv_frame_free(&img);
    }
    return 0;
}
