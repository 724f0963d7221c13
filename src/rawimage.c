/*
 * rawimage.c - the raw float image (-floatfile): n little-endian IEEE-754
 * float32 values, fast-major, no header; staged into an output set
 * (nb_outputs_add_float) or written alone (nb_write_float).
 */
#include <stdint.h>
#include <string.h>

#include "fileout.h"
#include "nanobragg.h"
#include "util.h"

#define SWAP_CHUNK 4096

static int host_is_big_endian(void)
{
    const uint16_t one = 1;
    unsigned char first;
    memcpy(&first, &one, 1);
    return first == 0;
}

/* Write n floats byte-reversed (big-endian hosts), a chunk at a time. */
static void write_swapped(nbi_fileout *out, const float *data, size_t n)
{
    unsigned char buf[SWAP_CHUNK * 4];
    while (n > 0) {
        size_t k = n < SWAP_CHUNK ? n : SWAP_CHUNK, i;
        const unsigned char *src = (const unsigned char *)data;
        for (i = 0; i < 4 * k; i += 4) {
            buf[i] = src[i + 3];
            buf[i + 1] = src[i + 2];
            buf[i + 2] = src[i + 1];
            buf[i + 3] = src[i];
        }
        nbi_fileout_write(out, buf, 4 * k);
        data += k;
        n -= k;
    }
}

/* Check the arguments of a float output. */
static nb_status check_float(const char *path, const float *data, size_t n, nb_error *err)
{
    if (!path || (!data && n > 0))
        return nbi_fail(err, NB_ERR_INVALID, "cannot write float image: missing path or data");
    if (nbi_checked_size(n ? n : 1, 1, 1, sizeof *data, SIZE_MAX) == 0)
        return nbi_fail(err, NB_ERR_RANGE, "cannot write %s: image too large", path);
    return NB_OK;
}

/* Contract in nanobragg.h (nb_outputs_add_float). */
nb_status nb_outputs_add_float(nb_outputs *set, const char *path, const float *data, size_t n,
                               nb_error *err)
{
    nbi_fileout *out = NULL;
    nb_status st = check_float(path, data, n, err);
    if (st == NB_OK)
        st = nbi_outputs_begin(set, path, &out, err);
    if (st != NB_OK)
        return nbi_outputs_spoil(set, st);
    if (host_is_big_endian())
        write_swapped(out, data, n);
    else
        nbi_fileout_write(out, data, n * sizeof *data);
    return nbi_outputs_end(set, out, err);
}

/* Contract in nanobragg.h: a set of one. */
nb_status nb_write_float(const char *path, const float *data, size_t n, nb_error *err)
{
    nb_outputs *set;
    nb_status st = nbi_output_one(path, &set, err);
    if (st == NB_OK)
        st = nb_outputs_add_float(set, path, data, n, err);
    return nbi_output_one_done(set, st, err);
}
