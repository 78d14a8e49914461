#!/usr/bin/python3
"""Exports small face-embedding-shaped torch models to ONNX exactly as torch.onnx.export writes them, so that
the importer is tested on real exporter output (test/onnx_torch.test.ts runs this into a temp dir).

Usage: /usr/bin/python3 scripts/export-torch-models.py OUT_DIR [SIZE]
Needs torch, torchvision and onnx (Debian: python3-torch python3-torchvision python3-onnx). Weights are random
(seeded); every model ends in a 128-d head and F.normalize, like a face-embedding network.
"""
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision


class Embedder(nn.Module):
    """A backbone with a 128-d head, L2-normalised as face networks' embeddings are."""

    def __init__(self, backbone):
        super().__init__()
        self.backbone = backbone

    def forward(self, x):
        return F.normalize(self.backbone(x), dim=1)


class PadShortcut(nn.Module):
    """A ResNet block whose shortcut subsamples and zero-pads channels with F.pad (the CIFAR 'option A')."""

    def __init__(self, cin, cout):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, 2, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.extra = cout - cin

    def forward(self, x):
        y = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        s = x[:, :, ::2, ::2]
        # Pads computed from the tensor's shape, the way option-A shortcuts write it.
        pad = (x.shape[1] * 0 + self.extra) // 2
        s = F.pad(s, (0, 0, 0, 0, pad, self.extra - pad))
        return F.relu(y + s)


class PadNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, 1, 1)
        self.block = PadShortcut(8, 16)
        self.fc = nn.Linear(16, 128)

    def forward(self, x):
        x = self.block(F.relu(self.stem(x)))
        return F.normalize(self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)), dim=1)


class MobileFaceBlock(nn.Module):
    """MobileFaceNet's pieces: conv-BN-PReLU, a depthwise bottleneck with a residual, a global depthwise conv
    (a kernel as large as the map, here non-square), a linear 128-d embedding with BatchNorm1d."""

    def __init__(self, size):
        super().__init__()
        self.conv1 = nn.Sequential(nn.Conv2d(3, 16, 3, 2, 1, bias=False), nn.BatchNorm2d(16), nn.PReLU(16))
        self.dw = nn.Sequential(nn.Conv2d(16, 16, 3, 1, 1, groups=16, bias=False), nn.BatchNorm2d(16), nn.PReLU(16))
        self.expand = nn.Sequential(nn.Conv2d(16, 32, 1, bias=False), nn.BatchNorm2d(32), nn.PReLU(32))
        self.dw2 = nn.Sequential(nn.Conv2d(32, 32, 3, 1, 1, groups=32, bias=False), nn.BatchNorm2d(32), nn.PReLU(32))
        self.project = nn.Sequential(nn.Conv2d(32, 16, 1, bias=False), nn.BatchNorm2d(16))
        self.pool = nn.Conv2d(16, 16, (size // 8, size // 4), stride=(size // 8, size // 4), groups=16, bias=False)
        self.down = nn.Conv2d(16, 16, (3, 1), stride=2, padding=(1, 0), bias=False)
        self.linear = nn.Linear(16 * 2, 128, bias=False)
        self.bn = nn.BatchNorm1d(128)

    def forward(self, x):
        x = self.dw(self.conv1(x))
        x = x + self.project(self.dw2(self.expand(x)))
        x = self.pool(self.down(x))
        return F.normalize(self.bn(self.linear(x.reshape(x.shape[0], -1))), dim=1)


def calibrate(model, size, gen):
    """BatchNorm statistics measured on random images (as training would leave them), so activations keep a
    unit scale through the depth and the embedding depends on the input; fresh statistics would let ReLU6 and
    friends saturate and the input gradient vanish. PReLU slopes random."""
    for m in model.modules():
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            m.reset_running_stats()
            m.momentum = None
            m.weight.data.copy_(torch.rand(m.weight.shape, generator=gen) + 0.5)
            m.bias.data.copy_(torch.randn(m.bias.shape, generator=gen) * 0.1)
        if isinstance(m, nn.PReLU):
            m.weight.data.copy_(torch.rand(m.weight.shape, generator=gen) * 0.5)
    model.train()
    with torch.no_grad():
        model(torch.rand(16, 3, size, size, generator=gen) * 2 - 1)
    model.eval()


def export(model, path, size, opset):
    model.eval()
    x = torch.randn(1, 3, size, size)
    with torch.no_grad():
        torch.onnx.export(
            model, x, path, opset_version=opset, input_names=["input"], output_names=["embedding"],
            dynamic_axes={"input": {0: "N"}, "embedding": {0: "N"}}, do_constant_folding=True,
        )


def main():
    out = sys.argv[1]
    size = int(sys.argv[2]) if len(sys.argv) > 2 else 64
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(0)
    resnet = Embedder(torchvision.models.resnet18(num_classes=128))
    mobilenet = Embedder(torchvision.models.mobilenet_v2(num_classes=128))
    padnet = PadNet()
    mobileface = MobileFaceBlock(size)
    for m in (resnet, mobilenet, padnet, mobileface):
        calibrate(m, size, gen)
    for opset in (11, 13, 17):
        export(resnet, os.path.join(out, f"resnet18_op{opset}.onnx"), size, opset)
        export(mobilenet, os.path.join(out, f"mobilenetv2_op{opset}.onnx"), size, opset)
    export(padnet, os.path.join(out, "pad_shortcut_op13.onnx"), size, 13)
    export(mobileface, os.path.join(out, "mobileface_block_op13.onnx"), size, 13)
    export(mobileface, os.path.join(out, "mobileface_block_op9.onnx"), size, 9)


if __name__ == "__main__":
    main()
