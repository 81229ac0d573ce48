"""Training end to end: the digits CNN learns; fit's history, schedules and early stopping."""
import numpy as np
import pytest

import graphc.nn as nn


@pytest.fixture(scope="module")
def digits():
    return nn.datasets.load_digits(seed=0)


def test_digits_cnn_trains_well_above_chance(digits):
    model = nn.models.digits_cnn(rng=0)
    trainer = nn.Trainer(model, optimizer="adam", lr=0.003)
    history = trainer.fit(digits.x_train, digits.y_train, epochs=3, validation_data=(digits.x_test, digits.y_test),
                          progress=False, verbose=False)
    loss, accuracy = trainer.evaluate(digits.x_test, digits.y_test)
    assert accuracy > 0.8  # chance is 0.1
    assert history.loss[-1] < history.loss[0]
    assert 0 < history.compile_time == trainer.compile_time  # the step's and the evaluation's
    assert history.val_accuracy[-1] == pytest.approx(accuracy)
    predictions = trainer.predict(digits.x_test).argmax(axis=1)
    assert (predictions == digits.y_test).mean() == pytest.approx(accuracy)
    assert trainer.compile_time > history.compile_time  # the prediction's is added


def test_compiled_step_matches_the_numpy_backend(digits):
    """Three steps from the same start: the llvm (default) and numpy backends give the same
    losses, counts, parameters and running statistics (dropout masks included)."""
    results = {}
    for backend in ("llvm", "numpy"):
        model = nn.models.digits_cnn(channels=(4, 8), batch_norm=True, dropout=0.2, rng=0)
        trainer = nn.Trainer(model, optimizer="momentum", lr=0.05, momentum=0.9, backend=backend)
        step = trainer.step_function(digits.x_train, digits.y_train)
        outputs = [step(digits.x_train[i:i + 32], digits.y_train[i:i + 32]) for i in range(0, 96, 32)]
        results[backend] = outputs, [v.get_value() for v in model.variables()]
    (compiled, compiled_state), (reference, reference_state) = results["llvm"], results["numpy"]
    for (loss, correct), (ref_loss, ref_correct) in zip(compiled, reference):
        np.testing.assert_allclose(loss, ref_loss, rtol=1e-5)
        assert correct == ref_correct
    assert len(compiled_state) == 14  # weights, biases, gammas, betas, running statistics
    for value, expected in zip(compiled_state, reference_state):
        np.testing.assert_allclose(value, expected, rtol=1e-4, atol=1e-6)


def test_the_compiled_backend_is_the_default(digits):
    trainer = nn.Trainer(nn.models.logistic_regression(rng=0))
    assert trainer.step_function(digits.x_train, digits.y_train).backend_name == "llvm"
    assert trainer.predict_function(digits.x_train).backend_name == "llvm"


def test_batch_norm_and_dropout_model_trains_and_updates_running_statistics(digits):
    model = nn.models.digits_cnn(channels=(4, 8), batch_norm=True, dropout=0.2, rng=0)
    bn = next(layer for layer in model.walk() if isinstance(layer, nn.BatchNorm))
    _, history = nn.fit(model, digits.x_train[:256], digits.y_train[:256], optimizer="momentum", lr=0.05,
                        optimizer_options={"momentum": 0.9}, epochs=2, batch_size=32, progress=False, verbose=False)
    assert history.epochs == 2 and history.val_loss == [None, None]
    assert not np.allclose(bn.running_mean.get_value(), 0)


def test_early_stopping_restores_the_best_weights(digits):
    model = nn.models.logistic_regression(rng=0)
    x, y = digits.x_train[:400], digits.y_train[:400]
    trainer = nn.Trainer(model, optimizer="sgd")
    # a sane first epoch, then a learning rate that makes the validation loss blow up
    history = trainer.fit(x, y, epochs=10, validation_split=0.25, patience=2,
                          lr_schedule=lambda e: 0.5 if e == 0 else 50.0, progress=False, verbose=False)
    assert history.stopped_early and history.epochs == 3
    assert history.best_epoch == 0 and history.lr == [0.5, 50.0, 50.0]
    x_fit, y_fit, x_val, y_val = nn.data.split(x, y, 0.25, seed=0)
    val_loss, _ = trainer.evaluate(x_val, y_val)
    assert val_loss == pytest.approx(history.val_loss[0], rel=1e-5)
    assert val_loss < min(history.val_loss[1:])


def test_early_stopping_needs_validation_data(digits):
    trainer = nn.Trainer(nn.models.logistic_regression(rng=0))
    with pytest.raises(ValueError, match="validation"):
        trainer.fit(digits.x_train[:10], digits.y_train[:10], patience=1, progress=False, verbose=False)


def test_regression_with_mse_and_augmentation():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(128, 1, 4, 4)).astype(np.float32)
    y = x.sum(axis=(1, 2, 3))[:, None].astype(np.float32)  # mirroring keeps the target
    model = nn.Sequential(nn.Flatten(), nn.Dense(16, 1, rng=0))
    trainer = nn.Trainer(model, loss=nn.mse_loss, optimizer="nesterov", lr=0.01, momentum=0.9)
    history = trainer.fit(x, y, epochs=20, batch_size=16, augment=nn.RandomFlip(0.5), progress=False, verbose=False)
    assert history.accuracy == [None] * 20
    assert history.loss[-1] < 0.01 * history.loss[0]
    np.testing.assert_allclose(model[1].weight.get_value(), 1.0, atol=0.1)


def test_epoch_lines_and_progress_bar(digits, capsys):
    trainer = nn.Trainer(nn.models.logistic_regression(rng=0), optimizer="adam", lr=0.01)
    trainer.fit(digits.x_train[:64], digits.y_train[:64], epochs=1, batch_size=32,
                validation_data=(digits.x_test[:32], digits.y_test[:32]), progress=True, verbose=True)
    out, err = capsys.readouterr()
    assert "epoch 1/1" in out and "val_acc" in out and "acc " in out


@pytest.mark.parametrize("name", ["adamw", "rmsprop", "adagrad"])
def test_trainer_takes_the_newer_optimizers_by_name(digits, name):
    trainer = nn.Trainer(nn.models.logistic_regression(rng=0), optimizer=name, lr=0.01, backend="numpy")
    history = trainer.fit(digits.x_train[:256], digits.y_train[:256], epochs=3, batch_size=32,
                          progress=False, verbose=False)
    assert history.loss[-1] < history.loss[0]
