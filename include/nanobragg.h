/*
 * nanobragg.h - public API of libnanobragg.
 *
 * libnanobragg computes the far-field Bragg diffraction image of a small
 * perfect crystal, as the nanoBragg program does.  Data flows one way:
 *
 *   nb_config  --nb_experiment_create-->  nb_experiment  --nb_simulate-->  nb_image
 *
 * The library never prints to stdout and never exits: every fallible function
 * returns an nb_status and, where a message helps, fills an nb_error.
 * Progress and informational lines go to an optional nb_log callback.
 *
 * Units: the configuration holds SI units (metres, radians, photons/m^2)
 * unless a field name says otherwise.
 */
#ifndef NANOBRAGG_H
#define NANOBRAGG_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) || defined(__clang__)
#define NB_WARN_UNUSED __attribute__((warn_unused_result))
/* Everything declared here is the library's interface; the rest of it is
   built with hidden visibility. */
#pragma GCC visibility push(default)
#else
#define NB_WARN_UNUSED
#endif

/* The version of this header; nb_version() gives the library's. */
#define NB_VERSION_MAJOR 0
#define NB_VERSION_MINOR 2
#define NB_VERSION_PATCH 0
#define NB_VERSION_STRING "0.2.0"

/* ---------------------------------------------------------------- status */

typedef enum {
    NB_OK = 0,
    NB_ERR_NOMEM,   /* an allocation failed */
    NB_ERR_IO,      /* a file could not be opened, read or written */
    NB_ERR_PARSE,   /* malformed text input */
    NB_ERR_FORMAT,  /* malformed binary input (SMV, Fdump) */
    NB_ERR_INVALID, /* a value or combination of values is not usable */
    NB_ERR_RANGE,   /* a size or count is beyond what can be handled */
    NB_ERR_USAGE,   /* required inputs are missing */
    NB_ERR_CANCELLED /* the progress callback asked to stop; nothing was written */
} nb_status;

/* The library's version, e.g. "0.1.0" (a static string). */
const char *nb_version(void);

/* A static, human-readable name for a status code. */
const char *nb_strerror(nb_status status);

/* Where a failing function says what went wrong (file, line, value). */
typedef struct nb_error {
    char msg[512];
} nb_error;

/* ---------------------------------------------------------------- logging */

typedef enum { NB_LOG_INFO = 0, NB_LOG_WARN = 1 } nb_log_level;

/* Receives one line of text (without the trailing newline). */
typedef void (*nb_log_fn)(void *ctx, nb_log_level level, const char *line);

/* Receives the fraction of the pixels rendered so far (0 to 1).  Return 0
   to go on; anything else cancels the render, which then returns
   NB_ERR_CANCELLED and writes nothing (see nb_simulate, nb_render_region). */
typedef int (*nb_progress_fn)(void *ctx, double fraction);

/*
 * The intermediate values of one pixel, as nanoBragg's -printout shows them:
 * those of the pixel's last sample (last layer, sub-pixel, source, phi step
 * and mosaic domain), the pixel's total, and the cell of that last sample.
 */
typedef struct nb_trace {
    int fpixel, spixel;
    double stol;                 /* sin(theta)/lambda of the last sample, 1/Angstrom */
    double stol_centre;          /* sin(theta)/lambda0 from the pixel position, 1/Angstrom */
    double pixel_pos_m[3];       /* the last sample's position in the lab frame */
    double hkl[3];               /* fractional Miller indices */
    int hkl0[3];                 /* nearest integer indices */
    double F_cell, F_latt;
    double I;                    /* the summed intensity before scaling */
    double steps;                /* samples the sum is divided by */
    double polar, omega, capture_fraction;
    double pixel;                /* the pixel's value, photons */
    double a_A[3], b_A[3], c_A[3]; /* real-space cell of the last sample, Angstrom */
} nb_trace;

/* Receives the trace of a pixel; called from the rendering thread, after
   the image is complete, in serial pixel order. */
typedef void (*nb_trace_fn)(void *ctx, const nb_trace *trace);

/*
 * Callbacks of the library.  A zero-initialised nb_log has none.  The
 * callbacks are called from one thread at a time.
 */
