#!/usr/bin/env bash
# cli_config.sh: `resnet config` end to end: exit codes, one-line messages naming file:line and key, --set, round trip.
set -u
BIN=${RESNET_BIN:?RESNET_BIN must name the resnet binary}
SRC=${RESNET_SRC:-$(cd "$(dirname "$0")/.." && pwd)}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0

fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }

# run NAME WANT_RC ARGS...: runs `resnet ARGS`, keeps stdout/stderr in $T/NAME.{out,err}.
run() {
    local name=$1 want=$2
    shift 2
    "$BIN" "$@" >"$T/$name.out" 2>"$T/$name.err"
    local rc=$?
    [ "$rc" -eq "$want" ] || fail "$name: exit $rc, want $want; stderr: $(cat "$T/$name.err")"
}

# expect_msg NAME PATTERN...: every fixed-string pattern appears in NAME's stderr.
expect_msg() {
    local name=$1
    shift
    for pat in "$@"; do
        grep -qF -- "$pat" "$T/$name.err" || fail "$name: stderr lacks '$pat': $(cat "$T/$name.err")"
    done
}

# bad NAME YAML LINE KEY PHRASE: a config that must fail with exit 2, no stdout, one line naming file:LINE and KEY.
bad() {
    local name=$1 yaml=$2 line=$3 key=$4 phrase=$5
    printf '%s' "$yaml" >"$T/$name.yaml"
    run "$name" 2 config "$T/$name.yaml"
    expect_msg "$name" "$T/$name.yaml:$line:" "$key" "$phrase"
    [ ! -s "$T/$name.out" ] || fail "$name: printed to stdout on error"
    [ "$(wc -l <"$T/$name.err")" -eq 1 ] || fail "$name: want one stderr line: $(cat "$T/$name.err")"
}

BASE='model:
  depth: 20
data:
  dir: nowhere
train:
  steps: 1000
schedule:
  peak_lr: 0.1
'

# ---- usage ----
run help 0 config --help
grep -q '^usage: resnet config FILE' "$T/help.out" || fail "help: no usage line"
run noargs 2 config
expect_msg noargs "missing the config FILE"
run badopt 2 config "$SRC/configs/cpu_smoke.yaml" --bogus
expect_msg badopt "unknown option '--bogus'"
run twofiles 2 config a.yaml b.yaml
expect_msg twofiles "one config file expected"
run set_noarg 2 config "$SRC/configs/cpu_smoke.yaml" --set
expect_msg set_noarg "--set needs KEY=VALUE"

# ---- every error class ----
bad unknown "${BASE}train2: {}
" 9 "train2" "unknown key 'train2' at the top level (known: model, data, train, optim, schedule, divergence, output)"
bad unknown_nested 'model:
  depth: 20
train:
  stpes: 100
' 4 "train.stpes" "unknown key 'stpes' in 'train' (known: batch_size, steps"
bad wrong_type "${BASE}optim:
  nesterov: maybe
" 10 "optim.nesterov" "expected true or false, got 'maybe'"
bad out_of_range 'model:
  depth: 20
  num_classes: 1
' 3 "model.num_classes" "expected an integer in 2..256, got '1'"
bad depth 'model:
  depth: 100
' 2 "model.depth" "6n+2 (20, 32, 44, 56, 110, 1202...)"
bad missing 'model:
  num_classes: 10
data: {dir: x}
' 1 "model.depth" "required key is missing"
bad duplicate "${BASE}schedule:
  peak_lr: 0.2
