"""`graphc inspect`: print a built-in model's loss gradient before and after simplification."""
from __future__ import annotations

import argparse
import sys

from .arguments import writable_path

NAME = "inspect"
HELP = "print a built-in model's loss gradient before and after simplification"
MODELS = ("logistic", "mlp", "cnn")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", choices=MODELS, default="logistic",
                        help="logistic regression, a one-hidden-layer MLP, or the demo CNN (default logistic)")
    parser.add_argument("--wrt", metavar="PARAM",
                        help="the parameter to differentiate with respect to (default: the first layer's weight)")
    parser.add_argument("--dot", metavar="PATH", type=writable_path,
                        help="write the simplified gradient graph to PATH in DOT format")
    parser.add_argument("--explain", action="store_true", help="list the rewrites the simplifier applied")


def run(args: argparse.Namespace) -> int:
    import graphc as gc

    model = _build(gc.nn.models, args.model)
    params = {p.name: p for p in model.parameters()}
    wrt = params.get(args.wrt or next(iter(params)))
    if wrt is None:
        print(f"graphc inspect: no parameter {args.wrt!r}; choose from {', '.join(params)}", file=sys.stderr)
        return 2
    x = gc.tensor("x", (None, 1, 8, 8))
    y = gc.tensor("y", (None,), "int64")
    loss = gc.nn.cross_entropy(model(x, training=True), y)
    gradient = gc.grad(loss, wrt)

    print(f"model {args.model}:\n{model}\n")
    print(f"loss = {gc.pprint(loss)}\n")
    _show(gc, f"d loss / d {wrt.name}, as built by grad", gradient)
    simplified, report = gc.simplify(gradient, explain=True)
    _show(gc, f"d loss / d {wrt.name}, simplified", simplified)
    if args.explain:
        print(report)
    if args.dot:
        return _write_dot(gc.to_dot(simplified, name=f"grad_{wrt.name.replace('.', '_')}"), args.dot)
    return 0


def _write_dot(text: str, path: str) -> int:
    """Write the DOT text; the exit status (2 when the file cannot be written after all)."""
    try:
        with open(path, "w") as f:
            f.write(text)
    except OSError as error:
        print(f"graphc inspect: cannot write {path}: {error.strerror or error}", file=sys.stderr)
        return 2
    print(f"wrote {path} (render with: dot -Tsvg {path} -o graph.svg)")
    return 0


def _build(models, name: str):
    return {"logistic": models.logistic_regression, "mlp": models.mlp, "cnn": models.digits_cnn}[name](rng=0)


def _show(gc, title: str, node) -> None:
    count = len(gc.ir.toposort([node]))
    print(f"== {title} ({count} nodes) ==")
    print(gc.pprint(node))
    print()
    print(gc.debugprint(node))
    print()

