/*
 * module.h - the optional parts that are built as loadable modules, so that
 * a run that does not use them does not load their libraries: the NeXus
 * writer with HDF5 (libnanobragg-nexus.so, nexus.c) and the program's MPI
 * layer (libnanobragg-mpi.so, app/par_mpi.c).  A module is looked for
 * beside the object that holds this library's code (the shared library, a
 * program that links the static one, the Python extension), then in that
 * directory's nanobragg/ (an installed shared library's), in the install
 * directory as seen from an installed program (NB_MODULE_FROM_BIN, e.g.
 * ../lib/nanobragg), and in the install directory (NB_MODULE_DIR).
 */
#ifndef NB_MODULE_H
#define NB_MODULE_H

#include <stddef.h>

#include "nanobragg.h"

/* Load module file (a file name, no directory) and find symbol in it (the
   module's table of functions).  *table: the symbol's address; path (size
   n): the file loaded.  The module stays loaded to the end of the process.
   NB_ERR_IO when no candidate loads: err gives the path tried and the
   loader's reason (dlerror), what says what the module is for. */
NB_WARN_UNUSED nb_status nbi_module_load(const char *file, const char *symbol, const char *what,
                                         const void **table, char *path, size_t n, nb_error *err);

#endif
