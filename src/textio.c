/*
 * textio.c - small text readers: nanoBragg's multi-column numeric tables
 * (read_text_file, used for source lists) and the MOSFLM A matrix.
 *
 * Both parse numbers with strtod and insist that a field is a whole number,
 * where the reference used atof/fscanf and silently read garbage as 0.
 */
#include "textio.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define TEXT_MAX_LINE 10239 /* nanoBragg's fgets buffer holds 10239 characters */
#define TEXT_MAX_COLS 64
#define MATRIX_MAX_TOKEN 256

/* Field separators of read_text_file, plus line ends (CR for DOS files). */
static const char table_delims[] = " \t,;:!\r\n";

/* ------------------------------------------------------------ tables */

typedef struct table {
    int ncols;
    double **cols;
    size_t n, cap;
} table;

static void table_free(table *t)
{
    int i;
    for (i = 0; i < t->ncols; i++) {
        free(t->cols[i]);
        t->cols[i] = NULL;
    }
}

/* Make room for one more row. */
static nb_status table_grow(table *t)
{
    size_t cap = t->cap ? 2 * t->cap : 64;
    int i;
    if (t->n < t->cap)
        return NB_OK;
    for (i = 0; i < t->ncols; i++) {
        double *v = realloc(t->cols[i], cap * sizeof *v);
        if (!v)
            return NB_ERR_NOMEM;
        t->cols[i] = v;
    }
    t->cap = cap;
    return NB_OK;
}

/* Parse the fields of one line into row[0..ncols-1] (NaN where missing);
   fields beyond ncols are not looked at.  *got is 0 for blank and '#' lines.
   Returns 0 if a field is not a number. */
static int parse_row(char *line, int ncols, double *row, int *got)
{
    char *p = line + strspn(line, table_delims);
    int i;
    *got = 0;
    if (*p == '\0' || *p == '#')
        return 1;
    for (i = 0; i < ncols; i++)
        row[i] = NAN;
    for (i = 0; i < ncols && *p != '\0'; i++) {
        size_t len = strcspn(p, table_delims);
        char *end;
        row[i] = strtod(p, &end);
        if (end != p + len || len == 0)
            return 0;
        p += len;
        p += strspn(p, table_delims);
    }
    *got = 1;
    return 1;
}

/* Strip the line end; returns the remaining length. */
static size_t chomp(char *line, size_t len)
{
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
        line[--len] = '\0';
    return len;
}

static nb_status read_table(FILE *fp, const char *path, table *t, nb_error *err)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    long lineno = 0;
    double row[TEXT_MAX_COLS];
    nb_status st = NB_OK;
    while ((len = getline(&line, &cap, fp)) != -1) {
        int got, i;
        ++lineno;
        if (chomp(line, (size_t)len) > TEXT_MAX_LINE) {
            st = nbi_fail(err, NB_ERR_PARSE, "%s:%ld: line longer than %d characters", path,
                          lineno, TEXT_MAX_LINE);
            break;
        }
        if (!parse_row(line, t->ncols, row, &got)) {
            st = nbi_fail(err, NB_ERR_PARSE, "%s:%ld: expected up to %d numbers", path, lineno,
                          t->ncols);
            break;
        }
        if (!got)
            continue;
        if (table_grow(t) != NB_OK) {
            st = nbi_fail(err, NB_ERR_NOMEM, "%s: out of memory", path);
            break;
        }
        for (i = 0; i < t->ncols; i++)
            t->cols[i][t->n] = row[i];
        t->n++;
    }
    if (st == NB_OK && ferror(fp))
        st = nbi_fail(err, NB_ERR_IO, "%s: read error", path);
    free(line);
    return st;
}

nb_status nbi_read_columns(const char *path, int ncols, double **cols, size_t *nrows,
                          nb_error *err)
{
    table t;
    nb_status st;
    FILE *fp;
    int i;
    *nrows = 0;
    if (ncols < 1 || ncols > TEXT_MAX_COLS)
        return nbi_fail(err, NB_ERR_INVALID, "%s: cannot read %d columns", path, ncols);
    for (i = 0; i < ncols; i++)
        cols[i] = NULL;
    t.ncols = ncols;
    t.cols = cols;
    t.n = t.cap = 0;
    fp = fopen(path, "r");
    if (!fp)
        return nbi_fail(err, NB_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    st = read_table(fp, path, &t, err);
    fclose(fp);
    if (st == NB_OK && t.n == 0)
        st = nbi_fail(err, NB_ERR_PARSE, "%s: no data lines", path);
    if (st != NB_OK) {
        table_free(&t);
        return st;
    }
    *nrows = t.n;
    return NB_OK;
}

/* ------------------------------------------------------------ matrix */

/* Read the next whitespace-delimited token into buf; 0 at end of file,
   -1 if it does not fit. */
static int next_token(FILE *fp, char *buf, size_t size)
{
    size_t n = 0;
    int c;
    do
        c = getc(fp);
    while (c != EOF && strchr(" \t\r\n\v\f", c));
    if (c == EOF)
        return 0;
    while (c != EOF && !strchr(" \t\r\n\v\f", c)) {
        if (n + 1 >= size)
            return -1;
        buf[n++] = (char)c;
        c = getc(fp);
    }
    buf[n] = '\0';
    return 1;
}

nb_status nbi_read_matrix(const char *path, double m[9], nb_error *err)
{
    char tok[MATRIX_MAX_TOKEN];
    double v[9];
    FILE *fp = fopen(path, "r");
    int i;
    if (!fp)
        return nbi_fail(err, NB_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    for (i = 0; i < 9; i++) {
        char *end;
        if (next_token(fp, tok, sizeof tok) != 1)
            break;
        v[i] = strtod(tok, &end);
        if (end == tok || *end != '\0')
            break;
    }
    fclose(fp);
    if (i < 9)
        return nbi_fail(err, NB_ERR_PARSE,
                        "%s: expected 9 numbers (a 3x3 MOSFLM A matrix), found %d", path, i);
    /* file order: rows are x, y, z; columns a*, b*, c* (see textio.h) */
    for (i = 0; i < 9; i++)
        m[i] = v[i];
    return NB_OK;
}

/* Contract in textio.h. */
double nbi_strtod(const char *s, char **end)
{
    static const double pow10[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                     1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    const char *p = s;
    uint64_t digits = 0;
    int neg = 0, sig = 0, decimals = 0, any = 0;
    double v;
    while (*p == ' ' || (*p >= '\t' && *p <= '\r'))
        ++p;
    if (*p == '-' || *p == '+')
        neg = *p++ == '-';
    for (; *p >= '0' && *p <= '9'; ++p, any = 1)
        if (digits || *p != '0') {
            digits = digits * 10 + (uint64_t)(*p - '0');
            ++sig;
        }
    if (*p == '.')
        for (++p; *p >= '0' && *p <= '9'; ++p, any = 1) {
            if (digits || *p != '0') {
                digits = digits * 10 + (uint64_t)(*p - '0');
                ++sig;
            }
            ++decimals;
        }
    if (!any || sig > 15 || decimals > 22 || *p == 'e' || *p == 'E' || *p == 'x' || *p == 'X')
        return strtod(s, end);
    v = (double)digits / pow10[decimals];
    if (end)
        *end = (char *)p;
    return neg ? -v : v;
}
