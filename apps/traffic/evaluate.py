"""Scoring a traffic run and its baselines on the test split.

Errors are masked MAE / RMSE / MAPE (`metrics.horizon_report`) at 15, 30
and 60 minutes and averaged over the output steps. The GRU baseline (when
the run trained one), the last value and the historical average score in
the same run so that every number has a reference.
"""

import os

import keras

from attention_suite.apps.common import runs
from attention_suite.apps.common.tables import markdown_table
from attention_suite.apps.traffic import baselines, data, metrics, train


def evaluate(run_dir):
    """Scores the run and its baselines on the test split.

    Writes `metrics.json` and `metrics.md` into the run.

    Args:
        run_dir: a trained run.

    Returns:
        A dict `{method: horizon report}`.
    """
    config, run_info, model = train.load_run(run_dir)
    parts, _ = train.load_split(run_info, config)
    test = data.make_windows(
        parts["test"], config.input_steps, config.output_steps
    )
    inputs = data.model_inputs(test)
    predictions = {
        config.model: model.predict(inputs, batch_size=64, verbose=0)
    }
    gru_path = os.path.join(run_dir, "gru_baseline", "model.keras")
    if os.path.exists(gru_path):
        predictions["gru"] = keras.saving.load_model(gru_path).predict(
            inputs, batch_size=64, verbose=0
        )
    predictions["last_value"] = baselines.last_value(
        test["history"], config.output_steps
    )
    predictions["historical_average"] = baselines.HistoricalAverage(
        parts["train"]
    ).predict(test["target_time"])
    report = {
        name: metrics.horizon_report(prediction, test["target"])
        for name, prediction in predictions.items()
    }
    runs.write_report(run_dir, report, format_report(report))
    return report


def format_report(report):
    """A Markdown table: one row per method, MAE / RMSE / MAPE per horizon.

    Args:
        report: the dict returned by `evaluate`.

    Returns:
        The table as a string.
    """
    horizons = list(next(iter(report.values())))
    header = ["method"] + [f"{h} MAE / RMSE / MAPE%" for h in horizons]
    rows = [
        [name]
        + [
            f"{errors[h]['mae']:.2f} / {errors[h]['rmse']:.2f} / "
            f"{errors[h]['mape']:.1f}"
            for h in horizons
        ]
        for name, errors in report.items()
    ]
    return markdown_table(header, rows)
