/*
 * options.h - everything the nanobragg program takes from its command line:
 * the library configuration plus output files and program switches.
 */
#ifndef NB_APP_OPTIONS_H
#define NB_APP_OPTIONS_H

#include "nanobragg.h"

#define APP_MAX_FLAGS 256 /* rows of the flag table, at most */

typedef struct app_options {
    nb_config *cfg;        /* owned */
    const char *img_path, *mask_path;
    const char *float_path, *int_path, *pgm_path, *noise_path;
    const char *cbf_path;  /* -cbffile, or NULL */
    const char *matrix_path; /* -matrixfile: each image's orientation, or NULL */
    const char *nexus_path;  /* -nexusfile: one NeXus file of every image, or NULL */
    /* a series (series.c): each image's part of the series' NeXus file is
       handed to nexus_take(nexus_ctx, ...) (non-zero: out of memory), to
       reach rank 0's open file in image order; NULL: a file of one image */
    int (*nexus_take)(void *ctx, const nb_nexus_image *image, const int32_t *counts, size_t n);
    void *nexus_ctx;
    int cbf_noise;         /* the CBF and NeXus files hold noise (set from write_noise before writing) */
    int write_pgm, write_noise;
    double int_scale, pgm_scale, adc;
    long seed;
    int printout, progress, coherent;
    int nimages;      /* -nimages: a series of that many images; 0: one image */
    int printout_pixel[2];
    int show_help, show_version, show_params;
    int cell_values;  /* numbers -cell gave (1 to 6); 0 if not given */
    /* The flags given, by their row in the flag table: the index in argv of
       the last occurrence (0: not given), for warnings about flags that a
       convention or pivot overrides. */
    char **argv;
    int given_at[APP_MAX_FLAGS];
} app_options;

/* Defaults of nanoBragg (output names, adc 40, time-based seeds, the
   Fdump.bin cache); 0, or 1 when out of memory.  app_options_free frees. */
int app_options_init(app_options *o);
void app_options_free(app_options *o);

/*
 * Parse argv into o, matching flag names exactly (all of nanoBragg's spellings
 * and aliases).  When two flags set the same thing the later one wins.
 * Returns 0 on success; on a bad value, a missing argument, an unknown flag
 * (with the nearest known name suggested) or a word that is neither a flag
 * nor a flag's value, prints one line naming it to stderr and returns 2.
 */
int app_parse_flags(app_options *o, int argc, char **argv);

/* The text of the last error app_parse_flags (or app_options_init)
   reported, without the "nanobragg: error: " prefix; "" if none yet.  Per
   thread. */
const char *app_flags_last_error(void);

/* The program's name that messages start with ("nanobragg" unless set;
   the parser's, app_isa_from_env's, and the headers' and warnings' of
   app.h), and the program's own flags beyond the table, which the parser
   does not take but suggests for a misspelt flag.  Set once, before
   parsing; names must outlive the parse. */
void app_set_name(const char *name);
const char *app_name(void);
void app_flags_extra(const char *const *names, size_t n);

/* on != 0: the parser prints nothing (errors are only kept for
   app_flags_last_error; warnings are dropped); 0, the default: errors and
   warnings go to stderr.  Per thread.  For bindings that report errors
   their own way. */
void app_flags_quiet(int on);

/* Print the flag table (names, arguments, units, help) to stdout, by topic. */
void app_print_help(const char *prog);

/* Print the library's parameter table, one line per parameter, to stdout. */
void app_print_params(void);

/* Print the version, the build (compiler, OpenMP, instruction sets) to stdout. */
void app_print_version(void);

/* The environment variable NB_ISA (auto, baseline, avx2, avx512) into
   o->cfg.isa; 0, or 2 after printing an error for another value. */
int app_isa_from_env(app_options *o);

/* The first argument of the last occurrence of flag name or one of its
   aliases (rows whose help reads "same as NAME": -wave for -lambda), or ""
   for a switch; NULL if none of them was given on the command line. */
const char *app_flag_value(const app_options *o, const char *name);

/* The number parameter name of o's configuration holds (its default when
   not set), or NaN when set-up derives it. */
double app_param(const app_options *o, const char *name);

/* Paths of -img and -mask, found before the other flags are parsed. */
void app_prescan_headers(app_options *o, int argc, char **argv);

#endif
