/* Handing libunwind's per-thread trace cache back to the kernel, and reading its frame rules;
 * see unwind_cache.h. */
#include "unwind_cache.h"

#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

/* libunwind 1.6's layout (src/x86_64/Gtrace.c). */
#define UNWIND_TLS_BYTES 16        /* its thread-local block: an int, then the cache pointer */
#define UNWIND_TLS_CACHE_OFFSET 8
#define TABLE_LOG_SIZE 14          /* HASH_MIN_BITS: the table's size at creation */
#define TABLE_PROBES 16            /* trace_lookup's linear probing gives up after this many */

struct trace_cache {              /* unw_trace_cache_t, its first fields */
    struct slot *slots;
    size_t log_size;
    size_t used;                  /* slots filled; at half the table, it grows fourfold */
};
struct slot {                     /* unw_tdep_frame_t (include/tdep-x86_64/libunwind_i.h) */
    uint64_t address;
    int64_t frame_type : 3;       /* UNWIND_FRAME_STANDARD, ... (2 bits in older versions) */
    int64_t last_frame : 1;
    int64_t cfa_reg_rsp : 1;
    int64_t cfa_reg_offset : 29;
    int64_t rbp_cfa_offset : 15;  /* -1: not saved */
    int64_t rsp_cfa_offset : 15;
};
#define UNWIND_FRAME_STANDARD (-2) /* CFA = rsp or rbp + offset, return address at CFA - 8 */

/* The argument of __tls_get_addr on x86-64 (ld.so's tls_index). */
struct tls_index {
    unsigned long module, offset;
};
extern void *__tls_get_addr(struct tls_index *ti);

__thread int unwind_cache_done __attribute__((tls_model("initial-exec")));
static unsigned long unwind_module; /* libunwind's TLS module id, 0 if not recognised */

void unwind_cache_init(const struct unwinder_module *unwinder)
{
    if (unwinder->tls_bytes == UNWIND_TLS_BYTES)
        unwind_module = unwinder->tls_modid;
}

/* The slot of `address` in a table of 2^log_size slots, as trace_lookup finds it, or NULL. */
static const struct slot *lookup(const struct slot *slots, size_t log_size, uint64_t address)
{
    uint64_t mask = ((uint64_t)1 << log_size) - 1;
    uint64_t i = ((address * 0x9e3779b97f4a7c16ull) >> 43) & mask;
    for (int probe = 0; probe < TABLE_PROBES; probe++, i = (i + 1) & mask) {
        if (slots[i].address == address)
            return &slots[i];
        if (slots[i].address == 0)
            return NULL;
    }
    return NULL;
}

/* This thread's trace cache, or NULL when libunwind was not recognised or has none yet. */
static struct trace_cache *thread_cache(void)
{
    if (!unwind_module)
        return NULL;
    struct tls_index ti = {unwind_module, 0};
    const char *block = __tls_get_addr(&ti);
    if (!block)
        return NULL;
    return *(struct trace_cache *const *)(block + UNWIND_TLS_CACHE_OFFSET);
}

int unwind_cache_rule(uint64_t address, struct unwind_rule *out)
{
    const struct trace_cache *cache = thread_cache();
    if (!cache || !cache->slots || cache->log_size < TABLE_LOG_SIZE || cache->log_size > 30)
        return 0;
    const struct slot *s = lookup(cache->slots, cache->log_size, address);
    if (!s)
        return 0;
    out->last = s->last_frame != 0;
    out->standard = s->frame_type == UNWIND_FRAME_STANDARD;
    out->cfa_on_rsp = s->cfa_reg_rsp != 0;
    out->cfa_offset = (int32_t)s->cfa_reg_offset;
    out->rbp_offset = (int32_t)s->rbp_cfa_offset;
    return 1;
}

void unwind_cache_trim(void *const *buffer, unsigned n)
{
    /* Every address of the buffer but the last was looked up in the table (tdep_trace looks
     * an address up before it unwinds past it), as the address of the call instruction (one
     * byte before the return address) or, after a signal frame, as it is; two of them at
     * least make a fingerprint. */
    if (n < 3)
        return;
    unwind_cache_done = 1;
    struct trace_cache *cache = thread_cache();
    if (!cache || cache->log_size != TABLE_LOG_SIZE || !cache->slots)
        return;
    size_t bytes = ((size_t)1 << TABLE_LOG_SIZE) * sizeof(struct slot);
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    if ((uintptr_t)cache->slots & (page - 1))
        return;
    for (unsigned i = 0; i + 1 < n; i++) {
        uint64_t address = (uint64_t)(uintptr_t)buffer[i];
        if (!lookup(cache->slots, TABLE_LOG_SIZE, address - 1) &&
            !lookup(cache->slots, TABLE_LOG_SIZE, address))
            return;
    }
    /* The table is empty now, and so is its count of filled slots (the slots of the first
     * backtrace would otherwise count twice towards libunwind's growing the table). */
    if (madvise(cache->slots, bytes, MADV_DONTNEED) == 0)
        cache->used = 0;
}
