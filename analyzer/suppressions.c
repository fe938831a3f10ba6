/* Suppression files and matching; see suppressions.h. */
#include "suppressions.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The built-in defaults, in the file format. Each was seen outstanding at exit in small
 * programs under the shim on Debian 12 (glibc 2.36, libstdc++ 12): printf to a pipe,
 * setlocale, getpwnam and friends, getaddrinfo, dlopen and dlerror, threads, iconv, tzset,
 * setenv, strerror, C++ iostreams with sync_with_stdio(false) and named locales. Both the
 * exported name and glibc's internal one are listed where they differ: without debug
 * symbols only the exported one is known. Names are anchored (^...$) so that a program's own
 * function that merely contains one of them is never suppressed. */
static const char default_suppressions[] =
    "# stdio: the buffer of a stream, allocated at its first use, kept until exit\n"
    "leak:^_IO_file_doallocate$\n"
    "# locales and message catalogs: loaded once, cached for the process\n"
    "leak:^setlocale$\n"
    "leak:^_nl_find_locale$\n"
    "leak:^__dcigettext$\n"
    "leak:^dcgettext$\n"
    "leak:^dgettext$\n"
    "leak:^gettext$\n"
    "leak:^__wcsmbs_load_conv$\n"
    "# NSS and the resolver: databases, modules and the static result buffers of the\n"
    "# non-reentrant lookups\n"
    "leak:^__nss_database_get$\n"
    "leak:^__nss_module_allocate$\n"
    "leak:^getpwnam$\n"
    "leak:^getpwuid$\n"
    "leak:^getgrnam$\n"
    "leak:^getgrgid$\n"
    "leak:^getpwent$\n"
    "leak:^getgrent$\n"
    "leak:^getspnam$\n"
    "leak:^gethostbyname$\n"
    "leak:^gethostbyname2$\n"
    "leak:^gethostbyaddr$\n"
    "leak:^getservbyname$\n"
    "leak:^getservbyport$\n"
    "leak:^getprotobyname$\n"
    "leak:^getprotobynumber$\n"
    "leak:^__check_pf$\n"
    "leak:^__resolv_context_get$\n"
    "leak:^__res_vinit$\n"
    "# the dynamic loader: link maps of loaded libraries, TLS of threads and modules\n"
    "leak:^_dl_open$\n"
    "leak:^dlopen$\n"
    "leak:^___dlopen$\n"
    "leak:^dlmopen$\n"
    "leak:^_dlerror_run$\n"
    "leak:^dlerror$\n"
    "leak:^__dlerror$\n"
    "leak:^_dl_allocate_tls$\n"
    "leak:^__tls_get_addr$\n"
    "leak:^_dl_update_slotinfo$\n"
    "# iconv: conversion modules, loaded once\n"
    "leak:^__gconv_find_shlib$\n"
    "leak:^__gconv_load_cache$\n"
    "leak:^__gconv_read_conf$\n"
    "# time zones, the environment, error strings, exit handlers\n"
    "leak:^tzset_internal$\n"
    "leak:^__tzfile_read$\n"
    "leak:^tzset$\n"
    "leak:^__add_to_environ$\n"
    "leak:^setenv$\n"
    "leak:^putenv$\n"
    "leak:^__strerror_l$\n"
    "leak:^strerror$\n"
    "leak:^strerror_l$\n"
    "leak:^__new_exitfn$\n"
    "leak:^__cxa_thread_atexit_impl$\n"
    "# libstdc++: stream buffers after sync_with_stdio(false), named locales' facets\n"
    "leak:^std::ios_base::sync_with_stdio(bool)$\n"
    "leak:^std::locale::_Impl::_Impl(char const*, unsigned long)$\n"
    "leak:^std::locale::facet::_S_create_c_locale(\n"
    "leak:^std::locale::locale(char const*)$\n";

/* Modules whose frames alone make a runtime-only stack (base names). */
static const char *const runtime_modules[] = {"ld-linux-*.so*", "libc.so.*", "libstdc++.so.*",
                                              "libgcc_s.so.*", "libm.so.*"};

