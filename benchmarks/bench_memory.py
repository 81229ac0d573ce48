"""Training-step memory: what one step adds to the process at its peak, graphc against torch
eager, on bench_models' models (the same weights, data and plain SGD step).

Each library runs in a child process of its own with one thread. After warm-up steps the
child resets the kernel's peak-RSS mark (writing 5 to /proc/self/clear_refs, Linux), runs
one step and reads VmHWM minus the VmRSS before the step: the bytes the step itself held
at its peak, whichever allocator held them. glibc's malloc would keep what a warm-up step
freed in its heap (its mmap threshold rises after a large block is freed, up to 32 MiB)
and the measured step would reuse it unseen, so the children run with a fixed threshold
(MALLOC_MMAP_THRESHOLD_): every block of 128 KiB or more is mapped when allocated and
unmapped when freed. For graphc it also prints the compiled step's own account,
`f.inspect.memory()` (arena, outputs, constants): the arena is allocated with the
function, so a graphc step's peak is its arena plus what the step figure shows.

    python benchmarks/bench_memory.py [--only cnn,alexnet]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_models  # noqa: E402 - the models and each library's step

ROOT = Path(__file__).resolve().parents[1]


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"/proc/self/status has no {field}")


def step_peak_bytes(step: Any, repeats: int) -> float:
    """Bytes one call of `step` holds at its peak beyond what the process held before it."""
    for _ in range(3):
        step()
    before = _status_kib("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")
    step()
    return float(_status_kib("VmHWM") - before) * 1024


def child(lib: str, name: str) -> dict:
    # bench_models' children time their steps with _median_time; measure the peak instead
    bench_models._median_time = step_peak_bytes
    if lib == "torch":
        return {"step_bytes": bench_models.torch_child(name, True, 1)["seconds"]}
    result = {"step_bytes": bench_models.graphc_child(name, True, 1)["seconds"]}
    import graphc as gc
    fn, args = bench_models.graphc_function(gc, name, True)
    fn(*args)
    memory = fn.inspect.memory()
    return {**result, "arena": memory.arena, "outputs": memory.outputs, "constants": memory.constants}


def run(lib: str, name: str) -> dict:
    env = {**os.environ, "GRAPHC_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MALLOC_MMAP_THRESHOLD_": str(128 << 10)}
    out = subprocess.run([sys.executable, __file__, "--child", lib, name], env=env, capture_output=True, text=True)
    if out.returncode != 0:
        return {"error": (out.stderr.strip() or "no output").splitlines()[-1][:160]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def mib(nbytes: Any) -> str:
    return "-" if nbytes is None else f"{nbytes / 2 ** 20:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="cnn,alexnet", help="comma-separated models: " + ", ".join(bench_models.MODELS))
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        sys.path.insert(0, str(ROOT))
        print(json.dumps(child(*args.child)))
        return
    print(f"# training-step memory, MiB, 1 thread; CPU: {bench_models.shared.cpu_name()}")
    print(f"{'model':<13} {'graphc step':>12} {'arena':>8} {'step+arena':>11} {'torch step':>11} "
          f"{'torch/graphc':>13} {'outputs':>8} {'constants':>10}")
    for name in args.only.split(","):
        ours, theirs = run("graphc", name), run("torch", name)
        held = ours["step_bytes"] + ours["arena"] if "arena" in ours else None
        ratio = theirs["step_bytes"] / held if held and "step_bytes" in theirs else float("nan")
        print(f"{name:<13} {mib(ours.get('step_bytes')):>12} {mib(ours.get('arena')):>8} {mib(held):>11} "
              f"{mib(theirs.get('step_bytes')):>11} {ratio:>13.2f} {mib(ours.get('outputs')):>8} "
              f"{mib(ours.get('constants')):>10}  {ours.get('error', '')} {theirs.get('error', '')}", flush=True)

if __name__ == "__main__":
    main()
