"""Printing a compiled step's per-kernel profile (shared by the examples that profile a model).

`f.inspect.profile(*args)` times each kernel inside one native call; this prints the
slowest kernels with their FLOP rates and fused graph ops, then the times summed by kind
of kernel (conv, conv_dgrad, conv_wgrad, matmul, ...).
"""
import re
import time
from collections import defaultdict


def kind(kernel_name: str) -> str:
    """A kernel's kind from its name: g17_conv_dgrad5 -> conv_dgrad."""
    return re.sub(r"^g\d+_|\d+$", "", kernel_name)


def print_profile(profile, top: int) -> None:
    """The `top` slowest kernels with their FLOP rates and fused ops, then the times summed by kind."""
    total = profile.total
    print(f"\nper-kernel profile of one call ({len(profile)} kernels, {1e3 * total:.2f} ms in all; "
          f"each kernel's fastest of the runs):")
    print(f"  {'kernel':<30}{'shape':<18}{'MFLOP':>8}{'us':>9}{'GFLOP/s':>9}{'share':>7}  fused ops")
    for row in sorted(profile, key=lambda r: -r.seconds)[:top]:
        k, t = row.kernel, row.seconds
        rate = f"{k.flops / t / 1e9:.1f}" if k.flops and t > 0 else "-"
        print(f"  {k.name:<30}{str(k.shape):<18}{k.flops / 1e6:>8.2f}{1e6 * t:>9.1f}{rate:>9}"
              f"{100 * t / total:>6.1f}%  {' '.join(k.ops)}")
    by_kind: dict[str, list[float]] = defaultdict(lambda: [0, 0.0, 0.0])
    for row in profile:
        entry = by_kind[kind(row.kernel.name)]
        entry[0] += 1
        entry[1] += row.seconds
        entry[2] += row.kernel.flops
    print(f"\nby kind of kernel:\n  {'kind':<24}{'kernels':>8}{'us':>10}{'GFLOP/s':>9}{'share':>7}")
    for name, (count, seconds, flops) in sorted(by_kind.items(), key=lambda item: -item[1][1]):
        rate = f"{flops / seconds / 1e9:.1f}" if flops and seconds > 0 else "-"
        print(f"  {name:<24}{count:>8}{1e6 * seconds:>10.1f}{rate:>9}{100 * seconds / total:>6.1f}%")


def profile_step(step, args: tuple, repeat: int, top: int, what: str) -> None:
    """Compile (or load) the profiling build of `step`, time its kernels over `repeat` runs and
    print the table. The profiling build is the step's code with a clock read between kernels."""
    start = time.perf_counter()
    step.inspect.profile(*args)
    compile_seconds = time.perf_counter() - start
    profile = step.inspect.profile(*args, repeat=repeat)
    kernels = step.inspect.kernels()
    print(f"\n{what}: {1e3 * profile.total:.2f} ms per call (compiled in {compile_seconds:.1f} s)")
    print(f"{len(kernels)} kernels, {sum(k.flops for k in kernels) / 1e6:.1f} MFLOP per call")
    print_profile(profile, top)
