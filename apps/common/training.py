"""Fitting with the callbacks every app wants: resumable, atomic, bounded.

`fit` writes into a run directory:

* `backup/`: `keras.callbacks.BackupAndRestore` state, so an interrupted run
  resumes from its last epoch instead of starting over;
* `model.keras`: the best model so far on the validation loss, written to a
  temporary file and renamed;
* `history.csv`: one row of metrics per epoch.

Training stops early when the validation loss stops improving or when the
time budget is spent.
"""

import os
import time

import keras

from apps.common.atomic import atomic_path


class AtomicBestCheckpoint(keras.callbacks.Callback):
    """Saves the model when `monitor` improves, atomically.

    Args:
        path: the `.keras` file.
        monitor: the logged quantity to minimize.
        best: the best value so far (from before a resume).
    """

    def __init__(self, path, monitor="val_loss", best=float("inf")):
        super().__init__()
        self.path = path
        self.monitor = monitor
        self.best = best

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is None or not value < self.best:
            return
        self.best = value
        with atomic_path(self.path) as tmp:
            self.model.save(tmp)


class TimeBudget(keras.callbacks.Callback):
    """Stops training at the end of the epoch that exceeds `minutes`.

    Args:
        minutes: wall-clock budget of this `fit` call.
    """

    def __init__(self, minutes):
        super().__init__()
        self.seconds = minutes * 60.0
        self.start = None

    def on_train_begin(self, logs=None):
        self.start = time.monotonic()

    def on_epoch_end(self, epoch, logs=None):
        if time.monotonic() - self.start > self.seconds:
            self.model.stop_training = True


def _best_logged(history_path, column):
    """The smallest `column` value in an existing `history.csv`, else inf."""
    if not os.path.exists(history_path):
        return float("inf")
    import pandas as pd

    try:
        values = pd.read_csv(history_path)[column]
    except (KeyError, pd.errors.EmptyDataError):
        return float("inf")
    return float(values.min()) if len(values) else float("inf")


def fit(model, train_data, val_data, run_dir, epochs, patience, max_minutes,
        verbose=2, steps_per_epoch=None):
    """Fits `model` with resumable, atomic checkpoints into `run_dir`.

    Args:
        model: a compiled `keras.Model`.
        train_data: training dataset.
        val_data: validation dataset.
        run_dir: where `backup/`, `model.keras` and `history.csv` go.
        epochs: the most epochs.
        patience: epochs without validation improvement before stopping.
        max_minutes: wall-clock budget.
        verbose: Keras verbosity.
        steps_per_epoch: batches per epoch, for a repeated `train_data`.

    Returns:
        `(history, seconds)`: the Keras `History` and the wall time.
    """
    os.makedirs(run_dir, exist_ok=True)
    history_path = os.path.join(run_dir, "history.csv")
    callbacks = [
        keras.callbacks.BackupAndRestore(os.path.join(run_dir, "backup")),
        AtomicBestCheckpoint(
            os.path.join(run_dir, "model.keras"),
            best=_best_logged(history_path, "val_loss"),
        ),
        keras.callbacks.EarlyStopping(
            monitor="val_loss", patience=patience, restore_best_weights=False
        ),
        keras.callbacks.CSVLogger(history_path, append=True),
        TimeBudget(max_minutes),
    ]
    start = time.monotonic()
    history = model.fit(
        train_data,
        validation_data=val_data,
        epochs=epochs,
        steps_per_epoch=steps_per_epoch,
        callbacks=callbacks,
        verbose=verbose,
        # Datasets shuffle themselves (tf.data); Keras ignores the flag.
        shuffle=False,
    )
    return history, time.monotonic() - start
