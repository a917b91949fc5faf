"""The forecasting protocol: chronological split, windows, time features.

A series is a DataFrame from `attention_suite.apps.traffic.readers.read_speeds`:
a regular `DatetimeIndex` and one column per sensor. Missing readings (NaN,
and by default zero as in METR-LA-style data: the `missing` setting) become
NaN here; the model ignores them as inputs and the metrics ignore them as
targets.

TensorFlow (`tf.data`) is imported only to build the training datasets.
"""

import numpy as np
import pandas as pd

from attention_suite.apps.traffic.config import check_split
from attention_suite.apps.traffic.readers import missing_mask

# A reading more than this many training standard deviations from the
# training mean is not a physical reading (a sensor fault, a unit error, a
# corrupted file): it is treated as missing, like NaN.
MAX_ABS_ZSCORE = 100.0

# The windows' arrays that the model reads.
INPUT_KEYS = ("history", "time_of_day", "day_of_week")


def chronological_split(series, fractions, min_steps):
    """Splits a series in time order into train, validation and test.

    Args:
        series: DataFrame with a `DatetimeIndex`.
        fractions: `(train, val, test)` fractions summing to 1.
        min_steps: the fewest steps a part may have (one window).

    Returns:
        A dict `{"train", "val", "test"}` of DataFrames; every timestamp of
        a later part is strictly after every timestamp of an earlier one.
        The parts are cut at `int(total * fraction)` as the T-GCN code cuts
        its 80 / 20 split, so a 70 / 10 / 20 split tests on the same steps.

    Raises:
        ValueError: bad fractions, or a part shorter than `min_steps`.
    """
    fractions = check_split(fractions)
    total = len(series)
    train_end = cut(total, fractions[0])
    val_end = cut(total, fractions[0] + fractions[1])
    parts = {
        "train": series.iloc[:train_end],
        "val": series.iloc[train_end:val_end],
        "test": series.iloc[val_end:],
    }
    for name, part in parts.items():
        if len(part) < min_steps:
            raise ValueError(
                f"The {name} part has {len(part)} steps but a window needs "
                f"{min_steps}; the series has {total} steps in all."
            )
    return parts


def cut(total, fraction):
    """`int(total * fraction)`, safe from rounding (`0.7 + 0.1` < `0.8`)."""
    return int(total * fraction + 1e-9)


def step_minutes(index):
    """Minutes between the rows of a regular `DatetimeIndex`."""
    return pd.Timedelta(index.freq).total_seconds() / 60


def as_float_with_nan(series, missing="zero-and-nan"):
    """Returns the series' values as float32 with missing readings as NaN.

    Args:
        series: DataFrame of readings.
        missing: which readings are missing (`readers.missing_mask`).

    Returns:
        A float32 array `(steps, sensors)`.
    """
    values = series.to_numpy(dtype="float32", copy=True)
    values[missing_mask(values, missing)] = np.nan
    return values


def time_features(index):
    """Time of day (fraction in [0, 1)) and day of week (Monday = 0).

    Args:
        index: a `DatetimeIndex`.

    Returns:
        `(time_of_day float32, day_of_week int32)` arrays of `len(index)`.
    """
    minutes = index.hour * 60 + index.minute + index.second / 60.0
    return (
        np.asarray(minutes / 1440.0, dtype="float32"),
        np.asarray(index.dayofweek, dtype="int32"),
    )


def make_windows(series, input_steps, output_steps, missing="zero-and-nan"):
    """Cuts a series into (history, future) training windows, stride 1.

    Args:
        series: DataFrame of readings with a `DatetimeIndex`.
        input_steps: steps of history per window.
        output_steps: steps to forecast per window.
        missing: which readings are missing (`readers.missing_mask`).

    Returns:
        A dict of arrays: `history` `(S, input_steps, N)` raw readings with
        NaN for missing, `time_of_day` / `day_of_week` `(S, input_steps)` of
        the history steps, `target` `(S, output_steps, N)` and `target_time`
        `(S, output_steps)` timestamps.
    """
    values = as_float_with_nan(series, missing)
    time_of_day, day_of_week = time_features(series.index)
    count = len(series) - input_steps - output_steps + 1
    starts = np.arange(count)[:, None]
    history_idx = starts + np.arange(input_steps)
    target_idx = starts + input_steps + np.arange(output_steps)
    return {
        "history": values[history_idx],
        "time_of_day": time_of_day[history_idx],
        "day_of_week": day_of_week[history_idx],
        "target": values[target_idx],
        "target_time": series.index.to_numpy()[target_idx],
    }


def train_statistics(train_series, missing="zero-and-nan"):
    """Mean and standard deviation of the physical training readings.

    Readings more than `MAX_ABS_ZSCORE` robust standard deviations (1.4826
    times the median absolute deviation) from the median are left out
    first: one faulty reading (1e6, 1e21) cannot move the statistics that
    then decide what a faulty reading is (`without_outliers`, the model's
    `Standardize`).

    Args:
        train_series: the training part.
        missing: which readings are missing (`readers.missing_mask`).

    Returns:
        `(mean, std)` as Python floats.

    Raises:
        ValueError: the training part has no observed readings.
    """
    values = as_float_with_nan(train_series, missing)
    observed = values[np.isfinite(values)].astype(np.float64)
    if observed.size == 0:
        raise ValueError("The training part has no observed readings.")
    median = np.median(observed)
    spread = 1.4826 * np.median(np.abs(observed - median))
    if spread > 0:
        observed = observed[
            np.abs(observed - median) <= MAX_ABS_ZSCORE * spread
        ]
    return float(observed.mean()), float(observed.std() or 1.0)


def without_outliers(series, mean, std):
    """A series with its non-physical readings made missing (NaN).

    A reading more than `MAX_ABS_ZSCORE` standard deviations from the
    mean is not a physical reading (a sensor fault, a unit error): as an
    input the model treats it as missing, and as a training target it
    would swamp the loss.

    Args:
        series: a DataFrame of readings.
        mean: the training mean.
        std: the training standard deviation.

    Returns:
        A copy of `series`.
    """
    return series.mask((series - mean).abs() > MAX_ABS_ZSCORE * std)


def model_inputs(windows):
    """The model's inputs of some windows.

    Args:
        windows: the dict of `make_windows`.

    Returns:
        A dict of the `INPUT_KEYS` arrays.
    """
    return {key: windows[key] for key in INPUT_KEYS}


def as_dataset(windows, batch_size, shuffle=False, seed=0):
    """A `tf.data` pipeline of `(inputs, target)` batches.

    Args:
        windows: the dict of `make_windows`.
        batch_size: batch size.
        shuffle: whether to shuffle the windows each epoch.
        seed: shuffle seed.

    Returns:
        A `tf.data.Dataset`.
    """
    import tensorflow as tf

    dataset = tf.data.Dataset.from_tensor_slices(
        (model_inputs(windows), windows["target"])
    )
    if shuffle:
        dataset = dataset.shuffle(
            len(windows["target"]), seed=seed, reshuffle_each_iteration=True
        )
    return dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE)
