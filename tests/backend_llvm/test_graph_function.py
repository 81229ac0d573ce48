"""gc.function(..., backend="llvm"): specialisation per signature, argument errors, outputs
that alias nothing, shared variables and updates, random masks, threads, inspection."""
import numpy as np
import pytest

import graphc as gc

from .graph_check import rand


def test_specialises_per_signature_and_reuses_programs(rng):
    x = gc.tensor("x", (None, 3), "float64")
    f = gc.function([x], (x * 2).sum(axis=0), backend="llvm")
    for n in (1, 7, 1, 7, 13):
        xv = rng.standard_normal((n, 3))
        np.testing.assert_allclose(f(xv), (xv * 2).sum(0), rtol=1e-12)
    assert len(f.program._bound) == 3


def test_wrong_argument_shapes_and_dtypes_raise_clear_errors():
    x = gc.tensor("x", (None, 3), "float32")
    f = gc.function([x], x + 1, backend="llvm")
    with pytest.raises(gc.ShapeError, match=r"argument 'x': expected shape \(\?, 3\), got \(2, 4\)"):
        f(np.zeros((2, 4), np.float32))
    with pytest.raises(gc.DTypeError, match="argument 'x': expected dtype float32, got float64"):
        f(np.zeros((2, 3)))
    with pytest.raises(TypeError, match="takes 1 arguments"):
        f()


def test_hidden_broadcast_of_an_unknown_size_is_refused():
    x, y = gc.tensor("x", (None,), "float64"), gc.tensor("y", (3,), "float64")
    f = gc.function([x, y], x * y, backend="llvm")
    with pytest.raises(gc.ShapeError, match="declared unknown"):
        f(np.ones(1), np.arange(3.0))


def test_non_contiguous_arguments(rng):
    x = gc.tensor("x", (4, 5), "float64")
    f = gc.function([x], gc.exp(x) @ x.T, backend="llvm")
    xv = rng.standard_normal((5, 4)).T            # a transposed (Fortran-ordered) argument
    np.testing.assert_allclose(f(xv), np.exp(xv) @ xv.T, rtol=1e-12)


def test_outputs_are_fresh_arrays_that_alias_nothing(rng):
    w = gc.shared(rng.standard_normal((3, 4)), "w")
    x = gc.tensor("x", (3, 4), "float64")
    f = gc.function([x], [w, w.T, x, x.reshape((4, 3)), w + 0, w + 0], backend="llvm")
    xv = rng.standard_normal((3, 4))
    outs = f(xv)
    for k, a in enumerate(outs):
        assert not np.may_share_memory(a, w.get_value(borrow=True))
        assert not np.may_share_memory(a, xv)
        for b in outs[k + 1:]:
            assert not np.may_share_memory(a, b)
    np.testing.assert_array_equal(outs[1], w.get_value().T)
    np.testing.assert_array_equal(outs[3], xv.reshape(4, 3))
    first = outs[4].copy()
    outs[4][...] = 0                                   # results are the caller's to change
    np.testing.assert_array_equal(f(xv)[4], first)


def test_updates_and_shared_variables_read_at_every_call():
    w = gc.shared(np.array([5.0, 7.0]), "w")
    n = gc.shared(np.int64(0), "n")
    step = gc.function([], [w * 1.0, n], updates={w: w - 1, n: n + 1}, backend="llvm")
    np.testing.assert_array_equal(step()[0], [5.0, 7.0])
    np.testing.assert_array_equal(w.get_value(), [4.0, 6.0])
    w.set_value(np.array([0.5, 0.25]))
    out, count = step()
    np.testing.assert_array_equal(out, [0.5, 0.25])
    assert count == 1 and n.get_value() == 2
    a, b = gc.shared(np.array(1.0), "a"), gc.shared(np.array(2.0), "b")
    swap = gc.function([], a + 10 * b, updates={a: b, b: a}, backend="llvm")
    assert swap() == 21.0 and (a.get_value(), b.get_value()) == (2.0, 1.0)


