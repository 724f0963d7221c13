/*
 * outputs.c - statistics lines and the output files (float, SMV, PGM,
 * noise, CBF, NeXus), written as one output set: every file is staged
 * whole, and only when all of them are complete are they renamed into
 * place, so a failure leaves none of them behind.  (A series' NeXus file
 * is the exception: the image is appended to the series' open file, which
 * series.c publishes once every image is in it.)
 *
 * The float file is staged by a second thread while this one stages the
 * SMV image, converting it to counts as it writes (an output set takes adds
 * from several threads); then, after the join, the others.  Under OpenMP
 * the two are the sections of one parallel region: the runtime's idle
 * worker, which would otherwise spin for milliseconds after the library's
 * last region and take a core from a writer thread of our own, writes one
 * of them (W3: 7-11% of the run).  A third section, taken first, draws the
 * noise image, a serial chain of Poisson draws that is the longest of them
 * (W3: 40-55 ms of its 2048 x 2048 outputs).  The printed lines are those
 * of a serial run, and where several files fail, the first one's error (in
 * a serial run's order) is the one reported.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#ifdef NB_HAVE_PTHREADS
#include <pthread.h>
#endif

#include "app.h"

static nb_status out_of_memory(nb_error *err, const char *what)
{
    snprintf(err->msg, sizeof err->msg, "out of memory for the %s", what);
    return NB_ERR_NOMEM;
}

/* Stage the PGM image; its lines are printed by print_pgm. */
static nb_status stage_pgm(nb_outputs *set, app_options *o, const nb_experiment *exp,
                           const nb_image *img, nb_error *err)
{
    size_t n = (size_t)img->fpixels * (size_t)img->spixels;
    uint8_t *bytes = nb_buffer_calloc(n, 1);
    nb_status st;
    if (!bytes)
        return out_of_memory(err, "PGM image");
    nb_image_to_pgm(exp, img, &o->pgm_scale, o->int_scale, bytes);
    st = nb_outputs_add_pgm(set, o->pgm_path, img->fpixels, img->spixels, bytes, o->pgm_scale, err);
    free(bytes);
    return st;
}

static void print_pgm(const app_options *o)
{
    printf("pgm_scale = %g\n", o->pgm_scale);
    printf("writing %s as %zu-byte integers\n", o->pgm_path, sizeof(uint8_t));
}

/* Staging the float file: what the writer is given and what it returns. */
typedef struct float_job {
    nb_outputs *set;
    const char *path;
    const float *data;
    size_t n;
    nb_status st;
    nb_error err;
    int threaded; /* staged by the writer thread (finish_float joins it) */
#ifdef NB_HAVE_PTHREADS
    pthread_t writer;
#endif
} float_job;

static void *stage_float(void *arg)
{
    float_job *job = arg;
    job->st = nb_outputs_add_float(job->set, job->path, job->data, job->n, &job->err);
    return NULL;
}

/* Stage the float file on a writer thread, or here if none can start. */
static void start_float(float_job *job)
{
#if defined(NB_HAVE_PTHREADS) && !defined(_OPENMP)
    job->threaded = pthread_create(&job->writer, NULL, stage_float, job) == 0;
#endif
    if (!job->threaded)
        stage_float(job);
}

/* Wait for the float file; its status (and message in *err). */
static nb_status finish_float(float_job *job, nb_error *err)
{
#ifdef NB_HAVE_PTHREADS
    if (job->threaded)
        pthread_join(job->writer, NULL);
#endif
    if (job->st != NB_OK)
        *err = job->err;
    return job->st;
}

/* The 32-bit counts of the CBF and NeXus outputs (caller frees, NULL if
   out of memory): the noise image's photon counts (drawn again from the
   seed the noise image starts from) or, with -nonoise, rounded photons. */
static int32_t *counts32(const app_options *o, const nb_experiment *exp, const nb_image *img, long seed)
{
    size_t n = (size_t)img->fpixels * (size_t)img->spixels;
    int32_t *counts = nb_buffer_calloc(n, sizeof *counts);
    double photons;
    if (counts)
        nb_image_to_counts32(exp, img, o->cbf_noise, &seed, counts, &photons);
    return counts;
}

static nb_status stage_cbf(nb_outputs *set, const app_options *o, const nb_experiment *exp,
                           const int32_t *counts, nb_error *err)
{
    const char *note = nb_cbf_geometry_note(exp);
    nb_cbf_info info;
    nb_experiment_cbf_info(exp, &info);
    if (note)
        fprintf(stderr, "%s: warning: %s: %s\n", app_name(), o->cbf_path, note);
    printf("writing %s as 4-byte integers (CBF, %s)\n", o->cbf_path, o->cbf_noise ? "noise" : "no noise");
    return nb_outputs_add_cbf(set, o->cbf_path, &info, counts, err);
}

