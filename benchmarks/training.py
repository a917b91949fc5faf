"""Training throughput of every app's published model on every backend.

Each app's model is built from its published config (`FIGURES` of
`reproduce.py`), compiled as the app's `train` compiles it and trained with
`model.fit` for a few steps on synthetic batches of the config's full
shapes: random ids with no padding for the text apps (so every backend does
the same work whatever the data's lengths), random readings for traffic.
The measured rate is in the units the app trains on (target tokens, QA
windows, traffic windows) per second, after warm-up steps that compile.

Every backend runs in its own process with the same seed. The torch process
also counts the step's FLOPs (`torch.utils.flop_counter`, every matmul,
convolution and attention of the forward and backward pass, loops
included), so each rate comes with the fraction of the matmul roof (a
square matmul in the policy's compute dtype, timed in the same process)
that the step reaches.

Usage:

```
python benchmarks/fit.py
python benchmarks/fit.py --apps translation,traffic --backends jax,torch
python benchmarks/fit.py --dtype-policy mixed_bfloat16 --out DIR
python benchmarks/fit.py --backends tensorflow --jit-compile on --out DIR
python benchmarks/fit.py --quick
```

`--jit-compile on|off` overrides each app's choice of a compiled step (by
default XLA on JAX only, as Keras chooses on a CPU; on means XLA on
TensorFlow and JAX, `torch.compile` on torch), to tell the engine's share
of a gap between backends from the model's.

The full run writes `benchmarks/results/fit.json` and `.md` (`--out`
picks another directory); `--quick` runs tiny models for a few steps and
only prints its table, unless given `--out`.
"""

import argparse
import dataclasses
import importlib
import json
import time
from pathlib import Path

import measure
import numpy as np
from reproduce import FIGURES

from attention_suite.apps.common.cli.tables import markdown_table

REPO = Path(__file__).resolve().parents[1]
# App -> its published figure (`reproduce.FIGURES`), its config class and
# the unit its rate counts.
APPS = {
    "translation": (
        "translation-transformer",
        "TranslationConfig",
        "target tokens",
    ),
    "summarization": (
        "summarization-aeslc",
        "SummarizationConfig",
        "target tokens",
    ),
    "qa": ("qa-bidaf", "QAConfig", "windows"),
    "traffic": ("traffic-los-loop", "TrafficConfig", "windows"),
}
# Los-loop's sensor count: the traffic model's width.
TRAFFIC_SENSORS = 207
# Settings `--quick` overrides, per app (tiny models, short sequences).
QUICK_SETTINGS = {
    "translation": {
        "embedding_dim": 16,
        "intermediate_dim": 32,
        "num_layers": 1,
        "max_length": 8,
        "batch_size": 4,
    },
    "summarization": {
        "embedding_dim": 8,
        "units": 8,
        "attention_units": 8,
        "max_source_length": 12,
        "max_summary_length": 6,
        "batch_size": 4,
    },
    "qa": {
        "embedding_dim": 8,
        "units": 8,
        "window": 16,
        "stride": 8,
        "max_question_length": 4,
        "batch_size": 4,
    },
    "traffic": {"input_dim": 4, "feedforward_dim": 8, "batch_size": 4},
}
FULL_STEPS = {"warmup": 5, "steps": 30, "roof_size": None}
QUICK_STEPS = {"warmup": 2, "steps": 3, "roof_size": 256}


def load_config(app, overrides):
    """The app's published config with some settings replaced.

    Args:
        app: a key of `APPS`.
        overrides: dict of settings to replace.

    Returns:
        The app's config dataclass; QA reads learned (random) embeddings,
        so no pretrained preset is needed.
    """
    from attention_suite.apps.common.training.config import load_config as load

    figure, class_name, _ = APPS[app]
    module = importlib.import_module(f"attention_suite.apps.{app}.config")
    config = load(getattr(module, class_name), REPO / FIGURES[figure][1])
    if app == "qa":
        overrides = {"embeddings": "learned", **overrides}
    return dataclasses.replace(config, **overrides)


