/*
 * sfinput.c - structure factors from crystallographic inputs (see
 * sfinput.h): which input the configuration names, its cell and space
 * group, the expansion to every reflection, and the completeness report.
 */
#include "sfinput.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hkl.h"
#include "nanobragg.h"
#include "sf.h"
#include "util.h"
#include "vec3.h"

#define RTD (180.0 * M_1_PI)

static nb_status named(nb_status st, const char *param, nb_error *err);
#define COUNT_MAX 4e8 /* reflections counted for the completeness report */

void nbi_refl_list_free(nbi_refl_list *list)
{
    if (!list)
        return;
    free(list->v);
    list->v = NULL;
    list->n = 0;
}

void nbi_sfinput_free(nbi_sfinput *in)
{
    if (in)
        nbi_refl_list_free(&in->file);
}

void nbi_atoms_free(nbi_atoms *atoms)
{
    if (!atoms)
        return;
    free(atoms->element);
    free(atoms->xyz);
    free(atoms->occ);
    free(atoms->b_iso);
    free(atoms->aniso_U);
    memset(atoms, 0, sizeof *atoms);
}

void nbi_sfinput_free_arrays(nb_config *cfg)
{
    nbi_refl_list_free(cfg->refl);
    free(cfg->refl);
    nbi_atoms_free(cfg->atoms);
    free(cfg->atoms);
    cfg->refl = NULL;
    cfg->atoms = NULL;
}

/* A copy of n * size bytes at p (NULL for NULL), or NULL with *ok = 0. */
static void *dup_bytes(const void *p, size_t bytes, int *ok)
{
    void *q;
    if (!p)
        return NULL;
    if (!(q = malloc(bytes ? bytes : 1))) {
        *ok = 0;
        return NULL;
    }
    return memcpy(q, p, bytes);
}

int nbi_sfinput_copy_arrays(const nb_config *cfg, nb_config *copy)
{
    int ok = 1;
    copy->refl = NULL;
    copy->atoms = NULL;
    if (cfg->refl && (copy->refl = dup_bytes(cfg->refl, sizeof *cfg->refl, &ok)))
        copy->refl->v = dup_bytes(cfg->refl->v, cfg->refl->n * sizeof *cfg->refl->v, &ok);
    if (cfg->atoms && (copy->atoms = dup_bytes(cfg->atoms, sizeof *cfg->atoms, &ok))) {
        const nbi_atoms *a = cfg->atoms;
        nbi_atoms *b = copy->atoms;
        b->element = dup_bytes(a->element, a->n * sizeof *a->element, &ok);
        b->xyz = dup_bytes(a->xyz, 3 * a->n * sizeof *a->xyz, &ok);
        b->occ = dup_bytes(a->occ, a->n * sizeof *a->occ, &ok);
        b->b_iso = dup_bytes(a->b_iso, a->n * sizeof *a->b_iso, &ok);
        b->aniso_U = dup_bytes(a->aniso_U, 6 * a->n * sizeof *a->aniso_U, &ok);
    }
    if (!ok)
        nbi_sfinput_free_arrays(copy);
    return ok;
}

/* ---------------------------------------------------- inputs as arrays */

#define NO_GEMMI "this build of nanobragg has no gemmi: install the Debian packages gemmi-dev and " \
                 "tao-pegtl-dev, then build again"

/* The cell and space group given with arrays (what), into cell_out and
   xhm (the group's extended Hermann-Mauguin symbol, "" for none). */
static nb_status given_meta(const char *what, const double *cell, const char *spacegroup, int *have_cell,
                            double cell_out[6], char xhm[32], nb_error *err)
{
    *have_cell = cell != NULL;
    xhm[0] = '\0';
    if (cell) {
        for (int i = 0; i < 6; ++i)
            if (!isfinite(cell[i]) || cell[i] <= 0 || (i >= 3 && cell[i] >= 180))
                return nbi_fail(err, NB_ERR_INVALID, "%s: the cell %g %g %g %g %g %g is not a unit cell (expected "
                                "lengths > 0 A and angles between 0 and 180 degrees)", what, cell[0], cell[1],
                                cell[2], cell[3], cell[4], cell[5]);
        memcpy(cell_out, cell, 6 * sizeof *cell_out);
    }
    if (spacegroup) {
        nb_status st = nbi_sfio_spacegroup(spacegroup, cell, xhm, err);
        if (st != NB_OK)
            return named(st, what, err);
    }
    return NB_OK;
}

