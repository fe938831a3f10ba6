/* Environment lookup before libc's initializer; see initial_env.h. */
#include "initial_env.h"

#include <stdlib.h>
#include <string.h>

extern char **environ;
extern void *__libc_stack_end; /* the dynamic loader's: the initial stack, at argc */

const char *initial_env_get(const char *name)
{
    if (environ || !__libc_stack_end)
        return getenv(name);
    /* argc, argv[0..], NULL, envp[0..], NULL. The null after argv is searched for rather than
     * counted from argc, which the loader may have rewritten (ld.so PROGRAM ...). */
    char **slot = (char **)__libc_stack_end + 1;
    while (*slot)
        slot++;
    size_t length = strlen(name);
    for (slot++; *slot; slot++)
        if (strncmp(*slot, name, length) == 0 && (*slot)[length] == '=')
            return *slot + length + 1;
    return NULL;
}