typedef struct nb_log {
    nb_log_fn fn; /* NULL: messages are dropped */
    void *ctx;
    /* Optional: called by the renders from one thread (the first of the
       threads that render), with fractions that never decrease, after each
       run of pixels that thread renders (often: the callback decides what
       to show), and once with 1 at the end, unless cancelled.  A
       non-zero return cancels, at any of these calls: the other threads
       stop at their next run of pixels and the render returns
       NB_ERR_CANCELLED.  (A short render may give that thread no run of
       pixels: the final 1 is then the only call.)  NULL: no progress
       reports and no way to cancel. */
    nb_progress_fn progress;
    void *progress_ctx;
    /* Optional: nb_simulate traces pixel (trace_fpixel, trace_spixel), or
       every rendered pixel when trace_fpixel < 0; NULL: no trace. */
    nb_trace_fn trace;
    void *trace_ctx;
    int trace_fpixel, trace_spixel;
} nb_log;

/* ---------------------------------------------------------------- config */

typedef enum {
    NB_CONV_CUSTOM = 0,
    NB_CONV_ADXV,
    NB_CONV_MOSFLM,
    NB_CONV_XDS,
    NB_CONV_DIALS,
    NB_CONV_DENZO
} nb_convention;

typedef enum { NB_PIVOT_SAMPLE = 0, NB_PIVOT_BEAM } nb_pivot;

typedef enum {
    NB_SHAPE_SQUARE = 0, /* parallelepiped: sin(N x)/sin(x) */
    NB_SHAPE_ROUND,      /* ellipsoid: sinc3 */
    NB_SHAPE_GAUSS,      /* Gaussian spots */
    NB_SHAPE_TOPHAT      /* flat-top spots */
} nb_shape;

typedef enum {
    NB_INTERP_AUTO = -1, /* on when any of Na, Nb, Nc <= 2 */
    NB_INTERP_OFF = 0,
    NB_INTERP_ON = 1
} nb_interp;

typedef enum { NB_PRECISION_DOUBLE = 0, NB_PRECISION_SINGLE = 1 } nb_precision;

/* Instruction set of the vectorised kernel loops. */
typedef enum {
    NB_ISA_AUTO = 0,  /* the best this processor runs */
    NB_ISA_BASELINE,  /* x86-64 (SSE2), or the compiler's baseline off x86 */
    NB_ISA_AVX2,      /* x86-64-v3: AVX2 and FMA */
    NB_ISA_AVX512     /* x86-64-v4: AVX-512 */
} nb_isa;

/* Sentinel for "not given": use NB_UNSET and test with nb_is_unset(). */
#define NB_UNSET (-1.0e300)
int nb_is_unset(double value);

/*
 * Everything a run needs, as the user gave it.  nb_config_init() fills in
 * nanoBragg's defaults; "unset" fields are resolved by nb_experiment_create().
 * Vectors are unit-free directions (x, y, z in the lab frame) unless noted.
 */