/* Replace every other source of structure factors in cfg by the arrays
   (refl or atoms, one NULL), which cfg then owns. */
static nb_status install(nb_config *cfg, nbi_refl_list *refl, nbi_atoms *atoms, nb_error *err)
{
    static const char *const paths[] = {"hkl_path", "mtz_path", "sfcif_path", "model_path"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; ++i)
        if (nb_param_unset(cfg, paths[i], err) != NB_OK)
            return NB_ERR_INVALID;
    nb_sf_free(cfg->sf);
    cfg->sf = NULL;
    nbi_sfinput_free_arrays(cfg);
    cfg->refl = refl;
    cfg->atoms = atoms;
    return NB_OK;
}

/* A Miller index within the readers' +-1e9. */
static int index_ok(int i) { return i >= -1000000000 && i <= 1000000000; }

/* A value of an array as the readers take a column's: F, or from an
   intensity F = sqrt(max(I, 0)); not finite (NaN: missing): 0. */
static int amplitude(double value, int intensities, double *F)
{
    if (isnan(value))
        return 0;
    *F = intensities ? sqrt(value > 0.0 ? value : 0.0) : value;
    return isfinite(*F);
}

nb_status nb_config_set_reflections(nb_config *cfg, size_t n, const int *h, const int *k, const int *l,
                                    const double *F, const double *F_minus, int intensities, const double cell[6],
                                    const char *spacegroup, nb_error *err)
{
    static const char what[] = "reflections";
    nbi_refl_list *list;
    nb_status st;
    if (!cfg)
        return nbi_fail(err, NB_ERR_INVALID, "nb_config_set_reflections: the configuration is NULL");
    if (n == 0) {
        nbi_refl_list_free(cfg->refl);
        free(cfg->refl);
        cfg->refl = NULL;
        return NB_OK;
    }
    if (!nbi_sfio_available())
        return nbi_fail(err, NB_ERR_USAGE, "%s: %s", what, NO_GEMMI);
    if (!h || !k || !l || !F)
        return nbi_fail(err, NB_ERR_INVALID, "%s: %s is NULL", what, !h ? "h" : !k ? "k" : !l ? "l" : "F");
    if (n > 500000000)
        return nbi_fail(err, NB_ERR_RANGE, "%s: %zu is too many", what, n);
    for (size_t i = 0; i < n; ++i)
        if (!index_ok(h[i]) || !index_ok(k[i]) || !index_ok(l[i]))
            return nbi_fail(err, NB_ERR_INVALID, "%s: reflection %zu (%d %d %d): an index beyond +-1e9", what, i,
                            h[i], k[i], l[i]);
    if (!(list = calloc(1, sizeof *list)) || !(list->v = malloc((F_minus ? 2 : 1) * n * sizeof *list->v))) {
        free(list);
        return nbi_fail(err, NB_ERR_NOMEM, "%s: out of memory for %zu reflections", what, n);
    }
    if ((st = given_meta(what, cell, spacegroup, &list->have_cell, list->cell, list->spacegroup, err)) != NB_OK)
        goto fail;
    for (size_t i = 0; i < n; ++i) {
        nbi_refl e = {h[i], k[i], l[i], F_minus ? 0 : 1, 0.0};
        if (amplitude(F[i], intensities, &e.F))
            list->v[list->n++] = e;
        if (F_minus) {
            nbi_refl m = {-h[i], -k[i], -l[i], 0, 0.0};
            if (amplitude(F_minus[i], intensities, &m.F))
                list->v[list->n++] = m;
        }
    }
    if (list->n == 0) {
        st = nbi_fail(err, NB_ERR_INVALID, "%s: none of the %zu has a value (all NaN or infinite)", what, n);
        goto fail;
    }
    snprintf(list->column, sizeof list->column, "%s", F_minus ? (intensities ? "I(+),I(-)" : "F(+),F(-)")
                                                              : (intensities ? "I" : "F"));
    list->intensities = intensities != 0;
    if ((st = install(cfg, list, NULL, err)) == NB_OK)
        return NB_OK;
fail:
    nbi_refl_list_free(list);
    free(list);
    return st;
}

