/*
 * test_hkl.c - unit tests of the structure-factor module (HKL text reader,
 * Fdump cache, lookup, tricubic interpolation) and of the text readers
 * (source tables, MOSFLM matrix).  Inputs are small temporary files whose
 * expected contents are worked out by hand.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "hkl.h"
#include "textio.h"

/* ------------------------------------------------------------ helpers */

/* Write text (len bytes) to a new temporary file; path receives its name. */
static void write_temp(char path[64], const void *text, size_t len)
{
    int fd;
    FILE *fp;
    strcpy(path, "/tmp/nb_test_hklXXXXXX");
    fd = mkstemp(path);
    assert_true(fd >= 0);
    fp = fdopen(fd, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(text, 1, len, fp), len);
    assert_int_equal(fclose(fp), 0);
}

static void write_text(char path[64], const char *text)
{
    write_temp(path, text, strlen(text));
}

static long file_bytes(const char *path)
{
    FILE *fp = fopen(path, "rb");
    long n;
    assert_non_null(fp);
    assert_int_equal(fseek(fp, 0, SEEK_END), 0);
    n = ftell(fp);
    fclose(fp);
    return n;
}

/* Read a whole file into a malloc'd buffer. */
static char *slurp(const char *path, long *len)
{
    FILE *fp = fopen(path, "rb");
    char *buf;
    *len = file_bytes(path);
    buf = malloc((size_t)*len + 1);
    assert_non_null(fp);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)*len, fp), (size_t)*len);
    fclose(fp);
    return buf;
}

/* Log capture: all lines, newline-separated. */
typedef struct capture {
    char text[2048];
    int lines;
} capture;

static void capture_fn(void *ctx, nb_log_level level, const char *line)
{
    capture *c = ctx;
    assert_int_equal(level, NB_LOG_WARN);
    strncat(c->text, line, sizeof c->text - strlen(c->text) - 2);
    strcat(c->text, "\n");
    c->lines++;
}

static const char small_hkl[] = "# h k l F sigma\n"
                                "0 0 0 10.0 1.5\n"
                                "1 0 0 20\n"
                                "   \n"
                                "\n"
                                "-1 2 3 30.5 sigma phase\n"
                                "\t1 2 -1  40\r\n";

/* Read small_hkl with default_F = dflt. */
static void read_small(nbi_hkl *t, double dflt, char path[64])
{
    nb_error err;
    write_text(path, small_hkl);
    assert_int_equal(nbi_hkl_read_text(path, dflt, NULL, t, &err), NB_OK);
}

/* ------------------------------------------------------------ text reader */

static void test_read_ranges_and_lookup(void **state)
{
    nbi_hkl t;
    char path[64];
    (void)state;
    read_small(&t, 7.0, path);
    assert_int_equal(t.h_min, -1);
    assert_int_equal(t.h_max, 1);
    assert_int_equal(t.k_min, 0);
    assert_int_equal(t.k_max, 2);
    assert_int_equal(t.l_min, -1);
    assert_int_equal(t.l_max, 3);
    assert_int_equal(t.h_range, 3);
    assert_int_equal(t.k_range, 3);
    assert_int_equal(t.l_range, 5);
    assert_int_equal(t.count, 4);
    assert_true(nbi_hkl_nearest(&t, 0, 0, 0, -1.0) == 10.0);
    assert_true(nbi_hkl_nearest(&t, 1, 0, 0, -1.0) == 20.0);
    assert_true(nbi_hkl_nearest(&t, -1, 2, 3, -1.0) == 30.5);
    assert_true(nbi_hkl_nearest(&t, 1, 2, -1, -1.0) == 40.0);
    /* inside the grid but not in the file: default_F fill */
    assert_true(nbi_hkl_nearest(&t, 0, 1, 1, -1.0) == 7.0);
    assert_true(nbi_hkl_nearest(&t, -1, 0, -1, -1.0) == 7.0);
    /* outside the grid: the caller's default */
    assert_true(nbi_hkl_nearest(&t, 2, 0, 0, -1.0) == -1.0);
    assert_true(nbi_hkl_nearest(&t, 0, 0, 4, -2.0) == -2.0);
    /* padding planes stay 0 (as nanoBragg's Fdump) */
    assert_true(t.F[nbi_hkl_index(&t, 2, 0, 0)] == 0.0);
    assert_true(t.F[nbi_hkl_index(&t, 0, 3, 0)] == 0.0);
    assert_true(t.F[nbi_hkl_index(&t, 0, 0, 4)] == 0.0);
    nbi_hkl_free(&t);
    remove(path);
}

