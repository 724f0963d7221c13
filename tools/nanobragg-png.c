/*
 * nanobragg-png.c - an 8-bit grayscale PNG preview of a nanobragg image.
 *
 *   nanobragg-png [--size WIDTH HEIGHT] [--percentile P] [--map sqrt|log|linear]
 *                 [--white-on-black] INPUT OUTPUT.png
 *
 * INPUT is an SMV image (.img: the size comes from its header) or, with
 * --size, a raw float image (-floatfile: little-endian float32, fast axis
 * first, exactly WIDTH*HEIGHT values).  As in adxv, spots are dark on white
 * (--white-on-black swaps): the median pixel (the background) and anything
 * below it are white, the P-th percentile (default 99.9) and anything above
 * it black, and the values between are graded on a sqrt scale (default),
 * log or linear, so that weak high-resolution spots stay visible next to
 * strong low-resolution ones.  NaN pixels count as background.
 *
 * Exit status: 0 written, 1 I/O error (unreadable input, malformed SMV,
 * wrong size, cannot write), 2 usage.  The PNG is written to a temporary and
 * renamed, so no half file is left.
 */
#include <errno.h>
#include <math.h>
#include <png.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nanobragg.h"
#include "fileout.h"

#define PROG "nanobragg-png"
#define EXIT_IO 1
#define EXIT_USAGE 2
#define MAX_SIDE 1000000L
#define LOG_RANGE 1000.0 /* --map log: full scale spans 3 decades */

typedef enum { MAP_SQRT, MAP_LOG, MAP_LINEAR } display_map;

typedef struct {
    long width, height; /* --size; 0 for an SMV input */
    double percentile;
    display_map map;
    int white_on_black;
    const char *in, *out;
} options;

typedef struct {
    float *v; /* width*height pixels, fast axis first; owned */
    long width, height;
} image;

/* ---------------------------------------------------------------- parsing */

static int usage(FILE *fp)
{
    fprintf(fp, "usage: " PROG " [--size WIDTH HEIGHT] [--percentile P] [--map sqrt|log|linear]\n"
                "                     [--white-on-black] INPUT OUTPUT.png\n"
                "  INPUT: an SMV image, or with --size a raw float32 image (-floatfile)\n"
                "  black from the P-th percentile up (default 99.9), white at the median\n");
    return fp == stdout ? 0 : EXIT_USAGE;
}

static int parse_side(const char *text, long *v)
{
    char *end;
    errno = 0;
    *v = strtol(text, &end, 10);
    if (end == text || *end != '\0' || errno == ERANGE || *v < 1 || *v > MAX_SIDE) {
        fprintf(stderr, PROG ": --size: '%s' is not a whole number from 1 to %ld\n", text,
                MAX_SIDE);
        return -1;
    }
    return 0;
}

static int parse_percentile(const char *text, double *v)
{
    char *end;
    *v = strtod(text, &end);
    if (end == text || *end != '\0' || !(*v > 0 && *v <= 100)) {
        fprintf(stderr, PROG ": --percentile: '%s' is not a number in (0, 100]\n", text);
        return -1;
    }
    return 0;
}

static int parse_map(const char *text, display_map *map)
{
    static const char *const names[] = {"sqrt", "log", "linear"};
    int k;
    for (k = 0; k < 3; k++)
        if (strcmp(text, names[k]) == 0) {
            *map = (display_map)k;
            return 0;
        }
    fprintf(stderr, PROG ": --map: '%s' is not sqrt, log or linear\n", text);
    return -1;
}