def seq2seq_case(app, config, rng, batches):
    """A compiled text-generation model and teacher-forcing batches.

    Args:
        app: `"translation"` or `"summarization"`.
        config: its config.
        rng: a NumPy generator.
        batches: how many batches to make.

    Returns:
        `(model, batches, units per batch)`.
    """
    from attention_suite.apps.common.generation.runs import compile_seq2seq

    if app == "translation":
        from attention_suite.apps.translation.model import build_model

        source_length = target_length = config.max_length
    else:
        from attention_suite.apps.summarization.model import build_model

        source_length = config.max_source_length
        target_length = config.max_summary_length
    vocabulary = config.vocabulary_size
    model = build_model(config, vocabulary)
    compile_seq2seq(model, config, steps_per_epoch=1000)
    shape = (config.batch_size,)
    # Ids 0-3 are padding and the special tokens.
    data = [
        (
            {
                "source": rng.integers(4, vocabulary, (*shape, source_length)),
                "target_in": rng.integers(
                    4, vocabulary, (*shape, target_length)
                ),
            },
            rng.integers(4, vocabulary, (*shape, target_length)),
        )
        for _ in range(batches)
    ]
    return model, data, config.batch_size * target_length


def qa_case(config, rng, batches):
    """A compiled BiDAF-style reader and span-labelled windows.

    Args:
        config: its `QAConfig`.
        rng: a NumPy generator.
        batches: how many batches to make.

    Returns:
        `(model, batches, windows per batch)`.
    """
    import keras

    from attention_suite.apps.qa.model import SpanLoss, build_model

    vocabulary = config.vocabulary_size
    model = build_model(config, vocabulary, pad_id=0)
    model.compile(
        optimizer=keras.optimizers.Adam(config.learning_rate, clipnorm=1.0),
        loss=SpanLoss(),
    )
    size = config.batch_size
    data = []
    for _ in range(batches):
        starts = rng.integers(0, config.window - 1, size)
        # One answer occurrence per window: `(B, 1, 2)` start and end.
        spans = np.stack([starts, starts + 1], axis=1)[:, None]
        inputs = {
            "context_ids": rng.integers(1, vocabulary, (size, config.window)),
            "question_ids": rng.integers(
                1, vocabulary, (size, config.max_question_length)
            ),
        }
        data.append((inputs, spans))
    return model, data, size


def traffic_case(config, rng, batches):
    """A compiled traffic forecaster and windows of random readings.

    Args:
        config: its `TrafficConfig`.
        rng: a NumPy generator.
        batches: how many batches to make.

    Returns:
        `(model, batches, windows per batch)`.
    """
    from attention_suite.apps.traffic.model import build_model
    from attention_suite.apps.traffic.training import compile_model

    nodes = TRAFFIC_SENSORS
    # A road-like graph: each sensor linked to its neighbours in a chain.
    adjacency = np.eye(nodes, k=1) + np.eye(nodes, k=-1)
    model = build_model(config, nodes, 50.0, 10.0, adjacency=adjacency)
    compile_model(model, config)
    size = config.batch_size
    data = [
        (
            {
                "history": rng.uniform(
                    20, 70, (size, config.input_steps, nodes)
                ).astype("float32"),
                "time_of_day": rng.uniform(
                    0, 1, (size, config.input_steps)
                ).astype("float32"),
                "day_of_week": rng.integers(
                    0, 7, (size, config.input_steps)
                ).astype("int32"),
            },
            rng.uniform(20, 70, (size, config.output_steps, nodes)).astype(
                "float32"
            ),
        )
        for _ in range(batches)
    ]
    return model, data, size


def build_case(app, config, batches):
    """The app's compiled model and synthetic batches, seeded.

    Args:
        app: a key of `APPS`.
        config: the app's config.
        batches: how many batches to make.

    Returns:
        `(model, batches, units per batch)`.
    """
    import keras

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    if app == "qa":
        return qa_case(config, rng, batches)
    if app == "traffic":
        return traffic_case(config, rng, batches)
    return seq2seq_case(app, config, rng, batches)


