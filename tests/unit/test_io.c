/*
 * test_io.c - unit tests of the output writers (SMV, PGM, raw float), the
 * safe-file layer under them, and the validating SMV reader.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileout.h"
#include "nanobragg.h"

#define REF_INT_IMG NB_TEST_DATA_DIR "/reference/cases/basic_cubic/expected/int.img"

static char scratch[256];

/* ---------------------------------------------------------------- helpers */

static const char *in_scratch(const char *name)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", scratch, name);
    return path;
}

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    assert_non_null(d);
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

static unsigned char *slurp(const char *path, size_t *size)
{
    FILE *fp = fopen(path, "rb");
    unsigned char *buf;
    long n;
    assert_non_null(fp);
    assert_int_equal(fseek(fp, 0, SEEK_END), 0);
    n = ftell(fp);
    assert_true(n >= 0);
    rewind(fp);
    buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
    fclose(fp);
    *size = (size_t)n;
    return buf;
}

static void spill(const char *path, const void *data, size_t n)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(data, 1, n, fp), n);
    assert_int_equal(fclose(fp), 0);
}

/* An SMV file: the given header text padded to 512 bytes, then npix zero pixels. */
static void spill_smv(const char *path, const char *header, size_t npix)
{
    size_t n = 512 + 2 * npix;
    char *buf = calloc(1, n);
    assert_non_null(buf);
    memset(buf, ' ', 512);
    memcpy(buf, header, strlen(header));
    spill(path, buf, n);
    free(buf);
}

/* Header values of tests/reference/cases/basic_cubic. */
static void basic_cubic_info(nb_smv_info *s)
{
    memset(s, 0, sizeof *s);
    s->fpixels = s->spixels = 128;
    s->pixel_mm = 0.1;
    s->distance_mm = s->close_distance_mm = 100;
    s->wavelength_A = 6.2;
    s->beam_center_x_mm = s->beam_center_y_mm = 6.45;
    s->adxv_center_x_mm = 6.5;
    s->adxv_center_y_mm = 6.3;
    s->mosflm_center_x_mm = s->mosflm_center_y_mm = 6.45;
    s->denzo_x_beam_mm = s->denzo_y_beam_mm = 6.5;
    s->dials_origin_mm[0] = -6.5;
    s->dials_origin_mm[1] = 6.5;
    s->dials_origin_mm[2] = -100;
    s->xds_orgx = s->xds_orgy = 65.5;
}

static int setup(void **state)
{
    const char *tmp = getenv("TMPDIR");
    (void)state;
    snprintf(scratch, sizeof scratch, "%s/nb_test_io.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    return mkdtemp(scratch) ? 0 : -1;
}

static int teardown(void **state)
{
    DIR *d = opendir(scratch);
    struct dirent *e;
    (void)state;
    while (d && (e = readdir(d)) != NULL) {
        char path[600];
        snprintf(path, sizeof path, "%s/%s", scratch, e->d_name);
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0 && remove(path) != 0)
            rmdir(path);
    }
    if (d)
        closedir(d);
    return rmdir(scratch);
}

/* ---------------------------------------------------------------- SMV */

static void smv_round_trip(void **state)
{
    nb_smv_info info;
    nb_smv_frame f;
    nb_error err;
    uint16_t px[6 * 4];
    double v;
    size_t i, size;
    unsigned char *raw;
    (void)state;
    basic_cubic_info(&info);
    info.fpixels = 6;
    info.spixels = 4;
    info.distance_mm = 120;
    info.close_distance_mm = 118.5;
    info.phi_deg = 3;
    for (i = 0; i < 24; i++)
        px[i] = (uint16_t)(i * 2731u);
    assert_int_equal(nb_write_smv(in_scratch("rt.img"), &info, px, &err), NB_OK);
    raw = slurp(in_scratch("rt.img"), &size);
    assert_int_equal(size, 512 + 2 * 24);
    assert_memory_equal(raw, "{\nHEADER_BYTES=512;\nDIM=2;\nBYTE_ORDER=little_endian;\n", 50);
    assert_memory_equal(raw + 510, "  ", 2);
    free(raw);
    assert_int_equal(nb_smv_read(in_scratch("rt.img"), &f, &err), NB_OK);
    assert_int_equal(f.width, 6);
    assert_int_equal(f.height, 4);
    assert_int_equal(f.header_bytes, 512);
    assert_memory_equal(f.data, px, sizeof px);
    assert_true(nb_smv_value(&f, "DISTANCE", &v));
    assert_true(v == 120.0); /* whole key: not CLOSE_DISTANCE */
    assert_true(nb_smv_value(&f, "CLOSE_DISTANCE", &v));
    assert_true(v == 118.5);
    assert_true(nb_smv_value(&f, "XDS_ORGX", &v));
    assert_true(v == 65.5);
    assert_true(nb_smv_value(&f, "DIALS_ORIGIN", &v));
    assert_true(v == -6.5);
    assert_true(nb_smv_value(&f, "PHI", &v) && v == 3.0);
    assert_false(nb_smv_value(&f, "ORGX", &v));     /* only inside XDS_ORGX */
    assert_false(nb_smv_value(&f, "BEAMLINE", &v)); /* "fake": not a number */
    assert_false(nb_smv_value(&f, "NO_SUCH_KEY", &v));
    nb_smv_frame_free(&f);
    nb_smv_frame_free(&f); /* idempotent after free */
}

