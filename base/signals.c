#include "base/signals.h"

#include <signal.h>
#include <stddef.h>

/* Written only by the handler, read and cleared by signals_take_stop (see signals.h for why this is
 * global). */
static volatile sig_atomic_t received_stop;

static void on_stop(int sig)
{
    received_stop = sig;
}

int signals_catch_stop(void)
{
    struct sigaction sa;
    sa.sa_handler = on_stop;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    const int sigs[] = {SIGTERM, SIGUSR1, SIGUSR2};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        if (sigaction(sigs[i], &sa, NULL) != 0)
            return -1;
    return 0;
}

int signals_take_stop(void)
{
    int sig = received_stop;
    if (sig)
        received_stop = 0;
    return sig;
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
