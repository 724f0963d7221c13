/*
 * tool_output.h - output files of the small tools (nanobragg-hkl-random,
 * nanobragg-png): written to a temporary beside the target (".<name>.XXXXXX")
 * and renamed into place only when complete, so that a failure (bad input
 * found late, disk full, a directory in the way) leaves neither a partial
 * file nor a stray temporary.  A target that exists and is not a regular
 * file or a directory (/dev/null, a FIFO) is written in place.
 */
#ifndef TOOL_OUTPUT_H
#define TOOL_OUTPUT_H

#include <stdio.h>

typedef struct tool_output {
    FILE *fp;   /* open for writing between open and commit/abort */
    char *path; /* target (owned copy) */
    char *tmp;  /* temporary (owned); NULL when written in place */
} tool_output;

/* Open a temporary for path.  Returns 0 (write to out->fp, then commit or
   abort) or an errno value with nothing created and out owning nothing. */
int tool_output_open(tool_output *out, const char *path);
/* Flush, close and rename into place, every step checked.  Returns 0, or an
   errno value after removing the temporary; out owns nothing afterwards. */
int tool_output_commit(tool_output *out);
/* Close and remove the temporary; safe after a failed open, commit or abort. */
void tool_output_abort(tool_output *out);

#endif
