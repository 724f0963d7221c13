/*
 * params.c - the parameter table: every parameter of a configuration by
 * name, with its units, range, default and help, and the setters and
 * getters that go through it.  A setter converts the value from the unit
 * in its name to the configuration's (metres, radians), checks it, and
 * records that the parameter was given; unset restores the default.
 */
#include <math.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "gpu.h"
#include "sf.h"
#include "sfinput.h"
#include "util.h"

#define RTD (180.0 * M_1_PI)
#define BIG 1e300
#define LEN_MAX 1e15  /* mm, um, A: any length a run could use */
#define ANGLE_MAX 1e6 /* degrees */
#define COUNT_MAX 1e8
#define DIR_MAX NBI_DIRECTION_MAX /* components of a direction (util.h) */
#define FLUENCE_MAX NBI_FLUENCE_MAX /* photons/m^2 (config.h) */
#define DIST_MIN 1e-6   /* mm (1 nm): a detector nearer than this has no finite solid angles */
#define CELL_MIN 0.01   /* A: the shortest cell edge (a hundredth of a hydrogen atom) */
#define ABS_MIN 1e-6    /* um: the shortest attenuation depth (0: none) */
#define LAMBDA_MIN 1e-6 /* A (12 GeV): shorter wavelengths overflow the scattering vector */
#define LAMBDA_MAX 1e6  /* A */

typedef enum {
    T_DOUBLE,  /* double field = value / per (nanoBragg divides: mm / 1000.0) */
    T_INT,     /* int field = value */
    T_LONG_NEG,/* long field = -value (nanoBragg keeps seeds negated) */
    T_BOOL,    /* int field = value (0 or 1) */
    T_VEC,     /* double[count] field = values / per */
    T_IVEC,    /* int[count] field = values */
    T_CHOICE,  /* int field = index of the word in choices (+ choice_base) */
    T_PATH,    /* owned char * field */
    T_DEVICE,  /* device, device_index and device_text (gpu.h: nbi_device_parse) */
    T_SPECIAL  /* the row's functions */
} field_type;

typedef struct row row;
typedef nb_status (*set_fn)(nb_config *cfg, const row *r, const double *v, size_t n, nb_error *err);
typedef void (*get_fn)(const nb_config *cfg, const row *r, double *v);

struct row {
    nb_param_info info;
    field_type type;
    size_t offset;
    double per; /* param units per configuration unit */
    int choice_base;
    set_fn set;
    get_fn get;
    int derived;       /* unset: set-up derives the value (getters say so) */
    const char *also;  /* rows this one sets too ('|'-separated), given with it */
};

#define F(field) offsetof(nb_config, field)
#define INFO(name, kind, count, minc, units, lo, hi, ex, choices, dflt, help, inter) \
    {name, kind, count, minc, units, lo, hi, ex, choices, dflt, help, inter}
#define NCELL(name, field, dflt, help, inter) \
    {INFO(name, NB_PARAM_REAL, 1, 1, "", 0, 1e6, 0, NULL, dflt, help, inter), T_DOUBLE, F(field), 1, 0, NULL, NULL, 0, NULL}
#define REAL(name, field, per, units, lo, hi, ex, dflt, help, inter) \
    {INFO(name, NB_PARAM_REAL, 1, 1, units, lo, hi, ex, NULL, dflt, help, inter), T_DOUBLE, F(field), per, 0, NULL, NULL, 0, NULL}
#define DERIVED_POSITIVE(name, field, per, units, help, inter) \
    {INFO(name, NB_PARAM_REAL, 1, 1, units, DIST_MIN, LEN_MAX, 0, NULL, "derived", help, inter), T_DOUBLE, F(field), per, 0, NULL, NULL, 1, NULL}
#define DERIVED(name, field, per, units, help, inter) \
    {INFO(name, NB_PARAM_REAL, 1, 1, units, -LEN_MAX, LEN_MAX, 0, NULL, "derived", help, inter), T_DOUBLE, F(field), per, 0, NULL, NULL, 1, NULL}
#define INT(name, field, lo, hi, dflt, help, inter) \
    {INFO(name, NB_PARAM_INT, 1, 1, "", lo, hi, 0, NULL, dflt, help, inter), T_INT, F(field), 1, 0, NULL, NULL, 0, NULL}
#define SEED(name, field, dflt, help) \
    {INFO(name, NB_PARAM_INT, 1, 1, "", -2147483647.0, 2147483647.0, 0, NULL, dflt, help, ""), T_LONG_NEG, F(field), 1, 0, NULL, NULL, 0, NULL}
#define BOOL(name, field, dflt, help, inter) \
    {INFO(name, NB_PARAM_BOOL, 1, 1, "", 0, 1, 0, NULL, dflt, help, inter), T_BOOL, F(field), 1, 0, NULL, NULL, 0, NULL}
#define VEC(name, field, n, per, units, lo, hi, dflt, help, inter) \
    {INFO(name, NB_PARAM_ARRAY, n, n, units, lo, hi, 0, NULL, dflt, help, inter), T_VEC, F(field), per, 0, NULL, NULL, 0, NULL}
#define CHOICE(name, field, base, choices, dflt, help, inter) \
    {INFO(name, NB_PARAM_CHOICE, 1, 1, "", 0, 0, 0, choices, dflt, help, inter), T_CHOICE, F(field), 1, base, NULL, NULL, 0, NULL}
#define PATH(name, field, help, inter) \
    {INFO(name, NB_PARAM_STRING, 1, 1, "", 0, 0, 0, NULL, "none", help, inter), T_PATH, F(field), 1, 0, NULL, NULL, 0, NULL}
#define SPECIAL(name, kind, n, minc, units, lo, hi, ex, dflt, help, inter, setf, getf, also) \
    {INFO(name, kind, n, minc, units, lo, hi, ex, NULL, dflt, help, inter), T_SPECIAL, 0, 1, 0, setf, getf, 0, also}

static nb_status set_cell(nb_config *, const row *, const double *, size_t, nb_error *);
static void get_cell(const nb_config *, const row *, double *);
static nb_status set_matrix(nb_config *, const row *, const double *, size_t, nb_error *);
static void get_matrix(const nb_config *, const row *, double *);
static nb_status set_umatrix(nb_config *, const row *, const double *, size_t, nb_error *);
static void get_umatrix(const nb_config *, const row *, double *);
static nb_status set_misset(nb_config *, const row *, const double *, size_t, nb_error *);
static void get_misset(const nb_config *, const row *, double *);
static nb_status set_misset_random(nb_config *, const row *, const double *, size_t, nb_error *);
static void get_misset_random(const nb_config *, const row *, double *);
static nb_status set_group(nb_config *, const row *, const double *, size_t, nb_error *);
static void get_group(const nb_config *, const row *, double *);
static nb_status set_energy(nb_config *, const row *, const double *, size_t, nb_error *);
static void get_energy(const nb_config *, const row *, double *);
static nb_status set_detector_abs(nb_config *, const row *, const double *, size_t, nb_error *);
static void get_detector_abs(const nb_config *, const row *, double *);
static nb_status set_pix0(nb_config *, const row *, const double *, size_t, nb_error *);
static void get_pix0(const nb_config *, const row *, double *);
static nb_status set_roi(nb_config *, const row *, const double *, size_t, nb_error *);
static void get_roi(const nb_config *, const row *, double *);

