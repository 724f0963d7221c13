/*
 * deriv.c - analytic first derivatives of the image (docs/derivatives.md).
 *
 * The image is a function of a few set-up quantities: the cell of every
 * orientation (phi step x mosaic domain), the detector frame (pix0, fdet,
 * sdet, odet and the near distance), the source wavelengths, Na, Nb, Nc and
 * the fluence.  Two stages:
 *
 *   set-up    how each differentiable parameter moves those quantities
 *             (d cells / d p, d frame / d p, d lambda / d p): once per call;
 *   pixels    the adjoint of the physics terms of kernel.c (the reference
 *             order, its quirks included): for a weight W per pixel, it adds
 *             W d(pixel)/d(quantity) into an accumulator of those quantities.
 *
 * A parameter's derivative is the contraction of the two.  The Jacobian
 * contracts per pixel (W = 1, accumulator cleared per pixel); the gradient
 * of a loss uses W = d loss / d pixel and contracts once, so its cost does
 * not grow with the number of cell and orientation parameters.
 */
#include "deriv.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "crystal.h"
#include "detector.h"
#include "kernel.h"
#include "render.h"
#include "row_loops.h"
#include "serial_order.h"
#include "util.h"

#ifdef NB_HAVE_OPENMP
#include <omp.h>
#endif

#define DTR (M_PI / 180.0)

/* ---------------------------------------------------------------- the parameters */

enum { D_ROTX, D_ROTY, D_ROTZ, D_CELL_A, D_CELL_B, D_CELL_C, D_ALPHA, D_BETA, D_GAMMA, D_MOSAIC };
enum { G_DISTANCE, G_XBEAM, G_YBEAM, G_ORGX, G_ORGY, G_ROTX, G_ROTY, G_ROTZ, G_TWOTHETA };

/* sorted by name */
static const nbi_dparam PARAMS[] = {
    {"Na", "Na", -1, NBI_D_N, 0, 0.1},
    {"Nb", "Nb", -1, NBI_D_N, 1, 0.1},
    {"Nc", "Nc", -1, NBI_D_N, 2, 0.1},
    {"ORGX", "ORGX", -1, NBI_D_DETECTOR, G_ORGX, 0.01},
    {"ORGY", "ORGY", -1, NBI_D_DETECTOR, G_ORGY, 0.01},
    {"Xbeam_mm", "Xbeam_mm", -1, NBI_D_DETECTOR, G_XBEAM, 0.001},
    {"Ybeam_mm", "Ybeam_mm", -1, NBI_D_DETECTOR, G_YBEAM, 0.001},
    {"cell_a_A", "cell", 0, NBI_D_CRYSTAL, D_CELL_A, 0.001},
    {"cell_alpha_deg", "cell", 3, NBI_D_CRYSTAL, D_ALPHA, 0.001},
    {"cell_b_A", "cell", 1, NBI_D_CRYSTAL, D_CELL_B, 0.001},
    {"cell_beta_deg", "cell", 4, NBI_D_CRYSTAL, D_BETA, 0.001},
    {"cell_c_A", "cell", 2, NBI_D_CRYSTAL, D_CELL_C, 0.001},
    {"cell_gamma_deg", "cell", 5, NBI_D_CRYSTAL, D_GAMMA, 0.001},
    {"crystal_rotx_deg", "crystal_rotx_deg", -1, NBI_D_CRYSTAL, D_ROTX, 0.001},
    {"crystal_roty_deg", "crystal_roty_deg", -1, NBI_D_CRYSTAL, D_ROTY, 0.001},
    {"crystal_rotz_deg", "crystal_rotz_deg", -1, NBI_D_CRYSTAL, D_ROTZ, 0.001},
    {"detector_rotx_deg", "detector_rotx_deg", -1, NBI_D_DETECTOR, G_ROTX, 0.001},
    {"detector_roty_deg", "detector_roty_deg", -1, NBI_D_DETECTOR, G_ROTY, 0.001},
    {"detector_rotz_deg", "detector_rotz_deg", -1, NBI_D_DETECTOR, G_ROTZ, 0.001},
    {"distance_mm", "distance_mm", -1, NBI_D_DETECTOR, G_DISTANCE, 0.001},
    {"fluence", "fluence", -1, NBI_D_FLUENCE, 0, 0.0},
    {"lambda_A", "lambda_A", -1, NBI_D_LAMBDA, 0, 1e-5},
    {"mosaic_spread_deg", "mosaic_spread_deg", -1, NBI_D_CRYSTAL, D_MOSAIC, 0.001},
    {"twotheta_deg", "twotheta_deg", -1, NBI_D_DETECTOR, G_TWOTHETA, 0.001},
};
#define NPARAMS ((int)(sizeof PARAMS / sizeof PARAMS[0]))

const nbi_dparam *nbi_dparam_find(const char *name)
{
    if (!name)
        return NULL;
    for (int i = 0; i < NPARAMS; ++i)
        if (strcmp(PARAMS[i].name, name) == 0)
            return &PARAMS[i];
    return NULL;
}

int nb_deriv_param_count(void) { return NPARAMS; }

const char *nb_deriv_param_name(int i) { return i >= 0 && i < NPARAMS ? PARAMS[i].name : NULL; }

/* ---------------------------------------------------------------- 3x3 matrices */

typedef struct m3 {
    double m[3][3];
} m3;

/* The matrix whose columns are the vectors v[0..2]. */
static m3 m3_cols(const vec3 v[3])
{
    m3 r;
    for (int j = 0; j < 3; ++j) {
        r.m[0][j] = v[j].x;
        r.m[1][j] = v[j].y;
        r.m[2][j] = v[j].z;
    }
    return r;
}

static vec3 m3_col(const m3 *a, int j) { return v3(a->m[0][j], a->m[1][j], a->m[2][j]); }

static m3 m3_mul(const m3 *a, const m3 *b)
{
    m3 r;
    for (int i = 0; i < 3; ++i)
        for (int j = 0; j < 3; ++j)
            r.m[i][j] = a->m[i][0] * b->m[0][j] + a->m[i][1] * b->m[1][j] + a->m[i][2] * b->m[2][j];
    return r;
}

static m3 m3_inverse(const m3 *a)
{
    const vec3 c0 = m3_col(a, 0), c1 = m3_col(a, 1), c2 = m3_col(a, 2);
    const vec3 r0 = v3_cross(c1, c2), r1 = v3_cross(c2, c0), r2 = v3_cross(c0, c1);
    const double det = v3_dot(c0, r0);
    const vec3 rows[3] = {r0, r1, r2};
    m3 r;
    for (int i = 0; i < 3; ++i) {
        r.m[i][0] = rows[i].x / det;
        r.m[i][1] = rows[i].y / det;
        r.m[i][2] = rows[i].z / det;
    }
    return r;
}

/* ---------------------------------------------------------------- set-up derivatives */

/* Indices of the frame quantities in an accumulator's det[]. */
enum { DET_PIX0 = 0, DET_F = 3, DET_S = 6, DET_O = 9, DET_CLOSE = 12, DET_N = 13 };

/* How one parameter moves the set-up quantities, per unit of the parameter. */
typedef struct dmove {
    const nbi_dparam *p;
    double *cell, *cellf; /* norient x 9 each (cellf: the first sweep's table), or NULL */
    double det[DET_N];
    double *lam;          /* per source, or NULL */
    double lam_scale;     /* lam[s] / lambda_s, where that is the same for every source (else 0) */
    double N[3];
    double flu;
} dmove;

/* nanoBragg's direct cell in its default frame, columns a, b, c (A): each
   edge along the cross product of the other two reciprocal vectors
   (crystal.c's regeneration), with its length as given; and its
   derivative with respect to cell element which (per A or per radian). */
static void default_cell(const nb_config *cfg, int which, m3 *A, m3 *dA)
{
    const double cell[6] = {cfg->cell_A[0], cfg->cell_A[1], cfg->cell_A[2],
                            cfg->cell_rad[0], cfg->cell_rad[1], cfg->cell_rad[2]};
    vec3 s[3], ds[3], col[3], dcol[3];
    double V, impossible;
    nbi_reciprocal_cell(cell, which, s, ds, &V, &impossible);
    for (int j = 0; j < 3; ++j) {
        const int p = (j + 1) % 3, q = (j + 2) % 3;
        /* the length: b and c follow a where not given */
        const int from = cell[j] > 0.0 ? j : 0;
        const double len = cell[from], dlen = which == from ? 1.0 : 0.0;
        const vec3 w = v3_cross(s[p], s[q]), dw = v3_add(v3_cross(ds[p], s[q]), v3_cross(s[p], ds[q]));
        vec3 u;
        const double m = v3_unit(w, &u);
        const vec3 du_ = v3_scale(v3_sub(dw, v3_scale(u, v3_dot(u, dw))), 1.0 / m);
        col[j] = v3_scale(u, len);
        dcol[j] = v3_add(v3_scale(u, dlen), v3_scale(du_, len));
    }
    *A = m3_cols(col);
    *dA = m3_cols(dcol);
}

static vec3 rot1(vec3 v, int axis, double angle)
{
    return v3_rotate_xyz(v, axis == 0 ? angle : 0.0, axis == 1 ? angle : 0.0, axis == 2 ? angle : 0.0);
}

/* d/d angle of the rotations x, then y, then z by r of v0 (the angle of
   axis 'which'), per radian. */
static vec3 d_rotate_xyz(vec3 v0, const double r[3], int which)
{
    static const vec3 unit[3] = {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}};
    vec3 v = v0;
    for (int i = 0; i <= which; ++i)
        v = rot1(v, i, r[i]);
    v = v3_cross(unit[which], v);
    for (int i = which + 1; i < 3; ++i)
        v = rot1(v, i, r[i]);
    return v;
}

/* d/d angle of the rotation of v by angle about axis k (any length), as
   v3_rotate_axis computes it, per radian. */
static vec3 d_rotate_axis(vec3 v, vec3 k, double angle)
{
    const double s = sin(angle), c = cos(angle), kv = v3_dot(k, v);
    const vec3 kxv = v3_cross(k, v);
    return v3(-s * v.x + c * kxv.x + s * k.x * kv, -s * v.y + c * kxv.y + s * k.y * kv,
              -s * v.z + c * kxv.z + s * k.z * kv);
}

/* The crystal's base cell (edges in metres, before phi and mosaic) as a
   matrix, and its derivative with respect to crystal parameter which,
   per unit of the parameter. */