typedef struct nb_config {
    /* inputs */
    const char *hkl_path;   /* text "h k l F", or NULL */
    const char *mat_path;   /* MOSFLM A matrix, or NULL */
    const char *fdump_path; /* binary cache written after reading hkl_path and read
                               when hkl_path is NULL; NULL disables the cache */
    const char *source_path; /* source list, or NULL */
    int user_cell;          /* -cell given */
    double cell_A[3];       /* a, b, c in Angstrom */
    double cell_rad[3];     /* alpha, beta, gamma in radians */
    int misset_mode;        /* 0 none, 1 explicit angles, -1 random */
    double misset_rad[3];
    long misset_seed;       /* nanoBragg convention: stored negative */
    double default_F;

    /* crystal size and shape */
    double Na, Nb, Nc;
    double sample_x_m, sample_y_m, sample_z_m; /* 0: use N */
    nb_shape shape;
    double fudge;
    double mosaic_spread_rad; /* < 0: not given */
    int mosaic_domains;       /* <= 0: not given */
    long mosaic_seed;
    nb_interp interpolate;

    /* beam */
    double lambda0_m;
    double dispersion;        /* fraction */
    int dispsteps;            /* <= 0: auto */
    double hdivrange_rad, vdivrange_rad; /* < 0: not given */
    double hdivstep_rad, vdivstep_rad;   /* < 0: not given */
    int hdivsteps, vdivsteps;            /* <= 0: auto */
    int round_div;
    double fluence;           /* photons/m^2 */
    double flux;              /* photons/s */
    double exposure_s;
    double beamsize_m;
    double polarization;      /* Kahn factor */
    int nopolar;
    double beam_vector[3];
    double polar_vector[3];

    /* spindle */
    double phi0_rad, osc_rad, phistep_rad; /* osc, phistep < 0: not given */
    int phisteps;                          /* < 0: not given */
    double spindle_vector[3];

    /* detector */
    nb_convention convention;
    nb_pivot pivot;
    double pixel_m;
    int fpixels, spixels;     /* 0: from detsize */
    double detsize_f_m, detsize_s_m;
    double distance_m;
    double close_distance_m;  /* NB_UNSET: derived */
    double Xbeam_m, Ybeam_m;  /* NB_UNSET: by convention */
    double Xclose_m, Yclose_m;
    double ORGX, ORGY;        /* pixels */
    double detector_rot_rad[3];
    double twotheta_rad;
    double twotheta_axis[3];
    double fdet_vector[3], sdet_vector[3], odet_vector[3];
    int pix0_given;
    double pix0_vector_m[3];
    int curved_detector;
    int point_pixel;
    double detector_mu;       /* 1/m; < 0: not given */
    double detector_thick_m;
    int detector_thicksteps;  /* <= 0: auto */
    int oversample;           /* <= 0: auto */
    int oversample_thick, oversample_polar, oversample_omega;
    int roi[4];               /* xmin xmax ymin ymax; < 0: whole detector */
    double dmin_m;
    double water_m;
    const uint16_t *mask;     /* mask_width*mask_height, 0 = skip; caller owns; NULL: none */
    int mask_width, mask_height; /* must equal the detector's pixel counts */

    /* execution */
    nb_precision precision;
    nb_isa isa;               /* NB_ISA_AUTO: the best the processor has */
    int threads;              /* <= 0: OpenMP default */
} nb_config;

/* Fill *cfg with nanoBragg's defaults (MOSFLM convention, 0.1 mm pixels, ...). */
void nb_config_init(nb_config *cfg);

/* ---------------------------------------------------------------- experiment */

typedef struct nb_experiment nb_experiment;

/*
 * Everything setup derived, for reports and file headers.  Lengths in metres,
 * angles in radians.  nb_experiment_create fills it once, from the experiment
 * it built; it is a report only: the library never reads it back.
 */
typedef struct nb_info {
    nb_convention convention;
    nb_pivot pivot;
    int fpixels, spixels;
    double pixel_m, detsize_f_m, detsize_s_m;
    double distance_m, close_distance_m;
    double Xbeam_m, Ybeam_m, Fbeam_m, Sbeam_m;
    double Xclose_m, Yclose_m, Fclose_m, Sclose_m;
    double ORGX, ORGY;
    double dials_origin_mm[3];
    double fdet[3], sdet[3], odet[3], beam[3], spindle[3], polar[3], pix0_m[3];
    double twotheta_rad, twotheta_axis[3];
    double lambda0_m, dispersion;
    int dispsteps;
    double hdivrange_rad, hdivstep_rad, vdivrange_rad, vdivstep_rad;
    int divsteps;
    int sources;
    int mosaic_domains;
    double mosaic_spread_rad;
    int phisteps;
    double phi0_rad, osc_rad, phistep_rad;
    int oversample, recommended_oversample;
    int thicksteps;
    double detector_thick_m, detector_thickstep_m, detector_mu;
    double Na, Nb, Nc;
    double cell_A[3], cell_deg[3], rcell[3], rcell_deg[3];
    double volume_A3;
    double a_A[3], b_A[3], c_A[3];      /* real-space vectors (after misset) */
    double astar[3], bstar[3], cstar[3]; /* reciprocal, 1/Angstrom */
    double misset_deg[3];
    int misset_random;
    double xtal_size_m[3];
    double molecular_weight;
    long hkls;
    int hkl_from_fdump;
    int interpolate;
    double fluence, flux, exposure_s, beamsize_m;
    double water_m;
    double incident_beam_xds[3];
    int roi[4];
    long steps;
    long samples_per_pixel;  /* steps x detector layers: kernel evaluations per pixel */
    int oversample_auto;     /* the sub-pixel count was chosen automatically */
    const char *kernel;      /* "row" (vectorised) or "reference-order" (-oversample_*) */
    const char *isa;         /* instruction set of the row kernel's loops */
    nb_precision precision_used; /* of the lattice sums: single only where it applies */
    const char *precision_note;  /* why -precision single was not used, or NULL */
} nb_info;

