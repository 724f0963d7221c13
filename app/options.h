/*
 * options.h - everything the nanobragg program takes from its command line:
 * the library configuration plus output files and program switches.
 */
#ifndef NB_APP_OPTIONS_H
#define NB_APP_OPTIONS_H

#include "nanobragg.h"

typedef struct app_options {
    nb_config cfg;
    const char *img_path, *mask_path;
    const char *float_path, *int_path, *pgm_path, *noise_path;
    int write_pgm, write_noise;
    double int_scale, pgm_scale, adc;
    long seed;
    int printout, progress, coherent;
    int printout_pixel[2];
    int show_help;
} app_options;

/* Defaults of nanoBragg (output names, adc 40, time-based seed). */
void app_options_init(app_options *o);

/*
 * Parse argv into o, matching flag names exactly (all of nanoBragg's spellings
 * and aliases).  Unknown flags and stray words draw a warning on stderr and are
 * ignored, as nanoBragg ignores them.  Returns 0 on success; on a bad value or
 * a missing argument prints one line naming the flag to stderr and returns 2.
 */
int app_parse_flags(app_options *o, int argc, char **argv);

/* Print the flag table (names, arguments, units, help) to stdout. */
void app_print_help(const char *prog);

/* Paths of -img and -mask, found before the other flags are parsed. */
void app_prescan_headers(app_options *o, int argc, char **argv);

#endif
