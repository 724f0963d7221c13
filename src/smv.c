/*
 * smv.c - SMV (ADSC) images: the writer, with nanoBragg's header text padded
 * to 512 bytes (or to the next multiple of 512 when wide values make it
 * longer, with HEADER_BYTES saying so), and a validating reader for -img /
 * -mask inputs.
 *
 * The reader checks every header value before it sizes anything from it:
 * HEADER_BYTES in [128, 2^20], SIZE1 and SIZE2 in [1, 2^16] with at most 2^28
 * pixels, TYPE=unsigned_short, a known BYTE_ORDER, and a file long enough to
 * hold the pixels.  Header keys are matched whole (at the start of a line or
 * after ';', '{' or blanks, followed by '='), and the last instance wins, as
 * in nanoBragg's ValueOf.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "convert.h"
#include "experiment.h"
#include "fileout.h"
#include "nanobragg.h"
#include "util.h"

#define SMV_HEADER_BYTES 512
#define SMV_MAX_WRITTEN 4096 /* longest header written: 30 numbers of at most ~25 characters */
#define SMV_MIN_HEADER 128L
#define SMV_MAX_HEADER (1L << 20)
#define SMV_MAX_SIDE (1L << 16)
#define SMV_MAX_PIXELS ((size_t)1 << 28)
#define VALUE_SHOWN 40 /* characters of a bad header value quoted in a message */

static int host_is_big_endian(void)
{
    const uint16_t one = 1;
    unsigned char first;
    memcpy(&first, &one, 1);
    return first == 0;
}

static const char *host_byte_order(void)
{
    return host_is_big_endian() ? "big_endian" : "little_endian";
}

/* ---------------------------------------------------------------- writer */

/* The header text with HEADER_BYTES=hb into text (size bytes); its length. */
static int header_text(char *text, size_t size, long hb, const nb_smv_info *s)
{
    return snprintf(text, size,
        "{\nHEADER_BYTES=%ld;\nDIM=2;\nBYTE_ORDER=%s;\nTYPE=unsigned_short;\n"
        "SIZE1=%d;\nSIZE2=%d;\nPIXEL_SIZE=%g;\nDISTANCE=%g;\nWAVELENGTH=%g;\n"
        "BEAM_CENTER_X=%g;\nBEAM_CENTER_Y=%g;\nADXV_CENTER_X=%g;\nADXV_CENTER_Y=%g;\n"
        "MOSFLM_CENTER_X=%g;\nMOSFLM_CENTER_Y=%g;\nDENZO_X_BEAM=%g;\nDENZO_Y_BEAM=%g;\n"
        "DIALS_ORIGIN=%g,%g,%g\nXDS_ORGX=%g;\nXDS_ORGY=%g;\nCLOSE_DISTANCE=%g;\n"
        "PHI=%g;\nOSC_START=%g;\nOSC_RANGE=%g;\nTWOTHETA=%g;\n"
        "DETECTOR_SN=000;\nBEAMLINE=fake;\n}\f",
        hb, host_byte_order(), s->fpixels, s->spixels, s->pixel_mm, s->distance_mm,
        s->wavelength_A, s->beam_center_x_mm, s->beam_center_y_mm, s->adxv_center_x_mm,
        s->adxv_center_y_mm, s->mosflm_center_x_mm, s->mosflm_center_y_mm,
        s->denzo_x_beam_mm, s->denzo_y_beam_mm, s->dials_origin_mm[0], s->dials_origin_mm[1],
        s->dials_origin_mm[2], s->xds_orgx, s->xds_orgy, s->close_distance_mm, s->phi_deg,
        s->osc_start_deg, s->osc_range_deg, s->twotheta_deg);
}

/*
 * Format the header into buf (SMV_MAX_WRITTEN bytes): nanoBragg's text,
 * space padded to 512 bytes, or, when wide values make the text longer, to
 * the next multiple of 512 with HEADER_BYTES saying so (nanoBragg wrote the
 * longer text unpadded under HEADER_BYTES=512, which readers misread).
 * *hb is the header's length in bytes.
 */
static nb_status format_header(char *buf, long *hb, const nb_smv_info *s, const char *path, nb_error *err)
{
    char text[SMV_MAX_WRITTEN + 1];
    int n;
    *hb = SMV_HEADER_BYTES;
    for (;;) {
        n = header_text(text, sizeof text, *hb, s);
        if (n < 0 || n >= (int)sizeof text)
            return nbi_fail(err, NB_ERR_RANGE, "cannot write %s: SMV header text too long", path);
        if (n <= *hb)
            break;
        *hb = (n + SMV_HEADER_BYTES - 1) / SMV_HEADER_BYTES * SMV_HEADER_BYTES;
    }
    memset(buf, ' ', (size_t)*hb);
    memcpy(buf, text, (size_t)n);
    return NB_OK;
}

