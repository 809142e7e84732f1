#!/usr/bin/env bash
# cli_threads.sh: a CPU training run gives byte-identical checkpoints, metrics and evaluations on 1, 2 and 3 threads and on every kernel variant the processor runs; train.threads, its auto value and the kernels are recorded in summary.json and shown by resnet info.
. "$(dirname "$0")/lib_train.sh" || exit 1

make_synth_data
# 30 steps of batch 37 (not a multiple of any task group: the weight gradient's image
# groups and the elementwise chunks end unevenly), an evaluation at 15 and 30, the
# final checkpoint at 30.
write_run_config 30 15
train() { timeout 300 "$RESNET" train run.yaml --set train.batch_size=37 "$@"; }

expect_rc 0 "1 thread" train --set train.threads=1 --set output.dir=T1
for t in 2 3; do
    expect_rc 0 "$t threads" train --set train.threads=$t --set output.dir=T$t
    same_run T1 T$t "1 vs $t threads"
done
[ "$(ckpt_step T1/checkpoint.bin)" = 30 ] && ok "the checkpoint compared is step 30's" ||
    bad "T1's checkpoint is step $(ckpt_step T1/checkpoint.bin), not 30"

# Every variant this processor runs (resnet info names them), on 2 threads.
runs=$("$RESNET" info | sed -n 's/^cpu kernels: .*this processor runs \([^;]*\);.*/\1/p' | tr -d ,)
[ -n "$runs" ] && ok "resnet info names the kernel variants: $runs" || bad "resnet info names no kernel variant"
# The baseline variant's FMA is the C library's fmaf, about 60x slower on x86-64: it
# runs a shorter run (12 steps of batch 8), against the default kernels on the same.
short="--set train.batch_size=8 --set train.steps=12 --set train.eval_every=6"
expect_rc 0 "short run, 1 thread" train --set train.threads=1 $short --set output.dir=S1
for k in $runs; do
    if [ "$k" = baseline ]; then ref=S1 sets=$short; else ref=T1 sets=""; fi
    RESNET_CPU_KERNELS=$k expect_rc 0 "$k kernels" train --set train.threads=2 $sets --set output.dir=K_$k
    same_run $ref K_$k "default kernels on 1 thread vs $k on 2"
    grep -q "\"cpu_kernels\": \"$k\"" K_$k/summary.json && ok "summary.json records the $k kernels" ||
        bad "summary.json of the $k run: $(grep cpu_kernels K_$k/summary.json)"
done
RESNET_CPU_KERNELS=nosuch expect_rc 2 "RESNET_CPU_KERNELS naming no variant" train --set output.dir=KX
grep -q "RESNET_CPU_KERNELS=nosuch: expected one of" err.txt && ok "the message names the variable and the choices" ||
    bad "message: $(cat err.txt)"

# What summary.json records: the resolved count, for an explicit value and for auto.
grep -q '"cpu_threads": 3,' T3/summary.json && ok "summary.json: cpu_threads 3" ||
    bad "T3 summary: $(grep cpu_threads T3/summary.json)"
cores=$(nproc)
RESNET_PARALLEL_JOBS=1 expect_rc 0 "train.threads 0 (auto), alone" train --set train.steps=12 --set output.dir=A1
grep -q "\"cpu_threads\": $cores," A1/summary.json && ok "auto alone = the $cores allowed cores" ||
    bad "auto alone: $(grep cpu_threads A1/summary.json), expected $cores"
RESNET_PARALLEL_JOBS=1000 expect_rc 0 "auto with 1000 runs sharing the cores" train --set train.steps=12 --set output.dir=A2
grep -q '"cpu_threads": 1,' A2/summary.json && ok "auto shared by 1000 runs = 1 thread" ||
    bad "auto shared: $(grep cpu_threads A2/summary.json)"
if [ "$cores" -ge 2 ]; then
    RESNET_PARALLEL_JOBS=1 expect_rc 0 "auto on one core (taskset)" taskset -c 0 "$RESNET" train run.yaml \
        --set train.steps=12 --set output.dir=A3
    grep -q '"cpu_threads": 1,' A3/summary.json && ok "auto follows the affinity mask" ||
        bad "auto under taskset -c 0: $(grep cpu_threads A3/summary.json)"
fi
RESNET_PARALLEL_JOBS=1 "$RESNET" info >info.txt
grep -q "^cpu threads: train.threads 0 (auto) = $cores here" info.txt && ok "resnet info shows the auto count" ||
    bad "resnet info: $(grep '^cpu' info.txt)"

# The key's range, in the schema's words.
expect_rc 2 "train.threads 257" "$RESNET" config run.yaml --set train.threads=257
grep -q "train.threads=257: expected an integer in 0..256" err.txt && ok "the range is named" || bad "message: $(cat err.txt)"
expect_rc 2 "train.threads -1" "$RESNET" config run.yaml --set train.threads=-1

finish cli_threads
