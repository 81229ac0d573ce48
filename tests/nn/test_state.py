"""Named state: state_dict and load_state_dict by name, with errors that say what is wrong; layers
and trainers refuse pickling and say to use the state instead."""
import pickle

import numpy as np
import pytest

import graphc as gc
import graphc.nn as nn


def _randomise(model, seed=0):
    """Give every parameter and buffer random (positive) values, so nothing is at its initial value."""
    rng = np.random.default_rng(seed)
    for var in model.variables():
        var.set_value(rng.uniform(0.5, 1.5, var.shape).astype(var.dtype))


def test_digits_cnn_with_batch_norm_round_trips_by_name(tmp_path):
    model = nn.models.digits_cnn(channels=(4, 8), batch_norm=True, rng=0)
    _randomise(model)
    state = model.state_dict()
    assert list(state) == [
        "conv1.weight", "conv1.bias", "bn1.gamma", "bn1.beta", "conv2.weight", "conv2.bias", "bn2.gamma",
        "bn2.beta", "fc.weight", "fc.bias",
        "bn1.running_mean", "bn1.running_var", "bn2.running_mean", "bn2.running_var",
    ]
    np.savez(tmp_path / "model.npz", **state)
    fresh = nn.models.digits_cnn(channels=(4, 8), batch_norm=True, rng=1)
    with np.load(tmp_path / "model.npz") as saved:
        fresh.load_state_dict(saved)
    for name, value in fresh.state_dict().items():
        np.testing.assert_array_equal(value, state[name])
    x = gc.tensor("x", (None, 1, 8, 8))
    images = np.random.default_rng(2).uniform(size=(5, 1, 8, 8)).astype(np.float32)
    a, b = gc.function([x], [model(x), fresh(x)], backend="numpy")(images)  # running statistics included
    np.testing.assert_array_equal(a, b)


def test_state_dict_values_are_copies():
    model = nn.Dense(2, 2, rng=0)
    state = model.state_dict()
    state["weight"][:] = 7
    assert not (model.weight.get_value() == 7).any()
    assert list(state) == ["weight", "bias"]  # the root's own name is not part of the path


def test_same_shaped_parameters_load_by_name_not_by_position():
    model = nn.Sequential(nn.Dense(3, 3, rng=0, name="a"), nn.Dense(3, 3, rng=1, name="b"))
    state = model.state_dict()
    reordered = dict(reversed(list(state.items())))
    fresh = nn.Sequential(nn.Dense(3, 3, rng=2, name="a"), nn.Dense(3, 3, rng=3, name="b"))
    fresh.load_state_dict(reordered)
    np.testing.assert_array_equal(fresh[0].weight.get_value(), state["a.weight"])
    np.testing.assert_array_equal(fresh[1].weight.get_value(), state["b.weight"])


def test_names_are_paths_unique_among_siblings():
    shared_layer = nn.Dense(2, 2, rng=0, name="shared")
    model = nn.Sequential(
        nn.Dense(2, 2, rng=1), nn.ReLU(), nn.Dense(2, 2, rng=2), shared_layer, shared_layer,
        nn.Sequential(nn.Dense(2, 2, rng=3, name="fc"), name="block"),
    )
    assert list(model.state_dict()) == [
        "dense_0.weight", "dense_0.bias", "dense_2.weight", "dense_2.bias",  # unnamed siblings: by position
        "shared.weight", "shared.bias",  # one layer applied twice keeps its name, listed once
        "block.fc.weight", "block.fc.bias",
    ]
    assert list(model.named_variables().values()) == model.variables()


def test_names_that_still_collide_are_refused():
    model = nn.Sequential(nn.Dense(2, 2, name="dense_1"), nn.Dense(2, 2), nn.Dense(2, 2))
    with pytest.raises(ValueError, match="two variables would be named 'dense_1.weight'"):
        model.state_dict()


def test_a_layer_refuses_two_variables_of_one_name():
    layer = nn.Dense(2, 2)
    with pytest.raises(ValueError, match="'weight' is already registered"):
        layer.add_buffer("weight", np.zeros(2, np.float32))


