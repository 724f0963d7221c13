/*
 * fuzz_sfcif.c - libFuzzer target for the mmCIF structure-factor reader
 * (nbi_sfio_read_sfcif, the _refln loop, as -sfcif uses it, on a temporary
 * file): the file read with the reader's choice of column, with the label
 * of one of an anomalous pair and with an intensity column's; then what
 * the program does with a list read (fuzz_sfio.h).  Built only with gemmi
 * (fuzz/CMakeLists.txt); the seeds are made by fuzz/make_sf_seeds.py.
 */
#include "fuzz_sfio.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_init_temp("sfcif");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_write_temp(data, size);
    fuzz_sf_read(nbi_sfio_read_sfcif, NULL);
    fuzz_sf_read(nbi_sfio_read_sfcif, "pdbx_F_minus");
    fuzz_sf_read(nbi_sfio_read_sfcif, "intensity_meas");
    return 0;
}
