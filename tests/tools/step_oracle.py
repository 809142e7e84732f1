#!/usr/bin/env python3
"""step_oracle.py: recompute one training step from a checkpoint in float64 numpy and compare it with the next checkpoint.

Written from the specification (He et al.'s CIFAR ResNet; PyTorch's BN, cross-entropy and
SGD semantics; docs/checkpoint.md; the batch rule of kernels/batch.h; the schedule
formulas of configs/README.md), not from the C code, so that a match means two
implementations agree.

  step_oracle.py RUN_DIR CKPT_K CKPT_K1 [--data-dir D] [--tol T] [--no-metrics]
                 [--gradcheck] [--mutant NAME]

RUN_DIR holds the run's config.yaml and metrics.csv; the lr, loss and grad_norm of step
K+1 there are cross-checked (--no-metrics: only the tensors decide). Exit 0: everything
matches; 1: a mismatch; 2: bad input or a broken run of the oracle.

Tolerance (per tensor, max |oracle - C| / max |C|, on the values and on the step's
change): the C code runs fp32, and after one step of ResNet-8 at batch 8 the arithmetic
differs from float64 by at most ~3e-7 of a tensor's largest change; what remains is the
fp32 storage of the checkpoints, allowed separately. 2e-4 leaves a margin of ~500 on
that, while each --mutant (a plausible bug, used only by the self-check) misses by 5e-3
or more, as do a BN eps of 1e-4 or a BN momentum of 0.099.
--gradcheck also checks the oracle's backward pass against finite differences of its
own loss.
"""
import argparse, math, os, struct, sys, zlib
import numpy as np

MUTANTS = ("biased_running_var", "no_weight_decay", "shortcut_pad_end", "lr_prev_step", "no_nesterov")
MEAN = np.array([125.30691805, 122.95039414, 113.86538318])  # CIFAR-10 per channel, 0-255
STD = np.array([62.99321928, 62.08870764, 66.70489964])
EPS, BN_MOM = 1e-5, 0.1


def die(msg):  # bad input: exit 2, apart from a mismatch (1)
    print("step_oracle: " + msg, file=sys.stderr)
    sys.exit(2)


def read_checkpoint(path):  # docs/checkpoint.md, version 1
    b = open(path, "rb").read()
    if b[:8] != b"RNCKPT01" or struct.unpack_from("<I", b, 8)[0] != 1:
        die("%s: not a version-1 checkpoint" % path)
    if zlib.crc32(b[:-4]) != struct.unpack_from("<I", b, len(b) - 4)[0]:
        die("%s: bad checksum" % path)
    f = struct.unpack_from("<QIIIqqqdqiI", b, 12)
    hdr = dict(zip(("seed depth num_classes batch_size n_train step warmup_end train_error "
                    "skipped above_count").split(), f[:10]))
    at, tensors = 80, {}
    for _ in range(f[10]):
        (l,) = struct.unpack_from("<H", b, at); at += 2
        name = b[at:at + l].decode(); at += l
        dtype, rank = b[at], b[at + 1]; at += 2
        if dtype != 1:
            die("%s: tensor %s has dtype %d, not float32" % (path, name, dtype))
        dims = struct.unpack_from("<%dI" % rank, b, at); at += 4 * rank
        count = int(np.prod(dims))
        tensors[name] = np.frombuffer(b, "<f4", count, at).reshape(dims).astype(np.float64); at += 4 * count
    if at != len(b) - 4:
        die("%s: %d bytes between the last tensor and the checksum" % (path, len(b) - 4 - at))
    return hdr, tensors


def yaml_scalar(s):
    if s.startswith('"'):  # the printer's double-quoted form: only \" \\ \xNN \uNNNN escapes
        return s[1:-1].encode("latin-1", "backslashreplace").decode("unicode_escape")
    if s in ("true", "false"):
        return s == "true"
    for conv in (int, float):
        try:
            return conv(s)
        except ValueError:
            pass
    return s


def split_outside_quotes(s, sep):
    parts, cur, q = [], "", False
    for i, c in enumerate(s):
        if c == '"' and (i == 0 or s[i - 1] != "\\"):
            q = not q
        if c == sep and not q:
            parts.append(cur); cur = ""
            if sep == "#":
                return parts
        else:
            cur += c
    return parts + [cur]


