#!/usr/bin/env bash
# cli_bad_inputs.sh: the catalogue of bad configs and data files (issue 7): each must exit 2 with one message naming the file, line or record and what was expected, and leave nothing on stdout or in the output folder.
#
# Each config case runs through both `resnet config` and `resnet train`; each data case
# through `resnet train` (the command that reads the records). Cases that
# tests/cli_config.sh already asserts for `resnet config` (same input, same message) are
# not repeated for that command here; tests/README.md maps every class to its test.
set -u
BIN=${RESNET_BIN:?RESNET_BIN must name the resnet binary}
SYN=${CIFAR_SYNTH:?CIFAR_SYNTH must name the cifar_synth binary}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
cd "$T" || exit 1
fails=0
checks=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }

mkdir data
"$SYN" data/train.bin --n 64 --seed 1 >/dev/null || exit 1
"$SYN" data/test.bin --n 32 --seed 2 >/dev/null || exit 1

# The valid base every case breaks in one place. output.dir is absolute so a run from any
# folder would write exactly there, and the checks below can see that nothing was.
OUT=$T/out
GOOD="model: {depth: 8, num_classes: 10}
data: {dir: $T/data, train: [train.bin], test: test.bin}
train: {batch_size: 16, steps: 2, backend: cpu, log_every: 1}
schedule: {peak_lr: 0.1}
output: {dir: $OUT}
"
printf '%s' "$GOOD" >good.yaml

# run NAME WANT_RC ARGS...: `resnet ARGS` with a time limit (a hang is a failure too);
# checks the exit code, an empty stdout, and that no output folder was created.
# stderr is kept in NAME.err for msg.
run() {
    local name=$1 want=$2
    shift 2
    rm -rf "$OUT"
    checks=$((checks + 1))
    timeout 60 "$BIN" "$@" >"$name.out" 2>"$name.err"
    local rc=$?
    [ "$rc" -eq "$want" ] || fail "$name: exit $rc, want $want; stderr: $(head -c 600 "$name.err")"
    if [ "$want" -ne 0 ]; then
        [ ! -s "$name.out" ] || fail "$name: wrote to stdout on error: $(head -c 300 "$name.out")"
        [ ! -e "$OUT" ] || fail "$name: created the output folder $OUT (holding: $(ls -A "$OUT"))"
        [ -s "$name.err" ] || fail "$name: failed without a message"
    fi
}

# msg NAME PATTERN...: every fixed string appears in NAME's stderr.
msg() {
    local name=$1
    shift
    for pat in "$@"; do
        grep -qF -- "$pat" "$name.err" || fail "$name: stderr lacks '$pat': $(head -c 600 "$name.err")"
    done
}

# one_line NAME: the error is one line (a message, not a dump).
one_line() { [ "$(wc -l <"$1.err")" -eq 1 ] || fail "$1: want one stderr line, got: $(head -c 600 "$1.err")"; }

# cfg NAME TEXT: writes NAME.yaml.
cfg() { printf '%s' "$2" >"$1.yaml"; }

# bad_cfg NAME PATTERN...: NAME.yaml fails in both `config` and `train` with the patterns;
# `@F` in a pattern stands for the config's path.
bad_cfg() {
    local name=$1 f="$T/$1.yaml"
    shift
    local pats=()
    for p in "$@"; do pats+=("${p//@F/$f}"); done
    for cmd in config train; do
        run "$name.$cmd" 2 "$cmd" "$f"
        msg "$name.$cmd" "${pats[@]}"
        one_line "$name.$cmd"
    done
}

# bad_set NAME ARG PATTERN...: good.yaml plus `--set ARG` fails in both commands.
bad_set() {
    local name=$1 arg=$2
    shift 2
    for cmd in config train; do
        run "$name.$cmd" 2 "$cmd" good.yaml --set "$arg"
        msg "$name.$cmd" "$@"
        one_line "$name.$cmd"
    done
}

# ---- the base is valid, so every failure below is the one change's ----
run good 0 config good.yaml
grep -q '^  depth: 8$' good.out || fail "good: resolved config lacks depth 8"

# ================= Config =================

# Missing file (cli_config.sh: the message names the path).
run missing.train 2 train "$T/none.yaml"
msg missing.train "$T/none.yaml" "cannot read config" "No such file"
one_line missing.train

