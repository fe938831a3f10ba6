/* Interposed changes of identity and root: setuid, setgid, seteuid, setegid, setreuid,
 * setregid, setresuid, setresgid and chroot. A program started by root that becomes another
 * user, or changes its root directory, can no longer open its trace (mode 0600, root's) or
 * remove its ring file by their paths; so before the real call, while it still may, the shim
 * holds a descriptor on the trace and removes the ring file (lifecycle.h,
 * shim_before_identity_change). The real call's return value and errno are the program's.
 *
 * The real functions are looked up all at once (dlsym(RTLD_NEXT)) by the constructor, or by
 * the first call if it comes earlier (a library's constructor), never later: setuid and
 * setgid are async-signal-safe, dlsym is not. Changes made without these symbols (glibc's
 * internal calls in posix_spawn, a raw syscall, setfsuid, capabilities) go unseen. */
#include <dlfcn.h>
#include <errno.h>
#include <stdatomic.h>
#include <sys/types.h>

#include "guard.h"
#include "lifecycle.h"

#define EXPORT __attribute__((visibility("default")))

struct real_identity {
    int (*setuid)(uid_t);
    int (*setgid)(gid_t);
    int (*seteuid)(uid_t);
    int (*setegid)(gid_t);
    int (*setreuid)(uid_t, uid_t);
    int (*setregid)(gid_t, gid_t);
    int (*setresuid)(uid_t, uid_t, uid_t);
    int (*setresgid)(gid_t, gid_t, gid_t);
    int (*chroot)(const char *);
};
static struct real_identity real_id;
static _Atomic int resolved;

#define RESOLVE(field) *(void **)&next.field = dlsym(RTLD_NEXT, #field)

static void resolve(void)
{
    if (atomic_load_explicit(&resolved, memory_order_acquire))
        return;
    struct real_identity next = {0};
    shim_guard++; /* dlsym may allocate */
    RESOLVE(setuid);
    RESOLVE(setgid);
    RESOLVE(seteuid);
    RESOLVE(setegid);
    RESOLVE(setreuid);
    RESOLVE(setregid);
    RESOLVE(setresuid);
    RESOLVE(setresgid);
    RESOLVE(chroot);
    shim_guard--;
    real_id = next; /* racing threads store the same values */
    atomic_store_explicit(&resolved, 1, memory_order_release);
}

__attribute__((constructor)) static void identity_constructor(void)
{
    resolve();
}

/* Before each real call: errno is the program's again when the real function runs. */
static void before_change(void)
{
    int saved = errno;
    resolve();
    shim_before_identity_change();
    errno = saved;
}

/* Each hook: the shim's preparation, then the real call, whose result and errno are returned. */
#define IDENTITY_HOOK(name, params, args) \
    EXPORT int name params                \
    {                                     \
        before_change();                  \
        return real_id.name args;         \
    }

IDENTITY_HOOK(setuid, (uid_t uid), (uid))
IDENTITY_HOOK(setgid, (gid_t gid), (gid))
IDENTITY_HOOK(seteuid, (uid_t euid), (euid))
IDENTITY_HOOK(setegid, (gid_t egid), (egid))
IDENTITY_HOOK(setreuid, (uid_t ruid, uid_t euid), (ruid, euid))
IDENTITY_HOOK(setregid, (gid_t rgid, gid_t egid), (rgid, egid))
IDENTITY_HOOK(setresuid, (uid_t ruid, uid_t euid, uid_t suid), (ruid, euid, suid))
IDENTITY_HOOK(setresgid, (gid_t rgid, gid_t egid, gid_t sgid), (rgid, egid, sgid))
IDENTITY_HOOK(chroot, (const char *path), (path))
