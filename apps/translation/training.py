"""Training of a translation run.

A run directory holds `config.json`, `run.json` (data source, corpus sizes,
backend, wall time), `tokenizer.model` (the SentencePiece model), the best
`model.keras`, `history.csv`, and after `evaluate`, `metrics.json`,
`metrics.md` and the test hypotheses.

The tokenizer is one SentencePiece model learned on the training sources
and targets together: a joint vocabulary, so the embeddings can be shared.
"""

import keras

from attention_suite.apps.common.generation.runs import (
    read_generator_run,
    train_generator,
)
from attention_suite.apps.translation import data
from attention_suite.apps.translation.config import TranslationConfig
from attention_suite.apps.translation.model import build_model


def load_run_corpus(config, source, data_dir=None):
    """The corpus of a run, with `config.train_limit` applied.

    Args:
        config: the run's `TranslationConfig`.
        source: `"multi30k"` or a TSV file.
        data_dir: the data directory for Multi30k.

    Returns:
        The corpus dict (see `attention_suite.apps.translation.data`).
    """
    corpus = data.load_corpus(source, data_dir, config.source, config.target)
    if config.train_limit:
        sources, targets = corpus["train"]
        limit = config.train_limit
        corpus["train"] = (sources[:limit], targets[:limit])
    return corpus


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
    config.resolve_languages(source)
    corpus = load_run_corpus(config, source, data_dir)
    sources, targets = corpus["train"]
    return train_generator(
        config,
        source,
        run_dir,
        sources + targets,
        corpus,
        {
            "pairs": {name: len(part[0]) for name, part in corpus.items()},
            # Test sentences that export checks the SavedModel against.
            "samples": list(corpus["test"][0][:4]),
        },
        build_model,
        (config.max_length, config.max_length),
    )


def load_run(run_dir):
    """The `LoadedRun` of a translation run (config, info, tokenizer,
    model).

    Raises:
        FileNotFoundError: `run_dir` is not a finished translation run.
    """
    return read_generator_run(run_dir, TranslationConfig, "translate")
