/*
 * test_gpu.c - the GPU kernel's per-pixel code (gpu_pixel.h), compiled for
 * the host, against the CPU kernels, on reference cases (tests/reference/
 * cases) that cover the crystal shapes, tricubic interpolation, divergence,
 * dispersion and source files, mosaic domains, phi steps, sensor layers and
 * absorption, oversampling (and -oversample_thick/polar/omega),
 * polarization, -dmin, water, a curved detector and the ROI: the same
 * experiment packed for the GPU (nbi_gpu_pack), every rendered pixel's
 * double value compared with the CPU kernel's before its conversion to
 * float (the row kernel's nbi_row.value, or the reference kernel's), with
 * interpolation as the image starts (the serial-order corrections are the
 * CPU's on both paths).  The CUDA kernel (cuda/backend.cu) runs this code;
 * only the copies to and from the device are not checked here.
 *
 *   double:  |gpu - cpu| <= 1e-12 max(|cpu|, 1e-6 max|cpu|) at every pixel
 *            (observed: 0, the same bits: the same functions, the same
 *            order, fused multiply-adds where the CPU has them)
 *   single:  the float sums against the CPU's float sums, the same bound
 *            (observed 0), and Pearson r >= 0.99999 against double
 *   flags:   the same "swept" and "interpolation left the grid" flags
 *
 * The cases' command lines are parsed by the program's flag table.
 */
#include <string.h>
#include <unistd.h>

#include "support.h"

#include "gpu.h"
#include "kernel_row.h"
#include "options.h"

#define REL 1e-12
#define FLOOR 1e-6

static const char *const CASES[] = {"round_xtal", "gauss_xtal", "tophat", "interpolate", "interp_auto_N1",
                                    "hkl_sparse", "mat_hkl", "div_disp_many", "sourcefile", "dispersion",
                                    "mosaic", "phi_osc", "absorption", "oversample", "oversample_flags",
                                    "polar_kahn", "nopolar", "dmin", "water", "curved_det", "roi",
                                    "integrated", "Na_Nb_Nc", "basic_cubic", "point_pixel"};

/* The experiment of case name (in its folder), with -precision single when
   single; NULL when the case does not apply (single precision unused). */
static nb_experiment *case_experiment(const char *name, int single)
{
    char dir[1024], line[4096], *argv[256];
    int argc = 0;
    app_options o;
    nb_experiment *e = NULL;
    nb_error err = {{0}};
    FILE *f;
    snprintf(dir, sizeof dir, "%s/reference/cases/%s", NB_TEST_DATA_DIR, name);
    assert_int_equal(chdir(dir), 0);
    f = fopen("args", "r");
    assert_non_null(f);
    assert_non_null(fgets(line, sizeof line, f));
    fclose(f);
    argv[argc++] = "nanobragg";
    for (char *t = strtok(line, " \t\n"); t && argc < 250; t = strtok(NULL, " \t\n"))
        argv[argc++] = t;
    if (single) {
        argv[argc++] = "-precision";
        argv[argc++] = "single";
    }
    argv[argc] = NULL;
    app_flags_quiet(1);
    assert_int_equal(app_options_init(&o), 0);
    assert_int_equal(app_parse_flags(&o, argc, argv), 0);
    assert_int_equal(nb_param_unset(o.cfg, "fdump_path", &err), NB_OK); /* nothing written */
    assert_int_equal(nb_param_set(o.cfg, "threads", 1, &err), NB_OK);
    if (nb_experiment_create(o.cfg, NULL, &e, &err) != NB_OK)
        print_error("%s: %s\n", name, err.msg);
    assert_non_null(e);
    app_options_free(&o);
    if (single && e->precision != NB_PRECISION_SINGLE) {
        nb_experiment_free(e);
        return NULL;
    }
    return e;
}

/* Every pixel of e by the CPU kernel (value, flags; 0 for pixels not
   rendered), with interpolation interp. */
