#!/usr/bin/env bash
# cpu_speed.sh: the CPU backend's training step beside PyTorch's CPU step on the same network (ResNet-20 and -110, batch 128), in interleaved rounds, as one table with the load it ran under.
#
# Usage: bash bench/cpu_speed.sh [--rounds N] [--depths "20 110"] [--threads "1 2"]
#                                [--steps S] [--warmup W] [--no-torch] [--out DIR]
#
# What it does, in order (nothing outside this tree and $VENV is written):
#  1. Builds the project in $BUILD_DIR (default build-bench) and checks `resnet info`.
#  2. Makes a Python virtual environment at $VENV (default
#     ${XDG_CACHE_HOME:-~/.cache}/resnet-bench/torch-cpu) with PyTorch for the peer:
#     PyPI's torch wheel ($TORCH_SPEC, default torch==2.15.0) installed with --no-deps,
#     plus only what `import torch` loads: typing_extensions, sympy and mpmath (sympy's),
#     and, because PyPI's Linux wheel is built against CUDA 13 and links its CUDA
#     libraries even on the CPU, the four that a CUDA toolkit installation does not
#     provide (nvidia-cufile, nvidia-cusparselt-cu13, nvidia-nvshmem-cu13,
#     nvidia-nccl-cu13); the rest (cudart, cuBLAS, cuDNN) come from the toolkit every
#     machine of this project has. No GPU is used or needed. An existing $VENV whose
#     torch imports is reused.
#  3. Writes synthetic CIFAR-format data (build/cifar_synth): speed does not depend on
#     the pixels, and the run needs no data set.
#  4. Rounds: in each, every contender runs once as its own process, in an order that
#     rotates from round to round, so a change in the machine's load hits all of them
#     alike. A process runs W warm-up steps and then S timed steps; its number is the
#     median of its steps. The table gives the median over rounds.
#       ours:  `resnet train` on the CPU backend with train.threads T, batch 128,
#              SGD momentum 0.9, weight decay 1e-4; per-step times from metrics.csv
#              (log_every 1: 1000 * 128 / images_per_s of each step).
#       torch: bench/torch_cpu_step.py (bench/torch_resnet.py's network, whose
#              parameter count is asserted to be ours: 269,722 / 1,727,962), eager, in
#              NCHW and in channels_last, torch.set_num_threads(T).
#  5. Prints one table: contender, depth, threads, median ms/step, the ratio to
#     PyTorch's best CPU mode at the same depth and threads (below 1: ours is faster),
#     and the fastest round,
#     then ours' 1-thread/2-thread speed-up, and the load average seen before and after
#     every process. The same goes to DIR/summary.md, with the machine, the versions and
#     every round's numbers (DIR/rounds.csv); DIR defaults to
#     bench/results/cpu-speed-DATE-TIME.
#
# Timings on a shared or busy machine are noisy; read the load columns beside them.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

ROUNDS=3
DEPTHS="20 110"
THREADS="1 2"
STEPS=4
WARMUP=2
TORCH=1
OUT=""
BUILD_DIR=${BUILD_DIR:-build-bench}
VENV=${VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/resnet-bench/torch-cpu}
TORCH_SPEC=${TORCH_SPEC:-torch==2.15.0}
BATCH=128

die() { echo "cpu_speed: $*" >&2; exit 2; }
while [ $# -gt 0 ]; do
    case "$1" in
    --rounds) ROUNDS=${2:?}; shift 2 ;;
    --depths) DEPTHS=${2:?}; shift 2 ;;
    --threads) THREADS=${2:?}; shift 2 ;;
    --steps) STEPS=${2:?}; shift 2 ;;
    --warmup) WARMUP=${2:?}; shift 2 ;;
    --no-torch) TORCH=0; shift ;;
    --out) OUT=${2:?}; shift 2 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d'; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
    esac
done
for v in "$ROUNDS" "$STEPS" "$WARMUP"; do
    [[ "$v" =~ ^[0-9]+$ ]] && [ "$v" -ge 1 ] || die "--rounds, --steps and --warmup take a positive integer, got '$v'"
done
for d in $DEPTHS; do
    case "$d" in 20 | 110) ;; *) die "--depths: 20 and/or 110 (the depths whose parameter counts are asserted), got '$d'" ;; esac
done
for t in $THREADS; do [[ "$t" =~ ^[0-9]+$ ]] && [ "$t" -ge 1 ] || die "--threads takes positive integers, got '$t'"; done

