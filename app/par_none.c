/*
 * par_none.c - par.h for one process (the plain nanobragg program, and the
 * tools built on the program's pieces): no MPI, nothing to agree on.
 */
#include "par.h"

int app_par_init(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
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
