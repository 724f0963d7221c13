/*
 * detector.c - detector geometry, following nanoBragg's order of operations
 * so that every derived number (pix0, beam centres, ORGX/ORGY, distances)
 * agrees with the reference to the last bits.
 */
#include "detector.h"

#include <float.h>
#include <math.h>

#include "util.h"

#define NB_MAX_PIXELS_PER_AXIS 1000000
#define NB_MAX_PIXELS (1L << 30)

nb_status nbi_detector_size(const nb_config *cfg, nb_experiment *exp, nb_error *err)
{
    nb_info *in = &exp->info;
    double pixel = cfg->pixel_m;
    double fsize = cfg->detsize_f_m, ssize = cfg->detsize_s_m;
    double nf, ns;

    if (!(pixel > 0.0) || !isfinite(pixel))
        return nbi_fail(err, NB_ERR_INVALID, "pixel size must be positive (got %g mm)", pixel * 1e3);
    if (cfg->fpixels)
        fsize = pixel * cfg->fpixels;
    if (cfg->spixels)
        ssize = pixel * cfg->spixels;
    nf = ceil(fsize / pixel - 0.5);
    ns = ceil(ssize / pixel - 0.5);
    if (!(nf >= 1.0) || !(ns >= 1.0))
        return nbi_fail(err, NB_ERR_INVALID, "detector has no pixels (%g x %g)", nf, ns);
    if (nf > NB_MAX_PIXELS_PER_AXIS || ns > NB_MAX_PIXELS_PER_AXIS || nf * ns > (double)NB_MAX_PIXELS)
        return nbi_fail(err, NB_ERR_RANGE, "detector of %.0f x %.0f pixels is too large", nf, ns);
    exp->det.fpixels = in->fpixels = (int)nf;
    exp->det.spixels = in->spixels = (int)ns;
    exp->det.pixel_m = in->pixel_m = pixel;
    in->detsize_f_m = fsize;
    in->detsize_s_m = ssize;
    return NB_OK;
}

typedef struct basis {
    double beam[3], fdet[3], sdet[3], odet[3], twotheta[3], polar[3], spindle[3];
} basis;

static const basis BASIS_ADXV = {{0, 0, 1}, {1, 0, 0}, {0, -1, 0}, {0, 0, 1},
                                 {-1, 0, 0}, {1, 0, 0}, {1, 0, 0}};
static const basis BASIS_MOSFLM = {{1, 0, 0}, {0, 0, 1}, {0, -1, 0}, {1, 0, 0},
                                   {0, 0, -1}, {0, 0, 1}, {0, 0, 1}};
static const basis BASIS_XDS = {{0, 0, 1}, {1, 0, 0}, {0, 1, 0}, {0, 0, 1},
                                {1, 0, 0}, {1, 0, 0}, {1, 0, 0}};
static const basis BASIS_DIALS = {{0, 0, 1}, {1, 0, 0}, {0, 1, 0}, {0, 0, 1},
                                  {0, 1, 0}, {0, 1, 0}, {0, 1, 0}};

static void copy3(double dst[3], const double src[3])
{
    dst[0] = src[0];
    dst[1] = src[1];
    dst[2] = src[2];
}

static void apply_basis(nb_info *in, double twotheta_axis[3], const basis *b)
{
    copy3(in->beam, b->beam);
    copy3(in->fdet, b->fdet);
    copy3(in->sdet, b->sdet);
    copy3(in->odet, b->odet);
    copy3(twotheta_axis, b->twotheta);
    copy3(in->polar, b->polar);
    copy3(in->spindle, b->spindle);
}

