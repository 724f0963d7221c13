/*
 * sfio.h - crystallographic structure-factor inputs through gemmi (internal):
 * MTZ and mmCIF reflection files, atomic models (PDB, mmCIF) and their
 * structure factors, and space-group symmetry.  Implemented by
 * sfio_gemmi.cpp, the one C++ file of the library, when the build found
 * gemmi (Debian: gemmi-dev); otherwise by sfio_none.c, whose functions all
 * fail with NB_ERR_USAGE naming the missing package.  No symmetry or
 * form-factor table is written here: they are gemmi's.
 *
 * Errors never throw across this interface: each function returns a status
 * and fills err.
 */
#ifndef NB_SFIO_H
#define NB_SFIO_H

#include <stddef.h>

#include "nanobragg.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One reflection.  friedel = 1: F holds for (h,k,l) and, by Friedel's law,
   for (-h,-k,-l); 0: F is for (h,k,l) alone (one of an anomalous pair, the
   other stored at (-h,-k,-l)). */
typedef struct nbi_refl {
    int h, k, l;
    int friedel;
    double F;
} nbi_refl;

/* A list of reflections with the cell and space group they came with. */
typedef struct nbi_refl_list {
    nbi_refl *v; /* owned (malloc) */
    size_t n;
    int have_cell;
    double cell[6];        /* a, b, c in A; alpha, beta, gamma in degrees */
    char spacegroup[32];   /* extended Hermann-Mauguin symbol, or "" */
    char column[64];       /* the column(s) read, e.g. "FP" or "F(+),F(-)" */
    int intensities;       /* 1: the column held intensities, F = sqrt(max(I, 0)) */
    int mask_grid[3];      /* a model with bulk solvent: the solvent mask's grid */
    double solvent_fraction; /* and the fraction of the cell it counts as solvent */
} nbi_refl_list;

void nbi_refl_list_free(nbi_refl_list *list);

/* 1 when this build reads these inputs (it has gemmi), else 0. */
int nbi_sfio_available(void);

/* The reflections of an MTZ file (column label column, or NULL: the first
   amplitude column, else the first intensity column), as the file has them
   (asymmetric unit).  An intensity column gives F = sqrt(max(I, 0)).  A
   label "X(+)" (or "X(-)") with its partner in the file reads the anomalous
   pair: F(+) at (h,k,l), F(-) at (-h,-k,-l).  Missing values (NaN) are left
   out.  Errors: unreadable or corrupt file (NB_ERR_IO / NB_ERR_FORMAT), no
   such column (NB_ERR_INVALID; the message lists the file's labels). */
NB_WARN_UNUSED nb_status nbi_sfio_read_mtz(const char *path, const char *column, nbi_refl_list *out,
                                           nb_error *err);

/* The same for the _refln loop of an mmCIF structure-factor file (labels
   after "_refln.": F_meas_au, intensity_meas, F_calc, pdbx_F_plus, ...;
   NULL: the first of F_meas_au, F_meas, F_calc, intensity_meas, I_meas). */
NB_WARN_UNUSED nb_status nbi_sfio_read_sfcif(const char *path, const char *column, nbi_refl_list *out,
                                             nb_error *err);

/* An atomic model (PDB or mmCIF, first model): its cell and space group
   only (out->n = 0).  Errors: unreadable file, no atoms. */
NB_WARN_UNUSED nb_status nbi_sfio_model_header(const char *path, nbi_refl_list *out, nb_error *err);

/* |F| of the model in path for every reflection of the asymmetric unit of
   spacegroup (NULL or "": the model's) out to 1/d = inv_d_max (1/A), with
   the cell cell (NULL: the model's): International Tables (1992) form
   factors, isotropic or anisotropic B, occupancies, symmetry mates from the
   space group.  Every entry has friedel = 1.  bulk (NULL: none) adds a flat
   bulk solvent, {k_sol (e/A^3), B_sol (A^2)}: F = F_model + k_sol
   exp(-B_sol / (4 d^2)) F_mask, F_mask the Fourier transform of gemmi's
   solvent mask of the model (cctbx's radii, probe and shrink: 1.11 and
   0.9 A) on a grid of about d_min / 4 (out->mask_grid, and
   out->solvent_fraction). */
NB_WARN_UNUSED nb_status nbi_sfio_model_sf(const char *path, const char *spacegroup, const double *cell,
                                           double inv_d_max, const double *bulk, nbi_refl_list *out,
                                           nb_error *err);

/* The atoms of a model given as arrays (nb_config_set_atoms), owned. */
typedef struct nbi_atoms {
    size_t n;
    char (*element)[8];   /* element symbols ("C", "Fe"), NUL-terminated */
    double *xyz;          /* 3n: orthogonal coordinates, Angstrom (PDB's frame) */
    double *occ, *b_iso;  /* n each: occupancy, isotropic B (A^2) */
    double *aniso_U;      /* 6n: U11 U22 U33 U12 U13 U23 (A^2), or NULL */
    int have_cell;
    double cell[6];       /* a, b, c in A; alpha, beta, gamma in degrees */
    char spacegroup[32];  /* extended Hermann-Mauguin symbol, or "" */
} nbi_atoms;

void nbi_atoms_free(nbi_atoms *atoms);

/* Whether gemmi knows an element called symbol and has its form factor
   (International Tables 1992): NB_OK, or NB_ERR_INVALID naming it. */
NB_WARN_UNUSED nb_status nbi_sfio_element(const char *symbol, nb_error *err);

/* nbi_sfio_model_sf for the atoms of atoms (in their order) instead of a
   file's: the same calculation, bit for bit, as of a file holding those
   atoms (numbers as gemmi keeps them: coordinates in double, occupancies,
   B and U in single precision).  name: what they are, for messages. */
NB_WARN_UNUSED nb_status nbi_sfio_atoms_sf(const nbi_atoms *atoms, const char *name, const char *spacegroup,
                                           const double *cell, double inv_d_max, const double *bulk,
                                           nbi_refl_list *out, nb_error *err);

/* The space group called name (a Hermann-Mauguin symbol, Hall symbol or
   number) as its extended Hermann-Mauguin symbol in xhm[32].  With a cell
   (not NULL), also checks that the cell fits the group's crystal system
   (NB_ERR_INVALID otherwise).  NB_ERR_INVALID for an unknown name. */
NB_WARN_UNUSED nb_status nbi_sfio_spacegroup(const char *name, const double *cell, char xhm[32],
                                             nb_error *err);

/* Every reflection that the space group's rotations and Friedel's law (for
   entries with friedel = 1) make of in, into out (cell and labels copied);
   then, within the box of those indices, every systematically absent
   reflection of the group (centring, screw axes, glides) as F = 0.  Later
   entries of out win where indices repeat. */
NB_WARN_UNUSED nb_status nbi_sfio_expand(const char *spacegroup, const nbi_refl_list *in, nbi_refl_list *out,
                                         nb_error *err);

#ifdef __cplusplus
}
#endif

#endif
