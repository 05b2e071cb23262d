#!/usr/bin/env bash
# Waits for Slurm job $1 to end (polls scontrol every 0.2 s, up to $2 seconds, default 600) and prints
# its final JobState.  Exits 0 only for COMPLETED: `sbatch --wait` returns 0 for a job that was
# cancelled because its dependency failed.
job=$1
limit=${2:-600}
end=$((SECONDS + limit))
while [ $SECONDS -lt $end ]; do
    state=$(scontrol show job -o "$job" 2>/dev/null | grep -o 'JobState=[A-Z_]*' | cut -d= -f2)
    case "$state" in
        COMPLETED) echo "$state"; exit 0 ;;
        FAILED|CANCELLED|TIMEOUT|NODE_FAIL|PREEMPTED|OUT_OF_MEMORY|BOOT_FAIL|DEADLINE) echo "$state"; exit 1 ;;
    esac
    sleep 0.2
done
echo "TIMEOUT_WAITING($state)"
exit 1
