/*
 * detector.c - detector geometry, following nanoBragg's order of operations
 * so that every derived number (pix0, beam centres, ORGX/ORGY, distances)
 * agrees with the reference to the last bits.
 */
#include "detector.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define NB_MAX_PIXELS_PER_AXIS 1000000
#define NB_MAX_PIXELS (1L << 30)

#define NB_MAX_SAMPLES_PER_PIXEL (1L << 24) /* sub-pixels x detector layers */

/* The detector's nearest point along its normal must be this far in front of
   the sample (the least distance_mm): nearer, solid angles overflow. */
#define NB_MIN_DETECTOR_DISTANCE_M 1e-9
/* The fast and slow axes must be at least this far from parallel (sine). */
#define NB_MIN_AXES_SINE 1e-6

nb_status nbi_detector_size(const nb_config *cfg, nbi_panel *out, nb_error *err)
{
    double pixel = cfg->pixel_m;
    double fsize = cfg->detsize_f_m, ssize = cfg->detsize_s_m;
    double nf, ns;

    if (!(pixel > 0.0) || !isfinite(pixel))
        return nbi_fail(err, NB_ERR_INVALID, "pixel_mm: the pixel size must be positive (got %g mm)", pixel * 1e3);
    if (cfg->fpixels)
        fsize = pixel * cfg->fpixels;
    if (cfg->spixels)
        ssize = pixel * cfg->spixels;
    nf = ceil(fsize / pixel - 0.5);
    ns = ceil(ssize / pixel - 0.5);
    if (!(nf >= 1.0) || !(ns >= 1.0))
        return nbi_fail(err, NB_ERR_INVALID, "detector has no pixels (%g x %g): check fpixels, spixels, "
                        "detsize_mm and pixel_mm", nf, ns);
    if (nf > NB_MAX_PIXELS_PER_AXIS || ns > NB_MAX_PIXELS_PER_AXIS || nf * ns > (double)NB_MAX_PIXELS)
        return nbi_fail(err, NB_ERR_RANGE, "detector of %.0f x %.0f pixels is too large (fpixels, spixels, "
                        "detsize_mm / pixel_mm)", nf, ns);
    out->fpixels = (int)nf;
    out->spixels = (int)ns;
    out->pixel_m = pixel;
    out->size_f_m = fsize;
    out->size_s_m = ssize;
    return NB_OK;
}

typedef struct basis {
    vec3 beam, fdet, sdet, odet, twotheta, polar, spindle;
} basis;

static const basis BASIS_ADXV = {{0, 0, 1}, {1, 0, 0}, {0, -1, 0}, {0, 0, 1},
                                 {-1, 0, 0}, {1, 0, 0}, {1, 0, 0}};
static const basis BASIS_MOSFLM = {{1, 0, 0}, {0, 0, 1}, {0, -1, 0}, {1, 0, 0},
                                   {0, 0, -1}, {0, 0, 1}, {0, 0, 1}};
static const basis BASIS_XDS = {{0, 0, 1}, {1, 0, 0}, {0, 1, 0}, {0, 0, 1},
                                {1, 0, 0}, {1, 0, 0}, {1, 0, 0}};
static const basis BASIS_DIALS = {{0, 0, 1}, {1, 0, 0}, {0, 1, 0}, {0, 0, 1},
                                  {0, 1, 0}, {0, 1, 0}, {0, 1, 0}};

static void apply_basis(nbi_frame *fr, const basis *b)
{
    fr->beam = b->beam;
    fr->fdet = b->fdet;
    fr->sdet = b->sdet;
    fr->odet = b->odet;
    fr->twotheta_axis = b->twotheta;
    fr->polar = b->polar;
    fr->spindle = b->spindle;
}

