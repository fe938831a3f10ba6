/* Unit tests for analyzer/symbolize.c. The test binary symbolizes its own call sites (plain,
 * inlined, in a chain of two inlined calls, with a C++ symbol name) and a libc function,
 * registering each module the way the shim records it (dl_iterate_phdr: path, bias, PT_LOAD
 * range, build-id note). Expected lines come from __LINE__ on the very line of the call, so
 * the tests hold at -O0 and at -O2, with gcc and clang. The failure modes (missing file, not
 * a regular file, not ELF, build-id mismatch) must warn exactly once per module; a module
 * without debug info is listed, not warned about; debuginfod must never be contacted. Two tests run objcopy or gcc in a scratch
 * directory and skip without them. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dlfcn.h>
#include <elf.h>
#include <ftw.h>
#include <limits.h>
#include <link.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "symbolize.h"

#define UNSYMBOLIZED "its frames stay unsymbolized"

/* ---- call sites with known lines ----
 * Reading `captured` after the call keeps it from becoming a tail call, and the distinct
 * __LINE__ constants keep -fipa-icf from merging the bodies. */

static void *volatile captured; /* the return address seen by the last capture() */

__attribute__((noinline)) static void capture(void)
{
    captured = __builtin_return_address(0);
}

__attribute__((noinline)) static void *plain_call_site(int *line)
{
    *line = __LINE__; capture();
    return captured;
}

static inline __attribute__((always_inline)) void *inlined_call_site(int *line)
{
    *line = __LINE__; capture();
    return captured;
}

__attribute__((noinline)) static void *calls_inlined_call_site(int *line)
{
    return inlined_call_site(line);
}

/* A chain of two always_inline functions in a noinline caller. lines[0] is the line of the
 * call in the innermost function, lines[1] the call site of chain_inner inside chain_middle,
 * lines[2] the call site of chain_middle inside chain_outer. */
static inline __attribute__((always_inline)) void *chain_inner(int *lines)
{
    lines[0] = __LINE__; capture();
    return captured;
}

static inline __attribute__((always_inline)) void *chain_middle(int *lines)
{
    lines[1] = __LINE__; void *ret = chain_inner(lines);
    return ret;
}

__attribute__((noinline)) static void *chain_outer(int *lines)
{
    lines[2] = __LINE__; void *ret = chain_middle(lines);
    return ret;
}

void *mangled_call_site(int *line) __asm__("_ZN8leakshim4test9call_siteEPi");
__attribute__((noinline)) void *mangled_call_site(int *line)
{
    *line = __LINE__; capture();
    return captured;
}

/* ---- the module containing an address, as the shim records it ---- */

struct module_desc {
    char path[PATH_MAX];
    uint64_t bias, start, end;
    uint8_t build_id[64];
    size_t build_id_len;
};

struct module_search {
    uintptr_t addr;
    struct module_desc *desc;
};

static size_t read_build_id(const struct dl_phdr_info *info, const ElfW(Phdr) *ph, uint8_t *out)
{
    size_t align = ph->p_align == 8 ? 8 : 4;
    const char *p = (const char *)(info->dlpi_addr + ph->p_vaddr), *end = p + ph->p_memsz;
    while (p + sizeof(ElfW(Nhdr)) <= end) {
        const ElfW(Nhdr) *note = (const void *)p;
        const char *name = p + sizeof *note;
        const char *desc = name + ((note->n_namesz + align - 1) & ~(align - 1));
        if (note->n_type == NT_GNU_BUILD_ID && note->n_namesz == 4 && memcmp(name, "GNU", 4) == 0 &&
            note->n_descsz <= sizeof ((struct module_desc *)0)->build_id) {
            memcpy(out, desc, note->n_descsz);
            return note->n_descsz;
        }
        p = desc + ((note->n_descsz + align - 1) & ~(align - 1));
    }
    return 0;
}

