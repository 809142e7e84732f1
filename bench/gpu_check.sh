#!/usr/bin/env bash
# gpu_check.sh: the one script to run on a GPU machine: build for sm_90, the gpu tests, real-data ResNet-110 smoke runs, step timings beside PyTorch, compute-sanitizer last; every stage under a time cap, all facts into one results folder, a short table printed last.
#
# usage: bash bench/gpu_check.sh [--dry-run [--no-build]] [--data DIR] [--kit DIR] [--budget S] [RESULTS_DIR]
#
#   --dry-run     on a machine without a GPU: print the time plan (fails if it is over the
#                 budget), the carry list and its size (bench/gpu_prepare.sh --plan; fails
#                 over 64 MiB), configure and build for sm_90, and check every stage's
#                 command as far as no GPU is needed (resnet config, torch_resnet.py
#                 --check-args, ctest -N, the sanitizer's kernel filter against the objects)
#   --no-build    with --dry-run: check against the build already in BUILD_DIR
#   --data DIR    CIFAR-10 folder with data_batch_1.bin and test_batch_first1000.bin
#                 (default: $DATA_DIR, else ./.device-data, else the shared copy); without
#                 it the smoke runs are skipped and the timings use synthetic data
#   --kit DIR     .deb files (bench/gpu_prepare.sh) unpacked into the build folder when
#                 the machine's own libyaml is missing (default ./.device-kit)
#   --budget S    seconds for the whole command (default 540, or GPU_CHECK_BUDGET_S)
#   RESULTS_DIR   the full results (default bench/results/run-DATE-TIME; dry run:
#                 BUILD_DIR/dry-run-results). With OUT set, $OUT/results/ receives
#                 summary.txt, record.md (the facts, for bench/results/DATE-DEVICE.md) and
#                 logs.tgz (every log, CSV and JSON), rewritten after every stage.
#
# environment (all optional): BUILD_DIR (default build-gpu), CUDA_ARCH (default 90),
# CUDNN_LIB_DIR (folder holding libcudnn.so.9), NVCC.
# Exit status: 0 when no stage failed (skipped stages do not fail the run), 1 otherwise,
# 2 for bad usage.

set -u
ORIG_ARGS="$*"
DRY=0 NOBUILD=0 RES="" DATA=${DATA_DIR:-} KIT="" BUDGET=${GPU_CHECK_BUDGET_S:-540}
while [ $# -gt 0 ]; do
    case "$1" in
    --dry-run) DRY=1 ;;
    --no-build) NOBUILD=1 ;;
    --data) DATA=${2:?--data needs a folder}; shift ;;
    --data=*) DATA=${1#*=} ;;
    --kit) KIT=${2:?--kit needs a folder}; shift ;;
    --kit=*) KIT=${1#*=} ;;
    --budget) BUDGET=${2:?--budget needs seconds}; shift ;;
    --budget=*) BUDGET=${1#*=} ;;
    -h | --help) sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "gpu_check: unknown option $1 (try --help)" >&2; exit 2 ;;
    *) RES=$1 ;;
    esac
    shift
done
case "$BUDGET" in '' | *[!0-9]*) echo "gpu_check: --budget: expected whole seconds, got '$BUDGET'" >&2; exit 2 ;; esac
[ $NOBUILD = 1 ] && [ $DRY = 0 ] && { echo "gpu_check: --no-build goes with --dry-run" >&2; exit 2; }

START=$(date +%s)
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD_DIR:-$ROOT/build-gpu}
case "$BUILD" in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
ARCH=${CUDA_ARCH:-90}
if [ -z "$RES" ]; then
    if [ $DRY = 1 ]; then RES=$BUILD/dry-run-results
    else RES=$ROOT/bench/results/run-$(date +%F-%H%M); fi
