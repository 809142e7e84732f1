#!/usr/bin/env bash
# cli_slurm_runs.sh: training through a real one-node Slurm: a task requeued mid-run resumes and ends bit-identical to an uninterrupted run, a task past its time limit checkpoints and a resubmit finishes it, and the CPU tiny sweep gives the local engine's tables.
# Skipped (77) where the cluster cannot run: not root, or slurm-wlm/munge not installed.
# Two working folders with the same relative paths: A for the local engine, B for Slurm,
# so that every run's config.yaml (output.dir included) must match byte for byte.
# shellcheck source=lib_slurm.sh
. "$(dirname "$0")/lib_slurm.sh"
start_cluster
mkdir A B
make_data A
make_data B

last_step() { tail -1 "$1/metrics.csv" 2>/dev/null | cut -d, -f1; }
step_at_least() { local s; s=$(last_step "$1"); [ -n "$s" ] && [ "$s" -ge "$2" ] 2>/dev/null; }
has_line() { grep -q "$2" "$1" 2>/dev/null; }
finished() { grep -q '"status": "finished"' "$1/summary.json" 2>/dev/null; }
task_ended() { case "$(task_state "$1")" in COMPLETED | FAILED | TIMEOUT | CANCELLED | NODE_FAIL) return 0 ;; esac; return 1; }

# ---- the uninterrupted reference, through the local engine ----
one_cell_sweep rq.yaml 1 200 50
RUN=peak_lr-0.05_seed-0
t0=$(date +%s.%N)
(cd A && "$RESNET" sweep ../rq.yaml --output runs/rq >/dev/null 2>&1) || bad "the local reference run failed"
t_ref=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
# The time-limit run: as many steps as take about 50 s here, so that Slurm's signal, 20 s
# before a 1-minute limit (it comes between 10 and 40 s in: the controller looks every
# 30 s), lands mid-run.
steps_tl=$(awk -v t="$t_ref" 'BEGIN { s = int(200 * 50 / (t > 0.1 ? t : 0.1)); print s < 400 ? 400 : s }')
echo "note: 200 steps took $t_ref s here; the time-limit run has $steps_tl steps"
one_cell_sweep tl.yaml 1 "$steps_tl" 100 "slurm:" "  time: 1" "  signal_seconds: 20"

(cd B && "$RESNET" sweep ../tl.yaml --engine slurm --output runs/tl >../out_tl.txt 2>../err_tl.txt) || bad "submit tl: $(cat err_tl.txt)"
JT=$(cat out_tl.txt)
(cd B && "$RESNET" sweep ../rq.yaml --engine slurm --output runs/rq >../out_rq.txt 2>../err_rq.txt) || bad "submit rq: $(cat err_rq.txt)"
JR=$(cat out_rq.txt)
# The tiny sweep through the local engine, meanwhile (its tables are compared below).
(cd A && "$RESNET" sweep "$SRC/configs/sweeps/cpu_tiny.yaml" --jobs 2 >../tiny_local.txt 2>&1) &
PID=$!

# ---- scontrol requeue of a running task: it stops with a checkpoint, requeues, resumes ----
RQ=B/runs/rq/$RUN
wait_for 90 step_at_least "$RQ" 20 || bad "the rq run never reached step 20: $(task_state "${JR}_0")"
scontrol requeue "${JR}_0" || bad "scontrol requeue failed"
wait_for 30 has_line "$RQ/train.log" "stopped by signal 15 after step" && ok "requeue: the trainer got SIGTERM and stopped" ||
  bad "requeue: no stop in train.log: $(tail -3 "$RQ/train.log")"
stopped_at=$(sed -n 's/.*stopped by signal 15 after step \([0-9]*\).*/\1/p' "$RQ/train.log" | head -1)
wait_for 120 finished "$RQ" || bad "the requeued run did not finish: $(task_state "${JR}_0"); $(tail -3 "$RQ/train.log")"
grep -q "restart 1" "B/runs/rq/slurm/logs/${JR}_0.out" && grep -q "resuming the checkpoint" "B/runs/rq/slurm/logs/${JR}_0.out" &&
  ok "requeue: the task ran again (restart 1) and resumed the checkpoint" || bad "task log: $(cat "B/runs/rq/slurm/logs/${JR}_0.out")"
grep -q "\"resumed_from_step\": $stopped_at," "$RQ/summary.json" && [ "$stopped_at" -ge 20 ] && [ "$stopped_at" -lt 200 ] &&
  ok "requeue: stopped at step $stopped_at of 200, resumed from there" ||
  bad "resumed_from_step: $(grep resumed "$RQ/summary.json"), stopped at '$stopped_at'"
REF=A/runs/rq/$RUN
cmp -s "$REF/checkpoint.bin" "$RQ/checkpoint.bin" && ok "requeue: final checkpoint identical to the uninterrupted run's" ||
  bad "requeue: the checkpoints differ"
