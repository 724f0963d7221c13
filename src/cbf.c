/*
 * cbf.c - CBF images: a miniCBF (the imgCIF subset Pilatus and Eiger
 * detectors write) holding 32-bit signed counts, byte-offset compressed,
 * under the "# Key value" header lines that DIALS (dxtbx's FormatCBFMini)
 * and XDS read: pixel size, wavelength, distance, beam centre, start angle,
 * angle increment, exposure, sensor, polarization, count cutoff.
 *
 * Written after the CBF specification (imgCIF, "byte_offset" compression
 * and the MIME-style binary section); the format is small and fixed, and
 * CBFlib, whose writer would need the same header assembled by hand, is
 * not a dependency of the core.  The header convention is "GENERIC_MINI",
 * the one dxtbx reads as a generic simulated single-panel detector (the
 * "PILATUS" conventions make it look for a Pilatus module layout).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "experiment.h"
#include "fileout.h"
#include "util.h"
#include "vec3.h"

#define RTD (180.0 * M_1_PI)
#define CBF_PADDING 4095 /* zero bytes after the data, as CBFlib pads */

void nb_experiment_cbf_info(const nb_experiment *e, nb_cbf_info *info)
{
    const nbi_detector *d = &e->det;
    const nbi_centres *c = &d->centres;
    memset(info, 0, sizeof *info);
    info->fpixels = d->fpixels;
    info->spixels = d->spixels;
    info->pixel_m = d->pixel_m;
    info->wavelength_A = e->beam.lambda0_m * 1e10;
    /* the near point and its distance: where a detector normal to the beam
       (the only one miniCBF describes) is met by the beam */
    info->distance_m = d->close_distance_m;
    info->beam_x_px = c->Fclose_m / d->pixel_m;
    info->beam_y_px = c->Sclose_m / d->pixel_m;
    info->start_angle_deg = e->xtal.phi0_rad * RTD;
    info->angle_increment_deg = e->xtal.osc_rad * RTD;
    info->exposure_s = e->exposure_s;
    info->thickness_m = d->thicksteps > 0 ? d->thick_m : 0.0;
    info->polarization_fraction = e->nopolar ? 0.5 : 0.5 * (1.0 + e->polarization);
    info->flux = e->flux;
    info->count_cutoff = NB_CBF_COUNT_CUTOFF;
}

/* ---------------------------------------------------------------- compression */

/* Append v as n little-endian bytes. */
static unsigned char *put_le(unsigned char *p, long long v, int n)
{
    for (int i = 0; i < n; ++i)
        p[i] = (unsigned char)(((unsigned long long)v >> (8 * i)) & 0xff);
    return p + n;
}

size_t nb_cbf_byte_offset(const int32_t *values, size_t n, unsigned char *out)
{
    unsigned char *p = out;
    long long prev = 0;
    for (size_t i = 0; i < n; ++i) {
        const long long delta = (long long)values[i] - prev;
        prev = values[i];
        if (delta >= -127 && delta <= 127) {
            *p++ = (unsigned char)(delta & 0xff);
            continue;
        }
        *p++ = 0x80;
        if (delta >= -32767 && delta <= 32767) {
            p = put_le(p, delta, 2);
            continue;
        }
        p = put_le(p, -32768, 2); /* 0x8000 */
        if (delta >= -2147483647LL && delta <= 2147483647LL) {
            p = put_le(p, delta, 4);
            continue;
        }
        p = put_le(p, -2147483647LL - 1, 4); /* 0x80000000 */
        p = put_le(p, delta, 8);
    }
    return (size_t)(p - out);
}

/* ---------------------------------------------------------------- header */

/* The imgCIF text up to the binary section's MIME header; its length, or
   -1 if it does not fit. */
static int header_text(char *text, size_t size, const nb_cbf_info *s, const char *name)
{
    char sensor[96] = "";
    if (s->thickness_m > 0.0)
        snprintf(sensor, sizeof sensor, "# Silicon sensor, thickness %.6f m\r\n", s->thickness_m);
    int n = snprintf(text, size,
        "###CBF: VERSION 1.5, nanobragg " NB_VERSION_STRING "\r\n"
        "\r\n"
        "data_%s\r\n"
        "\r\n"
        "_array_data.header_convention \"GENERIC_MINI\"\r\n"
        "_array_data.header_contents\r\n"
        ";\r\n"
        "# Detector: nanobragg simulation, S/N 0\r\n"
        "# 1970-01-01T00:00:00.000\r\n"
        "# Pixel_size %.9ge-6 m x %.9ge-6 m\r\n"
        "%s"
        "# Exposure_time %.7f s\r\n"
        "# Exposure_period %.7f s\r\n"
        "# Tau = 0 s\r\n"
        "# Count_cutoff %ld counts\r\n"
        "# Wavelength %.9g A\r\n"
        "# Detector_distance %.9g m\r\n"
        "# Beam_xy (%.9g, %.9g) pixels\r\n"
        "# Flux %.9g\r\n"
        "# Filter_transmission 1.0000\r\n"
        "# Start_angle %.9g deg.\r\n"
        "# Angle_increment %.9g deg.\r\n"
        "# Polarization %.6g\r\n"
        "# Detector_2theta 0.0000 deg.\r\n"
        "# Phi %.9g deg.\r\n"
        "# Pedestal 0 counts\r\n"
        ";\r\n"
        "\r\n"
        "_array_data.data\r\n"
        ";\r\n",
        name, s->pixel_m * 1e6, s->pixel_m * 1e6, sensor, s->exposure_s, s->exposure_s, s->count_cutoff,
        s->wavelength_A, s->distance_m, s->beam_x_px, s->beam_y_px, s->flux, s->start_angle_deg,
        s->angle_increment_deg, s->polarization_fraction, s->start_angle_deg);
    return n >= 0 && (size_t)n < size ? n : -1;
}

