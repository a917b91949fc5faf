"""Traffic speed series: `read_speeds` and the formats it reads.

Every series comes back as the same thing: a DataFrame with a regular
`DatetimeIndex` named `"timestamp"` and one float32 column per sensor, named
by the sensor id as a string.

- CSV with a timestamp column (`.csv`, `.csv.gz`) and one column per sensor.
- METR-LA / PEMS-BAY HDF5 (`.h5`, `.hdf5`): a DataFrame with a
  `DatetimeIndex` saved with `DataFrame.to_hdf`.
- T-GCN / Los-loop CSV (`.csv`, `.csv.gz`): a header of sensor ids and one
  row per step, no timestamps.
- PEMS03/04/07/08 (`.npz`): an array `data` of shape
  `(steps, sensors, features)`, no timestamps.

The step between rows comes from the timestamps when the file has them;
files without timestamps are dated from a `start` and a step `freq` that
the caller gives (the named datasets of the registry know theirs).

Missing readings: NaN stays NaN and zero stays zero. In METR-LA-style data a
zero speed means "no reading", so by default downstream inputs and metrics
treat zeros and NaNs alike as missing; where a zero is a real reading (flow,
taxi data), only NaN is. `missing_mask` marks either.
"""

import warnings
import zipfile

import numpy as np
import pandas as pd

from attention_suite.apps.traffic.readers.tables import (
    column_sensor_ids,
    file_error,
    file_format,
    numeric_table,
    read_text_table,
)

_SPEED_FORMATS = {
    "csv": (".csv", ".csv.gz"),
    "hdf5": (".h5", ".hdf5"),
    "npz": (".npz",),
}


# What `missing` may be: zeros and NaN are missing readings, or only NaN.
MISSING_RULES = ("zero-and-nan", "nan")


def read_speeds(path, start=None, freq=None, feature=0, timestamp_column=None):
    """Reads a traffic speed (or flow) series, whatever its format.

    The format follows the file name: `.csv` / `.csv.gz`, `.h5` / `.hdf5` or
    `.npz` (see the module docstring). A CSV whose first column (or
    `timestamp_column`) holds non-numeric values that parse as dates has a
    timestamp column; any other CSV is T-GCN style, every column a sensor.

    A file with timestamps keeps them; `start` and `freq`, if given, must
    agree with them. A file without timestamps (T-GCN CSV, `.npz`) needs
    both: it is given a regular index from `start` with steps of `freq`.

    Values are kept as they are: NaN stays NaN and zeros stay zeros (see
    `missing_mask`).

    Args:
        path: the file to read.
        start: the first timestamp (anything `pandas.Timestamp` reads).
        freq: the step between rows, a fixed pandas frequency such as
            `"5min"` or `"15min"`.
        feature: for `.npz` files, the index of the feature to read along
            the last axis (PEMS: 0 flow, 1 occupancy, 2 speed).
        timestamp_column: for CSV files, the name of the timestamp column,
            when it is not the first column or its values look numeric.

    Returns:
        A DataFrame with a regular `DatetimeIndex` named `"timestamp"` whose
        `freq` is the step, and one float32 column per sensor, named by the
        sensor id as a string (`"0"`, `"1"`, ... for `.npz` files).

    Raises:
        FileNotFoundError: `path` does not exist.
        ValueError: the file is empty or has an unknown extension; a cell is
            not a number; a sensor id is repeated; the timestamps are
            missing, not increasing, not evenly spaced or disagree with
            `start` / `freq`; a file without timestamps lacks `start` or
            `freq`; a `.npz` file has no `data` array of shape `(steps,
            sensors, features)` or no `feature` there. The message names
            the file and the first place where the problem is.

    Example (in a data directory that holds Los-loop):

    ```python
    speeds = read_speeds(
        "traffic/los_loop/los_speed.csv.gz", start="2012-03-01", freq="5min"
    )
    speeds.shape, str(speeds.index[0])
    # ((2016, 207), '2012-03-01 00:00:00')
    ```
    """
    kind = file_format(path, _SPEED_FORMATS)
    step = None if freq is None else _fixed_step(freq, path)
    if kind == "csv":
        series = _read_speed_csv(path, start, step, timestamp_column)
    elif kind == "hdf5":
        series = _read_speed_hdf(path, step)
    else:
        series = _read_speed_npz(path, start, step, feature)
    _check_dates(series.index, start, step, path)
    return series