/* One flag at argv[*i] and its values; advances *i past them. */
static int parse_flag(int argc, char **argv, int *i, options *o)
{
    const char *flag = argv[*i];
    int n = strcmp(flag, "--size") == 0 ? 2 : strcmp(flag, "--white-on-black") == 0 ? 0 : 1;
    if (n == 1 && strcmp(flag, "--percentile") != 0 && strcmp(flag, "--map") != 0) {
        fprintf(stderr, PROG ": unknown option '%s'\n", flag);
        return -1;
    }
    if (argc - *i - 1 < n) {
        fprintf(stderr, PROG ": %s needs %d value%s\n", flag, n, n == 1 ? "" : "s");
        return -1;
    }
    *i += n;
    if (n == 0)
        o->white_on_black = 1;
    else if (n == 2)
        return parse_side(argv[*i - 1], &o->width) || parse_side(argv[*i], &o->height) ? -1 : 0;
    else if (strcmp(flag, "--map") == 0)
        return parse_map(argv[*i], &o->map);
    else
        return parse_percentile(argv[*i], &o->percentile);
    return 0;
}

static int parse_args(int argc, char **argv, options *o)
{
    int i;
    memset(o, 0, sizeof *o);
    o->percentile = 99.9;
    o->map = MAP_SQRT;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            exit(0);
        }
        if (a[0] == '-' && a[1] != '\0') {
            if (parse_flag(argc, argv, &i, o) != 0)
                return -1;
        } else if (!o->in) {
            o->in = a;
        } else if (!o->out) {
            o->out = a;
        } else {
            fprintf(stderr, PROG ": one INPUT and one OUTPUT only (then '%s')\n", a);
            return -1;
        }
    }
    if (!o->out) {
        fprintf(stderr, PROG ": %s is required\n", o->in ? "an OUTPUT.png" : "an INPUT image");
        return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------- input */

/* The size of the open file in bytes, or -1 (errno set). */
static long file_size(FILE *fp)
{
    long size;
    if (fseek(fp, 0, SEEK_END) != 0 || (size = ftell(fp)) < 0 || fseek(fp, 0, SEEK_SET) != 0)
        return -1;
    return size;
}

/* A raw little-endian float32 image of exactly width*height values. */
static int read_float_image(const char *path, long width, long height, image *img)
{
    size_t n = (size_t)width * (size_t)height, i;
    unsigned char *raw = NULL;
    FILE *fp = fopen(path, "rb");
    long size = fp ? file_size(fp) : -1;
    int rc = -1;
    if (size < 0) {
        fprintf(stderr, PROG ": cannot read %s: %s\n", path, strerror(errno));
        goto done;
    }
    if (size % 4 != 0 || (unsigned long)size / 4 != n) {
        fprintf(stderr, PROG ": %s: %ld bytes, not %ld x %ld float32 values (--size)\n", path,
                size, width, height);
        goto done;
    }
    raw = malloc(4 * n);
    img->v = malloc(n * sizeof *img->v);
    if (!raw || !img->v) {
        fprintf(stderr, PROG ": %s: out of memory\n", path);
        goto done;
    }
    if (fread(raw, 4, n, fp) != n) {
        fprintf(stderr, PROG ": cannot read %s: %s\n", path, ferror(fp) ? strerror(errno)
                                                                       : "file shrank");
        goto done;
    }
    for (i = 0; i < n; i++) {
        const unsigned char *b = raw + 4 * i;
        uint32_t u = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
                     (uint32_t)b[3] << 24;
        memcpy(&img->v[i], &u, sizeof u);
    }
    img->width = width;
    img->height = height;
    rc = 0;
done:
    if (fp)
        fclose(fp);
    free(raw);
    return rc;
}

/* An SMV image; its size from the header. */
static int read_smv_image(const char *path, image *img)
{
    nb_smv_frame frame;
    nb_error err;
    size_t n, i;
    if (nb_smv_read(path, &frame, &err) != NB_OK) {
        fprintf(stderr, PROG ": %s (a raw float image needs --size WIDTH HEIGHT)\n", err.msg);
        return -1;
    }
    n = (size_t)frame.width * (size_t)frame.height;
    img->v = malloc(n * sizeof *img->v);
    if (!img->v) {
        fprintf(stderr, PROG ": %s: out of memory\n", path);
        nb_smv_frame_free(&frame);
        return -1;
    }
    for (i = 0; i < n; i++)
        img->v[i] = frame.data[i];
    img->width = frame.width;
    img->height = frame.height;
    nb_smv_frame_free(&frame);
    return 0;
}

/* ---------------------------------------------------------------- mapping */

static int compare_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* The display range: *white = the median, *black = the P-th percentile of
   the pixels that are not NaN (the maximum if that is no higher). */
static int display_range(const image *img, double percentile, double *white, double *black)
{
    size_t n = (size_t)img->width * (size_t)img->height, m = 0, i, k;
    float *s = malloc(n * sizeof *s);
    if (!s)
        return -1;
    for (i = 0; i < n; i++)
        if (!isnan(img->v[i]))
            s[m++] = img->v[i];
    *white = *black = 0;
    if (m > 0) {
        qsort(s, m, sizeof *s, compare_float);
        k = (size_t)ceil(percentile / 100 * (double)m);
        *white = s[(m - 1) / 2];
        *black = s[k > 0 ? k - 1 : 0];
        if (!(*black > *white))
            *black = s[m - 1];
    }
    free(s);
    return 0;
}

static unsigned char gray_level(float v, double white, double black, const options *o)
{
    double t = isnan(v) || !(black > white) ? 0 : (v - white) / (black - white);
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    if (o->map == MAP_SQRT)
        t = sqrt(t);
    else if (o->map == MAP_LOG)
        t = log1p((LOG_RANGE - 1) * t) / log(LOG_RANGE);
    if (!o->white_on_black)
        t = 1 - t;
    return (unsigned char)lround(255 * t);
}

/* ---------------------------------------------------------------- output */

static int write_png(const char *path, const unsigned char *gray, const image *img)
{
    png_image png;
    nbi_fileout out = {0};
    nb_error err;
    if (nbi_fileout_open(&out, path, &err) != NB_OK) {
        fprintf(stderr, PROG ": %s\n", err.msg);
        return -1;
    }
    memset(&png, 0, sizeof png);
    png.version = PNG_IMAGE_VERSION;
    png.width = (png_uint_32)img->width;
    png.height = (png_uint_32)img->height;
    png.format = PNG_FORMAT_GRAY;
    if (!png_image_write_to_stdio(&png, out.fp, 0, gray, 0, NULL)) {
        fprintf(stderr, PROG ": cannot write %s: %s\n", path, png.message);
        nbi_fileout_abort(&out);
        return -1;
    }
    if (nbi_fileout_commit(&out, &err) != NB_OK) {
        fprintf(stderr, PROG ": %s\n", err.msg);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    options o;
    image img = {NULL, 0, 0};
    unsigned char *gray = NULL;
    double white, black;
    size_t n, i;
    int rc = EXIT_IO;
    if (parse_args(argc, argv, &o) != 0)
        return EXIT_USAGE;
    if ((o.width ? read_float_image(o.in, o.width, o.height, &img)
                 : read_smv_image(o.in, &img)) != 0)
        goto done;
    n = (size_t)img.width * (size_t)img.height;
    gray = malloc(n);
    if (!gray || display_range(&img, o.percentile, &white, &black) != 0) {
        fprintf(stderr, PROG ": %s: out of memory\n", o.in);
        goto done;
    }
    for (i = 0; i < n; i++)
        gray[i] = gray_level(img.v[i], white, black, &o);
    if (write_png(o.out, gray, &img) != 0)
        goto done;
    printf("%s: %ld x %ld, %s at %g (median) %s at %g (%g%%), %s scale\n", o.out, img.width,
           img.height, o.white_on_black ? "black" : "white", white,
           o.white_on_black ? "to white" : "to black", black, o.percentile,
           o.map == MAP_SQRT ? "sqrt" : o.map == MAP_LOG ? "log" : "linear");
    rc = 0;
done:
    free(gray);
    free(img.v);
    return rc;
}
