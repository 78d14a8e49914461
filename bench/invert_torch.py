#!/usr/bin/env python3
"""The PyTorch peer of bench/invert.ts (CPU, or CUDA with --device cuda): the same network (face-api's dlib ResNet, rebuilt here from the
same weights, which bench/invert.ts exports), the same loss and the same optimiser, timed per iteration.

Usage: python3 bench/invert_torch.py <dir written by bench/invert.ts> [--device cuda] <batch> [<batch> ...]
Prints one JSON line per batch size: {"batch", "ms_per_iteration", "max_embedding_diff", ...}. On CUDA the step
is timed twice: in strict float32 (TF32 off, as faceinv computes) and with PyTorch's defaults (cuDNN's
convolutions in TF32), "ms_per_iteration_tf32".
Needs Debian's python3-torch (apt-get install python3-torch), which installs into /usr/bin/python3."""
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

MEAN = torch.tensor([122.782, 117.001, 104.298]).view(1, 3, 1, 1)


def load(dirname, device):
    manifest = json.load(open(f"{dirname}/manifest.json"))
    blob = np.fromfile(f"{dirname}/weights.bin", dtype=np.float32)
    w = {}
    for e in manifest["weights"]:
        a = blob[e["offset"]: e["offset"] + int(np.prod(e["shape"]))].reshape(e["shape"])
        t = torch.from_numpy(a.copy())
        # tfjs conv filters are HWIO; torch wants OIHW. Per-channel vectors stay as they are.
        w[e["name"]] = (t.permute(3, 2, 0, 1).contiguous() if t.dim() == 4 else t).to(device)
    data = {k: np.fromfile(f"{dirname}/{k}.bin", dtype=np.float32).reshape(v) for k, v in manifest["arrays"].items()}
    return w, data, manifest


def conv_layer(w, x, p, stride, relu, padding):
    out = F.conv2d(x, w[f"{p}/conv/filters"], w[f"{p}/conv/bias"], stride=stride, padding=padding)
    out = out * w[f"{p}/scale/weights"].view(1, -1, 1, 1) + w[f"{p}/scale/biases"].view(1, -1, 1, 1)
    return F.relu(out) if relu else out


def residual(w, x, p):
    out = conv_layer(w, x, f"{p}/conv1", 1, True, 1)
    out = conv_layer(w, out, f"{p}/conv2", 1, False, 1)
    return F.relu(out + x)


def residual_down(w, x, p):
    out = conv_layer(w, x, f"{p}/conv1", 2, True, 0)
    out = conv_layer(w, out, f"{p}/conv2", 1, False, 1)
    pooled = F.avg_pool2d(x, 2, 2)
    if pooled.shape[2] != out.shape[2] or pooled.shape[3] != out.shape[3]:
        out = F.pad(out, (0, pooled.shape[3] - out.shape[3], 0, pooled.shape[2] - out.shape[2]))
    if pooled.shape[1] != out.shape[1]:
        pooled = F.pad(pooled, (0, 0, 0, 0, 0, out.shape[1] - pooled.shape[1]))
    return F.relu(pooled + out)


def forward(w, pixels, taps):
    """pixels: NCHW 0..255. Returns the embedding and the outputs of the named blocks."""
    got = {}
    x = (pixels - MEAN.to(pixels.device)) / 255.0
    out = conv_layer(w, x, "conv32_down", 2, True, 0)
    out = F.max_pool2d(out, 3, 2)
    blocks = [["conv32_1", "conv32_2", "conv32_3"], ["conv64_1", "conv64_2", "conv64_3"], ["conv128_1", "conv128_2"], ["conv256_1", "conv256_2"]]
    downs = ["conv64_down", "conv128_down", "conv256_down", "conv256_down_out"]
    for i, group in enumerate(blocks):
        for b in group:
            out = residual(w, out, b)
            if b in taps:
                got[b] = out
        out = residual_down(w, out, downs[i])
    return out.mean(dim=(2, 3)) @ w["fc"], got


K = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0])
K = (K[:, None] * K[None, :] / 256.0).view(1, 1, 5, 5).repeat(3, 1, 1, 1)