cmp -s <(cols "$REF/metrics.csv") <(cols "$RQ/metrics.csv") && cmp -s "$REF/eval.csv" "$RQ/eval.csv" &&
  cmp -s "$REF/config.yaml" "$RQ/config.yaml" && ok "requeue: metrics, eval and config identical" ||
  bad "requeue: metrics.csv, eval.csv or config.yaml differ"

# ---- a task past its time limit: signalled, checkpoints, a resubmit finishes it ----
TL=B/runs/tl/$RUN
wait_for 150 task_ended "${JT}_0" || bad "the time-limit task did not end: $(task_state "${JT}_0")"
tl_stop=$(sed -n 's/.*stopped by signal 15 after step \([0-9]*\).*/\1/p' "$TL/train.log" | head -1)
[ -n "$tl_stop" ] && [ "$tl_stop" -lt "$steps_tl" ] && grep -q '"status": "stopped"' "$TL/summary.json" &&
  ok "time limit: stopped by Slurm's SIGTERM after step $tl_stop of $steps_tl ($(task_state "${JT}_0"))" ||
  bad "time limit: no stop by signal: $(task_state "${JT}_0"); $(tail -3 "$TL/train.log")"
(cd B && "$RESNET" sweep status runs/tl >../st.txt 2>&1)
grep -q "failed .*job ${JT}_0 FAILED; stopped with a checkpoint at step $tl_stop; submit again to resume it" st.txt &&
  ok "status: failed, with a checkpoint to resume" || bad "status: $(cat st.txt)"
(cd B && "$RESNET" sweep ../tl.yaml --engine slurm --output runs/tl --set slurm.time=10 >../out_tl2.txt 2>../err_tl2.txt) ||
  bad "resubmit tl: $(cat err_tl2.txt)"
JT2=$(cat out_tl2.txt)
grep -qx '#SBATCH --time=10' B/runs/tl/slurm/array.sbatch && ok "resubmitted with a longer limit (job $JT2)" ||
  bad "array.sbatch: $(grep time B/runs/tl/slurm/array.sbatch)"

# ---- the tiny sweep through Slurm, two at a time ----
(cd B && "$RESNET" sweep "$SRC/configs/sweeps/cpu_tiny.yaml" --engine slurm --jobs 2 >../out_tiny.txt 2>&1) ||
  bad "submit the tiny sweep: $(cat out_tiny.txt)"
wait_for 240 finished "$TL" || bad "the resubmitted time-limit run did not finish: $(tail -3 "$TL/train.log")"
grep -q "\"resumed_from_step\": $tl_stop," "$TL/summary.json" && grep -q "\"steps_run\": $steps_tl," "$TL/summary.json" &&
  [ "$(cut -d, -f1 "$TL/metrics.csv" | tail -n +2 | sort -n | uniq | wc -l)" -eq "$steps_tl" ] &&
  [ "$(($(wc -l <"$TL/metrics.csv") - 1))" -eq "$steps_tl" ] &&
  ok "time limit: the resubmit resumed at step $tl_stop and finished all $steps_tl steps, each logged once" ||
  bad "time limit: summary $(grep -E 'resumed|steps_run' "$TL/summary.json" | tr -d '\n')"
wait "$PID" || bad "the local tiny sweep failed: $(tail -5 tiny_local.txt)"
PID=
wait_for 240 queue_empty || bad "the tiny sweep's tasks did not end"
(cd B && "$RESNET" report runs/cpu_tiny >../report.txt 2>&1)
rc=$?
[ "$rc" -eq 0 ] || { [ "$rc" -eq 3 ] && ! command -v gnuplot >/dev/null; } || bad "report of the Slurm sweep exited $rc"
for t in runs.csv cells.csv stable_lr.csv; do
  if cmp -s <(without_col "A/runs/cpu_tiny/$t" wall_s) <(without_col "B/runs/cpu_tiny/$t" wall_s); then
    ok "tiny sweep: $t identical to the local engine's (but wall_s)"
  else
    bad "tiny sweep: $t differs"
    diff <(without_col "A/runs/cpu_tiny/$t" wall_s) <(without_col "B/runs/cpu_tiny/$t" wall_s) | head -6 >&2
  fi
done
[ "$(tail -n +2 A/runs/cpu_tiny/runs.csv | wc -l)" -eq 12 ] && ok "12 runs" || bad "runs.csv rows: $(wc -l <A/runs/cpu_tiny/runs.csv)"
same=0
for d in A/runs/cpu_tiny/*/; do
  r=$(basename "$d")
  cmp -s "$d/config.yaml" "B/runs/cpu_tiny/$r/config.yaml" && cmp -s <(cols "$d/metrics.csv") <(cols "B/runs/cpu_tiny/$r/metrics.csv") &&
    same=$((same + 1))
done
[ "$same" -eq 12 ] && ok "tiny sweep: every run's config.yaml and metrics identical" || bad "only $same of 12 runs identical"

finish cli_slurm_runs
