#!/usr/bin/env bash
# cli_sweep.sh: `resnet sweep` and `resnet report` end to end on the CPU: configs/sweeps/cpu_tiny.yaml on synthetic data, killed and resumed, its tables and plots.
# `ok` always succeeds, so `test && ok || bad` is a safe if-then-else here.
# shellcheck disable=SC2015
set -u

BIN="${RESNET_BIN:?RESNET_BIN must name the resnet binary}"
SYN="${CIFAR_SYNTH:?CIFAR_SYNTH must name the cifar_synth binary}"
SRC="${RESNET_SRC:?RESNET_SRC must name the source tree}"
SWEEP="$SRC/configs/sweeps/cpu_tiny.yaml"
TMP=$(mktemp -d)
SWEEP_PID=
cleanup() {
  [ -n "$SWEEP_PID" ] && kill -9 "$SWEEP_PID" 2>/dev/null
  rm -rf "$TMP"
}
trap cleanup EXIT
fail=0
pass=0
ok() { pass=$((pass + 1)); }
bad() { echo "FAIL: $*" >&2; fail=$((fail + 1)); }

if ! "$BIN" sweep --help >/dev/null 2>&1; then
  echo "SKIPPED: this resnet binary has no 'sweep' command (cmd_sweep is not registered in host/cli/main.c)"
  exit 77
fi

cd "$TMP" || exit 1
mkdir -p data/synthetic
"$SYN" data/synthetic/train.bin --n 512 --seed 1 >/dev/null && "$SYN" data/synthetic/test.bin --n 256 --seed 2 >/dev/null ||
  { echo "FAIL: cifar_synth"; exit 1; }
OUT=runs/cpu_tiny
N=12 # 2 variants x 3 peak rates x 2 seeds

