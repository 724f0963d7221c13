/*
 * hkl.c - structure factors: the "h k l F" text reader, nanoBragg's Fdump.bin
 * cache (reader and writer), nearest-neighbour lookup and the tricubic
 * interpolation the kernel calls per sub-pixel.
 *
 * The grid layout is nanoBragg's: (h_range+1) x (k_range+1) x (l_range+1)
 * doubles, l fastest, with one zero padding plane at the high end of each axis,
 * so that an Fdump.bin written here is byte-identical to the reference's.
 */
#include "hkl.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileout.h"
#include "pages.h"
#include "textio.h"
#include "util.h"

#ifdef NB_HAVE_OPENMP
#include <omp.h>
#endif

#define HKL_MAX_BYTES ((size_t)1 << 30) /* grid cap: 1 GiB */
#define HKL_MAX_INDEX 1.0e9              /* |index| limit keeping ranges in int */
#define FDUMP_MAX_HEADER 256             /* header text must end with '\f' before this */

/* ------------------------------------------------------------ text reader */

typedef struct hkl_entry {
    int h, k, l;
    double F;
} hkl_entry;

typedef struct hkl_list {
    hkl_entry *v;
    size_t n, cap;
} hkl_list;

/* Room for at least cap entries (from 2 MiB up in huge pages, backed at
   once: a list of a large file's entries would otherwise take a page fault
   for every 4 KiB). */
static nb_status list_reserve(hkl_list *list, size_t cap)
{
    hkl_entry *v;
    if (cap <= list->cap)
        return NB_OK;
    if (!(v = nbi_pages_calloc(cap, sizeof *v)))
        return NB_ERR_NOMEM;
    if (list->n)
        memcpy(v, list->v, list->n * sizeof *v);
    free(list->v);
    list->v = v;
    list->cap = cap;
    return NB_OK;
}

static nb_status list_push(hkl_list *list, const hkl_entry *e)
{
    if (list->n == list->cap && list_reserve(list, list->cap ? 2 * list->cap : 256) != NB_OK)
        return NB_ERR_NOMEM;
    list->v[list->n++] = *e;
    return NB_OK;
}

/* Parse the next whitespace-delimited token of *p as a whole number; advances
   *p.  Returns 0 if there is no token or it is not entirely a number. */
static int next_number(char **p, double *value)
{
    char *s = *p, *end;
    s += strspn(s, " \t\r\n\v\f");
    if (*s == '\0')
        return 0;
    errno = 0;
    *value = nbi_strtod(s, &end);
    if (end == s || (*end != '\0' && !strchr(" \t\r\n\v\f", *end)))
        return 0;
    *p = end;
    return 1;
}

/* Convert one index read as a double to int as nanoBragg's "%d" does for
   well-formed integers: by truncation toward zero.  (The reference's %d scan
   would stop at a '.', misreading the fraction as the next column; we do not
   emulate that.)  Warns, with nanoBragg's test and wording, if not integral. */
static int index_from(double v, char axis, long entry, const nb_log *log)
{
    if (v != ceil(v - 0.4))
        nbi_log(log, NB_LOG_WARN, "WARNING: non-integer value for %c (%g) at line %ld", axis, v,
                entry);
    return (int)v;
}

/* Parse one line's numbers into v; *got is 0 for blank/comment lines, 1 for
   an entry.  No logging: the indices are checked and converted later, in
   file order (add_entry). */
static nb_status parse_line(const char *line, double v[4], int *got)
{
    char *p = (char *)line + strspn(line, " \t\r\n\v\f");
    int i;
    *got = 0;
    if (*p == '\0' || *p == '#')
        return NB_OK;
    for (i = 0; i < 4; i++)
        if (!next_number(&p, &v[i]))
            return NB_ERR_PARSE;
    for (i = 0; i < 3; i++)
        if (!(fabs(v[i]) < HKL_MAX_INDEX))
            return NB_ERR_PARSE;
    if (!nbi_F_usable(v[3]))
        return NB_ERR_RANGE;
    *got = 1;
    return NB_OK;
}

/* Append the entry of parsed numbers v, warning about indices that are not
   integers (entry: its number in the file). */
