/*
 * series.c - -nimages N: a rotation series or stills in one run.  The
 * library sets the experiment up once (nb_series_create); each image is
 * rendered from its own experiment and written as one output set, its
 * files named by templates whose run of '#' becomes the 1-based image
 * number, zero-padded to the run's width (sim_#####.img: sim_00001.img).
 * Only the outputs named on the command line are written.
 *
 * Image k's noise seed is nb_series_seed(-seed, k), so that image k alone
 * is made again by one run with -phi and -seed (and, for stills,
 * -misset_seed) as the per-image line states.
 *
 * -matrixfile lists every image's orientation (written once every image
 * is); -nexusfile is one NeXus file of every image (opened before the first
 * image, each image appended as it is written, published after the last;
 * an interrupt or a failure removes it).  Before any rendering: every
 * template holds exactly one run of '#' wide enough for N, no two outputs
 * and no output and input are one file, the directories accept files, and
 * the file systems have room for the whole series (as far as its size is
 * known beforehand).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include "app.h"
#include "par.h"

#define MAX_PATH_TEXT 4096

/* The per-image outputs: their flags and where app_options keeps them. */
typedef struct series_output {
    const char *flag;
    const char **path; /* in app_options */
    const char *tmpl;  /* the template as given, or NULL: not written */
    double bytes;      /* at least this many bytes per image */
} series_output;

enum { OUT_FLOAT, OUT_INT, OUT_PGM, OUT_NOISE, OUT_CBF, OUT_COUNT };

/* Where the run of '#' lies in tmpl: 0 and its start and width, or -1 with
   why not in msg. */
static int template_run(const char *tmpl, size_t *start, size_t *width, const char **why)
{
    const char *p = strchr(tmpl, '#');
    if (!p) {
        *why = "has no '#' for the image number (e.g. sim_#####.img)";
        return -1;
    }
    *start = (size_t)(p - tmpl);
    *width = strspn(p, "#");
    if (strchr(p + *width, '#')) {
        *why = "has more than one run of '#'";
        return -1;
    }
    return 0;
}

/* tmpl with its run of '#' replaced by image, zero-padded (a checked
   template, room enough: checked by series_check). */
static void expand(const char *tmpl, int image, char *out, size_t size)
{
    size_t start, width;
    const char *why;
    if (template_run(tmpl, &start, &width, &why) != 0) {
        snprintf(out, size, "%s", tmpl);
        return;
    }
    snprintf(out, size, "%.*s%0*d%s", (int)start, tmpl, (int)width, image, tmpl + start + width);
}

static int digits(int n)
{
    int d = 1;
    while (n >= 10) {
        n /= 10;
        ++d;
    }
    return d;
}

/* The outputs of o, with what they need per image at least. */
static void list_series_outputs(const app_options *o, series_output out[OUT_COUNT])
{
    out[OUT_FLOAT] = (series_output){"-floatfile", NULL, app_flag_value(o, "-floatfile") ? o->float_path : NULL, 0};
    out[OUT_INT] = (series_output){"-intfile", NULL, app_flag_value(o, "-intfile") ? o->int_path : NULL, 0};
    out[OUT_PGM] = (series_output){"-pgmfile", NULL, app_flag_value(o, "-pgmfile") ? o->pgm_path : NULL, 0};
    out[OUT_NOISE] = (series_output){"-noisefile", NULL,
                                     app_flag_value(o, "-noisefile") && o->write_noise ? o->noise_path : NULL, 0};
    out[OUT_CBF] = (series_output){"-cbffile", NULL, o->cbf_path, 0};
}

/* Bytes free to unprivileged users in the file system of path's directory,
   or a negative number when unknown. */
static double free_bytes(const char *path)
{
    char dir[MAX_PATH_TEXT];
    const char *slash = strrchr(path, '/');
    struct statvfs fs;
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else
        snprintf(dir, sizeof dir, "%.*s", slash == path ? 1 : (int)(slash - path), path);
    if (statvfs(dir, &fs) != 0)
        return -1.0;
    return (double)fs.f_bavail * (double)fs.f_frsize;
}

