#!/usr/bin/env bash
# cli_slurm_script.sh: the Slurm engine without a cluster: the slurm section's strict checks (FILE:LINE:COL), the batch script --dry-run prints, sbatch missing, and `resnet sweep task` run by hand equal to the local engine's run.
# shellcheck source=lib_slurm.sh
. "$(dirname "$0")/lib_slurm.sh"
make_data .

# ---- the batch script, from a slurm section with every key and --set over it ----
one_cell_sweep s.yaml 2 8 0 \
  "slurm:" \
  "  partition: gpu" \
  "  account: proj-42" \
  "  qos: normal" \
  "  time: 1-12:00:00" \
  "  gpus_per_task: 1" \
  "  cpus_per_task: 8" \
  "  mem: 32G" \
  "  signal_seconds: 300" \
  "  extra: [--constraint=h100, --exclusive]" \
  "  setup: [module load cuda/12.4, \"source \$HOME/venv/bin/activate\"]"
expect_rc 0 "dry run with every slurm key" "$RESNET" sweep s.yaml --engine slurm --dry-run --jobs 3 \
  --set slurm.qos=high --output runs/s
cp out.txt script.txt
want="#SBATCH --job-name=s
#SBATCH --array=0-1%3
#SBATCH --partition=gpu
#SBATCH --account=proj-42
#SBATCH --qos=high
#SBATCH --time=1-12:00:00
#SBATCH --ntasks=1
#SBATCH --cpus-per-task=8
#SBATCH --mem=32G
#SBATCH --gpus-per-task=1
#SBATCH --constraint=h100
#SBATCH --exclusive
#SBATCH --requeue
#SBATCH --signal=B:TERM@300
#SBATCH --open-mode=append
#SBATCH --output=$W/runs/s/slurm/logs/%A_%a.out"
if [ "$(grep '^#SBATCH' script.txt)" = "$want" ]; then ok "the #SBATCH lines"; else
  bad "the #SBATCH lines differ:"
  diff <(echo "$want") <(grep '^#SBATCH' script.txt) >&2
fi
head -1 script.txt | grep -qx '#!/bin/bash' && ok "a bash script" || bad "first line: $(head -1 script.txt)"
grep -qx 'module load cuda/12.4' script.txt && grep -qx 'source $HOME/venv/bin/activate' script.txt &&
  ok "the setup lines, verbatim" || bad "setup lines missing"
grep -qxF "exec $RESNET sweep task $W/runs/s \"\$SLURM_ARRAY_TASK_ID\"" script.txt && ok "the exec line" ||
  bad "exec line: $(grep '^exec' script.txt)"
# The script is the last non-empty line's exec, after set -e and the setup.
[ "$(grep -v '^#' script.txt | grep -v '^$' | tail -1 | cut -c1-5)" = "exec " ] && ok "exec is the last command" ||
  bad "exec is not the last command"
bash -n script.txt && ok "bash -n accepts it" || bad "bash -n rejects the script"
[ ! -e runs ] && ok "a dry run writes nothing" || bad "a dry run wrote $(find runs | head -3)"

# Without --jobs, no limit; without slurm keys, only what the engine needs.
one_cell_sweep plain.yaml 3 8 0
expect_rc 0 "dry run without a slurm section" "$RESNET" sweep plain.yaml --engine slurm --dry-run
grep -qx '#SBATCH --array=0-2' out.txt && ok "no %K without --jobs" || bad "array line: $(grep array out.txt)"
[ "$(grep -c '^#SBATCH' out.txt)" -eq 7 ] && ok "7 #SBATCH lines (name, array, ntasks, requeue, signal, mode, output)" ||
  bad "$(grep -c '^#SBATCH' out.txt) #SBATCH lines: $(grep '^#SBATCH' out.txt | tr '\n' ' ')"
grep -qx '#SBATCH --signal=B:TERM@120' out.txt && ok "the default signal 120 s before the limit" ||
  bad "default signal: $(grep signal out.txt)"
expect_rc 0 "--set gres" "$RESNET" sweep plain.yaml --engine slurm --dry-run --set slurm.gres=gpu:a100:2
grep -qx '#SBATCH --gres=gpu:a100:2' out.txt && ok "--gres from --set" || bad "gres: $(grep gres out.txt)"