fi
PACK=""
[ -n "${OUT:-}" ] && [ $DRY = 0 ] && PACK=$OUT/results
mkdir -p "$RES" || exit 1
RES=$(cd "$RES" && pwd)
rm -f "$RES/stages.tsv" "$RES/dry_run_commands.txt"
JOBS=$(nproc 2>/dev/null || echo 2)
RESNET=$BUILD/resnet
FAILED=0
CMAKE_EXTRA=()
# shellcheck source=bench/gpu_lib.sh
. "$ROOT/bench/gpu_lib.sh"

# ---- the time plan: every stage's cap, in the order the stages run ----
# Value first: a build and the gpu tests are worth more than a timing, the timings more
# than the sanitizers, which are slow and run last. The ResNet-110 timings come from the
# two smoke runs (real data, batch 128, one with the graph and one without), so that a
# capture problem costs one smoke curve, not both.
PLAN=(
    "machine and libraries|15"
    "configure (sm_$ARCH)|20"
    "configure with the kit|20"
    "build|45"
    "resnet info|5"
    "gpu tests|60"
    "smoke ResNet-110 he_warmup, graph on|45"
    "smoke ResNet-110 no_warmup, graph off|45"
    "ours ResNet-20, graph on|25"
    "ours ResNet-20, graph off|25"
    "PyTorch eager (ResNet-110, -20)|50"
    "PyTorch compile (ResNet-110, -20)|75"
    "sanitizer probe|10"
    "memcheck, graph on|40"
    "racecheck, graph on|40"
)
EXTRAS=(
    "PyTorch compile AMP (ResNet-110)|60"
    "memcheck, graph off|40"
    "ours ResNet-110 strict fp32, graph on|45"
    "PyTorch eager no-TF32 (ResNet-110)|30"
    "racecheck, graph off|40"
    "initcheck, graph on|40"
    # Instead of the filtered runs when the filter is refused (shorter: cuDNN's kernels
    # are instrumented too, and its algorithm search runs every algorithm under the tool).
    "memcheck, graph on (unfiltered)|30"
    "racecheck, graph on (unfiltered)|30"
)
REPORT_RESERVE_S=10

if [ $DRY = 1 ]; then
    echo "== time plan"
    print_plan | tee "$RES/time_plan.txt" || { echo "gpu_check: the plan is over the ${BUDGET} s budget" >&2; FAILED=1; }
    echo "== carry list (bench/gpu_prepare.sh --plan)"
    bash "$ROOT/bench/gpu_prepare.sh" --plan ${DATA:+--data-from "$DATA"} | tee "$RES/carry_plan.txt"
    [ "${PIPESTATUS[0]}" = 0 ] || { echo "gpu_check: no carry list within 64 MiB (see above)" >&2; FAILED=1; }
fi

# ---- the machine, the tools, the libraries ----
# Not one command but a dozen small ones, each under its own short limit (together at
# most about 75 s; about 10 s is usual): the plan counts the usual.
SETUP_T0=$(date +%s)
find_tools
NV_DIRS=$(nvidia_dirs)
TORCH_LINE=$(timeout 40 python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, "cudnn", torch.backends.cudnn.version(), "gpu", torch.cuda.is_available())' 2>&1 | tail -1)
TORCH_OK=0
case "$TORCH_LINE" in "torch "*" gpu True") TORCH_OK=1 ;; esac
[ $DRY = 1 ] && TORCH_OK=0
{
    date -u +"date: %F %T UTC"
    echo "command: bash bench/gpu_check.sh $ORIG_ARGS"
    echo "tree: $(git -C "$ROOT" rev-parse HEAD 2>/dev/null || echo "no git metadata in this copy")$(
        git -C "$ROOT" status --porcelain 2>/dev/null | grep -q . && echo " (with uncommitted changes)")"
    uname -a
    echo "cpu: $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2-) x $JOBS"
    echo "budget: ${BUDGET}s; results: $RES"
    command -v nvidia-smi >/dev/null && timeout 10 nvidia-smi || echo "nvidia-smi: not found (no NVIDIA driver here)"
    timeout 10 nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,clocks.max.mem \
        --format=csv 2>/dev/null
    echo "nvcc: ${NVCC:-not found}"; [ -n "$NVCC" ] && "$NVCC" --version | tail -2
    echo "cmake: ${CMAKE:-not found}"; [ -n "$CMAKE" ] && "$CMAKE" --version | head -1
    echo "cc: $(cc --version 2>/dev/null | head -1)"
    echo "python3: $(command -v python3) $(python3 --version 2>&1)"
    echo "$TORCH_LINE"
    setup_libraries
} >"$RES/machine.log" 2>&1
record "machine and libraries" logged "$(($(date +%s) - SETUP_T0))" "$(plan_cap "machine and libraries")" machine.log
[ -z "$KIT" ] && [ -d "$ROOT/.device-kit" ] && KIT=$ROOT/.device-kit