def read_config(path):
    """The resolved config.yaml that `resnet train` writes: block mappings, scalars, flow lists."""
    root = {}
    stack = [(-1, root)]  # (indent, mapping) of the open sections
    for raw in open(path, encoding="utf-8"):
        line = split_outside_quotes(raw.rstrip("\n"), "#")[0].rstrip()
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip())
        key, _, val = line.strip().partition(":")
        while stack[-1][0] >= indent:
            stack.pop()
        parent = stack[-1][1]
        val = val.strip()
        if not val:
            parent[key] = {}
            stack.append((indent, parent[key]))
        elif val.startswith("["):
            inner = val[1:-1].strip()
            parent[key] = [yaml_scalar(x.strip()) for x in split_outside_quotes(inner, ",")] if inner else []
        else:
            parent[key] = yaml_scalar(val)
    return root


def sched_lr(c, s, we):
    """configs/README.md "The schedule": rate of step s (1-based), warmup ended after step we."""
    sc, T = c["schedule"], c["train"]["steps"]
    wu, de, peak = sc["warmup"], sc["decay"], sc["peak_lr"]
    shape = wu["shape"] if s <= we else de["shape"]
    if s <= we:
        W, start = wu["steps"], wu["start_lr"]
        if shape == "constant":
            return start
        if shape == "linear":
            return start + (peak - start) * s / W
        if shape == "power":
            return peak * (s / W) ** wu["power"]
        if shape == "exponential":
            return peak * (1 - math.exp(-s / wu["tau"]))
        if shape == "log":
            return start + (peak - start) * math.log(s) / math.log(W)
        die("unknown warmup shape %r" % shape)
    u = min(1.0, (s - we) / (T - we)) if T > we else 1.0  # decay progress, held at 1 past T
    end = de["end_lr"]
    if shape == "constant":
        return peak
    if shape == "cosine":
        return end + 0.5 * (peak - end) * (1 + math.cos(math.pi * u))
    if shape == "step":  # milestone m's factor applies from step m + 1
        return peak * de["gamma"] ** sum(1 for m in de["milestones"] if m < s)
    if shape == "poly":
        return end + (peak - end) * (1 - u) ** de["power"]
    if shape == "linear":
        return end + (peak - end) * (1 - u)
    if shape == "exponential":
        return peak * (end / peak) ** u
    die("unknown decay shape %r" % shape)


def load_batch(c, data_dir, step, n_train):
    """Step `step` (1-based), unshuffled, unaugmented: sample i is record ((step-1)*B + i) mod N."""
    d = c["data"]
    if d["shuffle"] or d["augment"]:
        die("the oracle needs data.shuffle: false and data.augment: false")
    recs = []
    for name in d["train"]:
        path = name if os.path.isabs(name) else os.path.join(data_dir, name)
        raw = np.fromfile(path, np.uint8)
        recs.append(raw.reshape(-1, 3073))
    recs = np.concatenate(recs)
    if d["limit_train"]:
        recs = recs[:d["limit_train"]]
    if len(recs) != n_train:
        die("data has %d records, the checkpoint says %d" % (len(recs), n_train))
    B = c["train"]["batch_size"]
    idx = (np.arange(B) + (step - 1) * B) % n_train
    r = recs[idx]
    x = r[:, 1:].reshape(B, 3, 32, 32).astype(np.float64)
    return (x - MEAN[None, :, None, None]) / STD[None, :, None, None], r[:, 0].astype(np.int64)


# ---- layers: forward returns (output, cache); backward maps the output gradient back ----

def conv_fwd(x, w, stride):  # 3x3, padding 1, no bias; summed over the 9 taps
    n, _, h, _ = x.shape
    oh = (h + 2 - 3) // stride + 1
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    z = np.zeros((n, w.shape[0], oh, oh))
    for ky in range(3):
        for kx in range(3):
            tap = xp[:, :, ky:ky + stride * oh:stride, kx:kx + stride * oh:stride]
            z += np.einsum("nchw,kc->nkhw", tap, w[:, :, ky, kx])
    return z, (xp, w, stride)


def conv_bwd(dz, cache):
    xp, w, stride = cache
    oh = dz.shape[2]
    dxp, dw = np.zeros_like(xp), np.zeros_like(w)
    for ky in range(3):
        for kx in range(3):
            sl = np.s_[:, :, ky:ky + stride * oh:stride, kx:kx + stride * oh:stride]
            dw[:, :, ky, kx] = np.einsum("nkhw,nchw->kc", dz, xp[sl])
            dxp[sl] += np.einsum("nkhw,kc->nchw", dz, w[:, :, ky, kx])
    return dxp[:, :, 1:-1, 1:-1], dw


