/*
 * par_mpi.c - par.h over MPI.  MPI is initialised only when an MPI launcher
 * started the process (its environment says so), so that a plain run is
 * one process that never touches MPI.
 * OpenMP threads render within each rank; only the main thread calls MPI.
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mpi.h>

#include "options.h"
#include "par.h"

static int joined; /* MPI_Init was called */
static int rank, size = 1;
static char rank_name[64];

/* Whether a launcher started this process as a rank of a job. */
static int launched(void)
{
    static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE"};
    for (size_t i = 0; i < sizeof vars / sizeof *vars; ++i)
        if (getenv(vars[i]))
            return 1;
    return 0;
}

int app_par_init(int *argc, char ***argv)
{
    int provided;
    if (!launched())
        return 0;
    if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) {
        fprintf(stderr, "%s: error: MPI_Init failed\n", app_name());
        return 1;
    }
    joined = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
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
    char text[MPI_MAX_LIBRARY_VERSION_STRING];
    int len = 0;
    MPI_Get_library_version(text, &len); /* allowed before MPI_Init */
    text[len > 0 && len < (int)sizeof text ? len : 0] = '\0';
    printf("with MPI (mpirun -np R nanobragg ...): %.*s\n", (int)strcspn(text, ",\n"), text);
}

void app_par_end(void)
{
    if (joined)
        MPI_Finalize();
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

/*
 * Wait for req without taking a core: MPI's blocking calls poll, so a rank
 * that waits for a slower one (at the end of a round, or while rank 0
 * writes a split image's files) would use a core the whole time, taken from
 * the other ranks' threads or other work.  Polls for a millisecond (a wait
 * that is about to end), then sleeps between polls, up to a millisecond.
 * Used for the agreements, whose messages are small; the transfers of
 * image data follow an agreement, when every rank is ready for them.
 */
static void wait_gently(MPI_Request *req)
{
    struct timespec start, now, nap = {0, 20000};
    int done = 0;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        MPI_Test(req, &done, MPI_STATUS_IGNORE);
        if (done)
            return;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if ((now.tv_sec - start.tv_sec) * 1000000000L + (now.tv_nsec - start.tv_nsec) < 1000000L)
            continue;
        nanosleep(&nap, NULL);
        if (nap.tv_nsec < 1000000L)
            nap.tv_nsec *= 2;
    }
}

/* The largest of every rank's v, waited for gently. */
static int max_over_ranks(int v)
{
    MPI_Request req;
    int worst = v;
    MPI_Iallreduce(&v, &worst, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD, &req);
    wait_gently(&req);
    return worst;
}

int app_par_agree(int rc)
{
    int worst;
    if (size == 1)
        return rc;
    fflush(stdout);
    worst = max_over_ranks(rc);
    if (rank == 0 && rc == 0 && worst != 0)
        fprintf(stderr, "%s: error: stopped: another rank failed (exit %d)\n", app_name(), worst);
    return worst;
}

int app_par_from_root(int rc)
{
    MPI_Request req;
    if (size == 1)
        return rc;
    MPI_Ibcast(&rc, 1, MPI_INT, 0, MPI_COMM_WORLD, &req);
    wait_gently(&req);
    return rc;
}

long app_par_root_long(long v)
{
    MPI_Request req;
    if (size == 1)
        return v;
    MPI_Ibcast(&v, 1, MPI_LONG, 0, MPI_COMM_WORLD, &req);
    wait_gently(&req);
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
            MPI_Abort(MPI_COMM_WORLD, 1);
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
    MPI_Gatherv(data, (s1 - s0) * nf, MPI_FLOAT, all, pix, pix_at, MPI_FLOAT, 0, MPI_COMM_WORLD);
    MPI_Gatherv(state, (s1 - s0) * nf, MPI_UINT8_T, all_state, pix, pix_at, MPI_UINT8_T, 0, MPI_COMM_WORLD);
    MPI_Gatherv(omega, s1 - s0, MPI_DOUBLE, all_omega, rows, rows_at, MPI_DOUBLE, 0, MPI_COMM_WORLD);
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
    worst = max_over_ranks(st);
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

/* One tag for every record: messages between two ranks arrive in the order
   sent, and tags beyond 32767 are not guaranteed. */
#define RECORD_TAG 1

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
                MPI_Abort(MPI_COMM_WORLD, 1);
            }
            MPI_Send(bytes, (int)n, MPI_BYTE, 0, RECORD_TAG, MPI_COMM_WORLD);
        }
        return 0;
    }
    if (count > 0)
        worst = take(ctx, first, bytes, n);
    for (int r = 1; r < count; ++r) {
        MPI_Status status;
        int len, rc;
        char *buf;
        MPI_Probe(r, RECORD_TAG, MPI_COMM_WORLD, &status);
        MPI_Get_count(&status, MPI_BYTE, &len);
        buf = malloc((size_t)len + 1);
        if (!buf) {
            fprintf(stderr, "%s: error: image %d: out of memory for its record\n", app_name(), first + r);
            MPI_Abort(MPI_COMM_WORLD, 1);
        }
        MPI_Recv(buf, len, MPI_BYTE, r, RECORD_TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        rc = take(ctx, first + r, buf, (size_t)len);
        if (rc > worst)
            worst = rc;
        free(buf);
    }
    return worst;
}