OUT=${OUT:-bench/results/cpu-speed-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/cpu_speed.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
LOG="$OUT/log.txt"
: >"$LOG"
say() { echo "cpu_speed: $*" | tee -a "$LOG" >&2; }

# ---- 1. build ----
say "building in $BUILD_DIR"
{ cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release && cmake --build "$BUILD_DIR" -j"$(nproc)" --target resnet cifar_synth; } >>"$LOG" 2>&1 ||
    { tail -20 "$LOG" >&2; die "the build failed (see $LOG)"; }
case "$BUILD_DIR" in /*) BUILD=$BUILD_DIR ;; *) BUILD=$ROOT/$BUILD_DIR ;; esac
RESNET="$BUILD/resnet"
"$RESNET" info >"$OUT/resnet_info.txt"

# ---- 2. PyTorch in a virtual environment ----
PY=""
if [ "$TORCH" = 1 ]; then
    if ! "$VENV/bin/python" -c 'import torch' >/dev/null 2>&1; then
        say "installing $TORCH_SPEC (CPU use) into $VENV"
        mkdir -p "$(dirname "$VENV")"
        python3 -m venv "$VENV" >>"$LOG" 2>&1 || die "python3 -m venv failed (Debian: apt-get install python3-venv)"
        "$VENV/bin/pip" install -q --no-deps "$TORCH_SPEC" typing_extensions sympy mpmath \
            nvidia-cufile nvidia-cusparselt-cu13 nvidia-nvshmem-cu13 nvidia-nccl-cu13 >>"$LOG" 2>&1 ||
            { tail -5 "$LOG" >&2; die "pip install failed (see $LOG)"; }
        "$VENV/bin/python" -c 'import torch' >>"$LOG" 2>&1 ||
            { tail -5 "$LOG" >&2; die "torch does not import (see $LOG): a shared library it names is missing"; }
    fi
    PY="$VENV/bin/python"
    "$PY" -c 'import torch; print(torch.__version__, "(oneDNN:", torch.backends.mkldnn.is_available(), end=")")' \
        >"$OUT/torch_version.txt" 2>/dev/null || true
fi

# ---- 3. data ----
"$BUILD/cifar_synth" "$WORK/train.bin" --n 1024 --seed 1 >>"$LOG" 2>&1 &&
    "$BUILD/cifar_synth" "$WORK/test.bin" --n 128 --seed 2 >>"$LOG" 2>&1 || die "cifar_synth failed (see $LOG)"
cat >"$WORK/run.yaml" <<EOF
# the step cpu_speed.sh times: SGD with momentum and weight decay at lr 0.1, as the
# PyTorch peer. The divergence rules are off and a non-finite step only skips its update:
# a deep net at lr 0.1 from step 1 may blow up on this data, and the work of a step is the
# same whatever its values (the timed steps must not stop the run).
model: {depth: 20, num_classes: 10}
data: {dir: $WORK, train: [train.bin], test: test.bin, augment: true, shuffle: true}
train: {batch_size: $BATCH, steps: 1, seed: 0, backend: cpu, eval_every: 0, log_every: 1, checkpoint_every: 0,
        nonfinite: skip}
optim: {momentum: 0.9, weight_decay: 0.0001}
schedule: {peak_lr: 0.1}
divergence: {loss_bound: 0, loss_soft_bound: 0}
output: {overwrite: true}
EOF

load() { cut -d' ' -f1 /proc/loadavg; }
median() { sort -g | awk '{a[NR]=$1} END {if (NR == 0) print "nan"; else if (NR % 2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

# One contender once: prints its median ms/step (or nothing on failure).
run_ours() { # depth threads
    local dir="$WORK/ours-$1-$2"
    "$RESNET" train "$WORK/run.yaml" --set model.depth="$1" --set train.threads="$2" \
        --set train.steps=$((WARMUP + STEPS)) --set output.dir="$dir" >>"$LOG" 2>&1 || return 1
    tail -n +$((WARMUP + 2)) "$dir/metrics.csv" | cut -d, -f7 | awk -v b="$BATCH" '{print 1000 * b / $1}' | median
}
run_torch() { # depth threads layout
    OMP_NUM_THREADS="$2" "$PY" bench/torch_cpu_step.py --depth "$1" --threads "$2" --layout "$3" \
        --steps "$STEPS" --warmup "$WARMUP" --batch "$BATCH" 2>>"$LOG" | tee -a "$LOG" | awk '/^ms_per_step/ {print $2}'
}

CONTENDERS=()
for d in $DEPTHS; do
    for t in $THREADS; do
        CONTENDERS+=("ours $d $t")
        if [ "$TORCH" = 1 ]; then CONTENDERS+=("torch_nchw $d $t" "torch_channels_last $d $t"); fi
    done
done
N=${#CONTENDERS[@]}

# ---- 4. rounds ----
echo "round,contender,depth,threads,ms_per_step,load_before,load_after" >"$OUT/rounds.csv"
for r in $(seq 1 "$ROUNDS"); do
    for i in $(seq 0 $((N - 1))); do
        read -r who d t <<<"${CONTENDERS[$(((i + r - 1) % N))]}"
        lb=$(load)
        case "$who" in
        ours) ms=$(run_ours "$d" "$t" || true) ;;
        torch_nchw) ms=$(run_torch "$d" "$t" nchw || true) ;;
        torch_channels_last) ms=$(run_torch "$d" "$t" channels_last || true) ;;
        esac
        la=$(load)
        [ -n "$ms" ] || { say "round $r: $who depth $d threads $t FAILED (see $LOG)"; ms=nan; }
        say "round $r/$ROUNDS: $who ResNet-$d, $t thread(s): ${ms} ms/step (load $lb -> $la)"
        echo "$r,$who,$d,$t,$ms,$lb,$la" >>"$OUT/rounds.csv"
    done
done

# ---- 5. the table ----
python3 - "$OUT" <<'EOF' | tee "$OUT/table.txt"
import csv, statistics, sys
out = sys.argv[1]
rows = list(csv.DictReader(open(f"{out}/rounds.csv")))
med, loads = {}, {}
for r in rows:
    k = (r["contender"], int(r["depth"]), int(r["threads"]))
    if r["ms_per_step"] != "nan":
        med.setdefault(k, []).append(float(r["ms_per_step"]))
    loads.setdefault(k, []).extend([float(r["load_before"]), float(r["load_after"])])
best = {}
for (who, d, t), v in med.items():
    if who.startswith("torch"):
        m = statistics.median(v)
        if (d, t) not in best or m < best[(d, t)][1]:
            best[(d, t)] = (who, m)
print(f"{'contender':<22} {'depth':>5} {'threads':>7} {'ms/step':>9} {'ratio':>7} {'best':>9}  {'rounds':>6}  load (min-max)")
for k in sorted(loads, key=lambda k: (k[1], k[2], k[0] != "ours", k[0])):
    who, d, t = k
    v = med.get(k, [])
    m = statistics.median(v) if v else float("nan")
    b = best.get((d, t))
    ratio = f"{m / b[1]:.2f}" if b and v else "-"
    lo = min(v) if v else float("nan")
    print(f"{who:<22} {d:>5} {t:>7} {m:>9.1f} {ratio:>7} {lo:>9.1f}  {len(v):>6}  {min(loads[k]):.2f}-{max(loads[k]):.2f}")
print("ms/step: median over rounds; ratio: that over the fastest PyTorch mode's at the same depth and threads")
print("(below 1: faster than it); best: the fastest round (other work on the machine only ever adds time)")
for d in sorted({k[1] for k in med}):
    o = {k[2]: statistics.median(v) for k, v in med.items() if k[0] == "ours" and k[1] == d}
    ts = sorted(o)
    for t in ts[1:]:
        print(f"ours ResNet-{d}: {ts[0]} -> {t} threads: {o[ts[0]] / o[t]:.2f}x faster")
EOF

{
    echo "# CPU training step: this project's CPU backend beside PyTorch's CPU step"
    echo
    echo "- date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "- machine: $(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores allowed of $(getconf _NPROCESSORS_ONLN) online, $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo)"
    echo "- commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo ' (with uncommitted changes)')"
    echo "- torch: $(cat "$OUT/torch_version.txt" 2>/dev/null || echo 'not run')"
    echo "- rounds: $ROUNDS; per process $WARMUP warm-up + $STEPS timed steps at batch $BATCH; numbers are medians of per-process medians"
    echo "- load average (1 min) before and after each process is in rounds.csv and in the table"
    echo
    echo '```'
    sed 's/^/resnet info: /' "$OUT/resnet_info.txt"
    echo
    cat "$OUT/table.txt"
    echo '```'
} >"$OUT/summary.md"
say "wrote $OUT/summary.md"
# The log names where things lay on this machine; in a record kept with the project, paths
# relative to the repository, ~ for the home folder and $WORK for the scratch folder say the same.
sed -i -e "s#$WORK#\$WORK#g" -e "s#$ROOT/#./#g" -e "s#$ROOT#.#g" -e "s#$HOME/#~/#g" "$LOG"