static void test_read_default_zero(void **state)
{
    nbi_hkl t;
    char path[64];
    (void)state;
    read_small(&t, 0.0, path);
    assert_true(nbi_hkl_nearest(&t, 0, 1, 1, 5.0) == 0.0);
    assert_true(nbi_hkl_nearest(&t, 1, 0, 0, 5.0) == 20.0);
    nbi_hkl_free(&t);
    nbi_hkl_free(&t); /* idempotent */
    nbi_hkl_free(NULL);
    remove(path);
}

/* A bad line fails with "FILE:LINE: expected 'h k l F'". */
static void expect_bad_line(const char *text, int lineno)
{
    nbi_hkl t;
    nb_error err;
    char path[64], want[128];
    write_text(path, text);
    err.msg[0] = '\0';
    assert_int_equal(nbi_hkl_read_text(path, 0.0, NULL, &t, &err), NB_ERR_PARSE);
    snprintf(want, sizeof want, "%s:%d: expected 'h k l F'", path, lineno);
    assert_string_equal(err.msg, want);
    assert_null(t.F);
    remove(path);
}

static void test_read_errors(void **state)
{
    nbi_hkl t;
    nb_error err;
    char path[64];
    (void)state;
    expect_bad_line("0 0 0 1\n# c\n1 2 x 4\n", 3);
    expect_bad_line("1 2 3\n", 1);
    expect_bad_line("0 0 0 1\n1 2 3 4abc\n", 2);
    expect_bad_line("0 0 0 1\n\n1e12 0 0 1\n", 3);
    expect_bad_line("nan 0 0 1\n", 1);
    /* no entries at all */
    write_text(path, "# only a comment\n\n");
    assert_int_equal(nbi_hkl_read_text(path, 0.0, NULL, &t, &err), NB_ERR_PARSE);
    assert_non_null(strstr(err.msg, path));
    remove(path);
    /* missing file */
    assert_int_equal(nbi_hkl_read_text("/nonexistent/x.hkl", 0.0, NULL, &t, &err), NB_ERR_IO);
    assert_non_null(strstr(err.msg, "/nonexistent/x.hkl"));
    /* a grid over 1 GiB: (1001+1) x (1001+1) x (201+1) doubles */
    write_text(path, "0 0 0 1\n1000 1000 200 1\n");
    assert_int_equal(nbi_hkl_read_text(path, 0.0, NULL, &t, &err), NB_ERR_RANGE);
    assert_non_null(strstr(err.msg, path));
    remove(path);
}

static void test_read_noninteger_warning(void **state)
{
    nbi_hkl t;
    nb_error err;
    capture cap;
    nb_log log;
    char path[64];
    (void)state;
    memset(&cap, 0, sizeof cap);
    log.fn = capture_fn;
    log.ctx = &cap;
    write_text(path, "0 0 0 1\n1.7 0 0 2\n\n-1.5 1 0.25 3\n");
    assert_int_equal(nbi_hkl_read_text(path, 0.0, &log, &t, &err), NB_OK);
    assert_int_equal(cap.lines, 3);
    /* "line" counts entries before this one, as nanoBragg does */
    assert_string_equal(cap.text, "WARNING: non-integer value for h (1.7) at line 1\n"
                                  "WARNING: non-integer value for h (-1.5) at line 2\n"
                                  "WARNING: non-integer value for l (0.25) at line 2\n");
    /* truncation toward zero: 1.7 -> 1, -1.5 -> -1, 0.25 -> 0 */
    assert_int_equal(t.h_min, -1);
    assert_int_equal(t.h_max, 1);
    assert_int_equal(t.l_max, 0);
    assert_true(nbi_hkl_nearest(&t, 1, 0, 0, 0.0) == 2.0);
    assert_true(nbi_hkl_nearest(&t, -1, 1, 0, 0.0) == 3.0);
    nbi_hkl_free(&t);
    remove(path);
}

