"""Text-generation runs: training one and reading it back.

The translation and summarization apps train the same way: a SentencePiece
tokenizer learned on the training text (kept by a resumed run), the
`auto` settings resolved from the corpus, `config.json` and `run.json`
written, then the model fitted with teacher forcing
(`fit_seq2seq`). Each app gives
its corpus and its model.
"""

import math
import os

import keras

from attention_suite.apps.common.data.atomic import atomic_write_json
from attention_suite.apps.common.data.text import seq2seq_dataset
from attention_suite.apps.common.data.tokenizers import (
    PAD_ID,
    TOKENIZER_FILE,
    load_tokenizer,
    train_or_load_tokenizer,
)
from attention_suite.apps.common.training import fit, runs
from attention_suite.apps.common.training.config import AUTO, save_config
from attention_suite.apps.common.training.losses import MaskedSparseCrossentropy


def train_generator(
    config,
    source,
    run_dir,
    tokenizer_texts,
    pairs,
    info,
    build_model,
    max_lengths,
):
    """Learns the tokenizer and trains a text generator into `run_dir`.

    The caller seeds Keras (`config.seed`) before anything creates a
    tokenizer: seeding clears TensorFlow's kernel caches, which own the
    tokenizer's SentencePiece resource.

    Args:
        config: the app's config (`vocabulary_size`, `seed` and the
            training settings of `fit_seq2seq`).
        source: the dataset name or file the corpus came from.
        run_dir: the run directory (an interrupted run resumes).
        tokenizer_texts: the training texts the tokenizer learns from.
        pairs: `{"train": (sources, targets), "val": (sources, targets)}`.
        info: the app's own `run.json` entries (sizes, sample inputs).
        build_model: `build_model(config, vocabulary_size)`.
        max_lengths: `(max_source_length, max_target_length)` in ids.

    Returns:
        The run info dict (also written to `run.json`).
    """
    os.makedirs(run_dir, exist_ok=True)
    tokenizer = train_or_load_tokenizer(
        os.path.join(run_dir, TOKENIZER_FILE),
        tokenizer_texts,
        config.vocabulary_size,
        config.seed,
    )
    fit.resolve_auto(
        config, math.ceil(len(pairs["train"][0]) / config.batch_size), tokenizer
    )
    save_config(config, os.path.join(run_dir, "config.json"))
    run_info = {
        "data": os.path.abspath(source) if os.path.isfile(source) else source,
        "backend": keras.backend.backend(),
        **info,
    }
    atomic_write_json(os.path.join(run_dir, "run.json"), run_info)
    model = build_model(config, tokenizer.vocabulary_size())
    epochs, seconds = fit_seq2seq(
        model,
        tokenizer,
        pairs["train"],
        pairs["val"],
        config,
        run_dir,
        *max_lengths,
    )
    run_info.update(train_seconds=seconds, epochs_run=epochs)
    atomic_write_json(os.path.join(run_dir, "run.json"), run_info)
    return run_info


def read_generator_run(run_dir, config_class, app):
    """Reads a text generator's run: its config, info, tokenizer and model.

    Args:
        run_dir: the run directory.
        config_class: the app's config dataclass.
        app: the app's command, for the error message.

    Returns:
        A `LoadedRun` with its SentencePiece tokenizer.

    Raises:
        FileNotFoundError: `run_dir` is not a finished run of this app.
    """
    return runs.read_text_run(
        run_dir, config_class, app, TOKENIZER_FILE, load_tokenizer
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
    total = config.epochs * steps_per_epoch
    warmup = config.warmup_steps
    schedule = fit.warmup_cosine_schedule(
        config.learning_rate,
        fit.auto_warmup(total) if warmup == AUTO else warmup,
        total,
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
        run_dir: the run directory (see `fit.fit`).
        max_source_length: the most ids per source, end token included.
        max_target_length: the most ids per target sequence.

    Returns:
        `(epochs, seconds)`, as `fit.fit`.
    """
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
    return fit.fit(
        model,
        train_data,
        val_data,
        run_dir,
        epochs=config.epochs,
        patience=config.patience,
        max_minutes=config.max_minutes,
        steps_per_epoch=steps_per_epoch,
    )