# Empty file; a file of comments only is empty too (cli_config.sh: empty, for `config`).
printf '' >empty.yaml
run empty.train 2 train empty.yaml
msg empty.train "empty.yaml:1:1: empty config, expected a mapping of sections"
cfg comments '# nothing here yet
# model: {depth: 20}
'
bad_cfg comments "@F:1:1: empty config, expected a mapping of sections"

# A directory (cli_config.sh: `config` on a folder).
run dir.train 2 train "$T/data"
msg dir.train "$T/data: is a directory, expected a YAML config file"

# Binary garbage: bytes that are not text, and the likeliest real mistake, a data file
# given as the config.
printf '\x7fELF\x02\x01\x01\x00\xff\xfe\x00\x00garbage\x80\x81' >garbage.yaml
bad_cfg garbage "@F:1:1: YAML syntax error" "control characters are not allowed"
run datafile.config 2 config data/train.bin
msg datafile.config "data/train.bin:1:1: YAML syntax error"
one_line datafile.config
# Invalid UTF-8 after valid lines: the message gives the line of the bad byte.
printf 'model: {depth: 8}\ndata:\n  dir: caf\xe9\n' >latin1.yaml
bad_cfg latin1 "@F:3:" "YAML syntax error" "UTF-8"

# YAML syntax errors (cli_config.sh: an unclosed flow list).
cfg unclosed_quote "${GOOD}optim: {momentum: \"0.9}
"
bad_cfg unclosed_quote "@F:" "YAML syntax error" "found unexpected end of stream"
cfg tab_indent "model:
	depth: 8
"
bad_cfg tab_indent "@F:2:" "YAML syntax error"

# Duplicate key, nested and in flow style (cli_config.sh: a top-level duplicate).
cfg dup_nested "${GOOD}optim: {momentum: 0.9, momentum: 0.8}
"
bad_cfg dup_nested "@F:6:" "optim.momentum" "duplicate key (first given at line 6)"

# Unknown keys: a misspelled key in a section, and a key under a section that has none.
cfg unknown_optim "${GOOD}optim: {lr: 0.1}
"
bad_cfg unknown_optim "@F:6:" "optim.lr" "unknown key 'lr' in 'optim' (known: momentum, nesterov, weight_decay)"

# Wrong types: a float for an integer, a scalar for a list, a scalar for a section, a
# YAML 1.1 boolean, a quoted number.
cfg float_steps "${GOOD//steps: 2/steps: 2.5}"
bad_cfg float_steps "@F:3:" "train.steps" "expected an integer >= 1, got '2.5'"
cfg scalar_list "${GOOD//train: \[train.bin\]/train: train.bin}"
bad_cfg scalar_list "@F:2:" "data.train" "expected a list of 1..16 file names" "got 'train.bin'"
cfg scalar_section "${GOOD}optim: 0.9
"
bad_cfg scalar_section "@F:6:" "optim" "expected a mapping of keys (momentum, nesterov, weight_decay), got a scalar"
cfg yes_bool "${GOOD}optim: {nesterov: yes}
"
bad_cfg yes_bool "@F:6:" "optim.nesterov" "expected true or false, got 'yes'"
cfg quoted_num "${GOOD//peak_lr: 0.1/peak_lr: \"0.1\"}"
bad_cfg quoted_num "@F:4:" "schedule.peak_lr" "expected a number > 0, got the quoted string '0.1'"

# Negative or zero rates: the peak, a warmup start, a decay end.
cfg zero_lr "${GOOD//peak_lr: 0.1/peak_lr: 0}"
bad_cfg zero_lr "@F:4:" "schedule.peak_lr" "expected a number > 0, got '0'"
cfg neg_lr "${GOOD//peak_lr: 0.1/peak_lr: -0.1}"
bad_cfg neg_lr "@F:4:" "schedule.peak_lr" "expected a number > 0, got '-0.1'"
cfg neg_start "${GOOD//peak_lr: 0.1/peak_lr: 0.1, warmup: {shape: linear, steps: 1, start_lr: -0.01\}}"
bad_cfg neg_start "@F:4:" "schedule.warmup.start_lr" "expected a number >= 0, got '-0.01'"
cfg neg_end "${GOOD//peak_lr: 0.1/peak_lr: 0.1, decay: {shape: cosine, end_lr: -1e-3\}}"
bad_cfg neg_end "@F:4:" "schedule.decay.end_lr" "expected a number >= 0, got '-1e-3'"
cfg zero_const "${GOOD//peak_lr: 0.1/peak_lr: 0.1, warmup: {shape: constant, steps: 1\}}"
bad_cfg zero_const "@F:4:" "schedule.warmup.start_lr" "a constant warmup needs schedule.warmup.start_lr > 0"