static nb_status add_entry(hkl_list *list, const double v[4], const nb_log *log)
{
    const long entry = (long)list->n;
    hkl_entry e;
    e.h = index_from(v[0], 'h', entry, log);
    e.k = index_from(v[1], 'k', entry, log);
    e.l = index_from(v[2], 'l', entry, log);
    e.F = v[3];
    return list_push(list, &e);
}

/* The text is read in blocks of whole lines; each block is cut into up to
   one chunk per thread at line ends, the chunks' numbers are parsed side by
   side, then added to the list in file order (so that warnings, errors and
   the list are those of a line-by-line reading). */
#define HKL_BLOCK ((size_t)256 << 10)
#define HKL_CHUNK_MIN ((size_t)64 << 10) /* smallest chunk worth a thread */
#define HKL_MAX_CHUNKS 64
#define HKL_RESERVE_MAX (1L << 26) /* entries reserved from the file's size, at most */

typedef struct hkl_chunk {
    char *text;     /* whole lines, len bytes (the last line may lack its '\n') */
    size_t len;
    double (*v)[4]; /* the entries' numbers */
    size_t n;
    long lines;     /* lines parsed, up to and including an offending one */
    nb_status st;   /* NB_OK, or the first offending line's error (line number lines) */
} hkl_chunk;

/* Parse the lines of c->text (made NUL-terminated in place) into c->v, which
   has room for every entry: a line holding one is at least 8 bytes with its
   '\n' ("0 0 0 0"), the last one 7. */
static void parse_chunk(hkl_chunk *c)
{
    char *p = c->text, *end = c->text + c->len;
    c->n = 0, c->lines = 0, c->st = NB_OK;
    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        int got;
        if (nl)
            *nl = '\0';
        else
            *end = '\0'; /* the byte after the block: the buffer has room */
        ++c->lines;
        if ((c->st = parse_line(p, c->v[c->n], &got)) != NB_OK)
            return;
        c->n += (size_t)got;
        p = nl ? nl + 1 : end;
    }
}

/* Cut text[0, len) into chunks at line ends and parse them (in parallel
   where there are threads); returns the number of chunks. */
static int parse_block(char *text, size_t len, double (*v)[4], hkl_chunk *chunks)
{
    int nch = 1, i;
    size_t start = 0;
#ifdef NB_HAVE_OPENMP
    nch = omp_get_max_threads();
#endif
    if ((size_t)nch > len / HKL_CHUNK_MIN + 1)
        nch = (int)(len / HKL_CHUNK_MIN + 1);
    nch = nch < 1 ? 1 : nch > HKL_MAX_CHUNKS ? HKL_MAX_CHUNKS : nch;
    for (i = 0; i < nch; ++i) {
        size_t stop = i == nch - 1 ? len : len / (size_t)nch * (size_t)(i + 1);
        if (stop < start)
            stop = start;
        while (stop > start && stop < len && text[stop - 1] != '\n')
            ++stop; /* to just after a '\n' */
        chunks[i].text = text + start;
        chunks[i].len = stop - start;
        chunks[i].v = v + start / 8; /* room: see parse_chunk */
        start = stop;
    }
#ifdef NB_HAVE_OPENMP
#pragma omp parallel for schedule(static, 1) num_threads(nch) if (nch > 1)
#endif
    for (i = 0; i < nch; ++i)
        parse_chunk(&chunks[i]);
    return nch;
}

/* Add a parsed block's entries to list in file order; stops at the first
   offending line (*lineno: the lines before the block, then after it). */
static nb_status add_block(const hkl_chunk *chunks, int nch, const char *path, const nb_log *log, hkl_list *list,
                           long *lineno, nb_error *err)
{
    for (int c = 0; c < nch; ++c) {
        for (size_t j = 0; j < chunks[c].n; ++j)
            if (add_entry(list, chunks[c].v[j], log) != NB_OK)
                return nbi_fail(err, NB_ERR_NOMEM, "%s: out of memory reading reflections", path);
        *lineno += chunks[c].lines;
        if (chunks[c].st == NB_ERR_RANGE)
            return nbi_fail(err, NB_ERR_PARSE, "%s:%ld: F is not finite or beyond %g", path, *lineno, NBI_F_MAX);
        if (chunks[c].st != NB_OK)
            return nbi_fail(err, NB_ERR_PARSE, "%s:%ld: expected 'h k l F'", path, *lineno);
    }
    return NB_OK;
}

