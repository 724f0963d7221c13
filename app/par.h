/*
 * par.h - the processes of one run.  Built with MPI (par_mpi.c), nanobragg
 * started by an MPI launcher (mpirun, srun) is one of several ranks, and
 * one process otherwise; built without (par_none.c), always one process.
 * Everything MPI stays behind these functions.
 *
 * How the ranks share the work:
 *   a series (-nimages N >= 2): image k is rendered and its files written
 *     by rank (k - 1) mod R, in rounds of R images; what belongs to the
 *     whole series (the -matrixfile text, the printed log) goes to rank 0,
 *     which adds it in image order (app_par_gather);
 *   one image (no -nimages, or -nimages 1): each rank renders a band of
 *     rows (nb_simulate_rows), rank 0 assembles them, finishes the image
 *     (nb_simulate_finish: nanoBragg's serial-order effects, statistics)
 *     and writes every file (app_par_simulate).
 * Files, images and numbers are those of one process, bit for bit.
 *
 * Every function marked collective must be called by every rank, in the
 * same order; a rank that fails goes on to the next agreement with its
 * exit code, so that all stop together (app_par_agree).
 */
#ifndef NB_APP_PAR_H
#define NB_APP_PAR_H

#include <stddef.h>

#include "nanobragg.h"

/* Start: under an MPI launcher (its environment: OMPI_COMM_WORLD_SIZE,
   PMIX_RANK, PMI_RANK, PMI_SIZE) join the job; otherwise one process that
   never touches MPI.  Ranks other than 0 send their standard output nowhere
   (rank 0 prints the run's log) and name themselves "nanobragg (rank r)" in
   messages.  Built without MPI, a launcher's job of several processes is
   refused (each would make every file).  0, or 1 after printing why not. */
int app_par_init(int *argc, char ***argv);
/* A line for --version: the MPI library, or that there is none. */
void app_par_print_version(void);
/* Leave the job (every rank, after its last collective call). */
void app_par_end(void);
int app_par_rank(void);
int app_par_size(void);

/* Collective: the worst exit code of every rank (the largest), so that all
   stop together; rank 0 says so when only other ranks failed. */
int app_par_agree(int rc);
/* Collective: rank 0's value on every rank (checks made once, on rank 0). */
int app_par_from_root(int rc);

/* Collective: rank 0's v on every rank. */
long app_par_root_long(long v);

/* Whether one image is split over the ranks by rows: several ranks and a
   series of nimages <= 1 (0: no -nimages). */
int app_par_split_rows(int nimages);

/* split (app_par_split_rows): collective, exp may be NULL on a rank whose
   set-up failed (all then fail); 0: nb_simulate.  Split: rank 0's *img is the
   whole image with nb_simulate's values; other ranks return NB_OK with
   img->data NULL (nothing to write). */
NB_WARN_UNUSED nb_status app_par_simulate(const nb_experiment *exp, int split, const nb_log *log, nb_image *img,
                                          nb_error *err);

/* What ranks other than 0 print while they render an image (their standard
   output), kept to be printed by rank 0 in image order: begin, then end
   returns the text (caller frees; NULL and *len 0 on rank 0, where nothing
   is kept, or when the text could not be kept). */
void app_par_capture_begin(void);
char *app_par_capture_end(size_t *len);

/* Collective: the per-image records of one round of a series, images
   first .. first + count - 1, image first + r from rank r.  Each rank
   gives its record (bytes, n; count <= r: none); rank 0 gets each in image
   order through take(ctx, image, bytes, n), its own included, and the
   worst of take's return values.  Other ranks return 0.  1 after printing
   why if a record could not be moved (memory). */
int app_par_gather(int first, int count, const void *bytes, size_t n,
                   int (*take)(void *ctx, int image, const void *bytes, size_t n), void *ctx);

#endif
