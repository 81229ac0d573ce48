"""Learning-rate schedules: callables step -> lr with PyTorch's lr_scheduler formulas.

A schedule is stateless, so `schedule(n)` is the learning rate of step n (the epoch, or
the batch for `per_batch` schedules) whatever came before; `Trainer.fit(lr_schedule=...)`
writes it into the trainer's shared `lr` before each epoch or batch, and a hand-written
loop does the same with `lr.set_value(schedule(n))`.
"""
from __future__ import annotations

import math
from typing import Optional


class LRSchedule:
    """Base of the schedules: `schedule(step)` is the learning rate of that step."""

    per_batch = False  # True: steps are batches (fit calls it before every batch), else epochs

    def __call__(self, step: int) -> float:
        raise NotImplementedError

    def lrs(self, steps: int) -> list[float]:
        """The learning rates of steps 0 .. steps - 1."""
        return [self(step) for step in range(steps)]


class StepLR(LRSchedule):
    """lr * gamma ** (step // step_size): decay by gamma every step_size steps."""

    def __init__(self, lr: float, step_size: int, gamma: float = 0.1, per_batch: bool = False):
        self.lr, self.step_size, self.gamma, self.per_batch = lr, step_size, gamma, per_batch

    def __call__(self, step: int) -> float:
        return self.lr * self.gamma ** (step // self.step_size)


class CosineAnnealingLR(LRSchedule):
    """eta_min + (lr - eta_min) (1 + cos(pi step / T_max)) / 2: half a cosine from lr down
    to eta_min over T_max steps (and back up after, as PyTorch's)."""

    def __init__(self, lr: float, T_max: int, eta_min: float = 0.0, per_batch: bool = False):
        self.lr, self.T_max, self.eta_min, self.per_batch = lr, T_max, eta_min, per_batch

    def __call__(self, step: int) -> float:
        return _cosine(self.lr, self.eta_min, step / self.T_max)


class LinearLR(LRSchedule):
    """lr times a factor going linearly from start_factor to end_factor over total_iters
    steps, then staying there: a warm-up with the defaults."""

    def __init__(self, lr: float, start_factor: float = 1.0 / 3, end_factor: float = 1.0, total_iters: int = 5,
                 per_batch: bool = False):
        if not 0 < start_factor <= 1 or not 0 <= end_factor <= 1:
            raise ValueError("LinearLR: start_factor must be in (0, 1] and end_factor in [0, 1]")
        self.lr, self.start_factor, self.end_factor = lr, start_factor, end_factor
        self.total_iters, self.per_batch = total_iters, per_batch

    def __call__(self, step: int) -> float:
        progress = min(step, self.total_iters) / self.total_iters
        return self.lr * (self.start_factor + (self.end_factor - self.start_factor) * progress)


class OneCycleLR(LRSchedule):
    """The 1cycle policy, per batch: from max_lr / div_factor up to max_lr over the first
    pct_start of total_steps, then down to max_lr / div_factor / final_div_factor
    (three_phase: back to the start first, then down). The momentum is not cycled."""

    per_batch = True

    def __init__(
        self, max_lr: float, total_steps: Optional[int] = None, epochs: Optional[int] = None,
        steps_per_epoch: Optional[int] = None, pct_start: float = 0.3, anneal_strategy: str = "cos",
        div_factor: float = 25.0, final_div_factor: float = 1e4, three_phase: bool = False,
    ):
        if total_steps is None:
            if epochs is None or steps_per_epoch is None:
                raise ValueError("OneCycleLR: give total_steps, or epochs and steps_per_epoch")
            total_steps = epochs * steps_per_epoch
        if total_steps <= 0:
            raise ValueError(f"OneCycleLR: total_steps must be positive, not {total_steps}")
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"OneCycleLR: anneal_strategy is 'cos' or 'linear', not {anneal_strategy!r}")
        self.total_steps, self.anneal_strategy = total_steps, anneal_strategy
        start = max_lr / div_factor
        end = start / final_div_factor
        up = pct_start * total_steps - 1
        if three_phase:
            down = 2 * pct_start * total_steps - 2
            phases = [(up, start, max_lr), (down, max_lr, start), (total_steps - 1, start, end)]
        else:
            phases = [(up, start, max_lr), (total_steps - 1, max_lr, end)]
        self.phases = phases  # (last step, lr at its start, lr at its end)

    def __call__(self, step: int) -> float:
        if step > self.total_steps:
            raise ValueError(f"OneCycleLR: step {step} is past total_steps={self.total_steps}")
        first = 0.0
        for last, start, end in self.phases[:-1]:
            if step <= last:
                return self._anneal(start, end, (step - first) / (last - first))
            first = last
        last, start, end = self.phases[-1]
        return self._anneal(start, end, (step - first) / (last - first))

    def _anneal(self, start: float, end: float, progress: float) -> float:
        return _cosine(start, end, progress) if self.anneal_strategy == "cos" else start + (end - start) * progress


def _cosine(start: float, end: float, progress: float) -> float:
    """From start (progress 0) to end (progress 1) along half a cosine."""
    return end + (start - end) * (1 + math.cos(math.pi * progress)) / 2
