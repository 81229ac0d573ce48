"""Loop IR construction, analysis and schedules (semantics checked by running them)."""
import numpy as np
import pytest

from graphc.backend.llvm import schedule as S
from graphc.backend.llvm.loopir import (Bin, Buffer, Const, Kernel, Prefetch, Store, Var, block, const, linear_coeff, loop,
                                       substitute)
from graphc.backend.llvm.runtime import kernel_assembly

from .helpers import run


def test_index_arithmetic_folds_constants():
    i = Var("i")
    assert (i + 0) is i and (i * 1) is i
    assert (const(3) * 4 + 1) == const(13)
    assert substitute(i * 4 + 2, {"i": const(5)}) == const(22)
    assert isinstance(i * 4 + 2, Bin)


def test_linear_coefficient():
    i, j = Var("i"), Var("j")
    assert linear_coeff(i * 7 + j * 3 + 1, "j") == 3
    assert linear_coeff(i * 7 + 1, "j") == 0
    assert linear_coeff(j * j, "j") is None
    assert linear_coeff((j + 1) * 2 - j, "j") == 1


def test_buffer_indexing_uses_strides():
    b = Buffer("b", "float32", (3, 5), (1, 3))
    assert b.index(2, 4) == const(14) and b.size == 15


def test_mixed_dtypes_are_rejected():
    with pytest.raises(TypeError):
        Var("i") + const(1.0, "float32")


def _copy_kernel(n, m, schedule):
    src, dst = Buffer("src", "float64", (n, m)), Buffer("dst", "float64", (n, m))
    i, j = Var("i"), Var("j")
    body = loop(i, n, loop(j, m, dst.store((i, j), src[i, j] * 2.0 + Const(1.0, "float64"))))
    return schedule(body), src, dst


SCHEDULES = {
    "none": lambda s: s,
    "split_tail": lambda s: S.split(s, "j", 4),
    "split_vectorize": lambda s: S.vectorize(S.split(s, "j", 8, inner="jv"), "jv", 4),
    "vectorize_outer_gather": lambda s: S.vectorize(S.reorder(s, "i", "j"), "i", 4),
    "unroll_by": lambda s: S.unroll_by(s, "i", 3),
    "reorder": lambda s: S.reorder(s, "i", "j"),
    "parallel": lambda s: S.vectorize(S.parallel(s, "i"), "j", 4),
}


@pytest.mark.parametrize("name", sorted(SCHEDULES))
@pytest.mark.parametrize("n,m", [(1, 1), (7, 13), (5, 32)])
def test_schedules_preserve_results(name, n, m):
    body, src, dst = _copy_kernel(n, m, SCHEDULES[name])
    x = np.random.default_rng(0).normal(size=(n, m))
    y = np.zeros_like(x)
    run(Kernel("copy", body), [src, dst], [x, y], nthreads=2)
    np.testing.assert_allclose(y, x * 2 + 1)


def test_prefetch_changes_no_value_and_emits_a_prefetch():
    """A Prefetch is a cache hint: the kernel computes the same, and its code prefetches."""
    body, src, dst = _copy_kernel(5, 32, SCHEDULES["split_vectorize"])
    i = Var("pi")
    kernel = Kernel("copy", block(loop(i, 5, Prefetch(src, src.index(i, 31))), body))
    x = np.random.default_rng(0).normal(size=(5, 32))
    y = np.zeros_like(x)
    run(kernel, [src, dst], [x, y])
    np.testing.assert_allclose(y, x * 2 + 1)
    assert "prefetch" in kernel_assembly(kernel, "k")


def test_unroll_needs_constant_trip_count():
    n = Var("n")
    with pytest.raises(ValueError):
        S.unroll(loop("i", n, Store(Buffer("b", "int64", (4,)), Var("i"), n)), "i")


def test_parallel_rejects_enclosing_variables():
    b = Buffer("b", "int64", (4, 4))
    i, j = Var("i"), Var("j")
    with pytest.raises(ValueError):
        S.parallel(loop(i, 4, loop(j, 4, b.store((i, j), i))), "j")


def test_children_are_every_node_valued_field_in_order():
    """children() reads only the fields whose annotations name nodes: none may be missed."""
    from dataclasses import fields as dc_fields

    from graphc.backend.llvm import loopir as L

    buf = L.Buffer("t", "float32", (4,))
    i, x = L.Var("i"), L.Load(buf, L.Var("i"))
    nodes = [
        L.Let(L.Var("v", "float32"), x, L.Bin("add", x, x)),
        L.Check(L.Bin("lt", i, L.const(0)), x, "bad {}", L.Bin("add", i, L.const(1))),
        L.Select(L.Bin("lt", i, L.const(2)), x, L.Un("neg", x)),
        L.Fma(x, x, x), L.Shuffle(x, x, (0,)), L.Cast(x, "float64"), L.Broadcast(x, 4),
        L.If(L.Bin("lt", i, L.const(2)), buf.store([i], x), buf.store([i], L.Un("neg", x))),
        L.For(i, L.const(0), L.const(4), L.Block((buf.store([i], x), L.Prefetch(buf, i)))),
        L.Accumulate(buf, i, "add", x),
    ]
    for node in nodes:
        expected = []
        for f in dc_fields(node):
            v = getattr(node, f.name)
            expected += [x for x in (v if isinstance(v, tuple) else (v,)) if isinstance(x, (L.Expr, L.Stmt))]
        assert L.children(node) == tuple(expected), type(node).__name__


def test_reprs_are_the_dataclass_text_and_buffers_pickle_without_theirs():
    import pickle

    buf = Buffer("t", "float32", (3,))
    text = "Buffer(name='t', dtype='float32', shape=(3,), strides=(1,), scope='param', base=None, offset=0)"
    assert repr(buf) == text and repr(buf) == text                     # kept after the first
    assert repr(Store(buf, Var("i") + 1, const(2.0, "float32"))) == (
        f"Store(buf={text}, index=Bin(op='add', a=Var(name='i', dtype='int64'), b=Const(value=1, dtype='int64')), "
        "value=Const(value=2.0, dtype='float32'))")
    copy = pickle.loads(pickle.dumps(buf))
    assert copy == buf and "_repr" not in vars(copy)


def test_rebuilt_is_dataclasses_replace():
    from dataclasses import replace

    from graphc.backend.llvm.loopir import For, Load, rebuilt

    buf, other = Buffer("t", "float32", (3,)), Buffer("u", "float32", (3,))
    load = Load(buf, Var("i") + 1, 1)
    assert rebuilt(load, buf=other) == replace(load, buf=other) and rebuilt(load).buf is buf
    assert rebuilt(load, buf=other).type == load.type
    nest = loop("i", 3, buf.store([Var("i")], load))
    with pytest.raises(ValueError, match="unknown kind"):          # __post_init__'s checks run
        rebuilt(nest, kind="sideways")
    assert isinstance(rebuilt(nest, kind="vectorize", width=4), For)
    with pytest.raises(TypeError, match="no field"):
        rebuilt(load, bogus=1)
