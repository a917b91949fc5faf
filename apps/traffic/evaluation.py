"""Scoring a traffic run and its baselines on a held-out part, two ways.

`protocol="default"` (DCRNN's): the run's own test split (or, with
`split="val"`, its validation split, for choices made before testing),
missing targets
left out, MAE / RMSE / MAPE at each of the run's `horizons` (the single
step that far ahead) and averaged over the output steps; the baselines are
the GRU (when the run trained one), the last value and the historical
average by time of day. Written to `metrics.json` / `metrics.md`
(`metrics_val.*` for the validation split).

`protocol="tgcn"` (the T-GCN papers' code): the test part is the last 20 %
of the series from `int(0.8 * n)`, windows are cut per horizon with
`range(len - input_steps - steps)`, each horizon pools every step up to
it, nothing is masked, and RMSE / MAE come with the papers' accuracy, R²
and explained variance; their HA is the input mean iterated forward.
Written to `metrics_tgcn.json` / `metrics_tgcn.md`.
"""

import os

import keras
import numpy as np

from attention_suite.apps.common.cli.tables import markdown_table
from attention_suite.apps.common.training import runs
from attention_suite.apps.traffic import baselines, data, metrics, training

PROTOCOLS = ("default", "tgcn")
# The T-GCN code trains on the first 80 % of the series and tests on the
# rest.
TGCN_TRAIN_RATE = 0.8


def report_name(protocol="default", split="test"):
    """The file name (no extension) of a report.

    Args:
        protocol: `"default"` or `"tgcn"`.
        split: `"val"` or `"test"`.

    Returns:
        `"metrics"`, `"metrics_val"` or `"metrics_tgcn"`.
    """
    if protocol == "tgcn":
        return "metrics_tgcn"
    return "metrics" if split == "test" else f"metrics_{split}"


def evaluate(run_dir, protocol="default", split="test"):
    """Scores the run and its baselines on a held-out part.

    Writes the report as `<report_name(protocol, split)>.json` and `.md`
    into the run.

    Args:
        run_dir: a trained run.
        protocol: `"default"` or `"tgcn"` (see the module docstring).
        split: the part of the run's split to score, `"test"` or `"val"`
            (the default protocol only).

    Returns:
        A dict `{method: {horizon: errors}}`.

    Raises:
        ValueError: an unknown protocol, the T-GCN protocol with another
            split than `"test"`, or (T-GCN) a run whose training or
            validation part reaches into the T-GCN test part.
    """
    if protocol not in PROTOCOLS:
        raise ValueError(
            f"Unknown protocol {protocol!r}; expected one of {list(PROTOCOLS)}."
        )
    if protocol == "tgcn" and split != "test":
        raise ValueError(
            "The T-GCN protocol scores the last 20 % of the series only; "
            "score the validation split with the default protocol."
        )
    loaded = training.load_run(run_dir)
    config = loaded.config
    run_info = loaded.info
    model = loaded.model
    models = {config.model: model}
    gru_path = os.path.join(run_dir, "gru_baseline", "model.keras")
    if os.path.exists(gru_path):
        models["gru"] = keras.saving.load_model(gru_path, compile=False)
    if protocol == "default":
        report = _default(config, run_info, models, split)
    else:
        report = _tgcn(config, run_info, models)
    return runs.write_report(
        run_dir, report, format_report(report), report_name(protocol, split)
    )


def _forecast(models, windows):
    """Each model's forecasts of some windows."""
    inputs = data.model_inputs(windows)
    return {
        name: model.predict(inputs, batch_size=64, verbose=0)
        for name, model in models.items()
    }


def _default(config, run_info, models, split):
    """The default protocol's report on a split (see the module docstring)."""
    parts, _ = training.load_split(run_info, config)
    test = data.make_windows(
        parts[split], config.input_steps, config.output_steps, config.missing
    )
    predictions = _forecast(models, test)
    predictions["last_value"] = baselines.last_value(
        test["history"], config.output_steps
    )
    predictions["historical_average"] = baselines.HistoricalAverage(
        parts["train"], training.steps_per_day(run_info), config.missing
    ).predict(test["target_time"])
    steps = config.horizon_steps(run_info["step_minutes"])
    return {
        name: metrics.horizon_report(
            prediction,
            test["target"],
            steps,
            run_info["step_minutes"],
            config.missing,
        )
        for name, prediction in predictions.items()
    }


def _tgcn(config, run_info, models):
    """The T-GCN protocol's report (see the module docstring)."""
    series = training.read_series(run_info)
    start = data.cut(len(series), TGCN_TRAIN_RATE)
    known = data.cut(len(series), config.split[0] + config.split[1])
    if known > start:
        raise ValueError(
            f"The run trained and validated on the first {known} steps, "
            f"which reach into the T-GCN test part (from step {start}); "
            "train with split[0] + split[1] <= 0.8 to score it this way."
        )
    test = series.iloc[start:]
    steps = config.horizon_steps(run_info["step_minutes"])
    # The most windows, those of the shortest horizon; a longer horizon
    # takes the first `len - input_steps - h` of them, as the T-GCN code
    # cuts its windows per forecast length.
    count = len(test) - config.input_steps - steps[0]
    if count < 1:
        raise ValueError(
            f"The T-GCN test part has {len(test)} steps, too few for one "
            f"window of {config.input_steps} + {steps[0]} steps."
        )
    # Only NaN is missing here: the T-GCN protocol masks nothing.
    windows = data.make_windows(
        test.iloc[: count + config.input_steps + steps[0] - 1],
        config.input_steps,
        steps[0],
        missing="nan",
    )
    predictions = _forecast(models, windows)
    predictions["last_value"] = baselines.last_value(
        windows["history"], steps[-1]
    )
    predictions["historical_average"] = baselines.input_mean(
        windows["history"], steps[-1]
    )
    values = data.as_float_with_nan(test, missing="nan")
    targets = {}
    for h in steps:
        windows_h = len(test) - config.input_steps - h
        starts = np.arange(windows_h)[:, None] + config.input_steps
        targets[h] = values[starts + np.arange(h)]
    return {
        name: metrics.pooled_report(
            {h: prediction[: len(targets[h]), :h] for h in steps},
            targets,
            steps,
            run_info["step_minutes"],
        )
        for name, prediction in predictions.items()
    }


def format_report(report):
    """A Markdown table: one row per method, the errors at each horizon.

    Args:
        report: the dict returned by `evaluate`.

    Returns:
        The table as a string.
    """
    first = next(iter(report.values()))
    horizons = list(first)
    names = [n for n in first[horizons[0]] if n != "mape_skipped"]
    shown = {"mape": "MAPE%", "accuracy": "accuracy"}
    header = ["method"] + [
        f"{h} " + " / ".join(shown.get(n, n.upper()) for n in names)
        for h in horizons
    ]
    digits = {"mape": 1, "accuracy": 4, "r2": 4, "var": 4}
    rows = [
        [name]
        + [
            " / ".join(f"{errors[h][n]:.{digits.get(n, 2)}f}" for n in names)
            for h in horizons
        ]
        for name, errors in report.items()
    ]
    skipped = first[horizons[-1]].get("mape_skipped", 0)
    note = (
        f"MAPE leaves out {skipped} target(s) at or near zero (below "
        f"{metrics.MAPE_FLOOR:.0%} of the mean reading).\n"
        if skipped
        else ""
    )
    return markdown_table(header, rows) + note
