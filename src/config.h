/*
 * config.h - the layout of a configuration (private).  The public API sets
 * and reads it by name (params.c); set-up (experiment.c and its stages)
 * reads the fields.  Lengths are in metres and angles in radians here,
 * whatever unit the parameter's name carries.  "Not given" is recorded in
 * given[]; the fields of parameters whose default is derived hold the
 * sentinels set-up tests (NB_UNSET, or a negative count or size).
 */
#ifndef NB_CONFIG_H
#define NB_CONFIG_H

#include "nanobragg.h"

#define NBI_MAX_PARAMS 128

/* Most photons/m^2 a run may have (given, or from flux x exposure_s /
   beamsize^2): a million times a synchrotron's brightest exposures; more
   overflows the images and their background. */
#define NBI_FLUENCE_MAX 1e40

/* Sentinel for "derived at set-up". */
#define NB_UNSET (-1.0e300)
static inline int nb_is_unset(double value) { return value == NB_UNSET; }

struct nb_config {
    /* inputs */
    char *hkl_path;         /* text "h k l F", or NULL; owned by configurations from nb_config_new */
    char *mat_path;         /* MOSFLM A matrix, or NULL */
    char *fdump_path;       /* binary cache written after reading hkl_path and read
                               when hkl_path is NULL; NULL disables the cache */
    char *source_path;      /* source list, or NULL */
    char *mtz_path;         /* MTZ reflections, or NULL (sfinput.c) */
    char *sfcif_path;       /* mmCIF structure factors, or NULL */
    char *model_path;       /* atomic model, or NULL */
    char *sf_column;        /* column label of mtz_path / sfcif_path, or NULL: the first usable */
    char *spacegroup;       /* space group name or number, or NULL: the file's */
    int bulk_solvent;       /* a flat bulk solvent in a model's structure factors */
    double ksol, bsol;      /* its density (e/A^3) and B factor (A^2) */
    int user_cell;          /* -cell given */
    double cell_A[3];       /* a, b, c in Angstrom */
    double cell_rad[3];     /* alpha, beta, gamma in radians */
    int misset_mode;        /* 0 none, 1 explicit angles, -1 random, 2 umat */
    double misset_rad[3];
    double crystal_rot_rad[3]; /* on top of the misset: x, then y, then z */
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
    const uint16_t *mask;     /* mask_width*mask_height, 0 = skip; NULL: none */
    int mask_width, mask_height; /* must equal the detector's pixel counts */

    /* execution */
    nb_precision precision;
    nb_isa isa;               /* NB_ISA_AUTO: the best the processor has */
    int threads;              /* <= 0: OpenMP default */
    int device, device_index; /* NBI_DEVICE_* (gpu.h) and the GPU's number */
    char device_text[16];     /* the device as given ("cpu", "cuda:1") */

    /* given as arrays (see nb_config_set_sf, _sources, _mask); owned */
    nb_sf *sf;                /* a reference, or NULL */
    int have_matrix;          /* matrix holds a MOSFLM A matrix (mosflm_matrix) */
    double matrix[9];
    double umat[9];           /* misset_mode 2: the orientation matrix U */
    int nsources;
    double *source_xyz, *source_weight, *source_lambda_m; /* lambda 0: lambda0 */
    uint16_t *mask_owned;     /* what mask points at when set by nb_config_set_mask */
    struct nbi_refl_list *refl; /* nb_config_set_reflections, or NULL (sfinput.c) */
    struct nbi_atoms *atoms;    /* nb_config_set_atoms, or NULL */
    /* which parameters were set: given[i] for row i of the parameter table */
    unsigned char given[NBI_MAX_PARAMS];
};

/* Set cfg's cell parameter to exactly these lengths and angles (as "cell"
   does from degrees, without the conversion). */
void nbi_params_set_cell(nb_config *cfg, const double cell_A[3], const double cell_rad[3]);

/* nanoBragg's defaults into a configuration the caller owns (on the stack:
   its strings are then the caller's and nb_config_free must not be used). */
void nbi_config_init(nb_config *cfg);

/* Every number of cfg in its parameter's range, directions not zero, cell
   angles that form a cell: NB_OK, or NB_ERR_INVALID naming the parameter
   (params.c).  Values equal to the defaults are not checked. */
NB_WARN_UNUSED nb_status nbi_params_check(const nb_config *cfg, nb_error *err);

#endif
