/* Suppressions: which leak suspects a person has decided not to hear about, in
 * LeakSanitizer's file format, so that one file can serve both tools.
 *
 *     # a comment; blank lines are ignored
 *     leak:copy_header_value        anywhere in a frame's function, file or module name
 *     leak:^std::locale::           ^ anchors at the start of the name
 *     leak:server.c$                $ anchors at its end
 *     leak:libfoo*.so               * matches any run of characters
 *
 * A suspect is suppressed when any of its frames (inlined calls included) has a function,
 * file or module name that the pattern matches; the first suppression in list order that
 * matches takes the suspect, and counts its suspects, bytes and blocks.
 *
 * The built-in defaults (suppressions_add_defaults) cover the one-time allocations of the C
 * and C++ runtimes that every program makes and never frees by design: stdio's buffers,
 * locale data, NSS and resolver state, the dynamic loader's books for dlopen'd libraries and
 * thread TLS, libstdc++'s emergency exception pool and iostream buffers. They name exported
 * entry points as well as glibc's internal functions, so they work with and without the
 * distribution's debug symbols. One default is not a pattern: a stack whose frames all lie
 * in the runtime's own libraries (libc, the loader, libstdc++, libgcc_s), that is, memory the
 * program's code never asked for.
 *
 * Used by `leakshim check`; kept apart so that `report` can suppress too. */
#ifndef LEAKSHIM_SUPPRESSIONS_H
#define LEAKSHIM_SUPPRESSIONS_H

#include <stddef.h>
#include <stdint.h>

#include "suspects.h"

enum suppression_kind {
    SUPPRESSION_PATTERN,      /* leak:PATTERN */
    SUPPRESSION_RUNTIME_ONLY, /* built in: every frame in a runtime library */
};

struct suppression {
    enum suppression_kind kind;
    char *pattern;       /* as written after "leak:", or a description for RUNTIME_ONLY */
    const char *source;  /* the file it came from, or NULL for a built-in default */
    unsigned line;       /* its line in that file (0 for a default) */
    uint64_t suspects, bytes, blocks; /* what it matched */
};

struct suppression_list {
    struct suppression *items;
    size_t count, capacity;
    char **sources; /* file names, owned */
    size_t source_count;
};

void suppressions_init(struct suppression_list *list);
void suppressions_free(struct suppression_list *list);

/* Parses suppressions from `text` (the contents of the file `source`, which is kept for
 * messages). Returns 0, or -1 with `error` set to "SOURCE:LINE: why" (a line without
 * "TYPE:", a type other than leak, an empty pattern) or "out of memory"; on error the list
 * keeps the lines before the bad one. */
int suppressions_parse(struct suppression_list *list, const char *text, const char *source,
                       char *error, size_t error_len);

/* Reads and parses the file at `path`. Returns 0, or -1 with `error` set ("PATH: why", or
 * what suppressions_parse says). */
int suppressions_load(struct suppression_list *list, const char *path, char *error,
                      size_t error_len);

/* Appends the built-in defaults. Returns 0, or -1 on out of memory. */
int suppressions_add_defaults(struct suppression_list *list);

/* The first suppression that matches the suspect, or NULL. Does not count. */
struct suppression *suppressions_find(const struct suppression_list *list, const struct suspect *s);

/* suppressions_find, and adds the suspect to the match's counts. */
struct suppression *suppressions_apply(struct suppression_list *list, const struct suspect *s);

/* LeakSanitizer's pattern rule: does `pattern` match `name`? A NULL or empty name never
 * matches. */
int suppression_pattern_matches(const char *pattern, const char *name);

#endif
