#!/usr/bin/env bash
# gpu_check.sh: the one script to run on a GPU machine: build for sm_90, run the `gpu` tests and compute-sanitizer, log everything, print a short table last.
#
# usage: bash bench/gpu_check.sh [--dry-run] [RESULTS_DIR]
#
#   RESULTS_DIR  where the full logs go (default bench/results/run-YYYY-MM-DD; with
#                --dry-run, BUILD_DIR/dry-run-results so a rehearsal leaves the tree clean)
#   --dry-run    do everything that needs no GPU (find cuDNN, configure, build, `resnet info`,
#                check which steps could run) and say what the GPU steps would run
#
# environment (all optional):
#   BUILD_DIR      build folder (default build-gpu at the repository root)
#   CUDA_ARCH      CMAKE_CUDA_ARCHITECTURES (default 90: H100/H200)
#   CUDNN_LIB_DIR  folder holding libcudnn.so.9, when the search below misses it
#   DATA_DIR       CIFAR-10 binary folder for the sanitizer run (default: the shared copy
#                  if present, else a small synthetic set made with cifar_synth)
#
# Exit status: 0 when no step failed (skipped steps do not fail the run), 1 otherwise.
# Each GPU step has a time limit so one hang cannot eat a session's device time.

set -u
DRY=0
RES=""
for a in "$@"; do
    case "$a" in
    --dry-run) DRY=1 ;;
    -h | --help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "gpu_check: unknown option $a (try --help)" >&2; exit 2 ;;
    *) RES=$a ;;
    esac
done

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD_DIR:-$ROOT/build-gpu}
ARCH=${CUDA_ARCH:-90}
if [ -z "$RES" ]; then
    if [ $DRY = 1 ]; then RES=$BUILD/dry-run-results; else RES=$ROOT/bench/results/run-$(date +%F); fi
fi
mkdir -p "$RES" || exit 1
RES=$(cd "$RES" && pwd)
JOBS=$(nproc 2>/dev/null || echo 2)

ROWS=()   # "step|status|seconds|log"
FAILED=0

# record STEP STATUS SECONDS LOG
record() {
    ROWS+=("$1|$2|$3|$4")
    case "$2" in FAIL*) FAILED=1 ;; esac
    echo "gpu_check: $1: $2" >&2
}

# run STEP LOGNAME LIMIT_S CMD...: runs CMD with its output in RES/LOGNAME, times it.
run() {
    local step=$1 log=$2 limit=$3 t0 t1 rc
    shift 3
    { echo "\$ $*"; echo; } >"$RES/$log"
    t0=$(date +%s.%N)
    timeout "$limit" "$@" >>"$RES/$log" 2>&1
    rc=$?
    t1=$(date +%s.%N)
    local secs
    secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
    if [ $rc = 0 ]; then record "$step" ok "$secs" "$log"
    elif [ $rc = 124 ]; then record "$step" "FAIL (timed out after ${limit}s)" "$secs" "$log"
    else record "$step" "FAIL (exit $rc)" "$secs" "$log"; fi
    return $rc
}

# gpu_run STEP LOGNAME LIMIT_S CMD...: as run, or only says what it would run in a dry run.
gpu_run() {
    if [ $DRY = 1 ]; then
        local step=$1
        shift 3
        echo "would run: $*" >&2
        record "$step" "dry-run" "-" "-"
        return 0
    fi
    run "$@"
}

# ---- 1. the machine ----
{
    date -u +"date: %F %T UTC"
    uname -a
    command -v nvidia-smi >/dev/null && nvidia-smi || echo "nvidia-smi: not found (no NVIDIA driver here)"
    command -v nvcc >/dev/null && nvcc --version || echo "nvcc: not on PATH"
    cmake --version | head -1
} >"$RES/machine.log" 2>&1
record "machine" "logged" "-" "machine.log"

# ---- 2. cuDNN 9: where libcudnn.so.9 is, for the build and for the loader ----
CMAKE_CUDNN=()
find_cudnn() {
    local d
    if [ -n "${CUDNN_LIB_DIR:-}" ] && [ -e "$CUDNN_LIB_DIR/libcudnn.so.9" ]; then echo "$CUDNN_LIB_DIR"; return; fi
    # A PyTorch install brings cuDNN 9 as a pip package.
    d=$(python3 -c 'import nvidia.cudnn, os; print(os.path.dirname(nvidia.cudnn.__file__))' 2>/dev/null)
    if [ -n "$d" ] && [ -e "$d/lib/libcudnn.so.9" ]; then echo "$d/lib"; return; fi
    d=$(ldconfig -p 2>/dev/null | awk '/libcudnn\.so\.9 / { print $NF; exit }')
    if [ -n "$d" ]; then dirname "$d"; return; fi
    d=$(find /usr /usr/local /opt -name 'libcudnn.so.9' -print -quit 2>/dev/null)
    if [ -n "$d" ]; then dirname "$d"; return; fi
}
CUDNN_DIR=$(find_cudnn)
if [ -n "$CUDNN_DIR" ]; then
    export LD_LIBRARY_PATH="$CUDNN_DIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    # A pip cuDNN has only the versioned library and keeps its headers beside lib/.
    [ -e "$CUDNN_DIR/libcudnn.so" ] || CMAKE_CUDNN+=("-DCUDNN_LIBRARY=$CUDNN_DIR/libcudnn.so.9")
    [ -e "$CUDNN_DIR/../include/cudnn.h" ] && CMAKE_CUDNN+=("-DCUDNN_INCLUDE_DIR=$(cd "$CUDNN_DIR/../include" && pwd)")
    echo "libcudnn.so.9 in $CUDNN_DIR (prepended to LD_LIBRARY_PATH)" >"$RES/cudnn.log"
    record "find cuDNN 9" ok "-" "cudnn.log"