static void describe_object(const struct dl_phdr_info *info, uint64_t start, uint64_t end,
                            struct module_desc *d)
{
    d->bias = info->dlpi_addr;
    d->start = start;
    d->end = end;
    d->build_id_len = 0;
    for (int i = 0; i < info->dlpi_phnum && !d->build_id_len; i++) {
        if (info->dlpi_phdr[i].p_type == PT_NOTE)
            d->build_id_len = read_build_id(info, &info->dlpi_phdr[i], d->build_id);
    }
    if (info->dlpi_name[0]) {
        snprintf(d->path, sizeof d->path, "%s", info->dlpi_name);
    } else {
        ssize_t n = readlink("/proc/self/exe", d->path, sizeof d->path - 1);
        d->path[n > 0 ? n : 0] = '\0';
    }
}

static int match_object(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    struct module_search *q = data;
    uint64_t start = UINT64_MAX, end = 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD)
            continue;
        uint64_t lo = info->dlpi_addr + ph->p_vaddr, hi = lo + ph->p_memsz;
        start = lo < start ? lo : start;
        end = hi > end ? hi : end;
    }
    if (q->addr < start || q->addr >= end)
        return 0;
    describe_object(info, start, end, q->desc);
    return 1;
}

static void describe_module_of(const void *addr, struct module_desc *d)
{
    struct module_search q = {(uintptr_t)addr, d};
    assert_int_equal(dl_iterate_phdr(match_object, &q), 1);
    assert_true(d->path[0] == '/');
}

static int add_described(symbolizer *s, const struct module_desc *d)
{
    int index = symbolizer_add_module(s, d->path, d->bias, d->start, d->end, d->build_id,
                                      d->build_id_len);
    assert_true(index >= 0);
    return index;
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* ---- scratch directories ---- */

static void write_file(const char *dir, const char *name, const char *text)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)type;
    (void)ftw;
    return remove(path);
}

