/* Leak shapes for the growth-aware ranking, one per mode (argv[1]); requests are paced 2 ms
 * apart so that a run spans about a second of heap time line.
 *   startup     a 256 KiB configuration loaded once and kept; 24 bytes leaked per request
 *   cache       a 128-entry cache of 1000-byte values that fills, then evicts the oldest;
 *               24 bytes leaked every 4th request
 *   after_mark  200 clean requests, the mark "warm", then 200 requests that leak 24 bytes
 *   signal      as after_mark, but the mark is raise(SIGUSR2) (LEAKSHIM_MARK_SIGNAL=USR2)
 *   two_rates   16 bytes leaked every 4th request (slow), 16 bytes every request (fast)
 *   bursty      a 64 x 4096-byte pool filled at once; 50 x 32 bytes leaked in one burst
 *               every 80th request
 *   killed      20 clean requests, the mark "warm", 50 x 24 bytes leaked at once, SIGKILL:
 *               the mark and the leaks may still be in the ring when the process dies
 *   odd_marks   marks whose names hold a newline, an escape sequence and a byte that is not
 *               UTF-8, each followed by one request that leaks
 * Every request also allocates and frees a 300-byte buffer. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "leakshim.h"

#define NOINLINE __attribute__((noinline))

static void pause_ms(long ms)
{
    struct timespec ts = {0, ms * 1000000L};
    nanosleep(&ts, NULL);
}

static void *volatile sink;

NOINLINE void *load_config(void) { char *p = malloc(256 * 1024); memset(p, 1, 4096); return p; }
NOINLINE void leak_request_id(unsigned i) { char *p = malloc(24); p[0] = (char)i; sink = p; }
NOINLINE void leak_slow(unsigned i) { char *p = malloc(16); p[0] = (char)i; sink = p; }
NOINLINE void leak_fast(unsigned i) { char *p = malloc(16); p[0] = (char)i; sink = p; }
NOINLINE void bursty_leak(unsigned i) { char *p = malloc(32); p[0] = (char)i; sink = p; }

static char *volatile cache[128];
static unsigned cache_next;
NOINLINE void cache_put(unsigned i)
{
    unsigned slot = cache_next++ % 128;
    free(cache[slot]); /* the oldest entry goes */
    cache[slot] = malloc(1000);
    cache[slot][0] = (char)i;
}

static void *volatile pool[64];
NOINLINE void fill_pool(void)
{
    for (int i = 0; i < 64; i++)
        pool[i] = malloc(4096);
}

NOINLINE void handle_request(unsigned i)
{
    char *buffer = malloc(300);
    buffer[0] = (char)i;
    sink = buffer;
    free(buffer);
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";
    if (strcmp(mode, "killed") == 0) {
        for (unsigned i = 0; i < 20; i++)
            handle_request(i);
        leakshim_mark("warm");
        for (unsigned i = 0; i < 50; i++)
            leak_request_id(i);
        raise(SIGKILL);
    }
    if (strcmp(mode, "odd_marks") == 0) {
        static const char *const names[] = {"line\nbreak", "esc\033[31mred", "bad\xff byte"};
        for (unsigned i = 0; i < 3; i++) {
            leakshim_mark(names[i]);
            leak_request_id(i);
        }
        return 0;
    }
    char *config = NULL;
    if (strcmp(mode, "startup") == 0)
        config = load_config();
    if (strcmp(mode, "bursty") == 0)
        fill_pool();
    unsigned requests = strcmp(mode, "after_mark") == 0 || strcmp(mode, "signal") == 0 ? 400 : 500;
    for (unsigned i = 0; i < requests; i++) {
        handle_request(i);
        if (strcmp(mode, "startup") == 0)
            leak_request_id(i);
        else if (strcmp(mode, "cache") == 0) {
            cache_put(i);
            if (i % 4 == 0)
                leak_request_id(i);
        } else if (strcmp(mode, "after_mark") == 0 || strcmp(mode, "signal") == 0) {
            if (i == 200) {
                if (mode[0] == 'a')
                    leakshim_mark("warm");
                else
                    raise(SIGUSR2);
            }
            if (i >= 200)
                leak_request_id(i);
        } else if (strcmp(mode, "two_rates") == 0) {
            if (i % 4 == 0)
                leak_slow(i);
            leak_fast(i);
        } else if (strcmp(mode, "bursty") == 0) {
            if (i % 80 == 40)
                for (unsigned k = 0; k < 50; k++)
                    bursty_leak(i);
        } else {
            fprintf(stderr, "usage: growth_cases startup|cache|after_mark|signal|two_rates|bursty|killed\n");
            return 2;
        }
        pause_ms(2);
    }
    sink = config;
    return 0;
}
