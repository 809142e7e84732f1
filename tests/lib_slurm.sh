# lib_slurm.sh: the setup and checks the Slurm engine's tests (cli_slurm_script, cli_slurm, cli_slurm_runs) share; sourced by them, not a test itself.
set -u
RESNET=${RESNET_BIN:?RESNET_BIN must name the resnet binary}
SYNTH=${CIFAR_SYNTH:?CIFAR_SYNTH must name the cifar_synth binary}
SRC=${RESNET_SRC:?RESNET_SRC must name the source tree}
# shellcheck source=slurm_cluster.sh
. "$SRC/tests/slurm_cluster.sh"

# Each test runs in a temporary folder, removed on exit, after the cluster it started (if
# any) is stopped: exactly its daemons, by their pid files, also when a check fails.
W=$(mktemp -d)
CLUSTER=
PID=
cleanup() {
  [ -n "$PID" ] && kill -9 "$PID" 2>/dev/null
  [ -n "$CLUSTER" ] && slurm_cluster_stop "$CLUSTER"
  rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
cd "$W" || exit 1

# shellcheck source=lib_check.sh
. "$SRC/tests/lib_check.sh"

# err.txt is one line matching the extended regular expression RE.
expect_err() { # RE WHAT
  if [ "$(wc -l <err.txt)" -eq 1 ] && grep -qE "$1" err.txt; then ok "$2: $(cat err.txt)"; else
    bad "$2: expected one line matching /$1/, got:"
    sed 's/^/    /' err.txt >&2
  fi
}

# Synthetic CIFAR-10 files in DIR/data/synthetic (the same bytes every time).
make_data() { # DIR
  mkdir -p "$1/data/synthetic" &&
    "$SYNTH" "$1/data/synthetic/train.bin" --n 512 --seed 1 >/dev/null &&
    "$SYNTH" "$1/data/synthetic/test.bin" --n 256 --seed 2 >/dev/null || { echo "FAIL: cifar_synth"; exit 1; }
}

# A sweep file of one cell of ResNet-8 on the synthetic data: SEEDS seeds of STEPS steps,
# a checkpoint every CKPT steps, then any extra YAML lines (e.g. a slurm section).
one_cell_sweep() { # FILE SEEDS STEPS CKPT [EXTRA...]
  local f=$1 seeds=$2 steps=$3 ckpt=$4
  shift 4
  {
    echo "base: $SRC/configs/cpu_smoke.yaml"
    echo "seeds: $seeds"
    echo "grid:"
    echo "  schedule.peak_lr: [0.05]"
    echo "set: {model.depth: 8, data.dir: data/synthetic, data.train: [train.bin], data.test: test.bin,"
    echo "      train.steps: $steps, train.batch_size: 32, train.log_every: 5, train.backend: cpu,"
    echo "      train.checkpoint_every: $ckpt, train.eval_every: 0, schedule.warmup.shape: none,"
    echo "      schedule.warmup.steps: 0, schedule.decay.shape: constant}"
    for line in "$@"; do echo "$line"; done
  } >"$f"
}

# A CSV without the column NAME (the wall times of runs.csv).
without_col() { # FILE NAME
  awk -F, -v name="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == name) c = i }
    { out = ""; for (i = 1; i <= NF; i++) if (i != c) out = out (out == "" && i == 1 ? "" : ",") $i; print out }' "$1"
}

# Starts this test's own one-node cluster in $W/cluster (exit 77 with the reason where
# it cannot run here) and exports SLURM_CONF for the clients.
start_cluster() {
  CLUSTER=$W/cluster
  slurm_cluster_start "$CLUSTER"
  local rc=$?
  if [ "$rc" -eq 77 ]; then CLUSTER=; exit 77; fi
  if [ "$rc" -ne 0 ]; then echo "FAIL: the test cluster did not start"; exit 1; fi
  export SLURM_CONF=$CLUSTER/slurm.conf
}

# Waits up to SECONDS for COMMAND to succeed; 1 when it never did.
wait_for() { # SECONDS COMMAND...
  local until=$(($(date +%s) + $1))
  shift
  while ! "$@"; do
    [ "$(date +%s)" -ge "$until" ] && return 1
    sleep 0.5
  done
}

# Whether Slurm holds no task of this cluster that is not ended.
queue_empty() { [ -z "$(squeue -h -o %i 2>/dev/null)" ]; }

# The Slurm state of array task JOB_INDEX ("" when squeue has none).
task_state() { squeue -h -r -t all -j "${1%_*}" -o '%i %T' 2>/dev/null | awk -v t="$1" '$1 == t { print $2 }'; }