/* The open file's size (-1 where it has none, as a pipe); leaves it at its end. */
static long file_size(FILE *fp)
{
    if (fseek(fp, 0, SEEK_END) != 0)
        return -1;
    return ftell(fp);
}

/* Read every entry of the open file into list. */
static nb_status read_entries(FILE *fp, const char *path, const nb_log *log, hkl_list *list,
                              nb_error *err)
{
    size_t cap = HKL_BLOCK, have = 0;
    char *buf = nbi_pages_calloc(cap + 1, 1); /* huge pages, as the list (list_reserve) */
    double(*v)[4] = nbi_pages_calloc(cap / 8 + 1, sizeof *v);
    hkl_chunk chunks[HKL_MAX_CHUNKS];
    long lineno = 0;
    nb_status st = NB_OK;
    int eof = 0;
    if (!buf || !v) {
        st = nbi_fail(err, NB_ERR_NOMEM, "%s: out of memory reading reflections", path);
        goto done;
    }
    {
        /* room for the entries of a file of 16-byte lines ("-12 34 -5 678.9");
           else (a pipe has no size) the list grows as it is read */
        const long size = file_size(fp);
        if (size >= 0 && fseek(fp, 0, SEEK_SET) != 0) {
            st = nbi_fail(err, NB_ERR_IO, "%s: cannot seek back to its start", path);
            goto done;
        }
        clearerr(fp);
        if (size > 0 && size / 16 < HKL_RESERVE_MAX)
            (void)list_reserve(list, (size_t)size / 16 + 1); /* failing: grown as read */
    }
    while (!eof) {
        size_t len;
        int nch;
        have += fread(buf + have, 1, cap - have, fp);
        eof = have < cap;
        if (eof && ferror(fp)) {
            st = nbi_fail(err, NB_ERR_IO, "%s: read error", path);
            break;
        }
        len = have;
        while (!eof && len > 0 && buf[len - 1] != '\n')
            --len; /* whole lines only */
        if (len == 0 && !eof) { /* a line longer than the buffer: grow it */
            char *b2 = realloc(buf, 2 * cap + 1);
            double(*v2)[4] = b2 ? realloc(v, (2 * cap / 8 + 1) * sizeof *v) : NULL;
            if (b2)
                buf = b2;
            if (!v2) {
                st = nbi_fail(err, NB_ERR_NOMEM, "%s: out of memory reading reflections", path);
                break;
            }
            v = v2, cap *= 2;
            continue;
        }
        nch = parse_block(buf, len, v, chunks);
        if ((st = add_block(chunks, nch, path, log, list, &lineno, err)) != NB_OK)
            break;
        memmove(buf, buf + len, have - len);
        have -= len;
    }
done:
    free(buf);
    free(v);
    return st;
}

/* Set the index bounds and ranges of t from the entries. */
static void set_bounds(nbi_hkl *t, const hkl_list *list)
{
    size_t i;
    t->h_min = t->h_max = list->v[0].h;
    t->k_min = t->k_max = list->v[0].k;
    t->l_min = t->l_max = list->v[0].l;
    for (i = 1; i < list->n; i++) {
        const hkl_entry *e = &list->v[i];
        if (e->h < t->h_min) t->h_min = e->h;
        if (e->h > t->h_max) t->h_max = e->h;
        if (e->k < t->k_min) t->k_min = e->k;
        if (e->k > t->k_max) t->k_max = e->k;
        if (e->l < t->l_min) t->l_min = e->l;
        if (e->l > t->l_max) t->l_max = e->l;
    }
    t->h_range = t->h_max - t->h_min + 1;
    t->k_range = t->k_max - t->k_min + 1;
    t->l_range = t->l_max - t->l_min + 1;
}

