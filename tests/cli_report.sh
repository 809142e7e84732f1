#!/usr/bin/env bash
# cli_report.sh: `resnet report` on what real folders hold besides the happy path: a grid value that needs quoting in gnuplot, a run whose rate is never finite, a metrics.csv with only its header, a truncated summary.json.
. "$(dirname "$0")/lib_train.sh" || exit 1

command -v gnuplot >/dev/null || { echo "SKIPPED: gnuplot is not installed (the figures are what this tests)"; exit 77; }
drawn() { # DIR NAME WHAT
    [ -s "$1/plots/$2.png" ] && [ -s "$1/plots/$2.svg" ] && ok "$3: $2.png and .svg drawn" || bad "$3: no $1/plots/$2.png/.svg"
}
make_synth_data
write_run_config 12 0

# ---- a sweep over a grid value with a quote in it ----
cp test.bin "it's.bin"
cat >Q.yaml <<'EOF2'
base: run.yaml
output: SQ
seeds: 1
grid:
  data.test: [test.bin, "it's.bin"]
set: {train.checkpoint_every: 0}
EOF2
expect_rc 0 "sweep over a value with a quote" timeout 300 "$RESNET" sweep Q.yaml
expect_rc 0 "its report" "$RESNET" report SQ
drawn SQ failure_rate "quoted grid value"
drawn SQ failure_rate_2 "quoted grid value"
grep -qF "'failed runs (diverged) at test=' . \"'\" . 'it' . \"'\"" SQ/plots/failure_rate_2.gp &&
    ok "the title joins the quotes in as strings of their own" || bad "failure_rate_2.gp: $(grep title SQ/plots/failure_rate_2.gp)"

# A truncated summary.json: a warning naming it, and the run counted as missing.
f=SQ/test-test.bin_seed-0/summary.json
[ -e "$f" ] || f=$(ls SQ/*/summary.json | head -1)
head -c 40 "$f" >s.tmp && mv s.tmp "$f"
expect_rc 0 "report with a truncated summary.json" "$RESNET" report SQ
says "warning: $f:" "truncated summary.json"
says "counted as missing" "truncated summary.json"

# ---- one run whose rate is never finite, and one with only a header ----
expect_rc 0 "run A" "$RESNET" train run.yaml --set output.dir=A
cp -a A INF
awk -F, -v OFS=, 'NR > 1 { $3 = "inf" } { print }' A/metrics.csv >INF/metrics.csv
expect_rc 0 "report of a run whose lr is all inf" "$RESNET" report INF
drawn INF run "lr all inf"
says "no finite learning rate" "lr all inf"
cp -a A HDR
head -1 A/metrics.csv >HDR/metrics.csv
head -1 A/eval.csv >HDR/eval.csv
expect_rc 0 "report of a run with a header-only metrics.csv" "$RESNET" report HDR
drawn HDR run "header-only metrics.csv"
says "no rows" "header-only metrics.csv"

finish cli_report
