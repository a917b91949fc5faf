"""Exporting a traffic run as a TF Serving SavedModel.

`serving_default` takes what a client has, raw numbers:

* `history`: float32 `[batch, input_steps, num_nodes]` speeds in reading
  units; NaN marks a missing reading, and so does 0 unless the run's
  `missing` setting is `"nan"`;
* `time_of_day`: float32 `[batch, input_steps]`, fraction of the day in
  `[0, 1)` of each history step;
* `day_of_week`: int32 `[batch, input_steps]`, Monday = 0;

and returns `forecast`: float32 `[batch, output_steps, num_nodes]` in reading
units. Normalization is inside the graph. Shapes are part of the signature,
and checked first in the graph: a request with the wrong number of steps or
sensors, or whose inputs disagree on the batch or the steps, is refused with
an `INVALID_ARGUMENT` naming the expected shapes
(`history must be float32 [batch, 12, 207] ...`).

Keras and TensorFlow are imported inside the exporter, which runs under the
TensorFlow backend.
"""

import numpy as np

from attention_suite.apps.common.serving.export import (
    ServingCheck,
    export_saved_model,
    tracking_archive,
)
from attention_suite.apps.traffic import data
from attention_suite.apps.traffic.training import load_run, load_split

# The largest difference allowed between a served and a Keras forecast, in
# reading units.
TOLERANCE = 1e-3
# What the signature refuses outside these ranges.
RANGES = (
    "day_of_week must be in 0..6 (Monday = 0) and time_of_day in [0, 1) "
    "(the fraction of the day)"
)


def serving_archive(model, config, num_nodes):
    """An `ExportArchive` whose `serving_default` runs the forecaster.

    Args:
        model: the trained Keras model (TensorFlow backend).
        config: the run's `TrafficConfig`.
        num_nodes: number of sensors.

    Returns:
        A `keras.export.ExportArchive`.
    """
    import tensorflow as tf

    steps = config.input_steps
    expected = (
        f"history must be float32 [batch, {steps}, {num_nodes}] (batch, "
        f"steps, sensors), time_of_day float32 and day_of_week int32 "
        f"[batch, {steps}]"
    )

    def serve(history, time_of_day, day_of_week):
        batch = tf.shape(history)[0]
        checks = [
            tf.debugging.assert_equal(
                tf.shape(history), [batch, steps, num_nodes], message=expected
            ),
            tf.debugging.assert_equal(
                tf.shape(time_of_day), [batch, steps], message=expected
            ),
            tf.debugging.assert_equal(
                tf.shape(day_of_week), [batch, steps], message=expected
            ),
        ]
        # Out-of-range times would index past the embedding tables.
        with tf.control_dependencies(checks):
            checks += [
                tf.debugging.assert_greater_equal(
                    day_of_week, 0, message=RANGES
                ),
                tf.debugging.assert_less_equal(day_of_week, 6, message=RANGES),
                tf.debugging.assert_greater_equal(
                    time_of_day, 0.0, message=RANGES
                ),
                tf.debugging.assert_less(time_of_day, 1.0, message=RANGES),
            ]
        with tf.control_dependencies(checks):
            history = tf.identity(history)
        forecast = model(
            {
                "history": history,
                "time_of_day": time_of_day,
                "day_of_week": day_of_week,
            },
            training=False,
        )
        return {"forecast": forecast}

    archive = tracking_archive(model)
    archive.add_endpoint(
        "serving_default",
        serve,
        input_signature=[
            tf.TensorSpec([None, steps, num_nodes], tf.float32, name="history"),
            tf.TensorSpec([None, steps], tf.float32, name="time_of_day"),
            tf.TensorSpec([None, steps], tf.int32, name="day_of_week"),
        ],
    )
    return archive


def sample_requests(config, run_info, count=2):
    """Serving requests cut from the start of the run's test split.

    Args:
        config: the run's `TrafficConfig`.
        run_info: the run's `run.json` dict.
        count: windows per request.

    Returns:
        A list with one request dict of NumPy arrays.
    """
    parts, _ = load_split(run_info, config)
    windows = data.make_windows(
        parts["test"], config.input_steps, config.output_steps, config.missing
    )
    request = {
        key: value[:count] for key, value in data.model_inputs(windows).items()
    }
    if config.missing == "zero-and-nan":
        # Missing readings as a JSON client sends them.
        request["history"] = np.nan_to_num(request["history"], nan=0.0)
    return [request]


def export_and_verify(run_dir, path, overwrite=False):
    """Exports a run and checks the SavedModel against `predict`.

    Forecasts the sample requests (`sample_requests`, also the warm-up
    requests) with the Keras model, exports, then serves the same requests
    in a fresh process that imports only TensorFlow. Must run under the
    TensorFlow backend.

    Args:
        run_dir: a trained run.
        path: the version directory (`saved_models/traffic/<N>`).
        overwrite: whether an existing version is replaced.

    Returns:
        The absolute path written.

    Raises:
        ServingError: some window's served forecast differs from the Keras
            one by more than `TOLERANCE` (the `(window, difference)` pairs
            named, `difference` the largest absolute one); the version is
            then not written.
    """
    loaded = load_run(run_dir)
    config = loaded.config
    run_info = loaded.info
    model = loaded.model
    archive = serving_archive(model, config, len(run_info["sensors"]))
    requests = sample_requests(config, run_info)
    predicted = np.concatenate([model.predict(r, verbose=0) for r in requests])

    def mismatches(served):
        served = np.concatenate([outputs["forecast"] for outputs in served])
        differences = np.max(np.abs(served - predicted), axis=(1, 2))
        return [
            (window, float(difference))
            for window, difference in enumerate(differences)
            if difference > TOLERANCE
        ]

    return export_saved_model(
        path,
        archive,
        requests,
        model_name="traffic",
        check=ServingCheck(requests, mismatches),
        overwrite=overwrite,
    )
