"""listing: a typed jaxpr-like listing, read top to bottom, that reads back to the same graph."""
from __future__ import annotations

import re

import numpy as np

import graphc as gc
from graphc.ir import Node, toposort
from graphc.ops import BroadcastTo, Constant, CountOf, Elemwise, ExpandDims, MatMul, Reduce, Squeeze, Transpose
from printing_helpers import chain, mlp_loss

HEADER = re.compile(r"^\{ lambda (?P<shared>.*); (?P<inputs>.*)\. let$")
EQUATION = re.compile(r"^    (?P<name>\w+):(?P<type>\S+) = (?P<op>[a-z_0-9]+)(?:\{(?P<params>.*)\})?(?P<args>(?: \S+)*)$")
FOOTER = re.compile(r"^  in \((?P<outputs>.*)\) \}$")
DTYPES = {"f32": "float32", "f64": "float64", "i32": "int32", "i64": "int64", "bool": "bool"}


def test_small_listing_exact():
    x = gc.tensor("x", (None, 10))
    w = gc.shared(np.ones((10, 3), "float32"), name="w")
    z = gc.exp(x @ w) * 0.5
    assert gc.listing([z.sum(axis=1), z]) == "\n".join([
        "{ lambda w:f32[10,3]; x:f32[?,10]. let",
        "    t1:f32[?,3] = matmul x w",
        "    t2:f32[?,3] = exp t1",
        "    t3:f32[?,3] = mul t2 0.5:f32[]",
        "    t4:f32[?] = sum{axes=(1,)} t3",
        "  in (t4, t3) }",
    ])


def test_other_constants_get_an_equation_and_indexing_shows_its_index():
    x = gc.tensor("x", (2, 2), dtype="float64")
    y = (x * np.array([1.0, 2.0]))[0, ::2] + gc.constant(np.zeros((5, 5)))[1, :1]
    assert gc.listing(y) == "\n".join([
        "{ lambda ; x:f64[2,2]. let",
        "    t1:f64[2] = [1.0, 2.0]",
        "    t2:f64[2,2] = mul x t1",
        "    t3:f64[1] = getitem{0, ::2} t2",
        "    t4:f64[5,5] = full((5, 5), 0.0)",
        "    t5:f64[1] = getitem{1, :1} t4",
        "    t6:f64[1] = add t3 t5",
        "  in (t6) }",
    ])


# ---- reading a listing back ---------------------------------------------------------------

#: Ops by printed name, for the graphs below (elementwise functions are looked up apart).
OPS = {
    "matmul": lambda: MatMul(), "sum": lambda **p: Reduce("sum", **p),
    "transpose": Transpose, "count": CountOf, "expand_dims": ExpandDims,
    "broadcast_to": BroadcastTo, "squeeze": Squeeze,
}
PARAM_NAMES = {name: np.dtype(name) for name in DTYPES.values()}


def _literal(token: str) -> Node:
    value, ttype = token.split(":")
    dtype = DTYPES[ttype.removesuffix("[]")]
    return Node.make(Constant(np.asarray(eval(value), dtype=dtype)))  # noqa: S307


def read_listing(text: str, leaves: dict[str, Node]) -> list[Node]:
    """Rebuild the graph a listing describes, checking each name is defined before use."""
    first, *body, last = text.split("\n")
    header = HEADER.match(first)
    declared = (header["shared"] + " " + header["inputs"]).split()
    scope = {}
    for decl in declared:
        name, ttype = decl.split(":")
        assert str(leaves[name].type) == ttype
        scope[name] = leaves[name]

    def operand(token: str) -> Node:
        return _literal(token) if ":" in token else scope[token]

    for line in body:
        eq = EQUATION.match(line)
        assert eq, line
        assert eq["name"] not in scope  # defined once
        inputs = [operand(t) for t in eq["args"].split()]
        params = eval(f"dict({eq['params'] or ''})", {}, PARAM_NAMES)  # noqa: S307
        op = OPS[eq["op"]](**params) if eq["op"] in OPS else Elemwise(eq["op"])
        node = Node.make(op, inputs)
        assert str(node.type) == eq["type"]
        scope[eq["name"]] = node
    return [operand(t) for t in FOOTER.match(last)["outputs"].split(", ")]


def test_a_gradient_listing_reads_back_to_the_same_nodes():
    loss, params = mlp_loss()
    grads = gc.grad(loss, params)
    leaves = {n.name: n for n in toposort(grads) if n.name}
    assert read_listing(gc.listing([loss, *grads]), leaves) == [loss, *grads]


def test_deep_shared_chains_list_one_line_per_node():
    start = gc.scalar("s")
    grad = gc.grad(chain(start, 300), start)
    text = gc.listing(grad)
    nodes = toposort([grad])
    scalar_constants = sum(1 for n in nodes if isinstance(n.op, Constant))
    assert text.count("\n") + 1 == len(nodes) - 1 - scalar_constants + 2  # header and footer
    assert read_listing(text, {"s": start}) == [grad]


def test_names_avoid_the_users_labels_and_duplicates_are_marked():
    t1, other = gc.scalar("t1"), gc.scalar("t1")
    assert gc.listing(gc.exp(t1) + other) == "\n".join([
        "{ lambda ; t1:f32[] t1#2:f32[]. let",
        "    t2:f32[] = exp t1",
        "    t3:f32[] = add t2 t1#2",
        "  in (t3) }",
    ])