/* Allocate t->F (zeroed) for t's ranges, at most HKL_MAX_BYTES. */
static nb_status alloc_grid(nbi_hkl *t, const char *path, nb_error *err)
{
    size_t bytes = nbi_checked_size((size_t)t->h_range + 1, (size_t)t->k_range + 1,
                                    (size_t)t->l_range + 1, sizeof(double), HKL_MAX_BYTES);
    if (bytes == 0)
        return nbi_fail(err, NB_ERR_RANGE,
                        "%s: HKL grid h %d..%d, k %d..%d, l %d..%d exceeds 1 GiB", path,
                        t->h_min, t->h_max, t->k_min, t->k_max, t->l_min, t->l_max);
    t->F = nbi_pages_calloc(1, bytes);
    if (!t->F)
        return nbi_fail(err, NB_ERR_NOMEM, "%s: cannot allocate %zu bytes for the HKL grid",
                        path, bytes);
    return NB_OK;
}

/* Fill the non-padding cells with default_F (nanoBragg skips this for 0). */
static void fill_default(nbi_hkl *t, double default_F)
{
    int h, k, l;
    if (default_F == 0.0)
        return;
    for (h = t->h_min; h <= t->h_max; h++)
        for (k = t->k_min; k <= t->k_max; k++) {
            double *row = t->F + nbi_hkl_index(t, h, k, t->l_min);
            for (l = 0; l < t->l_range; l++)
                row[l] = default_F;
        }
}

