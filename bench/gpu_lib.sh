# gpu_lib.sh: what bench/gpu_check.sh is built from: the time plan and the stage runner (caps, timeouts, records, packing), and the search for the tools and libraries a GPU machine has.
# Sourced, not run. The caller sets DRY, ROOT, BUILD, RES, PACK, BUDGET, START and PLAN.

# ---- the time plan ----
# PLAN holds "name|cap seconds" for every stage of the main run, in order; a stage's cap
# is its timeout(1) limit. EXTRAS holds the stages run only if time is left, in order.

plan_cap() { # NAME: the stage's cap, from PLAN or EXTRAS
    local e
    for e in "${PLAN[@]}" "${EXTRAS[@]}"; do
        [ "${e%%|*}" = "$1" ] && { echo "${e##*|}"; return 0; }
    done
    echo "gpu_check: internal error: stage '$1' is in no plan" >&2
    return 1
}

plan_total() {
    local e t=0
    for e in "${PLAN[@]}"; do t=$((t + ${e##*|})); done
    echo "$t"
}

# Prints the plan against the budget and the device's 600 s command limit; 1 when over.
print_plan() {
    local e t=0 n=0
    printf '%-3s %-42s %6s %7s\n' "#" "stage (main run, in order)" "cap s" "total"
    for e in "${PLAN[@]}"; do
        n=$((n + 1))
        t=$((t + ${e##*|}))
        printf '%-3s %-42s %6s %7s\n' "$n" "${e%%|*}" "${e##*|}" "$t"
    done
    printf '%-46s %6s %7s\n' "reserved for the final report" "$REPORT_RESERVE_S" "$((t + REPORT_RESERVE_S))"
    echo "planned: $((t + REPORT_RESERVE_S)) s of the ${BUDGET} s budget (one device command may run 600 s)"
    printf 'if time is left, in order:'
    for e in "${EXTRAS[@]}"; do printf ' %s (%ss);' "${e%%|*}" "${e##*|}"; done
    echo
    [ $((t + REPORT_RESERVE_S)) -le "$BUDGET" ]
}

left() { echo $((BUDGET - ($(date +%s) - START))); }

# ---- records ----
# RES/stages.tsv: name, status, seconds, cap, log: bench/gpu_facts.py builds the tables
# from it. After every stage the record and summary are rebuilt and packed into $PACK,
# so a run cut off by its caller still returns what it has.

record() { # NAME STATUS SECONDS CAP LOG
    printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" >>"$RES/stages.tsv"
    case "$2" in FAIL*) FAILED=1 ;; esac
    echo "gpu_check: [$(($(date +%s) - START))s] $1: $2" >&2
    pack
}

pack() {
    [ -n "$PACK" ] || return 0
    mkdir -p "$PACK"
    python3 "$ROOT/bench/gpu_facts.py" "$RES" >/dev/null 2>"$RES/facts_errors.log"
    # Logs, CSVs, JSON and configs only: checkpoints and data stay behind.
    tar czf "$PACK/logs.tgz.tmp" -C "$RES" --exclude='*.bin' --exclude='*.tmp' . 2>/dev/null &&
        mv "$PACK/logs.tgz.tmp" "$PACK/logs.tgz"
    local f
    for f in summary.txt record.md; do
        [ -e "$RES/$f" ] && cp "$RES/$f" "$PACK/$f.tmp" && mv "$PACK/$f.tmp" "$PACK/$f"
    done
    return 0
}

# ---- the stage runner ----

# stage NAME LOG CMD...: CMD under timeout(1) with the stage's cap, or what is left of
# the budget when that is less (skipped when under 15 s are left); output in RES/LOG.
# Returns CMD's status (124/137: timed out; 99: skipped). A dry run checks CMD as far
# as it can without a GPU instead (dry_check).
stage() {
    local name=$1 log=$2 cap avail limit t0 rc secs
    shift 2
    cap=$(plan_cap "$name") || exit 2
    # The dry run builds on the preparing machine, which may be far slower than the GPU
    # machine the caps are for.
    [ -n "${STAGE_CAP_OVERRIDE:-}" ] && cap=$STAGE_CAP_OVERRIDE
    if [ "$DRY" = 1 ]; then
        echo "[${cap}s] $name: $*" >>"$RES/dry_run_commands.txt"
        dry_check "$name" "$log" "$cap" "$@"
        return 0
    fi
    avail=$(($(left) - REPORT_RESERVE_S))
    if [ "$avail" -lt 15 ]; then
        record "$name" "skipped (time budget spent)" "-" "$cap" "-"
        return 99
    fi
    limit=$cap
    [ "$limit" -gt "$avail" ] && limit=$avail
    { echo "\$ $*"; echo "(cap ${cap}s, limit ${limit}s)"; echo; } >"$RES/$log"
    t0=$(date +%s.%N)
    timeout -k 5 "$limit" "$@" >>"$RES/$log" 2>&1
    rc=$?
    secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
    STAGE_SECS=$secs
    STAGE_LIMIT=$limit
    if [ -n "${STAGE_JUDGE:-}" ] && [ $rc != 124 ] && [ $rc != 137 ]; then
        # A stage whose log, not its exit code alone, says how it went (the sanitizers).
        local verdict
        verdict=$($STAGE_JUDGE "$RES/$log" "$rc")
        record "$name" "$verdict" "$secs" "$cap" "$log"
        case "$verdict" in FAIL*) rc=1 ;; *) rc=0 ;; esac
    elif [ $rc = 0 ]; then record "$name" ok "$secs" "$cap" "$log"
    elif [ $rc = 124 ] || [ $rc = 137 ]; then record "$name" "FAIL (timed out after ${limit}s)" "$secs" "$cap" "$log"
    else record "$name" "FAIL (exit $rc)" "$secs" "$cap" "$log"; fi
    return $rc
}

# An extra stage runs only when its whole cap fits in what is left.
fits() { [ $(($(left) - REPORT_RESERVE_S)) -ge "$(plan_cap "$1")" ]; }

# dry_check NAME LOG CAP CMD...: what can be checked without a GPU. A `resnet train`
# (also under the sanitizer) goes through `resnet config` with the same arguments; a
# PyTorch run through torch_resnet.py --check-args; ctest through ctest -N (the tests
# it would run must exist and be labelled).
dry_check() {
    local name=$1 log=$2 cap=$3 a seen=0 args=() kind=plain
    shift 3
    for a in "$@"; do
        if [ $seen = 1 ]; then args+=("$a")
        elif [ "$a" = "$RESNET" ]; then seen=2
        elif [ $seen = 2 ] && [ "$a" = train ]; then seen=1; kind=train
        fi
        case "$a" in *torch_resnet.py) kind=torch ;; "$CTEST") kind=ctest ;; esac
    done
    case "$kind" in
    train)
        if [ ! -x "$RESNET" ]; then record "$name" "dry-run (no resnet binary to check with)" "-" "$cap" "-"
        elif "$RESNET" config "${args[@]}" >"$RES/$log" 2>&1; then record "$name" "dry-run: config ok" "-" "$cap" "$log"
        else record "$name" "FAIL (resnet config refuses the arguments)" "-" "$cap" "$log"; fi ;;
    torch)
        args=()
        seen=0
        for a in "$@"; do [ $seen = 1 ] && args+=("$a"); case "$a" in *torch_resnet.py) seen=1 ;; esac; done
        if python3 "$ROOT/bench/torch_resnet.py" "${args[@]}" --check-args >"$RES/$log" 2>&1; then
            record "$name" "dry-run: arguments ok" "-" "$cap" "$log"
        else record "$name" "FAIL (torch_resnet.py refuses the arguments)" "-" "$cap" "$log"; fi ;;
    ctest)
        local n
        if [ -d "$BUILD" ] && n=$("$CTEST" --test-dir "$BUILD" -N -L gpu 2>/dev/null | awk '/Total Tests:/ { print $3 }') &&
            [ "${n:-0}" -ge 1 ]; then record "$name" "dry-run: $n gpu tests listed" "-" "$cap" "-"
        else record "$name" "FAIL (no gpu-labelled tests in $BUILD)" "-" "$cap" "-"; fi ;;
    *) record "$name" "dry-run" "-" "$cap" "-" ;;
    esac
}