/* Sorted by name (strcmp order): nb_param_find searches it. */
static const row ROWS[] = {
    SPECIAL("N", NB_PARAM_INT, 1, 1, "", 0, 1e6, 0, "1", "unit cells along a, b and c: sets Na, Nb, Nc", "Na, Nb, Nc",
            set_group, get_group, "Na|Nb|Nc"),
    NCELL("Na", Na, "1", "unit cells along a (need not be a whole number)", "N, xtalsize_mm, sample_x_mm"),
    NCELL("Nb", Nb, "1", "unit cells along b (need not be a whole number)", "N, xtalsize_mm, sample_y_mm"),
    NCELL("Nc", Nc, "1", "unit cells along c (need not be a whole number)", "N, xtalsize_mm, sample_z_mm"),
    DERIVED("ORGX", ORGX, 1, "pixels", "XDS beam centre (the near point), fast axis", "convention, pivot"),
    DERIVED("ORGY", ORGY, 1, "pixels", "XDS beam centre (the near point), slow axis", "convention, pivot"),
    DERIVED("Xbeam_mm", Xbeam_m, 1e3, "mm", "direct-beam position along the convention's X", "convention, pivot"),
    DERIVED("Xclose_mm", Xclose_m, 1e3, "mm", "near point on the detector, X", "convention, pivot"),
    DERIVED("Ybeam_mm", Ybeam_m, 1e3, "mm", "direct-beam position along the convention's Y", "convention, pivot"),
    DERIVED("Yclose_mm", Yclose_m, 1e3, "mm", "near point on the detector, Y", "convention, pivot"),
    VEC("beam_vector", beam_vector, 3, 1, "", -DIR_MAX, DIR_MAX, "1 0 0", "direction of the x-ray beam (not zero)", "convention (custom only)"),
    REAL("beamsize_mm", beamsize_m, 1e3, "mm", 0, LEN_MAX, 0, "0.1", "beam size (square): clips the crystal; with flux and exposure_s gives the fluence", "flux, exposure_s, fluence"),
    REAL("bsol_A2", bsol, 1, "A^2", 0, 1000, 0, "46", "B factor of the bulk solvent (bulk_solvent)", "bulk_solvent, ksol_e_A3"),
    BOOL("bulk_solvent", bulk_solvent, "0", "a flat bulk solvent (ksol_e_A3, bsol_A2) in the structure factors of model_path or atoms", "model_path, ksol_e_A3, bsol_A2"),
    SPECIAL("cell", NB_PARAM_ARRAY, 6, 1, "A, A, A, deg, deg, deg", 0, 1e6, 1, "none",
            "unit cell a b c alpha beta gamma (edges at least 0.01 A); values not given: b = c = a, angles 90", "mat_path, mosflm_matrix", set_cell, get_cell, NULL),
    DERIVED_POSITIVE("close_distance_mm", close_distance_m, 1e3, "mm", "sample to the detector plane along its normal", "distance_mm, pivot"),
    CHOICE("convention", convention, 0, "custom|adxv|mosflm|xds|dials|denzo", "mosflm",
           "detector convention: axes, beam centre and pivot", "pivot, *_vector, beam centres"),
    REAL("crystal_rotx_deg", crystal_rot_rad[0], RTD, "deg", -ANGLE_MAX, ANGLE_MAX, 0, "0", "crystal rotation about x on top of the misset (refinement's RotX)", "misset_deg, umatrix, mosflm_matrix"),
    REAL("crystal_roty_deg", crystal_rot_rad[1], RTD, "deg", -ANGLE_MAX, ANGLE_MAX, 0, "0", "crystal rotation about y on top of the misset (refinement's RotY)", "misset_deg, umatrix, mosflm_matrix"),
    REAL("crystal_rotz_deg", crystal_rot_rad[2], RTD, "deg", -ANGLE_MAX, ANGLE_MAX, 0, "0", "crystal rotation about z on top of the misset (refinement's RotZ)", "misset_deg, umatrix, mosflm_matrix"),
    BOOL("curved_detector", curved_detector, "0", "spherical detector: every pixel at the same distance", ""),
    REAL("default_F", default_F, 1, "", -NBI_F_MAX, NBI_F_MAX, 0, "0", "structure factor of reflections not in the table", "hkl_path, structure factors"),
    SPECIAL("detector_abs_um", NB_PARAM_REAL, 1, 1, "um", 0, LEN_MAX, 0, "none",
            "sensor attenuation depth (0: no absorption; else at least 1e-6 um)", "detector_thick_um", set_detector_abs, get_detector_abs, NULL),
    REAL("detector_rotx_deg", detector_rot_rad[0], RTD, "deg", -ANGLE_MAX, ANGLE_MAX, 0, "0", "detector rotation about x", "pivot"),
    REAL("detector_roty_deg", detector_rot_rad[1], RTD, "deg", -ANGLE_MAX, ANGLE_MAX, 0, "0", "detector rotation about y", "pivot"),
    REAL("detector_rotz_deg", detector_rot_rad[2], RTD, "deg", -ANGLE_MAX, ANGLE_MAX, 0, "0", "detector rotation about z", "pivot"),
    REAL("detector_thick_um", detector_thick_m, 1e6, "um", 0, LEN_MAX, 0, "0", "sensor thickness (0: none; else at least 1e-6 um)", "detector_abs_um"),
    INT("detector_thicksteps", detector_thicksteps, 0, 10000, "1", "sensor layers (0: automatic)", "detector_thick_um"),
    SPECIAL("detpixels", NB_PARAM_INT, 1, 1, "", 1, 1e6, 0, "1024", "square detector: sets fpixels and spixels", "fpixels, spixels",
            set_group, get_group, "fpixels|spixels"),
    REAL("detsize_f_mm", detsize_f_m, 1e3, "mm", 0, LEN_MAX, 1, "102.4", "detector size along the fast axis", "fpixels, pixel_mm"),
    SPECIAL("detsize_mm", NB_PARAM_REAL, 1, 1, "mm", 0, LEN_MAX, 1, "102.4", "square detector: sets detsize_f_mm and detsize_s_mm",
            "detsize_f_mm, detsize_s_mm", set_group, get_group, "detsize_f_mm|detsize_s_mm"),
    REAL("detsize_s_mm", detsize_s_m, 1e3, "mm", 0, LEN_MAX, 1, "102.4", "detector size along the slow axis", "spixels, pixel_mm"),
    {INFO("device", NB_PARAM_CHOICE, 1, 1, "", 0, 0, 0, "cpu|cuda|emulate", "cpu",
          "where the images are rendered: cpu, cuda or cuda:N (CUDA GPU N; derivatives stay on the CPU), or emulate "
          "(the GPU kernel run on the CPU, for testing)", "threads, isa"),
     T_DEVICE, F(device), 1, 0, NULL, NULL, 0, NULL},
    REAL("dispersion_percent", dispersion, 100.0, "percent", 0, 1000, 0, "0", "spectral width delta-lambda/lambda", "dispsteps"),
    INT("dispsteps", dispsteps, 0, 1000000, "automatic", "wavelengths across the dispersion (0: automatic)", "dispersion_percent"),
    REAL("distance_mm", distance_m, 1e3, "mm", DIST_MIN, LEN_MAX, 0, "100", "sample to detector centre", "close_distance_mm, pivot"),
    SPECIAL("divergence_mrad", NB_PARAM_REAL, 1, 1, "mrad", 0, 1e6, 0, "0", "sets hdivrange_mrad and vdivrange_mrad",
            "hdivrange_mrad, vdivrange_mrad", set_group, get_group, "hdivrange_mrad|vdivrange_mrad"),
    SPECIAL("divsteps", NB_PARAM_INT, 1, 1, "", 0, 100000, 0, "automatic", "sets hdivsteps and vdivsteps",
            "hdivsteps, vdivsteps", set_group, get_group, "hdivsteps|vdivsteps"),
    REAL("dmin_A", dmin_m, 1e10, "A", 0, LEN_MAX, 0, "0", "skip scattering beyond this resolution (0: none)", ""),
    SPECIAL("energy_eV", NB_PARAM_REAL, 1, 1, "eV", 12398.42 / LAMBDA_MAX, 12398.42 / LAMBDA_MIN, 0, "12398.42", "photon energy: sets lambda_A = 12398.42/energy_eV",
            "lambda_A", set_energy, get_energy, "lambda_A"),
    REAL("exposure_s", exposure_s, 1, "s", 0, BIG, 0, "1", "exposure time", "flux, beamsize_mm, fluence"),
    VEC("fdet_vector", fdet_vector, 3, 1, "", -DIR_MAX, DIR_MAX, "0 0 1", "fast-axis direction of the detector (not zero)", "convention (custom only)"),
    PATH("fdump_path", fdump_path, "nanoBragg's structure-factor cache: written after reading hkl_path, read when no structure factors are given", "hkl_path"),
    REAL("fluence", fluence, 1, "photons/m^2", 0, FLUENCE_MAX, 0, "1.26e29", "integrated incident fluence (at most 1e40: beyond, images overflow)", "flux, exposure_s, beamsize_mm"),
    REAL("flux", flux, 1, "photons/s", 0, BIG, 0, "0", "incident flux: with exposure_s and beamsize_mm gives the fluence", "fluence"),
    INT("fpixels", fpixels, 1, 1000000, "from detsize_f_mm", "pixels along the fast axis", "detsize_f_mm"),
    REAL("fudge", fudge, 1, "", 0, 1e6, 0, "1", "spot-shape scale factor (round, gauss, tophat shapes)", "shape"),
    REAL("hdivrange_mrad", hdivrange_rad, 1e3, "mrad", 0, 1e6, 0, "0", "horizontal divergence range", "hdivstep_mrad, hdivsteps"),
    REAL("hdivstep_mrad", hdivstep_rad, 1e3, "mrad", 0, 1e6, 0, "automatic", "horizontal divergence step", "hdivrange_mrad, hdivsteps"),
    INT("hdivsteps", hdivsteps, 0, 100000, "automatic", "horizontal divergence steps (0: automatic)", "hdivrange_mrad"),
    PATH("hkl_path", hkl_path, "structure factors: text lines 'h k l F' (replaces nb_config_set_sf)", "default_F, fdump_path"),
    CHOICE("interpolate", interpolate, -1, "auto|off|on", "auto", "tricubic interpolation of F (auto: on when Na, Nb or Nc <= 2)", "Na, Nb, Nc"),
    CHOICE("isa", isa, 0, "auto|baseline|avx2|avx512", "auto", "instruction set of the vector loops", ""),
    REAL("ksol_e_A3", ksol, 1, "e/A^3", 0, 10, 0, "0.35", "electron density of the bulk solvent (bulk_solvent)", "bulk_solvent, bsol_A2"),
    REAL("lambda_A", lambda0_m, 1e10, "A", LAMBDA_MIN, LAMBDA_MAX, 0, "1", "x-ray wavelength", "energy_eV, source wavelengths"),
    PATH("mat_path", mat_path, "MOSFLM orientation matrix file (replaces mosflm_matrix and cell)", "cell, mosflm_matrix"),
    SPECIAL("misset_deg", NB_PARAM_ARRAY, 3, 3, "deg", -ANGLE_MAX, ANGLE_MAX, 0, "0 0 0", "crystal rotation about x, y, z",
            "misset_random, umatrix", set_misset, get_misset, NULL),
    SPECIAL("misset_random", NB_PARAM_BOOL, 1, 1, "", 0, 1, 0, "0", "random crystal orientation from misset_seed",
            "misset_deg, umatrix", set_misset_random, get_misset_random, NULL),
    SEED("misset_seed", misset_seed, "1", "seed of misset_random"),
    PATH("model_path", model_path, "structure factors computed from an atomic model (PDB or mmCIF) to the detector's resolution", "spacegroup, cell"),
    INT("mosaic_domains", mosaic_domains, 1, 1 << 20, "10 with a spread, else 1", "mosaic domains", "mosaic_spread_deg"),
    SEED("mosaic_seed", mosaic_seed, "12345678", "seed of the mosaic domains"),
    REAL("mosaic_spread_deg", mosaic_spread_rad, RTD, "deg", 0, 360, 0, "0", "isotropic mosaic spread", "mosaic_domains"),
    SPECIAL("mosflm_matrix", NB_PARAM_ARRAY, 9, 9, "", -1e6, 1e6, 0, "none",
            "MOSFLM A matrix as a .mat file holds it (rows x, y, z; columns a*, b*, c*, times lambda): replaces mat_path and cell",
            "cell, mat_path", set_matrix, get_matrix, NULL),
    PATH("mtz_path", mtz_path, "structure factors: an MTZ file's asymmetric unit, expanded by its space group", "sf_column, spacegroup, cell"),
    BOOL("nopolar", nopolar, "0", "no polarization factor", "polarization"),
    VEC("odet_vector", odet_vector, 3, 1, "", -DIR_MAX, DIR_MAX, "1 0 0", "detector normal (not zero)", "convention (custom only)"),
    REAL("osc_deg", osc_rad, RTD, "deg", 0, ANGLE_MAX, 0, "0", "oscillation range about the spindle", "phistep_deg, phisteps"),
    INT("oversample", oversample, 0, 1000, "automatic", "sub-pixels per pixel edge (0: automatic)", ""),
    BOOL("oversample_omega", oversample_omega, "0", "solid angle per sub-pixel", "oversample"),
    BOOL("oversample_polar", oversample_polar, "0", "polarization per sub-pixel", "oversample"),
    BOOL("oversample_thick", oversample_thick, "0", "absorption per sub-pixel", "oversample"),
    REAL("phi_deg", phi0_rad, RTD, "deg", -ANGLE_MAX, ANGLE_MAX, 0, "0", "starting spindle angle", ""),
    REAL("phistep_deg", phistep_rad, RTD, "deg", 0, ANGLE_MAX, 0, "automatic", "spindle step", "osc_deg, phisteps"),
    INT("phisteps", phisteps, 0, 100000000, "automatic", "spindle steps (0: automatic)", "osc_deg, phistep_deg"),
    CHOICE("pivot", pivot, 0, "sample|beam", "beam", "what stays put when the detector rotates (conventions other than custom impose theirs)", "convention"),
    SPECIAL("pix0_vector_m", NB_PARAM_ARRAY, 3, 3, "m", -LEN_MAX, LEN_MAX, 0, "derived",
            "sample to the first pixel's corner (custom convention)", "convention", set_pix0, get_pix0, NULL),
    REAL("pixel_mm", pixel_m, 1e3, "mm", 0, LEN_MAX, 1, "0.1", "pixel size", "detsize_f_mm, detsize_s_mm"),
    BOOL("point_pixel", point_pixel, "0", "1/R^2 solid angle, no obliquity", ""),
    VEC("polar_vector", polar_vector, 3, 1, "", -DIR_MAX, DIR_MAX, "0 0 1", "E-vector of the beam (not zero)", "convention (custom only)"),
    REAL("polarization", polarization, 1, "", -1, 1, 0, "0", "Kahn polarization factor", "nopolar"),
    CHOICE("precision", precision, 0, "double|single", "double", "lattice sums in double or float (parallelepiped crystals, no interpolation)", ""),
    SPECIAL("roi", NB_PARAM_ARRAY, 4, 4, "pixels", 0, 1e6, 0, "whole detector",
            "render only fast xmin..xmax, slow ymin..ymax (inclusive, whole numbers)", "", set_roi, get_roi, NULL),
    BOOL("round_div", round_div, "1", "trim the divergence grid to an ellipse", "divergence"),
    REAL("sample_x_mm", sample_x_m, 1e3, "mm", 0, LEN_MAX, 0, "0 (use Na)", "crystal size along x: overrides Na", "Na, beamsize_mm"),
    REAL("sample_y_mm", sample_y_m, 1e3, "mm", 0, LEN_MAX, 0, "0 (use Nb)", "crystal size along y: overrides Nb", "Nb, beamsize_mm"),
    REAL("sample_z_mm", sample_z_m, 1e3, "mm", 0, LEN_MAX, 0, "0 (use Nc)", "crystal size along z: overrides Nc", "Nc, beamsize_mm"),
    VEC("sdet_vector", sdet_vector, 3, 1, "", -DIR_MAX, DIR_MAX, "0 -1 0", "slow-axis direction of the detector (not zero)", "convention (custom only)"),
    PATH("sf_column", sf_column, "column of mtz_path or sfcif_path: an amplitude, an intensity (F = sqrt(I)) or an anomalous pair X(+)", "mtz_path, sfcif_path"),
    PATH("sfcif_path", sfcif_path, "structure factors: an mmCIF structure-factor file's _refln loop, expanded by its space group", "sf_column, spacegroup, cell"),
    CHOICE("shape", shape, 0, "square|round|gauss|tophat", "square", "crystal shape (spot profile)", "fudge"),
    PATH("source_path", source_path, "sources: lines 'X Y Z weight lambda(m)' (replaces nb_config_set_sources)", "divergence, dispersion"),
    PATH("spacegroup", spacegroup, "space group (symbol or number) expanding hkl_path, mtz_path or sfcif_path (default: the file's; hkl_path: none)", "hkl_path, mtz_path, sfcif_path, model_path"),
    VEC("spindle_axis", spindle_vector, 3, 1, "", -DIR_MAX, DIR_MAX, "0 0 1", "spindle rotation axis (not zero)", "convention (custom only)"),
    INT("spixels", spixels, 1, 1000000, "from detsize_s_mm", "pixels along the slow axis", "detsize_s_mm"),
    INT("threads", threads, 0, 4096, "all", "threads (0: OpenMP's default)", ""),
    VEC("twotheta_axis", twotheta_axis, 3, 1, "", -DIR_MAX, DIR_MAX, "by convention", "two-theta rotation axis (not zero)", "convention"),
    REAL("twotheta_deg", twotheta_rad, RTD, "deg", -ANGLE_MAX, ANGLE_MAX, 0, "0", "detector swing about the two-theta axis", "pivot"),
    SPECIAL("umatrix", NB_PARAM_ARRAY, 9, 9, "", -1.0001, 1.0001, 0, "none",
            "orientation matrix U (a rotation, row-major) applied to the cell: replaces misset_deg", "cell, misset_deg, misset_random",
            set_umatrix, get_umatrix, NULL),
    REAL("vdivrange_mrad", vdivrange_rad, 1e3, "mrad", 0, 1e6, 0, "0", "vertical divergence range", "vdivstep_mrad, vdivsteps"),
    REAL("vdivstep_mrad", vdivstep_rad, 1e3, "mrad", 0, 1e6, 0, "automatic", "vertical divergence step", "vdivrange_mrad, vdivsteps"),
    INT("vdivsteps", vdivsteps, 0, 100000, "automatic", "vertical divergence steps (0: automatic)", "vdivrange_mrad"),
    REAL("water_um", water_m, 1e6, "um", 0, LEN_MAX, 0, "0", "water around the crystal (background)", ""),
    SPECIAL("xtalsize_mm", NB_PARAM_REAL, 1, 1, "mm", 0, LEN_MAX, 0, "0 (use N)", "crystal size: sets sample_x_mm, sample_y_mm, sample_z_mm",
            "sample_x_mm, sample_y_mm, sample_z_mm", set_group, get_group, "sample_x_mm|sample_y_mm|sample_z_mm"),
};

