"""The traffic app's Python API: `train`, `evaluate`, `export`, `load`.

Every function imports the backend only when called.
"""

from attention_suite.apps.common.serving.pipeline import Pipeline
from attention_suite.apps.traffic.config import TrafficConfig

# `traffic.read_speeds`: the readings `forecast` takes, from any file.
from attention_suite.apps.traffic.readers import read_speeds  # noqa: F401

COMMAND = "traffic"
FOLDER = "traffic"


def train(
    config=None,
    data=None,
    out="runs/traffic",
    data_dir=None,
    adjacency=None,
    read_options=None,
    **options,
):
    """Trains a forecaster and its GRU baseline into a run directory.

    Args:
        config: a `TrafficConfig`, a dict of its settings, or `None` (the
            defaults).
        data: a dataset name (`config.dataset`, the default) or a speed
            file (CSV, HDF5, NPZ).
        out: the run directory; one holding a run needs `resume=True` or
            `overwrite=True`.
        data_dir: where the named datasets live (default `$ATTN_DATA_DIR`).
        adjacency: the sensor graph of a speed file (CSV matrix, DCRNN
            pickle or distances).
        read_options: how to read a speed file: `start`, `freq`, `feature`,
            `timestamp_column` (`attention_suite.apps.traffic.readers`).
        **options: `resume`, `overwrite`, `verbose`, `distribution`,
            `devices`,
            `precision`
            (`attention_suite.apps.common.training.launch.train_run`).

    Returns:
        The `Run`: `path`, `config` and `info` (the run's `run.json`).

    Example:

    >>> import tempfile
    >>> import pandas as pd
    >>> from attention_suite.apps import traffic
    >>> from attention_suite.apps.traffic.synthetic import write_demo_files
    >>> tmp = tempfile.mkdtemp()
    >>> speeds, graph = write_demo_files(tmp, num_sensors=4, days=2)
    >>> run = traffic.train(
    ...     {"epochs": 1, "input_dim": 4, "time_of_day_dim": 4,
    ...      "day_of_week_dim": 2, "adaptive_dim": 4, "num_heads": 2,
    ...      "num_layers": 1, "feedforward_dim": 8, "gru_units": 8},
    ...     data=speeds, adjacency=graph, out=f"{tmp}/run", verbose=0)
    horizons=auto: [15, 30, 60] minutes ahead (the series' 5-minute step)
    Training the attention model
    Training the GRU baseline
    >>> "attention" in traffic.evaluate(run)  # its errors, by model
    True
    >>> readings = pd.read_csv(speeds, index_col=0, parse_dates=True)
    >>> forecast = traffic.load(run.path).forecast(readings)
    >>> forecast.shape == (12, 4)
    True
    """
    from attention_suite.apps.common.training.launch import train_run
    from attention_suite.apps.traffic import training

    return train_run(
        training.train,
        COMMAND,
        TrafficConfig,
        config,
        data,
        out,
        data_dir,
        adjacency=adjacency,
        read_options=read_options,
        **options,
    )


def evaluate(run, protocol="default", split="test"):
    """Scores a run's forecasts at each horizon, beside the baselines.

    Writes the report into the run (`metrics.json` or, under the T-GCN
    protocol, `metrics_tgcn.json`, with their Markdown tables).

    Args:
        run: a `Run` or a run directory.
        protocol: `"default"` (masked MAE/RMSE/MAPE at each horizon) or
            `"tgcn"` (the T-GCN papers').
        split: `"test"` or `"val"` (choose settings on `"val"`).

    Returns:
        The report: a dict with the errors of the model and the baselines
        at each horizon.
    """
    from attention_suite.apps.common.training.runs import run_path
    from attention_suite.apps.traffic import evaluation

    return evaluation.evaluate(run_path(run), protocol, split)


class TrafficPipeline(Pipeline):
    """A trained forecaster: `forecast` the steps after recent readings.

    Returned by `load`; backed by a run directory (the Keras model, any
    backend) or an exported SavedModel.
    """

    folder = FOLDER

    @staticmethod
    def parts():
        from attention_suite.apps.traffic import serving, training

        return training.load_run, serving.export_and_verify

    def forecast(self, readings):
        """Forecasts the steps after the last reading.

        Args:
            readings: a pandas DataFrame of recent readings, one column per
                sensor (the run's sensor ids; a SavedModel takes them in
                its order) and a regular `DatetimeIndex` at the run's step;
                at least the model's input steps. NaN marks a missing
                reading (and so does 0 unless the run's `missing` setting
                is `"nan"`).

        Returns:
            A DataFrame indexed by the forecast's timestamps, one column
            per sensor.

        Raises:
            ValueError: too few steps, other sensors, no reading in the
                steps taken, or an index without a regular step.
        """
        from attention_suite.apps.traffic import infer

        freq = readings.index.freq or readings.index.inferred_freq
        if freq is None:
            raise ValueError(
                "The readings need a regular DatetimeIndex: set its freq "
                "(e.g. `readings.asfreq('5min')`)."
            )
        if self.saved_model is None:
            run = self.run
            return infer.forecast_frame(
                run.model, readings, run.config, run.info
            )
        _, steps, sensors = self.input_shapes()["history"]
        if readings.shape[1] != sensors:
            raise ValueError(
                f"The readings have {readings.shape[1]} sensor columns; the "
                f"model takes history [batch, {steps}, {sensors}]."
            )
        names = [str(c) for c in readings.columns]
        inputs, last = infer.history_inputs(readings, names, steps, "nan")
        forecast = self.serve("serving_default", **inputs)["forecast"][0]
        return infer.forecast_table(forecast, names, last, freq)

    def plot(self, history, forecast, sensors, actual=None):
        """Draws a forecast after its history, one panel a sensor.

        Args:
            history: the readings the forecast followed (a DataFrame).
            forecast: what `forecast` returned.
            sensors: the sensor ids to draw.
            actual: the readings that came true, to draw beside it.

        Returns:
            The matplotlib `Figure`.

        Raises:
            ValueError: a sensor the forecast does not have.
        """
        from attention_suite.apps.traffic.infer import plot_forecast

        unknown = [s for s in sensors if s not in forecast.columns]
        if unknown:
            raise ValueError(f"Unknown sensor id(s) to plot: {unknown}.")
        history = history.set_axis([str(c) for c in history.columns], axis=1)
        missing = "nan" if self.config is None else self.config.missing
        return plot_forecast(
            history, forecast, sensors, actual=actual, missing=missing
        )

    def input_shapes(self):
        """The SavedModel's input shapes by name (`None`: any size)."""
        function = self.saved_model.signatures["serving_default"]
        return {
            name: tuple(spec.shape.as_list())
            for name, spec in function.structured_input_signature[1].items()
        }


load = TrafficPipeline.load
export = TrafficPipeline.export
