/* Whether the program's threads are all gone; see leader_exit.h. /proc/self/stat describes the
 * thread-group leader: its state is Z once it has ended while other threads live on, field 20
 * counts the process's threads (an ended leader among them until the process ends) and field
 * 52 holds the leader's status as waitpid reports it (the exit code in bits 8 to 15). The
 * command name (field 2) may hold spaces and parentheses: fields are counted after its last
 * ')'. */
#include "leader_exit.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FIELD_STATE 3
#define FIELD_THREADS 20
#define FIELD_EXIT_CODE 52

int leader_exit_status(void)
{
    char buf[1024];
    int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    if (!p || p[1] != ' ')
        return -1;
    p += 2; /* field 3 */
    long threads = -1, exit_code = -1;
    char state = 0;
    for (int field = FIELD_STATE; field <= FIELD_EXIT_CODE; field++) {
        if (*p == '\0' || *p == '\n')
            return -1;
        if (field == FIELD_STATE)
            state = *p;
        else if (field == FIELD_THREADS)
            threads = strtol(p, NULL, 10);
        else if (field == FIELD_EXIT_CODE)
            exit_code = strtol(p, NULL, 10);
        else {
            p = strchr(p, ' ');
            if (!p)
                return -1;
            p++;
            continue;
        }
        char *space = strchr(p, ' ');
        p = space ? space + 1 : p + strlen(p);
    }
    if (state != 'Z' || threads != 2 || exit_code < 0) /* the ended leader and this one */
        return -1;
    return (int)((exit_code >> 8) & 0xff);
}
