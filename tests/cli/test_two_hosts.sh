#!/usr/bin/env bash
# The pipeline on two hosts that share nothing but a network and the run folder: two network namespaces
# (each with its own host name) joined by a veth pair, Open MPI launching the second host's daemon
# through a launch agent that enters its namespace instead of ssh, TCP only (no shared memory between
# the hosts).  The result must equal a one-host run with the same rank layout (2 ranks, TCP).
# docs/clusters.md says how a site runs the same.  Needs root, ip(8) and unshare(1); else skips.
. "$(dirname "$0")/lib.sh"
CFG=tests/data/train_tiny.yaml
NS1=mxa$$ NS2=mxb$$ IP1=10.231.$(($$ % 200)).1 IP2=10.231.$(($$ % 200)).2
if [ "$(id -u)" != 0 ] || ! command -v ip >/dev/null || ! command -v unshare >/dev/null ||
    ! ip netns add "$NS1" 2>/dev/null; then
    echo "ok - two hosts (SKIPPED: needs root with ip netns and unshare)"
    t_finish
fi
cleanup() {
    ip netns del "$NS1" 2>/dev/null
    ip netns del "$NS2" 2>/dev/null
}
trap cleanup EXIT
ip netns add "$NS2" && ip link add "v$NS1" type veth peer name "v$NS2" &&
    ip link set "v$NS1" netns "$NS1" && ip link set "v$NS2" netns "$NS2" &&
    ip netns exec "$NS1" ip addr add "$IP1/24" dev "v$NS1" && ip netns exec "$NS2" ip addr add "$IP2/24" dev "v$NS2" &&
    ip netns exec "$NS1" ip link set "v$NS1" up && ip netns exec "$NS2" ip link set "v$NS2" up &&
    ip netns exec "$NS1" ip link set lo up && ip netns exec "$NS2" ip link set lo up
[ $? = 0 ] && t_ok "two hosts: network namespaces $NS1 ($IP1) and $NS2 ($IP2) joined by veth" ||
    t_fail "two hosts: the namespaces" "ip failed"

# The launch agent Open MPI calls as it would call ssh: AGENT [options] HOST COMMAND...
cat >"$TMP/agent" <<EOF
#!/bin/bash
while [ "\${1#-}" != "\$1" ]; do shift; done
host=\$1
shift
case \$host in
    $IP1) ns=$NS1 ;;
    $IP2) ns=$NS2 ;;
    *) echo "agent: unknown host \$host" >&2; exit 1 ;;
esac
exec ip netns exec \$ns unshare --uts /bin/sh -c "hostname \$ns; exec \$*"
EOF
chmod +x "$TMP/agent"
NET=(--mca btl tcp,self --mca oob_tcp_if_include "$IP1/24" --mca btl_tcp_if_include "$IP1/24")
# on_host1 CMD...: runs CMD as the first host (its namespace and host name).
on_host1() { ip netns exec "$NS1" unshare --uts /bin/sh -c 'hostname "$0"; exec "$@"' "$NS1" "$@"; }

t_run on_host1 "$MPIRUN" --mca plm_rsh_agent "$TMP/agent" "${NET[@]}" --host "$IP1,$IP2" -np 2 /bin/sh -c \
    'echo "rank $OMPI_COMM_WORLD_RANK on $(hostname)"'
t_expect "mpirun starts one rank on each host" 0 "rank 0 on $NS1" "rank 1 on $NS2"

SETS=(--set "peft.method=[full, lora]" --set train.epochs=8 --set train.ranks_per_run=2)
t_run on_host1 "$MPIRUN" --mca plm_rsh_agent "$TMP/agent" "${NET[@]}" --host "$IP1,$IP2" -np 2 \
    "$MIXPHM" run "$CFG" "${SETS[@]}" --set "run.dir=\"$TMP/two\""
t_expect "the whole pipeline on two hosts (features in parallel HDF5 over MPI-IO, data-parallel training)" 0 \
    "features: every transfer was collective" "lora-k16-s13: test accuracy" "aggregate: done"
t_run "$MPIRUN" --mca btl tcp,self -np 2 "$MIXPHM" run "$CFG" "${SETS[@]}" --set "run.dir=\"$TMP/one\""
t_expect "the same on one host, 2 ranks over TCP" 0 "aggregate: done"
cmp -s "$TMP/one/features.h5" "$TMP/two/features.h5" && t_ok "features.h5: byte-identical" ||
    t_fail "features.h5 identical" "differs"
for run in pretrain full-k16-s13 lora-k16-s13; do
    f=last.h5
    [ $run = pretrain ] && f=backbone.h5
    t_run "$BUILD/tests/probes/compare_runs" weights "$TMP/one/runs/$run/$f" "$TMP/two/runs/$run/$f" 0 0
    t_expect "$run: bit-identical weights on two hosts and on one" 0 "0 beyond tolerance"
done
cmp -s "$TMP/one/runs/lora-k16-s13/predictions.json" "$TMP/two/runs/lora-k16-s13/predictions.json" &&
    t_ok "the same predictions" || t_fail "the same predictions" "differ"
# Two groups of one rank, one per host: without one-sided MPI over TCP the groups take the runs in turn.
rm -rf "$TMP/two/runs/full-k16-s13" "$TMP/two/runs/lora-k16-s13"
t_run on_host1 "$MPIRUN" --mca plm_rsh_agent "$TMP/agent" "${NET[@]}" --host "$IP1,$IP2" -np 2 \
    "$MIXPHM" train "$CFG" "${SETS[@]}" --set train.ranks_per_run=1 --set "run.dir=\"$TMP/two\""
t_expect "two groups, one on each host, train the sweep" 0 "g0: full-k16-s13: done" "g1: lora-k16-s13: done"
rm -rf "$TMP/one/runs/full-k16-s13" "$TMP/one/runs/lora-k16-s13"
t_run "$MPIRUN" --mca btl tcp,self -np 2 "$MIXPHM" train "$CFG" "${SETS[@]}" --set train.ranks_per_run=1 \
    --set "run.dir=\"$TMP/one\""
t_expect "the same two groups on one host" 0 "full-k16-s13: done" "lora-k16-s13: done"
for run in full-k16-s13 lora-k16-s13; do
    t_run "$BUILD/tests/probes/compare_runs" weights "$TMP/one/runs/$run/last.h5" "$TMP/two/runs/$run/last.h5" 0 0
    t_expect "$run, trained by one group on either host, equals the one-host run" 0 "0 beyond tolerance"
done
t_finish