#define NROWS (sizeof ROWS / sizeof ROWS[0])

/* The choices of each CHOICE row as separate words, split once. */
static char WORDS_TEXT[NBI_MAX_PARAMS][8][16];
static const char *WORDS[NBI_MAX_PARAMS][8];
static pthread_once_t words_once = PTHREAD_ONCE_INIT;

static void split_words(void)
{
    for (size_t r = 0; r < NROWS; ++r) {
        const char *p = ROWS[r].info.choices;
        for (int i = 0; p && *p && i < 8; ++i) {
            size_t len = strcspn(p, "|");
            snprintf(WORDS_TEXT[r][i], sizeof WORDS_TEXT[r][i], "%.*s", (int)len, p);
            WORDS[r][i] = WORDS_TEXT[r][i];
            p += len + (p[len] == '|');
        }
    }
}
_Static_assert(sizeof ROWS / sizeof ROWS[0] <= NBI_MAX_PARAMS, "raise NBI_MAX_PARAMS");

static int by_name(const void *key, const void *elem)
{
    return strcmp((const char *)key, ((const row *)elem)->info.name);
}

static const row *find(const char *name)
{
    return name ? bsearch(name, ROWS, NROWS, sizeof ROWS[0], by_name) : NULL;
}

size_t nb_param_count(void) { return NROWS; }

