"""The blocked gemm against numpy at odd shapes, both dtypes, strided operands, threads."""
import numpy as np
import pytest

from graphc.backend.llvm import compile_program
from graphc.backend.llvm.kernels.gemm import gemm_program

SHAPES = [(1, 1, 1), (1, 17, 3), (7, 13, 5), (6, 16, 256), (131, 67, 300), (97, 263, 31), (257, 130, 513)]


def _check(M, N, K, dtype, transpose_a=False, transpose_b=False, threads=1, nthreads=1):
    rng = np.random.default_rng(M * 1000 + N + K)
    a = rng.normal(size=(K, M) if transpose_a else (M, K)).astype(dtype)
    b = rng.normal(size=(N, K) if transpose_b else (K, N)).astype(dtype)
    a, b = (a.T if transpose_a else a), (b.T if transpose_b else b)
    strides = lambda x: tuple(s // x.itemsize for s in x.strides)  # noqa: E731
    prog = gemm_program(M, N, K, dtype, strides(a), strides(b), threads=threads)
    c = np.full((M, N), np.nan, dtype)
    compile_program(prog)(a, b, c, nthreads=nthreads)
    tol = 1e-4 if dtype == "float32" else 1e-12
    np.testing.assert_allclose(c, a.astype(np.float64) @ b.astype(np.float64), rtol=tol, atol=tol * np.sqrt(K))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("M,N,K", SHAPES)
def test_matches_numpy(M, N, K, dtype):
    _check(M, N, K, dtype)


@pytest.mark.parametrize("ta,tb", [(True, False), (False, True), (True, True)])
def test_transposed_operands_without_copies(ta, tb):
    _check(37, 29, 41, "float32", ta, tb)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("nthreads", [1, 2, 3])
def test_parallel_split_matches(dtype, nthreads):
    _check(300, 301, 299, dtype, threads=2, nthreads=nthreads)


def test_small_products_stay_single_threaded():
    assert "parallel" not in repr(gemm_program(64, 64, 64, threads=2))
    assert "parallel" in repr(gemm_program(512, 512, 512, threads=2))


def test_wrong_arguments_raise():
    run = compile_program(gemm_program(4, 5, 6))
    a, b, c = np.zeros((4, 6), np.float32), np.zeros((6, 5), np.float32), np.zeros((4, 5), np.float32)
    with pytest.raises(ValueError, match="expected float32"):
        run(a.astype(np.float64), b, c)
    with pytest.raises(ValueError, match="strides"):
        run(np.asfortranarray(a), b, c)
    with pytest.raises(TypeError):
        run(a, b)
