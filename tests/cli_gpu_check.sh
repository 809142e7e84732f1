#!/usr/bin/env bash
# cli_gpu_check.sh: the GPU run's preparation, checked without a GPU: gpu tests fail under RESNET_REQUIRE_GPU=1, bench/gpu_lib.sh enforces stage caps and judges sanitizer logs, bench/gpu_facts.py reads a real run's metrics, and bench/gpu_check.sh --dry-run passes (stage order, time plan, carry list).
# `ok` always succeeds, so `test && ok || bad` is a safe if-then-else here.
# shellcheck disable=SC2015
set -u

BIN="${RESNET_BIN:?RESNET_BIN must name the resnet binary}"
SRC="${RESNET_SRC:?RESNET_SRC must name the source tree}"
SYNTH="${CIFAR_SYNTH:?CIFAR_SYNTH must name cifar_synth}"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
# shellcheck source=lib_check.sh
. "$(dirname "$0")/lib_check.sh" || exit 1

# ---- 1. a gpu test without a device: skipped, or failed when a GPU is required ----
# CUDA_VISIBLE_DEVICES= hides every device, so this holds on a GPU machine too.
for t in gpu_sched gpu_graph_forget; do
    [ -x "./$t" ] || { bad "$t is not built beside this test ($(pwd))"; continue; }
    CUDA_VISIBLE_DEVICES= "./$t" >"$TMP/out" 2>&1
    rc=$?
    [ $rc = 77 ] && ok || bad "$t without a device: exit $rc, want 77 (skipped): $(head -3 "$TMP/out")"
    CUDA_VISIBLE_DEVICES= RESNET_REQUIRE_GPU=0 "./$t" >"$TMP/out" 2>&1
    rc=$?
    [ $rc = 77 ] && ok || bad "$t with RESNET_REQUIRE_GPU=0: exit $rc, want 77"
    CUDA_VISIBLE_DEVICES= RESNET_REQUIRE_GPU=1 "./$t" >"$TMP/out" 2>&1
    rc=$?
    [ $rc = 1 ] && grep -q "RESNET_REQUIRE_GPU=1 asks for a GPU" "$TMP/out" && ok ||
        bad "$t with RESNET_REQUIRE_GPU=1 and no device: exit $rc, want 1 with the reason: $(head -3 "$TMP/out")"
done

# ---- 2. the stage runner: caps, the budget, judging by the log ----
lib() { # BUDGET RESERVE PLAN-ENTRY COMMAND...: one stage through bench/gpu_lib.sh
    local budget=$1 reserve=$2 entry=$3
    shift 3
    # shellcheck disable=SC2034 # read by gpu_lib.sh
    (DRY=0 ROOT=$SRC RES=$TMP/caps PACK="" BUDGET=$budget START=$(date +%s) REPORT_RESERVE_S=$reserve FAILED=0
        PLAN=("$entry") EXTRAS=()
        . "$SRC/bench/gpu_lib.sh"
        stage "${entry%%|*}" stage.log "$@" 2>/dev/null
        echo "rc=$?")
}
mkdir -p "$TMP/caps"
t0=$(date +%s)
out=$(lib 100 0 "sleeper|2" sleep 30)
dt=$(($(date +%s) - t0))
[ "$out" = rc=124 ] && [ $dt -lt 12 ] && grep -q $'^sleeper\tFAIL (timed out after 2s)' "$TMP/caps/stages.tsv" && ok ||
    bad "a 2 s cap did not stop a 30 s stage ($out after ${dt}s): $(cat "$TMP/caps/stages.tsv")"
out=$(lib 100 95 "late|30" true)
[ "$out" = rc=99 ] && grep -q $'^late\tskipped (time budget spent)' "$TMP/caps/stages.tsv" && ok ||
    bad "a stage with 5 s of budget left ran ($out)"
out=$(lib 100 0 "capped|30" sh -c 'exit 3')
[ "$out" = rc=3 ] && grep -q $'^capped\tFAIL (exit 3)' "$TMP/caps/stages.tsv" && ok || bad "exit 3 not recorded ($out)"
# A sanitizer stage is judged by its log: lines in compute-sanitizer's report format.
printf '%s\n' '========= COMPUTE-SANITIZER' \
    '========= Program hit cudaErrorInvalidValue (error 1) due to "invalid argument" on CUDA API call to cudaFuncGetAttributes.' \
    '========= ERROR SUMMARY: 1 error' >"$TMP/clean"
