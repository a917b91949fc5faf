"""Training of a summarization run.

A run directory holds `config.json`, `run.json` (data source, corpus sizes,
backend, wall time), `tokenizer.model` (the SentencePiece model), the best
`model.keras`, `history.csv`, and after `evaluate`, `metrics.json`,
`metrics.md` and the test summaries.
"""

import keras

from attention_suite.apps.common.generation.runs import (
    read_generator_run,
    train_generator,
)
from attention_suite.apps.summarization import data
from attention_suite.apps.summarization.config import SummarizationConfig
from attention_suite.apps.summarization.model import build_model


def load_run_corpus(config, source, data_dir=None):
    """The corpus of a run, with `config.train_limit` applied.

    Args:
        config: the run's `SummarizationConfig`.
        source: `"aeslc"`, `"bbc"` or a JSONL/CSV file.
        data_dir: the data directory holding `summarization/`.

    Returns:
        `(corpus, report)`, as `attention_suite.apps.summarization.data.
        load_corpus`.
    """
    corpus, report = data.load_corpus(source, data_dir)
    if config.train_limit:
        corpus["train"] = corpus["train"][: config.train_limit]
    return corpus, report


def text_pairs(examples):
    """`(documents, summaries)` of a list of `Example`s.

    Args:
        examples: `Example`s.

    Returns:
        Two aligned lists of strings.
    """
    return [e.text for e in examples], [e.summary for e in examples]


def tokenizer_texts(examples):
    """The lines the tokenizer learns from: every document and summary line.

    SentencePiece skips training sentences over 4 kB, so documents go in
    line by line.

    Args:
        examples: training `Example`s.

    Returns:
        A list of non-empty lines.
    """
    lines = []
    for example in examples:
        lines.extend(line for line in example.text.splitlines() if line.strip())
        lines.append(example.summary)
    return lines


def train(config, source, run_dir, data_dir=None):
    """Learns the tokenizer and trains a summarizer into `run_dir`.

    An interrupted run resumes from its last epoch (the tokenizer of the
    first attempt is kept).

    Args:
        config: a `SummarizationConfig`.
        source: `"aeslc"`, `"bbc"` or a JSONL/CSV file of `text`/`summary`.
        run_dir: the run directory.
        data_dir: the data directory for the named datasets.

    Returns:
        The run info dict (also written to `run.json`).
    """
    # Seeding clears TensorFlow's kernel caches, which own the tokenizer's
    # SentencePiece resource: it must come before the tokenizer exists.
    keras.utils.set_random_seed(config.seed)
    corpus, report = load_run_corpus(config, source, data_dir)
    return train_generator(
        config,
        source,
        run_dir,
        tokenizer_texts(corpus["train"]),
        {name: text_pairs(corpus[name]) for name in ("train", "val")},
        {
            "examples": {name: len(part) for name, part in corpus.items()},
            "data_report": dict(report),
            # Test documents that export checks the SavedModel against.
            "samples": [e.text for e in corpus["test"][:4]],
        },
        build_model,
        (config.max_source_length, config.max_summary_length),
    )


def load_run(run_dir):
    """The `LoadedRun` of a summarization run (config, info, tokenizer,
    model).

    Raises:
        FileNotFoundError: `run_dir` is not a finished summarization run.
    """
    return read_generator_run(run_dir, SummarizationConfig, "summarize")
