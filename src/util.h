/*
 * util.h - internal helpers shared by the modules: error messages, log lines,
 * checked allocation sizes.
 */
#ifndef NB_UTIL_H
#define NB_UTIL_H

#include <stddef.h>

#include "nanobragg.h"

#if defined(__GNUC__) || defined(__clang__)
#define NBI_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define NBI_PRINTF(a, b)
#endif

/* Format a message into err (if not NULL) and return status. */
nb_status nbi_fail(nb_error *err, nb_status status, const char *fmt, ...) NBI_PRINTF(3, 4);

/* Send one formatted line to the log callback (if any). */
void nbi_log(const nb_log *log, nb_log_level level, const char *fmt, ...) NBI_PRINTF(3, 4);

/* a*b*c elements of size sz fit in size_t and below limit bytes: returns the byte
   count, or 0 if not. */
size_t nbi_checked_size(size_t a, size_t b, size_t c, size_t sz, size_t limit);


/* Directions (detector axes, beam, sources) are normalised as given, by
   sqrt(x^2 + y^2 + z^2): components up to NBI_DIRECTION_MAX and a length of
   at least 1/NBI_DIRECTION_MAX keep the squares normal numbers. */
#define NBI_DIRECTION_MAX 1e100

/* 1 if (x, y, z) is finite and within those bounds, else 0. */
int nbi_direction_usable(double x, double y, double z);

#endif
