/* Module discovery from /proc/self/maps. For each file mapping at file offset 0 that starts
 * with an ELF header, the program headers (in the same first page, as every linker places
 * them) give the load bias, the range of the PT_LOAD segments and the PT_NOTE holding the
 * GNU build-id. Only memory inside that first readable mapping is read. */
#include "modules.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "high_fd.h"

#define MAPS_BUFFER 8192

struct mapping {
    uint64_t start, end, offset;
    int readable;
    const char *path; /* NULL for anonymous mappings */
};

static int parse_hex(const char **p, uint64_t *out)
{
    uint64_t v = 0;
    const char *s = *p;
    int digits = 0;
    for (;; s++, digits++) {
        char c = *s;
        unsigned d;
        if (c >= '0' && c <= '9') d = (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f') d = (unsigned)(c - 'a' + 10);
        else break;
        v = v << 4 | d;
    }
    *p = s;
    *out = v;
    return digits ? 0 : -1;
}

/* "start-end perms offset dev inode   path" */
static int parse_maps_line(char *line, struct mapping *m)
{
    const char *p = line;
    if (parse_hex(&p, &m->start) < 0 || *p++ != '-' || parse_hex(&p, &m->end) < 0 || *p++ != ' ')
        return -1;
    m->readable = p[0] == 'r';
    while (*p && *p != ' ') p++;
    while (*p == ' ') p++;
    if (parse_hex(&p, &m->offset) < 0)
        return -1;
    for (int field = 0; field < 2; field++) { /* dev, inode */
        while (*p == ' ') p++;
        while (*p && *p != ' ') p++;
    }
    while (*p == ' ') p++;
    m->path = *p == '/' ? p : NULL;
    return 0;
}

static void read_build_id(struct module_info *mod, const struct mapping *first,
                          const Elf64_Phdr *ph)
{
    uint64_t at = mod->bias + ph->p_vaddr, end = at + ph->p_memsz;
    if (at < first->start || end > first->end)
        return;
    while (at + sizeof(Elf64_Nhdr) <= end) {
        const Elf64_Nhdr *nh = (const Elf64_Nhdr *)(uintptr_t)at;
        uint64_t name_at = at + sizeof *nh;
        uint64_t desc_at = name_at + ((nh->n_namesz + 3u) & ~3u);
        uint64_t next = desc_at + ((nh->n_descsz + 3u) & ~3u);
        if (next > end)
            return;
        if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 &&
            memcmp((const void *)(uintptr_t)name_at, "GNU", 4) == 0 &&
            nh->n_descsz <= TRACE_MAX_BUILD_ID) {
            memcpy(mod->build_id, (const void *)(uintptr_t)desc_at, nh->n_descsz);
            mod->build_id_len = nh->n_descsz;
            return;
        }
        at = next;
    }
}

/* Fills *mod from the ELF image whose first page is mapped at first->start. */
static int describe_module(const struct mapping *first, struct module_info *mod)
{
    if (!first->readable || first->end - first->start < sizeof(Elf64_Ehdr))
        return -1;
    const Elf64_Ehdr *eh = (const Elf64_Ehdr *)(uintptr_t)first->start;
    if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
        eh->e_phentsize != sizeof(Elf64_Phdr) ||
        eh->e_phoff + (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr) > first->end - first->start)
        return -1;
    const Elf64_Phdr *phdrs = (const Elf64_Phdr *)(uintptr_t)(first->start + eh->e_phoff);
    const Elf64_Phdr *first_load = NULL;
    uint64_t high = 0;
    for (unsigned i = 0; i < eh->e_phnum; i++) {
        if (phdrs[i].p_type != PT_LOAD)
            continue;
        if (!first_load)
            first_load = &phdrs[i];
        if (phdrs[i].p_vaddr + phdrs[i].p_memsz > high)
            high = phdrs[i].p_vaddr + phdrs[i].p_memsz;
    }
    if (!first_load || first_load->p_offset != 0)
        return -1;
    memset(mod, 0, sizeof *mod);
    mod->bias = first->start - first_load->p_vaddr; /* file offset 0 is mapped at p_vaddr */
    mod->start = first->start;
    mod->end = mod->bias + high;
    mod->path = first->path;
    for (unsigned i = 0; i < eh->e_phnum && !mod->build_id_len; i++)
        if (phdrs[i].p_type == PT_NOTE)
            read_build_id(mod, first, &phdrs[i]);
    return 0;
}

static void handle_line(char *line, void (*fn)(const struct module_info *, void *), void *ctx)
{
    struct mapping m;
    struct module_info mod;
    if (parse_maps_line(line, &m) < 0 || !m.path || m.offset != 0)
        return;
    char *deleted = strstr(line, " (deleted)");
    if (deleted)
        *deleted = 0;
    if (describe_module(&m, &mod) == 0)
        fn(&mod, ctx);
}

int modules_scan(void (*fn)(const struct module_info *m, void *ctx), void *ctx)
{
    int fd = high_fd_open("/proc/self/maps", O_RDONLY, 0);
    if (fd < 0)
        return -1;
    char buf[MAPS_BUFFER + 1];
    size_t have = 0;
    for (;;) {
        ssize_t n = read(fd, buf + have, MAPS_BUFFER - have);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        have += (size_t)n;
        buf[have] = 0;
        char *line = buf, *nl;
        while ((nl = memchr(line, '\n', have - (size_t)(line - buf)))) {
            *nl = 0;
            handle_line(line, fn, ctx);
            line = nl + 1;
        }
        have -= (size_t)(line - buf);
        memmove(buf, line, have);
        if (have == MAPS_BUFFER) /* a line longer than the buffer: skip it */
            have = 0;
    }
    close(fd);
    return 0;
}