# ---- bad slurm keys: exit 2, FILE:LINE:COL, nothing written ----
bad_key() { # WHAT YAML_LINES RE
  one_cell_sweep b.yaml 1 8 0 "slurm:" "$2"
  expect_rc 2 "$1" "$RESNET" sweep b.yaml --engine slurm --output runs/b
  expect_err "$3" "$1"
  [ ! -e runs/b ] || bad "$1: runs/b was created"
}
# The slurm section starts at line 9 of one_cell_sweep's file, its first key at line 10.
bad_key "unknown key" "  partitoin: gpu" '^b\.yaml:10:3: slurm\.partitoin: unknown key \(known: partition,'
bad_key "time not Slurm's" "  time: 2h" '^b\.yaml:10:9: slurm\.time: expected a time limit .* got 2h$'
bad_key "time 0" "  time: 0" '^b\.yaml:10:9: slurm\.time: '
bad_key "minutes of 60" "  time: 1:60:00" '^b\.yaml:10:9: slurm\.time: '
bad_key "cpus quoted" "  cpus_per_task: \"8\"" '^b\.yaml:10:18: slurm\.cpus_per_task: expected a whole number 1\.\.100000, got "8" \(quoted: text\)$'
bad_key "cpus 0" "  cpus_per_task: 0" 'slurm\.cpus_per_task: expected a whole number 1\.\.100000, got 0$'
bad_key "mem unit" "  mem: 32GB" '^b\.yaml:10:8: slurm\.mem: expected memory'
bad_key "partition with a space" "  partition: gpu debug" '^b\.yaml:10:14: slurm\.partition: expected a partition'
bad_key "partition a list" "  partition: [gpu]" 'slurm\.partition: expected a partition name.*got a list$'
bad_key "signal too large" "  signal_seconds: 70000" '^b\.yaml:10:19: slurm\.signal_seconds: expected whole seconds'
bad_key "extra short form" "  extra: [-C h100]" '^b\.yaml:10:11: slurm\.extra: expected an sbatch option'
bad_key "extra owned" "  extra: [--array=0-3]" 'slurm\.extra: --array is not allowed here: the Slurm engine writes it'
bad_key "extra keyed" "  extra: [--time=10]" 'slurm\.extra: --time is not allowed here: give it as slurm\.time$'
bad_key "extra with a quote" "  extra: [\"--comment=a'b\"]" 'slurm\.extra: expected an sbatch option'
bad_key "setup line break" '  setup: "module load a\nrm -rf x"' '^b\.yaml:10:10: slurm\.setup: expected one shell line'
bad_key "setup a mapping" "  setup: {a: b}" 'slurm\.setup: expected a list, got a mapping$'
bad_key "gpus 0" "  gpus_per_task: 0" 'slurm\.gpus_per_task: expected a GPU count'
bad_key "given twice" "  qos: a
  qos: b" '^b\.yaml:11:3: slurm\.qos: given twice \(first at line 10\)$'
bad_key "not a mapping" "  - partition" '^b\.yaml:10:3: slurm: expected a mapping'
bad_key "signal not before the limit" "  time: 2
  signal_seconds: 120" '^b\.yaml:11:19: slurm\.signal_seconds: 120 s is not less than slurm\.time 2 \(120 s, b\.yaml:10:9\)$'
bad_key "time shorter than the default signal" "  time: 1" '^b\.yaml:10:9: slurm\.time: 1 \(60 s\) leaves no time'
bad_key "gres and gpus_per_task" "  gres: gpu:1
  gpus_per_task: 1" '^b\.yaml:11:18: slurm\.gpus_per_task: the GPUs are also asked for by slurm\.gres \(b\.yaml:10:9\)'

# A bad slurm section is an error for the local engine too: the file is checked whole.
one_cell_sweep b.yaml 1 8 0 "slurm:" "  partitoin: gpu"
expect_rc 2 "a bad slurm key with the local engine" "$RESNET" sweep b.yaml --output runs/b
expect_err '^b\.yaml:10:3: slurm\.partitoin: unknown key' "a bad slurm key with the local engine"

