"""LLVM IR written as text: the part of llvmlite.ir's API that the emitter and the worker pool use.

llvmlite.ir builds an object per instruction, operand list, constant and type, and formats them
all again when the module is printed; for kernels of thousands of instructions that was a fifth
of a cold compile's CPU. Here a value is only its type and its textual reference (`%"x"`, `42`),
types are interned (one object per type, compared by identity), and each instruction becomes one
line of its block's text as it is built.

The text is the same, byte for byte, as llvmlite.ir 0.50 prints for the same calls: names and
the numbering of unnamed values (every instruction takes a number, void ones included), constant
formats (floats as the hex of their double), typed pointers, spacing. So the code LLVM makes of
it is the same (tests/backend_llvm/test_textir.py builds the same code with both and compares).

What differs from llvmlite.ir: instructions are only appended at the end of the builder's block;
an alloca's alignment is an argument (the line is written at once); nothing checks operand types
beyond what LLVM's parser and verifier do.
"""
from __future__ import annotations

import re
import struct
from contextlib import contextmanager
from typing import Iterator, Optional, Sequence, Union

_SIMPLE_LABEL = re.compile(r"[-a-zA-Z$._][-a-zA-Z$._0-9]*$")
_PRINTABLE = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 !#$%&'()*+,-./:;<=>?@[]^_`{|}~")
_CMP = {">": "gt", "<": "lt", "==": "eq", "!=": "ne", ">=": "ge", "<=": "le"}


# ---------------------------------------------------------------- types

#: Every type made, by its constructor's arguments.
_INTERNED: dict[tuple, "Type"] = {}


class Type:
    """An LLVM type: its text, and its null constant's text. One object per type (interned)."""

    __slots__ = ("text", "null")

    @classmethod
    def _make(cls, key: tuple, text: str, null: str, **fields) -> "Type":
        found = object.__new__(cls)
        found.text, found.null = text, null
        for name, value in fields.items():
            setattr(found, name, value)
        return _INTERNED.setdefault(key, found)

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"<textir type {self.text}>"

    def as_pointer(self) -> "PointerType":
        return PointerType(self)

    def reference(self, value) -> str:
        """The text of a constant of this type with Python value `value` (never None)."""
        return str(value)


class IntType(Type):
    __slots__ = ("width",)

    def __new__(cls, bits: int) -> "IntType":
        return _INTERNED.get(("i", bits)) or cls._make(("i", bits), f"i{bits}", "0", width=bits)

    def reference(self, value) -> str:
        return ("true" if value else "false") if isinstance(value, bool) else str(value)


def _hex_double(value: float) -> str:
    """A float constant as LLVM reads it: the hex digits of its IEEE double (llvmlite's format,
    right-aligned in 16 columns)."""
    return "{0:#16x}".format(struct.unpack("Q", struct.pack("d", float(value)))[0])


class FloatType(Type):
    __slots__ = ()

    def __new__(cls) -> "FloatType":
        return cls._make(("float",), "float", "0.0")

    def reference(self, value) -> str:
        return _hex_double(struct.unpack("f", struct.pack("f", value))[0])


class DoubleType(Type):
    __slots__ = ()

    def __new__(cls) -> "DoubleType":
        return cls._make(("double",), "double", "0.0")

    def reference(self, value) -> str:
        return _hex_double(value)


class VoidType(Type):
    __slots__ = ()

    def __new__(cls) -> "VoidType":
        return cls._make(("void",), "void", "")


class LabelType(Type):
    __slots__ = ()

    def __new__(cls) -> "LabelType":
        return cls._make(("label",), "label", "")


class PointerType(Type):
    __slots__ = ("pointee",)

    def __new__(cls, pointee: Type) -> "PointerType":
        return _INTERNED.get(("*", pointee)) or cls._make(("*", pointee), f"{pointee.text}*", "null", pointee=pointee)


class VectorType(Type):
    __slots__ = ("element", "count")

    def __new__(cls, element: Type, count: int) -> "VectorType":
        return _INTERNED.get(("<>", element, count)) or cls._make(
            ("<>", element, count), f"<{count} x {element.text}>", "zeroinitializer", element=element, count=count)


class ArrayType(Type):
    __slots__ = ("element", "count")

    def __new__(cls, element: Type, count: int) -> "ArrayType":
        return cls._make(("[]", element, count), f"[{count} x {element.text}]", "zeroinitializer",
                         element=element, count=count)

    @property
    def elements(self) -> tuple:
        return (self.element,) * self.count


