#!/usr/bin/env bash
# gpu_prepare.sh: prepares what must travel to the GPU machine (the libyaml kit and cuDNN headers, the CIFAR-10 subset) in git-ignored folders, prints the exact carry list and the total size, and fails when it is over the 64 MiB a device call carries.
#
# usage: bash bench/gpu_prepare.sh [--plan] [--data-from DIR] [--with-sanitizer]
#        bash bench/gpu_prepare.sh --stage-full [--data-from DIR]
#
#   (default)         .device-kit/ (bench/fetch_device_kit.sh, unless already complete,
#                     and cuDNN's headers from this machine's toolkit, for a pip cuDNN without them)
#                     and .device-data/ (data_batch_1.bin, test_batch_first1000.bin,
#                     checked against the folder's SHA256SUMS when it has one)
#   --plan            write nothing: the carry list and sizes as they would be (existing
#                     folders as they are, the rest from the source files and apt's
#                     package sizes); what bench/gpu_check.sh --dry-run prints
#   --data-from DIR   the CIFAR-10 folder to copy from (default $CIFAR10_DIR, else
#                     ../shared/data/cifar-10-batches-bin, else data/cifar-10-batches-bin)
#   --with-sanitizer  also pip's compute-sanitizer wheel into .device-kit/ (about 14 MB),
#                     for a GPU machine without one
#   --stage-full      the whole data set (five training batches and both test files) in
#                     parts .device-stage-1/ ... each small enough to carry alone, and the
#                     calls that carry them one after another (see bench/README.md)
#
# Exit status: 0 ready (or, with --plan, would be); 1 over 64 MiB or a step failed; 2 usage.

set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
LIMIT=$((64 * 1024 * 1024))
MODE=prepare SRC=${CIFAR10_DIR:-} SANI=0
while [ $# -gt 0 ]; do
    case "$1" in
    --plan) MODE=plan ;;
    --stage-full) MODE=stage ;;
    --with-sanitizer) SANI=1 ;;
    --data-from) SRC=${2:?--data-from needs a folder}; shift ;;
    --data-from=*) SRC=${1#*=} ;;
    -h | --help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "gpu_prepare: unknown argument $1 (try --help)" >&2; exit 2 ;;
    esac
    shift
done
if [ -z "$SRC" ]; then
    for d in "$ROOT/../shared/data/cifar-10-batches-bin" "$ROOT/data/cifar-10-batches-bin"; do
        [ -e "$d/data_batch_1.bin" ] && { SRC=$d; break; }
    done
fi
DATA_FILES=(data_batch_1.bin test_batch_first1000.bin)
KIT_PKGS=(libyaml-0-2 libyaml-dev)
MIB() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }
size_of() { [ -e "$1" ] && du -sbL "$1" | cut -f1 || echo 0; }

# The working tree as the device call sends it: tracked files and untracked ones git
# does not ignore.
tree_bytes() {
    (cd "$ROOT" && git ls-files -z -co --exclude-standard | xargs -0 -r stat -L -c %s 2>/dev/null) |
        awk '{ s += $1 } END { print s + 0 }'
}

ignored() { (cd "$ROOT" && git check-ignore -q "$1/any-file"); } # a file inside: the patterns name folders

kit_complete() {
    local p
    for p in "${KIT_PKGS[@]}"; do ls "$ROOT/.device-kit/${p}_"*.deb >/dev/null 2>&1 || return 1; done
    [ -z "$CUDNN_H" ] || [ -e "$ROOT/.device-kit/cudnn-include/cudnn.h" ]
}

# cuDNN's headers (about 0.4 MB): a pip cuDNN on the GPU machine may come without them.
CUDNN_H=""
for d in /usr/local/cuda/include /usr/include /usr/include/x86_64-linux-gnu; do
    [ -e "$d/cudnn.h" ] && [ -e "$d/cudnn_version.h" ] && { CUDNN_H=$d; break; }
done

# The kit's size as apt would download it (the candidate versions' .deb sizes).
kit_planned_bytes() {
    apt-cache show --no-all-versions "${KIT_PKGS[@]}" 2>/dev/null | awk '/^Size:/ { s += $2 } END { print s + 0 }'
}

data_ok() { # DIR: the subset is there, whole
    local f
    for f in "${DATA_FILES[@]}"; do
        [ -e "$1/$f" ] && [ -n "$SRC" ] && [ "$(size_of "$1/$f")" = "$(size_of "$SRC/$f")" ] || return 1
    done
}

check_sums() { # DIR FILE...: against SRC's SHA256SUMS when it has one
    local dir=$1
    shift
    [ -e "$SRC/SHA256SUMS" ] || { echo "gpu_prepare: no SHA256SUMS in $SRC; sizes only"; return 0; }
    (cd "$dir" && grep -E " ($(IFS='|'; echo "$*"))\$" "$SRC/SHA256SUMS" | sha256sum -c --quiet -) ||
        { echo "gpu_prepare: $dir: checksum mismatch against $SRC/SHA256SUMS" >&2; return 1; }
}

report() { # PATH...: the carry list, the sizes, the verdict
    local t p b total
    t=$(tree_bytes)
    total=$t
    echo "working tree (tracked + untracked, not ignored): $(MIB "$t")"
    for p in "$@"; do
        b=${SIZES[$p]}
        total=$((total + b))
        echo "carry $p: $(MIB "$b")${NOTES[$p]:+ (${NOTES[$p]})}"
    done
    printf 'carry list: ['
    local sep=""
    for p in "$@"; do printf '%s"%s"' "$sep" "$p"; sep=", "; done
    echo "]"
    echo "total: $(MIB "$total") of $(MIB "$LIMIT") ($total bytes)"
    if [ "$total" -gt "$LIMIT" ]; then
        echo "gpu_prepare: over the 64 MiB a device call carries: leave something out, or stage it (--stage-full)" >&2
        return 1
    fi
}

