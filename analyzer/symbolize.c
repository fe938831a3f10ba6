/* Offline symbolization with libdwfl; see symbolize.h. Called by the report code. Opening a
 * module (its file, DWARF and CU index) is module_file.c's; it happens in the prefetcher's
 * thread (module_prefetch.h) for the modules replay queued, at the first lookup otherwise.
 * Invariants:
 *  - a module is UNOPENED (or QUEUED, then OPENED by the prefetcher) until its first lookup,
 *    then READY or UNUSABLE for good; its warning, if any, is shown when it becomes UNUSABLE,
 *    so each module warns at most once, at its first lookup, whichever thread opened it;
 *  - libdw is used by the prefetcher's thread only until the first lookup, which joins it;
 *  - every string in a returned sym_frame is a module path (owned by its module) or an
 *    interned string; both live until symbolizer_free;
 *  - each READY module caches, by return address, the finished chain of frames (the inlined
 *    calls, innermost first, then the out-of-line function), whatever `max` was asked for. */
#define HASH_NONFATAL_OOM 1 /* a failed insertion leaves hh.tbl NULL instead of exiting */
#include "symbolize.h"

#include <dwarf.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

#include "module_file.h"
#include "module_prefetch.h"

char *__cxa_demangle(const char *mangled, char *buf, size_t *len, int *status);

struct interned {
    UT_hash_handle hh;
    char str[];
};

struct cached_chain {
    UT_hash_handle hh;
    uint64_t ret_addr;
    size_t count;       /* >= 1 */
    sym_frame frames[]; /* innermost first, as symbolizer_lookup_inline returns them */
};

/* UNOPENED, or QUEUED in the prefetcher; then OPENED (the file is, its warning not shown
 * yet); READY or UNUSABLE from the first lookup on. */
enum module_state { MODULE_UNOPENED, MODULE_QUEUED, MODULE_OPENED, MODULE_READY, MODULE_UNUSABLE };

struct module {
    char *path;
    uint64_t bias, start, end;
    uint8_t *build_id; /* NULL when build_id_len is 0 */
    size_t build_id_len;
    enum module_state state;
    struct module_file file; /* from OPENED on */
    struct cached_chain *cache;
};

struct symbolizer {
    struct module *modules;
    size_t count, capacity;
    struct interned *strings;
    unsigned warnings;
    struct module_prefetch *prefetch; /* NULL until a module is queued */
    int prefetch_over;                /* the prefetcher was joined: open at lookup */
};

static void warn(symbolizer *s, const struct module *m)
{
    fprintf(stderr, "leakshim: warning: %s: %s\n", m->path, m->file.warning);
    s->warnings++;
}

/* ---- strings ---- */

static const char *intern(symbolizer *s, const char *str)
{
    if (!str)
        return NULL;
    size_t len = strlen(str);
    struct interned *e;
    HASH_FIND(hh, s->strings, str, len, e);
    if (e)
        return e->str;
    e = malloc(sizeof *e + len + 1);
    if (!e)
        return NULL;
    memcpy(e->str, str, len + 1);
    HASH_ADD_KEYPTR(hh, s->strings, e->str, len, e);
    if (!e->hh.tbl) {
        free(e);
        return NULL;
    }
    return e->str;
}

/* Interns the demangled form of a C++ symbol name, any other name as it is. */
static const char *intern_function(symbolizer *s, const char *name)
{
    int status;
    char *demangled = name && strncmp(name, "_Z", 2) == 0
                          ? __cxa_demangle(name, NULL, NULL, &status) : NULL;
    const char *result = intern(s, demangled ? demangled : name);
    free(demangled);
    return result;
}

/* Interns file, prefixed with the compilation directory when relative. libdw has already
 * joined that directory for files of directory entry 0, even when it is itself relative
 * (-fdebug-prefix-map, as in Debian's "./misc/getpass.c"), but not for other relative
 * directory entries ("../sysdeps/x86/foo.c"); only the latter get joined here. */
static const char *intern_path(symbolizer *s, const char *comp_dir, const char *file)
{
    size_t dir_len = comp_dir ? strlen(comp_dir) : 0;
    int joined_by_libdw = comp_dir && strncmp(file, comp_dir, dir_len) == 0 && file[dir_len] == '/';
    if (file[0] == '/' || !comp_dir || joined_by_libdw)
        return intern(s, file);
    char *joined;
    if (asprintf(&joined, "%s/%s", comp_dir, file) < 0)
        return NULL;
    const char *result = intern(s, joined);
    free(joined);
    return result;
}

