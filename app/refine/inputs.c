/*
 * inputs.c - the pixel files of nanobragg-refine: the observed image, the
 * weights and the mask, each an SMV image or raw 4-byte floats, of the
 * detector's size.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "app.h"
#include "refine.h"

#define SMV_MAGIC "{\nHEADER_BYTES="
#define SMV_OVERLOAD 65535

static int say_error(const char *flag, const char *path, const char *what)
{
    fflush(stdout);
    fprintf(stderr, "%s: error: %s %s: %s\n", app_name(), flag, path, what);
    return 1;
}

/* 1 if the file starts as an SMV image, 0 if not, -1 (errno) if it cannot
   be read. */
static int is_smv(const char *path)
{
    char head[sizeof SMV_MAGIC - 1];
    FILE *fp = fopen(path, "rb");
    size_t n;
    int e;
    if (!fp)
        return -1;
    n = fread(head, 1, sizeof head, fp);
    e = ferror(fp) ? errno : 0;
    fclose(fp);
    if (e) {
        errno = e;
        return -1;
    }
    return n == sizeof head && memcmp(head, SMV_MAGIC, sizeof head) == 0;
}

static int read_smv(const char *flag, const char *path, image_kind kind, int fpixels, int spixels, double adc,
                    float *v, unsigned char **skip, size_t *nskipped)
{
    nb_smv_frame fr = {0};
    nb_error err;
    char msg[256];
    const size_t n = (size_t)fpixels * (size_t)spixels;
    if (kind == IMG_WEIGHTS)
        return say_error(flag, path, "an SMV image; weights are raw 4-byte floats (as -floatfile writes)");
    if (nb_smv_read(path, &fr, &err) != NB_OK) {
        fflush(stdout);
        fprintf(stderr, "%s: error: %s %s\n", app_name(), flag, err.msg);
        return 1;
    }
    if (fr.width != fpixels || fr.height != spixels) {
        snprintf(msg, sizeof msg, "the image is %dx%d pixels, the detector %dx%d (fast x slow)", fr.width,
                 fr.height, fpixels, spixels);
        nb_smv_frame_free(&fr);
        return say_error(flag, path, msg);
    }
    for (size_t i = 0; i < n; ++i) {
        const uint16_t c = fr.data[i];
        if (kind == IMG_MASK) {
            v[i] = c != 0;
            continue;
        }
        v[i] = (float)((double)c - adc);
        if (c == SMV_OVERLOAD) {
            if (!*skip && !(*skip = calloc(n, 1))) {
                nb_smv_frame_free(&fr);
                return say_error(flag, path, "out of memory");
            }
            (*skip)[i] = 1;
            ++*nskipped;
        }
    }
    nb_smv_frame_free(&fr);
    return 0;
}

/* Little-endian float32, as the library's float writer stores them. */
static float le_float(const unsigned char *b)
{
    const uint32_t u = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static int read_raw(const char *flag, const char *path, int fpixels, int spixels, float *v)
{
    const size_t n = (size_t)fpixels * (size_t)spixels, want = n * 4;
    unsigned char *bytes = malloc(want + 1);
    char msg[320];
    struct stat sb;
    size_t got;
    int extra, regular;
    FILE *fp;
    if (!bytes)
        return say_error(flag, path, "out of memory");
    fp = fopen(path, "rb");
    if (!fp) {
        free(bytes);
        return say_error(flag, path, strerror(errno));
    }
    regular = fstat(fileno(fp), &sb) == 0 && S_ISREG(sb.st_mode);
    got = fread(bytes, 1, want + 1, fp);
    extra = got > want;
    if (ferror(fp)) {
        snprintf(msg, sizeof msg, "read error: %s", strerror(errno));
        fclose(fp);
        free(bytes);
        return say_error(flag, path, msg);
    }
    fclose(fp);
    if (got != want) {
        if (regular)
            snprintf(msg, sizeof msg,
                     "%lld bytes; the detector's %dx%d pixels (fast x slow) take %zu bytes of 4-byte floats "
                     "(or an SMV image)",
                     (long long)sb.st_size, fpixels, spixels, want);
        else
            snprintf(msg, sizeof msg,
                     "%s %zu bytes; the detector's %dx%d pixels (fast x slow) take %zu bytes of 4-byte floats",
                     extra ? "more than" : "only", extra ? want : got, fpixels, spixels, want);
        free(bytes);
        return say_error(flag, path, msg);
    }
    for (size_t i = 0; i < n; ++i)
        v[i] = le_float(bytes + 4 * i);
    free(bytes);
    return 0;
}

int read_pixel_file(const char *flag, const char *path, image_kind kind, int fpixels, int spixels, double adc,
                    float **values, unsigned char **skip, size_t *nskipped)
{
    const size_t n = (size_t)fpixels * (size_t)spixels;
    float *v;
    struct stat sb;
    int smv, rc;
    *values = NULL;
    *skip = NULL;
    *nskipped = 0;
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
        return say_error(flag, path, "is a directory");
    if (!(v = malloc(n * sizeof *v)))
        return say_error(flag, path, "out of memory");
    smv = is_smv(path);
    if (smv < 0) {
        free(v);
        return say_error(flag, path, strerror(errno));
    }
    rc = smv ? read_smv(flag, path, kind, fpixels, spixels, adc, v, skip, nskipped)
             : read_raw(flag, path, fpixels, spixels, v);
    for (size_t i = 0; i < n && !rc; ++i) {
        char msg[200];
        if (isfinite(v[i]) && !(kind == IMG_WEIGHTS && v[i] < 0.0f))
            continue;
        snprintf(msg, sizeof msg, "pixel (%zu, %zu) is %g (%s)", i % (size_t)fpixels, i / (size_t)fpixels,
                 (double)v[i], kind == IMG_WEIGHTS ? "weights must be finite and not negative" : "not finite");
        rc = say_error(flag, path, msg);
    }
    if (rc) {
        free(v);
        free(*skip);
        *skip = NULL;
        *nskipped = 0;
        return rc;
    }
    *values = v;
    return 0;
}