/* A file of n lines "h k l F" (h k l from i, F = i % 1000 + 0.5), with
   line (1-based) bad replaced by bad_text, and line long padded past the
   reader's block (256 KiB) and more; none where 0. */
static char *big_hkl(long n, long bad, const char *bad_text, long lng, size_t *len)
{
    const size_t pad = (size_t)5 << 20;
    char *buf = malloc((size_t)n * 32 + pad + 64), *p = buf;
    assert_non_null(buf);
    for (long i = 1; i <= n; ++i) {
        if (i == bad)
            p += sprintf(p, "%s\n", bad_text);
        else
            p += sprintf(p, "%ld %ld %ld %ld.5%s", i % 41 - 20, i / 41 % 41 - 20, i / 1681 % 7, i % 1000,
                         i == lng ? "" : "\n");
        if (i == lng) {
            memset(p, ' ', pad);
            p += pad;
            *p++ = '\n';
        }
    }
    *len = (size_t)(p - buf);
    return buf;
}

/* Files of several blocks, each parsed in chunks side by side: the entries,
   warnings and the first offending line are those of reading line by line. */
static void test_read_large(void **state)
{
    nbi_hkl t;
    nb_error err;
    capture cap;
    nb_log log;
    char path[64], *text;
    size_t len;
    (void)state;
    memset(&cap, 0, sizeof cap);
    log.fn = capture_fn;
    log.ctx = &cap;
    /* 600,000 lines (over 8 MiB, many blocks), a line longer than a block, no final newline */
    text = big_hkl(600000, 0, NULL, 300001, &len);
    len--;
    write_temp(path, text, len);
    free(text);
    assert_int_equal(nbi_hkl_read_text(path, 0.0, &log, &t, &err), NB_OK);
    assert_int_equal(cap.lines, 0);
    assert_int_equal(t.count, 600000);
    assert_int_equal(t.h_min, -20);
    assert_int_equal(t.h_max, 20);
    assert_int_equal(t.l_max, 6);
    /* later repeats win: (h,k,l) of line i recurs every 41 x 41 x 7 = 11767 lines */
    assert_true(nbi_hkl_nearest(&t, 599999 % 41 - 20, 599999 / 41 % 41 - 20, 599999 / 1681 % 7, 0.0)
                == 599999 % 1000 + 0.5);
    assert_true(nbi_hkl_nearest(&t, 600000 % 41 - 20, 600000 / 41 % 41 - 20, 600000 / 1681 % 7, 0.0)
                == 600000 % 1000 + 0.5);
    nbi_hkl_free(&t);
    remove(path);
    /* a warning in the first block, an error far into the second */
    text = big_hkl(500000, 470001, "1 2 x 4", 0, &len);
    memcpy(strchr(strchr(text, '\n') + 1, '\n') + 1, "1.5", 3); /* line 3: "3.5 ..." */
    write_temp(path, text, len);
    free(text);
    assert_int_equal(nbi_hkl_read_text(path, 0.0, &log, &t, &err), NB_ERR_PARSE);
    assert_string_equal(cap.text, "WARNING: non-integer value for h (1.5) at line 2\n");
    {
        char want[128];
        snprintf(want, sizeof want, "%s:470001: expected 'h k l F'", path);
        assert_string_equal(err.msg, want);
    }
    remove(path);
}

/* ------------------------------------------------------------ Fdump */

