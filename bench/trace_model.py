#!/usr/bin/env python3
"""What other encodings of the same events would make of a trace's size (bench/README.md,
"Trace size"): an offline model, not a part of leakshim.

Reads a trace written with LEAKSHIM_COMPRESS=0 (plain records, shim/FORMAT.md), re-encodes its
ALLOC, FREE and REALLOC records in each way below, keeps every other record as it is, and
compresses the result in 64 KiB chunks with zstd (level 1, as the shim; level 3 beside it),
through libzstd. Prints bytes per event for each:

  as written      the records as the shim writes them (addresses as deltas)
  recent frees    no state per live block: an allocation whose address is one of the last 64
                  freed addresses is written as its place among them
  slots           the writer numbers live blocks (a freed block's number is reused, last freed
                  first) and writes a free as the block's number: a table of every live block
                  in the traced process
  slots + model   slots, and an allocation whose address is one of the last 16 freed blocks of
                  its size class (glibc's 16-byte classes) is written as its place among them

Usage: LEAKSHIM_COMPRESS=0 LEAKSHIM_OUTPUT=/tmp/t LD_PRELOAD=build/libleakshim.so \\
           build/bench/churn --threads 1 --ops 3000000
       python3 bench/trace_model.py /tmp/t        (about 2 minutes for 6 million events)
"""
import collections
import ctypes
import sys

ALLOC, FREE, REALLOC = 4, 5, 6
MASK = 2**64 - 1

zstd = ctypes.CDLL("libzstd.so.1")
zstd.ZSTD_compress.restype = ctypes.c_size_t
zstd.ZSTD_compressBound.restype = ctypes.c_size_t


def compressed_size(data, level, chunk=65536):
    dst = ctypes.create_string_buffer(zstd.ZSTD_compressBound(ctypes.c_size_t(chunk)))
    total = 0
    for i in range(0, len(data), chunk):
        src = bytes(data[i:i + chunk])
        total += zstd.ZSTD_compress(dst, ctypes.c_size_t(len(dst)), src,
                                    ctypes.c_size_t(len(src)), level)
    return total


def varint(b, p):
    value = shift = 0
    while True:
        c = b[p]
        p += 1
        value |= (c & 0x7f) << shift
        shift += 7
        if c < 0x80:
            return value, p


def unzigzag(v):
    return (v >> 1) ^ -(v & 1)


def zigzag(v):
    return ((v << 1) ^ (v >> 63)) & MASK


def uv(x):
    out = bytearray()
    while True:
        b, x = x & 0x7f, x >> 7
        out.append(b | 0x80 if x else b)
        if not x:
            return out


def read_events(path):
    """The trace's records: ('a', address, size, stack), ('f', address), ('r', old, new, size,
    stack), or ('o', raw bytes of any other record)."""
    data = open(path, "rb").read()
    if data[:8] != b"LEAKSHIM":
        sys.exit(f"{path}: not a leakshim trace")
    events, pos, prev = [], 16, 0
    while pos < len(data) and data[pos]:
        kind = data[pos]
        length, p = varint(data, pos + 1)
        end = p + length
        if kind == 16:
            sys.exit(f"{path}: compressed (record it with LEAKSHIM_COMPRESS=0)")
        if kind in (ALLOC, FREE, REALLOC):
            d, p = varint(data, p)
            prev = (prev + unzigzag(d)) & MASK
            if kind == FREE:
                events.append(("f", prev))
            else:
                old = prev
                if kind == REALLOC:
                    d, p = varint(data, p)
                    prev = (old + unzigzag(d)) & MASK
                size, p = varint(data, p)
                stack, p = varint(data, p)
                events.append(("a", prev, size, stack) if kind == ALLOC
                              else ("r", old, prev, size, stack))
        else:
            events.append(("o", data[pos:end]))
        pos = end
    return events


class Recent:
    """The last `depth` addresses put in; take() answers an address's place (1 = newest) and
    removes it, or 0."""

    def __init__(self, depth):
        self.depth, self.items = depth, []

    def put(self, a):
        self.items.append(a)
        if len(self.items) > self.depth:
            del self.items[0]

    def take(self, a):
        for i in range(len(self.items) - 1, -1, -1):
            if self.items[i] == a:
                del self.items[i]
                return len(self.items) - i + 1
        return 0


def encode(events, slots, predictor):
    """predictor: None, 'recent' or 'class'."""
    out, prev = bytearray(), 0
    slot_of, size_of, free_slots, next_slot = {}, {}, [], 0
    recent = Recent(64)
    bins = collections.defaultdict(lambda: Recent(16))

    def record(kind, payload):
        out.append(kind)
        out.extend(uv(len(payload)))
        out.extend(payload)

    def address_field(a, size):
        nonlocal prev
        place = 0
        if predictor == "recent":
            place = recent.take(a)
        elif predictor == "class":
            place = bins[(max(size, 1) + 23) // 16].take(a)
        field = uv(place) if place else (uv(0) if predictor else b"") + uv(zigzag(a - prev))
        prev = a
        return field

    def born(a, size):
        nonlocal next_slot
        size_of[a] = size
        if slots:
            if free_slots:
                slot_of[a] = free_slots.pop()
            else:
                slot_of[a] = next_slot
                next_slot += 1

    def died(a):
        size = size_of.pop(a, None)
        if predictor == "recent":
            recent.put(a)
        elif predictor == "class" and size is not None:
            bins[(max(size, 1) + 23) // 16].put(a)
        if slots and a in slot_of:
            free_slots.append(slot_of.pop(a))

    for e in events:
        if e[0] == "o":
            out.extend(e[1])
        elif e[0] == "f":
            a = e[1]
            # a slot names the block, whose address the reader knows: the next delta starts there
            record(FREE, uv(slot_of[a]) if slots and a in slot_of else uv(zigzag(a - prev)))
            prev = a
            died(a)
        elif e[0] == "a":
            _, a, size, stack = e
            record(ALLOC, address_field(a, size) + uv(size) + uv(stack))
            born(a, size)
        else:
            _, old, new, size, stack = e
            record(REALLOC, uv(zigzag(old - prev)) + uv(zigzag(new - old)) + uv(size) + uv(stack))
            prev = new
            died(old)
            born(new, size)
    return out


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    events = read_events(sys.argv[1])
    n = sum(1 for e in events if e[0] in "af") + 2 * sum(1 for e in events if e[0] == "r")
    print(f"{n:,} events")
    print(f"{'encoding':<16}{'plain B/event':>15}{'zstd -1':>10}{'zstd -3':>10}")
    for name, slots, predictor in (("as written", False, None), ("recent frees", False, "recent"),
                                   ("slots", True, None), ("slots + model", True, "class")):
        out = encode(events, slots, predictor)
        print(f"{name:<16}{len(out) / n:>15.2f}{compressed_size(out, 1) / n:>10.2f}"
              f"{compressed_size(out, 3) / n:>10.2f}")


if __name__ == "__main__":
    main()
