/* Reading one run's leaks from a trace or a JSON report; see leak_run.h. */
#include "leak_run.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* 1 when the first non-blank byte of the file is '{', 0 when it is something else, -1 when
 * the file cannot be read or is not a regular file (opened without blocking, so that a FIFO
 * cannot hang the command; a trace must be a regular file too). */
static int looks_like_json(const char *path, char *error, size_t error_len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        snprintf(error, error_len, "%s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(error, error_len, "%s: %s", path,
                 S_ISDIR(st.st_mode) ? "is a directory, not a trace or a report"
                                     : "not a regular file, not a trace or a report");
        close(fd);
        return -1;
    }
    FILE *f = fdopen(fd, "rb");
    if (!f) {
        snprintf(error, error_len, "%s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    int c;
    while ((c = fgetc(f)) == ' ' || c == '\t' || c == '\n' || c == '\r')
        ;
    fclose(f);
    return c == '{';
}

/* Field readers: 0 when present with the right type (or null/missing where allowed). */
static int get_count(json_t *obj, const char *key, int required, uint64_t *out)
{
    json_t *v = json_object_get(obj, key);
    if (!v && !required)
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return -1;
    *out = (uint64_t)json_integer_value(v);
    return 0;
}

static int get_string(json_t *obj, const char *key, const char **out)
{
    json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return -1;
    *out = json_string_value(v);
    return 0;
}

static int read_frame(json_t *f, struct suspect_frame *out)
{
    const char *address;
    memset(out, 0, sizeof *out);
    if (!json_is_object(f) || get_string(f, "function", &out->sym.function) < 0 ||
        get_string(f, "file", &out->sym.file) < 0 || get_string(f, "module", &out->sym.module) < 0 ||
        get_string(f, "address", &address) < 0)
        return -1;
    if (address && sscanf(address, "0x%" SCNx64, &out->address) != 1)
        return -1;
    json_t *line = json_object_get(f, "line");
    if (line && !json_is_null(line)) {
        if (!json_is_integer(line) || json_integer_value(line) < 0 || json_integer_value(line) > INT32_MAX)
            return -1;
        out->sym.line = (int)json_integer_value(line);
    }
    return 0;
}

static int read_suspect(json_t *s, size_t index, struct suspect *out)
{
    memset(out, 0, sizeof *out);
    out->stack_id = (uint32_t)index;
    json_t *stack = json_object_get(s, "stack");
    json_t *score = json_object_get(s, "score");
    if (!json_is_object(s) || get_count(s, "leaked_bytes", 1, &out->leaked_bytes) < 0 ||
        get_count(s, "leaked_allocations", 1, &out->leaked_blocks) < 0 ||
        get_count(s, "allocated_bytes", 0, &out->allocated_bytes) < 0 ||
        get_count(s, "allocations", 0, &out->allocated_blocks) < 0 || !json_is_array(stack) ||
        (score && !json_is_number(score)))
        return -1;
    out->score = score ? json_number_value(score) : 0;
    /* growth: a report of a leakshim that measured none leaves it unknown (NAN) */
    json_t *growing = json_object_get(s, "growing"), *growth = json_object_get(s, "growth_bytes_per_s");
    out->growth.growing = !growing || json_is_true(growing);
    out->growth.growth_bytes_per_s = json_is_number(growth) ? json_number_value(growth) : NAN;
    out->frames = calloc(json_array_size(stack) + 1, sizeof *out->frames);
    if (!out->frames)
        return -1;
    for (size_t i = 0; i < json_array_size(stack); i++) {
        if (read_frame(json_array_get(stack, i), &out->frames[i]) < 0)
            return -1;
        out->frame_count++;
    }
    return 0;
}

/* The suspects must account for the summary's leak: a report saved with --top lists only
 * the best ones, and checking or comparing it would miss the others (a budget passed on a
 * part of the leak, a baseline whose left-out stacks all look new). Returns 0, or -1 with
 * `error` set. */
static int check_suspects_complete(const struct leak_run *run, const char *path, char *error,
                                   size_t error_len)
{
    uint64_t bytes = 0, blocks = 0;
    int overflow = 0;
    for (size_t i = 0; i < run->count; i++) {
        overflow |= __builtin_add_overflow(bytes, run->suspects[i].leaked_bytes, &bytes);
        overflow |= __builtin_add_overflow(blocks, run->suspects[i].leaked_blocks, &blocks);
    }
    if (!overflow && bytes == run->leaked_bytes && blocks == run->leaked_blocks)
        return 0;
    snprintf(error, error_len, "%s: the suspects listed hold %" PRIu64 " bytes in %" PRIu64
             " blocks, the summary %" PRIu64 " bytes in %" PRIu64 " blocks; a report saved with "
             "--top lists only some of the leaks (save it without --top)", path, bytes, blocks,
             run->leaked_bytes, run->leaked_blocks);
    return -1;
}

static int load_json(struct leak_run *run, const char *path, char *error, size_t error_len)
{
    json_error_t jerr;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        snprintf(error, error_len, "%s:%d:%d: not valid JSON: %s", path, jerr.line, jerr.column,
                 jerr.text);
        return -1;
    }
    run->json = root;
    const char *format = NULL;
    json_t *version = json_object_get(root, "version");
    json_t *summary = json_object_get(root, "summary");
    json_t *process = json_object_get(root, "process");
    json_t *suspects = json_object_get(root, "suspects");
    if (!json_is_object(root) || get_string(root, "format", &format) < 0 || !format ||
        strcmp(format, "leakshim-report") != 0 || !json_is_integer(version) ||
        json_integer_value(version) != 1) {
        snprintf(error, error_len, "%s: not a leakshim report (expected \"format\": "
                 "\"leakshim-report\", \"version\": 1, as `leakshim report --format json` writes)",
                 path);
        return -1;
    }
    if (!json_is_object(summary) || get_count(summary, "leaked_bytes", 1, &run->leaked_bytes) < 0 ||
        get_count(summary, "leaked_allocations", 1, &run->leaked_blocks) < 0 ||
        !json_is_array(suspects)) {
        snprintf(error, error_len, "%s: summary.leaked_bytes, summary.leaked_allocations or "
                 "suspects missing or not numbers and a list", path);
        return -1;
    }
    if (json_is_object(process)) {
        json_t *complete = json_object_get(process, "complete");
        if (get_string(process, "exe", &run->exe) < 0 || get_count(process, "pid", 0, &run->pid) < 0 ||
            (complete && !json_is_boolean(complete))) {
            snprintf(error, error_len, "%s: process.exe, process.pid or process.complete has the "
                     "wrong type", path);
            return -1;
        }
        run->complete = !complete || json_is_true(complete);
    }
    run->suspects = calloc(json_array_size(suspects) + 1, sizeof *run->suspects);
    if (!run->suspects) {
        snprintf(error, error_len, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < json_array_size(suspects); i++) {
        int rc = read_suspect(json_array_get(suspects, i), i, &run->suspects[i]);
        run->count++;
        if (rc < 0) {
            snprintf(error, error_len, "%s: suspect %zu: leaked_bytes, leaked_allocations, "
                     "stack or a frame's fields missing or of the wrong type", path, i + 1);
            return -1;
        }
    }
    return check_suspects_complete(run, path, error, error_len);
}

int leak_run_load(struct leak_run *run, const char *path, const struct analysis_request *req,
                  char *error, size_t error_len)
{
    memset(run, 0, sizeof *run);
    run->warning = "";
    int json = looks_like_json(path, error, error_len);
    if (json < 0)
        return -1;
    run->from_json = json;
    if (json) {
        if (req->since || req->until) {
            snprintf(error, error_len, "%s: a JSON report cannot be cut to a window "
                     "(--since/--until need a trace)", path);
            return -1;
        }
        return load_json(run, path, error, error_len);
    }
    struct analysis_request all = *req;
    all.top = 0;
    if (analysis_run(&run->analysis, path, &all, error, error_len) < 0)
        return -1;
    const struct replay *r = &run->analysis.replay;
    run->suspects = run->analysis.suspects.items;
    run->count = run->analysis.suspects.count;
    run->leaked_bytes = r->summary.live_bytes;
    run->leaked_blocks = r->summary.live_blocks;
    run->exe = r->process.seen ? r->process.exe : NULL;
    run->pid = r->process.pid;
    run->complete = r->complete;
    run->warning = run->analysis.warning;
    return 0;
}

void leak_run_free(struct leak_run *run)
{
    if (run->from_json) {
        for (size_t i = 0; i < run->count; i++)
            free(run->suspects[i].frames);
        free(run->suspects);
        json_decref(run->json);
    } else {
        analysis_free(&run->analysis);
    }
    memset(run, 0, sizeof *run);
}
