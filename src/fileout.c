/*
 * fileout.c - safe output files and output sets.
 *
 * A regular output file is written to a temporary beside the target
 * (".<name>.<tag>" in the same directory, created with O_EXCL and the usual
 * 0666 & ~umask mode) and renamed over the target when published, so a
 * failure at any step (open, write, flush, close, rename) leaves neither a
 * partial file nor a stray temporary.  A target that exists and is not a
 * regular file or a directory (e.g. /dev/null, a FIFO) is written in place:
 * renaming over it would replace the device node.  A directory target is
 * refused.
 *
 * An output set (nb_outputs, nanobragg.h) finishes every member as it is
 * added and renames them all only at publish, so that a failure of any one
 * leaves none of them behind.
 */
#include "fileout.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/syscall.h>
#endif

#include "util.h"

/* renameat2's flag (linux/fs.h) */
#define NBI_RENAME_EXCHANGE (1 << 1)

#define NBI_TMP_TRIES 100

enum { TARGET_NEW, TARGET_REGULAR, TARGET_SPECIAL };

struct nb_outputs {
    nbi_fileout **files; /* staged members, in the order added */
    size_t count, cap;
    int spoiled;         /* an add failed: publish writes nothing */
    pthread_mutex_t lock; /* adds may come from several threads: the members and spoiled */
};