def missing_mask(values, missing="zero-and-nan"):
    """Marks missing readings: NaN, and by default exactly zero.

    Args:
        values: an array-like of readings (a DataFrame works too).
        missing: `"zero-and-nan"` (METR-LA's convention, where a zero speed
            means no reading) or `"nan"` (a zero is a real reading).

    Returns:
        A bool ndarray of the same shape, True where a reading is missing.
    """
    if missing not in MISSING_RULES:
        raise ValueError(
            f"missing={missing!r}; expected one of {list(MISSING_RULES)}."
        )
    values = np.asarray(values)
    if missing == "nan":
        return np.isnan(values)
    return np.isnan(values) | (values == 0)


def _regular_index(timestamps, path, describe_row, freq):
    """Checks that timestamps are present, increasing and evenly spaced.

    Args:
        timestamps: the timestamps of the rows.
        path: the file they came from, for messages.
        describe_row: function from a row position to its description.
        freq: the step to record when there is a single row.

    Returns:
        A `DatetimeIndex` named `"timestamp"` whose `freq` is the step.

    Raises:
        ValueError: a timestamp is missing, does not follow the one before
            or breaks the step between the first two rows.
    """
    index = pd.DatetimeIndex(timestamps, name="timestamp")
    if index.hasnans:
        row = int(index.isna().argmax())
        raise file_error(path, f"missing timestamp at {describe_row(row)}")
    if len(index) == 1:
        return pd.DatetimeIndex(index, freq=freq)
    steps = index[1:] - index[:-1]
    backwards = np.flatnonzero(steps <= pd.Timedelta(0))
    if backwards.size:
        row = backwards[0] + 1
        raise file_error(
            path,
            f"timestamps are not increasing at {describe_row(row)}: "
            f"{index[row]} comes after {index[row - 1]}",
        )
    uneven = np.flatnonzero(steps != steps[0])
    if uneven.size:
        row = uneven[0] + 1
        raise file_error(
            path,
            f"timestamps are irregular at {describe_row(row)}: a step of "
            f"{steps[row - 1]} after steps of {steps[0]}",
        )
    return pd.DatetimeIndex(index, freq=steps[0])


def _derived_index(start, step, periods, path):
    """A regular index of `periods` steps of `step` from `start`.

    Raises:
        ValueError: `start` or `step` is missing, or `start` is not a date.
    """
    if start is None or step is None:
        raise file_error(
            path,
            "the file has no timestamps: give the time of its first row and "
            "the step between rows (start= and freq=; --start and --freq "
            "on the command line)",
        )
    try:
        return pd.date_range(
            start, periods=periods, freq=step, name="timestamp"
        )
    except (ValueError, TypeError) as err:
        raise file_error(
            path, f"cannot make timestamps from start={start!r} ({err})"
        ) from None


def _fixed_step(freq, path):
    """`freq` as a pandas offset of fixed length.

    Raises:
        ValueError: `freq` is not a frequency, or not of fixed length (a
            month, a business day).
    """
    try:
        step = pd.tseries.frequencies.to_offset(freq)
        length = pd.Timedelta(step)
    except (ValueError, TypeError):
        step = length = None
    if length is None or length <= pd.Timedelta(0):
        raise file_error(
            path,
            f"freq={freq!r} is not a fixed step between rows such as '5min' "
            "or '15min'",
        )
    return step


def _check_dates(index, start, step, path):
    """Checks that a series' timestamps agree with a given start and step.

    Raises:
        ValueError: they disagree; the message gives both.
    """
    if step is not None and index.freq is not None:
        if pd.Timedelta(index.freq) != pd.Timedelta(step):
            raise file_error(
                path,
                f"the timestamps are {step_name(index.freq)} apart, not "
                f"freq={step_name(step)}",
            )
    if start is not None:
        try:
            first = pd.Timestamp(start)
        except (ValueError, TypeError) as err:
            raise file_error(
                path, f"start={start!r} is not a date ({err})"
            ) from None
        if first != index[0]:
            raise file_error(
                path, f"the timestamps start at {index[0]}, not start={first}"
            )


def step_name(step):
    """A step as pandas writes its frequency (`"5min"`, `"h"`, `"15min"`).

    Args:
        step: a pandas offset, a `Timedelta` or a frequency string.

    Returns:
        The frequency string.
    """
    return pd.tseries.frequencies.to_offset(pd.Timedelta(step)).freqstr


def _speed_frame(values, sensor_ids, index):
    """The DataFrame every reader returns."""
    return pd.DataFrame(
        values.astype(np.float32), index=index, columns=sensor_ids
    )


