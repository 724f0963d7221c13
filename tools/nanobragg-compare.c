/*
 * nanobragg-compare.c - compare an output of nanobragg with a reference file,
 * with the tolerances of the reference corpus (tests/reference/SOURCE-README.md).
 *
 *   nanobragg-compare [--quiet] [--bitwise] [--pearson R] [--sum-rel X] [--max-rel X]
 *                     EXPECTED ACTUAL
 *
 * The kind of file comes from EXPECTED's name (*.bin float image, *.img SMV,
 * *.pgm PGM; an SMV whose basename starts with "noise" is a noise image), or
 * failing that from its content.  Pass criteria:
 *   float  same size, no NaN/Inf, Pearson r >= 0.999999, and >= 99.9% of
 *          pixels with |ours - ref| <= 1e-4*|ref| + 1e-6*max|ref|
 *   SMV    same size, every reference header key present with an equal value
 *          (numbers, also each of a comma-separated list, within 1e-4 relative),
 *          and >= 99.9% of pixels within 1 count (noise images: identical)
 *   PGM    identical header, >= 99.9% of bytes within 1
 *   --bitwise  the two files are byte-identical
 *   --pearson R  float images: only require Pearson r >= R (no NaN/Inf);
 *              for reduced-precision runs
 *   --sum-rel X  float images: also require the image sums to agree,
 *              |sum(ours) - sum(ref)| <= X*|sum(ref)|
 *   --max-rel X  float images: also require every pixel to agree,
 *              |ours - ref| <= X*max(|ref|, 1e-6*max|ref|) (two renders of
 *              one image, e.g. on the GPU and on the CPU)
 * A short report goes to stdout (--quiet: only when the comparison fails).
 * Exit status: 0 pass, 1 fail, 2 usage or I/O error.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nanobragg.h"

#define EXIT_PASS 0
#define EXIT_DIFF 1
#define EXIT_ERROR 2

#define FLOAT_MIN_R 0.999999
#define FLOAT_REL_TOL 1e-4
#define FLOAT_MAX_TOL 1e-6
#define HEADER_REL_TOL 1e-4
#define MAX_KEYS 256

typedef enum { KIND_FLOAT, KIND_SMV, KIND_NOISE, KIND_PGM } file_kind;

typedef struct {
    unsigned char *data;
    size_t size;
} blob;

/* Pixel statistics of one comparison. */
typedef struct {
    size_t n, within;
    double r, max_abs;
    double sum_ref, sum_ours;
} pixel_stats;

typedef struct {
    char key[64];
    char value[160];
} header_entry;

static int quiet;
static double min_pearson = -1.0; /* --pearson R: float images need only r >= R */
static double max_sum_rel = -1.0; /* --sum-rel X: float image sums within X relative */
static double max_rel = -1.0;     /* --max-rel X: every float pixel within X relative */
static char report[8192];

#if defined(__GNUC__) || defined(__clang__)
#define PRINTF_LIKE __attribute__((format(printf, 1, 2)))
#else
#define PRINTF_LIKE
#endif

/* Append a line to the report, printed at the end unless --quiet and passed. */
static void say(const char *fmt, ...) PRINTF_LIKE;
static void say(const char *fmt, ...)
{
    size_t used = strlen(report);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(report + used, sizeof report - used, fmt, ap);
    va_end(ap);
}

/* ---------------------------------------------------------------- files */

