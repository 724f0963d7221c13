/*
 * refine.c - fitting differentiable parameters to an observed image
 * (nb_refine): Levenberg-Marquardt from the Jacobian (deriv.c) on a pixel
 * subset, or L-BFGS from the loss's gradient, within bounds; standard errors
 * from the curvature at the end.
 *
 * Both work in scaled coordinates: each parameter divided by the square
 * root of its diagonal Gauss-Newton curvature at the start, so that
 * degrees, millimetres, Angstrom and photons/m^2 weigh alike.
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deriv.h"
#include "kernel.h"
#include "util.h"

#define HISTORY 8       /* L-BFGS pairs kept */
#define LM_TRIES 12     /* damping increases per step before giving up */
#define LM_LAMBDA0 1e-3

void nb_refine_options_init(nb_refine_options *opt)
{
    memset(opt, 0, sizeof *opt);
    opt->method = NB_REFINE_LM;
    opt->max_iterations = 50;
    opt->tolerance = 1e-9;
    opt->pixel_fraction = 1.0;
    opt->seed = 1;
}

void nb_refine_result_free(nb_refine_result *res)
{
    if (!res)
        return;
    free(res->values);
    free(res->std_errors);
    free(res->loss_history);
    memset(res, 0, sizeof *res);
}

/* ---------------------------------------------------------------- small linear algebra */

/* Solve A x = b (A n x n symmetric, row-major) by Cholesky; A is
   overwritten.  0 if A is not positive definite. */
static int cholesky_solve(double *A, double *b, int n)
{
    for (int j = 0; j < n; ++j) {
        double d = A[j * n + j];
        for (int k = 0; k < j; ++k)
            d -= A[j * n + k] * A[j * n + k];
        if (!(d > 0.0))
            return 0;
        d = sqrt(d);
        A[j * n + j] = d;
        for (int i = j + 1; i < n; ++i) {
            double v = A[i * n + j];
            for (int k = 0; k < j; ++k)
                v -= A[i * n + k] * A[j * n + k];
            A[i * n + j] = v / d;
        }
    }
    for (int i = 0; i < n; ++i) {
        double v = b[i];
        for (int k = 0; k < i; ++k)
            v -= A[i * n + k] * b[k];
        b[i] = v / A[i * n + i];
    }
    for (int i = n - 1; i >= 0; --i) {
        double v = b[i];
        for (int k = i + 1; k < n; ++k)
            v -= A[k * n + i] * b[k];
        b[i] = v / A[i * n + i];
    }
    return 1;
}

/* ---------------------------------------------------------------- the problem */

typedef struct problem {
    nb_config *cfg; /* a working copy */
    const nb_observed *obs;
    const char *const *names;
    int np;
    double *lo, *hi;     /* bounds */
    size_t *idx, nidx;   /* the pixels whose Jacobian LM uses */
    size_t ncounted;     /* pixels that count in the loss */
    const nb_log *log;
    nb_error *err;
} problem;

/* Put x into the working configuration. */
static nb_status put(problem *pb, const double *x)
{
    for (int p = 0; p < pb->np; ++p) {
        nb_status st = nb_deriv_param_set(pb->cfg, pb->names[p], x[p], pb->err);
        if (st != NB_OK)
            return st;
    }
    return NB_OK;
}

static nb_status loss_at(problem *pb, const double *x, double *L)
{
    nb_status st = put(pb, x);
    if (st == NB_OK)
        st = nb_loss_gradient(pb->cfg, pb->obs, NULL, 0, L, NULL, NULL, NULL, pb->log, pb->err);
    return st;
}

/* The Gauss-Newton curvature H (np x np) and gradient g of the loss at x
   from the Jacobian of the pixels idx (whole-image indices), scaled to the
   whole loss. */