const nb_param_info *nb_param_at(size_t i) { return i < NROWS ? &ROWS[i].info : NULL; }

const nb_param_info *nb_param_find(const char *name)
{
    const row *r = find(name);
    return r ? &r->info : NULL;
}

int nbi_params_sorted(void);
int nbi_params_sorted(void)
{
    for (size_t i = 1; i < NROWS; ++i)
        if (strcmp(ROWS[i - 1].info.name, ROWS[i].info.name) >= 0)
            return 0;
    return 1;
}

static void *field(nb_config *cfg, const row *r) { return (char *)cfg + r->offset; }
static const void *cfield(const nb_config *cfg, const row *r) { return (const char *)cfg + r->offset; }
static void mark(nb_config *cfg, const row *r, int given) { cfg->given[r - ROWS] = (unsigned char)given; }

/* "expected ..." for a row's range. */
static void describe(const row *r, char *buf, size_t size)
{
    const nb_param_info *p = &r->info;
    const char *u = p->units[0] ? p->units : "";
    if (p->kind == NB_PARAM_BOOL)
        snprintf(buf, size, "0 or 1");
    else if (p->min == 0 && p->min_exclusive && p->max >= BIG)
        snprintf(buf, size, "a positive number%s%s", u[0] ? " of " : "", u);
    else if (p->min_exclusive)
        snprintf(buf, size, "above %g and at most %g%s%s", p->min, p->max, u[0] ? " " : "", u);
    else if (p->max >= BIG && p->min <= -BIG)
        snprintf(buf, size, "a finite number");
    else
        snprintf(buf, size, "%g to %g%s%s", p->min, p->max, u[0] ? " " : "", u);
}

