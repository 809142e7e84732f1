#!/usr/bin/env bash
# cli_sweep_stale.sh: a sweep rerun after its file changed is an error naming the runs and keys (or, with --rerun-changed, redoes them in place); grid values compare as values; missing data fails the dry run; a child's exit-2 error is shown; SIGINT/SIGTERM stop the children and the sweep cleanly; finished runs report elapsed time and an ETA.
. "$(dirname "$0")/lib_train.sh" || exit 1

sweep() { timeout 120 "$RESNET" sweep "$@"; }

make_synth_data
write_run_config 12 0
# S.yaml: 2 cells x 1 seed of 12 steps.
write_sweep() { # FILE STEPS [GRID]
    cat >"$1" <<EOF
base: run.yaml
output: SW
seeds: 1
grid:
  schedule.peak_lr: ${3:-[0.05, 0.1]}
set: {train.steps: $2, train.checkpoint_every: 0}
EOF
}

write_sweep S.yaml 12
expect_rc 0 "first sweep" sweep S.yaml
says "elapsed" "a finished run's line"
says "ETA" "a finished run's line"
expect_rc 0 "rerun, unchanged" sweep S.yaml
[ "$(grep -c "already done, skipped" err.txt)" = 2 ] && ok "rerun skips both runs" || bad "rerun: $(cat err.txt)"

# ---- the sweep file changed: an error before anything runs ----
write_sweep S.yaml 14
before=$(snap SW)
expect_rc 2 "rerun after train.steps changed in set:" sweep S.yaml
says "peak_lr-0.05_seed-0: finished, but with another config: train.steps: 12 -> 14" "stale run named"
says "peak_lr-0.1_seed-0: finished, but with another config: train.steps: 12 -> 14" "stale run named"
says "--rerun-changed" "the way out"
unchanged SW "$before" "the refused rerun"
expect_rc 2 "the dry run says so too" sweep S.yaml --dry-run
says "train.steps: 12 -> 14" "dry run"
expect_rc 0 "--rerun-changed redoes them" sweep S.yaml --rerun-changed
for r in SW/peak_lr-0.05_seed-0 SW/peak_lr-0.1_seed-0; do
    grep -q '"steps_run": 14,' $r/summary.json && ok "$r reran with 14 steps" || bad "$r: $(grep steps_run $r/summary.json)"
done
awk -F, 'NR > 1 && $0 !~ /,14,/ { bad = 1 } END { exit bad }' SW/runs.csv && ok "runs.csv tables the new runs" ||
    bad "runs.csv: $(cat SW/runs.csv)"
expect_rc 0 "rerun after --rerun-changed, unchanged" sweep S.yaml
[ "$(grep -c "already done, skipped" err.txt)" = 2 ] && ok "both skipped now" || bad "rerun: $(cat err.txt)"

# ---- grid values compare as values ----
write_sweep D.yaml 12 "[0.1, 0.10]"
expect_rc 2 "0.1 and 0.10 in one grid" sweep D.yaml --dry-run
says "D.yaml:5:" "duplicate value"
says "0.10 is already in the list (as 0.1)" "duplicate value"

# ---- missing data: the dry run and the real run stop before anything runs ----
write_sweep M.yaml 12
sed -i 's/^output: SW$/output: SM/; s/^set: {/set: {data.test: nothere.bin, /' M.yaml
expect_rc 2 "missing test file, dry run" sweep M.yaml --dry-run
says "nothere.bin: no such file" "missing data, dry run"
expect_rc 2 "missing test file, real run" sweep M.yaml
says "nothere.bin: no such file" "missing data, real run"
[ ! -e SM/peak_lr-0.05_seed-0 ] && ok "no run was started" || bad "SM holds $(ls SM)"

# ---- a child that exits 2: its error is shown ----
cp train.bin badlabel.bin
printf '\x0c' | dd of=badlabel.bin bs=1 seek=3073 conv=notrunc status=none
write_sweep B.yaml 12 "[0.05]"
sed -i 's/^output: SW$/output: SB/; s/^set: {/set: {data.train: [badlabel.bin], /' B.yaml
expect_rc 2 "a run that exits 2" sweep B.yaml
says "record 1 (counting from 0) has label 12" "the child's error"

# ---- signals: the children stop cleanly, the sweep says how to continue ----
# Long runs (2000 steps) so the signal lands in the middle; started with SIGINT ignored,
# as a background job of a script is, which the sweep must not inherit.
write_sweep L.yaml 2000
sed -i 's/^output: SW$/output: SL/' L.yaml
for sig in INT TERM; do
    rm -rf SL
    (trap '' INT; exec "$RESNET" sweep L.yaml --jobs 2 >sig.out 2>sig.err) &
    PID=$!
    wait_file SL/peak_lr-0.1_seed-0/metrics.csv && sleep 1
    kill -s $sig "$PID"
    for _ in $(seq 1 300); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$PID" 2>/dev/null; then
        bad "SIG$sig: the sweep still runs 30 s after the signal"
        kill -9 "$PID"
    fi
    wait "$PID"
    rc=$?
    PID=
    want=$((128 + $(kill -l $sig)))
    [ "$rc" = "$want" ] && ok "SIG$sig: sweep exit $rc" || bad "SIG$sig: sweep exit $rc, expected $want"
    for r in SL/peak_lr-0.05_seed-0 SL/peak_lr-0.1_seed-0; do
        grep -q '"status": "stopped"' $r/summary.json 2>/dev/null && ok "SIG$sig: $r stopped cleanly" ||
            bad "SIG$sig: $r did not stop cleanly: $(tail -n 2 $r/train.log)"
    done
    says_in sig.err "continue with: resnet sweep L.yaml" "SIG$sig"
done

finish cli_sweep_stale
