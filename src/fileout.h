/*
 * fileout.h - safe output files: write to a temporary file in the target's
 * directory, then rename it over the target, so that no failure (disk full,
 * permission, a directory in the way) leaves a partial file or a stray temporary.
 *
 * One file goes through three steps: open (creates the temporary), write,
 * finish (flush and close, every step checked) and publish (rename into
 * place); nbi_fileout_commit does the last two at once.  The output sets of
 * nanobragg.h (nb_outputs) finish each member when it is added and publish
 * them all together, so that a set of outputs is written all or nothing.
 */
#ifndef NB_FILEOUT_H
#define NB_FILEOUT_H

#include <stddef.h>
#include <stdio.h>

#include "nanobragg.h"

typedef struct nbi_fileout {
    FILE *fp;       /* open while writing; NULL once finished */
    char *path;     /* final name (owned copy); NULL once published or aborted */
    char *tmp_path; /* temporary name (owned); NULL when written in place */
    int failed;     /* errno of the first failed write, else 0 */
    int created;    /* the target did not exist when it was opened */
} nbi_fileout;

/* Open a temporary beside path.  Fails (nothing created) if path is a
   directory or its directory is not writable.  A target that exists and is
   neither a regular file nor a directory (/dev/null, a FIFO) is opened in
   place.  On NB_OK end with commit, or finish then publish, or abort. */
NB_WARN_UNUSED nb_status nbi_fileout_open(nbi_fileout *f, const char *path, nb_error *err);
/* Append bytes; a failure is remembered and reported by finish/commit. */
void nbi_fileout_write(nbi_fileout *f, const void *data, size_t n);
/* Flush and close, checking every step: NB_OK with the complete temporary
   still unpublished, or NB_ERR_IO naming the target after removing the
   temporary (f then owns nothing). */
NB_WARN_UNUSED nb_status nbi_fileout_finish(nbi_fileout *f, nb_error *err);
/* Rename a finished temporary over its target: NB_OK, or NB_ERR_IO naming
   the target after removing the temporary; either way f owns nothing after. */
NB_WARN_UNUSED nb_status nbi_fileout_publish(nbi_fileout *f, nb_error *err);
/* finish, then publish. */
NB_WARN_UNUSED nb_status nbi_fileout_commit(nbi_fileout *f, nb_error *err);
/* Close and remove the temporary, open or finished (for error paths); safe
   on a zeroed f, twice, or after a failed open. */
void nbi_fileout_abort(nbi_fileout *f);

/* ------------------------------------------- output sets (nanobragg.h) */

/* For the nb_outputs_add_* writers: check path against the set (NULL set,
   an earlier failure, or a member that is the same file: NB_ERR_INVALID) and
   open a new member on it.  On NB_OK *out is open for nbi_fileout_write and
   stays valid until nbi_outputs_end. */
NB_WARN_UNUSED nb_status nbi_outputs_begin(nb_outputs *set, const char *path, nbi_fileout **out,
                                           nb_error *err);
/* Finish the member begin returned; on failure it is removed and the set
   spoiled (publish will refuse it). */
NB_WARN_UNUSED nb_status nbi_outputs_end(nb_outputs *set, nbi_fileout *f, nb_error *err);
/* Mark set (may be NULL) as failed and return status: for an add that fails
   before it calls begin (a bad size, say). */
nb_status nbi_outputs_spoil(nb_outputs *set, nb_status status);

/* The nb_write_* functions are sets of one output: nbi_output_one makes the
   set (*set is NULL and an error is returned if it cannot), and
   nbi_output_one_done publishes it if st is NB_OK, frees it and returns the
   final status. */
NB_WARN_UNUSED nb_status nbi_output_one(const char *path, nb_outputs **set, nb_error *err);
NB_WARN_UNUSED nb_status nbi_output_one_done(nb_outputs *set, nb_status st, nb_error *err);

#endif