void suppressions_init(struct suppression_list *list)
{
    memset(list, 0, sizeof *list);
}

void suppressions_free(struct suppression_list *list)
{
    for (size_t i = 0; i < list->count; i++)
        free(list->items[i].pattern);
    for (size_t i = 0; i < list->source_count; i++)
        free(list->sources[i]);
    free(list->items);
    free(list->sources);
    memset(list, 0, sizeof *list);
}

static int push(struct suppression_list *list, enum suppression_kind kind, const char *pattern,
                size_t pattern_len, const char *source, unsigned line)
{
    if (list->count == list->capacity) {
        size_t capacity = list->capacity ? 2 * list->capacity : 32;
        struct suppression *items = realloc(list->items, capacity * sizeof *items);
        if (!items)
            return -1;
        list->items = items;
        list->capacity = capacity;
    }
    char *copy = strndup(pattern, pattern_len);
    if (!copy)
        return -1;
    list->items[list->count++] = (struct suppression){.kind = kind, .pattern = copy,
                                                      .source = source, .line = line};
    return 0;
}

/* Keeps a copy of a source name for the suppressions that point to it. */
static const char *keep_source(struct suppression_list *list, const char *source)
{
    char **sources = realloc(list->sources, (list->source_count + 1) * sizeof *sources);
    if (!sources)
        return NULL;
    list->sources = sources;
    char *copy = strdup(source);
    if (copy)
        list->sources[list->source_count++] = copy;
    return copy;
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

/* Parses one line (without its newline). Returns 0, or -1 with error set. */
static int parse_line(struct suppression_list *list, const char *start, size_t len,
                      const char *source, unsigned line, char *error, size_t error_len)
{
    while (len && is_blank(*start)) {
        start++;
        len--;
    }
    while (len && is_blank(start[len - 1]))
        len--;
    if (!len || *start == '#')
        return 0;
    const char *colon = memchr(start, ':', len);
    const char *name = source ? source : "default suppressions";
    if (!colon) {
        snprintf(error, error_len, "%s:%u: expected TYPE:PATTERN (leak:PATTERN), got '%.*s'",
                 name, line, (int)len, start);
        return -1;
    }
    size_t type_len = (size_t)(colon - start);
    if (type_len != 4 || memcmp(start, "leak", 4) != 0) {
        snprintf(error, error_len, "%s:%u: unknown suppression type '%.*s' (only leak: is "
                 "understood)", name, line, (int)type_len, start);
        return -1;
    }
    const char *pattern = colon + 1;
    size_t pattern_len = len - type_len - 1;
    while (pattern_len && is_blank(*pattern)) {
        pattern++;
        pattern_len--;
    }
    if (!pattern_len) {
        snprintf(error, error_len, "%s:%u: empty pattern after 'leak:'", name, line);
        return -1;
    }
    if (push(list, SUPPRESSION_PATTERN, pattern, pattern_len, source, line) < 0) {
        snprintf(error, error_len, "out of memory");
        return -1;
    }
    return 0;
}

int suppressions_parse(struct suppression_list *list, const char *text, const char *source,
                       char *error, size_t error_len)
{
    const char *kept = NULL;
    if (source && !(kept = keep_source(list, source))) {
        snprintf(error, error_len, "out of memory");
        return -1;
    }
    unsigned line = 1;
    for (const char *p = text; *p; line++) {
        const char *end = strchr(p, '\n');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (parse_line(list, p, len, kept, line, error, error_len) < 0)
            return -1;
        if (!end)
            break;
        p = end + 1;
    }
    return 0;
}

int suppressions_load(struct suppression_list *list, const char *path, char *error,
                      size_t error_len)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(error, error_len, "%s: %s", path, strerror(errno));
        return -1;
    }
    char *text = NULL;
    size_t size = 0;
    FILE *mem = open_memstream(&text, &size);
    char buf[4096];
    size_t n;
    int ok = mem != NULL;
    while (ok && (n = fread(buf, 1, sizeof buf, f)) > 0)
        ok = fwrite(buf, 1, n, mem) == n;
    int read_error = ferror(f);
    fclose(f);
    if (mem && fclose(mem) != 0)
        ok = 0;
    if (!ok || read_error) {
        snprintf(error, error_len, read_error ? "%s: read error" : "out of memory", path);
        free(text);
        return -1;
    }
    if (strlen(text) != size) {
        snprintf(error, error_len, "%s: a NUL byte: not a suppressions file", path);
        free(text);
        return -1;
    }
    int rc = suppressions_parse(list, text, path, error, error_len);
    free(text);
    return rc;
}

