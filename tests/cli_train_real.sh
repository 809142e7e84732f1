#!/usr/bin/env bash
# cli_train_real.sh: a short CPU run on real CIFAR-10 (data_batch_1, the exact first 1,000 test images) must learn: loss well below ln 10, test error well below chance.
set -u
RESNET=${RESNET_BIN:?RESNET_BIN must name the resnet binary}
DATA=${CIFAR10_DIR:-}
if [ -z "$DATA" ] || [ ! -e "$DATA/data_batch_1.bin" ] || [ ! -e "$DATA/test_batch_first1000.bin" ]; then
    echo "SKIPPED: real CIFAR-10 not found (CIFAR10_DIR='$DATA' lacks data_batch_1.bin or test_batch_first1000.bin)"
    exit 77
fi
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT

# Depth 8, batch 64, 300 steps (1.9 epochs of 10,000 images), no augmentation (a short
# run learns faster without it). Measured on 2 cores: ~50 s; mean training loss of the
# last 25 steps 1.41, test error 53.4% on the 1,000 exact test images (seed 1).
# Bounds: loss < 1.7 (ln 10 = 2.303, the loss of a uniform guess) and test error < 70%
# (chance is 90%; the standard error on 1,000 images is ~1.6 points).
cat >"$W/real.yaml" <<EOF
model:
  depth: 8
  num_classes: 10
data:
  dir: $DATA
  train: [data_batch_1.bin]
  test: test_batch_first1000.bin
  augment: false
train:
  batch_size: 64
  steps: 300
  seed: 1
  backend: cpu
  eval_every: 0
  log_every: 25
optim:
  momentum: 0.9
  weight_decay: 0.0005
schedule:
  peak_lr: 0.2
  warmup:
    shape: linear
    steps: 30
  decay:
    shape: cosine
output:
  dir: $W/run
EOF

if ! "$RESNET" train "$W/real.yaml" 2>"$W/err.txt"; then
    echo "FAIL: resnet train exited with an error:" >&2
    cat "$W/err.txt" >&2
    exit 1
fi
tail -n 2 "$W/err.txt"
loss=$(awk -F, 'NR > 1 && $1 > 275 { s += $4; n++ } END { printf "%.4f", s / n }' "$W/run/metrics.csv")
err=$(tail -n 1 "$W/run/eval.csv" | cut -d, -f3)
fails=0
if awk -v x="$loss" 'BEGIN { exit !(x < 1.7) }'; then echo "ok: training loss of the last 25 steps $loss < 1.7"; else
    echo "FAIL: training loss of the last 25 steps $loss >= 1.7" >&2
    fails=1
fi
if awk -v x="$err" 'BEGIN { exit !(x < 0.70) }'; then echo "ok: test error $err < 0.70 (chance 0.90)"; else
    echo "FAIL: test error $err >= 0.70" >&2
    fails=1
fi
exit $fails
