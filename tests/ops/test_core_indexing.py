"""Basic indexing against numpy: ints, negative ints, slices with steps, None, Ellipsis."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import graphc as gc

INDICES = [
    1, -1, (0, 2), (-2, -1, -3),
    slice(None), slice(1, None), slice(None, -1), slice(None, None, 2), slice(None, None, -1),
    slice(4, 0, -2), slice(-1, -7, -3), slice(10, None), slice(-100, 100), slice(3, 1),
    (slice(None), 2), (Ellipsis, 0), (0, Ellipsis), (Ellipsis,), (None,), (None, Ellipsis, None),
    (1, None, slice(None, None, -2)), (slice(1, 4, 2), Ellipsis, slice(None, None, -3)),
    (Ellipsis, None), (-1, slice(None), 6), (None, 0, None, 0, None),
    (np.int64(2), slice(np.int32(1), None)),
]


@pytest.mark.parametrize("index", INDICES, ids=repr)
def test_getitem_matches_numpy(index, rng, like_numpy):
    x = gc.tensor("x", (5, 6, 7), "float64")
    xv = rng.standard_normal((5, 6, 7))
    like_numpy(x[index], {x: xv}, xv[index])


@pytest.mark.parametrize("index,static", [
    (slice(None, None, -1), (None, 4)), ((Ellipsis, 1), (None,)), ((None, slice(1, None, 2)), (1, None, 4)),
    ((0, slice(None, None, -3)), (2,)),
], ids=repr)
def test_getitem_with_unknown_dims(index, static, rng, like_numpy):
    x = gc.tensor("x", (None, 4), "int32")
    xv = rng.integers(0, 9, (5, 4)).astype(np.int32)
    assert x[index].shape == static
    like_numpy(x[index], {x: xv}, xv[index])


def test_full_slices_return_the_node_itself():
    x = gc.tensor("x", (2, 3))
    assert x[:] is x and x[...] is x and x[:, :] is x


def _slice_for(draw, size):
    bound = st.one_of(st.none(), st.integers(-size - 2, size + 2))
    step = st.one_of(st.none(), st.integers(-3, 3).filter(lambda s: s != 0))
    return slice(draw(bound), draw(bound), draw(step))


@given(data=st.data(), seed=st.integers(0, 2**32 - 1))
def test_random_slices_match_numpy(data, seed, like_numpy):
    shape = data.draw(st.lists(st.integers(1, 6), min_size=1, max_size=3).map(tuple))
    index = tuple(_slice_for(data.draw, d) for d in shape)
    xv = np.random.default_rng(seed).standard_normal(shape)
    x = gc.tensor("x", shape, "float64")
    like_numpy(x[index], {x: xv}, xv[index])


def test_indexing_errors():
    x = gc.tensor("x", (2, 3))
    with pytest.raises(gc.ShapeError, match="getitem: index 2 is out of bounds for axis 0 of size 2"):
        x[2]
    with pytest.raises(gc.ShapeError, match="getitem: index -4 is out of bounds for axis 1 of size 3"):
        x[:, -4]
    with pytest.raises(gc.ShapeError, match=r"getitem: too many indices \(3\) for a tensor of shape \(2, 3\)"):
        x[0, 0, 0]
    with pytest.raises(gc.ShapeError, match="getitem: only one Ellipsis allowed"):
        x[..., 0, ...]
    with pytest.raises(gc.ShapeError, match="getitem: slice step cannot be zero"):
        x[::0]
    with pytest.raises(gc.DTypeError, match=r"getitem: index arrays must be integers, got float64 \(2,\)"):
        x[[0.5, 1]]
    with pytest.raises(TypeError, match="getitem: indices are ints, slices, None, Ellipsis or integer arrays, got str"):
        x["a"]
    with pytest.raises(TypeError, match="got bool"):
        x[True]