nb_status nbi_hkl_read_text(const char *path, double default_F, const nb_log *log, nbi_hkl *out,
                           nb_error *err)
{
    hkl_list list = {NULL, 0, 0};
    nbi_hkl t;
    nb_status st;
    size_t i;
    FILE *fp;

    memset(out, 0, sizeof *out);
    memset(&t, 0, sizeof t);
    fp = fopen(path, "r");
    if (!fp)
        return nbi_fail(err, NB_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    st = read_entries(fp, path, log, &list, err);
    fclose(fp);
    if (st != NB_OK)
        goto fail;
    if (list.n == 0) {
        st = nbi_fail(err, NB_ERR_PARSE, "%s: no 'h k l F' entries", path);
        goto fail;
    }
    set_bounds(&t, &list);
    st = alloc_grid(&t, path, err);
    if (st != NB_OK)
        goto fail;
    fill_default(&t, default_F);
    for (i = 0; i < list.n; i++) /* later duplicates win, as in nanoBragg */
        t.F[nbi_hkl_index(&t, list.v[i].h, list.v[i].k, list.v[i].l)] = list.v[i].F;
    t.count = (long)list.n;
    free(list.v);
    *out = t;
    return NB_OK;
fail:
    free(list.v);
    nbi_hkl_free(&t);
    return st;
}

nb_status nbi_hkl_read_text_entries(const char *path, const nb_log *log, int **hkl, double **F, size_t *n,
                                   nb_error *err)
{
    hkl_list list = {NULL, 0, 0};
    nb_status st;
    FILE *fp;
    *hkl = NULL, *F = NULL, *n = 0;
    if (!(fp = fopen(path, "r")))
        return nbi_fail(err, NB_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    st = read_entries(fp, path, log, &list, err);
    fclose(fp);
    if (st == NB_OK && list.n == 0)
        st = nbi_fail(err, NB_ERR_PARSE, "%s: no 'h k l F' entries", path);
    if (st == NB_OK && (!(*hkl = malloc(3 * list.n * sizeof **hkl)) || !(*F = malloc(list.n * sizeof **F)))) {
        free(*hkl);
        *hkl = NULL;
        st = nbi_fail(err, NB_ERR_NOMEM, "%s: out of memory reading reflections", path);
    }
    for (size_t i = 0; st == NB_OK && i < list.n; ++i) {
        (*hkl)[3 * i] = list.v[i].h, (*hkl)[3 * i + 1] = list.v[i].k, (*hkl)[3 * i + 2] = list.v[i].l;
        (*F)[i] = list.v[i].F;
    }
    if (st == NB_OK)
        *n = list.n;
    free(list.v);
    return st;
}

nb_status nbi_hkl_from_list(const int *h, const int *k, const int *l, const double *F, size_t n,
                            double missing_F, nbi_hkl *out, nb_error *err)
{
    nbi_hkl t;
    long lo[3], hi[3];
    const int *idx[3] = {h, k, l};
    nb_status st;
    memset(out, 0, sizeof *out);
    memset(&t, 0, sizeof t);
    if (n == 0 || !h || !k || !l || !F)
        return nbi_fail(err, NB_ERR_INVALID, "structure factors: %s", n == 0 ? "no reflections (n = 0)"
                                                                             : "an array is NULL");
    if (!nbi_F_usable(missing_F))
        return nbi_fail(err, NB_ERR_INVALID, "structure factors: missing_F = %g (expected a magnitude up to %g)",
                        missing_F, NBI_F_MAX);
    for (int a = 0; a < 3; ++a) {
        lo[a] = hi[a] = idx[a][0];
        for (size_t i = 1; i < n; ++i) {
            if (idx[a][i] < lo[a]) lo[a] = idx[a][i];
            if (idx[a][i] > hi[a]) hi[a] = idx[a][i];
        }
        if (hi[a] - lo[a] >= (1L << 27))
            return nbi_fail(err, NB_ERR_RANGE, "structure factors: %c spans %ld..%ld, too wide a grid",
                            "hkl"[a], lo[a], hi[a]);
        if (lo[a] <= -(long)HKL_MAX_INDEX || hi[a] >= (long)HKL_MAX_INDEX) /* as the readers */
            return nbi_fail(err, NB_ERR_RANGE, "structure factors: %c index %ld is beyond +-%g", "hkl"[a],
                            lo[a] <= -(long)HKL_MAX_INDEX ? lo[a] : hi[a], HKL_MAX_INDEX);
    }
    for (size_t i = 0; i < n; ++i)
        if (!nbi_F_usable(F[i]))
            return nbi_fail(err, NB_ERR_INVALID, "structure factors: F[%zu] = %g (%d %d %d) is not finite or "
                            "beyond %g", i, F[i], h[i], k[i], l[i], NBI_F_MAX);
    t.h_min = (int)lo[0], t.h_max = (int)hi[0];
    t.k_min = (int)lo[1], t.k_max = (int)hi[1];
    t.l_min = (int)lo[2], t.l_max = (int)hi[2];
    t.h_range = t.h_max - t.h_min + 1;
    t.k_range = t.k_max - t.k_min + 1;
    t.l_range = t.l_max - t.l_min + 1;
    if ((st = alloc_grid(&t, "structure factors", err)) != NB_OK)
        return st;
    fill_default(&t, missing_F);
    for (size_t i = 0; i < n; i++) /* later duplicates win, as in nanoBragg */
        t.F[nbi_hkl_index(&t, h[i], k[i], l[i])] = F[i];
    t.count = (long)n;
    *out = t;
    return NB_OK;
}

nb_status nbi_hkl_from_grid(const int origin[3], const int dims[3], const double *F, nbi_hkl *out,
                            nb_error *err)
{
    nbi_hkl t;
    nb_status st;
    memset(out, 0, sizeof *out);
    memset(&t, 0, sizeof t);
    if (!origin || !dims || !F)
        return nbi_fail(err, NB_ERR_INVALID, "structure-factor grid: an argument is NULL");
    for (int a = 0; a < 3; ++a)
        if (dims[a] < 1 || dims[a] >= (1 << 27) || (long)origin[a] + dims[a] - 1 > (long)HKL_MAX_INDEX
            || origin[a] < -(1 << 28))
            return nbi_fail(err, NB_ERR_INVALID, "structure-factor grid: dims[%d] = %d from origin %d is not "
                            "a usable size", a, dims[a], origin[a]);
    t.h_min = origin[0], t.k_min = origin[1], t.l_min = origin[2];
    t.h_range = dims[0], t.k_range = dims[1], t.l_range = dims[2];
    t.h_max = t.h_min + dims[0] - 1, t.k_max = t.k_min + dims[1] - 1, t.l_max = t.l_min + dims[2] - 1;
    if ((st = alloc_grid(&t, "structure-factor grid", err)) != NB_OK)
        return st;
    for (int hh = 0; hh < dims[0]; ++hh)
        for (int kk = 0; kk < dims[1]; ++kk)
            for (int ll = 0; ll < dims[2]; ++ll) {
                const double v = F[((size_t)hh * (size_t)dims[1] + (size_t)kk) * (size_t)dims[2] + (size_t)ll];
                if (!nbi_F_usable(v)) {
                    nbi_hkl_free(&t);
                    return nbi_fail(err, NB_ERR_INVALID, "structure-factor grid: F(%d %d %d) = %g is not finite or "
                                    "beyond %g", t.h_min + hh, t.k_min + kk, t.l_min + ll, v, NBI_F_MAX);
                }
                t.F[nbi_hkl_index(&t, t.h_min + hh, t.k_min + kk, t.l_min + ll)] = v;
            }
    t.count = (long)dims[0] * dims[1] * dims[2];
    *out = t;
    return NB_OK;
}

/* ------------------------------------------------------------ Fdump.bin */

/* Parse the header text "h_min h_max k_min k_max l_min l_max" (up to '\f'). */
static int fdump_parse_header(const char *text, long v[6])
{
    const char *p = text;
    char *end;
    int i;
    for (i = 0; i < 6; i++) {
        p += strspn(p, " \t\r\n\v");
        errno = 0;
        v[i] = strtol(p, &end, 10);
        if (end == p || errno != 0 || (*end != '\0' && !strchr(" \t\r\n\v", *end)))
            return 0;
        p = end;
    }
    p += strspn(p, " \t\r\n\v");
    return *p == '\0';
}

/* Read the header up to and including '\f'; *len is its byte count. */
static int fdump_read_header(FILE *fp, long v[6], long *len)
{
    char text[FDUMP_MAX_HEADER];
    int c, n = 0;
    while ((c = getc(fp)) != EOF && c != '\f') {
        if (n == FDUMP_MAX_HEADER - 1)
            return 0;
        text[n++] = (char)c;
    }
    if (c != '\f')
        return 0;
    text[n] = '\0';
    *len = n + 1;
    return fdump_parse_header(text, v);
}

/* Validate header values and set t's bounds; 0 if not sane. */
static int fdump_set_bounds(nbi_hkl *t, const long v[6])
{
    int i;
    for (i = 0; i < 6; i++)
        if (v[i] < -(long)HKL_MAX_INDEX || v[i] > (long)HKL_MAX_INDEX)
            return 0;
    for (i = 0; i < 6; i += 2)
        if (v[i + 1] < v[i])
            return 0;
    /* the same cap as the text reader, so that every table it accepts can be
       cached and read back */
    if (!nbi_checked_size((size_t)(v[1] - v[0] + 2), (size_t)(v[3] - v[2] + 2), (size_t)(v[5] - v[4] + 2),
                          sizeof(double), HKL_MAX_BYTES))
        return 0;
    t->h_min = (int)v[0];
    t->h_max = (int)v[1];
    t->k_min = (int)v[2];
    t->k_max = (int)v[3];
    t->l_min = (int)v[4];
    t->l_max = (int)v[5];
    t->h_range = t->h_max - t->h_min + 1;
    t->k_range = t->k_max - t->k_min + 1;
    t->l_range = t->l_max - t->l_min + 1;
    return 1;
}

/* Size of the open file in bytes, or -1. */
/* Read header and grid from an open Fdump file into t.  The size is checked
   against the header before anything is allocated. */
static nb_status fdump_load(FILE *fp, const char *path, nbi_hkl *t, nb_error *err)
{
    long v[6], header_len, file_len;
    long long need;
    size_t n;
    nb_status st;
    if (!fdump_read_header(fp, v, &header_len) || !fdump_set_bounds(t, v))
        return nbi_fail(err, NB_ERR_FORMAT, "%s: not an Fdump file (bad header)", path);
    n = (size_t)(t->h_range + 1) * (size_t)(t->k_range + 1) * (size_t)(t->l_range + 1);
    need = header_len + (long long)n * (long long)sizeof(double);
    if ((file_len = file_size(fp)) < 0)
        return nbi_fail(err, NB_ERR_IO, "%s: cannot determine file size", path);
    if ((long long)file_len != need)
        return nbi_fail(err, NB_ERR_FORMAT,
                        "%s: Fdump is %ld bytes but its header (h %d..%d, k %d..%d, l %d..%d) "
                        "needs %lld",
                        path, file_len, t->h_min, t->h_max, t->k_min, t->k_max, t->l_min,
                        t->l_max, need);
    st = alloc_grid(t, path, err);
    if (st != NB_OK)
        return st;
    if (fseek(fp, header_len, SEEK_SET) != 0 || fread(t->F, sizeof(double), n, fp) != n)
        return nbi_fail(err, NB_ERR_IO, "%s: read error", path);
    for (size_t i = 0; i < n; ++i)
        if (!nbi_F_usable(t->F[i]))
            return nbi_fail(err, NB_ERR_FORMAT, "%s: value %zu of the grid (%g) is not finite or beyond %g", path, i,
                            t->F[i], NBI_F_MAX);
    return NB_OK;
}

nb_status nbi_hkl_read_fdump(const char *path, nbi_hkl *out, nb_error *err)
{
    nbi_hkl t;
    nb_status st;
    FILE *fp;
    memset(out, 0, sizeof *out);
    memset(&t, 0, sizeof t);
    fp = fopen(path, "rb");
    if (!fp)
        return nbi_fail(err, NB_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    st = fdump_load(fp, path, &t, err);
    fclose(fp);
    if (st != NB_OK) {
        nbi_hkl_free(&t);
        return st;
    }
    /* nanoBragg's "hkls" after reading a dump: the product of the ranges */
    t.count = (long)t.h_range * t.k_range * t.l_range;
    *out = t;
    return NB_OK;
}

nb_status nbi_hkl_write_fdump(const char *path, const nbi_hkl *t, nb_error *err)
{
    nbi_fileout f;
    char header[160];
    size_t n;
    nb_status st;
    int len;
    if (!t->F)
        return nbi_fail(err, NB_ERR_INVALID, "%s: no structure factors to dump", path);
    len = snprintf(header, sizeof header, "%d %d %d %d %d %d\n\f", t->h_min, t->h_max, t->k_min,
                   t->k_max, t->l_min, t->l_max);
    n = (size_t)(t->h_range + 1) * (size_t)(t->k_range + 1) * (size_t)(t->l_range + 1);
    st = nbi_fileout_open(&f, path, err);
    if (st != NB_OK)
        return st;
    nbi_fileout_write(&f, header, (size_t)len);
    nbi_fileout_write(&f, t->F, n * sizeof(double));
    return nbi_fileout_commit(&f, err);
}

void nbi_hkl_free(nbi_hkl *t)
{
    if (!t)
        return;
    free(t->F);
    free(t->F_single);
    t->F = NULL;
    t->F_single = NULL;
}

nb_status nbi_hkl_make_single(nbi_hkl *t, nb_error *err)
{
    const size_t n = t->F ? ((size_t)t->h_range + 1) * ((size_t)t->k_range + 1) * ((size_t)t->l_range + 1) : 0;
    if (n == 0 || t->F_single)
        return NB_OK;
    t->F_single = nbi_pages_calloc(n, sizeof(float));
    if (!t->F_single)
        return nbi_fail(err, NB_ERR_NOMEM, "cannot allocate %zu bytes for the single-precision HKL grid",
                        n * sizeof(float));
    for (size_t i = 0; i < n; ++i)
        t->F_single[i] = (float)t->F[i];
    return NB_OK;
}

/* ------------------------------------------------------------ lookup */

double nbi_hkl_nearest(const nbi_hkl *t, int h, int k, int l, double default_F)
{
    if (t && t->F && t->count && h >= t->h_min && h <= t->h_max && k >= t->k_min
        && k <= t->k_max && l >= t->l_min && l <= t->l_max)
        return t->F[nbi_hkl_index(t, h, k, l)];
    return default_F;
}

int nbi_hkl_interp_ok(const nbi_hkl *t, double h, double k, double l)
{
    return nbi_interp_ok_d(nbi_hkl_grid(t), h, k, l);
}