static nb_status curvature(problem *pb, const double *x, const size_t *idx, size_t n, double *H, double *g)
{
    const int np = pb->np;
    const nb_observed *o = pb->obs;
    double *J = malloc((size_t)np * n * sizeof *J), *m = malloc(n * sizeof *m);
    const double scale = n > 0 ? (double)pb->ncounted / (double)n : 1.0;
    nb_status st = J && m ? put(pb, x) : NB_ERR_NOMEM;
    if (st == NB_OK)
        st = nb_jacobian(pb->cfg, pb->names, np, idx, n, m, J, pb->log, pb->err);
    else if (st == NB_ERR_NOMEM)
        nbi_fail(pb->err, st, "refine: out of memory");
    if (st == NB_OK) {
        memset(H, 0, (size_t)np * np * sizeof *H);
        memset(g, 0, (size_t)np * sizeof *g);
        for (size_t i = 0; i < n; ++i) {
            const size_t at = idx[i];
            const double oi = o->data[at];
            double w, r;
            if (o->loss == NB_LOSS_POISSON) {
                r = oi == 0.0 ? 1.0 : m[i] > 0.0 ? 1.0 - oi / m[i] : 0.0;
                w = m[i] > 0.0 ? 1.0 / m[i] : 0.0;
            } else {
                const double wt = o->weight ? o->weight[at] : 1.0;
                r = 2.0 * wt * (m[i] - oi);
                w = 2.0 * wt;
            }
            for (int p = 0; p < np; ++p) {
                const double jp = J[(size_t)p * n + i];
                if (jp == 0.0)
                    continue;
                g[p] += r * jp;
                for (int q = 0; q <= p; ++q)
                    H[p * np + q] += w * jp * J[(size_t)q * n + i];
            }
        }
        for (int p = 0; p < np; ++p) {
            g[p] *= scale;
            for (int q = 0; q <= p; ++q) {
                H[p * np + q] *= scale;
                H[q * np + p] = H[p * np + q];
            }
        }
    }
    free(J);
    free(m);
    return st;
}

/* The largest change of parameter p in one step (a trust region in each
   parameter's own terms): far from the minimum a Gauss-Newton step can
   leap to another one. */
static double max_step(const problem *pb, int p, double x)
{
    const char *n = pb->names[p];
    const nbi_dparam *d = nbi_dparam_find(n);
    if (!d)
        return INFINITY;
    switch (d->kind) {
    case NBI_D_N: return 0.1 * fabs(x);
    case NBI_D_FLUENCE: return 0.2 * fabs(x);
    case NBI_D_LAMBDA: return 1e-3 * fabs(x);
    case NBI_D_CRYSTAL:
        if (d->component >= 3) return 0.1;          /* cell angles, degrees */
        if (d->component >= 0) return 5e-3 * fabs(x); /* cell edges */
        if (strcmp(n, "mosaic_spread_deg") == 0) return fmax(0.2 * fabs(x), 0.01);
        return 0.05;                                 /* crystal rotations, degrees */
    case NBI_D_DETECTOR:
        if (strstr(n, "_deg")) return 0.1;
        if (strcmp(n, "distance_mm") == 0) return 0.5;
        if (strstr(n, "_mm")) return 0.1;
        return 0.5;                                  /* ORGX, ORGY: pixels */
    }
    return INFINITY;
}

/* Shrink the step xt - x (keeping its direction) into the trust region. */
static void limit_step(const problem *pb, const double *x, double *xt)
{
    double shrink = 1.0;
    for (int p = 0; p < pb->np; ++p) {
        const double m = max_step(pb, p, x[p]), dx = fabs(xt[p] - x[p]);
        if (dx > m && m > 0.0)
            shrink = fmin(shrink, m / dx);
    }
    if (shrink < 1.0)
        for (int p = 0; p < pb->np; ++p)
            xt[p] = x[p] + shrink * (xt[p] - x[p]);
}

static void clamp(const problem *pb, double *x)
{
    for (int p = 0; p < pb->np; ++p)
        x[p] = fmin(fmax(x[p], pb->lo[p]), pb->hi[p]);
}

/* The bounds of parameter p: the table's range, the user's, and for cell
   angles (0, 180) degrees. */