# --set slurm.KEY=VALUE: the same checks, naming the argument.
expect_rc 2 "--set an unknown slurm key" "$RESNET" sweep plain.yaml --engine slurm --dry-run --set slurm.nodes=2
expect_err '^--set slurm\.nodes=2: slurm\.nodes: unknown key' "--set an unknown slurm key"
expect_rc 2 "--set a bad time" "$RESNET" sweep plain.yaml --engine slurm --dry-run --set slurm.time=soon
expect_err '^--set slurm\.time=soon: slurm\.time: expected a time limit' "--set a bad time"
expect_rc 2 "--set a time under the signal" "$RESNET" sweep s.yaml --engine slurm --dry-run --set slurm.time=5
expect_err '^b?s\.yaml:[0-9]+:[0-9]+: slurm\.signal_seconds: 300 s is not less than slurm\.time 5 \(300 s, --set slurm\.time=5\)$' \
  "--set a time under the file's signal"
expect_rc 2 "--set slurm with the local engine" "$RESNET" sweep plain.yaml --dry-run --set slurm.partition=gpu
expect_err '^--set slurm\.partition=gpu: a Slurm setting, for --engine slurm only$' "--set slurm with the local engine"
expect_rc 2 "--engine other" "$RESNET" sweep plain.yaml --engine pbs
expect_err "^sweep: --engine wants local or slurm, got 'pbs'$" "--engine other"

# A sweep folder whose path an #SBATCH line cannot hold.
expect_rc 2 "a sweep folder with a space" "$RESNET" sweep plain.yaml --engine slurm --dry-run --output "runs/a b"
tail -1 err.txt | grep -q '^sweep: the sweep folder .*runs/a b has a space' && ok "says why: $(tail -1 err.txt)" ||
  bad "a sweep folder with a space: $(cat err.txt)"

# ---- sbatch absent: a clear error, exit 3, no job recorded ----
expect_rc 3 "no sbatch on PATH" env PATH=/nonexistent "$RESNET" sweep plain.yaml --engine slurm --output runs/p
grep -q "cannot run sbatch: No such file or directory (not on PATH" err.txt && grep -q "nothing was submitted" err.txt &&
  ok "says sbatch is not on PATH and nothing was submitted" || { bad "message without sbatch:"; cat err.txt >&2; }
[ ! -e runs/p/slurm/jobs.csv ] && ok "no job recorded" || bad "runs/p/slurm/jobs.csv was written"
[ -s runs/p/slurm/array.sbatch ] && [ -s runs/p/slurm/tasks.argv ] && [ -s runs/p/plan.csv ] &&
  ok "the plan, the task file and the script it would have submitted are there" || bad "plan, tasks or script missing"

# ---- `resnet sweep task` by hand: the same run as the local engine's ----
# Row 1 of the plan (seed 1) through the task, the whole sweep through the local engine
# in another folder with the same relative paths: config.yaml byte for byte, the metrics.
expect_rc 2 "task: a row past the plan" "$RESNET" sweep task "$W/runs/p" 3
expect_err '^sweep task: .*runs/p has 3 runs \(rows 0\.\.2 of plan\.csv\), not a row 3$' "task: a row past the plan"
expect_rc 2 "task: no index" "$RESNET" sweep task "$W/runs/p" ""
expect_err "^sweep task: expected the plan row INDEX .*got ''" "task: no index"
expect_rc 2 "task: not a sweep folder" "$RESNET" sweep task "$W/data" 0
expect_err 'data/slurm/tasks\.argv: No such file' "task: not a sweep folder"
expect_rc 0 "task 1 run by hand" "$RESNET" sweep task "$W/runs/p" 1
grep -q "starting: resnet train $SRC/configs/cpu_smoke.yaml --set model.depth=8" err.txt && ok "it logs the command" ||
  { bad "task log:"; cat err.txt >&2; }
mkdir local && cp -r data local/ && (cd local && "$RESNET" sweep ../plain.yaml --output runs/p >/dev/null 2>&1) ||
  bad "the local sweep failed"
