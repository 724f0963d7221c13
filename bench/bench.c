/*
 * bench.c - the benchmark driver (make bench): runs each workload of
 * bench/workloads.txt with nanobragg, and optionally with a reference
 * nanoBragg binary (alternating runs, side by side), and reports per
 * workload the median wall time, samples per second, peak RSS and the
 * median time ratio.  Results also go to a CSV file.
 *
 *   nanobragg-bench [--runs N] [--ref PATH] [--csv FILE] [--only NAME]
 *                   [--workloads FILE] NANOBRAGG
 *
 * Every run gets -nonoise -nopgm (the float and SMV images only) unless its
 * workload line has the word +outputs: then it writes the program's default
 * outputs, the noise image and the PGM too.
 *
 * NB_REF_BIN in the environment is used when --ref is not given.  W4's HKL
 * file is generated from the formula in the workloads file.  Samples are
 * pixels x sub-pixels x sources x mosaic domains x phi steps x detector
 * layers, read from the program's own report.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_ARGS 128

/* The compiler this benchmark (and, built together, nanobragg) was built with. */
#if defined(__clang__)
#define COMPILER "clang " __clang_version__
#elif defined(__GNUC__)
#define COMPILER "gcc " __VERSION__
#else
#define COMPILER "unknown"
#endif
#define MAX_RUNS 50

typedef struct workload {
    char name[64];
    char line[2048];
} workload;

typedef struct run_result {
    double seconds;
    long rss_kb;
    int ok;
} run_result;

typedef struct counts {
    double pixels, subpixels, sources, domains, phisteps, layers;
} counts;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Run prog with the words of line in dir, stdout to dir/log.txt. */
static run_result run_once(const char *prog, const char *line, const char *dir)
{
    run_result r = {0, 0, 0};
    char buf[2048], *argv[MAX_ARGS], *save = NULL, *tok;
    int argc = 0, status;
    struct rusage ru;
    double t0;
    pid_t pid;

    snprintf(buf, sizeof buf, "%s", line);
    argv[argc++] = (char *)prog;
    int all_outputs = 0;
    for (tok = strtok_r(buf, " \t\n", &save); tok && argc < MAX_ARGS - 8; tok = strtok_r(NULL, " \t\n", &save)) {
        if (!strcmp(tok, "+outputs"))
            all_outputs = 1; /* the program's default outputs, noise and PGM too */
        else
            argv[argc++] = tok;
    }
    if (!all_outputs) {
        argv[argc++] = "-nonoise";
        argv[argc++] = "-nopgm";
    }
    argv[argc] = NULL;
    fflush(stdout);
    t0 = now();
    pid = fork();
    if (pid < 0)
        return r;
    if (pid == 0) {
        FILE *log;
        if (chdir(dir) != 0 || !(log = freopen("log.txt", "w", stdout)))
            _exit(127);
        execv(prog, argv);
        _exit(127);
    }
    if (wait4(pid, &status, 0, &ru) < 0)
        return r;
    r.seconds = now() - t0;
    r.rss_kb = ru.ru_maxrss;
    r.ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    return r;
}

static double find_number(const char *text, const char *before_key, const char *key)
{
    /* value printed just before key ("%d sources") or after it ("key=%g") */
    const char *p = strstr(text, key);
    if (!p)
        return 0;
    if (before_key) {
        while (p > text && p[-1] == ' ')
            --p;
        while (p > text && (p[-1] >= '0' && p[-1] <= '9'))
            --p;
        return atof(p);
    }
    return atof(p + strlen(key));
}

/* Sample counts from the program's report (nanoBragg's wording). */
static counts read_counts(const char *dir)
{
    char path[1024], *text;
    counts c = {0, 0, 0, 0, 0, 0};
    FILE *f;
    long n;
    const char *p;
    snprintf(path, sizeof path, "%.1000s/log.txt", dir);
    if (!(f = fopen(path, "rb")))
        return c;
    text = calloc(1, 1 << 24);
    n = text ? (long)fread(text, 1, (1 << 24) - 1, f) : 0;
    fclose(f);
    if (!text)
        return c;
    text[n] = '\0';
    c.sources = find_number(text, "", " sources\n");
    c.domains = find_number(text, "", " mosaic domains over");
    c.phisteps = find_number(text, "", " phi steps from");
    c.subpixels = find_number(text, "", " pixel oversample steps");
    c.subpixels *= c.subpixels;
    p = strstr(text, "m thick in ");
    c.layers = p ? atof(p + strlen("m thick in ")) : 1;
    p = strstr(text, "meters (");
    if (p) {
        double nf = atof(p + 8), ns = 0;
        const char *x = strchr(p + 8, 'x');
        if (x)
            ns = atof(x + 1);
        c.pixels = nf * ns;
    }
    free(text);
    return c;
}