/* Check n values against r's kind and range; NB_OK or a message naming r. */
static nb_status check(const row *r, const double *v, size_t n, nb_error *err)
{
    const nb_param_info *p = &r->info;
    char range[160];
    if (n < (size_t)p->min_count || n > (size_t)p->count) {
        if (p->count == p->min_count)
            return nbi_fail(err, NB_ERR_INVALID, "%s takes %d value%s, got %zu", p->name, p->count,
                            p->count > 1 ? "s" : "", n);
        return nbi_fail(err, NB_ERR_INVALID, "%s takes %d to %d values, got %zu", p->name, p->min_count,
                        p->count, n);
    }
    if (!v)
        return nbi_fail(err, NB_ERR_INVALID, "%s: the values are NULL", p->name);
    for (size_t i = 0; i < n; ++i) {
        const double x = v[i];
        int whole = p->kind == NB_PARAM_INT || p->kind == NB_PARAM_BOOL || r->type == T_IVEC;
        describe(r, range, sizeof range);
        if (!isfinite(x))
            return nbi_fail(err, NB_ERR_INVALID, "%s = %g: expected %s", p->name, x, range);
        if (x < p->min || x > p->max || (p->min_exclusive && x <= p->min))
            return nbi_fail(err, NB_ERR_INVALID, "%s = %g is out of range (expected %s)", p->name, x, range);
        if (whole && x != floor(x))
            return nbi_fail(err, NB_ERR_INVALID, "%s = %g: expected a whole number", p->name, x);
    }
    return NB_OK;
}

/* ---------------------------------------------------------------- specials */

static nb_status set_cell(nb_config *cfg, const row *r, const double *v, size_t n, nb_error *err)
{
    (void)r;
    for (size_t i = 0; i < 3 && i < n; ++i)
        if (!(v[i] >= CELL_MIN))
            return nbi_fail(err, NB_ERR_INVALID, "cell: edge %g A is shorter than %g A", v[i], CELL_MIN);
    for (size_t i = 3; i < n; ++i)
        if (!(v[i] < 180.0))
            return nbi_fail(err, NB_ERR_INVALID, "cell: angle %g deg is not below 180", v[i]);
    cfg->user_cell = 1;
    for (int i = 0; i < 3; ++i) {
        cfg->cell_A[i] = (size_t)i < n ? v[i] : 0.0;
        cfg->cell_rad[i] = (size_t)i + 3 < n ? v[i + 3] / RTD : 0.0;
    }
    return NB_OK;
}

void nbi_params_set_cell(nb_config *cfg, const double cell_A[3], const double cell_rad[3])
{
    cfg->user_cell = 1;
    memcpy(cfg->cell_A, cell_A, sizeof cfg->cell_A);
    memcpy(cfg->cell_rad, cell_rad, sizeof cfg->cell_rad);
    mark(cfg, find("cell"), 1);
}

static void get_cell(const nb_config *cfg, const row *r, double *v)
{
    (void)r;
    for (int i = 0; i < 3; ++i) {
        v[i] = cfg->cell_A[i] > 0 ? cfg->cell_A[i] : cfg->cell_A[0];
        v[i + 3] = cfg->cell_rad[i] > 0 ? cfg->cell_rad[i] * RTD : 90.0;
    }
}

static nb_status set_matrix(nb_config *cfg, const row *r, const double *v, size_t n, nb_error *err)
{
    (void)r, (void)n, (void)err;
    memcpy(cfg->matrix, v, sizeof cfg->matrix);
    cfg->have_matrix = 1;
    free(cfg->mat_path);
    cfg->mat_path = NULL;
    cfg->given[find("mat_path") - ROWS] = 0;
    return NB_OK;
}

static void get_matrix(const nb_config *cfg, const row *r, double *v)
{
    (void)r;
    memcpy(v, cfg->matrix, sizeof cfg->matrix);
}

static nb_status set_umatrix(nb_config *cfg, const row *r, const double *v, size_t n, nb_error *err)
{
    (void)r, (void)n;
    for (int i = 0; i < 3; ++i)
        for (int j = 0; j < 3; ++j) {
            double dot = v[3 * i] * v[3 * j] + v[3 * i + 1] * v[3 * j + 1] + v[3 * i + 2] * v[3 * j + 2];
            if (fabs(dot - (i == j)) > 1e-6)
                return nbi_fail(err, NB_ERR_INVALID, "umatrix: not a rotation (rows %d and %d: dot product %g)", i, j, dot);
        }
    if (v[0] * (v[4] * v[8] - v[5] * v[7]) - v[1] * (v[3] * v[8] - v[5] * v[6]) + v[2] * (v[3] * v[7] - v[4] * v[6]) < 0)
        return nbi_fail(err, NB_ERR_INVALID, "umatrix: a reflection (determinant -1), not a rotation");
    memcpy(cfg->umat, v, sizeof cfg->umat);
    cfg->misset_mode = 2;
    return NB_OK;
}

static void get_umatrix(const nb_config *cfg, const row *r, double *v)
{
    (void)r;
    memcpy(v, cfg->umat, sizeof cfg->umat);
}

static nb_status set_misset(nb_config *cfg, const row *r, const double *v, size_t n, nb_error *err)
{
    (void)r, (void)n, (void)err;
    for (int i = 0; i < 3; ++i)
        cfg->misset_rad[i] = v[i] / RTD;
    cfg->misset_mode = 1;
    return NB_OK;
}

static void get_misset(const nb_config *cfg, const row *r, double *v)
{
    (void)r;
    for (int i = 0; i < 3; ++i)
        v[i] = cfg->misset_rad[i] * RTD;
}

static nb_status set_misset_random(nb_config *cfg, const row *r, const double *v, size_t n, nb_error *err)
{
    (void)r, (void)n, (void)err;
    if (v[0] != 0.0)
        cfg->misset_mode = -1;
    else if (cfg->misset_mode == -1)
        cfg->misset_mode = 0;
    return NB_OK;
}

static void get_misset_random(const nb_config *cfg, const row *r, double *v)
{
    (void)r;
    v[0] = cfg->misset_mode == -1;
}

static nb_status set_energy(nb_config *cfg, const row *r, const double *v, size_t n, nb_error *err)
{
    (void)r, (void)n, (void)err;
    cfg->lambda0_m = (12398.42 / v[0]) / 1.0e10;
    return NB_OK;
}

static void get_energy(const nb_config *cfg, const row *r, double *v)
{
    (void)r;
    v[0] = 12398.42 / (cfg->lambda0_m * 1e10);
}

static nb_status set_detector_abs(nb_config *cfg, const row *r, const double *v, size_t n, nb_error *err)
{
    (void)r, (void)n;
    if (v[0] != 0.0 && v[0] < ABS_MIN) /* its inverse would overflow */
        return nbi_fail(err, NB_ERR_INVALID, "detector_abs_um = %g: expected 0 (no absorption) or at least %g um",
                        v[0], ABS_MIN);
    cfg->detector_mu = v[0] == 0.0 ? 0.0 : 1.0 / (v[0] * 1e-6);
    return NB_OK;
}

