/* churn: a malloc/free workload for the benchmark harness (bench/run.py).
 *
 * Each worker thread keeps a pool of SLOTS live blocks and performs OPS operations; an operation
 * picks a slot at random, frees the block in it (if any) and allocates a new one there, so in the
 * steady state every operation is one allocation and one free. The allocation is made at the end
 * of one of PATHS call paths: a chain of noinline "step" functions, 4 kinds, chosen by the digits
 * of the path number (so there are PATHS distinct stacks, twice that with calloc), 6 to 14
 * steps deep. With the frames above them (do_op, worker_loop, worker_main, start_thread, clone3)
 * and the leaf, the allocation stacks are 12 to 20 frames deep. The harness builds this with
 * -O2 -g -fomit-frame-pointer: no frame pointers, so a tracer has to unwind with DWARF/CFI
 * information, as in most distribution builds.
 *
 * Sizes: each path allocates one kind of object, of one of 21 struct sizes from 16 to 2048 bytes:
 * 75% exactly that size, 20% with a variable tail of 0 to 56 bytes (a string or an array), 5%
 * are large buffers of 4 to 64 KiB; 1 in 16 allocations is a calloc. (Few distinct sizes per
 * stack, as in real programs; uniformly random sizes on every stack make heaptrack 1.4's
 * interpreter fail, see bench/README.md.)
 * The random sequence depends only on the seed and the thread index, so two runs with the same
 * arguments make exactly the same allocations.
 *
 * At the end every pool block is freed, then the main thread leaks LEAK_BLOCKS blocks of
 * LEAK_SIZE bytes from leak_on_purpose() (known, small), and the program prints one line:
 *   churn: threads T ops_per_thread N allocations A frees F leaked_bytes B leaked_blocks K
 * where A and F count this program's own calls (the C library's may add a few, e.g. stdio's
 * buffer and the thread stacks' TLS).
 *
 * Usage: churn [--threads T] [--ops N] [--slots S] [--paths P] [--seed X]
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LEAK_BLOCKS 10
#define LEAK_SIZE 100
#define MIN_STEPS 6
#define MAX_STEPS 14

#define NOINLINE __attribute__((noinline, noclone))

/* Object sizes, as a program's structs would have them. */
static const unsigned type_sizes[] = {16, 24, 32, 40, 48, 56, 64, 72, 88, 96, 112, 128,
                                      160, 200, 256, 320, 384, 512, 768, 1024, 2048};
#define NTYPES (sizeof type_sizes / sizeof type_sizes[0])

struct worker {
    pthread_t tid;
    unsigned index;
    uint64_t rng;
    uint64_t ops;
    unsigned slots;
    unsigned paths;
    void **pool;
    uint64_t allocs, frees;
    uint64_t checksum;
};

static uint64_t next_rand(uint64_t *s)
{
    /* xorshift64* */
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1DULL;
}

/* What one allocation is: where it goes, how big, which path, which function. */
struct request {
    struct worker *w;
    size_t size;
    unsigned path;
    unsigned steps;   /* remaining steps */
    unsigned digits;  /* the path's step kinds, 2 bits each, consumed from the bottom */
    int use_calloc;
};

/* Keeps the compiler from turning a call into a tail call (the frame would vanish) or from
 * dropping work on the block. */
#define KEEP(x) __asm__ volatile("" : : "g"(x) : "memory")

static NOINLINE void *leaf_alloc(struct request *r)
{
    void *p = r->use_calloc ? calloc(1, r->size) : malloc(r->size);
    if (!p) {
        fprintf(stderr, "churn: out of memory\n");
        exit(1);
    }
    /* Touch the block as a program would: a header word and the last byte. */
    memcpy(p, &r->path, sizeof r->path);
    ((unsigned char *)p)[r->size - 1] = (unsigned char)r->steps;
    KEEP(p);
    return p;
}

static inline __attribute__((always_inline)) void *step(struct request *r);

/* Four kinds of step, each a different function (different return addresses, different frame
 * layouts), so the stacks of different paths differ in more than their depth. */
static NOINLINE void *step_parse(struct request *r)
{
    unsigned saved = r->steps;
    void *p = step(r);
    KEEP(saved);
    return p;
}

static NOINLINE void *step_lookup(struct request *r)
{
    char scratch[48];
    memset(scratch, (int)r->path, sizeof scratch);
    KEEP(scratch);
    void *p = step(r);
    KEEP(scratch[r->steps % sizeof scratch]);
    return p;
}

static NOINLINE void *step_build(struct request *r)
{
    uint64_t h = r->size * 31u + r->path;
    void *p = step(r);
    r->w->checksum += h;
    return p;
}

static NOINLINE void *step_dispatch(struct request *r)
{
    /* Recursion through a second level of dispatch, as an interpreter or a visitor would. */
    void *p;
    if (r->digits & 4u)
        p = step(r);
    else
        p = step(r);
    KEEP(r->digits);
    return p;
}

/* Not a frame of its own: each step function (and do_op) calls the next one directly. */
static inline __attribute__((always_inline)) void *step(struct request *r)
{
    if (r->steps == 0)
        return leaf_alloc(r);
    r->steps--;
    unsigned kind = r->digits & 3u;
    r->digits = (r->digits >> 2) | (kind << 24); /* rotate, deep paths reuse the digits */
    void *p;
    switch (kind) {
    case 0: p = step_parse(r); break;
    case 1: p = step_lookup(r); break;
    case 2: p = step_build(r); break;
    default: p = step_dispatch(r); break;
    }
    KEEP(p);
    return p;
}

