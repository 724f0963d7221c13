/*
 * crystal.c - unit cell, orientation, size and mosaic domains, following
 * nanoBragg's order of computation (reciprocal cell from the direct cell,
 * misset applied to the reciprocal vectors, direct vectors regenerated from
 * their cross products, and the reciprocal ones again from those).
 */
#include "crystal.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rng.h"
#include "textio.h"
#include "util.h"

#define RTD (180.0 * M_1_PI)

typedef struct cell_vectors {
    vec3 a, b, c, as, bs, cs;
    double V_cell;
} cell_vectors;

/* A number and its derivative with respect to one parameter: the cell's
   construction below runs on these, so that its derivatives (deriv.c) come
   from the same text as its values.  Each operation computes the value as
   plain double arithmetic would, in the same order. */
typedef struct dual {
    double v, d;
} dual;

static dual du(double v) { return (dual){v, 0.0}; }
static dual du_add(dual x, dual y) { return (dual){x.v + y.v, x.d + y.d}; }
static dual du_sub(dual x, dual y) { return (dual){x.v - y.v, x.d - y.d}; }
static dual du_mul(dual x, dual y) { return (dual){x.v * y.v, x.d * y.v + x.v * y.d}; }
static dual du_div(dual x, dual y)
{
    const double q = x.v / y.v;
    return (dual){q, (x.d - q * y.d) / y.v};
}
static dual du_sin(dual x) { return (dual){sin(x.v), cos(x.v) * x.d}; }
static dual du_cos(dual x) { return (dual){cos(x.v), -sin(x.v) * x.d}; }
static dual du_sqrt(dual x)
{
    const double r = sqrt(x.v);
    return (dual){r, r > 0.0 ? x.d / (2.0 * r) : 0.0};
}
static dual du_abs(dual x) { return x.v < 0.0 ? (dual){-x.v, -x.d} : x; }

/* nanoBragg's reciprocal cell (1/Angstrom) in its default orientation (a*
   along x, b* in the x-y plane) from the cell a, b, c (A), alpha, beta,
   gamma (rad), unset values defaulted (b = c = a, angles 90 degrees); with
   its derivative with respect to cell[which] (-1: none) in ds[3].  *V: the
   volume (A^3), or DBL_MIN for a cell of none (*impossible then holds the
   volume computed). */
