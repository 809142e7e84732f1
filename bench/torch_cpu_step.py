#!/usr/bin/env python3
"""torch_cpu_step.py: PyTorch's CPU training step on the project's network (bench/torch_resnet.py's CifarResNet), timed for bench/cpu_speed.sh."""
# Usage: python3 bench/torch_cpu_step.py --depth 20 --threads 2 --layout nchw --steps 5 --warmup 2
#
# One SGD step (forward, cross-entropy, backward, SGD with momentum 0.9, weight decay
# 1e-4, lr 0.1) on a batch of random images already in memory, as bench/torch_resnet.py
# times it on the GPU; on the CPU each step is bracketed by time.perf_counter(). It
# prints one line, `ms_per_step MEDIAN min MIN steps N threads T layout L params P`,
# which bench/cpu_speed.sh parses. The network is imported from torch_resnet.py, which
# asserts the C trainer's parameter counts for depths 20 and 110.

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import torch_resnet  # noqa: E402
from torch_resnet import EXPECTED_PARAMS, count_params  # noqa: E402

# torch_resnet.py imports torch only in its main() (so that its --check-args runs without
# PyTorch) and defines the network classes then; do the same here.
torch_resnet.torch, torch_resnet.nn, torch_resnet.F = torch, nn, F
torch_resnet.define_model()
CifarResNet = torch_resnet.CifarResNet


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--depth", type=int, default=20)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--threads", type=int, default=1, help="torch.set_num_threads (intra-op threads)")
    ap.add_argument("--layout", choices=("nchw", "channels_last"), default="nchw")
    ap.add_argument("--steps", type=int, default=5, help="timed steps")
    ap.add_argument("--warmup", type=int, default=2, help="untimed steps first")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = CifarResNet(args.depth)
    n_params = count_params(model)
    if args.depth not in EXPECTED_PARAMS:
        print(f"torch_cpu_step: no known parameter count for depth {args.depth}", file=sys.stderr)
        return 2
    if n_params != EXPECTED_PARAMS[args.depth]:
        print(f"torch_cpu_step: ResNet-{args.depth} has {n_params} parameters, the C trainer "
              f"{EXPECTED_PARAMS[args.depth]}", file=sys.stderr)
        return 3
    fmt = torch.channels_last if args.layout == "channels_last" else torch.contiguous_format
    model = model.to(memory_format=fmt)
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    x = torch.randn(args.batch, 3, 32, 32).contiguous(memory_format=fmt)
    y = torch.randint(0, 10, (args.batch,))

    def step():
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

    for _ in range(args.warmup):
        step()
    times = []
    for _ in range(args.steps):
        t = time.perf_counter()
        loss = step()
        times.append(1000.0 * (time.perf_counter() - t))
    if not torch.isfinite(loss.detach()):
        print("torch_cpu_step: the loss is not finite", file=sys.stderr)
        return 3
    print(f"ms_per_step {statistics.median(times):.1f} min {min(times):.1f} steps {args.steps} "
          f"threads {torch.get_num_threads()} layout {args.layout} params {n_params} torch {torch.__version__}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
