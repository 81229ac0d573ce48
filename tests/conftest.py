"""Shared test setup: a seeded random generator, a small hypothesis budget, the check
that a node computes what numpy computes, and tests/ops (finite differences) on the path."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np
import pytest
from hypothesis import settings

import graphc as gc

sys.path.insert(0, str(Path(__file__).parent / "ops"))

settings.register_profile("graphc", max_examples=25, deadline=None)
settings.load_profile("graphc")

RTOL = {np.dtype("float32"): 1e-5, np.dtype("float64"): 1e-11}


def pytest_addoption(parser: pytest.Parser) -> None:
    """The differential fuzzer's options (tests/fuzz): a short profile runs by default; the
    long one is opt-in, e.g. `python -m pytest -m fuzz tests/fuzz --fuzz-cases 10000`."""
    group = parser.getgroup("fuzz", "differential fuzzing of the llvm backend (tests/fuzz)")
    group.addoption("--fuzz-cases", type=int, default=None,
                    help="run this many random cases with the long profile (default: the short profile)")
    group.addoption("--fuzz-seed", type=int, default=0, help="base seed of the cases (default 0)")
    group.addoption("--fuzz-profile", choices=("short", "long"), default=None,
                    help="case sizes (default: long with --fuzz-cases, else short)")
    group.addoption("--fuzz-batch", type=int, default=None, help="cases compiled into one function")
    group.addoption("--fuzz-repro", type=int, default=None, metavar="SEED",
                    help="run only the case with this seed (as printed by a failure), alone")
    group.addoption("--fuzz-strict", action="store_true",
                    help="count mismatches that match known defects as failures too")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "fuzz: the differential fuzzer (tests/fuzz); select with -m fuzz")


@pytest.fixture(autouse=True, scope="session")
def private_cache_dir(tmp_path_factory: pytest.TempPathFactory):
    """Compiled code of a test run goes to a cache of its own, not the user's ~/.cache/graphc."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GRAPHC_CACHE_DIR", str(tmp_path_factory.mktemp("graphc-cache")))
        yield


@pytest.fixture
def rng() -> np.random.Generator:
    """A fresh generator per test, so each test is reproducible on its own."""
    return np.random.default_rng(1234)


def assert_like_numpy(out: gc.Node, feed: Mapping[gc.Node, Any], expected: Any) -> None:
    """`out` has numpy's dtype and shape for `expected`, its op's reference computes in
    that dtype (not only cast to it afterwards), and its value equals `expected`."""
    expected = np.asarray(expected)
    assert out.dtype == expected.dtype, f"static dtype {out.dtype}, numpy gives {expected.dtype}"
    assert out.type.accepts(expected.shape), f"static shape {out.shape}, numpy gives {expected.shape}"
    if out.inputs:
        raw = np.asarray(out.op.reference(*gc.evaluate(list(out.inputs), feed)))
        assert raw.dtype == expected.dtype, f"{out.op.name}'s reference computes in {raw.dtype}"
    got = out.eval(feed)
    assert got.shape == expected.shape and got.dtype == expected.dtype
    if expected.dtype.kind == "f":
        np.testing.assert_allclose(got, expected, rtol=RTOL[expected.dtype], atol=RTOL[expected.dtype])
    else:
        np.testing.assert_array_equal(got, expected)


@pytest.fixture(scope="session")
def like_numpy() -> Callable[[gc.Node, Mapping[gc.Node, Any], Any], None]:
    """The check `assert_like_numpy` (session-scoped, so hypothesis tests may use it)."""
    return assert_like_numpy