/* The writer reproduces the reference's file byte for byte. */
static void smv_matches_reference_bytes(void **state)
{
    nb_smv_info info;
    nb_smv_frame ref;
    nb_error err;
    unsigned char *a, *b;
    size_t na, nb;
    (void)state;
    basic_cubic_info(&info);
    assert_int_equal(nb_smv_read(REF_INT_IMG, &ref, &err), NB_OK);
    assert_int_equal(nb_write_smv(in_scratch("same.img"), &info, ref.data, &err), NB_OK);
    a = slurp(REF_INT_IMG, &na);
    b = slurp(in_scratch("same.img"), &nb);
    assert_int_equal(na, nb);
    assert_memory_equal(a, b, na);
    free(a);
    free(b);
    nb_smv_frame_free(&ref);
}

static void smv_reads_reference(void **state)
{
    nb_smv_frame f;
    nb_error err;
    double v;
    (void)state;
    assert_int_equal(nb_smv_read(REF_INT_IMG, &f, &err), NB_OK);
    assert_true(nb_smv_value(&f, "SIZE1", &v) && v == 128.0);
    assert_true(nb_smv_value(&f, "WAVELENGTH", &v) && v == 6.2);
    assert_int_equal(f.width, 128);
    assert_int_equal(f.height, 128);
    /* checked with od -t u2 -j (512 + 2*index) */
    assert_int_equal(f.data[0], 30866);
    assert_int_equal(f.data[647], 22898);
    assert_int_equal(f.data[8256], 55040);
    assert_int_equal(f.data[12830], 47);
    nb_smv_frame_free(&f);
}

static void smv_rejects_truncated(void **state)
{
    nb_smv_frame f;
    nb_error err;
    size_t size;
    unsigned char *raw;
    (void)state;
    raw = slurp(REF_INT_IMG, &size);
    spill(in_scratch("short.img"), raw, size - 1);
    spill(in_scratch("stub.img"), raw, 100);
    free(raw);
    assert_int_equal(nb_smv_read(in_scratch("short.img"), &f, &err), NB_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "truncated"));
    assert_non_null(strstr(err.msg, "short.img"));
    assert_null(f.data);
    assert_null(f.header);
    assert_int_equal(nb_smv_read(in_scratch("stub.img"), &f, &err), NB_ERR_FORMAT);
}

static void expect_format_error(const char *header, const char *word)
{
    nb_smv_frame f;
    nb_error err;
    spill_smv(in_scratch("bad.img"), header, 16);
    assert_int_equal(nb_smv_read(in_scratch("bad.img"), &f, &err), NB_ERR_FORMAT);
    if (!strstr(err.msg, word))
        fail_msg("message '%s' lacks '%s'", err.msg, word);
    assert_null(f.header);
}