static nb_status bounds(problem *pb, const nb_refine_options *opt, const double *x)
{
    for (int p = 0; p < pb->np; ++p) {
        const nbi_dparam *d = nbi_dparam_find(pb->names[p]);
        const nb_param_info *info = d ? nb_param_find(d->table) : NULL;
        double lo = -INFINITY, hi = INFINITY;
        if (info && info->kind != NB_PARAM_STRING) {
            lo = info->min;
            hi = info->max;
            if (info->min_exclusive)
                lo = nextafter(lo, INFINITY);
        }
        if (d && d->component >= 3) {
            lo = 1e-6;
            hi = 180.0 - 1e-6;
        } else if (d && d->component >= 0) {
            lo = 0.01;
        }
        if (d && d->kind == NBI_D_N)
            lo = fmax(lo, 1.0);
        if (opt->lower && !isnan(opt->lower[p]))
            lo = fmax(lo, opt->lower[p]);
        if (opt->upper && !isnan(opt->upper[p]))
            hi = fmin(hi, opt->upper[p]);
        if (!(x[p] >= lo && x[p] <= hi))
            return nbi_fail(pb->err, NB_ERR_INVALID, "refine: %s starts at %g, outside its bounds [%g, %g]",
                            pb->names[p], x[p], lo, hi);
        pb->lo[p] = lo;
        pb->hi[p] = hi;
    }
    return NB_OK;
}

/* The pixels that count (rendered, unmasked), and a subset of a fraction of
   them (every one when fraction >= 1) drawn with seed. */
static nb_status pixels(problem *pb, double fraction, unsigned long seed)
{
    nb_experiment *e;
    nb_log quiet = {0};
    nb_status st = nb_experiment_create(pb->cfg, &quiet, &e, pb->err);
    size_t npix, k = 0;
    unsigned long long s = seed * 0x9E3779B97F4A7C15ULL + 1;
    if (st != NB_OK)
        return st;
    npix = (size_t)e->det.fpixels * (size_t)e->det.spixels;
    pb->idx = malloc(npix * sizeof *pb->idx);
    if (!pb->idx) {
        nb_experiment_free(e);
        return nbi_fail(pb->err, NB_ERR_NOMEM, "refine: out of memory");
    }
    for (size_t i = 0; i < npix; ++i) {
        const int f = (int)(i % (size_t)e->det.fpixels), sl = (int)(i / (size_t)e->det.fpixels);
        if ((pb->obs->mask && !pb->obs->mask[i]) || !nbi_pixel_rendered(&e->det, f, sl))
            continue;
        if (pb->obs->weight && pb->obs->weight[i] == 0.0 && pb->obs->loss == NB_LOSS_LSQ)
            continue;
        pb->ncounted++;
        s ^= s >> 12, s ^= s << 25, s ^= s >> 27;
        if (fraction >= 1.0 || (double)((s * 2685821657736338717ULL) >> 11) / 9007199254740992.0 < fraction)
            pb->idx[k++] = i;
    }
    pb->nidx = k;
    nb_experiment_free(e);
    if (k < (size_t)pb->np)
        return nbi_fail(pb->err, NB_ERR_INVALID, "refine: %zu pixels for %d parameters (pixel_fraction %g of %zu "
                        "counted pixels)", k, pb->np, fraction, pb->ncounted);
    return NB_OK;
}

