"""Speed of translation: in-graph decoding and training throughput.

Decoding (TensorFlow backend, one process): the trained run is exported as
a SavedModel once with greedy search and once with beam search, and each is
timed on the test sentences at batch 1 and 64, in sentences per second,
against a baseline in the same process that decodes the way the Keras
examples do: a Python loop that calls the Keras model once per generated
token on the whole prefix (no cache), with the same greedy or beam choice.

Training: target tokens per second of `model.fit` steps of the run's
Transformer on Multi30k batches, per backend, each in its own process.

Usage:

```
python benchmarks/translation.py --run runs/translation --data-dir DIR
python benchmarks/translation.py --run runs/translation --quick
```

The full run writes `benchmarks/results/translation.json` and `.md`
(`--out` picks another directory); `--quick` only prints its tables, unless
given `--out`.
"""

import argparse
import dataclasses
import json
import os
import tempfile
import time

import measure

from attention_suite.apps.common.cli.tables import markdown_table


def python_loop_decode(model, source, max_length, beam_size, length_penalty):
    """Decodes like the Keras examples: one full forward pass per token.

    Args:
        model: a translator.
        source: int NumPy `(B, S)`.
        max_length: the most ids to generate.
        beam_size: 1 for greedy.
        length_penalty: GNMT exponent for the final choice of the beam.

    Returns:
        int NumPy `(B, <= max_length)`.
    """
    import numpy as np
    from keras import ops

    from attention_suite.apps.common.data.tokenizers import (
        BOS_ID,
        EOS_ID,
        PAD_ID,
    )

    batch = source.shape[0]
    source = np.repeat(source, beam_size, axis=0)
    prefix = np.full((batch * beam_size, 1), BOS_ID, dtype="int32")
    scores = np.tile([0.0] + [-1e9] * (beam_size - 1), batch)
    ended = np.zeros(batch * beam_size, bool)
    lengths = np.zeros(batch * beam_size)
    for _ in range(max_length):
        logits = model({"source": source, "target_in": prefix}, training=False)
        logits = ops.convert_to_numpy(logits)[:, -1].astype("float64")
        top = logits.max(-1, keepdims=True)
        log_probs = (
            logits - top - np.log(np.exp(logits - top).sum(-1, keepdims=True))
        )
        log_probs[ended] = -1e9
        log_probs[ended, PAD_ID] = 0.0
        candidates = (scores[:, None] + log_probs).reshape(batch, -1)
        best = np.argsort(-candidates, axis=1, kind="stable")[:, :beam_size]
        vocabulary = log_probs.shape[1]
        rows = (
            np.arange(batch)[:, None] * beam_size + best // vocabulary
        ).ravel()
        tokens = (best % vocabulary).ravel()
        scores = np.take_along_axis(candidates, best, axis=1).ravel()
        prefix = np.concatenate([prefix[rows], tokens[:, None]], axis=1)
        ended, lengths = ended[rows], lengths[rows] + ~ended[rows]
        ended = ended | (tokens == EOS_ID)
        if ended.all():
            break
    normalized = (scores / ((5 + lengths) / 6) ** length_penalty).reshape(
        batch, -1
    )
    chosen = np.arange(batch) * beam_size + normalized.argmax(axis=1)
    return prefix[chosen, 1:]