else
    echo "libcudnn.so.9 not found (set CUDNN_LIB_DIR); the build may still find cuDNN itself" >"$RES/cudnn.log"
    record "find cuDNN 9" "not found" "-" "cudnn.log"
fi

# ---- 3. configure and build for the GPU's architecture ----
if run "configure (sm_$ARCH)" configure.log 600 cmake -S "$ROOT" -B "$BUILD" -DRESNET_CUDA=ON \
    -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES="$ARCH" ${CMAKE_CUDNN[@]+"${CMAKE_CUDNN[@]}"} &&
    run "build" build.log 1800 cmake --build "$BUILD" -j "$JOBS"; then
    BUILT=1
else
    BUILT=0
fi

if [ $BUILT = 1 ]; then
    # ---- 4. what the binary sees: versions loaded at run time, devices ----
    run "resnet info" info.log 60 "$BUILD/resnet" info

    # ---- 5. every op against the CPU backend (tests/gpu_*.c, label `gpu`) ----
    if [ $DRY = 1 ]; then
        gpu_run "ctest -L gpu" ctest_gpu.log 900 ctest --test-dir "$BUILD" -L gpu --output-on-failure
    elif run "ctest -L gpu" ctest_gpu.log 900 ctest --test-dir "$BUILD" -L gpu --output-on-failure; then
        # ctest counts a skip (exit 77, no device) as a pass: say so rather than "ok".
        if grep -q "Skipped\|SKIPPED" "$RES/ctest_gpu.log"; then
            ROWS[${#ROWS[@]} - 1]="ctest -L gpu|skipped (no device seen; see log)|-|ctest_gpu.log"
        fi
    fi

    # ---- 6. compute-sanitizer over a few training steps ----
    SANITIZER=$(command -v compute-sanitizer || true)
    for c in "${CUDA_HOME:-}/bin/compute-sanitizer" /usr/local/cuda/bin/compute-sanitizer; do
        [ -z "$SANITIZER" ] && [ -x "$c" ] && SANITIZER=$c
    done
    [ -z "$SANITIZER" ] && [ $DRY = 1 ] && SANITIZER=compute-sanitizer # only named, never run
    if ! "$BUILD/resnet" train --help >/dev/null 2>&1; then
        record "compute-sanitizer" "skipped (resnet train not built yet)" "-" "-"
    elif [ -z "$SANITIZER" ]; then
        record "compute-sanitizer" "skipped (compute-sanitizer not found)" "-" "-"
    else
        DATA=${DATA_DIR:-}
        for d in "$ROOT/../shared/data/cifar-10-batches-bin" "$ROOT/shared/data/cifar-10-batches-bin" \
            "$ROOT/data/cifar-10-batches-bin"; do
            [ -z "$DATA" ] && [ -e "$d/data_batch_1.bin" ] && DATA=$d
        done
        if [ -z "$DATA" ]; then
            DATA=$RES/synthetic
            mkdir -p "$DATA"
            run "synthetic data" synth.log 120 sh -c "'$BUILD/cifar_synth' '$DATA/data_batch_1.bin' --n 2000 --seed 1 &&
                '$BUILD/cifar_synth' '$DATA/test_batch_first1000.bin' --n 1000 --seed 2"
        fi
        # A tiny run with the graph on: a warm-up step, the capture, then replays.
        # [LEAD] adjust these keys if the config schema changes (the next step checks them).
        SANITIZE_SETS=(--set "data.dir=$DATA" --set train.backend=cuda --set train.cuda_graph=true
            --set model.depth=8 --set train.batch_size=32 --set train.steps=4 --set schedule.warmup.steps=2
            --set train.log_every=1 --set train.eval_every=0 --set train.checkpoint_every=0)
        if run "sanitizer run config" sanitize_config.log 60 "$BUILD/resnet" config \
            "$ROOT/configs/cpu_smoke.yaml" "${SANITIZE_SETS[@]}" --set "output.dir=$RES/sanitize"; then
            for tool in memcheck racecheck; do
                gpu_run "compute-sanitizer $tool" "sanitizer_$tool.log" 600 "$SANITIZER" --tool "$tool" \
                    --error-exitcode 99 "$BUILD/resnet" train "$ROOT/configs/cpu_smoke.yaml" \
                    "${SANITIZE_SETS[@]}" --set "output.dir=$RES/sanitize-$tool" --overwrite
            done
        fi
    fi

    # ---- 7. [LEAD] a short ResNet-110 run on the real data goes here ----
    # (data_batch_1 and the 1,000 exact test images; log to "$RES/train_resnet110.log" with
    #  gpu_run, and record its images/s and final loss in the table)

    # ---- 8. [LEAD] the step time against the PyTorch baseline goes here ----
fi

# ---- the table, last ----
{
    echo
    echo "gpu_check $(date -u +%FT%TZ)$([ $DRY = 1 ] && echo '  (dry run: no GPU step was run)')"
    printf '%-36s %-40s %8s  %s\n' "step" "status" "seconds" "log"
    for r in "${ROWS[@]}"; do
        IFS='|' read -r s st sec lg <<<"$r"
        printf '%-36s %-40s %8s  %s\n' "$s" "$st" "$sec" "$lg"
    done
    echo "full logs: $RES"
} | tee "$RES/summary.txt"
exit $FAILED
