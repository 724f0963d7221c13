/*
 * test_io.c - unit tests of the output writers (SMV, PGM, raw float), the
 * safe-file layer under them, output sets (all or nothing), the pre-flight
 * and identity checks, and the validating SMV reader.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "scratch.h"

#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fileout.h"
#include "nanobragg.h"
#include "textio.h"

#define REF_INT_IMG NB_TEST_DATA_DIR "/reference/cases/basic_cubic/expected/int.img"

/* ---------------------------------------------------------------- helpers */

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

/* Header text longer than 512 bytes: padded with spaces to the next multiple
   of 512, HEADER_BYTES saying so, every value and pixel read back. */
static void smv_long_header_padded(void **state)
{
    nb_smv_info info;
    nb_smv_frame f;
    nb_error err;
    uint16_t px[4] = {1, 2, 65535, 40};
    unsigned char *raw;
    size_t size;
    double v;
    (void)state;
    basic_cubic_info(&info);
    info.fpixels = info.spixels = 2;
    info.distance_mm = info.close_distance_mm = info.phi_deg = info.osc_start_deg = -1.23457e+300;
    info.osc_range_deg = info.twotheta_deg = info.xds_orgx = info.xds_orgy = -1.23457e+300;
    info.dials_origin_mm[0] = info.dials_origin_mm[1] = info.wavelength_A = -1.23457e+300;
    info.beam_center_x_mm = info.beam_center_y_mm = info.adxv_center_x_mm = -1.23457e+300;
    info.adxv_center_y_mm = info.mosflm_center_x_mm = info.mosflm_center_y_mm = -1.23457e+300;
    assert_int_equal(nb_write_smv(in_scratch("long.img"), &info, px, &err), NB_OK);
    raw = slurp(in_scratch("long.img"), &size);
    assert_int_equal(size, 1024 + sizeof px);
    assert_memory_equal(raw, "{\nHEADER_BYTES=1024;\n", 20);
    assert_non_null(memchr(raw + 512, '}', 512)); /* the text did need more than 512 bytes */
    assert_memory_equal(raw + 1022, "  ", 2);
    free(raw);
    assert_int_equal(nb_smv_read(in_scratch("long.img"), &f, &err), NB_OK);
    assert_int_equal(f.header_bytes, 1024);
    assert_memory_equal(f.data, px, sizeof px);
    assert_true(nb_smv_value(&f, "TWOTHETA", &v) && v == -1.23457e+300); /* the last key */
    assert_true(nb_smv_value(&f, "SIZE2", &v) && v == 2.0);
    nb_smv_frame_free(&f);
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
    nbi_fileout out;
    nb_error err;
    unsigned char *raw;
    size_t size;
    struct stat st;
    int before;
    (void)state;
    spill(in_scratch("old.txt"), "old contents", 12);
    assert_int_equal(chmod(in_scratch("old.txt"), 0640), 0);
    before = count_entries(scratch);
    assert_int_equal(nbi_fileout_open(&out, in_scratch("old.txt"), &err), NB_OK);
    nbi_fileout_write(&out, "new", 3);
    assert_int_equal(count_entries(scratch), before + 1); /* the temporary */
    raw = slurp(in_scratch("old.txt"), &size);
    assert_int_equal(size, 12); /* untouched until commit */
    free(raw);
    nbi_fileout_abort(&out);
    assert_int_equal(count_entries(scratch), before);
    assert_int_equal(nbi_fileout_open(&out, in_scratch("old.txt"), &err), NB_OK);
    nbi_fileout_write(&out, "new", 3);
    assert_int_equal(nbi_fileout_commit(&out, &err), NB_OK);
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

/* A finished temporary is complete but unpublished; publish renames it. */
static void fileout_finish_then_publish(void **state)
{
    nbi_fileout out;
    nb_error err;
    unsigned char *raw;
    size_t size;
    int before = count_entries(scratch);
    (void)state;
    assert_int_equal(nbi_fileout_open(&out, in_scratch("fp.txt"), &err), NB_OK);
    nbi_fileout_write(&out, "data", 4);
    assert_int_equal(nbi_fileout_finish(&out, &err), NB_OK);
    assert_null(out.fp);
    assert_int_equal(access(in_scratch("fp.txt"), F_OK), -1); /* not yet */
    assert_int_equal(count_entries(scratch), before + 1);     /* the temporary */
    assert_int_equal(nbi_fileout_publish(&out, &err), NB_OK);
    raw = slurp(in_scratch("fp.txt"), &size);
    assert_int_equal(size, 4);
    assert_memory_equal(raw, "data", 4);
    free(raw);
    assert_int_equal(count_entries(scratch), before + 1);
    assert_int_equal(remove(in_scratch("fp.txt")), 0);
    /* abort after finish removes the temporary */
    assert_int_equal(nbi_fileout_open(&out, in_scratch("fa.txt"), &err), NB_OK);
    assert_int_equal(nbi_fileout_finish(&out, &err), NB_OK);
    nbi_fileout_abort(&out);
    assert_int_equal(count_entries(scratch), before);
    /* publish before finish is refused and cleans up */
    assert_int_equal(nbi_fileout_open(&out, in_scratch("fb.txt"), &err), NB_OK);
    assert_int_equal(nbi_fileout_publish(&out, &err), NB_ERR_IO);
    assert_int_equal(count_entries(scratch), before);
}

/* Three outputs appear only at publish, complete; no temporary stays. */
static void outputs_publish_all(void **state)
{
    const float v[2] = {1.0f, 2.0f};
    const uint8_t px[4] = {1, 2, 3, 4};
    uint16_t counts[4] = {10, 20, 30, 40};
    nb_smv_info info;
    nb_outputs *set = nb_outputs_new();
    nb_smv_frame f;
    nb_error err;
    unsigned char *raw;
    size_t size;
    int before = count_entries(scratch);
    (void)state;
    assert_non_null(set);
    basic_cubic_info(&info);
    info.fpixels = info.spixels = 2;
    assert_int_equal(nb_outputs_add_float(set, in_scratch("s.bin"), v, 2, &err), NB_OK);
    assert_int_equal(nb_outputs_add_smv(set, in_scratch("s.img"), &info, counts, &err), NB_OK);
    counts[0] = 99; /* staged already: the file keeps 10 */
    assert_int_equal(nb_outputs_add_pgm(set, in_scratch("s.pgm"), 2, 2, px, 1.0, &err), NB_OK);
    assert_int_equal(count_entries(scratch), before + 3); /* three temporaries */
    assert_int_equal(access(in_scratch("s.bin"), F_OK), -1);
    assert_int_equal(access(in_scratch("s.img"), F_OK), -1);
    assert_int_equal(nb_outputs_publish(set, &err), NB_OK);
    assert_int_equal(count_entries(scratch), before + 3); /* the three outputs */
    raw = slurp(in_scratch("s.bin"), &size);
    assert_int_equal(size, 8);
    assert_memory_equal(raw, v, 8);
    free(raw);
    assert_int_equal(nb_smv_read(in_scratch("s.img"), &f, &err), NB_OK);
    assert_int_equal(f.data[0], 10);
    nb_smv_frame_free(&f);
    raw = slurp(in_scratch("s.pgm"), &size);
    assert_memory_equal(raw + size - 4, px, 4);
    free(raw);
    /* the set is empty again and can be reused */
    assert_int_equal(nb_outputs_add_float(set, in_scratch("s2.bin"), v, 1, &err), NB_OK);
    assert_int_equal(nb_outputs_publish(set, &err), NB_OK);
    assert_int_equal(nb_outputs_publish(set, &err), NB_OK); /* nothing staged: fine */
    nb_outputs_free(set);
    nb_outputs_free(NULL);
    assert_int_equal(count_entries(scratch), before + 4);
    assert_int_equal(remove(in_scratch("s.bin")), 0);
    assert_int_equal(remove(in_scratch("s.img")), 0);
    assert_int_equal(remove(in_scratch("s.pgm")), 0);
    assert_int_equal(remove(in_scratch("s2.bin")), 0);
}

/* An SMV image streamed from the float image (nb_outputs_add_smv_image) has
   the bytes of nb_image_to_counts' counts written whole, over several
   blocks of rows and with an ROI's zeros, and the same scale; sizes that
   differ are refused and spoil the set. */
static void smv_image_streamed(void **state)
{
    nb_config *cfg = nb_config_new();
    nb_experiment *exp = NULL;
    nb_image img;
    nb_smv_info info;
    nb_outputs *set = nb_outputs_new();
    nb_error err;
    uint16_t *counts;
    unsigned char *a, *b;
    size_t na, nb;
    double s1 = 0.0, s2 = 0.0, fixed = 3.0;
    const double cell[6] = {50, 60, 70, 90, 90, 90}, roi[4] = {10, 250, 20, 430};
    (void)state;
    assert_non_null(cfg);
    assert_non_null(set);
    assert_int_equal(nb_param_set_array(cfg, "cell", cell, 6, &err), NB_OK);
    assert_int_equal(nb_param_set(cfg, "default_F", 100, &err), NB_OK);
    assert_int_equal(nb_param_set(cfg, "N", 3, &err), NB_OK);
    assert_int_equal(nb_param_set(cfg, "distance_mm", 60, &err), NB_OK);
    assert_int_equal(nb_param_set(cfg, "fpixels", 300, &err), NB_OK); /* 218 rows a block */
    assert_int_equal(nb_param_set(cfg, "spixels", 500, &err), NB_OK);
    assert_int_equal(nb_param_set_array(cfg, "roi", roi, 4, &err), NB_OK);
    assert_int_equal(nb_experiment_create(cfg, NULL, &exp, &err), NB_OK);
    assert_int_equal(nb_simulate(exp, NULL, &img, &err), NB_OK);
    assert_true(img.max_I > 0.0);
    nb_experiment_smv_info(exp, &info);
    counts = malloc((size_t)300 * 500 * sizeof *counts);
    assert_non_null(counts);
    nb_image_to_counts(exp, &img, &s1, 40.0, counts);
    assert_int_equal(counts[0], 0);                /* outside the ROI */
    assert_true(counts[(long)300 * 300 + 100] > 40); /* inside: above the offset */
    assert_int_equal(nb_outputs_add_smv(set, in_scratch("whole.img"), &info, counts, &err), NB_OK);
    assert_int_equal(nb_outputs_add_smv_image(set, in_scratch("rows.img"), &info, exp, &img, &s2, 40.0, &err),
                     NB_OK);
    assert_true(s1 == s2 && s1 == 55000.0 / img.max_I);
    assert_int_equal(nb_outputs_add_smv_image(set, in_scratch("fixed.img"), &info, exp, &img, &fixed, 40.0, &err),
                     NB_OK);
    assert_true(fixed == 3.0);
    assert_int_equal(nb_outputs_publish(set, &err), NB_OK);
    a = slurp(in_scratch("whole.img"), &na);
    b = slurp(in_scratch("rows.img"), &nb);
    assert_int_equal(na, 512 + (size_t)300 * 500 * 2);
    assert_int_equal(na, nb);
    assert_memory_equal(a, b, na);
    free(a);
    free(b);
    info.spixels = 499;
    assert_int_equal(nb_outputs_add_smv_image(set, in_scratch("mismatch.img"), &info, exp, &img, &s2, 40.0, &err),
                     NB_ERR_INVALID);
    assert_non_null(strstr(err.msg, "mismatch.img"));
    assert_int_equal(nb_outputs_publish(set, &err), NB_ERR_INVALID);
    assert_int_equal(access(in_scratch("mismatch.img"), F_OK), -1);
    nb_outputs_free(set);
    free(counts);
    nb_image_free(&img);
    nb_experiment_free(exp);
    nb_config_free(cfg);
    assert_int_equal(remove(in_scratch("whole.img")), 0);
    assert_int_equal(remove(in_scratch("rows.img")), 0);
    assert_int_equal(remove(in_scratch("fixed.img")), 0);
}

/* Adds from several threads at once: every file whole, in the set, and
   published. */
typedef struct adder {
    nb_outputs *set;
    int id;
    nb_status st;
} adder;

static void *add_many(void *arg)
{
    adder *a = arg;
    float v[1000];
    nb_error err;
    a->st = NB_OK;
    for (int i = 0; i < 20 && a->st == NB_OK; ++i) {
        char path[600];
        for (int j = 0; j < 1000; ++j)
            v[j] = (float)(a->id * 100000 + i * 1000 + j);
        snprintf(path, sizeof path, "%s/t%d_%d.bin", scratch, a->id, i); /* in_scratch is not for threads */
        a->st = nb_outputs_add_float(a->set, path, v, 1000, &err);
    }
    return NULL;
}

static void outputs_added_from_threads(void **state)
{
    nb_outputs *set = nb_outputs_new();
    adder ad[4];
    pthread_t t[4];
    nb_error err;
    int before = count_entries(scratch);
    (void)state;
    assert_non_null(set);
    for (int k = 0; k < 4; ++k) {
        ad[k] = (adder){set, k, NB_ERR_INVALID};
        assert_int_equal(pthread_create(&t[k], NULL, add_many, &ad[k]), 0);
    }
    for (int k = 0; k < 4; ++k) {
        assert_int_equal(pthread_join(t[k], NULL), 0);
        assert_int_equal(ad[k].st, NB_OK);
    }
    assert_int_equal(count_entries(scratch), before + 80); /* the temporaries */
    assert_int_equal(nb_outputs_publish(set, &err), NB_OK);
    nb_outputs_free(set);
    assert_int_equal(count_entries(scratch), before + 80);
    for (int k = 0; k < 4; ++k)
        for (int i = 0; i < 20; ++i) {
            char name[64];
            size_t n;
            float *v;
            snprintf(name, sizeof name, "t%d_%d.bin", k, i);
            v = (float *)slurp(in_scratch(name), &n);
            assert_int_equal(n, 4000);
            assert_true(v[0] == (float)(k * 100000 + i * 1000) && v[999] == (float)(k * 100000 + i * 1000 + 999));
            free(v);
            assert_int_equal(remove(in_scratch(name)), 0);
        }
}

/* Staging several outputs where the last one fails leaves no file and no
   temporary, and publish refuses the spoiled set. */
static void outputs_last_fails(void **state)
{
    const float v[4] = {1, 2, 3, 4};
    const uint8_t px[4] = {1, 2, 3, 4};
    uint16_t counts[4] = {0};
    nb_smv_info info;
    nb_outputs *set = nb_outputs_new();
    nb_error err;
    int before = count_entries(scratch);
    (void)state;
    assert_non_null(set);
    basic_cubic_info(&info);
    info.fpixels = info.spixels = 2;
    assert_int_equal(nb_outputs_add_float(set, in_scratch("l.bin"), v, 4, &err), NB_OK);
    assert_int_equal(nb_outputs_add_smv(set, in_scratch("l.img"), &info, counts, &err), NB_OK);
    assert_int_equal(nb_outputs_add_pgm(set, in_scratch("nodir/l.pgm"), 2, 2, px, 1.0, &err),
                     NB_ERR_IO);
    assert_non_null(strstr(err.msg, "nodir/l.pgm"));
    /* spoiled: a later add and publish are refused, and write nothing */
    assert_int_equal(nb_outputs_add_float(set, in_scratch("m.bin"), v, 4, &err), NB_ERR_INVALID);
    assert_int_equal(nb_outputs_publish(set, &err), NB_ERR_INVALID);
    assert_int_equal(count_entries(scratch), before);
    nb_outputs_free(set);
    assert_int_equal(count_entries(scratch), before);
    /* freed without publishing: the temporaries go too */
    set = nb_outputs_new();
    assert_non_null(set);
    assert_int_equal(nb_outputs_add_float(set, in_scratch("l.bin"), v, 4, &err), NB_OK);
    assert_int_equal(count_entries(scratch), before + 1);
    nb_outputs_free(set);
    assert_int_equal(count_entries(scratch), before);
}

/* A bad argument spoils the set like a failed write. */
static void outputs_bad_argument_spoils(void **state)
{
    const float v[1] = {1};
    nb_outputs *set = nb_outputs_new();
    nb_error err;
    int before = count_entries(scratch);
    (void)state;
    assert_non_null(set);
    assert_int_equal(nb_outputs_add_float(set, in_scratch("b.bin"), v, 1, &err), NB_OK);
    assert_int_equal(nb_outputs_add_pgm(set, in_scratch("b.pgm"), 0, 2, (const uint8_t *)"x", 1.0,
                                        &err), NB_ERR_INVALID);
    assert_int_equal(nb_outputs_publish(set, &err), NB_ERR_INVALID);
    nb_outputs_free(set);
    assert_int_equal(count_entries(scratch), before);
    assert_int_equal(nb_outputs_add_float(NULL, in_scratch("b.bin"), v, 1, &err), NB_ERR_INVALID);
    assert_int_equal(nb_outputs_publish(NULL, &err), NB_ERR_INVALID);
}

/* A write that fails part-way (ENOSPC from /dev/full, a special file written
   in place) removes the outputs staged before it. */
static void outputs_disk_full(void **state)
{
    static float big[65536];
    nb_outputs *set;
    nb_error err;
    int before = count_entries(scratch);
    (void)state;
    if (access("/dev/full", W_OK) != 0)
        skip();
    set = nb_outputs_new();
    assert_non_null(set);
    assert_int_equal(nb_outputs_add_float(set, in_scratch("d.bin"), big, 1024, &err), NB_OK);
    assert_int_equal(nb_outputs_add_float(set, "/dev/full", big, 65536, &err), NB_ERR_IO);
    assert_non_null(strstr(err.msg, "/dev/full"));
    assert_non_null(strstr(err.msg, "No space"));
    nb_outputs_free(set);
    assert_int_equal(count_entries(scratch), before);
}

/* In a child whose file size limit is 4096 bytes (SIGXFSZ ignored, so the
   write fails with EFBIG part-way through the second file): 0 when the set
   failed as it should; the parent checks that nothing was left. */
static int stage_past_file_limit(void)
{
    static float big[4096];
    struct rlimit lim = {4096, 4096};
    nb_outputs *set;
    nb_error err;
    nb_status st;
    signal(SIGXFSZ, SIG_IGN);
    if (setrlimit(RLIMIT_FSIZE, &lim) != 0)
        return 2;
    set = nb_outputs_new();
    if (!set)
        return 3;
    if (nb_outputs_add_float(set, in_scratch("z1.bin"), big, 100, &err) != NB_OK)
        return 4;
    st = nb_outputs_add_float(set, in_scratch("z2.bin"), big, 4096, &err);
    nb_outputs_free(set);
    if (st != NB_ERR_IO || !strstr(err.msg, "z2.bin") || !strstr(err.msg, "too large"))
        return 5;
    return 0;
}

static void outputs_file_size_limit(void **state)
{
    int before = count_entries(scratch), status = -1;
    pid_t pid;
    (void)state;
    fflush(NULL);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(stage_past_file_limit());
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_int_equal(count_entries(scratch), before);
}

/* Two members naming one file (by any spelling) spoil the set. */
static void outputs_same_file_refused(void **state)
{
    const float v[1] = {1};
    uint16_t counts[1] = {0};
    nb_smv_info info;
    char dotted[600];
    nb_outputs *set = nb_outputs_new();
    nb_error err;
    int before = count_entries(scratch);
    (void)state;
    assert_non_null(set);
    basic_cubic_info(&info);
    info.fpixels = info.spixels = 1;
    snprintf(dotted, sizeof dotted, "%s/./c.bin", scratch);
    assert_int_equal(nb_outputs_add_float(set, in_scratch("c.bin"), v, 1, &err), NB_OK);
    assert_int_equal(nb_outputs_add_smv(set, dotted, &info, counts, &err), NB_ERR_INVALID);
    assert_non_null(strstr(err.msg, "same file"));
    assert_int_equal(nb_outputs_publish(set, &err), NB_ERR_INVALID);
    nb_outputs_free(set);
    assert_int_equal(count_entries(scratch), before);
}

/* A rename that fails at publish (a directory appeared in the way) takes
   back the outputs this publish had created and removes the temporaries. */
static void outputs_rename_fails(void **state)
{
    const float v[1] = {1};
    nb_outputs *set = nb_outputs_new();
    nb_error err;
    int before = count_entries(scratch);
    (void)state;
    assert_non_null(set);
    assert_int_equal(nb_outputs_add_float(set, in_scratch("r1.bin"), v, 1, &err), NB_OK);
    assert_int_equal(nb_outputs_add_float(set, in_scratch("r2.bin"), v, 1, &err), NB_OK);
    assert_int_equal(mkdir(in_scratch("r2.bin"), 0755), 0);
    assert_int_equal(nb_outputs_publish(set, &err), NB_ERR_IO);
    assert_non_null(strstr(err.msg, "r2.bin"));
    assert_int_equal(access(in_scratch("r1.bin"), F_OK), -1);
    assert_int_equal(count_entries(scratch), before + 1); /* only the directory */
    assert_int_equal(rmdir(in_scratch("r2.bin")), 0);
    nb_outputs_free(set);
}

/* nbi_strtod gives strtod's bits and end on decimals of every shape (the
   fast path: up to 15 significant digits and 22 decimals) and on the text
   it hands to strtod (exponents, 16+ digits, inf, nan, hexadecimal, junk). */
static void strtod_fast_path_exact(void **state)
{
    static const char *fixed[] = {"0", "-0", "+0.000", "1.", ".5", "-.25", "12.5000", "0.1", "0.3",
                                  "123456789012345", "1234567890123456", "0.0000000000000000000001",
                                  "0.00000000000000000000001", "1e5", "-2.5E-3", "inf", "-nan", "0x1p3",
                                  ".", "-", "", "  \t7.75 rest", "3.14.15", "999999999999999.9",
                                  "100000000000000000000000", "4.4408920985006262e-16"};
    char text[64];
    uint64_t x = 88172645463325252ULL;
    (void)state;
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; ++i) {
        char *e1, *e2;
        const double a = strtod(fixed[i], &e1), b = nbi_strtod(fixed[i], &e2);
        assert_memory_equal(&a, &b, sizeof a);
        assert_ptr_equal(e1, e2);
    }
    for (int n = 0; n < 200000; ++n) {
        char *e1, *e2;
        int len = 0, digits, point;
        double a, b;
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        digits = 1 + (int)(x % 17);
        point = (int)((x >> 8) % (uint64_t)(digits + 2)) - 1; /* -1: none */
        if ((x >> 16) & 1)
            text[len++] = '-';
        for (int d = 0; d < digits; ++d) {
            if (d == point)
                text[len++] = '.';
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            text[len++] = (char)('0' + (((x >> 20) & 3) == 0 ? 0 : x % 10));
        }
        text[len] = '\0';
        a = strtod(text, &e1);
        b = nbi_strtod(text, &e2);
        if (memcmp(&a, &b, sizeof a) != 0 || e1 != e2)
            fail_msg("%s: strtod %.17g, nbi_strtod %.17g", text, a, b);
    }
}

