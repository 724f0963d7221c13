/*
 * crystal.h - the crystal: unit cell from -cell or a MOSFLM matrix, misset
 * (explicit or random), size in unit cells, mosaic domains and the rotated
 * cells for every phi step x mosaic domain.
 */
#ifndef NB_CRYSTAL_H
#define NB_CRYSTAL_H

#include "experiment.h"

/* Build the real and reciprocal cell (exp->xtal.a0.., astar..) and log them as
   nanoBragg does.  Needs exp->info.lambda0_m for a matrix file. */
NB_WARN_UNUSED nb_status nbi_crystal_cell(const nb_config *cfg, nb_experiment *exp, const nb_log *log,
                                          nb_error *err);

/* Na, Nb, Nc from the sample size (clamped to >= 1), crystal size, auto
   oversampling and the approximate molecular weight. */
void nbi_crystal_size(const nb_config *cfg, nb_experiment *exp, const nb_log *log);

/* Mosaic domain rotations from the seeded generator, and the rotated-cell
   tables for the kernel.  exp->xtal.phisteps/phi0/phistep/domains/spread set. */
NB_WARN_UNUSED nb_status nbi_crystal_orientations(const nb_config *cfg, nb_experiment *exp,
                                                  const nb_log *log, nb_error *err);

void nbi_crystal_free(nb_crystal *x);

#endif