static char *dup_string(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

static void release(nbi_fileout *f)
{
    free(f->path);
    free(f->tmp_path);
    f->path = NULL;
    f->tmp_path = NULL;
    f->fp = NULL;
}

/* "<dir>/.<base>.<tag>" for attempt number n; caller owns the result. */
static char *temp_name(const char *path, const void *salt, unsigned n)
{
    const char *slash = strrchr(path, '/');
    size_t dirlen = slash ? (size_t)(slash - path) + 1 : 0;
    size_t len = strlen(path) + 32;
    unsigned long tag = (unsigned long)getpid() * 2654435761UL;
    char *t = malloc(len);
    if (!t)
        return NULL;
    tag ^= (unsigned long)(uintptr_t)salt ^ ((unsigned long)n * 40503UL);
    snprintf(t, len, "%.*s.%s.%06lx", (int)dirlen, path, path + dirlen, tag & 0xffffffUL);
    return t;
}

/* Create the temporary exclusively; returns its descriptor, or -1 (errno
   set) with f->tmp_path NULL. */
static int create_temp(nbi_fileout *f)
{
    unsigned n;
    for (n = 0; n < NBI_TMP_TRIES; n++) {
        int fd, saved;
        f->tmp_path = temp_name(f->path, f, n);
        if (!f->tmp_path) {
            errno = ENOMEM;
            return -1;
        }
        fd = open(f->tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0)
            return fd;
        saved = errno;
        free(f->tmp_path);
        f->tmp_path = NULL;
        if (saved != EEXIST) {
            errno = saved;
            return -1;
        }
    }
    errno = EEXIST;
    return -1;
}

/* What is at path: TARGET_NEW (nothing), TARGET_REGULAR or TARGET_SPECIAL
   (with *mode), or -1 after filling err (a directory, or no name at all). */
static int target_kind(const char *path, mode_t *mode, nb_error *err)
{
    struct stat st;
    if (!path || !*path || path[strlen(path) - 1] == '/') {
        nbi_fail(err, NB_ERR_IO, "cannot write '%s': %s", path ? path : "(null)", strerror(EISDIR));
        return -1;
    }
    if (stat(path, &st) != 0)
        return TARGET_NEW;
    if (S_ISDIR(st.st_mode)) {
        nbi_fail(err, NB_ERR_IO, "cannot write %s: %s", path, strerror(EISDIR));
        return -1;
    }
    *mode = st.st_mode;
    return S_ISREG(st.st_mode) ? TARGET_REGULAR : TARGET_SPECIAL;
}

/*
 * Contract (fileout.h): f is overwritten; on NB_OK f->fp is open on a new
 * temporary (or on the special file itself) and the caller must end with
 * commit, finish + publish, or abort.  On failure nothing is created and err
 * names path: NB_ERR_IO (directory, missing or unwritable directory, ...) or
 * NB_ERR_NOMEM.  A replaced regular file keeps its permission bits.
 */
nb_status nbi_fileout_open(nbi_fileout *f, const char *path, nb_error *err)
{
    mode_t mode = 0;
    int kind, fd, saved;
    memset(f, 0, sizeof *f);
    kind = target_kind(path, &mode, err);
    if (kind < 0)
        return NB_ERR_IO;
    f->path = dup_string(path);
    if (!f->path)
        return nbi_fail(err, NB_ERR_NOMEM, "cannot write %s: out of memory", path);
    f->created = kind == TARGET_NEW;
    if (kind == TARGET_SPECIAL)
        fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
    else
        fd = create_temp(f);
    if (fd >= 0 && kind == TARGET_REGULAR)
        (void)fchmod(fd, mode & 0777); /* best effort */
    if (fd >= 0)
        f->fp = fdopen(fd, "wb");
    if (f->fp)
        return NB_OK;
    saved = errno;
    if (fd >= 0)
        close(fd);
    nbi_fileout_abort(f);
    return nbi_fail(err, NB_ERR_IO, "cannot write %s: %s", path, strerror(saved));
}

/* Append n bytes; after a failure (or a failed open) writes are ignored and
   the first error is kept in f->failed (an errno value) for finish. */
void nbi_fileout_write(nbi_fileout *f, const void *data, size_t n)
{
    if (!f->fp || f->failed || n == 0)
        return;
    errno = 0;
    if (fwrite(data, 1, n, f->fp) != n)
        f->failed = errno ? errno : EIO;
}

/* Flush and close the stream; returns 0 or an errno value. */
static int close_stream(nbi_fileout *f)
{
    int e = f->failed;
    errno = 0;
    if (!e && (fflush(f->fp) != 0 || ferror(f->fp)))
        e = errno ? errno : EIO;
    errno = 0;
    if (fclose(f->fp) != 0 && !e)
        e = errno ? errno : EIO;
    f->fp = NULL;
    return e;
}

/* Contract in fileout.h. */
nb_status nbi_fileout_finish(nbi_fileout *f, nb_error *err)
{
    nb_status st;
    int e;
    if (!f->fp) {
        nbi_fileout_abort(f);
        return nbi_fail(err, NB_ERR_IO, "cannot write output: file not open");
    }
    e = close_stream(f);
    if (!e)
        return NB_OK;
    st = nbi_fail(err, NB_ERR_IO, "cannot write %s: %s", f->path, strerror(e));
    nbi_fileout_abort(f);
    return st;
}

/* Replace the existing file path with tmp in one step, by exchanging the
   two names and removing tmp, which then names the old file: 0, or -1 where
   that cannot be done (no such file, no support), and rename() must.  On
   ext4, a rename() over an existing file starts the writeback of the new
   file's data there and then (the auto_da_alloc safeguard for programs
   that do not flush), which for an image of tens of MiB takes longer than
   writing it; an exchange does not. */
static int exchange_into_place(const char *tmp, const char *path)
{
#if defined(__linux__) && defined(SYS_renameat2)
    if (syscall(SYS_renameat2, AT_FDCWD, tmp, AT_FDCWD, path, NBI_RENAME_EXCHANGE) == 0) {
        unlink(tmp);
        return 0;
    }
#else
    (void)tmp;
    (void)path;
#endif
    return -1;
}

/* Rename a finished temporary over its target; 0 or an errno value.  Once
   renamed, f->tmp_path is NULL (abort then removes nothing). */
static int rename_into_place(nbi_fileout *f)
{
    if (!f->tmp_path)
        return 0; /* written in place */
    if ((f->created || exchange_into_place(f->tmp_path, f->path) != 0) && rename(f->tmp_path, f->path) != 0)
        return errno ? errno : EIO;
    free(f->tmp_path);
    f->tmp_path = NULL;
    return 0;
}

/* Contract in fileout.h. */
nb_status nbi_fileout_publish(nbi_fileout *f, nb_error *err)
{
    nb_status st;
    int e;
    if (f->fp || !f->path) {
        nbi_fileout_abort(f);
        return nbi_fail(err, NB_ERR_IO, "cannot write output: file not finished");
    }
    e = rename_into_place(f);
    if (!e) {
        release(f);
        return NB_OK;
    }
    st = nbi_fail(err, NB_ERR_IO, "cannot write %s: %s", f->path, strerror(e));
    nbi_fileout_abort(f);
    return st;
}

/* finish, then publish: NB_OK, or NB_ERR_IO naming the target; either way f
   no longer owns anything. */
nb_status nbi_fileout_commit(nbi_fileout *f, nb_error *err)
{
    nb_status st = nbi_fileout_finish(f, err);
    return st == NB_OK ? nbi_fileout_publish(f, err) : st;
}

/* Close and delete the temporary; safe on a zeroed f, twice, or after a
   failed open. */
void nbi_fileout_abort(nbi_fileout *f)
{
    if (!f)
        return;
    if (f->fp)
        fclose(f->fp);
    if (f->tmp_path)
        unlink(f->tmp_path);
    release(f);
    f->failed = 0;
}

/* ---------------------------------------------------------------- checks */

/* Contract in nanobragg.h: a temporary is created and removed at once. */
nb_status nb_output_check(const char *path, nb_error *err)
{
    nbi_fileout probe;
    mode_t mode = 0;
    int kind = target_kind(path, &mode, err), fd, saved;
    if (kind < 0)
        return NB_ERR_IO;
    if (kind == TARGET_SPECIAL) {
        /* opening a FIFO would wait for a reader: ask instead */
        if (access(path, W_OK) != 0)
            return nbi_fail(err, NB_ERR_IO, "cannot write %s: %s", path, strerror(errno));
        return NB_OK;
    }
    memset(&probe, 0, sizeof probe);
    probe.path = dup_string(path);
    if (!probe.path)
        return nbi_fail(err, NB_ERR_NOMEM, "cannot write %s: out of memory", path);
    fd = create_temp(&probe);
    saved = errno;
    if (fd >= 0)
        close(fd);
    nbi_fileout_abort(&probe);
    if (fd < 0)
        return nbi_fail(err, NB_ERR_IO, "cannot write %s: %s", path, strerror(saved));
    return NB_OK;
}

/* realpath of path's directory joined with its last component (caller
   owns), or NULL if the directory cannot be resolved. */
static char *resolved_entry(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    char *dir, *real, *entry = NULL;
    if (!slash)
        dir = dup_string(".");
    else
        dir = strndup(path, slash == path ? 1 : (size_t)(slash - path)); /* "/x": the root */
    real = dir ? realpath(dir, NULL) : NULL;
    free(dir);
    if (real) {
        size_t n = strlen(real) + strlen(base) + 2;
        entry = malloc(n);
        if (entry)
            snprintf(entry, n, "%s/%s", real, base);
    }
    free(real);
    return entry;
}

/* Contract in nanobragg.h. */
int nb_paths_clash(const char *a, const char *b)
{
    struct stat sa, sb;
    int has_a, has_b, same;
    char *ra, *rb;
    if (!a || !b)
        return 0;
    has_a = stat(a, &sa) == 0;
    has_b = stat(b, &sb) == 0;
    if (has_a && has_b)
        return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino &&
               (S_ISREG(sa.st_mode) || S_ISDIR(sa.st_mode));
    if (has_a || has_b)
        return 0; /* a new entry is not an existing file */
    ra = resolved_entry(a);
    rb = resolved_entry(b);
    same = ra && rb ? strcmp(ra, rb) == 0 : strcmp(a, b) == 0;
    free(ra);
    free(rb);
    return same;
}

/* ---------------------------------------------------------------- output sets */

nb_outputs *nb_outputs_new(void)
{
    nb_outputs *set = calloc(1, sizeof(nb_outputs));
    if (set && pthread_mutex_init(&set->lock, NULL) != 0) {
        free(set);
        return NULL;
    }
    return set;
}

/* Abort every member (removing unpublished temporaries); the set is empty. */
static void discard(nb_outputs *set)
{
    size_t i;
    for (i = 0; i < set->count; i++) {
        nbi_fileout_abort(set->files[i]);
        free(set->files[i]);
    }
    set->count = 0;
}

void nb_outputs_free(nb_outputs *set)
{
    if (!set)
        return;
    discard(set);
    free(set->files);
    pthread_mutex_destroy(&set->lock);
    free(set);
}

nb_status nbi_outputs_spoil(nb_outputs *set, nb_status status)
{
    if (set && status != NB_OK) {
        pthread_mutex_lock(&set->lock);
        set->spoiled = 1;
        pthread_mutex_unlock(&set->lock);
    }
    return status;
}

/* Room for one more member: 0, or -1 if out of memory. */
static int reserve(nb_outputs *set)
{
    size_t cap = set->cap ? 2 * set->cap : 4;
    nbi_fileout **files;
    if (set->count < set->cap)
        return 0;
    files = realloc(set->files, cap * sizeof *files);
    if (!files)
        return -1;
    set->files = files;
    set->cap = cap;
    return 0;
}

/* The index of a member that is the same file as path, or set->count. */
static size_t find_clash(const nb_outputs *set, const char *path)
{
    size_t i;
    for (i = 0; i < set->count; i++)
        if (set->files[i]->path && nb_paths_clash(path, set->files[i]->path))
            break;
    return i;
}

/* Contract in fileout.h; every failure spoils the set.  The member is
   created under the set's lock; its writes need none. */
nb_status nbi_outputs_begin(nb_outputs *set, const char *path, nbi_fileout **out, nb_error *err)
{
    nb_status st = NB_OK;
    nbi_fileout *f = NULL;
    size_t k;
    *out = NULL;
    if (!set || !path)
        return nbi_fail(err, NB_ERR_INVALID, "cannot write %s: no output set",
                        path ? path : "(null)");
    pthread_mutex_lock(&set->lock);
    if (set->spoiled) {
        pthread_mutex_unlock(&set->lock);
        return nbi_fail(err, NB_ERR_INVALID, "cannot write %s: an earlier output of its set failed",
                        path);
    }
    k = find_clash(set, path);
    if (k < set->count)
        st = nbi_fail(err, NB_ERR_INVALID, "cannot write %s: it is the same file as the output %s",
                      path, set->files[k]->path);
    else if (reserve(set) != 0 || !(f = calloc(1, sizeof *f)))
        st = nbi_fail(err, NB_ERR_NOMEM, "cannot write %s: out of memory", path);
    else
        st = nbi_fileout_open(f, path, err);
    if (st == NB_OK)
        set->files[set->count++] = f;
    else
        set->spoiled = 1;
    pthread_mutex_unlock(&set->lock);
    if (st != NB_OK) {
        free(f);
        return st;
    }
    *out = f;
    return NB_OK;
}

/* Contract in fileout.h. */
nb_status nbi_outputs_end(nb_outputs *set, nbi_fileout *f, nb_error *err)
{
    return nbi_outputs_spoil(set, nbi_fileout_finish(f, err));
}

/* Contract in nanobragg.h. */
nb_status nb_outputs_publish(nb_outputs *set, nb_error *err)
{
    nb_status st = NB_OK;
    size_t i, j;
    if (!set)
        return nbi_fail(err, NB_ERR_INVALID, "cannot write outputs: no output set");
    if (set->spoiled)
        st = nbi_fail(err, NB_ERR_INVALID, "outputs not written: one of them failed");
    for (i = 0; st == NB_OK && i < set->count; i++) {
        int e = rename_into_place(set->files[i]);
        if (!e)
            continue;
        st = nbi_fail(err, NB_ERR_IO, "cannot write %s: %s", set->files[i]->path, strerror(e));
        for (j = 0; j < i; j++) /* take back what this call created */
            if (set->files[j]->created)
                unlink(set->files[j]->path);
    }
    discard(set);
    set->spoiled = 0;
    return st;
}

nb_status nbi_output_one(const char *path, nb_outputs **set, nb_error *err)
{
    *set = nb_outputs_new();
    if (!*set)
        return nbi_fail(err, NB_ERR_NOMEM, "cannot write %s: out of memory", path ? path : "(null)");
    return NB_OK;
}

nb_status nbi_output_one_done(nb_outputs *set, nb_status st, nb_error *err)
{
    if (st == NB_OK)
        st = nb_outputs_publish(set, err);
    nb_outputs_free(set);
    return st;
}

nb_status nb_outputs_add_bytes(nb_outputs *set, const char *path, const void *data, size_t n, nb_error *err)
{
    nbi_fileout *f;
    nb_status st;
    if (!data && n > 0)
        return nbi_outputs_spoil(set, nbi_fail(err, NB_ERR_INVALID, "cannot write %s: no data",
                                               path ? path : "(null)"));
    st = nbi_outputs_begin(set, path, &f, err);
    if (st != NB_OK)
        return st;
    nbi_fileout_write(f, data, n);
    return nbi_outputs_end(set, f, err);
}