void nbi_reciprocal_cell(const double cell[6], int which, vec3 s[3], vec3 ds[3], double *V_out,
                         double *impossible)
{
    dual x[6], a, b, c, al, be, ga, aavg, skew, V, Vs, as0, bs0, cs0, cas, cbs, cgs, sgs, t;
    for (int i = 0; i < 6; ++i)
        x[i] = (dual){cell[i], i == which ? 1.0 : 0.0};
    a = x[0], b = x[1], c = x[2], al = x[3], be = x[4], ga = x[5];
    if (b.v <= 0.0) b = a;
    if (c.v <= 0.0) c = a;
    if (al.v <= 0.0) al = du(M_PI / 2);
    if (be.v <= 0.0) be = du(M_PI / 2);
    if (ga.v <= 0.0) ga = du(M_PI / 2);
    aavg = du_div(du_add(du_add(al, be), ga), du(2));
    skew = du_mul(du_mul(du_mul(du_sin(aavg), du_sin(du_sub(aavg, al))), du_sin(du_sub(aavg, be))),
                  du_sin(du_sub(aavg, ga)));
    skew = du_abs(skew);
    V = du_mul(du_mul(du_mul(du_mul(du(2.0), a), b), c), du_sqrt(skew));
    *impossible = 0.0;
    if (V.v <= 0.0) {
        *impossible = V.v;
        V = du(DBL_MIN);
    }
    Vs = du_div(du(1.0), V);
    as0 = du_abs(du_mul(du_mul(du_mul(b, c), du_sin(al)), Vs));
    bs0 = du_abs(du_mul(du_mul(du_mul(c, a), du_sin(be)), Vs));
    cs0 = du_abs(du_mul(du_mul(du_mul(a, b), du_sin(ga)), Vs));
    if (as0.v <= 0.0) as0 = du(DBL_MIN);
    if (bs0.v <= 0.0) bs0 = du(DBL_MIN);
    if (cs0.v <= 0.0) cs0 = du(DBL_MIN);
    sgs = du_div(du_div(du_mul(c, Vs), as0), bs0);
    cas = du_div(du_sub(du_mul(du_cos(be), du_cos(ga)), du_cos(al)), du_mul(du_sin(be), du_sin(ga)));
    cbs = du_div(du_sub(du_mul(du_cos(ga), du_cos(al)), du_cos(be)), du_mul(du_sin(ga), du_sin(al)));
    cgs = du_div(du_sub(du_mul(du_cos(al), du_cos(be)), du_cos(ga)), du_mul(du_sin(al), du_sin(be)));
    if (sgs.v > 1.0) sgs = du(1.0);
    if (sgs.v < -1.0) sgs = du(-1.0);
    if (cas.v * cas.v > 1.0) cas = du(1.0);
    if (cbs.v * cbs.v > 1.0) cbs = du(1.0);
    if (cgs.v * cgs.v > 1.0) cgs = du(1.0);
    s[0] = v3(as0.v, 0.0, 0.0);
    ds[0] = v3(as0.d, 0.0, 0.0);
    t = du_mul(bs0, cgs);
    s[1] = v3(t.v, du_mul(bs0, sgs).v, 0.0);
    ds[1] = v3(t.d, du_mul(bs0, sgs).d, 0.0);
    {
        const dual x0 = du_mul(cs0, cbs);
        const dual y0 = du_div(du_mul(cs0, du_sub(cas, du_mul(cbs, cgs))), sgs);
        const dual z0 = du_div(du_mul(cs0, V), du_mul(du_mul(du_mul(a, b), c), sgs));
        s[2] = v3(x0.v, y0.v, z0.v);
        ds[2] = v3(x0.d, y0.d, z0.d);
    }
    *V_out = V.v;
}

/* Reciprocal vectors (1/Angstrom) in nanoBragg's default orientation. */
static void reciprocal_from_cell(const nb_config *cfg, cell_vectors *cv, const nb_log *log)
{
    const double cell[6] = {cfg->cell_A[0], cfg->cell_A[1], cfg->cell_A[2],
                            cfg->cell_rad[0], cfg->cell_rad[1], cfg->cell_rad[2]};
    double a = cell[0], b = cell[1] > 0.0 ? cell[1] : a, c = cell[2] > 0.0 ? cell[2] : a, impossible;
    vec3 s[3], ds[3];
    nbi_reciprocal_cell(cell, -1, s, ds, &cv->V_cell, &impossible);
    if (cv->V_cell == DBL_MIN && impossible <= 0.0)
        nbi_log(log, NB_LOG_WARN, "WARNING: impossible unit cell volume: %g", impossible);
    cv->as = s[0];
    cv->bs = s[1];
    cv->cs = s[2];
    cv->a = v3(a, 0, 0);
    cv->b = v3(b, 0, 0);
    cv->c = v3(c, 0, 0);
}

/* Cell lengths and angles of three vectors (angles in degrees). */
static void cell_params(vec3 a, vec3 b, vec3 c, double V, double len[3], double deg[3])
{
    double sa = v3_mag(v3_cross(b, c)) / v3_mag(b) / v3_mag(c);
    double sb = v3_mag(v3_cross(a, c)) / v3_mag(a) / v3_mag(c);
    double sg = v3_mag(v3_cross(a, b)) / v3_mag(a) / v3_mag(b);
    double ca = v3_dot(b, c) / v3_mag(b) / v3_mag(c);
    double cb = v3_dot(a, c) / v3_mag(a) / v3_mag(c);
    double cg = v3_dot(a, b) / v3_mag(a) / v3_mag(b);
    (void)V;
    len[0] = v3_mag(a);
    len[1] = v3_mag(b);
    len[2] = v3_mag(c);
    if (ca * ca > 1.0) ca = 1.0;
    if (cb * cb > 1.0) cb = 1.0;
    if (cg * cg > 1.0) cg = 1.0;
    deg[0] = atan2(sa, ca) * RTD;
    deg[1] = atan2(sb, cb) * RTD;
    deg[2] = atan2(sg, cg) * RTD;
}

