/* 100,000 distinct leaking stacks, for the HTML report's scale test: main calls descend,
 * which calls one of ten functions digit0 .. digit9 chosen by a decimal digit of the
 * block's number, each of which calls descend again, five levels deep; the last descend
 * allocates. Block n (0 .. 99,999) is leaked from the stack spelling n's digits and is
 * 16 + 8 * (n % 7) bytes. */
#include <stdlib.h>

#define NOINLINE __attribute__((noinline))
#define LEVELS 5
#define BLOCKS 100000

static void *volatile blocks[BLOCKS];

NOINLINE void descend(unsigned n, int level);

#define DIGIT(d) NOINLINE void digit##d(unsigned n, int level) { descend(n, level); }
DIGIT(0) DIGIT(1) DIGIT(2) DIGIT(3) DIGIT(4) DIGIT(5) DIGIT(6) DIGIT(7) DIGIT(8) DIGIT(9)

static void (*const digits[10])(unsigned, int) = {digit0, digit1, digit2, digit3, digit4,
                                                  digit5, digit6, digit7, digit8, digit9};

NOINLINE void descend(unsigned n, int level)
{
    static const unsigned powers[LEVELS] = {1, 10, 100, 1000, 10000};
    if (level == 0) {
        blocks[n] = malloc(16 + 8 * (n % 7)); /* LEAF-ALLOCATION */
        return;
    }
    digits[n / powers[level - 1] % 10](n, level - 1);
}

int main(void)
{
    for (unsigned n = 0; n < BLOCKS; n++)
        descend(n, LEVELS);
    return 0;
}
