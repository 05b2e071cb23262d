#!/usr/bin/env bash
# The abort path: a failing rank makes mpirun exit non-zero with the rank and the message, and no rank
# is left waiting; a collective error is printed once.
. "$(dirname "$0")/lib.sh"
PROBE=$BUILD/tests/probes/failure_probe

for np in 2 4; do
    t_run timeout 60 "$MPIRUN" -np $np "$PROBE" abort
    [ "$RC" != 0 ] && [ "$RC" != 124 ] && t_ok "np $np: a failing rank fails the job" ||
        t_fail "np $np: a failing rank fails the job" "exit status $RC (124 = hung)"
    t_expect "np $np: the abort names the rank and the reason" "$RC" \
        "mixphm: rank $((np - 1))/$np" "error: deliberate failure in the probe (abort)"
    t_run timeout 60 "$MPIRUN" -np $np "$PROBE" mpi-error
    [ "$RC" != 0 ] && [ "$RC" != 124 ] && t_ok "np $np: an MPI error fails the job" ||
        t_fail "np $np: an MPI error fails the job" "exit status $RC"
    t_expect "np $np: an MPI error goes through the abort path" "$RC" "mixphm: rank 0/$np" "MPI error: MPI_ERR_RANK"
    t_run timeout 60 "$MPIRUN" -np $np "$PROBE" collective
    [ "$RC" != 0 ] && [ "$RC" != 124 ] && t_ok "np $np: a collective error fails the job" ||
        t_fail "np $np: a collective error fails the job" "exit status $RC"
    t_expect_count "np $np: a collective error is printed once" 1 "every rank agrees this config is wrong"
    t_run timeout 60 "$MPIRUN" -np $np "$PROBE" ok
    t_expect "np $np: the probe without a failure succeeds" 0
done
t_finish
