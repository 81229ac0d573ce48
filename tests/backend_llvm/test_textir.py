"""textir writes the same LLVM IR text as llvmlite.ir for the same calls (so the code LLVM makes
of a kernel does not change), and that text is valid LLVM IR."""
import math

import llvmlite.binding as llvm
import llvmlite.ir as lir
import pytest

from graphc.backend.llvm import jit, textir
from graphc.backend.llvm.emitter import emit_kernel, emit_runner
from graphc.backend.llvm.loopir import Buffer, For, Kernel, Load, Store, Un, Var, binop, const

BOTH = pytest.mark.parametrize("ir", [lir, textir], ids=["llvmlite", "textir"])


def _alloca(ir, b, typ, size=None, name="", align=None):
    if ir is textir:
        return b.alloca(typ, size, name=name, align=align)
    p = b.alloca(typ, size, name=name)
    p.align = align
    return p


def _cbranch(ir, b, cond, then, otherwise, weights):
    if ir is textir:
        return b.cbranch(cond, then, otherwise, weights)
    b.cbranch(cond, then, otherwise).set_weights(list(weights))


def _memset(ir, module):
    i8, i8p = ir.IntType(8), ir.IntType(8).as_pointer()
    if ir is textir:
        return module.declare_intrinsic("llvm.memset.p0i8.i64", [i8p, i8, ir.IntType(64), ir.IntType(1)])
    return module.declare_intrinsic("llvm.memset", [i8p, ir.IntType(64)])


