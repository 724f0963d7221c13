/*
 * mpi.c - the module libnanobragg-mpi.so: par_mpi.c's MPI calls
 * (mpi_module.h) over the MPI library it links.  OpenMP threads render
 * within each rank; only the main thread calls these.
 */
#include <mpi.h>
#include <stdint.h>
#include <time.h>

#include "mpi_module.h"
#include "nanobragg.h"

/* One tag for every record: messages between two ranks arrive in the order
   sent, and tags beyond 32767 are not guaranteed. */
#define RECORD_TAG 1

static int init(int *argc, char ***argv, int *rank, int *size)
{
    int provided;
    if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
        return -1;
    MPI_Comm_rank(MPI_COMM_WORLD, rank);
    MPI_Comm_size(MPI_COMM_WORLD, size);
    return 0;
}

static void finalize(void) { MPI_Finalize(); }

static void abort_all(int code) { MPI_Abort(MPI_COMM_WORLD, code); }

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

static int max_int(int v)
{
    MPI_Request req;
    int worst = v;
    MPI_Iallreduce(&v, &worst, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD, &req);
    wait_gently(&req);
    return worst;
}

static void bcast(void *p, int n)
{
    MPI_Request req;
    MPI_Ibcast(p, n, MPI_BYTE, 0, MPI_COMM_WORLD, &req);
    wait_gently(&req);
}

static void gatherv(const void *send, int count, app_mpi_type type, void *recv, const int *counts, const int *displs)
{
    MPI_Datatype t = type == APP_MPI_FLOAT ? MPI_FLOAT : type == APP_MPI_UINT8 ? MPI_UINT8_T : MPI_DOUBLE;
    MPI_Gatherv(send, count, t, recv, counts, displs, t, 0, MPI_COMM_WORLD);
}

static void send_bytes(const void *bytes, int n, int dest)
{
    MPI_Send(bytes, n, MPI_BYTE, dest, RECORD_TAG, MPI_COMM_WORLD);
}

static int probe_bytes(int src)
{
    MPI_Status status;
    int len = 0;
    MPI_Probe(src, RECORD_TAG, MPI_COMM_WORLD, &status);
    MPI_Get_count(&status, MPI_BYTE, &len);
    return len;
}

static void recv_bytes(void *bytes, int n, int src)
{
    MPI_Recv(bytes, n, MPI_BYTE, src, RECORD_TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
}

__attribute__((visibility("default"))) extern const app_mpi_ops app_mpi_module;
const app_mpi_ops app_mpi_module = {APP_MPI_MODULE_ABI, NB_VERSION_STRING, init, finalize, abort_all, max_int,
                                    bcast, gatherv, send_bytes, probe_bytes, recv_bytes};
