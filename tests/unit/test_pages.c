/*
 * test_pages.c - memory for whole images (pages.h): nbi_pages_calloc gives
 * zeroed, usable memory of every size (below and above the huge-page
 * threshold, odd sizes), 2 MiB aligned from 256 KiB up, freed with free();
 * refuses a product that overflows; nbi_pages_back backs memory without
 * changing its contents.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "support.h"

#include "pages.h"

#define HUGE ((size_t)2 << 20)
#define HUGE_FROM ((size_t)256 << 10)

static int all_zero(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; ++i)
        if (p[i])
            return 0;
    return 1;
}

static void test_calloc_sizes(void **state)
{
    const size_t sizes[] = {1,    4095,          4096,     100000,   HUGE_FROM - 1,    HUGE_FROM,
                            HUGE_FROM + 1, HUGE - 1, HUGE, HUGE + 1, 3 * HUGE + 12345, 16u << 20};
    (void)state;
    for (size_t k = 0; k < sizeof sizes / sizeof *sizes; ++k) {
        const size_t n = sizes[k];
        unsigned char *p = nbi_pages_calloc(n, 1);
        assert_non_null(p);
        assert_true(all_zero(p, n));
        if (n >= HUGE_FROM)
            assert_int_equal((uintptr_t)p % HUGE, 0);
        memset(p, 0xa5, n); /* all of it writable */
        assert_int_equal(p[n - 1], 0xa5);
        free(p);
    }
    /* reused memory (after the writes above) is zero again */
    for (int r = 0; r < 3; ++r) {
        float *f = nbi_pages_calloc((size_t)1 << 20, sizeof(float));
        assert_non_null(f);
        assert_true(all_zero((const unsigned char *)f, ((size_t)1 << 20) * sizeof(float)));
        f[12345] = 1.0f;
        free(f);
    }
}

static void test_calloc_overflow(void **state)
{
    (void)state;
    assert_null(nbi_pages_calloc(SIZE_MAX / 2, 4));
    assert_null(nbi_pages_calloc(SIZE_MAX, SIZE_MAX));
    assert_null(nbi_pages_calloc(SIZE_MAX - 1, 1)); /* rounding up to 2 MiB would wrap */
}

static void test_back_keeps_contents(void **state)
{
    const size_t n = 3 * HUGE + 777;
    unsigned char *p = malloc(n);
    int e;
    (void)state;
    assert_non_null(p);
    for (size_t i = 0; i < n; ++i)
        p[i] = (unsigned char)(i * 131u + 7u);
    e = nbi_pages_back(p + 5, n - 10);
    assert_true(e == 0 || e == ENOSYS || e == EINVAL); /* EINVAL: a kernel without the request */
    for (size_t i = 0; i < n; ++i)
        assert_int_equal(p[i], (unsigned char)(i * 131u + 7u));
    assert_int_equal(nbi_pages_back(p, 0), 0);
    assert_int_equal(nbi_pages_back(NULL, 10), EINVAL);
    free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_calloc_sizes),
        cmocka_unit_test(test_calloc_overflow),
        cmocka_unit_test(test_back_keeps_contents),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
