#!/usr/bin/env bash
# Starts a throw-away single-node Slurm (munged, slurmctld, slurmd) with everything under $1, for the
# job tests; tests/slurm/slurm_down.sh stops it by PID.  Needs root and the Debian packages slurmctld,
# slurmd, slurm-client and munge.  Prints the SLURM_CONF to export.
set -euo pipefail
dir=$(cd "$1" && pwd)
mkdir -p "$dir"/{munge,state,spool,logs,pmix}
chmod 755 "$dir" "$dir/munge"                 # munged wants its socket folder a+x
[ -f "$dir/munge/munge.key" ] || mungekey --create --keyfile="$dir/munge/munge.key"
chmod 600 "$dir/munge/munge.key"
cpus=$(nproc)
mem=$(( $(free -m | awk '/^Mem:/ {print $2}') * 9 / 10 ))
cat >"$dir/slurm.conf" <<CONF
ClusterName=mixphmtest
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
SlurmctldPort=${SLURM_TEST_PORT:-6817}
SlurmdPort=$(( ${SLURM_TEST_PORT:-6817} + 1 ))
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge/munge.socket
MpiDefault=pmix
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0
DependencyParameters=kill_invalid_depend
EnforcePartLimits=ALL
ReturnToService=2
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/logs/slurmctld.log
SlurmdLogFile=$dir/logs/slurmd.log
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
KillWait=10
MinJobAge=600
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$cpus Sockets=1 CoresPerSocket=$cpus ThreadsPerCore=1 RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:4
CONF
# PMIx's per-step folders go here, not /tmp: job ids restart at 1 in every throw-away Slurm, and a
# folder left by a killed earlier one would make that step's launch fail.
echo "PMIxCliTmpDirBase=$dir/pmix" >"$dir/mpi.conf"
export SLURM_CONF="$dir/slurm.conf"
munged --socket="$dir/munge/munge.socket" --key-file="$dir/munge/munge.key" \
    --log-file="$dir/munge/munged.log" --pid-file="$dir/munge/munged.pid" --seed-file="$dir/munge/munged.seed"
slurmctld -f "$SLURM_CONF"
slurmd -f "$SLURM_CONF" -N localhost
for _ in $(seq 1 200); do
    sinfo -h -o '%T' 2>/dev/null | grep -qxE 'idle|mixed|allocated' && { echo "$SLURM_CONF"; exit 0; }
    sleep 0.1
done
echo "slurm_up: the node did not become idle; see $dir/logs" >&2
exit 1
