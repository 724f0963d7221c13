/*
 * fuzz_sfio.h - shared by fuzz_mtz and fuzz_sfcif: the checks made on what
 * a structure-factor reader of sfio.h returns, and what the program does
 * next with it (sfinput.c): the space group's check against the file's
 * cell, the expansion by the space group, and the table of F built from
 * the expanded list.
 */
#ifndef NB_FUZZ_SFIO_H
#define NB_FUZZ_SFIO_H

#include <math.h>

#include "fuzz_common.h"
#include "sfio.h"

/* The expansion (and the grid the library builds of it) is only tried on
   lists whose indices stay within this: the symmetry images of |index| <= M
   lie within |index| <= 2M (hexagonal axes), and the absences are sought in
   the box of those, at most (4M+1)^3 points. */
#define FUZZ_SF_MAX_INDEX 24
#define FUZZ_SF_MAX_REFL 20000

/* What a reader's failure must look like: an empty list and a message. */
static inline void fuzz_sf_check_failure(const nbi_refl_list *out, const nb_error *err)
{
    if (out->v || out->n || !memchr(err->msg, '\0', sizeof err->msg) || err->msg[0] == '\0') {
        fprintf(stderr, "fuzz: a failed read left a list or no message\n");
        abort();
    }
}

static inline int fuzz_sf_index_ok(int i) { return i >= -1000000000 && i <= 1000000000; }

/* Invariants of a list a reader returned with NB_OK; the largest |index|. */
static inline int fuzz_sf_check_list(const nbi_refl_list *list)
{
    int m = 0;
    if (!list->v || !memchr(list->spacegroup, '\0', sizeof list->spacegroup)
        || !memchr(list->column, '\0', sizeof list->column)) {
        fprintf(stderr, "fuzz: inconsistent list\n");
        abort();
    }
    for (size_t i = 0; i < list->n; ++i) {
        const nbi_refl *e = &list->v[i];
        if (!isfinite(e->F) || (e->friedel != 0 && e->friedel != 1) || (list->intensities && e->F < 0)
            || !fuzz_sf_index_ok(e->h) || !fuzz_sf_index_ok(e->k) || !fuzz_sf_index_ok(e->l)) {
            fprintf(stderr, "fuzz: reflection %zu: %d %d %d F %g friedel %d\n", i, e->h, e->k, e->l, e->F,
                    e->friedel);
            abort();
        }
        m = abs(e->h) > m ? abs(e->h) : m;
        m = abs(e->k) > m ? abs(e->k) : m;
        m = abs(e->l) > m ? abs(e->l) : m;
    }
    if (list->have_cell)
        for (int i = 0; i < 6; ++i)
            if (!isfinite(list->cell[i])) {
                fprintf(stderr, "fuzz: the list's cell is not finite\n");
                abort();
            }
    return m;
}

/* As sfinput.c does with a list read: the group against the cell, the
   expansion, the table of F. */
static inline void fuzz_sf_use(const nbi_refl_list *list, int max_index)
{
    char xhm[32];
    nbi_refl_list all;
    nb_error err;
    nb_sf *sf = NULL;
    const char *group = list->spacegroup[0] ? list->spacegroup : "P 1";
    nb_status st = nbi_sfio_spacegroup(group, list->have_cell ? list->cell : NULL, xhm, &err);
    if (st != NB_OK && strcmp(group, "P 1") == 0) {
        fprintf(stderr, "fuzz: P 1 refused: %s\n", err.msg);
        abort();
    }
    if (nbi_sfio_spacegroup(group, NULL, xhm, &err) != NB_OK) {
        fprintf(stderr, "fuzz: the reader's space group '%s' is unknown: %s\n", group, err.msg);
        abort();
    }
    if (max_index > FUZZ_SF_MAX_INDEX || list->n > FUZZ_SF_MAX_REFL || list->n == 0)
        return;
    if (nbi_sfio_expand(xhm, list, &all, &err) != NB_OK) {
        fuzz_sf_check_failure(&all, &err);
        return;
    }
    if (all.n < list->n || !all.v) {
        fprintf(stderr, "fuzz: the expansion lost reflections\n");
        abort();
    }
    int *h = malloc(all.n * sizeof *h), *k = malloc(all.n * sizeof *k), *l = malloc(all.n * sizeof *l);
    double *F = malloc(all.n * sizeof *F);
    if (!h || !k || !l || !F)
        abort();
    for (size_t i = 0; i < all.n; ++i)
        h[i] = all.v[i].h, k[i] = all.v[i].k, l[i] = all.v[i].l, F[i] = all.v[i].F;
    if (nb_sf_from_list(h, k, l, F, all.n, 0.0, &sf, &err) == NB_OK) {
        /* every reflection of the file is in the table, with its F (or its
           Friedel or symmetry mate's, where the file repeats one) */
        if (nb_sf_value(sf, all.v[all.n - 1].h, all.v[all.n - 1].k, all.v[all.n - 1].l, NAN)
            != all.v[all.n - 1].F) {
            fprintf(stderr, "fuzz: the table lost the last reflection\n");
            abort();
        }
        nb_sf_free(sf);
    }
    free(h), free(k), free(l), free(F);
    nbi_refl_list_free(&all);
}

/* One read of the temporary file by reader with column label column
   (NULL: the reader's choice), and what follows it. */
typedef nb_status (*fuzz_sf_reader)(const char *path, const char *column, nbi_refl_list *out, nb_error *err);

static inline void fuzz_sf_read(fuzz_sf_reader reader, const char *column)
{
    nbi_refl_list list;
    nb_error err;
    memset(&err, 0x55, sizeof err);
    if (reader(fuzz_path, column, &list, &err) != NB_OK) {
        fuzz_sf_check_failure(&list, &err);
        return;
    }
    fuzz_sf_use(&list, fuzz_sf_check_list(&list));
    nbi_refl_list_free(&list);
}

#endif
