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

#include "rng.h"
#include "textio.h"
#include "util.h"

#define RTD (180.0 * M_1_PI)

typedef struct cell_vectors {
    vec3 a, b, c, as, bs, cs;
    double V_cell;
} cell_vectors;

/* Reciprocal vectors (1/Angstrom) in nanoBragg's default orientation. */
static void reciprocal_from_cell(const nb_config *cfg, cell_vectors *cv, const nb_log *log)
{
    double a = cfg->cell_A[0], b = cfg->cell_A[1], c = cfg->cell_A[2];
    double al = cfg->cell_rad[0], be = cfg->cell_rad[1], ga = cfg->cell_rad[2];
    double aavg, skew, V, Vs, as0, bs0, cs0, cas, cbs, cgs, sgs;

    if (b <= 0.0) b = a;
    if (c <= 0.0) c = a;
    if (al <= 0.0) al = M_PI / 2;
    if (be <= 0.0) be = M_PI / 2;
    if (ga <= 0.0) ga = M_PI / 2;
    aavg = (al + be + ga) / 2;
    skew = sin(aavg) * sin(aavg - al) * sin(aavg - be) * sin(aavg - ga);
    if (skew < 0.0) skew = -skew;
    V = 2.0 * a * b * c * sqrt(skew);
    if (V <= 0.0) {
        nbi_log(log, NB_LOG_WARN, "WARNING: impossible unit cell volume: %g", V);
        V = DBL_MIN;
    }
    Vs = 1.0 / V;
    as0 = fabs(b * c * sin(al) * Vs);
    bs0 = fabs(c * a * sin(be) * Vs);
    cs0 = fabs(a * b * sin(ga) * Vs);
    if (as0 <= 0.0) as0 = DBL_MIN;
    if (bs0 <= 0.0) bs0 = DBL_MIN;
    if (cs0 <= 0.0) cs0 = DBL_MIN;
    sgs = c * Vs / as0 / bs0;
    cas = (cos(be) * cos(ga) - cos(al)) / (sin(be) * sin(ga));
    cbs = (cos(ga) * cos(al) - cos(be)) / (sin(ga) * sin(al));
    cgs = (cos(al) * cos(be) - cos(ga)) / (sin(al) * sin(be));
    if (sgs > 1.0) sgs = 1.0;
    if (sgs < -1.0) sgs = -1.0;
    if (cas * cas > 1.0) cas = 1.0;
    if (cbs * cbs > 1.0) cbs = 1.0;
    if (cgs * cgs > 1.0) cgs = 1.0;
    cv->as = v3(as0, 0.0, 0.0);
    cv->bs = v3(bs0 * cgs, bs0 * sgs, 0.0);
    cv->cs = v3(cs0 * cbs, cs0 * (cas - cbs * cgs) / sgs, cs0 * V / (a * b * c * sgs));
    cv->a = v3(a, 0, 0);
    cv->b = v3(b, 0, 0);
    cv->c = v3(c, 0, 0);
    cv->V_cell = V;
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

static nb_status orient(const nb_config *cfg, nb_experiment *exp, cell_vectors *cv, const nb_log *log,
                        nb_error *err)
{
    double mis[3] = {cfg->misset_rad[0], cfg->misset_rad[1], cfg->misset_rad[2]};
    int apply = cfg->misset_mode != 0;

    if (cfg->mat_path) {
        double m[9];
        double s = 1e-10 / exp->info.lambda0_m;
        nb_status st = nb_read_matrix(cfg->mat_path, m, err);
        if (st != NB_OK)
            return st;
        nbi_log(log, NB_LOG_INFO, "reading %s", cfg->mat_path);
        cv->as = v3_scale(v3(m[0], m[3], m[6]), s);
        cv->bs = v3_scale(v3(m[1], m[4], m[7]), s);
        cv->cs = v3_scale(v3(m[2], m[5], m[8]), s);
    }
    if (cfg->misset_mode < 0) {
        nb_rng rng;
        double umat[9];
        nb_rng_init(&rng, cfg->misset_seed);
        nb_rng_mosaic_umat(&rng, 90.0f, umat);
        nb_umat_to_misset(umat, mis);
        nbi_log(log, NB_LOG_INFO, "random orientation misset angles: %f %f %f deg", mis[0] * RTD,
                mis[1] * RTD, mis[2] * RTD);
        exp->info.misset_random = 1;
    }
    if (apply) {
        cv->as = v3_rotate_xyz(cv->as, mis[0], mis[1], mis[2]);
        cv->bs = v3_rotate_xyz(cv->bs, mis[0], mis[1], mis[2]);
        cv->cs = v3_rotate_xyz(cv->cs, mis[0], mis[1], mis[2]);
    }
    for (int i = 0; i < 3; ++i)
        exp->info.misset_deg[i] = apply ? mis[i] * RTD : 0.0;
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

nb_status nbi_crystal_cell(const nb_config *cfg, nb_experiment *exp, const nb_log *log, nb_error *err)
{
    cell_vectors cv = {0};
    nb_info *in = &exp->info;
    nb_status st;

    if (cfg->user_cell)
        reciprocal_from_cell(cfg, &cv, log);
    st = orient(cfg, exp, &cv, log, err);
    if (st != NB_OK)
        return st;
    regenerate(cfg, &cv);
    if (!(cv.V_cell > 0.0 || cv.V_cell < 0.0) || !isfinite(cv.V_cell))
        return nbi_fail(err, NB_ERR_INVALID, "the unit cell has no volume (check -cell or -mat)");
    cell_params(cv.a, cv.b, cv.c, cv.V_cell, in->cell_A, in->cell_deg);
    cell_params(cv.as, cv.bs, cv.cs, 1.0 / cv.V_cell, in->rcell, in->rcell_deg);
    in->volume_A3 = cv.V_cell;
    nbi_log(log, NB_LOG_INFO, "Unit Cell: %g %g %g %g %g %g", in->cell_A[0], in->cell_A[1], in->cell_A[2],
            in->cell_deg[0], in->cell_deg[1], in->cell_deg[2]);
    nbi_log(log, NB_LOG_INFO, "Recp Cell: %g %g %g %g %g %g", in->rcell[0], in->rcell[1], in->rcell[2],
            in->rcell_deg[0], in->rcell_deg[1], in->rcell_deg[2]);
    nbi_log(log, NB_LOG_INFO, "volume = %g A^3", cv.V_cell);
    log_matrix(log, "real-space cell vectors (Angstrom):", "a", "b", "c", cv.a, cv.b, cv.c);
    log_matrix(log, "reciprocal-space cell vectors (Angstrom^-1):", "a_star", "b_star", "c_star", cv.as,
               cv.bs, cv.cs);
    v3_store(cv.a, in->a_A);
    v3_store(cv.b, in->b_A);
    v3_store(cv.c, in->c_A);
    v3_store(cv.as, in->astar);
    v3_store(cv.bs, in->bstar);
    v3_store(cv.cs, in->cstar);
    exp->xtal.a0 = v3_scale(cv.a, 1e-10);
    exp->xtal.b0 = v3_scale(cv.b, 1e-10);
    exp->xtal.c0 = v3_scale(cv.c, 1e-10);
    exp->xtal.astar = cv.as;
    exp->xtal.bstar = cv.bs;
    exp->xtal.cstar = cv.cs;
    return NB_OK;
}

void nbi_crystal_size(const nb_config *cfg, nb_experiment *exp, const nb_log *log)
{
    nb_crystal *x = &exp->xtal;
    nb_info *in = &exp->info;
    double la = v3_mag(x->a0), lb = v3_mag(x->b0), lc = v3_mag(x->c0), xmax, rpix, volume;
    int rec;

    x->shape = cfg->shape;
    x->fudge = cfg->fudge;
    x->Na = cfg->Na;
    x->Nb = cfg->Nb;
    x->Nc = cfg->Nc;
    if (in->xtal_size_m[0] > 0) x->Na = ceil(in->xtal_size_m[0] / la);
    if (in->xtal_size_m[1] > 0) x->Nb = ceil(in->xtal_size_m[1] / lb);
    if (in->xtal_size_m[2] > 0) x->Nc = ceil(in->xtal_size_m[2] / lc);
    if (x->Na <= 1.0) x->Na = 1.0;
    if (x->Nb <= 1.0) x->Nb = 1.0;
    if (x->Nc <= 1.0) x->Nc = 1.0;
    in->xtal_size_m[0] = la * x->Na;
    in->xtal_size_m[1] = lb * x->Nb;
    in->xtal_size_m[2] = lc * x->Nc;
    nbi_log(log, NB_LOG_INFO, "crystal is %g x %g x %g microns", in->xtal_size_m[0] * 1e6,
            in->xtal_size_m[1] * 1e6, in->xtal_size_m[2] * 1e6);
    xmax = fmax(in->xtal_size_m[0], fmax(in->xtal_size_m[1], in->xtal_size_m[2]));
    rpix = in->lambda0_m * exp->det.distance_m / exp->det.pixel_m;
    {
        /* capped before conversion: the samples-per-pixel limit refuses it */
        double r = ceil(3.0 * xmax / rpix);
        rec = r >= 1e6 ? 1000000 : r >= 1.0 ? (int)r : 1;
    }
    in->recommended_oversample = rec;
    in->oversample = cfg->oversample;
    if (in->oversample <= 0) {
        in->oversample = rec;
        nbi_log(log, NB_LOG_INFO, "auto-selected %d-fold oversampling", in->oversample);
    }
    if (in->oversample < rec) {
        nbi_log(log, NB_LOG_WARN, "WARNING: maximum dimension of sample is %g A", xmax * 1e10);
        nbi_log(log, NB_LOG_WARN, "         but reciprocal pixel size is %g A", rpix * 1e10);
        nbi_log(log, NB_LOG_WARN, "         intensity may vary significantly across a pixel!");
        nbi_log(log, NB_LOG_WARN, "         recommend -oversample %d to work around this", rec);
    }
    volume = in->xtal_size_m[0] * in->xtal_size_m[1] * in->xtal_size_m[2];
    in->molecular_weight = volume * 1.2e6 * NB_AVOGADRO / (x->Na * x->Nb * x->Nc);
    nbi_log(log, NB_LOG_INFO, "approximate MW = %g", in->molecular_weight);
    in->Na = x->Na;
    in->Nb = x->Nb;
    in->Nc = x->Nc;
}

/* Orientation a sweep leaves at each phi step, starting from 'entry': the
   rotation is skipped where phi == 0, keeping the previous orientation. */
static void phi_orientations(const nb_crystal *x, vec3 spindle, const vec3 entry[3], vec3 *out)
{
    const vec3 base[3] = {x->a0, x->b0, x->c0};
    for (int t = 0; t < x->phisteps; ++t) {
        double phi = x->phi0_rad + x->phistep_rad * t;
        for (int j = 0; j < 3; ++j) {
            if (phi != 0.0)
                out[3 * t + j] = v3_rotate_axis(base[j], spindle, phi);
            else
                out[3 * t + j] = t == 0 ? entry[j] : out[3 * (t - 1) + j];
        }
    }
}

static void fill_cells(const nb_crystal *x, const vec3 *ap, double *cells)
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

nb_status nbi_crystal_orientations(const nb_config *cfg, nb_experiment *exp, const nb_log *log,
                                   nb_error *err)
{
    nb_crystal *x = &exp->xtal;
    vec3 spindle = v3_from(exp->info.spindle), entry[3] = {x->a0, x->b0, x->c0}, *ap;
    size_t ncell = (size_t)x->phisteps * (size_t)x->domains * 9;
    nb_rng rng;

    x->umats = calloc((size_t)x->domains * 9, sizeof(double));
    x->cells = calloc(ncell, sizeof(double));
    x->cells_first = calloc(ncell, sizeof(double));
    ap = calloc((size_t)x->phisteps * 3, sizeof(vec3));
    if (!x->umats || !x->cells || !x->cells_first || !ap) {
        free(ap);
        return nbi_fail(err, NB_ERR_NOMEM, "out of memory for %d phi steps x %d mosaic domains",
                        x->phisteps, x->domains);
    }
    nb_rng_init(&rng, cfg->mosaic_seed);
    for (int m = 0; m < x->domains; ++m) {
        double *u = x->umats + 9 * m;
        nb_rng_mosaic_umat(&rng, (float)x->mosaic_spread_rad, u);
        if (m == 0) {
            for (int i = 0; i < 9; ++i)
                u[i] = (i % 4 == 0) ? 1.0 : 0.0;
        }
    }
    nbi_log(log, NB_LOG_INFO, "  created a total of %d mosaic domains", x->domains);

    phi_orientations(x, spindle, entry, ap);
    fill_cells(x, ap, x->cells_first);
    entry[0] = ap[3 * (x->phisteps - 1) + 0];
    entry[1] = ap[3 * (x->phisteps - 1) + 1];
    entry[2] = ap[3 * (x->phisteps - 1) + 2];
    phi_orientations(x, spindle, entry, ap);
    fill_cells(x, ap, x->cells);
    x->first_differs = 0;
    for (size_t i = 0; i < ncell; ++i)
        if (x->cells[i] != x->cells_first[i])
            x->first_differs = 1;
    free(ap);
    return NB_OK;
}

void nbi_crystal_free(nb_crystal *x)
{
    free(x->umats);
    free(x->cells);
    free(x->cells_first);
    x->umats = x->cells = x->cells_first = NULL;
}
