/*
 * report.c - what nanobragg prints: the setup summary and the statistics of
 * the rendered image, in nanoBragg's words and formats.
 */
#include <stdio.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "app.h"

#define RTD (180.0 * M_1_PI)

void app_log_stdout(void *ctx, nb_log_level level, const char *line)
{
    (void)ctx;
    (void)level;
    printf("%s\n", line);
}

void app_print_trace(void *ctx, const nb_trace *t)
{
    (void)ctx;
    /* nanoBragg printed the first stol in 1/m */
    printf("%4d %4d : stol = %g or %g\n", t->fpixel, t->spixel, t->stol * 1e10, t->stol_centre);
    printf("at %g %g %g\n", t->pixel_pos_m[0], t->pixel_pos_m[1], t->pixel_pos_m[2]);
    printf("hkl= %f %f %f  hkl0= %d %d %d\n", t->hkl[0], t->hkl[1], t->hkl[2], t->hkl0[0], t->hkl0[1],
           t->hkl0[2]);
    printf(" F_cell=%g  F_latt=%g   I = %g\n", t->F_cell, t->F_latt, t->I);
    printf("I/steps %15.10g\n", t->I / t->steps);
    printf("polar   %15.10g\n", t->polar);
    printf("omega   %15.10g\n", t->omega);
    printf("capfrac %15.10g\n", t->capture_fraction);
    printf("pixel   %15.10g\n", t->pixel);
    printf("real-space cell vectors (Angstrom):\n");
    printf("     %-10s  %-10s  %-10s\n", "a", "b", "c");
    printf("X: %11.8f %11.8f %11.8f\n", t->a_A[0], t->b_A[0], t->c_A[0]);
    printf("Y: %11.8f %11.8f %11.8f\n", t->a_A[1], t->b_A[1], t->c_A[1]);
    printf("Z: %11.8f %11.8f %11.8f\n", t->a_A[2], t->b_A[2], t->c_A[2]);
}

/* nanoBragg's name of a crystal shape (the library's shape parameter). */
static const char *shape_name(const char *shape)
{
    if (strcmp(shape, "round") == 0) return "ellipsoidal";
    if (strcmp(shape, "gauss") == 0) return "gaussian";
    if (strcmp(shape, "tophat") == 0) return "tophat-spot";
    return "parallelpiped";
}

static void report_beam_and_detector(const app_options *o, const nb_info *in)
{
    const char *shape = "square";
    nb_error err;
    if (nb_param_get_string(o->cfg, "shape", &shape, &err) != NB_OK)
        shape = "square";
    printf("  %ld initialized hkls (all others =%g)\n", in->hkls, app_param(o, "default_F"));
    printf("  %s xtal: %.0fx%.0fx%.0f cells\n", shape_name(shape), in->Na, in->Nb, in->Nc);
    printf("  wave=%g meters +/- %g%% in %d steps\n", in->lambda0_m, in->dispersion * 100, in->dispsteps);
    if (app_param(o, "nopolar") != 0)
        printf("  polarization effect disabled\n");
    else
        printf("  Kahn polarization factor: %f\n", app_param(o, "polarization"));
    if (app_param(o, "curved_detector") != 0) printf("  curved detector: all pixels same distance from origin\n");
    if (app_param(o, "point_pixel") != 0) printf("  pixel obliquity effect disabled\n");
    printf("  incident fluence: %g photons/m^2\n", in->fluence);
    printf("  distance=%g detsize=%gx%g  pixel=%g meters (%dx%d pixels)\n", in->distance_m, in->detsize_f_m,
           in->detsize_s_m, in->pixel_m, in->fpixels, in->spixels);
    printf("  sensor is %g m thick in %d layers with mu= %g\n", in->detector_thick_m, in->thicksteps,
           in->detector_mu);
    printf("  Xbeam=%g Ybeam=%g\n", in->Xbeam_m, in->Ybeam_m);
    printf("  Fbeam=%g Sbeam=%g\n", in->Fbeam_m, in->Sbeam_m);
    printf("  Xclose=%g Yclose=%g\n", in->Xclose_m, in->Yclose_m);
    printf("  Fclose=%g Sclose=%g\n", in->Fclose_m, in->Sclose_m);
    printf("  DIRECTION_OF_DETECTOR_X-AXIS= %g %g %g\n", in->fdet[0], in->fdet[1], in->fdet[2]);
    printf("  DIRECTION_OF_DETECTOR_Y-AXIS= %g %g %g\n", in->sdet[0], in->sdet[1], in->sdet[2]);
    printf("  DIRECTION_OF_DETECTOR_Z-AXIS= %g %g %g\n", in->odet[0], in->odet[1], in->odet[2]);
    printf("  INCIDENT_BEAM_DIRECTION= %g %g %g\n", in->beam[0], in->beam[1], in->beam[2]);
    printf("  spindle ROTATION_AXIS= %g %g %g\n", in->spindle[0], in->spindle[1], in->spindle[2]);
    printf("  POLARIZATION_PLANE_NORMAL= %g %g %g\n", in->beam[1] * in->polar[2] - in->beam[2] * in->polar[1],
           in->beam[2] * in->polar[0] - in->beam[0] * in->polar[2],
           in->beam[0] * in->polar[1] - in->beam[1] * in->polar[0]);
    printf("  dials origin= %g %g %g\n", in->dials_origin_mm[0], in->dials_origin_mm[1], in->dials_origin_mm[2]);
}

