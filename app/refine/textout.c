/*
 * textout.c - a text output written as the library writes its images: whole
 * into a temporary beside the target, then renamed over it, so that a
 * failure leaves neither a partial file nor a stray temporary.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "refine.h"

#define TEMP_TRIES 100

static nb_status io_error(nb_error *err, const char *path, int e)
{
    snprintf(err->msg, sizeof err->msg, "cannot write %s: %s", path, strerror(e));
    return NB_ERR_IO;
}

/* Write len bytes to fd and close it; 0 or an errno value. */
static int write_all(int fd, const char *text, size_t len)
{
    int e = 0;
    while (len > 0 && !e) {
        ssize_t n = write(fd, text, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            e = n < 0 ? errno : EIO;
        else
            text += n, len -= (size_t)n;
    }
    if (close(fd) != 0 && !e)
        e = errno;
    return e;
}

nb_status text_stage(staged_text *t, const char *path, const char *text, size_t len, nb_error *err)
{
    const char *slash = strrchr(path, '/');
    const size_t dirlen = slash ? (size_t)(slash - path) + 1 : 0, size = strlen(path) + 16;
    struct stat sb;
    int fd = -1, e;
    memset(t, 0, sizeof *t);
    t->path = path;
    t->text = text;
    t->len = len;
    if (!*path || path[strlen(path) - 1] == '/')
        return io_error(err, path, EISDIR);
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
        return io_error(err, path, EISDIR);
    if (stat(path, &sb) == 0 && !S_ISREG(sb.st_mode))
        return NB_OK; /* a device or FIFO: written in place by text_publish */
    if (!(t->temp = malloc(size))) {
        snprintf(err->msg, sizeof err->msg, "cannot write %s: out of memory", path);
        return NB_ERR_NOMEM;
    }
    for (unsigned n = 0; n < TEMP_TRIES && fd < 0; ++n) {
        unsigned long tag = ((unsigned long)getpid() * 2654435761UL ^ (unsigned long)n * 40503UL) & 0xffffffUL;
        snprintf(t->temp, size, "%.*s.%s.%06lx", (int)dirlen, path, path + dirlen, tag);
        fd = open(t->temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd < 0 && errno != EEXIST)
            break;
    }
    if (fd < 0) {
        e = errno;
        free(t->temp);
        t->temp = NULL;
        return io_error(err, path, e);
    }
    if (stat(path, &sb) == 0)
        (void)fchmod(fd, sb.st_mode & 0777); /* a replaced file keeps its mode */
    if ((e = write_all(fd, text, len)) != 0) {
        text_discard(t);
        return io_error(err, path, e);
    }
    return NB_OK;
}

nb_status text_publish(staged_text *t, nb_error *err)
{
    int e;
    if (!t->temp) {
        int fd = open(t->path, O_WRONLY | O_TRUNC | O_CLOEXEC);
        if (fd < 0 || (e = write_all(fd, t->text, t->len)) != 0)
            return io_error(err, t->path, fd < 0 ? errno : e);
        return NB_OK;
    }
    if (rename(t->temp, t->path) != 0) {
        e = errno;
        text_discard(t);
        return io_error(err, t->path, e);
    }
    free(t->temp);
    t->temp = NULL;
    return NB_OK;
}

void text_discard(staged_text *t)
{
    if (t->temp) {
        (void)unlink(t->temp);
        free(t->temp);
        t->temp = NULL;
    }
}
