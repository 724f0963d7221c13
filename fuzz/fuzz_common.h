/*
 * fuzz_common.h - shared by the libFuzzer targets: the readers take file
 * names, so each input is written to one per-process temporary file in /tmp
 * (created once in LLVMFuzzerInitialize, rewritten for every input, removed
 * at exit).
 */
#ifndef NB_FUZZ_COMMON_H
#define NB_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char fuzz_path[64];
static int fuzz_fd = -1;

static inline void fuzz_remove_temp(void)
{
    if (fuzz_fd >= 0) {
        close(fuzz_fd);
        unlink(fuzz_path);
        fuzz_fd = -1;
    }
}

/* Create the temporary file; aborts (a harness error, not a finding) if /tmp
   is not writable. */
static inline void fuzz_init_temp(const char *tag)
{
    snprintf(fuzz_path, sizeof fuzz_path, "/tmp/nbfuzz-%s-XXXXXX", tag);
    fuzz_fd = mkstemp(fuzz_path);
    if (fuzz_fd < 0) {
        perror("fuzz: mkstemp");
        abort();
    }
    atexit(fuzz_remove_temp);
}

/* Replace the temporary file's contents with data[0..size). */
static inline void fuzz_write_temp(const uint8_t *data, size_t size)
{
    size_t done = 0;
    if (ftruncate(fuzz_fd, 0) != 0) {
        perror("fuzz: ftruncate");
        abort();
    }
    while (done < size) {
        ssize_t n = pwrite(fuzz_fd, data + done, size - done, (off_t)done);
        if (n <= 0) {
            perror("fuzz: pwrite");
            abort();
        }
        done += (size_t)n;
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
