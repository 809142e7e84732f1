# lib_train.sh: the setup, checks and run config that the CPU training tests (cli_train, cli_train_faults, cli_kill_resume, cli_signals) share; sourced by them, not a test itself.
set -u
# Before the cd below, while a relative path to this file still holds.
# shellcheck source=lib_check.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib_check.sh"
RESNET=${RESNET_BIN:?RESNET_BIN must name the resnet binary}
SYNTH=${CIFAR_SYNTH:?CIFAR_SYNTH must name the cifar_synth binary}

# Each test runs in a temporary folder, removed on exit. PID names a background run
# still going (empty otherwise), so a test that exits early leaves no process behind;
# chmod first, as a test may leave read-only folders there.
W=$(mktemp -d)
PID=
trap '[ -n "$PID" ] && kill -9 "$PID" 2>/dev/null; chmod -R u+w "$W" 2>/dev/null; rm -rf "$W"' EXIT
cd "$W" || exit 1

# Two runs that must end alike: identical metrics (but timing), eval rows and final
# checkpoint, each file checked and named on its own.
same_run() { # DIR1 DIR2 WHAT
    if cmp -s <(cols "$1/metrics.csv") <(cols "$2/metrics.csv"); then ok "$3: metrics.csv identical"; else
        bad "$3: metrics.csv differs"
        diff <(cols "$1/metrics.csv") <(cols "$2/metrics.csv") | head -5 >&2
    fi
    if cmp -s "$1/eval.csv" "$2/eval.csv"; then ok "$3: eval.csv identical"; else bad "$3: eval.csv differs"; fi
    if cmp -s "$1/checkpoint.bin" "$2/checkpoint.bin"; then ok "$3: final checkpoint identical"; else
        bad "$3: final checkpoints differ"
    fi
}

# same_run, and DIR2's summary must say the run finished: a resumed run that matches
# but never wrote its summary did not end properly.
same_run_finished() { # DIR1 DIR2 WHAT
    same_run "$@"
    grep -q '"status": "finished"' "$2/summary.json" 2>/dev/null && ok "$3: summary says finished" ||
        bad "$3: no summary with status finished"
}

# The step stored in a checkpoint (offset 40, i64 little-endian; docs/checkpoint.md).
ckpt_step() { od -An -tu8 -j40 -N8 --endian=little "$1" | tr -d ' '; }

flip_byte() { # FILE OFFSET: xor one byte with 0x01, in place
    local v
    v=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
    printf "\\$(printf %03o $((v ^ 1)))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

# Waits (at most 60 s) until FILE exists or PID has ended.
wait_file() { # FILE
    local i
    for i in $(seq 1 6000); do
        [ -e "$1" ] && return 0
        kill -0 "$PID" 2>/dev/null || return 1
        sleep 0.01
    done
    return 1
}

# The synthetic data run.yaml names: 512 training and 256 test records.
make_synth_data() {
    "$SYNTH" train.bin --n 512 --seed 1 >/dev/null || exit 1
    "$SYNTH" test.bin --n 256 --seed 2 >/dev/null || exit 1
}

# run.yaml: depth 8 (75,290 parameters), batch 16, a checkpoint every 10 steps. A CPU step
# takes ~30 ms on one idle core, so a run of 60 steps takes seconds, one of 120 4-10 s.
write_run_config() { # STEPS EVAL_EVERY
    cat >run.yaml <<EOF
model:
  depth: 8
  num_classes: 10
data:
  dir: .
  train: [train.bin]
  test: test.bin
train:
  batch_size: 16
  steps: $1
  seed: 5
  backend: cpu
  eval_every: $2
  log_every: 5
  checkpoint_every: 10
  nonfinite: stop
optim:
  momentum: 0.9
  weight_decay: 0.0005
schedule:
  peak_lr: 0.1
  warmup:
    shape: linear
    steps: 10
  decay:
    shape: cosine
output:
  dir: unused
EOF
}

# R: run.yaml uninterrupted (at most 120 s), what the interrupted runs must end as; the
# test cannot go on without it.
uninterrupted_run() {
    timeout 120 "$RESNET" train run.yaml --set output.dir=R >/dev/null 2>R.err ||
        { bad "the uninterrupted run failed: $(tail -n 3 R.err)"; exit 1; }
    ok "uninterrupted run R"
}