" 9 "schedule" "duplicate key (first given at line 7)"
bad syntax 'model:
  depth: [20
train:
' 3 "" "YAML syntax error"
bad nan 'schedule:
  peak_lr: .nan
' 2 "schedule.peak_lr" "must be finite"
bad both 'model: {depth: 20}
data: {dir: x}
train:
  steps: 100
  epochs: 3
schedule: {peak_lr: 0.1}
' 5 "train.epochs" "not both"
bad w_ge_t 'model: {depth: 20}
data: {dir: x}
train: {steps: 100}
schedule:
  peak_lr: 0.1
  warmup:
    shape: linear
    steps: 100
' 8 "schedule.warmup.steps" "must end before the last step"
bad milestones_order 'model: {depth: 20}
data: {dir: x}
train: {steps: 100}
schedule:
  peak_lr: 0.1
  decay:
    shape: step
    milestones: [60, 30]
' 8 "schedule.decay.milestones" "strictly increasing"
bad milestones_past 'model: {depth: 20}
data: {dir: x}
train: {steps: 100}
schedule:
  peak_lr: 0.1
  decay:
    shape: step
    milestones: [60, 130]
' 8 "schedule.decay.milestones" "past the last step"
bad cosine_end 'model: {depth: 20}
data: {dir: x}
train: {steps: 100}
schedule:
  peak_lr: 0.1
  decay: {shape: cosine, end_lr: 0.5}
' 6 "schedule.decay.end_lr" "above schedule.peak_lr"

printf '' >"$T/empty.yaml"
run empty 2 config "$T/empty.yaml"
expect_msg empty "$T/empty.yaml" "empty config, expected a mapping"
run nofile 2 config "$T/none.yaml"
expect_msg nofile "$T/none.yaml"
run dir 2 config "$T"
expect_msg dir "is a directory"

# ---- --set ----
printf '%s' "$BASE" >"$T/base.yaml"
run set_value 2 config "$T/base.yaml" --set schedule.peak_lr=abc
expect_msg set_value "--set schedule.peak_lr=abc: expected a number > 0, got 'abc'"
run set_noeq 2 config "$T/base.yaml" --set schedule.peak_lr
expect_msg set_noeq "--set schedule.peak_lr: expected KEY=VALUE"
run set_unknown 2 config "$T/base.yaml" --set=schedule.warmup.stpes=3
expect_msg set_unknown "--set schedule.warmup.stpes=3: unknown key 'stpes' in 'schedule.warmup'"
[ ! -s "$T/set_value.out" ] || fail "set_value: printed to stdout on error"

run set_ok 0 config "$T/base.yaml" --set schedule.peak_lr=0.4 --set=data.train=[a.bin,b.bin] \
    --set schedule.warmup.shape=linear --set schedule.warmup.steps=10
grep -qx '  peak_lr: 0.4' "$T/set_ok.out" || fail "set_ok: peak_lr not overridden"
grep -qx '  train: \[a.bin, b.bin\]' "$T/set_ok.out" || fail "set_ok: data.train not overridden"
grep -qx '    shape: linear' "$T/set_ok.out" || fail "set_ok: warmup shape not overridden"
grep -qx '  dir: runs/base' "$T/set_ok.out" || fail "set_ok: output.dir default"

# ---- epochs on synthetic files, and the printed config loads back the same ----
mkdir "$T/data"
head -c $((3073 * 1000)) /dev/zero >"$T/data/a.bin"
printf 'model: {depth: 8}\ndata: {dir: %s, train: [a.bin]}\ntrain: {epochs: 3, batch_size: 64}\nschedule: {peak_lr: 0.1}\n' \
    "$T/data" >"$T/ep.yaml"
run epochs 0 config "$T/ep.yaml"
# ceil(3 * 1000 / 64) = ceil(46.875) = 47
grep -q '^  steps: 47  # resolved from train.epochs: 3$' "$T/epochs.out" || fail "epochs: $(grep steps "$T/epochs.out")"
cp "$T/epochs.out" "$T/printed.yaml"
run reload 0 config "$T/printed.yaml"
diff <(grep -v '^#' "$T/epochs.out" | sed 's/  # resolved.*//') <(grep -v '^#' "$T/reload.out") >/dev/null ||
    fail "round trip differs: $(diff "$T/epochs.out" "$T/reload.out")"

# ---- every shipped config validates and round-trips ----
for f in "$SRC"/configs/*.yaml; do
    n=$(basename "$f" .yaml)
    run "ship_$n" 0 config "$f"
    cp "$T/ship_$n.out" "$T/ship_$n.printed.yaml"
    run "ship2_$n" 0 config "$T/ship_$n.printed.yaml"
    diff <(grep -v '^#' "$T/ship_$n.out") <(grep -v '^#' "$T/ship2_$n.out") >/dev/null ||
        fail "$n: printed config does not reload identically"
done

# ---- with (tiny synthetic) data present, the batch-size check runs and passes; epochs resolve ----
mkdir "$T/cifar"
for f in data_batch_1.bin data_batch_2.bin data_batch_3.bin data_batch_4.bin data_batch_5.bin; do
    head -c $((3073 * 200)) /dev/zero >"$T/cifar/$f"
done
for f in "$SRC"/configs/*.yaml; do
    n=$(basename "$f" .yaml)
    run "data_$n" 0 config "$f" --set "data.dir=$T/cifar"
    run "epochs_$n" 0 config "$f" --set "data.dir=$T/cifar" --set train.epochs=1000 \
        --set schedule.decay.milestones=[] --set schedule.decay.shape=constant
done
# cpu_smoke: 1 file of 200 records, batch 64: ceil(1000 * 200 / 64) = ceil(3125) = 3125
grep -q '^  steps: 3125  # resolved from train.epochs: 1000$' "$T/epochs_cpu_smoke.out" ||
    fail "cpu_smoke epochs: $(grep -h 'steps:' "$T/epochs_cpu_smoke.out" "$T/epochs_cpu_smoke.err")"
run batch_big 2 config "$SRC/configs/cpu_smoke.yaml" --set "data.dir=$T/cifar" --set data.limit_train=10
expect_msg batch_big "cpu_smoke.yaml:17:" "train.batch_size" "expected at most the number of training records (10), got 64"

if [ "$fails" -ne 0 ]; then
    echo "cli_config: $fails failure(s)" >&2
    exit 1
fi
echo "cli_config: all checks passed"