static nb_status base_move(const nb_config *cfg, const nb_experiment *e, int which, m3 *dB, nb_error *err)
{
    const nbi_crystal *x = &e->xtal;
    const vec3 base[3] = {v3_scale(x->a_A, 1e-10), v3_scale(x->b_A, 1e-10), v3_scale(x->c_A, 1e-10)};
    const m3 B = m3_cols(base);
    vec3 d[3];
    if (which <= D_ROTZ) {
        const double *r = cfg->crystal_rot_rad;
        for (int j = 0; j < 3; ++j) {
            /* undo the rotation: the vector before it */
            vec3 v0 = rot1(rot1(rot1(base[j], 2, -r[2]), 1, -r[1]), 0, -r[0]);
            d[j] = v3_scale(d_rotate_xyz(v0, r, which - D_ROTX), DTR);
        }
        *dB = m3_cols(d);
        return NB_OK;
    }
    if (which <= D_GAMMA) {
        m3 A, dA, L;
        if (!cfg->user_cell || cfg->mat_path || cfg->have_matrix)
            return nbi_fail(err, NB_ERR_USAGE, "the cell derivatives need a cell given by 'cell' without an "
                            "orientation matrix (refine crystal_rot*_deg instead)");
        default_cell(cfg, which - D_CELL_A, &A, &dA);
        L = m3_inverse(&A);
        L = m3_mul(&B, &L); /* base = L A: the misset and crystal rotation */
        *dB = m3_mul(&L, &dA);
        if (which >= D_ALPHA)
            for (int i = 0; i < 3; ++i)
                for (int j = 0; j < 3; ++j)
                    dB->m[i][j] *= DTR;
        return NB_OK;
    }
    return NB_OK;
}

/* Cells of every orientation of table 'cells' moved by dB (dcell_o = cell_o
   B^-1 dB), or by the mosaic spread. */
static void cells_move(const nb_experiment *e, const double *cells, const m3 *Binv_dB, int mosaic, double *out)
{
    const nbi_crystal *x = &e->xtal;
    const int n = x->phisteps * x->domains;
    for (int o = 0; o < n; ++o) {
        const double *c = cells + 9 * o;
        double *d = out + 9 * o;
        if (mosaic) {
            /* U = exp([omega]x) with omega = angle x axis; the angle scales with the spread */
            const double *u = x->umats + 9 * (o % x->domains);
            const vec3 w = v3(0.5 * (u[7] - u[5]), 0.5 * (u[2] - u[6]), 0.5 * (u[3] - u[1]));
            const double sn = v3_mag(w), cs = 0.5 * (u[0] + u[4] + u[8] - 1.0);
            vec3 om = v3(0, 0, 0);
            if (sn > 0.0 && x->mosaic_spread_rad > 0.0)
                om = v3_scale(w, atan2(sn, cs) / sn / x->mosaic_spread_rad * DTR);
            for (int j = 0; j < 3; ++j)
                v3_store(v3_cross(om, v3(c[3 * j], c[3 * j + 1], c[3 * j + 2])), d + 3 * j);
            continue;
        }
        /* columns of the cell matrix are the rows of c */
        for (int j = 0; j < 3; ++j)
            for (int i = 0; i < 3; ++i)
                d[3 * j + i] = c[0 + i] * Binv_dB->m[0][j] + c[3 + i] * Binv_dB->m[1][j] + c[6 + i] * Binv_dB->m[2][j];
    }
}

/* The frame derivatives of detector parameter which (per its unit). */
static nb_status detector_move(const nb_config *cfg, const nb_experiment *e, const nbi_dparam *p,
                               double out[DET_N], nb_error *err)
{
    const nbi_detector *det = &e->det;
    nbi_panel panel;
    nbi_frame fr;
    const double *r = cfg->detector_rot_rad, th = cfg->twotheta_rad;
    vec3 f0, s0, o0, tt, beam, f, s, o, df, ds, do_, dpix0 = v3(0, 0, 0);
    double ratio, dratio = 0.0, close, dclose = 0.0, ddist, d = cfg->distance_m, sgn, dFc = 0, dSc = 0,
                  dFb = 0, dSb = 0;
    const int which = p->which;
    const int given = !nb_is_unset(cfg->close_distance_m), rot = which >= G_ROTX && which <= G_ROTZ;
    nb_status st;

    if (det->curved)
        return nbi_fail(err, NB_ERR_USAGE, "%s: no derivatives for a curved detector", p->name);
    if ((st = nbi_detector_size(cfg, &panel, err)) != NB_OK)
        return st;
    nbi_detector_frame(cfg, &panel, NULL, &fr);
    f0 = fr.fdet, s0 = fr.sdet, o0 = fr.odet, tt = fr.twotheta_axis, beam = fr.beam;
    f = det->fdet, s = det->sdet, o = det->odet;

    /* the axes */
    df = ds = do_ = v3(0, 0, 0);
    if (rot) {
        const int k = which - G_ROTX;
        df = v3_rotate_axis(d_rotate_xyz(f0, r, k), tt, th);
        ds = v3_rotate_axis(d_rotate_xyz(s0, r, k), tt, th);
        do_ = v3_rotate_axis(d_rotate_xyz(o0, r, k), tt, th);
        dratio = v3_dot(beam, d_rotate_xyz(o0, r, k));
    } else if (which == G_TWOTHETA) {
        df = d_rotate_axis(v3_rotate_xyz(f0, r[0], r[1], r[2]), tt, th);
        ds = d_rotate_axis(v3_rotate_xyz(s0, r[0], r[1], r[2]), tt, th);
        do_ = d_rotate_axis(v3_rotate_xyz(o0, r[0], r[1], r[2]), tt, th);
    }
    /* the distances */
    ratio = v3_dot(beam, v3_rotate_xyz(o0, r[0], r[1], r[2]));
    if (ratio == 0.0)
        ratio = DBL_MIN;
    close = given ? cfg->close_distance_m : fabs(ratio * d);
    sgn = ratio * d < 0.0 ? -1.0 : 1.0;
    if (!given) {
        dclose = sgn * d * dratio;
        if (which == G_DISTANCE)
            dclose = sgn * ratio * 1e-3;
    }
    /* the beam pivot's distance is close / ratio */
    ddist = dclose / ratio - close * dratio / (ratio * ratio);
    /* the beam centre or near point */
    if (fr.pivot == NB_PIVOT_BEAM) {
        if (which == G_XBEAM || which == G_YBEAM) {
            const int X = which == G_XBEAM;
            switch (fr.convention) {
            case NB_CONV_ADXV: dFb = X ? 1e-3 : 0.0, dSb = X ? 0.0 : -1e-3; break;
            case NB_CONV_MOSFLM:
            case NB_CONV_DENZO: dFb = X ? 0.0 : 1e-3, dSb = X ? 1e-3 : 0.0; break;
            default: dFb = X ? 1e-3 : 0.0, dSb = X ? 0.0 : 1e-3; break;
            }
        }
        dpix0 = v3_add(v3_add(v3_scale(df, -fr.centres.Fbeam_m), v3_scale(ds, -fr.centres.Sbeam_m)),
                       v3_add(v3_scale(beam, ddist), v3_add(v3_scale(f, -dFb), v3_scale(s, -dSb))));
    } else {
        const double Fc = fr.centres.Fclose_m, Sc = fr.centres.Sclose_m;
        vec3 q, dq;
        if (fr.convention == NB_CONV_CUSTOM) {
            if (which == G_XBEAM) dFc = 1e-3;
            if (which == G_YBEAM) dSc = 1e-3;
        } else {
            if (which == G_ORGX) dFc = panel.pixel_m;
            if (which == G_ORGY) dSc = panel.pixel_m;
        }
        q = v3_add(v3_sub(v3_scale(f0, -Fc), v3_scale(s0, Sc)), v3_scale(o0, close));
        dq = v3_add(v3_sub(v3_scale(f0, -dFc), v3_scale(s0, dSc)), v3_scale(o0, dclose));
        dpix0 = v3_rotate_axis(v3_rotate_xyz(dq, r[0], r[1], r[2]), tt, th);
        if (rot)
            dpix0 = v3_add(dpix0, v3_rotate_axis(d_rotate_xyz(q, r, which - G_ROTX), tt, th));
        else if (which == G_TWOTHETA)
            dpix0 = v3_add(dpix0, d_rotate_axis(v3_rotate_xyz(q, r[0], r[1], r[2]), tt, th));
    }
    if (rot || which == G_TWOTHETA) {
        df = v3_scale(df, DTR), ds = v3_scale(ds, DTR), do_ = v3_scale(do_, DTR), dpix0 = v3_scale(dpix0, DTR);
    }
    v3_store(dpix0, out + DET_PIX0);
    v3_store(df, out + DET_F);
    v3_store(ds, out + DET_S);
    v3_store(do_, out + DET_O);
    out[DET_CLOSE] = v3_dot(dpix0, o) + v3_dot(det->pix0, do_);
    return NB_OK;
}

/* The set-up of a derivative call: the experiment and each parameter's move. */
typedef struct dctx {
    const nb_experiment *e;
    int norient, nsrc;
    int np;
    dmove *mv;
    nbi_landmarks lm;
    int want_F;
    int want_N; /* some parameter moves Na, Nb or Nc */
    int incident;  /* the sources' directions differ */
    int lam_rows;  /* every wavelength move is a common scale (lam_scale): the rows can run */
    long nF; /* entries of the padded HKL table */
} dctx;

static void dctx_free(dctx *c)
{
    if (!c->mv)
        return;
    for (int i = 0; i < c->np; ++i) {
        free(c->mv[i].cell);
        free(c->mv[i].cellf);
        free(c->mv[i].lam);
    }
    free(c->mv);
    c->mv = NULL;
}

/* Whether sources i and j come from one direction. */
static int same_direction(const nbi_sources *src, int i, int j)
{
    return src->x[i] == src->x[j] && src->y[i] == src->y[j] && src->z[i] == src->z[j];
}

static nb_status check_supported(const nb_experiment *e, nb_error *err)
{
    const nbi_detector *d = &e->det;
    if (d->oversample_thick || d->oversample_polar || d->oversample_omega)
        return nbi_fail(err, NB_ERR_USAGE, "derivatives: oversample_thick, oversample_polar and oversample_omega "
                        "are not supported (nanoBragg multiplies the running sum by them)");
    if (e->xtal.shape != NB_SHAPE_SQUARE)
        return nbi_fail(err, NB_ERR_USAGE, "derivatives: shape must be square (the parallelepiped; round, gauss and tophat are not differentiated)");
    return NB_OK;
}

