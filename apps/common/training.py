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

import math
import os
import time

import keras

from attention_suite.apps.common import distribute
from attention_suite.apps.common.atomic import atomic_path
from attention_suite.apps.common.losses import MaskedSparseCrossentropy
from attention_suite.apps.common.tokenizers import PAD_ID


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


def fit(
    model,
    train_data,
    val_data,
    run_dir,
    epochs,
    patience,
    max_minutes,
    verbose=2,
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
        verbose: Keras verbosity.
        steps_per_epoch: batches per epoch, for a repeated `train_data`.
        callbacks: more Keras callbacks (e.g. a learning-rate schedule).

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
        *callbacks,
    ]
    # A batch splits evenly between the devices of a distribution.
    train_data, val_data = (
        distribute.even_batches(data, distribute.replicas())
        for data in (train_data, val_data)
    )
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


def compile_seq2seq(model, config, steps_per_epoch):
    """Compiles a sequence-to-sequence model the way the text apps train.

    Adam (beta_2 0.98, gradient norm clipped at 1) on the warm-up / cosine
    schedule, and the token cross-entropy over non-padding targets with
    label smoothing.

    Args:
        model: a model whose outputs are logits (or log-probabilities)
            `(B, T, V)`.
        config: a run config with `learning_rate`, `warmup_steps`,
            `epochs` and `label_smoothing`.
        steps_per_epoch: training batches per epoch.
    """
    schedule = warmup_cosine_schedule(
        config.learning_rate,
        config.warmup_steps,
        config.epochs * steps_per_epoch,
    )
    model.compile(
        optimizer=keras.optimizers.Adam(
            schedule, beta_2=0.98, epsilon=1e-9, clipnorm=1.0
        ),
        loss=MaskedSparseCrossentropy(config.label_smoothing, PAD_ID),
    )


def fit_seq2seq(
    model,
    tokenizer,
    train_pairs,
    val_pairs,
    config,
    run_dir,
    max_source_length,
    max_target_length,
):
    """Compiles (`compile_seq2seq`) and fits a model on raw text pairs.

    Args:
        model: a built sequence-to-sequence model.
        tokenizer: the run's tokenizer.
        train_pairs: `(sources, targets)`, lists of raw training texts.
        val_pairs: the same for validation.
        config: the run config (`batch_size`, `epochs`, `patience`,
            `max_minutes`, `seed` and what `compile_seq2seq` reads).
        run_dir: the run directory (see `fit`).
        max_source_length: the most ids per source, end token included.
        max_target_length: the most ids per target sequence.

    Returns:
        `(history, seconds)`, as `fit`.
    """
    from attention_suite.apps.common.text import seq2seq_dataset

    steps_per_epoch = math.ceil(len(train_pairs[0]) / config.batch_size)
    compile_seq2seq(model, config, steps_per_epoch)
    train_data, val_data = (
        seq2seq_dataset(
            tokenizer,
            *pairs,
            max_source_length,
            max_target_length,
            config.batch_size,
            shuffle=shuffle,
            seed=config.seed,
        )
        for pairs, shuffle in ((train_pairs, True), (val_pairs, False))
    )
    return fit(
        model,
        train_data,
        val_data,
        run_dir,
        epochs=config.epochs,
        patience=config.patience,
        max_minutes=config.max_minutes,
        steps_per_epoch=steps_per_epoch,
    )