printf '%s\n' '========= Invalid __global__ write of size 4 bytes' \
    '=========     at k_relu_fwd(long, const float *, float *)+0x90' \
    '=========     Address 0x7f0000000000 is out of bounds' '========= ERROR SUMMARY: 1 error' >"$TMP/dirty"
printf '%s\n' '========= Error: Race reported between Write access at k_x+0x10' \
    '=========     and Read access at k_x+0x20 [4 hazards]' \
    '========= RACECHECK SUMMARY: 1 hazard displayed (1 error, 0 warnings)' >"$TMP/race"
echo 'no summary at all' >"$TMP/nosummary"
judged() { # LOG-TEXT-FILE EXIT: the status the stage records
    STAGE_JUDGE=judge_sanitizer lib 100 0 "san|30" sh -c 'cat "$1"; exit "$2"' sh "$1" "$2" >/dev/null
    tail -1 "$TMP/caps/stages.tsv" | cut -f2
}
v=$(judged "$TMP/clean" 0)
case "$v" in "ok (no access errors; ERROR SUMMARY 1, 1 API errors"*) ok ;; *) bad "an API error alone judged: $v" ;; esac
v=$(judged "$TMP/dirty" 0)
case "$v" in "FAIL (1 access errors"*) ok ;; *) bad "an invalid write judged: $v" ;; esac
v=$(judged "$TMP/race" 0)
case "$v" in FAIL*) ok ;; *) bad "a race judged: $v" ;; esac
v=$(judged "$TMP/clean" 3)
case "$v" in "FAIL (the program exited 3"*) ok ;; *) bad "the program's failure judged: $v" ;; esac
v=$(judged "$TMP/nosummary" 0)
case "$v" in "FAIL (no ERROR SUMMARY"*) ok ;; *) bad "a log without a summary judged: $v" ;; esac

# ---- 3. the facts of a real (CPU) run, as gpu_facts.py reads them on the GPU machine ----
mkdir -p "$TMP/d" "$TMP/res/runs"
"$SYNTH" "$TMP/d/train.bin" --n 256 --seed 1 >/dev/null && "$SYNTH" "$TMP/d/test.bin" --n 64 --seed 2 >/dev/null ||
    bad "cifar_synth failed"
RUN=$TMP/res/runs/smoke_cpu
"$BIN" train "$SRC/configs/he_resnet110.yaml" --set model.depth=8 --set train.batch_size=16 --set train.steps=60 \
    --set train.backend=cpu --set data.dir="$TMP/d" --set data.train=[train.bin] --set data.test=test.bin \
    --set train.log_every=10 --set train.eval_every=25 --set train.checkpoint_every=0 \
    --set schedule.warmup.steps=5 --set schedule.decay.milestones=[40] --set output.dir="$RUN" >/dev/null 2>&1 ||
    bad "the CPU run failed"
# The median ms/step recomputed here from metrics.csv: intervals end at multiples of 10
# (log_every) and 25 (eval_every) and at step 60; the first, and those under 5 steps, out.
want=$(awk -F, 'NR > 1 && ($1 % 10 == 0 || $1 % 25 == 0 || $1 == 60) {
        if (prev > 0 && 2 * ($1 - prev) >= 10) print 1000 * 16 / $7; prev = $1 }' "$RUN/metrics.csv" | sort -g |
    awk '{ a[NR] = $1 } END { if (NR) printf "%.3f", (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }')
got=$(python3 "$SRC/bench/gpu_facts.py" --step-times "$RUN" | awk '/^median/ { print $2 }')
[ -n "$want" ] && awk -v a="$got" -v b="$want" 'BEGIN { exit !(a - b < 0.002 && b - a < 0.002) }' && ok ||
    bad "gpu_facts.py's median ms/step $got, recomputed $want"
python3 "$SRC/bench/gpu_facts.py" "$TMP/res" >/dev/null 2>"$TMP/facts.err" || bad "gpu_facts.py failed: $(cat "$TMP/facts.err")"
loss1=$(awk -F, '$1 == 1 { print $4 }' "$RUN/metrics.csv")
err25=$(awk -F, '$1 == 25 { printf "%.1f%%", 100 * $3 }' "$RUN/eval.csv")
grep -q "loss at steps 1: $loss1, 10: " "$TMP/res/record.md" && grep -q "step 25: $err25" "$TMP/res/record.md" && ok ||
    bad "record.md lacks the run's step-1 loss $loss1 or its step-25 test error $err25"
