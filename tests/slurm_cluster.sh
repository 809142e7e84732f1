#!/usr/bin/env bash
# slurm_cluster.sh: starts and stops a real one-node Slurm cluster (Debian's slurm-wlm and munge) in a folder of its own, for the Slurm tests.
#
#   tests/slurm_cluster.sh start DIR   # exit 0: running, DIR/env holds SLURM_CONF=... to export
#                                      # exit 77: skipped (not root, packages absent), reason on stdout
#   tests/slurm_cluster.sh stop DIR    # stops exactly the daemons it started, by their pid files
#
# Everything lives under DIR: the munge key and socket, slurm.conf, the controller's state,
# the node's spool, the logs and the pid files; the ports are free ones picked at start, so
# two clusters (or a system Slurm) on one machine do not meet. The clients (sbatch, squeue,
# scontrol) reach this cluster through SLURM_CONF. The node is this machine, with its CPU
# count and memory; the daemons run as root (SlurmUser=root) with no cgroups
# (proctrack/linuxproc, task/none) and no accounting database, so sacct has nothing to say.
# Sourced, it only defines the two functions slurm_cluster_start and slurm_cluster_stop.
set -u

# Whether PID is alive (not a zombie) and is NAME started with a path under DIR on its
# command line (our slurm.conf, our munge socket): a recycled pid is left alone.
slurm_daemon_is_ours() {
  local pid=$1 name=$2 dir=$3
  case "$pid" in '' | *[!0-9]*) return 1 ;; esac
  [ -r "/proc/$pid/cmdline" ] || return 1
  [ "$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1)" != Z ] || return 1
  [ "$(tr '\0' '\n' <"/proc/$pid/cmdline" | head -1 | xargs basename 2>/dev/null)" = "$name" ] || return 1
  tr '\0' '\n' <"/proc/$pid/cmdline" | grep -qF "$dir"
}

# Pids of the processes this cluster's jobs left: slurmstepd and what the jobs ran (with
# a SLURM_JOB_ID), found by our SLURM_CONF in their environment.
slurm_job_pids() {
  local dir=$1 p
  for p in /proc/[0-9]*; do
    [ "${p#/proc/}" = "$$" ] && continue
    grep -qsaF "SLURM_CONF=$dir/slurm.conf" "$p/environ" 2>/dev/null || continue
    if grep -qsa "^SLURM_JOB_ID=" <(tr '\0' '\n' <"$p/environ") ||
      tr '\0' ' ' <"$p/cmdline" 2>/dev/null | grep -q "^slurmstepd:"; then
      echo "${p#/proc/}"
    fi
  done
}

# Stops the daemons NAMES... of the cluster in DIR (TERM, then KILL after 5 s), by pid file.
slurm_daemons_stop() {
  local dir=$1 name pid
  shift
  for name in "$@"; do
    [ -s "$dir/$name.pid" ] || continue
    pid=$(cat "$dir/$name.pid")
    if slurm_daemon_is_ours "$pid" "$name" "$dir"; then
      kill -TERM "$pid" 2>/dev/null
      for _ in $(seq 1 50); do slurm_daemon_is_ours "$pid" "$name" "$dir" || break; sleep 0.1; done
      slurm_daemon_is_ours "$pid" "$name" "$dir" && kill -KILL "$pid" 2>/dev/null
    fi
    slurm_daemon_is_ours "$pid" "$name" "$dir" || rm -f "$dir/$name.pid"
  done
}

slurm_cluster_stop() {
  local dir=$1 pid
  [ -d "$dir" ] || return 0
  dir=$(cd "$dir" && pwd)
  # Jobs first, so that no job outlives the node daemon.
  if [ -s "$dir/slurmctld.pid" ] && slurm_daemon_is_ours "$(cat "$dir/slurmctld.pid")" slurmctld "$dir"; then
    SLURM_CONF="$dir/slurm.conf" scancel --quiet --user=root 2>/dev/null
    for _ in $(seq 1 100); do
      [ -z "$(SLURM_CONF="$dir/slurm.conf" squeue -h -o %i 2>/dev/null)" ] && break
      sleep 0.1
    done
  fi
  # The reverse order of start: munge last, the other two need it to the end.
  slurm_daemons_stop "$dir" slurmd slurmctld munged
  for pid in $(slurm_job_pids "$dir"); do
    kill -KILL "$pid" 2>/dev/null
  done
  return 0
}

