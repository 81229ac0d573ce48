"""Write the ONNX files of tests/onnx/test_onnx_zoo.py: the model-zoo architectures (AlexNet, VGG,
ResNet-50, SqueezeNet, Inception, DenseNet, ShuffleNet) as torchvision defines them, with
seeded random weights, narrowed so that each file stays small, exported with
torch.onnx.export (the TorchScript exporter, dynamo=False: the new one needs onnxscript).

Narrowing keeps each architecture: the same layers, kernels, strides, paddings, groups and
connections, with fewer channels. DenseNet-121 and ShuffleNetV2 take their widths as
constructor arguments; the others have fixed widths, so every convolution, linear layer and
batch norm is rebuilt with its channel counts divided by a factor (the image's 3 channels and
the classes excepted). Batch norms get random affine parameters and running statistics
measured on one random batch, so that activations keep their scale through 50-120 layers.

Two sets, each input named "x" with a symbolic batch "N", the output "y":
- <name>.onnx: opset 17, as torch exports models today;
- <name>-opset<k>.onnx: the older opsets the ONNX model zoo's files use (7-9: BatchNormalization
  with its `spatial` attribute, Gemm with transB, pooling without ceil_mode), in the form of
  the zoo's files converted from Caffe2 and MXNet (zoo_style: Dropout, Reshape to [0, -1],
  Sum, a Softmax output, and LRN in AlexNet and GoogLeNet as BVLC's versions have it).

Needs torch (and torchvision's model definitions, loaded by graphc.nn.models.torchvision_models);
the tests need only onnx and onnxruntime.

    python tests/onnx/zoo/generate.py            # all files, into this directory
    python tests/onnx/zoo/generate.py --only resnet50
"""
from __future__ import annotations

import argparse
import io
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import onnx
import torch
from onnx import helper, numpy_helper
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
from graphc.nn.models import torchvision_models  # noqa: E402

HERE = Path(__file__).resolve().parent
CLASSES = 10
IMAGE_CHANNELS = 3


@dataclass(frozen=True)
class Network:
    """How to build one network: its constructor (given torchvision.models), the factor its
    fixed widths are divided by (1: the constructor's arguments already narrow it), the input
    image's side, the older opset of its zoo-style copy (None: none) and whether that copy
    has LRN nodes (see zoo_style)."""

    build: Callable[[object], nn.Module]
    narrow_by: int
    side: int
    old_opset: int | None = None
    lrn: bool = False


NETWORKS = {
    # AdaptiveAvgPool2d((6, 6)) and ((7, 7)) export only when the feature map is a multiple of
    # their output: 224 pixels gives 6x6 for AlexNet and 7x7 for VGG.
    "alexnet": Network(lambda tv: tv.alexnet(num_classes=CLASSES), 32, 224, old_opset=7, lrn=True),
    "vgg11": Network(lambda tv: tv.vgg11(num_classes=CLASSES), 32, 224),
    "vgg16_bn": Network(lambda tv: tv.vgg16_bn(num_classes=CLASSES), 32, 224, old_opset=8),
    "resnet50": Network(lambda tv: tv.resnet50(num_classes=CLASSES), 8, 64, old_opset=7),
    "squeezenet1_0": Network(lambda tv: tv.squeezenet1_0(num_classes=CLASSES), 4, 64),
    "squeezenet1_1": Network(lambda tv: tv.squeezenet1_1(num_classes=CLASSES), 4, 64, old_opset=9),
    # Inception v3 at its smallest input, 75 pixels.
    "inception_v3": Network(lambda tv: tv.inception_v3(num_classes=CLASSES, aux_logits=False, init_weights=True),
                            8, 75),
    "googlenet": Network(lambda tv: tv.googlenet(num_classes=CLASSES, aux_logits=False, init_weights=True), 8, 64,
                         old_opset=9, lrn=True),
    # DenseNet-121's blocks (6, 12, 24, 16) with growth rate 4 and 8 initial features.
    "densenet121": Network(lambda tv: tv.densenet.DenseNet(4, (6, 12, 24, 16), 8, num_classes=CLASSES), 1, 64,
                           old_opset=9),
    # ShuffleNetV2's stages (4, 8, 4 blocks), a third of x0.5's channels (24, 48, 96, 192, 1024).
    "shufflenet_v2": Network(lambda tv: tv.shufflenetv2.ShuffleNetV2([4, 8, 4], [8, 16, 32, 64, 128],
                                                                     num_classes=CLASSES), 1, 64, old_opset=9),
}


def narrowed_channels(count: int, factor: int) -> int:
    """`count` divided by `factor`, except the image's channels and the classes."""
    if count in (IMAGE_CHANNELS, CLASSES):
        return count
    if count % factor:
        raise ValueError(f"{count} channels are not a multiple of the factor {factor}")
    return count // factor


def narrowed_layer(layer: nn.Module, factor: int) -> nn.Module:
    """A new layer like `layer` (a convolution, linear layer or batch norm) with its channel
    counts narrowed; any other module unchanged."""
    if isinstance(layer, nn.Conv2d):
        cin, cout = narrowed_channels(layer.in_channels, factor), narrowed_channels(layer.out_channels, factor)
        groups = cin if layer.groups == layer.in_channels > 1 else layer.groups
        return nn.Conv2d(cin, cout, layer.kernel_size, layer.stride, layer.padding, layer.dilation, groups,
                         layer.bias is not None)
    if isinstance(layer, nn.Linear):
        return nn.Linear(narrowed_channels(layer.in_features, factor), narrowed_channels(layer.out_features, factor),
                         layer.bias is not None)
    if isinstance(layer, nn.BatchNorm2d):
        return nn.BatchNorm2d(narrowed_channels(layer.num_features, factor), layer.eps)
    return layer