def stacked(batches):
    """The batches as one `(inputs, targets)` pair of stacked arrays."""
    inputs = {
        key: np.concatenate([batch[0][key] for batch in batches])
        for key in batches[0][0]
    }
    return inputs, np.concatenate([batch[1] for batch in batches])


def step_flops(model, batch):
    """FLOPs of one torch training step (forward and backward).

    Args:
        model: a compiled model on the torch backend.
        batch: one `(inputs, targets)` batch.

    Returns:
        The count of `torch.utils.flop_counter.FlopCounterMode`.
    """
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter:
        model.train_on_batch(*batch)
    return counter.get_total_flops()


def training_rate(app, overrides, steps, jit_compile="auto"):
    """Units per second of `model.fit` of one app on the current backend.

    Args:
        app: a key of `APPS`.
        overrides: settings replacing the published config's.
        steps: dict with `warmup`, `steps` and `roof_size`.
        jit_compile: `"on"` or `"off"` to override the app's choice of a
            compiled step (XLA, or `torch.compile` on torch);
            `"auto"` keeps it.

    Returns:
        A JSON-serializable dict.
    """
    import keras

    config = load_config(app, overrides)
    model, batches, units = build_case(
        app, config, steps["warmup"] + steps["steps"] + 1
    )
    if jit_compile != "auto":
        model.jit_compile = jit_compile == "on"
    size = config.batch_size
    fit_options = {"batch_size": size, "shuffle": False, "verbose": 0}
    model.fit(*stacked(batches[: steps["warmup"]]), **fit_options)
    timed = stacked(batches[steps["warmup"] : -1])
    measure.synchronize()
    start = time.perf_counter()
    model.fit(*timed, **fit_options)
    measure.synchronize()
    seconds = time.perf_counter() - start
    result = {
        "backend": keras.backend.backend(),
        "units_per_s": units * steps["steps"] / seconds,
        "step_s": seconds / steps["steps"],
        "batch": size,
        "jit_compile": bool(model.jit_compile),
        "parameters": int(model.count_params()),
        "roof_gflops": measure.roof_gflops(
            steps["roof_size"], keras.config.dtype_policy().compute_dtype
        ),
    }
    if result["backend"] == "torch":
        result["flops_per_step"] = step_flops(model, batches[-1])
    return result


def app_rows(app, backends, overrides, steps, dtype_policy, jit_compile):
    """One app's rates on each backend, each in its own process.

    Args:
        app: a key of `APPS`.
        backends: the backends to run.
        overrides: settings replacing the published config's.
        steps: see `training_rate`.
        dtype_policy: the Keras dtype policy of the children.
        jit_compile: see `training_rate`.

    Returns:
        One dict per backend; the torch run's FLOP count and each rate's
        fraction of its process' matmul roof added, and each rate's
        slowdown against the fastest backend.
    """
    rows = []
    for backend in backends:
        result = measure.run_child(
            __file__,
            backend,
            [
                "--app",
                app,
                "--settings",
                json.dumps(overrides),
                "--steps-json",
                json.dumps(steps),
                "--dtype-policy",
                dtype_policy,
                "--jit-compile",
                jit_compile,
            ],
        )
        rows.append({"app": app, "backend": backend, **result})
        print(f"{app} on {backend}: {result}", flush=True)
    flops = next(
        (r["flops_per_step"] for r in rows if "flops_per_step" in r), None
    )
    rates = [r["units_per_s"] for r in rows if "units_per_s" in r]
    for row in rows:
        if "units_per_s" not in row:
            continue
        row["slowdown_vs_fastest"] = max(rates) / row["units_per_s"]
        if flops:
            row["gflops"] = flops / row["step_s"] / 1e9
            row["roof_fraction"] = row["gflops"] / row["roof_gflops"]
    return rows


