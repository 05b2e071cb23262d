#!/usr/bin/env bash
# Stops the Slurm started by slurm_up.sh in $1, by the PIDs in its pid files (read before killing: the
# daemons delete them on exit), and waits until they are gone.
dir=$1
pids=""
for f in "$dir/slurmd.pid" "$dir/slurmctld.pid" "$dir/munge/munged.pid"; do
    [ -f "$f" ] && pids="$pids $(cat "$f")"
done
for p in $pids; do kill "$p" 2>/dev/null; done
for _ in $(seq 1 100); do
    alive=0
    for p in $pids; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ $alive = 0 ] && exit 0
    sleep 0.1
done
for p in $pids; do kill -9 "$p" 2>/dev/null; done
exit 0