def narrow(net: nn.Module, factor: int) -> nn.Module:
    """`net` with every convolution, linear layer and batch norm narrowed by `factor` (in place)."""
    if factor == 1:
        return net
    for module in list(net.modules()):
        for child_name, child in list(module.named_children()):
            replacement = narrowed_layer(child, factor)
            if replacement is not child:
                setattr(module, child_name, replacement)
    return net


def randomize_batch_norms(net: nn.Module, side: int) -> None:
    """Random affine parameters, and running statistics measured on one random batch (so that
    inference normalises as training would have)."""
    for module in net.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.weight.data.uniform_(0.5, 1.5)
            module.bias.data.uniform_(-0.5, 0.5)
            module.reset_running_stats()
            module.momentum = None  # a cumulative average: the one batch's statistics
    net.train()
    with torch.no_grad():
        net(torch.randn(8, IMAGE_CHANNELS, side, side))
    net.eval()


def built(name: str, seed: int = 0) -> nn.Module:
    """The narrowed network `name` with seeded random weights, in inference mode."""
    spec = NETWORKS[name]
    torch.manual_seed(seed)
    net = narrow(spec.build(torchvision_models()), spec.narrow_by)
    randomize_batch_norms(net, spec.side)
    return net


def exported(net: nn.Module, side: int, opset: int) -> onnx.ModelProto:
    """`net` as an ONNX model with input x of symbolic batch N, output y; parameters are named
    as in its state dict, and batch norms stay nodes (no constant folding into the
    convolutions), as in the zoo's files."""
    buffer = io.BytesIO()
    example = torch.randn(1, IMAGE_CHANNELS, side, side)
    with warnings.catch_warnings():  # the TorchScript exporter is deprecated
        warnings.simplefilter("ignore")
        torch.onnx.export(net, (example,), buffer, dynamo=False, opset_version=opset, input_names=["x"],
                          output_names=["y"], dynamic_axes={"x": {0: "N"}, "y": {0: "N"}},
                          do_constant_folding=False)
    return onnx.load_from_string(buffer.getvalue())


def zoo_style(model: onnx.ModelProto, lrn: bool) -> onnx.ModelProto:
    """`model` (opset 7-9) in the form of the zoo's files converted from Caffe2 and MXNet,
    which an eval-mode export from torch lacks: a Dropout (ratio 0.5, an attribute before
    opset 10; the identity in inference) before each Gemm fed by a Relu; Flatten as Reshape
    to [0, -1] (copy the batch, infer the rest); additions as Sum; BatchNormalization's
    `spatial` attribute before opset 9; a Softmax of the logits (the 2-D form of opset < 13)
    as the output; and, if `lrn`, an LRN between each of the first two Relu -> MaxPool pairs
    (size 5, beta 0.75, bias 1 as in BVLC's models; alpha 0.1 rather than 1e-4, so that it
    changes these narrow networks' activations)."""
    graph = model.graph
    produced_by_relu = {node.output[0] for node in graph.node if node.op_type == "Relu"}
    opset = model.opset_import[0].version
    nodes, normalised = [], 0
    for node in graph.node:
        if node.op_type == "Gemm" and node.input[0] in produced_by_relu:
            dropped = node.input[0] + "_dropout"
            nodes.append(helper.make_node("Dropout", [node.input[0]], [dropped], name=dropped, ratio=0.5))
            node.input[0] = dropped
        if node.op_type == "MaxPool" and node.input[0] in produced_by_relu and lrn and normalised < 2:
            norm = node.input[0] + "_lrn"
            nodes.append(helper.make_node("LRN", [node.input[0]], [norm], name=norm, size=5, alpha=0.1, beta=0.75,
                                          bias=1.0))
            node.input[0], normalised = norm, normalised + 1
        if node.op_type == "BatchNormalization" and opset < 9:
            node.attribute.append(helper.make_attribute("spatial", 1))
        if node.op_type == "Flatten":
            shape = node.name + "_shape"
            graph.initializer.append(numpy_helper.from_array(np.array([0, -1], np.int64), shape))
            if model.ir_version < 4:  # initializers are graph inputs too
                graph.input.append(helper.make_tensor_value_info(shape, onnx.TensorProto.INT64, [2]))
            node = helper.make_node("Reshape", [node.input[0], shape], list(node.output), name=node.name)
        if node.op_type == "Add":
            node = helper.make_node("Sum", list(node.input), list(node.output), name=node.name)
        nodes.append(node)
    output = graph.output[0].name
    for node in nodes:
        node.output[:] = [output + "_logits" if o == output else o for o in node.output]
    nodes.append(helper.make_node("Softmax", [output + "_logits"], [output], name="softmax"))
    del graph.node[:]
    graph.node.extend(nodes)
    return model


def write(name: str) -> list[Path]:
    spec = NETWORKS[name]
    net = built(name)
    written = []
    models = {HERE / f"{name}.onnx": exported(net, spec.side, 17)}
    if spec.old_opset is not None:
        old = exported(net, spec.side, spec.old_opset)
        models[HERE / f"{name}-opset{spec.old_opset}.onnx"] = zoo_style(old, spec.lrn)
    for path, model in models.items():
        onnx.checker.check_model(model, full_check=True)
        path.write_bytes(model.SerializeToString())
        written.append(path)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", choices=sorted(NETWORKS), help="networks to write (default: all)")
    args = parser.parse_args()
    for name in args.only or NETWORKS:
        for path in write(name):
            print(f"{path.name}: {path.stat().st_size / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
