/* libunwind's memory-validation pipe at high descriptor numbers; see unwind_pipe.c. */
#ifndef LEAKSHIM_UNWIND_PIPE_H
#define LEAKSHIM_UNWIND_PIPE_H

#include "capture.h"

/* Tells where libunwind's code is. Call before libunwind's first use (it makes its pipe then). */
void unwind_pipe_init(const struct unwinder_module *unwinder);

#endif
