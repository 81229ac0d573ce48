"""The fuzzer's test items: one per batch of cases (the options are declared in
tests/conftest.py, so they work from the repository root as well)."""
from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from .generator import LONG, SHORT, Profile

#: The short profile: cases in every plain `python -m pytest` run.
SHORT_CASES = 288
BATCH = {"short": 8, "long": 12}


@dataclass
class FuzzRun:
    """What the options select, and what the run found (summed over its items)."""

    profile: Profile
    profile_name: str
    seeds: list[int]
    batch: int
    strict: bool
    repro_args: str
    cases: int = 0
    outputs: int = 0
    known: dict[str, int] = field(default_factory=dict)
    failures: int = 0
    order_dependent: int = 0   # outputs not judged: sums of terms that overflow in some order

    def batch_seeds(self, k: int) -> list[int]:
        return self.seeds[k * self.batch:(k + 1) * self.batch]

    def repro(self, seed: int) -> str:
        return f"python -m pytest tests/fuzz{self.repro_args} --fuzz-repro {seed}"


_RUN = pytest.StashKey[FuzzRun]()


def _run(config: pytest.Config) -> FuzzRun:
    if _RUN not in config.stash:
        cases = config.getoption("--fuzz-cases")
        name = config.getoption("--fuzz-profile") or ("long" if cases is not None else "short")
        base = config.getoption("--fuzz-seed")
        repro = config.getoption("--fuzz-repro")
        count = SHORT_CASES if cases is None else cases
        seeds = [repro] if repro is not None else [base * 10**7 + i for i in range(count)]
        batch = config.getoption("--fuzz-batch") or BATCH[name]
        args = " --fuzz-profile long" if name == "long" else ""
        config.stash[_RUN] = FuzzRun(LONG if name == "long" else SHORT, name, seeds, batch,
                                     config.getoption("--fuzz-strict"), args)
    return config.stash[_RUN]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "fuzz_batch" in metafunc.fixturenames:
        run = _run(metafunc.config)
        count = -(-len(run.seeds) // run.batch)
        ids = [f"seeds{s[0]}-{s[-1]}" for s in (run.batch_seeds(k) for k in range(count))]
        metafunc.parametrize("fuzz_batch", range(count), ids=ids)


@pytest.fixture
def fuzz_run(request: pytest.FixtureRequest) -> FuzzRun:
    return _run(request.config)


def pytest_terminal_summary(terminalreporter, exitstatus, config: pytest.Config) -> None:
    run = config.stash.get(_RUN, None)
    if run is None or not run.cases:
        return
    known = ", ".join(f"{n} x {name}" for name, n in sorted(run.known.items())) or "none"
    terminalreporter.write_line(
        f"fuzz ({run.profile_name} profile): {run.cases} cases, {run.outputs} outputs compared, "
        f"{run.failures} mismatches; known defects (not counted): {known}; outputs left unjudged because "
        f"a sum of huge terms decides between inf, nan and finite by its order: {run.order_dependent}")
