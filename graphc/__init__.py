"""graphc: a symbol-to-symbol graph compiler for Python.

Build tensor expressions, differentiate them symbolically, simplify, compile and run.

`import graphc` loads the graph core only; `gc.nn`, `gc.cache`, `gc.onnx`, `gc.printing` and the
printing functions are imported at first use (PEP 562), and sympy and llvmlite only
when a graph is simplified or compiled, so a script starts fast.
"""
import importlib as _importlib
import typing as _typing

from ._version import __version__
from .ir import DisconnectedGradientError, DTypeError, GraphcError, Node, ShapeError, TensorType
from .ops import (
    abs, add, arange, argmax, argmin, argsort, broadcast_to, cast, ceil, clip, concatenate, constant,
    cumprod, cumsum, dot, einsum, eq, expand_dims, eye, flatten, flip, floor, full, full_like, ge,
    index_add, take, take_along_axis,
    get_value, gt, isfinite, isnan, le, linspace, logical_and, logical_not, logical_or,
    logical_xor, logsumexp, lt, matmul, maximum, mean, minimum, mul, ne, neg, ones, pad,
    permute, power, reciprocal, relu, reshape, round, scalar, seed,
    set_value, shared, sign, sort, split, square, squeeze, stack, std, sub, swapaxes, tensor, transpose,
    topk, truediv, var, where, ones_like, zeros, zeros_like, RandomStream,
)
from .ops.transcendental import *  # noqa: F401,F403 - exp, log, sin, erf, ...: one definition each
from .ops import reduce_max as max  # noqa: A001 - numpy's names
from .ops import reduce_min as min  # noqa: A001
from .ops import reduce_sum as sum  # noqa: A001
from .ops import reduce_prod as prod
from .ops import reduce_any as any  # noqa: A001
from .ops import reduce_all as all  # noqa: A001
from .autodiff import grad, hessian, hessian_vector_product, hvp, jacobian, jvp
from .simplify import simplify  # light: the rules load at the first call
from .backend.reference import evaluate
from .function import Function, function
from .backend.threads import num_threads

Node.eval = lambda self, inputs=None: evaluate([self], inputs or {})[0]
Node.eval.__doc__ = "Evaluate with the numpy reference: `expr.eval({x: value})`."

if _typing.TYPE_CHECKING:  # what __getattr__ imports on first use, for type checkers and IDEs
    from . import cache, nn, onnx, printing
    from .printing import debugprint, listing, pprint, to_dot, to_networkx

#: Submodules imported at first use: gc.nn (neural networks), gc.cache (the disk cache of
#: compiled functions: directory, info, clear), gc.onnx (ONNX import and export), gc.printing.
_LAZY_MODULES = ("cache", "nn", "onnx", "printing")
#: Functions imported at first use, by the submodule that defines them.
_LAZY_NAMES = {name: "printing" for name in ("debugprint", "listing", "pprint", "to_dot", "to_networkx")}


def __getattr__(name: str) -> object:
    """Import a lazy submodule or function on first use and keep it (PEP 562)."""
    if name in _LAZY_MODULES:
        value = _importlib.import_module(f"{__name__}.{name}")
    elif name in _LAZY_NAMES:
        value = getattr(_importlib.import_module(f"{__name__}.{_LAZY_NAMES[name]}"), name)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The names `import graphc` binds plus those imported on first use."""
    return sorted(set(globals()) | set(_LAZY_MODULES) | set(_LAZY_NAMES))
