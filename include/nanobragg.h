/*
 * nanobragg.h - public API of libnanobragg.
 *
 * libnanobragg computes the far-field Bragg diffraction image of a small
 * perfect crystal, as the nanoBragg program does.  Data flows one way:
 *
 *   nb_config  --nb_experiment_create-->  nb_experiment  --nb_simulate-->  nb_image
 *   (parameters by name,                 (resolved, read-only)            nb_render_region
 *    data as arrays)                                                      nb_render_pixels
 *
 * and from a configuration, its derivatives and a fit to an observed image:
 * nb_jacobian, nb_loss_gradient, nb_refine (docs/derivatives.md).
 *
 * Errors: the library never prints and never exits: every fallible function
 * returns an nb_status and, where a message helps, fills an nb_error (which
 * may be NULL) naming the parameter, file or line at fault.  Informational
 * lines, progress, cancellation and pixel traces go through the optional
 * callbacks of an nb_log.  It reads no clock, and reads or writes a file
 * only where a function or a parameter names one.
 *
 * Ownership: every nb_x_new / nb_x_create / nb_sf_from_* result belongs to
 * the caller, who frees it with the matching nb_x_free (all accept NULL).
 * Configurations copy what they are given (strings, arrays) and take a
 * reference to structure factors (nb_sf), which are shared, never copied.
 *
 * Threads: an nb_experiment and an nb_sf are immutable once made and may be
 * used by any number of threads at once (renders of one experiment in
 * parallel are fine).  An nb_config may be read by several threads but must
 * not be changed while another thread uses it.  Renders use OpenMP threads
 * of their own (the "threads" parameter); callbacks are called from one
 * thread at a time.  Results do not depend on the number of threads.
 *
 * Units: each parameter's name carries its unit (distance_mm, lambda_A,
 * phi_deg); nb_info reports metres and radians; images are photons/pixel.
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
 * A value the pixel never computed (every source cut by -dmin; F_cell when
 * every sample's F_latt is 0) is the previous traced pixel's when every
 * pixel is traced, as nanoBragg prints it, and NaN when one pixel is (hkl0:
 * 0).  docs/deviations.md says what is reproduced.
 */