/* Standard errors from the curvature over every counted pixel at x. */
static void std_errors(problem *pb, const double *x, double L, double *se)
{
    const int np = pb->np;
    size_t *all = malloc(pb->ncounted * sizeof *all);
    double *H = malloc((size_t)np * np * sizeof *H), *g = malloc((size_t)np * sizeof *g);
    double *A = malloc((size_t)np * np * sizeof *A), *e = malloc((size_t)np * sizeof *e);
    nb_error quiet;
    nb_error *keep = pb->err;
    for (int p = 0; p < np; ++p)
        se[p] = NAN;
    pb->err = &quiet;
    if (all && H && g && A && e) {
        nb_experiment *ex;
        nb_log none = {0};
        size_t k = 0;
        if (put(pb, x) == NB_OK && nb_experiment_create(pb->cfg, &none, &ex, &quiet) == NB_OK) {
            const size_t npix = (size_t)ex->det.fpixels * (size_t)ex->det.spixels;
            for (size_t i = 0; i < npix && k < pb->ncounted; ++i) {
                const int f = (int)(i % (size_t)ex->det.fpixels), s = (int)(i / (size_t)ex->det.fpixels);
                if ((pb->obs->mask && !pb->obs->mask[i]) || !nbi_pixel_rendered(&ex->det, f, s))
                    continue;
                if (pb->obs->weight && pb->obs->weight[i] == 0.0 && pb->obs->loss == NB_LOSS_LSQ)
                    continue;
                all[k++] = i;
            }
            nb_experiment_free(ex);
        }
        if (k > 0 && curvature(pb, x, all, k, H, g) == NB_OK) {
            /* least squares: H = 2 J^T W J; covariance (J^T W J)^-1 s^2.  Poisson: H is the Fisher information. */
            const double factor = pb->obs->loss == NB_LOSS_LSQ ? 2.0 * L / fmax((double)k - np, 1.0) : 1.0;
            for (int p = 0; p < np; ++p) {
                double ok = 1.0;
                for (int q = 0; q < np * np; ++q)
                    A[q] = H[q];
                /* column p of the inverse, on the Jacobi-scaled matrix */
                for (int i = 0; i < np; ++i)
                    ok *= A[i * np + i] > 0.0;
                if (!ok)
                    break;
                for (int i = 0; i < np; ++i)
                    for (int j = 0; j < np; ++j)
                        A[i * np + j] /= sqrt(H[i * np + i] * H[j * np + j]);
                for (int i = 0; i < np; ++i)
                    e[i] = i == p ? 1.0 : 0.0;
                if (!cholesky_solve(A, e, np))
                    break;
                se[p] = sqrt(e[p] / H[p * np + p] * factor);
            }
        }
    }
    pb->err = keep;
    free(all), free(H), free(g), free(A), free(e);
}

/* ---------------------------------------------------------------- the methods */

static void report(const problem *pb, int it, double L, const double *x)
{
    char line[1024];
    int k;
    if (!pb->log || !pb->log->fn)
        return;
    k = snprintf(line, sizeof line, "refine step %d: loss %.10g", it, L);
    for (int p = 0; p < pb->np && k > 0 && (size_t)k < sizeof line; ++p)
        k += snprintf(line + k, sizeof line - (size_t)k, "  %s %.8g", pb->names[p], x[p]);
    pb->log->fn(pb->log->ctx, NB_LOG_INFO, line);
}

static int push(nb_refine_result *res, double L)
{
    double *h = realloc(res->loss_history, (size_t)(res->nhistory + 1) * sizeof *h);
    if (!h)
        return 0;
    h[res->nhistory++] = L;
    res->loss_history = h;
    return 1;
}

/* Take the step to xt (loss Lt): x and *L become it, the history and the
   log record it; converged when it lowered the loss by less than the
   tolerance. */
static nb_status accept(problem *pb, const nb_refine_options *opt, const double *xt, double Lt, double *x, double *L,
                        nb_refine_result *res)
{
    const double drop = *L - Lt;
    memcpy(x, xt, (size_t)pb->np * sizeof *x);
    *L = Lt;
    res->iterations++;
    if (!push(res, Lt))
        return nbi_fail(pb->err, NB_ERR_NOMEM, "refine: out of memory");
    report(pb, res->iterations, Lt, x);
    if (drop <= opt->tolerance * fabs(Lt)) {
        res->converged = 1;
        res->stop = "the loss changed by less than the tolerance";
    }
    return NB_OK;
}