static void get_detector_abs(const nb_config *cfg, const row *r, double *v)
{
    (void)r;
    v[0] = cfg->detector_mu > 0 ? 1.0 / cfg->detector_mu * 1e6 : 0.0;
}

static nb_status set_pix0(nb_config *cfg, const row *r, const double *v, size_t n, nb_error *err)
{
    (void)r, (void)n, (void)err;
    memcpy(cfg->pix0_vector_m, v, sizeof cfg->pix0_vector_m);
    cfg->pix0_given = 1;
    return NB_OK;
}

static void get_pix0(const nb_config *cfg, const row *r, double *v)
{
    (void)r;
    memcpy(v, cfg->pix0_vector_m, sizeof cfg->pix0_vector_m);
}

static nb_status set_roi(nb_config *cfg, const row *r, const double *v, size_t n, nb_error *err)
{
    (void)r, (void)n;
    for (int i = 0; i < 4; ++i)
        if (v[i] != floor(v[i]))
            return nbi_fail(err, NB_ERR_INVALID, "roi = %g: expected whole numbers", v[i]);
    if (v[0] > v[1] || v[2] > v[3])
        return nbi_fail(err, NB_ERR_INVALID, "roi %g %g %g %g selects no pixel (xmin > xmax or ymin > ymax)",
                        v[0], v[1], v[2], v[3]);
    for (int i = 0; i < 4; ++i)
        cfg->roi[i] = (int)v[i];
    return NB_OK;
}

static void get_roi(const nb_config *cfg, const row *r, double *v)
{
    (void)r;
    for (int i = 0; i < 4; ++i)
        v[i] = cfg->roi[i];
}

/* A row standing for several (N for Na, Nb, Nc): set each with the value. */
static nb_status set_one(nb_config *cfg, const row *r, const double *v, size_t n, nb_error *err);

static nb_status set_group(nb_config *cfg, const row *r, const double *v, size_t n, nb_error *err)
{
    char name[64];
    const char *p = r->also;
    while (*p) {
        size_t len = strcspn(p, "|");
        const row *m;
        snprintf(name, sizeof name, "%.*s", (int)len, p);
        m = find(name);
        if (m) {
            nb_status st = set_one(cfg, m, v, n, err);
            if (st != NB_OK)
                return st;
            mark(cfg, m, 1);
        }
        p += len + (p[len] == '|');
    }
    return NB_OK;
}

static void get_group(const nb_config *cfg, const row *r, double *v)
{
    char name[64];
    const row *m;
    snprintf(name, sizeof name, "%.*s", (int)strcspn(r->also, "|"), r->also);
    m = find(name);
    switch (m->type) {
    case T_DOUBLE: v[0] = *(const double *)cfield(cfg, m) * m->per; break;
    case T_INT: v[0] = *(const int *)cfield(cfg, m); break;
    default: v[0] = NAN; break;
    }
}

/* ---------------------------------------------------------------- set / get */

static nb_status set_one(nb_config *cfg, const row *r, const double *v, size_t n, nb_error *err)
{
    nb_status st = check(r, v, n, err);
    if (st != NB_OK)
        return st;
    switch (r->type) {
    case T_DOUBLE: *(double *)field(cfg, r) = v[0] / r->per; break;
    case T_INT:
    case T_BOOL: *(int *)field(cfg, r) = (int)v[0]; break;
    case T_LONG_NEG: *(long *)field(cfg, r) = -(long)v[0]; break;
    case T_VEC:
        for (size_t i = 0; i < n; ++i)
            ((double *)field(cfg, r))[i] = v[i] / r->per;
        break;
    case T_IVEC:
        for (size_t i = 0; i < n; ++i)
            ((int *)field(cfg, r))[i] = (int)v[i];
        break;
    case T_SPECIAL:
        return r->set(cfg, r, v, n, err);
    case T_CHOICE:
    case T_PATH:
    case T_DEVICE:
        return nbi_fail(err, NB_ERR_INVALID, "%s takes a word: use nb_param_set_string", r->info.name);
    }
    return NB_OK;
}

static const row *lookup(const char *name, nb_error *err)
{
    const row *r = find(name);
    if (!r)
        nbi_fail(err, NB_ERR_INVALID, "no parameter named '%s'", name ? name : "(null)");
    return r;
}

static nb_status set_values(nb_config *cfg, const char *name, const double *v, size_t n, nb_error *err)
{
    const row *r = lookup(name, err);
    nb_config saved;
    nb_status st;
    if (!r)
        return NB_ERR_INVALID;
    if (!cfg)
        return nbi_fail(err, NB_ERR_INVALID, "%s: the configuration is NULL", name);
    if (r->info.kind == NB_PARAM_CHOICE || r->info.kind == NB_PARAM_STRING)
        return nbi_fail(err, NB_ERR_INVALID, "%s takes a word: use nb_param_set_string", name);
    saved = *cfg; /* the numbers only: specials never allocate */
    st = set_one(cfg, r, v, n, err);
    if (st != NB_OK) {
        *cfg = saved;
        return st;
    }
    mark(cfg, r, 1);
    return NB_OK;
}

nb_status nb_param_set(nb_config *cfg, const char *name, double value, nb_error *err)
{
    return set_values(cfg, name, &value, 1, err);
}

nb_status nb_param_set_array(nb_config *cfg, const char *name, const double *values, size_t n, nb_error *err)
{
    return set_values(cfg, name, values, n, err);
}

/* The index of word among the '|'-separated choices, or -1. */
static int choice_index(const char *choices, const char *word)
{
    int i = 0;
    const char *p = choices;
    size_t wl = strlen(word);
    while (*p) {
        size_t len = strcspn(p, "|");
        if (len == wl && strncmp(p, word, len) == 0)
            return i;
        p += len + (p[len] == '|');
        ++i;
    }
    return -1;
}

nb_status nb_param_set_string(nb_config *cfg, const char *name, const char *value, nb_error *err)
{
    const row *r = lookup(name, err);
    if (!r)
        return NB_ERR_INVALID;
    if (!cfg)
        return nbi_fail(err, NB_ERR_INVALID, "%s: the configuration is NULL", name);
    if (r->type == T_DEVICE) {
        int kind, index;
        if (!nbi_device_parse(value, &kind, &index))
            return nbi_fail(err, NB_ERR_INVALID, "%s = '%s': expected cpu, cuda, cuda:N (N the GPU's number, 0 to "
                            "1023) or emulate", name, value ? value : "(null)");
        cfg->device = kind;
        cfg->device_index = index;
        snprintf(cfg->device_text, sizeof cfg->device_text, "%s", value);
    } else if (r->type == T_CHOICE) {
        int i = value ? choice_index(r->info.choices, value) : -1;
        if (i < 0)
            return nbi_fail(err, NB_ERR_INVALID, "%s = '%s': expected one of %s", name, value ? value : "(null)",
                            r->info.choices);
        *(int *)field(cfg, r) = i + r->choice_base;
    } else if (r->type == T_PATH) {
        char **slot = field(cfg, r), *copy = NULL;
        if (value && !value[0])
            return nbi_fail(err, NB_ERR_INVALID, "%s: the file name is empty", name);
        if (value && !(copy = strdup(value)))
            return nbi_fail(err, NB_ERR_NOMEM, "out of memory");
        free(*slot);
        *slot = copy;
        if (value && (strcmp(name, "hkl_path") == 0 || strcmp(name, "mtz_path") == 0
                      || strcmp(name, "sfcif_path") == 0 || strcmp(name, "model_path") == 0)) {
            nb_sf_free(cfg->sf);
            cfg->sf = NULL;
            nbi_sfinput_free_arrays(cfg);
        } else if (value && strcmp(name, "mat_path") == 0) {
            cfg->have_matrix = 0;
            cfg->given[find("mosflm_matrix") - ROWS] = 0;
        } else if (value && strcmp(name, "source_path") == 0) {
            nb_status st = nb_config_set_sources(cfg, 0, NULL, NULL, NULL, err);
            (void)st;
        }
        mark(cfg, r, value != NULL);
        return NB_OK;
    } else {
        return nbi_fail(err, NB_ERR_INVALID, "%s takes a number: use nb_param_set%s", name,
                        r->info.kind == NB_PARAM_ARRAY ? "_array" : "");
    }
    mark(cfg, r, 1);
    return NB_OK;
}

