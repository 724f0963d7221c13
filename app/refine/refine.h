/*
 * refine.h - the pieces of the nanobragg-refine program: the images it
 * reads (observed image, weights, mask) and the text file it writes.
 */
#ifndef NB_REFINE_H
#define NB_REFINE_H

#include <stddef.h>

#include "nanobragg.h"

/* What a pixel file's values are read as. */
typedef enum {
    IMG_PHOTONS, /* observed photons: SMV counts less the ADC offset, or raw floats */
    IMG_WEIGHTS, /* raw floats only, >= 0 */
    IMG_MASK     /* non-zero: the pixel counts; SMV counts or raw floats */
} image_kind;

/*
 * Read the file path, given by flag, as fpixels x spixels values of kind:
 * an SMV image (the file starts "{\nHEADER_BYTES=") or fpixels*spixels
 * little-endian 4-byte floats with no header (what -floatfile writes).  For
 * IMG_PHOTONS an SMV pixel is its count less adc, and a saturated one
 * (65535) is left out: *skip (allocated, 1 per pixel left out) and
 * *nskipped say which; otherwise *skip is NULL.  Values must be finite, and
 * for weights not negative.  On success *values (caller frees) holds the
 * values, fast index fastest, and 0 is returned; otherwise a message naming
 * flag and path is printed (a size that does not match the detector names
 * both sizes) and 1 is returned, nothing allocated.
 */
int read_pixel_file(const char *flag, const char *path, image_kind kind, int fpixels, int spixels,
                    double adc, float **values, unsigned char **skip, size_t *nskipped);

/*
 * Stage text (len bytes) for path as the output writers do: whole, into a
 * temporary beside it (".<name>.XXXXXX", mode 0666 & ~umask), renamed over
 * path by text_publish; a path that exists and is neither a regular file
 * nor a directory (/dev/stdout) is written in place by text_publish.
 * text_discard removes an unpublished temporary.  NB_OK, or NB_ERR_IO /
 * NB_ERR_NOMEM with err naming path.
 */
typedef struct staged_text {
    const char *path;
    char *temp;   /* the temporary, or NULL when written in place */
    const char *text;
    size_t len;
} staged_text;
nb_status text_stage(staged_text *t, const char *path, const char *text, size_t len, nb_error *err);
nb_status text_publish(staged_text *t, nb_error *err);
void text_discard(staged_text *t);

#endif