class LiteralStructType(Type):
    __slots__ = ("elements",)

    def __new__(cls, elements: Sequence[Type]) -> "LiteralStructType":
        elements = tuple(elements)
        return cls._make(("{}", elements), "{%s}" % ", ".join(e.text for e in elements), "zeroinitializer",
                         elements=elements)


class FunctionType(Type):
    __slots__ = ("return_type", "args")

    def __new__(cls, return_type: Type, args: Sequence[Type]) -> "FunctionType":
        args = tuple(args)
        return cls._make(("()", return_type, args), f"{return_type.text} ({', '.join(a.text for a in args)})",
                         "", return_type=return_type, args=args)


VOID, LABEL = VoidType(), LabelType()
_I1, _I32 = IntType(1), IntType(32)


# ---------------------------------------------------------------- values

class Value:
    """A value: its type and how instructions refer to it."""

    __slots__ = ("type", "ref")

    def __init__(self, typ: Type, ref: str):
        self.type, self.ref = typ, ref

    def __str__(self) -> str:
        return f"{self.type.text} {self.ref}"

    def __repr__(self) -> str:
        return f"<textir {self.type.text} {self.ref}>"


class _UndefinedType:
    """'undef', as a constant's value."""

    def __repr__(self) -> str:
        return "Undefined"


Undefined = _UndefinedType()


def _escape(data: bytes) -> str:
    return "".join(chr(c) if c in _PRINTABLE else "\\%02x" % c for c in data)


class Constant(Value):
    """A constant of type `typ`: `value` an int, float, bool, None (null), Undefined, a
    bytearray (of an i8 array), or, for vectors, arrays and structs, a list of element values
    (a vector constant's scalar value is repeated in every lane)."""

    __slots__ = ("constant",)

    def __init__(self, typ: Type, value):
        self.type = typ
        cls = typ.__class__
        if value is None and cls is IntType:
            value = 0                                   # as llvmlite: an int's null is the value 0
        self.constant = value
        if cls is VectorType:
            if not isinstance(value, (list, tuple)):
                value = (value,) * typ.count
            self.ref = _aggregate("<%s>", [typ.element] * typ.count, value)
        elif isinstance(value, (bytes, bytearray)):
            self.ref = f'c"{_escape(value)}"'
        elif isinstance(value, (list, tuple)):
            self.ref = _aggregate("[%s]" if cls is ArrayType else "{%s}", typ.elements, value)
        else:
            self.ref = _reference(typ, value)


def _aggregate(form: str, types: Sequence[Type], values: Sequence) -> str:
    return form % ", ".join([f"{ty.text} {v.ref if isinstance(v, Value) else _reference(ty, v)}"
                             for ty, v in zip(types, values)])


def _reference(typ: Type, value) -> str:
    """The text of a scalar constant (as Constant(typ, value).ref)."""
    if value is None:
        return typ.null
    if value is Undefined:
        return "undef"
    return typ.reference(value)


def _quoted(prefix: str, name: str) -> str:
    if "\\" in name or '"' in name:
        name = name.replace("\\", "\\5c").replace('"', "\\22")
    return f'{prefix}"{name}"'


class _Names:
    """The names of one function's values and blocks: a name already taken gets a numbered
    suffix (`i`, `i.1`, ...), and the empty name gives `.1`, `.2`, ... (llvmlite's NameScope)."""

    __slots__ = ("used", "counts")

    def __init__(self) -> None:
        self.used = {""}
        self.counts: dict[str, int] = {}

    def take(self, name: str) -> str:
        used = self.used
        if name in used:
            base, counts = name, self.counts
            while name in used:
                n = counts.get(base, 0) + 1
                counts[base] = n
                name = f"{base}.{n}"
        used.add(name)
        return name

    def reference(self, name: str) -> str:
        """`%"name"` of a new value named `name` (made unique)."""
        return _quoted("%", self.take(name)) if name else f'%"{self.take(name)}"'


