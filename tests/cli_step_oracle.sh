#!/usr/bin/env bash
# cli_step_oracle.sh: one training step recomputed from a checkpoint by an independent float64 implementation (tests/tools/step_oracle.py) matches the next checkpoint, for plain and Nesterov momentum; deliberately wrong oracles must not match.
set -u
RESNET=${RESNET_BIN:?RESNET_BIN must name the resnet binary}
SYNTH=${CIFAR_SYNTH:?CIFAR_SYNTH must name the cifar_synth binary}
SRC=${RESNET_SRC:-$(cd "$(dirname "$0")/.." && pwd)}
ORACLE=$SRC/tests/tools/step_oracle.py

if ! python3 -c "import numpy" 2>/dev/null; then
    echo "skipped: the step oracle needs python3 with numpy (pip install numpy, or apt-get install python3-numpy)"
    exit 77
fi

W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
cd "$W" || exit 1

FAILS=0
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*" >&2; FAILS=$((FAILS + 1)); }

# 28 records at batch 8: step 4 reads records 24..27 and then 0..3, so the oracle's
# batch rule (record p mod N) is checked across the end of an epoch too.
"$SYNTH" train.bin --n 28 --seed 4 >/dev/null || exit 1

# Depth 8, no shuffle, no augmentation (the oracle rebuilds the batch from the records
# alone). Linear warmup over 5 of 8 steps: step 4 runs at 0.08 and step 3 at 0.06, so a
# rate taken from the wrong step shows.
cat >run.yaml <<'EOF'
model:
  depth: 8
  num_classes: 10
data:
  dir: .
  train: [train.bin]
  test: train.bin
  shuffle: false
  augment: false
train:
  batch_size: 8
  steps: 8
  seed: 11
  backend: cpu
  log_every: 1
  checkpoint_every: 1
optim:
  momentum: 0.9
  weight_decay: 0.0005
schedule:
  peak_lr: 0.1
  warmup:
    shape: linear
    steps: 5
  decay:
    shape: cosine
output:
  dir: unused
EOF

# Checkpoints overwrite one file: stop after step 3, keep it, resume through step 4.
# Then the oracle: exit 0 is a match, 1 a mismatch, anything else a broken oracle run.
check_step() { # NAME NESTEROV ORACLE_FLAG MUTANT...
    local name=$1 nesterov=$2 flag=$3
    shift 3
    local dir=$name
    if ! "$RESNET" train run.yaml --set output.dir="$dir" --set optim.nesterov="$nesterov" \
        --stop-after 3 >out.txt 2>&1; then
        bad "$name: training to step 3 failed"; sed 's/^/    /' out.txt >&2; return
    fi
    cp "$dir/checkpoint.bin" "$dir.ck3.bin"
    if ! "$RESNET" train run.yaml --set optim.nesterov="$nesterov" --resume "$dir" \
        --stop-after 4 >out.txt 2>&1; then
        bad "$name: resuming to step 4 failed"; sed 's/^/    /' out.txt >&2; return
    fi
    cp "$dir/checkpoint.bin" "$dir.ck4.bin"

    python3 "$ORACLE" "$dir" "$dir.ck3.bin" "$dir.ck4.bin" ${flag:+"$flag"} >oracle.txt 2>&1
    local rc=$?
    sed 's/^/    /' oracle.txt
    if [ "$rc" = 0 ]; then ok "$name: step 4 recomputed from checkpoint 3 matches checkpoint 4"; else
        bad "$name: the oracle's step 4 does not match checkpoint 4 (exit $rc)"
    fi

    # Each mutant is a plausible bug; the comparison of tensors alone (no metrics.csv
    # cross-checks) must reject every one, or the tolerance is too loose to mean anything.
    local m
    for m in "$@"; do
        python3 "$ORACLE" "$dir" "$dir.ck3.bin" "$dir.ck4.bin" --no-metrics --mutant "$m" >oracle.txt 2>&1
        rc=$?
        if [ "$rc" = 1 ]; then
            ok "$name: mutant $m rejected: $(grep -c '^FAIL' oracle.txt) tensors differ"
            grep 'worst relative' oracle.txt | sed 's/^ */    /'
        else
            bad "$name: mutant $m: exit $rc, expected 1 (a mismatch)"; sed 's/^/    /' oracle.txt >&2
        fi
    done
}

# The oracle's own gradient against finite differences once: the Nesterov run shares it.
check_step plain false --gradcheck biased_running_var no_weight_decay shortcut_pad_end lr_prev_step
check_step nesterov true "" biased_running_var no_weight_decay shortcut_pad_end lr_prev_step no_nesterov

if [ "$FAILS" -ne 0 ]; then echo "$FAILS check(s) failed" >&2; exit 1; fi
echo "all step-oracle checks passed"