/* Each template holds one run of '#' wide enough for nimages: 0, or 2
   after printing why not. */
static int check_templates(const app_options *o, const series_output *out)
{
    int any = 0;
    for (int i = 0; i < OUT_COUNT; ++i) {
        size_t start, width;
        const char *why;
        if (!out[i].tmpl)
            continue;
        any = 1;
        if (template_run(out[i].tmpl, &start, &width, &why) != 0) {
            fprintf(stderr, "%s: error: %s %s %s (with -nimages)\n", app_name(), out[i].flag, out[i].tmpl, why);
            return 2;
        }
        if ((int)width < digits(o->nimages)) {
            fprintf(stderr, "%s: error: %s %s: %zu '#' hold at most %d digits, -nimages %d needs %d\n",
                    app_name(), out[i].flag, out[i].tmpl, width, (int)width, o->nimages, digits(o->nimages));
            return 2;
        }
        if (strlen(out[i].tmpl) + (size_t)digits(o->nimages) >= MAX_PATH_TEXT) {
            fprintf(stderr, "%s: error: %s: the file name is too long\n", app_name(), out[i].flag);
            return 2;
        }
    }
    if (!any && !o->nexus_path) {
        fprintf(stderr, "%s: error: -nimages %d: no output named: give -intfile, -floatfile, -noisefile, "
                        "-pgmfile or -cbffile with a '#' template (e.g. -intfile sim_#####.img), or -nexusfile\n",
                app_name(), o->nimages);
        return 2;
    }
    return 0;
}

/* The first and last images' names: none the same file as an input or as
   another output (2), each directory writable (1). */
static int check_names(const app_options *o, const series_output *out, const char *const *inputs, size_t nin)
{
    const int images[2] = {1, o->nimages};
    char a[MAX_PATH_TEXT], b[MAX_PATH_TEXT];
    nb_error err;
    for (int n = 0; n < 2; ++n)
        for (int i = 0; i < OUT_COUNT; ++i) {
            if (!out[i].tmpl)
                continue;
            expand(out[i].tmpl, images[n], a, sizeof a);
            for (size_t j = 0; j < nin; ++j)
                if (nb_paths_clash(a, inputs[j])) {
                    fprintf(stderr, "%s: error: output %s (%s) would overwrite an input file\n", app_name(), a,
                            out[i].flag);
                    return 2;
                }
            for (int j = 0; j < i; ++j) {
                if (!out[j].tmpl)
                    continue;
                expand(out[j].tmpl, images[n], b, sizeof b);
                if (nb_paths_clash(a, b)) {
                    fprintf(stderr, "%s: error: output %s (%s) would overwrite another output (%s %s)\n",
                            app_name(), a, out[i].flag, out[j].flag, b);
                    return 2;
                }
            }
            if (o->matrix_path && nb_paths_clash(a, o->matrix_path)) {
                fprintf(stderr, "%s: error: output %s (%s) would overwrite another output (-matrixfile %s)\n",
                        app_name(), a, out[i].flag, o->matrix_path);
                return 2;
            }
            if (nb_output_check(a, &err) != NB_OK) {
                fprintf(stderr, "%s: error: %s\n", app_name(), err.msg);
                return 1;
            }
        }
    return 0;
}

/* At least this many bytes per image of the NeXus file: deflate packs at
   most 1032 bytes into one, and each chunk is indexed. */
#define NEXUS_BYTES(pixels) (4 * (pixels) / 1032 + 64)

/* Room for every image of every output on its file system (outputs sharing
   one are added up): 0, or 1 after printing what is missing. */