def _every_instruction(ir) -> str:
    """A module using each builder method, constant kind and naming rule the backend uses."""
    i1, i8, i32, i64, f32, f64 = (ir.IntType(1), ir.IntType(8), ir.IntType(32), ir.IntType(64), ir.FloatType(),
                                  ir.DoubleType())
    v4f, v4i, v4b = ir.VectorType(f32, 4), ir.VectorType(i64, 4), ir.VectorType(i1, 4)
    i8p = i8.as_pointer()
    m = ir.Module(name="m")
    text = ir.GlobalVariable(m, ir.ArrayType(i8, 6), "m.msg0")
    text.global_constant, text.linkage, text.initializer = True, "private", ir.Constant(ir.ArrayType(i8, 6),
                                                                                       bytearray(b'a"\\\n\0\0'))
    pool = ir.GlobalVariable(m, ir.ArrayType(i8, 64), "m.sync")
    pool.linkage, pool.initializer, pool.align = "internal", ir.Constant(ir.ArrayType(i8, 64), None), 64
    count = ir.GlobalVariable(m, i64, "m.count")
    count.linkage, count.initializer = "internal", ir.Constant(i64, 0)
    fma = ir.Function(m, ir.FunctionType(v4f, [v4f] * 3), "llvm.fma.v4f32")
    memset = _memset(ir, m)
    body_ty = ir.FunctionType(ir.VoidType(), [i8p.as_pointer(), i64])
    status_ty = ir.LiteralStructType([i8p, i64])
    fn = ir.Function(m, ir.FunctionType(status_ty, [i8p.as_pointer(), i64, f32, v4f]), "m")
    args, n, x, v = fn.args
    helper = ir.Function(m, body_ty, "m.helper")
    helper.linkage = "internal"
    ir.IRBuilder(helper.append_basic_block("entry")).ret_void()

    b = ir.IRBuilder(fn.append_basic_block("entry"))
    slot = _alloca(ir, b, f32, 16, name="acc", align=32)
    one = _alloca(ir, b, v4f)
    status = b.alloca(status_ty, name="status")
    b.store(ir.Constant(status_ty, None), status)
    raw = b.load(b.gep(args, [ir.Constant(i64, 1)]))
    p = b.bitcast(raw, f32.as_pointer(), name="p")
    same = b.bitcast(p, f32.as_pointer())                       # no-op cast: no instruction, no number
    assert same is p
    loaded = b.load(b.gep(p, [n], inbounds=True), align=4)
    s = b.fadd(loaded, x, flags=("contract",))
    s = b.fdiv(b.fmul(b.fsub(s, ir.Constant(f32, 0.0)), ir.Constant(f32, -0.0)), ir.Constant(f32, 1e-45))
    s = b.fneg(s)
    b.store(s, slot, align=4)
    pick = b.select(b.fcmp_ordered("<=", s, ir.Constant(f32, math.inf)), s, ir.Constant(f32, None))
    b.select(b.fcmp_unordered("uno", pick, pick), pick, ir.Constant(f32, math.nan))
    b.fcmp_unordered("!=", s, ir.Constant(f32, 3.4e38))
    d = b.fpext(s, f64)
    b.fptrunc(b.fadd(d, ir.Constant(f64, 0.1)), f32)
    k = b.fptosi(d, i64, name="k")
    k2 = b.add(k, ir.Constant(i64, 1), name="k")                 # a taken name gets a suffix
    k3 = b.mul(b.sub(k2, k, flags=["nsw"]), ir.Constant(i64, -3), name="k")
    q = b.sdiv(k3, ir.Constant(i64, 7))
    r = b.srem(b.udiv(k3, q), b.urem(q, ir.Constant(i64, 5)))
    bits = b.xor(b.or_(b.and_(r, q), b.shl(r, ir.Constant(i64, 2))), b.ashr(r, ir.Constant(i64, 1)))
    b.neg(bits)
    small = b.trunc(bits, i32)
    b.sitofp(b.sext(small, i64), f64)
    flag = b.icmp_signed("<", bits, ir.Constant(i64, 0))
    b.uitofp(b.zext(b.not_(flag), i8), f32)
    b.icmp_unsigned(">=", bits, ir.Constant(i64, 1 << 62))
    b.icmp_signed("==", flag, ir.Constant(i1, True))
    vec = b.insert_element(ir.Constant(v4f, ir.Undefined), s, ir.Constant(i32, 0))
    splat = b.shuffle_vector(vec, ir.Constant(v4f, ir.Undefined), ir.Constant(ir.VectorType(i32, 4), [0] * 4))
    wide = b.call(fma, [splat, v, ir.Constant(v4f, [1.0, 2.0, 0.5, -1.0])])
    b.store(wide, one)
    lanes = b.add(ir.Constant(v4i, None), ir.Constant(v4i, [0, 1, 2, 3]), flags=["nsw"])
    b.extract_element(b.select(b.icmp_signed("!=", lanes, ir.Constant(v4i, None)), lanes, b.neg(lanes)),
                      ir.Constant(i32, 2))
    b.xor(ir.Constant(v4b, [True, False, True, False]), b.not_(ir.Constant(v4b, None)))
    addr = b.ptrtoint(raw, i64)
    b.inttoptr(addr, i8p)
    old = b.atomic_rmw("add", count, ir.Constant(i64, 1), "monotonic")
    b.store_atomic(old, count, "release", 8)
    message = b.gep(status, [ir.Constant(i32, 0), ir.Constant(i32, 0)])
    claim = b.cmpxchg(message, ir.Constant(i8p, None), text.gep([ir.Constant(i32, 0), ir.Constant(i32, 0)]),
                      "monotonic", "monotonic")
    b.call(memset, [b.bitcast(pool, i8p), ir.Constant(i8, 0), ir.Constant(i64, 64), ir.Constant(i1, 0)])
    target = b.bitcast(b.bitcast(helper, i8p), body_ty.as_pointer(), name="target")
    b.call(target, [args, n])

    a_very_long_block_name = fn.append_basic_block("loop." + "x" * 60)
    loop, done = fn.append_basic_block("loop"), fn.append_basic_block("loop")   # a taken block name: loop.1
    entry = b.block
    b.branch(loop)
    b.position_at_end(loop)
    i = b.phi(i64, "i")
    i.add_incoming(ir.Constant(i64, 0), entry)
    with b.if_then(b.extract_value(claim, 1), likely=False):
        with b.if_then(flag):
            b.store(ir.Constant(i64, 7), b.gep(status, [ir.Constant(i32, 0), ir.Constant(i32, 1)]))
    with b.if_else(flag, likely=True) as (then, otherwise):
        with then:
            b.add(i, ir.Constant(i64, 2))
        with otherwise:
            b.branch(a_very_long_block_name)
    nxt = b.add(i, ir.Constant(i64, 1), flags=["nsw"])
    i.add_incoming(nxt, b.block)
    _cbranch(ir, b, b.icmp_signed("<", nxt, n), loop, done, (1, 99))
    b.position_at_end(a_very_long_block_name)
    with b.if_then(flag, likely=True):
        pass
    b.branch(done)
    b.position_at_end(done)
    b.ret(b.load(status))
    return str(m)


def test_every_instruction_is_written_as_llvmlite_writes_it():
    assert str(_every_instruction(textir)) == str(_every_instruction(lir))


@BOTH
def test_the_text_is_valid_llvm_ir(ir):
    jit.host()                                          # initialises LLVM's native target and parser
    llvm.parse_assembly(_every_instruction(ir)).verify()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("value", [0.0, -0.0, 1.0, -2.5, 0.1, 1e-45, 5e-324, 3.4e38, 1e300, math.inf, -math.inf,
                                   math.nan])