static void remove_tree(const char *dir)
{
    nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- stderr capture, to check warnings word for word ---- */

struct stderr_capture {
    FILE *file;
    int saved_fd;
};

static void stderr_capture_begin(struct stderr_capture *c)
{
    fflush(stderr);
    c->file = tmpfile();
    assert_non_null(c->file);
    c->saved_fd = dup(STDERR_FILENO);
    assert_true(c->saved_fd >= 0);
    assert_true(dup2(fileno(c->file), STDERR_FILENO) >= 0);
}

/* Restores stderr; returns what was written meanwhile (caller frees). */
static char *stderr_capture_end(struct stderr_capture *c)
{
    fflush(stderr);
    dup2(c->saved_fd, STDERR_FILENO);
    close(c->saved_fd);
    long end = ftell(c->file);
    size_t size = end > 0 ? (size_t)end : 0;
    char *text = calloc(1, size + 1);
    assert_non_null(text);
    rewind(c->file);
    text[fread(text, 1, size, c->file)] = '\0';
    fclose(c->file);
    return text;
}

static void assert_unsymbolized(const sym_frame *f, const char *module)
{
    assert_null(f->function);
    assert_null(f->file);
    assert_int_equal(f->line, 0);
    assert_string_equal(f->module, module);
}

/* ---- tests ---- */

static void assert_own_call_site(const sym_frame *f, const char *function, int line)
{
    assert_string_equal(f->function, function);
    assert_non_null(f->file);
    assert_true(f->file[0] == '/');
    assert_string_equal(base_name(f->file), base_name(__FILE__));
    assert_int_equal(f->line, line);
}

static void test_plain_call_site(void **state)
{
    (void)state;
    int line;
    void *ret = plain_call_site(&line);
    struct module_desc self;
    describe_module_of(ret, &self);
    symbolizer *s = symbolizer_new();
    int index = add_described(s, &self);
    assert_int_equal(symbolizer_find_module(s, (uintptr_t)ret), index);
    sym_frame f;
    symbolizer_lookup(s, index, (uintptr_t)ret, &f);
    assert_own_call_site(&f, "plain_call_site", line);
    assert_string_equal(f.module, self.path);
    assert_int_equal(symbolizer_warnings(s), 0);
    assert_int_equal(symbolizer_modules_without_debuginfo(s, NULL, 0), 0);
    symbolizer_free(s);
}

static void test_inlined_call_site_names_innermost_function(void **state)
{
    (void)state;
    int line;
    void *ret = calls_inlined_call_site(&line);
    struct module_desc self;
    describe_module_of(ret, &self);
    symbolizer *s = symbolizer_new();
    sym_frame f;
    symbolizer_lookup(s, add_described(s, &self), (uintptr_t)ret, &f);
    assert_own_call_site(&f, "inlined_call_site", line);
    symbolizer_free(s);
}

static void test_cxx_name_is_demangled(void **state)
{
    (void)state;
    int line;
    void *ret = mangled_call_site(&line);
    struct module_desc self;
    describe_module_of(ret, &self);
    symbolizer *s = symbolizer_new();
    sym_frame f;
    symbolizer_lookup(s, add_described(s, &self), (uintptr_t)ret, &f);
    assert_own_call_site(&f, "leakshim::test::call_site(int*)", line);
    symbolizer_free(s);
}

static void test_repeated_lookups_share_strings(void **state)
{
    (void)state;
    int line;
    void *plain = plain_call_site(&line);
    void *mangled = mangled_call_site(&line);
    struct module_desc self;
    describe_module_of(plain, &self);
    symbolizer *s = symbolizer_new();
    int index = add_described(s, &self);
    sym_frame first, other, again;
    symbolizer_lookup(s, index, (uintptr_t)plain, &first);
    symbolizer_lookup(s, index, (uintptr_t)mangled, &other);
    symbolizer_lookup(s, index, (uintptr_t)plain, &again);
    assert_ptr_equal(again.function, first.function);
    assert_ptr_equal(again.file, first.file);
    assert_ptr_equal(other.file, first.file); /* one copy of each distinct string */
    assert_int_equal(again.line, first.line);
    assert_ptr_equal(again.module, first.module);
    symbolizer_free(s);
}

static void assert_same_frame(const sym_frame *actual, const sym_frame *expected)
{
    assert_ptr_equal(actual->function, expected->function); /* interned: equal strings are one */
    assert_ptr_equal(actual->file, expected->file);
    assert_int_equal(actual->line, expected->line);
    assert_ptr_equal(actual->module, expected->module);
    assert_int_equal(actual->module_offset, expected->module_offset);
}

static const sym_frame garbage_frame = {"garbage", "garbage", -7, "garbage", 7};

static void test_inline_chain_expands_every_inlined_call(void **state)
{
    (void)state;
    int lines[3];
    void *ret = chain_outer(lines);
    struct module_desc self;
    describe_module_of(ret, &self);
    symbolizer *s = symbolizer_new();
    int index = add_described(s, &self);
    sym_frame f[5] = {[3] = garbage_frame, [4] = garbage_frame};
    assert_int_equal(symbolizer_lookup_inline(s, index, (uintptr_t)ret, f, 5), 3);
    assert_own_call_site(&f[0], "chain_inner", lines[0]);
    assert_own_call_site(&f[1], "chain_middle", lines[1]);
    assert_own_call_site(&f[2], "chain_outer", lines[2]);
    for (int i = 0; i < 3; i++) {
        assert_ptr_equal(f[i].file, f[0].file);
        assert_string_equal(f[i].module, self.path);
        assert_int_equal(f[i].module_offset, (uintptr_t)ret - self.bias);
    }
    assert_string_equal(f[3].function, "garbage"); /* nothing written past the count */
    assert_int_equal(f[3].line, -7);

    sym_frame single, again[3];
    symbolizer_lookup(s, index, (uintptr_t)ret, &single);
    assert_same_frame(&single, &f[0]);
    assert_int_equal(symbolizer_lookup_inline(s, index, (uintptr_t)ret, again, 3), 3);
    for (int i = 0; i < 3; i++)
        assert_same_frame(&again[i], &f[i]);
    assert_int_equal(symbolizer_warnings(s), 0);
    symbolizer_free(s);
}

static void test_inline_chain_of_plain_call_site_is_one_frame(void **state)
{
    (void)state;
    int line;
    void *ret = plain_call_site(&line);
    struct module_desc self;
    describe_module_of(ret, &self);
    symbolizer *s = symbolizer_new();
    int index = add_described(s, &self);
    sym_frame f[3] = {[1] = garbage_frame, [2] = garbage_frame}, single;
    assert_int_equal(symbolizer_lookup_inline(s, index, (uintptr_t)ret, f, 3), 1);
    assert_own_call_site(&f[0], "plain_call_site", line);
    symbolizer_lookup(s, index, (uintptr_t)ret, &single);
    assert_same_frame(&f[0], &single);
    assert_string_equal(f[1].function, "garbage");
    symbolizer_free(s);

    s = symbolizer_new(); /* the same, looked up the other way round */
    index = add_described(s, &self);
    symbolizer_lookup(s, index, (uintptr_t)ret, &single);
    assert_int_equal(symbolizer_lookup_inline(s, index, (uintptr_t)ret, f, 3), 1);
    assert_same_frame(&f[0], &single);
    assert_own_call_site(&single, "plain_call_site", line);
    symbolizer_free(s);
}

static void test_inline_chain_truncated_to_max(void **state)
{
    (void)state;
    int lines[3];
    void *ret = chain_outer(lines);
    struct module_desc self;
    describe_module_of(ret, &self);
    symbolizer *s = symbolizer_new();
    int index = add_described(s, &self);
    sym_frame f[3] = {[1] = garbage_frame, [2] = garbage_frame};
    /* first lookup, with max 1: nothing cached yet */
    assert_int_equal(symbolizer_lookup_inline(s, index, (uintptr_t)ret, f, 1), 1);
    assert_own_call_site(&f[0], "chain_inner", lines[0]);
    assert_string_equal(f[1].function, "garbage");
    /* again from the cache, which holds the whole chain */
    sym_frame again = garbage_frame;
    assert_int_equal(symbolizer_lookup_inline(s, index, (uintptr_t)ret, &again, 1), 1);
    assert_same_frame(&again, &f[0]);
    assert_int_equal(symbolizer_lookup_inline(s, index, (uintptr_t)ret, f, 2), 2);
    assert_own_call_site(&f[0], "chain_inner", lines[0]);
    assert_own_call_site(&f[1], "chain_middle", lines[1]);
    assert_string_equal(f[2].function, "garbage");
    assert_int_equal(symbolizer_lookup_inline(s, index, (uintptr_t)ret, f, 3), 3);
    assert_own_call_site(&f[2], "chain_outer", lines[2]);
    symbolizer_free(s);
}

static int has_local_debug_file(const struct module_desc *d)
{
    char path[PATH_MAX];
    int n = snprintf(path, sizeof path, "/usr/lib/debug/.build-id/%02x/", d->build_id[0]);
    for (size_t i = 1; i < d->build_id_len; i++)
        n += snprintf(path + n, sizeof path - (size_t)n, "%02x", d->build_id[i]);
    snprintf(path + n, sizeof path - (size_t)n, ".debug");
    return d->build_id_len > 1 && access(path, R_OK) == 0;
}

static void test_libc_function(void **state)
{
    (void)state;
    void *libc = dlopen("libc.so.6", RTLD_NOLOAD | RTLD_LAZY);
    assert_non_null(libc);
    void *entry = dlsym(libc, "getenv"); /* libc's own, whatever a sanitizer interposes */
    dlclose(libc);
    assert_non_null(entry);
    struct module_desc d;
    describe_module_of(entry, &d);
    symbolizer *s = symbolizer_new();
    sym_frame f;
    /* A return address just past the entry: the looked-up instruction is the entry itself. */
    symbolizer_lookup(s, add_described(s, &d), (uintptr_t)entry + 1, &f);
    assert_string_equal(f.function, "getenv");
    assert_non_null(strstr(base_name(f.module), "libc.so"));
    if (has_local_debug_file(&d)) { /* found by build-id under /usr/lib/debug */
        assert_string_equal(base_name(f.file), "getenv.c");
        assert_true(f.line > 0);
    }
    symbolizer_free(s);
}

static void test_build_id_mismatch_warns_once(void **state)
{
    (void)state;
    int line;
    void *ret = plain_call_site(&line);
    struct module_desc self;
    describe_module_of(ret, &self);
    assert_true(self.build_id_len > 0);
    self.build_id[0] ^= 0xff;
    symbolizer *s = symbolizer_new();
    int index = add_described(s, &self);
    struct stderr_capture c;
    stderr_capture_begin(&c);
    sym_frame f[3];
    symbolizer_lookup(s, index, (uintptr_t)ret, &f[0]);
    symbolizer_lookup(s, index, (uintptr_t)ret, &f[1]);
    symbolizer_lookup(s, index, (uintptr_t)ret + 1, &f[2]);
    char *text = stderr_capture_end(&c);
    for (int i = 0; i < 3; i++)
        assert_unsymbolized(&f[i], self.path);
    char expected[PATH_MAX + 100];
    snprintf(expected, sizeof expected,
             "leakshim: warning: %s: build-id differs from the traced one; " UNSYMBOLIZED "\n",
             self.path);
    assert_string_equal(text, expected);
    assert_int_equal(symbolizer_warnings(s), 1);
    free(text);
    symbolizer_free(s);
}

static void test_missing_file_warns_once(void **state)
{
    (void)state;
    const char *path = "/nonexistent-leakshim-test/libgone.so.1";
    symbolizer *s = symbolizer_new();
    int index = symbolizer_add_module(s, path, 0x7f0000000000, 0x7f0000001000, 0x7f0000009000,
                                      NULL, 0);
    struct stderr_capture c;
    stderr_capture_begin(&c);
    sym_frame f[2];
    symbolizer_lookup(s, index, 0x7f0000001234, &f[0]);
    symbolizer_lookup(s, index, 0x7f0000005678, &f[1]);
    char *text = stderr_capture_end(&c);
    assert_unsymbolized(&f[0], path);
    assert_unsymbolized(&f[1], path);
    assert_string_equal(text, "leakshim: warning: /nonexistent-leakshim-test/libgone.so.1: "
                              "cannot be opened (No such file or directory); " UNSYMBOLIZED "\n");
    assert_int_equal(symbolizer_warnings(s), 1);
    free(text);
    symbolizer_free(s);
}

static void test_unusable_files_warn_once_each(void **state)
{
    (void)state;
    char not_elf[] = "/tmp/leakshim-not-elf-XXXXXX";
    int fd = mkstemp(not_elf);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "not an ELF file\n", 16), 16);
    close(fd);
    symbolizer *s = symbolizer_new();
    int text_file = symbolizer_add_module(s, not_elf, 0x10000, 0x10000, 0x20000, NULL, 0);
    int directory = symbolizer_add_module(s, "/tmp", 0x30000, 0x30000, 0x40000, NULL, 0);
    struct stderr_capture c;
    stderr_capture_begin(&c);
    sym_frame f[4];
    symbolizer_lookup(s, text_file, 0x10010, &f[0]);
    symbolizer_lookup(s, directory, 0x30010, &f[1]);
    symbolizer_lookup(s, text_file, 0x10020, &f[2]);
    symbolizer_lookup(s, directory, 0x30020, &f[3]);
    char *text = stderr_capture_end(&c);
    unlink(not_elf);
    assert_unsymbolized(&f[0], not_elf);
    assert_unsymbolized(&f[1], "/tmp");
    assert_unsymbolized(&f[2], not_elf);
    assert_unsymbolized(&f[3], "/tmp");
    char expected_start[PATH_MAX + 100];
    int n = snprintf(expected_start, sizeof expected_start,
                     "leakshim: warning: %s: not a usable ELF file (", not_elf);
    assert_memory_equal(text, expected_start, (size_t)n);
    const char *rest = "); " UNSYMBOLIZED "\n"
                       "leakshim: warning: /tmp: not a regular file; " UNSYMBOLIZED "\n";
    assert_non_null(strstr(text, rest)); /* between them, libdw's words for "not ELF" */
    assert_int_equal(symbolizer_warnings(s), 2);
    free(text);
    symbolizer_free(s);
}

