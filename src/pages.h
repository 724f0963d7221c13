/*
 * pages.h - memory for whole images: backed with pages up front, in huge
 * pages where the system has them.  A fresh page costs a fault at its first
 * touch, and on a virtual machine with shadow page tables a second one when
 * the hardware first maps it (measured here: 5 to 10 us for each 4 KiB page,
 * 25 to 45 ms for a 16 MiB image); a 2 MiB huge page costs one for 512.
 */
#ifndef NB_PAGES_H
#define NB_PAGES_H

#include <stddef.h>

/* Ask the system to back every page that holds a byte of [p, p + bytes)
   now, for writing, in one call instead of one page fault at a time at
   their first touch (far cheaper where faults are costly, as on virtual
   machines).  Those pages must all be mapped writable (true of any
   allocation from malloc, and of a mapping).  Contents are left as they
   are, and memory that is already backed as it is.  Returns 0, or an errno
   value: ENOSYS where the system has no such request, EFAULT or ENOMEM
   when pages could not be backed (for a file mapping: no space for them on
   the disk), EINVAL for an argument the system refuses. */
int nbi_pages_back(void *p, size_t bytes);

/* count * size zero bytes, freed with free(), or NULL if out of memory (or
   the product overflows).  From 256 KiB up: 2 MiB aligned, rounded up to
   whole 2 MiB pages, in transparent huge pages where the system gives them,
   and backed now (nbi_pages_back); below that, calloc's. */
void *nbi_pages_calloc(size_t count, size_t size);

#endif