def _find_timestamps(names, body, timestamp_column, path):
    """Finds and parses the timestamp column of a CSV, if it has one.

    Args:
        names: the header.
        body: the rows below the header.
        timestamp_column: the name of the timestamp column, or None to take
            the first column if its values are non-numeric dates.
        path: the file, for messages.

    Returns:
        `(position, timestamps)`, or `(None, None)` for a file without
        timestamps.

    Raises:
        ValueError: `timestamp_column` is not in the header or does not
            hold dates.
    """
    if timestamp_column is None:
        first = body[0]
        numeric = pd.to_numeric(first, errors="coerce").notna()
        if first.isna().all() or numeric.any():
            return None, None
        try:
            return 0, _parse_dates(first)
        except (ValueError, TypeError):
            return None, None
    if timestamp_column not in names:
        raise file_error(
            path, f"no column named {timestamp_column!r} in the header"
        )
    position = names.index(timestamp_column)
    try:
        return position, _parse_dates(body[position])
    except (ValueError, TypeError) as err:
        raise file_error(
            path,
            f"column {timestamp_column!r} does not hold timestamps ({err})",
        ) from None


def _parse_dates(cells):
    """Parses date strings in any one format pandas recognizes.

    Raises:
        ValueError: a cell is not a date, or the cells mix formats.
    """
    with warnings.catch_warnings():
        # Dates in a format without a pandas shortcut ("3/1/2012 0:05") are
        # parsed one by one; pandas warns about that, which is fine here.
        warnings.filterwarnings("ignore", "Could not infer format", UserWarning)
        return pd.to_datetime(cells)


def _read_speed_csv(path, start, freq, timestamp_column):
    """Reads a T-GCN CSV or a CSV with a timestamp column (`read_speeds`)."""
    table = read_text_table(path)
    names = [
        "" if pd.isna(name) else str(name).strip() for name in table.iloc[0]
    ]
    body = table.iloc[1:].reset_index(drop=True)
    if body.empty:
        raise file_error(path, "the file has a header but no rows")

    def describe_row(row):
        return f"data row {row + 1} (after the header)"

    position, timestamps = _find_timestamps(names, body, timestamp_column, path)
    sensors = [column for column in body if column != position]
    sensor_ids = column_sensor_ids([names[column] for column in sensors], path)
    values = numeric_table(
        body[sensors].set_axis(sensor_ids, axis=1), path, describe_row
    )
    if timestamps is None:
        index = _derived_index(start, freq, len(body), path)
    else:
        index = _regular_index(timestamps, path, describe_row, freq)
    return _speed_frame(values, sensor_ids, index)


def _read_speed_hdf(path, freq):
    """Reads a DataFrame saved with `DataFrame.to_hdf` (`read_speeds`)."""
    try:
        with pd.HDFStore(path, mode="r") as store:
            keys = store.keys()
            frame = store[keys[0]] if keys else None
    except (OSError, RuntimeError, ValueError, TypeError) as err:
        raise file_error(
            path,
            f"cannot be read as HDF5 saved by pandas ({type(err).__name__})",
        ) from None
    if not isinstance(frame, pd.DataFrame):
        raise file_error(path, "holds no DataFrame saved by pandas")
    if frame.empty:
        raise file_error(path, "the DataFrame is empty")
    if not isinstance(frame.index, pd.DatetimeIndex):
        raise file_error(
            path,
            f"the index holds {frame.index.dtype} values, not timestamps",
        )

    def describe_row(row):
        return f"row {row + 1} ({frame.index[row]})"

    sensor_ids = column_sensor_ids(frame.columns, path)
    values = numeric_table(
        frame.set_axis(sensor_ids, axis=1), path, describe_row
    )
    index = _regular_index(frame.index, path, describe_row, freq)
    return _speed_frame(values, sensor_ids, index)


def _read_speed_npz(path, start, freq, feature):
    """Reads the `data` array of a PEMS `.npz` file (`read_speeds`)."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            data = archive["data"] if "data" in archive.files else None
    except (
        OSError,
        ValueError,
        EOFError,
        AttributeError,
        zipfile.BadZipFile,
    ) as err:
        raise file_error(
            path, f"cannot be read as a .npz archive ({err})"
        ) from None
    if data is None:
        raise file_error(path, "the archive has no array named 'data'")
    if data.ndim != 3 or not np.issubdtype(data.dtype, np.number):
        raise file_error(
            path,
            f"'data' is a {data.dtype} array of shape {data.shape}; expected "
            "numbers of shape (steps, sensors, features)",
        )
    if 0 in data.shape:
        raise file_error(path, f"'data' is empty (shape {data.shape})")
    if not 0 <= feature < data.shape[2]:
        raise file_error(
            path,
            f"feature={feature} is out of range for {data.shape[2]} features",
        )
    sensor_ids = [str(sensor) for sensor in range(data.shape[1])]
    index = _derived_index(start, freq, data.shape[0], path)
    return _speed_frame(data[:, :, feature], sensor_ids, index)
