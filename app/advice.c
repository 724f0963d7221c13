/*
 * advice.c - what the program tells a user about the command line beyond
 * nanoBragg's report: values that look like a unit typed wrong, sampling that
 * will take very long, a structure-factor cache that wins over -default_F,
 * flags that a convention or pivot rule overrides or ignores, defaulted cell
 * values, and a progress meter for long runs.  Warnings go to stderr as
 * "nanobragg: warning: ..." lines (the program's name: app_name); the images
 * are never changed by them.
 */
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app.h"

#define LONG_RUN_SAMPLES 5e9      /* about ten seconds: show progress */
#define MANY_SAMPLES_PER_PIXEL 1e4 /* auto-selected sampling worth a warning */
#define LARGE_DETECTOR_M 3.0
#define LONG_WAVELENGTH_A 100.0
#define LOW_ENERGY_EV 100.0

static void warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void warn(const char *fmt, ...)
{
    va_list ap;
    fflush(stdout);
    fprintf(stderr, "%s: warning: ", app_name());
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static const char *convention_flag(nb_convention c)
{
    switch (c) {
    case NB_CONV_ADXV: return "-adxv";
    case NB_CONV_MOSFLM: return "-mosflm";
    case NB_CONV_XDS: return "-xds";
    case NB_CONV_DIALS: return "-dials";
    case NB_CONV_DENZO: return "-denzo";
    case NB_CONV_CUSTOM: break;
    }
    return "custom vectors";
}

/* "the MOSFLM convention (-mosflm)" or "... (the default)". */
static void convention_words(const app_options *o, nb_convention c, char *buf, size_t size)
{
    static const char *const names[] = {"custom", "ADXV", "MOSFLM", "XDS", "DIALS", "DENZO"};
    snprintf(buf, size, "the %s convention (%s)", names[c],
             app_flag_value(o, convention_flag(c)) ? convention_flag(c) : "the default");
}

void app_note_cell(const app_options *o)
{
    static const char *const names[] = {"b", "c", "alpha", "beta", "gamma"};
    char list[80] = "";
    int n = o->cell_values;
    if (n <= 0 || n >= 6)
        return;
    for (int i = n; i < 6; ++i) {
        strcat(list, names[i - 1]);
        strcat(list, i < 5 ? ", " : "");
    }
    printf("note: -cell gave %d of 6 values; by default %s%s%s\n", n, list,
           n < 3 ? " (edges equal to a" : "", n < 3 ? ", angles 90 degrees)" : " = 90 degrees");
}

void app_warn_units(const app_options *o)
{
    const char *energy = app_flag_value(o, "-energy");
    const double lambda_A = app_param(o, "lambda_A");
    const int by_energy = energy && app_param(o, "energy_eV") == atof(energy);
    if (by_energy && atof(energy) < LOW_ENERGY_EV)
        warn("-energy %s is in eV: a wavelength of %.4g A (for 12.4 keV x-rays give -energy 12400)",
             energy, lambda_A);
    else if (!by_energy && lambda_A > LONG_WAVELENGTH_A)
        warn("the wavelength %g A is over %g A: -lambda is in Angstrom (1.0 for 12.4 keV x-rays)",
             lambda_A, LONG_WAVELENGTH_A);
}

static long rendered_pixels(const nb_info *in)
{
    const int f1 = in->roi[1] < in->fpixels ? in->roi[1] : in->fpixels - 1;
    const int s1 = in->roi[3] < in->spixels ? in->roi[3] : in->spixels - 1;
    return (long)(f1 - in->roi[0] + 1) * (s1 - in->roi[2] + 1);
}

double app_total_samples(const nb_info *in)
{
    return (double)in->samples_per_pixel * (double)rendered_pixels(in);
}

static void warn_sampling(const nb_info *in)
{
    const double per_pixel = (double)in->samples_per_pixel;
    if (in->oversample_auto && (double)in->oversample * in->oversample > MANY_SAMPLES_PER_PIXEL)
        warn("auto-selected %dx%d sub-pixels per pixel (crystal size / wavelength against pixel size / "
             "distance): %.4g samples per pixel, %.4g in all; check -pixel (mm) and the crystal size, "
             "or set -oversample",
             in->oversample, in->oversample, per_pixel, app_total_samples(in));
    else if (per_pixel > MANY_SAMPLES_PER_PIXEL && app_total_samples(in) > 1e12)
        warn("%.4g samples per pixel, %.4g in all: this run will take very long", per_pixel,
             app_total_samples(in));
}

static void warn_detector(const nb_info *in)
{
    const double big = in->detsize_f_m > in->detsize_s_m ? in->detsize_f_m : in->detsize_s_m;
    if (big > LARGE_DETECTOR_M)
        warn("the detector is %.4g x %.4g m (%d x %d pixels of %g mm): -pixel and -detsize are in mm",
             in->detsize_f_m, in->detsize_s_m, in->fpixels, in->spixels, in->pixel_m * 1e3);
}

static void warn_cache(const app_options *o, const nb_info *in)
{
    const char *fdump = NULL;
    nb_error err;
    if (!in->hkl_from_fdump || nb_param_get_string(o->cfg, "fdump_path", &fdump, &err) != NB_OK || !fdump)
        return;
    warn("structure factors come from %s, the cache an earlier run left here, not from -default_F %g; "
         "give -hkl, or remove %s to use -default_F alone",
         fdump, app_param(o, "default_F"), fdump);
}

/* The pivot a convention imposes, or -1 for the custom convention. */
static int imposed_pivot(nb_convention c)
{
    if (c == NB_CONV_CUSTOM)
        return -1;
    return c == NB_CONV_XDS || c == NB_CONV_DIALS ? NB_PIVOT_SAMPLE : NB_PIVOT_BEAM;
}

static void warn_pivot(const app_options *o, const nb_info *in, const char *conv)
{
    const char *pivot = app_flag_value(o, "-pivot");
    if (pivot && imposed_pivot(in->convention) >= 0 && strcmp(pivot, in->pivot == NB_PIVOT_BEAM ? "beam" : "sample"))
        warn("-pivot %s is ignored: %s pivots about the %s, as in nanoBragg (give the detector "
             "vectors, e.g. -fdet_vector, to choose the pivot)",
             pivot, conv, in->pivot == NB_PIVOT_BEAM ? "direct-beam spot" : "sample");
}

static void warn_ignored_centres(const app_options *o, const nb_info *in, const char *conv)
{
    static const char *const beam[] = {"-Xbeam", "-Ybeam", "-Xclose", "-Yclose"};
    static const char *const close[] = {"-Xclose", "-Yclose", "-ORGX", "-ORGY"};
    if (in->convention == NB_CONV_XDS || in->convention == NB_CONV_DIALS) {
        for (int i = 0; i < 4; ++i) {
            const char *v = app_flag_value(o, beam[i]);
            if (v)
                warn("%s %s is ignored: %s pivots about the sample and places the detector by "
                     "-ORGX/-ORGY (here ORGX=%g ORGY=%g pixels); the direct beam meets it at "
                     "Fbeam=%g Sbeam=%g mm",
                     beam[i], v, conv, in->ORGX, in->ORGY, in->Fbeam_m * 1e3, in->Sbeam_m * 1e3);
        }
    } else if (in->convention != NB_CONV_CUSTOM) {
        for (int i = 0; i < 4; ++i) {
            const char *v = app_flag_value(o, close[i]);
            if (v)
                warn("%s %s is ignored: %s pivots about the direct-beam spot and places the detector "
                     "by the beam centre (Xbeam=%g Ybeam=%g mm); its near point is ORGX=%g ORGY=%g pixels",
                     close[i], v, conv, in->Xbeam_m * 1e3, in->Ybeam_m * 1e3, in->ORGX, in->ORGY);
        }
    }
}

static double dot3(const double a[3], const double b[3]) { return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]; }

