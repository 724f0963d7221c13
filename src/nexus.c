/*
 * nexus.c - NeXus/NXmx files (HDF5): one file per series, its images in
 * /entry/data/data [n, slow, fast] (32-bit signed counts, one chunk per
 * image, shuffled and deflate-compressed), the geometry as NXmx states it
 * in NeXus's McStas frame, written so that dxtbx (DIALS) reads the true
 * geometry with no overrides.  docs/nexus.md describes the layout, the
 * frame and what was checked against dxtbx's readers.
 *
 * The writer is open / append image k / close: nb_nexus_open writes
 * everything but the images into a temporary beside the target (made as
 * an output set's member, fileout.c), each append writes one image's
 * chunk, and close writes the per-image arrays (angles, orientations),
 * closes the file and renames it into place.  Nothing depends on the
 * clock: the same calls write the same bytes (HDF5's object time stamps
 * are turned off).
 *
 * The geometry (nbi_nexus_geometry_of and the image records) needs no
 * HDF5; without it (NB_HAVE_HDF5 unset) the writers refuse, naming the
 * Debian package to install.
 */
#include "nexus.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fileout.h"
#include "roi.h"
#include "util.h"

#define RTD (180.0 * M_1_PI)

/* ---------------------------------------------------------------- geometry */

void nbi_mcstas_frame(vec3 beam, double R[9])
{
    vec3 z, y, x, up = v3(0, 1, 0);
    if (!(v3_unit(beam, &z) > 0.0))
        z = v3(0, 0, 1);
    if (fabs(v3_dot(up, z)) > 0.9) /* within 25.8 degrees of y */
        up = v3(0, 0, 1);
    v3_unit(v3_sub(up, v3_scale(z, v3_dot(up, z))), &y);
    x = v3_cross(y, z);
    v3_store(x, R);
    v3_store(y, R + 3);
    v3_store(z, R + 6);
}

vec3 nbi_to_mcstas(const double R[9], vec3 v) { return v3_rotate_umat(v, R); }

void nbi_nexus_geometry_of(const nb_experiment *e, nbi_nexus_geometry *g)
{
    const nbi_detector *d = &e->det;
    const double K = e->nopolar ? 0.0 : e->polarization;
    vec3 E, spot;
    double psi = 0.0, bn;
    memset(g, 0, sizeof *g);
    g->fpixels = d->fpixels;
    g->spixels = d->spixels;
    g->pixel_m = d->pixel_m;
    g->wavelength_A = e->beam.lambda0_m * 1e10;
    nbi_mcstas_frame(e->beam.dir, g->R);
    g->origin_m = nbi_to_mcstas(g->R, d->pix0);
    g->fast = nbi_to_mcstas(g->R, d->fdet);
    g->slow = nbi_to_mcstas(g->R, d->sdet);
    g->normal = nbi_to_mcstas(g->R, d->odet);
    g->close_distance_m = d->close_distance_m;
    /* where the beam meets the detector plane (nanoBragg's Fbeam and Sbeam
       take the point at -distance along the beam, off the plane once it is
       turned by -twotheta); a beam that misses the plane: the near point */
    bn = v3_dot(e->beam.dir, d->odet);
    g->distance_m = bn > 1e-9 ? d->close_distance_m / bn : d->close_distance_m;
    spot = v3_sub(bn > 1e-9 ? v3_scale(e->beam.dir, g->distance_m) : v3_scale(d->odet, d->close_distance_m), d->pix0);
    g->beam_center_px[0] = v3_dot(spot, d->fdet) / d->pixel_m;
    g->beam_center_px[1] = v3_dot(spot, d->sdet) / d->pixel_m;
    g->spindle = nbi_to_mcstas(g->R, e->xtal.spindle);
    /* nanoBragg's Kahn factor K is the degree of linear polarization, its
       E-vector the polar vector made perpendicular to the beam: Stokes
       (1, K cos 2psi, K sin 2psi, 0), psi the E-vector's angle from x */
    E = nbi_to_mcstas(g->R, e->polar_vector);
    if (hypot(E.x, E.y) > 1e-12)
        psi = atan2(E.y, E.x);
    g->stokes[0] = 1.0;
    g->stokes[1] = K * cos(2.0 * psi);
    g->stokes[2] = K * sin(2.0 * psi);
    g->stokes[3] = 0.0;
    g->thickness_m = d->thicksteps > 0 ? d->thick_m : 0.0;
    g->exposure_s = e->exposure_s;
    g->flux = e->flux;
    for (int i = 0; i < 3; ++i) {
        g->cell_A[i] = e->xtal.params.len_A[i];
        g->cell_deg[i] = e->xtal.params.deg[i];
    }
    g->rotation = e->xtal.osc_rad != 0.0;
}

