#!/usr/bin/env python3
"""gpu_facts.py: reads a bench/gpu_check.sh results folder and writes its facts: record.md (device, versions, commands, gpu test errors, sanitizers, smoke curves, speed table) and summary.txt (the short tables printed last)."""
# usage: gpu_facts.py RESULTS_DIR [--print]          (record.md and summary.txt into RESULTS_DIR)
#        gpu_facts.py --judge-sanitizer LOG EXIT     (one line: the sanitizer stage's verdict)
#        gpu_facts.py --step-times RUN_DIR           (the per-interval ms/step of one run, then the median)
#
# Only the standard library: it runs on the GPU machine's python3 and on any other.

import csv
import glob
import json
import os
import re
import statistics
import sys

SMOKE_STEPS = (1, 10, 50, 100, 150, 200, 235)


def read(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def read_config(path):
    """The run folder's config.yaml (resnet's own printing: two-space nesting, one key a line)."""
    out, stack = {}, []
    for line in read(path).splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        depth = (len(line) - len(line.lstrip(" "))) // 2
        key, _, value = line.strip().partition(":")
        stack = stack[:depth] + [key]
        if value.strip():
            out[".".join(stack)] = value.strip()
    return out


# ---- sanitizer logs ----

# The report lines of an access error, a race or an uninitialized read (memcheck, racecheck
# in its analysis and hazard modes, initcheck, synccheck); their detail lines are indented
# under them and not counted again. Racecheck's warnings are counted in its summary only.
ACCESS = re.compile(r"^=+ (Invalid __\w+__ (read|write|atomic)|Invalid (read|write|atomic) operation|"
                    r"Misaligned|Out-of-range|Malloc/Free error|Barrier error|Illegal|Device-side assert|"
                    r"Uninitialized __\w+__ memory read|Error: Race reported|ERROR: Potential \w+ hazard)", re.M)
API = re.compile(r"^=+ Program hit (\w+)", re.M)


def sanitizer_facts(text):
    summary = re.findall(r"ERROR SUMMARY: (\d+) error", text)
    race = re.findall(r"RACECHECK SUMMARY: (\d+) hazards? displayed \((\d+) errors?, (\d+) warnings?\)", text)
    return {
        "access": len(ACCESS.findall(text)),
        "api": len(API.findall(text)),
        "api_kinds": sorted(set(API.findall(text))),
        "summary": int(summary[-1]) if summary else None,
        "race": race[-1] if race else None,
        "unsupported": "Device not supported" in text,
    }


def judge_sanitizer(path, rc):
    """Access errors (and races) fail the stage; API errors that cuDNN/cuBLAS provoke and
    handle themselves are counted, not failed on; the program's own failure fails it."""
    f = sanitizer_facts(read(path))
    if f["unsupported"]:
        return "skipped (compute-sanitizer: Device not supported)"
    if f["summary"] is None:
        return f"FAIL (no ERROR SUMMARY in the log; exit {rc})"
    if f["access"]:
        return f"FAIL ({f['access']} access errors or hazards; ERROR SUMMARY {f['summary']})"
    if f["race"] and int(f["race"][1]) > 0:
        return f"FAIL (racecheck: {f['race'][1]} errors)"
    if rc != 0:
        return f"FAIL (the program exited {rc}; ERROR SUMMARY {f['summary']})"
    extra = f", {f['api']} API errors reported ({', '.join(f['api_kinds'])})" if f["api"] else ""
    return f"ok (no access errors; ERROR SUMMARY {f['summary']}{extra})"


# ---- training runs ----

def load_csv(path):
    try:
        with open(path, newline="") as f:
            return list(csv.DictReader(f))
    except OSError:
        return []


def step_times(run_dir):
    """ms/step of each throughput interval after the first (which holds the warm-up step
    and the graph capture). The trainer flushes, and starts a new interval, at every
    multiple of log_every and eval_every and at the last step; every row of an interval
    carries that interval's images_per_s. Intervals shorter than half of log_every (cut
    by an evaluation) are left out: one host flush weighs too much in them."""
    cfg = read_config(os.path.join(run_dir, "config.yaml"))
    rows = load_csv(os.path.join(run_dir, "metrics.csv"))
    if not rows or "train.log_every" not in cfg:
        return [], None
    log_every, eval_every = int(cfg["train.log_every"]), int(cfg.get("train.eval_every", "0"))
    batch, last = int(cfg["train.batch_size"]), int(rows[-1]["step"])
    ends = [int(r["step"]) for r in rows
            if int(r["step"]) % log_every == 0 or (eval_every and int(r["step"]) % eval_every == 0)
            or int(r["step"]) == last]
    by_step = {int(r["step"]): r for r in rows}
    out, prev = [], 0
    for e in ends:
        n = e - prev
        ips = float(by_step[e]["images_per_s"])
        if prev > 0 and n * 2 >= log_every and ips > 0:
            out.append((prev + 1, e, 1000.0 * batch / ips))
        prev = e
    return out, (statistics.median(t for _, _, t in out) if out else None)


def run_facts(run_dir):
    cfg = read_config(os.path.join(run_dir, "config.yaml"))
    rows = load_csv(os.path.join(run_dir, "metrics.csv"))
    evals = load_csv(os.path.join(run_dir, "eval.csv"))
    try:
        summary = json.loads(read(os.path.join(run_dir, "summary.json")) or "{}")
    except ValueError:
        summary = {}
    intervals, ms = step_times(run_dir)
    loss = {int(r["step"]): r["loss"] for r in rows}
    return {"name": os.path.basename(run_dir), "cfg": cfg, "steps_logged": len(rows), "loss": loss,
            "evals": [(int(e["step"]), float(e["test_error"]), e["test_loss"]) for e in evals],
            "summary": summary, "intervals": intervals, "ms": ms}


# ---- the record ----

def stages(res):
    out = []
    for line in read(os.path.join(res, "stages.tsv")).splitlines():
        p = line.split("\t")
        if len(p) == 5:
            out.append(dict(zip(("name", "status", "secs", "cap", "log"), p)))
    return out


def first_line(res, log):
    text = read(os.path.join(res, log))
    return text.splitlines()[0][2:] if text.startswith("$ ") else ""


NOISE = re.compile(r"^(Test command|Working Directory|Environment variables|Test timeout computed|"
                   r"\s+(RESNET_BIN|CIFAR_SYNTH|RESNET_SRC|CIFAR10_DIR)=)")


def gpu_tests(res):
    """Per test: verdict, seconds and its own output (the measured errors it prints)."""
    text = read(os.path.join(res, "ctest_gpu.log"))
    names, verdicts, output = {}, {}, {}
    for m in re.finditer(r"Test\s+#(\d+): (\S+) \.*\s*(\*\*\*)?([A-Za-z]+[^\n]*?)\s+([\d.]+) sec", text):
        names[m.group(1)] = m.group(2)
        verdicts[m.group(2)] = (m.group(4).strip(), m.group(5))
    for line in text.splitlines():
        m = re.match(r"^(\d+): (.*)$", line)
        if m and m.group(1) in names and not NOISE.match(m.group(2)):
            output.setdefault(names[m.group(1)], []).append(m.group(2))
    return verdicts, output


def op_errors(lines):
    """gpu_ops' "NAME max ulp|err X tol T (why)" lines as (name, kind, value, tol)."""
    out = []
    for line in lines:
        m = re.match(r"\s+(.+?)\s+max (ulp|err) (\S+)\s+tol (\S+)", line)
        if m:
            out.append((m.group(1), m.group(2), m.group(3), m.group(4)))
    return out


def fmt_ms(ms):
    return f"{ms:.2f}" if ms else "-"


def torch_results(res):
    out, failures = [], {}
    for path in sorted(glob.glob(os.path.join(res, "torch_*.json"))):
        try:
            doc = json.loads(read(path))
        except ValueError:
            continue
        for r in doc.get("results", []):
            out.append(dict(r, file=os.path.basename(path), info=doc.get("info", {})))
        failures.update(doc.get("failures", {}))
    return out, failures


def speed_rows(res, runs):
    """(what, depth, mode, ms/step, note) for ours and PyTorch."""
    rows = []
    for r in runs:
        c = r["cfg"]
        if r["ms"] is None or r["name"].startswith("sanitize"):
            continue
        tf32 = c.get("train.tf32") == "true"
        mode = ("fp32 " + ("(TF32 allowed)" if tf32 else "strict (no TF32)") + ", graph " +
                ("on" if c.get("train.cuda_graph") == "true" else "off"))
        if c.get("train.backend") != "cuda":
            mode = f"{c.get('train.backend')} backend, {mode}"
        rows.append(("ours", c.get("model.depth"), mode, r["ms"],
                     f"{r['name']}: median of {len(r['intervals'])} intervals"))
    tres, _ = torch_results(res)
    for t in tres:
        tf = "TF32 on" if t.get("tf32_conv") else "no TF32"
        rows.append(("PyTorch", str(t["depth"]), f"{t['mode']} ({tf})", t["median_ms"],
                     f"first step {t['first_step_s']:.1f} s (compile, if any); {t['file']}"))
    rows.sort(key=lambda x: (-int(x[1] or 0), x[0] != "ours", x[2]))
    return rows


def write_record(res):
    st = stages(res)
    runs = [run_facts(d) for d in sorted(glob.glob(os.path.join(res, "runs", "*"))) if os.path.isdir(d)]
    verdicts, output = gpu_tests(res)
    machine, info = read(os.path.join(res, "machine.log")), read(os.path.join(res, "info.log"))
    L = ["# GPU check facts", "",
         "Drafted by bench/gpu_facts.py from one bench/gpu_check.sh run; bench/results/DATE-DEVICE.md is written "
         "from it.", "", "## Device and versions", "", "```"]
    L += machine.rstrip().splitlines() + [""] + info.rstrip().splitlines()[3:]
    probe = read(os.path.join(res, "sanitizer_probe.log"))
    L += [l for l in probe.splitlines() if l.startswith("Version ")][:1]
    L += ["```", "", "## Stages and commands", "", "| stage | status | s | cap s |", "|---|---|---|---|"]
    L += [f"| {s['name']} | {s['status']} | {s['secs']} | {s['cap']} |" for s in st]
    L += ["", "```"] + [f"{s['name']}: {first_line(res, s['log'])}" for s in st if first_line(res, s["log"])]
    L += ["```", "", "## gpu tests (CUDA backend against the CPU backend, TF32 off)", ""]
    L += ["| test | result | s |", "|---|---|---|"]
    L += [f"| {n} | {v[0]} | {v[1]} |" for n, v in sorted(verdicts.items())]
    errs = op_errors(output.get("gpu_ops", []))
    if errs:
        L += ["", "gpu_ops, every op's worst error:", "", "| op | kind | max | tol |", "|---|---|---|---|"]
        L += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in errs]
    for n in sorted(output):
        L += ["", f"<details><summary>{n} output</summary>", "", "```"] + output[n] + ["```", "</details>"]
    L += ["", "## Sanitizers", ""]
    for path in sorted(glob.glob(os.path.join(res, "sanitizer_*_graph_*.log"))):
        f = sanitizer_facts(read(path))
        cmd = read(path).splitlines()[0] if read(path) else ""
        filt = "filtered to the project's kernels" if "--kernel-name" in cmd else "unfiltered"
        L.append(f"- {os.path.basename(path)} ({filt}): ERROR SUMMARY {f['summary']}, access errors/hazards "
                 f"{f['access']}, API errors {f['api']} {f['api_kinds'] or ''}, racecheck {f['race'] or '-'}")
    L += ["", "## Smoke runs (ResNet-110, batch 128, data_batch_1.bin, test_batch_first1000.bin)", ""]
    for r in runs:
        if not r["name"].startswith("smoke"):
            continue
        c, s = r["cfg"], r["summary"]
        pts = ", ".join(f"{k}: {r['loss'][k]}" for k in SMOKE_STEPS if k in r["loss"])
        ev = ", ".join(f"step {a}: {100 * b:.1f}% (loss {c2})" for a, b, c2 in r["evals"])
        L += [f"### {r['name']} (warmup {c.get('schedule.warmup.shape')}, graph {c.get('train.cuda_graph')})", "",
              f"- status {s.get('status', '?')}, {r['steps_logged']} steps logged, "
              f"wall {s.get('wall_time_s', '?')} s, {s.get('images_per_s', '?')} images/s overall",
              f"- loss at steps {pts}", f"- test error: {ev or '-'}",
              f"- ms/step {fmt_ms(r['ms'])} (median of {len(r['intervals'])} flush intervals of up to "
              f"{c.get('train.log_every')} steps, after the first)", ""]
    L += ["## Speed (batch 128; ms per training step)", "", "| who | depth | mode | ms/step | s/epoch (391) | note |",
          "|---|---|---|---|---|---|"]
    L += [f"| {a} | {b} | {c} | {fmt_ms(d)} | {d * 391 / 1000:.1f} | {e} |" for a, b, c, d, e in speed_rows(res, runs)]
    _, tfail = torch_results(res)
    L += [f"- PyTorch {k} FAILED: {v[:200]}" for k, v in tfail.items()]
    L += ["", "Ours: metrics.csv images_per_s per flush interval (a host flush every 25 steps included). PyTorch: "
          "median of CUDA-event-timed steps on a resident random batch (no data loading). TF32 as stated per row."]
    with open(os.path.join(res, "record.md"), "w") as f:
        f.write("\n".join(L) + "\n")
    return st, runs, verdicts


