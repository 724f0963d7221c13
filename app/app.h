/*
 * app.h - the pieces of the nanobragg program: headers (-img/-mask),
 * the printed report, and the output files.
 */
#ifndef NB_APP_H
#define NB_APP_H

#include "nanobragg.h"
#include "options.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif
#ifndef M_1_PI
#define M_1_PI 0.31830988618379067154
#endif

/* Read -mask then -img and apply their headers to o->cfg; the mask pixels
   stay in *mask (caller frees).  0, or 1 after printing an error. */
int app_read_headers(app_options *o, nb_smv_frame *mask);

/* nanoBragg's summary of the setup, printed before rendering. */
void app_report_setup(const app_options *o, const nb_info *in);

/* Print the statistics and write every requested output, all or none
   (an output set).  Exit code: 0, or 1 after printing the error. */
int app_write_outputs(app_options *o, const nb_experiment *exp, const nb_image *img);
/* The same in two steps: print the statistics and stage every output into
   set, then publish set (nb_outputs_free removes what was staged and not
   published).  0, or 1 after printing the error. */
int app_stage_outputs(app_options *o, const nb_experiment *exp, const nb_image *img, nb_outputs *set);
int app_publish_outputs(nb_outputs *set);

/* One image's orientation for -matrixfile into buf (at least
   APP_MATRIX_TEXT bytes): a "# image N phi ... misset_deg ..." line
   (misset_seed too for a random orientation), then the MOSFLM A matrix
   as three lines of three numbers, as -mat reads it.  Its length. */
#define APP_MATRIX_TEXT 512
int app_format_matrix(const nb_experiment *exp, int image, long misset_seed, char *buf, size_t size);

/* -nexusfile before any work: 2 in a build without HDF5 (naming the
   package to install), 1 for a target that is not a regular file (HDF5
   cannot write /dev/null), after printing why; else 0. */
int app_check_nexus(const app_options *o);

/* Log callback printing the library's lines to stdout. */
void app_log_stdout(void *ctx, nb_log_level level, const char *line);

/* Trace callback printing a pixel's values as nanoBragg's -printout does
   (stdout). */
void app_print_trace(void *ctx, const nb_trace *trace);

int app_flags_sorted(void);

/* series.c: -nimages.  Before any work: the output templates (one run of
   '#', wide enough), their first and last images' names against the
   inputs (inputs[0..nin-1]) and each other, and their directories: 0, or
   the exit code after printing why not (2 usage, 1 files). */
int app_series_check(const app_options *o, const char *const *inputs, size_t nin);
/* Set up once, then render and write every image (set-up's report once,
   a line per image); the room the series needs is checked before the
   first image.  Exit code as main's. */
int app_run_series(app_options *o);

/* advice.c: warnings beyond nanoBragg's report (stderr), never changing the
   images.  Units that look mistyped (-energy in keV, a wavelength in nm),
   before set-up: */
void app_warn_units(const app_options *o);
/* The -cell values that took their defaults (a line of the log, stdout). */
void app_note_cell(const app_options *o);
/* After set-up: sampling that will take very long, a detector of metres, a
   structure-factor cache used instead of -default_F, and flags that the
   convention or pivot overrides or ignores. */
void app_warn_setup(const app_options *o, const nb_info *in);
/* Kernel evaluations of the whole run (samples per pixel x pixels). */
double app_total_samples(const nb_info *in);

/* The progress meter (stderr), shown with -progress or for long runs, never
   with -printout (as nanoBragg).  The same callback cancels the render once
   the user interrupts the run (SIGINT or SIGTERM, see app_catch_interrupt),
   so that an interrupted run writes no output. */
typedef struct app_progress {
    int show;               /* print progress lines */
    double start_s, last_s; /* monotonic seconds: start, last line */
    double last, next;      /* fraction: of the last line, of the next 10% */
} app_progress;
void app_progress_setup(const app_options *o, const nb_info *in, app_progress *p, nb_log *log);

/* While rendering (on != 0), SIGINT and SIGTERM ask the render to stop
   instead of ending the process; a second signal ends it.  Off restores the
   default handlers.  app_interrupted() is the signal received, or 0. */
void app_catch_interrupt(int on);
int app_interrupted(void);

#endif