static nb_status dctx_init(dctx *c, const nb_config *cfg, const nb_experiment *e, const char *const *names, int np,
                           nb_error *err)
{
    const nbi_crystal *x = &e->xtal;
    const size_t ncell = (size_t)x->phisteps * x->domains * 9;
    nb_status st;
    memset(c, 0, sizeof *c);
    c->e = e;
    c->norient = x->phisteps * x->domains;
    c->nsrc = e->src.n;
    c->np = np;
    c->lam_rows = 1;
    for (int s = 1; s < c->nsrc; ++s)
        c->incident |= !same_direction(&e->src, s, 0);
    if ((st = check_supported(e, err)) != NB_OK)
        return st;
    if (np < 0 || (np > 0 && !names))
        return nbi_fail(err, NB_ERR_INVALID, "derivatives: %d parameters and names %s", np, names ? "given" : "NULL");
    c->mv = calloc(np > 0 ? (size_t)np : 1, sizeof *c->mv);
    if (!c->mv)
        return nbi_fail(err, NB_ERR_NOMEM, "derivatives: out of memory");
    for (int i = 0; i < np; ++i) {
        dmove *m = &c->mv[i];
        const nbi_dparam *p = nbi_dparam_find(names[i]);
        if (!p)
            return nbi_fail(err, NB_ERR_INVALID, "derivatives: '%s' is not a differentiable parameter "
                            "(nb_deriv_param_name lists them)", names[i] ? names[i] : "(null)");
        for (int j = 0; j < i; ++j)
            if (c->mv[j].p == p)
                return nbi_fail(err, NB_ERR_INVALID, "derivatives: '%s' is asked for twice", p->name);
        m->p = p;
        switch (p->kind) {
        case NBI_D_N:
            m->N[p->which] = 1.0;
            c->want_N = 1;
            break;
        case NBI_D_FLUENCE:
            m->flu = 1.0;
            break;
        case NBI_D_DETECTOR:
            if ((st = detector_move(cfg, e, p, m->det, err)) != NB_OK)
                return st;
            break;
        case NBI_D_LAMBDA:
            m->lam = malloc((size_t)c->nsrc * sizeof *m->lam);
            if (!m->lam)
                return nbi_fail(err, NB_ERR_NOMEM, "derivatives: out of memory");
            for (int s = 0; s < c->nsrc; ++s) {
                const double l = e->src.lambda_m[s];
                /* grid sources scale with lambda0; listed ones only where defaulted to it */
                const int listed = cfg->source_path || cfg->nsources > 0;
                m->lam[s] = !listed ? l / e->beam.lambda0_m * 1e-10 : l == e->beam.lambda0_m ? 1e-10 : 0.0;
            }
            m->lam_scale = m->lam[0] / e->src.lambda_m[0];
            for (int s = 1; s < c->nsrc; ++s)
                if (fabs(m->lam[s] - m->lam_scale * e->src.lambda_m[s]) > 1e-12 * fabs(m->lam[s]))
                    m->lam_scale = 0.0, c->lam_rows = 0;
            if ((cfg->mat_path || cfg->have_matrix) && !cfg->user_cell) {
                /* a matrix's reciprocal vectors are divided by lambda: the cell scales with it */
                m3 q = {{{1, 0, 0}, {0, 1, 0}, {0, 0, 1}}};
                for (int k = 0; k < 3; ++k)
                    q.m[k][k] = 1.0 / (e->beam.lambda0_m * 1e10);
                m->cell = malloc(ncell * sizeof(double));
                m->cellf = x->first_differs ? malloc(ncell * sizeof(double)) : NULL;
                if (!m->cell || (x->first_differs && !m->cellf))
                    return nbi_fail(err, NB_ERR_NOMEM, "derivatives: out of memory");
                cells_move(e, x->cells, &q, 0, m->cell);
                if (m->cellf)
                    cells_move(e, x->cells_first, &q, 0, m->cellf);
            }
            break;
        case NBI_D_CRYSTAL: {
            m3 dB = {{{0}}}, q;
            const int mosaic = p->which == D_MOSAIC;
            if (!mosaic) {
                const vec3 base[3] = {v3_scale(x->a_A, 1e-10), v3_scale(x->b_A, 1e-10), v3_scale(x->c_A, 1e-10)};
                const m3 B = m3_cols(base);
                m3 Binv = m3_inverse(&B);
                if ((st = base_move(cfg, e, p->which, &dB, err)) != NB_OK)
                    return st;
                q = m3_mul(&Binv, &dB);
            }
            m->cell = malloc(ncell * sizeof(double));
            m->cellf = x->first_differs ? malloc(ncell * sizeof(double)) : NULL;
            if (!m->cell || (x->first_differs && !m->cellf))
                return nbi_fail(err, NB_ERR_NOMEM, "derivatives: out of memory");
            cells_move(e, x->cells, &q, mosaic, m->cell);
            if (m->cellf)
                cells_move(e, x->cells_first, &q, mosaic, m->cellf);
            break;
        }
        }
    }
    return NB_OK;
}

/* ---------------------------------------------------------------- accumulators */

/* d(sum of W x pixel)/d(set-up quantity). */
typedef struct acc {
    double *cell, *cellf; /* norient x 9 (cellf: the first sweep's cells), cellf may be NULL */
    double det[DET_N];
    double *lam;          /* nsrc */
    double lam_scale;     /* d/ds at s = 1 of every wavelength scaled by s (its share not in lam) */
    double N[3];
    double flu;
    double *F;            /* the padded HKL table's entries, or NULL */
    double value;         /* sum of W x pixel */
} acc;

static void acc_free(acc *a)
{
    free(a->cell);
    free(a->cellf);
    free(a->lam);
    free(a->F);
    memset(a, 0, sizeof *a);
}

static int acc_alloc(const dctx *c, acc *a)
{
    const size_t n = (size_t)c->norient * 9;
    memset(a, 0, sizeof *a);
    a->cell = calloc(n, sizeof(double));
    a->cellf = c->e->xtal.first_differs ? calloc(n, sizeof(double)) : NULL;
    a->lam = calloc((size_t)c->nsrc, sizeof(double));
    a->F = c->want_F ? calloc((size_t)c->nF, sizeof(double)) : NULL;
    if (!a->cell || !a->lam || (c->e->xtal.first_differs && !a->cellf) || (c->want_F && !a->F)) {
        acc_free(a);
        return 0;
    }
    return 1;
}

static void acc_clear(const dctx *c, acc *a)
{
    const size_t n = (size_t)c->norient * 9;
    memset(a->cell, 0, n * sizeof(double));
    if (a->cellf)
        memset(a->cellf, 0, n * sizeof(double));
    memset(a->det, 0, sizeof a->det);
    memset(a->lam, 0, (size_t)c->nsrc * sizeof(double));
    a->N[0] = a->N[1] = a->N[2] = 0.0;
    a->flu = 0.0;
    a->lam_scale = 0.0;
    a->value = 0.0;
    if (a->F)
        memset(a->F, 0, (size_t)c->nF * sizeof(double));
}

/* out += a (in a fixed order) */
static void acc_add(const dctx *c, acc *out, const acc *a)
{
    const size_t n = (size_t)c->norient * 9;
    for (size_t i = 0; i < n; ++i)
        out->cell[i] += a->cell[i];
    if (out->cellf)
        for (size_t i = 0; i < n; ++i)
            out->cellf[i] += a->cellf[i];
    for (int i = 0; i < DET_N; ++i)
        out->det[i] += a->det[i];
    for (int i = 0; i < c->nsrc; ++i)
        out->lam[i] += a->lam[i];
    for (int i = 0; i < 3; ++i)
        out->N[i] += a->N[i];
    out->flu += a->flu;
    out->lam_scale += a->lam_scale;
    out->value += a->value;
    if (out->F)
        for (long i = 0; i < c->nF; ++i)
            out->F[i] += a->F[i];
}

/* The derivative of the accumulated quantity along parameter move m. */
static double contract(const dctx *c, const dmove *m, const acc *a)
{
    const size_t n = (size_t)c->norient * 9;
    double sum = 0.0;
    if (m->cell)
        for (size_t i = 0; i < n; ++i)
            sum += a->cell[i] * m->cell[i];
    if (m->cellf && a->cellf)
        for (size_t i = 0; i < n; ++i)
            sum += a->cellf[i] * m->cellf[i];
    for (int i = 0; i < DET_N; ++i)
        sum += a->det[i] * m->det[i];
    if (m->lam)
        for (int i = 0; i < c->nsrc; ++i)
            sum += a->lam[i] * m->lam[i];
    sum += a->lam_scale * m->lam_scale;
    sum += a->N[0] * m->N[0] + a->N[1] * m->N[1] + a->N[2] * m->N[2];
    sum += a->flu * m->flu;
    return sum;
}

/* ---------------------------------------------------------------- the physics, differentiated */

/* sin(N pi h)/sin(pi h) on the reduced h (as the kernels evaluate it), and
   its derivatives with respect to h and N; the sines and cosines from the
   kernels' polynomials of the reduced arguments (physics_real.h).  Only the
   products G dG/dh and G dG/dN are used, so a common sign does not matter. */
/* d/dt of the Lagrange weights of nodes -1, 0, 1, 2 at t. */
static void lagrange_slopes(double t, double w[4])
{
    w[0] = -(3.0 * t * t - 6.0 * t + 2.0) / 6.0;
    w[1] = (3.0 * t * t - 4.0 * t - 1.0) / 2.0;
    w[2] = -(3.0 * t * t - 2.0 * t - 2.0) / 2.0;
    w[3] = (3.0 * t * t - 1.0) / 6.0;
}

/* Where a structure factor came from: a table entry, a 4x4x4 neighbourhood
   of entries (weights per axis), or default_F. */
typedef struct sf_site {
    int kind; /* 0: default_F, 1: entry at, 2: neighbourhood from at */
    long at;
    double wh[4], wk[4], wl[4];
} sf_site;

/* Structure factor at (h,k,l) and its gradient dF[3]; interp as kernel.c
   (switched off for good at the first neighbourhood outside the table). */