# NaN and infinity written in the YAML: YAML's own spellings, C's spellings, and a
# literal that overflows to infinity (cli_config.sh: .nan for peak_lr).
for v in .inf -.Inf +.INF .NaN; do
    n=nonfinite_${v//[.+-]/}
    cfg "$n" "${GOOD//peak_lr: 0.1/peak_lr: $v}"
    bad_cfg "$n" "@F:4:" "schedule.peak_lr" "expected a number > 0, got '$v' (must be finite)"
done
cfg overflow_inf "${GOOD}optim: {weight_decay: 1e999}
"
bad_cfg overflow_inf "@F:6:" "optim.weight_decay" "got '1e999' (must be finite)"
cfg c_nan "${GOOD}optim: {momentum: nan}
"
bad_cfg c_nan "@F:6:" "optim.momentum" "expected a number in [0,1), got 'nan'"
cfg c_inf "${GOOD}divergence: {loss_bound: inf}
"
bad_cfg c_inf "@F:6:" "divergence.loss_bound" "expected a number >= 0, got 'inf'"

# Warmup longer than the run, in steps and in epochs (cli_config.sh: warmup == run).
cfg warmup_long "${GOOD//peak_lr: 0.1/peak_lr: 0.1, warmup: {shape: linear, steps: 5\}}"
bad_cfg warmup_long "@F:4:" "schedule.warmup.steps" "the warmup (5 steps) must end before the last step (train.steps is 2)"
# 64 records at batch 16: 1 epoch = 4 steps; a 2-epoch warmup is 8 steps of a 4-step run.
cfg warmup_epochs "${GOOD//steps: 2/epochs: 1}
"
sed -i 's/peak_lr: 0.1/peak_lr: 0.1, warmup: {shape: linear, epochs: 2}/' warmup_epochs.yaml
bad_cfg warmup_epochs "@F:4:" "schedule.warmup.epochs" "the warmup (8 steps) must end before the last step (train.steps is 4)"

# Milestones out of order: equal, and descending (cli_config.sh: [60, 30] for `config`).
cfg ms_equal "${GOOD//steps: 2/steps: 100}"
sed -i 's/peak_lr: 0.1/peak_lr: 0.1, decay: {shape: step, milestones: [50, 50]}/' ms_equal.yaml
bad_cfg ms_equal "@F:4:" "schedule.decay.milestones" "strictly increasing, but milestone 2 (50) follows 50"
cfg ms_down "${GOOD//steps: 2/steps: 100}"
sed -i 's/peak_lr: 0.1/peak_lr: 0.1, decay: {shape: step, milestones: [10, 90, 20]}/' ms_down.yaml
run ms_down.train 2 train ms_down.yaml
msg ms_down.train "ms_down.yaml:4:" "milestone 3 (20) follows 90"

# Depth not 6n+2: one off, below the smallest, negative (cli_config.sh: 100).
for d in 21 2 -8; do
    cfg "depth_$d" "${GOOD//depth: 8/depth: $d}"
    bad_cfg "depth_$d" "@F:1:" "model.depth" "expected an integer 6n+2 (20, 32, 44, 56, 110, 1202...) at most 2000, got '$d'"
done

# Batch 0, and larger than the data (64 records); cli_config.sh covers the larger batch
# through data.limit_train for `config`.
cfg batch0 "${GOOD//batch_size: 16/batch_size: 0}"
bad_cfg batch0 "@F:3:" "train.batch_size" "expected an integer in 1..4096, got '0'"
cfg batch_big "${GOOD//batch_size: 16/batch_size: 65}"
bad_cfg batch_big "@F:3:" "train.batch_size" "expected at most the number of training records (64), got 65"

# --set without '=' and with an empty key (cli_config.sh: no '=' for `config`).
bad_set set_noeq train.steps "--set train.steps: expected KEY=VALUE"
bad_set set_nokey =5 "--set =5: expected KEY=VALUE with a key path"
# --set of an unknown key, a section, a key of no section.
bad_set set_unknown model.width=3 "--set model.width=3: unknown key 'width' in 'model' (known: depth, num_classes)"
bad_set set_section model=3 "--set model=3: 'model' is a section; set one of its keys (depth, num_classes)"
bad_set set_nosection lr=0.1 "--set lr=0.1: unknown key 'lr' (known sections: model, data, train"
# --set with a bad value: out of range, not YAML, the wrong enum, non-finite, empty.
bad_set set_neg train.steps=-5 "--set train.steps=-5: expected an integer >= 1, got '-5'"
bad_set set_yaml 'data.train=[a.bin' "--set data.train=[a.bin: not a YAML value"
bad_set set_enum train.backend=gpu "--set train.backend=gpu: expected one of auto|cuda|cpu, got 'gpu'"
bad_set set_inf schedule.peak_lr=.inf "--set schedule.peak_lr=.inf: expected a number > 0, got '.inf' (must be finite)"
bad_set set_empty schedule.peak_lr= "--set schedule.peak_lr=: expected a number > 0, got nothing (null)"
# Beyond the type the device holds the value in (float32 for rates, weight decay, loss
# bounds), or below what a double can hold: refused, naming the key, never inf or 0.
bad_set set_f32 schedule.peak_lr=1e39 "--set schedule.peak_lr=1e39: expected a number > 0, got '1e39' (too large for float32"
bad_set set_f64 schedule.peak_lr=1.7e308 "--set schedule.peak_lr=1.7e308:" "too large for float32"
bad_set set_under schedule.peak_lr=1e-400 "--set schedule.peak_lr=1e-400:" "(too small: it underflows the double range"
bad_set set_wd optim.weight_decay=1e-400 "--set optim.weight_decay=1e-400:" "underflows"
bad_set set_bound divergence.loss_bound=1e39 "--set divergence.loss_bound=1e39:" "too large for float32"
run sched_f64 2 schedule good.yaml --set schedule.peak_lr=1.7e308
msg sched_f64 "too large for float32"

# ================= Data (through `resnet train`) =================
: >data/empty.bin
head -c $((3073 * 2 + 10)) data/train.bin >data/odd.bin
mkdir data/sub
# train.bin with the label byte of record 5 set to 10 (10 classes: labels 0..9).
{ head -c $((3073 * 5)) data/train.bin; printf '\x0a'; tail -c +$((3073 * 5 + 2)) data/train.bin; } >data/label10.bin
[ "$(stat -c %s data/label10.bin)" -eq $((3073 * 64)) ] || fail "label10.bin has the wrong size"

# bad_data NAME SETS... -- PATTERN...: train with these --set values fails naming the file.
bad_data() {
    local name=$1
    shift
    local args=()
    while [ "$1" != "--" ]; do args+=(--set "$1"); shift; done
    shift
    run "$name" 2 train good.yaml --set train.steps=1 "${args[@]}"
    msg "$name" "$@"
    one_line "$name"
}
bad_data data_nodir "data.dir=$T/nodir" -- "$T/nodir/train.bin: no such file: the folder $T/nodir does not exist"
bad_data data_dir_is_file "data.dir=$T/data/test.bin" -- "$T/data/test.bin/train.bin: no such file: $T/data/test.bin is not a folder"
bad_data data_notrain "data.train=[train.bin, nothere.bin]" -- "$T/data/nothere.bin: no such file"
bad_data data_notest data.test=nothere.bin -- "$T/data/nothere.bin: no such file" "datasets/get_cifar10.sh"
bad_data data_empty "data.train=[empty.bin]" -- "$T/data/empty.bin: empty file (a CIFAR-10 batch file holds 3073-byte records)"
bad_data data_odd "data.train=[odd.bin]" -- "$T/data/odd.bin: size 6156 bytes is not a multiple of the 3073-byte record (2 whole records and 10 bytes left over)"
bad_data data_odd_test data.test=odd.bin -- "$T/data/odd.bin: size 6156 bytes"
bad_data data_isdir "data.train=[sub]" -- "$T/data/sub: is a directory, not a CIFAR-10 batch file"
# Files that are not regular: a FIFO with no writer (an open would block for ever) and a
# link to /dev/zero (an endless stream); refused at once, before any read.
# (Made in a folder of their own and removed after: a later case copies data/.)
mkdir special
mkfifo special/fifo.bin
ln -s /dev/zero special/zero.bin
bad_data data_fifo "data.train=[$T/special/fifo.bin]" -- "$T/special/fifo.bin: is a FIFO (named pipe), not a CIFAR-10 batch file"
bad_data data_fifo_test "data.test=$T/special/fifo.bin" -- "$T/special/fifo.bin: is a FIFO (named pipe), not a CIFAR-10 batch file"
bad_data data_devzero "data.train=[$T/special/zero.bin]" -- "$T/special/zero.bin: is a character device, not a CIFAR-10 batch file"
rm -rf special
bad_data data_label "data.train=[label10.bin]" -- "$T/data/label10.bin: record 5 (counting from 0) has label 10, but with 10 classes labels must be 0..9"
bad_data data_label_test data.test=label10.bin -- "$T/data/label10.bin: record 5 (counting from 0) has label 10"
# Labels valid for 10 classes but not for 2: the first record with a label >= 2 is named.
first=$(od -An -v -tu1 -w3073 data/train.bin | awk '$1 >= 2 { print NR - 1; exit }')
bad_data data_classes model.num_classes=2 -- "$T/data/train.bin: record $first (counting from 0) has label"

# A data error must not cost the user a previous run: with --overwrite, the old run's
# files are still there after the refusal.
run prev 0 train good.yaml --set train.steps=1
cp -r "$OUT" "$T/prev_copy"
checks=$((checks + 1))
timeout 60 "$BIN" train good.yaml --set train.steps=1 --set data.test=nothere.bin --overwrite >ow.out 2>ow.err
rc=$?
[ "$rc" -eq 2 ] || fail "overwrite_data: exit $rc, want 2"
diff -r "$T/prev_copy" "$OUT" >/dev/null 2>&1 || fail "overwrite_data: a data error removed or changed the previous run in $OUT: $(ls -A "$OUT" 2>&1)"
rm -rf "$OUT" "$T/prev_copy"

# ================= Inputs the catalogue does not list =================

# A 100 MB line: refused by size before any parsing, quickly.
{ printf 'model: {depth: 8}\ndata: {dir: '; head -c 100000000 /dev/zero | tr '\0' a; printf '}\n'; } >huge.yaml
start=$(date +%s)
bad_cfg huge "@F: larger than 1024 KiB, expected a YAML run config"
[ $(($(date +%s) - start)) -lt 20 ] || fail "huge: took $(($(date +%s) - start)) s"
rm -f huge.yaml
# Not a regular file: an endless stream.
run devzero.config 2 config /dev/zero
msg devzero.config "/dev/zero: larger than 1024 KiB"
# A 100 KB --set value (one argument may be at most 128 KB): too long for a path.
long=$(head -c 100000 /dev/zero | tr '\0' a)
run set_long.config 2 config good.yaml --set "data.dir=$long"
msg set_long.config "expected a non-empty string, got '" "(too long)"
one_line set_long.config
# ...and a config from a pipe works (process substitution).
run pipe 0 config <(cat good.yaml)

# Deeply nested YAML, closed and unclosed: an error naming the key, no stack overflow.
depth=100000
{ printf 'model: {depth: 8}\ndata:\n  dir: '; head -c $depth /dev/zero | tr '\0' '['; head -c $depth /dev/zero | tr '\0' ']'; printf '\n'; } >nested.yaml
bad_cfg nested "@F:3:" "nested deeper than 32 levels"
{ printf 'model: {depth: 8}\ndata: '; head -c $depth /dev/zero | tr '\0' '{'; printf '\n'; } >nested_open.yaml
bad_cfg nested_open "@F:2:" "nested deeper than 32 levels"
# The same through --set, whose value is one argument (at most 128 KB).
deep=$(head -c 100000 /dev/zero | tr '\0' '[')
bad_set set_nested "data.train=$deep" "--set data.train=[[[[" "...: not a value for one key: nested deeper than 32 levels"
# A few levels of nesting where a scalar belongs is a plain type error.
cfg nested_few "${GOOD//dir: $T\/data/dir: [[[x]]]}"
bad_cfg nested_few "@F:2:" "data.dir" "expected a non-empty string, got a list"

# A UTF-8 byte-order mark and CRLF line endings are accepted as plain text...
printf '\xef\xbb\xbf%s' "$GOOD" >bom.yaml
run bom 0 config bom.yaml
printf '%s' "$GOOD" | sed 's/$/\r/' >crlf.yaml
run crlf 0 config crlf.yaml
cmp -s <(grep -v '^#' bom.out) <(grep -v '^#' good.out) || fail "bom: resolves differently from the same text without a BOM"
cmp -s <(grep -v '^#' crlf.out) <(grep -v '^#' good.out) || fail "crlf: resolves differently from the same text with LF endings"
# ...and an error in a CRLF file is reported at the right line.
printf '%s' "${GOOD//depth: 8/depth: 9}" | sed 's/$/\r/' >crlf_bad.yaml
bad_cfg crlf_bad "@F:1:" "model.depth" "got '9'"

# A config that is a YAML list, or a bare scalar.
cfg list "- model: {depth: 8}
- data: {dir: x}
"
bad_cfg list "@F:1:1: expected a mapping of sections (model, data, train, ...), got a list"
cfg scalar "just some words
"
bad_cfg scalar "@F:1:1: expected a mapping of sections (model, data, train, ...), got a scalar"

# Two documents: the second would be silently ignored, so it is refused.
cfg twodocs "${GOOD}---
model: {depth: 20}
"
bad_cfg twodocs "@F:7:1: expected one YAML document, found a second one here"

# "Billion laughs": nine levels of aliases, each ten times the last (10^9 items if
# expanded). libyaml keeps aliases as references, and the loader refuses the first
# item that is not a file name, so this is instant.
{
    printf 'model: {depth: 8}\ndata:\n  dir: x\n  train: [&l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]'
    for i in 1 2 3 4 5 6 7 8 9; do
        p=$((i - 1))
        printf ', &l%d [*l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d]' $i $p $p $p $p $p $p $p $p $p $p
    done
    printf ']\n'
} >laughs.yaml
bad_cfg laughs "@F:4:11: data.train[0]: expected a file name, got a list"
# A megabyte of anchors and aliases: libyaml looks each up by a linear search (20 s for
# this file); the loader refuses more than 64 anchors before loading.
{
    printf 'model: {depth: 8}\nl: ['
    for ((i = 0; i < 45000; i++)); do printf '&a%d x, ' $i; done
    for ((i = 0; i < 57000; i++)); do printf '*a44999, '; done
    printf 'x]\n'
} >anchors.yaml
start=$(date +%s)
bad_cfg anchors "@F:2:" "more than 64 anchors (&name)"
[ $(($(date +%s) - start)) -lt 20 ] || fail "anchors: took $(($(date +%s) - start)) s"
# Anchors used as YAML intends are accepted.
# (sed, not ${//}: bash 5.2 reads '&' in a substitution as the matched text)
{ printf '%s' "$GOOD" | sed 's/steps: 2/steps: \&n 100/'; printf 'divergence: {soft_steps: *n}\n'; } >anchors_ok.yaml
run anchors_ok 0 config anchors_ok.yaml
grep -q '^  soft_steps: 100$' anchors_ok.out || fail "anchors_ok: the alias did not resolve: $(grep soft_steps anchors_ok.out)"
# A recursive alias (a mapping that contains itself).
cfg recursive "model: {depth: 8}
schedule: &s {warmup: *s}
"
bad_cfg recursive "@F:2:" "schedule.warmup.warmup" "unknown key 'warmup' in 'schedule.warmup'"

# NUL characters in quoted strings and keys would cut the text short silently.
cfg nul_value "${GOOD//dir: $T\/data/dir: \"$T/data\\0/etc\"}"
bad_cfg nul_value "@F:2:" "data.dir" "(contains a NUL character)"
cfg nul_key "${GOOD}\"optim\\0x\": {momentum: 0.9}
"
bad_cfg nul_key "@F:6:" "expected a key name, got one with a NUL character"

# Integers too large for any counter, and an integer written as a float.
cfg big_int "${GOOD//steps: 2/steps: 99999999999999999999}"
bad_cfg big_int "@F:3:" "train.steps" "(too large)"
cfg big_seed "${GOOD//steps: 2/steps: 2, seed: 18446744073709551616}"
bad_cfg big_seed "@F:3:" "train.seed" "(too large)"
cfg exp_int "${GOOD//steps: 2/steps: 1e3}"
bad_cfg exp_int "@F:3:" "train.steps" "expected an integer >= 1, got '1e3'"

# Non-ASCII text that is valid UTF-8 is fine in a path, and prints back loadable.
mkdir "$T/dätä" && cp data/*.bin "$T/dätä/"
cfg utf8 "${GOOD//$T\/data/$T/dätä}"
run utf8 0 config utf8.yaml
cp utf8.out utf8_printed.yaml
run utf8_reload 0 config utf8_printed.yaml

if [ "$fails" -ne 0 ]; then
    echo "cli_bad_inputs: $fails failure(s) in $checks runs" >&2
    exit 1
fi
echo "cli_bad_inputs: all $checks runs behaved"