static int mime_text(char *text, size_t size, const nb_cbf_info *s, size_t packed)
{
    const size_t n = (size_t)s->fpixels * (size_t)s->spixels;
    int len = snprintf(text, size,
        "--CIF-BINARY-FORMAT-SECTION--\r\n"
        "Content-Type: application/octet-stream;\r\n"
        "     conversions=\"x-CBF_BYTE_OFFSET\"\r\n"
        "Content-Transfer-Encoding: BINARY\r\n"
        "X-Binary-Size: %zu\r\n"
        "X-Binary-ID: 1\r\n"
        "X-Binary-Element-Type: \"signed 32-bit integer\"\r\n"
        "X-Binary-Element-Byte-Order: LITTLE_ENDIAN\r\n"
        "X-Binary-Number-of-Elements: %zu\r\n"
        "X-Binary-Size-Fastest-Dimension: %d\r\n"
        "X-Binary-Size-Second-Dimension: %d\r\n"
        "X-Binary-Size-Padding: %d\r\n"
        "\r\n"
        "\x0c\x1a\x04\xd5",
        packed, n, s->fpixels, s->spixels, CBF_PADDING);
    return len >= 0 && (size_t)len < size ? len : -1;
}

/* The data block's name: the file's name without directory and extension,
   letters, digits, '_' and '-' kept (imgCIF names allow no blanks). */
static void block_name(const char *path, char *name, size_t size)
{
    const char *base = strrchr(path, '/');
    size_t n = 0;
    base = base ? base + 1 : path;
    for (const char *p = base; *p && *p != '.' && n + 1 < size; ++p)
        name[n++] = (char)((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')
                                   || *p == '-' ? *p : '_');
    if (n == 0)
        name[n++] = 'i';
    name[n] = '\0';
}

nb_status nb_outputs_add_cbf(nb_outputs *set, const char *path, const nb_cbf_info *info,
                             const int32_t *counts, nb_error *err)
{
    char head[4096], mime[1024], name[64];
    static const char tail[] = "\r\n--CIF-BINARY-FORMAT-SECTION----\r\n;\r\n\r\n";
    unsigned char *packed, *zeros;
    size_t n, size;
    nbi_fileout *f;
    nb_status st;
    int hl, ml;

    if (!info || !counts || info->fpixels < 1 || info->spixels < 1)
        return nbi_outputs_spoil(set, nbi_fail(err, NB_ERR_INVALID, "cannot write %s: no image",
                                               path ? path : "(null)"));
    n = (size_t)info->fpixels * (size_t)info->spixels;
    if (n > ((size_t)1 << 31) / 15)
        return nbi_outputs_spoil(set, nbi_fail(err, NB_ERR_RANGE, "cannot write %s: %dx%d pixels is too large "
                                               "for a CBF image", path, info->fpixels, info->spixels));
    block_name(path ? path : "", name, sizeof name);
    hl = header_text(head, sizeof head, info, name);
    packed = malloc(15 * n); /* the worst case: 1 + 2 + 4 + 8 bytes a pixel */
    zeros = calloc(CBF_PADDING, 1);
    if (!packed || !zeros || hl < 0) {
        free(packed);
        free(zeros);
        return nbi_outputs_spoil(set, nbi_fail(err, hl < 0 ? NB_ERR_RANGE : NB_ERR_NOMEM,
                                               "cannot write %s: %s", path,
                                               hl < 0 ? "header values too long" : "out of memory"));
    }
    size = nb_cbf_byte_offset(counts, n, packed);
    ml = mime_text(mime, sizeof mime, info, size);
    st = nbi_outputs_begin(set, path, &f, err);
    if (st == NB_OK) {
        nbi_fileout_write(f, head, (size_t)hl);
        nbi_fileout_write(f, mime, (size_t)ml);
        nbi_fileout_write(f, packed, size);
        nbi_fileout_write(f, zeros, CBF_PADDING);
        nbi_fileout_write(f, tail, sizeof tail - 1);
        st = nbi_outputs_end(set, f, err);
    }
    free(packed);
    free(zeros);
    return st;
}

nb_status nb_write_cbf(const char *path, const nb_cbf_info *info, const int32_t *counts, nb_error *err)
{
    nb_outputs *set;
    nb_status st = nbi_output_one(path, &set, err);
    if (st != NB_OK)
        return st;
    return nbi_output_one_done(set, nb_outputs_add_cbf(set, path, info, counts, err), err);
}

const char *nb_cbf_geometry_note(const nb_experiment *e)
{
    const nbi_detector *d = &e->det;
    const vec3 normal = v3_cross(d->fdet, d->sdet);
    const double tol = 1e-9;
    if (d->curved)
        return "the detector is curved (miniCBF describes a flat one)";
    if (!(v3_dot(normal, e->beam.dir) > 1.0 - tol))
        return "the detector is not normal to the beam (miniCBF states a distance and a beam centre only)";
    if (!(v3_dot(d->fdet, e->xtal.spindle) > 1.0 - tol))
        return "the rotation axis is not the detector's fast axis (miniCBF readers assume it is)";
    if (!e->nopolar && e->polarization != 0.0 && !(fabs(v3_dot(d->fdet, e->polar_vector)) > 1.0 - tol))
        return "the polarization's E-vector is not along the detector's fast axis (miniCBF readers assume it is)";
    return NULL;
}