int nb_param_is_set(const nb_config *cfg, const char *name)
{
    const row *r = find(name);
    char part[64];
    if (!cfg || !r)
        return 0;
    if (cfg->given[r - ROWS])
        return 1;
    if (r->also) { /* a group is set when any of its rows is */
        const char *p = r->also;
        while (*p) {
            size_t len = strcspn(p, "|");
            snprintf(part, sizeof part, "%.*s", (int)len, p);
            if (nb_param_is_set(cfg, part))
                return 1;
            p += len + (p[len] == '|');
        }
    }
    return 0;
}

nb_status nb_param_unset(nb_config *cfg, const char *name, nb_error *err)
{
    const row *r = lookup(name, err);
    nb_config def;
    if (!r)
        return NB_ERR_INVALID;
    if (!cfg)
        return nbi_fail(err, NB_ERR_INVALID, "%s: the configuration is NULL", name);
    nbi_config_init(&def);
    if (r->type == T_PATH) {
        char **slot = field(cfg, r);
        free(*slot);
        *slot = NULL;
    } else if (r->type == T_DEVICE) {
        cfg->device = def.device;
        cfg->device_index = def.device_index;
        memcpy(cfg->device_text, def.device_text, sizeof cfg->device_text);
    } else if (r->type == T_SPECIAL && r->also) {
        const char *p = r->also;
        while (*p) {
            char part[64];
            size_t len = strcspn(p, "|");
            snprintf(part, sizeof part, "%.*s", (int)len, p);
            if (nb_param_unset(cfg, part, err) != NB_OK)
                return NB_ERR_INVALID;
            p += len + (p[len] == '|');
        }
    } else if (r->type == T_SPECIAL) {
        const char *n = r->info.name;
        if (strcmp(n, "cell") == 0) {
            cfg->user_cell = 0;
            memcpy(cfg->cell_A, def.cell_A, sizeof def.cell_A);
            memcpy(cfg->cell_rad, def.cell_rad, sizeof def.cell_rad);
        } else if (strcmp(n, "mosflm_matrix") == 0) {
            cfg->have_matrix = 0;
        } else if (strcmp(n, "misset_deg") == 0 || strcmp(n, "umatrix") == 0 || strcmp(n, "misset_random") == 0) {
            const int mode = strcmp(n, "misset_deg") == 0 ? 1 : strcmp(n, "umatrix") == 0 ? 2 : -1;
            if (cfg->misset_mode == mode)
                cfg->misset_mode = 0;
        } else if (strcmp(n, "detector_abs_um") == 0) {
            cfg->detector_mu = def.detector_mu;
        } else if (strcmp(n, "pix0_vector_m") == 0) {
            cfg->pix0_given = 0;
        } else if (strcmp(n, "roi") == 0) {
            memcpy(cfg->roi, def.roi, sizeof def.roi);
        }
    } else {
        size_t size = r->type == T_DOUBLE ? sizeof(double)
                      : r->type == T_LONG_NEG ? sizeof(long)
                      : r->type == T_VEC ? sizeof(double) * (size_t)r->info.count
                      : r->type == T_IVEC ? sizeof(int) * (size_t)r->info.count : sizeof(int);
        memcpy(field(cfg, r), (const char *)&def + r->offset, size);
    }
    mark(cfg, r, 0);
    return NB_OK;
}

static nb_status get_values(const nb_config *cfg, const char *name, double *v, size_t cap, size_t *n,
                            nb_error *err)
{
    const row *r = lookup(name, err);
    double tmp[9];
    int count;
    if (!r)
        return NB_ERR_INVALID;
    if (!cfg || !v)
        return nbi_fail(err, NB_ERR_INVALID, "%s: a NULL argument", name);
    if (r->info.kind == NB_PARAM_CHOICE || r->info.kind == NB_PARAM_STRING)
        return nbi_fail(err, NB_ERR_INVALID, "%s is a word: use nb_param_get_string", name);
    if (r->derived && !cfg->given[r - ROWS])
        return nbi_fail(err, NB_ERR_USAGE, "%s is not set: set-up derives it (see nb_experiment_info)", name);
    count = r->info.count;
    if (strcmp(name, "cell") == 0 && !cfg->user_cell)
        return nbi_fail(err, NB_ERR_USAGE, "cell is not set (the orientation matrix gives the cell: refine "
                        "crystal_rot*_deg for the orientation)");
    switch (r->type) {
    case T_DOUBLE:
        tmp[0] = *(const double *)cfield(cfg, r) * r->per;
        /* an unset spread is held as -1 (nanoBragg: no mosaicity, one domain): its value is the default, 0 */
        if (&cfg->mosaic_spread_rad == (const double *)cfield(cfg, r) && tmp[0] < 0.0)
            tmp[0] = 0.0;
        break;
    case T_INT:
    case T_BOOL: tmp[0] = *(const int *)cfield(cfg, r); break;
    case T_LONG_NEG: tmp[0] = (double)-*(const long *)cfield(cfg, r); break;
    case T_VEC:
        for (int i = 0; i < count; ++i)
            tmp[i] = ((const double *)cfield(cfg, r))[i] * r->per;
        break;
    case T_IVEC:
        for (int i = 0; i < count; ++i)
            tmp[i] = ((const int *)cfield(cfg, r))[i];
        break;
    case T_SPECIAL:
        r->get(cfg, r, tmp);
        break;
    default: return NB_ERR_INVALID;
    }
    if (n)
        *n = (size_t)count;
    if (cap < (size_t)count)
        return nbi_fail(err, NB_ERR_INVALID, "%s has %d values: room for %zu", name, count, cap);
    memcpy(v, tmp, sizeof(double) * (size_t)count);
    return NB_OK;
}

nb_status nb_param_get(const nb_config *cfg, const char *name, double *value, nb_error *err)
{
    const row *r = find(name);
    if (r && r->info.kind == NB_PARAM_ARRAY)
        return nbi_fail(err, NB_ERR_INVALID, "%s has %d values: use nb_param_get_array", name, r->info.count);
    return get_values(cfg, name, value, 1, NULL, err);
}

nb_status nb_param_get_array(const nb_config *cfg, const char *name, double *values, size_t cap, size_t *n,
                             nb_error *err)
{
    return get_values(cfg, name, values, cap, n, err);
}

