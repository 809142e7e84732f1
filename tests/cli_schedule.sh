#!/usr/bin/env bash
# cli_schedule.sh: `resnet schedule` (CSV shape, He's recipe values, the He-rule note, --steps, errors) and `resnet info` without CUDA devices.
# `ok` always succeeds, so `test && ok || bad` is a safe if-then-else here.
# shellcheck disable=SC2015,SC2181
set -u

BIN="${RESNET_BIN:?RESNET_BIN must name the resnet binary}"
[ -x "$BIN" ] || { echo "cli_schedule: $BIN is not an executable (was resnet built?)" >&2; exit 1; }
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
fail=0
pass=0

ok() { pass=$((pass + 1)); }
bad() { echo "FAIL: $*" >&2; fail=$((fail + 1)); }

# Small stand-ins for the data files (one batch of 128): zero records are valid CIFAR records (label
# 0), so whatever the loader checks about data.dir, the configs below are sound.
mkdir -p "$TMP/data"
for f in data_batch_1.bin test_batch.bin; do
  head -c $((3073 * 128)) /dev/zero >"$TMP/data/$f"
done

# He et al.'s ResNet-110 recipe, written here so the test does not depend on configs/.
cat >"$TMP/he.yaml" <<EOF
model:
  depth: 110
data:
  dir: $TMP/data
  train: [data_batch_1.bin]
  test: test_batch.bin
train:
  steps: 64000
schedule:
  peak_lr: 0.1
  warmup:
    shape: constant
    steps: 400
    start_lr: 0.01
    until_train_error: 0.8
  decay:
    shape: step
    milestones: [32000, 48000]
    gamma: 0.1
EOF

# ---- He's recipe: header, one row per step, the values at every boundary ----
"$BIN" schedule "$TMP/he.yaml" >"$TMP/he.csv" 2>"$TMP/he.err"
rc=$?
[ "$rc" -eq 0 ] && ok || bad "schedule he.yaml exited $rc: $(cat "$TMP/he.err")"
[ "$(head -n 1 "$TMP/he.csv")" = "step,lr" ] && ok || bad "header is '$(head -n 1 "$TMP/he.csv")', want step,lr"
rows=$(($(wc -l <"$TMP/he.csv") - 1))
[ "$rows" -eq 64000 ] && ok || bad "he.csv has $rows rows, want 64000"
# Rates compared as numbers (awk), so the check does not hinge on how digits are printed;
# 1e-6 relative is far below the 10x jumps being checked and above float rounding.
check_rate() { # FILE STEP WANT
  awk -F, -v s="$2" -v w="$3" '
    NR > 1 && $1 == s { found = 1; d = $2 - w; if (d < 0) d = -d; exit !(d <= 1e-6 * w) }
    END { if (!found) exit 1 }' "$1"
}
for pair in 1:0.01 400:0.01 401:0.1 32000:0.1 32001:0.01 48000:0.01 48001:0.001 64000:0.001; do
  s=${pair%%:*} w=${pair#*:}
  check_rate "$TMP/he.csv" "$s" "$w" && ok || bad "He recipe step $s: '$(awk -F, -v s="$s" '$1 == s' "$TMP/he.csv")', want $w"
done
# Every row, not only the boundaries: the step numbers run 1..T in order and each rate is
# the recipe's.
awk -F, 'NR > 1 {
    s = $1; w = s <= 400 ? 0.01 : s <= 32000 ? 0.1 : s <= 48000 ? 0.01 : 0.001
    d = $2 - w; if (d < 0) d = -d
    if (s != NR - 1 || d > 1e-6 * w) { print "row " NR ": " $0; exit 1 }
  }' "$TMP/he.csv" && ok || bad "He recipe: a row is out of order or off the recipe"

# The He rule needs a training error the command does not have: a note on stderr.
grep -q "until_train_error" "$TMP/he.err" && grep -qi "never met" "$TMP/he.err" && ok ||
  bad "no stderr note about until_train_error: '$(cat "$TMP/he.err")'"
# ...and not on stdout, which must stay pure CSV.
grep -q "until_train_error" "$TMP/he.csv" && bad "the note leaked into the CSV" || ok

# ---- --steps N, including past T, where the last rate holds ----
"$BIN" schedule "$TMP/he.yaml" --steps 10 >"$TMP/s10.csv" 2>/dev/null
rc=$?
[ "$rc" -eq 0 ] && [ "$(wc -l <"$TMP/s10.csv")" -eq 11 ] && ok || bad "--steps 10: rc $rc, $(wc -l <"$TMP/s10.csv") lines"
"$BIN" schedule "$TMP/he.yaml" --steps 64100 >"$TMP/s64100.csv" 2>/dev/null
[ "$(($(wc -l <"$TMP/s64100.csv") - 1))" -eq 64100 ] && ok || bad "--steps 64100 row count"
check_rate "$TMP/s64100.csv" 64100 0.001 && ok || bad "past T the rate must hold 0.001"
# --set before or after FILE, and --steps=N spelling
"$BIN" schedule --set schedule.peak_lr=0.2 "$TMP/he.yaml" --steps=401 >"$TMP/set.csv" 2>/dev/null
check_rate "$TMP/set.csv" 401 0.2 && ok || bad "--set schedule.peak_lr=0.2 not applied at step 401"