def test_errors_name_missing_and_unexpected_keys_shapes_and_dtypes_and_load_nothing():
    model = nn.models.digits_cnn(channels=(4, 8), batch_norm=True, rng=0)
    before = model.state_dict()
    state = nn.models.digits_cnn(channels=(4, 8), batch_norm=True, rng=1).state_dict()
    del state["bn2.running_var"]
    state["fc.extra"] = np.zeros(3)
    state["fc.weight"] = state["fc.weight"].T
    state["conv1.bias"] = state["conv1.bias"].astype(np.complex64)
    with pytest.raises(ValueError) as error:
        model.load_state_dict(state)
    message = str(error.value)
    assert "missing keys ['bn2.running_var']" in message
    assert "unexpected keys ['fc.extra']" in message
    assert "'fc.weight' has shape (32, 10), the state's value (10, 32)" in message
    assert "'conv1.bias' has dtype float32; values of dtype complex64 would change kind" in message
    for name, value in model.state_dict().items():  # checked before anything was set
        np.testing.assert_array_equal(value, before[name])


def test_non_strict_loads_the_keys_it_knows_and_still_checks_shapes():
    model = nn.Sequential(nn.Dense(2, 3, rng=0, name="a"), nn.Dense(3, 1, rng=1, name="b"))
    model.load_state_dict({"a.bias": np.ones(3), "other": np.zeros(1)}, strict=False)  # float64 rounds
    np.testing.assert_array_equal(model[0].bias.get_value(), np.ones(3, np.float32))
    with pytest.raises(ValueError, match="'b.bias' has shape \\(1,\\), the state's value \\(2,\\)"):
        model.load_state_dict({"b.bias": np.ones(2)}, strict=False)


def test_dtypes_follow_set_values_same_kind_rule():
    class Counting(nn.Layer):
        def __init__(self):
            super().__init__("counting")
            self.count = self.add_buffer("count", np.zeros((), np.int64))

    layer = Counting()
    layer.load_state_dict({"count": np.int32(3)})  # int -> int: same kind
    assert layer.count.get_value() == 3
    with pytest.raises(ValueError, match="'count' has dtype int64; values of dtype float64 would change kind"):
        layer.load_state_dict({"count": np.float64(3.5)})


def test_positional_snapshots_still_work():
    model = nn.models.digits_cnn(channels=(4, 8), batch_norm=True, rng=0)
    snapshot = model.get_state()
    assert [v.shape for v in snapshot] == [v.shape for v in model.state_dict().values()]
    _randomise(model)
    model.set_state(snapshot)
    for value, want in zip(model.get_state(), snapshot):
        np.testing.assert_array_equal(value, want)


@pytest.mark.parametrize("make", [
    lambda: nn.models.digits_cnn(batch_norm=True, dropout=0.5, rng=0),
    lambda: nn.Dense(2, 2),
    lambda: nn.ReLU(),  # no variables, refused all the same: layers go through their state
])
def test_pickling_a_layer_says_to_use_the_state_dict(make):
    with pytest.raises(TypeError, match=r"not picklable .*state_dict\(\).*load_state_dict\(\)"):
        pickle.dumps(make())


def test_pickling_a_trainer_says_to_use_the_models_state_dict():
    trainer = nn.Trainer(nn.models.digits_cnn(rng=0), backend="numpy")
    trainer.evaluate(np.zeros((2, 1, 8, 8), np.float32), np.zeros(2, np.int64))  # with compiled functions
    with pytest.raises(TypeError, match=r"Trainer is not picklable.*trainer.model.state_dict\(\)"):
        pickle.dumps(trainer)


def test_what_does_pickle_is_the_state_dict():
    model = nn.models.digits_cnn(channels=(4, 8), batch_norm=True, rng=0)
    _randomise(model)
    fresh = nn.models.digits_cnn(channels=(4, 8), batch_norm=True, rng=1)
    fresh.load_state_dict(pickle.loads(pickle.dumps(model.state_dict())))
    for name, value in fresh.state_dict().items():
        np.testing.assert_array_equal(value, model.state_dict()[name])