nb_status nb_param_get_string(const nb_config *cfg, const char *name, const char **value, nb_error *err)
{
    const row *r = lookup(name, err);
    if (!r)
        return NB_ERR_INVALID;
    if (!cfg || !value)
        return nbi_fail(err, NB_ERR_INVALID, "%s: a NULL argument", name);
    pthread_once(&words_once, split_words);
    if (r->type == T_PATH) {
        *value = *(char *const *)cfield(cfg, r);
        return NB_OK;
    }
    if (r->type == T_DEVICE) {
        *value = cfg->device_text;
        return NB_OK;
    }
    if (r->type == T_CHOICE) {
        const int i = *(const int *)cfield(cfg, r) - r->choice_base;
        *value = i >= 0 && i < 8 ? WORDS[r - ROWS][i] : NULL;
        return *value ? NB_OK : nbi_fail(err, NB_ERR_INVALID, "%s holds no valid choice", name);
    }
    return nbi_fail(err, NB_ERR_INVALID, "%s is a number: use nb_param_get%s", name,
                    r->info.kind == NB_PARAM_ARRAY ? "_array" : "");
}

/* Mark the parameter named name as given (for the header reader below). */
static void given(nb_config *cfg, const char *name)
{
    const row *r = find(name);
    if (r)
        mark(cfg, r, 1);
}

nb_status nb_config_apply_smv_header(nb_config *cfg, const nb_smv_frame *fr, int is_mask, nb_error *err)
{
    double v;
    if (!cfg || !fr)
        return nbi_fail(err, NB_ERR_INVALID, "nb_config_apply_smv_header: a NULL argument");
    if (fr->width < 1 || fr->height < 1 || fr->width > 1000000 || fr->height > 1000000)
        return nbi_fail(err, NB_ERR_INVALID, "SMV header: %d x %d pixels is not a usable size", fr->width, fr->height);
    cfg->fpixels = fr->width, cfg->spixels = fr->height;
    given(cfg, "fpixels"), given(cfg, "spixels");
#define HEADER_REAL(key, expr, name)                                             \
    if (nb_smv_value(fr, key, &v)) {                                             \
        if (!isfinite(v))                                                        \
            return nbi_fail(err, NB_ERR_INVALID, "SMV header: %s=%g", key, v);   \
        expr;                                                                    \
        given(cfg, name);                                                        \
    }
    HEADER_REAL("PIXEL_SIZE", cfg->pixel_m = v / 1000.0, "pixel_mm")
    if (!(cfg->pixel_m > 0.0))
        return nbi_fail(err, NB_ERR_INVALID, "SMV header: PIXEL_SIZE=%g is not positive", cfg->pixel_m * 1000.0);
    cfg->detsize_f_m = cfg->pixel_m * fr->width;
    cfg->detsize_s_m = cfg->pixel_m * fr->height;
    HEADER_REAL("DISTANCE", cfg->distance_m = v / 1000.0, "distance_mm")
    HEADER_REAL("CLOSE_DISTANCE", cfg->close_distance_m = v / 1000.0, "close_distance_mm")
    HEADER_REAL("WAVELENGTH", cfg->lambda0_m = v / 1e10, "lambda_A")
    HEADER_REAL("BEAM_CENTER_X", cfg->Xbeam_m = v / 1000.0, "Xbeam_mm")
    /* a mask's header counts Y from the other edge (nanoBragg) */
    HEADER_REAL("BEAM_CENTER_Y", cfg->Ybeam_m = is_mask ? cfg->detsize_s_m - v / 1000.0 : v / 1000.0, "Ybeam_mm")
    if (nb_smv_value(fr, "XDS_ORGX", &v) || nb_smv_value(fr, "ORGX", &v))
        cfg->ORGX = v, given(cfg, "ORGX");
    if (nb_smv_value(fr, "XDS_ORGY", &v) || nb_smv_value(fr, "ORGY", &v))
        cfg->ORGY = v, given(cfg, "ORGY");
    HEADER_REAL("PHI", cfg->phi0_rad = v / RTD, "phi_deg")
    HEADER_REAL("OSC_RANGE", cfg->osc_rad = v / RTD, "osc_deg")
#undef HEADER_REAL
    /* TWOTHETA is read by nanoBragg into a variable it never uses: ignored. */
    return NB_OK;
}

/* Every number a configuration holds, checked against its row (values may
   also come from headers or from set-up code): NB_OK or the first bad one. */
nb_status nbi_params_check(const nb_config *cfg, nb_error *err)
{
    nb_config def;
    nbi_config_init(&def);
    for (size_t i = 0; i < NROWS; ++i) {
        const row *r = &ROWS[i];
        double v[9];
        int n = r->info.count;
        size_t size = r->type == T_VEC ? sizeof(double) * (size_t)n : r->type == T_DOUBLE ? sizeof(double) : sizeof(int);
        if (r->type != T_DOUBLE && r->type != T_INT && r->type != T_VEC && r->type != T_BOOL)
            continue;
        if (memcmp(cfield(cfg, r), cfield(&def, r), size) == 0)
            continue; /* the default: derived at set-up, or known good */
        for (int k = 0; k < n; ++k) {
            double x = r->type == T_DOUBLE ? *(const double *)cfield(cfg, r) * r->per
                       : r->type == T_VEC  ? ((const double *)cfield(cfg, r))[k] * r->per
                                           : *(const int *)cfield(cfg, r);
            const double slack = 1e-12 * fabs(x);
            if (!isfinite(x) || x < r->info.min - slack || x > r->info.max + slack
                || (r->info.min_exclusive && x <= r->info.min)) {
                char range[160];
                describe(r, range, sizeof range);
                return nbi_fail(err, NB_ERR_INVALID, "%s = %g is out of range (expected %s)", r->info.name, x, range);
            }
            v[k] = x;
        }
        if (r->type == T_VEC && n == 3 && v[0] == 0.0 && v[1] == 0.0 && v[2] == 0.0)
            return nbi_fail(err, NB_ERR_INVALID, "%s = 0 0 0: a direction must not be zero", r->info.name);
        if (r->type == T_VEC && n == 3 && !nbi_direction_usable(v[0], v[1], v[2]))
            return nbi_fail(err, NB_ERR_INVALID, "%s = %g %g %g is too short to give a direction (length below %g)",
                            r->info.name, v[0], v[1], v[2], 1.0 / DIR_MAX);
    }
    if (cfg->user_cell) { /* angles not given are 90 degrees */
        const double a = cfg->cell_rad[0] > 0 ? cfg->cell_rad[0] * RTD : 90.0;
        const double b = cfg->cell_rad[1] > 0 ? cfg->cell_rad[1] * RTD : 90.0;
        const double c = cfg->cell_rad[2] > 0 ? cfg->cell_rad[2] * RTD : 90.0;
        if (!(a + b + c < 360.0) || !(a < b + c) || !(b < a + c) || !(c < a + b))
            return nbi_fail(err, NB_ERR_INVALID, "cell angles %g %g %g deg do not form a cell (each must be less "
                            "than the sum of the other two, all three less than 360)", a, b, c);
    }
    /* a sensor thinner than the least attenuation depth: its layers' absorption (and the default
       attenuation depth, the thickness) would overflow */
    if (cfg->detector_thick_m > 0.0 && cfg->detector_thick_m < ABS_MIN * 1e-6)
        return nbi_fail(err, NB_ERR_INVALID, "detector_thick_um = %g: expected 0 (no sensor thickness) or at least "
                        "%g um", cfg->detector_thick_m * 1e6, ABS_MIN);
    return NB_OK;
}
