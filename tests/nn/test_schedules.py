"""Learning-rate schedules give torch.optim.lr_scheduler's sequences, and fit applies them."""
import numpy as np
import pytest

import graphc.nn as nn

TORCH_REASON = "torch.optim.lr_scheduler is the oracle for the schedules"

# (ours, torch scheduler class name, its options, base lr given to the torch optimiser, steps)
CASES = {
    "step": (nn.StepLR(0.1, step_size=3), "StepLR", {"step_size": 3}, 0.1, 12),
    "step-gamma": (nn.StepLR(0.5, step_size=2, gamma=0.5), "StepLR", {"step_size": 2, "gamma": 0.5}, 0.5, 9),
    "cosine": (nn.CosineAnnealingLR(0.1, T_max=10), "CosineAnnealingLR", {"T_max": 10}, 0.1, 25),
    "cosine-min": (nn.CosineAnnealingLR(0.2, T_max=7, eta_min=0.01), "CosineAnnealingLR",
                   {"T_max": 7, "eta_min": 0.01}, 0.2, 20),
    "linear": (nn.LinearLR(0.1), "LinearLR", {}, 0.1, 9),
    "linear-down": (nn.LinearLR(0.3, start_factor=1.0, end_factor=0.1, total_iters=4), "LinearLR",
                    {"start_factor": 1.0, "end_factor": 0.1, "total_iters": 4}, 0.3, 8),
    "onecycle": (nn.OneCycleLR(0.1, total_steps=20), "OneCycleLR", {"max_lr": 0.1, "total_steps": 20}, 0.1, 20),
    "onecycle-linear-3": (nn.OneCycleLR(0.4, epochs=3, steps_per_epoch=7, pct_start=0.25, anneal_strategy="linear",
                                        three_phase=True, div_factor=10, final_div_factor=100), "OneCycleLR",
                          {"max_lr": 0.4, "epochs": 3, "steps_per_epoch": 7, "pct_start": 0.25,
                           "anneal_strategy": "linear", "three_phase": True, "div_factor": 10,
                           "final_div_factor": 100}, 0.4, 21),
}


def _torch_lrs(torch, name, options, lr, steps):
    param = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.SGD([param], lr=lr)
    scheduler = getattr(torch.optim.lr_scheduler, name)(optimizer, **options)
    lrs = []
    for _ in range(steps):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return lrs


@pytest.mark.parametrize("case", sorted(CASES))
def test_learning_rates_match_torch(case):
    torch = pytest.importorskip("torch", reason=TORCH_REASON)
    ours, name, options, lr, steps = CASES[case]
    np.testing.assert_allclose(ours.lrs(steps), _torch_lrs(torch, name, options, lr, steps), rtol=1e-10, atol=1e-15)


def test_one_cycle_refuses_steps_past_its_end_and_bad_arguments():
    schedule = nn.OneCycleLR(0.1, total_steps=5)
    schedule(5)
    with pytest.raises(ValueError, match="past total_steps=5"):
        schedule(6)
    with pytest.raises(ValueError, match="total_steps, or epochs and steps_per_epoch"):
        nn.OneCycleLR(0.1)
    with pytest.raises(ValueError, match="anneal_strategy"):
        nn.OneCycleLR(0.1, total_steps=5, anneal_strategy="exp")


class Recording(nn.LRSchedule):
    """lr 0.01 * (step + 1), remembering the steps it was asked for."""

    def __init__(self, per_batch):
        self.per_batch, self.steps = per_batch, []

    def __call__(self, step):
        self.steps.append(step)
        return 0.01 * (step + 1)


@pytest.mark.parametrize("per_batch, steps, lrs", [(False, [0, 1], [0.01, 0.02]),
                                                   (True, [0, 1, 2, 3, 4, 5], [0.03, 0.06])])
def test_fit_sets_the_lr_each_epoch_or_each_batch(per_batch, steps, lrs):
    digits = nn.datasets.load_digits(seed=0)
    trainer = nn.Trainer(nn.models.logistic_regression(rng=0), backend="numpy")
    schedule = Recording(per_batch)
    history = trainer.fit(digits.x_train[:96], digits.y_train[:96], epochs=2, batch_size=32, lr_schedule=schedule,
                          progress=False, verbose=False)
    assert schedule.steps == steps  # 3 batches per epoch
    np.testing.assert_allclose(history.lr, lrs, rtol=1e-6)  # the lr of each epoch's last batch


def test_fit_runs_a_one_cycle_schedule_to_its_end():
    digits = nn.datasets.load_digits(seed=0)
    trainer = nn.Trainer(nn.models.logistic_regression(rng=0), backend="numpy")
    schedule = nn.OneCycleLR(0.05, epochs=2, steps_per_epoch=3)
    history = trainer.fit(digits.x_train[:96], digits.y_train[:96], epochs=2, batch_size=32, lr_schedule=schedule,
                          progress=False, verbose=False)
    np.testing.assert_allclose(history.lr, [schedule(2), schedule(5)], rtol=1e-6)
