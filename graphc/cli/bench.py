"""`graphc bench model.onnx`: time an ONNX model in graphc against onnxruntime (graphc/onnx/bench.py)."""
from __future__ import annotations

import argparse
import sys

from .arguments import positive_int

NAME = "bench"
HELP = "time an ONNX model in graphc against onnxruntime (import, compile, inference; needs onnx)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("onnx_file", metavar="MODEL.onnx", help="the ONNX model to time")
    parser.add_argument("--batch", type=positive_int, default=1,
                        help="the size given to the inputs' symbolic dimensions (default 1)")
    parser.add_argument("--repeats", type=positive_int, default=10, help="timed calls, median shown (default 10)")
    parser.add_argument("--threads", type=positive_int, default=1,
                        help="onnxruntime's threads; graphc's are GRAPHC_NUM_THREADS (default 1)")


def run(args: argparse.Namespace) -> int:
    import graphc as gc

    from ..onnx.bench import time_model

    try:
        print(time_model(args.onnx_file, args.batch, args.repeats, args.threads))
    except (gc.GraphcError, ImportError) as error:
        print(f"graphc bench: {error}", file=sys.stderr)
        return 2
    return 0