# The row's ms/step is the median printed to 2 decimals (from the unrounded value, which
# --step-times printed to 3): equal within 0.006, not necessarily as text (16.645 may be
# 16.64 or 16.65 there); a wrong interval or run shifts the median by far more.
row=$(grep "^| ours | 8 | cpu backend, fp32 (TF32 allowed), graph on | " "$TMP/res/record.md" | head -1)
in_row=$(printf '%s\n' "$row" | awk -F' [|] ' '{ print $4 }')
[ -n "$row" ] && awk -v a="$in_row" -v b="$got" 'BEGIN { exit !(a - b < 0.006 && b - a < 0.006) }' && ok ||
    bad "record.md's speed table lacks the run ($got ms/step): ${row:-no row}"

# ---- 4. the dry run, against this build (needs the CUDA backend built and the data) ----
if "$BIN" info | grep -q '^cuda: not built'; then
    echo "cli_gpu_check: this build has no CUDA backend: the dry run is not checked here"
elif [ ! -e "${CIFAR10_DIR:-/nonexistent}/data_batch_1.bin" ] && [ ! -e "$SRC/.device-data/data_batch_1.bin" ]; then
    echo "cli_gpu_check: no CIFAR-10 data (CIFAR10_DIR): the dry run is not checked here"
else
    DRY=$TMP/dry
    BUILD_DIR=$(dirname "$BIN") bash "$SRC/bench/gpu_check.sh" --dry-run --no-build "$DRY" >"$TMP/dry.log" 2>&1
    rc=$?
    [ $rc = 0 ] && ok || bad "the dry run exited $rc: $(grep -E 'FAIL|over' "$TMP/dry.log" | head -5)"
    order=("gpu tests" "smoke ResNet-110 he_warmup, graph on" "smoke ResNet-110 no_warmup, graph off"
        "ours ResNet-20, graph on" "PyTorch eager (ResNet-110, -20)" "PyTorch compile (ResNet-110, -20)"
        "sanitizer probe" "memcheck, graph on" "racecheck, graph on")
    prev=0
    for s in "${order[@]}"; do
        n=$(cut -f1 "$DRY/stages.tsv" | grep -n -x -F "$s" | head -1 | cut -d: -f1)
        [ -n "$n" ] && [ "$n" -gt "$prev" ] && ok || bad "stage '$s' missing or out of order (line ${n:-none})"
        prev=${n:-$prev}
    done
    grep -v $'\tdry-run' "$DRY/stages.tsv" | grep -v -E $'^(machine and libraries|build|resnet info)\t' |
        grep . && bad "stages the dry run did not check (above)" || ok
    planned=$(awk '/^planned:/ { print $2 }' "$DRY/time_plan.txt")
    [ -n "$planned" ] && [ "$planned" -le 540 ] && ok || bad "the time plan is ${planned:-missing} s, over 540"
    total=$(sed -n 's/^total: .*(\([0-9]*\) bytes)$/\1/p' "$DRY/carry_plan.txt")
    [ -n "$total" ] && [ "$total" -le $((64 * 1024 * 1024)) ] && grep -q '^carry list: \[".device-kit", ".device-data"\]' \
        "$DRY/carry_plan.txt" && ok || bad "the carry list is ${total:-unknown} bytes: $(cat "$DRY/carry_plan.txt")"
    cmds=$DRY/dry_run_commands.txt
    grep -q 'RESNET_REQUIRE_GPU=1 ' "$cmds" && ok || bad "the gpu tests run without RESNET_REQUIRE_GPU=1"
    grep '^\[[0-9]*s\] memcheck' "$cmds" | grep -q -- '--kernel-name regex=' && ! grep -q -- '--leak-check' "$cmds" && ok ||
        bad "memcheck is not filtered to the project's kernels, or still checks leaks"
    grep '^\[[0-9]*s\] smoke' "$cmds" | grep -c 'cuda_graph=true' | grep -qx 1 &&
        grep '^\[[0-9]*s\] smoke' "$cmds" | grep -c 'cuda_graph=false' | grep -qx 1 && ok ||
        bad "the smoke runs are not one with the graph and one without"
fi

finish cli_gpu_check
