"""gc.nn.Embedding: PyTorch's layer (state names, lookups, gradients), trained by an optimiser
through the compiled scatter-add of its gradient."""
import numpy as np
import pytest

import graphc as gc
from graphc import nn


def test_matches_the_torch_module_with_the_same_state(rng):
    torch = pytest.importorskip("torch", reason="torch is not installed: no cross-check against it")
    module = torch.nn.Embedding(9, 4).double()
    layer = nn.Embedding(9, 4, dtype="float64")
    layer.load_state_dict({k: v.detach().numpy() for k, v in module.state_dict().items()})
    ids = rng.integers(0, 9, (3, 5))
    t_ids = torch.tensor(ids)
    out = module(t_ids)
    weights = rng.standard_normal((3, 5, 4))
    (out * torch.tensor(weights)).sum().backward()
    y = layer(ids)
    (g,) = gc.grad(gc.sum(y * gc.constant(weights)), [layer.weight])
    got_y, got_g = gc.function([], [y, g])()
    np.testing.assert_allclose(got_y, out.detach().numpy())
    np.testing.assert_allclose(got_g, module.weight.grad.numpy())


def test_initial_table_is_standard_normal_and_seeded():
    a, b = nn.Embedding(400, 50, rng=1), nn.Embedding(400, 50, rng=1)
    table = a.weight.get_value()
    np.testing.assert_array_equal(table, b.weight.get_value())
    assert table.dtype == np.float32 and abs(table.mean()) < 0.02 and abs(table.std() - 1.0) < 0.02
    assert list(a.state_dict()) == ["weight"] and repr(a) == "Embedding(400, 50)"


def test_sgd_moves_only_the_rows_looked_up():
    layer = nn.Embedding(6, 3, rng=0)
    ids = gc.tensor("ids", (None,), "int64")
    loss = gc.sum(layer(ids) ** 2)
    step = gc.function([ids], loss, updates=nn.sgd(layer.parameters(), gc.grad(loss, layer.parameters()), lr=0.1))
    before = layer.weight.get_value().copy()
    step(np.array([1, 4, 1]))
    after = layer.weight.get_value()
    np.testing.assert_array_equal(after[[0, 2, 3, 5]], before[[0, 2, 3, 5]])
    np.testing.assert_allclose(after[1], before[1] * (1 - 0.1 * 2 * 2), rtol=1e-6)   # looked up twice
    np.testing.assert_allclose(after[4], before[4] * (1 - 0.1 * 2), rtol=1e-6)