static nb_status levenberg_marquardt(problem *pb, const nb_refine_options *opt, double *x, double *L,
                                     nb_refine_result *res)
{
    const int np = pb->np;
    double *H = malloc((size_t)np * np * sizeof *H), *A = malloc((size_t)np * np * sizeof *A);
    double *g = malloc((size_t)np * sizeof *g), *d = malloc((size_t)np * sizeof *d);
    double *xt = malloc((size_t)np * sizeof *xt), lambda = LM_LAMBDA0;
    nb_status st = H && A && g && d && xt ? NB_OK : nbi_fail(pb->err, NB_ERR_NOMEM, "refine: out of memory");
    res->stop = "max_iterations reached";
    while (st == NB_OK && res->iterations < opt->max_iterations) {
        int accepted = 0;
        double Lt = *L;
        if ((st = curvature(pb, x, pb->idx, pb->nidx, H, g)) != NB_OK)
            break;
        /* on a subset, the curvature is the subset's (scaled) but the gradient
           every pixel's: the step then leads to the minimum of the whole loss */
        if (pb->nidx < pb->ncounted
            && (st = nb_loss_gradient(pb->cfg, pb->obs, pb->names, np, &Lt, g, NULL, NULL, pb->log, pb->err)) != NB_OK)
            break;
        for (int tries = 0; tries < LM_TRIES && !accepted; ++tries, lambda *= 10.0) {
            /* (H + lambda diag H) d = -g, Jacobi-scaled */
            for (int i = 0; i < np; ++i) {
                const double di = H[i * np + i] > 0.0 ? H[i * np + i] : 1.0;
                for (int j = 0; j < np; ++j) {
                    const double dj = H[j * np + j] > 0.0 ? H[j * np + j] : 1.0;
                    A[i * np + j] = H[i * np + j] / sqrt(di * dj) + (i == j ? lambda + (H[i * np + i] > 0 ? 0 : 1) : 0.0);
                }
                d[i] = -g[i] / sqrt(di);
            }
            if (!cholesky_solve(A, d, np))
                continue;
            for (int i = 0; i < np; ++i)
                xt[i] = x[i] + d[i] / sqrt(H[i * np + i] > 0.0 ? H[i * np + i] : 1.0);
            limit_step(pb, x, xt);
            clamp(pb, xt);
            st = loss_at(pb, xt, &Lt);
            if (st == NB_ERR_RANGE || st == NB_ERR_INVALID) { /* a step the model cannot take */
                st = NB_OK;
                continue;
            }
            if (st != NB_OK)
                break;
            if (Lt < *L)
                accepted = 1;
        }
        if (st != NB_OK)
            break;
        if (!accepted) {
            res->converged = 1;
            res->stop = "no step lowers the loss further";
            break;
        }
        lambda = fmax(lambda / 100.0, 1e-12); /* the loop multiplied once more after acceptance */
        if ((st = accept(pb, opt, xt, Lt, x, L, res)) != NB_OK || res->converged)
            break;
    }
    free(H), free(A), free(g), free(d), free(xt);
    return st;
}

static double dotn(const double *a, const double *b, int n)
{
    double s = 0.0;
    for (int i = 0; i < n; ++i)
        s += a[i] * b[i];
    return s;
}

/* L-BFGS in coordinates z = x sqrt(diag H0), with an Armijo line search
   along the projected direction. */