/* Two-theta with the beam pivot: nanoBragg places the detector with the
   beam/normal ratio taken before the two-theta swing, so the direct beam
   does not stay at the beam centre. */
static void warn_twotheta(const nb_info *in, const char *conv)
{
    double t, hit[3], f, s;
    if (in->pivot != NB_PIVOT_BEAM || in->twotheta_rad == 0.0)
        return;
    t = dot3(in->pix0_m, in->odet) / dot3(in->beam, in->odet);
    for (int i = 0; i < 3; ++i)
        hit[i] = t * in->beam[i] - in->pix0_m[i];
    f = dot3(hit, in->fdet);
    s = dot3(hit, in->sdet);
    if (!(t > 0.0))
        warn("-twotheta %g with the beam pivot of %s: as in nanoBragg the beam centre is not "
             "preserved, and here the direct beam misses the detector plane",
             in->twotheta_rad * 180.0 * M_1_PI, conv);
    else if (fabs(f - in->Fbeam_m) + fabs(s - in->Sbeam_m) > 1e-9)
        warn("-twotheta %g with the beam pivot of %s: as in nanoBragg the beam centre is not "
             "preserved; the direct beam meets the detector at Fbeam=%g Sbeam=%g mm, not at "
             "Fbeam=%g Sbeam=%g mm as the report and the header say",
             in->twotheta_rad * 180.0 * M_1_PI, conv, f * 1e3, s * 1e3, in->Fbeam_m * 1e3,
             in->Sbeam_m * 1e3);
}

