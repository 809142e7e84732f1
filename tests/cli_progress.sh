#!/usr/bin/env bash
# cli_progress.sh: on a terminal the progress line is redrawn about once a second whatever train.log_every is; off a terminal only the logged steps print a line.
. "$(dirname "$0")/lib_train.sh" || exit 1

command -v script >/dev/null || { echo "SKIPPED: no script(1) to give the run a terminal"; exit 77; }
make_synth_data
write_run_config 150 0

# log_every 1000 is past the run's 150 steps (~5 s): the logging cadence alone would
# draw the line once, at the last step. script(1) gives the run a pseudo-terminal.
cmd="'$RESNET' train run.yaml --set output.dir=T --set train.log_every=1000"
timeout 120 script -qfec "$cmd" /dev/null >tty.txt 2>&1
rc=$?
[ "$rc" = 0 ] && ok "run on a terminal (exit 0)" || bad "run on a terminal: exit $rc: $(tail -c 300 tty.txt)"
# Each redraw starts with a carriage return; the steps it shows, before the last one.
tr '\r' '\n' <tty.txt | grep -o 'step [0-9]*/150' | sort -u >steps.txt
shown=$(grep -vc 'step 150/150' steps.txt)
secs=$(sed -n 's/.*finished 150 steps in \([0-9.]*\) s.*/\1/p' tty.txt)
echo "note: the run took ${secs:-?} s and drew $shown distinct steps before the last"
awk -v n="$shown" -v s="${secs:-0}" 'BEGIN { exit !(n >= 2 && n >= s / 2 - 1) }' &&
    ok "the line was redrawn during the run ($shown times in ${secs:-?} s)" ||
    bad "the line was drawn $shown times before the last step in ${secs:-?} s: $(tr '\r' '\n' <tty.txt | head -5)"
tr '\r' '\n' <tty.txt | grep 'step [0-9]*/150' | grep -v 'step 150/150' | grep -q 'img/s  ETA [0-9]' &&
    ok "the redrawn line has a speed and an ETA" || bad "no speed/ETA in: $(tr '\r' '\n' <tty.txt | grep step | head -2)"

# Not a terminal: the logged steps only (here just the last).
expect_rc 0 "run off a terminal" "$RESNET" train run.yaml --set output.dir=N --set train.log_every=1000
[ "$(grep -c '^epoch' err.txt)" = 1 ] && ok "off a terminal: one progress line" ||
    bad "off a terminal: $(grep -c '^epoch' err.txt) progress lines"

finish cli_progress