void nb_experiment_nexus_image(const nb_experiment *e, nb_nexus_image *im)
{
    const nbi_crystal *x = &e->xtal;
    const vec3 r[3] = {x->astar, x->bstar, x->cstar};
    const int still = x->osc_rad == 0.0;
    double R[9];
    memset(im, 0, sizeof *im);
    im->phi_deg = x->phi0_rad * RTD;
    im->osc_deg = x->osc_rad * RTD;
    nbi_mcstas_frame(e->beam.dir, R);
    for (int j = 0; j < 3; ++j) {
        /* a still has no rotation axis: its orientation as the image sees it */
        vec3 v = still && x->phi0_rad != 0.0 ? v3_rotate_axis(r[j], x->spindle, x->phi0_rad) : r[j];
        v = nbi_to_mcstas(R, v);
        im->ub[0 + j] = v.x;
        im->ub[3 + j] = v.y;
        im->ub[6 + j] = v.z;
    }
}

const char *nb_nexus_geometry_note(const nb_experiment *e)
{
    if (e->det.curved)
        return "the detector is curved (an NXmx module is flat: the file describes the flat detector)";
    return NULL;
}

/* A target that exists and is not a regular file (a device, a FIFO) cannot
   take an HDF5 file, which is written elsewhere and renamed: NB_ERR_IO. */
static nb_status check_regular(const char *path, nb_error *err)
{
    struct stat st;
    if (path && stat(path, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
        return nbi_fail(err, NB_ERR_IO, "cannot write %s: a NeXus (HDF5) file must be a regular file", path);
    return NB_OK;
}

#ifndef NB_HAVE_HDF5

/* ---------------------------------------------------------------- no HDF5 */

#define NO_HDF5 "this build of nanobragg has no HDF5: install the Debian package libhdf5-dev, then build again"

int nb_nexus_supported(void) { return 0; }

nb_status nb_nexus_open(const char *path, const nb_experiment *exp, int nimages, nb_nexus **out, nb_error *err)
{
    (void)exp, (void)nimages, (void)check_regular;
    if (out)
        *out = NULL;
    return nbi_fail(err, NB_ERR_USAGE, "cannot write the NeXus file %s: %s", path ? path : "(null)", NO_HDF5);
}

nb_status nb_nexus_append(nb_nexus *nx, const nb_nexus_image *image, const int32_t *counts, nb_error *err)
{
    (void)nx, (void)image, (void)counts;
    return nbi_fail(err, NB_ERR_USAGE, "NeXus output: %s", NO_HDF5);
}

nb_status nb_nexus_close(nb_nexus *nx, nb_error *err)
{
    (void)nx;
    return nbi_fail(err, NB_ERR_USAGE, "NeXus output: %s", NO_HDF5);
}

void nb_nexus_abort(nb_nexus *nx) { (void)nx; }

nb_status nb_outputs_add_nexus(nb_outputs *set, const char *path, const nb_experiment *exp,
                               const int32_t *counts, nb_error *err)
{
    (void)exp, (void)counts;
    return nbi_outputs_spoil(set, nbi_fail(err, NB_ERR_USAGE, "cannot write the NeXus file %s: %s",
                                           path ? path : "(null)", NO_HDF5));
}

#else

/* ---------------------------------------------------------------- HDF5 */

#include <hdf5.h>

#define DETECTOR "/entry/instrument/detector"
#define DET_Z DETECTOR "/transformations/det_z"
#define MODULE DETECTOR "/module"
#define PHI "/entry/sample/transformations/phi"
#define CHUNK_BYTES_MAX ((size_t)1 << 30) /* an image per chunk up to 1 GiB */
#define DEFLATE_LEVEL 4
#define NO_SENSOR_M 1e-9 /* the sensor_thickness of a detector without depth */

struct nb_nexus {
    nb_outputs *own;         /* the set of one the file is staged in (nb_nexus_open) */
    char *path;              /* the target, for messages */
    hid_t file, data;        /* open while writing (negative: closed) */
    int nimages, appended;
    int fpixels, spixels;
    int rotation;
    vec3 spindle;            /* the rotation axis, McStas */
    nb_status failed;        /* the first failure, else NB_OK */
    double *phi, *osc, *ub;  /* per image appended: cap, cap, 9 cap */
    int cap;
};

int nb_nexus_supported(void) { return 1; }

/* The first failure: its status and message (HDF5's reason, from its error
   stack, when it has one; call right after the failing call). */
typedef struct h5w {
    nb_nexus *nx;
    nb_error *err;
} h5w;

static herr_t first_error(unsigned n, const H5E_error2_t *e, void *ctx)
{
    char *reason = ctx;
    if (n == 0 && e->desc)
        snprintf(reason, 256, "%s", e->desc);
    return 0;
}

static nb_status fail(h5w *w, nb_status st, const char *what)
{
    char reason[256] = "", *sys;
    if (w->nx->failed != NB_OK)
        return w->nx->failed;
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, first_error, reason);
    /* the file driver's message holds the system's in "error message = '...'" */
    if ((sys = strstr(reason, "error message = '")) != NULL) {
        char *end;
        memmove(reason, sys + 17, strlen(sys + 17) + 1);
        if ((end = strchr(reason, '\'')) != NULL)
            *end = '\0';
    }
    w->nx->failed = st;
    if (*reason)
        return nbi_fail(w->err, st, "cannot write %s: %s (HDF5: %s)", w->nx->path, what, reason);
    return nbi_fail(w->err, st, "cannot write %s: %s", w->nx->path, what);
}

#define OK(w) ((w)->nx->failed == NB_OK)

static void close_id(hid_t id)
{
    if (id < 0)
        return;
    switch (H5Iget_type(id)) {
    case H5I_FILE: H5Fclose(id); break;
    case H5I_GROUP: H5Gclose(id); break;
    case H5I_DATASET: H5Dclose(id); break;
    case H5I_DATATYPE: H5Tclose(id); break;
    case H5I_DATASPACE: H5Sclose(id); break;
    case H5I_ATTR: H5Aclose(id); break;
    case H5I_GENPROP_LST: H5Pclose(id); break;
    default: break;
    }
}

/* Creation property lists without time stamps (the bytes depend only on
   the calls). */
static hid_t group_plist(void)
{
    hid_t p = H5Pcreate(H5P_GROUP_CREATE);
    if (p >= 0 && H5Pset_obj_track_times(p, 0) < 0) {
        H5Pclose(p);
        return -1;
    }
    return p;
}

static hid_t dataset_plist(void)
{
    hid_t p = H5Pcreate(H5P_DATASET_CREATE);
    if (p >= 0 && H5Pset_obj_track_times(p, 0) < 0) {
        H5Pclose(p);
        return -1;
    }
    return p;
}

/* A fixed-length ASCII string type of text's length. */
static hid_t string_type(const char *text)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    size_t n = strlen(text);
    if (t >= 0 && (H5Tset_size(t, n ? n : 1) < 0 || H5Tset_strpad(t, H5T_STR_NULLPAD) < 0)) {
        H5Tclose(t);
        return -1;
    }
    return t;
}