static int check_space(const app_options *o, const series_output *out, double pixels)
{
    const double per_image[OUT_COUNT] = {4 * pixels, 2 * pixels + 512, pixels + 64, 2 * pixels + 512,
                                         pixels + 1024};
    char a[MAX_PATH_TEXT], b[MAX_PATH_TEXT];
    if (o->nexus_path) {
        double have = free_bytes(o->nexus_path), need = NEXUS_BYTES(pixels) * o->nimages;
        for (int j = 0; j < OUT_COUNT; ++j) {
            if (!out[j].tmpl)
                continue;
            expand(out[j].tmpl, 1, b, sizeof b);
            if (free_bytes(b) == have)
                need += per_image[j] * o->nimages;
        }
        if (have >= 0.0 && need > have) {
            fprintf(stderr, "%s: error: -nimages %d: the series needs at least %.3g GB but the file system of "
                            "%s has %.3g GB free\n", app_name(), o->nimages, need / 1e9, o->nexus_path, have / 1e9);
            return 1;
        }
    }
    for (int i = 0; i < OUT_COUNT; ++i) {
        double need = 0.0, have;
        if (!out[i].tmpl)
            continue;
        expand(out[i].tmpl, 1, a, sizeof a);
        have = free_bytes(a);
        for (int j = 0; j < OUT_COUNT; ++j) {
            if (!out[j].tmpl)
                continue;
            expand(out[j].tmpl, 1, b, sizeof b);
            if (free_bytes(b) == have) /* the same file system, most likely */
                need += per_image[j] * o->nimages;
        }
        if (o->nexus_path && free_bytes(o->nexus_path) == have)
            need += NEXUS_BYTES(pixels) * o->nimages;
        if (have >= 0.0 && need > have) {
            fprintf(stderr, "%s: error: -nimages %d: the series needs at least %.3g GB but the file system of "
                            "%s has %.3g GB free\n", app_name(), o->nimages, need / 1e9, a, have / 1e9);
            return 1;
        }
    }
    return 0;
}

/* The -matrixfile of the series: not an input, writable. */
static int check_matrix_path(const app_options *o, const char *const *inputs, size_t nin)
{
    nb_error err;
    if (!o->matrix_path)
        return 0;
    for (size_t j = 0; j < nin; ++j)
        if (nb_paths_clash(o->matrix_path, inputs[j])) {
            fprintf(stderr, "%s: error: output %s (-matrixfile) would overwrite an input file\n", app_name(),
                    o->matrix_path);
            return 2;
        }
    if (nb_output_check(o->matrix_path, &err) != NB_OK) {
        fprintf(stderr, "%s: error: %s\n", app_name(), err.msg);
        return 1;
    }
    return 0;
}

/* The -nexusfile of the series (one file, not a template): HDF5 built in,
   not an input, not the first or last image of another output nor the
   matrix file, writable. */
static int check_nexus_path(const app_options *o, const series_output *out, const char *const *inputs, size_t nin)
{
    const int images[2] = {1, o->nimages};
    char a[MAX_PATH_TEXT];
    nb_error err;
    int rc;
    if (!o->nexus_path)
        return 0;
    if ((rc = app_check_nexus(o)) != 0)
        return rc;
    for (size_t j = 0; j < nin; ++j)
        if (nb_paths_clash(o->nexus_path, inputs[j])) {
            fprintf(stderr, "%s: error: output %s (-nexusfile) would overwrite an input file\n", app_name(),
                    o->nexus_path);
            return 2;
        }
    for (int n = 0; n < 2; ++n)
        for (int i = 0; i < OUT_COUNT; ++i) {
            if (!out[i].tmpl)
                continue;
            expand(out[i].tmpl, images[n], a, sizeof a);
            if (nb_paths_clash(o->nexus_path, a)) {
                fprintf(stderr, "%s: error: output %s (-nexusfile) would overwrite another output (%s %s)\n",
                        app_name(), o->nexus_path, out[i].flag, a);
                return 2;
            }
        }
    if (o->matrix_path && nb_paths_clash(o->nexus_path, o->matrix_path)) {
        fprintf(stderr, "%s: error: output %s (-nexusfile) would overwrite another output (-matrixfile %s)\n",
                app_name(), o->nexus_path, o->matrix_path);
        return 2;
    }
    if (nb_output_check(o->nexus_path, &err) != NB_OK) {
        fprintf(stderr, "%s: error: %s\n", app_name(), err.msg);
        return 1;
    }
    return 0;
}

