/*
 * tool_output.c - write-to-temporary-then-rename output files for the tools
 * (contracts in tool_output.h).
 */
#include "tool_output.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void release(tool_output *out)
{
    free(out->path);
    free(out->tmp);
    out->path = NULL;
    out->tmp = NULL;
    out->fp = NULL;
}

/* "<dir>/.<base>.XXXXXX" for path; caller owns the result. */
static char *temp_template(const char *path)
{
    const char *slash = strrchr(path, '/');
    size_t dirlen = slash ? (size_t)(slash - path) + 1 : 0;
    size_t len = strlen(path) + 10;
    char *t = malloc(len);
    if (t)
        snprintf(t, len, "%.*s.%s.XXXXXX", (int)dirlen, path, path + dirlen);
    return t;
}

/* Open a new temporary with mode (a replaced file's bits, else 0666 & ~umask). */
static int open_temp(tool_output *out, mode_t mode)
{
    int fd;
    out->tmp = temp_template(out->path);
    if (!out->tmp)
        return ENOMEM;
    fd = mkstemp(out->tmp);
    if (fd < 0) {
        int e = errno;
        free(out->tmp);
        out->tmp = NULL;
        return e;
    }
    (void)fchmod(fd, mode); /* best effort */
    out->fp = fdopen(fd, "wb");
    if (!out->fp) {
        int e = errno;
        close(fd);
        return e;
    }
    return 0;
}

/* 0666 & ~umask: the mode a new file would get. */
static mode_t new_file_mode(void)
{
    mode_t mask = umask(0);
    umask(mask);
    return 0666 & ~mask;
}

int tool_output_open(tool_output *out, const char *path)
{
    struct stat st;
    int exists, e;
    memset(out, 0, sizeof *out);
    if (!*path)
        return ENOENT;
    exists = stat(path, &st) == 0;
    if (path[strlen(path) - 1] == '/' || (exists && S_ISDIR(st.st_mode)))
        return EISDIR;
    out->path = malloc(strlen(path) + 1);
    if (!out->path)
        return ENOMEM;
    strcpy(out->path, path);
    if (exists && !S_ISREG(st.st_mode)) {
        out->fp = fopen(path, "wb"); /* a device or FIFO: in place */
        e = out->fp ? 0 : errno;
    } else {
        e = open_temp(out, exists ? st.st_mode & 0777 : new_file_mode());
    }
    if (e)
        tool_output_abort(out);
    return e;
}

int tool_output_commit(tool_output *out)
{
    int e = 0;
    if (!out->fp) {
        tool_output_abort(out);
        return EBADF;
    }
    errno = 0;
    if (fflush(out->fp) != 0 || ferror(out->fp))
        e = errno ? errno : EIO;
    errno = 0;
    if (fclose(out->fp) != 0 && !e)
        e = errno ? errno : EIO;
    out->fp = NULL;
    if (!e && out->tmp && rename(out->tmp, out->path) != 0)
        e = errno;
    if (e) {
        tool_output_abort(out);
        return e;
    }
    release(out);
    return 0;
}

void tool_output_abort(tool_output *out)
{
    if (out->fp)
        fclose(out->fp);
    if (out->tmp)
        remove(out->tmp);
    release(out);
}