def test_float_constants_as_llvmlite(dtype, value):
    typ = textir.FloatType() if dtype == "float32" else textir.DoubleType()
    ltyp = lir.FloatType() if dtype == "float32" else lir.DoubleType()
    try:
        expected = lir.Constant(ltyp, value).get_reference()
    except OverflowError:
        with pytest.raises(OverflowError):
            textir.Constant(typ, value)
        return
    assert textir.Constant(typ, value).ref == expected


@pytest.mark.parametrize("make", [
    lambda ir: ir.Constant(ir.IntType(64), None), lambda ir: ir.Constant(ir.IntType(1), True),
    lambda ir: ir.Constant(ir.IntType(32), -(1 << 31)), lambda ir: ir.Constant(ir.IntType(8).as_pointer(), None),
    lambda ir: ir.Constant(ir.VectorType(ir.FloatType(), 3), None),
    lambda ir: ir.Constant(ir.VectorType(ir.IntType(64), 2), ir.Undefined),
    lambda ir: ir.Constant(ir.VectorType(ir.DoubleType(), 2), 0.25),
    lambda ir: ir.Constant(ir.LiteralStructType([ir.IntType(8).as_pointer(), ir.IntType(64)]), None),
    lambda ir: ir.Constant(ir.ArrayType(ir.IntType(64), 2), [3, -4]),
    lambda ir: ir.Constant(ir.ArrayType(ir.IntType(8), 4), bytearray(b"\x00\xff{}")),
], ids=["i64 null", "i1 true", "i32 min", "null pointer", "vector null", "vector undef", "vector splat",
        "struct null", "array", "bytes"])
def test_constants_as_llvmlite(make):
    got, expected = make(textir), make(lir)
    assert (str(got.type), got.ref) == (str(expected.type), expected.get_reference())


def test_types_are_interned():
    assert textir.VectorType(textir.IntType(64), 8) is textir.VectorType(textir.IntType(64), 8)
    assert textir.IntType(8).as_pointer().pointee is textir.IntType(8)
    assert textir.IntType(32) is not textir.IntType(64)


def test_builder_rejects_mismatched_operands_and_double_terminators():
    m = textir.Module("m")
    fn = textir.Function(m, textir.FunctionType(textir.VOID, [textir.IntType(64), textir.IntType(32)]), "f")
    b = textir.IRBuilder(fn.append_basic_block("entry"))
    with pytest.raises(ValueError, match="add: operands must be the same type"):
        b.add(*fn.args)
    b.ret_void()
    with pytest.raises(ValueError, match="already terminated"):
        b.ret_void()
    with pytest.raises(NameError, match="duplicate global name 'f'"):
        textir.Function(m, fn.ftype, "f")


def _kernel_with_checks_and_math() -> Kernel:
    """exp and an integer power's check (a run-time error path), vectorised and parallel."""
    x = Buffer("x", "float32", (64,), (1,), "param")
    y = Buffer("y", "float32", (64,), (1,), "param")
    i = Var("i", "int64")
    body = Store(y, i, binop("add", Un("exp", Load(x, i)), const(1.0, "float32")))
    return Kernel("k", For(Var("o", "int64"), const(0, "int64"), const(1, "int64"),
                           For(i, const(0, "int64"), const(64, "int64"), body, "vectorize", 16), "parallel"))


def test_kernel_and_runner_text_parse_and_verify():
    jit.host()
    for text in (str(emit_kernel(_kernel_with_checks_and_math(), "k_test")), str(emit_runner("r_test"))):
        llvm.parse_assembly(text).verify()


def test_loop_properties_are_distinct_metadata_after_the_branch_weights():
    m = textir.Module(name="m")
    i64 = textir.IntType(64)
    fn = textir.Function(m, textir.FunctionType(textir.VoidType(), [i64]), "f")
    entry = fn.append_basic_block("entry")
    b = textir.IRBuilder(entry)
    head, body, done = (fn.append_basic_block(name) for name in ("head", "body", "done"))
    b.branch(head)
    b.position_at_end(head)
    i = b.phi(i64, "i")
    i.add_incoming(textir.Constant(i64, 0), entry)
    b.cbranch(b.icmp_signed("<", i, fn.args[0]), body, done, (99, 1))
    b.position_at_end(body)
    i.add_incoming(b.add(i, textir.Constant(i64, 1)), body)
    b.branch(head, m.loop('!"llvm.loop.vectorize.enable", i1 false', '!"llvm.loop.unroll.disable"'))
    b.position_at_end(done)
    b.ret_void()
    text = str(m)
    assert '!0 = !{ !"branch_weights", i32 99, i32 1 }' in text
    assert "!1 = distinct !{ !1, !2, !3 }" in text and ", !llvm.loop !1" in text
    assert m.loop() == "!4"                                       # every loop has an identity of its own
    jit.host()
    llvm.parse_assembly(text).verify()
