/*
 * par_none.c - par.h for one process (the plain nanobragg program, and the
 * tools built on the program's pieces): no MPI, nothing to agree on.
 */
#include <stdio.h>
#include <stdlib.h>

#include "options.h"
#include "par.h"

/* The number of processes a launcher says the job has (1: none). */
static long launched_size(void)
{
    static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE"};
    for (size_t i = 0; i < sizeof vars / sizeof *vars; ++i) {
        const char *v = getenv(vars[i]);
        if (v && atol(v) > 1)
            return atol(v);
    }
    return 1;
}

int app_par_init(int *argc, char ***argv)
{
    long n = launched_size();
    (void)argc;
    (void)argv;
    if (n > 1) {
        fprintf(stderr, "%s: error: started as one of %ld MPI processes, but built without MPI: each would "
                        "render and write every file (rebuild with an MPI, Debian: libopenmpi-dev "
                        "openmpi-bin, or run it alone)\n", app_name(), n);
        return 1;
    }
    return 0;
}

void app_par_print_version(void)
{
    printf("without MPI (one process)\n");
}

void app_par_end(void) {}

int app_par_rank(void)
{
    return 0;
}

int app_par_size(void)
{
    return 1;
}

int app_par_agree(int rc)
{
    return rc;
}

int app_par_from_root(int rc)
{
    return rc;
}

long app_par_root_long(long v)
{
    return v;
}

int app_par_split_rows(int nimages)
{
    (void)nimages;
    return 0;
}

nb_status app_par_simulate(const nb_experiment *exp, int split, const nb_log *log, nb_image *img, nb_error *err)
{
    (void)split;
    return nb_simulate(exp, log, img, err);
}

void app_par_capture_begin(void) {}

char *app_par_capture_end(size_t *len)
{
    *len = 0;
    return NULL;
}

int app_par_gather(int first, int count, const void *bytes, size_t n,
                   int (*take)(void *ctx, int image, const void *bytes, size_t n), void *ctx)
{
    return count > 0 ? take(ctx, first, bytes, n) : 0;
}
