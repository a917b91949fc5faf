"""Fitting with the callbacks every app wants: resumable, atomic, bounded.

`fit` writes into a run directory:

* `backup/`: `keras.callbacks.BackupAndRestore` state (written atomically,
  the previous epoch's kept), so an interrupted run resumes from its last
  epoch instead of starting over;
* `model.keras`: the best model so far on the validation loss, written to a
  temporary file and renamed;
* `history.csv`: one row of metrics per epoch;
* `attempts.json`: each attempt's epochs and seconds (`AttemptClock`).

Training stops early when the validation loss stops improving or when the
time budget is spent.
"""

import contextvars
import hashlib
import json
import math
import os
import shutil
import sys
import time

import keras
import pandas as pd

from attention_suite.apps.common.data.atomic import (
    atomic_path,
    atomic_write_json,
)
from attention_suite.apps.common.training import distribute
from attention_suite.apps.common.training.config import AUTO
from attention_suite.apps.common.training.runs import (
    discard_replaced,
    save_for_inference,
)


class AtomicBestCheckpoint(keras.callbacks.Callback):
    """Saves the model when `monitor` improves, atomically and without its
    optimizer (`runs.save_for_inference`).

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
        save_for_inference(self.model, self.path)


class AtomicBackupAndRestore(keras.callbacks.BackupAndRestore):
    """`keras.callbacks.BackupAndRestore` that never leaves a torn backup.

    Keras writes the backup's weights file in place: a process killed while
    it writes leaves a file that no later attempt can read. Here the new
    weights are written to a temporary file; the current weights and epoch
    are then renamed to the previous backup's names, and the new ones
    renamed into place, each epoch recorded with the SHA-256 of its weights
    file (so a copied run directory resumes as the original would).
    `keep_matching_pair`, run before training, falls back to the previous
    backup when the latest is missing, damaged, or was not written together
    with its epoch; a weights file that cannot be read falls back to it too
    (Keras' `double_checkpoint`). With no backup left to fall back to, the
    failure names the file.

    Args:
        backup_dir: the backup directory.
    """

    def __init__(self, backup_dir):
        super().__init__(backup_dir, double_checkpoint=True)

    def on_train_begin(self, logs=None):
        try:
            super().on_train_begin(logs)
        except (OSError, ValueError) as error:
            raise ValueError(
                f"The training backup {self._weights_path} cannot be read "
                f"({str(error).splitlines()[0]}); delete {self.backup_dir} "
                "to restart the run from its first epoch."
            ) from None

    def _pairs(self):
        """`(latest, previous)` paths of the weights and of the epoch."""
        return (
            (self._weights_path, self._prev_weights_path),
            (self._training_metadata_path, self._prev_training_metadata_path),
        )

    def _save_model(self):
        os.makedirs(self.backup_dir, exist_ok=True)
        with atomic_path(self._weights_path, suffix=".weights.h5") as tmp:
            self.model.save_weights(tmp, overwrite=True)
            if os.path.exists(self._weights_path):
                for latest, previous in self._pairs():
                    if os.path.exists(latest):
                        os.replace(latest, previous)
        atomic_write_json(
            self._training_metadata_path,
            {
                "epoch": self._current_epoch,
                "batch": self._last_batch_seen,
                "weights": _identity(self._weights_path),
            },
        )

    def keep_matching_pair(self):
        """Puts the newest backup whose weights match its record in place.

        A process stopped between the renames of `_save_model` leaves the
        latest weights missing, or one epoch ahead of the epoch on record;
        a damaged disk leaves weights that match no record. The newest
        record (latest, then previous) whose weights file (latest or
        previous) has the recorded SHA-256 becomes the latest backup. With
        no record at all (a run stopped before its first backup), the
        backup is dropped and the run starts from its first epoch.
        Called before `fit` reads the backup's epoch.

        Raises:
            ValueError: there are records but no weights file matches
                them; the message names the file.
        """
        (weights, previous_weights), (record, previous_record) = self._pairs()
        records = [
            (path, _recorded_identity(path))
            for path in (record, previous_record)
        ]
        files = {
            path: _identity(path)
            for path in (weights, previous_weights)
            if os.path.exists(path)
        }
        for record_path, recorded in records:
            for weights_path, identity in files.items():
                if recorded is not None and identity == recorded:
                    os.replace(weights_path, weights)
                    os.replace(record_path, record)
                    return
        if files and any(recorded is not None for _, recorded in records):
            raise ValueError(
                f"The training backup {weights} cannot be read: it does not "
                "match the epoch on record; delete "
                f"{self.backup_dir} to restart the run from its first epoch."
            )
        if os.path.isdir(self.backup_dir):
            shutil.rmtree(self.backup_dir)


def _recorded_identity(path):
    """The weights' SHA-256 that a backup's epoch record names, or `None`."""
    try:
        with open(path) as f:
            return json.load(f).get("weights")
    except (OSError, ValueError, AttributeError):
        return None


# The Keras verbosity of `fit` when its caller gives none: `"auto"` (a
# progress bar on a terminal, a line an epoch otherwise), 0 (silent), 1 or
# 2. `attention_suite.apps.common.training.launch.train_run` sets it for one
# training.
VERBOSITY = contextvars.ContextVar("verbosity", default="auto")


def _identity(path):
    """The SHA-256 of a file's bytes: the same after a rename and in a copy
    of the run, different for any other weights."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class DiscardReplaced(keras.callbacks.Callback):
    """Deletes the run `train --overwrite` replaced once a checkpoint lands.

    Args:
        run_dir: the run directory.
    """

    def __init__(self, run_dir):
        super().__init__()
        self.run_dir = run_dir

    def on_epoch_end(self, epoch, logs=None):
        discard_replaced(self.run_dir)


class AttemptClock(keras.callbacks.Callback):
    """Keeps `attempts.json`: each attempt's epochs and seconds so far.

    Updated at every epoch's end, so an attempt that is killed still counts
    up to its last epoch.

    Args:
        path: the `attempts.json` file.
    """

    def __init__(self, path):
        super().__init__()
        self.path = path
        self.attempts = read_attempts(path)
        self.start = None

    def on_train_begin(self, logs=None):
        self.start = time.monotonic()
        self.attempts.append({"epochs": 0, "seconds": 0.0})

    def on_epoch_end(self, epoch, logs=None):
        self.attempts[-1]["epochs"] += 1
        self.attempts[-1]["seconds"] = round(time.monotonic() - self.start, 3)
        atomic_write_json(self.path, self.attempts)


def read_attempts(path):
    """The attempts `AttemptClock` recorded (a list of dicts), or `[]`."""
    try:
        with open(path) as f:
            attempts = json.load(f)
    except (OSError, ValueError):
        return []
    return attempts if isinstance(attempts, list) else []


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
    try:
        values = pd.read_csv(history_path)[column]
    except (KeyError, pd.errors.EmptyDataError):
        return float("inf")
    return float(values.min()) if len(values) else float("inf")


def _drop_epochs_after_backup(history_path, backup_dir):
    """Keeps only the `history.csv` rows of epochs the backup holds.

    A resumed `fit` starts at the backup's epoch; rows of later epochs (or
    of any epoch, without a backup) came from an attempt that was stopped
    before its backup and are trained again.
    """
    if not os.path.exists(history_path):
        return
    try:
        with open(os.path.join(backup_dir, "training_metadata.json")) as f:
            start = json.load(f)["epoch"]
    except (OSError, ValueError, KeyError):
        start = 0
    try:
        history = pd.read_csv(history_path)
    except pd.errors.EmptyDataError:
        history = pd.DataFrame({"epoch": []})
    kept = history[history["epoch"] < start]
    if len(kept) < len(history):
        with atomic_path(history_path) as tmp:
            if len(kept):
                kept.to_csv(tmp, index=False)


def fit(
    model,
    train_data,
    val_data,
    run_dir,
    epochs,
    patience,
    max_minutes,
    verbose=None,
    steps_per_epoch=None,
    callbacks=(),
):
    """Fits `model` with resumable, atomic checkpoints into `run_dir`.

    Args:
        model: a compiled `keras.Model`.
        train_data: training dataset.
        val_data: validation dataset.
        run_dir: where `backup/`, `model.keras` and `history.csv` go.
        epochs: the most epochs.
        patience: epochs without validation improvement before stopping.
        max_minutes: wall-clock budget.
        verbose: Keras verbosity; by default a progress bar per step when
            standard output is a terminal, else one line per epoch.
        steps_per_epoch: batches per epoch, for a repeated `train_data`.
        callbacks: more Keras callbacks (e.g. a learning-rate schedule).

    Returns:
        `(epochs, seconds)`: the epochs trained and the training wall time,
        over every attempt at the run (`attempts.json`).

    Raises:
        ValueError: the loss became NaN or infinite (training stops at
            that batch).
    """
    os.makedirs(run_dir, exist_ok=True)
    history_path = os.path.join(run_dir, "history.csv")
    attempts_path = os.path.join(run_dir, "attempts.json")
    backup_dir = os.path.join(run_dir, "backup")
    backup = AtomicBackupAndRestore(backup_dir)
    backup.keep_matching_pair()
    _drop_epochs_after_backup(history_path, backup_dir)
    # An epoch's row is logged before its backup is written: a run killed
    # between the two trains that epoch again, and its row is replaced.
    callbacks = [
        keras.callbacks.CSVLogger(history_path, append=True),
        AtomicBestCheckpoint(
            os.path.join(run_dir, "model.keras"),
            best=_best_logged(history_path, "val_loss"),
        ),
        backup,
        AttemptClock(attempts_path),
        DiscardReplaced(run_dir),
        keras.callbacks.EarlyStopping(
            monitor="val_loss", patience=patience, restore_best_weights=False
        ),
        TimeBudget(max_minutes),
        keras.callbacks.TerminateOnNaN(),
        *callbacks,
    ]
    # A batch splits evenly between the devices of a distribution.
    train_data, val_data = (
        distribute.even_batches(data, distribute.replicas())
        for data in (train_data, val_data)
    )
    _build_optimizer(model)
    if verbose is None:
        verbose = VERBOSITY.get()
    if verbose == "auto":
        verbose = 1 if sys.stdout.isatty() else 2
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
    for epoch, loss in zip(history.epoch, history.history.get("loss", [])):
        if not math.isfinite(loss):
            raise ValueError(
                f"Training diverged: the loss became {loss} in epoch "
                f"{epoch + 1} ({run_dir}); lower learning_rate or look for "
                "extreme values in the training data."
            )
    attempts = read_attempts(attempts_path)
    return (
        _logged_epochs(history_path),
        sum(attempt["seconds"] for attempt in attempts),
    )


def _build_optimizer(model):
    """Builds a built model's optimizer before TensorFlow traces a step.

    Without a distribution strategy, Keras' TensorFlow trainer leaves the
    optimizer to be built inside the first traced train step; creating its
    variables there makes TensorFlow trace the step a second time, which for
    a model of recurrent layers doubles the minute the first step takes on
    a CPU. Keras builds it first itself under a strategy, and the other
    backends never trace twice.

    Args:
        model: a compiled `keras.Model`.
    """
    optimizer = model.optimizer
    if (
        keras.backend.backend() != "tensorflow"
        or optimizer is None
        or optimizer.built
        or not model.built
    ):
        return
    with model.distribute_strategy.scope():
        optimizer.build(model.trainable_variables)


def _logged_epochs(history_path):
    """The number of epochs `history.csv` holds."""
    try:
        return len(pd.read_csv(history_path))
    except (OSError, pd.errors.EmptyDataError):
        return 0


def auto_warmup(total_steps):
    """The warm-up steps of `warmup_steps="auto"`: 5 % of the training
    steps, at least 1."""
    return max(1, round(0.05 * total_steps))


def resolve_auto(config, steps_per_epoch, tokenizer):
    """Resolves a text run's corpus-dependent settings, and says so.

    `warmup_steps` "auto" becomes 5 % of the training steps (at least 1);
    `vocabulary_size` becomes the pieces the tokenizer really has, when the
    training text could not make as many (or a preset's vocabulary is
    used). Each value that changes is printed, and the config then records
    what the run uses.

    Args:
        config: a text app's config (`epochs`, `warmup_steps`,
            `vocabulary_size`); changed in place.
        steps_per_epoch: the training batches of an epoch.
        tokenizer: the run's tokenizer.
    """
    steps = config.epochs * steps_per_epoch
    if config.warmup_steps == AUTO:
        config.warmup_steps = auto_warmup(steps)
        print(
            f"warmup_steps=auto: {config.warmup_steps} (5 % of the {steps} "
            "training steps)"
        )
    pieces = tokenizer.vocabulary_size()
    if pieces != config.vocabulary_size:
        print(
            f"vocabulary_size={config.vocabulary_size} -> {pieces}: the "
            "pieces the tokenizer made (used and recorded)"
        )
        config.vocabulary_size = pieces


def warmup_cosine_schedule(learning_rate, warmup_steps, total_steps):
    """Linear warm-up to `learning_rate`, then cosine decay to 5 % of it.

    Args:
        learning_rate: the peak rate.
        warmup_steps: steps of the linear warm-up.
        total_steps: all training steps (at least `warmup_steps + 1` are
            assumed).

    Returns:
        A `keras.optimizers.schedules.CosineDecay`.
    """
    total = max(total_steps, warmup_steps + 1)
    return keras.optimizers.schedules.CosineDecay(
        0.0,
        decay_steps=total - warmup_steps,
        warmup_target=learning_rate,
        warmup_steps=warmup_steps,
        alpha=0.05,
    )
