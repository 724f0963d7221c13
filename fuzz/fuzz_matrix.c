/*
 * fuzz_matrix.c - libFuzzer target for the MOSFLM A-matrix reader
 * (nbi_read_matrix).
 */
#include "fuzz_common.h"
#include "textio.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_init_temp("matrix");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    double m[9];
    nb_error err;
    volatile double sink = 0;
    int i;
    fuzz_write_temp(data, size);
    if (nbi_read_matrix(fuzz_path, m, &err) == NB_OK)
        for (i = 0; i < 9; i++)
            sink += m[i];
    (void)sink;
    return 0;
}
