#!/usr/bin/env bash
# gpu_check.sh: the one script to run on a GPU machine: build for sm_90, gpu tests, compute-sanitizer, a real-data ResNet-110 smoke run, step timings against PyTorch; full logs to a results folder, a short table printed last.
#
# usage: bash bench/gpu_check.sh [--dry-run] [--data DIR] [--kit DIR] [--budget S] [--full] [RESULTS_DIR]
#
#   --data DIR    CIFAR-10 binary folder holding data_batch_1.bin and test_batch_first1000.bin
#                 (default $DATA_DIR, else the shared copy or ./.device-data when present);
#                 without it the smoke run is skipped and the other runs use synthetic data
#   --kit DIR     folder of .deb files (bench/fetch_device_kit.sh makes it) unpacked into
#                 the build folder when the machine lacks libyaml or OpenBLAS headers
#                 (default ./.device-kit when present)
#   --budget S    seconds for the whole script (default 500, or GPU_CHECK_BUDGET_S): each
#                 stage's time limit is cut to what is left, and stages run in priority
#                 order, so the least important are the ones a slow machine drops
#   --full        also the optional stages (racecheck without the graph, PyTorch with CUDA
#                 graphs and max-autotune, strict-fp32 timing) when time is left
#   --dry-run     configure and build (sm_90), then print what every GPU stage would run
#   RESULTS_DIR   where the logs go (default bench/results/run-DATE-TIME; with --dry-run
#                 BUILD_DIR/dry-run-results). When OUT is set, the logs (not checkpoints
#                 or data) are also packed into $OUT/gpu_check_logs.tgz after every stage,
#                 and summary.txt is copied beside it at the end: two files, whatever
#                 the number of logs.
#
# environment (all optional): BUILD_DIR (default build-gpu), CUDA_ARCH (default 90),
# CUDNN_LIB_DIR (folder holding libcudnn.so.9 when the search misses it), NVCC.
#
# Exit status: 0 when no stage failed (skipped stages do not fail the run), 1 otherwise.

set -u
DRY=0 FULL=0 RES="" DATA=${DATA_DIR:-} KIT="" BUDGET=${GPU_CHECK_BUDGET_S:-500}
while [ $# -gt 0 ]; do
    case "$1" in
    --dry-run) DRY=1 ;;
    --full) FULL=1 ;;
    --data) DATA=${2:?--data needs a folder}; shift ;;
    --data=*) DATA=${1#*=} ;;
    --kit) KIT=${2:?--kit needs a folder}; shift ;;
    --kit=*) KIT=${1#*=} ;;
    --budget) BUDGET=${2:?--budget needs seconds}; shift ;;
    --budget=*) BUDGET=${1#*=} ;;
    -h | --help) sed -n '2,27p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "gpu_check: unknown option $1 (try --help)" >&2; exit 2 ;;
    *) RES=$1 ;;
    esac
    shift
done

START=$(date +%s)
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD_DIR:-$ROOT/build-gpu}
case "$BUILD" in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
ARCH=${CUDA_ARCH:-90}
PACK=""
if [ -z "$RES" ]; then
    if [ $DRY = 1 ]; then RES=$BUILD/dry-run-results
    else RES=$ROOT/bench/results/run-$(date +%F-%H%M); fi
fi
[ -n "${OUT:-}" ] && [ $DRY = 0 ] && PACK=$OUT
mkdir -p "$RES" || exit 1
RES=$(cd "$RES" && pwd)
JOBS=$(nproc 2>/dev/null || echo 2)
RESNET=$BUILD/resnet

ROWS=()    # "stage|status|seconds|log"
RESULTS=() # "what|value" lines of the results table
FAILED=0

left() { echo $((BUDGET - ($(date +%s) - START))); }

# record STAGE STATUS SECONDS LOG
record() {
    ROWS+=("$1|$2|$3|$4")
    case "$2" in FAIL*) FAILED=1 ;; esac
    echo "gpu_check: [$(($(date +%s) - START))s] $1: $2" >&2
    pack
}

# Logs into $OUT after every stage: a run cut off by its caller still returns them.
# Only the logs: checkpoints and data stay behind.
pack() {
    [ -n "$PACK" ] || return 0
    tar czf "$PACK/gpu_check_logs.tgz.tmp" -C "$RES" --exclude='*.bin' . 2>/dev/null &&
        mv "$PACK/gpu_check_logs.tgz.tmp" "$PACK/gpu_check_logs.tgz"
}