static void cpu_image(const nb_experiment *e, int interp, double *value, int *flags)
{
    const int nf = e->det.fpixels, ns = e->det.spixels;
    const int row = nbi_row_kernel_ok(e);
    nbi_row w = {0};
    float *data = malloc((size_t)nf * sizeof *data);
    unsigned char *fl = malloc((size_t)nf);
    assert_non_null(data);
    assert_non_null(fl);
    if (row)
        assert_int_equal(nbi_row_init(&w, e), NB_OK);
    for (int s = 0; s < ns; ++s) {
        for (int f = 0; f < nf; ++f)
            value[(long)s * nf + f] = 0.0, flags[(long)s * nf + f] = 0;
        if (!row) {
            for (int f = 0; f < nf; ++f) {
                nbi_pixel px;
                if (!nbi_pixel_rendered(&e->det, f, s))
                    continue;
                nbi_render_pixel(e, f, s, interp, 0, &px);
                value[(long)s * nf + f] = px.value;
                flags[(long)s * nf + f] = (px.swept ? NBI_PIX_SWEPT : 0) | (px.interp_off ? NBI_PIX_INTERP_OFF : 0);
            }
            continue;
        }
        for (int f0 = 0; f0 < nf; f0 += w.chunk) {
            const int f1 = f0 + w.chunk < nf ? f0 + w.chunk : nf;
            (void)nbi_render_row(e, s, f0, f1, interp, &w, data, fl);
            for (int j = 0; j < w.np; ++j) {
                const int f = w.f[j];
                nbi_pixel px;
                double v = w.value[j];
                if (data[f - f0] != (float)v) { /* handed to the reference kernel (a round crystal's exact pixel) */
                    nbi_render_pixel(e, f, s, interp, 0, &px);
                    v = px.value;
                }
                value[(long)s * nf + f] = v;
                flags[(long)s * nf + f] = fl[f - f0];
            }
        }
    }
    if (row)
        nbi_row_free(&w);
    free(data);
    free(fl);
}

/* The GPU kernel's image on the host; 1 if its sums are in float. */
static int gpu_image(const nb_experiment *e, int interp, double *value, int *flags)
{
    const int nf = e->det.fpixels, ns = e->det.spixels;
    nbg_exp x;
    nbi_gpu_tables t;
    nb_error err = {{0}};
    assert_int_equal(nbi_gpu_pack(e, &x, &t, &err), NB_OK);
    for (int s = 0; s < ns; ++s)
        for (int f = 0; f < nf; ++f) {
            nbg_result px;
            nbi_gpu_host_pixel(&x, f, s, interp, &px);
            value[(long)s * nf + f] = px.flags & NBG_RENDERED ? px.value : 0.0;
            flags[(long)s * nf + f] = px.flags & (NBG_SWEPT | NBG_INTERP_OFF);
        }
    nbi_gpu_unpack(&t);
    return x.row_order && x.single[interp != 0];
}

/* Largest relative difference of b from a (floor FLOOR max|a|); the flags
   must agree. */
static double worst(const double *a, const double *b, const int *fa, const int *fb, long n)
{
    double max = 0.0, w = 0.0;
    for (long i = 0; i < n; ++i)
        max = fmax(max, fabs(a[i]));
    for (long i = 0; i < n; ++i) {
        const double d = fabs(a[i] - b[i]), floor = fmax(fabs(a[i]), FLOOR * max);
        assert_int_equal(fa[i], fb[i]);
        if (d > 0)
            w = fmax(w, floor > 0 ? d / floor : INFINITY);
    }
    return w;
}

static double pearson(const double *a, const double *b, long n)
{
    double ma = 0, mb = 0, sab = 0, saa = 0, sbb = 0;
    for (long i = 0; i < n; ++i)
        ma += a[i], mb += b[i];
    ma /= (double)n, mb /= (double)n;
    for (long i = 0; i < n; ++i) {
        sab += (a[i] - ma) * (b[i] - mb);
        saa += (a[i] - ma) * (a[i] - ma);
        sbb += (b[i] - mb) * (b[i] - mb);
    }
    return saa > 0 && sbb > 0 ? sab / sqrt(saa * sbb) : 1.0;
}

