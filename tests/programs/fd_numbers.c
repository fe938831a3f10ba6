/* Allocates and frees 2 million blocks of 1 to 200 bytes, so that the shim extends its trace
 * file (uncompressed) a few hundred times; leaks fd_numbers_leak 3 x 77 B. The test runs it
 * under strace and looks at the descriptor of every call made on the shim's files. */
#include <stdlib.h>

static void *volatile sink;

__attribute__((noinline)) static void fd_numbers_leak(void) { sink = malloc(77); }

int main(void)
{
    static void *volatile keep[256];
    for (int i = 0; i < 2000000; i++) {
        free(keep[i & 255]);
        keep[i & 255] = malloc((size_t)(i % 200) + 1);
    }
    for (int i = 0; i < 256; i++)
        free(keep[i]);
    for (int i = 0; i < 3; i++)
        fd_numbers_leak();
    return 0;
}
