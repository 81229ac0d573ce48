"""`import graphc` loads the graph core only: heavy optional modules wait for first use.

Each check runs in a fresh interpreter, since this process has long imported everything.
What is asserted is which modules are loaded, never how long importing takes.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import graphc as gc

#: Loaded only when their feature is used: the simplifier's rules (sympy), the llvm backend
#: (llvmlite), gc.nn (tqdm, numpy.random), printing (networkx), data helpers (sklearn).
HEAVY = (
    "sympy", "llvmlite", "tqdm", "sklearn", "networkx", "matplotlib", "scipy", "torch",
    "importlib.metadata", "numpy.random", "asyncio",
    "graphc.nn", "graphc.cache", "graphc.printing", "graphc.simplify.phases", "graphc.backend.llvm",
)


def newly_loaded(code: str) -> list[str]:
    """The HEAVY modules that `import graphc` followed by `code` loads in a fresh interpreter
    (modules the interpreter's own start-up loaded, through site or .pth files, don't count)."""
    program = (
        "import sys; before = set(sys.modules)\n"
        f"import graphc as gc\n{code}\n"
        f"print(__import__('json').dumps(sorted(m for m in {HEAVY!r} if m in set(sys.modules) - before)))"
    )
    root = str(Path(gc.__file__).resolve().parents[1])
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([root, os.environ.get("PYTHONPATH", "")]))
    out = subprocess.run([sys.executable, "-c", program], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_import_graphc_loads_no_heavy_module():
    assert newly_loaded("") == []


def test_building_and_differentiating_a_graph_loads_no_heavy_module():
    code = "x = gc.tensor('x', (3,)); gc.grad((gc.tanh(x) * x).sum(), [x])"
    assert newly_loaded(code) == []


def test_gc_nn_loads_without_tqdm_sympy_or_llvmlite():
    loaded = newly_loaded("gc.nn.Dense")
    assert "graphc.nn" in loaded
    assert not {"tqdm", "sympy", "llvmlite", "sklearn", "asyncio"} & set(loaded)


def test_lazy_names_are_listed_and_reachable():
    for name in ("nn", "cache", "printing", "pprint", "debugprint", "listing", "to_dot", "to_networkx"):
        assert name in dir(gc)
        assert getattr(gc, name) is not None
    from graphc import nn, pprint  # from-imports go through the same hook

    assert nn is gc.nn and pprint is gc.printing.pprint
    assert callable(gc.cache.directory)


def test_unknown_attribute_is_an_attribute_error():
    try:
        gc.no_such_name
    except AttributeError as error:
        assert "no_such_name" in str(error)
    else:
        raise AssertionError("gc.no_such_name did not raise")


def test_functions_named_like_their_modules_stay_functions_once_the_modules_load():
    import graphc.simplify.phases  # noqa: F401 - submodules must not shadow gc.simplify or rule
    from graphc.simplify import PHASES, Phase, rule

    assert callable(gc.simplify) and callable(rule) and all(isinstance(p, Phase) for p in PHASES)