nb_status nb_config_set_atoms(nb_config *cfg, size_t n, const char *const *element, const double *xyz,
                              const double *occ, const double *b_iso, const double *aniso_U, const double cell[6],
                              const char *spacegroup, nb_error *err)
{
    static const char what[] = "atoms";
    nbi_atoms *a;
    nb_status st;
    if (!cfg)
        return nbi_fail(err, NB_ERR_INVALID, "nb_config_set_atoms: the configuration is NULL");
    if (n == 0) {
        nbi_atoms_free(cfg->atoms);
        free(cfg->atoms);
        cfg->atoms = NULL;
        return NB_OK;
    }
    if (!nbi_sfio_available())
        return nbi_fail(err, NB_ERR_USAGE, "%s: %s", what, NO_GEMMI);
    if (!element || !xyz || !occ || !b_iso)
        return nbi_fail(err, NB_ERR_INVALID, "%s: %s is NULL", what,
                        !element ? "element" : !xyz ? "xyz" : !occ ? "occ" : "b_iso");
    if (n > 100000000)
        return nbi_fail(err, NB_ERR_RANGE, "%s: %zu is too many", what, n);
    for (size_t i = 0; i < n; ++i) {
        int finite = isfinite(occ[i]) && isfinite(b_iso[i]) && fabs(occ[i]) < 1e30 && fabs(b_iso[i]) < 1e30;
        for (int j = 0; j < 3; ++j)
            finite &= isfinite(xyz[3 * i + j]);
        for (int j = 0; aniso_U && j < 6; ++j)
            finite &= isfinite(aniso_U[6 * i + j]) && fabs(aniso_U[6 * i + j]) < 1e30;
        if (!finite)
            return nbi_fail(err, NB_ERR_INVALID, "%s: atom %zu: a coordinate, occupancy, B or U that is not a "
                            "finite number", what, i);
        if (!element[i] || strlen(element[i]) >= sizeof a->element[0])
            return nbi_fail(err, NB_ERR_INVALID, "%s: atom %zu: no element symbol", what, i);
        if ((st = nbi_sfio_element(element[i], err)) != NB_OK) {
            char msg[sizeof err->msg];
            memcpy(msg, err->msg, sizeof msg);
            return nbi_fail(err, st, "%s: atom %zu: %.450s", what, i, msg);
        }
    }
    if (!(a = calloc(1, sizeof *a)))
        return nbi_fail(err, NB_ERR_NOMEM, "%s: out of memory for %zu atoms", what, n);
    a->n = n;
    a->element = calloc(n, sizeof *a->element);
    a->xyz = malloc(3 * n * sizeof *a->xyz);
    a->occ = malloc(n * sizeof *a->occ);
    a->b_iso = malloc(n * sizeof *a->b_iso);
    a->aniso_U = aniso_U ? malloc(6 * n * sizeof *a->aniso_U) : NULL;
    if (!a->element || !a->xyz || !a->occ || !a->b_iso || (aniso_U && !a->aniso_U)) {
        st = nbi_fail(err, NB_ERR_NOMEM, "%s: out of memory for %zu atoms", what, n);
        goto fail;
    }
    for (size_t i = 0; i < n; ++i)
        memcpy(a->element[i], element[i], strlen(element[i]) + 1);
    memcpy(a->xyz, xyz, 3 * n * sizeof *xyz);
    memcpy(a->occ, occ, n * sizeof *occ);
    memcpy(a->b_iso, b_iso, n * sizeof *b_iso);
    if (aniso_U)
        memcpy(a->aniso_U, aniso_U, 6 * n * sizeof *aniso_U);
    if ((st = given_meta(what, cell, spacegroup, &a->have_cell, a->cell, a->spacegroup, err)) != NB_OK
        || (st = install(cfg, NULL, a, err)) != NB_OK)
        goto fail;
    return NB_OK;
fail:
    nbi_atoms_free(a);
    free(a);
    return st;
}

/* The one input cfg names (and its parameter), or NBI_SFIN_NONE; two or
   more: NB_ERR_USAGE. */