int app_series_check(const app_options *o, const char *const *inputs, size_t nin)
{
    series_output out[OUT_COUNT];
    int rc;
    list_series_outputs(o, out);
    if ((rc = check_templates(o, out)) != 0 || (rc = check_matrix_path(o, inputs, nin)) != 0 ||
        (rc = check_nexus_path(o, out, inputs, nin)) != 0)
        return rc;
    return check_names(o, out, inputs, nin);
}

/* ------------------------------------------------------------ series-level outputs */

/* The text of the series so far (grown as images are added). */
typedef struct text_buf {
    char *data;
    size_t len, cap;
} text_buf;

static int append_text(text_buf *t, const void *text, size_t n)
{
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 4096;
        char *d;
        while (cap < t->len + n + 1)
            cap *= 2;
        if (!(d = realloc(t->data, cap)))
            return -1;
        t->data = d;
        t->cap = cap;
    }
    if (n > 0)
        memcpy(t->data + t->len, text, n);
    t->len += n;
    return 0;
}

/*
 * What the series-level outputs take of one image: a record made by the
 * rank that rendered the image (image_record), handed to the sink in image
 * order on rank 0 (sink_take; par.h's app_par_gather moves it there), in
 * one process as with several.  Its bytes: the header, then its printed
 * lines (kept on ranks other than 0, printed by rank 0 in order), then its
 * -matrixfile lines.  A writer of another series-level file (one file per
 * series, written by rank 0) adds its part of the image to the record in
 * image_record and takes it in sink_take, one call per image.
 */
typedef struct record_head {
    int image;
    size_t log_len, matrix_len, nexus_len;
} record_head;

/* The image's part of the NeXus file (o->nexus_take's ctx): its record,
   then its counts. */
static int nexus_take(void *ctx, const nb_nexus_image *image, const int32_t *counts, size_t n)
{
    text_buf *t = ctx;
    t->len = 0;
    return append_text(t, image, sizeof *image) != 0 || append_text(t, counts, n * sizeof *counts) != 0;
}

static int image_record(text_buf *rec, int image, const char *log, size_t log_len, const nb_experiment *exp,
                        const nb_series_frame *fr, const app_options *o, const text_buf *nexus)
{
    char matrix[APP_MATRIX_TEXT];
    record_head h = {image, log_len, 0, nexus->len};
    if (exp && o->matrix_path)
        h.matrix_len = (size_t)app_format_matrix(exp, fr->image, fr->misset_seed, matrix, sizeof matrix);
    rec->len = 0;
    if (append_text(rec, &h, sizeof h) != 0 || append_text(rec, log, log_len) != 0 ||
        append_text(rec, matrix, h.matrix_len) != 0 || append_text(rec, nexus->data, nexus->len) != 0) {
        fprintf(stderr, "%s: error: image %d: out of memory for its record\n", app_name(), image);
        return 1;
    }
    return 0;
}

/* The series-level outputs, filled on rank 0 in image order. */
typedef struct series_sink {
    text_buf matrices; /* -matrixfile */
    nb_nexus *nexus;   /* -nexusfile, open on rank 0 */
    size_t pixels;     /* per image */
} series_sink;

