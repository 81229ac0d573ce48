"""Flat elementwise loops are generic in their length: one kernel serves every size (counted,
not timed), with the results of the reference at lengths around the vector width."""
import numpy as np
import pytest

import graphc as gc
from graphc.backend.llvm.generic import generic_loop, unsized
from graphc.backend.llvm.loopir import Buffer, Cast, Load, Var, loop
from graphc.backend.llvm import schedule as S


def _update(shape, seed):
    """An optimiser-like update of a variable of `shape`: p - lr * (0.9 * m + 0.1 * g)."""
    rng = np.random.default_rng(seed)
    p = gc.tensor(f"p{seed}", shape)
    m = gc.tensor(f"m{seed}", shape)
    g = gc.tensor(f"g{seed}", shape)
    lr = gc.tensor(f"lr{seed}", ())
    out = p - lr * (0.9 * m + 0.1 * g)
    values = [rng.standard_normal(shape).astype(np.float32) for _ in range(3)] + [np.float32(0.01)]
    return [p, m, g, lr], out, values


@pytest.mark.parametrize("threads", [1, 2])
def test_updates_of_many_sizes_share_one_kernel(threads):
    shapes = [(1,), (7,), (8,), (9,), (3, 5), (16, 16), (2, 3, 4, 5), (1000,)]
    inputs, outputs, values = [], [], []
    for k, shape in enumerate(shapes):
        ins, out, vals = _update(shape, k)
        inputs += ins
        outputs.append(out)
        values += vals
    f = gc.function(inputs, outputs, backend="llvm", threads=threads)
    got = f(*values)
    want = gc.function(inputs, outputs, backend="numpy")(*values)
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    counts = f.inspect.compile_times().counts
    assert counts["calls"] == len(shapes)
    assert counts["distinct"] == 2            # every length runs the same kernel; one element needs no loop


def test_a_training_and_an_evaluation_graph_share_their_elementwise_kernels():
    x = gc.tensor("x", (None, 6))
    h = gc.tanh(x) * 2.0 + 1.0
    first = gc.function([x], h, backend="llvm")
    first(np.ones((4, 6), np.float32))
    second = gc.function([x], h, backend="llvm")
    np.testing.assert_allclose(second(np.full((9, 6), 0.5, np.float32)), np.tanh(0.5) * 2 + 1, rtol=1e-6)
    counts = second.inspect.compile_times().counts
    assert counts["in process"] == counts["distinct"] == 1


def test_only_flat_loops_over_whole_indices_become_generic():
    n = Buffer("n", "int64", (1,))
    a, out = Buffer("a", "float32", (12,)), Buffer("out", "float32", (12,))
    i = Var("i")
    flat = S.vectorize(loop(i, 12, out.store((i,), a[i] * 2.0)), "i", 8)
    generic = generic_loop(flat, n)
    assert generic is not None and isinstance(generic.extent, Load)
    assert {b.shape for b in (generic.body.buf, generic.body.value.a.buf)} == {(None,)}
    shifted = loop(i, 11, out.store((i,), a[i + 1]))                   # an index other than the loop's
    mirrored = loop(i, 12, out.store((i,), a[11 - i]))
    position = loop(i, 12, out.store((i,), Cast(i, "float32")))        # the index as a value
    offset_start = loop(i, 11, out.store((i,), a[i]), start=1)
    nested = loop(i, 12, loop(Var("j"), 2, out.store((i,), a[i])))
    for stmt in (shifted, mirrored, position, offset_start, nested):
        assert generic_loop(stmt, n) is None


def test_an_unsized_buffer_has_no_size():
    buf = unsized(Buffer("a", "float32", (3, 4)))
    assert buf.shape == (None,) and buf.strides == (1,)
    with pytest.raises(ValueError, match="known only at run time"):
        buf.size
    with pytest.raises(ValueError, match="only a flat buffer"):
        Buffer("b", "float32", (None, 3), (3, 1))


def test_a_buffer_walked_and_read_at_a_constant_is_one_unsized_buffer():
    x = gc.tensor("x", (None,))
    f = gc.function([x], x * 3.0 - x[0], backend="llvm")
    for n in (5, 17):
        xv = np.arange(n, dtype=np.float32) + 2
        np.testing.assert_allclose(f(xv), xv * 3 - xv[0])
    assert f.inspect.compile_times().counts["in process"] == 1           # the second length reused it
    i, n = Var("i"), Buffer("n", "int64", (1,))
    a, out = Buffer("a", "float32", (12,)), Buffer("out", "float32", (12,))
    generic = generic_loop(loop(i, 12, out.store((i,), a[i] + a[0])), n)
    assert {b.shape for b in (generic.body.buf, generic.body.value.a.buf, generic.body.value.b.buf)} == {(None,)}


def test_a_vector_loops_scalar_tail_is_left_scalar_by_llvm():
    """The tail of a vector loop runs fewer than `width` iterations: a loop carrying the
    property that keeps LLVM's vectoriser off it, so LLVM adds no vector code (for a generic
    loop it would add a vectorised, interleaved copy behind run-time overlap checks: half the
    kernel's compile time); a loop of known length with a small body takes a half-vector step
    first. A loop whose known length is whole vectors has no tail."""
    from graphc.backend.llvm import jit
    from graphc.backend.llvm.emitter import NO_VECTORIZE, emit_kernel
    from graphc.backend.llvm.loopir import Kernel

    n = Buffer("n", "int64", (1,))
    a, out = Buffer("a", "float32", (12,)), Buffer("out", "float32", (12,))
    i = Var("i")
    flat = S.vectorize(loop(i, 12, out.store((i,), a[i] * 2.0 + 1.0)), "i", 8)
    emitted = str(emit_kernel(Kernel("k", generic_loop(flat, n)), "k_generic"))
    assert emitted.count("!llvm.loop") == 1 and NO_VECTORIZE in emitted
    optimised = str(jit.optimize(emitted)[0])
    assert optimised.count("load <") == emitted.count("load <") == 1
    a, out = Buffer("a", "float32", (15,)), Buffer("out", "float32", (15,))
    sized = S.vectorize(loop(i, 15, out.store((i,), a[i] * 2.0)), "i", 8)      # 8, 4, then 3 one at a time
    assert str(emit_kernel(Kernel("k", sized), "k_sized")).count(NO_VECTORIZE) == 1
    a, out = Buffer("a", "float32", (16,)), Buffer("out", "float32", (16,))
    whole = S.vectorize(loop(i, 16, out.store((i,), a[i] * 2.0)), "i", 8)
    assert "!llvm.loop" not in str(emit_kernel(Kernel("k", whole), "k_whole"))