# ---- tools and libraries ----

find_tools() {
    CMAKE=$(command -v cmake || true)
    PYBIN=$(dirname "$(command -v python3 || echo /nonexistent/python3)")
    [ -z "$CMAKE" ] && [ -x "$PYBIN/cmake" ] && CMAKE=$PYBIN/cmake # pip's cmake beside the python that has it
    CTEST=$(dirname "${CMAKE:-/x/cmake}")/ctest
    [ -x "$CTEST" ] || CTEST=$(command -v ctest || echo ctest)
    NVCC=${NVCC:-$(command -v nvcc || true)}
    local c
    if [ -z "$NVCC" ]; then
        for c in /usr/local/cuda/bin/nvcc $(ls -d /usr/local/cuda-*/bin/nvcc 2>/dev/null | sort -V -r); do
            [ -x "$c" ] && { NVCC=$c; break; }
        done
    fi
    [ -n "$NVCC" ] && PATH="$(dirname "$NVCC"):$PATH" && export PATH
}

# Folders of pip's NVIDIA packages (nvidia/cudnn/lib, nvidia/cu13/lib, ...), read once into NV_DIRS: a namespace
# package may have no __file__, so its __path__ is asked.
nvidia_dirs() {
    timeout 10 python3 -c 'import nvidia; print("\n".join(nvidia.__path__))' 2>/dev/null
}

