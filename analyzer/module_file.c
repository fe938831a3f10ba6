/* Opening a module for symbolization; see module_file.h.
 *
 * Each module gets its own Dwfl holding just that ELF file, reported at the recorded load
 * bias, so recorded ranges that overlap (a library unloaded, another loaded in its place)
 * never clash inside libdwfl. DWARF is reached through our own index of compilation-unit
 * address ranges: libdw 0.188 (dwfl_module_addrdie, dwfl_module_getsrc) only consults
 * .debug_aranges, which clang does not emit, and so finds nothing in clang-built code.
 * Separate debug files are found only through dwfl_build_id_find_debuginfo (the build-id
 * tree under /usr/lib/debug, also for dwz files): dwfl_standard_find_debuginfo would fall
 * back to debuginfod, i.e. the network, whenever DEBUGINFOD_URLS is set. libdwfl keeps its
 * error state per thread, and strerror_r is used for errno, so nothing here is shared. */
#include "module_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define UNSYMBOLIZED "its frames stay unsymbolized"

/* find_elf stays NULL: every module is reported with its ELF file already open, so libdwfl
 * never looks for one (and the stock dwfl_build_id_find_elf may ask debuginfod). */
static const Dwfl_Callbacks offline_callbacks = {
    .find_debuginfo = dwfl_build_id_find_debuginfo,
    .section_address = dwfl_offline_section_address,
};

__attribute__((format(printf, 2, 3)))
static void unusable(struct module_file *f, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->warning, sizeof f->warning, fmt, ap);
    va_end(ap);
}

/* Non-blocking, so that a FIFO named in a bogus trace cannot hang the analyzer. */
static int open_elf_file(struct module_file *f, const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        char buf[256];
        unusable(f, "cannot be opened (%s); " UNSYMBOLIZED, strerror_r(errno, buf, sizeof buf));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        unusable(f, "not a regular file; " UNSYMBOLIZED);
        close(fd);
        return -1;
    }
    return fd;
}

/* Reports the ELF file open on fd into a fresh f->dwfl; on success libdwfl owns fd. */
static Dwfl_Module *report_elf(struct module_file *f, const char *path, uint64_t bias, int fd)
{
    f->dwfl = dwfl_begin(&offline_callbacks);
    Dwfl_Module *mod = NULL;
    if (f->dwfl)
        mod = dwfl_report_elf(f->dwfl, path, path, fd, bias, true);
    if (!mod) {
        unusable(f, "not a usable ELF file (%s); " UNSYMBOLIZED, dwfl_errmsg(-1));
        close(fd);
        return NULL;
    }
    dwfl_report_end(f->dwfl, NULL, NULL);
    return mod;
}

static int build_id_matches(Dwfl_Module *mod, const uint8_t *build_id, size_t build_id_len)
{
    if (build_id_len == 0)
        return 1;
    const unsigned char *bits;
    GElf_Addr vaddr;
    int len = dwfl_module_build_id(mod, &bits, &vaddr);
    return len > 0 && (size_t)len == build_id_len && memcmp(bits, build_id, build_id_len) == 0;
}

static int compare_cu_ranges(const void *a, const void *b)
{
    const struct cu_range *x = a, *y = b;
    return (x->low > y->low) - (x->low < y->low);
}

static int push_cu_range(struct module_file *f, size_t *capacity, struct cu_range range)
{
    if (f->cu_range_count == *capacity) {
        size_t grown = *capacity ? 2 * *capacity : 64;
        struct cu_range *ranges = realloc(f->cu_ranges, grown * sizeof *ranges);
        if (!ranges)
            return -1;
        f->cu_ranges = ranges;
        *capacity = grown;
    }
    f->cu_ranges[f->cu_range_count++] = range;
    return 0;
}

/* Ranges starting at 0 are skipped: address 0 holds the ELF header, never code, so they are
 * what is left of functions the linker discarded. Out of memory stops early: the CUs left
 * out then only lack file:line. */
static void collect_cu_ranges(struct module_file *f)
{
    size_t capacity = 0;
    Dwarf_Die *cu = NULL;
    Dwarf_Addr bias;
    while ((cu = dwfl_module_nextcu(f->dwmod, cu, &bias)) != NULL) {
        Dwarf_Addr base, low, high;
        for (ptrdiff_t at = 0; (at = dwarf_ranges(cu, at, &base, &low, &high)) > 0;) {
            if (low == 0 || low >= high)
                continue;
            if (push_cu_range(f, &capacity, (struct cu_range){low, high, cu}) < 0)
                return;
        }
    }
}

static void index_cus(struct module_file *f)
{
    collect_cu_ranges(f);
    if (f->cu_range_count)
        qsort(f->cu_ranges, f->cu_range_count, sizeof *f->cu_ranges, compare_cu_ranges);
}

void module_file_open(const char *path, uint64_t bias, const uint8_t *build_id,
                      size_t build_id_len, struct module_file *out)
{
    memset(out, 0, sizeof *out);
    int fd = open_elf_file(out, path);
    Dwfl_Module *mod = fd < 0 ? NULL : report_elf(out, path, bias, fd);
    if (mod && !build_id_matches(mod, build_id, build_id_len)) {
        unusable(out, "build-id differs from the traced one; " UNSYMBOLIZED);
        mod = NULL;
    }
    if (!mod) {
        dwfl_end(out->dwfl);
        out->dwfl = NULL;
        return;
    }
    out->dwmod = mod;
    out->usable = 1;
    if (dwfl_module_getdwarf(mod, &out->dwarf_bias))
        index_cus(out);
    else
        out->without_debuginfo = 1; /* common for system libraries: listed, not warned about */
}

void module_file_close(struct module_file *f)
{
    free(f->cu_ranges);
    dwfl_end(f->dwfl);
    memset(f, 0, sizeof *f);
}

Dwarf_Die *module_file_find_cu(const struct module_file *f, Dwarf_Addr addr)
{
    size_t lo = 0, hi = f->cu_range_count; /* find the first range with low > addr */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (f->cu_ranges[mid].low <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo > 0 && addr < f->cu_ranges[lo - 1].high ? f->cu_ranges[lo - 1].cu : NULL;
}