# A TCP port on 127.0.0.1 that nothing listens on now.
slurm_free_port() {
  local port
  for _ in $(seq 1 50); do
    port=$((20000 + RANDOM % 40000))
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "$port"; return 0; }
  done
  return 1
}

slurm_cluster_start() {
  local dir=$1
  if [ "$(id -u)" -ne 0 ]; then
    echo "SKIPPED: the one-node Slurm cluster runs its daemons as root; run the test as root"
    return 77
  fi
  local prog
  for prog in munged slurmctld slurmd sbatch squeue scontrol sinfo; do
    if ! command -v "$prog" >/dev/null 2>&1; then
      echo "SKIPPED: $prog is not on PATH (Debian: apt-get install slurm-wlm munge)"
      return 77
    fi
  done
  mkdir -p "$dir"/{state,spool,munge} || return 1
  dir=$(cd "$dir" && pwd)
  chmod 700 "$dir/munge"
  # munge: its own key, socket, pid and seed file, so it is not the system's daemon.
  dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 status=none && chmod 400 "$dir/munge/munge.key"
  munged --force --key-file="$dir/munge/munge.key" --socket="$dir/munge/munge.sock" \
    --pid-file="$dir/munged.pid" --seed-file="$dir/munge/munge.seed" --log-file="$dir/munge/munged.log" ||
    { echo "slurm_cluster: munged did not start; $dir/munge/munged.log:"; cat "$dir/munge/munged.log"; return 1; }

  local host cpus mem_mb
  host=$(hostname -s)
  cpus=$(nproc)
  mem_mb=$(($(awk '/^MemTotal:/ { print $2 }' /proc/meminfo) / 1024 * 9 / 10))
  local attempt
  for attempt in 1 2 3; do
    local cport dport
    cport=$(slurm_free_port) && dport=$(slurm_free_port) || { echo "slurm_cluster: no free port"; return 1; }
    cat >"$dir/slurm.conf" <<EOF
# slurm.conf of a one-node test cluster written by tests/slurm_cluster.sh; all of it under $dir
ClusterName=resnettest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$cport
SlurmdPort=$dport
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge/munge.sock,cred_expire=10
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
SlurmctldTimeout=10
SlurmdTimeout=10
MessageTimeout=5
KillWait=10
InactiveLimit=0
MinJobAge=600
SchedulerParameters=sched_interval=2
NodeName=rtnode NodeAddr=127.0.0.1 NodeHostname=$host CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=debug Nodes=rtnode Default=YES MaxTime=INFINITE State=UP
EOF
    echo "SLURM_CONF=$dir/slurm.conf" >"$dir/env"
    export SLURM_CONF="$dir/slurm.conf"
    rm -f "$dir/slurmctld.log" "$dir/slurmd.log"
    slurmctld -c -f "$dir/slurm.conf" >>"$dir/daemons.out" 2>&1 &&
      slurmd -c -N rtnode -f "$dir/slurm.conf" >>"$dir/daemons.out" 2>&1 || {
      echo "slurm_cluster: a daemon did not start:"; tail -20 "$dir/daemons.out" "$dir"/slurm*.log 2>/dev/null
      return 1
    }
    # Idle within seconds; a port taken in the meantime shows in the log: try others.
    local i
    for i in $(seq 1 60); do
      if sinfo -h -N -o '%t' 2>/dev/null | grep -qx idle; then
        return 0
      fi
      grep -qs "Address already in use" "$dir/slurmctld.log" "$dir/slurmd.log" && break
      sleep 0.5
    done
    echo "slurm_cluster: attempt $attempt: the node is not idle after 30 s; sinfo: $(sinfo -h -N 2>&1)"
    tail -5 "$dir/slurmctld.log" "$dir/slurmd.log" 2>/dev/null
    slurm_daemons_stop "$dir" slurmd slurmctld
  done
  return 1
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  case "${1:-}" in
  start) [ $# -eq 2 ] && { slurm_cluster_start "$2"; exit $?; } ;;
  stop) [ $# -eq 2 ] && { slurm_cluster_stop "$2"; exit $?; } ;;
  esac
  echo "usage: $0 start|stop DIR" >&2
  exit 2
fi