/* Modules opened ahead in the background give the same frames, and each warns only at its own
 * first lookup, as it would opened there. */
static void test_prefetched_modules_as_if_opened_at_lookup(void **state)
{
    (void)state;
    int line;
    void *ret = plain_call_site(&line);
    struct module_desc self;
    describe_module_of(ret, &self);
    const char *gone = "/nonexistent-leakshim-test/libgone.so.1";
    symbolizer *s = symbolizer_new();
    int missing = symbolizer_add_module(s, gone, 0x10000, 0x10000, 0x20000, NULL, 0);
    int index = add_described(s, &self);
    struct stderr_capture c;
    stderr_capture_begin(&c);
    symbolizer_prefetch(s, missing);
    symbolizer_prefetch(s, index);
    symbolizer_prefetch(s, index); /* queued once */
    symbolizer_prefetch(s, -1);    /* a frame no module covers */
    sym_frame f;
    symbolizer_lookup(s, index, (uintptr_t)ret, &f);
    char *before = stderr_capture_end(&c);
    assert_own_call_site(&f, "plain_call_site", line);
    assert_string_equal(before, "");
    assert_int_equal(symbolizer_warnings(s), 0);
    stderr_capture_begin(&c);
    symbolizer_lookup(s, missing, 0x10010, &f);
    char *after = stderr_capture_end(&c);
    assert_unsymbolized(&f, gone);
    assert_string_equal(after, "leakshim: warning: /nonexistent-leakshim-test/libgone.so.1: "
                               "cannot be opened (No such file or directory); " UNSYMBOLIZED "\n");
    assert_int_equal(symbolizer_warnings(s), 1);
    free(before);
    free(after);
    symbolizer_free(s);
}

