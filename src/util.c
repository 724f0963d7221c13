/*
 * util.c - error formatting, log lines and size checks used across the library.
 */
#include "util.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *nb_strerror(nb_status status)
{
    switch (status) {
    case NB_OK: return "success";
    case NB_ERR_NOMEM: return "out of memory";
    case NB_ERR_IO: return "input/output error";
    case NB_ERR_PARSE: return "malformed text input";
    case NB_ERR_FORMAT: return "malformed binary input";
    case NB_ERR_INVALID: return "invalid value";
    case NB_ERR_RANGE: return "size out of range";
    case NB_ERR_USAGE: return "missing required input";
    case NB_ERR_CANCELLED: return "cancelled";
    }
    return "unknown status";
}

nb_status nbi_fail(nb_error *err, nb_status status, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return status;
}

void nbi_log(const nb_log *log, nb_log_level level, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    if (!log || !log->fn)
        return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    log->fn(log->ctx, level, line);
}

int nbi_direction_usable(double x, double y, double z)
{
    const double m = NBI_DIRECTION_MAX;
    if (!(fabs(x) <= m && fabs(y) <= m && fabs(z) <= m))
        return 0; /* NaN too */
    return x * x + y * y + z * z >= 1.0 / m / m;
}

size_t nbi_checked_size(size_t a, size_t b, size_t c, size_t sz, size_t limit)
{
    size_t n = a;
    if (a == 0 || b == 0 || c == 0 || sz == 0)
        return 0;
    if (n > SIZE_MAX / b)
        return 0;
    n *= b;
    if (n > SIZE_MAX / c)
        return 0;
    n *= c;
    if (n > SIZE_MAX / sz)
        return 0;
    n *= sz;
    return n <= limit ? n : 0;
}