static void paths_clash(void **state)
{
    char path[600], other[600];
    (void)state;
    spill(in_scratch("p.txt"), "p", 1);
    spill(in_scratch("q.txt"), "q", 1);
    assert_int_equal(mkdir(in_scratch("sub"), 0755), 0);
    snprintf(path, sizeof path, "%s", in_scratch("p.txt"));
    snprintf(other, sizeof other, "%s/sub/../p.txt", scratch);
    assert_true(nb_paths_clash(path, path));
    assert_true(nb_paths_clash(path, other));                   /* another spelling */
    assert_false(nb_paths_clash(path, in_scratch("q.txt")));    /* another file */
    assert_false(nb_paths_clash(path, in_scratch("new.txt")));  /* existing vs new */
    assert_int_equal(link(path, in_scratch("hard.txt")), 0);
    assert_true(nb_paths_clash(in_scratch("hard.txt"), path));  /* hard link */
    assert_int_equal(symlink(path, in_scratch("soft.txt")), 0);
    assert_true(nb_paths_clash(path, in_scratch("soft.txt")));  /* symbolic link */
    snprintf(path, sizeof path, "%s", in_scratch("new.txt"));
    snprintf(other, sizeof other, "%s/sub/../new.txt", scratch);
    assert_true(nb_paths_clash(path, other));                   /* one new entry */
    assert_false(nb_paths_clash(path, in_scratch("sub/new.txt")));
    assert_true(nb_paths_clash("nodir/x", "nodir/x"));          /* unresolved: spelling */
    assert_false(nb_paths_clash("nodir/x", "nodir/y"));
    assert_false(nb_paths_clash("/dev/null", "/dev/null"));     /* written in place */
    assert_false(nb_paths_clash(NULL, "x"));
    assert_int_equal(remove(in_scratch("p.txt")), 0);
    assert_int_equal(remove(in_scratch("q.txt")), 0);
    assert_int_equal(remove(in_scratch("hard.txt")), 0);
    assert_int_equal(remove(in_scratch("soft.txt")), 0);
    assert_int_equal(rmdir(in_scratch("sub")), 0);
}

