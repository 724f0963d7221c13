/*
 * mpi_module.h - the MPI calls of par_mpi.c, in the loadable module
 * libnanobragg-mpi.so (module/mpi.c, linked to MPI), which par_mpi.c loads
 * only when an MPI launcher started the process: the program links no MPI.
 * Every call but init, finalize and abort is collective or a message, and
 * made only by the main thread.
 */
#ifndef NB_APP_MPI_MODULE_H
#define NB_APP_MPI_MODULE_H

#include <stddef.h>

#define APP_MPI_MODULE_FILE "libnanobragg-mpi.so"
#define APP_MPI_MODULE_SYMBOL "app_mpi_module"
#define APP_MPI_MODULE_ABI 1 /* changes with this table */

/* The element types of app_mpi_ops.gatherv. */
typedef enum { APP_MPI_FLOAT, APP_MPI_UINT8, APP_MPI_DOUBLE } app_mpi_type;

typedef struct app_mpi_ops {
    int abi;             /* APP_MPI_MODULE_ABI */
    const char *version; /* NB_VERSION_STRING of the module's build */
    /* Join the job (MPI_THREAD_FUNNELED): this rank and the job's size;
       0, or -1 if MPI_Init failed. */
    int (*init)(int *argc, char ***argv, int *rank, int *size);
    void (*finalize)(void);
    /* End every rank with code (MPI_Abort). */
    void (*abort)(int code);
    /* Collective: the largest of every rank's v (waited for without taking
       a core). */
    int (*max_int)(int v);
    /* Collective: rank 0's n bytes at p on every rank (waited for so too). */
    void (*bcast)(void *p, int n);
    /* Collective: rank 0 gathers count elements of type from every rank
       into recv, rank r's at displs[r] (counts, displs, recv: rank 0's). */
    void (*gatherv)(const void *send, int count, app_mpi_type type, void *recv, const int *counts,
                    const int *displs);
    /* n bytes to rank dest (tag: one for every message). */
    void (*send)(const void *bytes, int n, int dest);
    /* The length of the next message from rank src (waits for it). */
    int (*probe)(int src);
    /* That message, into bytes (n: probe's length). */
    void (*recv)(void *bytes, int n, int src);
} app_mpi_ops;

#endif