class GlobalVariable(Value):
    """A global of type `typ` (its value is the global's address); set `linkage`,
    `initializer`, `global_constant` and `align` before printing the module."""

    __slots__ = ("name", "value_type", "linkage", "initializer", "global_constant", "align")

    def __init__(self, module: "Module", typ: Type, name: str):
        super().__init__(typ.as_pointer(), _quoted("@", name))
        self.name, self.value_type = name, typ
        self.linkage, self.initializer, self.global_constant, self.align = "", None, False, None
        module.add_global(self)

    def gep(self, indices: Sequence[Constant]) -> Value:
        """The constant address `getelementptr (..., indices)` into the global."""
        typ = _gep_type(self.type, indices)
        text = ", ".join(f"{i.type.text} {i.ref}" for i in indices)
        return Value(typ, f"getelementptr ({self.value_type.text}, {self.type.text} {self.ref}, {text})")

    def __str__(self) -> str:
        linkage = self.linkage or ("external" if self.initializer is None else "")
        text = f"{self.ref} = {linkage + ' ' if linkage else ''}{'constant' if self.global_constant else 'global'} " \
               f"{self.value_type.text}"
        if self.initializer is not None:
            text += " " + self.initializer.ref
        elif linkage not in ("external", "extern_weak"):
            text += " " + Constant(self.value_type, Undefined).ref
        if self.align is not None:
            text += f", align {self.align}"
        return text


class Function(Value):
    """A function of type `ftype`: defined once it has blocks, else declared."""

    __slots__ = ("module", "name", "ftype", "args", "blocks", "linkage", "names")

    def __init__(self, module: "Module", ftype: FunctionType, name: str):
        super().__init__(ftype.as_pointer(), _quoted("@", name))
        self.module, self.name, self.ftype = module, name, ftype
        self.names = _Names()
        self.args = tuple(Value(t, self.names.reference("")) for t in ftype.args)
        self.names.take("")                     # llvmlite names the return value too
        self.blocks: list[Block] = []
        self.linkage = ""
        module.add_global(self)

    def append_basic_block(self, name: str = "") -> "Block":
        block = Block(self, name)
        self.blocks.append(block)
        return block

    def __str__(self) -> str:
        head = " ".join(x for x in ("define" if self.blocks else "declare", self.linkage, self.ftype.return_type.text)
                        if x)
        args = ", ".join(f"{a.type.text} {a.ref}" for a in self.args)
        text = f"{head} {self.ref}({args})\n"
        if not self.blocks:
            return text
        return "".join([text, "{\n", *(str(b) for b in self.blocks), "}\n"])


class Block(Value):
    """A basic block: its name and its lines (strings, or phis printed when the module is)."""

    __slots__ = ("function", "name", "lines", "terminated")

    def __init__(self, function: Function, name: str = ""):
        self.function, self.name = function, function.names.take(name)
        super().__init__(LABEL, _quoted("%", self.name))
        self.lines: list = []
        self.terminated = False

    def __str__(self) -> str:
        name = self.name
        label = name if _SIMPLE_LABEL.match(name) else _quoted("", name)
        return "".join([f"{label}:\n", *[f"  {line}\n" for line in self.lines]])


class Phi(Value):
    """A phi node, printed with the incoming values added after it was built."""

    __slots__ = ("incomings",)

    def __init__(self, typ: Type, ref: str):
        super().__init__(typ, ref)
        self.incomings: list[tuple[Value, Block]] = []

    def add_incoming(self, value: Value, block: Block) -> None:
        self.incomings.append((value, block))

    def __str__(self) -> str:
        incomings = ", ".join(f"[{v.ref}, {b.ref}]" for v, b in self.incomings)
        return f"{self.ref} = phi  {self.type.text} {incomings}"


class Module:
    """Functions and globals in the order made, and the metadata they use: branch weights and
    loop properties, numbered in the order made."""

    def __init__(self, name: str = ""):
        self.name = name
        self.globals: dict[str, Value] = {}
        self._weights: dict[tuple[int, int], str] = {}
        self._metadata: list[str] = []          # the n-th node's text, after "!n = "

    def add_global(self, value: Union[Function, GlobalVariable]) -> None:
        if value.name in self.globals:
            raise NameError(f"duplicate global name {value.name!r}")
        self.globals[value.name] = value

    def declare_intrinsic(self, name: str, args: Sequence[Type], ret: Type = VOID) -> Function:
        """The declaration of intrinsic `name` (full name, with its type suffixes)."""
        return self.globals.get(name) or Function(self, FunctionType(ret, args), name)

    def weights(self, taken: int, not_taken: int) -> str:
        """The metadata reference of branch weights (taken, not taken)."""
        key = (taken, not_taken)
        if key not in self._weights:
            self._weights[key] = self._node(f'!{{ !"branch_weights", i32 {taken}, i32 {not_taken} }}')
        return self._weights[key]

    def loop(self, *properties: str) -> str:
        """The metadata reference of a new loop's identity (each loop has its own) carrying
        `properties`, metadata texts such as `!"llvm.loop.vectorize.enable", i1 false`."""
        n = len(self._metadata)
        self._metadata.append("")               # the identity names its properties, made next
        refs = "".join(", " + self._node(f"!{{ {p} }}") for p in properties)
        self._metadata[n] = f"distinct !{{ !{n}{refs} }}"
        return f"!{n}"

    def _node(self, text: str) -> str:
        self._metadata.append(text)
        return f"!{len(self._metadata) - 1}"

    def __str__(self) -> str:
        lines = [f'; ModuleID = "{self.name}"', 'target triple = "unknown-unknown-unknown"',
                 'target datalayout = ""', ""]
        lines += [str(g) for g in self.globals.values()]
        lines += [f"!{n} = {text}" for n, text in enumerate(self._metadata)]
        return "\n".join(lines)


