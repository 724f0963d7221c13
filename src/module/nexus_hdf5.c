/*
 * nexus_hdf5.c - the NeXus writer's HDF5 half (nexus_module.h): the module
 * libnanobragg-nexus.so, linked to HDF5, which nexus.c loads the first time
 * a NeXus file is written.  It writes a staged temporary: everything but the
 * images at create (the file's attributes, /entry, source, instrument with
 * beam and detector, sample), one image's chunk per append, the per-image
 * arrays (angles, orientations) at finish, then closes it; nexus.c renames
 * it into place.  Nothing depends on the clock: the same calls write the
 * same bytes (HDF5's object time stamps are turned off).  docs/nexus.md
 * describes the layout.
 */
#include <hdf5.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nexus_module.h"

#define DETECTOR "/entry/instrument/detector"
#define DET_Z DETECTOR "/transformations/det_z"
#define MODULE DETECTOR "/module"
#define PHI "/entry/sample/transformations/phi"
#define CHUNK_BYTES_MAX ((size_t)1 << 30) /* an image per chunk up to 1 GiB */
#define DEFLATE_LEVEL 4
#define NO_SENSOR_M 1e-9 /* the sensor_thickness of a detector without depth */

struct nbi_nexus_file {
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

/* status, with the message in err (as the library's messages are made). */
static nb_status say(nb_error *err, nb_status status, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return status;
}

/* The first failure: its status and message (HDF5's reason, from its error
   stack, when it has one; call right after the failing call). */
typedef struct h5w {
    nbi_nexus_file *nx;
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
        return say(w->err, st, "cannot write %s: %s (HDF5: %s)", w->nx->path, what, reason);
    return say(w->err, st, "cannot write %s: %s", w->nx->path, what);
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
static void write_detector_values(h5w *w, hid_t det, const uint32_t *mask, const nbi_nexus_geometry *g)
{
    const hsize_t dims[2] = {(hsize_t)g->spixels, (hsize_t)g->fpixels};
    char text[512];
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
    d = image_dataset(w, det, "pixel_mask", H5T_STD_U32LE, 2, dims);
    if (d >= 0 && H5Dwrite(d, H5T_NATIVE_UINT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, mask) < 0)
        fail(w, NB_ERR_IO, "pixel_mask");
    close_id(d);
}

/* /entry/instrument/detector: values, the det_z axis, the module. */
static void write_detector(h5w *w, hid_t ins, const uint32_t *mask, const nbi_nexus_geometry *g)
{
    const hsize_t two = 2;
    const int origin[2] = {0, 0}, size[2] = {g->spixels, g->fpixels}, stride[2] = {1, 1};
    const vec3 in_plane = v3_sub(g->origin_m, v3_scale(g->normal, g->close_distance_m));
    const double offset_m = v3_mag(in_plane);
    hid_t det = group(w, ins, "detector", "NXdetector"), tr, mod;
    put_string(w, det, "depends_on", DET_Z);
    write_detector_values(w, det, mask, g);

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
static void write_entry(h5w *w, const uint32_t *mask, const nbi_nexus_geometry *g)
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
    write_detector(w, ins, mask, g);
    close_id(ins);

    write_sample(w, entry, g);
    close_id(entry);
}

/* Room for the records of one more image: 0, or -1 if out of memory. */
static int reserve_image(nbi_nexus_file *nx)
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
static void release_file(nbi_nexus_file *nx)
{
    if (!nx)
        return;
    H5E_BEGIN_TRY {
        close_id(nx->data);
        close_id(nx->file);
    } H5E_END_TRY;
    free(nx->path);
    free(nx->phi);
    free(nx->osc);
    free(nx->ub);
    free(nx);
}

/* A writer of nimages images of geometry g into tmp (already staged). */
static nb_status create(const char *path, const char *tmp, const nbi_nexus_geometry *g, const uint32_t *mask,
                        int nimages, nbi_nexus_file **out, nb_error *err)
{
    nbi_nexus_file *nx = calloc(1, sizeof *nx);
    hid_t fapl = -1;
    h5w w = {nx, err};
    *out = NULL;
    if (!nx)
        return say(err, NB_ERR_NOMEM, "cannot write %s: out of memory", path);
    nx->file = nx->data = -1;
    nx->nimages = nimages;
    nx->path = strdup(path);
    if (!nx->path) {
        release_file(nx);
        return say(err, NB_ERR_NOMEM, "cannot write %s: out of memory", path);
    }
    nx->fpixels = g->fpixels;
    nx->spixels = g->spixels;
    nx->rotation = g->rotation;
    nx->spindle = g->spindle;
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
            write_entry(&w, mask, g);
        if (OK(&w) && H5Fflush(nx->file, H5F_SCOPE_LOCAL) < 0)
            fail(&w, NB_ERR_IO, "flushing the file");
    } H5E_END_TRY;
    if (nx->failed != NB_OK) {
        nb_status st = nx->failed;
        release_file(nx);
        return st;
    }
    *out = nx;
    return NB_OK;
}

static nb_status append(nbi_nexus_file *nx, const nb_nexus_image *image, const int32_t *counts, nb_error *err)
{
    const hsize_t start3[3] = {(hsize_t)nx->appended, 0, 0};
    hsize_t count[3];
    hid_t fs = -1, ms = -1;
    h5w w = {nx, err};
    int k;
    if (nx->failed != NB_OK)
        return say(err, NB_ERR_INVALID, "cannot write %s: an earlier step failed", nx->path);
    if (nx->appended >= nx->nimages)
        return say(err, NB_ERR_INVALID, "cannot write %s: it was opened for %d images", nx->path,
                        nx->nimages);
    k = nx->appended;
    if (reserve_image(nx) != 0)
        return say(err, NB_ERR_NOMEM, "cannot write %s: out of memory", nx->path);
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
static nb_status finish(nbi_nexus_file *nx, nb_error *err)
{
    h5w w = {nx, err};
    const hsize_t n = (hsize_t)nx->nimages, ub_dims[3] = {n, 3, 3};
    hid_t tr = -1, d = -1, sample = -1;
    if (nx->failed != NB_OK)
        return say(err, NB_ERR_INVALID, "cannot write %s: an earlier step failed", nx->path);
    if (nx->appended != nx->nimages)
        return say(err, NB_ERR_INVALID, "cannot write %s: %d of its %d images were written", nx->path,
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

#if defined(__GNUC__)
__attribute__((visibility("default")))
#endif
extern const nbi_nexus_ops nbi_nexus_module;
const nbi_nexus_ops nbi_nexus_module = {NBI_NEXUS_MODULE_ABI, NB_VERSION_STRING, create, append, finish,
                                        release_file};
