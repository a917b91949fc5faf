"""Training of a question-answering run.

A run directory holds `config.json`, `run.json` (data source, corpus sizes,
the reader's data report, backend, wall time), `vocabulary.txt` (the
WordPiece pieces), the best `model.keras`, `history.csv`, and after
`evaluate`, `metrics.json`, `metrics.md` and `predictions.jsonl`.

Training windows are those that hold an occurrence of the answer; each
occurrence of the answer text in the window is a correct span
(`model.SpanLoss`). Batches hold windows of similar length, cut to their
longest row (`dataset`).
"""

import os

import keras
import keras_hub
import numpy as np
import tensorflow as tf

from attention_suite.apps.common.data.atomic import atomic_write_json
from attention_suite.apps.common.training import fit, runs
from attention_suite.apps.common.training.config import save_config
from attention_suite.apps.qa import data, features
from attention_suite.apps.qa.config import QAConfig
from attention_suite.apps.qa.model import SpanLoss, build_model, default_preset

VOCABULARY_FILE = "vocabulary.txt"
# Occurrences of the answer kept per question (SpanLoss sums over them).
MAX_OCCURRENCES = 4
# Questions tokenized per call while building the training arrays.
_CHUNK = 512


def load_run_corpus(config, source, data_dir=None):
    """The corpus and reader reports of a run, with its limits applied.

    Args:
        config: the run's `QAConfig`.
        source: `"squad"` or a SQuAD-format JSON file.
        data_dir: the data directory holding `qa/squad_v1.1/`.

    Returns:
        `(corpus, reports)`, as `attention_suite.apps.qa.data.load_corpus`.
    """
    corpus, reports = data.load_corpus(source, data_dir)
    if config.train_limit:
        corpus["train"] = corpus["train"][: config.train_limit]
    if config.val_limit and len(corpus["val"]) > config.val_limit:
        # Evenly spaced, so every held-out article is represented.
        step = len(corpus["val"]) / config.val_limit
        corpus["val"] = [
            corpus["val"][int(k * step)] for k in range(config.val_limit)
        ]
    return corpus, reports


def answer_byte_spans(example):
    """Byte offsets of every occurrence of the example's answer texts.

    Args:
        example: an `attention_suite.apps.qa.data.Example`.

    Returns:
        `(starts, ends)`: int32 arrays of `MAX_OCCURRENCES`, -1 padded.
    """
    spans = []
    for text in dict.fromkeys(t for t, _ in example.answers):
        for start in data.occurrences(example.context, text):
            begin = len(example.context[:start].encode("utf-8"))
            spans.append((begin, begin + len(text.encode("utf-8"))))
    spans = sorted(set(spans))[:MAX_OCCURRENCES]
    out = np.full((2, MAX_OCCURRENCES), -1, np.int32)
    for k, (begin, end) in enumerate(spans):
        out[:, k] = begin, end
    return out[0], out[1]


def training_arrays(tokenizer, examples, config):
    """The model inputs and span labels of every window holding an answer.

    Args:
        tokenizer: the run's `QATokenizer`.
        examples: `Example`s.
        config: the run's `QAConfig`.

    Returns:
        `(inputs, labels)`: a dict of NumPy arrays `(N, L)` and the int32
        labels `(N, MAX_OCCURRENCES, 2)`.
    """
    names = features.INPUTS[config.layout]
    parts = {name: [] for name in names}
    labels = []
    for first in range(0, len(examples), _CHUNK):
        chunk = examples[first : first + _CHUNK]
        found = features.encode(
            tokenizer,
            features.repair_utf8(tf.constant([e.context for e in chunk])),
            features.repair_utf8(tf.constant([e.question for e in chunk])),
            config,
        )
        starts, ends = zip(*(answer_byte_spans(e) for e in chunk))
        spans = features.span_labels(found, np.stack(starts), np.stack(ends))
        keep = tf.reduce_any(spans[..., 0] >= 0, axis=-1)
        for name in names:
            parts[name].append(tf.boolean_mask(found[name], keep).numpy())
        labels.append(tf.boolean_mask(spans, keep).numpy())
    return (
        {name: np.concatenate(parts[name]) for name in names},
        np.concatenate(labels),
    )


