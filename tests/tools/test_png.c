/*
 * test_png.c - tests of the nanobragg-png tool (path in NB_TOOL), run in a
 * scratch folder and read back with libpng: an 8-bit grayscale PNG of the
 * image's size and orientation; the median (not the minimum) white, the
 * percentile black and sqrt, log and linear grading between;
 * --white-on-black; NaN as background; the size of an SMV image from its
 * header; a failure leaves no file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../unit/scratch.h"

#include <dirent.h>
#include <math.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define TINY_SMV NB_TEST_DATA_DIR "/tools/fixtures/tiny.img" /* 8 x 8 */
#define W 6
#define H 4

/* ---------------------------------------------------------------- helpers */

/* Run the tool: args, then input and output (names in the scratch folder,
   or absolute paths); its exit status. */
static int run_tool(const char *args, const char *in, const char *out)
{
    char cmd[1600], in_path[512], out_path[512];
    int status;
    snprintf(in_path, sizeof in_path, "%s", in[0] == '/' ? in : in_scratch(in));
    snprintf(out_path, sizeof out_path, "%s", out[0] == '/' ? out : in_scratch(out));
    snprintf(cmd, sizeof cmd, "'%s' %s '%s' '%s' > /dev/null 2>&1", NB_TOOL, args, in_path,
             out_path);
    status = system(cmd);
    return status >= 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* A W x H float image, little-endian, fast index first: background b,
   b + 100 at (4, 1), b + 25 at (1, 2), NaN at (5, 3) and, when b > 0,
   b / 2 at (0, 0). */
static void write_float_image(const char *path, float b)
{
    float v[W * H];
    unsigned char bytes[4 * W * H];
    FILE *fp = fopen(in_scratch(path), "wb");
    int i;
    for (i = 0; i < W * H; i++)
        v[i] = b;
    v[1 * W + 4] = b + 100;
    v[2 * W + 1] = b + 25;
    v[3 * W + 5] = NAN;
    v[0] = b / 2;
    for (i = 0; i < W * H; i++) {
        uint32_t u;
        memcpy(&u, &v[i], 4);
        bytes[4 * i] = (unsigned char)u;
        bytes[4 * i + 1] = (unsigned char)(u >> 8);
        bytes[4 * i + 2] = (unsigned char)(u >> 16);
        bytes[4 * i + 3] = (unsigned char)(u >> 24);
    }
    assert_non_null(fp);
    assert_int_equal(fwrite(bytes, 1, sizeof bytes, fp), sizeof bytes);
    assert_int_equal(fclose(fp), 0);
}

/* The PNG's header says 8-bit grayscale of width x height; returns its
   pixels (caller frees). */
static unsigned char *read_png(const char *path, unsigned width, unsigned height)
{
    unsigned char head[26];
    png_image png;
    unsigned char *pixels;
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    assert_int_equal(fread(head, 1, sizeof head, fp), sizeof head);
    fclose(fp);
    assert_memory_equal(head, "\211PNG\r\n\032\n\0\0\0\015IHDR", 16);
    assert_int_equal((unsigned)head[16] << 24 | head[17] << 16 | head[18] << 8 | head[19], width);
    assert_int_equal((unsigned)head[20] << 24 | head[21] << 16 | head[22] << 8 | head[23], height);
    assert_int_equal(head[24], 8); /* bit depth */
    assert_int_equal(head[25], 0); /* color type: gray */

    memset(&png, 0, sizeof png);
    png.version = PNG_IMAGE_VERSION;
    assert_true(png_image_begin_read_from_file(&png, path));
    assert_int_equal(png.width, width);
    assert_int_equal(png.height, height);
    png.format = PNG_FORMAT_GRAY;
    pixels = malloc(PNG_IMAGE_SIZE(png));
    assert_non_null(pixels);
    if (!png_image_finish_read(&png, NULL, pixels, 0, NULL))
        fail_msg("%s: %s", path, png.message);
    return pixels;
}

/* ---------------------------------------------------------------- tests */

static void float_image_sqrt(void **state)
{
    unsigned char *p;
    int i;
    (void)state;
    write_float_image("in.bin", 0);
    assert_int_equal(run_tool("--size 6 4", "in.bin", "out.png"), 0);
    p = read_png(in_scratch("out.png"), W, H);
    assert_int_equal(p[1 * W + 4], 0);   /* the brightest: black */
    assert_int_equal(p[2 * W + 1], 128); /* 25 of 100: 255 (1 - sqrt(1/4)) */
    assert_int_equal(p[3 * W + 5], 255); /* NaN: background */
    for (i = 0; i < W * H; i++)
        if (i != 1 * W + 4 && i != 2 * W + 1)
            assert_int_equal(p[i], 255);
    free(p);
}

static void float_image_maps(void **state)
{
    static const struct {
        const char *args;
        int bright, quarter, background;
    } cases[] = {
        {"--size 6 4 --map linear", 0, 191, 255},
        {"--size 6 4 --map log", 0, 51, 255}, /* 255 (1 - log(1 + 999/4) / log(1000)) */
        {"--size 6 4 --white-on-black", 255, 128, 0},
        {"--size 6 4 --map linear --white-on-black", 255, 64, 0},
        {"--size 6 4 --percentile 95", 0, 0, 255}, /* black from 25 up */
    };
    size_t c;
    (void)state;
    write_float_image("in.bin", 0);
    for (c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        unsigned char *p;
        assert_int_equal(run_tool(cases[c].args, "in.bin", "out.png"), 0);
        p = read_png(in_scratch("out.png"), W, H);
        if (p[1 * W + 4] != cases[c].bright || p[2 * W + 1] != cases[c].quarter ||
            p[0] != cases[c].background)
            fail_msg("%s: %d %d %d, expected %d %d %d", cases[c].args, p[1 * W + 4], p[2 * W + 1],
                     p[0], cases[c].bright, cases[c].quarter, cases[c].background);
        free(p);
    }
}

/* White is the median (the background), not the minimum. */
static void background_white(void **state)
{
    unsigned char *p;
    (void)state;
    write_float_image("in.bin", 10);
    assert_int_equal(run_tool("--size 6 4", "in.bin", "out.png"), 0);
    p = read_png(in_scratch("out.png"), W, H);
    assert_int_equal(p[1 * W + 4], 0);
    assert_int_equal(p[2 * W + 1], 128);
    assert_int_equal(p[1], 255); /* background */
    assert_int_equal(p[0], 255); /* below it */
    free(p);
}

static void smv_size_from_header(void **state)
{
    unsigned char *p;
    int i, lo = 255, hi = 0;
    (void)state;
    assert_int_equal(run_tool("", TINY_SMV, "smv.png"), 0);
    p = read_png(in_scratch("smv.png"), 8, 8);
    for (i = 0; i < 64; i++) {
        lo = p[i] < lo ? p[i] : lo;
        hi = p[i] > hi ? p[i] : hi;
    }
    assert_int_equal(lo, 0);
    assert_int_equal(hi, 255);
    free(p);
}

static void failure_leaves_nothing(void **state)
{
    int before;
    (void)state;
    write_float_image("in.bin", 0);
    before = count_entries(scratch);
    assert_int_equal(run_tool("--size 6 5", "in.bin", "bad.png"), 1);
    assert_int_equal(run_tool("", "in.bin", "bad.png"), 1);
    assert_int_equal(run_tool("--size 6 4", "in.bin", scratch), 1);
    assert_int_equal(run_tool("--map gamma", "in.bin", "bad.png"), 2);
    assert_int_equal(count_entries(scratch), before);
}

/* ---------------------------------------------------------------- main */

SCRATCH_GROUP("nb_test_png")

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(float_image_sqrt),
        cmocka_unit_test(float_image_maps),
        cmocka_unit_test(background_white),
        cmocka_unit_test(smv_size_from_header),
        cmocka_unit_test(failure_leaves_nothing),
    };
    return cmocka_run_group_tests(tests, scratch_setup, scratch_teardown);
}
