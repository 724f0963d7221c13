/*
 * scratch.h - a scratch directory for tests that write files (cmocka group
 * setup and teardown), shared by tests/unit and tests/tools.
 *
 *   SCRATCH_GROUP(prefix)  defines scratch_setup and scratch_teardown: a new
 *                          $TMPDIR/<prefix>.XXXXXX (default /tmp) before the
 *                          group, removed with what it holds (files and empty
 *                          directories) after it.  Pass both to
 *                          cmocka_run_group_tests.
 *   in_scratch(name)       "<scratch>/<name>" (a static buffer: one at a time).
 *   count_entries(dir)     entries of dir other than . and .. (asserts it opens).
 *
 * Static inline, so every test executable has its own copy.  Include after
 * cmocka.h.
 */
#ifndef NB_TESTS_SCRATCH_H
#define NB_TESTS_SCRATCH_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char scratch[256];

static inline const char *in_scratch(const char *name)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", scratch, name);
    return path;
}

static inline int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    assert_non_null(d);
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

static inline int scratch_make(const char *prefix)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(scratch, sizeof scratch, "%s/%s.XXXXXX", tmp && *tmp ? tmp : "/tmp", prefix);
    return mkdtemp(scratch) ? 0 : -1;
}

static inline int scratch_remove(void)
{
    DIR *d = opendir(scratch);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        char path[600];
        snprintf(path, sizeof path, "%s/%s", scratch, e->d_name);
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0 && remove(path) != 0)
            rmdir(path);
    }
    if (d)
        closedir(d);
    return rmdir(scratch);
}

#define SCRATCH_GROUP(prefix)                                                                      \
    static int scratch_setup(void **state)                                                         \
    {                                                                                              \
        (void)state;                                                                               \
        return scratch_make(prefix);                                                               \
    }                                                                                              \
    static int scratch_teardown(void **state)                                                      \
    {                                                                                              \
        (void)state;                                                                               \
        return scratch_remove();                                                                   \
    }

#endif
