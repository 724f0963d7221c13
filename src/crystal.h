/*
 * crystal.h - the crystal: unit cell from -cell or a MOSFLM matrix, misset
 * (explicit or random), size in unit cells, mosaic domains and the rotated
 * cells for every phi step x mosaic domain.  Each stage takes the results of
 * the earlier ones and fills its own; nbi_crystal_create puts them together.
 */
#ifndef NB_CRYSTAL_H
#define NB_CRYSTAL_H

#include "experiment.h"

/* The oriented cell: real and reciprocal vectors (Angstrom, 1/Angstrom)
   and what reports state about them. */
typedef struct nbi_cell {
    vec3 a, b, c, as, bs, cs;
    nbi_cell_params params;
} nbi_cell;

/* The crystal's size: unit cells along each axis, metres, and the
   approximate molecular weight nanoBragg prints. */
typedef struct nbi_size {
    double Na, Nb, Nc;
    double size_m[3];
    double molecular_weight;
} nbi_size;

/* Build the real and reciprocal cell and log them as nanoBragg does.  A
   matrix file is read with cfg->lambda0_m; a random misset is drawn from
   cfg->misset_seed.  Fails on an unreadable matrix or a cell of no volume. */
NB_WARN_UNUSED nb_status nbi_crystal_cell(const nb_config *cfg, const nb_log *log, nbi_cell *out,
                                          nb_error *err);

/* Na, Nb, Nc from the sample size sample_m (0: use cfg's N; clamped to
   >= 1), the crystal size and the approximate molecular weight. */
void nbi_crystal_size(const nb_config *cfg, const nbi_cell *cell, const double sample_m[3],
                      const nb_log *log, nbi_size *out);

/* The crystal: cell, size, cfg's shape, the spindle sweep and mosaic domains
   of sampling about the unit axis spindle, with the mosaic domain rotations
   (from cfg->mosaic_seed) and the rotated-cell tables for the kernels.
   NB_ERR_NOMEM (what was allocated is in out: nbi_crystal_free). */
NB_WARN_UNUSED nb_status nbi_crystal_create(const nb_config *cfg, const nbi_cell *cell,
                                            const nbi_size *size, const nbi_sampling *sampling,
                                            vec3 spindle, const nb_log *log, nbi_crystal *out,
                                            nb_error *err);

void nbi_crystal_free(nbi_crystal *x);

/* nanoBragg's reciprocal cell in its default orientation (a* along x, b*
   in the x-y plane), 1/Angstrom, from cell = a, b, c (A), alpha, beta,
   gamma (rad) (values <= 0 defaulted: b = c = a, angles 90 degrees), and
   its derivative with respect to cell[which] (which = -1: none) in ds.
   *V: the volume (A^3); a cell of no volume gives DBL_MIN, *impossible
   holding the volume computed (else 0). */
void nbi_reciprocal_cell(const double cell[6], int which, vec3 s[3], vec3 ds[3], double *V,
                         double *impossible);

#endif
