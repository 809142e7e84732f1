#!/usr/bin/env bash
# cli_docs.sh: README's command list and exit codes say what the binary does: every option of every command's usage line, --version, exit 128+N, and the exit code of train.backend cuda without a device.
set -u
BIN=${RESNET_BIN:?RESNET_BIN must name the resnet binary}
SRC=${RESNET_SRC:?RESNET_SRC must name the source tree}
SYN=${CIFAR_SYNTH:?CIFAR_SYNTH must name the cifar_synth binary}
# shellcheck source=lib_check.sh
. "$(dirname "$0")/lib_check.sh" || exit 1
README=$SRC/README.md
# README's command block: from "## The command line" to the end of its first ``` block.
block=$(awk '/^## The command line/ { on = 1 } on && /^```/ { n++; if (n == 2) exit; next } on && n == 1' "$README")
[ -n "$block" ] || bad "README has no command block under '## The command line'"

for cmd in train sweep report config schedule info; do
    line=$(printf '%s\n' "$block" | grep "^resnet $cmd\b")
    [ -n "$line" ] || { bad "README's command block lacks 'resnet $cmd'"; continue; }
    # The usage line(s): up to the first blank line of --help.
    usage=$("$BIN" "$cmd" --help 2>&1 | awk 'NF == 0 { exit } { print }')
    for opt in $(printf '%s\n' "$usage" | grep -o -- '--[a-z][a-z-]*' | sort -u); do
        [ "$opt" = --help ] && continue
        printf '%s\n' "$line" | grep -q -- "$opt" || bad "README: 'resnet $cmd' lacks $opt (its usage: $usage)"
    done
done
printf '%s\n' "$block" | grep -q -- "^resnet --version" || bad "README's command block lacks 'resnet --version'"
"$BIN" --version | grep -q '^resnet [0-9]' || bad "resnet --version: $("$BIN" --version 2>&1)"
grep -q '^| 128+N |' "$README" || bad "README's exit codes lack 128+N"

# train.backend cuda where no CUDA device can be used: exit 2, as README's table says.
if "$BIN" info 2>/dev/null | grep -q '^devices: none found'; then
    T=$(mktemp -d)
    trap 'rm -rf "$T"' EXIT
    "$SYN" "$T/train.bin" --n 32 --seed 1 >/dev/null && "$SYN" "$T/test.bin" --n 16 --seed 2 >/dev/null
    printf 'model: {depth: 8}\ndata: {dir: %s, train: [train.bin], test: test.bin}\ntrain: {steps: 2, batch_size: 8, backend: cuda}\nschedule: {peak_lr: 0.1}\noutput: {dir: %s/out}\n' \
        "$T" "$T" >"$T/c.yaml"
    "$BIN" train "$T/c.yaml" >/dev/null 2>"$T/err"
    rc=$?
    [ "$rc" = 2 ] || bad "train.backend cuda without a device: exit $rc, expected 2: $(cat "$T/err")"
    grep '^| 2 |' "$README" | grep -q 'train.backend: cuda' || bad "README's exit code 2 does not mention train.backend: cuda"
else
    echo "note: a CUDA device is usable here; the no-device exit code is not checked"
fi

finish cli_docs
