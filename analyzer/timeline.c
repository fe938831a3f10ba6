/* The heap time line's storage; see timeline.h. */
#include "timeline.h"

#include <stdlib.h>
#include <string.h>

/* Makes room for one more element of `size` bytes in *items. 0, or -1 on out of memory. */
static int grow(void **items, size_t *capacity, size_t count, size_t size)
{
    if (count < *capacity)
        return 0;
    size_t cap = *capacity ? 2 * *capacity : 64;
    void *grown = realloc(*items, cap * size);
    if (!grown)
        return -1;
    *items = grown;
    *capacity = cap;
    return 0;
}

int timeline_add_point(struct timeline *t, const struct heap_point *p)
{
    if (grow((void **)&t->points, &t->capacity, t->count, sizeof *p) < 0)
        return -1;
    t->points[t->count++] = *p;
    return 0;
}

int timeline_add_mark(struct timeline *t, uint64_t ns, unsigned origin, const char *name)
{
    if (grow((void **)&t->marks, &t->mark_capacity, t->mark_count, sizeof *t->marks) < 0)
        return -1;
    struct mark *m = &t->marks[t->mark_count];
    m->ns = ns;
    m->origin = origin;
    m->name = strdup(name);
    if (!m->name)
        return -1;
    t->mark_count++;
    return 0;
}

const struct mark *timeline_find_mark(const struct timeline *t, const char *name)
{
    for (size_t i = 0; i < t->mark_count; i++)
        if (strcmp(t->marks[i].name, name) == 0)
            return &t->marks[i];
    return NULL;
}

void timeline_free(struct timeline *t)
{
    for (size_t i = 0; i < t->mark_count; i++)
        free(t->marks[i].name);
    free(t->marks);
    free(t->points);
    memset(t, 0, sizeof *t);
}
