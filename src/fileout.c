/*
 * fileout.c - safe output files.
 *
 * A regular output file is written to a temporary beside the target
 * (".<name>.<tag>" in the same directory, created with O_EXCL and the usual
 * 0666 & ~umask mode) and renamed over the target on commit, so a failure at
 * any step (open, write, flush, close, rename) leaves neither a partial file
 * nor a stray temporary.  A target that exists and is not a regular file or a
 * directory (e.g. /dev/null, a FIFO) is written in place: renaming over it
 * would replace the device node.  A directory target is refused.
 */
#include "fileout.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "util.h"

#define NBI_TMP_TRIES 100

static char *dup_string(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

static void release(nb_fileout *f)
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

/* Create the temporary exclusively; returns its descriptor or -1 (errno set). */
static int create_temp(nb_fileout *f)
{
    unsigned n;
    for (n = 0; n < NBI_TMP_TRIES; n++) {
        int fd;
        f->tmp_path = temp_name(f->path, f, n);
        if (!f->tmp_path) {
            errno = ENOMEM;
            return -1;
        }
        fd = open(f->tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0 || errno != EEXIST)
            return fd;
        free(f->tmp_path);
        f->tmp_path = NULL;
    }
    errno = EEXIST;
    return -1;
}

/* Open the target itself (special files such as /dev/null). */
static int open_in_place(nb_fileout *f)
{
    return open(f->path, O_WRONLY | O_TRUNC | O_CLOEXEC);
}

/*
 * Contract (fileout.h): f is overwritten; on NB_OK f->fp is open on a new
 * temporary (or on the special file itself) and the caller must end with
 * nb_fileout_commit or nb_fileout_abort.  On failure nothing is created and
 * err names path: NB_ERR_IO (directory, missing or unwritable directory, ...)
 * or NB_ERR_NOMEM.  A replaced regular file keeps its permission bits.
 */
nb_status nb_fileout_open(nb_fileout *f, const char *path, nb_error *err)
{
    struct stat st;
    int exists = 0, in_place = 0, fd, saved;
    memset(f, 0, sizeof *f);
    if (!path || !*path || path[strlen(path) - 1] == '/')
        return nbi_fail(err, NB_ERR_IO, "cannot write '%s': %s", path ? path : "(null)",
                        strerror(EISDIR));
    if (stat(path, &st) == 0) {
        if (S_ISDIR(st.st_mode))
            return nbi_fail(err, NB_ERR_IO, "cannot write %s: %s", path, strerror(EISDIR));
        in_place = !S_ISREG(st.st_mode);
        exists = 1;
    }
    f->path = dup_string(path);
    if (!f->path)
        return nbi_fail(err, NB_ERR_NOMEM, "cannot write %s: out of memory", path);
    fd = in_place ? open_in_place(f) : create_temp(f);
    if (fd >= 0 && exists && !in_place)
        (void)fchmod(fd, st.st_mode & 0777); /* best effort */
    if (fd >= 0)
        f->fp = fdopen(fd, "wb");
    if (f->fp)
        return NB_OK;
    saved = errno;
    if (fd >= 0)
        close(fd);
    nb_fileout_abort(f);
    return nbi_fail(err, NB_ERR_IO, "cannot write %s: %s", path, strerror(saved));
}

/* Append n bytes; after a failure (or a failed open) writes are ignored and
   the first error is kept in f->failed (an errno value) for commit. */
void nb_fileout_write(nb_fileout *f, const void *data, size_t n)
{
    if (!f->fp || f->failed || n == 0)
        return;
    errno = 0;
    if (fwrite(data, 1, n, f->fp) != n)
        f->failed = errno ? errno : EIO;
}

/* Flush and close the stream; returns 0 or an errno value. */
static int close_stream(nb_fileout *f)
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

/* Close and rename into place: NB_OK, or NB_ERR_IO naming the target with
   strerror of the first failure; either way f no longer owns anything. */
nb_status nb_fileout_commit(nb_fileout *f, nb_error *err)
{
    int e;
    if (!f->fp) {
        nb_fileout_abort(f);
        return nbi_fail(err, NB_ERR_IO, "cannot write output: file not open");
    }
    e = close_stream(f);
    if (!e && f->tmp_path && rename(f->tmp_path, f->path) != 0)
        e = errno ? errno : EIO;
    if (e) {
        nb_status s = nbi_fail(err, NB_ERR_IO, "cannot write %s: %s", f->path, strerror(e));
        nb_fileout_abort(f);
        return s;
    }
    release(f);
    return NB_OK;
}

/* Close and delete the temporary; safe on NULL, twice, or after a failed open. */
void nb_fileout_abort(nb_fileout *f)
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