/* Beam-centre defaults of each convention; Fclose/Sclose as resolved. */
static void convention_centres(const nb_config *cfg, const nbi_panel *panel, nbi_frame *fr)
{
    nbi_centres *c = &fr->centres;
    double pixel = panel->pixel_m, fsize = panel->size_f_m, ssize = panel->size_s_m;
    double X = cfg->Xbeam_m, Y = cfg->Ybeam_m;
    switch (cfg->convention) {
    case NB_CONV_ADXV:
        if (nb_is_unset(X)) X = (fsize + pixel) / 2.0;
        if (nb_is_unset(Y)) Y = (ssize - pixel) / 2.0;
        apply_basis(fr, &BASIS_ADXV);
        c->Fbeam_m = X;
        c->Sbeam_m = ssize - Y;
        fr->pivot = NB_PIVOT_BEAM;
        break;
    case NB_CONV_MOSFLM:
    case NB_CONV_DENZO: {
        double half = cfg->convention == NB_CONV_MOSFLM ? 0.5 * pixel : 0.0 * pixel;
        if (nb_is_unset(X)) X = (ssize + pixel) / 2.0;
        if (nb_is_unset(Y)) Y = (fsize + pixel) / 2.0;
        apply_basis(fr, &BASIS_MOSFLM);
        c->Fbeam_m = Y + half;
        c->Sbeam_m = X + half;
        fr->pivot = NB_PIVOT_BEAM;
        break;
    }
    case NB_CONV_XDS:
    case NB_CONV_DIALS:
        if (nb_is_unset(X)) X = c->Xclose_m;
        if (nb_is_unset(Y)) Y = c->Yclose_m;
        apply_basis(fr, cfg->convention == NB_CONV_XDS ? &BASIS_XDS : &BASIS_DIALS);
        c->Fbeam_m = X;
        c->Sbeam_m = Y;
        fr->pivot = NB_PIVOT_SAMPLE;
        break;
    case NB_CONV_CUSTOM:
        if (nb_is_unset(X)) X = c->Xclose_m;
        if (nb_is_unset(Y)) Y = c->Yclose_m;
        c->Fbeam_m = X;
        c->Sbeam_m = Y;
        c->Fclose_m = X;
        c->Sclose_m = Y;
        break;
    }
    c->Xbeam_m = X;
    c->Ybeam_m = Y;
}

/* Unit vectors of the frame (odet generated from fdet x sdet if it has no
   length 1); the two-theta axis is left as it is. */
static void normalise(nbi_frame *fr, const nb_log *log)
{
    v3_unit(fr->beam, &fr->beam);
    v3_unit(fr->fdet, &fr->fdet);
    v3_unit(fr->sdet, &fr->sdet);
    if (v3_unit(fr->odet, &fr->odet) != 1.0) {
        nbi_log(log, NB_LOG_WARN, "WARNING: auto-generating odet_vector");
        v3_unit(v3_cross(fr->fdet, fr->sdet), &fr->odet);
    }
    v3_unit(fr->polar, &fr->polar);
    v3_unit(fr->spindle, &fr->spindle);
}

void nbi_detector_frame(const nb_config *cfg, const nbi_panel *panel, const nb_log *log, nbi_frame *out)
{
    nbi_centres *c = &out->centres;
    double pixel = panel->pixel_m;

    out->convention = cfg->convention;
    out->pivot = cfg->pivot;
    out->beam = v3_from(cfg->beam_vector);
    out->fdet = v3_from(cfg->fdet_vector);
    out->sdet = v3_from(cfg->sdet_vector);
    out->odet = v3_from(cfg->odet_vector);
    out->polar = v3_from(cfg->polar_vector);
    out->spindle = v3_from(cfg->spindle_vector);
    out->twotheta_axis = v3_from(cfg->twotheta_axis);

    c->Fclose_m = nb_is_unset(cfg->ORGX) ? panel->size_f_m / 2.0 : (cfg->ORGX - 0.5) * pixel;
    c->Sclose_m = nb_is_unset(cfg->ORGY) ? panel->size_s_m / 2.0 : (cfg->ORGY - 0.5) * pixel;
    c->Xclose_m = nb_is_unset(cfg->Xclose_m) ? c->Fclose_m : cfg->Xclose_m;
    c->Yclose_m = nb_is_unset(cfg->Yclose_m) ? c->Sclose_m : cfg->Yclose_m;
    c->Fbeam_m = c->Fclose_m;
    c->Sbeam_m = c->Sclose_m;
    convention_centres(cfg, panel, out);
    normalise(out, log);
}