static void log_matrix(const nb_log *log, const char *title, const char *n1, const char *n2,
                       const char *n3, vec3 a, vec3 b, vec3 c)
{
    nbi_log(log, NB_LOG_INFO, "%s", title);
    nbi_log(log, NB_LOG_INFO, "     %-10s  %-10s  %-10s", n1, n2, n3);
    nbi_log(log, NB_LOG_INFO, "X: %11.8f %11.8f %11.8f", a.x, b.x, c.x);
    nbi_log(log, NB_LOG_INFO, "Y: %11.8f %11.8f %11.8f", a.y, b.y, c.y);
    nbi_log(log, NB_LOG_INFO, "Z: %11.8f %11.8f %11.8f", a.z, b.z, c.z);
}

static nb_status orient(const nb_config *cfg, cell_vectors *cv, nbi_cell_params *out, const nb_log *log,
                        nb_error *err)
{
    double mis[3] = {cfg->misset_rad[0], cfg->misset_rad[1], cfg->misset_rad[2]};
    int apply = cfg->misset_mode != 0;

    if (cfg->mat_path || cfg->have_matrix) {
        double m[9];
        double s = 1e-10 / cfg->lambda0_m;
        if (cfg->mat_path) {
            nb_status st = nbi_read_matrix(cfg->mat_path, m, err);
            if (st != NB_OK)
                return st;
            nbi_log(log, NB_LOG_INFO, "reading %s", cfg->mat_path);
        } else {
            memcpy(m, cfg->matrix, sizeof m);
        }
        cv->as = v3_scale(v3(m[0], m[3], m[6]), s);
        cv->bs = v3_scale(v3(m[1], m[4], m[7]), s);
        cv->cs = v3_scale(v3(m[2], m[5], m[8]), s);
    }
    out->misset_random = cfg->misset_mode < 0;
    if (out->misset_random) {
        nbi_rng rng;
        double umat[9];
        nbi_rng_init(&rng, cfg->misset_seed);
        nbi_rng_mosaic_umat(&rng, 90.0f, umat);
        nbi_umat_to_misset(umat, mis);
        nbi_log(log, NB_LOG_INFO, "random orientation misset angles: %f %f %f deg", mis[0] * RTD,
                mis[1] * RTD, mis[2] * RTD);
    }
    if (cfg->misset_mode == 2) { /* U given: a* b* c* rotated by it */
        const double *u = cfg->umat;
        vec3 *vs[3] = {&cv->as, &cv->bs, &cv->cs};
        for (int i = 0; i < 3; ++i) {
            const vec3 v = *vs[i];
            *vs[i] = v3(u[0] * v.x + u[1] * v.y + u[2] * v.z, u[3] * v.x + u[4] * v.y + u[5] * v.z,
                        u[6] * v.x + u[7] * v.y + u[8] * v.z);
        }
        nbi_umat_to_misset(u, mis);
    } else if (apply) {
        cv->as = v3_rotate_xyz(cv->as, mis[0], mis[1], mis[2]);
        cv->bs = v3_rotate_xyz(cv->bs, mis[0], mis[1], mis[2]);
        cv->cs = v3_rotate_xyz(cv->cs, mis[0], mis[1], mis[2]);
    }
    for (int i = 0; i < 3; ++i)
        out->misset_deg[i] = apply ? mis[i] * RTD : 0.0;
    return NB_OK;
}