static void smv_rejects_bad_headers(void **state)
{
    (void)state;
    expect_format_error("{\nHEADER_BYTES=512;\nBYTE_ORDER=little_endian;\nSIZE1=2000000000;\n"
                        "SIZE2=4;\n}\f", "SIZE1");
    expect_format_error("{\nHEADER_BYTES=512;\nBYTE_ORDER=little_endian;\nSIZE1=4;\n}\f", "SIZE2");
    expect_format_error("{\nHEADER_BYTES=512;\nBYTE_ORDER=little_endian;\nSIZE1=4x;\nSIZE2=4;\n}",
                        "SIZE1");
    expect_format_error("{\nHEADER_BYTES=5000000000;\nSIZE1=4;\nSIZE2=4;\n}", "HEADER_BYTES");
    expect_format_error("{\nHEADER_BYTES=64;\nSIZE1=4;\nSIZE2=4;\n}", "HEADER_BYTES");
    expect_format_error("{\nHEADER_BYTES=4096;\nBYTE_ORDER=little_endian;\nSIZE1=4;\nSIZE2=4;\n}",
                        "truncated");
    expect_format_error("{\nHEADER_BYTES=512;\nBYTE_ORDER=little_endian;\nTYPE=float;\nSIZE1=4;\n"
                        "SIZE2=4;\n}", "TYPE");
    expect_format_error("{\nHEADER_BYTES=512;\nBYTE_ORDER=middle;\nSIZE1=4;\nSIZE2=4;\n}",
                        "BYTE_ORDER");
    expect_format_error("HEADER_BYTES=512;\nSIZE1=4;\nSIZE2=4;\n}", "not an SMV");
    expect_format_error("{\nSIZE1=4;\nSIZE2=4;\n}", "not an SMV");
}

/* BYTE_ORDER (its last instance) decides the swap; the last SIZE1 counts. */
static void smv_byte_order(void **state)
{
    const char *h = "{\nHEADER_BYTES=512;\nBYTE_ORDER=little_endian;\nSIZE1=9;\nSIZE1=2;\n"
                    "SIZE2=1;\nBYTE_ORDER=big_endian;\nTYPE=unsigned_short;\n}\f";
    unsigned char buf[516];
    nb_smv_frame f;
    nb_error err;
    (void)state;
    memset(buf, ' ', 512);
    memcpy(buf, h, strlen(h));
    buf[512] = 0x12, buf[513] = 0x34, buf[514] = 0xab, buf[515] = 0xcd;
    spill(in_scratch("be.img"), buf, sizeof buf);
    assert_int_equal(nb_smv_read(in_scratch("be.img"), &f, &err), NB_OK);
    assert_int_equal(f.width, 2);
    assert_int_equal(f.data[0], 0x1234);
    assert_int_equal(f.data[1], 0xabcd);
    nb_smv_frame_free(&f);
}

static void smv_header_too_long(void **state)
{
    nb_smv_info info;
    nb_error err;
    uint16_t px[4] = {0};
    (void)state;
    basic_cubic_info(&info);
    info.fpixels = info.spixels = 2;
    info.distance_mm = info.close_distance_mm = info.phi_deg = info.osc_start_deg = -1.23457e+300;
    info.osc_range_deg = info.twotheta_deg = info.xds_orgx = info.xds_orgy = -1.23457e+300;
    info.dials_origin_mm[0] = info.dials_origin_mm[1] = info.wavelength_A = -1.23457e+300;
    info.beam_center_x_mm = info.beam_center_y_mm = info.adxv_center_x_mm = -1.23457e+300;
    info.adxv_center_y_mm = info.mosflm_center_x_mm = info.mosflm_center_y_mm = -1.23457e+300;
    assert_int_equal(nb_write_smv(in_scratch("long.img"), &info, px, &err), NB_ERR_RANGE);
    assert_int_equal(access(in_scratch("long.img"), F_OK), -1);
}

/* ---------------------------------------------------------------- PGM, float */

static void pgm_header_exact(void **state)
{
    const char expect[] = "P5\n3 2\n# pixels scaled by 3\n255\n\x01\x02\x03\xfe\xff";
    const uint8_t px[6] = {1, 2, 3, 254, 255, 0};
    nb_error err;
    unsigned char *raw;
    size_t size;
    (void)state;
    assert_int_equal(nb_write_pgm(in_scratch("a.pgm"), 3, 2, px, 3.0, &err), NB_OK);
    raw = slurp(in_scratch("a.pgm"), &size);
    assert_int_equal(size, sizeof expect); /* sizeof counts the NUL: the 6th pixel */
    assert_memory_equal(raw, expect, sizeof expect);
    free(raw);
    assert_int_equal(nb_write_pgm(in_scratch("b.pgm"), 2, 1, px, 0.0523598, &err), NB_OK);
    raw = slurp(in_scratch("b.pgm"), &size);
    assert_memory_equal(raw, "P5\n2 1\n# pixels scaled by 0.0523598\n255\n", 38);
    free(raw);
}

