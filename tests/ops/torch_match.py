"""Comparing a graphc function's value and input gradients with PyTorch's (float64, autograd).

`match_torch(gc_fn, torch_fn, arrays)` builds gc_fn on symbolic inputs, differentiates
sum(out * R) for a fixed random R in both libraries and compares values and gradients.
The caller skips when torch is absent (pytest.importorskip with a reason).
"""
from __future__ import annotations

from typing import Callable, Optional, Sequence

import numpy as np

import graphc as gc


def match_torch(gc_fn: Callable[..., gc.Node], torch_fn: Callable, arrays: Sequence[np.ndarray],
                shapes: Optional[Sequence[Sequence[Optional[int]]]] = None,
                rtol: float = 1e-9, atol: float = 1e-11) -> None:
    import torch

    arrays = [np.asarray(a, np.float64) for a in arrays]
    shapes = [a.shape for a in arrays] if shapes is None else shapes
    nodes = [gc.tensor(f"in{i}", s, "float64") for i, s in enumerate(shapes)]
    out = gc_fn(*nodes)
    tensors = [torch.tensor(a, requires_grad=True) for a in arrays]
    want = torch_fn(*tensors)
    weights = np.random.default_rng(1).standard_normal(tuple(want.shape))
    (want * torch.tensor(weights)).sum().backward()
    r = gc.tensor("weights", out.type.shape, "float64")
    grads = gc.grad(gc.sum(out * r), nodes)
    got = gc.function(nodes + [r], [out] + grads, backend="numpy")(*arrays, weights)
    np.testing.assert_allclose(got[0], want.detach().numpy(), rtol=rtol, atol=atol, err_msg="value")
    for i, (g, t) in enumerate(zip(got[1:], tensors)):
        np.testing.assert_allclose(g, t.grad.numpy(), rtol=rtol, atol=atol, err_msg=f"gradient of input {i}")
