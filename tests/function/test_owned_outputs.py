"""What a call hands back is its own memory: `_owned_all` copies exactly the values the
one-by-one rule (`_owned` against the others and the values kept before) copies, and
compares pairs only where memory may overlap."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import graphc as gc
from graphc.function import api


def one_by_one(values, others):
    kept = []
    for v in values:
        kept.append(api._owned(v, list(others) + kept))
    return kept


def views(base: np.ndarray, picks: list) -> list:
    """Arrays over `base` (slices, steps, reversals, reshapes, empty), fresh arrays and a
    read-only one, as `picks` choose."""
    made = []
    for kind, a, b, step in picks:
        lo, hi = sorted((a, b))
        if kind == 0:
            made.append(base[lo:hi:step])
        elif kind == 1:
            made.append(base[hi:lo:-step] if hi > lo else base[lo:lo])
        elif kind == 2:
            made.append(base[lo:lo + 2 * ((hi - lo) // 2)].reshape(2, -1).T)
        elif kind == 3:
            made.append(np.arange(hi - lo, dtype=base.dtype))
        else:
            frozen = base[lo:hi]
            frozen.flags.writeable = False
            made.append(frozen)
    return made


pick = st.tuples(st.integers(0, 4), st.integers(0, 40), st.integers(0, 40), st.integers(1, 3))


@given(st.lists(pick, max_size=8), st.lists(pick, max_size=6))
def test_the_same_values_are_copied_as_one_by_one(value_picks, other_picks):
    base = np.arange(40.0)
    values, others = views(base, value_picks), views(base, other_picks)
    expected, got = one_by_one(values, others), api._owned_all(values, others)
    for v, e, g in zip(values, expected, got):
        assert (g is v) == (e is v)
        np.testing.assert_array_equal(g, v)
    for k, g in enumerate(got):
        assert g.flags.writeable
        assert not any(np.may_share_memory(g, o) for o in others + got[:k])


def test_disjoint_values_are_kept_without_pairwise_comparisons(monkeypatch):
    fresh = [np.zeros(3) for _ in range(300)]
    others = [np.ones(2) for _ in range(100)]
    calls = []
    monkeypatch.setattr(api.np, "may_share_memory", lambda *a, **k: calls.append(a) or True)
    got = api._owned_all(fresh, others)
    assert all(g is f for g, f in zip(got, fresh)) and calls == []


def test_a_step_with_many_updates_keeps_each_value_in_its_variable():
    ws = [gc.shared(np.full(4, float(k)), name=f"w{k}") for k in range(200)]
    x = gc.tensor("x", (4,), "float64")
    step = gc.function([x], x.sum(), updates=[(w, w + x) for w in ws], backend="llvm")
    for _ in range(3):
        step(np.ones(4))
    values = [w.get_value(borrow=True) for w in ws]
    for k, v in enumerate(values):
        np.testing.assert_array_equal(v, np.full(4, k + 3.0))
        assert not any(np.may_share_memory(v, u) for u in values[k + 1:])


@pytest.mark.parametrize("shape, strides", [((3,), (-8,)), ((2, 3), (8, 16)), ((0, 4), (32, 8))])
def test_extent_covers_every_element(shape, strides):
    base = np.arange(16.0)
    a = np.lib.stride_tricks.as_strided(base[8:], shape, strides)
    low, high = api._extent(a)
    if a.size == 0:
        assert low == high
        return
    start = base.__array_interface__["data"][0] + 8 * 8
    offsets = [sum(i * s for i, s in zip(index, strides)) for index in np.ndindex(shape)]
    assert low - start == min(offsets) and high - start == max(offsets) + 8
