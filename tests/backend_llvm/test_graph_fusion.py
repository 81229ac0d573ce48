"""How graphs become kernels: what fuses, what costs no copy, and how the arena is shared."""
import numpy as np

import graphc as gc
from graphc.backend.llvm.arena import plan_arena

from .graph_check import check, rand


def _kernels(inputs, outputs, values):
    f = gc.function(inputs, outputs, backend="llvm")
    f(*values)
    return f.inspect.kernels(), f


def test_an_elementwise_chain_is_one_loop(rng):
    x, y = gc.tensor("x", (7, 5)), gc.tensor("y", (5,))
    out = gc.relu(gc.tanh(x * y + 1) - gc.exp(y) / (x * x + 1))
    kernels, _ = _kernels([x, y], out, [rand(rng, (7, 5)), rand(rng, (5,))])
    assert len(kernels) == 1
    assert set(kernels[0].ops) >= {"mul", "add", "tanh", "exp", "truediv", "sub", "relu"}


def test_matmul_bias_activation_is_one_kernel(rng):
    x, w, b = gc.tensor("x", (31, 20)), gc.tensor("w", (20, 17)), gc.tensor("b", (17,))
    out = gc.sigmoid(x @ w + b) * 2
    kernels, _ = _kernels([x, w, b], out, [rand(rng, (31, 20)), rand(rng, (20, 17)), rand(rng, (17,))])
    assert len(kernels) == 1 and kernels[0].ops[0] == "matmul"


def test_a_reduction_takes_its_elementwise_inputs_and_consumers(rng):
    x, y = gc.tensor("x", (9, 13)), gc.tensor("y", (13,))
    out = gc.sqrt(gc.sum(gc.exp(x) * y, axis=1) / 13.0)
    kernels, _ = _kernels([x, y], out, [rand(rng, (9, 13)), rand(rng, (13,))])
    assert len(kernels) == 1
    assert kernels[0].ops[:3] == ("exp", "mul", "sum") and kernels[0].ops[-1] == "sqrt"


def test_views_of_materialised_values_cost_no_copy(rng):
    x, w = gc.tensor("x", (6, 4, 5)), gc.tensor("w", (12, 5))
    h = gc.tanh(x)                                    # materialised: two consumers
    out = [gc.reshape(h, (24, 5)) @ w.T, gc.sum(gc.transpose(h, (2, 0, 1)), axis=0)]
    kernels, _ = _kernels([x, w], out, [rand(rng, (6, 4, 5)), rand(rng, (12, 5))])
    assert [k.ops for k in kernels] == [("tanh",), ("reshape", "transpose", "matmul"), ("transpose", "sum")]


def test_a_transposed_operand_is_read_through_strides(rng):
    a, b = gc.tensor("a", (40, 30)), gc.tensor("b", (50, 30))
    kernels, f = _kernels([a, b], a @ b.T, [rand(rng, (40, 30)), rand(rng, (50, 30))])
    assert len(kernels) == 1 and "transpose" in kernels[0].ops


def test_intermediates_share_the_arena(rng):
    x = gc.tensor("x", (64, 64))
    h = x
    for k in range(6):                                 # each layer materialised (two consumers)
        h = gc.tanh(h @ h.T) + gc.sum(h, axis=0)
    kernels, f = _kernels([x], h, [rand(rng, (64, 64), low=-0.1, high=0.1)])
    plan = f.inspect.plan()
    intermediates = [b for b in f.inspect.program().params if b.name.startswith("t")]
    assert len(intermediates) >= 6
    offsets = {plan.arena_offsets[b.name] for b in intermediates}
    assert len(offsets) < len(intermediates)            # dead layers' memory is reused


def test_arena_plan_reuses_dead_slices():
    offsets, total = plan_arena({"a": (0, 1, 100), "b": (1, 2, 100), "c": (2, 3, 100), "d": (3, 3, 64)})
    assert offsets["a"] != offsets["b"] and offsets["b"] != offsets["c"]
    assert offsets["c"] == offsets["a"]                # a is dead when c is born
    assert offsets["d"] == offsets["b"] and total == 2 * 128   # slices start on cache lines


def test_arena_plans_never_overlap_live_values_and_reach_the_live_peak_when_sizes_allow(rng):
    for trial in range(30):
        spans = {}
        for k in range(int(rng.integers(1, 40))):
            first = int(rng.integers(0, 20))
            spans[f"v{k}"] = (first, first + int(rng.integers(0, 6)), int(rng.integers(1, 5000)))
        offsets, total = plan_arena(spans)
        peak = max(sum(-(-n // 64) * 64 for f, l, n in spans.values() if f <= t <= l) for t in range(26))
        assert total >= peak
        for a, (fa, la, na) in spans.items():
            assert offsets[a] % 64 == 0 and offsets[a] + na <= total
            for b, (fb, lb, nb) in spans.items():
                if a < b and fa <= lb and fb <= la:           # live together: disjoint bytes
                    assert offsets[a] + na <= offsets[b] or offsets[b] + nb <= offsets[a]
    # values of one size that die as others are born fit in the live peak exactly
    chain = {f"v{k}": (k, k + 1, 1000) for k in range(10)}
    assert plan_arena(chain)[1] == 2 * 1024


def test_the_same_output_twice_and_a_constant_output(rng):
    x = gc.tensor("x", (3,), "float64")
    y = x * 2
    check([x], [y, y, gc.constant(np.arange(3.0)), x], [rand(rng, (3,), "float64")])


def test_conv_bias_relu_is_one_kernel(rng):
    x, w, b = gc.tensor("x", (2, 3, 9, 9)), gc.tensor("w", (4, 3, 3, 3)), gc.tensor("b", (4,))
    out = gc.relu(gc.nn.conv2d(x, w, b, padding=1))
    kernels, _ = _kernels([x, w, b], out, [rand(rng, (2, 3, 9, 9)), rand(rng, (4, 3, 3, 3)), rand(rng, (4,))])
    assert len({k.group for k in kernels}) == 1          # padding and packing kernels, then the conv
    assert kernels[-1].ops == ("conv2d", "expand_dims", "add", "relu") and kernels[-1].flops > 0
    check([x, w, b], out, [rand(rng, (2, 3, 9, 9)), rand(rng, (4, 3, 3, 3)), rand(rng, (4,))], scale=8)


def test_strided_depthwise_conv_bias_relu6_is_one_kernel(rng):
    """A stride-2 depthwise conv too large for forward_small: the positions kernel splits
    each image's planes into stride phases itself, then bias and relu6 are applied as it
    stores (no copy kernel before it)."""
    shapes = [(2, 6, 31, 34), (6, 1, 3, 3), (6,)]
    x, w, b = (gc.tensor(n, s) for n, s in zip("xwb", shapes))
    out = gc.nn.relu6(gc.nn.conv2d(x, w, b, stride=2, padding=1, groups=6))
    kernels, _ = _kernels([x, w, b], out, [rand(rng, s) for s in shapes])
    assert [k.name.split("_")[-1].rstrip("0123456789") for k in kernels] == ["filter", "conv"]
    assert kernels[-1].ops[:3] == ("conv2d", "expand_dims", "add") and "where" in kernels[-1].ops
    check([x, w, b], out, [rand(rng, s) for s in shapes], scale=8)