/* A symbolizer freed while its prefetcher still has modules queued, none looked up. */
static void test_prefetch_without_lookup(void **state)
{
    (void)state;
    struct module_desc self;
    describe_module_of((void *)test_prefetch_without_lookup, &self);
    symbolizer *s = symbolizer_new();
    symbolizer_prefetch(s, add_described(s, &self));
    assert_int_equal(symbolizer_warnings(s), 0);
    symbolizer_free(s);
}

static void test_find_module_prefers_most_recent(void **state)
{
    (void)state;
    symbolizer *s = symbolizer_new();
    int a = symbolizer_add_module(s, "/nonexistent/a.so", 0x1000, 0x1000, 0x3000, NULL, 0);
    int b = symbolizer_add_module(s, "/nonexistent/b.so", 0x2000, 0x2000, 0x4000, NULL, 0);
    int c = symbolizer_add_module(s, "/nonexistent/c.so", 0x2800, 0x2800, 0x2900, NULL, 0);
    assert_int_equal(a, 0);
    assert_int_equal(b, 1);
    assert_int_equal(c, 2);
    assert_int_equal(symbolizer_find_module(s, 0x0fff), -1);
    assert_int_equal(symbolizer_find_module(s, 0x1000), a);
    assert_int_equal(symbolizer_find_module(s, 0x1fff), a);
    assert_int_equal(symbolizer_find_module(s, 0x2000), b);
    assert_int_equal(symbolizer_find_module(s, 0x2800), c);
    assert_int_equal(symbolizer_find_module(s, 0x28ff), c);
    assert_int_equal(symbolizer_find_module(s, 0x2900), b);
    assert_int_equal(symbolizer_find_module(s, 0x3fff), b);
    assert_int_equal(symbolizer_find_module(s, 0x4000), -1);
    assert_int_equal(symbolizer_warnings(s), 0); /* registering opens nothing */
    symbolizer_free(s);
}