static void attr_string(h5w *w, hid_t obj, const char *name, const char *text)
{
    hid_t t = -1, s = -1, a = -1;
    if (!OK(w))
        return;
    if ((t = string_type(text)) < 0 || (s = H5Screate(H5S_SCALAR)) < 0 ||
        (a = H5Acreate2(obj, name, t, s, H5P_DEFAULT, H5P_DEFAULT)) < 0 || H5Awrite(a, t, text) < 0)
        fail(w, NB_ERR_IO, name);
    close_id(a);
    close_id(s);
    close_id(t);
}

static void attr_doubles(h5w *w, hid_t obj, const char *name, const double *v, hsize_t n)
{
    hid_t s = -1, a = -1;
    if (!OK(w))
        return;
    if ((s = H5Screate_simple(1, &n, NULL)) < 0 ||
        (a = H5Acreate2(obj, name, H5T_IEEE_F64LE, s, H5P_DEFAULT, H5P_DEFAULT)) < 0 ||
        H5Awrite(a, H5T_NATIVE_DOUBLE, v) < 0)
        fail(w, NB_ERR_IO, name);
    close_id(a);
    close_id(s);
}

static void attr_vec3(h5w *w, hid_t obj, const char *name, vec3 v)
{
    const double a[3] = {v.x, v.y, v.z};
    attr_doubles(w, obj, name, a, 3);
}

/* A group of NeXus class nx_class (caller closes), or -1 after a failure. */
static hid_t group(h5w *w, hid_t loc, const char *name, const char *nx_class)
{
    hid_t p, g = -1;
    if (!OK(w))
        return -1;
    if ((p = group_plist()) < 0 || (g = H5Gcreate2(loc, name, H5P_DEFAULT, p, H5P_DEFAULT)) < 0)
        fail(w, NB_ERR_IO, name);
    close_id(p);
    attr_string(w, g, "NX_class", nx_class);
    return g;
}

/* A data set of type file_type holding rank-dims values of mem_type (a
   scalar for rank 0), with a units attribute unless units is NULL; the
   caller closes it (or -1 after a failure). */
static hid_t dataset(h5w *w, hid_t loc, const char *name, hid_t file_type, hid_t mem_type, int rank,
                     const hsize_t *dims, const void *values, const char *units)
{
    hid_t p = -1, s = -1, d = -1;
    if (!OK(w))
        return -1;
    if ((p = dataset_plist()) < 0 || (s = rank ? H5Screate_simple(rank, dims, NULL) : H5Screate(H5S_SCALAR)) < 0 ||
        (d = H5Dcreate2(loc, name, file_type, s, H5P_DEFAULT, p, H5P_DEFAULT)) < 0 ||
        H5Dwrite(d, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, values) < 0)
        fail(w, NB_ERR_IO, name);
    close_id(p);
    close_id(s);
    if (units)
        attr_string(w, d, "units", units);
    return d;
}