static nb_status choose(const nb_config *cfg, nbi_sfinput *in, nb_error *err)
{
    const struct { const char *path, *param; nbi_sfin_kind kind; } inputs[] = {
        {cfg->hkl_path, "hkl_path", NBI_SFIN_HKL},
        {cfg->mtz_path, "mtz_path", NBI_SFIN_MTZ},
        {cfg->sfcif_path, "sfcif_path", NBI_SFIN_SFCIF},
        {cfg->model_path, "model_path", NBI_SFIN_MODEL},
        {cfg->refl ? "the reflections given as arrays" : NULL, "reflections", NBI_SFIN_LIST},
        {cfg->atoms ? "the atoms given as arrays" : NULL, "atoms", NBI_SFIN_ATOMS},
    };
    for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; ++i) {
        if (!inputs[i].path)
            continue;
        if (in->param)
            return nbi_fail(err, NB_ERR_USAGE, "give one source of structure factors: %s (%s) and %s (%s) "
                            "are both set", in->param, in->path, inputs[i].param, inputs[i].path);
        in->kind = inputs[i].kind, in->path = inputs[i].path, in->param = inputs[i].param;
    }
    if (in->kind == NBI_SFIN_HKL && !cfg->spacegroup) /* the plain reader, as before */
        in->kind = NBI_SFIN_NONE, in->path = NULL, in->param = NULL;
    if (cfg->spacegroup && in->kind == NBI_SFIN_NONE)
        return nbi_fail(err, NB_ERR_USAGE, "spacegroup %s: it expands hkl_path, mtz_path, sfcif_path, "
                        "model_path or reflections or atoms given as arrays, and none is given", cfg->spacegroup);
    return NB_OK;
}

/* st, with err's message led by the parameter that named the input. */
static nb_status named(nb_status st, const char *param, nb_error *err)
{
    if (st != NB_OK && err) {
        char msg[sizeof err->msg];
        memcpy(msg, err->msg, sizeof msg);
        nbi_fail(err, st, "%s: %.480s", param, msg);
    }
    return st;
}

/* An "h k l F" list as reflections obeying Friedel's law. */
static nb_status read_hkl(const char *path, const nb_log *log, nbi_refl_list *out, nb_error *err)
{
    int *hkl;
    double *F;
    size_t n;
    nb_status st = nbi_hkl_read_text_entries(path, log, &hkl, &F, &n, err);
    memset(out, 0, sizeof *out);
    if (st != NB_OK)
        return st;
    if (!(out->v = malloc(n * sizeof *out->v))) {
        st = nbi_fail(err, NB_ERR_NOMEM, "%s: out of memory reading reflections", path);
    } else {
        for (size_t i = 0; i < n; ++i) {
            const nbi_refl e = {hkl[3 * i], hkl[3 * i + 1], hkl[3 * i + 2], 1, F[i]};
            out->v[i] = e;
        }
        out->n = n;
    }
    free(hkl);
    free(F);
    return st;
}

/* The structure factors are computed from atoms (a model). */
static int computed(nbi_sfin_kind kind) { return kind == NBI_SFIN_MODEL || kind == NBI_SFIN_ATOMS; }

static nb_status read_input(const nb_config *cfg, const nb_log *log, nbi_sfinput *in, nb_error *err)
{
    switch (in->kind) {
    case NBI_SFIN_LIST:
        in->file = *cfg->refl;
        if (!(in->file.v = malloc(cfg->refl->n * sizeof *cfg->refl->v))) {
            in->file.n = 0;
            return nbi_fail(err, NB_ERR_NOMEM, "out of memory for %zu reflections", cfg->refl->n);
        }
        memcpy(in->file.v, cfg->refl->v, cfg->refl->n * sizeof *cfg->refl->v);
        return NB_OK;
    case NBI_SFIN_ATOMS:
        in->atoms = cfg->atoms;
        in->file.have_cell = cfg->atoms->have_cell;
        memcpy(in->file.cell, cfg->atoms->cell, sizeof in->file.cell);
        memcpy(in->file.spacegroup, cfg->atoms->spacegroup, sizeof in->file.spacegroup);
        snprintf(in->file.column, sizeof in->file.column, "%s", "atoms");
        return NB_OK;
    case NBI_SFIN_HKL: return read_hkl(in->path, log, &in->file, err);
    case NBI_SFIN_MTZ: return nbi_sfio_read_mtz(in->path, cfg->sf_column, &in->file, err);
    case NBI_SFIN_SFCIF: return nbi_sfio_read_sfcif(in->path, cfg->sf_column, &in->file, err);
    case NBI_SFIN_MODEL: return nbi_sfio_model_header(in->path, &in->file, err);
    case NBI_SFIN_NONE: break;
    }
    return NB_OK;
}

