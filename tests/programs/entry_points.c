/* Every allocation entry point, each leaking an exact, distinct requested size from its own
 * noinline function (tests/integration/test_entry_points.py knows the numbers).
 *
 * The program checks libc's semantics itself (results, errno, alignment, contents kept by a
 * failed realloc) and exits 1 on any mismatch, so it must pass with and without the shim. It
 * prints the facts that do not depend on addresses, so that the two runs can be compared byte
 * for byte.
 *
 *   entry_points           every call, including the ones that must fail
 *   entry_points nofail    the same without the failing calls (for a differential count)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))
#define SENTINEL 4242

/* Hidden from the compiler, which would otherwise warn about (or fold) the impossible sizes. */
static volatile size_t v_size_max = SIZE_MAX;
#define HUGE_SIZE (v_size_max - 100)
#define HUGE_SIZE2 (v_size_max - 4096)
#define HALF_SIZE (v_size_max / 2)

static void *volatile sink[64];
static int nsink;
static int failures;

#define CHECK(cond, ...)                                                                       \
    do {                                                                                       \
        if (!(cond)) {                                                                         \
            fprintf(stderr, "entry_points.c:%d: check failed: %s: ", __LINE__, #cond);         \
            fprintf(stderr, __VA_ARGS__);                                                      \
            fputc('\n', stderr);                                                               \
            failures++;                                                                        \
        }                                                                                      \
    } while (0)

static NOINLINE void keep(void *p) { sink[nsink++] = p; }

static void check_block(const char *what, void *p, size_t n, size_t align)
{
    CHECK(p != NULL, "%s returned NULL", what);
    if (!p)
        return;
    CHECK(malloc_usable_size(p) >= n, "%s: usable size %zu < %zu", what, malloc_usable_size(p), n);
    CHECK(align == 0 || (uintptr_t)p % align == 0, "%s: %p not aligned to %zu", what, p, align);
    memset(p, 0xa5, n);
}

/* --- successful calls, each leaking one block ------------------------------------------ */

NOINLINE void ep_malloc(void)
{
    errno = SENTINEL;
    void *p = malloc(1001);
    CHECK(errno == SENTINEL, "malloc changed errno to %d", errno);
    check_block("malloc(1001)", p, 1001, 16);
    keep(p);
}

NOINLINE void ep_malloc_zero(void)
{
    void *p = malloc(0);
    CHECK(p != NULL, "malloc(0) returned NULL");
    keep(p);
}

NOINLINE void ep_calloc(void)
{
    errno = SENTINEL;
    unsigned char *p = calloc(13, 17);
    CHECK(errno == SENTINEL, "calloc changed errno to %d", errno);
    int zero = 1;
    for (int i = 0; p && i < 13 * 17; i++)
        zero &= p[i] == 0;
    CHECK(zero, "calloc memory is not zeroed");
    check_block("calloc(13, 17)", p, 221, 16);
    keep(p);
}

NOINLINE void *ep_grow_src(void) { return malloc(3000); }

NOINLINE void ep_realloc_grow(void *p)
{
    memset(p, 0x11, 3000);
    errno = SENTINEL;
    unsigned char *q = realloc(p, 6000);
    CHECK(errno == SENTINEL, "realloc changed errno to %d", errno);
    CHECK(q == p, "realloc(3000 -> 6000) did not grow in place (the test needs it to)");
    CHECK(q && q[2999] == 0x11, "realloc lost the contents");
    check_block("realloc grow", q, 6000, 16);
    printf("realloc grow in place: %d\n", q == p);
    keep(q);
}

NOINLINE void *ep_move_src(void) { return malloc(200); }
NOINLINE void ep_move_blocker(void) { keep(malloc(200)); }

NOINLINE void ep_realloc_move(void *p)
{
    memset(p, 0x22, 200);
    unsigned char *q = realloc(p, 50000);
    CHECK(q != p, "realloc(200 -> 50000) past a used block did not move (the test needs it to)");
    CHECK(q && q[0] == 0x22 && q[199] == 0x22, "realloc lost the contents");
    check_block("realloc move", q, 50000, 16);
    printf("realloc moved: %d\n", q != p);
    keep(q);
}

NOINLINE void *ep_shrink_src(void) { return malloc(5000); }

NOINLINE void ep_realloc_shrink(void *p)
{
    memset(p, 0x33, 5000);
    unsigned char *q = realloc(p, 300);
    CHECK(q && q[299] == 0x33, "realloc shrink lost the contents");
    check_block("realloc shrink", q, 300, 16);
    printf("realloc shrink in place: %d\n", q == p);
    keep(q);
}

NOINLINE void ep_realloc_null(void)
{
    void *p = realloc(NULL, 777);
    check_block("realloc(NULL, 777)", p, 777, 16);
    keep(p);
}

NOINLINE void ep_realloc_null_zero(void)
{
    void *p = realloc(NULL, 0);
    CHECK(p != NULL, "realloc(NULL, 0) returned NULL (glibc returns a minimal block)");
    keep(p);
}

NOINLINE void *ep_realloc_zero_src(void) { return malloc(555); }

NOINLINE void ep_realloc_zero(void *p)
{
    errno = SENTINEL;
    void *q = realloc(p, 0);
    CHECK(q == NULL, "realloc(p, 0) returned %p, glibc frees p and returns NULL", q);
    printf("realloc(p, 0): %s errno=%d\n", q ? "block" : "NULL", errno);
}

NOINLINE void ep_reallocarray(void)
{
    errno = SENTINEL;
    unsigned char *p = reallocarray(NULL, 10, 33);
    CHECK(errno == SENTINEL, "reallocarray changed errno to %d", errno);
    check_block("reallocarray(NULL, 10, 33)", p, 330, 16);
    unsigned char *q = reallocarray(p, 20, 33);
    CHECK(q && q[329] == 0xa5, "reallocarray lost the contents");
    check_block("reallocarray(p, 20, 33)", q, 660, 16);
    keep(q);
}

NOINLINE void *ep_reallocarray_zero_src(void) { return malloc(66); }

NOINLINE void ep_reallocarray_zero(void *p)
{
    void *q = reallocarray(p, 0, 8);
    CHECK(q == NULL, "reallocarray(p, 0, 8) returned %p, glibc frees p and returns NULL", q);
}

NOINLINE void ep_posix_memalign(void)
{
    void *p = NULL;
    errno = SENTINEL;
    int rc = posix_memalign(&p, 64, 2000);
    CHECK(rc == 0, "posix_memalign(64, 2000) = %d", rc);
    CHECK(errno == SENTINEL, "posix_memalign changed errno to %d", errno);
    check_block("posix_memalign(64, 2000)", p, 2000, 64);
    keep(p);
}

NOINLINE void ep_aligned_alloc(void)
{
    errno = SENTINEL;
    void *p = aligned_alloc(256, 1536);
    CHECK(errno == SENTINEL, "aligned_alloc changed errno to %d", errno);
    check_block("aligned_alloc(256, 1536)", p, 1536, 256);
    keep(p);
}

NOINLINE void ep_memalign(void)
{
    errno = SENTINEL;
    void *p = memalign(128, 3000);
    CHECK(errno == SENTINEL, "memalign changed errno to %d", errno);
    check_block("memalign(128, 3000)", p, 3000, 128);
    keep(p);
}

NOINLINE void ep_valloc(void)
{
    errno = SENTINEL;
    void *p = valloc(5000);
    CHECK(errno == SENTINEL, "valloc changed errno to %d", errno);
    check_block("valloc(5000)", p, 5000, (size_t)sysconf(_SC_PAGESIZE));
    keep(p);
}

NOINLINE void ep_pvalloc(void)
{
    errno = SENTINEL;
    void *p = pvalloc(100);
    CHECK(errno == SENTINEL, "pvalloc changed errno to %d", errno);
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    check_block("pvalloc(100)", p, page, page); /* pvalloc rounds the size up to a page */
    keep(p);
}

/* --- blocks that must survive a failed call -------------------------------------------- */

NOINLINE unsigned char *ep_survivor_src(size_t n)
{
    unsigned char *p = malloc(n);
    for (size_t i = 0; p && i < n; i++)
        p[i] = (unsigned char)(i * 7 + 1);
    return p;
}

static int intact(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != (unsigned char)(i * 7 + 1))
            return 0;
    return 1;
}

