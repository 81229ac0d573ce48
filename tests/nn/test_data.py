"""Minibatches, augmentation and splits."""
import numpy as np
import pytest

from graphc.nn import data


def test_minibatches_cover_every_row_once_in_a_seeded_order():
    x, y = np.arange(10)[:, None] * 1.0, np.arange(10)
    batches = list(data.minibatches(x, y, batch_size=4, rng=0))
    assert [len(b[1]) for b in batches] == [4, 4, 2]
    seen = np.concatenate([b[1] for b in batches])
    assert sorted(seen) == list(range(10)) and list(seen) != list(range(10))
    for xb, yb in batches:
        np.testing.assert_array_equal(xb[:, 0], yb)
    again = np.concatenate([b[1] for b in data.minibatches(x, y, batch_size=4, rng=0)])
    np.testing.assert_array_equal(seen, again)
    ordered = [b[0] for b in data.minibatches(y, batch_size=3, shuffle=False, drop_last=True)]
    assert [list(b) for b in ordered] == [[0, 1, 2], [3, 4, 5], [6, 7, 8]]
    assert data.num_batches(10, 4) == 3 and data.num_batches(10, 4, drop_last=True) == 2


def test_minibatches_reject_misaligned_arrays():
    with pytest.raises(ValueError, match="differ in length"):
        next(data.minibatches(np.zeros(3), np.zeros(4), batch_size=2))


def test_random_shift_moves_content_within_bounds():
    images = np.zeros((50, 1, 5, 5), np.float32)
    images[:, 0, 2, 2] = 1.0
    shifted = data.RandomShift(1)(images, np.random.default_rng(0))
    assert shifted.dtype == images.dtype and shifted.shape == images.shape
    np.testing.assert_array_equal(shifted.sum(axis=(1, 2, 3)), 1.0)  # the pixel moved, not lost
    rows, cols = np.nonzero(shifted[:, 0].max(axis=2))[1], np.nonzero(shifted[:, 0].max(axis=1))[1]
    assert set(rows) == {1, 2, 3} and set(cols) == {1, 2, 3}
    np.testing.assert_array_equal(data.RandomShift(0)(images, np.random.default_rng(0)), images)


def test_random_flip_mirrors_the_last_axis_with_probability_p():
    images = np.arange(2 * 3 * 3, dtype=np.float32).reshape(2, 1, 3, 3)
    rng = np.random.default_rng(0)
    np.testing.assert_array_equal(data.RandomFlip(1.0)(images, rng), images[..., ::-1])
    np.testing.assert_array_equal(data.RandomFlip(0.0)(images, rng), images)
    many = data.RandomFlip(0.5)(np.tile(images[:1], (400, 1, 1, 1)), rng)
    assert 150 < (many[:, 0, 0, 0] == 2).sum() < 250
    both = data.Compose(data.RandomFlip(1.0), data.RandomFlip(1.0))(images, rng)
    np.testing.assert_array_equal(both, images)


def test_split_is_stratified():
    y = np.repeat(np.arange(4), [40, 20, 20, 20])
    x = np.arange(100)
    x_a, y_a, x_b, y_b = data.split(x, y, 0.25, seed=0)
    assert len(y_b) == 25 and np.bincount(y_b).tolist() == [10, 5, 5, 5]
    np.testing.assert_array_equal(y[x_b], y_b)
