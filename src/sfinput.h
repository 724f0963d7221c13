/*
 * sfinput.h - structure factors from crystallographic inputs: an MTZ file
 * (mtz_path), an mmCIF structure-factor file (sfcif_path), an atomic model
 * (model_path), or an "h k l F" list with a space group (hkl_path and
 * spacegroup).  Set-up (experiment.c) opens the input before the crystal is
 * built (the file's cell is the crystal's unless one is given), then makes
 * the structure factors once the cell and the detector are known: the
 * asymmetric unit expanded by the space group's symmetry and Friedel's law,
 * systematic absences as zeros, a model's |F| to the detector's resolution,
 * and a report of the reflections the detector reaches that the list lacks.
 * The reading and the symmetry are gemmi's (sfio.h).
 */
#ifndef NB_SFINPUT_H
#define NB_SFINPUT_H

#include "config.h"
#include "crystal.h"
#include "sfio.h"

typedef enum {
    NBI_SFIN_NONE, NBI_SFIN_HKL, NBI_SFIN_MTZ, NBI_SFIN_SFCIF, NBI_SFIN_MODEL,
    NBI_SFIN_LIST, /* nb_config_set_reflections: as an MTZ's or mmCIF's */
    NBI_SFIN_ATOMS /* nb_config_set_atoms: as a model's */
} nbi_sfin_kind;

typedef struct nbi_sfinput {
    nbi_sfin_kind kind;
    const char *path;     /* the configuration's (arrays: what they are, for messages) */
    const char *param;    /* its parameter's name, for messages */
    const nbi_atoms *atoms; /* the configuration's, NBI_SFIN_ATOMS */
    int cell_applied;     /* nbi_sfinput_apply_cell gave the crystal the input's cell */
    nbi_refl_list file;   /* as read (a model: its cell and space group only) */
    char spacegroup[32];  /* the group used ("": none, hkl_path without spacegroup) */
} nbi_sfinput;

/* Read the input cfg names, if any (kind NBI_SFIN_NONE otherwise: plain
   hkl_path, nb_config_set_sf, Fdump or default_F, left to experiment.c),
   and settle its space group: spacegroup if given (a warning when the file
   names another), else the file's.  Errors: two inputs at once, spacegroup
   without an input, an unknown group, and the readers' (sfio.h).  The
   caller frees in with nbi_sfinput_free, also after a failure. */
NB_WARN_UNUSED nb_status nbi_sfinput_open(const nb_config *cfg, const nb_log *log, nbi_sfinput *in,
                                          nb_error *err);

/* Give eff the file's cell when the configuration has none (no cell,
   mat_path or mosflm_matrix); logs it. */
void nbi_sfinput_apply_cell(nbi_sfinput *in, const nb_log *log, nb_config *eff);

/* The structure factors of the opened input for the crystal's cell, with
   every reflection to 1/d = inv_d_det (1/A, what the detector reaches):
   checks the space group against the cell (NB_ERR_INVALID), warns when a
   given cell differs from the file's, computes a model's |F|, expands,
   reports completeness on log, and builds *out (caller owns) with
   missing_F = cfg->default_F; *out keeps the crystal's cell when it was
   the input's (nbi_sfinput_apply_cell). */
NB_WARN_UNUSED nb_status nbi_sfinput_make(const nbi_sfinput *in, const nb_config *cfg, const nbi_cell *cell,
                                          double inv_d_det, const nb_log *log, nb_sf **out, nb_error *err);

void nbi_sfinput_free(nbi_sfinput *in);

/* For config.c: the arrays of nb_config_set_reflections and
   nb_config_set_atoms copied from cfg into copy (0: out of memory; copy
   then holds none), and freed (the fields set to NULL). */
int nbi_sfinput_copy_arrays(const nb_config *cfg, nb_config *copy);
void nbi_sfinput_free_arrays(nb_config *cfg);

#endif