static NOINLINE void release(struct worker *w, void *p)
{
    free(p);
    w->frees++;
}

static NOINLINE void do_op(struct worker *w)
{
    uint64_t x = next_rand(&w->rng);
    unsigned slot = (unsigned)(x % w->slots);
    if (w->pool[slot]) {
        release(w, w->pool[slot]);
        w->pool[slot] = NULL;
    }
    struct request r;
    r.w = w;
    /* Skewed path choice: a few hot paths and a long tail, like real programs. */
    uint64_t y = next_rand(&w->rng);
    unsigned path = (y & 1) ? (unsigned)((y >> 8) % 16) : (unsigned)((y >> 8) % w->paths);
    /* Each path allocates one kind of object: a fixed size, sometimes with a variable tail (a
     * string or an array), and now and then a large buffer. */
    unsigned sz = (unsigned)(x >> 32);
    unsigned pick = sz % 100;
    size_t base = type_sizes[(path * 7u + path / 3u) % NTYPES];
    if (pick < 75)
        r.size = base;
    else if (pick < 95)
        r.size = base + 8u * ((sz >> 8) % 8u);
    else
        r.size = 4096u * (1u + (sz >> 8) % 16u);
    r.use_calloc = ((x >> 20) & 15u) == 0;
    r.path = path;
    r.steps = MIN_STEPS + path % (MAX_STEPS - MIN_STEPS + 1);
    r.digits = path * 2654435761u >> 8; /* distinct digits per path */
    r.digits = (r.digits & ~0x3ffu) | (path & 0x3ffu);
    w->pool[slot] = step(&r);
    w->allocs++;
}

static NOINLINE void worker_loop(struct worker *w)
{
    for (uint64_t i = 0; i < w->ops; i++)
        do_op(w);
    for (unsigned s = 0; s < w->slots; s++) {
        if (w->pool[s]) {
            release(w, w->pool[s]);
            w->pool[s] = NULL;
        }
    }
}

static void *worker_main(void *arg)
{
    /* The loop works on a copy on this thread's stack: the workers' entries in the shared array
     * are neighbours, and updating them in place would make the threads share cache lines. */
    struct worker local = *(struct worker *)arg;
    worker_loop(&local);
    KEEP(local.checksum);
    *(struct worker *)arg = local;
    return NULL;
}

static NOINLINE void *leak_on_purpose(size_t n)
{
    void *p = malloc(n);
    if (p)
        memset(p, 0x5a, n);
    KEEP(p);
    return p;
}

static unsigned long parse_num(const char *opt, const char *s, unsigned long min, unsigned long max)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || *s == '\0' || *end != '\0' || v < min || v > max) {
        fprintf(stderr, "churn: %s: expected a number from %lu to %lu, got '%s'\n", opt, min, max, s);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv)
{
    unsigned long threads = 1, ops = 2000000, slots = 4096, paths = 300, seed = 12345;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (i + 1 >= argc) {
            fprintf(stderr, "usage: churn [--threads T] [--ops N] [--slots S] [--paths P] [--seed X]\n");
            return 2;
        }
        const char *v = argv[++i];
        if (!strcmp(a, "--threads"))
            threads = parse_num(a, v, 1, 64);
        else if (!strcmp(a, "--ops"))
            ops = parse_num(a, v, 1, 1000000000);
        else if (!strcmp(a, "--slots"))
            slots = parse_num(a, v, 1, 1 << 24);
        else if (!strcmp(a, "--paths"))
            paths = parse_num(a, v, 1, 1024);
        else if (!strcmp(a, "--seed"))
            seed = parse_num(a, v, 1, ~0ul);
        else {
            fprintf(stderr, "churn: unknown option %s\n", a);
            return 2;
        }
    }

    struct worker *ws = calloc(threads, sizeof *ws);
    if (!ws)
        return 1;
    for (unsigned long t = 0; t < threads; t++) {
        struct worker *w = &ws[t];
        w->index = (unsigned)t;
        w->rng = seed * 0x9E3779B97F4A7C15ULL + t + 1;
        w->ops = ops;
        w->slots = (unsigned)slots;
        w->paths = (unsigned)paths;
        w->pool = calloc(slots, sizeof *w->pool);
        if (!w->pool)
            return 1;
        int rc = pthread_create(&w->tid, NULL, worker_main, w);
        if (rc) {
            fprintf(stderr, "churn: pthread_create: %s\n", strerror(rc));
            return 1;
        }
    }
    uint64_t allocs = 0, frees = 0;
    for (unsigned long t = 0; t < threads; t++) {
        pthread_join(ws[t].tid, NULL);
        allocs += ws[t].allocs;
        frees += ws[t].frees;
        free(ws[t].pool);
    }
    free(ws);

    for (int i = 0; i < LEAK_BLOCKS; i++)
        leak_on_purpose(LEAK_SIZE);
    allocs += LEAK_BLOCKS + threads + 1; /* and the pools and the worker array, all freed */
    frees += threads + 1;

    printf("churn: threads %lu ops_per_thread %lu allocations %llu frees %llu leaked_bytes %d leaked_blocks %d\n",
           threads, ops, (unsigned long long)allocs, (unsigned long long)frees, LEAK_BLOCKS * LEAK_SIZE,
           LEAK_BLOCKS);
    return 0;
}
