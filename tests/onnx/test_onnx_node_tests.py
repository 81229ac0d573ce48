"""onnx's own backend tests (onnx.backend.test: the node tests and the small stored models,
simple, pytorch-converted and pytorch-operator) run against graphc.onnx.backend, for every
test whose model uses only operators graphc imports, at opset 7 or later. What graphc does not support is excluded
below by pattern, each with its reason; everything else must pass."""
from __future__ import annotations

import os
import warnings
from typing import Optional

import onnx_helpers  # noqa: F401 - skips without onnx and onnxruntime
import onnx.backend.test
from onnx.backend.test.loader import load_model_tests

from graphc.onnx import supported_ops
from graphc.onnx.backend import GraphcBackend
from graphc.onnx.model import OLDEST_OPSET

#: pattern (a regular expression on the test name) -> why graphc does not pass it.
EXCLUDED = {
    r"(?i)(float16|fp16|bfloat16|float8|float4e2m1|e8m0|_u?int4|_u?int2(_|$)|_u?int8|_u?int16|_uint32|_uint64|string)":
        "element types graphc does not compute with (it has float32, float64, int32, int64 and bool)",
    r"^test_resize_.*cubic": "Resize's cubic mode",
    r"^test_resize_.*antialias": "Resize's antialias",
    r"^test_resize_.*tf_crop_and_resize": "Resize's tf_crop_and_resize coordinates (with a region of interest)",
    r"^test_resize_.*_not_(larger|smaller)_cpu$": "Resize's keep_aspect_ratio_policy other than stretch",
    r"^test_resize_downsample_scales_linear_align_corners": "onnx's reference takes the unrounded resized length "
        "in align_corners (2.4, not 2); graphc follows onnxruntime and the spec's output length",
    r"^test_convtranspose_3d": "3-D transposed convolution (gc.nn's are 1-D and 2-D)",
    r"^test_averagepool_[23]d_dilations": "dilated average pooling (gc.nn's average pools have no dilation)",
    r"^test_averagepool_2d_pads_cpu$": "average pooling with pads beyond half the kernel and count_include_pad=0",
    r"^test_maxpool_with_argmax": "MaxPool's Indices output",
    r"^test_training_dropout": "training-mode Dropout (random masks at import)",
    r"^test_batchnorm_.*training_mode": "training-mode BatchNormalization (its running-statistics outputs)",
    r"^test_(identity_(opt|sequence)|if_(opt|seq))_": "optional and sequence values (graphc values are tensors)",
    r"^test_reduce_m(ax|in)_empty_set": "max and min over a zero-size axis (graphc refuses them: no identity)",
}

#: The kinds of onnx's test models that ship with the package (the "real" ones are downloaded).
KINDS = ("node", "simple", "pytorch-converted", "pytorch-operator")
SUPPORTED = set(supported_ops())


def model_of(case) -> Optional[onnx.ModelProto]:
    """The case's model: built in memory (node tests) or stored beside its data."""
    if case.model is not None:
        return case.model
    path = os.path.join(case.model_dir or "", "model.onnx")
    return onnx.load(path) if case.model_dir and os.path.exists(path) else None


def opset(model: onnx.ModelProto) -> int:
    return next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))


with warnings.catch_warnings():  # building the cases computes expected values with numpy warnings
    warnings.simplefilter("ignore")
    CASES = [case for kind in KINDS for case in load_model_tests(kind=kind)
             if (model := model_of(case)) is not None and all(n.op_type in SUPPORTED for n in model.graph.node)
             and opset(model) >= OLDEST_OPSET]  # the older models (most stored ones are opset 6) are left out

backend_test = onnx.backend.test.BackendTest(GraphcBackend, __name__)
for _case in CASES:
    backend_test.include(rf"^{_case.name}_cpu$")
for _pattern in EXCLUDED:
    backend_test.exclude(_pattern)
INCLUDED = {f"{case.name}_cpu" for case in CASES}
TEST_CASES = backend_test.test_cases  # a property that builds new classes at each read
for _class in TEST_CASES.values():  # keep only the cases run or excluded with a reason
    for _name in [n for n in vars(_class) if n.startswith("test_") and n not in INCLUDED]:
        delattr(_class, _name)
del _case, _pattern, _class, _name
globals().update(TEST_CASES)
