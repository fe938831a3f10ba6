/* Linked with libdtor_lib.so (tests/programs/life_dtor_lib.c), whose destructor frees what its
 * constructor allocated and leaks 3 x 17 B. Ends by returning from main, or by exit() with
 * "exit"; leaks main_leak 40 B itself. */
#include <stdlib.h>
#include <string.h>

void dtor_lib_touch(void);
static void *volatile sink;

__attribute__((noinline)) void main_leak(void) { sink = malloc(40); }

int main(int argc, char **argv)
{
    dtor_lib_touch();
    main_leak();
    if (argc > 1 && strcmp(argv[1], "exit") == 0)
        exit(0);
    return 0;
}
