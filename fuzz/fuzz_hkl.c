/*
 * fuzz_hkl.c - libFuzzer target for the "h k l F" text reader
 * (nbi_hkl_read_text) and the lookups the kernel makes on what it returns:
 * nbi_hkl_nearest, nbi_hkl_interp_ok, nbi_hkl_interpolate.  Small grids are also
 * read with a non-zero default_F (the fill path) and round-tripped through
 * the Fdump writer and reader.
 */
#include <math.h>

#include "fuzz_common.h"
#include "hkl.h"

#define SMALL_GRID_BYTES ((size_t)1 << 20)

static char dump_path[80];

static void quiet(void *ctx, nb_log_level level, const char *line)
{
    (void)ctx;
    (void)level;
    (void)line;
}

static void remove_dump(void)
{
    unlink(dump_path);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_init_temp("hkl");
    snprintf(dump_path, sizeof dump_path, "%s.Fdump", fuzz_path);
    atexit(remove_dump);
    return 0;
}

static size_t grid_cells(const nbi_hkl *t)
{
    return (size_t)(t->h_range + 1) * (size_t)(t->k_range + 1) * (size_t)(t->l_range + 1);
}

/* Invariants of a table returned with NB_OK; abort() makes a violation a finding. */
static void check_table(const nbi_hkl *t)
{
    if (!t->F || t->count <= 0 || t->h_min > t->h_max || t->k_min > t->k_max
        || t->l_min > t->l_max || t->h_range != t->h_max - t->h_min + 1
        || t->k_range != t->k_max - t->k_min + 1 || t->l_range != t->l_max - t->l_min + 1) {
        fprintf(stderr, "fuzz_hkl: inconsistent table\n");
        abort();
    }
}

/* A coordinate in [lo+2, lo+range-3] (the interpolation-safe band) picked by u in [0,1]. */
static double inside(int lo, int range, double u)
{
    return lo + 2 + u * (double)(range - 5);
}

static void exercise_lookups(const nbi_hkl *t)
{
    static const double u[][3] = {{0, 0, 0}, {0.5, 0.25, 0.75}, {1, 1, 1}, {0.37, 0.91, 0.13}};
    volatile double sink = 0;
    size_t i;
    int mh = t->h_min + (t->h_max - t->h_min) / 2;
    int mk = t->k_min + (t->k_max - t->k_min) / 2;
    int ml = t->l_min + (t->l_max - t->l_min) / 2;

    sink += nbi_hkl_nearest(t, t->h_min, t->k_min, t->l_min, -1.0);
    sink += nbi_hkl_nearest(t, t->h_max, t->k_max, t->l_max, -1.0);
    sink += nbi_hkl_nearest(t, mh, mk, ml, -1.0);
    if (t->h_min > -2147483647 && nbi_hkl_nearest(t, t->h_min - 1, mk, ml, -1.0) != -1.0)
        abort(); /* outside the grid must give default_F */
    if (t->l_max < 2147483647 && nbi_hkl_nearest(t, mh, mk, t->l_max + 1, -1.0) != -1.0)
        abort();
    if (nbi_hkl_interp_ok(t, NAN, mk, ml) || nbi_hkl_interp_ok(t, t->h_min + 1.5, mk, ml))
        abort(); /* NaN and points too near the edge are refused */
    for (i = 0; i < sizeof u / sizeof u[0]; i++) {
        double h = inside(t->h_min, t->h_range, u[i][0]);
        double k = inside(t->k_min, t->k_range, u[i][1]);
        double l = inside(t->l_min, t->l_range, u[i][2]);
        if (t->h_range >= 5 && t->k_range >= 5 && t->l_range >= 5 && nbi_hkl_interp_ok(t, h, k, l))
            sink += nbi_hkl_interpolate(t, h, k, l);
    }
    (void)sink;
}

/* Small grids: read again with default_F != 0 (bounds must not change), and
   write/read an Fdump (the grid must come back bit for bit). */
static void exercise_small(const nbi_hkl *t)
{
    nbi_hkl again, back;
    nb_error err;
    nb_status st;
    if (grid_cells(t) * sizeof(double) > SMALL_GRID_BYTES)
        return;
    st = nbi_hkl_read_text(fuzz_path, 7.5, NULL, &again, &err);
    if (st != NB_OK || again.count != t->count || again.h_min != t->h_min
        || again.k_max != t->k_max || again.l_range != t->l_range) {
        fprintf(stderr, "fuzz_hkl: second read differs (%s)\n", nb_strerror(st));
        abort();
    }
    nbi_hkl_free(&again);
    if (nbi_hkl_write_fdump(dump_path, t, &err) != NB_OK)
        return; /* e.g. /tmp full: not a finding */
    st = nbi_hkl_read_fdump(dump_path, &back, &err);
    if (st == NB_OK) {
        if (back.h_min != t->h_min || back.h_max != t->h_max || back.k_min != t->k_min
            || back.k_max != t->k_max || back.l_min != t->l_min || back.l_max != t->l_max
            || memcmp(back.F, t->F, grid_cells(t) * sizeof(double)) != 0) {
            fprintf(stderr, "fuzz_hkl: Fdump round trip changed the grid\n");
            abort();
        }
    } else {
        /* the Fdump reader must accept every table the text reader accepted */
        fprintf(stderr, "fuzz_hkl: Fdump written here was refused: %s\n", err.msg);
        abort();
    }
    nbi_hkl_free(&back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    nb_log log = {.fn = quiet};
    nbi_hkl t;
    nb_error err;
    fuzz_write_temp(data, size);
    if (nbi_hkl_read_text(fuzz_path, 0.0, &log, &t, &err) != NB_OK) {
        if (t.F) /* on failure *out is empty */
            abort();
        return 0;
    }
    check_table(&t);
    exercise_lookups(&t);
    exercise_small(&t);
    nbi_hkl_free(&t);
    return 0;
}