def _binary(op: str):
    """The builder method of binary instruction `op`: `(a, b, name="", flags=())`."""
    def method(self: "IRBuilder", a: Value, b: Value, name: str = "", flags: Sequence[str] = ()) -> Value:
        if a.type is not b.type:
            raise ValueError(f"{op}: operands must be the same type, got ({a.type}, {b.type})")
        return self._named(a.type, name, f"{' '.join((op, *flags)) if flags else op} {a.type.text} {a.ref}, {b.ref}")
    return method


def _cast(op: str):
    """The builder method of cast `op`: `(a, typ, name="")`, `a` itself when of type `typ`."""
    def method(self: "IRBuilder", a: Value, typ: Type, name: str = "") -> Value:
        return a if a.type is typ else self._named(typ, name, f"{op} {a.type.text} {a.ref} to {typ.text}")
    return method


def _gep_type(typ: Type, indices: Sequence[Value]) -> PointerType:
    for i in indices:
        if isinstance(typ, PointerType):
            typ = typ.pointee
        elif isinstance(typ, LiteralStructType):
            typ = typ.elements[i.constant]
        else:
            typ = typ.element
    return typ.as_pointer()


# ---------------------------------------------------------------- the builder

class IRBuilder:
    """Appends instructions to the end of a block (llvmlite.ir.IRBuilder's methods, same names
    and arguments)."""

    __slots__ = ("_block", "_lines", "_names")

    def __init__(self, block: Optional[Block] = None):
        if block is not None:
            self.position_at_end(block)

    @property
    def block(self) -> Block:
        return self._block

    @property
    def function(self) -> Function:
        return self._block.function

    def position_at_end(self, block: Block) -> None:
        self._block, self._lines, self._names = block, block.lines, block.function.names

    def append_basic_block(self, name: str = "") -> Block:
        return self._block.function.append_basic_block(name)

    def _named(self, typ: Type, name: str, text: str) -> Value:
        """Append `ref = text` and return the value."""
        ref = self._names.reference(name)
        self._lines.append(f"{ref} = {text}")
        return Value(typ, ref)

    def _void(self, text: str) -> None:
        self._names.take("")
        self._lines.append(text)

    def _terminate(self, text: str) -> None:
        if self._block.terminated:
            raise ValueError(f"block {self._block.name} is already terminated")
        self._void(text)
        self._block.terminated = True

    # -------------------------------------------------------- arithmetic and casts

    add, sub, mul, sdiv, udiv, srem, urem = (_binary(op) for op in ("add", "sub", "mul", "sdiv", "udiv", "srem", "urem"))
    and_, or_, xor, shl, ashr = (_binary(op) for op in ("and", "or", "xor", "shl", "ashr"))
    fadd, fsub, fmul, fdiv = (_binary(op) for op in ("fadd", "fsub", "fmul", "fdiv"))
    trunc, zext, sext, fptrunc, fpext, fptosi, sitofp, uitofp, bitcast, ptrtoint, inttoptr = (
        _cast(op) for op in ("trunc", "zext", "sext", "fptrunc", "fpext", "fptosi", "sitofp", "uitofp", "bitcast",
                             "ptrtoint", "inttoptr"))

    def fneg(self, a: Value, name: str = "", flags: Sequence[str] = ()) -> Value:
        op = " ".join(("fneg", *flags)) if flags else "fneg"
        return self._named(a.type, name, f"{op} {a.type.text} {a.ref}")

    def neg(self, a: Value, name: str = "") -> Value:
        return self.sub(Constant(a.type, 0), a, name=name)

    def not_(self, a: Value, name: str = "") -> Value:
        return self.xor(a, Constant(a.type, -1), name=name)

    # -------------------------------------------------------- comparisons and select

    def _compare(self, op: str, pred: str, a: Value, b: Value, name: str) -> Value:
        typ = VectorType(_I1, a.type.count) if a.type.__class__ is VectorType else _I1
        return self._named(typ, name, f"{op} {pred} {a.type.text} {a.ref}, {b.ref}")

    def icmp_signed(self, cmpop: str, a: Value, b: Value, name: str = "") -> Value:
        return self._compare("icmp", _CMP[cmpop] if cmpop in ("==", "!=") else "s" + _CMP[cmpop], a, b, name)

    def icmp_unsigned(self, cmpop: str, a: Value, b: Value, name: str = "") -> Value:
        return self._compare("icmp", _CMP[cmpop] if cmpop in ("==", "!=") else "u" + _CMP[cmpop], a, b, name)

    def fcmp_ordered(self, cmpop: str, a: Value, b: Value, name: str = "") -> Value:
        return self._compare("fcmp", "o" + _CMP[cmpop] if cmpop in _CMP else cmpop, a, b, name)

    def fcmp_unordered(self, cmpop: str, a: Value, b: Value, name: str = "") -> Value:
        return self._compare("fcmp", "u" + _CMP[cmpop] if cmpop in _CMP else cmpop, a, b, name)

    def select(self, cond: Value, a: Value, b: Value, name: str = "") -> Value:
        return self._named(a.type, name, f"select  {cond.type.text} {cond.ref}, {a.type.text} {a.ref}, "
                                         f"{b.type.text} {b.ref}")

    # -------------------------------------------------------- memory

    def alloca(self, typ: Type, size: Optional[int] = None, name: str = "", align: Optional[int] = None) -> Value:
        """Stack space for `size` (an int, as i32) elements of `typ`, or one."""
        text = f"alloca {typ.text}"
        if size is not None:
            text += f", i32 {size}"
        if align is not None:
            text += f", align {align}"
        return self._named(typ.as_pointer(), name, text)

    def load(self, ptr: Value, name: str = "", align: Optional[int] = None) -> Value:
        typ = ptr.type.pointee
        text = f"load {typ.text}, {ptr.type.text} {ptr.ref}"
        return self._named(typ, name, text if align is None else f"{text}, align {align}")

    def store(self, value: Value, ptr: Value, align: Optional[int] = None) -> None:
        if ptr.type.pointee is not value.type:
            raise TypeError(f"cannot store {value.type} to {ptr.type}: mismatching types")
        text = f"store {value.type.text} {value.ref}, {ptr.type.text} {ptr.ref}"
        self._void(text if align is None else f"{text}, align {align}")

    def load_atomic(self, ptr: Value, ordering: str, align: int, name: str = "") -> Value:
        typ = ptr.type.pointee
        return self._named(typ, name, f"load atomic {typ.text}, {ptr.type.text} {ptr.ref} {ordering}, align {align}")

    def store_atomic(self, value: Value, ptr: Value, ordering: str, align: int) -> None:
        self._void(f"store atomic {value.type.text} {value.ref}, {ptr.type.text} {ptr.ref} {ordering}, align {align}")

    def atomic_rmw(self, op: str, ptr: Value, value: Value, ordering: str, name: str = "") -> Value:
        return self._named(value.type, name, f"atomicrmw {op} {ptr.type.text} {ptr.ref}, {value.type.text} "
                                             f"{value.ref} {ordering}")

    def cmpxchg(self, ptr: Value, cmp: Value, value: Value, ordering: str, failordering: Optional[str] = None,
                name: str = "") -> Value:
        """The atomic compare-and-exchange; its value is the pair {old value, whether it was swapped}."""
        failordering = ordering if failordering is None else failordering
        typ = LiteralStructType([value.type, _I1])
        return self._named(typ, name, f"cmpxchg {ptr.type.text} {ptr.ref}, {cmp.type.text} {cmp.ref}, "
                                      f"{cmp.type.text} {value.ref} {ordering} {failordering}")

    def gep(self, ptr: Value, indices: Sequence[Value], inbounds: bool = False, name: str = "") -> Value:
        op = "getelementptr inbounds" if inbounds else "getelementptr"
        text = ", ".join(f"{i.type.text} {i.ref}" for i in indices)
        return self._named(_gep_type(ptr.type, indices), name,
                           f"{op} {ptr.type.pointee.text}, {ptr.type.text} {ptr.ref}, {text}")

    # -------------------------------------------------------- vectors and aggregates

    def extract_element(self, vector: Value, index: Value, name: str = "") -> Value:
        return self._named(vector.type.element, name, f"extractelement {vector.type.text} {vector.ref}, "
                                                      f"{index.type.text} {index.ref}")

    def insert_element(self, vector: Value, value: Value, index: Value, name: str = "") -> Value:
        return self._named(vector.type, name, f"insertelement {vector.type.text} {vector.ref}, {value.type.text} "
                                              f"{value.ref}, {index.type.text} {index.ref}")

    def shuffle_vector(self, a: Value, b: Value, mask: Constant, name: str = "") -> Value:
        typ = VectorType(a.type.element, mask.type.count)
        return self._named(typ, name, f"shufflevector {a.type.text} {a.ref}, {b.type.text} {b.ref}, "
                                      f"{mask.type.text} {mask.ref}")

    def extract_value(self, aggregate: Value, index: int, name: str = "") -> Value:
        return self._named(aggregate.type.elements[index], name,
                           f"extractvalue {aggregate.type.text} {aggregate.ref}, {index}")

    # -------------------------------------------------------- calls and phis

    def call(self, fn: Value, args: Sequence[Value], name: str = "", fastmath: Sequence[str] = ()) -> Value:
        """Call `fn` (a function, or a pointer to one) with `args`."""
        ret = fn.type.pointee.return_type
        flags = " " + " ".join(sorted(set(fastmath))) if fastmath else ""
        text = f"call{flags} {ret.text} {fn.ref}({', '.join(f'{a.type.text} {a.ref}' for a in args)})"
        if ret is VOID:
            self._void(text)
            return Value(VOID, "")
        return self._named(ret, name, text)

    def phi(self, typ: Type, name: str = "") -> Phi:
        value = Phi(typ, self._names.reference(name))
        self._lines.append(value)
        return value

    # -------------------------------------------------------- terminators and control flow

    def branch(self, target: Block, loop: Optional[str] = None) -> None:
        """Branch to `target`; `loop`, on a loop's back edge, is its metadata (Module.loop)."""
        self._terminate(f"br label {target.ref}" + ("" if loop is None else f", !llvm.loop {loop}"))

    def cbranch(self, cond: Value, then: Block, otherwise: Block, weights: Optional[tuple[int, int]] = None) -> None:
        """Branch on `cond`; `weights` (taken, not taken) become branch-weight metadata."""
        prof = "" if weights is None else f", !prof {self._block.function.module.weights(*weights)}"
        self._terminate(f"br {cond.type.text} {cond.ref}, label {then.ref}, label {otherwise.ref}{prof}")

    def ret_void(self) -> None:
        self._terminate("ret void")

    def ret(self, value: Value) -> None:
        self._terminate(f"ret {value.type.text} {value.ref}")

    def _suffixed(self, suffix: str) -> Block:
        label = self._block.name
        return self.append_basic_block(f"{label[:25]}..{suffix}" if len(label) > 50 else label + suffix)

    @contextmanager
    def _branch(self, enter: Block, leave: Block) -> Iterator[Block]:
        self.position_at_end(enter)
        yield leave
        if not self._block.terminated:
            self.branch(leave)

    @contextmanager
    def if_then(self, pred: Value, likely: Optional[bool] = None) -> Iterator[Block]:
        """Code emitted inside runs when `pred` holds; after it, the builder is at the join."""
        then, end = self._suffixed(".if"), self._suffixed(".endif")
        self.cbranch(pred, then, end, None if likely is None else ((99, 1) if likely else (1, 99)))
        with self._branch(then, end):
            yield end
        self.position_at_end(end)

    @contextmanager
    def if_else(self, pred: Value, likely: Optional[bool] = None) -> Iterator[tuple]:
        """(then, otherwise): context managers for the code of each branch (as llvmlite's)."""
        then, otherwise, end = self._suffixed(".if"), self._suffixed(".else"), self._suffixed(".endif")
        self.cbranch(pred, then, otherwise, None if likely is None else ((99, 1) if likely else (1, 99)))
        yield self._branch(then, end), self._branch(otherwise, end)
        self.position_at_end(end)