static nb_status lbfgs(problem *pb, const nb_refine_options *opt, double *x, double *L, nb_refine_result *res)
{
    const int np = pb->np;
    double *H = malloc((size_t)np * np * sizeof *H), *g0 = malloc((size_t)np * sizeof *g0);
    double *sc = malloc((size_t)np * sizeof *sc), *g = malloc((size_t)np * sizeof *g);
    double *gt = malloc((size_t)np * sizeof *gt), *d = malloc((size_t)np * sizeof *d);
    double *xt = malloc((size_t)np * sizeof *xt), *S = malloc((size_t)HISTORY * np * sizeof *S);
    double *dx = malloc((size_t)np * sizeof *dx);
    double *Y = malloc((size_t)HISTORY * np * sizeof *Y), rho[HISTORY], alpha[HISTORY], Lt = 0.0;
    int stored = 0, head = 0;
    nb_status st = H && g0 && sc && g && gt && d && xt && S && Y && dx ? NB_OK
                   : nbi_fail(pb->err, NB_ERR_NOMEM, "refine: out of memory");
    res->stop = "max_iterations reached";
    if (st == NB_OK)
        st = curvature(pb, x, pb->idx, pb->nidx, H, g0);
    for (int p = 0; st == NB_OK && p < np; ++p)
        sc[p] = H[p * np + p] > 0.0 ? 1.0 / sqrt(H[p * np + p]) : 1.0; /* x = sc z */
    if (st == NB_OK && (st = put(pb, x)) == NB_OK)
        st = nb_loss_gradient(pb->cfg, pb->obs, pb->names, np, L, g, NULL, NULL, pb->log, pb->err);
    for (int p = 0; st == NB_OK && p < np; ++p)
        g[p] *= sc[p];
    while (st == NB_OK && res->iterations < opt->max_iterations) {
        double step = 1.0, slope;
        int accepted = 0;
        /* two-loop recursion */
        for (int i = 0; i < np; ++i)
            d[i] = -g[i];
        for (int k = 0; k < stored; ++k) {
            const int j = (head - 1 - k + HISTORY) % HISTORY;
            alpha[j] = rho[j] * dotn(S + j * np, d, np);
            for (int i = 0; i < np; ++i)
                d[i] -= alpha[j] * Y[j * np + i];
        }
        if (stored > 0) {
            const int j = (head - 1 + HISTORY) % HISTORY;
            const double gamma = dotn(S + j * np, Y + j * np, np) / dotn(Y + j * np, Y + j * np, np);
            for (int i = 0; i < np; ++i)
                d[i] *= gamma;
        }
        for (int k = stored - 1; k >= 0; --k) {
            const int j = (head - 1 - k + HISTORY) % HISTORY;
            const double beta = rho[j] * dotn(Y + j * np, d, np);
            for (int i = 0; i < np; ++i)
                d[i] += (alpha[j] - beta) * S[j * np + i];
        }
        slope = dotn(g, d, np);
        if (!(slope < 0.0)) { /* not a descent direction: restart from the gradient */
            for (int i = 0; i < np; ++i)
                d[i] = -g[i];
            slope = -dotn(g, g, np);
            stored = 0;
        }
        /* parameters held at a bound the direction pushes against stay there */
        for (int i = 0; i < np; ++i)
            if ((x[i] <= pb->lo[i] && d[i] < 0.0) || (x[i] >= pb->hi[i] && d[i] > 0.0))
                d[i] = 0.0;
        /* the full step, within the trust region and the bounds; the slope along it */
        for (int i = 0; i < np; ++i)
            dx[i] = x[i] + d[i] * sc[i];
        limit_step(pb, x, dx);
        clamp(pb, dx);
        for (int i = 0; i < np; ++i)
            dx[i] -= x[i];
        slope = 0.0;
        for (int i = 0; i < np; ++i)
            slope += g[i] * dx[i] / sc[i];
        for (int tries = 0; tries < 30 && !accepted && slope < 0.0; ++tries, step *= 0.5) {
            for (int i = 0; i < np; ++i)
                xt[i] = x[i] + step * dx[i];
            st = loss_at(pb, xt, &Lt);
            if (st == NB_ERR_RANGE || st == NB_ERR_INVALID) {
                st = NB_OK;
                continue;
            }
            if (st != NB_OK)
                break;
            if (Lt <= *L + 1e-4 * step * slope && Lt < *L)
                accepted = 1;
        }
        if (st != NB_OK)
            break;
        if (!accepted) {
            res->converged = 1;
            res->stop = "no step lowers the loss further";
            break;
        }
        st = nb_loss_gradient(pb->cfg, pb->obs, pb->names, np, &Lt, gt, NULL, NULL, pb->log, pb->err);
        if (st != NB_OK)
            break;
        for (int p = 0; p < np; ++p)
            gt[p] *= sc[p];
        {
            double *s = S + head * np, *y = Y + head * np, sy;
            for (int i = 0; i < np; ++i) {
                s[i] = (xt[i] - x[i]) / sc[i];
                y[i] = gt[i] - g[i];
            }
            sy = dotn(s, y, np);
            if (sy > 0.0) {
                rho[head] = 1.0 / sy;
                head = (head + 1) % HISTORY;
                stored = stored < HISTORY ? stored + 1 : HISTORY;
            }
        }
        memcpy(g, gt, (size_t)np * sizeof *g);
        if ((st = accept(pb, opt, xt, Lt, x, L, res)) != NB_OK || res->converged)
            break;
    }
    free(H), free(g0), free(sc), free(g), free(gt), free(d), free(xt), free(S), free(Y), free(dx);
    return st;
}

/* ---------------------------------------------------------------- the call */

