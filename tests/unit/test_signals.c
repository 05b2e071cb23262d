/* Stop signals are recorded by the handler and taken by polling, once each. */
#include <signal.h>
#include <unistd.h>

#include "base/signals.h"
#include "tests/harness.h"

static void test_stop_is_recorded_and_taken_once(struct test_ctx *t)
{
    CHECK_INT(t, signals_catch_stop(), 0);
    CHECK_INT(t, signals_take_stop(), 0);
    kill(getpid(), SIGUSR1); /* process-directed, as from mpirun or Slurm: any thread may run the handler */
    for (int i = 0; i < 100 && !signals_take_stop(); i++) {
        usleep(1000);
        if (i == 99)
            CHECK(t, !"SIGUSR1 was not recorded");
    }
    CHECK_INT(t, signals_take_stop(), 0);
    raise(SIGTERM);
    CHECK_INT(t, signals_take_stop(), SIGTERM);
    CHECK_INT(t, signals_take_stop(), 0);
    CHECK_STR(t, signals_name(SIGTERM), "SIGTERM");
    CHECK_STR(t, signals_name(SIGUSR1), "SIGUSR1");
}

int main(int argc, char **argv)
{
    static const struct test tests[] = {
        {"a stop signal is recorded and taken once", test_stop_is_recorded_and_taken_once},
    };
    return test_main(tests, TEST_COUNT(tests), argc, argv);
}
