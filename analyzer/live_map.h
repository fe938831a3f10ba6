/* The analyzer's map of outstanding blocks: address -> (requested size, stack id). Open
 * addressing with linear probing and backward-shift deletion (no tombstones), so memory and
 * probe lengths follow the number of live blocks, never the number of events. Address 0 marks
 * an empty slot (no allocator returns it). Used by replay only. */
#ifndef LEAKSHIM_LIVE_MAP_H
#define LEAKSHIM_LIVE_MAP_H

#include <stddef.h>
#include <stdint.h>

struct live_block {
    uint64_t address;
    uint64_t size;
    uint32_t stack;
    uint32_t born; /* replay's: when allocated and whether in the window (BORN_* in replay.c) */
};

struct live_map {
    struct live_block *slots;
    size_t capacity; /* a power of two, or 0 */
    size_t count;
};

void live_map_init(struct live_map *m);
void live_map_free(struct live_map *m);

/* Inserts or replaces the block at b->address. Returns 1 if an existing block was replaced
 * (its old contents copied to *replaced when not NULL), 0 if inserted, -1 on out of memory. */
int live_map_put(struct live_map *m, const struct live_block *b, struct live_block *replaced);

/* Removes the block at `address` into *out. Returns 0, or -1 if it is not live. */
int live_map_take(struct live_map *m, uint64_t address, struct live_block *out);

/* Calls fn for every live block, in no particular order. */
void live_map_each(const struct live_map *m, void (*fn)(const struct live_block *, void *), void *ctx);

#endif
