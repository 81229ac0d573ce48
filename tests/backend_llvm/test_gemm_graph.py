"""Matmul through gc.function (lower/matmul.py) against the numpy reference: products large
enough for the blocked gemm at odd shapes, transposed, batched and broadcast operands, fused
epilogues, both dtypes, the AVX2 tiles forced on any host, and the thread choice."""
import numpy as np
import pytest

import graphc as gc
from graphc.backend.llvm.kernels import gemm
from graphc.backend.llvm.kernels.simd import Simd
from graphc.backend.llvm.loopir import For, Store, buffers, walk

from .graph_check import check, rand

FLOATS = ["float32", "float64"]
#: (a shape, b shape); every product has enough multiply-adds for the blocked kernel.
SHAPES = [((97, 263), (263, 31)), ((1, 523), (523, 67)), ((131, 67), (67, 1)), ((64, 600), (600, 67)),
          ((263,), (263, 127)), ((61, 263), (263,))]
BATCHED = [((3, 37, 53), (3, 53, 41)), ((2, 1, 37, 53), (4, 53, 41)), ((37, 53), (5, 53, 41)),
           ((5, 37, 53), (53, 41))]


@pytest.fixture
def rng():
    return np.random.default_rng(7)


def _inputs(shapes, dtype):
    return [gc.tensor(name, shape=s, dtype=dtype) for name, s in zip("ab", shapes)]


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("sa,sb", SHAPES)
def test_blocked_matmul_at_odd_shapes(sa, sb, dtype, rng):
    a, b = _inputs((sa, sb), dtype)
    check([a, b], a @ b, [rand(rng, sa, dtype), rand(rng, sb, dtype)], scale=sa[-1])


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("sa,sb", BATCHED)
def test_batched_and_broadcast(sa, sb, dtype, rng):
    a, b = _inputs((sa, sb), dtype)
    check([a, b], a @ b, [rand(rng, sa, dtype), rand(rng, sb, dtype)], scale=sa[-1])


@pytest.mark.parametrize("dtype", FLOATS)
def test_transposed_operands(dtype, rng):
    """A read along M (column-major copy), B read along K (strided panel fill), and both."""
    a, b = _inputs(((263, 97), (41, 263)), dtype)
    outs = [a.T @ b.T, a.T @ gc.transpose(b.T @ b), gc.transpose(a) @ a]
    check([a, b], outs, [rand(rng, (263, 97), dtype), rand(rng, (41, 263), dtype)], scale=263)


@pytest.mark.parametrize("dtype", FLOATS)
def test_fused_epilogue_and_operands(dtype, rng):
    """Bias and activation stored with the result; K spans two cache blocks (the epilogue
    waits for the last); an elementwise operand computed while packing; a narrowing cast."""
    x, w = _inputs(((67, 600), (600, 97)), dtype)
    bias = gc.tensor("bias", shape=(97,), dtype=dtype)
    narrow = "float32"          # the product in float64 finished into a float32 output
    outs = [gc.relu(x @ w + bias), gc.tanh(x) @ (w * 2), gc.cast(x @ w, narrow) - 1]
    values = [rand(rng, (67, 600), dtype), rand(rng, (600, 97), dtype), rand(rng, (97,), dtype)]
    check([x, w, bias], outs, values, scale=600)


@pytest.mark.parametrize("dtype", FLOATS + ["int32"])
def test_matrix_times_column_and_row_times_matrix(dtype, rng):
    """N == 1 (dot products along K, A read along either axis) and M == 1, with epilogues."""
    a, v = _inputs(((37, 300), (300, 1)), dtype)
    w = gc.tensor("w", shape=(300, 45), dtype=dtype)
    outs = [gc.maximum(a @ v + 1, 0), gc.transpose(a) @ a[:, :1], v.T @ w, (gc.transpose(v) @ w) * 2]
    values = [rand(rng, (37, 300), dtype), rand(rng, (300, 1), dtype), rand(rng, (300, 45), dtype)]
    check([a, v, w], outs, values, scale=300)


