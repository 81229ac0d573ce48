"""The op library: every op's type rule, numpy reference and symbolic gradient."""
from . import operators
from .collective import AllReduceSum, allreduce_sum, set_communicator
from .creation import arange, eye, full, linspace, ones, zeros
from .einsum import einsum
from .elementwise import (
    Cast, Elemwise, SCALAR_FNS, ScalarFn, abs, add, cast, ceil, clip, eq, floor, ge, gt, isfinite,
    isnan, le, logical_and, logical_not, logical_or, logical_xor, lt, maximum, minimum, mul, ne,
    neg, power, reciprocal, relu, round, sign, square, sub, truediv, where,
)
from .transcendental import *  # noqa: F401,F403 - exp, log, sin, erf, ...: every function defined there
from .indexing import GetItem, ScatterInto, getitem
from .gather import Gather, GatherAdd, IndexMap, index_add, take, take_along_axis
from .leaves import (
    Constant, Input, Shared, constant, constant_value, get_value, is_constant, is_input,
    is_shared, scalar, set_value, shared, tensor,
)
from .matmul import MatMul, dot, matmul
from .padding import pad
from .random import RandomStream, RandomUniform, seed
from .reduce import (
    Argmax, CountOf, LogSumExp, Reduce, argmax, argmin, logsumexp, mean, reduce_all, reduce_any,
    reduce_max, reduce_min, reduce_prod, reduce_sum, std, sum_to, var,
)
from .scan import Scan, cumprod, cumsum
from .sort import Argsort, Sort, argsort, sort, topk
from .shape import (
    BroadcastTo, Concatenate, ExpandDims, Flip, Pad, Reshape, Squeeze, Transpose,
    broadcast_to, concatenate, expand_dims, flatten, flip, full_like, ones_like, permute,
    reshape, split, squeeze, stack, swapaxes, transpose, zeros_like,
)

operators.install()
