/*
 * roi.h - the region of interest, {fast min, fast max, slow min, slow max}
 * in inclusive pixel indices, tested in one place for the kernels, the
 * statistics and the image conversions.
 */
#ifndef NB_ROI_H
#define NB_ROI_H

/* Whether row s lies in the region. */
static inline int nbi_roi_has_row(const int roi[4], int s)
{
    return s >= roi[2] && s <= roi[3];
}

/* Whether pixel (f, s) lies in the region. */
static inline int nbi_roi_has(const int roi[4], int f, int s)
{
    return f >= roi[0] && f <= roi[1] && nbi_roi_has_row(roi, s);
}

/* The region's columns that lie on a detector fpixels wide: [*f0, *f1). */
static inline void nbi_roi_columns(const int roi[4], int fpixels, int *f0, int *f1)
{
    *f0 = roi[0] < 0 ? 0 : roi[0];
    *f1 = roi[1] + 1 > fpixels ? fpixels : roi[1] + 1;
}

#endif