static double sf_diff(const nb_experiment *e, double h, double k, double l, int *interp, double dF[3], sf_site *site)
{
    dF[0] = dF[1] = dF[2] = 0.0;
    site->kind = 0;
    if (*interp) {
        if (nbi_hkl_interp_ok(&e->hkl, h, k, l)) {
            const nbi_grid_d g = nbi_hkl_grid(&e->hkl);
            double sh[4], sk[4], sl[4], F = 0.0;
            const int base = nbi_interp_weights_d(g, h, k, l, site->wh, site->wk, site->wl);
            const double *wh = site->wh, *wk = site->wk, *wl = site->wl;
            lagrange_slopes(h - floor(h), sh);
            lagrange_slopes(k - floor(k), sk);
            lagrange_slopes(l - floor(l), sl);
            for (int i = 0; i < 4; ++i)
                for (int j = 0; j < 4; ++j)
                    for (int m = 0; m < 4; ++m) {
                        const double y = g.F[base + (long)i * g.hstride + (long)j * g.kstride + m];
                        F += wh[i] * wk[j] * wl[m] * y;
                        dF[0] += sh[i] * wk[j] * wl[m] * y;
                        dF[1] += wh[i] * sk[j] * wl[m] * y;
                        dF[2] += wh[i] * wk[j] * sl[m] * y;
                    }
            site->kind = 2;
            site->at = base;
            return F;
        }
        *interp = 0;
    }
    {
        const double h0 = ceil(h - 0.5), k0 = ceil(k - 0.5), l0 = ceil(l - 0.5);
        const nbi_hkl *t = &e->hkl;
        if (e->have_hkl && t->F && h0 >= t->h_min && h0 <= t->h_max && k0 >= t->k_min && k0 <= t->k_max
            && l0 >= t->l_min && l0 <= t->l_max) {
            site->kind = 1;
            site->at = nbi_hkl_index(t, (int)h0, (int)k0, (int)l0);
            return t->F[site->at];
        }
        return e->default_F;
    }
}

/* Fbar[entries] += scale x dF/d(entry) for the structure factor of site. */
static void sf_scatter(const nb_experiment *e, const sf_site *site, double scale, double *Fbar)
{
    if (site->kind == 1) {
        Fbar[site->at] += scale;
    } else if (site->kind == 2) {
        const nbi_grid_d g = nbi_hkl_grid(&e->hkl);
        for (int i = 0; i < 4; ++i)
            for (int j = 0; j < 4; ++j)
                for (int m = 0; m < 4; ++m)
                    Fbar[site->at + (long)i * g.hstride + (long)j * g.kstride + m]
                        += scale * site->wh[i] * site->wk[j] * site->wl[m];
    }
}

/* Where a sub-pixel is: its position, the offsets along the axes. */
typedef struct spot {
    vec3 pos, dir;
    double R, Fo, So, Oo;
} spot;

static spot locate(const nb_experiment *e, int f, int s, int t, int subF, int subS)
{
    const nbi_detector *d = &e->det;
    spot p;
    p.Fo = nbi_subpixel_offset(d->subpixel_m, f, d->oversample, subF);
    p.So = nbi_subpixel_offset(d->subpixel_m, s, d->oversample, subS);
    p.Oo = t * d->thickstep_m;
    /* where the kernel puts it (a curved detector's too); the offsets above
       are the flat detector's, used only by its frame's derivatives */
    p.dir = nbi_subpixel_direction(e, f, s, t, subF, subS, &p.R);
    p.pos = v3_scale(p.dir, p.R);
    return p;
}

/* a->det += the frame's share of d/d(position) g at p. */
static void add_position(acc *a, const spot *p, vec3 g)
{
    const double c[4] = {1.0, p->Fo, p->So, p->Oo};
    for (int k = 0; k < 4; ++k) {
        a->det[3 * k + 0] += c[k] * g.x;
        a->det[3 * k + 1] += c[k] * g.y;
        a->det[3 * k + 2] += c[k] * g.z;
    }
}

/* (I - d d^T) g / R: a gradient with respect to the unit direction moved
   to the position. */
static vec3 direction_to_position(const spot *p, vec3 g)
{
    const double dg = v3_dot(p->dir, g);
    return v3_scale(v3_sub(g, v3_scale(p->dir, dg)), 1.0 / p->R);
}

/* The pixel's factors as kernel.c takes them (without the oversample_*
   switches): solid angle of the first sub-pixel, absorption of the first
   sub-pixel of the last layer, polarization of the first sample that
   passes -dmin. */
typedef struct factors {
    double omega, capture, polar;
    spot at_omega, at_capture, at_polar;
    int polar_source, have_polar;
} factors;

static int passes(const nb_experiment *e, vec3 dir, int s)
{
    const nbi_sources *src = &e->src;
    const double lambda = src->lambda_m[s];
    if (!(e->dmin_m > 0.0))
        return 1;
    return nbi_within_dmin_d(dir.x, dir.y, dir.z, -src->x[s], -src->y[s], -src->z[s], 1.0 / lambda, 0.5 / e->dmin_m);
}

static void polar_frame_of(const nb_experiment *e, int s, vec3 *inc, vec3 *E, vec3 *B)
{
    const nbi_sources *src = &e->src;
    *inc = v3(-src->x[s], -src->y[s], -src->z[s]);
    nbi_polar_frame(*inc, e->polar_vector, E, B);
}

static void pixel_factors(const nb_experiment *e, int f, int s, factors *fa)
{
    const nbi_detector *d = &e->det;
    const int os = d->oversample;
    fa->at_omega = locate(e, f, s, 0, 0, 0);
    fa->omega = nbi_solid_angle(d->point_pixel, d->pixel_m, d->close_distance_m, fa->at_omega.R);
    fa->capture = 1.0;
    if (d->thick_m != 0.0) {
        fa->at_capture = locate(e, f, s, d->thicksteps - 1, 0, 0);
        fa->capture = nbi_capture_fraction(v3_dot(fa->at_capture.dir, d->odet), d->thicksteps - 1, d->thickstep_m, d->mu);
    }
    fa->polar = 1.0;
    fa->have_polar = 0;
    if (e->nopolar)
        return;
    fa->polar = 0.0;
    for (int t = 0; t < d->thicksteps; ++t)
        for (int subS = 0; subS < os; ++subS)
            for (int subF = 0; subF < os; ++subF) {
                const spot p = locate(e, f, s, t, subF, subS);
                for (int k = 0; k < e->src.n; ++k)
                    if (passes(e, p.dir, k)) {
                        vec3 inc, E, B;
                        polar_frame_of(e, k, &inc, &E, &B);
                        fa->at_polar = p;
                        fa->polar_source = k;
                        fa->have_polar = 1;
                        fa->polar = nbi_polarization(e->polarization, inc.x, inc.y, inc.z, E.x, E.y, E.z, B.x, B.y,
                                                     B.z, p.dir.x, p.dir.y, p.dir.z);
                        return;
                    }
            }
}

/* d(polarization)/d(unit direction) at fa->at_polar. */
static vec3 polar_slope(const nb_experiment *e, const factors *fa)
{
    vec3 inc, Ev, Bv;
    const vec3 dir = fa->at_polar.dir;
    double c, E, B, r, cos2psi, K = e->polarization;
    vec3 g;
    polar_frame_of(e, fa->polar_source, &inc, &Ev, &Bv);
    c = v3_dot(inc, dir);
    E = v3_dot(dir, Ev);
    B = v3_dot(dir, Bv);
    r = E * E + B * B;
    cos2psi = (K != 0.0 && r > 0.0) ? (E * E - B * B) / r : 1.0;
    g = v3_scale(inc, c * (1.0 + K * cos2psi));
    if (K != 0.0 && r > 0.0) {
        const double k2 = -0.5 * K * (1.0 - c * c);
        g = v3_add(g, v3_scale(Ev, k2 * 4.0 * E * B * B / (r * r)));
        g = v3_add(g, v3_scale(Bv, -k2 * 4.0 * B * E * E / (r * r)));
    }
    return g;
}

/* W times the derivatives of the pixel's factors (solid angle, absorption,
   polarization) and of the fluence, added to a; sumT: the pixel's sum of
   F^2 L^2, V its value. */
static void factors_adjoint(const dctx *c, const factors *fa_, double W, double sumT, double V, acc *a)
{
    const nb_experiment *e = c->e;
    const nbi_detector *d = &e->det;
    const double C = NB_R_E_SQR * e->fluence / (double)e->steps;
    const factors fa = *fa_;
    const double base = W * C * (e->I_bg + sumT);
    const nbi_detector *dd = d;
    /* solid angle */
    const double dO = base * fa.capture * fa.polar;
    const spot *po = &fa.at_omega;
    if (dd->point_pixel) {
        add_position(a, po, v3_scale(po->pos, dO * -2.0 * fa.omega / (po->R * po->R)));
    } else {
        add_position(a, po, v3_scale(po->pos, dO * -3.0 * fa.omega / (po->R * po->R)));
        a->det[DET_CLOSE] += dO * fa.omega / dd->close_distance_m;
    }
    /* absorption */
    if (dd->thick_m != 0.0) {
        const spot *pc = &fa.at_capture;
        const int t = dd->thicksteps - 1;
        const double par = v3_dot(pc->dir, dd->odet), ap = fabs(par), k = dd->thickstep_m * dd->mu;
        if (ap > 0.0) {
            const double e1 = exp(-t * k / ap), e2 = exp(-(t + 1) * k / ap);
            const double dA = (t * k * e1 - (t + 1) * k * e2) / (ap * ap) * (par < 0.0 ? -1.0 : 1.0);
            const double w = base * fa.polar * fa.omega * dA;
            /* parallax = dir . odet */
            add_position(a, pc, direction_to_position(pc, v3_scale(dd->odet, w)));
            a->det[DET_O + 0] += w * pc->dir.x;
            a->det[DET_O + 1] += w * pc->dir.y;
            a->det[DET_O + 2] += w * pc->dir.z;
        }
    }
    /* polarization */
    if (fa.have_polar) {
        const double w = base * fa.capture * fa.omega;
        add_position(a, &fa.at_polar, direction_to_position(&fa.at_polar, v3_scale(polar_slope(e, &fa), w)));
    }
    /* fluence: the factor C and the water background are both proportional to it */
    a->flu += W * (V + C * e->I_bg * fa.capture * fa.polar * fa.omega) / e->fluence;
}