def decoding_rows(run_dir, batch_sizes, beams, limit, data_dir):
    """Sentences per second of the SavedModel and of the Python loop.

    Args:
        run_dir: a trained translation run.
        batch_sizes: e.g. `(1, 64)`.
        beams: e.g. `(1, 4)`.
        limit: sentences per batch size (the first ones of the test split).
        data_dir: the data directory of the run's dataset.

    Returns:
        A list of row dicts.
    """
    import tensorflow as tf
    import tensorflow_text  # noqa: F401  (the SavedModel's SentencePiece ops)

    from attention_suite.apps.common.serving.verify import generator_archive
    from attention_suite.apps.translation import infer, training
    from attention_suite.apps.translation.signature import SIGNATURES

    loaded = training.load_run(run_dir)
    config, run_info = loaded.config, loaded.info
    tokenizer, model = loaded.tokenizer, loaded.model
    corpus = training.load_run_corpus(config, run_info["data"], data_dir)
    texts = corpus["test"][0]
    translator = infer.Translator(model, tokenizer, config)
    rows = []
    for beam in beams:
        beam_config = dataclasses.replace(config, beam_size=beam)
        with tempfile.TemporaryDirectory() as tmp:
            beam_translator = infer.Translator(model, tokenizer, beam_config)
            generator_archive(beam_translator, SIGNATURES).write_out(
                tmp, verbose=False
            )
            served = tf.saved_model.load(tmp).signatures["serving_default"]
            for batch_size in batch_sizes:
                count = min(limit[batch_size], len(texts))
                batches = [
                    texts[i : i + batch_size]
                    for i in range(0, count, batch_size)
                ]
                served(text=tf.constant(batches[0]))  # warm-up
                graph = count / measure.seconds_of(
                    lambda b: served(text=tf.constant(b)), batches
                )
                encoded = [translator.encode(b) for b in batches]
                python_loop_decode(
                    model, encoded[0], 4, beam, config.length_penalty
                )
                loop = count / measure.seconds_of(
                    lambda source: python_loop_decode(
                        model,
                        source,
                        config.max_length,
                        beam,
                        config.length_penalty,
                    ),
                    encoded,
                )
                rows.append(
                    {
                        "beam": beam,
                        "batch": batch_size,
                        "sentences": count,
                        "saved_model_per_s": graph,
                        "python_loop_per_s": loop,
                        "speedup": graph / loop,
                    }
                )
    return rows


def training_rate(run_dir, steps, data_dir):
    """Target tokens per second of `fit` on the current backend.

    Args:
        run_dir: a trained translation run (its config and tokenizer).
        steps: timed training steps, after a warm-up epoch of 5 steps.
        data_dir: the data directory of the run's dataset.

    Returns:
        A dict with the backend, tokens per second and steps.
    """
    import keras
    import numpy as np

    from attention_suite.apps.common.data import text
    from attention_suite.apps.common.data.tokenizers import PAD_ID
    from attention_suite.apps.common.generation.runs import compile_seq2seq
    from attention_suite.apps.translation import training
    from attention_suite.apps.translation.model import build_model

    # Before the tokenizer exists: seeding clears TensorFlow's kernel caches,
    # which hold its SentencePiece resource.
    keras.utils.set_random_seed(0)
    loaded = training.load_run(run_dir)
    config = loaded.config
    run_info = loaded.info
    tokenizer = loaded.tokenizer
    corpus = training.load_run_corpus(config, run_info["data"], data_dir)
    dataset = text.seq2seq_dataset(
        tokenizer,
        *corpus["train"],
        config.max_length,
        config.max_length,
        config.batch_size,
        shuffle=True,
    )
    batches = [
        (
            {k: np.asarray(v) for k, v in inputs.items()},
            np.asarray(targets),
        )
        for inputs, targets in dataset.take(steps + 5)
    ]
    model = build_model(config, tokenizer.vocabulary_size())
    compile_seq2seq(model, config, steps_per_epoch=1000)
    for inputs, targets in batches[:5]:
        model.train_on_batch(inputs, targets)
    tokens = sum(int((t != PAD_ID).sum()) for _, t in batches[5:])
    seconds = measure.seconds_of(
        lambda batch: model.train_on_batch(*batch), batches[5:]
    )
    return {
        "backend": keras.backend.backend(),
        "target_tokens_per_s": tokens / seconds,
        "steps": steps,
        "batch": config.batch_size,
    }


