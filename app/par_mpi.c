/*
 * par_mpi.c - par.h over MPI.  MPI is loaded (the module libnanobragg-mpi.so,
 * mpi_module.h) and initialised only when an MPI launcher started the
 * process (its environment says so), so that a plain run is one process
 * that never loads MPI.
 * OpenMP threads render within each rank; only the main thread calls MPI.
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpi_module.h"
#include "options.h"
#include "par.h"

static const app_mpi_ops *mpi; /* loaded under a launcher */
static int joined;             /* MPI_Init was called */
static int rank, size = 1;
static char rank_name[64];

/* Whether a launcher started this process as a rank of a job: the
   variable that says so, else NULL. */
static const char *launched(void)
{
    static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE"};
    for (size_t i = 0; i < sizeof vars / sizeof *vars; ++i)
        if (getenv(vars[i]))
            return vars[i];
    return NULL;
}

/* The MPI module: 0, or 1 after printing why not. */
static int load(const char *var)
{
    const void *table;
    char path[4096];
    nb_error err;
    if (nb_module_load(APP_MPI_MODULE_FILE, APP_MPI_MODULE_SYMBOL, "the MPI layer", &table, path, sizeof path,
                        &err) != NB_OK) {
        fprintf(stderr, "%s: error: started by an MPI launcher (%s is set), but %s\n", app_name(), var, err.msg);
        return 1;
    }
    mpi = table;
    if (mpi->abi != APP_MPI_MODULE_ABI || !mpi->version || strcmp(mpi->version, NB_VERSION_STRING) != 0) {
        fprintf(stderr, "%s: error: started by an MPI launcher (%s is set), but the MPI layer %s is not this "
                        "build's (nanobragg %s)\n", app_name(), var, path,
                mpi->abi == APP_MPI_MODULE_ABI && mpi->version ? mpi->version : "unknown");
        mpi = NULL;
        return 1;
    }
    return 0;
}

int app_par_init(int *argc, char ***argv)
{
    const char *var = launched();
    if (!var)
        return 0;
    if (load(var) != 0)
        return 1;
    if (mpi->init(argc, argv, &rank, &size) != 0) {
        fprintf(stderr, "%s: error: MPI_Init failed\n", app_name());
        return 1;
    }
    joined = 1;
    if (rank > 0) {
        snprintf(rank_name, sizeof rank_name, "%s (rank %d)", app_name(), rank);
        app_set_name(rank_name);
        app_flags_quiet(1); /* rank 0 reports bad flags, once */
        if (!freopen("/dev/null", "w", stdout))
            return 1;
    }
    return 0;
}

void app_par_print_version(void)
{
    /* as configured: MPI itself is loaded only under a launcher */
    printf("with MPI (mpirun -np R nanobragg ...): %s (%s, loaded under a launcher)\n", NB_MPI_LIBRARY,
           APP_MPI_MODULE_FILE);
}

void app_par_end(void)
{
    if (joined)
        mpi->finalize();
    joined = 0;
}

int app_par_rank(void)
{
    return rank;
}

int app_par_size(void)
{
    return size;
}

int app_par_agree(int rc)
{
    int worst;
    if (size == 1)
        return rc;
    fflush(stdout);
    worst = mpi->max_int(rc);
    if (rank == 0 && rc == 0 && worst != 0)
        fprintf(stderr, "%s: error: stopped: another rank failed (exit %d)\n", app_name(), worst);
    return worst;
}

int app_par_from_root(int rc)
{
    if (size == 1)
        return rc;
    mpi->bcast(&rc, (int)sizeof rc);
    return rc;
}

long app_par_root_long(long v)
{
    if (size == 1)
        return v;
    mpi->bcast(&v, (int)sizeof v);
    return v;
}

int app_par_split_rows(int nimages)
{
    return size > 1 && nimages <= 1;
}

/* ---------------------------------------------------------------- rows */

/* Rank r's rows: s0 <= s < s1 of ns. */
static void band(int r, int ns, int *s0, int *s1)
{
    *s0 = (int)((long long)ns * r / size);
    *s1 = (int)((long long)ns * (r + 1) / size);
}

/* Gather every rank's band of data, state and omega_rows into rank 0's
   whole-image buffers (counts in elements of nf per row). */
static void gather_bands(int nf, int ns, const float *data, const uint8_t *state, const double *omega,
                         float *all, uint8_t *all_state, double *all_omega)
{
    int *pix = NULL, *pix_at = NULL, *rows = NULL, *rows_at = NULL, s0, s1;
    if (rank == 0) {
        pix = malloc(4 * (size_t)size * sizeof *pix);
        if (!pix)
            mpi->abort(1);
        pix_at = pix + size;
        rows = pix + 2 * size;
        rows_at = pix + 3 * size;
        for (int r = 0; r < size; ++r) {
            band(r, ns, &s0, &s1);
            rows[r] = s1 - s0;
            rows_at[r] = s0;
            pix[r] = (s1 - s0) * nf;
            pix_at[r] = s0 * nf;
        }
    }
    band(rank, ns, &s0, &s1);
    mpi->gatherv(data, (s1 - s0) * nf, APP_MPI_FLOAT, all, pix, pix_at);
    mpi->gatherv(state, (s1 - s0) * nf, APP_MPI_UINT8, all_state, pix, pix_at);
    mpi->gatherv(omega, s1 - s0, APP_MPI_DOUBLE, all_omega, rows, rows_at);
    free(pix);
}

