/* `leakshim report --format pprof -o FILE`: the suspects as a gzip-compressed profile.proto
 * (github.com/google/pprof, proto/profile.proto), for `go tool pprof` and other readers.
 *
 * Sample types, in the order and with the names of Go's heap profiles, so that pprof shows
 * the bytes still in use unless told otherwise (-sample_index=alloc_space, ...):
 *   alloc_objects/count, alloc_space/bytes  every block the stack allocated, freed or not
 *   inuse_objects/count, inuse_space/bytes  the blocks outstanding at the end (the leak)
 * One sample per suspect stack; the caller asks for freed stacks too, for the alloc_ values.
 *
 * A Location is one recorded return address: its Line entries are the calls inlined there,
 * innermost first, then the function they were inlined into (the suspect's frames of that
 * address, in their order). The suspect's frames are split back into recorded addresses from
 * the outermost caller inwards, with the symbolizer's cached inline chain length of each
 * (only the innermost address may have lost frames: the allocator's own entry points).
 * Functions are deduplicated by (name, file); a frame without a known function is named as in
 * the other exports (frame_name.c). Every module of the trace is a Mapping (the main program
 * first, as the shim records it); file_offset is 0, since a module's range starts at its first
 * PT_LOAD segment, which linkers place at file offset 0. The mappings say functions, files,
 * lines and inlined frames are resolved, so pprof never symbolizes again. Strings are
 * interned in one table, "" first. */
#define HASH_NONFATAL_OOM 1 /* a failed insertion leaves hh.tbl NULL instead of exiting */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>
#include <zlib.h>

#include "protobuf.h"
#include "report.h"

enum { /* field numbers of profile.proto */
    PROFILE_SAMPLE_TYPE = 1, PROFILE_SAMPLE = 2, PROFILE_MAPPING = 3, PROFILE_LOCATION = 4,
    PROFILE_FUNCTION = 5, PROFILE_STRING_TABLE = 6, PROFILE_DURATION_NANOS = 10,
    PROFILE_PERIOD_TYPE = 11, PROFILE_PERIOD = 12, PROFILE_COMMENT = 13,
    PROFILE_DEFAULT_SAMPLE_TYPE = 14,
    VALUE_TYPE_TYPE = 1, VALUE_TYPE_UNIT = 2,
    SAMPLE_LOCATION_ID = 1, SAMPLE_VALUE = 2,
    MAPPING_ID = 1, MAPPING_MEMORY_START = 2, MAPPING_MEMORY_LIMIT = 3, MAPPING_FILE_OFFSET = 4,
    MAPPING_FILENAME = 5, MAPPING_BUILD_ID = 6, MAPPING_HAS_FUNCTIONS = 7,
    MAPPING_HAS_FILENAMES = 8, MAPPING_HAS_LINE_NUMBERS = 9, MAPPING_HAS_INLINE_FRAMES = 10,
    LOCATION_ID = 1, LOCATION_MAPPING_ID = 2, LOCATION_ADDRESS = 3, LOCATION_LINE = 4,
    LINE_FUNCTION_ID = 1, LINE_LINE = 2,
    FUNCTION_ID = 1, FUNCTION_NAME = 2, FUNCTION_SYSTEM_NAME = 3, FUNCTION_FILENAME = 4,
};

static const char *const sample_types[][2] = {
    {"alloc_objects", "count"}, {"alloc_space", "bytes"},
    {"inuse_objects", "count"}, {"inuse_space", "bytes"},
};
#define SAMPLE_TYPES (sizeof sample_types / sizeof *sample_types)

struct string_entry {
    UT_hash_handle hh;
    int64_t index;
    char str[];
};

struct function_entry {
    UT_hash_handle hh;
    int64_t key[2]; /* name, file: string indexes */
    uint64_t id;
};

struct location_key { /* one recorded address with the frames kept of it */
    uint64_t address;
    int64_t module; /* -1: none */
    uint64_t lines;
};

struct location_entry {
    UT_hash_handle hh;
    struct location_key key;
    uint64_t id;
};

