/*
 * module.c - the optional parts that are built as loadable modules, so that
 * a run that does not use them does not load their libraries: the NeXus
 * writer with HDF5 (libnanobragg-nexus.so, nexus.c) and the program's MPI
 * layer (libnanobragg-mpi.so, app/par_mpi.c).  nb_module_load (nanobragg.h)
 * looks for a module beside the object that holds this library's code (the
 * shared library, a program that links the static one, the Python
 * extension), then in that directory's nanobragg/ (an installed shared
 * library's), in the install directory as seen from an installed program
 * (NB_MODULE_FROM_BIN, e.g. ../lib/nanobragg), and in the install directory
 * (NB_MODULE_DIR), and gives the loader's reasons when none loads.
 */
#define _GNU_SOURCE /* dladdr1, struct link_map */
#include "nanobragg.h"

#include <dlfcn.h>
#include <link.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

/* An address in this library's code, wherever it was linked. */
static const char anchor;

/* The directory of the object that holds this code (no trailing slash), or
   "" when it cannot be told.  The main program's name is its link, since
   the loader only knows it as argv[0]. */
static void own_dir(char *dir, size_t n)
{
    Dl_info info;
    struct link_map *map = NULL;
    char *slash;
    dir[0] = '\0';
    if (!dladdr1(&anchor, &info, (void **)&map, RTLD_DL_LINKMAP) || !info.dli_fname)
        return;
    if (map && map->l_name && map->l_name[0] == '\0') {
        ssize_t len = readlink("/proc/self/exe", dir, n - 1);
        dir[len > 0 ? len : 0] = '\0';
    }
    if (!dir[0])
        snprintf(dir, n, "%s", info.dli_fname);
    slash = strrchr(dir, '/');
    if (slash)
        *(slash == dir ? slash + 1 : slash) = '\0';
    else
        snprintf(dir, n, ".");
}

/* dlopen path and find symbol: 0, or -1 with the loader's reason. */
static int open_module(const char *path, const char *symbol, const void **table, char *why, size_t n)
{
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    const char *e;
    if (!h) {
        size_t len = strlen(path);
        e = dlerror();
        if (e && strncmp(e, path, len) == 0 && strncmp(e + len, ": ", 2) == 0)
            e += len + 2; /* the loader's words after the path, which the message names */
        snprintf(why, n, "%s", e ? e : "unknown error");
        return -1;
    }
    dlerror();
    *table = dlsym(h, symbol);
    if (!*table) {
        e = dlerror();
        snprintf(why, n, "no %s in it (%s)", symbol, e ? e : "unknown error");
        dlclose(h);
        return -1;
    }
    return 0;
}

nb_status nb_module_load(const char *file, const char *symbol, const char *what, const void **table, char *path,
                          size_t n, nb_error *err)
{
    char dir[4096], tried[4][4096 + 64], why[512];
    int count = 0;
    if (!file || !symbol || !table || !path || n == 0)
        return nbi_fail(err, NB_ERR_INVALID, "nb_module_load: a NULL %s",
                        !file ? "file" : !symbol ? "symbol" : !table ? "table" : "path");
    *table = NULL;
    if (!file[0] || strchr(file, '/') || strlen(file) > 255)
        return nbi_fail(err, NB_ERR_INVALID, "nb_module_load: \"%.300s\" is not a module's file name (no directory)",
                        file);
    if (!what)
        what = "the module";
    own_dir(dir, sizeof dir);
    if (dir[0]) {
        snprintf(tried[count++], sizeof tried[0], "%s/%s", dir, file);
        snprintf(tried[count++], sizeof tried[0], "%s/nanobragg/%s", dir, file);
#ifdef NB_MODULE_FROM_BIN
        snprintf(tried[count++], sizeof tried[0], "%s/%s/%s", dir, NB_MODULE_FROM_BIN, file);
#endif
    }
#ifdef NB_MODULE_DIR
    snprintf(tried[count++], sizeof tried[0], "%s/%s", NB_MODULE_DIR, file);
#endif
    for (int i = 0; i < count; ++i) {
        if (access(tried[i], F_OK) != 0)
            continue;
        snprintf(path, n, "%s", tried[i]);
        if (open_module(tried[i], symbol, table, why, sizeof why) == 0)
            return NB_OK;
        return nbi_fail(err, NB_ERR_IO, "cannot load %s %s: %s", what, tried[i], why);
    }
    /* none there: the loader's own words for the first place looked in */
    snprintf(path, n, "%s", count ? tried[0] : file);
    if (open_module(path, symbol, table, why, sizeof why) == 0)
        return NB_OK;
    if (count > 1) {
        char *slash = strrchr(tried[count - 1], '/');
        *slash = '\0';
        return nbi_fail(err, NB_ERR_IO, "cannot load %s %s: %s (nor is it in %s)", what, path, why, tried[count - 1]);
    }
    return nbi_fail(err, NB_ERR_IO, "cannot load %s %s: %s", what, path, why);
}