/* ---- opening a module ---- */

static void take_prefetched(void *ctx, int index, struct module_file *file)
{
    struct module *m = &((symbolizer *)ctx)->modules[index];
    m->file = *file;
    m->state = MODULE_OPENED;
}

/* Hands the prefetched modules over; from then on modules are opened at their first lookup. */
static void end_prefetch(symbolizer *s)
{
    module_prefetch_finish(s->prefetch, take_prefetched, s);
    s->prefetch = NULL;
    s->prefetch_over = 1;
}

/* Brings m to READY or UNUSABLE, with its warning, at its first lookup. */
static void module_settle(symbolizer *s, struct module *m)
{
    if (m->state == MODULE_QUEUED)
        end_prefetch(s);
    if (m->state == MODULE_UNOPENED)
        module_file_open(m->path, m->bias, m->build_id, m->build_id_len, &m->file);
    m->state = m->file.usable ? MODULE_READY : MODULE_UNUSABLE;
    if (m->file.warning[0])
        warn(s, m);
}

void symbolizer_prefetch(symbolizer *s, int module_index)
{
    if (s->prefetch_over || module_index < 0 || (size_t)module_index >= s->count)
        return;
    struct module *m = &s->modules[module_index];
    if (m->state == MODULE_UNOPENED &&
        module_prefetch_add(&s->prefetch, module_index, m->path, m->bias, m->build_id,
                            m->build_id_len) == 0)
        m->state = MODULE_QUEUED;
}

/* ---- looking up one address ---- */

/* The linkage name only when it is a C++ mangled one (it demangles to the qualified name with
 * parameters); otherwise the source name, since C linkage names are assembler labels such as
 * glibc's "__GI_getenv" for getenv. */
static const char *die_function_name(Dwarf_Die *die)
{
    Dwarf_Attribute attr;
    const char *linkage = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_linkage_name, &attr));
    if (!linkage)
        linkage = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &attr));
    const char *name = dwarf_diename(die);
    return linkage && (strncmp(linkage, "_Z", 2) == 0 || !name) ? linkage : name;
}

static int is_function(Dwarf_Die *die)
{
    int tag = dwarf_tag(die);
    return tag == DW_TAG_subprogram || tag == DW_TAG_inlined_subroutine;
}

/* Moves the function scopes of scopes[from..n) to the front, stopping after the first
 * subprogram or after `limit` of them; returns how many were kept. */
static size_t keep_functions(Dwarf_Die *scopes, int from, int n, size_t limit)
{
    size_t kept = 0;
    for (int i = from; i < n && kept < limit; i++) {
        if (!is_function(&scopes[i]))
            continue;
        scopes[kept++] = scopes[i];
        if (dwarf_tag(&scopes[i]) == DW_TAG_subprogram)
            break;
    }
    return kept;
}

/* The functions around the DWARF address addr, innermost first: the inlined subroutine that
 * addr is in (if any), the one it was inlined into, and so on up to the out-of-line
 * subprogram. Sets *chain to a malloc'd array (or NULL) and returns its length, 0 when no
 * function is known. dwarf_getscopes alone does not give this chain: below the innermost
 * inlined subroutine it lists the scopes of that subroutine's abstract definition, not the
 * functions it was inlined into; dwarf_getscopes_die gives the DIE's real (physical) parents. */
static size_t function_chain(Dwarf_Die *cu, Dwarf_Addr addr, Dwarf_Die **chain)
{
    Dwarf_Die *scopes = NULL;
    int n = dwarf_getscopes(cu, addr, &scopes);
    int innermost = 0;
    while (innermost < n && !is_function(&scopes[innermost]))
        innermost++;
    size_t limit = 1; /* the innermost function alone unless the physical chain is known */
    if (innermost < n && dwarf_tag(&scopes[innermost]) == DW_TAG_inlined_subroutine) {
        Dwarf_Die *physical = NULL;
        int physical_n = dwarf_getscopes_die(&scopes[innermost], &physical);
        if (physical_n > 0) {
            free(scopes);
            scopes = physical;
            n = physical_n;
            innermost = 0;
            limit = SIZE_MAX;
        } else {
            free(physical);
        }
    }
    size_t count = keep_functions(scopes, innermost, n, limit);
    if (count == 0) {
        free(scopes);
        scopes = NULL;
    }
    *chain = scopes;
    return count;
}

static const char *comp_dir(Dwarf_Die *cu)
{
    Dwarf_Attribute attr;
    return dwarf_formstring(dwarf_attr(cu, DW_AT_comp_dir, &attr));
}