# The table's "compiled" column: the step under XLA (TensorFlow, JAX) or
# `torch.compile` (rows measured before it was recorded show "-").
_COMPILED_CELLS = {True: "yes", False: "no", None: "-"}


def markdown(results):
    """The results as a Markdown table.

    Args:
        results: the dict written to `fit.json`.

    Returns:
        A Markdown string.
    """
    machine = results["machine"]
    device = measure.device_name(machine)
    rows = []
    for row in results["rows"]:
        if "units_per_s" not in row:
            rows.append(
                [
                    row["app"],
                    row["backend"],
                    "-",
                    "failed: " + row["error"][:60],
                ]
                + ["-"] * 5
            )
            continue
        rows.append(
            [
                row["app"],
                row["backend"],
                _COMPILED_CELLS[row.get("jit_compile")],
                f"{row['units_per_s']:.0f} {APPS[row['app']][2]}/s",
                f"{row['step_s'] * 1000:.1f}",
                f"{row['slowdown_vs_fastest']:.2f}x",
                measure.fmt(row.get("gflops"), ".1f"),
                measure.fmt(row.get("roof_gflops"), ".0f"),
                measure.fmt(
                    row.get("roof_fraction") and 100 * row["roof_fraction"],
                    ".1f",
                ),
            ]
        )
    return (
        f"Training throughput, `model.fit` on synthetic full-length batches "
        f"of each app's published config, {results['dtype_policy']}; "
        f"{device}; {results['steps']['steps']} timed steps after "
        f"{results['steps']['warmup']} warm-up steps, one process per "
        "backend; compiled: the step under XLA, or `torch.compile` on torch. "
        "GFLOP/s counts the torch step's FLOPs; roof: a square matmul in "
        "the same process.\n\n"
        + markdown_table(
            [
                "app",
                "backend",
                "compiled",
                "rate",
                "ms/step",
                "vs fastest",
                "GFLOP/s",
                "roof GFLOP/s",
                "% of roof",
            ],
            rows,
        )
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--apps",
        type=lambda names: names.split(","),
        default=list(APPS),
        help="comma-separated apps (default: all four)",
    )
    parser.add_argument(
        "--dtype-policy",
        default="float32",
        help="Keras dtype policy, e.g. mixed_bfloat16",
    )
    parser.add_argument(
        "--jit-compile",
        choices=("auto", "on", "off"),
        default="auto",
        help="a compiled step (XLA; torch.compile on torch) for every app "
        "(on), for none (off), or as each app's "
        "train chooses (auto, the default)",
    )
    measure.add_arguments(parser, "tiny models and a few steps")
    parser.add_argument("--app", help=argparse.SUPPRESS)
    parser.add_argument("--settings", help=argparse.SUPPRESS)
    parser.add_argument("--steps-json", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.json_out:
        import keras

        keras.config.set_dtype_policy(args.dtype_policy)
        measure.write_child_result(
            args.json_out,
            lambda: training_rate(
                args.app,
                json.loads(args.settings),
                json.loads(args.steps_json),
                args.jit_compile,
            ),
        )
        return
    unknown = sorted(set(args.apps) - set(APPS))
    if unknown:
        parser.error(f"unknown apps {unknown}; expected some of {list(APPS)}")
    steps = QUICK_STEPS if args.quick else FULL_STEPS
    start = time.perf_counter()
    results = {
        "machine": measure.machine_info(),
        "dtype_policy": args.dtype_policy,
        "jit_compile": args.jit_compile,
        "steps": steps,
        "configs": {app: FIGURES[APPS[app][0]][1] for app in args.apps},
        "rows": [],
    }
    for app in args.apps:
        overrides = QUICK_SETTINGS[app] if args.quick else {}
        results["rows"] += app_rows(
            app,
            args.backends,
            overrides,
            steps,
            args.dtype_policy,
            args.jit_compile,
        )
    results["total_seconds"] = time.perf_counter() - start
    table = markdown(results)
    print(table)
    out = measure.results_dir(args)
    if out:
        measure.write_results(out, "training", results, table)


if __name__ == "__main__":
    main()
