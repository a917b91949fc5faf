"""Forecasts without learning: persistence and two historical averages.

`HistoricalAverage` is the usual one (the training mean at the same time of
day); `input_mean` is what the T-GCN code calls HA (the mean of the input
window, iterated forward).
"""

import warnings

import numpy as np
import pandas as pd

from attention_suite.apps.traffic.data import as_float_with_nan, time_features


def last_value(history, output_steps):
    """Repeats each sensor's last observed reading (persistence).

    Args:
        history: `(S, input_steps, N)` readings with NaN for missing.
        output_steps: steps to forecast.

    Returns:
        `(S, output_steps, N)` forecasts (NaN where a sensor had no reading).
    """
    observed = np.isfinite(history)
    # Index of the last observed step per (sample, sensor); -1 if none.
    steps = np.arange(history.shape[1])[None, :, None]
    last = np.max(np.where(observed, steps, -1), axis=1)
    values = np.take_along_axis(history, np.maximum(last, 0)[:, None], axis=1)[
        :, 0
    ]
    values = np.where(last >= 0, values, np.nan)
    return np.repeat(values[:, None], output_steps, axis=1)


def input_mean(history, output_steps):
    """The T-GCN code's HA: each step is the mean of the last window.

    The first forecast is the mean of the input window; the window then
    slides one step, taking that forecast as its newest reading, and so on.

    Args:
        history: `(S, input_steps, N)` readings with NaN for missing (left
            out of the means).
        output_steps: steps to forecast.

    Returns:
        `(S, output_steps, N)` forecasts.
    """
    window = np.asarray(history, dtype="float64")
    forecasts = []
    for _ in range(output_steps):
        with warnings.catch_warnings():
            # A sensor with no reading in the window stays NaN.
            warnings.simplefilter("ignore", RuntimeWarning)
            step = np.nanmean(window, axis=1)
        forecasts.append(step)
        window = np.concatenate([window[:, 1:], step[:, None]], axis=1)
    return np.stack(forecasts, axis=1).astype("float32")


class HistoricalAverage:
    """Mean training reading per sensor at the same time of day.

    Args:
        train_series: the training part (DataFrame).
        steps_per_day: time-of-day slots (288 for 5-minute data).
        missing: which readings are missing (`readers.missing_mask`).
    """

    def __init__(self, train_series, steps_per_day=288, missing="zero-and-nan"):
        values = as_float_with_nan(train_series, missing)
        slots = self._slots(train_series.index, steps_per_day)
        self.steps_per_day = steps_per_day
        self.table = np.full(
            (steps_per_day, values.shape[1]), np.nan, "float32"
        )
        for slot in np.unique(slots):
            rows = values[slots == slot]
            counts = np.isfinite(rows).sum(0)
            sums = np.nansum(rows, axis=0)
            self.table[slot] = np.where(
                counts > 0, sums / np.maximum(counts, 1), np.nan
            )
        # Slots never seen in training fall back to the sensor's mean.
        sensor_mean = np.nanmean(values, axis=0)
        self.table = np.where(np.isfinite(self.table), self.table, sensor_mean)

    @staticmethod
    def _slots(index, steps_per_day):
        time_of_day, _ = time_features(index)
        return (
            np.floor(time_of_day * steps_per_day).astype("int64")
            % steps_per_day
        )

    def predict(self, target_index):
        """Forecasts for the timestamps of each target step.

        Args:
            target_index: `(S, output_steps)` array of `numpy.datetime64`.

        Returns:
            `(S, output_steps, N)` forecasts.
        """
        flat = pd.DatetimeIndex(np.asarray(target_index).ravel())
        slots = self._slots(flat, self.steps_per_day)
        return self.table[slots].reshape(
            np.shape(target_index) + (self.table.shape[1],)
        )
