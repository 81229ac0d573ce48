"""gc.split (pieces and their gradient) and gc.broadcast_to with kept (None) sizes compiled
by the llvm backend, float32 and float64, at odd shapes, against the numpy reference."""
import pytest

import graphc as gc

from .graph_check import check, rand

FLOATS = ["float32", "float64"]


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("args", [(3, 1), ([2, 5], -1), ([1], 0)], ids=str)
def test_split_and_its_gradient(dtype, args, rng):
    x = gc.tensor("x", (3, 6, 7), dtype)
    pieces = gc.split(x, *args)
    cost = gc.sum(gc.concatenate([gc.exp(p) * (k + 1.0) for k, p in enumerate(pieces)], args[1]))
    check([x], pieces + gc.grad(cost, [x]), [rand(rng, (3, 6, 7), dtype)])


@pytest.mark.parametrize("dtype", FLOATS)
def test_broadcast_keeping_sizes_known_only_when_run(dtype, rng):
    x = gc.tensor("x", (None, 1, 5), dtype)
    y = gc.broadcast_to(x, (2, None, 3, None))
    check([x], [y * 2.0, gc.grad(gc.sum(gc.sin(y)), [x])[0]], [rand(rng, (7, 1, 5), dtype)])