static void test_module_info_as_registered(void **state)
{
    (void)state;
    symbolizer *s = symbolizer_new();
    static const uint8_t id[] = {0xab, 0xcd, 0x01};
    assert_int_equal(symbolizer_add_module(s, "/nonexistent/a.so", 0x1000, 0x1400, 0x3000, NULL, 0), 0);
    assert_int_equal(symbolizer_add_module(s, "/nonexistent/b.so", 0x7000, 0x7000, 0x9000, id, 3), 1);
    assert_int_equal(symbolizer_module_count(s), 2);
    struct sym_module_info info;
    assert_int_equal(symbolizer_module_info(s, 1, &info), 0);
    assert_string_equal(info.path, "/nonexistent/b.so");
    assert_int_equal(info.bias, 0x7000);
    assert_int_equal(info.start, 0x7000);
    assert_int_equal(info.end, 0x9000);
    assert_int_equal(info.build_id_len, 3);
    assert_memory_equal(info.build_id, id, 3);
    assert_int_equal(symbolizer_module_info(s, 0, &info), 0);
    assert_int_equal(info.start, 0x1400);
    assert_int_equal(info.build_id_len, 0);
    assert_int_equal(symbolizer_module_info(s, 2, &info), -1);
    assert_int_equal(symbolizer_module_info(s, -1, &info), -1);
    symbolizer_free(s);
}

