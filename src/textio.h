/*
 * textio.h - small text-file readers: multi-column numeric tables (source
 * lists) and the 3x3 MOSFLM orientation matrix.
 */
#ifndef NB_TEXTIO_H
#define NB_TEXTIO_H

#include <stddef.h>

#include "nanobragg.h"

/*
 * Read a table of up to ncols numbers per line, as nanoBragg's read_text_file:
 * fields separated by any of " \t,;:!", blank lines skipped; missing trailing
 * columns are NaN.  Lines starting with '#' are comments.  A field that is not
 * a number is an error naming file and line.  On success cols[i] (i < ncols)
 * is a malloc'd array of *nrows doubles (caller frees each); an empty table is
 * an error.
 */
NB_WARN_UNUSED nb_status nbi_read_columns(const char *path, int ncols, double **cols, size_t *nrows,
                                         nb_error *err);

/*
 * Read a MOSFLM A matrix: 9 numbers, three lines of "a*_i b*_i c*_i" for
 * i = x, y, z (further text after the nine numbers, e.g. MOSFLM's U matrix and
 * cell, is ignored).  m[0..8] are the nine numbers in file order, so
 * a* = (m[0], m[3], m[6]), b* = (m[1], m[4], m[7]), c* = (m[2], m[5], m[8]).
 */
NB_WARN_UNUSED nb_status nbi_read_matrix(const char *path, double m[9], nb_error *err);

/*
 * strtod(s, end) for the decimals of text tables, fast: a plain decimal
 * ("-12", "3.25", "+.5", at most 15 significant digits and 22 decimals, no
 * exponent) is converted as its digits, an integer below 2^53, divided by a
 * power of ten, both exact in double, so the one rounding is the division's
 * and the result is the correctly rounded value strtod gives; any other text
 * (exponents, more digits, inf, nan, hexadecimal) goes to strtod itself.
 */
double nbi_strtod(const char *s, char **end);

#endif
