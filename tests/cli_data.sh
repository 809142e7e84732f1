#!/usr/bin/env bash
# cli_data.sh: the `cifar_synth` generator: file size, determinism, balanced labels, --help and bad arguments.
# `ok` always succeeds, so `test && ok || bad` is a safe if-then-else here.
# shellcheck disable=SC2015,SC2181
set -u

SYN="${CIFAR_SYNTH:?CIFAR_SYNTH must name the cifar_synth binary}"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
fail=0
pass=0
ok() { pass=$((pass + 1)); }
bad() { echo "FAIL: $*" >&2; fail=$((fail + 1)); }

size() { stat -c %s "$1"; }

"$SYN" "$TMP/a.bin" --n 50 --seed 7 >/dev/null
rc=$?
[ "$rc" -eq 0 ] && ok || bad "cifar_synth --n 50 exited $rc"
[ "$(size "$TMP/a.bin")" -eq $((50 * 3073)) ] && ok || bad "a.bin is $(size "$TMP/a.bin") bytes, want $((50 * 3073))"
# no temporary file left beside the output
[ "$(find "$TMP" -name 'a.bin.tmp*' | wc -l)" -eq 0 ] && ok || bad "a temporary file was left behind"

# Default N is 1000.
"$SYN" "$TMP/d.bin" >/dev/null && [ "$(size "$TMP/d.bin")" -eq $((1000 * 3073)) ] && ok || bad "default --n"

# A pure function of its options: same seed, same bytes; another seed, other bytes.
"$SYN" "$TMP/b.bin" --n 50 --seed 7 >/dev/null
cmp -s "$TMP/a.bin" "$TMP/b.bin" && ok || bad "same options gave different files"
"$SYN" "$TMP/c.bin" --n 50 --seed 8 >/dev/null
cmp -s "$TMP/a.bin" "$TMP/c.bin" && bad "another seed gave the same file" || ok

# Labels: balanced over --classes, all below K (label byte every 3073 bytes).
"$SYN" "$TMP/k.bin" --n 40 --classes 4 --noise 0 >/dev/null
counts=$(od -An -v -tu1 -w3073 "$TMP/k.bin" | awk '{ c[$1]++ } END { for (k = 0; k < 4; k++) printf "%d ", c[k]; print NR }')
[ "$counts" = "10 10 10 10 40" ] && ok || bad "labels with --classes 4 --n 40: counts '$counts', want '10 10 10 10 40'"

# Overwrites an existing file in place of the old one.
"$SYN" "$TMP/a.bin" --n 3 >/dev/null && [ "$(size "$TMP/a.bin")" -eq $((3 * 3073)) ] && ok || bad "rewrite to --n 3"

"$SYN" --help >"$TMP/help.txt" 2>&1
[ $? -eq 0 ] && grep -q "usage" "$TMP/help.txt" && ok || bad "--help should exit 0 with usage"

for args in "" "--n 5" "$TMP/x.bin --n 0" "$TMP/x.bin --n abc" "$TMP/x.bin --n" "$TMP/x.bin --classes 1" \
  "$TMP/x.bin --classes 257" "$TMP/x.bin --noise -1" "$TMP/x.bin --seed -3" "$TMP/x.bin --bogus" "$TMP/x.bin $TMP/y.bin"; do
  # shellcheck disable=SC2086 # split on purpose: each entry is an argument list
  "$SYN" $args >/dev/null 2>&1
  rc=$?
  [ "$rc" -eq 2 ] && ok || bad "cifar_synth $args exited $rc, want 2"
done
[ ! -e "$TMP/x.bin" ] && ok || bad "a failed run wrote x.bin"

# An unwritable target is an I/O failure (3), not bad usage.
"$SYN" "$TMP/no/such/dir/z.bin" --n 1 >/dev/null 2>&1
[ $? -eq 3 ] && ok || bad "writing into a missing folder should exit 3"

echo "cli_data: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