/*
 * Resolve defaults, read the inputs the config names (HKL or Fdump, matrix,
 * sources), build detector geometry, sources, crystal orientations.
 * On success *out is a new experiment (caller owns; nb_experiment_free).
 * On failure *out is NULL and err (if not NULL) says why.
 */
NB_WARN_UNUSED nb_status nb_experiment_create(const nb_config *cfg, const nb_log *log,
                                              nb_experiment **out, nb_error *err);
void nb_experiment_free(nb_experiment *exp);
/* The instruction set of the vector loops NB_ISA_AUTO picks on this
   processor (a static string, e.g. "x86-64-v3 (AVX2, FMA)"). */
const char *nb_kernel_isa(void);
/* 1 if this build and processor can run isa's loops (NB_ISA_AUTO: always). */
int nb_isa_available(nb_isa isa);
/* The name of isa as NB_ISA spells it ("auto", "baseline", "avx2",
   "avx512"), or NULL for a value that is no nb_isa. */
const char *nb_isa_name(nb_isa isa);
const nb_info *nb_experiment_info(const nb_experiment *exp);

/* ---------------------------------------------------------------- simulate */

typedef struct nb_image {
    int fpixels, spixels;
    float *data;        /* fpixels*spixels photons/pixel, fast-major; owned */
    double max_I;       /* statistics over rendered (ROI, unmasked) pixels */
    double max_I_x_m, max_I_y_m;
    double mean, rms, rmsd;
    double rmsd_roi;    /* nanoBragg's rmsd: deviations from the mean of every ROI
                           pixel, masked ones too (the PGM auto-scale uses it) */
    long rendered;      /* pixels rendered */
    double omega_sum;   /* sum of solid angles over all sub-samples */
} nb_image;

/* Render the float image.  *img is filled (caller frees with nb_image_free).
   On any error, NB_ERR_CANCELLED included, img->data is NULL.  Progress
   counts the pixels rendered, including those rendered again after
   interpolation switches itself off (the total then grows). */
NB_WARN_UNUSED nb_status nb_simulate(const nb_experiment *exp, const nb_log *log, nb_image *img,
                                     nb_error *err);
void nb_image_free(nb_image *img);

/*
 * Render a rectangle of the detector, fast pixels f0 <= f < f0 + width and
 * slow pixels s0 <= s < s0 + height, into out (width * height floats, fast
 * index fastest; caller owns), with exactly the values nb_simulate gives
 * those pixels, bit for bit, at any thread count (pixels outside the ROI or
 * masked are 0).  The whole detector is f0 = s0 = 0, width = fpixels,
 * height = spixels.  log may be NULL; its progress callback may cancel.
 * out is written only on success.
 *
 * Cost: the pixels asked for, plus, once per experiment, a render of the
 * whole image (into scratch space, counted by progress) when the
 * experiment interpolates structure factors, or when its first phi sweep
 * differs from the others (phi0 = 0 with several steps) and -dmin decides
 * which pixel runs it: nanoBragg's serial order makes those pixels' values
 * depend on where in the whole image interpolation switches off and which
 * pixel runs the first sweep.  The experiment keeps what it found (so does
 * nb_simulate), so later calls do not pay it; concurrent calls on one
 * experiment wait for the first to find it.  A cancelled call keeps
 * nothing.
 *
 * NB_ERR_INVALID (the message names the argument and its value) for a
 * rectangle not inside the detector or empty, a NULL exp or out;
 * NB_ERR_NOMEM; NB_ERR_CANCELLED.
 */
NB_WARN_UNUSED nb_status nb_render_region(const nb_experiment *exp, int f0, int s0, int width,
                                          int height, float *out, const nb_log *log, nb_error *err);

