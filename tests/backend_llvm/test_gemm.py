"""The blocked gemm kernel against numpy: odd shapes, both dtypes, strided operands, threads,
and both register-tile choices (AVX-512's and AVX2's) whatever this host is."""
import numpy as np
import pytest

from graphc.backend.llvm import compile_program
from graphc.backend.llvm.kernels import gemm
from graphc.backend.llvm.kernels.gemm import Tiles, gemm_program, host_tiles, plan_gemm, register_tile
from graphc.backend.llvm.kernels.simd import Simd, host_simd
from graphc.backend.llvm.loopir import For, walk

AVX2, AVX512 = Simd(32, 16), Simd(64, 32)
SIMDS = {"avx2": AVX2, "avx512": AVX512}
SHAPES = [(1, 1, 1), (1, 17, 3), (7, 13, 5), (6, 64, 256), (131, 67, 300), (97, 263, 31), (257, 130, 513)]


def _strides(x: np.ndarray) -> tuple[int, ...]:
    return tuple(s // x.itemsize for s in x.strides)


def _operands(M, N, K, dtype, transpose_a=False, transpose_b=False):
    rng = np.random.default_rng(M * 1000 + N + K)
    a = rng.normal(size=(K, M) if transpose_a else (M, K)).astype(dtype)
    b = rng.normal(size=(N, K) if transpose_b else (K, N)).astype(dtype)
    return (a.T if transpose_a else a), (b.T if transpose_b else b)


def _run(prog, a, b, nthreads=1) -> np.ndarray:
    c = np.full(prog.params[2].shape, np.nan, prog.params[2].dtype)
    compile_program(prog)(a, b, c, nthreads=nthreads)
    return c


def _assert_product(c, a, b):
    K = a.shape[1]
    tol = 1e-4 if c.dtype == np.float32 else 1e-12
    np.testing.assert_allclose(c, a.astype(np.float64) @ b.astype(np.float64), rtol=tol, atol=tol * np.sqrt(K))


def _check(M, N, K, dtype, transpose_a=False, transpose_b=False, threads=1, nthreads=1, tiles=None):
    a, b = _operands(M, N, K, dtype, transpose_a, transpose_b)
    prog = gemm_program(M, N, K, dtype, _strides(a), _strides(b), threads=threads, tiles=tiles)
    _assert_product(_run(prog, a, b, nthreads), a, b)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("M,N,K", SHAPES)
def test_matches_numpy(M, N, K, dtype):
    _check(M, N, K, dtype)


@pytest.mark.parametrize("simd", sorted(SIMDS))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("M,N,K", [(1, 1, 1), (13, 29, 7), (131, 67, 600)])
def test_both_tile_choices_match_numpy(M, N, K, dtype, simd):
    """The tiles of the other instruction set run here too (LLVM splits or joins the vectors)."""
    _check(M, N, K, dtype, tiles=host_tiles(dtype, SIMDS[simd]))


@pytest.mark.parametrize("simd", sorted(SIMDS))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("ta,tb", [(True, False), (False, True), (True, True)])
def test_transposed_operands_without_copies(ta, tb, dtype, simd):
    _check(37, 71, 541, dtype, ta, tb, tiles=host_tiles(dtype, SIMDS[simd]))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_operands_strided_along_both_axes(dtype):
    """Slices with no unit stride: packing gathers."""
    rng = np.random.default_rng(3)
    a = rng.normal(size=(2 * 23, 3 * 19)).astype(dtype)[::2, ::3]
    b = rng.normal(size=(19 * 2, 41 * 2)).astype(dtype)[::2, ::-2]
    prog = gemm_program(23, 41, 19, dtype, _strides(a), _strides(b))
    _assert_product(_run(prog, a, b), a, b)


@pytest.mark.parametrize("simd", sorted(SIMDS))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("M,N,K", [(301, 37, 83), (45, 301, 83), (7, 300, 90), (301, 5, 83)])
def test_every_thread_split_matches(M, N, K, dtype, simd, monkeypatch):
    """Column blocks (when N holds a tile per thread) or row chunks per thread, neither
    a multiple of the tile, run on 1 to 3 threads."""
    monkeypatch.setattr(gemm, "PARALLEL_MIN_FLOPS", 0)
    tiles = host_tiles(dtype, SIMDS[simd])
    plan = plan_gemm(M, N, K, dtype, 2, tiles)
    columns = M if plan.transposed else N
    assert plan.split == ("cols" if columns >= 2 * plan.tiles.nr else "rows")
    for nthreads in (1, 2, 3):
        _check(M, N, K, dtype, threads=2, nthreads=nthreads, tiles=tiles)


@pytest.mark.parametrize("simd", [AVX2, AVX512, Simd(16, 16)])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_register_tile_fits_the_register_file(simd, dtype):
    """Accumulators, the B vectors and one broadcast of A fit the registers; NR is whole vectors."""
    t = host_tiles(dtype, simd)
    mr, vectors, kc = register_tile(simd)
    assert (t.mr, t.nr, t.width, t.kc) == (mr, vectors * simd.lanes(dtype), simd.lanes(dtype), kc)
    assert mr * vectors + vectors + 1 <= simd.registers
    assert t.mc % t.mr == 0


def test_host_tiles_follow_the_host():
    simd = host_simd()
    assert host_tiles("float32").width == simd.width // 4
    assert host_tiles("float64").width == simd.width // 8


def test_tiles_must_be_whole_vectors_and_panels():
    with pytest.raises(ValueError, match="multiple"):
        Tiles(width=8, mr=6, nr=12, kc=256, mc=120)
    with pytest.raises(ValueError, match="multiple"):
        Tiles(width=8, mr=6, nr=16, kc=256, mc=100)


def _parallel_loops(prog) -> int:
    return sum(1 for k in prog.kernels for n in walk(k.body) if isinstance(n, For) and n.kind == "parallel")


def test_small_products_stay_single_threaded():
    assert _parallel_loops(gemm_program(64, 64, 64, threads=2)) == 0
    assert _parallel_loops(gemm_program(512, 512, 512, threads=2)) == 1
    assert _parallel_loops(gemm_program(512, 512, 512, threads=1)) == 0


def test_parallel_threshold_is_by_flops():
    edge = int(np.ceil((gemm.PARALLEL_MIN_FLOPS / 2) ** (1 / 3))) + 64
    assert plan_gemm(edge, edge, edge, "float32", 2).parallel
    assert not plan_gemm(edge, edge, edge, "float32", 1).parallel
    assert not plan_gemm(edge - 128, edge - 128, edge - 128, "float32", 2).parallel


def test_products_bound_by_memory_split_over_threads():
    """Few flops but many bytes of B and C (a dense layer at batch 8): worth two threads."""
    assert 2 * 8 * 1000 * 4096 < gemm.PARALLEL_MIN_FLOPS
    assert plan_gemm(8, 1000, 4096, "float32", 2).parallel
    assert plan_gemm(4096, 1000, 8, "float32", 2).parallel
    assert not plan_gemm(8, 100, 400, "float32", 2).parallel


@pytest.mark.parametrize("M,N,K", [(64, 2, 84), (300, 3, 700), (97, 6, 600)])
def test_few_columns_run_transposed(M, N, K):
    """C^T = B^T @ A^T when the N columns fill a small part of a vector (float32 on
    AVX-512) and far more of an MR-row panel; the result is C all the same."""
    tiles = host_tiles("float32", AVX512)
    assert plan_gemm(M, N, K, "float32", 1, tiles).transposed
    assert not plan_gemm(N, M, K, "float32", 1, tiles).transposed
    for ta, tb in [(False, False), (True, True)]:
        _check(M, N, K, "float32", ta, tb, tiles=tiles)


@pytest.mark.parametrize("simd", sorted(SIMDS))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_narrow_products_use_narrow_tiles(simd, dtype):
    """No more vectors per row than N fills (the rest would be padding)."""
    tiles = host_tiles(dtype, SIMDS[simd])
    W = tiles.width
    assert plan_gemm(200, W + 1, 50, dtype, 1, tiles).tiles.nr == 2 * W
    assert plan_gemm(200, 1000, 50, dtype, 1, tiles).tiles.nr == tiles.nr
    _check(200, W + 1, 50, dtype, tiles=tiles)


def test_wrong_arguments_raise():
    run = compile_program(gemm_program(4, 5, 6))
    a, b, c = np.zeros((4, 6), np.float32), np.zeros((6, 5), np.float32), np.zeros((4, 5), np.float32)
    with pytest.raises(ValueError, match="expected float32"):
        run(a.astype(np.float64), b, c)
    with pytest.raises(ValueError, match="strides"):
        run(np.asfortranarray(a), b, c)
    with pytest.raises(TypeError):
        run(a, b)


def test_small_packed_b_blocks_take_panels_row_by_row():
    """A short K (a weight gradient's batch) packs little of B: its panels go row by row."""
    assert plan_gemm(9216, 4096, 8, "float32", 1).rows_first
    assert plan_gemm(4096, 256, 64, "float32", 1).rows_first
    assert not plan_gemm(1024, 1024, 1024, "float32", 1).rows_first
    assert not plan_gemm(8, 4096, 9216, "float32", 1).rows_first


@pytest.mark.parametrize("rows_first", [False, True])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("M,N,K", [(7, 13, 5), (131, 67, 300), (97, 263, 31), (257, 130, 513), (301, 5, 83)])
def test_both_panel_orders_match_numpy(M, N, K, dtype, rows_first, monkeypatch):
    """Edge panels in both dimensions, K over one block or several, one or three threads."""
    monkeypatch.setattr(gemm, "ROWS_FIRST_MAX_BYTES", 1 << 62 if rows_first else 0)
    monkeypatch.setattr(gemm, "PARALLEL_MIN_FLOPS", 0)
    assert plan_gemm(M, N, K, dtype, 2).rows_first == rows_first
    for nthreads in (1, 3):
        _check(M, N, K, dtype, threads=2, nthreads=nthreads)


def test_a_short_k_packs_only_its_rows():
    """A dense layer's weight gradient (K = the batch) packs K rows per panel, not KC: its
    scratch stays small and its B panels contiguous."""
    plan = plan_gemm(9216, 4096, 8, "float32", 1)
    assert plan.tiles.kc == 8 and plan.pack_sizes == (plan.tiles.mc * 8, plan.nc * 8)
    assert plan_gemm(1024, 1024, 1024, "float32", 1).tiles.kc == host_tiles("float32").kc


def test_a_few_rows_get_eight_row_tiles_where_they_pad_less():
    """A dense layer at batch 8 or 16 computes no padding rows (6-row tiles would add 4 or 2)."""
    tiles = {m: plan_gemm(m, 4096, 9216, "float32", 1, None).tiles for m in (6, 7, 8, 12, 16, 24, 64)}
    if host_simd().registers >= 32:
        assert {m: t.mr for m, t in tiles.items()} == {6: 6, 7: 8, 8: 8, 12: 6, 16: 8, 24: 6, 64: 6}
        assert tiles[8].nr == 2 * tiles[8].width and tiles[8].mc % 8 == 0
    assert host_tiles("float32", AVX2, rows=8).mr == 6          # 8 x 2 vectors do not fit 16 registers


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("M,N,K", [(7, 300, 90), (8, 131, 600), (16, 67, 263), (13, 1000, 40)])
def test_eight_row_tiles_match_numpy(M, N, K, dtype):
    tiles = host_tiles(dtype, AVX512, rows=M)
    assert tiles.mr == 8
    _check(M, N, K, dtype, tiles=tiles)
    _check(M, N, K, dtype, transpose_b=True, tiles=tiles)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("M,N,K", [(240, 128, 1024), (12, 64, 512), (120, 16, 8)])
def test_whole_blocks_match_numpy(M, N, K, dtype):
    """Sizes that are whole cache blocks and tiles (their block lengths are constants)."""
    _check(M, N, K, dtype)
    _check(M, N, K, dtype, transpose_a=True, transpose_b=True)


@pytest.mark.parametrize("M,N,K", [(48, 16, 64), (24, 256, 64)])
def test_whole_blocks_split_over_threads_match(M, N, K, monkeypatch):
    """Row chunks (48 x 16) and column blocks (24 x 256) of whole tiles, on 1 to 3 threads."""
    monkeypatch.setattr(gemm, "PARALLEL_MIN_FLOPS", 0)
    for nthreads in (1, 2, 3):
        _check(M, N, K, "float32", threads=2, nthreads=nthreads, tiles=host_tiles("float32", AVX512))


def _loops_and_vector_code(M, N, K):
    """The loops of the (M, K) x (K, N) kernel's emitted IR (their header labels), its loop
    metadata count, and whether LLVM's optimised IR holds vector loops of its own."""
    import re

    from graphc.backend.llvm import jit
    from graphc.backend.llvm.emitter import emit_kernel
    emitted = str(emit_kernel(gemm_program(M, N, K, tiles=host_tiles("float32", AVX512)).calls[0].kernel, "k"))
    optimised = str(jit.optimize(emitted)[0])
    loops = set(re.findall(r"^([a-z0-9_.]+)\.cond:", emitted, re.M))
    return loops, emitted.count("!llvm.loop"), "vector.body" in optimised or "vec.epilog" in optimised


def test_whole_blocks_emit_no_tails_padding_or_edges():
    """Whole blocks and tiles: no scalar tails (bj, ap, ej), zero padding (bz, az) or second
    epilogue loop are emitted, where LLVM would optimise code that never runs."""
    loops, hints, llvm_vectors = _loops_and_vector_code(240, 128, 1024)
    assert {"bj.v", "ap.v", "ej.v", "p"} <= loops and not loops & {"bj", "ap", "ej", "bz", "az"}
    assert hints == 0 and not llvm_vectors


def test_edge_tails_are_left_scalar_by_llvm():
    """Edge tiles' scalar tails (fewer than a vector's iterations) carry the no-vectorise loop
    property: LLVM adds no vectorised copies of them behind run-time checks."""
    loops, hints, llvm_vectors = _loops_and_vector_code(131, 67, 300)
    assert {"bj", "ap", "ej"} <= loops and not llvm_vectors
    assert hints == 4               # the tails of bj, ej, and of ap in A's copy and in its zero rows


def test_one_row_panel_reads_b_in_place():
    """A product of one row panel over whole tiles, whose B rows can be read where they are,
    streams B in blocks of STREAM_KC rows instead of packing it; other products pack."""
    t = host_tiles("float32", rows=8)
    plan = plan_gemm(8, 4096, 9216, "float32", 1, b_in_place=True)
    assert plan.stream_b and plan.tiles.kc == gemm.STREAM_KC and plan.pack_sizes[1] == 0
    assert not plan_gemm(8, 4096, 9216, "float32", 1).stream_b                 # B not readable in place
    assert not plan_gemm(t.mr + 1, 4096, 9216, "float32", 1, b_in_place=True).stream_b   # two row panels
    assert not plan_gemm(8, 4096 + 8, 9216, "float32", 1, b_in_place=True).stream_b      # an edge panel