find_cudnn() {
    local d f
    if [ -n "${CUDNN_LIB_DIR:-}" ] && [ -e "$CUDNN_LIB_DIR/libcudnn.so.9" ]; then echo "$CUDNN_LIB_DIR"; return; fi
    # PyTorch brings cuDNN 9 as a pip package (nvidia-cudnn-cu12 / -cu13).
    for d in $NV_DIRS; do
        f=$(find "$d" -name 'libcudnn.so.9' 2>/dev/null | head -1)
        [ -n "$f" ] && { dirname "$f"; return; }
    done
    f=$(ldconfig -p 2>/dev/null | awk '/libcudnn\.so\.9 / { print $NF; exit }')
    [ -n "$f" ] && { dirname "$f"; return; }
    f=$(timeout 15 find / -xdev \( -path /proc -o -path /sys \) -prune -o -name 'libcudnn.so.9' -print 2>/dev/null | head -1)
    [ -n "$f" ] && dirname "$f"
}

# libcudnn.so.9 onto LD_LIBRARY_PATH and into the configure flags; the pip cuBLAS, when
# there is one, after the toolkit's.
setup_libraries() {
    CUDNN_DIR=$(find_cudnn)
    if [ -n "$CUDNN_DIR" ]; then
        export LD_LIBRARY_PATH="$CUDNN_DIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
        # A pip cuDNN has only the versioned library and keeps its headers beside lib/.
        [ -e "$CUDNN_DIR/libcudnn.so" ] || CMAKE_EXTRA+=("-DCUDNN_LIBRARY=$CUDNN_DIR/libcudnn.so.9")
        [ -e "$CUDNN_DIR/../include/cudnn.h" ] &&
            CMAKE_EXTRA+=("-DCUDNN_INCLUDE_DIR=$(cd "$CUDNN_DIR/../include" && pwd)")
        echo "libcudnn.so.9 in $CUDNN_DIR (prepended to LD_LIBRARY_PATH)"
    else
        echo "libcudnn.so.9 not found (set CUDNN_LIB_DIR); the build may still find cuDNN itself"
    fi
    local d f
    for d in $NV_DIRS; do
        f=$(find "$d" -name 'libcublas.so.*' 2>/dev/null | head -1)
        [ -n "$f" ] && export LD_LIBRARY_PATH="${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}$(dirname "$f")" && break
    done
}