/* Direct vectors from the reciprocal ones, then the reciprocal ones again. */
static void regenerate(const nb_config *cfg, cell_vectors *cv)
{
    vec3 axb = v3_cross(cv->as, cv->bs), bxc = v3_cross(cv->bs, cv->cs), cxa = v3_cross(cv->cs, cv->as);
    double V_star = v3_dot(cv->as, bxc), V_cell;
    if (cfg->user_cell) {
        bxc = v3_rescale(bxc, v3_mag(cv->a) / cv->V_cell);
        cxa = v3_rescale(cxa, v3_mag(cv->b) / cv->V_cell);
        axb = v3_rescale(axb, v3_mag(cv->c) / cv->V_cell);
        V_star = 1.0 / cv->V_cell;
    }
    V_cell = 1.0 / V_star;
    cv->a = v3_scale(bxc, V_cell);
    cv->b = v3_scale(cxa, V_cell);
    cv->c = v3_scale(axb, V_cell);
    cv->as = v3_scale(v3_cross(cv->b, cv->c), V_star);
    cv->bs = v3_scale(v3_cross(cv->c, cv->a), V_star);
    cv->cs = v3_scale(v3_cross(cv->a, cv->b), V_star);
    cv->V_cell = V_cell;
}

/* The crystal rotation on top of the misset (crystal_rot*_deg): every
   vector turned about x, then y, then z; none where all three are 0. */
static void turn(const double rot[3], cell_vectors *cv)
{
    vec3 *vs[6] = {&cv->a, &cv->b, &cv->c, &cv->as, &cv->bs, &cv->cs};
    if (rot[0] == 0.0 && rot[1] == 0.0 && rot[2] == 0.0)
        return;
    for (int i = 0; i < 6; ++i)
        *vs[i] = v3_rotate_xyz(*vs[i], rot[0], rot[1], rot[2]);
}

static void log_cell(const nbi_cell *c, const nb_log *log)
{
    const nbi_cell_params *p = &c->params;
    nbi_log(log, NB_LOG_INFO, "Unit Cell: %g %g %g %g %g %g", p->len_A[0], p->len_A[1], p->len_A[2],
            p->deg[0], p->deg[1], p->deg[2]);
    nbi_log(log, NB_LOG_INFO, "Recp Cell: %g %g %g %g %g %g", p->rlen[0], p->rlen[1], p->rlen[2],
            p->rdeg[0], p->rdeg[1], p->rdeg[2]);
    nbi_log(log, NB_LOG_INFO, "volume = %g A^3", p->volume_A3);
    log_matrix(log, "real-space cell vectors (Angstrom):", "a", "b", "c", c->a, c->b, c->c);
    log_matrix(log, "reciprocal-space cell vectors (Angstrom^-1):", "a_star", "b_star", "c_star", c->as,
               c->bs, c->cs);
}

nb_status nbi_crystal_cell(const nb_config *cfg, const nb_log *log, nbi_cell *out, nb_error *err)
{
    cell_vectors cv = {0};
    nb_status st;
    double vol;

    memset(out, 0, sizeof *out);
    if (cfg->user_cell)
        reciprocal_from_cell(cfg, &cv, log);
    st = orient(cfg, &cv, &out->params, log, err);
    if (st != NB_OK)
        return st;
    regenerate(cfg, &cv);
    turn(cfg->crystal_rot_rad, &cv);
    /* the vectors themselves too: a degenerate matrix with a given cell
       leaves the cell's volume but zero vectors */
    vol = v3_dot(cv.a, v3_cross(cv.b, cv.c));
    if (!(cv.V_cell > 0.0 || cv.V_cell < 0.0) || !isfinite(cv.V_cell) || !(vol > 0.0 || vol < 0.0) || !isfinite(vol))
        return nbi_fail(err, NB_ERR_INVALID, "the unit cell has no volume (check cell, mat_path or mosflm_matrix)");
    cell_params(cv.a, cv.b, cv.c, cv.V_cell, out->params.len_A, out->params.deg);
    cell_params(cv.as, cv.bs, cv.cs, 1.0 / cv.V_cell, out->params.rlen, out->params.rdeg);
    out->params.volume_A3 = cv.V_cell;
    out->a = cv.a;
    out->b = cv.b;
    out->c = cv.c;
    out->as = cv.as;
    out->bs = cv.bs;
    out->cs = cv.cs;
    log_cell(out, log);
    return NB_OK;
}