nb_status nbi_sfinput_open(const nb_config *cfg, const nb_log *log, nbi_sfinput *in, nb_error *err)
{
    nb_status st;
    memset(in, 0, sizeof *in);
    if ((st = choose(cfg, in, err)) != NB_OK)
        return st;
    if (cfg->bulk_solvent && !computed(in->kind))
        return nbi_fail(err, NB_ERR_USAGE, "bulk_solvent: it adds solvent to the structure factors of model_path "
                        "or atoms given as arrays, and neither is given");
    if (in->kind == NBI_SFIN_NONE)
        return NB_OK;
    if (cfg->sf_column && in->kind != NBI_SFIN_MTZ && in->kind != NBI_SFIN_SFCIF)
        return nbi_fail(err, NB_ERR_USAGE, "sf_column %s: it picks a column of mtz_path or sfcif_path, and "
                        "neither is given", cfg->sf_column);
    if ((st = read_input(cfg, log, in, err)) != NB_OK)
        return named(st, in->param, err);
    if (!computed(in->kind) && in->file.n == 0)
        return nbi_fail(err, NB_ERR_PARSE, "%s: no reflections with a value in column %s", in->path,
                        in->file.column);
    if (cfg->spacegroup) {
        if ((st = nbi_sfio_spacegroup(cfg->spacegroup, NULL, in->spacegroup, err)) != NB_OK)
            return st;
        if (in->file.spacegroup[0] && strcmp(in->file.spacegroup, in->spacegroup) != 0)
            nbi_log(log, NB_LOG_WARN, "WARNING: spacegroup %s replaces %s's own, %s", in->spacegroup, in->path,
                    in->file.spacegroup);
    } else if (in->file.spacegroup[0]) {
        memcpy(in->spacegroup, in->file.spacegroup, sizeof in->spacegroup);
    } else if (computed(in->kind)) {
        memcpy(in->spacegroup, "P 1", 4);
        nbi_log(log, NB_LOG_WARN, "WARNING: %s names no space group: taking P 1", in->path);
    } else {
        return nbi_fail(err, NB_ERR_USAGE, "%s names no space group: give spacegroup", in->path);
    }
    if (in->kind == NBI_SFIN_MTZ || in->kind == NBI_SFIN_SFCIF || in->kind == NBI_SFIN_LIST)
        nbi_log(log, NB_LOG_INFO, "%s %zu reflections %s%s (column %s%s), space group %s",
                in->kind == NBI_SFIN_LIST ? "using" : "reading", in->file.n, in->kind == NBI_SFIN_LIST ? "" : "of ",
                in->kind == NBI_SFIN_LIST ? "given as arrays" : in->path, in->file.column,
                in->file.intensities ? ": intensities, F = sqrt(I)" : "", in->spacegroup);
    return NB_OK;
}

static int cell_given(const nb_config *cfg) { return cfg->user_cell || cfg->mat_path || cfg->have_matrix; }

void nbi_sfinput_apply_cell(nbi_sfinput *in, const nb_log *log, nb_config *eff)
{
    const double *c = in->file.cell;
    if (in->kind == NBI_SFIN_NONE || !in->file.have_cell || cell_given(eff))
        return;
    in->cell_applied = 1;
    eff->user_cell = 1;
    for (int i = 0; i < 3; ++i) {
        eff->cell_A[i] = c[i];
        eff->cell_rad[i] = c[3 + i] / RTD;
    }
    nbi_log(log, NB_LOG_INFO, "unit cell from %s: %g %g %g %g %g %g", in->path, c[0], c[1], c[2], c[3], c[4],
            c[5]);
}