NOINLINE void ep_fail_reallocarray(unsigned char *p)
{
    errno = SENTINEL;
    void *q = reallocarray(p, HALF_SIZE, 3);
    CHECK(q == NULL && errno == ENOMEM, "reallocarray overflow: %p, errno %d", q, errno);
    CHECK(intact(p, 40), "reallocarray overflow changed the block");
    printf("reallocarray overflow: %s errno=%d\n", q ? "block" : "NULL", errno);
    keep(p);
}

NOINLINE void ep_fail_realloc(unsigned char *p)
{
    errno = SENTINEL;
    void *q = realloc(p, HUGE_SIZE2);
    CHECK(q == NULL && errno == ENOMEM, "realloc(huge): %p, errno %d", q, errno);
    CHECK(intact(p, 48), "failed realloc changed the block");
    printf("realloc huge: %s errno=%d\n", q ? "block" : "NULL", errno);
    keep(p);
}

/* --- calls that fail and must record nothing ------------------------------------------- */

NOINLINE void ep_fail_malloc(void)
{
    errno = SENTINEL;
    void *p = malloc(HUGE_SIZE);
    CHECK(p == NULL && errno == ENOMEM, "malloc(huge): %p, errno %d", p, errno);
    printf("malloc huge: %s errno=%d\n", p ? "block" : "NULL", errno);
}