/* Beam-centre defaults of each convention; Fclose/Sclose as resolved. */
static void convention_centres(const nb_config *cfg, nb_info *in, double twotheta_axis[3])
{
    double pixel = in->pixel_m, fsize = in->detsize_f_m, ssize = in->detsize_s_m;
    double X = in->Xbeam_m, Y = in->Ybeam_m;
    switch (cfg->convention) {
    case NB_CONV_ADXV:
        if (nb_is_unset(X)) X = (fsize + pixel) / 2.0;
        if (nb_is_unset(Y)) Y = (ssize - pixel) / 2.0;
        apply_basis(in, twotheta_axis, &BASIS_ADXV);
        in->Fbeam_m = X;
        in->Sbeam_m = ssize - Y;
        in->pivot = NB_PIVOT_BEAM;
        break;
    case NB_CONV_MOSFLM:
    case NB_CONV_DENZO: {
        double half = cfg->convention == NB_CONV_MOSFLM ? 0.5 * pixel : 0.0 * pixel;
        if (nb_is_unset(X)) X = (ssize + pixel) / 2.0;
        if (nb_is_unset(Y)) Y = (fsize + pixel) / 2.0;
        apply_basis(in, twotheta_axis, &BASIS_MOSFLM);
        in->Fbeam_m = Y + half;
        in->Sbeam_m = X + half;
        in->pivot = NB_PIVOT_BEAM;
        break;
    }
    case NB_CONV_XDS:
    case NB_CONV_DIALS:
        if (nb_is_unset(X)) X = in->Xclose_m;
        if (nb_is_unset(Y)) Y = in->Yclose_m;
        apply_basis(in, twotheta_axis, cfg->convention == NB_CONV_XDS ? &BASIS_XDS : &BASIS_DIALS);
        in->Fbeam_m = X;
        in->Sbeam_m = Y;
        in->pivot = NB_PIVOT_SAMPLE;
        break;
    case NB_CONV_CUSTOM:
        if (nb_is_unset(X)) X = in->Xclose_m;
        if (nb_is_unset(Y)) Y = in->Yclose_m;
        in->Fbeam_m = X;
        in->Sbeam_m = Y;
        in->Fclose_m = X;
        in->Sclose_m = Y;
        break;
    }
    in->Xbeam_m = X;
    in->Ybeam_m = Y;
}