# run STAGE LOG LIMIT_S CMD...: CMD with its output in RES/LOG, under timeout(1) with the
# smaller of LIMIT_S and the budget left; skipped when less than 20 s are left.
run() {
    local stage=$1 log=$2 limit=$3 t0 rc secs avail
    shift 3
    avail=$(($(left) - 5))
    if [ "$avail" -lt 20 ]; then record "$stage" "skipped (time budget spent)" "-" "-"; return 99; fi
    [ "$limit" -gt "$avail" ] && limit=$avail
    { echo "\$ $*"; echo "(time limit ${limit}s)"; echo; } >"$RES/$log"
    t0=$(date +%s.%N)
    timeout -k 10 "$limit" "$@" >>"$RES/$log" 2>&1
    rc=$?
    secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
    if [ $rc = 0 ]; then record "$stage" ok "$secs" "$log"
    elif [ $rc = 124 ] || [ $rc = 137 ]; then record "$stage" "FAIL (timed out after ${limit}s)" "$secs" "$log"
    else record "$stage" "FAIL (exit $rc)" "$secs" "$log"; fi
    return $rc
}

# gpu STAGE LOG LIMIT_S CMD...: as run, or in a dry run only says what it would run.
gpu() {
    if [ $DRY = 1 ]; then
        local stage=$1 log=$2 limit=$3
        shift 3
        echo "would run (${limit}s, log $log): $*" >&2
        # A `resnet train` (also under the sanitizer) is checked here as far as it can be
        # without a GPU: `resnet config` with the same arguments resolves and validates them.
        local a seen=0 args=()
        for a in "$@"; do
            if [ $seen = 1 ]; then args+=("$a"); elif [ "$a" = "$RESNET" ]; then seen=2; fi
            [ $seen = 2 ] && [ "$a" = train ] && seen=1
        done
        if [ $seen = 1 ] && [ $BUILT = 1 ]; then
            if "$RESNET" config "${args[@]}" >"$RES/$log" 2>&1; then record "$stage" "dry-run (config ok)" "-" "$log"
            else record "$stage" "FAIL (resnet config refuses the arguments)" "-" "$log"; fi
        else
            record "$stage" "dry-run" "-" "-"
        fi
        return 0
    fi
    run "$@"
}

# ---- 1. tools: cmake, nvcc ----
CMAKE=$(command -v cmake || true)
PYBIN=$(dirname "$(command -v python3 || echo /nonexistent/python3)")
[ -z "$CMAKE" ] && [ -x "$PYBIN/cmake" ] && CMAKE=$PYBIN/cmake # pip's cmake beside the python that has it
CTEST=$(dirname "${CMAKE:-/x/cmake}")/ctest
[ -x "$CTEST" ] || CTEST=$(command -v ctest || echo ctest)

NVCC=${NVCC:-$(command -v nvcc || true)}
if [ -z "$NVCC" ]; then
    for c in /usr/local/cuda/bin/nvcc $(ls -d /usr/local/cuda-*/bin/nvcc 2>/dev/null | sort -V -r); do
        [ -x "$c" ] && { NVCC=$c; break; }
    done
fi
[ -n "$NVCC" ] && PATH="$(dirname "$NVCC"):$PATH" && export PATH

{
    date -u +"date: %F %T UTC"
    uname -a
    echo "budget: ${BUDGET}s; results: $RES"
    command -v nvidia-smi >/dev/null && timeout 30 nvidia-smi || echo "nvidia-smi: not found (no NVIDIA driver here)"
    timeout 30 nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv 2>/dev/null
    echo "nvcc: ${NVCC:-not found}"; [ -n "$NVCC" ] && "$NVCC" --version
    echo "cmake: ${CMAKE:-not found}"; [ -n "$CMAKE" ] && "$CMAKE" --version | head -1
    echo "cc: $(cc --version 2>/dev/null | head -1)"
    timeout 60 python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, "cudnn", torch.backends.cudnn.version())' 2>&1 | tail -1
} >"$RES/machine.log" 2>&1
record "machine" "logged" "-" "machine.log"

