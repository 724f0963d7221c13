/*
 * sf.h - the public structure-factor object (nb_sf): an nbi_hkl grid shared
 * by reference between configurations and experiments (private layout).
 */
#ifndef NB_SF_H
#define NB_SF_H

#include <pthread.h>
#include <stdatomic.h>

#include "hkl.h"

struct nb_sf {
    nbi_hkl hkl;            /* F_single is made once, on first need, under lock */
    atomic_int refs;
    pthread_mutex_t lock;
    int from_fdump;         /* read from nanoBragg's cache */
    int have_cell;          /* made from a crystallographic input whose cell was the crystal's: */
    double cell_A[3], cell_rad[3]; /* that cell (nb_config_set_sf gives it to a configuration without one) */
};

/* The float copy of sf's grid for -precision single (made once; thread-safe). */
NB_WARN_UNUSED nb_status nbi_sf_make_single(nb_sf *sf, nb_error *err);

#endif
