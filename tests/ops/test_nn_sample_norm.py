"""layer_norm, group_norm, instance_norm, local_response_norm: values and gradients against
PyTorch, finite differences, constant inputs (zero variance), compiled code and errors."""
from __future__ import annotations

import numpy as np
import pytest

import graphc as gc
from gradcheck import check_grad
from torch_match import match_torch

torch = pytest.importorskip("torch", reason="torch is not installed: the comparison with PyTorch needs it")
F = torch.nn.functional

#: name -> (graphc fn, torch fn, input shapes (x first, then parameters))
CASES = {
    "layer_norm_last": (lambda x, w, b: gc.nn.layer_norm(x, 5, w, b), lambda x, w, b: F.layer_norm(x, (5,), w, b),
                        [(3, 4, 5), (5,), (5,)]),
    "layer_norm_chw": (lambda x, w, b: gc.nn.layer_norm(x, (2, 3, 5), w, b, eps=1e-3),
                       lambda x, w, b: F.layer_norm(x, (2, 3, 5), w, b, eps=1e-3), [(1, 2, 3, 5), (2, 3, 5), (2, 3, 5)]),
    "layer_norm_plain": (lambda x: gc.nn.layer_norm(x, (4, 3)), lambda x: F.layer_norm(x, (4, 3)), [(2, 4, 3)]),
    "group_norm": (lambda x, w, b: gc.nn.group_norm(x, 3, w, b), lambda x, w, b: F.group_norm(x, 3, w, b),
                   [(2, 6, 3, 5), (6,), (6,)]),
    "group_norm_1d": (lambda x: gc.nn.group_norm(x, 2), lambda x: F.group_norm(x, 2), [(1, 4, 7)]),
    "group_norm_no_spatial": (lambda x, w: gc.nn.group_norm(x, 2, w), lambda x, w: F.group_norm(x, 2, w),
                              [(3, 4), (4,)]),
    "instance_norm": (lambda x, w, b: gc.nn.instance_norm(x, w, b), lambda x, w, b: F.instance_norm(x, weight=w, bias=b),
                      [(2, 3, 4, 5), (3,), (3,)]),
    "instance_norm_1d": (gc.nn.instance_norm, F.instance_norm, [(1, 2, 6)]),
    "lrn": (lambda x: gc.nn.local_response_norm(x, 3), lambda x: F.local_response_norm(x, 3), [(2, 5, 3, 4)]),
    "lrn_even": (lambda x: gc.nn.local_response_norm(x, 4, alpha=0.1, beta=0.5, k=2.0),
                 lambda x: F.local_response_norm(x, 4, alpha=0.1, beta=0.5, k=2.0), [(1, 6, 5)]),
    "lrn_wide": (lambda x: gc.nn.local_response_norm(x, 7, alpha=0.3), lambda x: F.local_response_norm(x, 7, alpha=0.3),
                 [(1, 3, 2, 3)]),
}


def _arrays(rng, shapes):
    return [rng.standard_normal(s) for s in shapes]


@pytest.mark.parametrize("name", sorted(CASES))
def test_values_and_gradients_match_torch(rng, name):
    fn, torch_fn, shapes = CASES[name]
    match_torch(fn, torch_fn, _arrays(rng, shapes), rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradients_match_finite_differences(rng, name):
    fn, _, shapes = CASES[name]
    check_grad(fn, _arrays(rng, shapes))


@pytest.mark.parametrize("name", ["group_norm", "instance_norm", "layer_norm_chw"])
def test_unknown_batch_size(rng, name):
    fn, torch_fn, shapes = CASES[name]
    unknown = [(None,) + shapes[0][1:]] + shapes[1:]
    match_torch(fn, torch_fn, _arrays(rng, shapes), shapes=unknown, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("name", ["group_norm", "instance_norm", "layer_norm_chw"])
def test_constant_inputs_give_finite_values_and_gradients(name):
    fn, _, shapes = CASES[name]
    nodes = [gc.tensor(f"in{i}", s, "float32") for i, s in enumerate(shapes)]
    out = fn(*nodes)
    grads = gc.grad(gc.sum(out * out + out), nodes)
    values = [np.full(shapes[0], 3.25, "float32")] + [np.ones(s, "float32") for s in shapes[1:]]
    for backend in ("numpy", "llvm"):
        results = gc.function(nodes, [out] + grads, backend=backend)(*values)
        for r in results:
            assert np.isfinite(r).all(), backend
        # normalised to 0 (within the rounding of the mean, ~1 ulp of 3.25 over sqrt(eps)), then + bias 1
        np.testing.assert_allclose(results[0], np.ones(shapes[0]), atol=1e-3)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_compiled_matches_the_reference(rng, name, dtype):
    fn, _, shapes = CASES[name]
    nodes = [gc.tensor(f"in{i}", s, dtype) for i, s in enumerate(shapes)]
    out = fn(*nodes)
    grads = gc.grad(gc.sum(out * out), nodes)
    values = [a.astype(dtype) for a in _arrays(rng, shapes)]
    got = gc.function(nodes, [out] + grads)(*values)
    want = gc.function(nodes, [out] + grads, backend="numpy")(*values)
    tol = 2e-4 if dtype == "float32" else 1e-10
    for g, w in zip(got, want):
        assert g.dtype == np.dtype(dtype)
        np.testing.assert_allclose(g, w, rtol=tol, atol=tol)


@pytest.mark.parametrize("build, message", [
    (lambda: gc.nn.group_norm(gc.tensor("x", (2, 6, 3)), 4),
     r"group_norm: num_groups must be a positive int dividing the 6 channels of input \(2, 6, 3\), got 4"),
    (lambda: gc.nn.group_norm(gc.tensor("x", (2, None, 3)), 2), r"group_norm: the channel count must be known"),
    (lambda: gc.nn.group_norm(gc.tensor("x", (2, 6, 3)), 3, gc.tensor("w", (4,))),
     r"group_norm: weight must have shape \(6,\) .* got \(4,\)"),
    (lambda: gc.nn.layer_norm(gc.tensor("x", (2, 6, 3)), (5, 3)),
     r"layer_norm: input \(2, 6, 3\) must end with the normalized shape \(5, 3\)"),
    (lambda: gc.nn.layer_norm(gc.tensor("x", (2, 3)), 3, gc.tensor("w", (2,))),
     r"layer_norm: weight must have the normalized shape \(3,\), got \(2,\)"),
    (lambda: gc.nn.instance_norm(gc.tensor("x", (2, 3))), r"instance_norm: the input needs spatial axes"),
    (lambda: gc.nn.instance_norm(gc.tensor("x", (2, 3, 4), "int32")), r"instance_norm: the input must be float"),
    (lambda: gc.nn.local_response_norm(gc.tensor("x", (2, 3)), 2), r"local_response_norm: the input needs"),
    (lambda: gc.nn.local_response_norm(gc.tensor("x", (2, 3, 4)), 0), r"local_response_norm: size must be"),
])
def test_errors_name_the_op_and_the_shapes(build, message):
    with pytest.raises((gc.ShapeError, gc.DTypeError), match=message):
        build()