struct pprof_writer {
    struct replay *r;
    struct pb_buf profile;        /* the Profile message, strings last */
    struct pb_buf message, line;  /* scratch for one nested message and one Line */
    struct string_entry *strings; /* in insertion order, which is index order */
    int64_t string_count;
    struct function_entry *functions;
    struct location_entry *locations;
    uint64_t function_count, location_count;
};

/* The string's index in the table, or 0 ("") when out of memory (profile.failed is set). */
static int64_t string_index(struct pprof_writer *w, const char *str)
{
    size_t len = strlen(str);
    struct string_entry *e;
    HASH_FIND(hh, w->strings, str, len, e);
    if (e)
        return e->index;
    e = malloc(sizeof *e + len + 1);
    if (!e)
        goto fail;
    memcpy(e->str, str, len + 1);
    e->index = w->string_count;
    HASH_ADD_KEYPTR(hh, w->strings, e->str, len, e);
    if (!e->hh.tbl) {
        free(e);
        goto fail;
    }
    return w->string_count++;
fail:
    w->profile.failed = 1;
    return 0;
}

static void value_type(struct pprof_writer *w, uint32_t field, const char *type, const char *unit)
{
    pb_reset(&w->message);
    pb_int_field(&w->message, VALUE_TYPE_TYPE, string_index(w, type));
    pb_int_field(&w->message, VALUE_TYPE_UNIT, string_index(w, unit));
    pb_message(&w->profile, field, &w->message);
}

static void mappings(struct pprof_writer *w)
{
    size_t n = symbolizer_module_count(w->r->sym);
    for (size_t i = 0; i < n; i++) {
        struct sym_module_info m;
        if (symbolizer_module_info(w->r->sym, (int)i, &m) < 0)
            continue;
        char build_id[2 * 64 + 1] = "";
        for (size_t k = 0; k < m.build_id_len && k < 64; k++)
            snprintf(build_id + 2 * k, 3, "%02x", m.build_id[k]);
        struct pb_buf *b = &w->message;
        pb_reset(b);
        pb_uint_field(b, MAPPING_ID, i + 1);
        pb_uint_field(b, MAPPING_MEMORY_START, m.start);
        pb_uint_field(b, MAPPING_MEMORY_LIMIT, m.end);
        pb_uint_field(b, MAPPING_FILE_OFFSET, 0);
        pb_int_field(b, MAPPING_FILENAME, string_index(w, m.path));
        pb_int_field(b, MAPPING_BUILD_ID, string_index(w, build_id));
        pb_uint_field(b, MAPPING_HAS_FUNCTIONS, 1);
        pb_uint_field(b, MAPPING_HAS_FILENAMES, 1);
        pb_uint_field(b, MAPPING_HAS_LINE_NUMBERS, 1);
        pb_uint_field(b, MAPPING_HAS_INLINE_FRAMES, 1);
        pb_message(&w->profile, PROFILE_MAPPING, b);
    }
}

/* The id of the frame's Function, written to the profile the first time; 0 on out of
 * memory. */
static uint64_t function_id(struct pprof_writer *w, const struct suspect_frame *f)
{
    char buf[300];
    struct function_entry probe = {.key = {string_index(w, frame_name(f, buf, sizeof buf)),
                                           string_index(w, f->sym.file ? f->sym.file : "")}};
    struct function_entry *e;
    HASH_FIND(hh, w->functions, probe.key, sizeof probe.key, e);
    if (e)
        return e->id;
    e = malloc(sizeof *e);
    if (!e) {
        w->profile.failed = 1;
        return 0;
    }
    *e = probe;
    e->id = ++w->function_count;
    HASH_ADD(hh, w->functions, key, sizeof e->key, e);
    if (!e->hh.tbl) {
        free(e);
        w->profile.failed = 1;
        return 0;
    }
    struct pb_buf *b = &w->message;
    pb_reset(b);
    pb_uint_field(b, FUNCTION_ID, e->id);
    pb_int_field(b, FUNCTION_NAME, e->key[0]);
    pb_int_field(b, FUNCTION_SYSTEM_NAME, e->key[0]);
    pb_int_field(b, FUNCTION_FILENAME, e->key[1]);
    pb_message(&w->profile, PROFILE_FUNCTION, b);
    return e->id;
}

