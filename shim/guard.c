/* The re-entrancy guard's storage; see guard.h. */
#include "guard.h"

__thread int shim_guard __attribute__((tls_model("initial-exec")));