static void test_fdump_round_trip(void **state)
{
    nbi_hkl t, u;
    nb_error err;
    char hkl[64], dump[64];
    const char header[] = "-1 1 0 2 -1 3\n\f";
    long len;
    char *bytes;
    (void)state;
    read_small(&t, 7.0, hkl);
    write_text(dump, "");
    assert_int_equal(nbi_hkl_write_fdump(dump, &t, &err), NB_OK);
    /* header + (3+1)*(3+1)*(5+1) doubles */
    bytes = slurp(dump, &len);
    assert_int_equal(len, (long)strlen(header) + 4 * 4 * 6 * 8);
    assert_memory_equal(bytes, header, strlen(header));
    assert_memory_equal(bytes + strlen(header), t.F, 4 * 4 * 6 * 8);
    assert_int_equal(nbi_hkl_read_fdump(dump, &u, &err), NB_OK);
    assert_int_equal(u.h_min, -1);
    assert_int_equal(u.h_max, 1);
    assert_int_equal(u.k_min, 0);
    assert_int_equal(u.k_max, 2);
    assert_int_equal(u.l_min, -1);
    assert_int_equal(u.l_max, 3);
    assert_int_equal(u.l_range, 5);
    assert_int_equal(u.count, 3 * 3 * 5);
    assert_memory_equal(u.F, t.F, 4 * 4 * 6 * 8);
    assert_true(nbi_hkl_nearest(&u, -1, 2, 3, 0.0) == 30.5);
    nbi_hkl_free(&t);
    nbi_hkl_free(&u);
    free(bytes);
    remove(hkl);
    remove(dump);
}

/* A file of the given header followed by nbytes of zero doubles must be refused. */
static void expect_bad_fdump(const char *header, size_t nbytes)
{
    nbi_hkl t;
    nb_error err;
    char path[64];
    size_t hl = strlen(header);
    char *buf = calloc(1, hl + nbytes + 1);
    assert_non_null(buf);
    memcpy(buf, header, hl);
    write_temp(path, buf, hl + nbytes);
    err.msg[0] = '\0';
    assert_int_equal(nbi_hkl_read_fdump(path, &t, &err), NB_ERR_FORMAT);
    assert_non_null(strstr(err.msg, path));
    assert_null(t.F);
    free(buf);
    remove(path);
}

static void test_fdump_rejects(void **state)
{
    nbi_hkl t;
    nb_error err;
    (void)state;
    /* 0..1 on each axis: (2+1)^3 doubles = 216 bytes */
    expect_bad_fdump("0 1 0 1 0 1\n\f", 216 - 1); /* truncated */
    expect_bad_fdump("0 1 0 1 0 1\n\f", 216 + 8); /* trailing data */
    expect_bad_fdump("0 1 0 1 0\n\f", 216);       /* five numbers */
    expect_bad_fdump("0 1 0 1 0 x\n\f", 216);     /* garbage */
    expect_bad_fdump("0 1 0 1 0 1\n", 216);       /* no form feed */
    expect_bad_fdump("1 0 0 1 0 1\n\f", 216);     /* max < min */
    expect_bad_fdump("0 10000 0 0 0 0\n\f", 64);  /* range 10001 */
    expect_bad_fdump("", 0);                      /* empty */
    assert_int_equal(nbi_hkl_read_fdump("/nonexistent/Fdump.bin", &t, &err), NB_ERR_IO);
}

/* ------------------------------------------------------------ interpolation */

/* Degree <= 3 in each index: tricubic Lagrange interpolation is exact. */
static double poly(double h, double k, double l)
{
    return (1.0 + 0.5 * h - 0.25 * h * h + 0.1 * h * h * h) * (2.0 - k + 0.3 * k * k * k)
           + 0.01 * (l * l * l - 2.0 * l) + h * k * l + 3.0;
}

static void make_poly_grid(nbi_hkl *t)
{
    int h, k, l;
    memset(t, 0, sizeof *t);
    t->h_min = -3, t->h_max = 5, t->k_min = -2, t->k_max = 6, t->l_min = 0, t->l_max = 8;
    t->h_range = t->k_range = t->l_range = 9;
    t->F = calloc(10 * 10 * 10, sizeof(double));
    assert_non_null(t->F);
    t->count = 1;
    for (h = t->h_min; h <= t->h_max; h++)
        for (k = t->k_min; k <= t->k_max; k++)
            for (l = t->l_min; l <= t->l_max; l++)
                t->F[nbi_hkl_index(t, h, k, l)] = poly(h, k, l);
}

