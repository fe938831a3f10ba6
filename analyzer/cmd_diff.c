/* `leakshim diff [--threshold T] OLD NEW`: what changed in the leaks between two runs (each a
 * trace or a saved JSON report), for a person: the stacks that leak now and did not (new),
 * that stopped leaking (gone), that leak more (grown) or less (shrunk), with byte and block
 * deltas, largest change first. Stacks are matched by symbolized identity (leak_compare.h).
 * Exit 0 when both were read, 2 on a usage error or a file that cannot be read. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_output.h"
#include "commands.h"
#include "leak_compare.h"
#include "leak_run.h"
#include "units.h"

#define DIFF_FRAMES_SHOWN 6

static const char diff_usage[] =
    "usage: leakshim diff [--threshold T] OLD NEW\n"
    "  OLD, NEW: traces or `leakshim report --format json` files\n"
    "  T: growth shown as unchanged, \"PERCENT%\", \"SIZE\" or both (\"10%,1K\"); default 0\n";

/* "+1,234" or "-1,234" */
static const char *signed_grouped(uint64_t from, uint64_t to, char *buf)
{
    char digits[32];
    buf[0] = to >= from ? '+' : '-';
    strcpy(buf + 1, units_grouped(to >= from ? to - from : from - to, digits));
    return buf;
}

/* The difference's magnitude, for singular and plural. */
static uint64_t distance(uint64_t a, uint64_t b) { return a > b ? a - b : b - a; }

static void change_text(FILE *out, const struct leak_change *c)
{
    char bytes[40], blocks[40], from[32], to[32];
    fprintf(out, "  %s %s, %s %s  (%s -> %s bytes", signed_grouped(c->old_bytes, c->new_bytes, bytes),
            units_noun(distance(c->old_bytes, c->new_bytes), "byte", "bytes"),
            signed_grouped(c->old_blocks, c->new_blocks, blocks),
            units_noun(distance(c->old_blocks, c->new_blocks), "block", "blocks"),
            units_grouped(c->old_bytes, from), units_grouped(c->new_bytes, to));
    if (c->old_bytes && c->new_bytes)
        fprintf(out, ", %+.1f%%", 100.0 * ((double)c->new_bytes - (double)c->old_bytes) / (double)c->old_bytes);
    fputs(")\n", out);
    const struct suspect *s = c->new_suspect ? c->new_suspect : c->old_suspect;
    uint32_t n = s->frame_count < DIFF_FRAMES_SHOWN ? s->frame_count : DIFF_FRAMES_SHOWN;
    char line[600];
    for (uint32_t f = 0; f < n; f++) {
        check_describe_frame(&s->frames[f], line, sizeof line);
        fprintf(out, "      %s\n", line);
    }
    if (!s->frame_count)
        fputs("      (no stack recorded)\n", out);
}