/* The cell's edges in metres, as the rotated-cell tables hold them. */
static void edges_m(vec3 a_A, vec3 b_A, vec3 c_A, vec3 edge[3])
{
    edge[0] = v3_scale(a_A, 1e-10);
    edge[1] = v3_scale(b_A, 1e-10);
    edge[2] = v3_scale(c_A, 1e-10);
}

void nbi_crystal_size(const nb_config *cfg, const nbi_cell *cell, const double sample_m[3],
                      const nb_log *log, nbi_size *out)
{
    vec3 edge[3];
    double la, lb, lc, volume;

    edges_m(cell->a, cell->b, cell->c, edge);
    la = v3_mag(edge[0]);
    lb = v3_mag(edge[1]);
    lc = v3_mag(edge[2]);
    out->Na = sample_m[0] > 0 ? ceil(sample_m[0] / la) : cfg->Na;
    out->Nb = sample_m[1] > 0 ? ceil(sample_m[1] / lb) : cfg->Nb;
    out->Nc = sample_m[2] > 0 ? ceil(sample_m[2] / lc) : cfg->Nc;
    if (out->Na <= 1.0) out->Na = 1.0;
    if (out->Nb <= 1.0) out->Nb = 1.0;
    if (out->Nc <= 1.0) out->Nc = 1.0;
    out->size_m[0] = la * out->Na;
    out->size_m[1] = lb * out->Nb;
    out->size_m[2] = lc * out->Nc;
    nbi_log(log, NB_LOG_INFO, "crystal is %g x %g x %g microns", out->size_m[0] * 1e6,
            out->size_m[1] * 1e6, out->size_m[2] * 1e6);
    volume = out->size_m[0] * out->size_m[1] * out->size_m[2];
    out->molecular_weight = volume * 1.2e6 * NB_AVOGADRO / (out->Na * out->Nb * out->Nc);
}

/* Orientation a sweep leaves at each phi step, starting from 'entry': the
   rotation is skipped where phi == 0, keeping the previous orientation. */
static void phi_orientations(const nbi_crystal *x, const vec3 base[3], const vec3 entry[3], vec3 *out)
{
    for (int t = 0; t < x->phisteps; ++t) {
        double phi = x->phi0_rad + x->phistep_rad * t;
        for (int j = 0; j < 3; ++j) {
            if (phi != 0.0)
                out[3 * t + j] = v3_rotate_axis(base[j], x->spindle, phi);
            else
                out[3 * t + j] = t == 0 ? entry[j] : out[3 * (t - 1) + j];
        }
    }
}

static void fill_cells(const nbi_crystal *x, const vec3 *ap, double *cells)
{
    for (int t = 0; t < x->phisteps; ++t)
        for (int m = 0; m < x->domains; ++m) {
            double *c = cells + 9 * ((long)t * x->domains + m);
            for (int j = 0; j < 3; ++j) {
                vec3 v = ap[3 * t + j];
                if (x->mosaic_spread_rad > 0.0)
                    v = v3_rotate_umat(v, x->umats + 9 * m);
                v3_store(v, c + 3 * j);
            }
        }
}

