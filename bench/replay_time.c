/* Times the phases of `leakshim report` apart on one trace: reading and replaying the
 * records (replay_file, best of N runs, with the file in the page cache), then building and
 * symbolizing the suspects once (suspects_build, where libdw opens the modules' debug
 * information, unless the prefetching thread opened them during the replay). Prints the
 * events, the time per event and the phases in milliseconds. Built against the analyzer's
 * objects as bench/README.md ("Analysis time") says; used to find where the analysis time
 * goes.
 *
 *     build/bench/replay_time TRACE [RUNS] */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "replay.h"
#include "suspects.h"

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Decoding alone: every record read, none applied. Returns the milliseconds, or -1. */
static double decode_only(const char *path, uint64_t *records)
{
    static struct trace_record rec;
    struct trace_reader reader;
    double t0 = now_ms();
    if (trace_reader_open(&reader, path) != TRACE_OK)
        return -1;
    *records = 0;
    while (trace_reader_next(&reader, &rec) == TRACE_OK)
        ++*records;
    trace_reader_close(&reader);
    return now_ms() - t0;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: replay_time TRACE [RUNS]\n");
        return 2;
    }
    int runs = argc == 3 ? atoi(argv[2]) : 5;
    double best = 1e300;
    struct replay r;
    for (int i = 0; i < runs || i == 0; i++) {
        if (i > 0)
            replay_free(&r);
        if (replay_init(&r) < 0) {
            fprintf(stderr, "replay_time: out of memory\n");
            return 1;
        }
        char error[600];
        double t0 = now_ms();
        enum trace_status s = replay_file(&r, argv[1], error, sizeof error);
        double t = now_ms() - t0;
        if (s == TRACE_INVALID) {
            fprintf(stderr, "replay_time: %s\n", error);
            return 1;
        }
        if (t < best)
            best = t;
    }
    double decode = 1e300;
    uint64_t records = 0;
    for (int i = 0; i < runs || i == 0; i++) {
        double t = decode_only(argv[1], &records);
        if (t >= 0 && t < decode)
            decode = t;
    }
    double t0 = now_ms();
    struct suspect_list list;
    if (suspects_build(&r, 0, ORDER_SCORE, 0, &list) < 0) {
        fprintf(stderr, "replay_time: out of memory\n");
        return 1;
    }
    double symbolize = now_ms() - t0;
    uint64_t events = r.summary.allocations + r.summary.frees;
    printf("events %llu  replay %.1f ms (%.2f ns/event), of which decoding %.1f ms (%llu records); "
           "suspects and symbolization %.1f ms\n",
           (unsigned long long)events, best, best * 1e6 / (double)events, decode,
           (unsigned long long)records, symbolize);
    suspects_free(&list);
    replay_free(&r);
    return 0;
}