def write_summary(res, st, runs, verdicts):
    L = [f"gpu_check results in {res}", "", f"{'stage':<44} {'status':<60} {'s':>6} {'cap':>4}"]
    L += [f"{s['name'][:44]:<44} {s['status'][:60]:<60} {s['secs']:>6} {s['cap']:>4}" for s in st]
    if verdicts:
        L += ["", "gpu tests: " + ", ".join(f"{n} {v[0]}" for n, v in sorted(verdicts.items()))]
    smoke = [r for r in runs if r["name"].startswith("smoke")]
    for r in smoke:
        ev = " ".join(f"{a}:{100 * b:.1f}%" for a, b, _ in r["evals"])
        L.append(f"{r['name']}: loss@1 {r['loss'].get(1, '-')} loss@235 {r['loss'].get(235, '-')}; test error {ev or '-'}")
    rows = speed_rows(res, runs)
    if rows:
        L += ["", f"{'who':<8} {'depth':>5} {'mode':<44} {'ms/step':>8}"]
        L += [f"{a:<8} {b:>5} {c[:44]:<44} {fmt_ms(d):>8}" for a, b, c, d, _ in rows]
    with open(os.path.join(res, "summary.txt"), "w") as f:
        f.write("\n".join(L) + "\n")
    return "\n".join(L)


def main(argv):
    if len(argv) == 4 and argv[1] == "--judge-sanitizer":
        print(judge_sanitizer(argv[2], int(argv[3])))
        return 0
    if len(argv) == 3 and argv[1] == "--step-times":
        intervals, ms = step_times(argv[2])
        for a, b, t in intervals:
            print(f"{a}-{b} {t:.3f}")
        print(f"median {ms:.3f}" if ms else "median -")
        return 0
    if len(argv) not in (2, 3) or (len(argv) == 3 and argv[2] != "--print") or not os.path.isdir(argv[1]):
        print(__doc__.split("\n")[0], file=sys.stderr)
        print("usage: gpu_facts.py RESULTS_DIR [--print] | --judge-sanitizer LOG EXIT | --step-times RUN_DIR",
              file=sys.stderr)
        return 2
    st, runs, verdicts = write_record(argv[1])
    text = write_summary(argv[1], st, runs, verdicts)
    if len(argv) == 3:
        print("\n" + text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