/* The id of the Location of `n` frames of one recorded address (innermost first) in module
 * `module` (-1: none), written to the profile the first time; 0 on out of memory. */
static uint64_t location_id(struct pprof_writer *w, const struct suspect_frame *frames, size_t n,
                            int module)
{
    struct location_key key = {frames[0].address, module, n};
    struct location_entry *e;
    HASH_FIND(hh, w->locations, &key, sizeof key, e);
    if (e)
        return e->id;
    /* Functions first: function_id writes to the profile and reuses the scratch message. */
    uint64_t function_ids[SUSPECT_INLINE_MAX];
    for (size_t k = 0; k < n; k++)
        function_ids[k] = function_id(w, &frames[k]);
    e = malloc(sizeof *e);
    if (!e) {
        w->profile.failed = 1;
        return 0;
    }
    e->key = key;
    e->id = ++w->location_count;
    HASH_ADD(hh, w->locations, key, sizeof e->key, e);
    if (!e->hh.tbl) {
        free(e);
        w->profile.failed = 1;
        return 0;
    }
    struct pb_buf *b = &w->message;
    pb_reset(b);
    pb_uint_field(b, LOCATION_ID, e->id);
    if (module >= 0)
        pb_uint_field(b, LOCATION_MAPPING_ID, (uint64_t)module + 1);
    pb_uint_field(b, LOCATION_ADDRESS, frames[0].address);
    for (size_t k = 0; k < n; k++) {
        pb_reset(&w->line);
        pb_uint_field(&w->line, LINE_FUNCTION_ID, function_ids[k]);
        if (frames[k].sym.line > 0)
            pb_int_field(&w->line, LINE_LINE, frames[k].sym.line);
        pb_message(b, LOCATION_LINE, &w->line);
    }
    pb_message(&w->profile, PROFILE_LOCATION, b);
    return e->id;
}

/* Writes the locations of a suspect's stack into ids, innermost first (ids has room for
 * frame_count + 1), and returns how many. */
static size_t sample_locations(struct pprof_writer *w, const struct suspect *sp, uint64_t *ids)
{
    const struct stack_info *st = replay_stack(w->r, sp->stack_id);
    size_t count = 0;
    uint32_t end = sp->frame_count; /* the frames not placed yet are [0, end) */
    for (uint32_t i = st ? st->depth : 0; i-- > 0 && end > 0;) {
        int module = st->modules[i];
        size_t chain = 1;
        if (module >= 0) {
            sym_frame frames[SUSPECT_INLINE_MAX];
            chain = symbolizer_lookup_inline(w->r->sym, module, st->frames[i], frames,
                                             SUSPECT_INLINE_MAX);
        }
        uint32_t begin = end;
        while (begin > 0 && end - begin < chain && sp->frames[begin - 1].address == st->frames[i])
            begin--;
        if (begin == end) { /* never expected: the frames do not match the recorded stack */
            begin = end - 1;
            module = -1;
        }
        ids[count++] = location_id(w, &sp->frames[begin], end - begin, module);
        end = begin;
    }
    if (count == 0) {
        static const struct suspect_frame unknown = {.sym = {.function = UNKNOWN_STACK_NAME}};
        ids[count++] = location_id(w, &unknown, 1, -1);
    }
    for (size_t a = 0, b = count - 1; a < b; a++, b--) {
        uint64_t t = ids[a];
        ids[a] = ids[b];
        ids[b] = t;
    }
    return count;
}

static void samples(struct pprof_writer *w, const struct suspect_list *suspects)
{
    for (size_t i = 0; i < suspects->count && !w->profile.failed; i++) {
        const struct suspect *sp = &suspects->items[i];
        uint64_t *ids = malloc(((size_t)sp->frame_count + 1) * sizeof *ids);
        if (!ids) {
            w->profile.failed = 1;
            return;
        }
        size_t n = sample_locations(w, sp, ids);
        const uint64_t values[SAMPLE_TYPES] = {sp->allocated_blocks, sp->allocated_bytes,
                                               sp->leaked_blocks, sp->leaked_bytes};
        pb_reset(&w->message);
        pb_packed_uints(&w->message, SAMPLE_LOCATION_ID, ids, n);
        pb_packed_uints(&w->message, SAMPLE_VALUE, values, SAMPLE_TYPES);
        pb_message(&w->profile, PROFILE_SAMPLE, &w->message);
        free(ids);
    }
}