/* Which kernel, instruction set, precision and threads render the image. */
static void report_kernel(const nb_info *in)
{
    int threads = 1;
#ifdef _OPENMP
    threads = omp_get_max_threads();
#endif
    printf("  %ld sample%s per pixel; %s kernel, %s, %s precision, %d thread%s\n", in->samples_per_pixel,
           in->samples_per_pixel == 1 ? "" : "s", in->kernel, in->isa, in->precision_used == NB_PRECISION_SINGLE ? "single" : "double",
           threads, threads == 1 ? "" : "s");
    if (in->precision_note)
        printf("  -precision single not used: %s\n", in->precision_note);
    if (in->device && strcmp(in->device, "cpu") != 0)
        printf("  device: %s\n", in->device);
}

void app_report_setup(const app_options *o, const nb_info *in)
{
    report_beam_and_detector(o, in);
    printf("  roi: %d < x < %d && %d < y < %d\n", in->roi[0], in->roi[1], in->roi[2], in->roi[3]);
    printf("  hdivrange=%g hdivstep=%g  radians\n", in->hdivrange_rad, in->hdivstep_rad);
    printf("  vdivrange=%g vdivstep=%g  radians\n", in->vdivrange_rad, in->vdivstep_rad);
    printf("  %d divergence steps\n", in->divsteps);
    printf("  %d sources\n", in->sources);
    printf("  %d mosaic domains over mosaic spread of %g degrees\n", in->mosaic_domains,
           in->mosaic_spread_rad * RTD);
    printf("  %d phi steps from %g to %g degrees\n", in->phisteps, in->phi0_rad * RTD,
           (in->phi0_rad + in->osc_rad) * RTD);
    printf("  %dx%d pixel oversample steps%s%s%s\n", in->oversample, in->oversample,
           app_param(o, "oversample_thick") != 0 ? " +thick" : "", app_param(o, "oversample_polar") != 0 ? " +polar" : "",
           app_param(o, "oversample_omega") != 0 ? " +omega" : "");
    report_kernel(in);
    if (o->mask_path)
        printf("  skipping zero-flagged pixels in %s\n", o->mask_path);
    if (o->write_noise) {
        printf("\n  noise image paramters:\n");
        printf("  seed: %ld\n", o->seed);
        printf("  water droplet size: %g m\n", in->water_m);
    }
    fflush(stdout);
}