static void describe_line(symbolizer *s, Dwarf_Die *cu, Dwarf_Addr addr, sym_frame *out)
{
    Dwarf_Line *line = dwarf_getsrc_die(cu, addr);
    const char *file = line ? dwarf_linesrc(line, NULL, NULL) : NULL;
    int lineno;
    if (!file || dwarf_lineno(line, &lineno) != 0)
        return;
    out->file = intern_path(s, comp_dir(cu), file);
    out->line = lineno;
}

/* Sets out's file and line to the call site of the inlined subroutine `inlined` (in the CU
 * cu), as far as they are known. */
static void describe_call_site(symbolizer *s, Dwarf_Die *cu, Dwarf_Die *inlined, sym_frame *out)
{
    Dwarf_Attribute attr;
    Dwarf_Word line, index;
    if (dwarf_formudata(dwarf_attr_integrate(inlined, DW_AT_call_line, &attr), &line) == 0 &&
        line <= INT_MAX)
        out->line = (int)line;
    Dwarf_Files *files;
    size_t file_count;
    if (dwarf_formudata(dwarf_attr_integrate(inlined, DW_AT_call_file, &attr), &index) == 0 &&
        dwarf_getsrcfiles(cu, &files, &file_count) == 0 && index < file_count) {
        const char *file = dwarf_filesrc(files, index, NULL, NULL);
        if (file)
            out->file = intern_path(s, comp_dir(cu), file);
    }
}

static const char *symtab_name(const struct module *m, Dwarf_Addr pc)
{
    GElf_Off offset;
    GElf_Sym sym;
    return dwfl_module_addrinfo(m->file.dwmod, pc, &offset, &sym, NULL, NULL, NULL);
}

/* Fills frames[0..count) (module and module_offset already set) for the runtime address pc,
 * given the function chain around it (chain_len may be 0; count <= max(chain_len, 1)). Names
 * come from DWARF; the innermost and the out-of-line function fall back to the ELF symbol
 * tables, where the out-of-line function is the only one found. */
static void describe_frames(symbolizer *s, const struct module *m, Dwarf_Die *cu, Dwarf_Addr pc,
                            Dwarf_Die *chain, size_t chain_len, sym_frame *frames, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        const char *name = i < chain_len ? die_function_name(&chain[i]) : NULL;
        if (!name && (i == 0 || i + 1 == chain_len))
            name = symtab_name(m, pc);
        frames[i].function = intern_function(s, name);
        if (i == 0 && cu)
            describe_line(s, cu, pc - m->file.dwarf_bias, &frames[0]);
        else if (i > 0)
            describe_call_site(s, cu, &chain[i - 1], &frames[i]);
    }
}

/* Symbolizes the return address ret_addr of the READY module m into out[0..max), caching the
 * whole chain; returns the number of frames written. Out of memory for the cache entry only
 * costs a repeated lookup. */
static size_t describe_ret_addr(symbolizer *s, struct module *m, uint64_t ret_addr,
                                const sym_frame *base, sym_frame *out, size_t max)
{
    Dwarf_Addr pc = ret_addr - 1;
    Dwarf_Die *cu = module_file_find_cu(&m->file, pc - m->file.dwarf_bias);
    Dwarf_Die *chain = NULL;
    size_t chain_len = cu ? function_chain(cu, pc - m->file.dwarf_bias, &chain) : 0;
    size_t count = chain_len ? chain_len : 1;
    struct cached_chain *c = malloc(sizeof *c + count * sizeof c->frames[0]);
    sym_frame *frames = c ? c->frames : out;
    size_t filled = c || count <= max ? count : max;
    for (size_t i = 0; i < filled; i++)
        frames[i] = *base;
    describe_frames(s, m, cu, pc, chain, chain_len, frames, filled);
    free(chain);
    size_t written = filled <= max ? filled : max;
    if (!c)
        return written;
    memcpy(out, c->frames, written * sizeof *out);
    c->ret_addr = ret_addr;
    c->count = count;
    HASH_ADD(hh, m->cache, ret_addr, sizeof c->ret_addr, c);
    if (!c->hh.tbl)
        free(c);
    return written;
}