@pytest.mark.parametrize("dtype", FLOATS + ["int32"])
@pytest.mark.parametrize("rows,cols", [(1, 77), (3, 43), (8, 7), (8, 100)])
def test_a_few_rows_times_a_matrix_read_along_k(rows, cols, dtype, rng):
    """Up to 8 rows with B read along K (a Dense layer's input gradient at a small batch:
    g @ w.T) run as dot products along K, a block of B's columns at a time for every row
    (column counts that leave a partial block, K leaving a scalar tail), with epilogues and
    batch axes; B is not packed."""
    g, w = gc.tensor("g", shape=(rows, 300), dtype=dtype), gc.tensor("w", shape=(cols, 300), dtype=dtype)
    b = gc.tensor("b", shape=(3, rows, 300), dtype=dtype)
    outs = [g @ gc.transpose(w), gc.maximum(g @ gc.transpose(w) + 1, 0), b @ gc.transpose(w),
            gc.relu(g) @ gc.transpose(w), b[:, 0, :] @ gc.transpose(w)]
    values = [rand(rng, (rows, 300), dtype), rand(rng, (cols, 300), dtype), rand(rng, (3, rows, 300), dtype)]
    check([g, w, b], outs, values, scale=300)
    for a, copied in ((g, False), (gc.relu(g), True)):
        f = gc.function([g, w], a @ gc.transpose(w))
        f(*values[:2])
        kernel = f.inspect.program().calls[-1].kernel
        loops = {n.var.name: n for n in walk(kernel.body) if isinstance(n, For)}
        assert loops["dk"].kind == "vectorize" and "dj" in loops
        assert not any(buf.scope == "scratch" for buf in buffers(kernel.body))
        # an operand computed inline (relu) is computed once into rows of its own, not per block
        assert ("rp" in loops) == copied


@pytest.mark.parametrize("threads,parallel", [("1", 0), ("2", 1)])
def test_dot_product_blocks_split_over_threads(threads, parallel, monkeypatch, rng):
    """A few-rows product with B read along K, of few flops but a large B (bound by memory),
    shares its column blocks among threads."""
    monkeypatch.setenv("GRAPHC_NUM_THREADS", threads)
    assert 2 * 5 * 3001 * 1000 < gemm.PARALLEL_MIN_FLOPS
    g, w = gc.tensor("g", shape=(5, 1000), dtype="float32"), gc.tensor("w", shape=(3001, 1000), dtype="float32")
    f = gc.function([g, w], g @ gc.transpose(w))
    vg, vw = rand(rng, (5, 1000)), rand(rng, (3001, 1000))
    np.testing.assert_allclose(f(vg, vw), vg.astype(np.float64) @ vw.T, rtol=1e-4, atol=1e-3)
    assert _parallel_loops(f) == parallel


@pytest.mark.parametrize("rows,k,dtype", [(2, 37, "float32"), (5, 300, "float64"), (6, 5, "float32"),
                                          (8, 1000, "float32"), (4, 1000, "float64")])
def test_a_few_rows_stream_b_in_place(rows, k, dtype, rng, monkeypatch):
    """A few rows times a B whose rows are read in place (a dense layer's forward pass at a
    small batch) run without packing B, K in blocks of STREAM_KC rows (a partial last one, or
    only one), with an epilogue, batch axes and two threads; N = 70 has an edge panel and packs."""
    monkeypatch.setattr(gemm, "PARALLEL_MIN_FLOPS", 0)
    monkeypatch.setenv("GRAPHC_NUM_THREADS", "2")
    x, w = _inputs(((rows, k), (k, 128)), dtype)
    bias, xs = gc.tensor("bias", shape=(128,), dtype=dtype), gc.tensor("xs", shape=(3, rows, k), dtype=dtype)
    outs = [x @ w, gc.relu(x @ w + bias), xs @ w]
    values = [rand(rng, (rows, k), dtype), rand(rng, (k, 128), dtype), rand(rng, (128,), dtype),
              rand(rng, (3, rows, k), dtype)]
    check([x, w, bias, xs], outs, values, scale=k)
    for n, streamed in ((128, True), (70, False)):
        x, w = _inputs(((rows, k), (k, n)), dtype)
        f = gc.function([x, w], x @ w)
        f(rand(rng, (rows, k), dtype), rand(rng, (k, n), dtype))
        body = f.inspect.program().calls[0].kernel.body
        packs = sum(1 for buf in buffers(body) if buf.scope == "scratch")      # A's, and B's unless streamed
        assert packs == (1 if streamed else 2)