nb_status app_par_simulate(const nb_experiment *exp, int split, const nb_log *log, nb_image *img, nb_error *err)
{
    const nb_info *in;
    float *data = NULL, *all = NULL;
    uint8_t *state = NULL, *all_state = NULL;
    double *omega = NULL, *all_omega = NULL;
    int nf = 0, ns = 0, s0, s1, st = NB_OK, worst;

    if (size == 1 || !split)
        return nb_simulate(exp, log, img, err);
    memset(img, 0, sizeof *img);
    if (!exp) {
        st = NB_ERR_INVALID; /* the caller has reported why */
    } else {
        in = nb_experiment_info(exp);
        nf = in->fpixels;
        ns = in->spixels;
        band(rank, ns, &s0, &s1);
        if ((long long)nf * ns > INT_MAX) {
            snprintf(err->msg, sizeof err->msg, "a %dx%d image is too large to split over ranks (at most %d "
                     "pixels)", nf, ns, INT_MAX);
            st = NB_ERR_RANGE;
        } else {
            data = malloc(((size_t)(s1 - s0) * nf + 1) * sizeof *data);
            state = malloc((size_t)(s1 - s0) * nf + 1);
            omega = malloc(((size_t)(s1 - s0) + 1) * sizeof *omega);
            if (rank == 0) {
                all = malloc((size_t)nf * ns * sizeof *all);
                all_state = malloc((size_t)nf * ns);
                all_omega = malloc((size_t)ns * sizeof *all_omega);
            }
            if (!data || !state || !omega || (rank == 0 && (!all || !all_state || !all_omega))) {
                snprintf(err->msg, sizeof err->msg, "out of memory for a band of %d rows", s1 - s0);
                st = NB_ERR_NOMEM;
            } else if (s1 > s0) {
                st = nb_simulate_rows(exp, s0, s1 - s0, data, state, omega, log, err);
            }
        }
    }
    worst = mpi->max_int(st);
    if (worst == NB_OK) {
        gather_bands(nf, ns, data, state, omega, all, all_state, all_omega);
        if (rank == 0) {
            st = nb_simulate_finish(exp, all, all_state, all_omega, log, img, err);
            all = NULL; /* taken over */
        }
    } else if (st == NB_OK) {
        snprintf(err->msg, sizeof err->msg, "rendering failed on another rank");
        st = worst;
    }
    free(data);
    free(state);
    free(omega);
    free(all);
    free(all_state);
    free(all_omega);
    return (nb_status)st;
}

/* ---------------------------------------------------------------- log */

static FILE *saved_stdout;
static char *captured;
static size_t captured_len;

void app_par_capture_begin(void)
{
    FILE *f;
    if (rank == 0 || saved_stdout)
        return;
    fflush(stdout);
    f = open_memstream(&captured, &captured_len);
    if (!f)
        return;
    saved_stdout = stdout;
    stdout = f;
}

char *app_par_capture_end(size_t *len)
{
    char *text;
    *len = 0;
    if (!saved_stdout)
        return NULL;
    fclose(stdout);
    stdout = saved_stdout;
    saved_stdout = NULL;
    text = captured;
    *len = captured_len;
    captured = NULL;
    captured_len = 0;
    return text;
}

/* ---------------------------------------------------------------- records */

int app_par_gather(int first, int count, const void *bytes, size_t n,
                   int (*take)(void *ctx, int image, const void *bytes, size_t n), void *ctx)
{
    int worst = 0;
    if (size == 1)
        return count > 0 ? take(ctx, first, bytes, n) : 0;
    if (rank > 0) {
        if (rank < count) {
            if (n > INT_MAX) {
                fprintf(stderr, "%s: error: image %d: a record of %zu bytes is too large to send\n", app_name(),
                        first + rank, n);
                mpi->abort(1);
            }
            mpi->send(bytes, (int)n, 0);
        }
        return 0;
    }
    if (count > 0)
        worst = take(ctx, first, bytes, n);
    for (int r = 1; r < count; ++r) {
        int len = mpi->probe(r), rc;
        char *buf;
        buf = malloc((size_t)len + 1);
        if (!buf) {
            fprintf(stderr, "%s: error: image %d: out of memory for its record\n", app_name(), first + r);
            mpi->abort(1);
        }
        mpi->recv(buf, len, r);
        rc = take(ctx, first + r, buf, (size_t)len);
        if (rc > worst)
            worst = rc;
        free(buf);
    }
    return worst;
}