static void test_lookup_without_module(void **state)
{
    (void)state;
    symbolizer *s = symbolizer_new();
    symbolizer_add_module(s, "/nonexistent/a.so", 0x1000, 0x1000, 0x3000, NULL, 0);
    sym_frame f = {"garbage", "garbage", 7, "garbage", 7};
    symbolizer_lookup(s, symbolizer_find_module(s, 0x5000), 0x5000, &f);
    assert_null(f.function);
    assert_null(f.file);
    assert_int_equal(f.line, 0);
    assert_null(f.module);
    assert_int_equal(f.module_offset, 0);
    symbolizer_lookup(s, 1, 0x5000, &f); /* past the last index */
    assert_null(f.module);
    sym_frame chain[2] = {{"garbage", "garbage", 7, "garbage", 7},
                          {"garbage", "garbage", 7, "garbage", 7}};
    assert_int_equal(symbolizer_lookup_inline(s, -1, 0x5000, chain, 2), 1);
    assert_null(chain[0].function);
    assert_null(chain[0].file);
    assert_int_equal(chain[0].line, 0);
    assert_null(chain[0].module);
    assert_string_equal(chain[1].function, "garbage"); /* past the returned count: untouched */
    assert_int_equal(symbolizer_warnings(s), 0);
    symbolizer_free(s);
}

/* Builds, with the compilation directory recorded relative (as distributions do with
 * -fdebug-prefix-map), a library with a function in the source's directory (directory entry
 * 0, which libdw joins itself) and one in another directory (which it does not). */
static void test_relative_comp_dir_is_joined_once(void **state)
{
    (void)state;
    char dir[] = "/tmp/leakshim-symbolize-XXXXXX", command[3 * PATH_MAX], lib_path[PATH_MAX];
    assert_non_null(mkdtemp(dir));
    snprintf(command, sizeof command, "%s/sub", dir);
    assert_int_equal(mkdir(command, 0700), 0);
    snprintf(command, sizeof command, "%s/inc", dir);
    assert_int_equal(mkdir(command, 0700), 0);
    write_file(dir, "sub/a.c", "#include \"../inc/b.h\"\n"
                               "int in_source_dir(void)\n{\n    return in_other_dir();\n}\n");
    write_file(dir, "inc/b.h", "int in_other_dir(void)\n{\n    return 2;\n}\n");
    snprintf(lib_path, sizeof lib_path, "%s/liba.so", dir);
    snprintf(command, sizeof command,
             "cd '%s/sub' && gcc -g -O0 -shared -fPIC -fdebug-prefix-map='%s'=. a.c -o '%s'", dir,
             dir, lib_path);
    if (system(command) != 0) {
        remove_tree(dir);
        skip();
    }
    void *lib = dlopen(lib_path, RTLD_NOW | RTLD_LOCAL);
    assert_non_null(lib);
    void *in_source_dir = dlsym(lib, "in_source_dir"), *in_other_dir = dlsym(lib, "in_other_dir");
    struct module_desc d;
    describe_module_of(in_source_dir, &d);
    symbolizer *s = symbolizer_new();
    int index = add_described(s, &d);
    sym_frame f[2];
    symbolizer_lookup(s, index, (uintptr_t)in_source_dir + 1, &f[0]);
    symbolizer_lookup(s, index, (uintptr_t)in_other_dir + 1, &f[1]);
    dlclose(lib);
    remove_tree(dir);
    assert_string_equal(f[0].function, "in_source_dir");
    assert_string_equal(f[0].file, "./sub/a.c");
    assert_int_equal(f[0].line, 3);
    assert_string_equal(f[1].function, "in_other_dir");
    assert_string_equal(f[1].file, "./sub/../inc/b.h");
    assert_int_equal(f[1].line, 2);
    symbolizer_free(s);
}