declare -A SIZES NOTES
if [ "$MODE" = stage ]; then
    [ -n "$SRC" ] || { echo "gpu_prepare: no CIFAR-10 folder found; pass --data-from DIR" >&2; exit 1; }
    files=(data_batch_1.bin data_batch_2.bin data_batch_3.bin data_batch_4.bin data_batch_5.bin
        test_batch_first1000.bin)
    [ -e "$SRC/test_batch_jpeg_all10000.bin" ] && files+=(test_batch_jpeg_all10000.bin)
    [ -e "$SRC/test_batch.bin" ] && files+=(test_batch.bin)
    room=$((LIMIT - $(tree_bytes) - 1024 * 1024)) # a MiB of slack for the tree changing
    part=1 used=0
    for f in "${files[@]}"; do
        [ -e "$SRC/$f" ] || { echo "gpu_prepare: $SRC/$f: no such file" >&2; exit 1; }
        b=$(size_of "$SRC/$f")
        [ "$b" -gt "$room" ] && { echo "gpu_prepare: $f alone is over what one call carries" >&2; exit 1; }
        if [ $((used + b)) -gt "$room" ]; then part=$((part + 1)); used=0; fi
        d=$ROOT/.device-stage-$part
        ignored ".device-stage-$part" || { echo "gpu_prepare: .device-stage-$part is not ignored by git" >&2; exit 1; }
        mkdir -p "$d" && cp "$SRC/$f" "$d/" && check_sums "$d" "$f" || exit 1
        used=$((used + b))
    done
    echo "staged $part parts; carry them in $part calls in a row, each within the 30 s the machine stays warm:"
    for p in $(seq "$part"); do
        SIZES[.device-stage-$p]=$(size_of "$ROOT/.device-stage-$p")
        echo "call $p: carry [\".device-stage-$p\"], command: ls -l .device-stage-$p"
        report ".device-stage-$p" | sed 's/^/  /' || exit 1
    done
    echo "then, in the command that trains: mkdir -p .device-data-full && ln -f .device-stage-*/*.bin .device-data-full/"
    echo "(a path carried earlier stays on a warm machine; name no earlier part in a later call's carry)"
    exit 0
fi

# ---- the kit ----
if [ "$MODE" = prepare ] && ! kit_complete; then
    bash "$ROOT/bench/fetch_device_kit.sh" "$ROOT/.device-kit" >/dev/null || { echo "gpu_prepare: the kit download failed" >&2; exit 1; }
    if [ -n "$CUDNN_H" ]; then
        mkdir -p "$ROOT/.device-kit/cudnn-include" && cp "$CUDNN_H"/cudnn*.h "$ROOT/.device-kit/cudnn-include/" || exit 1
    fi
fi
if [ "$MODE" = prepare ] && [ $SANI = 1 ] && ! ls "$ROOT"/.device-kit/nvidia_cuda_sanitizer_api-*.whl >/dev/null 2>&1; then
    python3 -m pip download -q --no-deps -d "$ROOT/.device-kit" "nvidia-cuda-sanitizer-api==13.0.*" ||
        { echo "gpu_prepare: pip could not fetch the compute-sanitizer wheel" >&2; exit 1; }
fi
if kit_complete; then
    SIZES[.device-kit]=$(size_of "$ROOT/.device-kit")
else
    SIZES[.device-kit]=$(($(kit_planned_bytes) + $([ -n "$CUDNN_H" ] && cat "$CUDNN_H"/cudnn*.h | wc -c || echo 0)))
    NOTES[.device-kit]="not fetched yet: apt's package sizes"
    if [ "$(kit_planned_bytes)" -le 0 ]; then
        echo "gpu_prepare: cannot size the kit: apt-cache knows none of ${KIT_PKGS[*]} (run apt-get update, or" \
            "bench/gpu_prepare.sh to fetch the kit)" >&2
        exit 1
    fi
    [ $SANI = 1 ] && NOTES[.device-kit]+="; the sanitizer wheel (~14 MB) not counted"
fi

# ---- the data ----
if [ -z "$SRC" ] && ! data_ok "$ROOT/.device-data"; then
    echo "gpu_prepare: no CIFAR-10 folder with ${DATA_FILES[*]} found; pass --data-from DIR" >&2
    exit 1
fi
if [ "$MODE" = prepare ] && ! data_ok "$ROOT/.device-data"; then
    mkdir -p "$ROOT/.device-data"
    for f in "${DATA_FILES[@]}"; do cp "$SRC/$f" "$ROOT/.device-data/$f" || exit 1; done
    check_sums "$ROOT/.device-data" "${DATA_FILES[@]}" || exit 1
fi
if data_ok "$ROOT/.device-data"; then
    SIZES[.device-data]=$(size_of "$ROOT/.device-data")
else
    b=0
    for f in "${DATA_FILES[@]}"; do b=$((b + $(size_of "$SRC/$f"))); done
    SIZES[.device-data]=$b
    NOTES[.device-data]="not copied yet: the size of ${DATA_FILES[*]} in $SRC"
fi
for p in .device-kit .device-data; do
    ignored "$p" || { echo "gpu_prepare: $p is not ignored by git (.gitignore)" >&2; exit 1; }
done
report .device-kit .device-data
