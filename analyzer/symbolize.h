/* Offline symbolization of the traced process's return addresses with libdw (elfutils).
 * The report code registers the trace's module map once (path, load bias, runtime range,
 * GNU build-id), then asks for one return address at a time (one frame, or the frames of its
 * inlined calls). Each module file is opened at its first lookup, or earlier in a background
 * thread when the caller asks for it (symbolizer_prefetch), and only ever read as ELF. A module whose file is missing, not ELF, or whose build-id differs from the
 * recorded one yields frames with only `module` set, and one warning on stderr. Separate
 * debug files are found by build-id under /usr/lib/debug; the network (debuginfod) is never
 * used. Results are cached per address and all returned strings stay valid until
 * symbolizer_free. Not thread-safe: one symbolizer per thread (its prefetching thread is its
 * own business). */
#ifndef LEAKSHIM_SYMBOLIZE_H
#define LEAKSHIM_SYMBOLIZE_H

#include <stddef.h>
#include <stdint.h>

typedef struct symbolizer symbolizer;

typedef struct sym_frame {
    const char *function; /* demangled; NULL if unknown. Owned by the symbolizer, valid until symbolizer_free */
    const char *file;     /* absolute or as recorded in DWARF (comp dir joined when relative); NULL if unknown */
    int line;             /* 0 if unknown */
    const char *module;   /* module path as given to symbolizer_add_module; NULL if no module covers the address */
    uint64_t module_offset; /* the return address minus the module's bias (an ELF address) */
} sym_frame;

symbolizer *symbolizer_new(void); /* NULL on out of memory */
void symbolizer_free(symbolizer *s);

/* Registers a module; returns its index (>= 0) or -1 on out of memory. Never opens the file
 * here: open lazily at the first lookup. The path is only ever read as an ELF file, never
 * executed. */
int symbolizer_add_module(symbolizer *s, const char *path, uint64_t bias, uint64_t start, uint64_t end,
                          const uint8_t *build_id, size_t build_id_len);

/* Starts opening module `module_index` in the background (module_prefetch.h), so that its
 * first lookup finds it open; what lookups return and warn is the same either way. Does
 * nothing once a lookup was made (modules are then opened at their first lookup), nor for a
 * module already open or queued. */
void symbolizer_prefetch(symbolizer *s, int module_index);

/* Symbolizes the return address `ret_addr` that lies in module `module_index`: looks up
 * ret_addr - 1 (the call instruction), so that `line` is the line of the call. When that
 * instruction belongs to an inlined call, `function` is the innermost inlined function.
 * Fills *out, always succeeds; unknown parts are NULL / 0. */
void symbolizer_lookup(symbolizer *s, int module_index, uint64_t ret_addr, sym_frame *out);

/* Like symbolizer_lookup, but expands inlined calls: out[0] is the innermost function at
 * ret_addr - 1 (as symbolizer_lookup gives it), out[1] the function it was inlined into, with
 * `line`/`file` the call site of out[0] inside it (DW_AT_call_file/DW_AT_call_line of the
 * inlined_subroutine DIE), and so on up to the real (out-of-line) function, which comes last.
 * Writes at most `max` frames (max >= 1) and returns how many; 1 when nothing is inlined or
 * nothing is known. All frames share the same module and module_offset. */
size_t symbolizer_lookup_inline(symbolizer *s, int module_index, uint64_t ret_addr, sym_frame *out,
                                size_t max);

/* A registered module as the trace recorded it, for exports that describe the memory map
 * (pprof's mappings). The pointers stay valid until symbolizer_free. */
struct sym_module_info {
    const char *path;
    uint64_t bias, start, end; /* runtime address = bias + ELF address; [start,end) */
    const uint8_t *build_id;   /* NULL when build_id_len is 0 */
    size_t build_id_len;
};

/* Number of modules registered so far; their indexes are 0 .. count-1. */
size_t symbolizer_module_count(const symbolizer *s);

/* Fills *out for module `index`; returns 0, or -1 when there is no such module. */
int symbolizer_module_info(const symbolizer *s, int index, struct sym_module_info *out);

/* 1 when modules a and b (indexes, or -1 for none) are the same file loaded the same way: the
 * same path, build-id and addresses (a library loaded again where it was before). */
int symbolizer_same_module(const symbolizer *s, int a, int b);

/* Finds the most recently added module whose [start,end) contains addr; -1 if none. */
int symbolizer_find_module(const symbolizer *s, uint64_t addr);

/* The modules looked up so far that have no debug information (their frames get function
 * names from the symbol table only): writes up to `max` paths and returns how many there
 * are. The report lists them in one note instead of a warning each. */
size_t symbolizer_modules_without_debuginfo(const symbolizer *s, const char **paths, size_t max);

/* Number of warnings emitted so far (missing file, build-id mismatch, not ELF), for tests. */
unsigned symbolizer_warnings(const symbolizer *s);

#endif
