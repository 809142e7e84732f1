#!/usr/bin/env bash
# cli_resume_config.sh: --resume refuses a changed config (exit 2, every changed key with old and new value, nothing touched), identifies data files by content, logs accepted changes to resumes.csv; a finished run resumed is a no-op; wall time and throughput add up over the pieces; --stop-after T finishes.
. "$(dirname "$0")/lib_train.sh" || exit 1

summary_num() { sed -n "s/^  \"$2\": \([-0-9.e+]*\),\{0,1\}$/\1/p" "$1/summary.json"; }
train() { "$RESNET" train run.yaml "$@"; }

make_synth_data
write_run_config 60 30
uninterrupted_run
expect_rc 0 "run P stopped after step 30" train --set output.dir=P --stop-after 30

# ---- a changed config is refused, listing every changed key; nothing is touched ----
refused() { # NAME WHAT MESSAGE... -- ARGS
    local name=$1 what=$2
    shift 2
    local msgs=()
    while [ "$1" != -- ]; do msgs+=("$1"); shift; done
    shift
    rm -rf "$name" && cp -a P "$name"
    local before
    before=$(snap "$name")
    expect_rc 2 "$what refused" timeout 60 "$RESNET" train run.yaml --resume "$name" "$@"
    for m in "${msgs[@]}"; do says "$m" "$what"; done
    [ "$(wc -l <err.txt)" = 1 ] && ok "$what: one line" || bad "$what: $(wc -l <err.txt) lines"
    unchanged "$name" "$before" "$what"
}
refused C1 "another peak rate" "schedule.peak_lr: 0.1 -> 0.2" "C1/config.yaml" -- --set schedule.peak_lr=0.2
refused C2 "another warmup" "schedule.warmup.steps: 10 -> 20" -- --set schedule.warmup.steps=20
refused C3 "augmentation off" "data.augment: true -> false" -- --set data.augment=false
refused C4 "another optimizer" "optim.momentum: 0.9 -> 0.5" "optim.nesterov: false -> true" -- \
    --set optim.momentum=0.5 --set optim.nesterov=true
refused C5 "a shorter run" "train.steps: 60 -> 50 (train.steps may only grow on resume)" -- --set train.steps=50
refused C6 "another policy" "train.nonfinite: stop -> skip" -- --set train.nonfinite=skip
"$SYNTH" other.bin --n 512 --seed 9 >/dev/null
refused C7 "another training file of the same size" "data.train: [train.bin] -> [other.bin]" \
    "data.train[0]: ./other.bin (512 records) differs in content from ./train.bin, the file the run started with" -- \
    --set 'data.train=[other.bin]'

# The same data under another name (a moved copy) is the same data: accepted, logged.
mkdir -p moved && cp train.bin test.bin moved/
rm -rf M && cp -a P M
expect_rc 0 "the same data in another folder" train --resume M --set data.dir=moved
same_run_finished R M "data moved + resume"
grep -qx "30,data.dir,.,moved" M/resumes.csv && ok "resumes.csv records the data.dir change" ||
    bad "resumes.csv: $(cat M/resumes.csv 2>&1)"
grep -q "^  dir: moved$" M/config.yaml && ok "config.yaml says where the data is now" || bad "config.yaml: $(grep dir: M/config.yaml)"

# A data file replaced in place by another of the same size: the content hash tells.
mkdir -p d2 && cp train.bin test.bin d2/
expect_rc 0 "run D stopped after step 30" train --set output.dir=D --set data.dir=d2 --stop-after 30
cp other.bin d2/train.bin
before=$(snap D)
expect_rc 2 "a training file changed in place refused" train --resume D --set data.dir=d2
says "data.train[0]: d2/train.bin (512 records) differs in content from d2/train.bin, the file the run started with" \
    "a training file changed in place"
unchanged D "$before" "a training file changed in place"

# ---- safe changes: accepted and logged (step, key, old, new) ----
rm -rf S && cp -a P S
expect_rc 0 "extended run with another cadence" train --resume S --set train.steps=80 --set train.eval_every=20 \
    --set train.log_every=10
for row in "30,train.steps,60,80" "30,train.eval_every,30,20" "30,train.log_every,5,10"; do
    grep -qx "$row" S/resumes.csv && ok "resumes.csv: $row" || bad "resumes.csv lacks $row: $(cat S/resumes.csv 2>&1)"
done
[ "$(head -1 S/resumes.csv)" = "step,key,old,new" ] && ok "resumes.csv header" || bad "resumes.csv header: $(head -1 S/resumes.csv)"
grep -q "^  steps: 80$" S/config.yaml && ok "config.yaml says 80 steps" || bad "S/config.yaml: $(grep steps: S/config.yaml)"
grep -q "decay.shape cosine depends on train.steps" err.txt && ok "a warning that the cosine now ends later" ||
    bad "no warning about the decay depending on train.steps: $(cat err.txt)"

# A resume log a hostile folder has replaced with a FIFO: refused at once, not a hang.
rm -rf S2 && cp -a P S2 && mkfifo S2/resumes.csv
expect_rc 2 "resumes.csv a FIFO" timeout 60 "$RESNET" train run.yaml --resume S2 --set train.steps=80
grep -q "S2/resumes.csv: is a FIFO (named pipe), expected a regular file" err.txt && ok "names the FIFO" ||
    bad "resumes.csv a FIFO: $(cat err.txt)"

# ---- a finished run resumed: a no-op with a message ----
rm -rf F && cp -a R F
before=$(snap F)
expect_rc 0 "a finished run resumed" train --resume F
says "F already finished all 60 steps" "a finished run resumed"
unchanged F "$before" "a finished run resumed"

# Killed after its final checkpoint, before its summary: the resume only writes the summary,
# with the first process's time and throughput, not this one's (a few ms, 0 images/s).
rm -rf F2 && cp -a R F2 && rm F2/summary.json
expect_rc 0 "a run killed after its last checkpoint resumed" train --resume F2
ips=$(summary_num F2 images_per_s)
ref=$(summary_num R images_per_s)
awk -v a="$ips" -v b="$ref" 'BEGIN { exit !(a > 0.5 * b && a < 2 * b) }' &&
    ok "its images_per_s $ips is the run's ($ref)" || bad "images_per_s $ips, the run's was $ref"

# ---- wall time adds up over the pieces ----
# B runs 50 of its 60 steps in a first piece, the last 10 in a second: the final summary's
# wall time is at least the first piece's (the second alone is about a sixth of it).
expect_rc 0 "run B stopped after step 50" train --set output.dir=B --stop-after 50
w1=$(summary_num B wall_time_s)
expect_rc 0 "run B resumed to the end" train --resume B
w=$(summary_num B wall_time_s)
awk -v a="$w" -v b="$w1" 'BEGIN { exit !(a >= b) }' && ok "wall time $w s includes the first piece's $w1 s" ||
    bad "wall time $w s after resume, the first piece alone took $w1 s"
ips=$(summary_num B images_per_s)
awk -v a="$ips" -v b="$ref" 'BEGIN { exit !(a > 0.5 * b && a < 2 * b) }' &&
    ok "images_per_s $ips over both pieces (uninterrupted: $ref)" || bad "images_per_s $ips, uninterrupted $ref"

# ---- --stop-after at the last step is finishing ----
expect_rc 0 "--stop-after 60 of 60" train --set output.dir=T --stop-after 60
grep -q '"status": "finished"' T/summary.json && ok "--stop-after T: status finished" ||
    bad "--stop-after T: $(grep status T/summary.json)"
same_run R T "--stop-after T"

finish cli_resume_config
