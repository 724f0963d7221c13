/*
 * pgm.c - 8-bit greyscale PGM (P5) output, with the header nanoBragg writes:
 * "P5\n<width> <height>\n# pixels scaled by <scale>\n255\n" and one byte per
 * pixel, fast-major.
 */
#include <stdint.h>
#include <stdio.h>

#include "fileout.h"
#include "nanobragg.h"
#include "util.h"

/*
 * Write width*height bytes to path under nanoBragg's P5 header (scale is
 * only recorded in the comment).  Written to a temporary and renamed into
 * place; NB_ERR_INVALID for a bad size, NB_ERR_IO (naming path) on failure.
 */
nb_status nb_write_pgm(const char *path, int width, int height, const uint8_t *bytes,
                       double scale, nb_error *err)
{
    char header[128];
    nb_fileout out;
    size_t n;
    int len;
    nb_status st;
    if (!path || !bytes || width <= 0 || height <= 0)
        return nbi_fail(err, NB_ERR_INVALID, "cannot write PGM %s: bad size %dx%d or no pixels",
                        path ? path : "(null)", width, height);
    n = nbi_checked_size((size_t)width, (size_t)height, 1, 1, SIZE_MAX);
    len = snprintf(header, sizeof header, "P5\n%d %d\n# pixels scaled by %g\n255\n", width,
                   height, scale);
    if (n == 0 || len < 0 || (size_t)len >= sizeof header)
        return nbi_fail(err, NB_ERR_RANGE, "cannot write PGM %s: image too large", path);
    st = nb_fileout_open(&out, path, err);
    if (st != NB_OK)
        return st;
    nb_fileout_write(&out, header, (size_t)len);
    nb_fileout_write(&out, bytes, n);
    return nb_fileout_commit(&out, err);
}
