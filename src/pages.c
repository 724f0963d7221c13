/*
 * pages.c - memory for whole images, backed up front (see pages.h).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "pages.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifdef __linux__
#include <sys/mman.h>
#include <unistd.h>
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* Linux 5.14; older kernels answer EINVAL */
#endif
#endif

int nbi_pages_back(void *p, size_t bytes)
{
#if defined(__linux__)
    long page = sysconf(_SC_PAGESIZE);
    uintptr_t a, b;
    if (!p || page <= 0)
        return EINVAL;
    if (bytes == 0)
        return 0;
    a = (uintptr_t)p & ~((uintptr_t)page - 1);
    b = ((uintptr_t)p + bytes + (uintptr_t)page - 1) & ~((uintptr_t)page - 1);
    return madvise((void *)a, (size_t)(b - a), MADV_POPULATE_WRITE) == 0 ? 0 : errno;
#else
    (void)p;
    (void)bytes;
    return ENOSYS;
#endif
}

#define HUGE_BYTES ((size_t)2 << 20)
/* From here up a request is rounded up to whole huge pages: one fault
   (the kernel clearing 2 MiB, about 0.1 ms) against one for each of 64 or
   more 4 KiB pages (5 to 10 us each on a virtual machine). */
#define HUGE_FROM ((size_t)256 << 10)

void *nbi_pages_calloc(size_t count, size_t size)
{
    size_t bytes, len;
    void *p = NULL;
    if (size && count > SIZE_MAX / size)
        return NULL;
    bytes = count * size;
    if (bytes < HUGE_FROM || bytes > SIZE_MAX - HUGE_BYTES)
        return bytes < HUGE_FROM ? calloc(count ? count : 1, size ? size : 1) : NULL;
    len = (bytes + HUGE_BYTES - 1) & ~(HUGE_BYTES - 1);
    if (posix_memalign(&p, HUGE_BYTES, len) != 0)
        return NULL;
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    (void)madvise(p, len, MADV_HUGEPAGE); /* a request: refused or ignored, 4 KiB pages */
#endif
    (void)nbi_pages_back(p, len); /* a hint: failures leave faults to do it */
    memset(p, 0, bytes);
    return p;
}
