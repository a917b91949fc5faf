"""Exporting a traffic run as a TF Serving SavedModel.

`serving_default` takes what a client has, raw numbers:

* `history`: float32 `[batch, input_steps, num_nodes]` speeds in reading
  units; NaN or 0 marks a missing reading;
* `time_of_day`: float32 `[batch, input_steps]`, fraction of the day in
  `[0, 1)` of each history step;
* `day_of_week`: int32 `[batch, input_steps]`, Monday = 0;

and returns `forecast`: float32 `[batch, output_steps, num_nodes]` in reading
units. Normalization is inside the graph. Shapes are part of the signature,
so a request with the wrong number of steps or sensors is refused with an
`INVALID_ARGUMENT` naming the shapes.
"""

import numpy as np

from apps.common.export import export_saved_model
from apps.traffic import data
from apps.traffic.train import load_run, load_split


def serving_archive(model, config, num_nodes):
    """An `ExportArchive` whose `serving_default` runs the forecaster.

    Args:
        model: the trained Keras model (TensorFlow backend).
        config: the run's `TrafficConfig`.
        num_nodes: number of sensors.

    Returns:
        A `keras.export.ExportArchive`.
    """
    import keras
    import tensorflow as tf

    steps = config.input_steps

    def serve(history, time_of_day, day_of_week):
        forecast = model(
            {
                "history": history,
                "time_of_day": time_of_day,
                "day_of_week": day_of_week,
            },
            training=False,
        )
        return {"forecast": forecast}

    archive = keras.export.ExportArchive()
    archive.track(model)
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
        parts["test"], config.input_steps, config.output_steps
    )
    request = {
        key: windows[key][:count]
        for key in ("history", "time_of_day", "day_of_week")
    }
    request["history"] = np.nan_to_num(request["history"], nan=0.0)
    return [request]


def export(run_dir, path, overwrite=False):
    """Exports a run to `path` (a `saved_models/traffic/<version>` dir).

    Must run under the TensorFlow backend.

    Args:
        run_dir: a trained run.
        path: the version directory.
        overwrite: whether an existing version is replaced.

    Returns:
        `(path, requests, keras_outputs)`: the absolute path, the warm-up
        requests and the Keras model's forecasts for them (to compare with
        the served ones).
    """
    config, run_info, model = load_run(run_dir)
    archive = serving_archive(model, config, len(run_info["sensors"]))
    requests = sample_requests(config, run_info)
    expected = [
        {"forecast": np.asarray(model.predict(r, verbose=0))} for r in requests
    ]
    path = export_saved_model(
        path, archive, requests, model_name="traffic", overwrite=overwrite
    )
    return path, requests, expected