/* Check the arguments of an SMV output; *bytes = the pixel bytes. */
static nb_status check_smv(const char *path, const nb_smv_info *info, const uint16_t *counts,
                           size_t *bytes, nb_error *err)
{
    if (!path || !info || !counts)
        return nbi_fail(err, NB_ERR_INVALID,
                        "cannot write SMV image: missing path, header or pixels");
    if (info->fpixels <= 0 || info->spixels <= 0)
        return nbi_fail(err, NB_ERR_INVALID, "cannot write %s: image size %dx%d", path,
                        info->fpixels, info->spixels);
    *bytes = nbi_checked_size((size_t)info->fpixels, (size_t)info->spixels, 1, sizeof *counts,
                              SIZE_MAX);
    if (*bytes == 0)
        return nbi_fail(err, NB_ERR_RANGE, "cannot write %s: image too large", path);
    return NB_OK;
}

/* Contract in nanobragg.h (nb_outputs_add_smv). */
nb_status nb_outputs_add_smv(nb_outputs *set, const char *path, const nb_smv_info *info,
                             const uint16_t *counts, nb_error *err)
{
    char header[SMV_MAX_WRITTEN];
    long hb = 0;
    nbi_fileout *out = NULL;
    size_t bytes = 0;
    nb_status st = check_smv(path, info, counts, &bytes, err);
    if (st == NB_OK)
        st = format_header(header, &hb, info, path, err);
    if (st == NB_OK)
        st = nbi_outputs_begin(set, path, &out, err);
    if (st != NB_OK)
        return nbi_outputs_spoil(set, st);
    nbi_fileout_write(out, header, (size_t)hb);
    nbi_fileout_write(out, counts, bytes); /* host order, as BYTE_ORDER says */
    return nbi_outputs_end(set, out, err);
}

/* Rows of counts converted per write: about 128 KiB. */
#define SMV_BLOCK_BYTES (128 * 1024)

/* Contract in nanobragg.h (nb_outputs_add_smv_image). */
nb_status nb_outputs_add_smv_image(nb_outputs *set, const char *path, const nb_smv_info *info,
                                   const nb_experiment *exp, const nb_image *img, double *scale, double adc,
                                   nb_error *err)
{
    char header[SMV_MAX_WRITTEN];
    long hb = 0;
    nbi_fileout *out = NULL;
    uint16_t *block = NULL;
    int rows = 1;
    nb_status st = NB_OK;
    if (!path || !info || !exp || !img || !img->data || !scale)
        st = nbi_fail(err, NB_ERR_INVALID, "cannot write SMV image: missing path, header, experiment or image");
    else if (info->fpixels != img->fpixels || info->spixels != img->spixels || img->fpixels != exp->det.fpixels
             || img->spixels != exp->det.spixels)
        st = nbi_fail(err, NB_ERR_INVALID, "cannot write %s: the header's %dx%d pixels, the image's %dx%d and "
                      "the experiment's %dx%d differ", path, info->fpixels, info->spixels, img->fpixels,
                      img->spixels, exp->det.fpixels, exp->det.spixels);
    if (st == NB_OK) /* the scale, even if writing fails below */
        *scale = nbi_counts_scale(img, *scale);
    if (st == NB_OK && img->fpixels < SMV_BLOCK_BYTES / (int)sizeof *block)
        rows = SMV_BLOCK_BYTES / (int)sizeof *block / img->fpixels;
    if (st == NB_OK && !(block = malloc((size_t)rows * (size_t)img->fpixels * sizeof *block)))
        st = nbi_fail(err, NB_ERR_NOMEM, "cannot write %s: out of memory", path);
    if (st == NB_OK)
        st = format_header(header, &hb, info, path, err);
    if (st == NB_OK)
        st = nbi_outputs_begin(set, path, &out, err);
    if (st != NB_OK) {
        free(block);
        return nbi_outputs_spoil(set, st);
    }
    nbi_fileout_write(out, header, (size_t)hb);
    for (int s = 0; s < img->spixels; s += rows) {
        const int s1 = s + rows < img->spixels ? s + rows : img->spixels;
        nbi_counts_rows(exp, img, *scale, adc, s, s1, block);
        nbi_fileout_write(out, block, (size_t)(s1 - s) * (size_t)img->fpixels * sizeof *block);
    }
    free(block);
    return nbi_outputs_end(set, out, err);
}

/* Contract in nanobragg.h: a set of one. */
nb_status nb_write_smv(const char *path, const nb_smv_info *info, const uint16_t *counts,
                       nb_error *err)
{
    nb_outputs *set;
    nb_status st = nbi_output_one(path, &set, err);
    if (st == NB_OK)
        st = nb_outputs_add_smv(set, path, info, counts, err);
    return nbi_output_one_done(set, st, err);
}