static void put_string(h5w *w, hid_t loc, const char *name, const char *text)
{
    hid_t t = OK(w) ? string_type(text) : -1;
    if (OK(w) && t < 0)
        fail(w, NB_ERR_IO, name);
    close_id(dataset(w, loc, name, t, t, 0, NULL, text, NULL));
    close_id(t);
}

static void put_double(h5w *w, hid_t loc, const char *name, double v, const char *units)
{
    close_id(dataset(w, loc, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 0, NULL, &v, units));
}

static void put_doubles(h5w *w, hid_t loc, const char *name, int rank, const hsize_t *dims,
                        const double *v, const char *units)
{
    close_id(dataset(w, loc, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, rank, dims, v, units));
}

static void put_long(h5w *w, hid_t loc, const char *name, long long v)
{
    close_id(dataset(w, loc, name, H5T_STD_I64LE, H5T_NATIVE_LLONG, 0, NULL, &v, NULL));
}

/* An NXtransformations axis: one value (or the series' values later),
   with the attributes NXmx and dxtbx read. */
static void axis_attributes(h5w *w, hid_t d, const char *type, vec3 vector, const char *depends_on)
{
    attr_string(w, d, "transformation_type", type);
    attr_vec3(w, d, "vector", vector);
    attr_vec3(w, d, "offset", v3(0, 0, 0));
    attr_string(w, d, "offset_units", "m");
    attr_string(w, d, "depends_on", depends_on);
}

static void put_axis(h5w *w, hid_t loc, const char *name, double value, const char *units, const char *type,
                     vec3 vector, const char *depends_on)
{
    hid_t d = dataset(w, loc, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 0, NULL, &value, units);
    if (d >= 0)
        axis_attributes(w, d, type, vector, depends_on);
    close_id(d);
}

/* Rows of an image per chunk: all of them up to CHUNK_BYTES_MAX. */
static hsize_t chunk_rows(int fpixels, int spixels)
{
    size_t rows = CHUNK_BYTES_MAX / (4 * (size_t)fpixels);
    return rows >= (size_t)spixels ? (hsize_t)spixels : rows > 0 ? (hsize_t)rows : 1;
}

/* A chunked, shuffled, deflated int32 or uint32 data set of rank 2 or 3
   (images last two dimensions), chunks of one image (or part of one). */
static hid_t image_dataset(h5w *w, hid_t loc, const char *name, hid_t type, int rank, const hsize_t *dims)
{
    hsize_t chunk[3];
    hid_t p = -1, s = -1, d = -1;
    if (!OK(w))
        return -1;
    for (int i = 0; i < rank; ++i)
        chunk[i] = i < rank - 2 ? 1 : dims[i];
    chunk[rank - 2] = chunk_rows((int)dims[rank - 1], (int)dims[rank - 2]);
    if ((p = dataset_plist()) < 0 || H5Pset_chunk(p, rank, chunk) < 0 || H5Pset_shuffle(p) < 0 ||
        H5Pset_deflate(p, DEFLATE_LEVEL) < 0 || (s = H5Screate_simple(rank, dims, NULL)) < 0 ||
        (d = H5Dcreate2(loc, name, type, s, H5P_DEFAULT, p, H5P_DEFAULT)) < 0)
        fail(w, NB_ERR_IO, name);
    close_id(p);
    close_id(s);
    return d;
}

/* "1970-01-01T00:00:00Z" plus seconds (to the millisecond), into text;
   0, or -1 beyond the year 9999. */
static int iso_time(double seconds, char text[64])
{
    long long whole, days, y, m, d, z, era, doe, yoe, doy, mp, rem;
    int ms;
    if (!(seconds >= 0.0) || seconds > 253402300799.0)
        return -1;
    whole = (long long)floor(seconds);
    ms = (int)floor((seconds - (double)whole) * 1000.0 + 0.5);
    if (ms >= 1000) {
        ++whole;
        ms -= 1000;
    }
    days = whole / 86400;
    rem = whole % 86400;
    /* civil date of a day number (days since 1970-01-01), proleptic Gregorian */
    z = days + 719468;
    era = z / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    y = yoe + era * 400;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    d = doy - (153 * mp + 2) / 5 + 1;
    m = mp < 10 ? mp + 3 : mp - 9;
    y += m <= 2;
    snprintf(text, 64, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", (int)y, (int)m, (int)d, (int)(rem / 3600),
             (int)(rem / 60 % 60), (int)(rem % 60), ms % 1000);
    return 0;
}

/* The pixel mask: bit 8 (user-defined) where a pixel is outside the ROI or
   masked (the data hold -1 there), 0 elsewhere; caller frees. */
static uint32_t *pixel_mask(const nb_experiment *e)
{
    const nbi_detector *d = &e->det;
    size_t n = (size_t)d->fpixels * (size_t)d->spixels;
    uint32_t *m = malloc(n * sizeof *m);
    if (!m)
        return NULL;
    for (int s = 0; s < d->spixels; ++s)
        for (int f = 0; f < d->fpixels; ++f) {
            size_t i = (size_t)s * (size_t)d->fpixels + (size_t)f;
            m[i] = !nbi_roi_has(d->roi, f, s) || (d->mask && d->mask[i] == 0) ? 256u : 0u;
        }
    return m;
}

