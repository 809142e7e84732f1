#!/usr/bin/env bash
# cli_run_lock.sh: one run folder, one process: a second `resnet train` into a live run's folder (--overwrite, --resume, a fresh run) exits 2 naming the folder and the holder's pid and changes nothing; a SIGKILLed run leaves no stale lock.
. "$(dirname "$0")/lib_train.sh" || exit 1

make_synth_data
write_run_config 60 30

# A: a run far longer than the test (stopped with SIGTERM at the end), so it is alive
# through every attempt below.
"$RESNET" train run.yaml --set output.dir=L --set train.steps=100000 >/dev/null 2>A.err &
PID=$!
wait_file L/checkpoint.bin || { bad "run A ended before its first checkpoint: $(tail -n 2 A.err)"; finish cli_run_lock; }
holder=$PID

# Each attempt gets 60 s: the old behaviour (no lock) trains all 60 steps into A's folder.
expect_rc 2 "--overwrite into a live run's folder" timeout 60 "$RESNET" train run.yaml --set output.dir=L --overwrite
says "output.dir L is in use by another resnet process (pid $holder)" "--overwrite into a live run"
expect_rc 2 "--resume of a live run" timeout 60 "$RESNET" train run.yaml --resume L --set train.steps=100000
says "output.dir L is in use by another resnet process (pid $holder)" "--resume of a live run"
expect_rc 2 "a fresh run into a live run's folder" timeout 60 "$RESNET" train run.yaml --set output.dir=L
says "pid $holder" "a fresh run into a live run's folder"
kill -0 "$holder" 2>/dev/null && ok "run A still running after the refused attempts" || bad "run A died: $(tail -n 2 A.err)"

# A's folder is still A's alone: its config (100000 steps), and after a clean stop its
# checkpoint, summary and metrics agree on the step.
kill -TERM "$holder"
wait "$holder"
rc=$?
PID=
[ "$rc" = 143 ] && ok "run A stopped by SIGTERM (exit 143)" || bad "run A: exit $rc, expected 143: $(tail -n 2 A.err)"
grep -q "^  steps: 100000$" L/config.yaml && ok "L/config.yaml is run A's" || bad "L/config.yaml: $(grep steps: L/config.yaml)"
steps=$(sed -n 's/^  "steps_run": \([0-9]*\),$/\1/p' L/summary.json)
[ -n "$steps" ] && [ "$(ckpt_step L/checkpoint.bin)" = "$steps" ] &&
    [ "$(tail -n 1 L/metrics.csv | cut -d, -f1)" = "$steps" ] &&
    [ "$(cut -d, -f1 L/metrics.csv | sed 1d | tr '\n' ' ')" = "$(seq 1 "$steps" | tr '\n' ' ')" ] &&
    ok "L: checkpoint, summary and metrics.csv (steps 1..$steps, each once) agree" ||
    bad "L mixes runs: summary step '$steps', checkpoint $(ckpt_step L/checkpoint.bin), metrics to $(tail -n 1 L/metrics.csv | cut -d, -f1)"

# The lock is released with the process: the folder can be resumed at once.
expect_rc 0 "--resume once run A has ended" "$RESNET" train run.yaml --resume L --set train.steps=100000 \
    --stop-after $((steps + 2))

# ---- a SIGKILLed run leaves no stale lock ----
"$RESNET" train run.yaml --set output.dir=K >/dev/null 2>K.err &
PID=$!
wait_file K/checkpoint.bin || bad "run K ended before its first checkpoint"
kill -9 "$PID"
wait "$PID" 2>/dev/null
PID=
[ -e K/.train.lock ] && ok "run K left its lock file" || bad "no K/.train.lock"
expect_rc 0 "--resume right after SIGKILL" "$RESNET" train run.yaml --resume K
uninterrupted_run
same_run_finished R K "SIGKILL + resume"

finish cli_run_lock