static void test_cases(void **state)
{
    char cwd[1024];
    double worst_d = 0.0, worst_s = 0.0, min_r = 1.0;
    int singles = 0;
    (void)state;
    assert_non_null(getcwd(cwd, sizeof cwd));
    for (size_t c = 0; c < sizeof CASES / sizeof CASES[0]; ++c) {
        nb_experiment *e = case_experiment(CASES[c], 0), *es;
        const long n = (long)e->det.fpixels * e->det.spixels;
        double *cpu = malloc((size_t)n * sizeof *cpu), *gpu = malloc((size_t)n * sizeof *gpu);
        double *cpus = malloc((size_t)n * sizeof *cpus), *gpus = malloc((size_t)n * sizeof *gpus);
        int *fc = malloc((size_t)n * sizeof *fc), *fg = malloc((size_t)n * sizeof *fg);
        double w, ws = 0.0, r = 1.0;
        assert_true(cpu && gpu && cpus && gpus && fc && fg);
        cpu_image(e, e->interpolate, cpu, fc);
        gpu_image(e, e->interpolate, gpu, fg);
        w = worst(cpu, gpu, fc, fg, n);
        es = case_experiment(CASES[c], 1);
        if (es) {
            cpu_image(es, es->interpolate, cpus, fc);
            const int in_float = gpu_image(es, es->interpolate, gpus, fg);
            ws = worst(cpus, gpus, fc, fg, n);
            r = pearson(cpu, gpus, n);
            singles += in_float;
            nb_experiment_free(es);
        }
        print_message("%-16s %6ld pixels, %s kernel: double %.3g, single %s%.3g (1 - r = %.2g against double)\n",
                      CASES[c], n, nbi_row_kernel_ok(e) ? "row" : "reference", w, es ? "" : "(not used) ", ws, 1.0 - r);
        assert_true(w <= REL);
        assert_true(ws <= REL);
        assert_true(r >= 0.99999);
        worst_d = fmax(worst_d, w), worst_s = fmax(worst_s, ws), min_r = fmin(min_r, r);
        nb_experiment_free(e);
        free(cpu), free(gpu), free(cpus), free(gpus), free(fc), free(fg);
    }
    print_message("worst: double %.3g, single %.3g, 1 - Pearson r %.2g (%d cases with float sums)\n", worst_d, worst_s,
                  1.0 - min_r, singles);
    assert_true(singles >= 10);
    assert_int_equal(chdir(cwd), 0);
}

/* The device parameter: names, errors, and what a build without a GPU says. */
static void test_device_param(void **state)
{
    nb_config *cfg = nb_config_new();
    const char *v = NULL;
    nb_error err = {{0}};
    int kind, index;
    (void)state;
    assert_non_null(cfg);
    assert_int_equal(nb_param_get_string(cfg, "device", &v, &err), NB_OK);
    assert_string_equal(v, "cpu");
    assert_int_equal(nb_param_set_string(cfg, "device", "cuda:3", &err), NB_OK);
    assert_int_equal(nb_param_get_string(cfg, "device", &v, &err), NB_OK);
    assert_string_equal(v, "cuda:3");
    assert_int_equal(cfg->device, NBI_DEVICE_CUDA);
    assert_int_equal(cfg->device_index, 3);
    assert_int_equal(nb_param_set_string(cfg, "device", "opencl", &err), NB_ERR_INVALID);
    assert_non_null(strstr(err.msg, "expected cpu, cuda, cuda:N"));
    assert_int_equal(nb_param_set_string(cfg, "device", "cuda:", &err), NB_ERR_INVALID);
    assert_int_equal(nb_param_set_string(cfg, "device", "cuda:1024", &err), NB_ERR_INVALID);
    assert_int_equal(nb_param_set_string(cfg, "device", "cuda:1x", &err), NB_ERR_INVALID);
    assert_int_equal(nb_param_set(cfg, "device", 1, &err), NB_ERR_INVALID);
    assert_int_equal(nb_param_unset(cfg, "device", &err), NB_OK);
    assert_int_equal(nb_param_get_string(cfg, "device", &v, &err), NB_OK);
    assert_string_equal(v, "cpu");
    assert_true(nbi_device_parse("cuda:0", &kind, &index) && kind == NBI_DEVICE_CUDA && index == 0);
    assert_true(nbi_device_parse("emulate", &kind, &index) && kind == NBI_DEVICE_EMULATE);
    assert_false(nbi_device_parse("CUDA", &kind, &index));
    assert_false(nbi_device_parse(NULL, &kind, &index));
    /* a GPU that no machine has: refused at set-up, naming -device */
    assert_int_equal(nbi_gpu_check(NBI_DEVICE_CUDA, 1023, &err), NB_ERR_INVALID);
    assert_non_null(strstr(err.msg, "-device cpu"));
    assert_int_equal(nbi_gpu_check(NBI_DEVICE_CPU, 0, &err), NB_OK);
    assert_int_equal(nbi_gpu_check(NBI_DEVICE_EMULATE, 0, &err), NB_OK);
    nb_config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_device_param),
        cmocka_unit_test(test_cases),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