/* "model name" of the first processor, or the machine type. */
static void machine_name(char *buf, size_t size)
{
    char line[512];
    struct utsname u;
    FILE *f = fopen("/proc/cpuinfo", "r");
    snprintf(buf, size, "unknown");
    if (uname(&u) == 0)
        snprintf(buf, size, "%s", u.machine);
    while (f && fgets(line, sizeof line, f)) {
        char *colon = strchr(line, ':');
        if (strncmp(line, "model name", 10) == 0 && colon) {
            snprintf(buf, size, "%s", colon + 2);
            buf[strcspn(buf, "\n")] = '\0';
            break;
        }
    }
    if (f)
        fclose(f);
    for (char *c = buf; *c; ++c)
        if (*c == ',')
            *c = ' ';
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* W4's structure factors: every h,k,l in [-24,24],
   F = 20 + 80*|cos(0.37h + 0.11k^2 - 0.23l + 0.05hl)|. */
static int write_p1_hkl(const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    for (int h = -24; h <= 24; ++h)
        for (int k = -24; k <= 24; ++k)
            for (int l = -24; l <= 24; ++l)
                fprintf(f, "%d %d %d %.4f\n", h, k, l,
                        20 + 80 * fabs(cos(0.37 * h + 0.11 * k * k - 0.23 * l + 0.05 * h * l)));
    return fclose(f);
}

static int read_workloads(const char *path, workload *w, int max)
{
    char line[2300];
    int n = 0;
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "nanobragg-bench: cannot read %s\n", path);
        return -1;
    }
    while (n < max && fgets(line, sizeof line, f)) {
        char *p = line + strspn(line, " \t");
        size_t len;
        if (*p == '#' || *p == '\n' || *p == '\0')
            continue;
        len = strcspn(p, " \t");
        if (len >= sizeof w[n].name)
            continue;
        memcpy(w[n].name, p, len);
        w[n].name[len] = '\0';
        snprintf(w[n].line, sizeof w[n].line, "%s", p + len);
        ++n;
    }
    fclose(f);
    return n;
}

static void prepare_dir(const char *dir, const char *hkl)
{
    char path[1100];
    mkdir(dir, 0777);
    snprintf(path, sizeof path, "%.1000s/P1.hkl", dir);
    if (access(path, R_OK) != 0 && hkl)
        symlink(hkl, path);
}