static void warn_distance(const app_options *o, const nb_info *in)
{
    const char *d = app_flag_value(o, "-distance");
    if (!d || !nb_param_is_set(o->cfg, "close_distance_mm") || fabs(atof(d) * 1e-3 - in->distance_m) <= 1e-9)
        return;
    warn("-distance %s is not used: the close distance %g mm %s decides, as in nanoBragg; the "
         "distance along the beam is %g mm",
         d, app_param(o, "close_distance_mm"),
         app_flag_value(o, "-close_distance") ? "(-close_distance)" : "(CLOSE_DISTANCE of the -img/-mask header)",
         in->distance_m * 1e3);
}

void app_warn_setup(const app_options *o, const nb_info *in)
{
    char conv[64];
    convention_words(o, in->convention, conv, sizeof conv);
    warn_sampling(in);
    warn_detector(in);
    warn_cache(o, in);
    warn_pivot(o, in, conv);
    warn_ignored_centres(o, in, conv);
    warn_twotheta(in, conv);
    warn_distance(o, in);
}

/* ---------------------------------------------------------------- progress */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
    interrupted = sig;
    signal(sig, SIG_DFL); /* a second one ends the process */
}

void app_catch_interrupt(int on)
{
    signal(SIGINT, on ? on_signal : SIG_DFL);
    signal(SIGTERM, on ? on_signal : SIG_DFL);
}

int app_interrupted(void) { return interrupted; }

/* A line at every 10%, and every 10 s in between once the fraction moved;
   non-zero (stop) once the run was interrupted. */
static int progress_line(void *ctx, double fraction)
{
    app_progress *p = ctx;
    double now, elapsed;
    if (interrupted)
        return 1;
    if (!p->show)
        return 0;
    now = now_s(), elapsed = now - p->start_s;
    if (fraction < p->next && (now - p->last_s < 10.0 || fraction <= p->last))
        return 0;
    fprintf(stderr, "%s: %.*f%% done, %.0f s elapsed", app_name(), fraction < 0.1 ? 1 : 0, fraction * 100.0,
            elapsed);
    if (fraction > 0.0 && fraction < 1.0)
        fprintf(stderr, ", about %.0f s left", elapsed * (1.0 - fraction) / fraction);
    fputc('\n', stderr);
    p->last_s = now;
    p->last = fraction;
    p->next = floor(fraction * 10.0 + 1.0) / 10.0;
    return 0;
}

void app_progress_setup(const app_options *o, const nb_info *in, app_progress *p, nb_log *log)
{
    memset(p, 0, sizeof *p);
    log->progress = progress_line;
    log->progress_ctx = p;
    if (!o->progress || o->printout || (!app_flag_value(o, "-progress") && app_total_samples(in) < LONG_RUN_SAMPLES))
        return;
    p->show = 1;
    p->start_s = p->last_s = now_s();
    p->last = 0.0;
    p->next = 0.1;
    fprintf(stderr, "%s: rendering %.4g samples (%ld per pixel)\n", app_name(), app_total_samples(in),
            in->samples_per_pixel);
}