/* The NeXus file: the image handed on for the series' file (o->nexus_take),
   or a file of this one image staged in the set. */
static nb_status stage_nexus(nb_outputs *set, const app_options *o, const nb_experiment *exp,
                             const int32_t *counts, nb_error *err)
{
    const char *note = nb_nexus_geometry_note(exp);
    if (o->nexus_take) {
        nb_nexus_image image;
        nb_experiment_nexus_image(exp, &image);
        printf("adding the image to %s (NeXus)\n", o->nexus_path);
        if (o->nexus_take(o->nexus_ctx, &image, counts, (size_t)nb_experiment_info(exp)->fpixels *
                                                            (size_t)nb_experiment_info(exp)->spixels) != 0)
            return out_of_memory(err, "NeXus image");
        return NB_OK;
    }
    if (note)
        fprintf(stderr, "%s: warning: %s: %s\n", app_name(), o->nexus_path, note);
    printf("writing %s as 4-byte integers (NeXus/NXmx, %s)\n", o->nexus_path, o->cbf_noise ? "noise" : "no noise");
    return nb_outputs_add_nexus(set, o->nexus_path, exp, counts, err);
}

int app_check_nexus(const app_options *o)
{
    struct stat st;
    nb_error err;
    if (!o->nexus_path)
        return 0;
    if (!nb_nexus_supported()) {
        fprintf(stderr, "%s: error: -nexusfile %s: this build of nanobragg has no HDF5 (NeXus output): install "
                        "the Debian package libhdf5-dev, then build again\n", app_name(), o->nexus_path);
        return 2;
    }
    if (nb_nexus_check(&err) != NB_OK) {
        fprintf(stderr, "%s: error: -nexusfile %s: %s\n", app_name(), o->nexus_path, err.msg);
        return 1;
    }
    if (stat(o->nexus_path, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "%s: error: cannot write %s: a NeXus (HDF5) file must be a regular file\n", app_name(),
                o->nexus_path);
        return 1;
    }
    return 0;
}

int app_format_matrix(const nb_experiment *exp, int image, long misset_seed, char *buf, size_t size)
{
    const nb_info *in = nb_experiment_info(exp);
    char seed[40] = "";
    double A[9];
    nb_experiment_orientation(exp, A);
    if (in->misset_random)
        snprintf(seed, sizeof seed, " misset_seed %ld", misset_seed);
    return snprintf(buf, size,
                    "# image %d phi %.12g misset_deg %.10g %.10g %.10g%s\n"
                    "%19.15f %19.15f %19.15f\n%19.15f %19.15f %19.15f\n%19.15f %19.15f %19.15f\n",
                    image, in->phi0_rad * 180.0 * M_1_PI, in->misset_deg[0], in->misset_deg[1],
                    in->misset_deg[2], seed, A[0], A[1], A[2], A[3], A[4], A[5], A[6], A[7], A[8]);
}

/* The noise image: drawn beside the other outputs, staged in its place
   afterwards (a failed add spoils the set for the adds after it, so only
   the serial order of the adds reports the error a serial run reports). */
typedef struct noise_job {
    nb_outputs *set;
    const app_options *o;
    const nb_experiment *exp;
    const nb_image *img;
    uint16_t *counts; /* allocated by draw_noise (NULL: out of memory) */
    long seed;        /* the seed it starts from; on return, where it ends */
    double photons;
    long overloads;
} noise_job;

static void draw_noise(noise_job *job)
{
    job->counts = nb_buffer_calloc((size_t)job->img->fpixels * (size_t)job->img->spixels, sizeof *job->counts);
    if (job->counts)
        nb_image_to_noise(job->exp, job->img, &job->seed, job->o->adc, job->counts, &job->photons, &job->overloads);
}

static nb_status stage_noise(const noise_job *job, nb_error *err)
{
    nb_smv_info info;
    if (!job->counts)
        return out_of_memory(err, "the noise image");
    nb_experiment_smv_info(job->exp, &info);
    printf("%.0f photons on noise image (%ld overloads)\n", job->photons, job->overloads);
    printf("writing %s as %zu-byte integers\n", job->o->noise_path, sizeof(uint16_t));
    return nb_outputs_add_smv(job->set, job->o->noise_path, &info, job->counts, err);
}

/* Stage the outputs, printing nanoBragg's lines between them in its order.
   The noise image, whose draws are one serial chain, is drawn in the
   first section while the float file, the SMV image and then the PGM image
   are staged in the others; the lines of the noise and PGM images are
   printed, and their errors reported, where a serial run has them. */