/*
 * Render the pixels index[0..n-1] (each s * fpixels + f; repeats and any
 * order allowed) into out[0..n-1], with exactly the values nb_simulate
 * gives them.  Each distinct pixel is rendered once; adjacent pixels of a
 * row are rendered together.  Cost and errors as nb_render_region (an index
 * outside the detector is NB_ERR_INVALID, naming it; NULL index or out with
 * n > 0 too); n = 0 does nothing and returns NB_OK.  out is written only on
 * success.
 */
NB_WARN_UNUSED nb_status nb_render_pixels(const nb_experiment *exp, const size_t *index, size_t n,
                                          float *out, const nb_log *log, nb_error *err);

/* ---------------------------------------------------------------- outputs */

/* Header values of an SMV (ADSC) image as nanoBragg writes them. */
typedef struct nb_smv_info {
    int fpixels, spixels;
    double pixel_mm, distance_mm, wavelength_A;
    double beam_center_x_mm, beam_center_y_mm;
    double adxv_center_x_mm, adxv_center_y_mm;
    double mosflm_center_x_mm, mosflm_center_y_mm;
    double denzo_x_beam_mm, denzo_y_beam_mm;
    double dials_origin_mm[3];
    double xds_orgx, xds_orgy;
    double close_distance_mm;
    double phi_deg, osc_start_deg, osc_range_deg, twotheta_deg;
} nb_smv_info;

/* Header values for images of this experiment. */
void nb_experiment_smv_info(const nb_experiment *exp, nb_smv_info *info);

/* Scale float photons to SMV counts: floor(v*scale + adc + 0.5) clipped to
   [0, 65535], only inside the ROI (others 0).  scale <= 0: 55000/max_I. */
void nb_image_to_counts(const nb_experiment *exp, const nb_image *img, double *scale,
                        double adc, uint16_t *counts);
/* 8-bit greyscale: min(255, v*scale), truncated.  scale <= 0: 250/(5 rmsd_roi). */
void nb_image_to_pgm(const nb_experiment *exp, const nb_image *img, double *scale,
                     double fallback_scale, uint8_t *bytes);
/* Poisson noise (nanoBragg's generator) plus adc; *seed is advanced. */
void nb_image_to_noise(const nb_experiment *exp, const nb_image *img, long *seed, double adc,
                       uint16_t *counts, double *photons, long *overloads);

/*
 * Writers.  Every output is first written whole to a temporary file beside
 * its target (".<name>.XXXXXX" in the same directory, mode 0666 & ~umask, or
 * the mode of the file it replaces) and then renamed over the target, so a
 * failure never leaves a partial file or a stray temporary.  A target that
 * exists and is neither a regular file nor a directory (/dev/null, a FIFO)
 * is written in place; a directory is refused.
 *
 * An output set writes several outputs all or nothing.  Each add writes its
 * file completely to a temporary (open, write, flush, close: all checked);
 * publish then renames them all into place.  Once an add fails the set is
 * spoiled: later adds and publish refuse it, and nothing is written.
 * nb_outputs_free removes every temporary that was not published.
 *
 *     nb_outputs *set = nb_outputs_new();
 *     st = set ? nb_outputs_add_float(set, "a.bin", data, n, &err) : NB_ERR_NOMEM;
 *     if (st == NB_OK) st = nb_outputs_add_smv(set, "a.img", &info, counts, &err);
 *     if (st == NB_OK) st = nb_outputs_publish(set, &err);
 *     nb_outputs_free(set);
 *
 * Errors of every add (the set is then spoiled; err names path):
 * NB_ERR_INVALID for a NULL set or argument, a size < 1, a spoiled set, or a
 * path that is the same file as an earlier member (nb_paths_clash);
 * NB_ERR_RANGE for an image too large;
 * NB_ERR_IO if a step of writing fails (missing or unwritable directory, a
 * directory in the way, disk full, file too large); NB_ERR_NOMEM.
 * An add has written its data when it returns: the caller may reuse the buffers.
 */
typedef struct nb_outputs nb_outputs;

/* A new, empty set (caller owns; nb_outputs_free), or NULL if out of memory. */
NB_WARN_UNUSED nb_outputs *nb_outputs_new(void);
/* Remove every staged temporary not yet published, then free set; NULL is fine. */
void nb_outputs_free(nb_outputs *set);