static void test_interp_ok_bounds(void **state)
{
    nbi_hkl t;
    (void)state;
    make_poly_grid(&t);
    /* h in [h_min+2, h_min+h_range-3] = [-1, 3]; k in [0, 4]; l in [2, 6] */
    assert_true(nbi_hkl_interp_ok(&t, -1.0, 0.0, 2.0));
    assert_true(nbi_hkl_interp_ok(&t, 3.0, 4.0, 6.0));
    assert_true(nbi_hkl_interp_ok(&t, 1.5, 2.5, 4.5));
    assert_false(nbi_hkl_interp_ok(&t, -1.000001, 2.0, 4.0));
    assert_false(nbi_hkl_interp_ok(&t, 3.000001, 2.0, 4.0));
    assert_false(nbi_hkl_interp_ok(&t, 1.0, -0.001, 4.0));
    assert_false(nbi_hkl_interp_ok(&t, 1.0, 4.001, 4.0));
    assert_false(nbi_hkl_interp_ok(&t, 1.0, 2.0, 1.999));
    assert_false(nbi_hkl_interp_ok(&t, 1.0, 2.0, 6.001));
    assert_false(nbi_hkl_interp_ok(&t, NAN, 2.0, 4.0));
    nbi_hkl_free(&t);
}

static void test_interpolate(void **state)
{
    nbi_hkl t;
    int h, k, l, i;
    (void)state;
    make_poly_grid(&t);
    /* exact at grid points */
    for (h = -1; h <= 3; h++)
        for (k = 0; k <= 4; k++)
            for (l = 2; l <= 6; l++)
                assert_true(nbi_hkl_interpolate(&t, h, k, l) == t.F[nbi_hkl_index(&t, h, k, l)]);
    /* exact (to rounding) for the cubic polynomial anywhere it is allowed */
    srand(12345);
    for (i = 0; i < 20000; i++) {
        double x = -1.0 + 4.0 * rand() / RAND_MAX;
        double y = 4.0 * rand() / RAND_MAX;
        double z = 2.0 + 4.0 * rand() / RAND_MAX;
        assert_true(nbi_hkl_interp_ok(&t, x, y, z));
        assert_true(fabs(nbi_hkl_interpolate(&t, x, y, z) - poly(x, y, z)) < 1e-9);
    }
    /* one value worked by hand: along l only, F = 3 + 0.01(l^3 - 2l) at h=k=0
       plus (1)(2) = 5 + 0.01 (l^3 - 2l); l = 2.5 -> 5 + 0.01*(15.625-5) */
    assert_true(fabs(nbi_hkl_interpolate(&t, 0.0, 0.0, 2.5) - 5.10625) < 1e-12);
    nbi_hkl_free(&t);
}

/* ------------------------------------------------------------ textio */

static void test_columns(void **state)
{
    double *c[5];
    size_t n;
    nb_error err;
    char path[64];
    (void)state;
    write_text(path, "# X Y Z I lambda\n"
                     "0 0 10 1 1e-10 extra columns ignored\n"
                     "\n"
                     "  0.1,0.2,10;2:1.1e-10\n"
                     "!1 2 3\r\n");
    assert_int_equal(nbi_read_columns(path, 5, c, &n, &err), NB_OK);
    assert_int_equal(n, 3);
    assert_true(c[0][0] == 0.0 && c[2][0] == 10.0 && c[3][0] == 1.0 && c[4][0] == 1e-10);
    assert_true(c[0][1] == 0.1 && c[1][1] == 0.2 && c[3][1] == 2.0 && c[4][1] == 1.1e-10);
    assert_true(c[0][2] == 1.0 && c[1][2] == 2.0 && c[2][2] == 3.0);
    assert_true(isnan(c[3][2]) && isnan(c[4][2]));
    for (n = 0; n < 5; n++)
        free(c[n]);
    remove(path);
}

