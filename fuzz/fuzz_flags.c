/*
 * fuzz_flags.c - libFuzzer target for the program's flag parser
 * (app_options_init + app_prescan_headers + app_parse_flags + app_options_free,
 * app/flags.c).
 * The input is split into argv words on NUL and whitespace (at most 64).
 * The parser's warnings go to the C stream stderr, which is pointed at
 * /dev/null; file descriptor 2 is left alone so that libFuzzer and the
 * sanitizers still report.
 */
#include <ctype.h>

#include "fuzz_common.h"
#include "options.h"

#define MAX_WORDS 64

int app_flags_sorted(void); /* app/flags.c */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    FILE *null;
    (void)argc;
    (void)argv;
    if (!app_flags_sorted())
        abort();
    null = fopen("/dev/null", "w");
    if (null)
        stderr = null; /* glibc: stderr is an assignable FILE * */
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size + 1);
    char *argv[MAX_WORDS + 2];
    int argc = 1;
    size_t i = 0;
    app_options o;
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    buf[size] = '\0';
    argv[0] = (char *)"nanobragg";
    while (i < size && argc <= MAX_WORDS) {
        while (i < size && (buf[i] == '\0' || isspace((unsigned char)buf[i])))
            buf[i++] = '\0';
        if (i == size)
            break;
        argv[argc++] = buf + i;
        while (i < size && buf[i] != '\0' && !isspace((unsigned char)buf[i]))
            i++;
        if (i < size)
            buf[i++] = '\0';
    }
    argv[argc] = NULL;
    if (app_options_init(&o) != 0) {
        free(buf);
        return 0;
    }
    app_prescan_headers(&o, argc, argv);
    (void)app_parse_flags(&o, argc, argv);
    app_options_free(&o);
    free(buf);
    return 0;
}
