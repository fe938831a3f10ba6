/* The writer's estimate of the live heap; see sampled_heap.h. Linear probing with
 * backward-shift deletion (no tombstones) at a load factor of at most 1/2; address 0 marks an
 * empty slot. */
#include "sampled_heap.h"

#include <stdlib.h>

#include "sampler.h"
#include "trace_format.h"

struct entry {
    uint64_t address;
    double bytes;
};

static struct {
    struct entry *slots;
    size_t capacity, count; /* capacity: a power of two, or 0 */
    uint64_t period;
    double bytes;
} heap;

void sampled_heap_reset(uint64_t period, int release)
{
    if (release)
        free(heap.slots);
    heap.slots = NULL;
    heap.capacity = heap.count = 0;
    heap.bytes = 0;
    heap.period = period;
}

static size_t home(uint64_t address, size_t capacity)
{
    return (size_t)((address >> 4) * 0x9E3779B97F4A7C15ull >> 20) & (capacity - 1);
}

static void place(struct entry *slots, size_t capacity, struct entry e)
{
    size_t i = home(e.address, capacity);
    while (slots[i].address)
        i = (i + 1) & (capacity - 1);
    slots[i] = e;
}

static int grow(void)
{
    size_t capacity = heap.capacity ? 2 * heap.capacity : 1024;
    struct entry *slots = calloc(capacity, sizeof *slots);
    if (!slots)
        return -1;
    for (size_t i = 0; i < heap.capacity; i++)
        if (heap.slots[i].address)
            place(slots, capacity, heap.slots[i]);
    free(heap.slots);
    heap.slots = slots;
    heap.capacity = capacity;
    return 0;
}

void sampled_heap_add(uint64_t address, uint64_t size)
{
    if ((heap.count + 1) * 2 > heap.capacity && grow() < 0)
        return;
    double p = sampler_probability(size, heap.period);
    struct entry e = {address, p > 0 ? (double)size / p : 0};
    size_t i = home(address, heap.capacity);
    while (heap.slots[i].address && heap.slots[i].address != address)
        i = (i + 1) & (heap.capacity - 1);
    if (heap.slots[i].address) /* the same address again: its free was not seen */
        heap.bytes -= heap.slots[i].bytes;
    else
        heap.count++;
    heap.slots[i] = e;
    heap.bytes += e.bytes;
}

void sampled_heap_remove(uint64_t address)
{
    if (!heap.count)
        return;
    size_t mask = heap.capacity - 1, i = home(address, heap.capacity);
    while (heap.slots[i].address != address) {
        if (!heap.slots[i].address)
            return;
        i = (i + 1) & mask;
    }
    heap.bytes -= heap.slots[i].bytes;
    heap.count--;
    /* Backward shift: move up every later entry of the run that may sit at i. */
    for (size_t j = (i + 1) & mask; heap.slots[j].address; j = (j + 1) & mask) {
        size_t h = home(heap.slots[j].address, heap.capacity);
        if (((j - h) & mask) >= ((j - i) & mask)) {
            heap.slots[i] = heap.slots[j];
            i = j;
        }
    }
    heap.slots[i].address = 0;
}

double sampled_heap_bytes(void)
{
    return heap.bytes > 0 ? heap.bytes : 0;
}