# ---- no He rule: no note ----
"$BIN" schedule "$TMP/he.yaml" --set schedule.warmup.until_train_error=0 --steps 5 >/dev/null 2>"$TMP/nonote.err"
[ ! -s "$TMP/nonote.err" ] && ok || bad "a note without until_train_error: '$(cat "$TMP/nonote.err")'"

# ---- linear warmup + cosine: the seed formula at a few steps ----
cat >"$TMP/cos.yaml" <<EOF
model: {depth: 20}
data: {dir: $TMP/data, train: [data_batch_1.bin], test: test_batch.bin}
train: {steps: 1000}
schedule:
  peak_lr: 0.1
  warmup: {shape: linear, steps: 100, start_lr: 0}
  decay: {shape: cosine, end_lr: 0.001}
EOF
"$BIN" schedule "$TMP/cos.yaml" >"$TMP/cos.csv" 2>"$TMP/cos.err" && ok || bad "cos.yaml: $(cat "$TMP/cos.err")"
awk -F, 'NR > 1 {
    s = $1; W = 100; T = 1000; p = 0.1; e = 0.001
    w = s < W ? s / W * p : e + 0.5 * (p - e) * (1 + cos((s - W) / (T - W) * atan2(0, -1)))
    d = $2 - w; if (d < 0) d = -d
    if (d > 1e-6 * w) { print "step " s ": " $2 " want " w; bad = 1 }
  } END { exit bad }' "$TMP/cos.csv" && ok || bad "linear+cosine differs from the seed formula"

# ---- usage and config errors exit 2 ----
"$BIN" schedule >/dev/null 2>&1
[ $? -eq 2 ] && ok || bad "no FILE should exit 2"
"$BIN" schedule "$TMP/he.yaml" --steps 0 >/dev/null 2>&1
[ $? -eq 2 ] && ok || bad "--steps 0 should exit 2"
"$BIN" schedule "$TMP/he.yaml" --steps >/dev/null 2>&1
[ $? -eq 2 ] && ok || bad "--steps without N should exit 2"
"$BIN" schedule "$TMP/he.yaml" --bogus >/dev/null 2>&1
[ $? -eq 2 ] && ok || bad "an unknown option should exit 2"
"$BIN" schedule "$TMP/missing.yaml" >/dev/null 2>&1
[ $? -eq 2 ] && ok || bad "a missing config should exit 2"
sed 's/shape: step/shape: staircase/' "$TMP/he.yaml" >"$TMP/bad.yaml"
"$BIN" schedule "$TMP/bad.yaml" >"$TMP/bad.out" 2>"$TMP/bad.err"
rc=$?
[ "$rc" -eq 2 ] && ok || bad "a bad decay shape exited $rc, want 2"
[ ! -s "$TMP/bad.out" ] && ok || bad "a bad config still printed CSV"
grep -q "bad.yaml" "$TMP/bad.err" && ok || bad "the error does not name the file: '$(cat "$TMP/bad.err")'"
"$BIN" schedule "$TMP/he.yaml" --set schedule.peak_lr=-1 >/dev/null 2>&1
[ $? -eq 2 ] && ok || bad "--set schedule.peak_lr=-1 should exit 2"
"$BIN" schedule --help >"$TMP/help.txt" 2>&1
[ $? -eq 0 ] && grep -q "step,lr" "$TMP/help.txt" && ok || bad "schedule --help"

# ---- resnet info: runs, and says plainly that there is no device ----
# (CI machines have no GPU; a build without CUDA says it was not built.)
"$BIN" info >"$TMP/info.txt" 2>&1
rc=$?
[ "$rc" -eq 0 ] && ok || bad "info exited $rc"
grep -q "^resnet " "$TMP/info.txt" && ok || bad "info lacks the version line"
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
  echo "a GPU is present: not checking the no-device line"
else
  grep -Eqi "not built|no (cuda )?devices?|devices: none|none found|no device" "$TMP/info.txt" && ok ||
    bad "info does not say there is no device: $(cat "$TMP/info.txt")"
fi
"$BIN" info --help >/dev/null 2>&1
[ $? -eq 0 ] && ok || bad "info --help"
"$BIN" info extra >/dev/null 2>&1
[ $? -eq 2 ] && ok || bad "info with an argument should exit 2"

echo "cli_schedule: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