void nbi_detector_convention(const nb_config *cfg, nb_experiment *exp, const nb_log *log)
{
    nb_info *in = &exp->info;
    double pixel = in->pixel_m;
    vec3 u, polar;
    double *tt = in->twotheta_axis;

    in->convention = cfg->convention;
    in->pivot = cfg->pivot;
    copy3(in->beam, cfg->beam_vector);
    copy3(in->fdet, cfg->fdet_vector);
    copy3(in->sdet, cfg->sdet_vector);
    copy3(in->odet, cfg->odet_vector);
    copy3(in->polar, cfg->polar_vector);
    copy3(in->spindle, cfg->spindle_vector);
    copy3(tt, cfg->twotheta_axis);

    in->Fclose_m = nb_is_unset(cfg->ORGX) ? in->detsize_f_m / 2.0 : (cfg->ORGX - 0.5) * pixel;
    in->Sclose_m = nb_is_unset(cfg->ORGY) ? in->detsize_s_m / 2.0 : (cfg->ORGY - 0.5) * pixel;
    in->Xclose_m = nb_is_unset(cfg->Xclose_m) ? in->Fclose_m : cfg->Xclose_m;
    in->Yclose_m = nb_is_unset(cfg->Yclose_m) ? in->Sclose_m : cfg->Yclose_m;
    in->Fbeam_m = in->Fclose_m;
    in->Sbeam_m = in->Sclose_m;
    in->Xbeam_m = cfg->Xbeam_m;
    in->Ybeam_m = cfg->Ybeam_m;
    convention_centres(cfg, in, tt);

    v3_unit(v3_from(in->beam), &u);
    v3_store(u, in->beam);
    v3_unit(v3_from(in->fdet), &u);
    v3_store(u, in->fdet);
    v3_unit(v3_from(in->sdet), &u);
    v3_store(u, in->sdet);
    if (v3_unit(v3_from(in->odet), &u) != 1.0) {
        nbi_log(log, NB_LOG_WARN, "WARNING: auto-generating odet_vector");
        v3_unit(v3_cross(v3_from(in->fdet), v3_from(in->sdet)), &u);
    }
    v3_store(u, in->odet);
    v3_unit(v3_from(in->polar), &polar);
    v3_store(polar, in->polar);
    v3_unit(v3_from(in->spindle), &u);
    v3_store(u, in->spindle);
    exp->polar_vector = polar;
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

void nbi_detector_place(const nb_config *cfg, nb_experiment *exp, const nb_log *log)
{
    nb_info *in = &exp->info;
    const double *rot = cfg->detector_rot_rad;
    vec3 beam = v3_from(in->beam), f = v3_from(in->fdet), s = v3_from(in->sdet);
    vec3 o = v3_from(in->odet), tt = v3_from(in->twotheta_axis), pix0, nv;
    double ratio, close, distance = cfg->distance_m;

    nbi_log(log, NB_LOG_INFO, "%s convention selected.", convention_name(in->convention));
    ratio = v3_dot(beam, v3_rotate_xyz(o, rot[0], rot[1], rot[2]));
    if (ratio == 0.0)
        ratio = DBL_MIN;
    close = nb_is_unset(cfg->close_distance_m) ? fabs(ratio * distance) : cfg->close_distance_m;
    distance = close / ratio;

    pix0 = v3_from(cfg->pix0_vector_m);
    if (in->pivot == NB_PIVOT_SAMPLE) {
        nbi_log(log, NB_LOG_INFO, "pivoting detector around sample");
        pix0 = v3_add(v3_sub(v3_scale(f, -in->Fclose_m), v3_scale(s, in->Sclose_m)), v3_scale(o, close));
        pix0 = v3_rotate_xyz(pix0, rot[0], rot[1], rot[2]);
        pix0 = v3_rotate_axis(pix0, tt, cfg->twotheta_rad);
    }
    f = v3_rotate_axis(v3_rotate_xyz(f, rot[0], rot[1], rot[2]), tt, cfg->twotheta_rad);
    s = v3_rotate_axis(v3_rotate_xyz(s, rot[0], rot[1], rot[2]), tt, cfg->twotheta_rad);
    o = v3_rotate_axis(v3_rotate_xyz(o, rot[0], rot[1], rot[2]), tt, cfg->twotheta_rad);
    if (in->pivot == NB_PIVOT_BEAM) {
        nbi_log(log, NB_LOG_INFO, "pivoting detector around direct beam spot");
        pix0 = v3_add(v3_sub(v3_scale(f, -in->Fbeam_m), v3_scale(s, in->Sbeam_m)), v3_scale(beam, distance));
    }

    in->Fclose_m = -v3_dot(pix0, f);
    in->Sclose_m = -v3_dot(pix0, s);
    close = v3_dot(pix0, o);
    nv = v3_sub(v3_scale(beam, close / ratio), pix0);
    in->Fbeam_m = v3_dot(f, nv);
    in->Sbeam_m = v3_dot(s, nv);
    distance = close / ratio;
    in->ORGX = in->Fclose_m / in->pixel_m + 0.5;
    in->ORGY = in->Sclose_m / in->pixel_m + 0.5;
    in->dials_origin_mm[0] = 1000.0 * v3_dot(pix0, v3(0, 0, 1));
    in->dials_origin_mm[1] = 1000.0 * v3_dot(pix0, v3(0, 1, 0));
    in->dials_origin_mm[2] = 1000.0 * v3_dot(pix0, v3(-1, 0, 0));
    in->incident_beam_xds[0] = v3_dot(beam, f);
    in->incident_beam_xds[1] = v3_dot(beam, s);
    in->incident_beam_xds[2] = v3_dot(beam, o);
    nbi_log(log, NB_LOG_INFO, "XDS incident beam: %g %g %g", in->incident_beam_xds[0],
            in->incident_beam_xds[1], in->incident_beam_xds[2]);

    v3_store(f, in->fdet);
    v3_store(s, in->sdet);
    v3_store(o, in->odet);
    v3_store(pix0, in->pix0_m);
    in->distance_m = distance;
    in->close_distance_m = close;
    in->twotheta_rad = cfg->twotheta_rad;
    exp->det.fdet = f;
    exp->det.sdet = s;
    exp->det.odet = o;
    exp->det.pix0 = pix0;
    exp->det.distance_m = distance;
    exp->det.close_distance_m = close;
}
