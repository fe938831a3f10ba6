/* libunwind's memory-validation pipe at high descriptor numbers; see unwind_pipe.c. */
#ifndef LEAKSHIM_UNWIND_PIPE_H
#define LEAKSHIM_UNWIND_PIPE_H

/* Finds libunwind's code. Call before libunwind's first use (it makes its pipe then). */
void unwind_pipe_init(void);

#endif