/* Stage data[0..n-1] as little-endian float32, no header (n = 0: an empty file). */
NB_WARN_UNUSED nb_status nb_outputs_add_float(nb_outputs *set, const char *path,
                                              const float *data, size_t n, nb_error *err);
/* Stage an SMV image: counts (info->fpixels * info->spixels, fast-major, host
   byte order, which the header's BYTE_ORDER states) under nanoBragg's header
   text, padded with spaces to 512 bytes, or to the next multiple of 512 when
   wide values make the text longer (HEADER_BYTES gives the length). */
NB_WARN_UNUSED nb_status nb_outputs_add_smv(nb_outputs *set, const char *path,
                                            const nb_smv_info *info, const uint16_t *counts,
                                            nb_error *err);
/* Stage width*height bytes (fast-major) as a P5 PGM under nanoBragg's header;
   scale is only recorded in its comment line. */
NB_WARN_UNUSED nb_status nb_outputs_add_pgm(nb_outputs *set, const char *path, int width,
                                            int height, const uint8_t *bytes, double scale,
                                            nb_error *err);
/*
 * Rename every staged output into place, in the order added.  NB_OK;
 * NB_ERR_INVALID for a NULL or spoiled set (nothing is written); NB_ERR_IO
 * naming the target if a rename fails (rare: staging proved the directory
 * writable): the outputs this call had already created are removed again,
 * those that replaced an existing file keep their new, complete contents,
 * and the remaining temporaries are removed.  Either way the set is empty
 * afterwards and may be reused.
 */
NB_WARN_UNUSED nb_status nb_outputs_publish(nb_outputs *set, nb_error *err);

/*
 * Pre-flight check, cheap enough to run before a long simulation: NB_OK if an
 * output could be written at path now: path is not a directory, and its
 * directory exists and accepts a new file (tried by creating and removing a
 * temporary there, so it holds for root and read-only file systems too), or
 * path is an existing special file open for writing.  Otherwise NB_ERR_IO
 * (NB_ERR_NOMEM) with err naming path and the reason.  Leaves nothing behind.
 */
NB_WARN_UNUSED nb_status nb_output_check(const char *path, nb_error *err);

/*
 * 1 if writing an output at path a would replace or change the file named b:
 * both exist and are one file (same device and inode: another spelling, a
 * symbolic or hard link), or neither exists yet and both name the same entry
 * of the same directory (directories compared by realpath; by spelling when
 * one cannot be resolved).  Special files (devices, FIFOs), which outputs
 * write in place, never clash: /dev/null may take several outputs.  0
 * otherwise, and when a or b is NULL.
 */
int nb_paths_clash(const char *a, const char *b);

/* One-output writers: a set of one, with the errors of the adds above. */
NB_WARN_UNUSED nb_status nb_write_float(const char *path, const float *data, size_t n,
                                        nb_error *err);
NB_WARN_UNUSED nb_status nb_write_smv(const char *path, const nb_smv_info *info,
                                      const uint16_t *counts, nb_error *err);
NB_WARN_UNUSED nb_status nb_write_pgm(const char *path, int width, int height,
                                      const uint8_t *bytes, double scale, nb_error *err);

/* ---------------------------------------------------------------- SMV input */

/* An SMV frame read from disk: its header text and 16-bit pixels. */
typedef struct nb_smv_frame {
    char *header;        /* NUL-terminated header text; owned */
    size_t header_bytes;
    int width, height;   /* SIZE1, SIZE2 */
    uint16_t *data;      /* width*height pixels, host byte order; owned */
} nb_smv_frame;

NB_WARN_UNUSED nb_status nb_smv_read(const char *path, nb_smv_frame *frame, nb_error *err);
/* Value of the last "KEY=" in the header; returns 0 if the key is absent. */
int nb_smv_value(const nb_smv_frame *frame, const char *key, double *value);
void nb_smv_frame_free(nb_smv_frame *frame);

#if defined(__GNUC__) || defined(__clang__)
#pragma GCC visibility pop
#endif

#ifdef __cplusplus
}
#endif

#endif /* NANOBRAGG_H */