/*
 * The pixel (f, s): its value returned and, where a is not NULL, W times its
 * derivatives added to a.
 */
static double pixel_adjoint(const dctx *c, int f, int s, double W, acc *a)
{
    const nb_experiment *e = c->e;
    const nbi_detector *d = &e->det;
    const nbi_crystal *x = &e->xtal;
    const nbi_sources *src = &e->src;
    const long idx = (long)s * d->fpixels + f;
    const int os = d->oversample, n = c->norient;
    const double C = NB_R_E_SQR * e->fluence / (double)e->steps;
    int interp = e->interpolate && (c->lm.off < 0 || idx <= c->lm.off);
    int first = idx == c->lm.first && x->first_differs;
    const double *cells = first ? x->cells_first : x->cells;
    double *cbar = !a ? NULL : first ? a->cellf : a->cell;
    factors fa;
    double K, aw, sumT = 0.0, V;

    if (!nbi_pixel_rendered(d, f, s))
        return 0.0;
    pixel_factors(e, f, s, &fa);
    K = C * fa.capture * fa.polar * fa.omega;
    aw = W * K;
    for (int t = 0; t < d->thicksteps; ++t)
        for (int subS = 0; subS < os; ++subS)
            for (int subF = 0; subF < os; ++subF) {
                const spot p = locate(e, f, s, t, subF, subS);
                vec3 posbar = v3(0, 0, 0);
                for (int k = 0; k < src->n; ++k) {
                    const double lambda = src->lambda_m[k];
                    const vec3 S = v3((p.dir.x + src->x[k]) / lambda, (p.dir.y + src->y[k]) / lambda,
                                      (p.dir.z + src->z[k]) / lambda);
                    double Sb[3] = {0, 0, 0};
                    if (!passes(e, p.dir, k))
                        continue;
                    for (int o = 0; o < n; ++o) {
                        const double *cc = cells + 9 * o;
                        double hk[3], G[3], dG[3], dN[3], dF[3], L2, F, T, g[3];
                        sf_site site;
                        for (int j = 0; j < 3; ++j) {
                            hk[j] = cc[3 * j] * S.x + cc[3 * j + 1] * S.y + cc[3 * j + 2] * S.z;
                            G[j] = nbi_grating_diff(hk[j], j == 0 ? x->Na : j == 1 ? x->Nb : x->Nc, &dG[j], &dN[j]);
                        }
                        L2 = G[0] * G[0] * G[1] * G[1] * G[2] * G[2];
                        if (L2 == 0.0 && e->water_m == 0.0)
                            continue;
                        F = sf_diff(e, hk[0], hk[1], hk[2], &interp, dF, &site);
                        T = F * F * L2;
                        sumT += T;
                        if (!a)
                            continue;
                        if (a->F)
                            sf_scatter(e, &site, aw * 2.0 * F * L2, a->F);
                        for (int j = 0; j < 3; ++j) {
                            /* d(G0^2 G1^2 G2^2)/dh_j = 2 L2 dG_j / G_j, without dividing */
                            const double others = (j == 0 ? G[1] * G[1] * G[2] * G[2]
                                                 : j == 1 ? G[0] * G[0] * G[2] * G[2] : G[0] * G[0] * G[1] * G[1]);
                            const double dL2 = 2.0 * G[j] * dG[j] * others;
                            g[j] = 2.0 * F * dF[j] * L2 + F * F * dL2;
                            a->N[j] += aw * F * F * 2.0 * G[j] * dN[j] * others;
                        }
                        for (int j = 0; j < 3; ++j) {
                            double *cb = cbar + 9 * o + 3 * j;
                            cb[0] += aw * g[j] * S.x;
                            cb[1] += aw * g[j] * S.y;
                            cb[2] += aw * g[j] * S.z;
                            Sb[0] += aw * g[j] * cc[3 * j];
                            Sb[1] += aw * g[j] * cc[3 * j + 1];
                            Sb[2] += aw * g[j] * cc[3 * j + 2];
                        }
                    }
                    if (first) { /* later sweeps see the later table */
                        first = 0;
                        cells = x->cells;
                        cbar = a ? a->cell : NULL;
                    }
                    if (a) {
                        const vec3 sb = v3(Sb[0] / lambda, Sb[1] / lambda, Sb[2] / lambda);
                        posbar = v3_add(posbar, direction_to_position(&p, sb));
                        a->lam[k] -= v3_dot(sb, S);
                    }
                }
                if (a)
                    add_position(a, &p, posbar);
            }
    V = C * (e->I_bg + sumT) * fa.capture * fa.polar * fa.omega;
    if (!a)
        return V;
    factors_adjoint(c, &fa, W, sumT, V, a);
    a->value += W * V;
    return V;
}

static double pixel_value(const dctx *c, int f, int s);
static nb_status pixel_loss(const nb_observed *obs, size_t i, double m, double *L, double *dL, int nf, nb_error *err);

/* ---------------------------------------------------------------- the gradient a row at a time */

/*
 * The loss's gradient over a run of pixels of one row, vectorised across
 * their samples (the row kernel's layout: sample q of pixel j at q np + j),
 * in two sweeps.  The first, over every orientation x source, adds to each
 * sample its value F^2 L^2 and, without the loss's weights, the sums that
 * the gradient needs: of dT/dh_j / lambda per orientation (A; and times the
 * incident direction where the sources' directions differ) and of dT/dN.
 * The pixels' values then give the loss and its weights W; the second
 * sweep, per orientation, weighs A into the cell's adjoint and the
 * diffracted direction's.  A wavelength move, a common scale of every
 * wavelength, is the cell's scale undone: its adjoint is -sum cell . cbar.
 * For experiments without tricubic interpolation or -dmin cut, and without
 * the structure factors' gradient; the first swept pixel of a run whose
 * first sweep differs is left to pixel_adjoint.
 */

/* Whether the gradient runs a row at a time. */
static int rows_ok(const dctx *c)
{
    const nb_experiment *e = c->e;
    return !e->interpolate && !(e->dmin_m > 0.0) && !c->want_F && c->lam_rows;
}

#define ROW_SAMPLES 2048
#define ROW_SUM_BYTES (1L << 20) /* the first sweep's sums per run, at most (if a pixel fits) */
#define NB_JAC_CHUNK 256 /* pixels of the list per task of nb_jacobian */

/* A run's samples (g: what the vector loops read and write; positions for
   the frame's adjoint) and its pixels. */
typedef struct rowbuf {
    int cap, capp;               /* samples (a multiple of NB_GRAD_LANES), pixels */
    nbi_grad_row g;
    double *R, *Fo, *So, *Oo;    /* per sample */
    int *f, *s;                  /* per pixel of the run: its indices */
    factors *fa;
    double *K, *W, *sumT, *V;
} rowbuf;

static void rowbuf_free(rowbuf *b)
{
    free(b->g.dx), free(b->g.dy), free(b->g.dz), free(b->g.aw), free(b->g.t), free(b->g.ux), free(b->g.uy);
    free(b->g.uz), free(b->R), free(b->Fo), free(b->So), free(b->Oo);
    free(b->g.S);
    free(b->g.gh), free(b->g.gk), free(b->g.gl), free(b->g.glam), free(b->g.gn0), free(b->g.gn1), free(b->g.gn2);
    free(b->f), free(b->s), free(b->fa), free(b->K), free(b->W), free(b->sumT), free(b->V);
    memset(b, 0, sizeof *b);
}

static double *rowbuf_array(size_t n)
{
    return malloc((n > 0 ? n : 1) * sizeof(double));
}

/* jacobian: with the Jacobian's per-sample terms, else with the gradient's
   sums per orientation (runs short enough that those stay in the cache). */
static int rowbuf_alloc(const dctx *c, rowbuf *b, int jacobian)
{
    const nb_experiment *e = c->e;
    const nbi_detector *d = &e->det;
    const int per = d->thicksteps * d->oversample * d->oversample;
    const int na = c->incident ? 12 : 3;
    const long sums = ((long)NB_GRAD_ORIENT + (long)c->norient * na) * (long)sizeof(double);
    long samples = jacobian ? ROW_SAMPLES : ROW_SUM_BYTES / sums;
    int np;
    size_t cap;
    if (samples > ROW_SAMPLES)
        samples = ROW_SAMPLES;
    np = (int)(samples / per);
    memset(b, 0, sizeof *b);
    if (np < 1)
        np = 1;
    if (np > d->fpixels)
        np = d->fpixels;
    b->capp = np;
    b->cap = (np * per + NB_GRAD_LANES - 1) / NB_GRAD_LANES * NB_GRAD_LANES;
    b->g.cap = b->cap;
    cap = (size_t)b->cap;
    double **arrays[] = {&b->g.dx, &b->g.dy, &b->g.dz, &b->g.aw, &b->g.t, &b->g.ux,
                         &b->g.uy, &b->g.uz, &b->R,    &b->Fo,   &b->So,  &b->Oo};
    double **terms[] = {&b->g.gh, &b->g.gk, &b->g.gl, &b->g.glam, &b->g.gn0, &b->g.gn1, &b->g.gn2};
    for (size_t i = 0; i < sizeof arrays / sizeof arrays[0]; ++i)
        if (!(*arrays[i] = rowbuf_array(cap)))
            return 0;
    for (size_t i = 0; jacobian && i < sizeof terms / sizeof terms[0]; ++i)
        if (!(*terms[i] = rowbuf_array(cap)))
            return 0;
    b->g.na = na;
    if (e->xtal.Na >= 2.0 && e->xtal.Na <= NBI_CHEB_MAX && e->xtal.Na == (int)e->xtal.Na)
        (void)nbi_chebyshev_u_slope((int)e->xtal.Na, b->g.slope);
    b->g.bs = (NB_GRAD_ORIENT + c->norient * na) * NB_GRAD_LANES;
    if (!jacobian && !(b->g.S = rowbuf_array(cap / NB_GRAD_LANES * (size_t)b->g.bs)))
        return 0;
    b->f = malloc((size_t)np * sizeof *b->f);
    b->s = malloc((size_t)np * sizeof *b->s);
    b->fa = malloc((size_t)np * sizeof *b->fa);
    b->K = malloc((size_t)np * sizeof *b->K);
    b->W = malloc((size_t)np * sizeof *b->W);
    b->sumT = malloc((size_t)np * sizeof *b->sumT);
    b->V = malloc((size_t)np * sizeof *b->V);
    return b->f && b->s && b->fa && b->K && b->W && b->sumT && b->V;
}