def test_training_steps_match_the_reference(rng):
    def train(backend):
        gc.seed(5)
        model = gc.nn.models.mlp(6, 9, 4, rng=0, dtype="float64")
        x, y = gc.tensor("x", (None, 6), "float64"), gc.tensor("y", (None,), "int64")
        hidden = gc.nn.dropout(model(x, training=True), 0.2)
        loss = gc.nn.cross_entropy(hidden, y)
        step = gc.function([x, y], loss, updates=gc.nn.adam(model.parameters(), loss, lr=0.01), backend=backend)
        data = np.random.default_rng(0)
        losses = [step(data.standard_normal((n, 6)), data.integers(0, 4, n)) for n in (5, 8, 5)]
        return losses, [p.get_value() for p in model.parameters()]

    (l1, p1), (l2, p2) = train("numpy"), train("llvm")
    np.testing.assert_allclose(l2, l1, rtol=1e-10)
    for a, b in zip(p2, p1):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_dropout_masks_equal_the_reference(dtype, rng):
    def masks(backend):
        gc.seed(7)
        x = gc.tensor("x", (37, 11), dtype)
        f = gc.function([x], gc.nn.dropout(x, 0.3), backend=backend)
        xv = np.ones((37, 11), dtype)
        return [f(xv) for _ in range(3)]

    ref, got = masks("numpy"), masks("llvm")
    for g, r in zip(got, ref):
        np.testing.assert_array_equal(g, r)
    assert not np.array_equal(got[0], got[1])         # a fresh mask at every call


def test_thread_counts_give_the_same_results(rng):
    from graphc.backend.llvm.kernels.fused import PARALLEL_MIN_ELEMENTS
    from graphc.backend.llvm.kernels.gemm import PARALLEL_MIN_FLOPS

    n = int((PARALLEL_MIN_FLOPS / 2) ** (1 / 3)) + 5   # a product just big enough to split over threads
    x = gc.tensor("x", (PARALLEL_MIN_ELEMENTS,), "float32")
    a, b = gc.tensor("a", (n, n + 1), "float32"), gc.tensor("b", (n + 1, n - 1), "float32")
    outs = [gc.tanh(x) * 2 + 1, gc.sum(x * x), gc.relu(a @ b)]
    args = [rand(rng, (PARALLEL_MIN_ELEMENTS,)), rand(rng, (n, n + 1)), rand(rng, (n + 1, n - 1))]
    one = gc.function([x, a, b], outs, backend="llvm", threads=1)(*args)
    two = gc.function([x, a, b], outs, backend="llvm", threads=2)
    for r, g in zip(one, two(*args)):
        np.testing.assert_allclose(g, r, rtol=1e-4, atol=1e-3)
    assert "parallel" in two.inspect.loop_ir(0) and "parallel" in two.inspect.loop_ir(2)


def test_an_op_without_lowering_raises_naming_it():
    from dataclasses import dataclass

    from graphc.ir import Node, Op

    @dataclass(frozen=True)
    class Mystery(Op):
        def infer_type(self, x):
            return x

        def reference(self, x):
            return x

    x = gc.tensor("x", (3,), "float32")
    f = gc.function([x], Node.make(Mystery(), [x]) + 1, backend="llvm", simplify=False)
    with pytest.raises(NotImplementedError, match="no lowering for op Mystery"):
        f(np.zeros(3, np.float32))


def test_inspection_lists_kernels_ir_assembly_and_profile(rng):
    x, w, b = gc.tensor("x", (64, 48)), gc.tensor("w", (48, 32)), gc.tensor("b", (32,))
    y = gc.relu(x @ w + b)
    f = gc.function([x, w, b], [y, y.sum(axis=1)], backend="llvm")
    args = [rand(rng, (64, 48)), rand(rng, (48, 32)), rand(rng, (32,))]
    f(*args)
    kernels = f.inspect.kernels()
    assert kernels[0].ops == ("matmul", "add", "relu") and kernels[0].shape == (64, 32)
    assert kernels[0].flops == 2 * 64 * 48 * 32
    assert [k.ops for k in kernels[1:]] == [("sum",)]
    assert "matmul" in f.inspect.listing()
    assert "define" in f.inspect.llvm_ir(0) and "fma" in f.inspect.llvm_ir(0)
    assert "vfmadd" in f.inspect.assembly(kernels[0].name)
    assert "for rr1 in range(32) [vectorize 8]:\n    out1[rr0] += out0[rr0 * 32 + rr1]" in f.inspect.loop_ir(1)
    profile = f.inspect.profile(*args)
    assert [row.kernel.name for row in profile] == [k.name for k in kernels]
    assert all(row.seconds >= 0 for row in profile) and profile.total > 0
    assert "total" in str(profile)
    memory = f.inspect.memory()
    assert memory.outputs == (64 * 32 + 64) * 4 and memory.constants == 0 and memory.arena > 0
    assert memory.peak == memory.arena + memory.outputs and "arena" in str(memory)


