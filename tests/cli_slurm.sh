#!/usr/bin/env bash
# cli_slurm.sh: the Slurm engine against a real one-node Slurm (tests/slurm_cluster.sh): a refused sbatch, the job id recorded, status from squeue, resubmitting only unfinished runs, the local engine kept off a folder with live tasks.
# Skipped (77) where the cluster cannot run: not root, or slurm-wlm/munge not installed.
# shellcheck source=lib_slurm.sh
. "$(dirname "$0")/lib_slurm.sh"
start_cluster
make_data .
one_cell_sweep q.yaml 2 8 0
D=runs/q

# ---- sbatch refuses (a partition that does not exist): exit 3, its message, nothing submitted ----
expect_rc 3 "a partition that does not exist" "$RESNET" sweep q.yaml --engine slurm --set slurm.partition=nope
grep -q "sweep: \`sbatch --parsable $W/$D/slurm/array.sbatch\` failed (exit 1): sbatch: error: .*nvalid partition" \
  err.txt && grep -q "nothing was submitted" err.txt && ok "sbatch's own message, on one line" ||
  { bad "sbatch failure message:"; cat err.txt >&2; }
[ ! -e "$D/slurm/jobs.csv" ] && queue_empty && ok "no job recorded, none queued" || bad "something was submitted"

# ---- submitted, held in the queue (--begin an hour from now) ----
expect_rc 0 "submit, begin in an hour" "$RESNET" sweep q.yaml --engine slurm --jobs 1 --set 'slurm.extra=[--begin=now+3600]'
J1=$(cat out.txt)
[ "$(tail -n +2 "$D/slurm/jobs.csv" | cut -d, -f1,4,5,6)" = "$J1,2,1,\"0-1\"" ] &&
  ok "jobs.csv records job $J1: 2 tasks, 1 at a time, indices 0-1" || bad "jobs.csv: $(cat "$D/slurm/jobs.csv")"
grep -qx "#SBATCH --array=0-1%1" "$D/slurm/array.sbatch" && grep -qx "#SBATCH --begin=now+3600" "$D/slurm/array.sbatch" &&
  ok "the script holds the array and the extra option" || bad "array.sbatch: $(grep '^#SBATCH' "$D/slurm/array.sbatch")"
expect_rc 0 "status" "$RESNET" sweep status "$D"
[ "$(grep -c "queued .*job ${J1}_[01] PENDING" out.txt)" -eq 2 ] && tail -1 out.txt | grep -q "2 runs: 0 done, 0 running, 2 queued" &&
  ok "status: both queued, with the job ids" || { bad "status while held:"; cat out.txt >&2; }
expect_rc 0 "resubmit while queued" "$RESNET" sweep q.yaml --engine slurm
grep -q "nothing to submit: 0 of 2 runs are done, 2 queued or running" err.txt && [ "$(wc -l <"$D/slurm/jobs.csv")" -eq 2 ] &&
  ok "submits nothing twice" || { bad "resubmit while queued:"; cat err.txt >&2; }
expect_rc 2 "the local engine on the same folder" "$RESNET" sweep q.yaml
grep -q "2 Slurm tasks are queued or running in $D; a local sweep would redo their folders" err.txt &&
  ok "the local engine stays off it" || { bad "local engine:"; cat err.txt >&2; }
expect_rc 2 "a changed plan while tasks are queued" "$RESNET" sweep q.yaml --engine slurm --set train.steps=10
grep -q "2 tasks submitted earlier to $D are still queued or running, and the runs have changed" err.txt &&
  ok "refused: the queued tasks would read the new command lines" || { bad "changed plan:"; cat err.txt >&2; }
scancel "$J1"
wait_for 20 queue_empty || bad "job $J1 still queued after scancel"
expect_rc 0 "status after scancel" "$RESNET" sweep status "$D"
[ "$(grep -c "failed .*job ${J1}_[01] CANCELLED; no folder yet; submit again to redo it" out.txt)" -eq 2 ] &&
  ok "status: both failed (CANCELLED)" || { bad "status after scancel:"; cat out.txt >&2; }

# ---- resubmitted: both run; then one folder lost, and only it goes again ----
expect_rc 0 "resubmit" "$RESNET" sweep q.yaml --engine slurm --jobs 2 --set 'slurm.extra=[]'
J2=$(cat out.txt)
wait_for 60 queue_empty || bad "job $J2 did not end within 60 s"
expect_rc 0 "status when done" "$RESNET" sweep status "$D"
tail -1 out.txt | grep -q "2 runs: 2 done, 0 running, 0 queued, 0 failed" && ok "status: both done" ||
  { bad "status after the run:"; cat out.txt >&2; }
grep -q "^sweep task 1 of $W/$D (job ${J2}_1, restart 0)" "$D/slurm/logs/${J2}_1.out" &&
  grep -q "^train: finished 8 steps" "$D/peak_lr-0.05_seed-1/train.log" && ok "the task's log and the run's train.log" ||
  bad "logs: $(cat "$D/slurm/logs/${J2}_1.out")"
rm -r "$D/peak_lr-0.05_seed-1"
expect_rc 0 "resubmit a partly done sweep" "$RESNET" sweep q.yaml --engine slurm
J3=$(cat out.txt)
grep -qx "#SBATCH --array=1" "$D/slurm/array.sbatch" && grep -q "1 array task (1), no limit on how many at a time; before it, 1 of 2 runs were done and 0 queued" err.txt &&
  ok "only the unfinished run is submitted" || { bad "resubmit:"; cat err.txt >&2; }
[ "$(tail -1 "$D/slurm/jobs.csv" | cut -d, -f1,4,6)" = "$J3,1,\"1\"" ] && ok "jobs.csv: job $J3, task 1" ||
  bad "jobs.csv: $(cat "$D/slurm/jobs.csv")"
wait_for 60 queue_empty || bad "job $J3 did not end within 60 s"
expect_rc 0 "resubmit a done sweep" "$RESNET" sweep q.yaml --engine slurm
grep -q "nothing to submit: 2 of 2 runs are done" err.txt && [ ! -s out.txt ] && ok "nothing to submit when done" ||
  bad "resubmit when done: $(cat err.txt)"

# ---- the report works on the Slurm sweep's folder as on a local one's ----
"$RESNET" report "$D" >out.txt 2>err.txt
rc=$?
[ "$rc" -eq 0 ] || { [ "$rc" -eq 3 ] && ! command -v gnuplot >/dev/null; } && ok "report (exit $rc)" || bad "report exited $rc"
[ "$(awk -F, 'NR > 1' "$D/runs.csv" | grep -c ',finished,')" -eq 2 ] && ok "runs.csv: 2 finished runs" ||
  bad "runs.csv: $(cat "$D/runs.csv")"

finish cli_slurm