/* A warning when the crystal's cell is not the file's (a given cell or matrix wins). */
static void compare_cells(const nbi_sfinput *in, const nbi_cell_params *p, const nb_log *log)
{
    const double *c = in->file.cell;
    int differ = 0;
    if (!in->file.have_cell)
        return;
    for (int i = 0; i < 3; ++i)
        differ |= fabs(p->len_A[i] - c[i]) > 1e-3 * c[i] || fabs(p->deg[i] - c[3 + i]) > 0.01;
    if (differ)
        nbi_log(log, NB_LOG_WARN, "WARNING: the crystal's cell %g %g %g %g %g %g is not %s's, %g %g %g %g %g %g: "
                "the crystal's is used", p->len_A[0], p->len_A[1], p->len_A[2], p->deg[0], p->deg[1], p->deg[2],
                in->path, c[0], c[1], c[2], c[3], c[4], c[5]);
}

/* Index a (0: h, 1: k, 2: l) of e. */
static int miller(const nbi_refl *e, int a) { return a == 0 ? e->h : a == 1 ? e->k : e->l; }

static double inv_d(const nbi_cell *cell, int h, int k, int l)
{
    return v3_mag(v3_add(v3_scale(cell->as, h), v3_add(v3_scale(cell->bs, k), v3_scale(cell->cs, l))));
}

/* How many reflections (not 000) the detector reaches to 1/d = inv_d_det,
   and how many of them the list lacks; where the list ends (smallest d of
   the file's reflections). */
static void completeness(const nbi_refl_list *file, const nbi_refl_list *all, const nbi_cell *cell,
                         double inv_d_det, double missing_F, const nb_log *log)
{
    int lo[3], hi[3], m[3];
    double end = 0.0;
    long reach = 0, missing = 0;
    unsigned char *have;
    for (int a = 0; a < 3; ++a) {
        lo[a] = hi[a] = miller(&all->v[0], a);
        m[a] = (int)ceil(inv_d_det * cell->params.len_A[a]);
    }
    for (size_t i = 0; i < all->n; ++i)
        for (int a = 0; a < 3; ++a) {
            const int x = miller(&all->v[i], a);
            lo[a] = x < lo[a] ? x : lo[a];
            hi[a] = x > hi[a] ? x : hi[a];
        }
    const size_t dk = (size_t)(hi[2] - lo[2] + 1), dh = dk * (size_t)(hi[1] - lo[1] + 1);
    if ((2.0 * m[0] + 1) * (2.0 * m[1] + 1) * (2.0 * m[2] + 1) > COUNT_MAX
        || !(have = calloc(dh * (size_t)(hi[0] - lo[0] + 1), 1)))
        return;
    for (size_t i = 0; i < all->n; ++i)
        have[(size_t)(all->v[i].h - lo[0]) * dh + (size_t)(all->v[i].k - lo[1]) * dk + (size_t)(all->v[i].l - lo[2])] = 1;
    for (size_t i = 0; i < file->n; ++i)
        end = fmax(end, inv_d(cell, file->v[i].h, file->v[i].k, file->v[i].l));
    for (int h = -m[0]; h <= m[0]; ++h)
        for (int k = -m[1]; k <= m[1]; ++k)
            for (int l = -m[2]; l <= m[2]; ++l) {
                if ((h == 0 && k == 0 && l == 0) || inv_d(cell, h, k, l) > inv_d_det)
                    continue;
                ++reach;
                missing += h < lo[0] || h > hi[0] || k < lo[1] || k > hi[1] || l < lo[2] || l > hi[2]
                           || !have[(size_t)(h - lo[0]) * dh + (size_t)(k - lo[1]) * dk + (size_t)(l - lo[2])];
            }
    free(have);
    nbi_log(log, NB_LOG_INFO, "structure factors: %zu reflections to %.3g A after expansion; the detector "
            "reaches %.3g A (%ld reflections)", all->n, end > 0 ? 1.0 / end : 0.0,
            inv_d_det > 0 ? 1.0 / inv_d_det : 0.0, reach);
    if (missing > 0)
        nbi_log(log, NB_LOG_WARN, "WARNING: %ld of the %ld reflections the detector reaches (to %.3g A) are "
                "missing from the structure factors and take default_F = %g; the list ends at %.3g A",
                missing, reach, 1.0 / inv_d_det, missing_F, end > 0 ? 1.0 / end : 0.0);
}

