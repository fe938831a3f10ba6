/* The records that the allocation hooks put into the ring and the writer takes out (shim
 * internal; the trace file's own records are in trace_format.h). Word layouts, after the
 * header word made by ring_header(type, nwords, aux):
 *
 *   EVENT_ALLOC    aux = depth   | address | requested size | frames[depth]
 *   EVENT_REALLOC  aux = depth   | old address | new address | requested size | frames[depth]
 *   EVENT_FREE                   | address
 *   EVENT_NOTHING                | (any words): a reservation whose call failed; skipped
 *   EVENT_EXEC, EVENT_EXEC_FAILED  (no payload): markers around an exec call
 *   EVENT_MARK     aux = name length | name bytes, packed little-endian into words (a call)
 *                  aux = MARK_AUX_SIGNAL  | n: the mark "signal-n"
 */
#ifndef LEAKSHIM_EVENTS_H
#define LEAKSHIM_EVENTS_H

enum event_type {
    EVENT_ALLOC = 1,
    EVENT_FREE = 2,
    EVENT_REALLOC = 3,
    EVENT_NOTHING = 4,
    EVENT_EXEC = 5,
    EVENT_EXEC_FAILED = 6,
    EVENT_MARK = 7,
};

#define EVENT_ALLOC_FIXED_WORDS 3   /* header, address, size */
#define EVENT_REALLOC_FIXED_WORDS 4 /* header, old, new, size */
#define EVENT_FREE_WORDS 2
#define MARK_AUX_SIGNAL 0x10000u /* above every name length */

#endif