/* A listening socket on 127.0.0.1 that nobody is meant to connect to. */
static int listen_on_loopback(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof addr;
    assert_int_equal(bind(fd, (struct sockaddr *)&addr, len), 0);
    assert_int_equal(listen(fd, 16), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&addr, &len), 0);
    *port = ntohs(addr.sin_port);
    return fd;
}

/* Symbolizes through a copy of this binary without DWARF, whose debug file is nowhere local:
 * the name comes from the symbol table, and the debuginfod server named in the environment
 * sees no connection. */
static void test_no_debug_info_uses_symbols_and_stays_offline(void **state)
{
    (void)state;
    int line;
    void *ret = mangled_call_site(&line);
    struct module_desc d;
    describe_module_of(ret, &d);
    char dir[] = "/tmp/leakshim-symbolize-XXXXXX", command[3 * PATH_MAX], url[64];
    assert_non_null(mkdtemp(dir));
    snprintf(command, sizeof command, "objcopy --strip-debug '%s' '%s/stripped'", d.path, dir);
    if (system(command) != 0) {
        remove_tree(dir);
        skip();
    }
    snprintf(d.path, sizeof d.path, "%s/stripped", dir);
    int port, server = listen_on_loopback(&port);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/", port);
    setenv("DEBUGINFOD_URLS", url, 1);
    setenv("DEBUGINFOD_TIMEOUT", "1", 1);
    setenv("DEBUGINFOD_CACHE_PATH", dir, 1);

    symbolizer *s = symbolizer_new();
    struct stderr_capture c;
    stderr_capture_begin(&c);
    sym_frame f;
    symbolizer_lookup(s, add_described(s, &d), (uintptr_t)ret, &f);
    char *text = stderr_capture_end(&c);
    struct pollfd pending = {.fd = server, .events = POLLIN};
    int contacted = poll(&pending, 1, 0);

    unsetenv("DEBUGINFOD_URLS");
    unsetenv("DEBUGINFOD_TIMEOUT");
    unsetenv("DEBUGINFOD_CACHE_PATH");
    close(server);
    remove_tree(dir);
    assert_int_equal(contacted, 0);
    assert_string_equal(f.function, "leakshim::test::call_site(int*)");
    assert_null(f.file);
    assert_int_equal(f.line, 0);
    assert_string_equal(text, ""); /* listed, not warned about */
    assert_int_equal(symbolizer_warnings(s), 0);
    const char *listed[2];
    assert_int_equal(symbolizer_modules_without_debuginfo(s, listed, 2), 1);
    assert_string_equal(listed[0], d.path);
    free(text);
    symbolizer_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_call_site),
        cmocka_unit_test(test_inlined_call_site_names_innermost_function),
        cmocka_unit_test(test_cxx_name_is_demangled),
        cmocka_unit_test(test_repeated_lookups_share_strings),
        cmocka_unit_test(test_inline_chain_expands_every_inlined_call),
        cmocka_unit_test(test_inline_chain_of_plain_call_site_is_one_frame),
        cmocka_unit_test(test_inline_chain_truncated_to_max),
        cmocka_unit_test(test_libc_function),
        cmocka_unit_test(test_build_id_mismatch_warns_once),
        cmocka_unit_test(test_missing_file_warns_once),
        cmocka_unit_test(test_unusable_files_warn_once_each),
        cmocka_unit_test(test_prefetched_modules_as_if_opened_at_lookup),
        cmocka_unit_test(test_prefetch_without_lookup),
        cmocka_unit_test(test_find_module_prefers_most_recent),
        cmocka_unit_test(test_module_info_as_registered),
        cmocka_unit_test(test_lookup_without_module),
        cmocka_unit_test(test_relative_comp_dir_is_joined_once),
        cmocka_unit_test(test_no_debug_info_uses_symbols_and_stays_offline),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
