/*
 * fuzz_sources.c - libFuzzer target for the numeric table reader
 * (nbi_read_columns) as the source list uses it: five columns
 * X Y Z weight lambda.
 */
#include <math.h>

#include "fuzz_common.h"
#include "textio.h"

#define NCOLS 5

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_init_temp("sources");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    double *cols[NCOLS];
    size_t nrows = 0, r;
    nb_error err;
    volatile double sink = 0;
    int i;
    fuzz_write_temp(data, size);
    if (nbi_read_columns(fuzz_path, NCOLS, cols, &nrows, &err) == NB_OK) {
        if (nrows == 0)
            abort(); /* an empty table is an error */
        for (i = 0; i < NCOLS; i++)
            for (r = 0; r < nrows; r++)
                sink += cols[i][r]; /* every row of every column must be readable */
    } else if (nrows != 0) {
        abort();
    }
    (void)sink;
    for (i = 0; i < NCOLS; i++)
        free(cols[i]); /* NULL after a failure */
    return 0;
}