def lap_normalize(g, levels=4, eps=1e-10):
    """Deepdream's Laplacian-pyramid normalisation, per batch item, as in faceinv's lapNormalize."""
    bands = []
    cur = g
    for _ in range(levels):
        h, w_ = cur.shape[2], cur.shape[3]
        k = K.to(g.device)
        lo = F.conv2d(cur, k, stride=2, padding=2, groups=3)
        up = F.conv_transpose2d(lo, 4 * k, stride=2, padding=2, groups=3, output_padding=(1 - h % 2, 1 - w_ % 2))
        bands.append(cur - up[:, :, :h, :w_])
        cur = lo
    bands.append(cur)
    bands = [b / torch.clamp(b.pow(2).mean(dim=(1, 2, 3), keepdim=True).sqrt(), min=eps) for b in bands]
    out = bands[-1]
    for b in reversed(bands[:-1]):
        h, w_ = b.shape[2], b.shape[3]
        up = F.conv_transpose2d(out, 4 * K.to(g.device), stride=2, padding=2, groups=3, output_padding=(1 - h % 2, 1 - w_ % 2))
        out = b + up[:, :, :h, :w_]
    return out


def time_steps(step, s, device):
    """Milliseconds per step after the warm-up steps, the device drained before each clock reading."""
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    for _ in range(s["warmup"]):
        step()
    sync()
    t0 = time.perf_counter()
    for _ in range(s["timed"]):
        step()
    sync()
    return (time.perf_counter() - t0) * 1000 / s["timed"]


def main():
    args = sys.argv[1:]
    device = torch.device("cpu")
    if "--device" in args:
        i = args.index("--device")
        device = torch.device(args[i + 1])
        del args[i:i + 2]
    dirname = args[0]
    batches = [int(b) for b in args[1:]]
    w, data, manifest = load(dirname, device)
    s = manifest["settings"]
    layers = s["guide_layers"]
    torch.manual_seed(0)
    # Every core, as a user's PyTorch would use them (Debian's build otherwise starts with one thread here).
    torch.set_num_threads(os.cpu_count() or 1)
    for n in batches:
        guide = torch.from_numpy(data["guide"]).to(device).repeat(n, 1, 1, 1)
        target = torch.from_numpy(data["target"]).to(device).repeat(n, 1)
        with torch.no_grad():
            emb, guide_acts = forward(w, guide, layers)
        diff = float((emb[0].cpu() - torch.from_numpy(data["guide_embedding"][0])).abs().max())
        if diff > 1e-3:
            raise SystemExit(f"the PyTorch network disagrees with faceinv by {diff} on the guide's embedding")
        p = guide.clone().requires_grad_(True)
        opt = torch.optim.Adam([p], lr=s["lr"])

        def step():
            opt.zero_grad()
            e, acts = forward(w, p, layers)
            loss = ((e - target) ** 2).sum()
            for layer in layers:
                loss = loss + s["guide_weight"] * ((acts[layer] - guide_acts[layer]) ** 2).mean(dim=(1, 2, 3)).sum()
            u = p / 255.0
            tv = ((u[:, :, :, 1:] - u[:, :, :, :-1]) ** 2).sum() + ((u[:, :, 1:, :] - u[:, :, :-1, :]) ** 2).sum()
            loss = loss + s["tv_weight"] * tv
            loss.backward()
            with torch.no_grad():
                p.grad.copy_(lap_normalize(p.grad, s["lap_levels"]))
            opt.step()
            with torch.no_grad():
                p.clamp_(0, 255)

        row = {"batch": n, "device": str(device), "max_embedding_diff": diff, "threads": torch.get_num_threads()}
        if device.type == "cuda":
            torch.backends.cudnn.allow_tf32 = False
            torch.backends.cuda.matmul.allow_tf32 = False
            row["ms_per_iteration"] = round(time_steps(step, s, device), 3)
            torch.backends.cudnn.allow_tf32 = True
            row["ms_per_iteration_tf32"] = round(time_steps(step, s, device), 3)
            row["gpu"] = torch.cuda.get_device_name(device)
        else:
            row["ms_per_iteration"] = round(time_steps(step, s, device), 3)
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