# ---- 2. cuDNN 9: where libcudnn.so.9 is, for the build and for the loader ----
find_cudnn() {
    local d f
    if [ -n "${CUDNN_LIB_DIR:-}" ] && [ -e "$CUDNN_LIB_DIR/libcudnn.so.9" ]; then echo "$CUDNN_LIB_DIR"; return; fi
    # PyTorch brings cuDNN 9 as a pip package (nvidia-cudnn-cu12 / -cu13); a namespace
    # package may have no __file__, so search its __path__.
    for d in $(timeout 60 python3 -c 'import nvidia.cudnn as m; print(" ".join(m.__path__))' 2>/dev/null); do
        f=$(find "$d" -name 'libcudnn.so.9' 2>/dev/null | head -1)
        [ -n "$f" ] && { dirname "$f"; return; }
    done
    f=$(ldconfig -p 2>/dev/null | awk '/libcudnn\.so\.9 / { print $NF; exit }')
    [ -n "$f" ] && { dirname "$f"; return; }
    f=$(timeout 60 find / -xdev \( -path /proc -o -path /sys \) -prune -o -name 'libcudnn.so.9' -print 2>/dev/null | head -1)
    [ -n "$f" ] && dirname "$f"
}
CMAKE_EXTRA=()
CUDNN_DIR=$(find_cudnn)
if [ -n "$CUDNN_DIR" ]; then
    export LD_LIBRARY_PATH="$CUDNN_DIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    # A pip cuDNN has only the versioned library and keeps its headers beside lib/.
    [ -e "$CUDNN_DIR/libcudnn.so" ] || CMAKE_EXTRA+=("-DCUDNN_LIBRARY=$CUDNN_DIR/libcudnn.so.9")
    [ -e "$CUDNN_DIR/../include/cudnn.h" ] && CMAKE_EXTRA+=("-DCUDNN_INCLUDE_DIR=$(cd "$CUDNN_DIR/../include" && pwd)")
    echo "libcudnn.so.9 in $CUDNN_DIR (prepended to LD_LIBRARY_PATH)" >"$RES/cudnn.log"
    record "find cuDNN 9" ok "-" "cudnn.log"
else
    echo "libcudnn.so.9 not found (set CUDNN_LIB_DIR); the build may still find cuDNN itself" >"$RES/cudnn.log"
    record "find cuDNN 9" "not found" "-" "cudnn.log"
fi
# cuBLAS from a pip install, when the toolkit's own is not on the loader's path.
for d in $(timeout 60 python3 -c 'import nvidia.cublas as m; print(" ".join(m.__path__))' 2>/dev/null); do
    f=$(find "$d" -name 'libcublas.so.*' 2>/dev/null | head -1)
    [ -n "$f" ] && LD_LIBRARY_PATH="${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}$(dirname "$f")" && export LD_LIBRARY_PATH && break
done