int main(int argc, char **argv)
{
    const char *ref = getenv("NB_REF_BIN"), *csv = "bench-results.csv", *only = NULL;
    const char *wfile = "bench/workloads.txt", *prog = NULL, *threads = getenv("OMP_NUM_THREADS");
    char cwd[400], hkl[600], machine[256];
    const long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int runs = 3, n;
    workload w[32];
    FILE *out;

    for (int i = 1; i < argc; ++i) {
        if (!strcmp(argv[i], "--runs") && i + 1 < argc) runs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--ref") && i + 1 < argc) ref = argv[++i];
        else if (!strcmp(argv[i], "--csv") && i + 1 < argc) csv = argv[++i];
        else if (!strcmp(argv[i], "--only") && i + 1 < argc) only = argv[++i];
        else if (!strcmp(argv[i], "--workloads") && i + 1 < argc) wfile = argv[++i];
        else if (argv[i][0] != '-') prog = argv[i];
        else {
            fprintf(stderr, "usage: nanobragg-bench [--runs N] [--ref PATH] [--csv FILE] [--only NAME] "
                            "[--workloads FILE] NANOBRAGG\n");
            return 2;
        }
    }
    if (!prog || runs < 1 || runs > MAX_RUNS) {
        fprintf(stderr, "nanobragg-bench: need the nanobragg program and 1..%d runs\n", MAX_RUNS);
        return 2;
    }
    if (ref && !*ref)
        ref = NULL;
    /* the runs chdir into their work folders: use absolute program paths */
    if (!(prog = realpath(prog, NULL)) || (ref && !(ref = realpath(ref, NULL)))) {
        fprintf(stderr, "nanobragg-bench: program not found\n");
        return 2;
    }
    if ((n = read_workloads(wfile, w, 32)) <= 0)
        return 2;
    if (!getcwd(cwd, sizeof cwd))
        return 1;
    mkdir("bench-work", 0777);
    snprintf(hkl, sizeof hkl, "%.400s/bench-work/P1.hkl", cwd);
    if (access(hkl, R_OK) != 0 && write_p1_hkl(hkl) != 0) {
        fprintf(stderr, "nanobragg-bench: cannot write %s\n", hkl);
        return 1;
    }
    machine_name(machine, sizeof machine);
    out = fopen(csv, "w");
    if (out)
        fprintf(out, "workload,program,machine,compiler,cores,threads,runs,median_s,samples,samples_per_s,"
                     "peak_rss_kb,ratio_ref_over_ours\n");
    printf("machine=%s (%ld cores) compiler=%s threads=%s runs=%d%s%s\n", machine, cores, COMPILER,
           threads ? threads : "(default)", runs, ref ? " ref=" : "", ref ? ref : "");
    printf("%-12s %10s %12s %10s %10s %10s\n", "workload", "median_s", "samples/s", "rss_MiB", "ref_s", "speedup");
    for (int i = 0; i < n; ++i) {
        double t_ours[MAX_RUNS], t_ref[MAX_RUNS], med, med_ref = 0, samples;
        long rss = 0, rss_ref = 0;
        char dir[1024], rdir[1024], name[64];
        counts c;
        if (only && strcmp(only, w[i].name) != 0)
            continue;
        memcpy(name, w[i].name, sizeof name);
        name[sizeof name - 1] = '\0';
        snprintf(dir, sizeof dir, "%.400s/bench-work/%.63s.ours", cwd, name);
        snprintf(rdir, sizeof rdir, "%.400s/bench-work/%.63s.ref", cwd, name);
        prepare_dir(dir, hkl);
        prepare_dir(rdir, hkl);
        for (int r = 0; r < runs; ++r) {
            run_result a = run_once(prog, w[i].line, dir);
            if (!a.ok) {
                fprintf(stderr, "nanobragg-bench: %s failed (see %s/log.txt)\n", w[i].name, dir);
                return 1;
            }
            t_ours[r] = a.seconds;
            if (a.rss_kb > rss) rss = a.rss_kb;
            if (ref) {
                run_result b = run_once(ref, w[i].line, rdir);
                if (!b.ok) {
                    fprintf(stderr, "nanobragg-bench: reference failed on %s\n", w[i].name);
                    return 1;
                }
                t_ref[r] = b.seconds;
                if (b.rss_kb > rss_ref) rss_ref = b.rss_kb;
            }
        }
        c = read_counts(dir);
        samples = c.pixels * c.subpixels * c.sources * c.domains * c.phisteps * c.layers;
        med = median(t_ours, runs);
        if (ref)
            med_ref = median(t_ref, runs);
        printf("%-12s %10.3f %12.4g %10.1f", w[i].name, med, samples / med, rss / 1024.0);
        if (ref)
            printf(" %10.3f %9.2fx", med_ref, med_ref / med);
        printf("\n");
        if (out) {
            fprintf(out, "%s,nanobragg,%s,%s,%ld,%s,%d,%.4f,%.0f,%.4g,%ld,%.4f\n", w[i].name, machine, COMPILER,
                    cores, threads ? threads : "", runs, med, samples, samples / med, rss,
                    ref ? med_ref / med : 0.0);
            if (ref)
                fprintf(out, "%s,reference,%s,%s,%ld,%s,%d,%.4f,%.0f,%.4g,%ld,\n", w[i].name, machine,
                        COMPILER, cores, threads ? threads : "", runs, med_ref, samples, samples / med_ref,
                        rss_ref);
        }
        fflush(stdout);
    }
    if (out) {
        fclose(out);
        printf("results: %s\n", csv);
    }
    return 0;
}