# PyTorch's compiler is slow the first time: it warms its cache in the background while
# nothing is timed (the build and the gpu tests), and is stopped before the first timed
# stage. The timed compile stage then mostly reads the cache; its first-step time says.
PRE_PID=""
if [ $DRY = 0 ]; then
    if [ $TORCH_OK = 1 ]; then
        # The timed stage's models first, then the extra's; half the cores, the build has the rest.
        TORCHINDUCTOR_COMPILE_THREADS=$(((JOBS + 1) / 2)) timeout -k 5 300 bash -c \
            'python3 "$1" --depth 110,20 --modes compile_fp32 --steps 1 --warmup 2 &&
             python3 "$1" --depth 110 --modes compile_amp_cl --steps 1 --warmup 2' sh "$ROOT/bench/torch_resnet.py" \
            >"$RES/torch_precompile.log" 2>&1 &
        PRE_PID=$!
    fi
fi
stop_precompile() {
    [ -n "$PRE_PID" ] || return 0
    kill -0 "$PRE_PID" 2>/dev/null && kill "$PRE_PID" 2>/dev/null
    wait "$PRE_PID"
    record "PyTorch compile warm-up (background)" "exit $? (stopped before the timings)" "-" "-" torch_precompile.log
    PRE_PID=""
}

# ---- 1. configure and build ----
CONF=(-S "$ROOT" -B "$BUILD" -DRESNET_CUDA=ON -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES="$ARCH")
[ -n "$NVCC" ] && CONF+=("-DCMAKE_CUDA_COMPILER=$NVCC")
BUILT=0
if [ $NOBUILD = 1 ]; then
    [ -x "$RESNET" ] && BUILT=1
    record "build" "$([ $BUILT = 1 ] && echo "not built (--no-build): $BUILD" || echo "FAIL (no $RESNET)")" "-" "-" "-"
elif [ -z "$CMAKE" ]; then
    record "configure (sm_$ARCH)" "FAIL (no cmake)" "-" "-" "-"
