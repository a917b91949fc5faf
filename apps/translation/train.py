"""Training and evaluation of a translation run.

A run directory holds `config.json`, `run.json` (data source, corpus sizes,
backend, wall time), `tokenizer.model` (the SentencePiece model), the best
`model.keras`, `history.csv`, and after `evaluate`, `metrics.json`,
`metrics.md` and the test hypotheses.
"""

import math
import os

import keras

from apps.common import runs, training
from apps.common.atomic import atomic_write_bytes, atomic_write_json
from apps.common.config import save_config
from apps.common.losses import MaskedSparseCrossentropy
from apps.translation import data
from apps.translation.config import TranslationConfig
from apps.translation.model import build_model

TOKENIZER_FILE = "tokenizer.model"


def load_corpus(config, source, data_dir=None):
    """The corpus of a run, with `config.train_limit` applied.

    Args:
        config: the run's `TranslationConfig`.
        source: `"multi30k"` or a TSV file.
        data_dir: the data directory for Multi30k.

    Returns:
        The corpus dict (see `apps.translation.data`).
    """
    corpus = data.load_corpus(source, data_dir, config.source, config.target)
    if config.train_limit:
        sources, targets = corpus["train"]
        limit = config.train_limit
        corpus["train"] = (sources[:limit], targets[:limit])
    return corpus


def learning_rate_schedule(config, steps_per_epoch):
    """Linear warm-up to `config.learning_rate`, then cosine decay.

    Args:
        config: the run's `TranslationConfig`.
        steps_per_epoch: training batches per epoch.

    Returns:
        A `keras.optimizers.schedules.CosineDecay`.
    """
    total = max(config.epochs * steps_per_epoch, config.warmup_steps + 1)
    return keras.optimizers.schedules.CosineDecay(
        0.0,
        decay_steps=total - config.warmup_steps,
        warmup_target=config.learning_rate,
        warmup_steps=config.warmup_steps,
        alpha=0.05,
    )


def compile_model(model, config, steps_per_epoch):
    """Compiles a translator with Adam, the warm-up schedule and the loss.

    Args:
        model: a translator from `apps.translation.model`.
        config: the run's `TranslationConfig`.
        steps_per_epoch: training batches per epoch.
    """
    model.compile(
        optimizer=keras.optimizers.Adam(
            learning_rate_schedule(config, steps_per_epoch),
            beta_2=0.98,
            epsilon=1e-9,
            clipnorm=1.0,
        ),
        loss=MaskedSparseCrossentropy(config.label_smoothing, data.PAD_ID),
    )


def train(config, source, run_dir, data_dir=None):
    """Learns the tokenizer and trains a translator into `run_dir`.

    An interrupted run resumes from its last epoch (the tokenizer of the
    first attempt is kept).

    Args:
        config: a `TranslationConfig`.
        source: `"multi30k"` or a TSV file of `source<TAB>target` lines.
        run_dir: the run directory.
        data_dir: the data directory for Multi30k.

    Returns:
        The run info dict (also written to `run.json`).
    """
    # Seeding clears TensorFlow's kernel caches, which own the tokenizer's
    # SentencePiece resource: it must come before the tokenizer exists.
    keras.utils.set_random_seed(config.seed)
    corpus = load_corpus(config, source, data_dir)
    os.makedirs(run_dir, exist_ok=True)
    tokenizer_path = os.path.join(run_dir, TOKENIZER_FILE)
    if not os.path.exists(tokenizer_path):
        sources, targets = corpus["train"]
        atomic_write_bytes(
            tokenizer_path,
            data.train_tokenizer(
                sources + targets, config.vocabulary_size, config.seed
            ),
        )
    tokenizer = data.load_tokenizer(tokenizer_path)
    save_config(config, os.path.join(run_dir, "config.json"))
    run_info = {
        "data": os.path.abspath(source) if os.path.isfile(source) else source,
        "backend": keras.backend.backend(),
        "pairs": {name: len(part[0]) for name, part in corpus.items()},
        # Test sentences that export checks the SavedModel against.
        "samples": list(corpus["test"][0][:4]),
    }
    atomic_write_json(os.path.join(run_dir, "run.json"), run_info)

    model = build_model(config, tokenizer.vocabulary_size())
    steps_per_epoch = math.ceil(len(corpus["train"][0]) / config.batch_size)
    compile_model(model, config, steps_per_epoch)
    datasets = {
        name: data.make_dataset(
            tokenizer, *corpus[name], config.max_length, config.batch_size,
            shuffle=name == "train", seed=config.seed,
        )
        for name in ("train", "val")
    }
    history, seconds = training.fit(
        model, datasets["train"], datasets["val"], run_dir,
        epochs=config.epochs, patience=config.patience,
        max_minutes=config.max_minutes, steps_per_epoch=steps_per_epoch,
    )
    run_info.update(train_seconds=seconds, epochs_run=len(history.epoch))
    atomic_write_json(os.path.join(run_dir, "run.json"), run_info)
    return run_info


def load_run(run_dir):
    """Reads a run's config, info, tokenizer and best model.

    Args:
        run_dir: the run directory.

    Returns:
        `(config, run_info, tokenizer, model)`.

    Raises:
        FileNotFoundError: `run_dir` is not a finished translation run.
    """
    config, run_info, model = runs.load_run(
        run_dir, TranslationConfig, "translate", extra_files=(TOKENIZER_FILE,)
    )
    tokenizer = data.load_tokenizer(os.path.join(run_dir, TOKENIZER_FILE))
    return config, run_info, tokenizer, model
