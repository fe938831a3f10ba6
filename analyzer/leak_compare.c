/* Matching suspects across runs by symbolized identity; see leak_compare.h.
 *
 * Both sides are turned into (identity, suspect) entries, sorted by identity, summed per
 * identity, and merged like two sorted lists: O(n log n) in the number of suspects. */
#include "leak_compare.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct entry {
    char *identity;
    const struct suspect *suspect;
};

/* One identity of one side, summed. */
struct group {
    const char *identity;
    const struct suspect *largest;
    uint64_t bytes, blocks;
};

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

char *leak_identity(const struct suspect *s)
{
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    if (!out)
        return NULL;
    for (uint32_t i = 0; i < s->frame_count; i++) {
        const sym_frame *f = &s->frames[i].sym;
        if (f->function)
            fprintf(out, "%s\t%s\t%d\n", f->function, f->file ? base_name(f->file) : "", f->line);
        else
            fprintf(out, "?\t%s\t0\n", f->module ? base_name(f->module) : "");
    }
    if (!s->frame_count)
        fputs("(no stack)\n", out);
    if (fclose(out) != 0) {
        free(text);
        return NULL;
    }
    return text;
}

static int by_identity(const void *a, const void *b)
{
    const struct entry *x = a, *y = b;
    return strcmp(x->identity, y->identity);
}

/* Sorts one side's suspects by identity and sums each identity into *groups (ordered by
 * identity). `entries` keeps the identity strings, freed by the caller. */
static int group_side(const struct suspect *const *suspects, size_t count, struct entry **entries,
                      struct group **groups, size_t *group_count)
{
    *entries = calloc(count + 1, sizeof **entries);
    *groups = calloc(count + 1, sizeof **groups);
    *group_count = 0;
    if (!*entries || !*groups)
        return -1;
    for (size_t i = 0; i < count; i++) {
        (*entries)[i].suspect = suspects[i];
        if (!((*entries)[i].identity = leak_identity(suspects[i])))
            return -1;
    }
    qsort(*entries, count, sizeof **entries, by_identity);
    for (size_t i = 0; i < count; i++) {
        const struct entry *e = &(*entries)[i];
        struct group *g = *group_count ? &(*groups)[*group_count - 1] : NULL;
        if (!g || strcmp(g->identity, e->identity) != 0) {
            g = &(*groups)[(*group_count)++];
            g->identity = e->identity;
        }
        g->bytes += e->suspect->leaked_bytes;
        g->blocks += e->suspect->leaked_blocks;
        if (!g->largest || e->suspect->leaked_bytes > g->largest->leaked_bytes)
            g->largest = e->suspect;
    }
    return 0;
}

static void free_side(struct entry *entries, size_t count, struct group *groups)
{
    for (size_t i = 0; entries && i < count; i++)
        free(entries[i].identity);
    free(entries);
    free(groups);
}

static enum change_kind classify(const struct group *old, const struct group *new,
                                 const struct growth_threshold *t)
{
    if (!old)
        return CHANGE_NEW;
    if (!new)
        return CHANGE_GONE;
    if (new->bytes < old->bytes)
        return CHANGE_SHRUNK;
    uint64_t increase = new->bytes - old->bytes;
    if (increase > t->bytes && (double)increase > t->percent / 100.0 * (double)old->bytes)
        return CHANGE_GROWN;
    return CHANGE_SAME;
}

static uint64_t magnitude(const struct leak_change *c)
{
    return c->new_bytes > c->old_bytes ? c->new_bytes - c->old_bytes : c->old_bytes - c->new_bytes;
}

static int by_kind_then_size(const void *a, const void *b)
{
    const struct leak_change *x = a, *y = b;
    if (x->kind != y->kind)
        return x->kind < y->kind ? -1 : 1;
    uint64_t mx = magnitude(x), my = magnitude(y);
    if (mx != my)
        return mx > my ? -1 : 1;
    uint64_t bx = x->new_bytes + x->old_bytes, by = y->new_bytes + y->old_bytes;
    return bx > by ? -1 : bx < by;
}

int leak_compare(const struct suspect *const *old_suspects, size_t old_count,
                 const struct suspect *const *new_suspects, size_t new_count,
                 const struct growth_threshold *threshold, struct leak_change **changes,
                 size_t *change_count)
{
    struct entry *old_entries = NULL, *new_entries = NULL;
    struct group *old_groups = NULL, *new_groups = NULL;
    size_t old_n = 0, new_n = 0, n = 0;
    int rc = -1;
    *changes = NULL;
    *change_count = 0;
    if (group_side(old_suspects, old_count, &old_entries, &old_groups, &old_n) < 0 ||
        group_side(new_suspects, new_count, &new_entries, &new_groups, &new_n) < 0)
        goto out;
    struct leak_change *out = calloc(old_n + new_n + 1, sizeof *out);
    if (!out)
        goto out;
    size_t i = 0, k = 0;
    while (i < old_n || k < new_n) {
        int cmp = i == old_n ? 1 : k == new_n ? -1 : strcmp(old_groups[i].identity, new_groups[k].identity);
        const struct group *old = cmp <= 0 ? &old_groups[i++] : NULL;
        const struct group *new = cmp >= 0 ? &new_groups[k++] : NULL;
        out[n++] = (struct leak_change){
            .kind = classify(old, new, threshold),
            .old_suspect = old ? old->largest : NULL,
            .new_suspect = new ? new->largest : NULL,
            .old_bytes = old ? old->bytes : 0, .old_blocks = old ? old->blocks : 0,
            .new_bytes = new ? new->bytes : 0, .new_blocks = new ? new->blocks : 0,
        };
    }
    qsort(out, n, sizeof *out, by_kind_then_size);
    *changes = out;
    *change_count = n;
    rc = 0;
out:
    free_side(old_entries, old_count, old_groups);
    free_side(new_entries, new_count, new_groups);
    return rc;
}

const char *leak_change_name(enum change_kind kind)
{
    static const char *names[] = {"new", "grown", "shrunk", "gone", "same"};
    return names[kind];
}
