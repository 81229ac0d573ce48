"""What a training step keeps alive: kernels run in an order that frees memory early (a
weight gradient runs as soon as its inputs are ready, so each layer's activations and
output gradients die with its backward work, not at the end of the step), and values as
cheap to recompute as to load (batch norm's normalised input) are not stored for the
backward pass."""
import numpy as np

import graphc as gc
from graphc.backend.llvm import partition as partition_module
from graphc.backend.llvm.build import build_program

from .graph_check import check, rand

BATCH, WIDTH, CLASSES, LAYERS = 256, 512, 10, 6


def _mlp_step():
    """A 6-layer relu MLP's loss and SGD updates (static shapes), its leaves and inputs."""
    rng = np.random.default_rng(0)
    x, y = gc.tensor("x", (BATCH, WIDTH)), gc.tensor("y", (BATCH,), "int64")
    sizes = [WIDTH] * LAYERS + [CLASSES]
    weights = [gc.shared(rand(rng, (a, b), low=-0.05, high=0.05), name=f"w{k}")
               for k, (a, b) in enumerate(zip(sizes, sizes[1:]))]
    h = x
    for k, w in enumerate(weights):
        h = h @ w if k == len(weights) - 1 else gc.relu(h @ w)
    loss = gc.nn.cross_entropy(h, y)
    updates = gc.nn.sgd(weights, loss, lr=0.1)
    data = (rand(rng, (BATCH, WIDTH)), rng.integers(0, CLASSES, BATCH).astype(np.int64))
    return x, y, weights, loss, updates, data


def _arena_bytes(leaves, outputs) -> int:
    return build_program(leaves, outputs, threads=1)[1].arena_bytes


def test_weight_gradients_run_early_and_free_each_layers_activations(monkeypatch):
    x, y, weights, loss, updates, _ = _mlp_step()
    leaves, outputs = [x, y, *weights], [loss, *(new for _, new in updates)]
    ordered = _arena_bytes(leaves, outputs)
    monkeypatch.setattr(partition_module, "memory_order", lambda groups, wanted, data_inputs: list(groups))
    topological = _arena_bytes(leaves, outputs)
    activation = BATCH * WIDTH * 4
    # in topological order every layer's activation and output gradient is live at the last
    # input gradient; run early, the weight gradients free two of them per layer
    assert ordered <= topological - 2 * activation, (ordered, topological)


def test_the_reordered_step_computes_what_the_reference_computes():
    x, y, weights, loss, updates, data = _mlp_step()
    before = [w.get_value() for w in weights]
    results = {}
    for backend in ("llvm", "numpy"):
        for w, value in zip(weights, before):
            w.set_value(value)
        step = gc.function([x, y], loss, updates=updates, backend=backend)
        results[backend] = [step(*data)] + [step(*data)] + [w.get_value() for w in weights]
    for ours, reference in zip(results["llvm"], results["numpy"]):
        np.testing.assert_allclose(ours, reference, rtol=2e-4, atol=1e-6)
    step = gc.function([x, y], loss, updates=updates, backend="llvm", threads=1)
    step(*data)
    memory = step.inspect.memory()
    # live together at most: the activations, the input gradient being made and the one it
    # is made from, the matmuls' packing workspaces (topological order: every output gradient too)
    assert memory.arena < (LAYERS + 4) * BATCH * WIDTH * 4, memory


def _conv_bn_relu_step(rng, layers: int, shape: tuple[int, ...]):
    """x -> (conv3x3, batch norm, relu) x layers -> sum of squares, and its gradients."""
    x, params = gc.tensor("x", shape), []
    h = x
    for k in range(layers):
        w = gc.shared(rand(rng, (shape[1], shape[1], 3, 3), low=-0.2, high=0.2), name=f"w{k}")
        gamma = gc.shared(rand(rng, (shape[1],), low=0.5, high=1.5), name=f"gamma{k}")
        beta = gc.shared(rand(rng, (shape[1],)), name=f"beta{k}")
        params += [w, gamma, beta]
        h = gc.relu(gc.nn.batch_norm(gc.nn.conv2d(h, w, padding=1), gamma, beta))
    return x, gc.grad(gc.sum(h * h), params)


def test_batch_norm_keeps_no_normalised_copy_for_the_backward_pass(rng):
    shape = (4, 8, 9, 7)
    x, grads = _conv_bn_relu_step(rng, 3, shape)
    values = [rand(rng, shape)]
    check([x], grads, values, scale=50)
    f = gc.function([x], grads, backend="llvm", threads=1)
    f(*values)
    stored = [k.ops for k in f.inspect.kernels() if k.shape == shape and k.ops[-2:] == ("sub", "truediv")]
    assert stored == []                    # (x - mean) / std is recomputed where it is read
    # per layer the convolution's output and the relu's, and the gradients being made
    # (storing each layer's normalised input, in topological order, took 13.9 here)
    assert f.inspect.memory().arena < 10 * np.prod(shape) * 4
