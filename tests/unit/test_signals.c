/* Stop signals are polled, never handled asynchronously. */
#include <signal.h>
#include <unistd.h>

#include "base/signals.h"
#include "tests/harness.h"

static void test_pending_stop_is_taken_once(struct test_ctx *t)
{
    CHECK_INT(t, signals_block_stop(), 0);
    CHECK_INT(t, signals_take_stop(), 0);
    kill(getpid(), SIGUSR1); /* blocked: stays pending instead of killing us */
    CHECK_INT(t, signals_take_stop(), SIGUSR1);
    CHECK_INT(t, signals_take_stop(), 0);
    kill(getpid(), SIGTERM);
    CHECK_INT(t, signals_take_stop(), SIGTERM);
    CHECK_STR(t, signals_name(SIGTERM), "SIGTERM");
    CHECK_STR(t, signals_name(SIGUSR1), "SIGUSR1");
}

int main(int argc, char **argv)
{
    static const struct test tests[] = {
        {"a pending stop signal is taken once", test_pending_stop_is_taken_once},
    };
    return test_main(tests, TEST_COUNT(tests), argc, argv);
}