typedef struct nb_trace {
    int fpixel, spixel;
    double stol;                 /* sin(theta)/lambda of the last sample, 1/Angstrom */
    double stol_centre;          /* sin(theta)/lambda0 from the pixel position, 1/Angstrom
                                    (theta from the x axis, as nanoBragg) */
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

/*
 * A configuration: every parameter of a run, by name.  nb_config_new() holds
 * nanoBragg's defaults; each parameter is either set (by a setter below) or
 * unset, in which case its default applies or, for the parameters whose
 * default is derived from others (the beam centre, close distance, steps,
 * sub-pixels ...), set-up derives it.  The parameters, their units, ranges,
 * defaults and help are listed by nb_param_count()/nb_param_at(); a setter
 * checks the value (finite, in range) and refuses it with NB_ERR_INVALID and
 * a message naming the parameter and the value; nb_experiment_create checks
 * the combination.  Lengths and angles are in the units the names end in
 * (_mm, _um, _A, _deg, _mrad).
 *
 * Ownership and threads: a configuration owns copies of everything given to
 * it (strings, arrays); it takes a reference to structure factors.  A
 * configuration may be read (getters, nb_experiment_create) from several
 * threads at once, but not changed while another thread uses it.
 */
typedef struct nb_config nb_config;

/* A new configuration with nanoBragg's defaults (caller owns; nb_config_free),
   or NULL when out of memory.  The library's defaults read no clock and
   name no file: no Fdump.bin cache unless fdump_path is set, and fixed seeds. */
NB_WARN_UNUSED nb_config *nb_config_new(void);
/* A deep copy (caller owns), sharing structure factors; NULL when out of memory. */
NB_WARN_UNUSED nb_config *nb_config_copy(const nb_config *cfg);
void nb_config_free(nb_config *cfg);

typedef enum {
    NB_PARAM_REAL = 0, /* a number */
    NB_PARAM_INT,      /* a whole number */
    NB_PARAM_BOOL,     /* 0 or 1 */
    NB_PARAM_ARRAY,    /* min_count to count numbers (vectors, the cell, matrices) */
    NB_PARAM_CHOICE,   /* one of the words in choices ("square|round|...") */
    NB_PARAM_STRING    /* a file name */
} nb_param_kind;

/* What a parameter is (static data). */
typedef struct nb_param_info {
    const char *name;     /* e.g. "distance_mm" */
    nb_param_kind kind;
    int count, min_count; /* numbers an array takes: at most count, at least min_count */
    const char *units;    /* "" for plain numbers */
    double min, max;      /* allowed range of each number */
    int min_exclusive;    /* the value must be above min, not equal */
    const char *choices;  /* NB_PARAM_CHOICE: the words, '|'-separated */
    const char *default_text; /* the default, in words */
    const char *help;
    const char *interacts;    /* parameters it overrides or that override it, or "" */
} nb_param_info;

/* The number of parameters, and each (i < nb_param_count(); NULL beyond). */
size_t nb_param_count(void);
const nb_param_info *nb_param_at(size_t i);
/* The parameter named name, or NULL. */
const nb_param_info *nb_param_find(const char *name);

/*
 * Setters.  NB_ERR_INVALID (err names the parameter and the value) for an
 * unknown name, a setter of the wrong kind, a value that is not finite or out
 * of range, a word not among the choices, an array of the wrong length.  On
 * error the configuration is unchanged.  nb_param_set takes reals, whole
 * numbers (an integer value) and booleans (0 or 1); nb_param_set_string
 * takes choices and file names (copied; NULL unsets a file name).
 */
NB_WARN_UNUSED nb_status nb_param_set(nb_config *cfg, const char *name, double value, nb_error *err);
NB_WARN_UNUSED nb_status nb_param_set_array(nb_config *cfg, const char *name, const double *values,
                                            size_t n, nb_error *err);
NB_WARN_UNUSED nb_status nb_param_set_string(nb_config *cfg, const char *name, const char *value,
                                             nb_error *err);
/* Back to unset (the default applies again).  NB_ERR_INVALID for an unknown name. */
NB_WARN_UNUSED nb_status nb_param_unset(nb_config *cfg, const char *name, nb_error *err);
/* 1 if the parameter was set (and not unset since), else 0 (unknown names too). */
int nb_param_is_set(const nb_config *cfg, const char *name);

/*
 * Getters: the value set, or the default.  NB_ERR_USAGE for an unset
 * parameter whose default set-up derives (nb_experiment_info gives the value
 * used); NB_ERR_INVALID for an unknown name or a getter of the wrong kind.
 * nb_param_get_array writes at most cap numbers and sets *n to the count;
 * nb_param_get_string gives a string the configuration owns (NULL: no file).
 */
NB_WARN_UNUSED nb_status nb_param_get(const nb_config *cfg, const char *name, double *value,
                                      nb_error *err);
NB_WARN_UNUSED nb_status nb_param_get_array(const nb_config *cfg, const char *name, double *values,
                                            size_t cap, size_t *n, nb_error *err);
NB_WARN_UNUSED nb_status nb_param_get_string(const nb_config *cfg, const char *name, const char **value,
                                             nb_error *err);

/* ---------------------------------------------------------------- data as arrays */

/*
 * Structure factors: a dense grid of F over a box of Miller indices.
 * Immutable once made and reference counted: configurations and experiments
 * that use one share it (no copy), and it may be used from any number of
 * threads.  nb_sf_free drops the caller's reference.
 */
typedef struct nb_sf nb_sf;

/* From n reflections (h[i], k[i], l[i], F[i]).  The grid spans their index
   range; grid points not listed hold missing_F (nanoBragg: -default_F).  A
   repeated reflection keeps its last F.  NB_ERR_INVALID for n = 0, a NULL
   array, an F or missing_F that is not finite or beyond 1e30 in magnitude;
   NB_ERR_RANGE for an index beyond +-1e9 (as the HKL reader) or a grid over
   1 GiB. */
NB_WARN_UNUSED nb_status nb_sf_from_list(const int *h, const int *k, const int *l, const double *F,
                                         size_t n, double missing_F, nb_sf **out, nb_error *err);
/* From a dense grid: F[((h - origin[0]) * dims[1] + (k - origin[1])) * dims[2] + (l - origin[2])]
   for dims[0] x dims[1] x dims[2] points (l fastest), copied.  NB_ERR_INVALID
   for dims < 1, indices beyond the HKL reader's (+-1e9), an F as above;
   NB_ERR_RANGE for a grid over 1 GiB. */
NB_WARN_UNUSED nb_status nb_sf_from_grid(const int origin[3], const int dims[3], const double *F,
                                         nb_sf **out, nb_error *err);
/* Read an "h k l F" text file (nanoBragg's -hkl; missing grid points hold
   missing_F) or nanoBragg's binary cache Fdump.bin; write the cache. */
NB_WARN_UNUSED nb_status nb_sf_read_hkl(const char *path, double missing_F, const nb_log *log,
                                        nb_sf **out, nb_error *err);
NB_WARN_UNUSED nb_status nb_sf_read_fdump(const char *path, nb_sf **out, nb_error *err);
NB_WARN_UNUSED nb_status nb_sf_write_fdump(const nb_sf *sf, const char *path, nb_error *err);
/* Another reference to sf (returns sf); drop it with nb_sf_free. */
nb_sf *nb_sf_ref(nb_sf *sf);
void nb_sf_free(nb_sf *sf);
/* The grid: its first indices and its size (points along h, k, l). */
void nb_sf_grid(const nb_sf *sf, int origin[3], int dims[3]);
/* F at (h, k, l), or fallback outside the grid. */
double nb_sf_value(const nb_sf *sf, int h, int k, int l, double fallback);

/* Use sf for the structure factors (a reference is taken; NULL: none).
   Replaces hkl_path, mtz_path, sfcif_path, model_path and the arrays of
   nb_config_set_reflections and nb_config_set_atoms, and each of those
   replaces it.  Structure factors an experiment made from one of those
   inputs whose cell was the crystal's (nb_experiment_sf) keep that cell:
   given to a configuration without a cell (cell, mat_path or
   mosflm_matrix), they set its cell parameter to it, exactly. */
NB_WARN_UNUSED nb_status nb_config_set_sf(nb_config *cfg, nb_sf *sf, nb_error *err);

/*
 * Structure factors as crystallographers hold them, given as arrays: what
 * mtz_path / sfcif_path read from a file, and model_path computes from one
 * (docs/library.md, "Structure factors from crystallographic inputs").
 * Set-up treats them as it treats those files: cell is the crystal's unless
 * the configuration gives one (cell, mat_path or mosflm_matrix; a warning
 * where they differ), the spacegroup parameter replaces the space group
 * given here (a warning), and the asymmetric unit is expanded by the
 * group's symmetry and Friedel's law to every reflection the detector
 * reaches, systematic absences as zeros, with the completeness report.
 * Both need a build with gemmi (NB_ERR_USAGE naming the packages
 * otherwise).  Copied.  Each replaces hkl_path, mtz_path, sfcif_path,
 * model_path, nb_config_set_sf's structure factors and the other's arrays,
 * and each of those replaces them; n = 0 removes them.
 */
/* n reflections of an asymmetric unit, (h[i], k[i], l[i]) with F[i] (NaN:
   missing, left out; intensities = 1: F holds intensities I, and
   F = sqrt(max(I, 0)), as for an intensity column).  F_minus (NULL: none)
   makes each row an anomalous pair, F[i] being F(+) at (h, k, l) and
   F_minus[i] F(-) at (-h, -k, -l); without it F[i] holds for both (Friedel's
   law).  cell: a, b, c (A), alpha, beta, gamma (degrees), or NULL (then the
   configuration gives the cell).  spacegroup: a Hermann-Mauguin or Hall
   symbol or a number, or NULL (then the spacegroup parameter names it).
   NB_ERR_INVALID for an index beyond +-1e9, an infinite F, a cell that is
   no cell, an unknown space group or one that does not fit cell. */
NB_WARN_UNUSED nb_status nb_config_set_reflections(nb_config *cfg, size_t n, const int *h, const int *k,
                                                   const int *l, const double *F, const double *F_minus,
                                                   int intensities, const double cell[6],
                                                   const char *spacegroup, nb_error *err);
/* n atoms of a model, whose |F| set-up computes (as for model_path: form
   factors of International Tables 1992, B-factors, occupancies, symmetry
   mates of the space group) to the detector's resolution: element[i] (a
   symbol, "C", "Fe"), xyz (3n: orthogonal coordinates in A, the PDB's frame
   for cell), occ[i], b_iso[i] (A^2), aniso_U (6n: U11 U22 U33 U12 U13 U23
   in A^2, the PDB's ANISOU / 10^4; NULL: isotropic; an atom whose six are
   all 0 is isotropic).  Occupancies, B and U are kept in single precision,
   as gemmi keeps a file's.  cell and spacegroup as above (spacegroup NULL
   and no spacegroup parameter: P 1, with a warning).  NB_ERR_INVALID for
   an unknown element, a coordinate, occupancy or B that is not finite. */
NB_WARN_UNUSED nb_status nb_config_set_atoms(nb_config *cfg, size_t n, const char *const *element,
                                             const double *xyz, const double *occ, const double *b_iso,
                                             const double *aniso_U, const double cell[6],
                                             const char *spacegroup, nb_error *err);

/*
 * Sources (replaces source_path, and source_path replaces them): n points
 * xyz (3n numbers, any unit: only the direction from the sample to each
 * point counts, as in nanoBragg's source file), their weights and
 * wavelengths (lambda_A, Angstrom; NULL: the configuration's lambda_A
 * for every source), copied.  n = 0 removes them.
 */
NB_WARN_UNUSED nb_status nb_config_set_sources(nb_config *cfg, size_t n, const double *xyz,
                                               const double *weight, const double *lambda_A,
                                               nb_error *err);
/* A mask (width x height, fast index fastest, 0 = do not render the pixel),
   copied; it must match the detector's pixel counts.  NULL removes it. */
NB_WARN_UNUSED nb_status nb_config_set_mask(nb_config *cfg, int width, int height, const uint16_t *mask,
                                            nb_error *err);

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
    const char *device;      /* where images are rendered: "cpu", "cuda:N (name)" or "emulate ..." */
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
/* The structure factors the experiment uses (owned by it; nb_sf_ref to keep
   them), or NULL when it has none (-default_F only).  Give them to another
   configuration with nb_config_set_sf to build a changed experiment without
   reading them again. */
nb_sf *nb_experiment_sf(const nb_experiment *exp);
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
   NB_ERR_RANGE (err names the parameters that scale the intensity) when a
   pixel's photons overflow the float image (beyond 3.4e38); NB_ERR_NOMEM.
   On any error, NB_ERR_CANCELLED included, img->data is NULL.  Progress
   counts the pixels rendered, including those rendered again after
   interpolation switches itself off (the total then grows). */
NB_WARN_UNUSED nb_status nb_simulate(const nb_experiment *exp, const nb_log *log, nb_image *img,
                                     nb_error *err);
void nb_image_free(nb_image *img);

/*
 * nb_simulate in two steps, for a program that spreads one image over
 * processes (the program under mpirun): each renders a band of rows with
 * nb_simulate_rows, one assembles the bands and calls nb_simulate_finish,
 * which applies what depends on the whole image (nanoBragg's serial-order
 * effects, which may render some pixels again, the statistics, the traces).
 * The image and every number of *img equal nb_simulate's bit for bit.
 *
 * nb_simulate_rows renders rows s0 <= s < s0 + height (0 <= s0, s0 + height
 * <= spixels) into data (fpixels * height floats, fast index fastest),
 * state (fpixels * height bytes that nb_simulate_finish needs; opaque) and
 * omega_rows (height doubles); progress counts the band's pixels and may
 * cancel.  NB_ERR_INVALID (naming the argument) for rows off the detector
 * or a NULL argument; NB_ERR_NOMEM; NB_ERR_CANCELLED.
 *
 * nb_simulate_finish takes the whole image: data, state and omega_rows of
 * rows 0 .. spixels-1 in order, each row from one nb_simulate_rows call on
 * this experiment (or one made alike).  data (from malloc) is taken over:
 * it becomes img->data (free with nb_image_free), or is freed on error.
 * state is changed.  Errors as nb_simulate (img->data is then NULL).
 */
NB_WARN_UNUSED nb_status nb_simulate_rows(const nb_experiment *exp, int s0, int height, float *data,
                                          uint8_t *state, double *omega_rows, const nb_log *log,
                                          nb_error *err);
NB_WARN_UNUSED nb_status nb_simulate_finish(const nb_experiment *exp, float *data, uint8_t *state,
                                            const double *omega_rows, const nb_log *log, nb_image *img,
                                            nb_error *err);

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
 * NB_ERR_RANGE, as nb_simulate, for a pixel that overflows float;
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

/* ---------------------------------------------------------------- series */

/*
 * A data set: nimages images of one experiment that differ only in the
 * crystal's orientation.
 *   rotation series: image k (1-based) sweeps [phi_deg + (k-1) osc_deg,
 *     phi_deg + k osc_deg) in the configuration's phi steps (osc_deg as
 *     set-up resolves it, phi_deg and osc_deg taken to 12 significant
 *     digits, as is each image's start);
 *   stills: with misset_random and no oscillation (osc_deg 0), image k
 *     has its own random orientation, that of misset_seed
 *     nb_series_seed(misset_seed, k).
 * nb_series_create does the set-up once: structure factors read (and the
 * Fdump cache written) once, sources built once, through image 1's
 * experiment, whose log lines go to log.  nb_series_experiment builds
 * image k's experiment sharing them; it equals, bit for bit, the
 * experiment nb_experiment_create makes of the configuration with image
 * k's phi_deg and misset_seed (nb_series_frame_of), so one image can be
 * made again alone, and the series' images equal single-image runs.
 * A series is immutable once made; images may be built from several
 * threads at once.
 */
typedef struct nb_series nb_series;

#define NB_SERIES_MAX_IMAGES 100000000

/* What distinguishes image k of a series. */
typedef struct nb_series_frame {
    int image;            /* 1-based */
    double phi_deg;       /* start of its sweep */
    double osc_deg;       /* its sweep */
    int own_orientation;  /* 1 for stills: misset_seed gives its random orientation */
    long misset_seed;     /* the misset_seed of its experiment */
} nb_series_frame;

/* A series of nimages (1 to NB_SERIES_MAX_IMAGES) images of cfg (copied;
   caller owns *out, nb_series_free).  Errors as nb_experiment_create, and
   NB_ERR_INVALID for nimages out of range. */
NB_WARN_UNUSED nb_status nb_series_create(const nb_config *cfg, int nimages, const nb_log *log,
                                          nb_series **out, nb_error *err);
void nb_series_free(nb_series *series);
int nb_series_count(const nb_series *series);
/* Image 1's set-up (owned by the series). */
const nb_info *nb_series_info(const nb_series *series);
/* Image image's frame (1 <= image <= count, else NB_ERR_INVALID). */
NB_WARN_UNUSED nb_status nb_series_frame_of(const nb_series *series, int image, nb_series_frame *out,
                                            nb_error *err);
/* Image image's experiment (caller owns; nb_experiment_free).  log: its
   set-up lines (NULL: none; image 1's were logged by nb_series_create).
   Errors as nb_experiment_create (a phi beyond the parameter's range). */
NB_WARN_UNUSED nb_status nb_series_experiment(const nb_series *series, int image, const nb_log *log,
                                              nb_experiment **out, nb_error *err);
/* The seed of image image (1-based) derived from seed: seed itself for
   image 1, for later images a number from 1 to 2147483646 that depends on
   both (a hash: neighbouring images' streams are unrelated).  The program
   derives each image's noise seed from -seed this way, and stills their
   misset_seed. */
long nb_series_seed(long seed, int image);
/* The crystal's orientation at the start of the experiment's sweep (phi_deg,
   no mosaic) as a MOSFLM-style A matrix: A = [a* b* c*] lambda (columns the
   reciprocal vectors in 1/Angstrom times the wavelength in Angstrom; row i
   the lab frame's x, y, z components: A[3 i + j]), in the frame and layout
   mat_path reads. */
void nb_experiment_orientation(const nb_experiment *exp, double A[9]);

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

/* Zeroed memory for count elements of size bytes, for the image-sized
   buffers the conversions below fill (counts, PGM bytes): from 2 MiB up,
   2 MiB aligned, in huge pages where the system gives them and backed at
   once, which is far cheaper than a page fault per 4 KiB page at first
   touch where faults are costly (virtual machines).  Freed with free();
   NULL if out of memory or count * size overflows. */
void *nb_buffer_calloc(size_t count, size_t size);

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
 * Photon counts as 32-bit signed integers (CBF, NeXus), no 65535 ceiling
 * and no offset added.  noise != 0: the Poisson draws nb_image_to_noise
 * makes with the same *seed (the same numbers before its adc offset and
 * ceiling; *seed is advanced alike; *photons their sum); noise 0: each
 * pixel's photons rounded to the nearest integer.  Values are clipped to
 * [0, NB_CBF_COUNT_CUTOFF]; pixels outside the ROI or masked are -1 (what
 * Pilatus images and their readers take for "not a measurement").
 */
#define NB_CBF_COUNT_CUTOFF 2147483646L
void nb_image_to_counts32(const nb_experiment *exp, const nb_image *img, int noise, long *seed,
                          int32_t *counts, double *photons);

/* Header values of a CBF image: the miniCBF lines DIALS and XDS read. */
typedef struct nb_cbf_info {
    int fpixels, spixels;
    double pixel_m, wavelength_A;
    double distance_m;                 /* sample to the detector plane, along its normal */
    double beam_x_px, beam_y_px;       /* the near point along fast and slow, in pixels
                                          from the first pixel's outer corner */
    double start_angle_deg, angle_increment_deg;
    double exposure_s;
    double thickness_m;                /* silicon sensor; 0: none stated */
    double polarization_fraction;      /* 0.5 unpolarized; (1 + Kahn factor) / 2 */
    double flux;                       /* photons/s */
    long count_cutoff;
} nb_cbf_info;

/* Header values for CBF images of this experiment.  miniCBF describes a
   detector normal to the beam, its fast axis along the rotation axis
   (DIALS: +x, slow -y); nb_cbf_geometry_note says when this one is not. */
void nb_experiment_cbf_info(const nb_experiment *exp, nb_cbf_info *info);
/* NULL when miniCBF's header describes the experiment's geometry, else a
   static sentence saying what it cannot describe (a detector not normal to
   the beam, a rotation axis not along the fast axis). */
const char *nb_cbf_geometry_note(const nb_experiment *exp);
/* Byte-offset compression (CBF's "x-CBF_BYTE_OFFSET") of values[0..n-1]
   into out (room for 15 n bytes at most; 1 to 7 a value in practice); the
   number of bytes written. */
size_t nb_cbf_byte_offset(const int32_t *values, size_t n, unsigned char *out);

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
 * Adds may come from several threads at once (each writes its own file);
 * publish and free from one, after them.
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
/* Stage the SMV image of img (rendered from exp) with nb_image_to_counts's
   counts (scale in/out as there, adc its offset), converted a block of rows
   at a time as they are written: no image-sized buffer of counts.  info:
   the header (nb_experiment_smv_info), of img's size.  NB_ERR_INVALID when
   the sizes of info, img and exp differ. */
NB_WARN_UNUSED nb_status nb_outputs_add_smv_image(nb_outputs *set, const char *path,
                                                  const nb_smv_info *info, const nb_experiment *exp,
                                                  const nb_image *img, double *scale, double adc,
                                                  nb_error *err);
/* Stage width*height bytes (fast-major) as a P5 PGM under nanoBragg's header;
   scale is only recorded in its comment line. */
NB_WARN_UNUSED nb_status nb_outputs_add_pgm(nb_outputs *set, const char *path, int width,
                                            int height, const uint8_t *bytes, double scale,
                                            nb_error *err);
/* Stage n bytes as they are (a text file, say). */
NB_WARN_UNUSED nb_status nb_outputs_add_bytes(nb_outputs *set, const char *path, const void *data,
                                              size_t n, nb_error *err);
/* Stage a CBF image: counts (info->fpixels * info->spixels, fast index
   fastest) byte-offset compressed as 32-bit signed integers under a
   miniCBF header (header convention GENERIC_MINI) with info's values. */
NB_WARN_UNUSED nb_status nb_outputs_add_cbf(nb_outputs *set, const char *path,
                                            const nb_cbf_info *info, const int32_t *counts,
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
NB_WARN_UNUSED nb_status nb_write_cbf(const char *path, const nb_cbf_info *info,
                                      const int32_t *counts, nb_error *err);

/* ---------------------------------------------------------------- NeXus */

/*
 * NeXus/NXmx files (HDF5): one file per series, its images in one data set
 * /entry/data/data [n, slow, fast] of 32-bit signed counts (the counts a
 * CBF image holds: nb_image_to_counts32), one chunk per image, shuffled and
 * deflate-compressed, under the NXmx geometry in NeXus's McStas frame (z
 * along the beam); docs/nexus.md gives the layout, the frame and what
 * DIALS (dxtbx) reads of it.  A series whose experiment has an oscillation
 * (osc_deg != 0) is a rotation series: the sample depends on a rotation
 * axis, transformations/phi, with one angle per image; otherwise the images
 * are stills (the sample's depends_on is ".").
 *
 * Only builds with HDF5 (Debian: libhdf5-dev) write them: without it
 * nb_nexus_open and nb_outputs_add_nexus refuse with NB_ERR_USAGE, naming
 * the package.  HDF5 keeps global state: no two threads may call these
 * functions (or HDF5 itself) at once.
 *
 * The file is written to a temporary beside path (as every output,
 * "Writers" below) and renamed into place only by nb_nexus_close, once
 * every image is in it: open, append image 1, 2, ..., n in order (from one
 * thread; the images may come from anywhere, e.g. other processes), close.
 * nb_nexus_abort, or any failure, removes the temporary: nothing is left
 * at path.  The file's bytes depend only on the calls made (no time stamps),
 * so two runs that append the same images write the same file.
 */
typedef struct nb_nexus nb_nexus;

/* 1 if this build writes NeXus files (it was built with HDF5), else 0. */
int nb_nexus_supported(void);

/* Whether NeXus files can be written here: NB_OK once the writer's module
   (libnanobragg-nexus.so, which holds everything that calls HDF5) is
   loaded; else NB_ERR_IO, err naming the module's path and the loader's
   reason, or NB_ERR_USAGE in a build without HDF5.  For checks before any
   work: the writers load the module themselves. */
NB_WARN_UNUSED nb_status nb_nexus_check(nb_error *err);

/* Load one of nanobragg's loadable modules: file (a file name, no
   directory), looked for beside the object that holds the library's code
   (the shared library, a program that links the static one, the Python
   extension), in that directory's nanobragg/, in the install directory as
   seen from an installed program, and in the configured install directory;
   symbol, the module's table of functions, in it.  *table: the symbol's
   address; path (n bytes): the file loaded.  The module stays loaded to the
   end of the process.  NB_ERR_IO when no candidate loads: err gives the
   path tried and the loader's reason, with what (what the module is for;
   may be NULL).  NB_ERR_INVALID for a NULL argument or a file with a
   directory. */
NB_WARN_UNUSED nb_status nb_module_load(const char *file, const char *symbol, const char *what,
                                        const void **table, char *path, size_t n, nb_error *err);

/* What a NeXus file records of one image beyond its counts. */
typedef struct nb_nexus_image {
    double phi_deg;  /* the rotation axis' angle at the start of its sweep */
    double osc_deg;  /* its sweep (0: a still) */
    double ub[9];    /* the crystal's orientation: the reciprocal basis a*, b*, c*
                        (1/Angstrom) as the columns of a row-major matrix, in the
                        McStas frame, with the rotation axis at 0 (for a still:
                        as the image sees it); NXsample's ub_matrix */
} nb_nexus_image;

/* Image exp's record (exp: that image's experiment, nb_series_experiment). */
void nb_experiment_nexus_image(const nb_experiment *exp, nb_nexus_image *image);

/* NULL when NXmx describes exp's geometry, else a static sentence saying
   what it cannot (a curved detector: NXmx's module is flat). */
const char *nb_nexus_geometry_note(const nb_experiment *exp);

/*
 * Start the file of a series of nimages images (1 to NB_SERIES_MAX_IMAGES)
 * of exp's geometry (image 1's experiment: every image shares its detector,
 * beam and rotation axis, and its mask and ROI, which the file's pixel_mask
 * states); the caller owns *out and ends it with nb_nexus_close or
 * nb_nexus_abort.  Everything but the images is written now.
 * NB_ERR_USAGE in a build without HDF5; NB_ERR_INVALID for a NULL argument
 * or nimages out of range; NB_ERR_IO (err names path) when the temporary
 * cannot be made (as nb_output_check), for a target that is not a regular
 * file (HDF5 cannot write to /dev/null), or when HDF5 fails; NB_ERR_NOMEM.
 */
NB_WARN_UNUSED nb_status nb_nexus_open(const char *path, const nb_experiment *exp, int nimages,
                                       nb_nexus **out, nb_error *err);
/* Append the next image: counts (fpixels * spixels, fast index fastest,
   as nb_image_to_counts32 gives them) and its record.  NB_ERR_INVALID for
   a NULL argument or one image too many; NB_ERR_IO when HDF5 cannot write
   it (disk full).  After a failure the file is spoiled: close refuses it. */
NB_WARN_UNUSED nb_status nb_nexus_append(nb_nexus *nx, const nb_nexus_image *image,
                                         const int32_t *counts, nb_error *err);
/* Write the per-image angles and orientations, close the file and rename it
   into place; frees nx (NULL is NB_ERR_INVALID).  NB_ERR_INVALID when fewer
   images than opened for were appended or an append failed (nothing is
   written); NB_ERR_IO when HDF5 or the rename fails (nothing left). */
NB_WARN_UNUSED nb_status nb_nexus_close(nb_nexus *nx, nb_error *err);
/* Close without publishing: removes the temporary and frees nx; NULL is fine. */
void nb_nexus_abort(nb_nexus *nx);

/* A NeXus file of one image (exp's counts) as a member of an output set:
   written whole when added, renamed into place by nb_outputs_publish with
   the others.  Errors as nb_nexus_open, nb_nexus_append and the adds'. */
NB_WARN_UNUSED nb_status nb_outputs_add_nexus(nb_outputs *set, const char *path,
                                              const nb_experiment *exp, const int32_t *counts,
                                              nb_error *err);

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

/* Take the detector geometry of an SMV header as nanoBragg's -img (is_mask
   0) or -mask (1) does: pixels, PIXEL_SIZE, DISTANCE, CLOSE_DISTANCE,
   WAVELENGTH, BEAM_CENTER_X/Y, ORGX/ORGY, PHI, OSC_RANGE set the matching
   parameters.  NB_ERR_INVALID (naming the key) for unusable values. */
NB_WARN_UNUSED nb_status nb_config_apply_smv_header(nb_config *cfg, const nb_smv_frame *frame, int is_mask,
                                                    nb_error *err);


/* ---------------------------------------------------------------- derivatives */

/*
 * Analytic first derivatives of the image with respect to parameters of the
 * configuration (docs/derivatives.md), in double precision, through the
 * same physics as the image: the lattice factor, the structure factor
 * (nearest or tricubic), the polarization, solid angle and sensor
 * absorption where they depend on the parameter.
 *
 * A differentiable parameter is named as in the parameter table (distance_mm,
 * lambda_A, Na, crystal_rotx_deg, ...) or as one element of the cell
 * (cell_a_A, cell_b_A, cell_c_A, cell_alpha_deg, cell_beta_deg,
 * cell_gamma_deg); a derivative is per unit of that name.  Not supported
 * (NB_ERR_USAGE, naming the reason): crystal shapes other than square, the
 * oversample_thick/polar/omega switches, detector parameters of a curved
 * detector, cell elements when an orientation matrix gives the cell.
 */
int nb_deriv_param_count(void);
/* The name of differentiable parameter i (0 <= i < count), else NULL. */
const char *nb_deriv_param_name(int i);
/* A differentiable parameter's value as the experiment of cfg resolves it
   (derived ones such as Xbeam_mm included), and setting it (cell elements
   set the whole cell; fluence sets flux where flux gives the fluence). */
NB_WARN_UNUSED nb_status nb_deriv_param_get(const nb_config *cfg, const char *name, double *value,
                                            nb_error *err);
NB_WARN_UNUSED nb_status nb_deriv_param_set(nb_config *cfg, const char *name, double value, nb_error *err);

/*
 * The Jacobian: for the pixels index[0..n-1] (each s * fpixels + f), or for
 * every pixel when index is NULL (n must then be fpixels * spixels), the
 * image in double (image, n values; may be NULL) and d(pixel)/d(parameter)
 * of params[0..nparams-1] into jac[p * n + i] (parameter-major).  Pixels
 * outside the ROI or masked are 0.  The image equals nb_simulate's to double
 * rounding before its conversion to float.  Progress counts pixels and may
 * cancel.  NB_ERR_INVALID for unknown or repeated names, an index outside
 * the detector, NULL arrays; NB_ERR_USAGE as above; NB_ERR_NOMEM.
 */
NB_WARN_UNUSED nb_status nb_jacobian(const nb_config *cfg, const char *const *params, int nparams,
                                     const size_t *index, size_t n, double *image, double *jac,
                                     const nb_log *log, nb_error *err);

/* The loss between the model image m and an observed image o, summed over
   the pixels that count (rendered: in the ROI and not masked by the
   configuration; and not masked by the observation's mask):
     NB_LOSS_LSQ      sum w (m - o)^2 (w: the weights, or 1)
     NB_LOSS_POISSON  sum m - o ln m  (the negative log-likelihood up to a
                      constant; a pixel with o > 0 needs m > 0) */
typedef enum nb_loss { NB_LOSS_LSQ = 0, NB_LOSS_POISSON = 1 } nb_loss;

typedef struct nb_observed {
    const float *data;         /* fpixels * spixels photons, fast index fastest */
    const float *weight;       /* NB_LOSS_LSQ: per-pixel weights (>= 0), or NULL for 1 */
    const unsigned char *mask; /* non-zero: the pixel counts; NULL: every pixel */
    nb_loss loss;
} nb_observed;

/*
 * The loss (into *loss, may be NULL), its gradient with respect to
 * params[0..nparams-1] (grad[nparams]) and, where F_grad is not NULL, with
 * respect to every structure factor of the experiment's table, on the grid
 * nb_sf_grid gives (F_grad[((h - origin[0]) dims[1] + k - origin[1]) dims[2]
 * + l - origin[2]]).  model (may be NULL) receives the model image in double
 * (0 at the pixels that do not count).
 * One pass renders the model, one accumulates the adjoint per orientation
 * and contracts it with every parameter once.  The same bits at any thread
 * count.  Errors as nb_jacobian; NB_ERR_INVALID for a missing or non-finite
 * observation or negative weights; NB_ERR_RANGE for a Poisson loss at a
 * pixel where the model is 0 and photons are observed (naming it).
 */
NB_WARN_UNUSED nb_status nb_loss_gradient(const nb_config *cfg, const nb_observed *obs,
                                          const char *const *params, int nparams, double *loss,
                                          double *grad, double *F_grad, double *model,
                                          const nb_log *log, nb_error *err);


/* ---------------------------------------------------------------- refinement */

typedef enum nb_refine_method {
    NB_REFINE_LM = 0,   /* Levenberg-Marquardt from the Jacobian (on a pixel subset) */
    NB_REFINE_LBFGS = 1 /* L-BFGS from the loss's gradient (every counted pixel) */
} nb_refine_method;

typedef struct nb_refine_options {
    nb_refine_method method; /* LM: each step's curvature from the Jacobian of a pixel
                                subset, its gradient from every pixel */
    int max_iterations;      /* accepted steps at most (default 50) */
    double tolerance;        /* stop when a step lowers the loss by less than this
                                fraction of it (default 1e-9) */
    const double *lower;     /* per parameter: bounds in its unit, or NULL; a NaN */
    const double *upper;     /* entry: none (the parameter table's range always holds) */
    double pixel_fraction;   /* LM: the fraction of the counted pixels whose Jacobian
                                each step uses, chosen with seed (default 1: all) */
    unsigned long seed;
} nb_refine_options;

/* The defaults above. */
void nb_refine_options_init(nb_refine_options *opt);

typedef struct nb_refine_result {
    int nparams;
    double *values;       /* refined values, each in its parameter's unit */
    double *std_errors;   /* standard errors from the curvature at the end: least squares
                             (J^T W J)^-1 times loss / (pixels - parameters); Poisson the
                             inverse Fisher information (J^T diag(1/m) J)^-1.  NaN where
                             the curvature does not determine a parameter. */
    double *loss_history; /* the loss at the start and after each accepted step */
    int nhistory;
    int iterations;       /* accepted steps */
    double loss;          /* at the end */
    int converged;        /* stopped at a minimum: a step lowered the loss by less than the
                             tolerance, or no step within the trust region lowers it
                             (stop says which); 0: max_iterations ran out */
    const char *stop;     /* why it stopped, in words (a static string) */
} nb_refine_result;

/*
 * Refine params[0..nparams-1] (differentiable parameters, nb_deriv_param_name)
 * of cfg against obs, starting from cfg's values; on success cfg holds the
 * refined values and *res the result (caller frees with
 * nb_refine_result_free).  opt may be NULL (defaults).  log: progress of each
 * evaluation; its fn gets a line per accepted step (NB_LOG_INFO).  Errors as
 * nb_loss_gradient, and NB_ERR_INVALID for bounds that exclude the start or a
 * bad option (named).  On error cfg is unchanged and *res is empty.
 */
NB_WARN_UNUSED nb_status nb_refine(nb_config *cfg, const nb_observed *obs, const char *const *params,
                                   int nparams, const nb_refine_options *opt, nb_refine_result *res,
                                   const nb_log *log, nb_error *err);
void nb_refine_result_free(nb_refine_result *res);

#if defined(__GNUC__) || defined(__clang__)
#pragma GCC visibility pop
#endif

#ifdef __cplusplus
}
#endif

#endif /* NANOBRAGG_H */