size_t symbolizer_lookup_inline(symbolizer *s, int module_index, uint64_t ret_addr, sym_frame *out,
                                size_t max)
{
    if (max == 0)
        return 0;
    out[0] = (sym_frame){0};
    if (module_index < 0 || (size_t)module_index >= s->count)
        return 1;
    struct module *m = &s->modules[module_index];
    out[0].module = m->path;
    out[0].module_offset = ret_addr - m->bias;
    if (m->state != MODULE_READY && m->state != MODULE_UNUSABLE)
        module_settle(s, m);
    if (m->state != MODULE_READY)
        return 1;
    struct cached_chain *c;
    HASH_FIND(hh, m->cache, &ret_addr, sizeof ret_addr, c);
    if (c) {
        size_t written = c->count <= max ? c->count : max;
        memcpy(out, c->frames, written * sizeof *out);
        return written;
    }
    sym_frame base = out[0];
    return describe_ret_addr(s, m, ret_addr, &base, out, max);
}

void symbolizer_lookup(symbolizer *s, int module_index, uint64_t ret_addr, sym_frame *out)
{
    symbolizer_lookup_inline(s, module_index, ret_addr, out, 1);
}

/* ---- module map ---- */

symbolizer *symbolizer_new(void)
{
    return calloc(1, sizeof(symbolizer));
}

static int grow_modules(symbolizer *s)
{
    size_t capacity = s->capacity ? 2 * s->capacity : 16;
    if (capacity > INT_MAX)
        return -1;
    struct module *modules = realloc(s->modules, capacity * sizeof *modules);
    if (!modules)
        return -1;
    s->modules = modules;
    s->capacity = capacity;
    return 0;
}

int symbolizer_add_module(symbolizer *s, const char *path, uint64_t bias, uint64_t start,
                          uint64_t end, const uint8_t *build_id, size_t build_id_len)
{
    if (s->count == s->capacity && grow_modules(s) < 0)
        return -1;
    struct module m = {
        .path = strdup(path),
        .bias = bias,
        .start = start,
        .end = end,
        .build_id = build_id_len ? malloc(build_id_len) : NULL,
        .build_id_len = build_id_len,
        .state = MODULE_UNOPENED,
    };
    if (!m.path || (build_id_len && !m.build_id)) {
        free(m.path);
        free(m.build_id);
        return -1;
    }
    if (build_id_len)
        memcpy(m.build_id, build_id, build_id_len);
    s->modules[s->count] = m;
    return (int)s->count++;
}

size_t symbolizer_module_count(const symbolizer *s)
{
    return s->count;
}

int symbolizer_module_info(const symbolizer *s, int index, struct sym_module_info *out)
{
    if (index < 0 || (size_t)index >= s->count)
        return -1;
    const struct module *m = &s->modules[index];
    *out = (struct sym_module_info){m->path, m->bias, m->start, m->end, m->build_id,
                                    m->build_id_len};
    return 0;
}

int symbolizer_same_module(const symbolizer *s, int a, int b)
{
    if (a == b)
        return 1;
    if (a < 0 || b < 0 || (size_t)a >= s->count || (size_t)b >= s->count)
        return 0;
    const struct module *x = &s->modules[a], *y = &s->modules[b];
    return x->bias == y->bias && x->start == y->start && x->end == y->end &&
           x->build_id_len == y->build_id_len && strcmp(x->path, y->path) == 0 &&
           (!x->build_id_len || memcmp(x->build_id, y->build_id, x->build_id_len) == 0);
}

int symbolizer_find_module(const symbolizer *s, uint64_t addr)
{
    for (size_t i = s->count; i-- > 0;) {
        if (addr >= s->modules[i].start && addr < s->modules[i].end)
            return (int)i;
    }
    return -1;
}

size_t symbolizer_modules_without_debuginfo(const symbolizer *s, const char **paths, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < s->count; i++)
        if (s->modules[i].state == MODULE_READY && s->modules[i].file.without_debuginfo) {
            if (n < max)
                paths[n] = s->modules[i].path;
            n++;
        }
    return n;
}

unsigned symbolizer_warnings(const symbolizer *s)
{
    return s->warnings;
}

static void module_free(struct module *m)
{
    struct cached_chain *c, *next;
    HASH_ITER(hh, m->cache, c, next) {
        HASH_DEL(m->cache, c);
        free(c);
    }
    module_file_close(&m->file);
    free(m->path);
    free(m->build_id);
}

void symbolizer_free(symbolizer *s)
{
    if (!s)
        return;
    end_prefetch(s);
    for (size_t i = 0; i < s->count; i++)
        module_free(&s->modules[i]);
    free(s->modules);
    struct interned *e, *next;
    HASH_ITER(hh, s->strings, e, next) {
        HASH_DEL(s->strings, e);
        free(e);
    }
    free(s);
}
