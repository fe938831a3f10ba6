/* Odd stacks under the shim.
 *
 *   life_stacks coroutines   4 coroutines (makecontext/swapcontext, 64 KiB stacks from mmap)
 *                            take 100 turns each, round robin; each turn churns 20 blocks
 *                            (co_churn) and, every 10th turn, leaks co_leak 40 B from 5 calls
 *                            deep in the coroutine's own recursion (co_deep). The coroutines
 *                            end by returning (uc_link back to main).
 *                            Leaks: co_leak 4 x 10 x 40 = 1600 B in 40.
 *   life_stacks longjmp      10 times: recurse 300 levels deep, allocating 16 B at each level
 *                            (deep_alloc), and longjmp from the bottom back to main; main then
 *                            frees the blocks of the even levels. Leaks: deep_alloc
 *                            10 x 150 x 16 = 24000 B in 1500. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>

#define NOINLINE __attribute__((noinline))
#define COROUTINES 4
#define TURNS 100
#define STACK_BYTES (64 * 1024)
#define DEPTH 300
#define JUMPS 10

static void *volatile sink;

NOINLINE void co_leak(void) { sink = malloc(40); }
NOINLINE void *co_churn(size_t n) { return malloc(n); }
NOINLINE void *deep_alloc(size_t n) { return malloc(n); }

static ucontext_t main_ctx, co_ctx[COROUTINES];
static int finished[COROUTINES];

NOINLINE static int co_deep(int levels)
{
    if (levels == 0) {
        co_leak();
        return 1;
    }
    return co_deep(levels - 1) + 1;
}

static void coroutine(int index)
{
    for (int turn = 0; turn < TURNS; turn++) {
        for (int i = 0; i < 20; i++) {
            char *p = co_churn(16 + (size_t)((index * 31 + turn * 7 + i) % 500));
            p[0] = 1;
            free(p);
        }
        if (turn % 10 == 0 && co_deep(5) != 6)
            abort();
        swapcontext(&co_ctx[index], &main_ctx);
    }
    finished[index] = 1;
}

static int coroutines(void)
{
    void *stacks[COROUTINES];
    for (int i = 0; i < COROUTINES; i++) {
        stacks[i] = mmap(NULL, STACK_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (stacks[i] == MAP_FAILED)
            return 1;
        getcontext(&co_ctx[i]);
        co_ctx[i].uc_stack.ss_sp = stacks[i];
        co_ctx[i].uc_stack.ss_size = STACK_BYTES;
        co_ctx[i].uc_link = &main_ctx;
        makecontext(&co_ctx[i], (void (*)(void))coroutine, 1, i);
    }
    int alive = COROUTINES;
    while (alive) {
        alive = 0;
        for (int i = 0; i < COROUTINES; i++) {
            if (finished[i])
                continue;
            swapcontext(&main_ctx, &co_ctx[i]);
            alive += !finished[i];
        }
    }
    for (int i = 0; i < COROUTINES; i++)
        munmap(stacks[i], STACK_BYTES);
    printf("coroutines done\n");
    return 0;
}

static jmp_buf jump;
static void *blocks[DEPTH];

NOINLINE static void descend(int level)
{
    if (level >= DEPTH)
        return; /* not reached */
    blocks[level] = deep_alloc(16);
    if (level + 1 == DEPTH)
        longjmp(jump, 1);
    descend(level + 1);
    sink = blocks[level]; /* not reached: keeps the recursion from becoming a loop */
}

static int jumps(void)
{
    for (volatile int j = 0; j < JUMPS; j++) {
        if (setjmp(jump) == 0) {
            descend(0);
            return 1; /* not reached */
        }
        for (int level = 0; level < DEPTH; level += 2)
            free(blocks[level]);
    }
    printf("jumps done\n");
    return 0;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";
    if (strcmp(mode, "coroutines") == 0)
        return coroutines();
    if (strcmp(mode, "longjmp") == 0)
        return jumps();
    fprintf(stderr, "usage: life_stacks coroutines|longjmp\n");
    return 2;
}