/* The reflections to simulate with: expanded by the space group. */
static nb_status reflections(const nbi_sfinput *in, const nb_config *cfg, const nbi_cell *cell, double inv_d_det,
                             nbi_refl_list *model, nbi_refl_list *out, nb_error *err)
{
    const nbi_refl_list *asu = &in->file;
    nb_status st;
    if (computed(in->kind)) {
        /* nearest reflections of the pixels at the edge, and the interpolation's neighbours */
        const double margin = 2.5 * (v3_mag(cell->as) + v3_mag(cell->bs) + v3_mag(cell->cs));
        const double c[6] = {cell->params.len_A[0], cell->params.len_A[1], cell->params.len_A[2],
                             cell->params.deg[0], cell->params.deg[1], cell->params.deg[2]};
        const double bulk[2] = {cfg->ksol, cfg->bsol};
        const double *b = cfg->bulk_solvent ? bulk : NULL;
        st = in->kind == NBI_SFIN_ATOMS
                 ? nbi_sfio_atoms_sf(in->atoms, in->path, in->spacegroup, c, inv_d_det + margin, b, model, err)
                 : nbi_sfio_model_sf(in->path, in->spacegroup, c, inv_d_det + margin, b, model, err);
        if (st != NB_OK)
            return named(st, in->param, err);
        if (model->n == 0)
            return nbi_fail(err, NB_ERR_INVALID, "%s: no reflections to compute", in->path);
        asu = model;
    }
    return nbi_sfio_expand(in->spacegroup, asu, out, err);
}

nb_status nbi_sfinput_make(const nbi_sfinput *in, const nb_config *cfg, const nbi_cell *cell, double inv_d_det,
                           const nb_log *log, nb_sf **out, nb_error *err)
{
    nbi_refl_list model = {0}, all = {0};
    int *h = NULL, *k = NULL, *l = NULL;
    double *F = NULL;
    const double c[6] = {cell->params.len_A[0], cell->params.len_A[1], cell->params.len_A[2],
                         cell->params.deg[0], cell->params.deg[1], cell->params.deg[2]};
    char xhm[32];
    nb_status st;
    *out = NULL;
    if (cell_given(cfg))
        compare_cells(in, &cell->params, log);
    if ((st = nbi_sfio_spacegroup(in->spacegroup, c, xhm, err)) != NB_OK
        || (st = reflections(in, cfg, cell, inv_d_det, &model, &all, err)) != NB_OK)
        goto done;
    if (!(h = malloc(all.n * sizeof *h)) || !(k = malloc(all.n * sizeof *k)) || !(l = malloc(all.n * sizeof *l))
        || !(F = malloc(all.n * sizeof *F))) {
        st = nbi_fail(err, NB_ERR_NOMEM, "out of memory for %zu reflections", all.n);
        goto done;
    }
    for (size_t i = 0; i < all.n; ++i)
        h[i] = all.v[i].h, k[i] = all.v[i].k, l[i] = all.v[i].l, F[i] = all.v[i].F;
    if (computed(in->kind))
        nbi_log(log, NB_LOG_INFO, "computed %zu reflections of %s (space group %s) to %.3g A", model.n, in->path,
                in->spacegroup, 1.0 / inv_d_det);
    if (computed(in->kind) && cfg->bulk_solvent)
        nbi_log(log, NB_LOG_INFO, "bulk solvent: k_sol %g e/A^3, B_sol %g A^2; solvent mask on a %d x %d x %d grid, "
                "%.4f of the cell", cfg->ksol, cfg->bsol, model.mask_grid[0], model.mask_grid[1], model.mask_grid[2],
                model.solvent_fraction);
    completeness(computed(in->kind) ? &model : &in->file, &all, cell, inv_d_det, cfg->default_F, log);
    st = nb_sf_from_list(h, k, l, F, all.n, cfg->default_F, out, err);
    if (st == NB_OK && in->cell_applied) {
        (*out)->have_cell = 1;
        memcpy((*out)->cell_A, cfg->cell_A, sizeof cfg->cell_A);
        memcpy((*out)->cell_rad, cfg->cell_rad, sizeof cfg->cell_rad);
    }
done:
    free(h), free(k), free(l), free(F);
    nbi_refl_list_free(&model);
    nbi_refl_list_free(&all);
    return st;
}