/* ---------------------------------------------------------------- header keys */

static int is_key_start(const char *text, const char *at)
{
    return at == text || strchr("\n\r;{ \t\f", at[-1]) != NULL;
}

/* Text just after the '=' of the last whole-word "key =" in text, or NULL. */
static const char *find_value(const char *text, const char *key)
{
    const char *found = NULL, *p = text;
    size_t len = strlen(key);
    if (len == 0)
        return NULL;
    while ((p = strstr(p, key)) != NULL) {
        const char *q = p + len;
        while (*q == ' ' || *q == '\t')
            q++;
        if (*q == '=' && is_key_start(text, p))
            found = q + 1;
        p += len;
    }
    return found;
}

/*
 * 1 and *value (if value is not NULL) = the number after the last whole-word
 * "key=" of the header; 0 if the key is absent or its value does not start
 * with a finite number (strtod).  Keys match whole: "DISTANCE" does not match
 * inside "CLOSE_DISTANCE", nor "ORGX" inside "XDS_ORGX".
 */
int nb_smv_value(const nb_smv_frame *frame, const char *key, double *value)
{
    const char *p;
    char *end;
    double v;
    if (!frame || !frame->header || !key)
        return 0;
    p = find_value(frame->header, key);
    if (!p)
        return 0;
    errno = 0;
    v = strtod(p, &end);
    if (end == p || errno == ERANGE || !isfinite(v))
        return 0;
    if (value)
        *value = v;
    return 1;
}

/* Length of the value at p for messages: up to its ';', '}' or end of line,
   at most VALUE_SHOWN characters. */
static int value_length(const char *p)
{
    size_t n = strcspn(p, ";}\r\n\f");
    return n < VALUE_SHOWN ? (int)n : VALUE_SHOWN;
}

/* The whole-word value of key as an integer in [min, max]. */
static nb_status header_long(const char *text, const char *path, const char *key, long min,
                             long max, long *out, nb_error *err)
{
    const char *p = find_value(text, key);
    char *end;
    long v;
    if (!p)
        return nbi_fail(err, NB_ERR_FORMAT, "%s: SMV header has no %s", path, key);
    errno = 0;
    v = strtol(p, &end, 10);
    while (*end == ' ' || *end == '\t')
        end++;
    if (end == p || errno == ERANGE || !strchr(";\r\n}", *end) || v < min || v > max)
        return nbi_fail(err, NB_ERR_FORMAT, "%s: SMV header %s=%.*s is not an integer in [%ld, %ld]",
                        path, key, value_length(p), p, min, max);
    *out = v;
    return NB_OK;
}

/* Copy the word value of key into buf (empty if absent). */
static void header_word(const char *text, const char *key, char *buf, size_t cap)
{
    const char *p = find_value(text, key);
    size_t n = 0;
    if (p) {
        while (*p == ' ' || *p == '\t')
            p++;
        while (p[n] && !strchr(";\r\n} \t", p[n]) && n + 1 < cap)
            n++;
        memcpy(buf, p, n);
    }
    buf[n] = '\0';
}

/* ---------------------------------------------------------------- reader */

/* Read the header text into frame->header (NUL-terminated, owned). */
static nb_status read_header(FILE *fp, const char *path, nb_smv_frame *frame, nb_error *err)
{
    char first[SMV_HEADER_BYTES + 1];
    size_t n = fread(first, 1, SMV_HEADER_BYTES, fp);
    long hb;
    nb_status st;
    if (ferror(fp))
        return nbi_fail(err, NB_ERR_IO, "cannot read %s: %s", path, strerror(errno));
    first[n] = '\0';
    if (n == 0 || first[0] != '{' || !strstr(first, "HEADER_BYTES"))
        return nbi_fail(err, NB_ERR_FORMAT, "%s: not an SMV image (no '{' ... HEADER_BYTES= header)",
                        path);
    st = header_long(first, path, "HEADER_BYTES", SMV_MIN_HEADER, SMV_MAX_HEADER, &hb, err);
    if (st != NB_OK)
        return st;
    frame->header = malloc((size_t)hb + 1);
    if (!frame->header)
        return nbi_fail(err, NB_ERR_NOMEM, "%s: no memory for a %ld-byte header", path, hb);
    frame->header_bytes = (size_t)hb;
    if (n > (size_t)hb)
        n = (size_t)hb;
    memcpy(frame->header, first, n);
    if (n < (size_t)hb && fread(frame->header + n, 1, (size_t)hb - n, fp) != (size_t)hb - n)
        return nbi_fail(err, NB_ERR_FORMAT, "%s: truncated SMV header (HEADER_BYTES=%ld)", path, hb);
    frame->header[hb] = '\0';
    /* the key must lie inside the header it sizes */
    return header_long(frame->header, path, "HEADER_BYTES", hb, hb, &hb, err);
}