/* /entry/instrument/beam: wavelength, polarization, flux. */
static void write_beam(h5w *w, hid_t ins, const nbi_nexus_geometry *g)
{
    const hsize_t four = 4;
    hid_t beam = group(w, ins, "beam", "NXbeam");
    put_double(w, beam, "incident_wavelength", g->wavelength_A, "angstrom");
    put_doubles(w, beam, "incident_polarization_stokes", 1, &four, g->stokes, NULL);
    if (g->flux > 0.0)
        put_double(w, beam, "total_flux", g->flux, "Hz");
    close_id(beam);
}

/* The detector's values and pixel mask (the values the data hold). */
static void write_detector_values(h5w *w, hid_t det, const nb_experiment *e, const nbi_nexus_geometry *g)
{
    const hsize_t dims[2] = {(hsize_t)g->spixels, (hsize_t)g->fpixels};
    char text[512];
    uint32_t *mask;
    hid_t d;
    snprintf(text, sizeof text,
             "nanoBragg simulation: photon counts (%s), no offset added (pedestal 0: nanoBragg's -adc "
             "offset is only in its SMV images); -1 marks pixels outside the ROI or masked (pixel_mask "
             "bit 8); a perfect detector: no gain, no readout noise, no dead time%s",
             "Poisson noise, or the rounded expected counts when written without noise",
             g->thickness_m > 0.0 ? "" : "; no sensor depth was simulated (sensor_thickness: 1 nm)");
    put_string(w, det, "description", text);
    put_string(w, det, "type", "pixel");
    put_double(w, det, "distance", g->distance_m, "m");
    put_double(w, det, "beam_center_x", g->beam_center_px[0], "pixel");
    put_double(w, det, "beam_center_y", g->beam_center_px[1], "pixel");
    put_double(w, det, "x_pixel_size", g->pixel_m, "m");
    put_double(w, det, "y_pixel_size", g->pixel_m, "m");
    put_string(w, det, "sensor_material", "Si");
    /* NXmx needs a thickness and dxtbx a positive one: a simulation without
       sensor depth states 1 nm, whose parallax (mu t^2 / 2) is nothing */
    put_double(w, det, "sensor_thickness", g->thickness_m > 0.0 ? g->thickness_m : NO_SENSOR_M, "m");
    put_long(w, det, "saturation_value", NB_CBF_COUNT_CUTOFF);
    put_long(w, det, "underload_value", 0);
    put_double(w, det, "pedestal", 0.0, "counts"); /* not NXmx: the offset the data hold */
    put_double(w, det, "count_time", g->exposure_s, "s");
    put_double(w, det, "frame_time", g->exposure_s, "s");
    if (!OK(w))
        return;
    if (!(mask = pixel_mask(e))) {
        fail(w, NB_ERR_NOMEM, "out of memory for the pixel mask");
        return;
    }
    d = image_dataset(w, det, "pixel_mask", H5T_STD_U32LE, 2, dims);
    if (d >= 0 && H5Dwrite(d, H5T_NATIVE_UINT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, mask) < 0)
        fail(w, NB_ERR_IO, "pixel_mask");
    close_id(d);
    free(mask);
}

/* /entry/instrument/detector: values, the det_z axis, the module. */
static void write_detector(h5w *w, hid_t ins, const nb_experiment *e, const nbi_nexus_geometry *g)
{
    const hsize_t two = 2;
    const int origin[2] = {0, 0}, size[2] = {g->spixels, g->fpixels}, stride[2] = {1, 1};
    const vec3 in_plane = v3_sub(g->origin_m, v3_scale(g->normal, g->close_distance_m));
    const double offset_m = v3_mag(in_plane);
    hid_t det = group(w, ins, "detector", "NXdetector"), tr, mod;
    put_string(w, det, "depends_on", DET_Z);
    write_detector_values(w, det, e, g);

    tr = group(w, det, "transformations", "NXtransformations");
    put_axis(w, tr, "det_z", g->close_distance_m, "m", "translation", g->normal, ".");
    close_id(tr);

    mod = group(w, det, "module", "NXdetector_module");
    close_id(dataset(w, mod, "data_origin", H5T_STD_I32LE, H5T_NATIVE_INT, 1, &two, origin, NULL));
    close_id(dataset(w, mod, "data_size", H5T_STD_I32LE, H5T_NATIVE_INT, 1, &two, size, NULL));
    close_id(dataset(w, mod, "data_stride", H5T_STD_I32LE, H5T_NATIVE_INT, 1, &two, stride, NULL));
    /* the first pixel's outer corner: det_z to the plane, then within it */
    put_axis(w, mod, "module_offset", offset_m, "m", "translation",
             offset_m > 0.0 ? v3_scale(in_plane, 1.0 / offset_m) : g->fast, DET_Z);
    put_axis(w, mod, "fast_pixel_direction", g->pixel_m, "m", "translation", g->fast, MODULE "/module_offset");
    put_axis(w, mod, "slow_pixel_direction", g->pixel_m, "m", "translation", g->slow, MODULE "/module_offset");
    close_id(mod);
    close_id(det);
}