static void diff_text(FILE *out, const char *old_path, const struct leak_run *old,
                      const char *new_path, const struct leak_run *new,
                      const struct leak_change *changes, size_t count)
{
    char a[32], b[32], e[40], f[40];
    fprintf(out, "leakshim diff: %s -> %s\n", old_path, new_path);
    const struct leak_run *runs[2] = {old, new};
    for (int k = 0; k < 2; k++)
        fprintf(out, "  %s: %s %s in %s %s from %zu %s\n", k ? "new" : "old",
                units_grouped(runs[k]->leaked_bytes, a),
                units_noun(runs[k]->leaked_bytes, "byte", "bytes"),
                units_grouped(runs[k]->leaked_blocks, b),
                units_noun(runs[k]->leaked_blocks, "block", "blocks"), runs[k]->count,
                units_noun(runs[k]->count, "stack", "stacks"));
    fprintf(out, "  change: %s %s, %s %s\n", signed_grouped(old->leaked_bytes, new->leaked_bytes, e),
            units_noun(distance(old->leaked_bytes, new->leaked_bytes), "byte", "bytes"),
            signed_grouped(old->leaked_blocks, new->leaked_blocks, f),
            units_noun(distance(old->leaked_blocks, new->leaked_blocks), "block", "blocks"));
    static const char *titles[] = {"new: leaking now, not before", "grown: leaking more",
                                   "shrunk: leaking less", "gone: not leaking any more"};
    size_t unchanged = 0;
    for (int kind = CHANGE_NEW; kind <= CHANGE_SAME; kind++) {
        size_t n = 0;
        uint64_t old_bytes = 0, new_bytes = 0;
        for (size_t i = 0; i < count; i++)
            if (changes[i].kind == (enum change_kind)kind) {
                n++;
                old_bytes += changes[i].old_bytes;
                new_bytes += changes[i].new_bytes;
            }
        if (kind == CHANGE_SAME) {
            unchanged = n;
            break;
        }
        if (!n)
            continue;
        fprintf(out, "\n%s (%zu %s, %s %s)\n", titles[kind], n, units_noun(n, "stack", "stacks"),
                signed_grouped(old_bytes, new_bytes, e),
                units_noun(distance(old_bytes, new_bytes), "byte", "bytes"));
        for (size_t i = 0; i < count; i++)
            if (changes[i].kind == (enum change_kind)kind)
                change_text(out, &changes[i]);
    }
    fprintf(out, "\nunchanged: %zu %s\n", unchanged, units_noun(unchanged, "stack", "stacks"));
}

static int diff_runs(const char *old_path, const char *new_path, const struct growth_threshold *t,
                     struct leak_run *old, struct leak_run *new)
{
    char error[700];
    struct analysis_request whole = {.order = ORDER_SCORE};
    const char *paths[2] = {old_path, new_path};
    struct leak_run *runs[2] = {old, new};
    for (int i = 0; i < 2; i++) {
        if (leak_run_load(runs[i], paths[i], &whole, error, sizeof error) < 0) {
            fprintf(stderr, "leakshim diff: %s\n", error);
            return EXIT_USAGE;
        }
        if (*runs[i]->warning)
            fprintf(stderr, "leakshim diff: warning: %s; comparing what it holds\n", runs[i]->warning);
    }
    const struct suspect **sides[2] = {calloc(old->count + 1, sizeof **sides),
                                       calloc(new->count + 1, sizeof **sides)};
    struct leak_change *changes = NULL;
    size_t count = 0;
    int rc = EXIT_USAGE;
    if (sides[0] && sides[1]) {
        for (int i = 0; i < 2; i++)
            for (size_t k = 0; k < runs[i]->count; k++)
                sides[i][k] = &runs[i]->suspects[k];
        if (leak_compare(sides[0], old->count, sides[1], new->count, t, &changes, &count) == 0) {
            diff_text(stdout, old_path, old, new_path, new, changes, count);
            rc = fflush(stdout) == 0 ? 0 : EXIT_USAGE;
        }
    }
    if (!changes)
        fputs("leakshim diff: out of memory\n", stderr);
    free(changes);
    free(sides[0]);
    free(sides[1]);
    return rc;
}

int cmd_diff(int argc, char **argv)
{
    static const struct option options[] = {
        {"threshold", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct growth_threshold threshold = {0, 0};
    int c;
    optind = 1;
    argv[0] = "leakshim diff";
    while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
        if (c == 'h') {
            fputs(diff_usage, stdout);
            return 0;
        }
        if (c != 't')
            return EXIT_USAGE;
        if (units_parse_threshold(optarg, &threshold) < 0) {
            fprintf(stderr, "leakshim diff: --threshold takes 10%%, 4K or 10%%,4K, not '%s'\n", optarg);
            return EXIT_USAGE;
        }
    }
    if (optind != argc - 2) {
        fputs(diff_usage, stderr);
        return EXIT_USAGE;
    }
    struct leak_run old, new;
    memset(&old, 0, sizeof old);
    memset(&new, 0, sizeof new);
    int rc = diff_runs(argv[optind], argv[optind + 1], &threshold, &old, &new);
    leak_run_free(&old);
    leak_run_free(&new);
    return rc;
}