complete_runs() { grep -lE '"status": *"(finished|diverged)"' "$OUT"/*/summary.json 2>/dev/null | sort; }

# ---- a sweep killed part way (SIGKILL: no chance to clean up) ----
"$BIN" sweep "$SWEEP" --jobs 2 >"$TMP/out1.txt" 2>"$TMP/err1.txt" &
SWEEP_PID=$!
for _ in $(seq 1 600); do
  [ "$(complete_runs | wc -l)" -ge 3 ] && break
  kill -0 "$SWEEP_PID" 2>/dev/null || break
  sleep 0.2
done
kill -9 "$SWEEP_PID" 2>/dev/null
wait "$SWEEP_PID" 2>/dev/null
SWEEP_PID=
done_before=$(complete_runs)
n_before=$(echo "$done_before" | grep -c .)
[ "$n_before" -ge 3 ] && [ "$n_before" -lt "$N" ] && ok || bad "the kill should land part way: $n_before of $N runs complete"
for f in $done_before; do stat -c '%n %y' "$f"; done >"$TMP/mtimes.txt"
# The runs in flight die with the sweep: none may finish afterwards in a folder the rerun will redo.
sleep 3
[ "$(complete_runs | wc -l)" -eq "$n_before" ] && ok || bad "a run of the killed sweep kept running and finished"

# ---- the rerun skips the finished runs and completes the rest ----
"$BIN" sweep "$SWEEP" --jobs 2 >"$TMP/out2.txt" 2>"$TMP/err2.txt"
rc=$?
[ "$rc" -eq 0 ] && ok || { bad "rerun exited $rc"; cat "$TMP/err2.txt" >&2; }
skipped=$(grep -c "already done, skipped" "$TMP/err2.txt")
[ "$skipped" -eq "$n_before" ] && ok || bad "rerun skipped $skipped runs, want $n_before"
for f in $done_before; do stat -c '%n %y' "$f"; done | cmp -s - "$TMP/mtimes.txt" && ok ||
  bad "a finished run's summary.json was rewritten by the rerun"
[ "$(complete_runs | wc -l)" -eq "$N" ] && ok || bad "after the rerun $(complete_runs | wc -l) of $N runs are complete"
[ -z "$(find "$OUT" -name '*.tmp*')" ] && ok || bad "temporary files left in $OUT"

# ---- the tables say: 1000 without warmup fails for every seed, 0.05 never fails ----
# col FILE NAME: the index of column NAME in FILE's header
col() { head -1 "$1" | tr ',' '\n' | grep -nx "$2" | cut -d: -f1; }
R="$OUT/runs.csv"
[ "$(($(wc -l <"$R") - 1))" -eq "$N" ] && ok || bad "runs.csv has $(($(wc -l <"$R") - 1)) rows, want $N"
cv=$(col "$R" variant) cl=$(col "$R" schedule.peak_lr) cs=$(col "$R" status)
st=$(awk -F, -v v="$cv" -v l="$cl" -v s="$cs" 'NR > 1 && $v == "none" && $l == "1000" { print $s }' "$R" | sort -u)
[ "$st" = "diverged" ] && ok || bad "runs.csv: none at 1000 should be diverged for every seed, got '$st'"
st=$(awk -F, -v l="$cl" -v s="$cs" 'NR > 1 && $l == "0.05" { print $s }' "$R" | sort -u)
[ "$st" = "finished" ] && ok || bad "runs.csv: every run at 0.05 should finish, got '$st'"
cf=$(col "$R" fail_step)
awk -F, -v s="$cs" -v f="$cf" 'NR > 1 && $s == "diverged" && $f !~ /^[0-9]+$/ { bad = 1 } END { exit bad }' "$R" &&
  ok || bad "runs.csv: a diverged run without its fail_step"
C="$OUT/cells.csv"
row=$(awk -F, -v c="$(col "$C" cell)" -v r="$(col "$C" runs)" -v f="$(col "$C" failures)" \
  -v x="$(col "$C" failure_rate)" -v h="$(col "$C" wilson_hi)" '$c == "none_peak_lr-1000" { print $r, $f, $x, $h }' "$C")
[ "$row" = "2 2 1 1.000000" ] && ok || bad "cells.csv none_peak_lr-1000: runs failures rate wilson_hi = '$row'"
row=$(awk -F, -v c="$(col "$C" cell)" -v f="$(col "$C" failures)" -v l="$(col "$C" wilson_lo)" \
  -v m="$(col "$C" mean_final_test_error)" '$c == "none_peak_lr-0.05" { print $f, $l, ($m != "") }' "$C")
[ "$row" = "0 0.000000 1" ] && ok || bad "cells.csv none_peak_lr-0.05: failures wilson_lo has_mean = '$row'"
S="$OUT/stable_lr.csv"
row=$(awk -F, -v v="$(col "$S" variant)" -v a="$(col "$S" min_all_fail_lr)" -v m="$(col "$S" max_stable_lr)" \
  '$v == "none" { print $a, ($m == "0.05" || $m == "0.8") }' "$S")
[ "$row" = "1000 1" ] && ok || bad "stable_lr.csv none: min_all_fail_lr and a stable rate of 0.05 or 0.8 = '$row'"
grep -q "largest stable peak_lr" "$TMP/out2.txt" && grep -qE "^none +1000 +2 +2 +100%" "$TMP/out2.txt" && ok ||
  bad "the printed summary lacks the cells or stable-rate table"

# ---- plots ----
if command -v gnuplot >/dev/null 2>&1; then
  "$BIN" report "$OUT" >"$TMP/rep.txt" 2>&1
  rc=$?
  [ "$rc" -eq 0 ] && ok || { bad "report exited $rc"; cat "$TMP/rep.txt" >&2; }
  for f in schedules failure_rate final_error loss_none_peak_lr-1000 loss_linear_peak_lr-0.05; do
    for ext in png svg gp; do
      [ -s "$OUT/plots/$f.$ext" ] && ok || bad "report did not write a non-empty plots/$f.$ext"
    done
  done
  head -c 8 "$OUT/plots/failure_rate.png" | od -An -c | grep -q "P   N   G" && ok || bad "failure_rate.png is not a PNG"
  grep -q "<svg" "$OUT/plots/failure_rate.svg" && ok || bad "failure_rate.svg is not an SVG"
  RUN="$OUT/none_peak_lr-0.8_seed-0"
  "$BIN" report "$RUN" >/dev/null 2>&1 && [ -s "$RUN/plots/run.png" ] && [ -s "$RUN/plots/run.svg" ] && ok ||
    bad "report of one run folder did not draw plots/run.png and run.svg"
else
  echo "note: gnuplot is not installed here; only the message without it is checked"
fi
# Without gnuplot on PATH: a clear message, exit 3, and the tables and scripts all the same.
rm -rf "$OUT/plots" "$OUT/cells.csv"
PATH=/nonexistent "$BIN" report "$OUT" >/dev/null 2>"$TMP/nognu.txt"
rc=$?
[ "$rc" -eq 3 ] && ok || bad "report without gnuplot exited $rc, want 3"
grep -q "gnuplot-nox" "$TMP/nognu.txt" && ok || bad "no install hint without gnuplot: $(cat "$TMP/nognu.txt")"
[ -s "$OUT/cells.csv" ] && [ -s "$OUT/plots/failure_rate.gp" ] && [ ! -e "$OUT/plots/failure_rate.png" ] && ok ||
  bad "without gnuplot the tables and the .gp scripts should still be written (and no PNG)"

# ---- errors: nothing runs ----
printf 'base: %s\nseeds: 1\ngrid:\n  schedule.peak_lr: [0.1]\n  schedule.no_such_key: [1]\n' "$SRC/configs/cpu_smoke.yaml" >bad.yaml
"$BIN" sweep bad.yaml --output "$TMP/badrun" >/dev/null 2>"$TMP/bad.txt"
rc=$?
[ "$rc" -eq 2 ] && grep -q "bad.yaml:5:.*schedule.no_such_key" "$TMP/bad.txt" && [ ! -e "$TMP/badrun" ] && ok ||
  bad "a grid key the run config does not know: exit $rc, want 2 with bad.yaml:5; $(cat "$TMP/bad.txt")"
printf 'base: x.yaml\nseeds: 1\nbogus: 1\n' >bad2.yaml
"$BIN" sweep bad2.yaml >/dev/null 2>"$TMP/bad2.txt"
rc=$?
[ "$rc" -eq 2 ] && grep -q "bad2.yaml:3:1: bogus" "$TMP/bad2.txt" && ok || bad "unknown sweep key: exit $rc, $(cat "$TMP/bad2.txt")"
"$BIN" sweep "$SWEEP" --jobs 0 >/dev/null 2>&1
[ $? -eq 2 ] && ok || bad "--jobs 0 should exit 2"
"$BIN" report "$TMP/data" >/dev/null 2>&1
[ $? -eq 2 ] && ok || bad "report of a folder that is neither a sweep nor a run should exit 2"

echo "cli_sweep: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