/* Lay out the run's samples (pixels (b->f[j], b->s[j]), j < np; n = np x
   samples per pixel, then padding to a multiple of NB_GRAD_LANES: copies
   of the first sample, weight 0) and the pixels' factors. */
static void row_layout(const dctx *c, int np, int n, rowbuf *b)
{
    const nb_experiment *e = c->e;
    const nbi_detector *d = &e->det;
    const int os = d->oversample;
    const double C = NB_R_E_SQR * e->fluence / (double)e->steps;
    nbi_grad_row *g = &b->g;
    int q = 0;
    for (int t = 0; t < d->thicksteps; ++t)
        for (int subS = 0; subS < os; ++subS)
            for (int subF = 0; subF < os; ++subF, ++q)
                for (int j = 0; j < np; ++j) {
                    const int i = q * np + j;
                    const spot p = locate(e, b->f[j], b->s[j], t, subF, subS);
                    g->dx[i] = p.dir.x, g->dy[i] = p.dir.y, g->dz[i] = p.dir.z;
                    b->R[i] = p.R, b->Fo[i] = p.Fo, b->So[i] = p.So, b->Oo[i] = p.Oo;
                }
    g->n = (n + NB_GRAD_LANES - 1) / NB_GRAD_LANES * NB_GRAD_LANES;
    for (int i = n; i < g->n; ++i)
        g->dx[i] = g->dx[0], g->dy[i] = g->dy[0], g->dz[i] = g->dz[0];
    for (int i = 0; i < g->n; ++i)
        g->t[i] = g->ux[i] = g->uy[i] = g->uz[i] = g->aw[i] = 0.0;
    for (int k = 0; g->S && k < g->n / NB_GRAD_LANES; ++k)
        memset(g->S + (size_t)k * (size_t)g->bs, 0, 4 * NB_GRAD_LANES * sizeof(double));
    for (int j = 0; j < np; ++j) {
        pixel_factors(e, b->f[j], b->s[j], &b->fa[j]);
        b->K[j] = C * b->fa[j].capture * b->fa[j].polar * b->fa[j].omega;
    }
}

/* The Miller-index maps of orientation o (cell: a, b, c in metres) and
   source k, as the row kernel makes them (nbi_row_make_pass). */
static nbi_grad_pass pass_of(const dctx *c, const double *cell, int o, int k)
{
    const nbi_sources *src = &c->e->src;
    nbi_grad_pass m;
    m.inv_lambda = 1.0 / src->lambda_m[k];
    m.inc[0] = -src->x[k], m.inc[1] = -src->y[k], m.inc[2] = -src->z[k];
    m.cell = cell;
    /* where the sources' directions differ, the sums of a run of sources
       with one direction (grad_flush adds them to the orientation's) */
    m.slot = c->incident ? 4 : NB_GRAD_ORIENT + 3 * o;
    m.first = k == 0;
    m.want_N = c->want_N;
    for (int j = 0; j < 3; ++j) {
        const double *v = cell + 3 * j;
        for (int x = 0; x < 3; ++x)
            m.H[j][x] = v[x] * m.inv_lambda;
        m.H0[j] = (v[0] * m.inc[0] + v[1] * m.inc[1] + v[2] * m.inc[2]) * m.inv_lambda;
    }
    return m;
}

/* The run b->f[0..np-1] of row s: values into model, loss into *loss, and
   the gradient's accumulators into a. */
static nb_status row_gradient(const dctx *c, const nb_observed *obs, int s, int np, rowbuf *b, double *model,
                              double *loss, acc *a, nb_error *err)
{
    const nb_experiment *e = c->e;
    const nbi_crystal *x = &e->xtal;
    const nbi_sources *src = &e->src;
    const int per = e->det.thicksteps * e->det.oversample * e->det.oversample, n = per * np;
    const int nf = e->det.fpixels;
    const double C = NB_R_E_SQR * e->fluence / (double)e->steps;
    nbi_grad_row *g = &b->g;
    for (int j = 0; j < np; ++j)
        b->s[j] = s;
    row_layout(c, np, n, b);
    for (int o = 0; o < c->norient; ++o)
        for (int k = 0, run = 0; k < src->n; ++k) {
            /* where the directions differ: runs of sources with one direction */
            nbi_grad_pass m = pass_of(c, x->cells + 9 * o, o, k);
            m.first = k == run;
            e->loops->grad_fused(e, &m, g);
            if (c->incident && (k + 1 == src->n || !same_direction(src, k + 1, k))) {
                e->loops->grad_flush(g, o, m.inc, run == 0);
                run = k + 1;
            }
        }
    for (int j = 0; j < np; ++j) {
        const size_t at = (size_t)s * (size_t)nf + (size_t)b->f[j];
        const factors *fa = &b->fa[j];
        double sum = 0.0, L, dL;
        nb_status st;
        for (int q = 0; q < per; ++q)
            sum += nbi_grad_sum(g, q * np + j, 0);
        b->sumT[j] = sum;
        b->V[j] = C * (e->I_bg + sum) * fa->capture * fa->polar * fa->omega;
        if ((st = pixel_loss(obs, at, b->V[j], &L, &dL, nf, err)) != NB_OK)
            return st;
        model[at] = b->V[j];
        *loss += L;
        b->W[j] = dL;
    }
    for (int q = 0; q < per; ++q)
        for (int j = 0; j < np; ++j)
            g->aw[q * np + j] = b->W[j] * b->K[j];
    for (int o = 0; o < c->norient; ++o) {
        const double *cell = x->cells + 9 * o;
        double r[NB_GRAD_SUMS], *cbar = a->cell + 9 * o;
        e->loops->grad_weigh(g, o, cell, r);
        for (int j = 0; j < 3; ++j)
            for (int q = 0; q < 3; ++q) {
                const double inc = -(q == 0 ? src->x[0] : q == 1 ? src->y[0] : src->z[0]);
                const double d = c->incident ? r[3 * j + q] : r[3 * j + q] - r[9 + j] * inc;
                cbar[3 * j + q] += d;
                a->lam_scale -= cell[3 * j + q] * d;
            }
    }
    for (int i = 0; c->want_N && i < n; ++i)
        for (int j = 0; j < 3; ++j)
            a->N[j] += g->aw[i] * nbi_grad_sum(g, i, 1 + j);
    for (int i = 0; i < n; ++i) {
        spot p;
        const vec3 u = v3_scale(v3(g->ux[i], g->uy[i], g->uz[i]), g->aw[i]);
        p.dir = v3(g->dx[i], g->dy[i], g->dz[i]);
        p.R = b->R[i], p.Fo = b->Fo[i], p.So = b->So[i], p.Oo = b->Oo[i];
        add_position(a, &p, direction_to_position(&p, u));
    }
    for (int j = 0; j < np; ++j)
        factors_adjoint(c, &b->fa[j], b->W[j], b->sumT[j], b->V[j], a);
    return NB_OK;
}

/*
 * The Jacobian of a run of pixels (b->f, b->s, np of them, not the first
 * swept pixel of a differing first sweep), vectorised over their samples:
 * per orientation x source, the per-sample terms d(F^2 L^2)/d(h, k, l,
 * lambda, N) (jac_terms), then each parameter's tangent (jac_add: its move
 * of the pass); per pixel, the sum times the factors K, and the frame's and
 * factors' part through a per-pixel accumulator.  T: nparams x b->cap.
 * image[out[j]], jac[p * n + out[j]] receive pixel j.
 */
static void row_jacobian(const dctx *c, int np, const size_t *out, size_t n, rowbuf *b, double *T, double *image,
                         double *jac)
{
    const nb_experiment *e = c->e;
    const nbi_crystal *x = &e->xtal;
    const nbi_sources *src = &e->src;
    const int per = e->det.thicksteps * e->det.oversample * e->det.oversample, ns = per * np, P = c->np;
    const double C = NB_R_E_SQR * e->fluence / (double)e->steps;
    row_layout(c, np, ns, b);
    memset(T, 0, (size_t)P * (size_t)b->cap * sizeof *T);
    for (int o = 0; o < c->norient; ++o)
        for (int k = 0; k < src->n; ++k) {
            const nbi_grad_pass m = pass_of(c, x->cells + 9 * o, o, k);
            e->loops->jac_terms(e, &m, &b->g);
            for (int p = 0; p < P; ++p) {
                const dmove *mv = &c->mv[p];
                nbi_jac_move jm;
                memset(&jm, 0, sizeof jm);
                if (mv->cell) {
                    const double *dc = mv->cell + 9 * o;
                    for (int j = 0; j < 3; ++j) {
                        for (int q = 0; q < 3; ++q)
                            jm.D[j][q] = dc[3 * j + q] * m.inv_lambda;
                        jm.D0[j] = jm.D[j][0] * m.inc[0] + jm.D[j][1] * m.inc[1] + jm.D[j][2] * m.inc[2];
                    }
                }
                jm.lam = mv->lam ? mv->lam[k] : 0.0;
                jm.N[0] = mv->N[0], jm.N[1] = mv->N[1], jm.N[2] = mv->N[2];
                if (mv->cell || mv->lam || mv->N[0] != 0.0 || mv->N[1] != 0.0 || mv->N[2] != 0.0)
                    e->loops->jac_add(&jm, &b->g, T + (size_t)p * (size_t)b->cap);
            }
        }
    for (int j = 0; j < np; ++j) {
        const factors *fa = &b->fa[j];
        double sum = 0.0, V;
        acc pa;
        memset(&pa, 0, sizeof pa);
        for (int q = 0; q < per; ++q)
            sum += b->g.t[q * np + j];
        V = C * (e->I_bg + sum) * fa->capture * fa->polar * fa->omega;
        /* the frame's share through the samples' positions, and the factors' */
        for (int q = 0; q < per; ++q) {
            const int i = q * np + j;
            spot p;
            p.dir = v3(b->g.dx[i], b->g.dy[i], b->g.dz[i]);
            p.R = b->R[i], p.Fo = b->Fo[i], p.So = b->So[i], p.Oo = b->Oo[i];
            add_position(&pa, &p, v3_scale(direction_to_position(&p, v3(b->g.ux[i], b->g.uy[i], b->g.uz[i])), b->K[j]));
        }
        factors_adjoint(c, fa, 1.0, sum, V, &pa);
        if (image)
            image[out[j]] = V;
        for (int p = 0; p < P; ++p) {
            const dmove *mv = &c->mv[p];
            const double *Tp = T + (size_t)p * (size_t)b->cap;
            double d = 0.0;
            for (int q = 0; q < per; ++q)
                d += Tp[q * np + j];
            d *= b->K[j];
            for (int r = 0; r < DET_N; ++r)
                d += pa.det[r] * mv->det[r];
            d += pa.flu * mv->flu;
            jac[(size_t)p * n + out[j]] = d;
        }
    }
}