def bn_fwd(z, gamma, beta, rmean, rvar, biased_running_var=False):
    m = z.shape[0] * z.shape[2] * z.shape[3]
    mu = z.mean(axis=(0, 2, 3))
    var = z.var(axis=(0, 2, 3))  # biased: what normalizes the batch
    xhat = (z - mu[None, :, None, None]) / np.sqrt(var + EPS)[None, :, None, None]
    run_var = var if biased_running_var else var * m / (m - 1)  # PyTorch keeps the unbiased one
    new_stats = ((1 - BN_MOM) * rmean + BN_MOM * mu, (1 - BN_MOM) * rvar + BN_MOM * run_var)
    y = gamma[None, :, None, None] * xhat + beta[None, :, None, None]
    return y, (xhat, var, gamma), new_stats


def bn_bwd(dy, cache):
    xhat, var, gamma = cache
    dgamma, dbeta = (dy * xhat).sum(axis=(0, 2, 3)), dy.sum(axis=(0, 2, 3))
    m = dy.shape[0] * dy.shape[2] * dy.shape[3]
    dxhat = dy * gamma[None, :, None, None]
    dz = (dxhat - dxhat.sum(axis=(0, 2, 3), keepdims=True) / m
          - xhat * (dxhat * xhat).sum(axis=(0, 2, 3), keepdims=True) / m) / np.sqrt(var + EPS)[None, :, None, None]
    return dz, dgamma, dbeta


def shortcut(x, c_out, pad_end=False):
    """Option A: keep every second pixel, zero-pad the new channels half before, half after."""
    s = x[:, :, ::2, ::2]
    extra = c_out - x.shape[1]
    before = 0 if pad_end else extra // 2
    return np.pad(s, ((0, 0), (before, extra - before), (0, 0), (0, 0))), before


def net_units(depth):
    """(prefix, suffix, stride) of every conv+BN unit, in forward order."""
    n = (depth - 2) // 6
    units = [("stem", "", 1)]
    for st in range(3):
        for b in range(n):
            p = "stage%d.block%d" % (st + 1, b)
            units += [(p, "1", 2 if st > 0 and b == 0 else 1), (p, "2", 1)]
    return units


def forward_backward(P, R, x, y, depth, mut=()):
    """Loss, batch error, gradients of every parameter, new BN running stats."""
    grads, stats, caches = {}, {}, {}
    units = net_units(depth)

    def unit(i, a, relu):
        pre, suf, stride = units[i]
        z, cc = conv_fwd(a, P["%s.conv%s.weight" % (pre, suf)], stride)
        bn = "%s.bn%s." % (pre, suf)
        o, bc, (rm, rv) = bn_fwd(z, P[bn + "gamma"], P[bn + "beta"], R[bn + "running_mean"],
                                 R[bn + "running_var"], "biased_running_var" in mut)
        stats[bn + "running_mean"], stats[bn + "running_var"] = rm, rv
        caches[i] = (cc, bc)
        return np.maximum(o, 0) if relu else o

    a = unit(0, x, True)
    blocks = []
    for i in range(1, len(units), 2):
        h1 = unit(i, a, True)
        h2 = unit(i + 1, h1, False)
        if h2.shape == a.shape:
            sc, before = a, None
        else:
            sc, before = shortcut(a, h2.shape[1], "shortcut_pad_end" in mut)
        out = np.maximum(h2 + sc, 0)
        blocks.append((h1, out, before, a.shape))
        a = out
    feat = a.mean(axis=(2, 3))
    logits = feat @ P["fc.weight"].T + P["fc.bias"]
    zmax = logits.max(axis=1, keepdims=True)
    logp = logits - zmax - np.log(np.exp(logits - zmax).sum(axis=1, keepdims=True))
    B = len(y)
    loss = -logp[np.arange(B), y].mean()
    err = float((logits.argmax(axis=1) != y).mean())

    dlog = np.exp(logp)
    dlog[np.arange(B), y] -= 1
    dlog /= B
    grads["fc.weight"], grads["fc.bias"] = dlog.T @ feat, dlog.sum(axis=0)
    hw = a.shape[2] * a.shape[3]
    d = np.broadcast_to((dlog @ P["fc.weight"])[:, :, None, None] / hw, a.shape).copy()

    def unit_bwd(i, dout):
        pre, suf, _ = units[i]
        cc, bc = caches[i]
        dz, grads["%s.bn%s.gamma" % (pre, suf)], grads["%s.bn%s.beta" % (pre, suf)] = bn_bwd(dout, bc)
        dx, grads["%s.conv%s.weight" % (pre, suf)] = conv_bwd(dz, cc)
        return dx

    for j in range(len(blocks) - 1, -1, -1):
        h1, out, before, in_shape = blocks[j]
        d = d * (out > 0)  # through the block's final ReLU: the gradient of the sum
        dh1 = unit_bwd(2 + 2 * j, d) * (h1 > 0)
        din = unit_bwd(1 + 2 * j, dh1)
        if before is None:
            din += d
        else:  # the shortcut's gradient: its channels back to the sampled pixels
            din[:, :, ::2, ::2] += d[:, before:before + in_shape[1]]
        d = din
    a0 = caches[1][0][0][:, :, 1:-1, 1:-1]  # the stem's ReLU output (conv1 of block 0's input)
    unit_bwd(0, d * (a0 > 0))
    return loss, err, grads, stats