static const char *convention_name(nb_convention c)
{
    switch (c) {
    case NB_CONV_ADXV: return "adxv";
    case NB_CONV_MOSFLM: return "mosflm";
    case NB_CONV_XDS: return "xds";
    case NB_CONV_DIALS: return "dials";
    case NB_CONV_DENZO: return "denzo";
    case NB_CONV_CUSTOM: return "custom";
    }
    return "custom";
}

/* Near point, beam spot, distance and origins of the placed detector. */
static void derive_centres(const nbi_panel *panel, const nbi_frame *frame, double ratio, nbi_placement *p)
{
    vec3 beam = frame->beam, f = p->fdet, s = p->sdet, o = p->odet, pix0 = p->pix0, nv;
    nbi_centres *c = &p->centres;
    double close;

    *c = frame->centres;
    c->Fclose_m = -v3_dot(pix0, f);
    c->Sclose_m = -v3_dot(pix0, s);
    close = v3_dot(pix0, o);
    nv = v3_sub(v3_scale(beam, close / ratio), pix0);
    c->Fbeam_m = v3_dot(f, nv);
    c->Sbeam_m = v3_dot(s, nv);
    p->distance_m = close / ratio;
    p->close_distance_m = close;
    p->origins.ORGX = c->Fclose_m / panel->pixel_m + 0.5;
    p->origins.ORGY = c->Sclose_m / panel->pixel_m + 0.5;
    p->origins.dials_origin_mm[0] = 1000.0 * v3_dot(pix0, v3(0, 0, 1));
    p->origins.dials_origin_mm[1] = 1000.0 * v3_dot(pix0, v3(0, 1, 0));
    p->origins.dials_origin_mm[2] = 1000.0 * v3_dot(pix0, v3(-1, 0, 0));
    p->origins.incident_xds = v3(v3_dot(beam, f), v3_dot(beam, s), v3_dot(beam, o));
}

void nbi_detector_place(const nb_config *cfg, const nbi_panel *panel, const nbi_frame *frame,
                        const nb_log *log, nbi_placement *out)
{
    const double *rot = cfg->detector_rot_rad;
    const nbi_centres *c = &frame->centres;
    vec3 beam = frame->beam, f = frame->fdet, s = frame->sdet, o = frame->odet;
    vec3 tt = frame->twotheta_axis, pix0;
    double ratio, close, distance = cfg->distance_m;

    nbi_log(log, NB_LOG_INFO, "%s convention selected.", convention_name(frame->convention));
    ratio = v3_dot(beam, v3_rotate_xyz(o, rot[0], rot[1], rot[2]));
    if (ratio == 0.0)
        ratio = DBL_MIN;
    close = nb_is_unset(cfg->close_distance_m) ? fabs(ratio * distance) : cfg->close_distance_m;
    distance = close / ratio;

    pix0 = v3_from(cfg->pix0_vector_m);
    if (frame->pivot == NB_PIVOT_SAMPLE) {
        nbi_log(log, NB_LOG_INFO, "pivoting detector around sample");
        pix0 = v3_add(v3_sub(v3_scale(f, -c->Fclose_m), v3_scale(s, c->Sclose_m)), v3_scale(o, close));
        pix0 = v3_rotate_xyz(pix0, rot[0], rot[1], rot[2]);
        pix0 = v3_rotate_axis(pix0, tt, cfg->twotheta_rad);
    }
    f = v3_rotate_axis(v3_rotate_xyz(f, rot[0], rot[1], rot[2]), tt, cfg->twotheta_rad);
    s = v3_rotate_axis(v3_rotate_xyz(s, rot[0], rot[1], rot[2]), tt, cfg->twotheta_rad);
    o = v3_rotate_axis(v3_rotate_xyz(o, rot[0], rot[1], rot[2]), tt, cfg->twotheta_rad);
    if (frame->pivot == NB_PIVOT_BEAM) {
        nbi_log(log, NB_LOG_INFO, "pivoting detector around direct beam spot");
        pix0 = v3_add(v3_sub(v3_scale(f, -c->Fbeam_m), v3_scale(s, c->Sbeam_m)), v3_scale(beam, distance));
    }
    out->twotheta_rad = cfg->twotheta_rad;
    out->fdet = f;
    out->sdet = s;
    out->odet = o;
    out->pix0 = pix0;
    derive_centres(panel, frame, ratio, out);
    nbi_log(log, NB_LOG_INFO, "XDS incident beam: %g %g %g", out->origins.incident_xds.x,
            out->origins.incident_xds.y, out->origins.incident_xds.z);
}

