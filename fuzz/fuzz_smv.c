/*
 * fuzz_smv.c - libFuzzer target for the SMV image reader (nb_smv_read) and
 * header lookups (nb_smv_value) as -img and -mask use them.
 */
#include "fuzz_common.h"
#include "nanobragg.h"

static const char *const keys[] = {
    "HEADER_BYTES", "SIZE1", "SIZE2", "PIXEL_SIZE", "DISTANCE", "CLOSE_DISTANCE",
    "WAVELENGTH", "BEAM_CENTER_X", "BEAM_CENTER_Y", "ADXV_CENTER_X", "MOSFLM_CENTER_Y",
    "DENZO_X_BEAM", "DIALS_ORIGIN", "XDS_ORGX", "ORGY", "PHI", "OSC_START", "OSC_RANGE",
    "TWOTHETA", "BYTE_ORDER", "=", ";", "", "{"};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_init_temp("smv");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    nb_smv_frame frame;
    nb_error err;
    volatile double sink = 0;
    double v;
    size_t i, n;
    fuzz_write_temp(data, size);
    if (nb_smv_read(fuzz_path, &frame, &err) != NB_OK) {
        if (frame.header || frame.data)
            abort(); /* on failure *frame is empty */
        return 0;
    }
    if (frame.width < 1 || frame.height < 1 || !frame.data || !frame.header
        || strlen(frame.header) > frame.header_bytes
        || frame.header_bytes + 2 * (size_t)frame.width * (size_t)frame.height > size)
        abort();
    n = (size_t)frame.width * (size_t)frame.height;
    for (i = 0; i < n; i++)
        sink += frame.data[i];
    for (i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (nb_smv_value(&frame, keys[i], &v))
            sink += v;
    (void)nb_smv_value(&frame, "SIZE1", NULL);
    (void)sink;
    nb_smv_frame_free(&frame);
    nb_smv_frame_free(&frame); /* freeing an empty frame is fine */
    return 0;
}