int suppressions_add_defaults(struct suppression_list *list)
{
    char error[200];
    if (suppressions_parse(list, default_suppressions, NULL, error, sizeof error) < 0)
        return -1;
    static const char runtime_only[] = "stacks entirely inside libc, ld.so, libstdc++, libgcc_s, libm";
    return push(list, SUPPRESSION_RUNTIME_ONLY, runtime_only, sizeof runtime_only - 1, NULL, 0);
}

/* Glob match of `pattern[0..len)` against the whole of `text`, `*` matching any run. */
static int glob_matches(const char *pattern, size_t len, const char *text)
{
    size_t p = 0, star = (size_t)-1;
    const char *resume = NULL;
    while (*text) {
        if (p < len && pattern[p] == '*') {
            star = p++;
            resume = text;
        } else if (p < len && pattern[p] == *text) {
            p++;
            text++;
        } else if (star != (size_t)-1) {
            p = star + 1;
            text = ++resume;
        } else {
            return 0;
        }
    }
    while (p < len && pattern[p] == '*')
        p++;
    return p == len;
}

int suppression_pattern_matches(const char *pattern, const char *name)
{
    if (!name || !*name)
        return 0;
    size_t len = strlen(pattern);
    int anchored_start = len && pattern[0] == '^';
    if (anchored_start) {
        pattern++;
        len--;
    }
    int anchored_end = len && pattern[len - 1] == '$';
    if (anchored_end)
        len--;
    /* Unanchored ends match anywhere: the pattern is *PATTERN* then. */
    char stack[256], *wide = stack;
    size_t wide_len = len + !anchored_start + !anchored_end;
    if (wide_len >= sizeof stack && !(wide = malloc(wide_len + 1)))
        return 0;
    size_t o = 0;
    if (!anchored_start)
        wide[o++] = '*';
    memcpy(wide + o, pattern, len);
    o += len;
    if (!anchored_end)
        wide[o++] = '*';
    int match = glob_matches(wide, o, name);
    if (wide != stack)
        free(wide);
    return match;
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

static int runtime_only(const struct suspect *s)
{
    if (!s->frame_count)
        return 0;
    for (uint32_t i = 0; i < s->frame_count; i++) {
        const char *module = s->frames[i].sym.module;
        int runtime = 0;
        for (size_t k = 0; module && !runtime && k < sizeof runtime_modules / sizeof *runtime_modules; k++)
            runtime = glob_matches(runtime_modules[k], strlen(runtime_modules[k]), base_name(module));
        if (!runtime)
            return 0;
    }
    return 1;
}

static int matches(const struct suppression *sup, const struct suspect *s)
{
    if (sup->kind == SUPPRESSION_RUNTIME_ONLY)
        return runtime_only(s);
    for (uint32_t i = 0; i < s->frame_count; i++) {
        const sym_frame *f = &s->frames[i].sym;
        if (suppression_pattern_matches(sup->pattern, f->function) ||
            suppression_pattern_matches(sup->pattern, f->file) ||
            suppression_pattern_matches(sup->pattern, f->module))
            return 1;
    }
    return 0;
}

struct suppression *suppressions_find(const struct suppression_list *list, const struct suspect *s)
{
    for (size_t i = 0; i < list->count; i++)
        if (matches(&list->items[i], s))
            return &list->items[i];
    return NULL;
}

struct suppression *suppressions_apply(struct suppression_list *list, const struct suspect *s)
{
    struct suppression *sup = suppressions_find(list, s);
    if (sup) {
        sup->suspects++;
        sup->bytes += s->leaked_bytes;
        sup->blocks += s->leaked_blocks;
    }
    return sup;
}