@pytest.mark.parametrize("dtype", FLOATS)
def test_epilogue_of_one_k_block_reads_the_tile(dtype, rng):
    """With K in one cache block the sum is whole in the register tile: the epilogue reads it
    there and the output is stored once (the product never stored before its epilogue), also
    into a narrower output; with K over two blocks the partial sums go through C."""
    x, w = _inputs(((67, 300), (300, 97)), dtype)
    bias = gc.tensor("bias", shape=(97,), dtype=dtype)
    outs = [gc.relu(x @ w + bias), gc.cast(x @ w, "float32") - 1]
    values = [rand(rng, (67, 300), dtype), rand(rng, (300, 97), dtype), rand(rng, (97,), dtype)]
    check([x, w, bias], outs, values, scale=300)
    for k, stores in ((300, 1), (600, 2)):
        x, w = _inputs(((67, k), (k, 97)), dtype)
        f = gc.function([x, w, bias], gc.relu(x @ w + bias))
        f(rand(rng, (67, k), dtype), rand(rng, (k, 97), dtype), values[2])
        body = f.inspect.program().calls[0].kernel.body
        assert sum(1 for n in walk(body) if isinstance(n, Store) and n.buf.scope == "param") == stores


@pytest.mark.parametrize("dtype", FLOATS)
def test_avx2_tiles_forced_on_any_host(dtype, rng, monkeypatch):
    """The AVX2 register tile stays correct on an AVX-512 host (shapes used by no other test,
    so the program is compiled here with the forced tiles)."""
    monkeypatch.setattr(gemm, "host_simd", lambda: Simd(32, 16))
    a, b = _inputs(((59, 131), (131, 83)), dtype)
    bias = gc.tensor("bias", shape=(83,), dtype=dtype)
    out = gc.relu(a @ b + bias)
    check([a, b, bias], out, [rand(rng, (59, 131), dtype), rand(rng, (131, 83), dtype), rand(rng, (83,), dtype)],
          scale=131)
    f = gc.function([a, b, bias], out)
    f(rand(rng, (59, 131), dtype), rand(rng, (131, 83), dtype), rand(rng, (83,), dtype))
    widths = {n.width for k in f.inspect.program().kernels for n in walk(k.body)
              if isinstance(n, For) and n.kind == "vectorize"}
    assert widths == {32 // np.dtype(dtype).itemsize}


def _parallel_loops(f) -> int:
    return sum(1 for k in f.inspect.program().kernels for n in walk(k.body)
               if isinstance(n, For) and n.kind == "parallel")


@pytest.mark.parametrize("threads,parallel", [("1", 0), ("2", 1)])
def test_thread_count_follows_the_environment(threads, parallel, monkeypatch, rng):
    monkeypatch.setenv("GRAPHC_NUM_THREADS", threads)
    a, b = _inputs(((512, 512), (512, 512)), "float32")
    f = gc.function([a, b], a @ b)
    va, vb = rand(rng, (512, 512)), rand(rng, (512, 512))
    np.testing.assert_allclose(f(va, vb), va.astype(np.float64) @ vb, rtol=1e-4, atol=1e-3)
    assert _parallel_loops(f) == parallel


def test_small_products_stay_on_one_thread(monkeypatch):
    monkeypatch.setenv("GRAPHC_NUM_THREADS", "2")
    a, b = _inputs(((96, 96), (96, 96)), "float32")
    f = gc.function([a, b], a @ b)
    f(np.ones((96, 96), np.float32), np.ones((96, 96), np.float32))
    assert _parallel_loops(f) == 0