static int sink_take(void *ctx, int image, const void *bytes, size_t n)
{
    series_sink *sink = ctx;
    const char *p = bytes;
    record_head h;
    nb_nexus_image nx;
    nb_error err;
    if (n < sizeof h)
        return 0; /* no record: the image was not made here (a band of a split image) */
    memcpy(&h, p, sizeof h);
    if (h.image != image || sizeof h + h.log_len + h.matrix_len + h.nexus_len != n ||
        (h.nexus_len != 0) != (sink->nexus != NULL) ||
        (h.nexus_len && h.nexus_len != sizeof nx + sink->pixels * sizeof(int32_t))) {
        fprintf(stderr, "%s: error: image %d: its record is damaged\n", app_name(), image);
        return 1;
    }
    p += sizeof h;
    fwrite(p, 1, h.log_len, stdout);
    p += h.log_len;
    if (append_text(&sink->matrices, p, h.matrix_len) != 0) {
        fprintf(stderr, "%s: error: out of memory for the orientation matrices\n", app_name());
        return 1;
    }
    p += h.matrix_len;
    if (h.nexus_len) {
        int32_t *counts = malloc(sink->pixels * sizeof *counts);
        nb_status st;
        memcpy(&nx, p, sizeof nx);
        if (!counts) {
            fprintf(stderr, "%s: error: out of memory for the NeXus image\n", app_name());
            return 1;
        }
        memcpy(counts, p + sizeof nx, sink->pixels * sizeof *counts); /* aligned for the writer */
        st = nb_nexus_append(sink->nexus, &nx, counts, &err);
        free(counts);
        if (st != NB_OK) {
            fflush(stdout);
            fprintf(stderr, "%s: error: %s\n", app_name(), err.msg);
            return 1;
        }
    }
    return 0;
}

/* Write the series' matrix file: 0, or 1 after printing why not. */
static int write_matrices(const app_options *o, const text_buf *t)
{
    nb_error err;
    nb_outputs *set = nb_outputs_new();
    nb_status st = set ? nb_outputs_add_bytes(set, o->matrix_path, t->data, t->len, &err) : NB_ERR_NOMEM;
    if (st == NB_OK)
        st = nb_outputs_publish(set, &err);
    nb_outputs_free(set);
    if (st == NB_OK) {
        printf("writing %s (%d orientation matrices)\n", o->matrix_path, o->nimages);
        return 0;
    }
    fprintf(stderr, "%s: error: %s\n", app_name(), st == NB_ERR_NOMEM ? "out of memory" : err.msg);
    return 1;
}

/* Rank 0, once every image is in: write what belongs to the series. */
static int sink_close(const app_options *o, series_sink *sink)
{
    int rc = 0;
    if (app_par_rank() == 0 && o->matrix_path)
        rc = write_matrices(o, &sink->matrices);
    free(sink->matrices.data);
    return rc;
}

/* Image k's outputs into o (names into buf), the others off. */
static void image_outputs(app_options *o, const series_output *out, int image, char buf[OUT_COUNT][MAX_PATH_TEXT])
{
    for (int i = 0; i < OUT_COUNT; ++i)
        if (out[i].tmpl)
            expand(out[i].tmpl, image, buf[i], MAX_PATH_TEXT);
    o->float_path = out[OUT_FLOAT].tmpl ? buf[OUT_FLOAT] : NULL;
    o->int_path = out[OUT_INT].tmpl ? buf[OUT_INT] : NULL;
    o->pgm_path = out[OUT_PGM].tmpl ? buf[OUT_PGM] : NULL;
    o->noise_path = out[OUT_NOISE].tmpl ? buf[OUT_NOISE] : NULL;
    o->cbf_path = out[OUT_CBF].tmpl ? buf[OUT_CBF] : NULL;
    o->write_pgm = o->pgm_path != NULL;
    o->write_noise = o->noise_path != NULL;
}

/* Render image k and stage its files into set, its record into rec: 0, 1
   (failure, printed) or 128 + signal.  split: every rank renders a band of
   it (app_par_simulate; collective), rank 0 stages the files. */