def sgd(P, V, G, lr, mom, wd, nesterov):
    """torch.optim.SGD (dampening 0): d = g + wd*w; v = m*v + d; w -= lr*(nesterov ? d + m*v : v)."""
    newP, newV = {}, {}
    for k in P:
        d = G[k] + wd * P[k]
        newV[k] = mom * V[k] + d
        newP[k] = P[k] - lr * (d + mom * newV[k] if nesterov else newV[k])
    return newP, newV


def gradcheck(P, R, x, y, depth):
    """Central differences of the oracle's own loss along one random direction per tensor."""
    rng, worst = np.random.default_rng(0), 0.0
    _, _, G, _ = forward_backward(P, R, x, y, depth)
    for k in P:
        u = rng.standard_normal(P[k].shape)
        u /= np.abs(u).max()
        h = 1e-7  # small: a conv perturbation moves many ReLU inputs, and a step across a kink biases the difference
        f = [forward_backward({**P, k: P[k] + s * h * u}, R, x, y, depth)[0] for s in (1, -1)]
        num, ana = (f[0] - f[1]) / (2 * h), float((G[k] * u).sum())
        worst = max(worst, abs(num - ana) / max(abs(ana), 1e-6))
    return worst


def relerr(a, b):
    scale = np.abs(b).max()
    return np.abs(a - b).max() / (scale if scale > 0 else 1.0)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("run_dir"); ap.add_argument("ckpt_k"); ap.add_argument("ckpt_k1")
    ap.add_argument("--data-dir", help="where data.train lives (default: config's data.dir, "
                    "which is relative to the folder the run was started in)")
    ap.add_argument("--tol", type=float, default=2e-4, help="per-tensor relative tolerance (the docstring says why)")
    ap.add_argument("--mutant", choices=MUTANTS, help="a deliberately wrong oracle, for the self-check only")
    ap.add_argument("--gradcheck", action="store_true")
    ap.add_argument("--no-metrics", action="store_true", help="skip the metrics.csv cross-checks")
    a = ap.parse_args()
    mut = (a.mutant,) if a.mutant else ()
    c = read_config(os.path.join(a.run_dir, "config.yaml"))
    h0, t0 = read_checkpoint(a.ckpt_k)
    h1, t1 = read_checkpoint(a.ckpt_k1)
    K, depth = h0["step"], h0["depth"]
    if h1["step"] != K + 1:
        die("checkpoints hold steps %d and %d, not consecutive" % (K, h1["step"]))
    P = {k: v for k, v in t0.items() if not k.startswith("momentum.") and ".running_" not in k}
    R = {k: v for k, v in t0.items() if ".running_" in k}
    V = {k: t0["momentum." + k] for k in P}
    x, y = load_batch(c, a.data_dir or c["data"]["dir"], K + 1, h0["n_train"])
    o = c["optim"]
    lr = sched_lr(c, K if "lr_prev_step" in mut else K + 1, h0["warmup_end"])
    failed = []

    def check(what, ok, detail):
        print("%-4s %s: %s" % ("ok" if ok else "FAIL", what, detail))
        if not ok:
            failed.append(what)

    metrics = {}
    mpath = os.path.join(a.run_dir, "metrics.csv")
    if os.path.exists(mpath) and not a.no_metrics:  # cross-checks only: the oracle computes the rate itself
        rows = [l.strip().split(",") for l in open(mpath)]
        metrics = {int(r[0]): dict(zip(rows[0], map(float, r))) for r in rows[1:] if len(r) == len(rows[0])}
    loss, err, G, S = forward_backward(P, R, x, y, depth, mut)
    nest = o["nesterov"] and "no_nesterov" not in mut
    newP, newV = sgd(P, V, G, lr, o["momentum"], 0.0 if "no_weight_decay" in mut else o["weight_decay"], nest)
    gnorm = math.sqrt(sum((g * g).sum() for g in G.values()))  # of the loss alone, before weight decay
    print("step %d -> %d: lr %.9g, loss %.7f, batch error %.4f, |g| %.6g%s" % (
        K, K + 1, lr, loss, err, gnorm, " (mutant: %s)" % a.mutant if mut else ""))
    if K + 1 in metrics:
        m = metrics[K + 1]
        check("lr vs metrics.csv", abs(m["lr"] - lr) <= 1e-6 * lr, "%.9g vs %.9g" % (lr, m["lr"]))
        check("loss vs metrics.csv", abs(m["loss"] - loss) <= 1e-4 * max(1, loss), "%.7f vs %.7f" % (loss, m["loss"]))
        check("gradient norm vs metrics.csv", abs(m["grad_norm"] - gnorm) <= 1e-4 * gnorm,
              "%.7g vs %.7g" % (gnorm, m["grad_norm"]))
    # The header's scheduler state: running training error (EMA factor 0.1) and He's rule.
    ema = err if h0["train_error"] < 0 else 0.9 * h0["train_error"] + 0.1 * err
    we = K + 1 if K + 1 < h0["warmup_end"] and ema < c["schedule"]["warmup"]["until_train_error"] else h0["warmup_end"]
    check("header train_error", abs(h1["train_error"] - ema) < 1e-9, "%.6f vs %.6f" % (ema, h1["train_error"]))
    check("header warmup_end, skipped", (h1["warmup_end"], h1["skipped"]) == (we, h0["skipped"]),
          "%d, %d vs %d, %d" % (we, h0["skipped"], h1["warmup_end"], h1["skipped"]))
    if a.gradcheck:
        g = gradcheck(P, R, x, y, depth)
        check("oracle gradient vs finite differences", g < 1e-4, "worst relative %.2e" % g)

    # Compare values, and the step's change (new - old): the change isolates the update,
    # which the values alone would hide under the unchanged bulk of the weights. The
    # stored changes are differences of two fp32 numbers, so they carry up to about two
    # fp32 roundings of the values (2 * 2^-23 * max|value|) whatever the arithmetic did:
    # that floor is allowed on top of the relative tolerance.
    groups = {}
    mine = {**newP, **S, **{"momentum." + k: v for k, v in newV.items()}}
    for name in sorted(set(t1) | set(mine)):
        if name not in mine or name not in t1 or name not in t0:
            check(name, False, "in only one of the oracle's state and the checkpoints")
            continue
        da, db = mine[name] - t0[name], t1[name] - t0[name]
        floor = 2 * 2.0 ** -23 * max(np.abs(t0[name]).max(), np.abs(t1[name]).max())
        ev, ed = relerr(mine[name], t1[name]), relerr(da, db)
        ok = ev <= a.tol and np.abs(da - db).max() <= a.tol * np.abs(db).max() + floor
        grp = "momentum" if name.startswith("momentum.") else "bn running stats" if ".running_" in name else "parameters"
        net = max(0.0, np.abs(da - db).max() - floor) / max(np.abs(db).max(), 1e-300)
        prev = groups.setdefault(grp, [0, 0, 0, ""])
        prev[0], prev[2] = max(prev[0], ev), max(prev[2], net)
        if ed >= prev[1]:
            prev[1], prev[3] = ed, name
        if not ok:
            check(name, False, "relative error: value %.2e, change %.2e (fp32 floor %.1e)" % (
                ev, ed, floor / max(np.abs(db).max(), 1e-300)))
    for grp, (ev, ed, net, worst) in sorted(groups.items()):
        print("     %-16s worst relative error: value %.2e, change %.2e (%s), change beyond the fp32 floor %.2e"
              % (grp, ev, ed, worst, net))
    print("tolerance %.0e: %s" % (a.tol, "MISMATCH in %d check(s)" % len(failed) if failed else "match"))
    return 1 if failed else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (KeyError, OSError, ValueError) as e:  # a missing tensor or key, an unreadable file
        die("%s: %s" % (type(e).__name__, e))
