"""Canonical kernels: buffers renamed p0, p1, ... by first use, and keys naming the structure."""
import pytest

from graphc.backend.llvm.canonical import canonical_call, renamed
from graphc.backend.llvm.loopir import Buffer, Kernel, Var, buffers, loop


def _add_kernel(out: Buffer, a: Buffer, b: Buffer) -> Kernel:
    i = Var("i")
    return Kernel("add", loop(i, out.shape[0], out.store([i], a[i] + b[i])))


def test_places_named_in_first_use_order_parents_first():
    out, a, b = Buffer("t9", "float32", (5,)), Buffer("t1", "float32", (5,)), Buffer("t4", "float32", (5,))
    call = canonical_call(_add_kernel(out, a, b))
    assert call.args == ("t9", "t1", "t4") and call.offsets == (0, 0, 0)
    assert [x.name for x in buffers(call.kernel.body)] == ["p0", "p1", "p2"]


def test_views_at_one_place_share_its_name():
    out = Buffer("t9", "float32", (5,))
    a = Buffer("t1", "float32", (5,))
    view = Buffer("t1_r", "float32", (5,), strides=(-1,), base="t1", offset=16)
    call = canonical_call(_add_kernel(out, a, Buffer("t1_s", "float32", (5,), base="t1")))
    assert call.args == ("t9", "t1")
    names = [(x.name, x.base) for x in buffers(call.kernel.body)]
    assert names[:2] == [("p0", None), ("p1", None)] and names[2][1] == "p1"
    call = canonical_call(_add_kernel(out, a, view))
    assert call.args == ("t9", "t1", "t1") and call.offsets == (0, 0, 16)


def test_keys_equal_exactly_when_structures_are():
    def key(dtype="float32", n=5, names=("t9", "t1", "t4")):
        return canonical_call(_add_kernel(*(Buffer(x, dtype, (n,)) for x in names))).key
    assert key() == key(names=("u", "v", "w"))
    assert key() != key(dtype="float64")
    assert key() != key(n=6)


def test_two_different_buffers_named_alike_are_refused():
    out = Buffer("t9", "float32", (5,))
    with pytest.raises(ValueError, match="two different buffers are named t1"):
        canonical_call(_add_kernel(out, Buffer("t1", "float32", (5,)), Buffer("t1", "float32", (6,), strides=(1,))))


def test_renamed_with_a_mapping():
    out, a, b = Buffer("t9", "float32", (5,)), Buffer("t1", "float32", (5,)), Buffer("t4", "float32", (5,))
    body = renamed(_add_kernel(out, a, b).body, {("t9", 0): "y", ("t1", 0): "a", ("t4", 0): "b"})
    assert [x.name for x in buffers(body)] == ["y", "a", "b"]