# ---- 3. libyaml and OpenBLAS: the system's, else the carried kit's ----
[ -z "$KIT" ] && [ -d "$ROOT/.device-kit" ] && KIT=$ROOT/.device-kit
kit_flags() {
    local root=$BUILD/kit-root deb
    mkdir -p "$root"
    for deb in "$KIT"/*.deb; do
        if command -v dpkg >/dev/null; then dpkg -x "$deb" "$root"
        else (cd "$root" && ar p "$deb" "$(ar t "$deb" | grep '^data\.tar')" | tar x -J -f - 2>/dev/null ||
                ar p "$deb" "$(ar t "$deb" | grep '^data\.tar')" | tar x -z -f -); fi
    done
    local yinc ylib binc blib gl
    yinc=$(dirname "$(find "$root" -name yaml.h | head -1)")
    ylib=$(find "$root" -name 'libyaml.a' | head -1)
    binc=$(dirname "$(find "$root" -name cblas.h | head -1)")
    blib=$(find "$root" -name 'libopenblas.so.0' | head -1)
    gl=$(dirname "$(find "$root" -name 'libgfortran.so.5*' | head -1)")
    # Static libyaml; OpenBLAS (and the Fortran runtime it needs) through the loader path.
    CMAKE_EXTRA+=("-DYAML_INCLUDE_DIR=$yinc" "-DYAML_LIBRARY=$ylib" "-DCBLAS_INCLUDE_DIR=$binc"
        "-DOPENBLAS_LIBRARY=$blib")
    LD_LIBRARY_PATH="${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}$(dirname "$blib"):$gl"
    export LD_LIBRARY_PATH
    echo "kit: yaml $yinc $ylib; cblas $binc $blib; gfortran $gl"
}

# ---- 4. configure and build for the GPU's architecture ----
CONF=(-S "$ROOT" -B "$BUILD" -DRESNET_CUDA=ON -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES="$ARCH")
[ -n "$NVCC" ] && CONF+=("-DCMAKE_CUDA_COMPILER=$NVCC")
BUILT=0
if [ -z "$CMAKE" ]; then
    record "configure (sm_$ARCH)" "FAIL (no cmake)" "-" "-"
else
    run "configure (sm_$ARCH)" configure.log 180 "$CMAKE" "${CONF[@]}" ${CMAKE_EXTRA[@]+"${CMAKE_EXTRA[@]}"}
    rc=$?
    if [ $rc != 0 ] && [ $rc != 99 ] && [ -n "$KIT" ] && ls "$KIT"/*.deb >/dev/null 2>&1; then
        kit_flags >"$RES/kit.log" 2>&1
        run "configure with the kit" configure_kit.log 180 "$CMAKE" "${CONF[@]}" "${CMAKE_EXTRA[@]}"
        rc=$?
    fi
    [ $rc = 0 ] && run "build (-j$JOBS)" build.log 600 "$CMAKE" --build "$BUILD" -j "$JOBS" && BUILT=1
fi
echo "LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-}" >>"$RES/machine.log"

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

# One base config for every run of ours: He et al.'s ResNet-110 file, overridden.
common_sets() { # DATA_DIR TEST_FILE OUTDIR
    echo "--set data.dir=$1 --set data.train=[data_batch_1.bin] --set data.test=$2 --set train.backend=cuda"
    echo "--set output.dir=$3 --set output.overwrite=true --set train.checkpoint_every=0"
}

if [ $BUILT = 1 ] || [ $DRY = 1 ]; then
    [ $BUILT = 1 ] && run "resnet info" info.log 60 "$RESNET" info

    # Sanitizer data: the real training file and the first 64 test images (evaluation
    # under a sanitizer is slow, and 64 images exercise it as well as 1,000).
    SAN=$RES/sanitizer-data
    mkdir -p "$SAN"
    if [ $REAL = 1 ]; then
        ln -sf "$DATA/data_batch_1.bin" "$SAN/data_batch_1.bin"
        head -c $((3073 * 64)) "$DATA/test_batch_first1000.bin" >"$SAN/test_small.bin"
    elif [ $BUILT = 1 ]; then
        "$BUILD/cifar_synth" "$SAN/data_batch_1.bin" --n 10000 --seed 1 >/dev/null &&
            "$BUILD/cifar_synth" "$SAN/test_small.bin" --n 64 --seed 2 >/dev/null
        record "data" "synthetic (no --data folder with the real files)" "-" "-"
    fi

    # ---- 5. every op and whole steps against the CPU backend (label gpu), TF32 off ----
    gpu "ctest -L gpu" ctest_gpu.log 240 env NVIDIA_TF32_OVERRIDE=0 "$CTEST" --test-dir "$BUILD" -L gpu \
        --output-on-failure --timeout 200
    if [ $DRY = 0 ] && [ -e "$RES/ctest_gpu.log" ]; then
        RESULTS+=("gpu tests|$(grep -E 'tests passed|tests failed' "$RES/ctest_gpu.log" | tail -1)")
        grep -q "Skipped\|SKIPPED" "$RES/ctest_gpu.log" && RESULTS+=("gpu tests|SOME SKIPPED: no device seen?")
    fi

    # PyTorch's compiler is slow the first time; warm its cache in the background while
    # the sanitizers run (nothing timed runs beside it), so the timed run later is fast.
    PRE_PID=""
    TORCH_OK=0
    timeout 60 python3 -c 'import torch; assert torch.cuda.is_available()' >/dev/null 2>&1 && TORCH_OK=1
    if [ $DRY = 0 ] && [ $TORCH_OK = 1 ] && [ "$(left)" -gt 200 ]; then
        timeout -k 10 $(($(left) - 60)) python3 "$ROOT/bench/torch_resnet.py" --depth 110 \
            --modes compile_fp32,compile_amp_cl --steps 2 --warmup 3 >"$RES/torch_precompile.log" 2>&1 &
        PRE_PID=$!
    fi

    # ---- 6. compute-sanitizer over a few ResNet-20 steps on the real data ----
    SANITIZER=$(command -v compute-sanitizer || true)
    for c in "$(dirname "${NVCC:-/x/nvcc}")/compute-sanitizer" /usr/local/cuda/bin/compute-sanitizer \
        /usr/local/cuda/compute-sanitizer/compute-sanitizer; do
        [ -z "$SANITIZER" ] && [ -x "$c" ] && SANITIZER=$c
    done
    [ -z "$SANITIZER" ] && [ $DRY = 1 ] && SANITIZER=compute-sanitizer # only named, never run
    sanitize() { # TOOL GRAPH(true|false) LIMIT
        local tool=$1 graph=$2 extra=()
        [ "$tool" = memcheck ] && extra=(--leak-check full)
        # shellcheck disable=SC2046
        gpu "sanitizer $tool, graph $graph" "sanitizer_${tool}_graph_$graph.log" "$3" "$SANITIZER" --tool "$tool" \
            ${extra[@]+"${extra[@]}"} --error-exitcode 99 "$RESNET" train "$ROOT/configs/he_resnet110.yaml" \
            $(common_sets "$SAN" test_small.bin "$RES/runs/sanitize-$tool-$graph") --set model.depth=20 \
            --set train.batch_size=32 --set train.steps=3 --set schedule.warmup.steps=2 \
            --set schedule.decay.milestones=[2] --set train.log_every=1 --set train.eval_every=0 \
            --set train.cuda_graph=$graph
        [ $DRY = 0 ] && [ -e "$RES/sanitizer_${tool}_graph_$graph.log" ] &&
            RESULTS+=("$tool graph $graph|$(grep -h 'ERROR SUMMARY' "$RES/sanitizer_${tool}_graph_$graph.log" | tail -1)")
    }
    if [ -z "$SANITIZER" ]; then
        record "compute-sanitizer" "skipped (compute-sanitizer not found)" "-" "-"
    else
        sanitize memcheck true 150
        sanitize racecheck true 180
    fi
    if [ -n "$PRE_PID" ]; then
        # At most 60 s more: the timed runs below must have the machine to themselves.
        for _ in $(seq 60); do kill -0 "$PRE_PID" 2>/dev/null || break; sleep 1; done
        kill -0 "$PRE_PID" 2>/dev/null && kill "$PRE_PID" 2>/dev/null
        wait "$PRE_PID"
        record "torch compile warm-up (background)" "exit $?" "-" torch_precompile.log
    fi

    # ---- 7. our step time: 200 steps, metrics every 25, evaluation at the end only ----
    TDATA=$SAN
    TTEST=test_small.bin
    time_ours() { # DEPTH GRAPH [extra sets...]
        local depth=$1 graph=$2 name="time_r$1_graph_$2"
        shift 2
        [ $# -gt 0 ] && name="${name}_strict"
        # shellcheck disable=SC2046
        gpu "train ResNet-$depth graph $graph${*:+ (strict fp32)}" "$name.log" 120 "$RESNET" train \
            "$ROOT/configs/he_resnet110_nowarmup.yaml" $(common_sets "$TDATA" "$TTEST" "$RES/runs/$name") \
            --set model.depth="$depth" --set train.steps=200 --set schedule.decay.milestones=[150,180] \
            --set train.log_every=25 --set train.eval_every=0 --set train.cuda_graph="$graph" "$@"
        local csv=$RES/runs/$name/metrics.csv
        if [ $DRY = 0 ] && [ -e "$csv" ]; then
            # Each 25-step interval's images/s (the column repeats it on every row of the
            # interval); the first interval holds the warm-up and the graph capture.
            local ms
            ms=$(awk -F, 'NR > 1 && $1 % 25 == 0 && $1 > 25 { print 1000 * 128 / $7 }' "$csv" | sort -g |
                awk '{ a[NR] = $1 } END { if (NR) printf "%.2f", (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }')
            RESULTS+=("ours ResNet-$depth graph $graph${*:+ strict}|${ms:-?} ms/step ($(awk -v m="${ms:-0}" 'BEGIN { printf "%.1f", m * 391 / 1000 }') s/epoch)")
        fi
    }
    time_ours 110 true
    time_ours 110 false
    time_ours 20 true
    time_ours 20 false

    # ---- 8. the real-data smoke: ResNet-110, 3 epochs of data_batch_1, with and without warmup ----
    smoke() { # NAME CONFIG [sets...]
        local name=$1 cfg=$2
        shift 2
        # shellcheck disable=SC2046
        gpu "smoke ResNet-110 $name" "smoke_$name.log" 150 "$RESNET" train "$ROOT/configs/$cfg" \
            $(common_sets "$DATA" test_batch_first1000.bin "$RES/runs/smoke_$name") --set train.steps=235 \
            --set schedule.decay.milestones=[118,176] --set train.log_every=10 --set train.eval_every=78 "$@"
        local d=$RES/runs/smoke_$name
        if [ $DRY = 0 ] && [ -e "$d/metrics.csv" ]; then
            local pts err st
            pts=$(awk -F, 'NR > 1 && ($1 == 1 || $1 == 10 || $1 == 50 || $1 == 100 || $1 == 150 || $1 == 200 || $1 == 235) { printf "%s%d:%.3f", sep, $1, $4; sep = " " }' "$d/metrics.csv")
            err=$(awk -F, 'NR > 1 { printf "%s%d:%.1f%%", sep, $1, 100 * $3; sep = " " }' "$d/eval.csv" 2>/dev/null)
            st=$(grep -o '"status": *"[a-z]*"' "$d/summary.json" 2>/dev/null | grep -o '"[a-z]*"$')
            RESULTS+=("smoke $name loss|$pts")
            RESULTS+=("smoke $name test error|$err (status $st)")
        fi
    }
    if [ $REAL = 1 ] || [ $DRY = 1 ]; then
        smoke he_warmup he_resnet110.yaml --set schedule.warmup.steps=100
        smoke no_warmup he_resnet110_nowarmup.yaml
    else
        record "smoke ResNet-110" "skipped (no data_batch_1.bin + test_batch_first1000.bin; pass --data)" "-" "-"
    fi

    # ---- 9. PyTorch on the same GPU (each mode timed by the script itself) ----
    torch_run() { # NAME LIMIT ARGS...
        local name=$1 limit=$2
        shift 2
        gpu "PyTorch $name" "torch_$name.log" "$limit" python3 "$ROOT/bench/torch_resnet.py" --json "$RES/torch_$name.json" "$@"
        [ $DRY = 0 ] && [ -e "$RES/torch_$name.log" ] &&
            while read -r l; do RESULTS+=("torch $name|$l"); done < <(grep -E '^(eager|compile)_' "$RES/torch_$name.log")
    }
    if [ $TORCH_OK = 1 ] || [ $DRY = 1 ]; then
        torch_run r110_eager 120 --depth 110 --modes eager_fp32,eager_amp_cl
        torch_run r20_eager 90 --depth 20 --modes eager_fp32,eager_amp_cl
        torch_run r110_compile 240 --depth 110 --modes compile_fp32,compile_amp_cl
    else
        record "PyTorch" "skipped (python3 cannot import torch with CUDA)" "-" "-"
    fi

    # ---- 10. what is left of the budget: the graph-off sanitizer runs, then the extras ----
    [ -n "$SANITIZER" ] && sanitize memcheck false 150
    if [ $FULL = 1 ]; then
        [ -n "$SANITIZER" ] && sanitize racecheck false 180
        time_ours 110 true --set train.tf32=false
        [ $TORCH_OK = 1 ] || [ $DRY = 1 ] && {
            torch_run r110_eager_notf32 90 --depth 110 --modes eager_fp32 --no-tf32
            torch_run r110_graphs 240 --depth 110 --modes compile_ro_fp32,compile_ro_amp_cl
            torch_run r110_maxautotune 300 --depth 110 --modes compile_maxat_fp32
        }
    fi
fi

# ---- the tables, last ----
{
    echo
    echo "gpu_check $(date -u +%FT%TZ), $(($(date +%s) - START)) s$([ $DRY = 1 ] && echo '  (dry run: no GPU stage was run)')"
    timeout 20 nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null | sed 's/^/device: /'
    printf '%-40s %-44s %8s  %s\n' "stage" "status" "seconds" "log"
    for r in "${ROWS[@]}"; do
        IFS='|' read -r s st sec lg <<<"$r"
        printf '%-40s %-44s %8s  %s\n' "$s" "$st" "$sec" "$lg"
    done
    if [ ${#RESULTS[@]} -gt 0 ]; then
        echo
        echo "results (ours: fp32 with TF32 allowed unless 'strict'; ms/step from metrics.csv images_per_s,"
        echo "median of the 25-step intervals after the first, including one host flush per interval):"
        for r in "${RESULTS[@]}"; do
            IFS='|' read -r w v <<<"$r"
            printf '  %-34s %s\n' "$w" "$v"
        done
    fi
    echo "full logs: $RES"
} | tee "$RES/summary.txt"
[ -n "$PACK" ] && cp "$RES/summary.txt" "$PACK/summary.txt" 2>/dev/null
pack
exit $FAILED
