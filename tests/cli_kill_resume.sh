#!/usr/bin/env bash
# cli_kill_resume.sh: a CPU run killed with SIGKILL at random moments (some of them inside the checkpoint write) and resumed each time ends exactly as an uninterrupted run; every kill leaves a loadable checkpoint.
#
# The random delays come from bash's $RANDOM, seeded from KILL_SEED when set (the seed in
# use is printed, so a failing sequence of kills can be replayed).
. "$(dirname "$0")/lib_train.sh" || exit 1

SEED=${KILL_SEED:-$(( $(date +%s) % 32768 ))}
RANDOM=$SEED
echo "random seed $SEED (rerun with KILL_SEED=$SEED for the same delays)"

# A delay in seconds, uniformly in [MIN_MS, MAX_MS] milliseconds.
delay() { local ms=$(($1 + RANDOM % ($2 - $1 + 1))); printf '%d.%03d' $((ms / 1000)) $((ms % 1000)); }

make_synth_data
write_run_config 120 40
uninterrupted_run

# Starts `resnet train` in the background (PID, stderr in LOG).
start() { # LOG ARGS...
    local log=$1
    shift
    "$RESNET" train run.yaml "$@" >/dev/null 2>"$log" &
    PID=$!
}

# SIGKILL for PID; sets KILLED=1 when it was still running (else it had ended by itself).
kill_now() {
    KILLED=0
    kill -9 "$PID" 2>/dev/null && KILLED=1
    wait "$PID" 2>/dev/null
    PID=
}

# Waits until the resumed PID has accepted its checkpoint (its "(resumed)" banner, printed
# once the checkpoint is loaded and the logs are reopened) or ended; 1 when it ended
# without accepting the checkpoint.
wait_resumed() { # LOG
    local i
    for i in $(seq 1 6000); do
        grep -q "(resumed)" "$1" && return 0
        kill -0 "$PID" 2>/dev/null || { grep -q "(resumed)" "$1"; return; }
        sleep 0.01
    done
    return 1
}

no_summary() { # DIR WHAT: a killed run must not leave a summary to be taken for a result
    [ ! -e "$1/summary.json" ] || bad "$2: $1 holds a summary.json: $(tr -d '\n' <"$1/summary.json" | head -c 200)"
}

# Waits (at most 60 s) until metrics.csv in DIR has reached step N or PID has ended.
wait_step() { # DIR N
    local i last
    for i in $(seq 1 6000); do
        last=$(tail -n 1 "$1/metrics.csv" 2>/dev/null | cut -d, -f1)
        case $last in '' | *[!0-9]*) last=0 ;; esac
        [ "$last" -ge "$2" ] && return 0
        kill -0 "$PID" 2>/dev/null || return 1
        sleep 0.01
    done
    return 1
}

# ---- 1. four kills at random moments, each followed by --resume, then completion ----
# The moments are drawn in steps (a random step in each quarter of the run, then a random
# few milliseconds more), so the kills spread over the run whatever the machine's speed;
# kill 3 comes instead a random time after the launch, often while the resume itself
# reads the checkpoint and rewrites the logs. Kill 1 comes after the first checkpoint
# (step 10): before it there is nothing to resume from.
for k in 1 2 3 4; do
    if [ "$k" = 1 ]; then start K1.err --set output.dir=K; else start "K$k.err" --resume K; fi
    case $k in
    # metrics.csv reaches step 10 before the step-10 checkpoint is on disk (the logs are
    # flushed first), so kill 1 also waits for the checkpoint file itself.
    1) wait_step K $((10 + RANDOM % 21)) && wait_file K/checkpoint.bin ;;
    2) wait_step K $((40 + RANDOM % 26)) ;;
    3) true ;;
    4) wait_step K $((75 + RANDOM % 36)) ;;
    esac
    sleep "$(delay 0 $([ "$k" = 3 ] && echo 400 || echo 150))"
    kill_now
    if [ "$KILLED" = 1 ]; then
        ok "kill $k of run K (metrics.csv at step $(tail -n 1 K/metrics.csv | cut -d, -f1), checkpoint.bin $(stat -c %s K/checkpoint.bin 2>/dev/null) bytes)"
        no_summary K "kill $k"
    else
        bad "run K ended before kill $k: $(tail -n 2 "K$k.err")"
    fi
    [ -s K/checkpoint.bin ] || bad "kill $k left no checkpoint.bin"
done
timeout 120 "$RESNET" train run.yaml --resume K >/dev/null 2>K5.err && ok "run K completed after 4 kills" ||
    bad "final resume of K failed: $(tail -n 3 K5.err)"
same_run_finished R K "4 random kills + resumes"
[ -z "$(ls K/*.tmp 2>/dev/null)" ] && ok "no temporary files left in K" || bad "K holds $(ls K/*.tmp)"

# ---- 2. kills inside the checkpoint write ----
# A checkpoint every step keeps the writer busy; half the kills wait for the temporary
# file to appear and kill at once (inside the write, between open and rename), the other
# half come after a short random delay. After each, the next --resume must accept the
# folder's checkpoint (the previous one or the new one, whole).
ROUNDS=12
mid_write=0
start C0.err --set output.dir=C --set train.checkpoint_every=1
wait_file C/checkpoint.bin || bad "run C ended before its first checkpoint: $(tail -n 2 C0.err)"
for r in $(seq 1 $ROUNDS); do
    if [ $((r % 2)) = 1 ]; then
        # Busy wait (bash builtins only) for the temporary file, then kill at once.
        t0=$SECONDS
        while [ ! -e C/checkpoint.bin.tmp ] && [ $((SECONDS - t0)) -lt 30 ] && kill -0 "$PID" 2>/dev/null; do :; done
    else
        sleep "$(delay 5 150)"
    fi
    kill_now
    [ "$KILLED" = 1 ] || { bad "round $r: the run ended before its kill"; break; }
    [ -e C/checkpoint.bin.tmp ] && mid_write=$((mid_write + 1))
    no_summary C "round $r"
    start "C$r.err" --resume C --set train.checkpoint_every=1
    wait_resumed "C$r.err" || { bad "round $r: --resume refused the checkpoint a kill left: $(tail -n 2 "C$r.err")"; break; }
done
echo "note: $mid_write of $ROUNDS kills came while checkpoint.bin.tmp was being written"
[ "$mid_write" -ge 1 ] && ok "$mid_write kill(s) inside the checkpoint write, each resumed" ||
    bad "no kill landed inside a checkpoint write"
# Let the last resume run to the end.
wait "$PID"
rc=$?
PID=
[ "$rc" = 0 ] && ok "run C completed after $ROUNDS kills" || bad "final resume of C: exit $rc: $(tail -n 3 "C$ROUNDS.err")"
same_run_finished R C "kills inside checkpoint writes"
[ -z "$(ls C/*.tmp 2>/dev/null)" ] && ok "no temporary files left in C" || bad "C holds $(ls C/*.tmp)"

finish cli_kill_resume "random seed $SEED"
