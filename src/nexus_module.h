/*
 * nexus_module.h - the NeXus writer's HDF5 half (module/nexus_hdf5.c),
 * built as the loadable module libnanobragg-nexus.so and loaded by nexus.c
 * the first time a file is written, so that nothing else loads HDF5.  The
 * library keeps the geometry, the staging of the file and the argument
 * checks; the module writes what nexus.c hands it, through this table.
 */
#ifndef NB_NEXUS_MODULE_H
#define NB_NEXUS_MODULE_H

#include <stdint.h>

#include "nexus.h"

#define NBI_NEXUS_MODULE_FILE "libnanobragg-nexus.so"
#define NBI_NEXUS_MODULE_SYMBOL "nbi_nexus_module"
#define NBI_NEXUS_MODULE_ABI 1 /* changes with this table or nbi_nexus_geometry */

/* One file being written (the module's). */
typedef struct nbi_nexus_file nbi_nexus_file;

typedef struct nbi_nexus_ops {
    int abi;             /* NBI_NEXUS_MODULE_ABI */
    const char *version; /* NB_VERSION_STRING of the module's build */
    /* Create tmp (an empty staged file) and write everything but the images
       of a series of nimages images: geometry g, pixel_mask values mask
       (spixels x fpixels).  path names the target in messages.  NB_ERR_IO
       (HDF5's reason in err), NB_ERR_NOMEM. */
    nb_status (*create)(const char *path, const char *tmp, const nbi_nexus_geometry *g, const uint32_t *mask,
                        int nimages, nbi_nexus_file **out, nb_error *err);
    /* The next image (nb_nexus_append's contract, arguments not NULL). */
    nb_status (*append)(nbi_nexus_file *f, const nb_nexus_image *image, const int32_t *counts, nb_error *err);
    /* The per-image arrays, then close the file (not renamed). */
    nb_status (*finish)(nbi_nexus_file *f, nb_error *err);
    /* Close every handle (ignoring errors) and free f; NULL is fine. */
    void (*release)(nbi_nexus_file *f);
} nbi_nexus_ops;

#endif