R1=runs/p/peak_lr-0.05_seed-1
cmp -s "$R1/config.yaml" "local/$R1/config.yaml" && ok "config.yaml identical to the local engine's" ||
  { bad "config.yaml differs"; diff "$R1/config.yaml" "local/$R1/config.yaml" >&2; }
cmp -s <(cols "$R1/metrics.csv") <(cols "local/$R1/metrics.csv") && cmp -s "$R1/checkpoint.bin" "local/$R1/checkpoint.bin" &&
  ok "metrics and checkpoint identical to the local engine's" || bad "metrics or checkpoint differ"
grep -q "^train: finished 8 steps" "$R1/train.log" && ok "its output in the run's train.log" || bad "train.log: $(tail -2 "$R1/train.log")"
expect_rc 0 "task 1 again" "$RESNET" sweep task "$W/runs/p" 1
grep -q "is done already" err.txt && ok "a done run is left alone" || bad "rerun of a done task: $(cat err.txt)"
# A folder without a checkpoint is redone from scratch; one with a checkpoint resumed.
mkdir -p runs/p/peak_lr-0.05_seed-2 && echo junk >runs/p/peak_lr-0.05_seed-2/metrics.csv
expect_rc 0 "task 2 over a folder without a checkpoint" "$RESNET" sweep task "$W/runs/p" 2
grep -q "starting:" err.txt && ! grep -q junk runs/p/peak_lr-0.05_seed-2/metrics.csv && ok "redone from scratch" ||
  bad "the unfinished folder was not redone"
(cd local && "$RESNET" sweep task "$W/runs/p" 0 >/dev/null 2>&1) # the task enters the recorded folder itself
R0=runs/p/peak_lr-0.05_seed-0
rm "$R0/summary.json"
expect_rc 0 "task 0 over a folder with a checkpoint and no summary" "$RESNET" sweep task "$W/runs/p" 0
grep -q "resuming the checkpoint: .* --resume $R0\$" err.txt && ok "resumed with --resume" || bad "not resumed: $(cat err.txt)"
grep -q '"status": "finished"' "$R0/summary.json" && ok "finished after the resume" || bad "no finished summary"

# ---- finished runs of another config: the same check as the local engine's, before anything ----
expect_rc 2 "slurm: finished runs of another config" "$RESNET" sweep plain.yaml --engine slurm --dry-run --output runs/p \
  --set train.steps=9
grep -q "^sweep: peak_lr-0.05_seed-0: finished, but with another config: .*train.steps" err.txt &&
  grep -q "3 finished runs in runs/p were made by another config" err.txt &&
  ok "names the changed runs and keys, submits nothing" || { bad "slurm staleness:"; cat err.txt >&2; }
expect_rc 0 "slurm: --rerun-changed dry run" "$RESNET" sweep plain.yaml --engine slurm --dry-run --output runs/p \
  --set train.steps=9 --rerun-changed
grep -q "would submit 3 array tasks (0-2)" err.txt && [ -s "$R0/summary.json" ] &&
  ok "--rerun-changed submits the changed runs; the dry run leaves their folders" ||
  { bad "slurm --rerun-changed dry run:"; cat err.txt >&2; }

# ---- `resnet sweep status` of a local sweep's folder: from the folders alone ----
rm local/runs/p/peak_lr-0.05_seed-1/summary.json
rm -r local/runs/p/peak_lr-0.05_seed-2
expect_rc 0 "status of a local sweep" "$RESNET" sweep status local/runs/p
grep -qE '^peak_lr-0\.05_seed-0 +done +finished, test error [0-9.]+%$' out.txt &&
  grep -qE '^peak_lr-0\.05_seed-1 +failed +ended with a checkpoint at step 8; the next sweep redoes it$' out.txt &&
  grep -qE '^peak_lr-0\.05_seed-2 +not started +no folder yet$' out.txt &&
  [ "$(tail -1 out.txt)" = "3 runs: 1 done, 0 running, 0 queued, 1 failed, 1 not started" ] &&
  ok "status: done, failed, not started" || { bad "status of a local sweep:"; cat out.txt >&2; }
expect_rc 2 "status of a folder that is no sweep" "$RESNET" sweep status data
expect_err '^sweep status: data/plan\.csv: No such file or directory' "status of a folder that is no sweep"

finish cli_slurm_script
