/*
 * main.c - the nanobragg program: a drop-in replacement for nanoBragg.
 * Parses the command line into a configuration, lets the library build and
 * render the experiment, prints nanoBragg's report and writes the images.
 * Output paths are checked before any work (check_paths).
 * Exit codes: 0 success, 1 runtime failure (files, memory), 2 usage.
 */
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "par.h"

static void usage_hint(void)
{
    fprintf(stderr, "usage: nanobragg -hkl Fs.hkl|-default_F F -cell a b c al be ga|-mat A.mat [options]\n"
                    "       nanobragg -h lists every option\n");
}

/* A file the run reads or writes, with the flag that names it. */
typedef struct named_path {
    const char *flag, *path;
} named_path;

/* The files this run reads (including the Fdump.bin cache, read or written
   beside -hkl); returns how many were filled in (at most 6). */
static const char *config_path(const app_options *o, const char *name)
{
    const char *path = NULL;
    nb_error err;
    return nb_param_get_string(o->cfg, name, &path, &err) == NB_OK ? path : NULL;
}

static size_t list_inputs(const app_options *o, named_path *in)
{
    const named_path all[] = {{"-hkl", config_path(o, "hkl_path")},
                              {"-mat", config_path(o, "mat_path")},
                              {"-sourcefile", config_path(o, "source_path")},
                              {"-img", o->img_path},
                              {"-mask", o->mask_path},
                              {"structure-factor cache", config_path(o, "fdump_path")}};
    size_t i, n = 0;
    for (i = 0; i < sizeof all / sizeof *all; ++i)
        if (all[i].path)
            in[n++] = all[i];
    return n;
}

/* The files this run writes; returns how many (at most 7). */
static size_t list_outputs(const app_options *o, named_path *out)
{
    const named_path all[] = {{"-floatfile", o->float_path},
                              {"-intfile", o->int_path},
                              {"-pgmfile", o->write_pgm ? o->pgm_path : NULL},
                              {"-noisefile", o->write_noise ? o->noise_path : NULL},
                              {"-cbffile", o->cbf_path},
                              {"-matrixfile", o->matrix_path},
                              {"-nexusfile", o->nexus_path}};
    size_t i, n = 0;
    for (i = 0; i < sizeof all / sizeof *all; ++i)
        if (all[i].path)
            out[n++] = all[i];
    return n;
}

/*
 * Before any work: refuse an output that is the same file as an input or as
 * another output (compared by identity, not spelling: exit 2), and one that
 * cannot be written (a directory, a missing or unwritable directory: exit 1),
 * so that a long simulation does not end in a failure known from the start.
 */
static int check_paths(const app_options *o)
{
    named_path in[6], out[7];
    size_t nin = list_inputs(o, in), nout = list_outputs(o, out), i, j;
    nb_error err;
    int rc = app_check_nexus(o);
    if (rc != 0)
        return rc;
    for (i = 0; i < nout; ++i) {
        for (j = 0; j < nin; ++j)
            if (nb_paths_clash(out[i].path, in[j].path)) {
                fprintf(stderr, "%s: error: output %s would overwrite an input file "
                                "(%s %s)\n", app_name(), out[i].path, in[j].flag, in[j].path);
                return 2;
            }
        for (j = 0; j < i; ++j)
            if (nb_paths_clash(out[i].path, out[j].path)) {
                fprintf(stderr,
                        "%s: error: output %s (%s) would overwrite another output (%s %s)\n",
                        app_name(), out[i].path, out[i].flag, out[j].flag, out[j].path);
                return 2;
            }
    }
    for (i = 0; i < nout; ++i)
        if (nb_output_check(out[i].path, &err) != NB_OK) {
            fprintf(stderr, "%s: error: %s\n", app_name(), err.msg);
            return 1;
        }
    return 0;
}

/* -nimages: the checks of check_paths for the series' templates. */
static int check_series_paths(const app_options *o)
{
    named_path in[6];
    const char *names[6];
    size_t nin = list_inputs(o, in);
    for (size_t i = 0; i < nin; ++i)
        names[i] = in[i].path;
    return app_series_check(o, names, nin);
}

/* One image: rendered here, or, under MPI with several ranks, split by
   rows over them (rank 0 prints and writes).  Collective. */