static int one_image(app_options *o, const nb_series *series, int k, int split, nb_log *log, nb_outputs *set,
                     text_buf *rec)
{
    nb_experiment *exp = NULL;
    nb_series_frame fr;
    nb_image img;
    nb_error err;
    nb_status st;
    char *text;
    size_t text_len;
    int rc;

    st = nb_series_frame_of(series, k, &fr, &err);
    if (st == NB_OK)
        st = nb_series_experiment(series, k, NULL, &exp, &err);
    if (st != NB_OK) {
        fprintf(stderr, "%s: error: image %d: %s\n", app_name(), k, err.msg);
        if (!split)
            return 1;
    }
    if (!split)
        app_par_capture_begin();
    if (exp) {
        printf("\nimage %d of %d: -phi %.12g -osc %.12g -seed %ld", k, nb_series_count(series), fr.phi_deg,
               fr.osc_deg, -o->seed);
        if (fr.own_orientation)
            printf(" -misset random -misset_seed %ld", fr.misset_seed);
        printf("\n");
    }
    app_catch_interrupt(1);
    st = app_par_simulate(exp, split, log, &img, &err);
    app_catch_interrupt(0);
    if (st == NB_ERR_CANCELLED) {
        fflush(stdout);
        fprintf(stderr, "%s: interrupted at image %d: it was not written\n", app_name(), k);
        rc = 128 + app_interrupted();
    } else if (st != NB_OK) {
        if (exp)
            fprintf(stderr, "%s: error: image %d: %s\n", app_name(), k, err.msg);
        rc = 1;
    } else if (!img.data) {
        rc = 0; /* a band of a split image: rank 0 writes it */
    } else {
        rc = app_stage_outputs(o, exp, &img, set);
    }
    text = split ? NULL : app_par_capture_end(&text_len);
    if (rc == 0 && img.data)
        rc = image_record(rec, k, text, text ? text_len : 0, exp, &fr, o,
                          o->nexus_ctx ? (const text_buf *)o->nexus_ctx : &(const text_buf){0});
    free(text);
    if (st == NB_OK)
        nb_image_free(&img);
    nb_experiment_free(exp);
    return rc;
}

/* Rank 0: open the series' NeXus file (sink->nexus) with image 1's
   geometry: 0, or 1 after printing why not. */
static int open_nexus(const app_options *o, const nb_series *series, series_sink *sink)
{
    nb_experiment *exp = NULL;
    const char *note;
    nb_error err;
    nb_status st = nb_series_experiment(series, 1, NULL, &exp, &err);
    if (st == NB_OK) {
        if ((note = nb_nexus_geometry_note(exp)) != NULL)
            fprintf(stderr, "%s: warning: %s: %s\n", app_name(), o->nexus_path, note);
        st = nb_nexus_open(o->nexus_path, exp, o->nimages, &sink->nexus, &err);
    }
    nb_experiment_free(exp);
    if (st != NB_OK) {
        fflush(stdout);
        fprintf(stderr, "%s: error: %s\n", app_name(), err.msg);
        return 1;
    }
    printf("writing %s as 4-byte integers (NeXus/NXmx, %d images, %s)\n", o->nexus_path, o->nimages,
           o->cbf_noise ? "noise" : "no noise");
    return 0;
}

/* Publish the NeXus file when every image went well (rc 0), else remove it:
   rc, or 1 after printing why it could not be written. */
static int close_nexus(const app_options *o, series_sink *sink, int rc)
{
    nb_error err;
    nb_nexus *nx = sink->nexus;
    sink->nexus = NULL;
    if (!nx)
        return rc;
    if (rc != 0) {
        nb_nexus_abort(nx);
        return rc;
    }
    if (nb_nexus_close(nx, &err) != NB_OK) {
        fflush(stdout);
        fprintf(stderr, "%s: error: %s\n", app_name(), err.msg);
        return 1;
    }
    printf("wrote %s (%d images)\n", o->nexus_path, o->nimages);
    return 0;
}

/* One round of a series: this rank's image k (none when k > nimages)
   rendered and staged; every rank agrees before any publishes; then the
   round's records go to rank 0's sink in image order (count of them). */