/* /entry/sample: the cell and the axis' group (its angles come at close). */
static void write_sample(h5w *w, hid_t entry, const nbi_nexus_geometry *g)
{
    const hsize_t three = 3;
    hid_t sample = group(w, entry, "sample", "NXsample");
    put_string(w, sample, "name", "nanoBragg crystal");
    put_string(w, sample, "depends_on", g->rotation ? PHI : ".");
    put_doubles(w, sample, "unit_cell_abc", 1, &three, g->cell_A, "angstrom");
    put_doubles(w, sample, "unit_cell_alphabetagamma", 1, &three, g->cell_deg, "deg");
    if (g->rotation)
        close_id(group(w, sample, "transformations", "NXtransformations"));
    close_id(sample);
}

/* Everything but the per-image values: the file's attributes, /entry, the
   (empty) data set of the images, source, instrument, sample. */
static void write_entry(h5w *w, const nb_experiment *e, const nbi_nexus_geometry *g)
{
    hid_t file = w->nx->file, entry, ins, source, data, d;
    const hsize_t dims[3] = {(hsize_t)w->nx->nimages, (hsize_t)g->spixels, (hsize_t)g->fpixels};
    char end[64];

    attr_string(w, file, "default", "entry");
    attr_string(w, file, "creator", "nanobragg " NB_VERSION_STRING);
    attr_string(w, file, "NX_class", "NXroot");

    entry = group(w, file, "entry", "NXentry");
    attr_string(w, entry, "default", "data");
    put_string(w, entry, "definition", "NXmx");
    put_string(w, entry, "title", "nanoBragg simulation");
    /* no clock: the time line of the series starts at the epoch */
    put_string(w, entry, "start_time", "1970-01-01T00:00:00.000Z");
    if (iso_time(g->exposure_s * w->nx->nimages, end) == 0)
        put_string(w, entry, "end_time_estimated", end);

    data = group(w, entry, "data", "NXdata");
    attr_string(w, data, "signal", "data");
    w->nx->data = image_dataset(w, data, "data", H5T_STD_I32LE, 3, dims);
    close_id(data);

    source = group(w, entry, "source", "NXsource");
    put_string(w, source, "name", "nanoBragg simulated source");
    put_string(w, source, "probe", "x-ray");
    close_id(source);

    ins = group(w, entry, "instrument", "NXinstrument");
    put_string(w, ins, "name", "nanoBragg simulation");
    d = OK(w) ? H5Dopen2(ins, "name", H5P_DEFAULT) : -1;
    if (OK(w) && d < 0)
        fail(w, NB_ERR_IO, "name");
    attr_string(w, d, "short_name", "nanoBragg");
    close_id(d);
    write_beam(w, ins, g);
    write_detector(w, ins, e, g);
    close_id(ins);

    write_sample(w, entry, g);
    close_id(entry);
}

/* The temporary of path as a member of set: its name (caller frees); the
   member is closed, empty, for HDF5 to create the file in. */
static nb_status stage_member(nb_outputs *set, const char *path, char **tmp, nb_error *err)
{
    nbi_fileout *f;
    nb_status st;
    *tmp = NULL;
    if ((st = check_regular(path, err)) != NB_OK)
        return nbi_outputs_spoil(set, st);
    if ((st = nbi_outputs_begin(set, path, &f, err)) != NB_OK)
        return st;
    if (f->tmp_path && !(*tmp = strdup(f->tmp_path)))
        st = nbi_fail(err, NB_ERR_NOMEM, "cannot write %s: out of memory", path);
    else if (!f->tmp_path)
        st = nbi_fail(err, NB_ERR_IO, "cannot write %s: a NeXus (HDF5) file must be a regular file", path);
    if (st != NB_OK) {
        nbi_fileout_abort(f);
        return nbi_outputs_spoil(set, st);
    }
    return nbi_outputs_end(set, f, err);
}

/* Room for the records of one more image: 0, or -1 if out of memory. */
static int reserve_image(nb_nexus *nx)
{
    int cap = nx->cap ? (nx->cap > nx->nimages / 2 ? nx->nimages : 2 * nx->cap) : (nx->nimages < 64 ? nx->nimages : 64);
    double *p;
    if (nx->appended < nx->cap)
        return 0;
    if (!(p = realloc(nx->phi, (size_t)cap * sizeof *p)))
        return -1;
    nx->phi = p;
    if (!(p = realloc(nx->osc, (size_t)cap * sizeof *p)))
        return -1;
    nx->osc = p;
    if (!(p = realloc(nx->ub, (size_t)cap * 9 * sizeof *p)))
        return -1;
    nx->ub = p;
    nx->cap = cap;
    return 0;
}

