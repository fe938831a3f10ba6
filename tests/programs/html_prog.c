/* Known leaks for the HTML report's test, over about a second of heap time line:
 *   remember_session  leaks 64 B per request, 200 requests 4 ms apart: the growing leak that
 *                     ranks first (12,800 B in 200 blocks)
 *   load_settings     4096 B once at start, kept: not growing
 *   parse_request     512 B per request, always freed: allocated only (102,400 B in all)
 * The mark "warm" comes after the 20th request. No stdio, no threads: no other allocation.
 * Each allocating line carries a marker comment, for the expected source line. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "leakshim.h"

#define NOINLINE __attribute__((noinline))
#define REQUESTS 200

static void *volatile sink;

NOINLINE void *load_settings(void)
{
    char *settings = malloc(4096); /* SETTINGS-LEAK */
    memset(settings, 0, 4096);
    return settings;
}

NOINLINE void remember_session(unsigned id)
{
    char *session = malloc(64); /* SESSION-LEAK */
    session[0] = (char)id;
    sink = session;
}

NOINLINE void parse_request(unsigned id)
{
    char *buffer = malloc(512); /* REQUEST-BUFFER */
    buffer[0] = (char)id;
    sink = buffer;
    free(buffer);
}

NOINLINE void serve(unsigned id)
{
    parse_request(id);
    remember_session(id);
}

int main(void)
{
    static void *volatile settings;
    settings = load_settings();
    for (unsigned i = 0; i < REQUESTS; i++) {
        serve(i);
        if (i == 19)
            leakshim_mark("warm");
        struct timespec pause = {0, 4 * 1000 * 1000};
        nanosleep(&pause, NULL);
    }
    return 0;
}
