#include "base/signals.h"

#include <signal.h>
#include <stddef.h>
#include <time.h>

static void stop_set(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGUSR1);
    sigaddset(set, SIGUSR2);
}

int signals_block_stop(void)
{
    sigset_t set;
    stop_set(&set);
    return sigprocmask(SIG_BLOCK, &set, NULL) == 0 ? 0 : -1;
}

int signals_take_stop(void)
{
    sigset_t pending, stop;
    stop_set(&stop);
    if (sigpending(&pending) != 0)
        return 0;
    for (int sig = 1; sig < NSIG; sig++) {
        if (!sigismember(&stop, sig) || !sigismember(&pending, sig))
            continue;
        sigset_t one;
        sigemptyset(&one);
        sigaddset(&one, sig);
        struct timespec zero = {0, 0};
        if (sigtimedwait(&one, NULL, &zero) == sig)
            return sig;
    }
    return 0;
}

const char *signals_name(int sig)
{
    switch (sig) {
    case SIGTERM: return "SIGTERM";
    case SIGUSR1: return "SIGUSR1";
    case SIGUSR2: return "SIGUSR2";
    default: return "a signal";
    }
}