/* Close every HDF5 handle of nx (ignoring errors) and free it. */
static void release(nb_nexus *nx)
{
    if (!nx)
        return;
    H5E_BEGIN_TRY {
        close_id(nx->data);
        close_id(nx->file);
    } H5E_END_TRY;
    nb_outputs_free(nx->own); /* removes an unpublished temporary */
    free(nx->path);
    free(nx->phi);
    free(nx->osc);
    free(nx->ub);
    free(nx);
}

/* A writer of nimages images of exp into tmp (already staged). */
static nb_status start(const char *path, const char *tmp, const nb_experiment *exp, int nimages,
                       nb_nexus **out, nb_error *err)
{
    nbi_nexus_geometry g;
    nb_nexus *nx = calloc(1, sizeof *nx);
    hid_t fapl = -1;
    h5w w = {nx, err};
    *out = NULL;
    if (!nx)
        return nbi_fail(err, NB_ERR_NOMEM, "cannot write %s: out of memory", path);
    nx->file = nx->data = -1;
    nx->nimages = nimages;
    nx->path = strdup(path);
    if (!nx->path) {
        release(nx);
        return nbi_fail(err, NB_ERR_NOMEM, "cannot write %s: out of memory", path);
    }
    nbi_nexus_geometry_of(exp, &g);
    nx->fpixels = g.fpixels;
    nx->spixels = g.spixels;
    nx->rotation = g.rotation;
    nx->spindle = g.spindle;
    H5E_BEGIN_TRY {
        if (!H5Zfilter_avail(H5Z_FILTER_DEFLATE) || !H5Zfilter_avail(H5Z_FILTER_SHUFFLE))
            fail(&w, NB_ERR_IO, "this HDF5 library has no deflate (zlib) or shuffle filter");
        if (OK(&w) && (fapl = H5Pcreate(H5P_FILE_ACCESS)) < 0)
            fail(&w, NB_ERR_IO, "HDF5 file access properties");
#if H5_VERSION_GE(1, 10, 7)
        /* a private temporary: no file locks (which some file systems refuse) */
        if (OK(&w) && H5Pset_file_locking(fapl, 0, 1) < 0)
            fail(&w, NB_ERR_IO, "HDF5 file locking");
#endif
        if (OK(&w) && (nx->file = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, fapl)) < 0)
            fail(&w, NB_ERR_IO, "HDF5 cannot create the file");
        close_id(fapl);
        if (OK(&w))
            write_entry(&w, exp, &g);
        if (OK(&w) && H5Fflush(nx->file, H5F_SCOPE_LOCAL) < 0)
            fail(&w, NB_ERR_IO, "flushing the file");
    } H5E_END_TRY;
    if (nx->failed != NB_OK) {
        nb_status st = nx->failed;
        release(nx);
        return st;
    }
    *out = nx;
    return NB_OK;
}

nb_status nb_nexus_open(const char *path, const nb_experiment *exp, int nimages, nb_nexus **out, nb_error *err)
{
    nb_outputs *set;
    char *tmp;
    nb_status st;
    if (!out)
        return nbi_fail(err, NB_ERR_INVALID, "nb_nexus_open: out is NULL");
    *out = NULL;
    if (!path || !exp)
        return nbi_fail(err, NB_ERR_INVALID, "nb_nexus_open: %s is NULL", path ? "the experiment" : "the path");
    if (nimages < 1 || nimages > NB_SERIES_MAX_IMAGES)
        return nbi_fail(err, NB_ERR_INVALID, "cannot write %s: nimages = %d is out of range (1 to %d)", path,
                        nimages, NB_SERIES_MAX_IMAGES);
    if (!(set = nb_outputs_new()))
        return nbi_fail(err, NB_ERR_NOMEM, "cannot write %s: out of memory", path);
    st = stage_member(set, path, &tmp, err);
    if (st == NB_OK)
        st = start(path, tmp, exp, nimages, out, err);
    free(tmp);
    if (st != NB_OK) {
        nb_outputs_free(set);
        return st;
    }
    (*out)->own = set;
    return NB_OK;
}