else
    HOST_CAP=""
    [ $DRY = 1 ] && HOST_CAP=600
    STAGE_CAP_OVERRIDE=$HOST_CAP DRY=0 stage "configure (sm_$ARCH)" configure.log "$CMAKE" "${CONF[@]}" ${CMAKE_EXTRA[@]+"${CMAKE_EXTRA[@]}"}
    rc=$?
    [ $DRY = 1 ] && echo "[$(plan_cap "configure with the kit")s] configure with the kit (only if the first" \
        "fails): $CMAKE ${CONF[*]} -DYAML_INCLUDE_DIR=... -DYAML_LIBRARY=..." \
        "(from the kit)" >>"$RES/dry_run_commands.txt"
    if [ $rc != 0 ] && [ $rc != 99 ] && [ -n "$KIT" ] && ls "$KIT"/*.deb >/dev/null 2>&1; then
        kit_flags >"$RES/kit.log" 2>&1
        STAGE_CAP_OVERRIDE=$HOST_CAP DRY=0 stage "configure with the kit" configure_kit.log "$CMAKE" "${CONF[@]}" "${CMAKE_EXTRA[@]}"
        rc=$?
    fi
    [ $rc = 0 ] && STAGE_CAP_OVERRIDE=$HOST_CAP DRY=0 stage build build.log "$CMAKE" --build "$BUILD" -j "$JOBS" && BUILT=1
fi
echo "LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-}" >>"$RES/machine.log"
[ $BUILT = 1 ] && DRY=0 stage "resnet info" info.log "$RESNET" info
if [ $DRY = 1 ] && [ -n "$KIT" ] && ls "$KIT"/*.deb >/dev/null 2>&1; then
    # The kit is used only where the machine's configure fails; here it is unpacked and
    # every file the configure would be pointed at must be found in it.
    KIT_CHECK=$(BUILD=$RES/kit-check CMAKE_EXTRA=() && kit_flags 2>&1 && printf '%s\n' "${CMAKE_EXTRA[@]}")
    echo "$KIT_CHECK" >"$RES/kit.log"
    KIT_MISSING=""
    for v in YAML_INCLUDE_DIR YAML_LIBRARY CUDNN_INCLUDE_DIR; do
        echo "$KIT_CHECK" | grep -qE "^-D$v=/.+" || KIT_MISSING+=" $v"
    done
    if [ -n "$KIT_MISSING" ]; then record "kit" "FAIL (the kit gives no$KIT_MISSING)" "-" "-" kit.log
    else record "kit" "dry-run: yaml.h, libyaml.a, cudnn.h found" "-" "-" kit.log; fi
fi

# ---- data: the real files if given, else synthetic ----
if [ -z "$DATA" ]; then
    for d in "$ROOT/.device-data" "$ROOT/../shared/data/cifar-10-batches-bin" "$ROOT/data/cifar-10-batches-bin"; do
        [ -e "$d/data_batch_1.bin" ] && [ -e "$d/test_batch_first1000.bin" ] && { DATA=$d; break; }
    done
fi
REAL=0
if [ -n "$DATA" ] && [ -e "$DATA/data_batch_1.bin" ] && [ -e "$DATA/test_batch_first1000.bin" ]; then
    DATA=$(cd "$DATA" && pwd)
    REAL=1
fi
# The timings and the sanitizers: the real training file (or a synthetic one of its
# size) and the first 64 test images (their final evaluation is not what is measured).
SAN=$RES/small-data
mkdir -p "$SAN"
if [ $REAL = 1 ]; then
    ln -sf "$DATA/data_batch_1.bin" "$SAN/data_batch_1.bin"
    head -c $((3073 * 64)) "$DATA/test_batch_first1000.bin" >"$SAN/test_small.bin"
elif [ $BUILT = 1 ]; then
    "$BUILD/cifar_synth" "$SAN/data_batch_1.bin" --n 10000 --seed 1 >/dev/null &&
        "$BUILD/cifar_synth" "$SAN/test_small.bin" --n 64 --seed 2 >/dev/null
    record "data" "synthetic (no --data folder with the real files)" "-" "-" "-"
fi

common_sets() { # DATA_DIR TEST_FILE OUTDIR
    echo "--set data.dir=$1 --set data.train=[data_batch_1.bin] --set data.test=$2 --set train.backend=cuda"
    echo "--set output.dir=$3 --set output.overwrite=true --set train.checkpoint_every=0"
}

if [ $BUILT = 1 ] || [ $DRY = 1 ]; then
    # ---- 2. every op and whole steps against the CPU backend, TF32 off; a missing GPU fails ----
    stage "gpu tests" ctest_gpu.log env RESNET_REQUIRE_GPU=1 NVIDIA_TF32_OVERRIDE=0 "$CTEST" --test-dir "$BUILD" \
        -L gpu -j 4 -V --timeout 55
    stop_precompile

    # ---- 3. the real-data smoke: ResNet-110, batch 128, 3 epochs of data_batch_1 ----
    # He's constant warmup with the graph, no warmup without it: both peak 0.1, /10 after
    # steps 118 and 176 (He's 32k/48k of 64k, scaled); test error on the 1,000 exact test
    # images every 78 steps. Flushes every 25 steps give the ResNet-110 step times.
    SMOKE_DATA=$DATA SMOKE_TEST=test_batch_first1000.bin
    [ $REAL = 0 ] && SMOKE_DATA=$SAN SMOKE_TEST=test_small.bin # a dry run without the real files
    smoke() { # NAME CONFIG GRAPH [sets...]
        local name=$1 cfg=$2 graph=$3
        shift 3
        # shellcheck disable=SC2046
        stage "smoke ResNet-110 $name, graph $([ "$graph" = true ] && echo on || echo off)" "smoke_$name.log" \
            "$RESNET" train "$ROOT/configs/$cfg" $(common_sets "$SMOKE_DATA" "$SMOKE_TEST" "$RES/runs/smoke_$name") \
            --set train.steps=235 --set schedule.decay.milestones=[118,176] --set train.log_every=25 \
            --set train.eval_every=78 --set train.cuda_graph="$graph" "$@"
    }
    if [ $REAL = 1 ] || [ $DRY = 1 ]; then
        smoke he_warmup he_resnet110.yaml true --set schedule.warmup.steps=100
        smoke no_warmup he_resnet110_nowarmup.yaml false
    else
        record "smoke runs" "skipped (no data_batch_1.bin + test_batch_first1000.bin; pass --data)" "-" "-" "-"
    fi

    # ---- 4. timings: ours (ResNet-20 here; ResNet-110 from the smoke runs), then PyTorch ----
    time_ours() { # STAGE NAME DEPTH GRAPH [extra sets...]
        local st=$1 name=$2 depth=$3 graph=$4
        shift 4
        # shellcheck disable=SC2046
        stage "$st" "$name.log" "$RESNET" train "$ROOT/configs/he_resnet110_nowarmup.yaml" \
            $(common_sets "$SAN" test_small.bin "$RES/runs/$name") --set model.depth="$depth" \
            --set train.steps=200 --set schedule.decay.milestones=[150,180] --set train.log_every=25 \
            --set train.eval_every=0 --set train.cuda_graph="$graph" "$@"
    }
    time_ours "ours ResNet-20, graph on" time_r20_graph_on 20 true
    time_ours "ours ResNet-20, graph off" time_r20_graph_off 20 false
    torch_run() { # STAGE NAME ARGS...
        local st=$1 name=$2
        shift 2
        stage "$st" "torch_$name.log" python3 "$ROOT/bench/torch_resnet.py" --json "$RES/torch_$name.json" "$@"
    }
    if [ $TORCH_OK = 1 ] || [ $DRY = 1 ]; then
        torch_run "PyTorch eager (ResNet-110, -20)" eager --depth 110,20 --modes eager_fp32,eager_amp_cl
        torch_run "PyTorch compile (ResNet-110, -20)" compile --depth 110,20 --modes compile_fp32
    else
        record "PyTorch" "skipped (python3 cannot import torch with CUDA)" "-" "-" "-"
    fi

    # ---- 5. compute-sanitizer, on the project's own kernels: 3 ResNet-20 steps ----
    find_sanitizer
    sanitize() { # TOOL GRAPH(true|false) [unfiltered]
        local tool=$1 graph=$2 st log filter=("${SAN_FILTER[@]}") model=(--set model.depth=20 --set train.batch_size=32)
        st="$tool, graph $([ "$graph" = true ] && echo on || echo off)"
        log="sanitizer_${tool}_graph_$graph.log"
        if [ "${3:-}" = unfiltered ]; then
            st="$st (unfiltered)"
            filter=()
            model=(--set model.depth=8 --set train.batch_size=16)
        fi
        # shellcheck disable=SC2046
        STAGE_JUDGE=judge_sanitizer stage "$st" "$log" "$SANITIZER" --tool "$tool" ${filter[@]+"${filter[@]}"} \
            --print-limit 50 "$RESNET" train "$ROOT/configs/he_resnet110.yaml" \
            $(common_sets "$SAN" test_small.bin "$RES/runs/sanitize-$tool-$graph") "${model[@]}" \
            --set train.steps=3 --set schedule.warmup.steps=2 --set schedule.decay.milestones=[2] \
            --set train.log_every=1 --set train.eval_every=0 --set train.cuda_graph="$graph"
    }
    SAN_FILTER=(--kernel-name "regex=$KERNEL_REGEX")
    SAN_STATUS=ok
    if [ $DRY = 1 ]; then
        SANITIZER=${SANITIZER:-compute-sanitizer}
        if check_kernel_filter >"$RES/sanitizer_filter.log" 2>&1; then
            record "sanitizer probe" "dry-run: $(cat "$RES/sanitizer_filter.log")" "-" "$(plan_cap "sanitizer probe")" sanitizer_filter.log
        else record "sanitizer probe" "FAIL ($(cat "$RES/sanitizer_filter.log"))" "-" "$(plan_cap "sanitizer probe")" sanitizer_filter.log; fi
    elif [ -z "$SANITIZER" ]; then
        SAN_STATUS=unsupported
        record "sanitizer probe" "skipped (compute-sanitizer not found)" "-" "$(plan_cap "sanitizer probe")" "-"
    else
        t0=$(date +%s)
        probe_sanitizer
        record "sanitizer probe" "$SAN_STATUS${SAN_FILTER[*]:+ (${SAN_FILTER[*]})}" "$(($(date +%s) - t0))" "$(plan_cap "sanitizer probe")" \
            sanitizer_probe.log
    fi
    case "$SAN_STATUS" in
    ok) sanitize memcheck true; sanitize racecheck true ;;
    nofilter) sanitize memcheck true unfiltered; sanitize racecheck true unfiltered ;;
    *) record "sanitizers" "skipped (compute-sanitizer cannot run on this machine: sanitizer_probe.log)" "-" "-" "-" ;;
    esac
    # The dry run also checks the commands of the unfiltered fallback.
    [ $DRY = 1 ] && sanitize memcheck true unfiltered && sanitize racecheck true unfiltered

    # ---- 6. what is left of the budget, most useful first ----
    extra() { [ $DRY = 1 ] || fits "$1"; }
    [ $TORCH_OK = 1 ] || [ $DRY = 1 ] && extra "PyTorch compile AMP (ResNet-110)" &&
        torch_run "PyTorch compile AMP (ResNet-110)" compile_amp --depth 110 --modes compile_amp_cl
    [ "$SAN_STATUS" = ok ] && extra "memcheck, graph off" && sanitize memcheck false
    extra "ours ResNet-110 strict fp32, graph on" &&
        time_ours "ours ResNet-110 strict fp32, graph on" time_r110_strict_graph_on 110 true --set train.tf32=false
    [ $TORCH_OK = 1 ] || [ $DRY = 1 ] && extra "PyTorch eager no-TF32 (ResNet-110)" &&
        torch_run "PyTorch eager no-TF32 (ResNet-110)" eager_notf32 --depth 110 --modes eager_fp32 --no-tf32
    [ "$SAN_STATUS" = ok ] && extra "racecheck, graph off" && sanitize racecheck false
    [ "$SAN_STATUS" = ok ] && extra "initcheck, graph on" && sanitize initcheck true
fi
stop_precompile

# ---- the record and the tables, last ----
python3 "$ROOT/bench/gpu_facts.py" "$RES" --print || FAILED=1
pack
exit $FAILED