nb_status nbi_detector_check_placement(const nbi_panel *panel, const nbi_placement *place, nb_error *err)
{
    const double lf = panel->fpixels * panel->pixel_m, ls = panel->spixels * panel->pixel_m;
    double nearest = INFINITY;
    int corner = 0;
    if (!(v3_mag(v3_cross(place->fdet, place->sdet)) >= NB_MIN_AXES_SINE))
        return nbi_fail(err, NB_ERR_INVALID, "fdet_vector and sdet_vector are parallel: the detector has no area");
    /* every point of the detector is pix0 + a fdet + b sdet (+ layers further
       along odet): its distance along odet is least at a corner */
    for (int i = 0; i < 4; ++i) {
        const vec3 p = v3_add(place->pix0, v3_add(v3_scale(place->fdet, i & 1 ? lf : 0.0),
                                                  v3_scale(place->sdet, i & 2 ? ls : 0.0)));
        const double d = v3_dot(p, place->odet);
        if (!(d >= nearest))
            nearest = d, corner = i;
    }
    if (!(nearest >= NB_MIN_DETECTOR_DISTANCE_M))
        return nbi_fail(err, NB_ERR_INVALID, "the detector faces away from the sample: its corner at pixel (%d, %d) "
                        "is %g mm in front of the sample along odet (at least %g mm): check twotheta_deg, "
                        "detector_rotx/y/z_deg and pivot, distance_mm and close_distance_mm, or fdet_vector, "
                        "sdet_vector and odet_vector", corner & 1 ? panel->fpixels : 0, corner & 2 ? panel->spixels : 0,
                        nearest * 1e3, NB_MIN_DETECTOR_DISTANCE_M * 1e3);
    return NB_OK;
}

void nbi_detector_oversample(int requested, double xtal_max_m, double rpix_m, const nb_log *log,
                             nbi_subpixels *out)
{
    /* capped before conversion: the samples-per-pixel limit refuses it */
    double r = ceil(3.0 * xtal_max_m / rpix_m);
    out->recommended = r >= 1e6 ? 1000000 : r >= 1.0 ? (int)r : 1;
    out->oversample = requested;
    out->automatic = requested <= 0;
    if (out->automatic) {
        out->oversample = out->recommended;
        nbi_log(log, NB_LOG_INFO, "auto-selected %d-fold oversampling", out->oversample);
    }
    if (out->oversample < out->recommended) {
        nbi_log(log, NB_LOG_WARN, "WARNING: maximum dimension of sample is %g A", xtal_max_m * 1e10);
        nbi_log(log, NB_LOG_WARN, "         but reciprocal pixel size is %g A", rpix_m * 1e10);
        nbi_log(log, NB_LOG_WARN, "         intensity may vary significantly across a pixel!");
        nbi_log(log, NB_LOG_WARN, "         recommend -oversample %d to work around this", out->recommended);
    }
}

/* The geometry of the placed detector, and what reports state about it. */
static void put_geometry(const nbi_panel *panel, const nbi_frame *frame, const nbi_placement *place,
                         nbi_detector *d)
{
    d->fpixels = panel->fpixels;
    d->spixels = panel->spixels;
    d->pixel_m = panel->pixel_m;
    d->size_f_m = panel->size_f_m;
    d->size_s_m = panel->size_s_m;
    d->convention = frame->convention;
    d->pivot = frame->pivot;
    d->twotheta_axis = frame->twotheta_axis;
    d->twotheta_rad = place->twotheta_rad;
    d->fdet = place->fdet;
    d->sdet = place->sdet;
    d->odet = place->odet;
    d->pix0 = place->pix0;
    d->distance_m = place->distance_m;
    d->close_distance_m = place->close_distance_m;
    d->centres = place->centres;
    d->origins = place->origins;
}

