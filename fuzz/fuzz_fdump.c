/*
 * fuzz_fdump.c - libFuzzer target for the Fdump.bin cache reader
 * (nbi_hkl_read_fdump).  What it accepts is looked up, written back with
 * nbi_hkl_write_fdump and read again: the grid must survive bit for bit.
 */
#include "fuzz_common.h"
#include "hkl.h"

static char dump_path[80];

static void remove_dump(void)
{
    unlink(dump_path);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_init_temp("fdump");
    snprintf(dump_path, sizeof dump_path, "%s.out", fuzz_path);
    atexit(remove_dump);
    return 0;
}

static size_t grid_cells(const nbi_hkl *t)
{
    return (size_t)(t->h_range + 1) * (size_t)(t->k_range + 1) * (size_t)(t->l_range + 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    nbi_hkl t, back;
    nb_error err;
    volatile double sink = 0;
    fuzz_write_temp(data, size);
    if (nbi_hkl_read_fdump(fuzz_path, &t, &err) != NB_OK) {
        if (t.F)
            abort();
        return 0;
    }
    /* the file holds exactly the header and the padded grid */
    if (grid_cells(&t) * sizeof(double) >= size || t.h_range != t.h_max - t.h_min + 1)
        abort();
    sink += nbi_hkl_nearest(&t, t.h_min, t.k_min, t.l_min, 0.0);
    sink += nbi_hkl_nearest(&t, t.h_max, t.k_max, t.l_max, 0.0);
    if (t.h_range >= 5 && t.k_range >= 5 && t.l_range >= 5) {
        double h = t.h_min + 2 + 0.5 * (t.h_range - 5), k = t.k_min + 2 + 0.25 * (t.k_range - 5),
               l = t.l_min + 2 + 0.75 * (t.l_range - 5);
        if (nbi_hkl_interp_ok(&t, h, k, l))
            sink += nbi_hkl_interpolate(&t, h, k, l);
    }
    (void)sink;
    if (nbi_hkl_write_fdump(dump_path, &t, &err) == NB_OK) {
        if (nbi_hkl_read_fdump(dump_path, &back, &err) != NB_OK
            || memcmp(back.F, t.F, grid_cells(&t) * sizeof(double)) != 0
            || back.l_max != t.l_max || back.h_min != t.h_min) {
            fprintf(stderr, "fuzz_fdump: round trip failed: %s\n", err.msg);
            abort();
        }
        nbi_hkl_free(&back);
    }
    nbi_hkl_free(&t);
    return 0;
}