static int one_round(app_options *o, const nb_series *series, int first, int k, int count, int split, nb_log *log,
                     series_sink *sink)
{
    nb_outputs *set = nb_outputs_new();
    text_buf rec = {0};
    int rc = 0;
    if (!set) {
        fprintf(stderr, "%s: error: out of memory for the output images\n", app_name());
        rc = 1;
    } else if (k <= o->nimages) {
        rc = one_image(o, series, k, split, log, set, &rec);
    }
    rc = app_par_agree(rc);
    if (rc == 0)
        rc = app_par_agree(app_publish_outputs(set));
    nb_outputs_free(set); /* removes what was staged and not published */
    if (rc == 0)
        rc = app_par_agree(app_par_gather(first, count, rec.data, rec.len, sink_take, sink));
    free(rec.data);
    return rc;
}

int app_run_series(app_options *o)
{
    static char names[OUT_COUNT][MAX_PATH_TEXT];
    const double int_scale = o->int_scale, pgm_scale = o->pgm_scale;
    const long seed = -o->seed; /* as -seed gives it */
    /* which images this rank renders: all of them (one process, or one
       image split by rows), or one of each round of size images */
    const int split = app_par_split_rows(o->nimages);
    const int step = split ? 1 : app_par_size();
    nb_log log = {.fn = app_log_stdout};
    app_progress progress;
    series_output out[OUT_COUNT];
    nb_series *series = NULL;
    series_sink sink = {{0}, NULL, 0};
    text_buf nexus_part = {0}; /* this rank's image's part of the NeXus file */
    nb_error err;
    nb_status st;
    int rc = 0;

    printf("nanoBragg nanocrystal diffraction simulator - James Holton and Ken Frankel 5-17-17\n");
    app_note_cell(o);
    if (app_par_rank() == 0) /* the warnings once */
        app_warn_units(o);
    list_series_outputs(o, out);
    o->cbf_noise = o->write_noise; /* before image_outputs turns off what is not named */
    st = nb_series_create(o->cfg, o->nimages, &log, &series, &err);
    if (st != NB_OK) {
        fflush(stdout);
        fprintf(stderr, "%s: error: %s\n", app_name(), err.msg);
        rc = (st == NB_ERR_USAGE || st == NB_ERR_INVALID) ? 2 : 1;
    }
    if ((rc = app_par_agree(rc)) != 0) {
        nb_series_free(series);
        return rc;
    }
    if (app_par_from_root(app_par_rank() == 0 ? check_space(o, out, (double)nb_series_info(series)->fpixels *
                                                                          nb_series_info(series)->spixels)
                                              : 0)) {
        nb_series_free(series);
        return 1;
    }
    app_report_setup(o, nb_series_info(series));
    if (app_par_rank() == 0)
        app_warn_setup(o, nb_series_info(series));
    if (o->nexus_path) {
        sink.pixels = (size_t)nb_series_info(series)->fpixels * (size_t)nb_series_info(series)->spixels;
        o->nexus_take = nexus_take;
        o->nexus_ctx = &nexus_part;
        if (app_par_agree(app_par_rank() == 0 ? open_nexus(o, series, &sink) : 0) != 0) {
            nb_series_free(series);
            return 1;
        }
    }
    printf("  %d images\n", o->nimages);
    log.fn = NULL; /* each image's set-up repeats image 1's lines */
    for (int first = 1; first <= o->nimages && rc == 0; first += step) {
        const int k = first + (split ? 0 : app_par_rank());
        const int count = o->nimages - first + 1 < step ? o->nimages - first + 1 : step;
        if (k <= o->nimages) {
            o->seed = -nb_series_seed(seed, k);
            o->int_scale = int_scale;
            o->pgm_scale = pgm_scale;
            image_outputs(o, out, k, names);
            app_progress_setup(o, nb_series_info(series), &progress, &log);
        }
        rc = one_round(o, series, first, k, count, split, &log, &sink);
    }
    rc = close_nexus(o, &sink, app_par_agree(rc));
    if (rc == 0)
        rc = sink_close(o, &sink);
    else
        free(sink.matrices.data);
    free(nexus_part.data);
    o->nexus_take = NULL;
    o->nexus_ctx = NULL;
    nb_series_free(series);
    return app_par_agree(rc);
}
