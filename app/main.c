/*
 * main.c - the nanobragg program: a drop-in replacement for nanoBragg.
 * Parses the command line into a configuration, lets the library build and
 * render the experiment, prints nanoBragg's report and writes the images.
 * Exit codes: 0 success, 1 runtime failure (files, memory), 2 usage.
 */
#include <stdio.h>
#include <string.h>

#include "app.h"

static void usage_hint(void)
{
    fprintf(stderr, "usage: nanobragg -hkl Fs.hkl|-default_F F -cell a b c al be ga|-mat A.mat [options]\n"
                    "       nanobragg -h lists every option\n");
}

/* Refuse outputs that would overwrite an input. */
static int check_paths(const app_options *o)
{
    const char *in[] = {o->cfg.hkl_path, o->cfg.mat_path, o->cfg.source_path, o->img_path, o->mask_path,
                        o->cfg.fdump_path};
    const char *out[] = {o->float_path, o->int_path, o->write_pgm ? o->pgm_path : NULL,
                         o->write_noise ? o->noise_path : NULL};
    for (size_t i = 0; i < sizeof out / sizeof *out; ++i)
        for (size_t j = 0; out[i] && j < sizeof in / sizeof *in; ++j)
            if (in[j] && strcmp(out[i], in[j]) == 0) {
                fprintf(stderr, "nanobragg: error: output %s would overwrite an input file\n", out[i]);
                return 2;
            }
    return 0;
}

static int run(app_options *o)
{
    nb_log log = {app_log_stdout, NULL};
    nb_experiment *exp = NULL;
    nb_image img;
    nb_error err;
    nb_status st;
    int rc;

    printf("nanoBragg nanocrystal diffraction simulator - James Holton and Ken Frankel 5-17-17\n");
    st = nb_experiment_create(&o->cfg, &log, &exp, &err);
    if (st != NB_OK) {
        fflush(stdout);
        fprintf(stderr, "nanobragg: error: %s\n", err.msg);
        if (st == NB_ERR_USAGE)
            usage_hint();
        return (st == NB_ERR_USAGE || st == NB_ERR_INVALID) ? 2 : 1;
    }
    app_report_setup(o, nb_experiment_info(exp));
    st = nb_simulate(exp, &log, &img, &err);
    if (st != NB_OK) {
        fprintf(stderr, "nanobragg: error: %s\n", err.msg);
        nb_experiment_free(exp);
        return 1;
    }
    printf("\nsolid angle subtended by detector = %g steradian ( %g%% sphere)\n",
           img.omega_sum / nb_experiment_info(exp)->steps,
           100 * img.omega_sum / nb_experiment_info(exp)->steps / 4 / M_PI);
    rc = app_write_outputs(o, exp, &img);
    nb_image_free(&img);
    nb_experiment_free(exp);
    return rc;
}

int main(int argc, char **argv)
{
    app_options o;
    nb_smv_frame mask = {0};
    int rc;

    if (!app_flags_sorted())
        return 1;
    app_options_init(&o);
    app_prescan_headers(&o, argc, argv);
    rc = app_read_headers(&o, &mask);
    if (!rc)
        rc = app_parse_flags(&o, argc, argv);
    if (!rc && o.show_help) {
        app_print_help(argv[0]);
        nb_smv_frame_free(&mask);
        return 0;
    }
    if (rc == 2)
        usage_hint();
    if (!rc)
        rc = check_paths(&o);
    if (!rc)
        rc = run(&o);
    nb_smv_frame_free(&mask);
    fflush(stdout);
    return rc;
}
