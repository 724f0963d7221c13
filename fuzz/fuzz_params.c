/*
 * fuzz_params.c - libFuzzer target for the configuration API: the input is a
 * program of parameter settings (nb_param_set / _set_array / _set_string,
 * by index into the parameter table, with values drawn from the input:
 * raw doubles, NaN, infinities, zeros, range ends and just beyond them, junk
 * words) applied to a small valid configuration, then nb_experiment_create
 * and, where cheap, nb_render_pixels of a few pixels.  A finding is a crash,
 * a sanitizer report, an error without a message, or a rendered pixel that
 * is not finite and non-negative (abort).
 */
#include <math.h>

#include "fuzz_common.h"
#include "nanobragg.h"

typedef struct reader {
    const uint8_t *p;
    size_t n;
} reader;

static unsigned byte(reader *r)
{
    if (r->n == 0)
        return 0;
    r->n--;
    return *r->p++;
}

static double raw_double(reader *r)
{
    double v = 0.0;
    unsigned char b[sizeof v] = {0};
    for (size_t i = 0; i < sizeof v; ++i)
        b[i] = (unsigned char)byte(r);
    memcpy(&v, b, sizeof v);
    return v;
}

/* A value for parameter p, chosen by the input. */
static double value(reader *r, const nb_param_info *p)
{
    const double span = p->max - p->min;
    switch (byte(r) % 12) {
    case 0: return NAN;
    case 1: return INFINITY;
    case 2: return -INFINITY;
    case 3: return 0.0;
    case 4: return -1.0;
    case 5: return p->min;
    case 6: return p->max;
    case 7: return p->min - 1e-9 * fabs(p->min) - 1e-300;
    case 8: return p->max * (1 + 1e-9) + 1e-300;
    case 9: return raw_double(r);
    case 10: return (double)(int)(byte(r) | byte(r) << 8) - 1000.0;
    default: return p->min + span * (byte(r) / 255.0);
    }
}

static void check_error(nb_status st, const nb_error *err)
{
    if (st != NB_OK && err->msg[0] == '\0')
        abort(); /* every error says why */
}

static void mutate(nb_config *cfg, reader *r)
{
    const nb_param_info *p = nb_param_at(byte(r) % nb_param_count());
    nb_error err = {{0}};
    nb_status st;
    if (p->kind == NB_PARAM_CHOICE) {
        static const char *const junk[] = {"", "auto", "on", "beam", "xds", "single", "round", "?"};
        st = nb_param_set_string(cfg, p->name, junk[byte(r) % 8], &err);
    } else if (p->kind == NB_PARAM_STRING) {
        return; /* no files */
    } else if (p->kind == NB_PARAM_ARRAY) {
        double v[12];
        size_t n = byte(r) % (size_t)(p->count + 2);
        for (size_t i = 0; i < n; ++i)
            v[i] = value(r, p);
        st = nb_param_set_array(cfg, p->name, v, n, &err);
    } else {
        st = nb_param_set(cfg, p->name, value(r, p), &err);
    }
    check_error(st, &err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    reader r = {data, size};
    nb_config *cfg = nb_config_new();
    nb_experiment *exp = NULL;
    nb_error err = {{0}};
    nb_status st;
    const double cell[6] = {50, 60, 70, 90, 90, 90};
    if (!cfg)
        return 0;
    if (nb_param_set_array(cfg, "cell", cell, 6, &err) != NB_OK || nb_param_set(cfg, "default_F", 10, &err) != NB_OK
        || nb_param_set(cfg, "detpixels", 8, &err) != NB_OK || nb_param_set(cfg, "threads", 1, &err) != NB_OK)
        abort();
    for (unsigned ops = byte(&r) % 8; ops > 0; --ops)
        mutate(cfg, &r);
    st = nb_experiment_create(cfg, NULL, &exp, &err);
    check_error(st, &err);
    if (st == NB_OK) {
        const nb_info *in = nb_experiment_info(exp);
        const double pixels = (double)in->fpixels * in->spixels;
        if (pixels <= 4096 && in->samples_per_pixel <= 2000) {
            size_t idx[4];
            float out[4];
            for (int i = 0; i < 4; ++i)
                idx[i] = (size_t)(byte(&r) * 16u + byte(&r)) % (size_t)pixels;
            st = nb_render_pixels(exp, idx, 4, out, NULL, &err);
            check_error(st, &err);
            for (int i = 0; st == NB_OK && i < 4; ++i)
                if (!(out[i] >= 0.0f) || !isfinite(out[i]))
                    abort(); /* a rendered pixel must be finite and non-negative */
            /* and the derivatives of those pixels with respect to two
               differentiable parameters the input picks */
            if (st == NB_OK) {
                const int nd = nb_deriv_param_count();
                const char *names[2];
                double J[8], img[4];
                names[0] = nb_deriv_param_name(byte(&r) % nd);
                names[1] = nb_deriv_param_name(byte(&r) % nd);
                st = nb_jacobian(cfg, names, names[0] == names[1] ? 1 : 2, idx, 4, img, J, NULL, &err);
                check_error(st, &err);
                for (int i = 0; st == NB_OK && i < 4; ++i)
                    if (!(img[i] >= 0.0) || !isfinite(img[i]))
                        abort(); /* the Jacobian's image too */
            }
        }
    }
    nb_experiment_free(exp);
    nb_config_free(cfg);
    return 0;
}