static void expect_check_error(const char *path, const char *word)
{
    nb_error err;
    assert_int_equal(nb_output_check(path, &err), NB_ERR_IO);
    if (!strstr(err.msg, path) || !strstr(err.msg, word))
        fail_msg("message '%s' lacks '%s' or '%s'", err.msg, path, word);
}

static void output_check(void **state)
{
    nb_error err;
    char path[600];
    int before = count_entries(scratch);
    (void)state;
    assert_int_equal(nb_output_check(in_scratch("fine.bin"), &err), NB_OK);
    assert_int_equal(count_entries(scratch), before); /* the probe is gone */
    assert_int_equal(nb_output_check("/dev/null", &err), NB_OK);
    expect_check_error(scratch, "Is a directory");
    snprintf(path, sizeof path, "%s/", scratch);
    expect_check_error(path, "Is a directory");
    expect_check_error(in_scratch("nodir/x.bin"), "No such file");
    spill(in_scratch("plain"), "x", 1);
    expect_check_error(in_scratch("plain/x.bin"), "Not a directory");
    assert_int_equal(remove(in_scratch("plain")), 0);
    if (access("/sys", F_OK) == 0)
        expect_check_error("/sys/nb_test_io.bin", "/sys"); /* refused even for root */
    if (geteuid() != 0) { /* root is not bound by the mode */
        assert_int_equal(mkdir(in_scratch("ro"), 0555), 0);
        expect_check_error(in_scratch("ro/x.bin"), "Permission denied");
        assert_int_equal(rmdir(in_scratch("ro")), 0);
    }
    assert_int_equal(count_entries(scratch), before);
}

