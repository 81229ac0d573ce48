"""Timing an imported ONNX model against onnxruntime (`graphc bench model.onnx`,
benchmarks/bench_onnx.py): import and compile times, the median of repeated inference
calls on random inputs, and the largest difference between the two runtimes' outputs."""
from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np

from ..function import function
from .model import Source, input_types, load, read


@dataclass(frozen=True)
class Timing:
    """Seconds to import and to compile (with the first call), milliseconds per inference call
    (median), onnxruntime's (None without it) and the largest relative output difference."""

    import_s: float
    compile_s: float
    graphc_ms: float
    onnxruntime_ms: Optional[float]
    max_relative_difference: Optional[float]

    def __str__(self) -> str:
        text = f"import {self.import_s:.2f} s, compile {self.compile_s:.1f} s, graphc {self.graphc_ms:.2f} ms"
        if self.onnxruntime_ms is None:
            return text + " (onnxruntime is not installed)"
        return (text + f", onnxruntime {self.onnxruntime_ms:.2f} ms ({self.onnxruntime_ms / self.graphc_ms:.2f}x), "
                f"outputs differ by at most {self.max_relative_difference:.1e} (relative)")


def median_ms(call: Callable[[], object], repeats: int) -> float:
    """The median time of `repeats` calls after one warm-up call, in milliseconds."""
    call()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def time_model(source: Source, batch: int = 1, repeats: int = 10, threads: int = 1) -> Timing:
    """Import the model frozen, give symbolic sizes `batch`, and time it against onnxruntime
    (intra_op_num_threads=threads) on the same random inputs."""
    import onnx  # noqa: F401 - loaded before the clock starts: the import time is the model's, not the package's

    start = time.perf_counter()
    proto = read(source)  # the sizes are given before importing: shape computations may need them
    shapes = {name: tuple(batch if d is None else d for d in shape) for name, (shape, _) in input_types(proto).items()}
    model = load(proto, frozen=True, shapes=shapes)
    imported = time.perf_counter() - start
    rng = np.random.default_rng(0)
    values = [rng.standard_normal(x.shape).astype(x.dtype) if x.dtype.kind == "f" else np.zeros(x.shape, x.dtype)
              for x in model.inputs]
    start = time.perf_counter()
    f = function(model.inputs, model.outputs)
    ours = f(*values)
    compiled = time.perf_counter() - start
    graphc_ms = median_ms(lambda: f(*values), repeats)
    try:
        import onnxruntime
    except ImportError:
        return Timing(imported, compiled, graphc_ms, None, None)
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = threads
    session = onnxruntime.InferenceSession(model.proto.SerializeToString(), options,
                                           providers=["CPUExecutionProvider"])
    feed = dict(zip(model.input_names, values))
    theirs = session.run(None, feed)
    difference = max(float(np.max(np.abs(a - b)) / max(float(np.max(np.abs(b))), 1e-30)) for a, b in zip(ours, theirs))
    return Timing(imported, compiled, graphc_ms, median_ms(lambda: session.run(None, feed), repeats), difference)