def dataset(inputs, labels, config, pad_id, shuffle_seed=None, repeat=False):
    """A `tf.data` pipeline of `(inputs, labels)` batches of similar length.

    Packed windows are grouped by their used length rounded up to a
    multiple of `features.LENGTH_STEP` (`features.bucket_widths`), and each
    batch is cut to its group's width (`features.trim`): short windows (a
    context's last, short questions) cost less.

    Args:
        inputs: dict of NumPy arrays.
        labels: the aligned labels.
        config: the run's `QAConfig` (`layout`, `batch_size`).
        pad_id: the padding piece.
        shuffle_seed: shuffle each pass with this seed (`None`: in order).
        repeat: repeat the windows without end (batches then never fall
            short of `batch_size`).

    Returns:
        The `tf.data.Dataset`.
    """
    full = inputs[features.SEQUENCE_INPUTS[config.layout][0]].shape[1]
    widths = features.bucket_widths(
        features.row_lengths(inputs, config.layout, pad_id), full, config.layout
    )
    data_set = tf.data.Dataset.from_tensor_slices((inputs, labels, widths))
    if shuffle_seed is not None:
        data_set = data_set.shuffle(len(labels), seed=shuffle_seed)
    if repeat:
        data_set = data_set.repeat()
    data_set = data_set.group_by_window(
        key_func=lambda x, y, width: tf.cast(width, tf.int64),
        reduce_func=lambda key, group: group.batch(config.batch_size),
        window_size=config.batch_size,
    )
    data_set = data_set.map(
        lambda x, y, width: (
            features.trim(x, config.layout, tf.reduce_max(width)),
            y,
        )
    )
    if not repeat:
        # Grouping hides the number of batches; Keras wants it.
        _, sizes = np.unique(widths, return_counts=True)
        batches = int(np.sum(-(-sizes // config.batch_size)))
        data_set = data_set.apply(
            tf.data.experimental.assert_cardinality(batches)
        )
    return data_set.prefetch(tf.data.AUTOTUNE)


def load_run_tokenizer(config, corpus, run_dir):
    """The run's tokenizer: made once, then read back from the run.

    BiDAF with learned embeddings learns its pieces from the training
    contexts and questions; the encoder and pretrained embeddings use the
    preset's vocabulary.

    Args:
        config: the run's `QAConfig`.
        corpus: the corpus dict.
        run_dir: the run directory.

    Returns:
        A `QATokenizer`.
    """
    path = os.path.join(run_dir, VOCABULARY_FILE)
    if os.path.exists(path):
        return features.QATokenizer.load(path)
    if not config.uses_preset:
        texts = list(dict.fromkeys(e.context for e in corpus["train"]))
        texts += [e.question for e in corpus["train"]]
        vocabulary = features.learn_vocabulary(texts, config.vocabulary_size)
    else:
        vocabulary = keras_hub.models.Tokenizer.from_preset(
            config.preset or default_preset()
        ).get_vocabulary()
    tokenizer = features.QATokenizer(vocabulary)
    tokenizer.save(path)
    return tokenizer


def train(config, source, run_dir, data_dir=None):
    """Trains a reader into `run_dir`; an interrupted run resumes.

    Args:
        config: a `QAConfig`.
        source: `"squad"` or a SQuAD-format JSON file.
        run_dir: the run directory.
        data_dir: the data directory for the named dataset.

    Returns:
        The run info dict (also written to `run.json`).
    """
    keras.utils.set_random_seed(config.seed)
    corpus, reports = load_run_corpus(config, source, data_dir)
    os.makedirs(run_dir, exist_ok=True)
    tokenizer = load_run_tokenizer(config, corpus, run_dir)
    train_inputs, train_labels = training_arrays(
        tokenizer, corpus["train"], config
    )
    val_inputs, val_labels = training_arrays(tokenizer, corpus["val"], config)
    run_info = {
        "data": os.path.abspath(source) if os.path.isfile(source) else source,
        "backend": keras.backend.backend(),
        "examples": {name: len(part) for name, part in corpus.items()},
        "windows": {"train": len(train_labels), "val": len(val_labels)},
        "data_report": {name: dict(r) for name, r in reports.items()},
        # Questions that export checks the SavedModel against.
        "samples": [[e.context, e.question] for e in corpus["test"][:4]],
    }

    model = build_model(config, tokenizer.vocabulary_size(), tokenizer.pad_id)
    train_data = dataset(
        train_inputs,
        train_labels,
        config,
        tokenizer.pad_id,
        config.seed,
        repeat=bool(config.steps_per_epoch),
    )
    steps_per_epoch = config.steps_per_epoch or int(train_data.cardinality())
    fit.resolve_auto(config, steps_per_epoch, tokenizer)
    save_config(config, os.path.join(run_dir, "config.json"))
    atomic_write_json(os.path.join(run_dir, "run.json"), run_info)
    schedule = fit.warmup_cosine_schedule(
        config.learning_rate,
        config.warmup_steps,
        config.epochs * steps_per_epoch,
    )
    model.compile(
        optimizer=keras.optimizers.Adam(schedule, clipnorm=1.0), loss=SpanLoss()
    )
    epochs, seconds = fit.fit(
        model,
        train_data,
        dataset(val_inputs, val_labels, config, tokenizer.pad_id),
        run_dir,
        config.epochs,
        config.patience,
        config.max_minutes,
        steps_per_epoch=config.steps_per_epoch or None,
    )
    run_info.update(
        train_seconds=seconds,
        epochs_run=epochs,
        parameters=int(model.count_params()),
    )
    atomic_write_json(os.path.join(run_dir, "run.json"), run_info)
    return run_info


def load_run(run_dir):
    """`(config, run_info, tokenizer, model)` of a QA run.

    Raises:
        FileNotFoundError: `run_dir` is not a finished QA run.
    """
    return runs.read_text_run(
        run_dir, QAConfig, "qa", VOCABULARY_FILE, features.QATokenizer.load
    )