static nb_status stage_all(nb_outputs *set, app_options *o, const nb_experiment *exp,
                           const nb_image *img, nb_error *err)
{
    size_t n = (size_t)img->fpixels * (size_t)img->spixels;
    float_job job = {.set = set, .path = o->float_path, .data = img->data, .n = n};
    noise_job noise = {.set = set, .o = o, .exp = exp, .img = img, .seed = o->seed};
    const long seed0 = o->seed; /* where the noise draws start (CBF, NeXus) */
    nb_status st = NB_OK, pgm_st = NB_OK;
    nb_error pgm_err;
    /* a series (series.c) writes only the outputs named: a path may be NULL */
    if (o->float_path)
        printf("writing %s as %zu %zu-byte floats\n", o->float_path, n, sizeof(float));
#ifdef _OPENMP
#pragma omp parallel sections num_threads(2)
#endif
    {
#ifdef _OPENMP
#pragma omp section
#endif
        if (o->write_noise)
            draw_noise(&noise);
#ifdef _OPENMP
#pragma omp section
#endif
        if (o->float_path)
            start_float(&job);
#ifdef _OPENMP
#pragma omp section
#endif
        {
            printf("max_I = %g  at %g %g\n", img->max_I, img->max_I_x_m, img->max_I_y_m);
            printf("mean= %g rms= %g rmsd= %g\n", img->mean, img->rms, img->rmsd);
            if (o->int_path) { /* converted as written, beside the float file's writer */
                nb_smv_info info;
                nb_experiment_smv_info(exp, &info);
                st = nb_outputs_add_smv_image(set, o->int_path, &info, exp, img, &o->int_scale, o->adc, err);
                printf("intfile_scale = %g\n", o->int_scale);
                printf("writing %s as %zu-byte integers\n", o->int_path, sizeof(uint16_t));
            }
            if (st == NB_OK && o->write_pgm) /* after the SMV image: its scale is the fallback */
                pgm_st = stage_pgm(set, o, exp, img, &pgm_err);
        }
    }
    if (o->float_path) {
        nb_error ferr;
        nb_status fst = finish_float(&job, &ferr);
        if (fst != NB_OK) { /* first in a serial run: its error, not the spoiled set's */
            st = fst;
            *err = ferr;
        }
    }
    if (st == NB_OK && o->write_pgm) {
        print_pgm(o);
        st = pgm_st;
        if (st != NB_OK)
            *err = pgm_err;
    }
    if (st == NB_OK && o->matrix_path && o->nimages == 0) {
        char text[APP_MATRIX_TEXT];
        int len = app_format_matrix(exp, 1, (long)app_param(o, "misset_seed"), text, sizeof text);
        printf("writing %s (orientation matrix)\n", o->matrix_path);
        st = nb_outputs_add_bytes(set, o->matrix_path, text, (size_t)len, err);
    }
    if (st == NB_OK && (o->cbf_path || o->nexus_path)) {
        int32_t *c32 = counts32(o, exp, img, seed0);
        if (!c32)
            st = out_of_memory(err, "32-bit counts");
        if (st == NB_OK && o->cbf_path)
            st = stage_cbf(set, o, exp, c32, err);
        if (st == NB_OK && o->nexus_path)
            st = stage_nexus(set, o, exp, c32, err);
        free(c32);
    }
    if (o->write_noise) {
        o->seed = noise.seed;
        if (st == NB_OK)
            st = stage_noise(&noise, err);
        free(noise.counts);
    }
    return st;
}

int app_stage_outputs(app_options *o, const nb_experiment *exp, const nb_image *img, nb_outputs *set)
{
    nb_error err;
    nb_status st = stage_all(set, o, exp, img, &err);
    if (st == NB_OK)
        return 0;
    fflush(stdout);
    fprintf(stderr, "%s: error: %s\n", app_name(), err.msg);
    return 1;
}

int app_publish_outputs(nb_outputs *set)
{
    nb_error err;
    if (nb_outputs_publish(set, &err) == NB_OK)
        return 0;
    fflush(stdout);
    fprintf(stderr, "%s: error: %s\n", app_name(), err.msg);
    return 1;
}

int app_write_outputs(app_options *o, const nb_experiment *exp, const nb_image *img)
{
    nb_outputs *set = nb_outputs_new();
    int rc;
    if (!set) {
        fflush(stdout);
        fprintf(stderr, "%s: error: out of memory for the output images\n", app_name());
        return 1;
    }
    rc = app_stage_outputs(o, exp, img, set);
    if (rc == 0)
        rc = app_publish_outputs(set);
    nb_outputs_free(set); /* removes the temporaries of a failed set */
    return rc;
}