static nb_status check_options(const nb_refine_options *o, nb_error *err)
{
    if (o->method != NB_REFINE_LM && o->method != NB_REFINE_LBFGS)
        return nbi_fail(err, NB_ERR_INVALID, "refine: method %d is neither NB_REFINE_LM nor NB_REFINE_LBFGS",
                        (int)o->method);
    if (o->max_iterations < 0)
        return nbi_fail(err, NB_ERR_INVALID, "refine: max_iterations = %d is negative", o->max_iterations);
    if (!(o->tolerance >= 0.0) || !isfinite(o->tolerance))
        return nbi_fail(err, NB_ERR_INVALID, "refine: tolerance = %g (expected a finite value >= 0)", o->tolerance);
    if (!(o->pixel_fraction > 0.0 && o->pixel_fraction <= 1.0))
        return nbi_fail(err, NB_ERR_INVALID, "refine: pixel_fraction = %g (expected above 0, at most 1)",
                        o->pixel_fraction);
    return NB_OK;
}

nb_status nb_refine(nb_config *cfg, const nb_observed *obs, const char *const *params, int nparams,
                    const nb_refine_options *opt_in, nb_refine_result *res, const nb_log *log, nb_error *err)
{
    nb_refine_options opt;
    problem pb;
    double *x = NULL, L = 0.0;
    nb_status st;

    if (res)
        memset(res, 0, sizeof *res);
    if (!cfg || !res || !obs)
        return nbi_fail(err, NB_ERR_INVALID, "refine: %s is NULL", !cfg ? "cfg" : !res ? "res" : "obs");
    if (nparams <= 0 || !params)
        return nbi_fail(err, NB_ERR_INVALID, "refine: no parameters to refine (nparams = %d)", nparams);
    if (opt_in)
        opt = *opt_in;
    else
        nb_refine_options_init(&opt);
    if ((st = check_options(&opt, err)) != NB_OK)
        return st;
    memset(&pb, 0, sizeof pb);
    pb.obs = obs;
    pb.names = params;
    pb.np = nparams;
    pb.log = log;
    pb.err = err;
    pb.cfg = nb_config_copy(cfg);
    x = calloc((size_t)nparams, sizeof *x);
    pb.lo = calloc((size_t)nparams, sizeof *pb.lo);
    pb.hi = calloc((size_t)nparams, sizeof *pb.hi);
    res->values = calloc((size_t)nparams, sizeof *res->values);
    res->std_errors = calloc((size_t)nparams, sizeof *res->std_errors);
    if (!pb.cfg || !x || !pb.lo || !pb.hi || !res->values || !res->std_errors) {
        st = nbi_fail(err, NB_ERR_NOMEM, "refine: out of memory");
        goto done;
    }
    for (int p = 0; p < nparams && st == NB_OK; ++p) {
        if (!nbi_dparam_find(params[p]))
            st = nbi_fail(err, NB_ERR_INVALID, "refine: '%s' is not a differentiable parameter",
                          params[p] ? params[p] : "(null)");
        else
            st = nb_deriv_param_get(cfg, params[p], &x[p], err);
    }
    if (st == NB_OK)
        st = bounds(&pb, &opt, x);
    if (st == NB_OK)
        st = pixels(&pb, opt.pixel_fraction, opt.seed);
    if (st == NB_OK)
        st = loss_at(&pb, x, &L);
    if (st == NB_OK && !push(res, L))
        st = nbi_fail(err, NB_ERR_NOMEM, "refine: out of memory");
    if (st == NB_OK)
        st = opt.method == NB_REFINE_LM ? levenberg_marquardt(&pb, &opt, x, &L, res) : lbfgs(&pb, &opt, x, &L, res);
    if (st == NB_OK) {
        std_errors(&pb, x, L, res->std_errors);
        st = put(&pb, x);
    }
    if (st == NB_OK) {
        /* the result goes to the caller's configuration only now */
        for (int p = 0; p < nparams && st == NB_OK; ++p)
            st = nb_deriv_param_set(cfg, params[p], x[p], err);
        memcpy(res->values, x, (size_t)nparams * sizeof *x);
        res->nparams = nparams;
        res->loss = L;
    }
done:
    if (st != NB_OK)
        nb_refine_result_free(res);
    nb_config_free(pb.cfg);
    free(x), free(pb.lo), free(pb.hi), free(pb.idx);
    return st;
}