static int run(app_options *o)
{
    const int split = app_par_split_rows(0);
    nb_log log = {.fn = app_log_stdout};
    app_progress progress;
    nb_experiment *exp = NULL;
    nb_image img;
    nb_error err;
    nb_status st;
    int rc = 0;

    printf("nanoBragg nanocrystal diffraction simulator - James Holton and Ken Frankel 5-17-17\n");
    app_note_cell(o);
    if (app_par_rank() == 0) /* the warnings once */
        app_warn_units(o);
    st = nb_experiment_create(o->cfg, &log, &exp, &err);
    if (st != NB_OK) {
        fflush(stdout);
        fprintf(stderr, "%s: error: %s\n", app_name(), err.msg);
        if (st == NB_ERR_USAGE && app_par_rank() == 0)
            usage_hint();
        rc = (st == NB_ERR_USAGE || st == NB_ERR_INVALID) ? 2 : 1;
    }
    if ((rc = app_par_agree(rc)) != 0) {
        nb_experiment_free(exp);
        return rc;
    }
    app_report_setup(o, nb_experiment_info(exp));
    if (app_par_rank() == 0)
        app_warn_setup(o, nb_experiment_info(exp));
    app_progress_setup(o, nb_experiment_info(exp), &progress, &log);
    if (o->printout) {
        /* nanoBragg's -printout: every pixel unless -printout_pixel named one */
        log.trace = app_print_trace;
        log.trace_fpixel = o->printout_pixel[0];
        log.trace_spixel = o->printout_pixel[1];
    }
    app_catch_interrupt(1);
    st = app_par_simulate(exp, split, &log, &img, &err);
    app_catch_interrupt(0);
    if (st == NB_ERR_CANCELLED) {
        fflush(stdout);
        fprintf(stderr, "%s: interrupted: no output written\n", app_name());
        nb_experiment_free(exp);
        return 128 + app_interrupted();
    }
    if (st != NB_OK) {
        fprintf(stderr, "%s: error: %s\n", app_name(), err.msg);
        nb_experiment_free(exp);
        return 1;
    }
    if (img.data) { /* not a band of a split image */
        printf("\nsolid angle subtended by detector = %g steradian ( %g%% sphere)\n",
               img.omega_sum / nb_experiment_info(exp)->steps,
               100 * img.omega_sum / nb_experiment_info(exp)->steps / 4 / M_PI);
        rc = app_write_outputs(o, exp, &img);
        nb_image_free(&img);
    }
    nb_experiment_free(exp);
    return rc;
}

/* Under MPI: the seeds nanoBragg takes from the clock unless given (-seed,
   -misset_seed) are rank 0's on every rank, as in one process.
   Collective. */
static int same_seeds(app_options *o)
{
    nb_error err;
    o->seed = app_par_root_long(o->seed);
    if (nb_param_set(o->cfg, "misset_seed", (double)app_par_root_long((long)app_param(o, "misset_seed")),
                     &err) != NB_OK) {
        fprintf(stderr, "%s: error: %s\n", app_name(), err.msg);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    app_options o;
    nb_smv_frame mask = {0};
    int rc;

    if (app_par_init(&argc, &argv) != 0)
        return 1;
    if (!app_flags_sorted() || app_options_init(&o) != 0) {
        app_par_end();
        return 1;
    }
    app_prescan_headers(&o, argc, argv);
    rc = app_read_headers(&o, &mask);
    if (!rc)
        rc = app_parse_flags(&o, argc, argv);
    if (!rc)
        rc = app_isa_from_env(&o);
    if (app_par_rank() > 0)
        o.progress = 0; /* rank 0's meter only */
    if (!rc && (o.show_help || o.show_version || o.show_params)) {
        if (o.show_help)
            app_print_help(argv[0]);
        else if (o.show_params)
            app_print_params();
        else {
            app_print_version();
            app_par_print_version();
        }
    } else {
        if (rc == 2 && app_par_rank() == 0)
            usage_hint();
        rc = app_par_agree(rc);
        if (!rc && app_par_size() > 1)
            rc = app_par_agree(same_seeds(&o));
        if (!rc && o.nimages > 0) {
            /* the checks once, on rank 0, before any rank renders */
            rc = app_par_from_root(app_par_rank() == 0 ? check_series_paths(&o) : 0);
            if (!rc)
                rc = app_run_series(&o);
        } else if (!rc) {
            rc = app_par_from_root(app_par_rank() == 0 ? check_paths(&o) : 0);
            o.cbf_noise = o.write_noise;
            if (!rc)
                rc = app_par_agree(run(&o));
        }
    }
    nb_smv_frame_free(&mask);
    app_options_free(&o);
    fflush(stdout);
    app_par_end();
    return rc;
}
