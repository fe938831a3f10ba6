/* Opening one module of the trace for symbolization: its ELF file (checked against the
 * recorded GNU build-id), its DWARF (the file's own, or the separate debug file found by
 * build-id under /usr/lib/debug, never through debuginfod), and an index of its compilation
 * units' address ranges. That is nearly all of the symbolizer's fixed cost (for glibc, libdw
 * inflates libc6-dbg's compressed DWARF and walks 2,000 CUs). Opening touches no shared
 * state and prints nothing: a failure is described in `warning`, for the symbolizer to show
 * at the module's first lookup, so a module may be opened in another thread
 * (module_prefetch.h) with the same result and the same message as at its lookup. */
#ifndef LEAKSHIM_MODULE_FILE_H
#define LEAKSHIM_MODULE_FILE_H

#include <elfutils/libdwfl.h>
#include <stddef.h>
#include <stdint.h>

struct cu_range {
    Dwarf_Addr low, high; /* DWARF addresses, [low,high) */
    Dwarf_Die *cu;        /* owned by the module's Dwfl */
};

struct module_file {
    int usable;         /* the file is the traced one, ELF: dwfl and dwmod are set */
    Dwfl *dwfl;         /* holds just this file, reported at the recorded bias */
    Dwfl_Module *dwmod; /* the only module of dwfl */
    Dwarf_Addr dwarf_bias;      /* runtime address = dwarf_bias + DWARF address */
    struct cu_range *cu_ranges; /* sorted by low; empty without DWARF */
    size_t cu_range_count;
    int without_debuginfo; /* usable, but names come from the symbol table only */
    char warning[600];     /* why it is not usable ("" when it is), without the path */
};

/* Opens the module file at `path`, loaded at `bias`, whose build-id was recorded as
 * build_id[0..build_id_len) (any file matches when build_id_len is 0). Always fills *out;
 * out->usable says whether it worked. */
void module_file_open(const char *path, uint64_t bias, const uint8_t *build_id,
                      size_t build_id_len, struct module_file *out);

void module_file_close(struct module_file *f);

/* The CU whose ranges contain the DWARF address addr, or NULL. */
Dwarf_Die *module_file_find_cu(const struct module_file *f, Dwarf_Addr addr);

#endif