static void test_columns_errors(void **state)
{
    double *c[5];
    size_t n;
    nb_error err;
    char path[64], want[96];
    char *longline;
    (void)state;
    write_text(path, "0 0 10 1 1\n\n0 0 abc 1 1\n");
    assert_int_equal(nbi_read_columns(path, 5, c, &n, &err), NB_ERR_PARSE);
    snprintf(want, sizeof want, "%s:3:", path);
    assert_non_null(strstr(err.msg, want));
    assert_null(c[0]);
    remove(path);
    write_text(path, "1 2 3x\n");
    assert_int_equal(nbi_read_columns(path, 5, c, &n, &err), NB_ERR_PARSE);
    remove(path);
    write_text(path, "# nothing\n\n");
    assert_int_equal(nbi_read_columns(path, 5, c, &n, &err), NB_ERR_PARSE);
    remove(path);
    longline = malloc(10300);
    assert_non_null(longline);
    memset(longline, ' ', 10299);
    longline[0] = '1';
    longline[10240] = '2';
    longline[10299] = '\0';
    write_text(path, longline);
    assert_int_equal(nbi_read_columns(path, 5, c, &n, &err), NB_ERR_PARSE);
    assert_non_null(strstr(err.msg, ":1:"));
    free(longline);
    remove(path);
    assert_int_equal(nbi_read_columns("/nonexistent/src", 5, c, &n, &err), NB_ERR_IO);
}

static void test_matrix(void **state)
{
    double m[9];
    nb_error err;
    char path[64];
    (void)state;
    write_text(path, " -0.0123 0.0045 0.0067\n"
                     "  0.0011 -0.0150 0.0022\n"
                     "  0.0088 0.0033 -0.0099\n"
                     "       0.000       0.000       0.000\n"
                     " 1 0 0\n 0 1 0\n 0 0 1\n 78.0 78.0 38.0 90.0 90.0 90.0\n");
    assert_int_equal(nbi_read_matrix(path, m, &err), NB_OK);
    /* file order: a* = (m[0], m[3], m[6]), b* = (m[1], m[4], m[7]), c* = (m[2], m[5], m[8]) */
    assert_true(m[0] == -0.0123 && m[3] == 0.0011 && m[6] == 0.0088);  /* a* */
    assert_true(m[1] == 0.0045 && m[4] == -0.0150 && m[7] == 0.0033);  /* b* */
    assert_true(m[2] == 0.0067 && m[5] == 0.0022 && m[8] == -0.0099);  /* c* */
    remove(path);
    write_text(path, "1 2 3\n4 5 6\n7 8\n");
    assert_int_equal(nbi_read_matrix(path, m, &err), NB_ERR_PARSE);
    assert_non_null(strstr(err.msg, path));
    remove(path);
    write_text(path, "1 2 3\n4 x 6\n7 8 9\n");
    assert_int_equal(nbi_read_matrix(path, m, &err), NB_ERR_PARSE);
    assert_non_null(strstr(err.msg, path));
    remove(path);
    write_text(path, "1 2 3\n4 5 6\n7 8 9z\n");
    assert_int_equal(nbi_read_matrix(path, m, &err), NB_ERR_PARSE);
    remove(path);
    assert_int_equal(nbi_read_matrix("/nonexistent/A.mat", m, &err), NB_ERR_IO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read_ranges_and_lookup),
        cmocka_unit_test(test_read_default_zero),
        cmocka_unit_test(test_read_errors),
        cmocka_unit_test(test_read_noninteger_warning),
        cmocka_unit_test(test_read_large),
        cmocka_unit_test(test_fdump_round_trip),
        cmocka_unit_test(test_fdump_rejects),
        cmocka_unit_test(test_interp_ok_bounds),
        cmocka_unit_test(test_interpolate),
        cmocka_unit_test(test_columns),
        cmocka_unit_test(test_columns_errors),
        cmocka_unit_test(test_matrix),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
