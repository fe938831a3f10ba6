/* libFuzzer target: any byte string as a trace. Decodes it with the trace reader and applies
 * every record to a replay, as `leakshim report` does (symbolization, which reads the
 * module files a trace names, is left out: it would fuzz the machine's libraries). Must never crash, hang, or allocate out
 * of proportion to the input (ASan and libFuzzer's -rss_limit_mb watch for that). */
#include <stddef.h>
#include <stdint.h>

#include "replay.h"
#include "trace_reader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct trace_reader reader;
    if (trace_reader_open_memory(&reader, data, size, "fuzz") != TRACE_OK)
        return 0;
    struct replay r;
    if (replay_init(&r) == 0) {
        static struct trace_record rec;
        char error[256];
        while (trace_reader_next(&reader, &rec) == TRACE_OK &&
               replay_apply(&r, &rec, error, sizeof error) == 0) {
        }
        replay_free(&r);
    }
    trace_reader_close(&reader);
    return 0;
}