def markdown(results):
    """The results as Markdown tables.

    Args:
        results: the dict written to `translation.json`.

    Returns:
        A Markdown string.
    """
    machine = results["machine"]
    decoding = markdown_table(
        [
            "search",
            "batch",
            "sentences",
            "SavedModel /s",
            "Python loop /s",
            "speed-up",
        ],
        [
            [
                "greedy" if row["beam"] == 1 else f"beam {row['beam']}",
                row["batch"],
                row["sentences"],
                f"{row['saved_model_per_s']:.1f}",
                f"{row['python_loop_per_s']:.2f}",
                f"{row['speedup']:.1f}x",
            ]
            for row in results["decoding"]
        ],
    )
    training = markdown_table(
        ["backend", "target tokens/s"],
        [
            [row["backend"], f"{row['target_tokens_per_s']:.0f}"]
            for row in results["training"]
        ],
    )
    return (
        f"Run `{results['run']}` ({results['model']}); {machine['cpu']}, "
        f"{machine['cores']} cores.\n\n"
        "Decoding test2016 sentences, sentences per second: the SavedModel "
        "(tokenizer, cached decoder and search in one graph) against a "
        "Python loop that calls the Keras model on the whole prefix once per "
        "token (TensorFlow backend).\n\n"
        f"{decoding}\n"
        "Training, target tokens per second (`train_on_batch`, batch "
        f"{results['training'][0]['batch']} sentence pairs) per backend:\n\n"
        f"{training}"
    )


def measure_in_child(args):
    """The measurement of a child process: `--measure` on this backend.

    Args:
        args: the parsed arguments.

    Returns:
        The training rate (a dict) or the decoding rows (a list).
    """
    if args.measure == "training":
        return training_rate(args.run, args.steps, args.data_dir)
    limit = {1: args.batch1_sentences, 64: args.batch64_sentences}
    return decoding_rows(args.run, (1, 64), (1, 4), limit, args.data_dir)


def spawn(args, measurement, backend):
    """Runs one measurement in a fresh process on the given backend.

    Args:
        args: the parsed arguments, passed on to the child.
        measurement: `"decoding"` or `"training"`.
        backend: `"tensorflow"`, `"jax"` or `"torch"`.

    Returns:
        The child's result.

    Raises:
        RuntimeError: the child failed.
    """
    arguments = [
        "--run",
        args.run,
        "--measure",
        measurement,
        "--steps",
        str(args.steps),
        "--batch1-sentences",
        str(args.batch1_sentences),
        "--batch64-sentences",
        str(args.batch64_sentences),
    ] + (["--data-dir", args.data_dir] if args.data_dir else [])
    result = measure.run_child(__file__, backend, arguments, quiet=True)
    if isinstance(result, dict) and "error" in result:
        raise RuntimeError(
            f"{measurement} on {backend} failed: {result['error']}"
        )
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--run", required=True, help="a trained translation run"
    )
    parser.add_argument("--data-dir", help="default: $ATTN_DATA_DIR")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--batch1-sentences", type=int, default=20)
    parser.add_argument("--batch64-sentences", type=int, default=128)
    measure.add_arguments(parser, "a few sentences and steps")
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.json_out:
        measure.write_child_result(
            args.json_out, lambda: measure_in_child(args)
        )
        return
    if args.quick:
        args.steps, args.batch1_sentences, args.batch64_sentences = 3, 4, 64
    start = time.perf_counter()
    with open(os.path.join(args.run, "config.json")) as f:
        model_name = json.load(f)["model"]
    results = {
        "run": os.path.basename(os.path.normpath(args.run)),
        "model": model_name,
        "machine": measure.machine_info(),
        "decoding": spawn(args, "decoding", "tensorflow"),
        "training": [
            spawn(args, "training", backend) for backend in args.backends
        ],
    }
    results["total_seconds"] = time.perf_counter() - start
    table = markdown(results)
    print(table)
    out = measure.results_dir(args)
    if out:
        measure.write_results(out, "translation", results, table)


if __name__ == "__main__":
    main()