static int read_blob(const char *path, blob *b)
{
    FILE *fp = fopen(path, "rb");
    long size;
    b->data = NULL;
    b->size = 0;
    if (!fp || fseek(fp, 0, SEEK_END) != 0 || (size = ftell(fp)) < 0 ||
        fseek(fp, 0, SEEK_SET) != 0) {
        fprintf(stderr, "nanobragg-compare: cannot read %s: %s\n", path, strerror(errno));
        if (fp)
            fclose(fp);
        return -1;
    }
    b->data = malloc(size > 0 ? (size_t)size : 1);
    b->size = (size_t)size;
    if (!b->data || fread(b->data, 1, b->size, fp) != b->size) {
        fprintf(stderr, "nanobragg-compare: cannot read %s\n", path);
        fclose(fp);
        free(b->data);
        b->data = NULL;
        return -1;
    }
    fclose(fp);
    return 0;
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

static int has_suffix(const char *name, const char *suffix)
{
    size_t n = strlen(name), k = strlen(suffix);
    return n >= k && strcmp(name + n - k, suffix) == 0;
}

static file_kind detect_kind(const char *path, const blob *b)
{
    const char *name = base_name(path);
    int smv_name = has_suffix(name, ".img");
    if (has_suffix(name, ".bin"))
        return KIND_FLOAT;
    if (has_suffix(name, ".pgm"))
        return KIND_PGM;
    if (!smv_name && b->size >= 2 && memcmp(b->data, "P5", 2) == 0)
        return KIND_PGM;
    if (smv_name || (b->size >= 1 && b->data[0] == '{'))
        return strncmp(name, "noise", 5) == 0 ? KIND_NOISE : KIND_SMV;
    return KIND_FLOAT;
}

/* ---------------------------------------------------------------- statistics */

static double pearson(const double *a, const double *b, size_t n)
{
    double ma = 0, mb = 0, sab = 0, saa = 0, sbb = 0;
    size_t i;
    for (i = 0; i < n; i++) {
        ma += a[i];
        mb += b[i];
    }
    ma /= (double)n;
    mb /= (double)n;
    for (i = 0; i < n; i++) {
        sab += (a[i] - ma) * (b[i] - mb);
        saa += (a[i] - ma) * (a[i] - ma);
        sbb += (b[i] - mb) * (b[i] - mb);
    }
    if (saa == 0 && sbb == 0) /* both constant: equal or not decides */
        return ma == mb ? 1.0 : 0.0;
    if (saa == 0 || sbb == 0)
        return 0.0;
    return sab / sqrt(saa * sbb);
}

/* Fill stats for ours vs ref: tol[i] = rel*|ref| + abs_tol. */
static void pixel_compare(const double *ref, const double *ours, size_t n, double rel,
                          double abs_tol, pixel_stats *s)
{
    size_t i;
    s->n = n;
    s->within = 0;
    s->max_abs = 0;
    s->sum_ref = s->sum_ours = 0;
    for (i = 0; i < n; i++) {
        double d = fabs(ours[i] - ref[i]);
        s->sum_ref += ref[i];
        s->sum_ours += ours[i];
        if (d <= rel * fabs(ref[i]) + abs_tol)
            s->within++;
        if (d > s->max_abs)
            s->max_abs = d;
    }
    s->r = n ? pearson(ref, ours, n) : 1.0;
}

/* At least 99.9% within tolerance (exact integer test). */
static int enough_within(const pixel_stats *s)
{
    return s->n > 0 && (double)s->within * 1000.0 >= (double)s->n * 999.0;
}

static void say_stats(const char *what, const pixel_stats *s)
{
    say("%s: %zu pixels, pearson r = %.9f, within tolerance %.4f%% (%zu outside), max |diff| = %g\n",
        what, s->n, s->r, s->n ? 100.0 * (double)s->within / (double)s->n : 0.0,
        s->n - s->within, s->max_abs);
}

/* ---------------------------------------------------------------- float images */

static float le_float(const unsigned char *p)
{
    uint32_t u = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* Decode n floats; returns how many are NaN or Inf. */
static size_t decode_floats(const blob *b, double *out, size_t n)
{
    size_t i, bad = 0;
    for (i = 0; i < n; i++) {
        out[i] = le_float(b->data + 4 * i);
        if (!isfinite(out[i]))
            bad++;
    }
    return bad;
}

static int compare_float(const blob *ref, const blob *ours)
{
    size_t n = ref->size / 4, bad_ref, bad_ours, i;
    double *a, *b, maxref = 0, worst = 0;
    pixel_stats s;
    int pass;
    if (ref->size % 4 != 0 || ref->size != ours->size || n == 0) {
        say("float: sizes differ or are not whole float32 images (%zu vs %zu bytes)\n", ref->size,
            ours->size);
        return EXIT_DIFF;
    }
    a = malloc(n * sizeof *a);
    b = malloc(n * sizeof *b);
    if (!a || !b) {
        free(a);
        free(b);
        fprintf(stderr, "nanobragg-compare: out of memory\n");
        return EXIT_ERROR;
    }
    bad_ref = decode_floats(ref, a, n);
    bad_ours = decode_floats(ours, b, n);
    for (i = 0; i < n; i++)
        maxref = fmax(maxref, fabs(a[i]));
    if (!bad_ref && !bad_ours)
        pixel_compare(a, b, n, FLOAT_REL_TOL, FLOAT_MAX_TOL * maxref, &s);
    for (i = 0; i < n && !bad_ref && !bad_ours; i++) {
        const double floor = fmax(fabs(a[i]), 1e-6 * maxref);
        const double d = fabs(b[i] - a[i]);
        if (d > 0)
            worst = fmax(worst, floor > 0 ? d / floor : INFINITY);
    }
    free(a);
    free(b);
    if (bad_ref || bad_ours) {
        say("float: NaN or Inf values (%zu in expected, %zu in actual)\n", bad_ref, bad_ours);
        return EXIT_DIFF;
    }
    say_stats("float", &s);
    if (min_pearson >= 0.0)
        pass = s.r >= min_pearson;
    else
        pass = s.r >= FLOAT_MIN_R && enough_within(&s);
    if (max_sum_rel >= 0.0) {
        const double diff = fabs(s.sum_ours - s.sum_ref);
        say("float: sums %.9g (expected) and %.9g, relative difference %.3g (allowed %g)\n", s.sum_ref,
            s.sum_ours, s.sum_ref != 0 ? diff / fabs(s.sum_ref) : diff, max_sum_rel);
        pass = pass && diff <= max_sum_rel * fabs(s.sum_ref);
    }
    if (max_rel >= 0.0) {
        say("float: largest relative difference %.3g (allowed %g)\n", worst, max_rel);
        pass = pass && worst <= max_rel;
    }
    return pass ? EXIT_PASS : EXIT_DIFF;
}

/* ---------------------------------------------------------------- SMV headers */

static void trim_copy(char *dst, size_t cap, const char *start, const char *end)
{
    size_t n;
    while (start < end && (*start == ' ' || *start == '\t'))
        start++;
    while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    n = (size_t)(end - start);
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, start, n);
    dst[n] = '\0';
}

/* Split "{ KEY=VALUE; ... }" into entries; returns their number. */
static int parse_header(const char *text, header_entry *e, int max)
{
    const char *p = text + (*text == '{');
    int n = 0;
    while (n < max) {
        const char *k, *v;
        p += strspn(p, " \t\r\n;\f");
        if (*p == '}' || *p == '\0')
            break;
        k = p;
        p += strcspn(p, "=;\r\n}");
        if (*p != '=')
            continue;
        v = ++p;
        p += strcspn(p, ";\r\n}");
        trim_copy(e[n].key, sizeof e[n].key, k, v - 1);
        trim_copy(e[n].value, sizeof e[n].value, v, p);
        n++;
    }
    return n;
}

/* The last entry named key, or NULL. */
static const header_entry *lookup(const header_entry *e, int n, const char *key)
{
    while (n-- > 0)
        if (strcmp(e[n].key, key) == 0)
            return &e[n];
    return NULL;
}

static int parse_number(const char *s, double *v)
{
    char *end;
    if (!*s)
        return 0;
    *v = strtod(s, &end);
    return *end == '\0';
}

/* One comma-separated field: numbers within tolerance, otherwise equal text. */
static int field_equal(const char *ref, const char *ours)
{
    double a, b;
    if (parse_number(ref, &a) && parse_number(ours, &b))
        return fabs(a - b) <= HEADER_REL_TOL * fabs(a);
    return strcmp(ref, ours) == 0;
}

static int value_equal(const char *ref, const char *ours)
{
    char fr[160], fo[160];
    for (;;) {
        size_t lr = strcspn(ref, ","), lo = strcspn(ours, ",");
        trim_copy(fr, sizeof fr, ref, ref + lr);
        trim_copy(fo, sizeof fo, ours, ours + lo);
        if (!field_equal(fr, fo))
            return 0;
        if (ref[lr] != ours[lo])
            return 0; /* one list is longer */
        if (ref[lr] == '\0')
            return 1;
        ref += lr + 1;
        ours += lo + 1;
    }
}

/* Every key of the reference header must be in ours with an equal value. */
static int compare_headers(const char *ref_text, const char *our_text)
{
    static header_entry re[MAX_KEYS], oe[MAX_KEYS];
    int nr = parse_header(ref_text, re, MAX_KEYS), no = parse_header(our_text, oe, MAX_KEYS);
    int i, bad = 0;
    for (i = 0; i < nr; i++) {
        const header_entry *o = lookup(oe, no, re[i].key);
        if (lookup(re, nr, re[i].key) != &re[i])
            continue; /* an earlier duplicate; the last one counts */
        if (strcmp(re[i].key, "HEADER_BYTES") == 0)
            continue; /* layout, not content: 512 or a multiple for a longer text */
        if (!o)
            say("header: %s missing (expected %s)\n", re[i].key, re[i].value);
        else if (!value_equal(re[i].value, o->value))
            say("header: %s=%s, expected %s\n", re[i].key, o->value, re[i].value);
        else
            continue;
        bad++;
    }
    say("header: %d keys compared, %d differ\n", nr, bad);
    return bad == 0;
}

/* ---------------------------------------------------------------- SMV images */

static double *counts_to_double(const nb_smv_frame *f)
{
    size_t n = (size_t)f->width * (size_t)f->height, i;
    double *d = malloc(n * sizeof *d);
    for (i = 0; d && i < n; i++)
        d[i] = f->data[i];
    return d;
}

static int compare_smv_pixels(const nb_smv_frame *ref, const nb_smv_frame *ours, int noise)
{
    size_t n = (size_t)ref->width * (size_t)ref->height;
    double *a = counts_to_double(ref), *b = counts_to_double(ours);
    pixel_stats s;
    if (!a || !b) {
        free(a);
        free(b);
        fprintf(stderr, "nanobragg-compare: out of memory\n");
        return EXIT_ERROR;
    }
    pixel_compare(a, b, n, 0.0, noise ? 0.0 : 1.0, &s);
    free(a);
    free(b);
    say_stats(noise ? "noise pixels (identical)" : "pixels (within 1 count)", &s);
    return enough_within(&s) ? EXIT_PASS : EXIT_DIFF;
}

/*
 * nanoBragg writes a header text longer than 512 bytes whole, unpadded, and
 * still says HEADER_BYTES=512; its pixels then fill the end of the file.  If
 * the file is longer than HEADER_BYTES plus the pixels, take the header as
 * everything before the pixels (same host byte order).  0, or -1 (memory).
 */
static int fix_long_header(nb_smv_frame *f, const blob *file)
{
    const size_t pixel_bytes = (size_t)f->width * (size_t)f->height * sizeof *f->data;
    size_t hb;
    char *text;
    if (file->size <= f->header_bytes + pixel_bytes)
        return 0;
    hb = file->size - pixel_bytes;
    text = malloc(hb + 1);
    if (!text)
        return -1;
    memcpy(text, file->data, hb);
    text[hb] = '\0';
    free(f->header);
    f->header = text;
    f->header_bytes = hb;
    memcpy(f->data, file->data + hb, pixel_bytes);
    return 0;
}

static int read_smv(const char *path, const blob *file, nb_smv_frame *f)
{
    nb_error err;
    if (nb_smv_read(path, f, &err) != NB_OK) {
        fprintf(stderr, "nanobragg-compare: %s\n", err.msg);
        return -1;
    }
    if (fix_long_header(f, file) != 0) {
        fprintf(stderr, "nanobragg-compare: out of memory\n");
        nb_smv_frame_free(f);
        return -1;
    }
    return 0;
}

static int compare_smv(const char *ref_path, const blob *ref_file, const char *our_path,
                       const blob *our_file, int noise)
{
    nb_smv_frame ref, ours;
    int rc, headers_ok;
    if (read_smv(ref_path, ref_file, &ref) != 0)
        return EXIT_ERROR;
    if (read_smv(our_path, our_file, &ours) != 0) {
        nb_smv_frame_free(&ref);
        return EXIT_ERROR;
    }
    headers_ok = compare_headers(ref.header, ours.header);
    if (ref.width != ours.width || ref.height != ours.height) {
        say("SMV: size %dx%d, expected %dx%d\n", ours.width, ours.height, ref.width, ref.height);
        rc = EXIT_DIFF;
    } else {
        rc = compare_smv_pixels(&ref, &ours, noise);
    }
    nb_smv_frame_free(&ref);
    nb_smv_frame_free(&ours);
    return rc == EXIT_PASS && !headers_ok ? EXIT_DIFF : rc;
}

/* ---------------------------------------------------------------- PGM */

/* Skip blanks and '#' comments; returns the new offset. */
static size_t pgm_skip(const blob *b, size_t i)
{
    while (i < b->size) {
        if (b->data[i] == '#')
            while (i < b->size && b->data[i] != '\n')
                i++;
        else if (strchr(" \t\r\n", b->data[i]) && b->data[i])
            i++;
        else
            break;
    }
    return i;
}

/* Length of a "P5 w h max<ws>" header, and w*h; 0 if malformed. */
static size_t pgm_header(const blob *b, size_t *pixels)
{
    unsigned long v[3];
    size_t i = 2;
    int k;
    if (b->size < 2 || memcmp(b->data, "P5", 2) != 0)
        return 0;
    for (k = 0; k < 3; k++) {
        i = pgm_skip(b, i);
        if (i >= b->size || b->data[i] < '0' || b->data[i] > '9')
            return 0;
        for (v[k] = 0; i < b->size && b->data[i] >= '0' && b->data[i] <= '9' && v[k] < 1000000; i++)
            v[k] = v[k] * 10 + (unsigned long)(b->data[i] - '0');
    }
    if (i >= b->size)
        return 0;
    *pixels = (size_t)v[0] * (size_t)v[1];
    return i + 1; /* the single whitespace after maxval */
}

static int compare_pgm(const blob *ref, const blob *ours)
{
    size_t np_r = 0, np_o = 0, hr = pgm_header(ref, &np_r), ho = pgm_header(ours, &np_o), i;
    double *a, *b;
    pixel_stats s;
    if (!hr || !ho || hr != ho || memcmp(ref->data, ours->data, hr) != 0) {
        say("PGM: headers differ or are malformed\n");
        return EXIT_DIFF;
    }
    if (ref->size != ours->size || ref->size - hr < np_r) {
        say("PGM: sizes differ or truncated (%zu vs %zu bytes)\n", ref->size, ours->size);
        return EXIT_DIFF;
    }
    a = malloc((np_r ? np_r : 1) * sizeof *a);
    b = malloc((np_r ? np_r : 1) * sizeof *b);
    for (i = 0; a && b && i < np_r; i++) {
        a[i] = ref->data[hr + i];
        b[i] = ours->data[hr + i];
    }
    if (a && b)
        pixel_compare(a, b, np_r, 0.0, 1.0, &s);
    free(a);
    free(b);
    if (!a || !b) {
        fprintf(stderr, "nanobragg-compare: out of memory\n");
        return EXIT_ERROR;
    }
    say("PGM: header identical (%zu bytes)\n", hr);
    say_stats("PGM bytes (within 1)", &s);
    return enough_within(&s) ? EXIT_PASS : EXIT_DIFF;
}

/* ---------------------------------------------------------------- main */

static int compare_bitwise(const blob *ref, const blob *ours)
{
    size_t i, n = ref->size < ours->size ? ref->size : ours->size;
    for (i = 0; i < n && ref->data[i] == ours->data[i]; i++)
        ;
    if (i == n && ref->size == ours->size) {
        say("bitwise: %zu bytes identical\n", n);
        return EXIT_PASS;
    }
    say("bitwise: files differ at byte %zu (sizes %zu and %zu)\n", i, ref->size, ours->size);
    return EXIT_DIFF;
}

static int usage(void)
{
    fprintf(stderr, "usage: nanobragg-compare [--quiet] [--bitwise] [--pearson R] [--sum-rel X] [--max-rel X] EXPECTED ACTUAL\n"
                    "  --bitwise    the files must be byte-identical\n"
                    "  --pearson R  float images: only Pearson r >= R is required\n"
                    "  --sum-rel X  float images: the image sums must also agree within X relative\n"
                    "  --max-rel X  float images: every pixel must also agree within X relative\n"
                    "exit status: 0 pass, 1 differ, 2 usage or I/O error\n");
    return EXIT_ERROR;
}

static int run(const char *ref_path, const char *our_path, int bitwise)
{
    blob ref, ours;
    int rc;
    if (read_blob(ref_path, &ref) != 0)
        return EXIT_ERROR;
    if (read_blob(our_path, &ours) != 0) {
        free(ref.data);
        return EXIT_ERROR;
    }
    if (bitwise) {
        rc = compare_bitwise(&ref, &ours);
    } else {
        file_kind k = detect_kind(ref_path, &ref);
        if (k == KIND_FLOAT)
            rc = compare_float(&ref, &ours);
        else if (k == KIND_PGM)
            rc = compare_pgm(&ref, &ours);
        else
            rc = compare_smv(ref_path, &ref, our_path, &ours, k == KIND_NOISE);
    }
    free(ref.data);
    free(ours.data);
    return rc;
}

int main(int argc, char **argv)
{
    int i = 1, bitwise = 0, rc;
    for (; i < argc && argv[i][0] == '-' && argv[i][1] == '-'; i++) {
        if (strcmp(argv[i], "--quiet") == 0)
            quiet = 1;
        else if (strcmp(argv[i], "--bitwise") == 0)
            bitwise = 1;
        else if (strcmp(argv[i], "--pearson") == 0 && i + 1 < argc) {
            char *end;
            min_pearson = strtod(argv[++i], &end);
            if (*end || !(min_pearson >= -1.0 && min_pearson <= 1.0))
                return usage();
        }
        else if (strcmp(argv[i], "--max-rel") == 0 && i + 1 < argc) {
            char *end;
            max_rel = strtod(argv[++i], &end);
            if (*end || !(max_rel >= 0.0))
                return usage();
        }
        else if (strcmp(argv[i], "--sum-rel") == 0 && i + 1 < argc) {
            char *end;
            max_sum_rel = strtod(argv[++i], &end);
            if (*end || !(max_sum_rel >= 0.0))
                return usage();
        }
        else
            return usage();
    }
    if (argc - i != 2)
        return usage();
    rc = run(argv[i], argv[i + 1], bitwise);
    if (rc != EXIT_ERROR && (!quiet || rc != EXIT_PASS))
        printf("%s: %s%s", argv[i + 1], rc == EXIT_PASS ? "PASS\n" : "FAIL\n", report);
    return rc;
}
