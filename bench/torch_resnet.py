#!/usr/bin/env python3
"""torch_resnet.py: the PyTorch baseline: He et al.'s CIFAR ResNet-(6n+2), built exactly as the C trainer builds it, timed per training step in several PyTorch modes."""
# Usage (see bench/README.md):
#   python3 bench/torch_resnet.py --depth 110 --modes eager_fp32,eager_amp_cl --json out.json
#   python3 bench/torch_resnet.py --device cpu --depth 20 --steps 2 --warmup 1   # a smoke check
#
# What is timed: one SGD step (forward, cross-entropy, backward, optimizer step) on a
# batch that already sits on the device (random images and labels), so data loading and
# augmentation are not in the number; the C trainer's number (metrics.csv images_per_s)
# does include its on-device augmentation kernel, which is small beside the network.
# Each timed step is bracketed by CUDA events; the reported time is the median over the
# timed steps, after warm-up steps that also absorb torch.compile's compilation.

import argparse
import json
import math
import os
import statistics
import sys
import time

# torch is imported in main(), after the arguments are checked, so that --check-args
# (bench/gpu_check.sh --dry-run) works on a machine without PyTorch.
torch = nn = F = None


def define_model():
    """The network classes, defined once torch is imported."""
    global BasicBlock, CifarResNet

    class BasicBlock(nn.Module):
        """conv3x3-BN-ReLU-conv3x3-BN, plus the shortcut, then ReLU (host/model/model.h)."""

        def __init__(self, c_in, c_out, stride):
            super().__init__()
            self.conv1 = nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(c_out)
            self.conv2 = nn.Conv2d(c_out, c_out, 3, stride=1, padding=1, bias=False)
            self.bn2 = nn.BatchNorm2d(c_out)
            self.option_a = stride != 1 or c_in != c_out
            self.pad = (c_out - c_in) // 2

        def forward(self, x):
            out = F.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            if self.option_a:
                # Option A: stride-2 subsampling, zero channels half before and half after
                # (the same side split as the C backend's shortcut_fwd).
                sc = F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, self.pad, self.pad))
            else:
                sc = x
            return F.relu(out + sc)

    class CifarResNet(nn.Module):
        def __init__(self, depth, num_classes=10):
            super().__init__()
            if depth < 8 or (depth - 2) % 6:
                raise ValueError(f"depth {depth} is not 6n+2 with n >= 1")
            n = (depth - 2) // 6
            self.conv = nn.Conv2d(3, 16, 3, padding=1, bias=False)
            self.bn = nn.BatchNorm2d(16)
            blocks, c_in = [], 16
            for stage, c_out in enumerate((16, 32, 64)):
                for b in range(n):
                    stride = 2 if stage > 0 and b == 0 else 1
                    blocks.append(BasicBlock(c_in, c_out, stride))
                    c_in = c_out
            self.blocks = nn.Sequential(*blocks)
            self.fc = nn.Linear(64, num_classes)  # with bias; PyTorch's default init
            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    # He/MSRA normal, fan_in mode: the C trainer's init (host/model/model.h).
                    nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")

        def forward(self, x):
            x = F.relu(self.bn(self.conv(x)))
            x = self.blocks(x)
            x = F.adaptive_avg_pool2d(x, 1).flatten(1)
            return self.fc(x)


EXPECTED_PARAMS = {20: 269_722, 110: 1_727_962}  # the C trainer's counts (resnet info / train)

# name: (compile mode or None, AMP, channels_last)
MODES = {
    "eager_fp32": (None, False, False),
    "eager_amp_cl": (None, True, True),
    "compile_fp32": ("default", False, False),
    "compile_amp_cl": ("default", True, True),
    "compile_maxat_fp32": ("max-autotune-no-cudagraphs", False, False),
    "compile_ro_fp32": ("reduce-overhead", False, False),  # CUDA graphs
    "compile_ro_amp_cl": ("reduce-overhead", True, True),
}


def count_params(model):
    return sum(p.numel() for p in model.parameters())