NOINLINE void ep_fail_calloc(void)
{
    errno = SENTINEL;
    void *p = calloc(HALF_SIZE, 3);
    CHECK(p == NULL && errno == ENOMEM, "calloc overflow: %p, errno %d", p, errno);
    printf("calloc overflow: %s errno=%d\n", p ? "block" : "NULL", errno);
}

NOINLINE void ep_fail_posix_memalign(void)
{
    static const size_t bad[] = {3, 0, 24, 4};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        void *p = (void *)0x1234;
        errno = SENTINEL;
        int rc = posix_memalign(&p, bad[i], 100);
        CHECK(rc == EINVAL, "posix_memalign(alignment %zu) = %d, expected EINVAL", bad[i], rc);
        CHECK(p == (void *)0x1234, "posix_memalign(alignment %zu) changed *memptr", bad[i]);
        printf("posix_memalign(%zu, 100) = %d errno=%d\n", bad[i], rc, errno);
    }
    void *p = (void *)0x1234;
    errno = SENTINEL;
    int rc = posix_memalign(&p, 64, HUGE_SIZE);
    CHECK(rc == ENOMEM, "posix_memalign(64, huge) = %d, expected ENOMEM", rc);
    CHECK(p == (void *)0x1234, "posix_memalign(64, huge) changed *memptr");
    printf("posix_memalign(64, huge) = %d errno=%d\n", rc, errno);
}

NOINLINE void ep_fail_aligned_alloc(void)
{
    errno = SENTINEL;
    void *p = aligned_alloc(64, HUGE_SIZE);
    CHECK(p == NULL && errno == ENOMEM, "aligned_alloc(64, huge): %p, errno %d", p, errno);
    printf("aligned_alloc huge: %s errno=%d\n", p ? "block" : "NULL", errno);
}

NOINLINE void ep_fail_memalign(void)
{
    errno = SENTINEL;
    void *p = memalign(v_size_max, 10);
    CHECK(p == NULL && errno == EINVAL, "memalign(bad alignment): %p, errno %d", p, errno);
    printf("memalign bad alignment: %s errno=%d\n", p ? "block" : "NULL", errno);
    errno = SENTINEL;
    p = memalign(64, HUGE_SIZE);
    CHECK(p == NULL && errno == ENOMEM, "memalign(64, huge): %p, errno %d", p, errno);
    printf("memalign huge: %s errno=%d\n", p ? "block" : "NULL", errno);
}

NOINLINE void ep_fail_valloc(void)
{
    errno = SENTINEL;
    void *p = valloc(HUGE_SIZE);
    CHECK(p == NULL && errno == ENOMEM, "valloc(huge): %p, errno %d", p, errno);
    printf("valloc huge: %s errno=%d\n", p ? "block" : "NULL", errno);
    errno = SENTINEL;
    p = pvalloc(HUGE_SIZE);
    CHECK(p == NULL && errno == ENOMEM, "pvalloc(huge): %p, errno %d", p, errno);
    printf("pvalloc huge: %s errno=%d\n", p ? "block" : "NULL", errno);
}

/* --- free ------------------------------------------------------------------------------ */

NOINLINE void ep_free_errno(void)
{
    void *p = malloc(10);
    errno = SENTINEL;
    free(p);
    CHECK(errno == SENTINEL, "free changed errno to %d", errno);
    errno = SENTINEL;
    free(NULL);
    CHECK(errno == SENTINEL, "free(NULL) changed errno to %d", errno);
    CHECK(malloc_usable_size(NULL) == 0, "malloc_usable_size(NULL) != 0");
}

int main(int argc, char **argv)
{
    int with_failures = !(argc > 1 && strcmp(argv[1], "nofail") == 0);
    setvbuf(stdout, NULL, _IOFBF, 1 << 14); /* one buffer either way, allocated right here */
    printf("entry points, with failing calls: %d\n", with_failures);

    ep_realloc_grow(ep_grow_src());
    void *m = ep_move_src();
    ep_move_blocker();
    ep_realloc_move(m);
    ep_realloc_shrink(ep_shrink_src());

    ep_malloc();
    ep_malloc_zero();
    ep_calloc();
    ep_realloc_null();
    ep_realloc_null_zero();
    ep_realloc_zero(ep_realloc_zero_src());
    ep_reallocarray();
    ep_reallocarray_zero(ep_reallocarray_zero_src());
    ep_posix_memalign();
    ep_aligned_alloc();
    ep_memalign();
    ep_valloc();
    ep_pvalloc();
    ep_free_errno();

    unsigned char *a = ep_survivor_src(40), *b = ep_survivor_src(48);
    if (with_failures) {
        ep_fail_reallocarray(a);
        ep_fail_realloc(b);
        ep_fail_malloc();
        ep_fail_calloc();
        ep_fail_posix_memalign();
        ep_fail_aligned_alloc();
        ep_fail_memalign();
        ep_fail_valloc();
    } else {
        keep(a);
        keep(b);
    }
    printf("failures: %d\n", failures);
    return failures ? 1 : 0;
}
