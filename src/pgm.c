/*
 * pgm.c - 8-bit greyscale PGM (P5) output, with the header nanoBragg writes:
 * "P5\n<width> <height>\n# pixels scaled by <scale>\n255\n" and one byte per
 * pixel, fast-major.  Staged into an output set (nb_outputs_add_pgm) or
 * written alone (nb_write_pgm).
 */
#include <stdint.h>
#include <stdio.h>

#include "fileout.h"
#include "nanobragg.h"
#include "util.h"

/* Check the arguments and format the header into header[cap]: its length
   in *len, the pixel bytes in *n. */
static nb_status format_pgm(const char *path, int width, int height, const uint8_t *bytes,
                            double scale, char *header, size_t cap, int *len, size_t *n,
                            nb_error *err)
{
    if (!path || !bytes || width <= 0 || height <= 0)
        return nbi_fail(err, NB_ERR_INVALID, "cannot write PGM %s: bad size %dx%d or no pixels",
                        path ? path : "(null)", width, height);
    *n = nbi_checked_size((size_t)width, (size_t)height, 1, 1, SIZE_MAX);
    *len = snprintf(header, cap, "P5\n%d %d\n# pixels scaled by %g\n255\n", width, height, scale);
    if (*n == 0 || *len < 0 || (size_t)*len >= cap)
        return nbi_fail(err, NB_ERR_RANGE, "cannot write PGM %s: image too large", path);
    return NB_OK;
}

/* Contract in nanobragg.h (nb_outputs_add_pgm). */
nb_status nb_outputs_add_pgm(nb_outputs *set, const char *path, int width, int height,
                             const uint8_t *bytes, double scale, nb_error *err)
{
    char header[128];
    nbi_fileout *out = NULL;
    size_t n = 0;
    int len = 0;
    nb_status st = format_pgm(path, width, height, bytes, scale, header, sizeof header, &len, &n,
                              err);
    if (st == NB_OK)
        st = nbi_outputs_begin(set, path, &out, err);
    if (st != NB_OK)
        return nbi_outputs_spoil(set, st);
    nbi_fileout_write(out, header, (size_t)len);
    nbi_fileout_write(out, bytes, n);
    return nbi_outputs_end(set, out, err);
}

/* Contract in nanobragg.h: a set of one. */
nb_status nb_write_pgm(const char *path, int width, int height, const uint8_t *bytes,
                       double scale, nb_error *err)
{
    nb_outputs *set;
    nb_status st = nbi_output_one(path, &set, err);
    if (st == NB_OK)
        st = nb_outputs_add_pgm(set, path, width, height, bytes, scale, err);
    return nbi_output_one_done(set, st, err);
}