def time_mode(name, depth, args, device):
    compile_mode, amp, channels_last = MODES[name]
    torch.manual_seed(0)
    model = CifarResNet(depth).to(device)
    n_params = count_params(model)
    if depth in EXPECTED_PARAMS:
        assert n_params == EXPECTED_PARAMS[depth], (
            f"ResNet-{depth} has {n_params} parameters, the C trainer {EXPECTED_PARAMS[depth]}")
    mem_format = torch.channels_last if channels_last else torch.contiguous_format
    model = model.to(memory_format=mem_format)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    use_amp = amp and device.type == "cuda"
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
    x = torch.randn(args.batch, 3, 32, 32, device=device).contiguous(memory_format=mem_format)
    y = torch.randint(0, 10, (args.batch,), device=device)

    # torch.compile modes compile the model (forward and, through AOTAutograd, its
    # backward); the optimizer step stays eager (a few multi-tensor kernels).
    net = model if compile_mode is None else torch.compile(model, mode=compile_mode)
    graphs = compile_mode == "reduce-overhead" and device.type == "cuda"

    def fn():
        if graphs:  # each call is a new step for the CUDA-graph trees
            torch.compiler.cudagraph_mark_step_begin()
        opt.zero_grad(set_to_none=True)
        with torch.autocast(device_type=device.type, dtype=torch.float16, enabled=use_amp):
            loss = F.cross_entropy(net(x), y)
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        return loss.detach()

    model.train()
    # The first step alone: for a compiled mode it holds the compilation (from the cache
    # when an earlier process compiled the same model), the number to report beside it.
    t0 = time.perf_counter()
    loss = fn()
    sync(device)
    first_s = time.perf_counter() - t0
    for _ in range(args.warmup - 1):
        loss = fn()
    sync(device)
    warm_s = time.perf_counter() - t0
    times = []
    wall0 = time.perf_counter()
    if device.type == "cuda":
        ev = [(torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)) for _ in range(args.steps)]
        for a, b in ev:
            a.record()
            loss = fn()
            b.record()
        torch.cuda.synchronize()
        times = [a.elapsed_time(b) for a, b in ev]
    else:
        for _ in range(args.steps):
            t = time.perf_counter()
            loss = fn()
            times.append(1000 * (time.perf_counter() - t))
    wall_ms = 1000 * (time.perf_counter() - wall0) / args.steps
    final_loss = float(loss.detach().float().item())
    med = statistics.median(times)
    return {
        "mode": name,
        "depth": depth,
        "compile": compile_mode or "eager",
        "amp_fp16": use_amp,
        "channels_last": channels_last,
        "tf32_conv": bool(torch.backends.cudnn.allow_tf32),
        "tf32_matmul": bool(torch.backends.cuda.matmul.allow_tf32),
        "params": n_params,
        "batch": args.batch,
        "median_ms": med,
        "min_ms": min(times),
        "mean_wall_ms": wall_ms,
        "epoch_s": med * math.ceil(50000 / args.batch) / 1000.0,
        "images_per_s": 1000.0 * args.batch / med,
        "first_step_s": first_s,
        "warmup_s": warm_s,
        "final_loss": final_loss,
        "finite": math.isfinite(final_loss),
    }


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--depth", default="110",
                    help="6n+2, or a comma-separated list timed one after the other (default 110)")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--steps", type=int, default=100, help="timed steps (default 100)")
    ap.add_argument("--warmup", type=int, default=20,
                    help="untimed steps first, at least 1 (default 20; compilation happens in the first)")
    ap.add_argument("--modes", default="eager_fp32,eager_amp_cl,compile_fp32,compile_amp_cl",
                    help="comma-separated, from: " + ", ".join(MODES))
    ap.add_argument("--no-tf32", action="store_true",
                    help="fp32 without TF32 in convolutions and matmuls, like the C trainer's train.tf32: false "
                         "(default: TF32 allowed in both, like its train.tf32: true)")
    ap.add_argument("--device", default="cuda", help="cuda (default) or cpu (a slow smoke check)")
    ap.add_argument("--json", help="write the results here (rewritten after every mode)")
    ap.add_argument("--check-args", action="store_true",
                    help="check the arguments and print what would be timed, without importing torch")
    args = ap.parse_args()
    depths, modes = [], [m for m in args.modes.split(",") if m]
    for d in args.depth.split(","):
        if not d.strip().isdigit() or int(d) < 8 or (int(d) - 2) % 6:
            ap.error(f"--depth: {d!r} is not an integer 6n+2 >= 8")
        depths.append(int(d))
    unknown = [m for m in modes if m not in MODES]
    if unknown or not modes:
        ap.error(f"--modes: unknown {', '.join(unknown) or '(none given)'} (known: {', '.join(MODES)})")
    if args.warmup < 1 or args.steps < 1 or args.batch < 1:
        ap.error("--warmup, --steps and --batch must be at least 1")
    return args, depths, modes