# libyaml from the carried kit (bench/fetch_device_kit.sh), unpacked into
# the build folder (never into /), when the machine's own configure fails.
kit_flags() {
    local root=$BUILD/kit-root deb
    mkdir -p "$root"
    for deb in "$KIT"/*.deb; do
        if command -v dpkg >/dev/null; then dpkg -x "$deb" "$root"
        else (cd "$root" && ar p "$deb" "$(ar t "$deb" | grep '^data\.tar')" | tar x -J -f - 2>/dev/null ||
                ar p "$deb" "$(ar t "$deb" | grep '^data\.tar')" | tar x -z -f -); fi
    done
    local yinc ylib
    yinc=$(dirname "$(find "$root" -name yaml.h | head -1)")
    ylib=$(find "$root" -name 'libyaml.a' | head -1)
    # Static libyaml, so nothing of the kit is needed at run time.
    CMAKE_EXTRA+=("-DYAML_INCLUDE_DIR=$yinc" "-DYAML_LIBRARY=$ylib")
    # cuDNN's headers, where the machine's cuDNN (a pip package, say) has none of its own.
    case " ${CMAKE_EXTRA[*]} " in *" -DCUDNN_INCLUDE_DIR="*) ;; *)
        [ -e "$KIT/cudnn-include/cudnn.h" ] && CMAKE_EXTRA+=("-DCUDNN_INCLUDE_DIR=$KIT/cudnn-include") ;;
    esac
    echo "kit: yaml $yinc $ylib"
}

find_sanitizer() {
    local c d
    SANITIZER=$(command -v compute-sanitizer || true)
    for c in "$(dirname "${NVCC:-/x/nvcc}")/compute-sanitizer" /usr/local/cuda/bin/compute-sanitizer \
        /usr/local/cuda/compute-sanitizer/compute-sanitizer; do
        [ -z "$SANITIZER" ] && [ -x "$c" ] && SANITIZER=$c
    done
    if [ -z "$SANITIZER" ]; then # pip's nvidia-cuda-sanitizer-api (nvidia/cu13/bin)
        for d in $NV_DIRS; do
            c=$(find "$d" -name compute-sanitizer -type f 2>/dev/null | head -1)
            [ -n "$c" ] && [ -x "$c" ] && { SANITIZER=$c; break; }
        done
    fi
    return 0
}

# The project's own kernels, as the sanitizer's kernel-name filter must match them: every
# __global__ function in kernels/*.cu is named k_..., so its mangled name is _Z<len>k_...
KERNEL_REGEX='^_Z[0-9]+k_'

# Checks the filter against the built objects: the regex must match every kernel the
# sources define. Prints the count; 1 when it misses one.
check_kernel_filter() {
    local defined matched objs
    defined=$(cat "$ROOT"/kernels/*.cu | grep -c '^__global__ ')
    objs=$(ls "$BUILD"/CMakeFiles/resnet_core.dir/kernels/*.cu.o 2>/dev/null)
    [ -n "$objs" ] || { echo "kernel filter: no built kernel objects in $BUILD to check against"; return 1; }
    # shellcheck disable=SC2086
    matched=$(nm $objs | awk '$2 == "T" { print $3 }' | grep -cE "$KERNEL_REGEX")
    echo "kernel filter regex=$KERNEL_REGEX matches $matched kernels in the objects; the sources define $defined"
    [ "$matched" = "$defined" ] && [ "$defined" -gt 0 ]
}

# probe_sanitizer: SAN_FILTER (the filter arguments, or empty) and SAN_STATUS (ok,
# nofilter or unsupported), from the tool's own help and a run over `resnet info`.
probe_sanitizer() {
    local log=$RES/sanitizer_probe.log help
    SAN_FILTER=()
    SAN_STATUS=unsupported
    {
        echo "\$ $SANITIZER --version"
        timeout 20 "$SANITIZER" --version 2>&1
        help=$(timeout 20 "$SANITIZER" --help 2>&1)
        if echo "$help" | grep -q -- '--kernel-name ' && echo "$help" | grep -q 'regex'; then
            echo "help: --kernel-name with the regex key is offered"
            SAN_FILTER=(--kernel-name "regex=$KERNEL_REGEX")
        else
            echo "help: no --kernel-name regex filter offered; the sanitizers run unfiltered"
        fi
        check_kernel_filter || { echo "the filter would miss kernels: unfiltered"; SAN_FILTER=(); }
        echo "\$ $SANITIZER --tool memcheck ${SAN_FILTER[*]} $RESNET info"
        timeout -k 5 30 "$SANITIZER" --tool memcheck "${SAN_FILTER[@]}" "$RESNET" info 2>&1
        echo "(exit $?)"
    } >"$log" 2>&1
    if grep -qE 'Device not supported' "$log"; then
        SAN_STATUS=unsupported
    elif grep -qE 'ill-formed|unrecognised option|unrecognized option' "$log" && [ ${#SAN_FILTER[@]} -gt 0 ]; then
        echo "the filter is refused: unfiltered" >>"$log"
        SAN_FILTER=()
        SAN_STATUS=nofilter
    elif grep -q 'ERROR SUMMARY' "$log"; then
        SAN_STATUS=$([ ${#SAN_FILTER[@]} -gt 0 ] && echo ok || echo nofilter)
    fi
    echo "probe: $SAN_STATUS" >>"$log"
}

# For stage's STAGE_JUDGE: the sanitizer's verdict from its log (bench/gpu_facts.py).
judge_sanitizer() { python3 "$ROOT/bench/gpu_facts.py" --judge-sanitizer "$1" "$2"; }
