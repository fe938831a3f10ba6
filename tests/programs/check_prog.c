/* Leaks of known sizes for `leakshim check` and `leakshim diff` (test_check.py). The mode
 * chooses what leaks, so that runs can be compared with each other:
 *   base   site_one: 10 blocks of 100 bytes
 *   grown  site_one: 20 blocks of 100 bytes
 *   new    site_one: 10 blocks of 100 bytes, and site_two: 1 block of 64 bytes
 *   none   nothing
 * Every mode also prints to stdout, so that stdio's buffer is outstanding at exit (a
 * one-time allocation that the default suppressions cover). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void *kept[64]; /* global: the stores (and the mallocs) cannot be optimized away */
int kept_count;

__attribute__((noinline)) static void site_one(int blocks)
{
    for (int i = 0; i < blocks; i++)
        kept[kept_count++] = malloc(100); /* SITE-ONE-MALLOC */
}

__attribute__((noinline)) static void site_two(void)
{
    kept[kept_count++] = malloc(64); /* SITE-TWO-MALLOC */
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "base";
    printf("check_prog: %s\n", mode);
    int blocks = strcmp(mode, "grown") == 0 ? 20 : strcmp(mode, "none") == 0 ? 0 : 10;
    site_one(blocks); /* one call site in every mode: the same stack */
    if (strcmp(mode, "new") == 0)
        site_two();
    return 0;
}