def write_json(path, doc):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(doc, f, indent=1)
    os.replace(tmp, path)


def main():
    global torch, nn, F
    args, depths, modes = parse_args()
    if args.check_args:
        print(f"torch_resnet: would time ResNet-{', ResNet-'.join(map(str, depths))} in {', '.join(modes)}, "
              f"batch {args.batch}, {args.warmup} warm-up + {args.steps} timed steps, "
              f"TF32 {'off' if args.no_tf32 else 'on'} in convolutions and matmuls")
        return 0
    import torch as torch_module
    torch = torch_module
    nn = torch.nn
    F = torch.nn.functional
    define_model()

    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        print("torch_resnet: no CUDA device visible to PyTorch", file=sys.stderr)
        return 3
    # Like for like with the C trainer: its train.tf32: true allows TF32 in the cuDNN
    # convolutions and in the classifier's cuBLAS GEMM (CUBLAS_TF32_TENSOR_OP_MATH), so
    # the baseline allows it in both; PyTorch's own default keeps matmuls in full fp32.
    # --no-tf32 matches train.tf32: false (no TF32 anywhere).
    torch.backends.cudnn.allow_tf32 = not args.no_tf32
    torch.backends.cuda.matmul.allow_tf32 = not args.no_tf32
    torch.backends.cudnn.benchmark = True  # let cuDNN pick the fastest algorithms, as a tuned baseline would
    info = {
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version(),
        "device": torch.cuda.get_device_name() if device.type == "cuda" else "cpu",
        "depths": depths,
        "batch": args.batch,
        "steps": args.steps,
        "warmup": args.warmup,
        "tf32_conv": bool(torch.backends.cudnn.allow_tf32),
        "tf32_matmul": bool(torch.backends.cuda.matmul.allow_tf32),
    }
    results, failures = [], {}
    for depth in depths:
        for name in modes:
            key = f"{name}/r{depth}"
            try:
                r = time_mode(name, depth, args, device)
                results.append(r)
                print(f"torch_resnet: ResNet-{depth} {name}: {r['median_ms']:.2f} ms/step (median of {args.steps}), "
                      f"{r['images_per_s']:.0f} images/s, first step {r['first_step_s']:.1f} s", flush=True)
            except Exception as e:  # one mode failing (a compiler error, say) must not hide the others
                failures[key] = f"{type(e).__name__}: {e}"
                print(f"torch_resnet: ResNet-{depth} {name} FAILED: {failures[key]}", file=sys.stderr, flush=True)
            if device.type == "cuda":
                torch.cuda.empty_cache()
            if args.json:  # after every mode: a run cut off by a time limit keeps what it measured
                write_json(args.json, {"info": info, "results": results, "failures": failures})

    print(f"\nPyTorch {info['torch']} (CUDA {info['cuda']}, cuDNN {info['cudnn']}) on {info['device']}: "
          f"batch {args.batch}, TF32 {'off' if args.no_tf32 else 'on'} in convolutions and matmuls")
    print(f"{'depth':>5} {'mode':<20} {'ms/step':>9} {'images/s':>10} {'s/epoch':>8} {'first s':>8} {'loss':>8}")
    for r in results:
        print(f"{r['depth']:>5} {r['mode']:<20} {r['median_ms']:>9.2f} {r['images_per_s']:>10.0f} "
              f"{r['epoch_s']:>8.2f} {r['first_step_s']:>8.1f} {r['final_loss']:>8.3f}")
    for name, why in failures.items():
        print(f"{name:<26} FAILED: {why[:100]}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
