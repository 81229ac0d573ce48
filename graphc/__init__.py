"""graphc: a symbol-to-symbol graph compiler for Python.

Build tensor expressions, differentiate them symbolically, simplify, compile and run.
"""
from ._version import __version__
from .ir import DisconnectedGradientError, DTypeError, GraphcError, Node, ShapeError, TensorType
from .ops import (
    abs, add, argmax, argmin, broadcast_to, cast, clip, concatenate, constant, dot, eq, exp,
    expand_dims, expm1, flatten, flip, full_like, ge, get_value, gt, le, log, log1p, logical_and,
    logical_not, logical_or, logsumexp, lt, matmul, maximum, mean, minimum, mul, ne, neg, pad,
    permute, power, relu, reshape, scalar, seed, set_value, shared, sigmoid, sign, softplus,
    sqrt, square, squeeze, stack, std, sub, swapaxes, tanh, tensor, transpose, truediv, var,
    where, ones_like, zeros_like, RandomStream,
)
from .ops import reduce_max as max  # noqa: A001 - numpy's names
from .ops import reduce_min as min  # noqa: A001
from .ops import reduce_sum as sum  # noqa: A001
from .autodiff import grad, hessian, hessian_vector_product, jacobian
from .simplify import simplify
from .backend.reference import evaluate
from .function import Function, function
from .backend.threads import num_threads
from . import cache  # gc.cache: the disk cache of compiled functions (directory, info, clear)
from . import nn  # gc.nn: the neural-network functions
from .printing import debugprint, listing, pprint, to_dot, to_networkx

Node.eval = lambda self, inputs=None: evaluate([self], inputs or {})[0]
Node.eval.__doc__ = "Evaluate with the numpy reference: `expr.eval({x: value})`."
