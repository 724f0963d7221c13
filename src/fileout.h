/*
 * fileout.h - safe output files: write to a temporary file in the target's
 * directory, then rename it over the target, so that no failure (disk full,
 * permission, a directory in the way) leaves a partial file or a stray temporary.
 */
#ifndef NB_FILEOUT_H
#define NB_FILEOUT_H

#include <stddef.h>
#include <stdio.h>

#include "nanobragg.h"

typedef struct nb_fileout {
    FILE *fp;
    char *path;     /* final name (owned copy) */
    char *tmp_path; /* temporary name (owned) */
    int failed;
} nb_fileout;

/* Open a temporary beside path.  Fails (nothing created) if path is a
   directory or its directory is not writable. */
NB_WARN_UNUSED nb_status nb_fileout_open(nb_fileout *f, const char *path, nb_error *err);
/* Append bytes; a failure is remembered and reported by commit. */
void nb_fileout_write(nb_fileout *f, const void *data, size_t n);
/* Flush, fsync-free close and rename into place; on any failure remove the
   temporary and report it naming path. */
NB_WARN_UNUSED nb_status nb_fileout_commit(nb_fileout *f, nb_error *err);
/* Remove the temporary (for error paths). */
void nb_fileout_abort(nb_fileout *f);

#endif
