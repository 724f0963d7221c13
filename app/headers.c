/*
 * headers.c - -img and -mask: detector geometry taken from an SMV header
 * before the command line is parsed (so flags given later override it, and
 * a header's CLOSE_DISTANCE, which the command line rarely sets, decides the
 * distance as in nanoBragg).
 */
#include <stdio.h>
#include <stdlib.h>

#include "app.h"

#define RTD (180.0 * M_1_PI)

static void apply_header(app_options *o, const nb_smv_frame *fr, int is_mask)
{
    nb_config *c = &o->cfg;
    double v;
    c->fpixels = fr->width;
    c->spixels = fr->height;
    if (nb_smv_value(fr, "PIXEL_SIZE", &v)) c->pixel_m = v / 1000.0;
    c->detsize_f_m = c->pixel_m * fr->width;
    c->detsize_s_m = c->pixel_m * fr->height;
    if (nb_smv_value(fr, "DISTANCE", &v)) c->distance_m = v / 1000.0;
    if (nb_smv_value(fr, "CLOSE_DISTANCE", &v)) c->close_distance_m = v / 1000.0;
    if (nb_smv_value(fr, "WAVELENGTH", &v)) c->lambda0_m = v / 1e10;
    if (nb_smv_value(fr, "BEAM_CENTER_X", &v)) c->Xbeam_m = v / 1000.0;
    if (nb_smv_value(fr, "BEAM_CENTER_Y", &v))
        c->Ybeam_m = is_mask ? c->detsize_s_m - v / 1000.0 : v / 1000.0;
    if (nb_smv_value(fr, "XDS_ORGX", &v) || nb_smv_value(fr, "ORGX", &v)) c->ORGX = v;
    if (nb_smv_value(fr, "XDS_ORGY", &v) || nb_smv_value(fr, "ORGY", &v)) c->ORGY = v;
    if (nb_smv_value(fr, "PHI", &v)) c->phi0_rad = v / RTD;
    if (nb_smv_value(fr, "OSC_RANGE", &v)) c->osc_rad = v / RTD;
    /* TWOTHETA is read by nanoBragg into a variable it never uses: ignored. */
}

int app_read_headers(app_options *o, nb_smv_frame *mask)
{
    nb_error err;
    if (o->mask_path) {
        if (nb_smv_read(o->mask_path, mask, &err) != NB_OK) {
            fprintf(stderr, "nanobragg: error: %s\n", err.msg);
            return 1;
        }
        printf("reading %s\n", o->mask_path);
        apply_header(o, mask, 1);
        o->cfg.mask = mask->data;
        o->cfg.mask_width = mask->width;
        o->cfg.mask_height = mask->height;
    }
    if (o->img_path) {
        nb_smv_frame img = {0};
        if (nb_smv_read(o->img_path, &img, &err) != NB_OK) {
            fprintf(stderr, "nanobragg: error: %s\n", err.msg);
            return 1;
        }
        printf("reading %s\n", o->img_path);
        apply_header(o, &img, 0);
        nb_smv_frame_free(&img);
    }
    return 0;
}