/* Width, height, pixel type and byte order from the header. */
static nb_status parse_layout(const char *path, nb_smv_frame *frame, int *swap, nb_error *err)
{
    long w, h;
    char word[32];
    nb_status st = header_long(frame->header, path, "SIZE1", 1, SMV_MAX_SIDE, &w, err);
    if (st == NB_OK)
        st = header_long(frame->header, path, "SIZE2", 1, SMV_MAX_SIDE, &h, err);
    if (st != NB_OK)
        return st;
    if ((size_t)w * (size_t)h > SMV_MAX_PIXELS)
        return nbi_fail(err, NB_ERR_FORMAT, "%s: SMV SIZE1*SIZE2 = %ldx%ld is too large", path, w, h);
    header_word(frame->header, "TYPE", word, sizeof word);
    if (word[0] && strcmp(word, "unsigned_short") != 0)
        return nbi_fail(err, NB_ERR_FORMAT, "%s: SMV TYPE=%s not supported (only unsigned_short)",
                        path, word);
    header_word(frame->header, "BYTE_ORDER", word, sizeof word);
    if (strcmp(word, "little_endian") != 0 && strcmp(word, "big_endian") != 0)
        return nbi_fail(err, NB_ERR_FORMAT, "%s: SMV BYTE_ORDER=%s is not little_endian or big_endian",
                        path, word);
    *swap = strcmp(word, host_byte_order()) != 0;
    frame->width = (int)w;
    frame->height = (int)h;
    return NB_OK;
}

static void swap16(uint16_t *v, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        v[i] = (uint16_t)((v[i] >> 8) | (v[i] << 8));
}

/* Read width*height pixels that follow the header. */
static nb_status read_pixels(FILE *fp, const char *path, nb_smv_frame *frame, int swap,
                             nb_error *err)
{
    size_t n = (size_t)frame->width * (size_t)frame->height;
    size_t need = frame->header_bytes + 2 * n;
    struct stat st;
    if (fstat(fileno(fp), &st) == 0 && S_ISREG(st.st_mode) && (size_t)st.st_size < need)
        return nbi_fail(err, NB_ERR_FORMAT, "%s: truncated SMV image (%lld bytes, %zu needed)", path,
                        (long long)st.st_size, need);
    if (fseek(fp, (long)frame->header_bytes, SEEK_SET) != 0)
        return nbi_fail(err, NB_ERR_IO, "cannot read %s: %s", path, strerror(errno));
    frame->data = malloc(2 * n);
    if (!frame->data)
        return nbi_fail(err, NB_ERR_NOMEM, "%s: no memory for %zu pixels", path, n);
    if (fread(frame->data, 2, n, fp) != n) {
        if (ferror(fp))
            return nbi_fail(err, NB_ERR_IO, "cannot read %s: %s", path, strerror(errno));
        return nbi_fail(err, NB_ERR_FORMAT, "%s: truncated SMV image (%zu bytes needed)", path, need);
    }
    if (swap)
        swap16(frame->data, n);
    return NB_OK;
}

/*
 * Read an SMV file into *frame (caller owns; nb_smv_frame_free).  Pixels are
 * converted to host byte order.  On failure *frame is empty and err names the
 * file: NB_ERR_IO (open/read), NB_ERR_FORMAT (not SMV, a bad or missing
 * HEADER_BYTES/SIZE1/SIZE2/BYTE_ORDER/TYPE, truncated), NB_ERR_NOMEM.
 */
nb_status nb_smv_read(const char *path, nb_smv_frame *frame, nb_error *err)
{
    FILE *fp;
    int swap = 0;
    nb_status st;
    if (!frame)
        return nbi_fail(err, NB_ERR_INVALID, "nb_smv_read: no frame");
    memset(frame, 0, sizeof *frame);
    if (!path)
        return nbi_fail(err, NB_ERR_INVALID, "nb_smv_read: no file name");
    fp = fopen(path, "rb");
    if (!fp)
        return nbi_fail(err, NB_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    st = read_header(fp, path, frame, err);
    if (st == NB_OK)
        st = parse_layout(path, frame, &swap, err);
    if (st == NB_OK)
        st = read_pixels(fp, path, frame, swap, err);
    fclose(fp);
    if (st != NB_OK)
        nb_smv_frame_free(frame);
    return st;
}

/* Free what nb_smv_read allocated and empty *frame; NULL is fine. */
void nb_smv_frame_free(nb_smv_frame *frame)
{
    if (!frame)
        return;
    free(frame->header);
    free(frame->data);
    memset(frame, 0, sizeof *frame);
}