/* Sub-pixels, layers and the kernels' switches. */
static void put_sampling(const nb_config *cfg, const nbi_sampling *sampling, const nbi_subpixels *sub,
                         nbi_detector *d)
{
    d->oversample = sub->oversample;
    d->recommended_oversample = sub->recommended;
    d->oversample_auto = sub->automatic;
    d->subpixel_m = d->pixel_m / d->oversample;
    d->thicksteps = sampling->thick.count;
    d->thick_m = sampling->thick.range;
    d->thickstep_m = sampling->thick.step;
    d->mu = sampling->mu;
    d->curved = cfg->curved_detector;
    d->point_pixel = cfg->point_pixel;
    d->oversample_thick = cfg->oversample_thick;
    d->oversample_polar = cfg->oversample_polar;
    d->oversample_omega = cfg->oversample_omega;
}

nb_status nbi_detector_create(const nb_config *cfg, const nbi_panel *panel, const nbi_frame *frame,
                              const nbi_placement *place, const nbi_sampling *sampling, const int roi[4],
                              const nbi_subpixels *sub, nbi_detector *out, nb_error *err)
{
    const double os = sub->oversample;
    memset(out, 0, sizeof *out);
    if (os * os * sampling->thick.count > (double)NB_MAX_SAMPLES_PER_PIXEL)
        return nbi_fail(err, NB_ERR_RANGE,
                        "%s%d x %d sub-pixels x %d detector layers per pixel is too many (at most %ld)%s",
                        sub->automatic ? "auto-selected " : "", sub->oversample, sub->oversample,
                        sampling->thick.count, NB_MAX_SAMPLES_PER_PIXEL,
                        sub->automatic ? ": check -pixel (mm) and the crystal size, or set -oversample"
                                       : ": lower oversample or detector_thicksteps");
    put_geometry(panel, frame, place, out);
    put_sampling(cfg, sampling, sub, out);
    memcpy(out->roi, roi, sizeof out->roi);
    if (cfg->mask) {
        const size_t bytes = (size_t)out->fpixels * (size_t)out->spixels * sizeof(uint16_t);
        out->mask = malloc(bytes);
        if (!out->mask)
            return nbi_fail(err, NB_ERR_NOMEM, "out of memory for the mask");
        memcpy(out->mask, cfg->mask, bytes);
    }
    return NB_OK;
}

void nbi_detector_free(nbi_detector *det)
{
    free(det->mask);
    det->mask = NULL;
}

/* Scattering angle (rad) at lab position p seen from the sample at the
   origin, beam along the unit vector beam. */
static double twotheta_at(vec3 p, vec3 beam)
{
    const double r = v3_mag(p);
    return r > 0.0 ? acos(fmax(-1.0, fmin(1.0, v3_dot(p, beam) / r))) : 0.0;
}

double nbi_detector_max_twotheta(const nbi_panel *panel, const nbi_placement *place, vec3 beam, int curved,
                                 double distance_m)
{
    const int nf = panel->fpixels, ns = panel->spixels;
    const long n = 2L * (nf + ns);
    double best = 0.0;
    for (long i = 0; i <= n; ++i) { /* the pixel corners along the edge, round the detector */
        double f, s;
        if (i <= nf) f = (double)i, s = 0.0;
        else if (i <= nf + ns) f = nf, s = (double)(i - nf);
        else if (i <= 2L * nf + ns) f = (double)(2L * nf + ns - i), s = ns;
        else f = 0.0, s = (double)(n - i);
        const vec3 p = v3_add(place->pix0, v3_add(v3_scale(place->fdet, f * panel->pixel_m),
                                                  v3_scale(place->sdet, s * panel->pixel_m)));
        best = fmax(best, curved ? (fabs(p.y) + fabs(p.z)) / distance_m : twotheta_at(p, beam));
    }
    return fmin(best, M_PI);
}