/* Rows lo <= s < hi for the gradient: runs of the pixels that count, a
   row at a time; the first swept pixel (where its sweep differs) by
   pixel_adjoint. */
static nb_status rows_gradient(const dctx *c, const nb_observed *obs, int lo, int hi, double *model, double *loss,
                               acc *a, nbi_progress *progress, nb_error *err)
{
    const nb_experiment *e = c->e;
    const int nf = e->det.fpixels;
    rowbuf b;
    nb_status st = NB_OK;
    if (!rowbuf_alloc(c, &b, 0)) {
        rowbuf_free(&b);
        return NB_ERR_NOMEM;
    }
    for (int s = lo; s < hi && st == NB_OK; ++s) {
        int np = 0;
        if (nbi_progress_cancelled(progress))
            break;
        for (int f = 0; f <= nf && st == NB_OK; ++f) {
            const size_t at = (size_t)s * (size_t)nf + (size_t)f;
            int counts = 0, special = 0;
            if (f < nf) {
                counts = (!obs->mask || obs->mask[at]) && nbi_pixel_rendered(&e->det, f, s);
                special = counts && (long)at == c->lm.first && e->xtal.first_differs;
            }
            if (counts && !special)
                b.f[np++] = f;
            if (np > 0 && (np == b.capp || f == nf || special))
                st = row_gradient(c, obs, s, np, &b, model, loss, a, err), np = 0;
            if (special && st == NB_OK) {
                double L, dL;
                model[at] = pixel_value(c, f, s);
                if ((st = pixel_loss(obs, at, model[at], &L, &dL, nf, err)) == NB_OK) {
                    *loss += L;
                    (void)pixel_adjoint(c, f, s, dL, a);
                }
            }
        }
        nbi_progress_add(progress, nf);
    }
    rowbuf_free(&b);
    return st;
}

/* The pixel's value alone. */
static double pixel_value(const dctx *c, int f, int s) { return pixel_adjoint(c, f, s, 0.0, NULL); }

/* ---------------------------------------------------------------- calls */

/* The experiment of cfg (made without informational lines) and the set-up
   derivatives of the parameters names[0..np-1]. */
static nb_status prepare(const nb_config *cfg, const char *const *names, int np, int want_F, const nb_log *log,
                         nb_experiment **e, dctx *c, nb_error *err)
{
    nb_log quiet = {0};
    nbi_progress none;
    nb_status st;
    *e = NULL;
    memset(c, 0, sizeof *c);
    if (!cfg)
        return nbi_fail(err, NB_ERR_INVALID, "derivatives: the configuration is NULL");
    (void)log;
    if ((st = nb_experiment_create(cfg, &quiet, e, err)) != NB_OK)
        return st;
    if ((st = dctx_init(c, cfg, *e, names, np, err)) != NB_OK)
        return st;
    if (want_F) {
        const nbi_hkl *t = &(*e)->hkl;
        if (!(*e)->have_hkl || !t->F)
            return nbi_fail(err, NB_ERR_USAGE, "derivatives: F_grad asked for, but the experiment has no structure "
                            "factor table (hkl_path or nb_config_set_sf)");
        c->want_F = 1;
        c->nF = (long)(t->h_range + 1) * (t->k_range + 1) * (t->l_range + 1);
    }
    nbi_progress_init(&none, NULL, 0.0);
    if ((st = nbi_landmarks_get(*e, &none, &c->lm)) != NB_OK)
        return nbi_fail(err, st, "derivatives: out of memory");
    return NB_OK;
}

static void finish(nb_experiment *e, dctx *c)
{
    dctx_free(c);
    nb_experiment_free(e);
}

static int threads_of(const nb_experiment *e)
{
#ifdef NB_HAVE_OPENMP
    return e->threads > 0 ? e->threads : omp_get_max_threads();
#else
    (void)e;
    return 1;
#endif
}

nb_status nb_jacobian(const nb_config *cfg, const char *const *params, int nparams, const size_t *index, size_t n,
                      double *image, double *jac, const nb_log *log, nb_error *err)
{
    nb_experiment *e;
    dctx c;
    nbi_progress progress;
    size_t npix;
    int nomem = 0;
    nb_status st = prepare(cfg, params, nparams, 0, log, &e, &c, err);
    if (st != NB_OK) {
        finish(e, &c);
        return st;
    }
    npix = (size_t)e->det.fpixels * (size_t)e->det.spixels;
    if (!index && n != npix)
        st = nbi_fail(err, NB_ERR_INVALID, "nb_jacobian: without an index, n must be the %dx%d detector's %zu pixels "
                      "(got %zu)", e->det.fpixels, e->det.spixels, npix, n);
    for (size_t i = 0; st == NB_OK && index && i < n; ++i)
        if (index[i] >= npix)
            st = nbi_fail(err, NB_ERR_INVALID, "nb_jacobian: index[%zu] = %zu is not a pixel of the %dx%d detector",
                          i, index[i], e->det.fpixels, e->det.spixels);
    if (st == NB_OK && n > 0 && nparams > 0 && !jac)
        st = nbi_fail(err, NB_ERR_INVALID, "nb_jacobian: jac is NULL");
    if (st != NB_OK) {
        finish(e, &c);
        return st;
    }
    nbi_progress_init(&progress, log, (double)n);
#ifdef NB_HAVE_OPENMP
#pragma omp parallel num_threads(threads_of(e)) reduction(| : nomem)
#endif
    {
        acc a;
        rowbuf b;
        double *T = NULL;
        size_t *out = NULL;
        const int rows = rows_ok(&c) && (n > 0), ok = acc_alloc(&c, &a);
        const int bok = rows && rowbuf_alloc(&c, &b, 1)
                        && (T = malloc((size_t)(nparams > 0 ? nparams : 1) * (size_t)b.cap * sizeof *T)) != NULL
                        && (out = malloc((size_t)b.capp * sizeof *out)) != NULL;
        nomem |= !ok || (rows && !bok);
        /* chunks of the pixel list: runs of the pixels the vector loops take,
           the others one at a time */
#ifdef NB_HAVE_OPENMP
#pragma omp for schedule(dynamic, 1)
#endif
        for (long i0 = 0; i0 < (long)n; i0 += NB_JAC_CHUNK) {
            const long i1 = i0 + NB_JAC_CHUNK < (long)n ? i0 + NB_JAC_CHUNK : (long)n;
            int np = 0;
            if (!ok || (rows && !bok) || nbi_progress_cancelled(&progress))
                continue;
            for (long i = i0; i < i1; ++i) {
                const size_t at = index ? index[i] : (size_t)i;
                const int f = (int)(at % (size_t)e->det.fpixels), s = (int)(at / (size_t)e->det.fpixels);
                const int rendered = nbi_pixel_rendered(&e->det, f, s);
                const int special = (long)at == c.lm.first && e->xtal.first_differs;
                if (rows && rendered && !special) {
                    b.f[np] = f, b.s[np] = s, out[np] = (size_t)i;
                    if (++np == b.capp) {
                        row_jacobian(&c, np, out, n, &b, T, image, jac);
                        np = 0;
                    }
                    continue;
                }
                {
                    double V;
                    acc_clear(&c, &a);
                    V = pixel_adjoint(&c, f, s, 1.0, &a);
                    if (image)
                        image[i] = V;
                    for (int p = 0; p < nparams; ++p)
                        jac[(size_t)p * n + (size_t)i] = rendered ? contract(&c, &c.mv[p], &a) : 0.0;
                }
            }
            if (np > 0)
                row_jacobian(&c, np, out, n, &b, T, image, jac);
            nbi_progress_add(&progress, i1 - i0);
        }
        if (ok)
            acc_free(&a);
        if (rows)
            rowbuf_free(&b);
        free(T);
        free(out);
    }
    st = nomem ? nbi_fail(err, NB_ERR_NOMEM, "nb_jacobian: out of memory") : NB_OK;
    if (st == NB_OK && (st = nbi_progress_finish(&progress)) != NB_OK)
        nbi_fail(err, st, "nb_jacobian: cancelled by the progress callback");
    finish(e, &c);
    return st;
}

/* The loss of pixel i and its derivative with respect to the model m. */
static nb_status pixel_loss(const nb_observed *obs, size_t i, double m, double *L, double *dL, int nf, nb_error *err)
{
    const double o = obs->data[i];
    if (obs->loss == NB_LOSS_POISSON) {
        if (o == 0.0) {
            *L = m;
            *dL = 1.0;
            return NB_OK;
        }
        if (!(m > 0.0))
            return nbi_fail(err, NB_ERR_RANGE, "Poisson loss: the model is %g at pixel (%zu, %zu) where %g photons are "
                            "observed (add a background, e.g. water_um, or mask the pixel)", m, i % (size_t)nf,
                            i / (size_t)nf, o);
        *L = m - o * log(m);
        *dL = 1.0 - o / m;
        return NB_OK;
    }
    {
        const double w = obs->weight ? obs->weight[i] : 1.0;
        *L = w * (m - o) * (m - o);
        *dL = 2.0 * w * (m - o);
        return NB_OK;
    }
}