static void encode(struct pprof_writer *w, const struct suspect_list *suspects)
{
    string_index(w, ""); /* index 0, as the format requires */
    for (size_t i = 0; i < SAMPLE_TYPES; i++)
        value_type(w, PROFILE_SAMPLE_TYPE, sample_types[i][0], sample_types[i][1]);
    mappings(w);
    samples(w, suspects);
    const struct replay *r = w->r;
    pb_int_field(&w->profile, PROFILE_DURATION_NANOS, (int64_t)r->summary.last_time_ns);
    value_type(w, PROFILE_PERIOD_TYPE, "space", "bytes");
    pb_int_field(&w->profile, PROFILE_PERIOD, 1); /* every allocation, not a sample */
    char comment[TRACE_MAX_PATH + 64];
    snprintf(comment, sizeof comment, "leakshim: %s (pid %" PRIu64 ")%s",
             r->process.seen ? r->process.exe : "?", r->process.pid,
             r->complete ? "" : ", trace incomplete");
    pb_int_field(&w->profile, PROFILE_COMMENT, string_index(w, comment));
    pb_int_field(&w->profile, PROFILE_DEFAULT_SAMPLE_TYPE, string_index(w, "inuse_space"));
    struct string_entry *e, *next;
    HASH_ITER(hh, w->strings, e, next) {
        pb_string_field(&w->profile, PROFILE_STRING_TABLE, e->str);
    }
}

/* Writes data gzip-compressed to out; 0, or -1 with errno set. */
static int write_gzip(FILE *out, const uint8_t *data, size_t len)
{
    z_stream z = {0};
    if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16 /* gzip header */, 8,
                     Z_DEFAULT_STRATEGY) != Z_OK) {
        errno = ENOMEM;
        return -1;
    }
    z.next_in = (Bytef *)data;
    uint8_t chunk[64 * 1024] = {0};
    int rc = 0, status;
    do {
        size_t in = len - (size_t)((const uint8_t *)z.next_in - data);
        z.avail_in = in > UINT32_MAX ? UINT32_MAX : (uInt)in;
        z.next_out = chunk;
        z.avail_out = sizeof chunk;
        status = deflate(&z, z.avail_in == in ? Z_FINISH : Z_NO_FLUSH);
        size_t produced = sizeof chunk - z.avail_out;
        if (status == Z_STREAM_ERROR || fwrite(chunk, 1, produced, out) != produced) {
            rc = -1;
            break;
        }
    } while (status != Z_STREAM_END);
    deflateEnd(&z);
    return rc;
}

static void writer_free(struct pprof_writer *w)
{
    struct string_entry *s, *s_next;
    HASH_ITER(hh, w->strings, s, s_next) {
        HASH_DEL(w->strings, s);
        free(s);
    }
    struct function_entry *f, *f_next;
    HASH_ITER(hh, w->functions, f, f_next) {
        HASH_DEL(w->functions, f);
        free(f);
    }
    struct location_entry *l, *l_next;
    HASH_ITER(hh, w->locations, l, l_next) {
        HASH_DEL(w->locations, l);
        free(l);
    }
    pb_free(&w->profile);
    pb_free(&w->message);
    pb_free(&w->line);
}

int report_pprof(FILE *out, struct replay *r, const struct suspect_list *suspects, char *error,
                 size_t error_len)
{
    struct pprof_writer w = {.r = r};
    encode(&w, suspects);
    int rc = 0;
    if (w.profile.failed) {
        snprintf(error, error_len, "out of memory");
        rc = -1;
    } else if (write_gzip(out, w.profile.data, w.profile.len) < 0) {
        snprintf(error, error_len, "%s", strerror(errno));
        rc = -1;
    }
    writer_free(&w);
    return rc;
}
