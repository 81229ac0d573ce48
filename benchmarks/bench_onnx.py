"""Imported ONNX models: graphc against onnxruntime, 1 thread, batch 1 and 16.

The models (ResNet-18, MobileNetV2 and SqueezeNet 1.1 as torchvision defines them, random
weights, 3x224x224) are written here in torch and exported with torch.onnx.export (opset
17); torchvision itself is not needed. For each model the script reports the import time
(gc.onnx.load), the compile time of the inference function (gc.function and its first
call, cold disk cache), and the median time of --repeats inference calls after a warm-up,
for graphc (GRAPHC_NUM_THREADS=1) and onnxruntime (intra_op_num_threads=1), and checks that
the outputs agree (relative 1e-3): graphc.onnx.bench.time_model, as `graphc bench` does.

    python benchmarks/bench_onnx.py                         # all models, batch 1 and 16
    python benchmarks/bench_onnx.py --only resnet18 --batch 1 --repeats 5
"""
from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
import warnings
from pathlib import Path

os.environ.setdefault("GRAPHC_NUM_THREADS", "1")
os.environ.setdefault("GRAPHC_CACHE_DIR", tempfile.mkdtemp(prefix="graphc-bench-onnx-"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402
from torch import nn  # noqa: E402

import graphc as gc  # noqa: E402
from graphc.onnx.bench import time_model  # noqa: E402


def conv_bn(cin: int, cout: int, k: int, stride: int = 1, groups: int = 1, relu: str = "relu") -> nn.Sequential:
    layers = [nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False), nn.BatchNorm2d(cout)]
    return nn.Sequential(*layers, {"relu": nn.ReLU(), "relu6": nn.ReLU6(), "none": nn.Identity()}[relu])


class Basic(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.body = nn.Sequential(conv_bn(cin, cout, 3, stride), conv_bn(cout, cout, 3, relu="none"))
        self.skip = conv_bn(cin, cout, 1, stride, relu="none") if stride != 1 or cin != cout else nn.Identity()

    def forward(self, x):
        return torch.relu(self.body(x) + self.skip(x))


def resnet18() -> nn.Module:
    stages, cin = [], 64
    for cout, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
        stages += [Basic(cin, cout, stride), Basic(cout, cout, 1)]
        cin = cout
    return nn.Sequential(conv_bn(3, 64, 7, 2), nn.MaxPool2d(3, 2, 1), *stages, nn.AdaptiveAvgPool2d(1),
                         nn.Flatten(), nn.Linear(512, 1000))


class Inverted(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int, expand: int):
        super().__init__()
        hidden = cin * expand
        layers = [conv_bn(cin, hidden, 1, relu="relu6")] if expand != 1 else []
        layers += [conv_bn(hidden, hidden, 3, stride, groups=hidden, relu="relu6"),
                   conv_bn(hidden, cout, 1, relu="none")]
        self.body, self.residual = nn.Sequential(*layers), stride == 1 and cin == cout

    def forward(self, x):
        return x + self.body(x) if self.residual else self.body(x)


def mobilenet_v2() -> nn.Module:
    blocks, cin = [conv_bn(3, 32, 3, 2, relu="relu6")], 32
    for expand, cout, repeats, stride in ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
                                          (6, 160, 3, 2), (6, 320, 1, 1)):
        for i in range(repeats):
            blocks.append(Inverted(cin, cout, stride if i == 0 else 1, expand))
            cin = cout
    return nn.Sequential(*blocks, conv_bn(320, 1280, 1, relu="relu6"), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Linear(1280, 1000))


class Fire(nn.Module):
    def __init__(self, cin: int, squeeze: int, expand: int):
        super().__init__()
        self.squeeze = nn.Sequential(nn.Conv2d(cin, squeeze, 1), nn.ReLU())
        self.e1 = nn.Sequential(nn.Conv2d(squeeze, expand, 1), nn.ReLU())
        self.e3 = nn.Sequential(nn.Conv2d(squeeze, expand, 3, padding=1), nn.ReLU())

    def forward(self, x):
        s = self.squeeze(x)
        return torch.cat([self.e1(s), self.e3(s)], 1)


def squeezenet() -> nn.Module:
    pool = lambda: nn.MaxPool2d(3, 2, ceil_mode=True)  # noqa: E731
    return nn.Sequential(nn.Conv2d(3, 64, 3, 2), nn.ReLU(), pool(), Fire(64, 16, 64), Fire(128, 16, 64), pool(),
                         Fire(128, 32, 128), Fire(256, 32, 128), pool(), Fire(256, 48, 192), Fire(384, 48, 192),
                         Fire(384, 64, 256), Fire(512, 64, 256), nn.Conv2d(512, 1000, 1), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten())


MODELS = {"resnet18": resnet18, "mobilenet_v2": mobilenet_v2, "squeezenet": squeezenet}


def export(name: str, batch: int) -> bytes:
    torch.manual_seed(0)
    net = MODELS[name]().eval()
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(net, (torch.zeros(batch, 3, 224, 224),), buffer, dynamo=False, opset_version=17,
                          input_names=["x"], output_names=["y"])
    return buffer.getvalue()


def measure(name: str, batch: int, repeats: int) -> str:
    model = gc.onnx.load(export(name, batch))
    convs = sum(n.op_type in ("Conv", "ConvTranspose") for n in model.proto.graph.node)
    t = time_model(model.proto, batch, repeats)
    assert t.max_relative_difference < 1e-3, t
    return (f"| {name} | {batch} | {convs} | {t.import_s:.2f} | {t.compile_s:.1f} | {t.graphc_ms:.1f} | "
            f"{t.onnxruntime_ms:.1f} | {t.onnxruntime_ms / t.graphc_ms:.2f}x |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=sorted(MODELS), action="append")
    parser.add_argument("--batch", type=int, action="append")
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()
    print("| model | batch | convs | import s | compile s | graphc ms | onnxruntime ms | speed vs onnxruntime |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for name in args.only or MODELS:
        for batch in args.batch or (1, 16):
            print(measure(name, batch, args.repeats), flush=True)


if __name__ == "__main__":
    main()