static void float_little_endian(void **state)
{
    const float v[3] = {1.0f, -2.5f, 3.0e-5f};
    const unsigned char one_le[4] = {0x00, 0x00, 0x80, 0x3f};
    nb_error err;
    unsigned char *raw;
    size_t size;
    (void)state;
    assert_int_equal(nb_write_float(in_scratch("f.bin"), v, 3, &err), NB_OK);
    raw = slurp(in_scratch("f.bin"), &size);
    assert_int_equal(size, 12);
    assert_memory_equal(raw, one_le, 4);
    assert_memory_equal(raw + 4, "\x00\x00\x20\xc0", 4); /* -2.5f */
    free(raw);
}

/* ---------------------------------------------------------------- fileout */

static void fileout_nonexistent_dir(void **state)
{
    nb_error err;
    float v = 1.0f;
    int before = count_entries(scratch);
    (void)state;
    assert_int_equal(nb_write_float(in_scratch("nodir/f.bin"), &v, 1, &err), NB_ERR_IO);
    assert_non_null(strstr(err.msg, "nodir/f.bin"));
    assert_non_null(strstr(err.msg, "No such file"));
    assert_int_equal(access(in_scratch("nodir"), F_OK), -1);
    assert_int_equal(count_entries(scratch), before);
}

static void fileout_target_is_directory(void **state)
{
    nb_error err;
    uint8_t px = 7;
    int before;
    (void)state;
    assert_int_equal(mkdir(in_scratch("adir"), 0755), 0);
    before = count_entries(scratch);
    assert_int_equal(nb_write_pgm(in_scratch("adir"), 1, 1, &px, 1.0, &err), NB_ERR_IO);
    assert_non_null(strstr(err.msg, "adir"));
    assert_int_equal(count_entries(scratch), before);
    assert_int_equal(count_entries(in_scratch("adir")), 0);
    assert_int_equal(rmdir(in_scratch("adir")), 0);
}

static void fileout_replace_and_abort(void **state)
{
    nb_fileout out;
    nb_error err;
    unsigned char *raw;
    size_t size;
    struct stat st;
    int before;
    (void)state;
    spill(in_scratch("old.txt"), "old contents", 12);
    assert_int_equal(chmod(in_scratch("old.txt"), 0640), 0);
    before = count_entries(scratch);
    assert_int_equal(nb_fileout_open(&out, in_scratch("old.txt"), &err), NB_OK);
    nb_fileout_write(&out, "new", 3);
    assert_int_equal(count_entries(scratch), before + 1); /* the temporary */
    raw = slurp(in_scratch("old.txt"), &size);
    assert_int_equal(size, 12); /* untouched until commit */
    free(raw);
    nb_fileout_abort(&out);
    assert_int_equal(count_entries(scratch), before);
    assert_int_equal(nb_fileout_open(&out, in_scratch("old.txt"), &err), NB_OK);
    nb_fileout_write(&out, "new", 3);
    assert_int_equal(nb_fileout_commit(&out, &err), NB_OK);
    raw = slurp(in_scratch("old.txt"), &size);
    assert_int_equal(size, 3);
    assert_memory_equal(raw, "new", 3);
    free(raw);
    assert_int_equal(stat(in_scratch("old.txt"), &st), 0);
    assert_int_equal(st.st_mode & 0777, 0640); /* permissions kept */
    assert_int_equal(count_entries(scratch), before);
}

/* A write error on a special file (ENOSPC from /dev/full) is reported. */
static void fileout_write_error(void **state)
{
    static float big[65536];
    nb_error err;
    (void)state;
    if (access("/dev/full", W_OK) != 0)
        skip();
    assert_int_equal(nb_write_float("/dev/full", big, 65536, &err), NB_ERR_IO);
    assert_non_null(strstr(err.msg, "/dev/full"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(smv_round_trip),
        cmocka_unit_test(smv_matches_reference_bytes),
        cmocka_unit_test(smv_reads_reference),
        cmocka_unit_test(smv_rejects_truncated),
        cmocka_unit_test(smv_rejects_bad_headers),
        cmocka_unit_test(smv_byte_order),
        cmocka_unit_test(smv_header_too_long),
        cmocka_unit_test(pgm_header_exact),
        cmocka_unit_test(float_little_endian),
        cmocka_unit_test(fileout_nonexistent_dir),
        cmocka_unit_test(fileout_target_is_directory),
        cmocka_unit_test(fileout_replace_and_abort),
        cmocka_unit_test(fileout_write_error),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
