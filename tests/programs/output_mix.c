/* Writes a known mix to stdout and stderr (stdio, unbuffered stderr, raw write(2), binary
 * bytes, an atexit handler) while allocating, and exits with status 5. Its output must be
 * byte-identical with and without the shim. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))

static void *volatile sink[8];

NOINLINE char *make_line(int i)
{
    char *s = malloc(64);
    snprintf(s, 64, "line %05d %08x\n", i, (unsigned)i * 2654435761u);
    return s;
}

NOINLINE void output_leak(void) { sink[0] = malloc(1234); }

static void at_end(void)
{
    printf("atexit handler ran\n");
    fprintf(stderr, "stderr from atexit\n");
}

int main(void)
{
    atexit(at_end);
    output_leak(); /* a leak, to give the shim something to say */
    for (int i = 0; i < 20000; i++) {
        char *s = make_line(i);
        fputs(s, stdout);
        if (i % 1000 == 0) {
            fprintf(stderr, "progress %d\n", i);
            dprintf(2, "raw stderr %d\n", i);
        }
        free(s);
    }
    fflush(stdout);
    unsigned char bin[256];
    for (int i = 0; i < 256; i++)
        bin[i] = (unsigned char)i;
    if (write(1, bin, sizeof bin) != (ssize_t)sizeof bin)
        return 2;
    printf("\nno newline at the end");
    exit(5);
}