def test_profiled_runs_write_into_earlier_outputs_not_new_arrays(rng, monkeypatch):
    """New output arrays would add their first touch's page faults to the kernels' times."""
    from graphc.backend.llvm.executor import Bound

    x = gc.tensor("x", (256, 256))
    f = gc.function([x], [x * 2.0, x.sum()], backend="llvm")
    arg = rand(rng, (256, 256))
    f(arg)
    fresh = []
    allocate = Bound._output_array
    monkeypatch.setattr(Bound, "_output_array", lambda self, k, storage: fresh.append(storage is None)
                        or allocate(self, k, storage))
    profile = f.inspect.profile(arg, repeat=3)
    assert len(profile) == 2 and fresh.count(True) == 2 and fresh.count(False) == 3 * 2


def test_loop_ir_prints_as_indented_pseudo_code():
    from graphc.backend.llvm.inspect import format_kernel
    from graphc.backend.llvm.loopir import Accumulate, Buffer, Cast, For, If, Kernel, Select, Var, block, const

    a, o = Buffer("a", "float64", (4, 6), strides=(1, 4)), Buffer("o", "float32", (4,))
    i, j = Var("i"), Var("j")
    x = a[i, j]
    body = block(o.store([i], const(0.0, "float32")),
                 For(j, const(1), const(5), If(x.gt(0.5), Accumulate(o, i, "max", Cast(-x * (x + 1), "float32")))))
    kernel = Kernel("k", For(i, const(0), const(4), body, kind="parallel"), flops=40)
    assert format_kernel(kernel) == "\n".join([
        "kernel k: 40 flops",
        "  o: float32[4]",
        "  a: float64[4, 6] strides (1, 4)",
        "for i in range(4) [parallel]:",
        "  o[i] = 0.0",
        "  for j in range(1, 1 + 5):",
        "    if a[i + j * 4] > 0.5:",
        "      o[i] max= float32(-a[i + j * 4] * (a[i + j * 4] + 1.0))",
    ])
    assert "select(" in format_kernel(Kernel("s", o.store([0], Select(x.lt(0.0), const(1.0, "float32"),
                                                                          const(2.0, "float32")))))


def test_inspection_before_the_first_call_of_a_symbolic_function():
    x = gc.tensor("x", (None,))
    f = gc.function([x], x + 1, backend="llvm")
    with pytest.raises(RuntimeError, match="call it once"):
        f.inspect.kernels()
    assert gc.function([x], x * 2, backend="numpy").inspect is None


def test_read_only_and_empty_arguments(rng):
    x = gc.tensor("x", (None, 3), "float64")
    f = gc.function([x], [x * 2, x.sum()], backend="llvm")
    xv = rng.standard_normal((4, 3))
    xv.flags.writeable = False
    np.testing.assert_array_equal(f(xv)[0], xv * 2)
    empty = f(np.zeros((0, 3)))
    assert empty[0].shape == (0, 3) and empty[1] == 0.0


def test_a_second_process_loads_from_the_disk_cache_without_simplifying_or_building(rng, monkeypatch, cache_dir):
    from graphc.backend.llvm import build, runtime
    from graphc.function import prepare

    def graph():
        x = gc.tensor("x", (5, 4), "float64")
        return [x], [gc.tanh(x) @ x.T]

    inputs, outputs = graph()
    xv = rng.standard_normal((5, 4))
    first = gc.function(inputs, outputs, backend="llvm")
    want = first(xv)
    built = first.inspect.compile_times()
    assert {"simplify", "lower"} <= set(built)
    assert built.counts["compiled"] == built.counts["distinct"] > 0      # here or by helper processes
    assert any(cache_dir.iterdir())
    runtime._plans.clear()                             # as if in a fresh process

    def no_work(*args, **kwargs):
        raise AssertionError("simplified or built again despite the cached object")

    monkeypatch.setattr(build, "build_program", no_work)
    monkeypatch.setattr(prepare, "simplify", no_work)
    inputs, outputs = graph()
    second = gc.function(inputs, outputs, backend="llvm")
    got = second(xv)
    np.testing.assert_array_equal(got[0], want[0])
    times = second.inspect.compile_times()
    assert list(times) == ["key", "cache read"]       # the plan from the disk; its kernels loaded already
    assert times.counts["in process"] == times.counts["distinct"]


def test_a_corrupt_cache_entry_is_rebuilt(rng, cache_dir):
    from graphc.backend.llvm import runtime

    x = gc.tensor("x", (3,), "float64")
    gc.function([x], gc.exp(x), backend="llvm")(np.zeros(3))
    for path in cache_dir.iterdir():
        path.write_bytes(path.read_bytes()[:-7] + b"garbage")
    runtime._plans.clear()
    y = gc.tensor("y", (3,), "float64")
    np.testing.assert_allclose(gc.function([y], gc.exp(y), backend="llvm")(np.ones(3)), np.exp(np.ones(3)))
