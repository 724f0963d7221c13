/*
 * fuzz_mtz.c - libFuzzer target for the MTZ reader (nbi_sfio_read_mtz, as
 * -mtz uses it, on a temporary file): the file read with the reader's
 * choice of column, with the label of one of an anomalous pair and with an
 * intensity column's; then what the program does with a list read (the
 * space group against the file's cell, the expansion, the table of F:
 * fuzz_sfio.h).  Built only with gemmi (fuzz/CMakeLists.txt); the seeds
 * are made by fuzz/make_sf_seeds.py.
 */
#include "fuzz_sfio.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_init_temp("mtz");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_write_temp(data, size);
    fuzz_sf_read(nbi_sfio_read_mtz, NULL);
    fuzz_sf_read(nbi_sfio_read_mtz, "F(-)");
    fuzz_sf_read(nbi_sfio_read_mtz, "I");
    return 0;
}