nb_status nb_nexus_append(nb_nexus *nx, const nb_nexus_image *image, const int32_t *counts, nb_error *err)
{
    const hsize_t start3[3] = {(hsize_t)(nx ? nx->appended : 0), 0, 0};
    hsize_t count[3];
    hid_t fs = -1, ms = -1;
    h5w w = {nx, err};
    int k;
    if (!nx || !image || !counts)
        return nbi_fail(err, NB_ERR_INVALID, "nb_nexus_append: %s is NULL",
                        !nx ? "the writer" : !image ? "the image" : "counts");
    if (nx->failed != NB_OK)
        return nbi_fail(err, NB_ERR_INVALID, "cannot write %s: an earlier step failed", nx->path);
    if (nx->appended >= nx->nimages)
        return nbi_fail(err, NB_ERR_INVALID, "cannot write %s: it was opened for %d images", nx->path,
                        nx->nimages);
    k = nx->appended;
    if (reserve_image(nx) != 0)
        return nbi_fail(err, NB_ERR_NOMEM, "cannot write %s: out of memory", nx->path);
    count[0] = 1;
    count[1] = (hsize_t)nx->spixels;
    count[2] = (hsize_t)nx->fpixels;
    H5E_BEGIN_TRY {
        if ((fs = H5Dget_space(nx->data)) < 0 ||
            H5Sselect_hyperslab(fs, H5S_SELECT_SET, start3, NULL, count, NULL) < 0 ||
            (ms = H5Screate_simple(3, count, NULL)) < 0 ||
            H5Dwrite(nx->data, H5T_NATIVE_INT32, ms, fs, H5P_DEFAULT, counts) < 0)
            fail(&w, NB_ERR_IO, "writing an image");
        close_id(ms);
        close_id(fs);
    } H5E_END_TRY;
    if (nx->failed != NB_OK)
        return nx->failed;
    nx->phi[k] = image->phi_deg;
    nx->osc[k] = image->osc_deg;
    memcpy(nx->ub + 9 * (size_t)k, image->ub, sizeof image->ub);
    nx->appended = k + 1;
    return NB_OK;
}

/* The per-image arrays, then close the file (not yet published). */
static nb_status finish(nb_nexus *nx, nb_error *err)
{
    h5w w = {nx, err};
    const hsize_t n = (hsize_t)nx->nimages, ub_dims[3] = {n, 3, 3};
    hid_t tr = -1, d = -1, sample = -1;
    if (nx->failed != NB_OK)
        return nbi_fail(err, NB_ERR_INVALID, "cannot write %s: an earlier step failed", nx->path);
    if (nx->appended != nx->nimages)
        return nbi_fail(err, NB_ERR_INVALID, "cannot write %s: %d of its %d images were written", nx->path,
                        nx->appended, nx->nimages);
    H5E_BEGIN_TRY {
        if ((sample = H5Gopen2(nx->file, "/entry/sample", H5P_DEFAULT)) < 0)
            fail(&w, NB_ERR_IO, "/entry/sample");
        put_doubles(&w, sample, "ub_matrix", 3, ub_dims, nx->ub, "1/angstrom");
        if (OK(&w) && nx->rotation) {
            double *end = malloc(nx->nimages * sizeof *end);
            if (!end)
                fail(&w, NB_ERR_NOMEM, "out of memory");
            if (OK(&w) && (tr = H5Gopen2(sample, "transformations", H5P_DEFAULT)) < 0)
                fail(&w, NB_ERR_IO, "/entry/sample/transformations");
            d = dataset(&w, tr, "phi", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 1, &n, nx->phi, "deg");
            if (d >= 0)
                axis_attributes(&w, d, "rotation", nx->spindle, ".");
            close_id(d);
            if (OK(&w)) {
                for (int k = 0; k < nx->nimages; ++k)
                    end[k] = nx->phi[k] + nx->osc[k];
                put_doubles(&w, tr, "phi_end", 1, &n, end, "deg");
                put_double(&w, tr, "phi_increment_set", nx->osc[0], "deg");
            }
            free(end);
            close_id(tr);
        }
        close_id(sample);
        close_id(nx->data);
        nx->data = -1;
        if (OK(&w) && H5Fclose(nx->file) < 0)
            fail(&w, NB_ERR_IO, "closing the file");
        nx->file = -1;
    } H5E_END_TRY;
    return nx->failed;
}

nb_status nb_nexus_close(nb_nexus *nx, nb_error *err)
{
    nb_status st;
    if (!nx)
        return nbi_fail(err, NB_ERR_INVALID, "nb_nexus_close: the writer is NULL");
    st = finish(nx, err);
    if (st == NB_OK)
        st = nb_outputs_publish(nx->own, err);
    release(nx);
    return st;
}

void nb_nexus_abort(nb_nexus *nx) { release(nx); }

nb_status nb_outputs_add_nexus(nb_outputs *set, const char *path, const nb_experiment *exp,
                               const int32_t *counts, nb_error *err)
{
    nb_nexus_image image;
    nb_nexus *nx = NULL;
    char *tmp = NULL;
    nb_status st;
    if (!set || !path || !exp || !counts)
        return nbi_outputs_spoil(set, nbi_fail(err, NB_ERR_INVALID, "cannot write %s: %s",
                                               path ? path : "(null)", !set ? "no output set" : "no image"));
    st = stage_member(set, path, &tmp, err);
    if (st == NB_OK)
        st = start(path, tmp, exp, 1, &nx, err);
    free(tmp);
    if (st == NB_OK) {
        nb_experiment_nexus_image(exp, &image);
        st = nb_nexus_append(nx, &image, counts, err);
    }
    if (st == NB_OK)
        st = finish(nx, err);
    release(nx); /* nx->own is NULL: the set keeps (and publishes or removes) the file */
    return nbi_outputs_spoil(set, st);
}

#endif