/* A bad value is quoted up to its ';', not into the next header line. */
static void smv_error_quotes_one_value(void **state)
{
    nb_smv_frame f;
    nb_error err;
    (void)state;
    spill_smv(in_scratch("huge.img"), "{\nHEADER_BYTES=512;\nBYTE_ORDER=little_endian;\n"
                                      "SIZE1=2000000000;\nSIZE2=8;\n}\f", 16);
    assert_int_equal(nb_smv_read(in_scratch("huge.img"), &f, &err), NB_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "SIZE1=2000000000 is not an integer"));
    assert_null(strstr(err.msg, "SIZE2"));
    assert_null(strchr(err.msg, '\n'));
    assert_int_equal(remove(in_scratch("huge.img")), 0);
}

SCRATCH_GROUP("nb_test_io")

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(smv_round_trip),
        cmocka_unit_test(smv_matches_reference_bytes),
        cmocka_unit_test(smv_reads_reference),
        cmocka_unit_test(smv_rejects_truncated),
        cmocka_unit_test(smv_rejects_bad_headers),
        cmocka_unit_test(smv_byte_order),
        cmocka_unit_test(smv_long_header_padded),
        cmocka_unit_test(pgm_header_exact),
        cmocka_unit_test(float_little_endian),
        cmocka_unit_test(fileout_nonexistent_dir),
        cmocka_unit_test(fileout_target_is_directory),
        cmocka_unit_test(fileout_replace_and_abort),
        cmocka_unit_test(fileout_write_error),
        cmocka_unit_test(fileout_finish_then_publish),
        cmocka_unit_test(outputs_publish_all),
        cmocka_unit_test(smv_image_streamed),
        cmocka_unit_test(outputs_added_from_threads),
        cmocka_unit_test(outputs_last_fails),
        cmocka_unit_test(outputs_bad_argument_spoils),
        cmocka_unit_test(outputs_disk_full),
        cmocka_unit_test(outputs_file_size_limit),
        cmocka_unit_test(outputs_same_file_refused),
        cmocka_unit_test(outputs_rename_fails),
        cmocka_unit_test(strtod_fast_path_exact),
        cmocka_unit_test(paths_clash),
        cmocka_unit_test(output_check),
        cmocka_unit_test(smv_error_quotes_one_value),
    };
    return cmocka_run_group_tests(tests, scratch_setup, scratch_teardown);
}