static nb_status check_observed(const nb_experiment *e, const nb_observed *obs, nb_error *err)
{
    const size_t n = (size_t)e->det.fpixels * (size_t)e->det.spixels;
    if (!obs || !obs->data)
        return nbi_fail(err, NB_ERR_INVALID, "nb_loss_gradient: no observed image");
    if (obs->loss != NB_LOSS_LSQ && obs->loss != NB_LOSS_POISSON)
        return nbi_fail(err, NB_ERR_INVALID, "nb_loss_gradient: loss %d is neither NB_LOSS_LSQ nor NB_LOSS_POISSON",
                        (int)obs->loss);
    for (size_t i = 0; i < n; ++i) {
        const double o = obs->data[i], w = obs->weight ? obs->weight[i] : 1.0;
        if (obs->mask && !obs->mask[i])
            continue;
        if (!isfinite(o) || (obs->loss == NB_LOSS_POISSON && o < 0.0))
            return nbi_fail(err, NB_ERR_INVALID, "observed image: pixel (%zu, %zu) is %g (%s)", i % (size_t)e->det.fpixels,
                            i / (size_t)e->det.fpixels, o,
                            obs->loss == NB_LOSS_POISSON ? "Poisson counts must be finite and not negative"
                                                         : "must be finite");
        if (!(w >= 0.0) || !isfinite(w))
            return nbi_fail(err, NB_ERR_INVALID, "weights: pixel (%zu, %zu) has weight %g (must be finite and not "
                            "negative)", i % (size_t)e->det.fpixels, i / (size_t)e->det.fpixels, w);
    }
    return NB_OK;
}

/* Blocks of pixels whose sums are added in a fixed order, whatever the
   number of threads: the gradient has the same bits on any. */
#define NB_GRAD_BLOCKS 16
#define NB_GRAD_F_BYTES (1L << 27)

nb_status nb_loss_gradient(const nb_config *cfg, const nb_observed *obs, const char *const *params, int nparams,
                           double *loss, double *grad, double *F_grad, double *model, const nb_log *log, nb_error *err)
{
    nb_experiment *e;
    dctx c;
    nbi_progress progress;
    size_t npix;
    double *m = NULL, *W = NULL, total = 0.0;
    acc blocks[NB_GRAD_BLOCKS];
    int nblk = NB_GRAD_BLOCKS, nomem = 0, nf;
    nb_status st = prepare(cfg, params, nparams, F_grad != NULL, log, &e, &c, err);

    memset(blocks, 0, sizeof blocks);
    if (st == NB_OK)
        st = check_observed(e, obs, err);
    if (st == NB_OK && nparams > 0 && !grad)
        st = nbi_fail(err, NB_ERR_INVALID, "nb_loss_gradient: grad is NULL");
    if (st != NB_OK) {
        finish(e, &c);
        return st;
    }
    nf = e->det.fpixels;
    npix = (size_t)e->det.fpixels * (size_t)e->det.spixels;
    if (c.want_F) {
        const long fit = NB_GRAD_F_BYTES / (c.nF * (long)sizeof(double));
        nblk = fit < 1 ? 1 : fit < NB_GRAD_BLOCKS ? (int)fit : NB_GRAD_BLOCKS;
    }
    m = malloc(npix * sizeof *m);
    W = calloc(npix, sizeof *W);
    for (int b = 0; b < nblk; ++b)
        nomem |= !acc_alloc(&c, &blocks[b]);
    if (!m || !W || nomem) {
        st = nbi_fail(err, NB_ERR_NOMEM, "nb_loss_gradient: out of memory");
        goto done;
    }
    if (rows_ok(&c)) {
        /* a row at a time, each block of rows on its own; the loss summed per block */
        const int ns = e->det.spixels, nb = ns < nblk ? ns : nblk;
        double part[NB_GRAD_BLOCKS] = {0};
        nb_status bst[NB_GRAD_BLOCKS];
        nb_error berr[NB_GRAD_BLOCKS];
        memset(m, 0, npix * sizeof *m);
        nbi_progress_init(&progress, log, (double)npix);
#ifdef NB_HAVE_OPENMP
#pragma omp parallel for num_threads(threads_of(e)) schedule(dynamic, 1)
#endif
        for (int b = 0; b < nb; ++b)
            bst[b] = rows_gradient(&c, obs, ns * b / nb, ns * (b + 1) / nb, m, &part[b], &blocks[b], &progress,
                                   &berr[b]);
        for (int b = 0; b < nb && st == NB_OK; ++b) {
            if (bst[b] == NB_ERR_NOMEM)
                st = nbi_fail(err, NB_ERR_NOMEM, "nb_loss_gradient: out of memory");
            else if (bst[b] != NB_OK) {
                st = bst[b];
                if (err)
                    *err = berr[b];
            }
            total += part[b];
        }
        if (st != NB_OK)
            goto done;
    } else {
        nbi_progress_init(&progress, log, 2.0 * (double)npix);
        /* the model, in double, and the loss's weights */
    #ifdef NB_HAVE_OPENMP
    #pragma omp parallel for num_threads(threads_of(e)) schedule(dynamic, 1)
    #endif
        for (int s = 0; s < e->det.spixels; ++s) {
            if (nbi_progress_cancelled(&progress))
                continue;
            for (int f = 0; f < nf; ++f) {
                const size_t i = (size_t)s * nf + f;
                m[i] = (obs->mask && !obs->mask[i]) || !nbi_pixel_rendered(&e->det, f, s) ? 0.0
                       : pixel_value(&c, f, s);
            }
            nbi_progress_add(&progress, nf);
        }
        if (nbi_progress_cancelled(&progress))
            goto cancelled;
        for (size_t i = 0; i < npix; ++i) {
            double L = 0.0, dL = 0.0;
            if ((obs->mask && !obs->mask[i]) || !nbi_pixel_rendered(&e->det, (int)(i % (size_t)nf), (int)(i / (size_t)nf)))
                continue;
            if ((st = pixel_loss(obs, i, m[i], &L, &dL, nf, err)) != NB_OK)
                goto done;
            total += L;
            W[i] = dL;
        }
        /* the adjoint pass, over blocks of rows */
    #ifdef NB_HAVE_OPENMP
    #pragma omp parallel for num_threads(threads_of(e)) schedule(dynamic, 1)
    #endif
        for (int b = 0; b < nblk; ++b) {
            const size_t lo = npix * (size_t)b / (size_t)nblk, hi = npix * (size_t)(b + 1) / (size_t)nblk;
            for (size_t i = lo; i < hi; ++i) {
                const int f = (int)(i % (size_t)nf), s = (int)(i / (size_t)nf);
                if (W[i] != 0.0)
                    (void)pixel_adjoint(&c, f, s, W[i], &blocks[b]);
                if ((i - lo) % (size_t)nf == (size_t)nf - 1) {
                    if (nbi_progress_cancelled(&progress))
                        break;
                    nbi_progress_add(&progress, nf);
                }
            }
        }
}
    if (nbi_progress_cancelled(&progress))
        goto cancelled;
    for (int b = 1; b < nblk; ++b)
        acc_add(&c, &blocks[0], &blocks[b]);
    for (int p = 0; p < nparams; ++p)
        grad[p] = contract(&c, &c.mv[p], &blocks[0]);
    if (F_grad) {
        /* the padded table's entries onto the grid of nb_sf_grid */
        const nbi_hkl *t = &e->hkl;
        size_t q = 0;
        for (int h = 0; h < t->h_range; ++h)
            for (int k = 0; k < t->k_range; ++k)
                for (int l = 0; l < t->l_range; ++l)
                    F_grad[q++] = blocks[0].F[nbi_hkl_index(t, t->h_min + h, t->k_min + k, t->l_min + l)];
    }
    if (loss)
        *loss = total;
    if (model)
        memcpy(model, m, npix * sizeof *m);
    if ((st = nbi_progress_finish(&progress)) == NB_OK)
        goto done;
cancelled:
    st = nbi_fail(err, NB_ERR_CANCELLED, "nb_loss_gradient: cancelled by the progress callback");
done:
    for (int b = 0; b < nblk; ++b)
        acc_free(&blocks[b]);
    free(m);
    free(W);
    finish(e, &c);
    return st;
}

/* ---------------------------------------------------------------- values by name */

nb_status nb_deriv_param_get(const nb_config *cfg, const char *name, double *value, nb_error *err)
{
    const nbi_dparam *p = nbi_dparam_find(name);
    nb_experiment *e = NULL;
    nb_log quiet = {0};
    nb_status st;
    if (!p)
        return nbi_fail(err, NB_ERR_INVALID, "'%s' is not a differentiable parameter", name ? name : "(null)");
    if (!cfg || !value)
        return nbi_fail(err, NB_ERR_INVALID, "nb_deriv_param_get: NULL argument");
    if (p->component >= 0) {
        double v[6];
        if ((st = nb_param_get_array(cfg, p->table, v, 6, NULL, err)) != NB_OK)
            return st;
        *value = v[p->component];
        return NB_OK;
    }
    if (p->kind != NBI_D_FLUENCE && (st = nb_param_get(cfg, p->table, value, NULL)) == NB_OK)
        return NB_OK;
    /* derived: as the experiment resolves it */
    if ((st = nb_experiment_create(cfg, &quiet, &e, err)) != NB_OK)
        return st;
    switch (p->kind == NBI_D_FLUENCE ? -1 : p->which) {
    case -1: *value = e->fluence; break;
    case G_XBEAM: *value = e->det.centres.Xbeam_m * 1e3; break;
    case G_YBEAM: *value = e->det.centres.Ybeam_m * 1e3; break;
    case G_ORGX: *value = e->det.origins.ORGX; break;
    case G_ORGY: *value = e->det.origins.ORGY; break;
    case G_DISTANCE: *value = e->det.distance_m * 1e3; break;
    default: st = nbi_fail(err, NB_ERR_USAGE, "%s: no value", p->name); break;
    }
    nb_experiment_free(e);
    return st;
}

nb_status nb_deriv_param_set(nb_config *cfg, const char *name, double value, nb_error *err)
{
    const nbi_dparam *p = nbi_dparam_find(name);
    if (!p)
        return nbi_fail(err, NB_ERR_INVALID, "'%s' is not a differentiable parameter", name ? name : "(null)");
    if (!cfg)
        return nbi_fail(err, NB_ERR_INVALID, "nb_deriv_param_set: the configuration is NULL");
    if (p->component >= 0) {
        double v[6];
        nb_status st = nb_param_get_array(cfg, p->table, v, 6, NULL, err);
        if (st != NB_OK)
            return st;
        v[p->component] = value;
        return nb_param_set_array(cfg, p->table, v, 6, err);
    }
    if (p->kind == NBI_D_FLUENCE && cfg->flux != 0.0 && cfg->exposure_s > 0.0 && cfg->beamsize_m >= 0.0)
        return nb_param_set(cfg, "flux", value * cfg->beamsize_m * cfg->beamsize_m / cfg->exposure_s, err);
    return nb_param_set(cfg, p->table, value, err);
}
