"""Forecasting from a history file: the `predict` verb.

matplotlib is imported only to draw a forecast.
"""

import numpy as np
import pandas as pd

from attention_suite.apps.traffic import data
from attention_suite.apps.traffic.readers import missing_mask


def history_inputs(series, sensors, input_steps, missing="zero-and-nan"):
    """Model inputs from the last `input_steps` rows of a series.

    Args:
        series: DataFrame from `readers.read_speeds`.
        sensors: the run's sensor ids, in model order.
        input_steps: history length the model takes.
        missing: which readings are missing (`readers.missing_mask`).

    Returns:
        `(inputs, last_timestamp)`: a dict of batch-1 arrays and the time of
        the last history step.

    Raises:
        ValueError: too few steps, sensors that do not match the run's, or
            no reading in the steps the model takes.
    """
    if len(series) < input_steps:
        raise ValueError(
            f"The history has {len(series)} steps; the model needs the last "
            f"{input_steps}."
        )
    columns = [str(c) for c in series.columns]
    absent = [s for s in sensors if s not in columns]
    if absent or len(columns) != len(sensors):
        raise ValueError(
            f"The history has {len(columns)} sensors but the model was "
            f"trained on {len(sensors)}"
            + (f"; missing ids include {absent[:5]}" if absent else "")
            + "."
        )
    recent = series.iloc[-input_steps:]
    recent.columns = columns
    recent = recent[list(sensors)]
    history = data.as_float_with_nan(recent, missing)
    if not np.isfinite(history).any():
        raise ValueError(
            f"The last {input_steps} steps of the history hold no reading "
            f"(all missing under missing={missing!r}): nothing to forecast "
            "from."
        )
    time_of_day, day_of_week = data.time_features(recent.index)
    inputs = {
        "history": history[None],
        "time_of_day": time_of_day[None],
        "day_of_week": day_of_week[None],
    }
    return inputs, recent.index[-1]


def forecast_frame(model, series, config, run_info):
    """Forecasts the steps after a series' end as a timestamps x sensors table.

    Args:
        model: a trained forecaster.
        series: DataFrame of recent readings (at least `input_steps` rows),
            at the run's step.
        config: the run's `TrafficConfig`.
        run_info: the run's `run.json` dict (sensors and step).

    Returns:
        A DataFrame indexed by the forecast timestamps, one column per sensor.

    Raises:
        ValueError: the forecast is not finite everywhere (never written as
            empty cells).
    """
    sensors = run_info["sensors"]
    inputs, last = history_inputs(
        series, sensors, config.input_steps, config.missing
    )
    forecast = np.asarray(model.predict(inputs, verbose=0))[0]
    return forecast_table(forecast, sensors, last, run_info["freq"])


def forecast_table(forecast, sensors, last, step):
    """One window's forecast as a timestamps x sensors table.

    Args:
        forecast: array `(output_steps, sensors)`.
        sensors: the sensor ids, in model order.
        last: the time of the last history step.
        step: the step between rows (a pandas frequency or `Timedelta`).

    Returns:
        A DataFrame indexed by the forecast timestamps, one column per sensor.

    Raises:
        ValueError: the forecast is not finite everywhere (never written as
            empty cells).
    """
    if not np.isfinite(forecast).all():
        bad = sorted(
            {sensors[i] for i in np.nonzero(~np.isfinite(forecast))[1]}
        )
        raise ValueError(
            f"The forecast is not a number for sensor(s) {bad[:5]}: check "
            "the history for readings the model cannot use."
        )
    step = pd.Timedelta(step)
    index = pd.date_range(last + step, periods=forecast.shape[0], freq=step)
    return pd.DataFrame(
        forecast, index=pd.Index(index, name="timestamp"), columns=list(sensors)
    )


def plot_forecast(
    history, forecast, sensors, actual=None, missing="zero-and-nan"
):
    """Draws history, forecast (and actual readings) for a few sensors.

    Missing readings are left blank, not drawn as drops to zero.

    Args:
        history: DataFrame of the input readings.
        forecast: DataFrame from `forecast_frame`.
        sensors: the sensor ids to draw, one panel each.
        actual: optional DataFrame of the true readings after the history.
        missing: which readings are missing (`readers.missing_mask`).

    Returns:
        The matplotlib `Figure`.
    """
    from matplotlib import pyplot as plt

    fig, axes = plt.subplots(
        len(sensors), 1, figsize=(8, 2.2 * len(sensors)), squeeze=False
    )

    def observed(frame, sensor):
        readings = frame[sensor]
        return readings.mask(missing_mask(readings, missing))

    for ax, sensor in zip(axes[:, 0], sensors):
        ax.plot(
            history.index,
            observed(history, sensor),
            color="0.4",
            label="history",
        )
        ax.plot(
            forecast.index, forecast[sensor], color="tab:blue", label="forecast"
        )
        if actual is not None:
            ax.plot(
                actual.index,
                observed(actual, sensor),
                color="tab:orange",
                label="actual",
            )
        ax.set_title(f"sensor {sensor}", fontsize=9)
        ax.set_ylabel("speed")
    axes[0, 0].legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    return fig
