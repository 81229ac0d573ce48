"""`graphc inspect`: print a built-in model's loss gradient before and after simplification, a zoo
model's layers and graph, or an ONNX file's imported graph, simplified, and a parameter's gradient
(graphc/onnx/inspect.py)."""
from __future__ import annotations

import argparse
import sys

from . import inspect_model
from .arguments import writable_path

NAME = "inspect"
HELP = ("print a built-in model's loss gradient before and after simplification, a zoo model's layers, or an "
        "ONNX model's imported and simplified graph")
MODELS = ("logistic", "mlp", "cnn")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("onnx_file", nargs="?", metavar="MODEL.onnx",
                        help="an ONNX model to import and print instead of a built-in model (needs onnx)")
    parser.add_argument("--model", choices=MODELS + inspect_model.ZOO_NAMES, default=None, metavar="NAME",
                        help="logistic regression, a one-hidden-layer MLP, the demo CNN (default logistic; their "
                             "gradient graphs), or a model of the zoo (its layers and graph): "
                             + ", ".join(inspect_model.ZOO_NAMES))
    parser.add_argument("--input-size", type=inspect_model.input_size, metavar="C,H,W",
                        help="a zoo model's input size, C,H,W or one side S (default: the size it was designed for)")
    parser.add_argument("--wrt", "--grad", dest="wrt", metavar="PARAM",
                        help="the parameter to differentiate with respect to (default: the first layer's weight; "
                             "for an ONNX model, an initializer's name, and the cost is the sum of the first output)")
    parser.add_argument("--dot", metavar="PATH", type=writable_path,
                        help="write the simplified gradient graph to PATH in DOT format")
    parser.add_argument("--explain", action="store_true", help="list the rewrites the simplifier applied")


def check(args: argparse.Namespace) -> str | None:
    """A problem with the command line, found before any work."""
    if args.onnx_file and args.model:
        return "give a built-in --model or an ONNX file, not both"
    if args.input_size is not None and args.model not in inspect_model.ZOO_NAMES:
        return f"argument --input-size: the {args.model or 'logistic'} model takes 1x8x8 digits; give a zoo model"
    return None


def run(args: argparse.Namespace) -> int:
    import graphc as gc

    if args.onnx_file:
        return _run_onnx(gc, args)
    if args.model in inspect_model.ZOO_NAMES:
        return inspect_model.run(args)
    model = _build(gc.nn.models, args.model or "logistic")
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


def _run_onnx(gc, args: argparse.Namespace) -> int:
    """Print the ONNX model's report; exit status 2 when it cannot be imported."""
    from ..onnx.inspect import inspect_model

    try:
        text, shown = inspect_model(args.onnx_file, args.wrt, args.explain)
    except (gc.GraphcError, ImportError) as error:
        print(f"graphc inspect: {error}", file=sys.stderr)
        return 2
    print(text)
    return _write_dot(gc.to_dot(shown, name="onnx"), args.dot) if args.dot else 0


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