/* Mosaic domain rotations from the seeded generator; domain 0 is the identity. */
static void mosaic_domains(long seed, nbi_crystal *x)
{
    nbi_rng rng;
    nbi_rng_init(&rng, seed);
    for (int m = 0; m < x->domains; ++m) {
        double *u = x->umats + 9 * m;
        nbi_rng_mosaic_umat(&rng, (float)x->mosaic_spread_rad, u);
        if (m == 0) {
            for (int i = 0; i < 9; ++i)
                u[i] = (i % 4 == 0) ? 1.0 : 0.0;
        }
    }
}

/* The rotated-cell tables of the first and of every later phi sweep. */
static void cell_tables(nbi_crystal *x, vec3 *ap, size_t ncell)
{
    vec3 base[3], entry[3];
    edges_m(x->a_A, x->b_A, x->c_A, base);
    memcpy(entry, base, sizeof entry);
    phi_orientations(x, base, entry, ap);
    fill_cells(x, ap, x->cells_first);
    entry[0] = ap[3 * (x->phisteps - 1) + 0];
    entry[1] = ap[3 * (x->phisteps - 1) + 1];
    entry[2] = ap[3 * (x->phisteps - 1) + 2];
    phi_orientations(x, base, entry, ap);
    fill_cells(x, ap, x->cells);
    x->first_differs = 0;
    for (size_t i = 0; i < ncell; ++i)
        if (x->cells[i] != x->cells_first[i])
            x->first_differs = 1;
}

/* Cell, size, shape and sweeps: everything but the tables. */
static void put_description(const nb_config *cfg, const nbi_cell *cell, const nbi_size *size,
                            const nbi_sampling *sampling, vec3 spindle, nbi_crystal *x)
{
    x->Na = size->Na;
    x->Nb = size->Nb;
    x->Nc = size->Nc;
    memcpy(x->size_m, size->size_m, sizeof x->size_m);
    x->molecular_weight = size->molecular_weight;
    x->shape = cfg->shape;
    x->fudge = cfg->fudge;
    x->a_A = cell->a;
    x->b_A = cell->b;
    x->c_A = cell->c;
    x->astar = cell->as;
    x->bstar = cell->bs;
    x->cstar = cell->cs;
    x->params = cell->params;
    x->spindle = spindle;
    x->phisteps = sampling->phi.count;
    x->phi0_rad = sampling->phi0_rad;
    x->phistep_rad = sampling->phi.step;
    x->osc_rad = sampling->phi.range;
    x->domains = sampling->mosaic_domains;
    x->mosaic_spread_rad = sampling->mosaic_spread_rad;
}

nb_status nbi_crystal_create(const nb_config *cfg, const nbi_cell *cell, const nbi_size *size,
                             const nbi_sampling *sampling, vec3 spindle, const nb_log *log, nbi_crystal *out,
                             nb_error *err)
{
    size_t ncell;
    vec3 *ap;

    memset(out, 0, sizeof *out);
    put_description(cfg, cell, size, sampling, spindle, out);
    ncell = (size_t)out->phisteps * (size_t)out->domains * 9;
    out->umats = calloc((size_t)out->domains * 9, sizeof(double));
    out->cells = calloc(ncell, sizeof(double));
    out->cells_first = calloc(ncell, sizeof(double));
    ap = calloc((size_t)out->phisteps * 3, sizeof(vec3));
    if (!out->umats || !out->cells || !out->cells_first || !ap) {
        free(ap);
        return nbi_fail(err, NB_ERR_NOMEM, "out of memory for %d phi steps x %d mosaic domains",
                        out->phisteps, out->domains);
    }
    mosaic_domains(cfg->mosaic_seed, out);
    nbi_log(log, NB_LOG_INFO, "  created a total of %d mosaic domains", out->domains);
    cell_tables(out, ap, ncell);
    free(ap);
    return NB_OK;
}

void nbi_crystal_free(nbi_crystal *x)
{
    free(x->umats);
    free(x->cells);
    free(x->cells_first);
    x->umats = x->cells = x->cells_first = NULL;
}
