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
 * closes the file and renames it into place.
 *
 * Here: the geometry (nbi_nexus_geometry_of and the image records, no
 * HDF5), the staging and the argument checks.  What calls HDF5 is the
 * module libnanobragg-nexus.so (module/nexus_hdf5.c), loaded the first
 * time a file is written, so that nothing else loads HDF5 and the
 * libraries under it.  A build without HDF5 (NB_HAVE_HDF5 unset) has no
 * module, and the writers refuse, naming the Debian package to install.
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

nb_status nb_nexus_check(nb_error *err) { return nbi_fail(err, NB_ERR_USAGE, "%s", NO_HDF5); }

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

/* The HDF5 half is the module libnanobragg-nexus.so (nexus_module.h),
   loaded the first time a file is written. */

#include <pthread.h>

#include "nexus_module.h"

struct nb_nexus {
    nb_outputs *own;      /* the set of one the file is staged in (nb_nexus_open) */
    nbi_nexus_file *file; /* the module's writer */
};

static pthread_mutex_t module_lock = PTHREAD_MUTEX_INITIALIZER;
static const nbi_nexus_ops *module_ops; /* once loaded */
static nb_status module_status = NB_OK;  /* once tried and failed: why */
static char module_msg[sizeof(((nb_error *)0)->msg)];

int nb_nexus_supported(void) { return 1; }

/* Load the module once (a failure is remembered): NB_OK with *ops, or
   NB_ERR_IO with err naming the module's path and the loader's reason. */
static nb_status load_module(const nbi_nexus_ops **ops, nb_error *err)
{
    nb_status st;
    pthread_mutex_lock(&module_lock);
    if (!module_ops && module_status == NB_OK) {
        const void *table;
        char path[4096];
        nb_error e = {{0}};
        st = nb_module_load(NBI_NEXUS_MODULE_FILE, NBI_NEXUS_MODULE_SYMBOL, "the NeXus writer", &table, path,
                             sizeof path, &e);
        if (st == NB_OK) {
            const nbi_nexus_ops *o = table;
            if (o->abi != NBI_NEXUS_MODULE_ABI || !o->version || strcmp(o->version, NB_VERSION_STRING) != 0)
                st = nbi_fail(&e, NB_ERR_IO, "cannot load the NeXus writer %s: it is not this build's (nanobragg "
                              "%s)", path, o->abi == NBI_NEXUS_MODULE_ABI && o->version ? o->version : "unknown");
            else
                module_ops = o;
        }
        if (st != NB_OK) {
            module_status = st;
            memcpy(module_msg, e.msg, sizeof module_msg);
        }
    }
    *ops = module_ops;
    st = module_status;
    pthread_mutex_unlock(&module_lock);
    if (st != NB_OK)
        return nbi_fail(err, st, "%s", module_msg);
    return NB_OK;
}

nb_status nb_nexus_check(nb_error *err)
{
    const nbi_nexus_ops *ops;
    return load_module(&ops, err);
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

/* The module's writer of nimages images of exp into tmp (already staged). */
static nb_status start(const nbi_nexus_ops *ops, const char *path, const char *tmp, const nb_experiment *exp,
                       int nimages, nbi_nexus_file **out, nb_error *err)
{
    nbi_nexus_geometry g;
    uint32_t *mask;
    nb_status st;
    *out = NULL;
    nbi_nexus_geometry_of(exp, &g);
    if (!(mask = pixel_mask(exp)))
        return nbi_fail(err, NB_ERR_NOMEM, "cannot write %s: out of memory for the pixel mask", path);
    st = ops->create(path, tmp, &g, mask, nimages, out, err);
    free(mask);
    return st;
}

/* Close the module's writer and remove an unpublished temporary. */
static void release(nb_nexus *nx)
{
    if (!nx)
        return;
    if (nx->file)
        module_ops->release(nx->file);
    nb_outputs_free(nx->own); /* removes an unpublished temporary */
    free(nx);
}

nb_status nb_nexus_open(const char *path, const nb_experiment *exp, int nimages, nb_nexus **out, nb_error *err)
{
    const nbi_nexus_ops *ops;
    nb_nexus *nx;
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
    if ((st = load_module(&ops, err)) != NB_OK)
        return st;
    if (!(nx = calloc(1, sizeof *nx)) || !(nx->own = nb_outputs_new())) {
        free(nx);
        return nbi_fail(err, NB_ERR_NOMEM, "cannot write %s: out of memory", path);
    }
    st = stage_member(nx->own, path, &tmp, err);
    if (st == NB_OK)
        st = start(ops, path, tmp, exp, nimages, &nx->file, err);
    free(tmp);
    if (st != NB_OK) {
        release(nx);
        return st;
    }
    *out = nx;
    return NB_OK;
}

nb_status nb_nexus_append(nb_nexus *nx, const nb_nexus_image *image, const int32_t *counts, nb_error *err)
{
    if (!nx || !image || !counts)
        return nbi_fail(err, NB_ERR_INVALID, "nb_nexus_append: %s is NULL",
                        !nx ? "the writer" : !image ? "the image" : "counts");
    return module_ops->append(nx->file, image, counts, err);
}

nb_status nb_nexus_close(nb_nexus *nx, nb_error *err)
{
    nb_status st;
    if (!nx)
        return nbi_fail(err, NB_ERR_INVALID, "nb_nexus_close: the writer is NULL");
    st = module_ops->finish(nx->file, err);
    if (st == NB_OK)
        st = nb_outputs_publish(nx->own, err);
    release(nx);
    return st;
}

void nb_nexus_abort(nb_nexus *nx) { release(nx); }

nb_status nb_outputs_add_nexus(nb_outputs *set, const char *path, const nb_experiment *exp,
                               const int32_t *counts, nb_error *err)
{
    const nbi_nexus_ops *ops;
    nb_nexus_image image;
    nbi_nexus_file *file = NULL;
    char *tmp = NULL;
    nb_status st;
    if (!set || !path || !exp || !counts)
        return nbi_outputs_spoil(set, nbi_fail(err, NB_ERR_INVALID, "cannot write %s: %s",
                                               path ? path : "(null)", !set ? "no output set" : "no image"));
    if ((st = load_module(&ops, err)) != NB_OK)
        return nbi_outputs_spoil(set, st);
    st = stage_member(set, path, &tmp, err);
    if (st == NB_OK)
        st = start(ops, path, tmp, exp, 1, &file, err);
    free(tmp);
    if (st == NB_OK) {
        nb_experiment_nexus_image(exp, &image);
        st = ops->append(file, &image, counts, err);
    }
    if (st == NB_OK)
        st = ops->finish(file, err);
    ops->release(file); /* the set keeps (and publishes or removes) the file */
    return nbi_outputs_spoil(set, st);
}

#endif
