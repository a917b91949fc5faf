"""Readers for traffic speed series and sensor graphs in the formats users have.

Speed series, read by `read_speeds`, all come back as the same thing: a
DataFrame with a regular `DatetimeIndex` named `"timestamp"` and one float32
column per sensor, named by the sensor id as a string.

- CSV with a timestamp column (`.csv`, `.csv.gz`) and one column per sensor.
- METR-LA / PEMS-BAY HDF5 (`.h5`, `.hdf5`): a DataFrame with a
  `DatetimeIndex` saved with `DataFrame.to_hdf`.
- T-GCN / Los-loop CSV (`.csv`, `.csv.gz`): a header of sensor ids and one
  row per step, no timestamps.
- PEMS03/04/07/08 (`.npz`): an array `data` of shape
  `(steps, sensors, features)`, no timestamps.

The step between rows comes from the timestamps when the file has them;
files without timestamps are dated from a `start` and a step `freq` that
the caller gives (the named datasets of `DATASETS` know theirs).

Sensor graphs, read by `read_adjacency`, come back as an `(N, N)` float32
matrix: a CSV matrix without header (Los-loop `los_adj.csv`), a DCRNN
`adj_mx.pkl`, or a `from,to,distance` list (DCRNN, PEMS0x) turned into
Gaussian-kernel weights.

Missing readings: NaN stays NaN and zero stays zero. In METR-LA-style data a
zero speed means "no reading", so by default downstream inputs and metrics
treat zeros and NaNs alike as missing; where a zero is a real reading (flow,
taxi data), only NaN is. `missing_mask` marks either.
"""

import collections
import dataclasses
import io
import os
import pickle
import pickletools
import warnings
import zipfile

import numpy as np
import pandas as pd

from attention_suite.apps.common.datasets import check_fetched

# DCRNN's `normalized_k`: kernel weights below it are dropped from the graph.
KERNEL_THRESHOLD = 0.1

_SPEED_FORMATS = {
    "csv": (".csv", ".csv.gz"),
    "hdf5": (".h5", ".hdf5"),
    "npz": (".npz",),
}
_ADJACENCY_FORMATS = {"csv": (".csv", ".csv.gz"), "pickle": (".pkl", ".pickle")}

# What `missing` may be: zeros and NaN are missing readings, or only NaN.
MISSING_RULES = ("zero-and-nan", "nan")


@dataclasses.dataclass(frozen=True)
class TrafficDataset:
    """A named dataset: its files in the data directory and how to read them.

    Attributes:
        speeds: path of the series, relative to the data directory.
        adjacency: path of the sensor graph, relative to the data directory.
        read_options: `read_speeds` arguments the files need (the first
            timestamp and step of a file without timestamps, the feature of
            a `.npz` file).
    """

    speeds: str
    adjacency: str
    read_options: dict = dataclasses.field(default_factory=dict)


# The named datasets, under `traffic/` in the data directory (`attn data
# fetch` writes the downloadable ones there).
DATASETS = {
    # T-GCN's Los-loop speeds carry no timestamps; the paper dates them
    # from 1 March 2012, at 5-minute steps.
    "los_loop": TrafficDataset(
        "traffic/los_loop/los_speed.csv.gz",
        "traffic/los_loop/los_adj.csv",
        {"start": "2012-03-01 00:00", "freq": "5min"},
    ),
    "metr_la": TrafficDataset(
        "traffic/metr_la/metr-la.h5", "traffic/metr_la/adj_mx.pkl"
    ),
    "pems_bay": TrafficDataset(
        "traffic/pems_bay/pems-bay.h5", "traffic/pems_bay/adj_mx_bay.pkl"
    ),
    # PEMS04 and PEMS08 (ASTGCN): flow, occupancy and speed at 5-minute
    # steps from 2018-01-01 and 2016-07-01; the flow is the usual target.
    "pems04": TrafficDataset(
        "traffic/pems04/PEMS04.npz",
        "traffic/pems04/PEMS04.csv",
        {"start": "2018-01-01", "freq": "5min", "feature": 0},
    ),
    "pems08": TrafficDataset(
        "traffic/pems08/PEMS08.npz",
        "traffic/pems08/PEMS08.csv",
        {"start": "2016-07-01", "freq": "5min", "feature": 0},
    ),
}


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
    kind = _file_format(path, _SPEED_FORMATS)
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


def read_adjacency(path, sensor_ids=None):
    """Reads a sensor graph as a weighted adjacency matrix.

    Three formats, told apart by the file:
    - a `.pkl` / `.pickle` from DCRNN holding `[sensor_ids, sensor_id_to_ind,
      adj_mx]` (Python 2 pickles work). It is read with an unpickler that
      refuses everything but NumPy arrays, lists, dicts and strings, so a
      pickle cannot run code.
    - a `.csv` / `.csv.gz` square matrix without header (T-GCN `los_adj.csv`),
      or with the sensor ids as its header row and first column (what
      `DataFrame.to_csv` writes), reordered to follow `sensor_ids`.
    - a `.csv` / `.csv.gz` distance list of `from,to,distance` rows, with or
      without a header (DCRNN `distances_bay_2017.csv`): a CSV with three
      columns and a header, or with three columns and a row count other
      than three. It needs `sensor_ids` and gives DCRNN's Gaussian kernel
      `w_ij = exp(-(d_ij / std) ** 2)`, where `std` is the standard
      deviation of the listed distances between the given sensors, weights
      below `KERNEL_THRESHOLD` (0.1) set to 0 and the diagonal set to 1.
      Pairs without a distance get weight 0; rows naming other sensors are
      skipped.

    Args:
        path: the file to read.
        sensor_ids: optional sensor ids in the order of the speed columns.
            The rows and columns of a pickled graph are reordered (and
            selected) to follow them; a CSV matrix must have as many rows.

    Returns:
        A float32 ndarray of shape `(N, N)`; with `sensor_ids`, `N` is their
        number and row `i` belongs to `sensor_ids[i]`.

    Raises:
        FileNotFoundError: `path` does not exist.
        ValueError: the file is empty, has an unknown extension, cannot be
            parsed, is a pickle that asks for anything but NumPy arrays, is
            not square, does not match `sensor_ids` or lacks some of them.

    Example (in a data directory that holds Los-loop and METR-LA's graph):

    ```python
    speeds = read_speeds("traffic/los_loop/los_speed.csv.gz")
    adjacency = read_adjacency(
        "traffic/metr_la_graph/adj_mx.pkl", sensor_ids=speeds.columns
    )
    adjacency.shape
    # (207, 207)
    ```
    """
    kind = _file_format(path, _ADJACENCY_FORMATS)
    if sensor_ids is not None:
        sensor_ids = [str(sensor_id) for sensor_id in sensor_ids]
    if kind == "pickle":
        adjacency = _read_dcrnn_pickle(path, sensor_ids)
    else:
        table = _read_text_table(path)
        if _is_distance_list(table):
            adjacency = _gaussian_kernel(path, table, sensor_ids)
        elif _is_labelled_matrix(table):
            adjacency = _labelled_matrix(path, table, sensor_ids)
        else:
            adjacency = _numbers(
                table.set_axis(range(1, table.shape[1] + 1), axis=1),
                path,
                lambda row: f"line {row + 1}",
            )
    _check_adjacency(adjacency, path, sensor_ids)
    return adjacency.astype(np.float32)


def dataset_paths(name, data_dir):
    """Locates the speed and graph files of a named dataset.

    Args:
        name: a key of `DATASETS` (`"los_loop"`, `"metr_la"`, ...); a dash
            may stand for the underscore (`"metr-la"`).
        data_dir: the data directory (the one holding `traffic/`), as named
            by `ATTN_DATA_DIR` or `--data-dir`.

    Returns:
        `(speeds_path, adjacency_path, read_options)`: the files, for
        `read_speeds` and `read_adjacency`, and the `read_speeds` arguments
        the series needs.

    Raises:
        ValueError: `name` is not a known dataset.
        FileNotFoundError: one of the files is not in `data_dir`.
    """
    key = str(name).replace("-", "_")
    if key not in DATASETS:
        raise ValueError(
            f"Unknown traffic dataset {name!r}; known datasets: "
            f"{', '.join(sorted(DATASETS))}."
        )
    dataset = DATASETS[key]
    paths = tuple(
        os.path.join(os.fspath(data_dir), *relative.split("/"))
        for relative in (dataset.speeds, dataset.adjacency)
    )
    # A `.gz` file may be there uncompressed (as `attn data fetch` writes
    # Los-loop's series).
    paths = tuple(
        path[: -len(".gz")]
        if path.endswith(".gz")
        and not os.path.isfile(path)
        and os.path.isfile(path[: -len(".gz")])
        else path
        for path in paths
    )
    for path in paths:
        check_fetched(path)
        if not os.path.isfile(path):
            raise FileNotFoundError(
                f"The {key} dataset needs {path}, which does not exist. "
                "Name the data directory (the one holding traffic/) with "
                "ATTN_DATA_DIR or --data-dir"
                + ", or download it with `attn data fetch "
                f"{key.replace('_', '-')}`."
            )
    return (*paths, dict(dataset.read_options))


# The most bytes one pickled graph array may hold (a float64 matrix of about
# 11,500 sensors); a pickle asking for more is refused before allocating.
MAX_GRAPH_BYTES = 2**30


class _PickledArray:
    """A NumPy array that a graph pickle asks for, checked before it is made.

    NumPy pickles an array as `_reconstruct(ndarray, shape, dtype)` followed
    by `__setstate__((version, shape, dtype, is_fortran, raw_bytes))`. This
    stand-in takes that state, checks that the dtype is a plain number type
    (no object or structured dtype, whose raw bytes would be pointers) and
    that the shape, the byte count and `MAX_GRAPH_BYTES` agree, and only then
    copies the bytes into an array.
    """

    def __setstate__(self, state):
        shape, dtype, is_fortran, raw = state[-4:]
        dtype = _number_dtype(dtype)
        if not (
            isinstance(shape, tuple)
            and all(isinstance(n, int) and n >= 0 for n in shape)
        ):
            raise pickle.UnpicklingError(f"bad array shape {shape!r}")
        size = int(np.prod(shape, dtype=object)) * dtype.itemsize
        if size > MAX_GRAPH_BYTES:
            raise pickle.UnpicklingError(
                f"an array of shape {shape} and dtype {dtype} holds {size} "
                f"bytes, over the limit of {MAX_GRAPH_BYTES}"
            )
        if isinstance(raw, str):  # Python 2 pickles, read as latin-1.
            raw = raw.encode("latin1")
        if not isinstance(raw, (bytes, bytearray)) or len(raw) != size:
            raise pickle.UnpicklingError(
                f"an array of shape {shape} and dtype {dtype} needs {size} "
                "bytes of data"
            )
        order = "F" if is_fortran else "C"
        # A writable copy, as NumPy's own unpickling gives.
        self.array = np.frombuffer(raw, dtype).reshape(shape, order=order)
        self.array = self.array.copy(order="K")


def _number_dtype(dtype):
    """`dtype` if it is a plain boolean, integer or float type.

    Raises:
        pickle.UnpicklingError: an object, structured or other dtype.
    """
    if not (
        isinstance(dtype, np.dtype)
        and dtype.kind in "biuf"
        and dtype.fields is None
        and not dtype.hasobject
    ):
        raise pickle.UnpicklingError(
            f"dtype {dtype!r} is refused: a graph pickle may hold only "
            "arrays of numbers"
        )
    return dtype


def _reconstruct(subtype, shape, dtype):
    """NumPy's `_reconstruct`, for plain arrays only (see `_PickledArray`)."""
    if subtype is not _NDARRAY:
        raise pickle.UnpicklingError("only plain NumPy arrays are allowed")
    return _PickledArray()


def _dtype(name, align=False, copy=True):
    """NumPy's `dtype(...)`, for the names of number types only."""
    if not isinstance(name, str):
        raise pickle.UnpicklingError(f"bad dtype {name!r}")
    return _number_dtype(np.dtype(name))


def _scalar(dtype, raw):
    """NumPy's `scalar(dtype, raw_bytes)`, for number types only."""
    dtype = _number_dtype(dtype)
    if isinstance(raw, str):
        raw = raw.encode("latin1")
    if not isinstance(raw, bytes) or len(raw) != dtype.itemsize:
        raise pickle.UnpicklingError(f"bad {dtype} scalar data")
    return np.frombuffer(raw, dtype)[0]


def _latin1(text, encoding):
    """`_codecs.encode(text, "latin1")`, how Python 3 pickles `bytes`."""
    if encoding not in ("latin1", "latin-1") or not isinstance(text, str):
        raise pickle.UnpicklingError(f"encoding {encoding!r} is refused")
    return text.encode("latin1")


# What `numpy.ndarray` unpickles to: a marker that `_reconstruct` accepts and
# that cannot be called, so `ndarray(shape, dtype, buffer)` is refused.
_NDARRAY = object()


class _RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that builds only number arrays and plain containers.

    Pickled lists, dicts, tuples, numbers and strings need no globals; NumPy
    arrays and scalars need the few functions below, each replaced by a
    checked version: only plain boolean, integer and float arrays of at most
    `MAX_GRAPH_BYTES`, made from the pickle's own bytes. Any other global,
    which is how a pickle runs code, is refused.
    """

    # NumPy's pickling functions live in `numpy.core.multiarray` before
    # NumPy 2 and in `numpy._core.multiarray` since.
    _ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
        ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
        ("numpy.core.multiarray", "scalar"): _scalar,
        ("numpy._core.multiarray", "scalar"): _scalar,
        ("numpy", "ndarray"): _NDARRAY,
        ("numpy", "dtype"): _dtype,
        # Python 3 writes `bytes` (an array's buffer) in protocols 2 and 3
        # as `_codecs.encode(text, "latin1")`.
        ("_codecs", "encode"): _latin1,
    }

    def find_class(self, module, name):
        """Returns an allowed global.

        Raises:
            pickle.UnpicklingError: the global is not allowed.
        """
        try:
            return self._ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f"global '{module}.{name}' is forbidden: a graph pickle may "
                "hold only NumPy arrays, lists, dicts and strings"
            ) from None

    def load(self):
        """Reads the pickle; its arrays come back as NumPy arrays."""
        return _arrays_made(super().load())


# Budgets of a graph pickle: its opcodes, the containers' nesting and the
# items they hold in all (a DCRNN graph has a few thousand of each, nested
# three deep).
MAX_PICKLE_OPCODES = 2_000_000
MAX_PICKLE_DEPTH = 32
MAX_PICKLE_ITEMS = 2_000_000


# pickletools' codes for an argument whose length comes first: the bytes
# and signedness of that length.
_LENGTH_PREFIX = {
    pickletools.TAKEN_FROM_ARGUMENT1: (1, False),
    pickletools.TAKEN_FROM_ARGUMENT4: (4, True),
    pickletools.TAKEN_FROM_ARGUMENT4U: (4, False),
    pickletools.TAKEN_FROM_ARGUMENT8U: (8, False),
}
_OPCODES = {op.code.encode("latin1"): op for op in pickletools.opcodes}


def _check_opcodes(data):
    """Walks a pickle's opcodes without building or decoding anything.

    An unknown opcode, an argument longer than the bytes present (BINBYTES8
    or BINUNICODE8 declaring 2^60) or more than `MAX_PICKLE_OPCODES`
    opcodes are refused before the unpickler allocates anything.

    Raises:
        pickle.UnpicklingError: the pickle breaks a budget or is malformed.
    """
    position, count = 0, 0
    while position < len(data):
        count += 1
        if count > MAX_PICKLE_OPCODES:
            raise pickle.UnpicklingError(
                f"more than {MAX_PICKLE_OPCODES} opcodes"
            )
        op = _OPCODES.get(data[position : position + 1])
        if op is None:
            raise pickle.UnpicklingError(
                f"unknown opcode {data[position : position + 1]!r} at byte "
                f"{position}"
            )
        position += 1
        if op.name == "STOP":
            return
        size = op.arg.n if op.arg else 0
        if size == pickletools.UP_TO_NEWLINE:
            # GLOBAL and INST take two lines (module and name).
            end = position - 1
            for _ in range(1 + (op.arg.name == "stringnl_noescape_pair")):
                end = data.find(b"\n", end + 1)
                if end < 0:
                    end = len(data)
                    break
            size = end - position + 1
        elif size in _LENGTH_PREFIX:
            width, signed = _LENGTH_PREFIX[size]
            length = int.from_bytes(
                data[position : position + width], "little", signed=signed
            )
            if length < 0:
                raise pickle.UnpicklingError(f"{op.name} with a negative size")
            size = width + length
        if position + size > len(data):
            raise pickle.UnpicklingError(
                f"{op.name} declares {size} bytes, {len(data) - position} "
                "are present"
            )
        position += size


def _arrays_made(content):
    """`content` with every `_PickledArray` replaced by its array.

    A container met twice is converted once and shared, as in the pickle;
    one that holds itself, nesting deeper than `MAX_PICKLE_DEPTH` or more
    than `MAX_PICKLE_ITEMS` items in all are refused.

    Raises:
        pickle.UnpicklingError: a budget is broken, or an array has no data.
    """
    made, open_ids, items = {}, set(), [0]

    def convert(value, depth):
        if isinstance(value, _PickledArray):
            if not hasattr(value, "array"):
                raise pickle.UnpicklingError("an array without its data")
            return value.array
        if not isinstance(value, (list, tuple, dict)):
            return value
        key = id(value)
        if key in made:
            return made[key]
        if key in open_ids:
            raise pickle.UnpicklingError("a container that holds itself")
        if depth >= MAX_PICKLE_DEPTH:
            raise pickle.UnpicklingError(
                f"containers nested deeper than {MAX_PICKLE_DEPTH}"
            )
        items[0] += len(value)
        if items[0] > MAX_PICKLE_ITEMS:
            raise pickle.UnpicklingError(
                f"more than {MAX_PICKLE_ITEMS} items in all"
            )
        open_ids.add(key)
        if isinstance(value, dict):
            result = {k: convert(v, depth + 1) for k, v in value.items()}
        else:
            result = type(value)(convert(v, depth + 1) for v in value)
        open_ids.discard(key)
        made[key] = result
        return result

    return convert(content, 0)


def _error(path, problem):
    """A `ValueError` naming the file and the problem."""
    return ValueError(f"{os.fspath(path)}: {problem}.")


def _file_format(path, formats):
    """Checks that `path` is a non-empty file and returns its format.

    Args:
        path: the file.
        formats: dict of format name to the file name endings it has.

    Returns:
        The key of `formats` that the file name ends with.

    Raises:
        FileNotFoundError: there is no such file.
        ValueError: the extension is unknown, or the file is empty.
    """
    name = os.path.basename(os.fspath(path)).lower()
    kind = next(
        (kind for kind, endings in formats.items() if name.endswith(endings)),
        None,
    )
    if kind is None:
        endings = ", ".join(e for endings in formats.values() for e in endings)
        raise _error(path, f"unknown file extension; expected one of {endings}")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"No such file: {os.fspath(path)}")
    if os.path.getsize(path) == 0:
        raise _error(path, "the file is empty")
    return kind


def _read_text_table(path):
    """Reads a CSV as strings, without taking any row as the header.

    Args:
        path: a `.csv` or `.csv.gz` file.

    Returns:
        A DataFrame of strings (NaN for empty cells) with at least one row,
        and columns numbered from 0.

    Raises:
        ValueError: the file holds no rows or cannot be parsed as CSV.
    """
    try:
        table = pd.read_csv(path, header=None, dtype=str)
    except pd.errors.EmptyDataError:
        raise _error(path, "the file is empty") from None
    except (pd.errors.ParserError, UnicodeDecodeError, OSError) as err:
        raise _error(path, f"cannot be parsed as CSV ({err})") from None
    if table.empty:
        raise _error(path, "the file is empty")
    return table


def _numbers(table, path, describe_row):
    """Converts a table of cells to a float64 matrix, naming any bad cell.

    Args:
        table: DataFrame of strings or numbers; NaN marks an empty cell.
        path: the file it came from, for messages.
        describe_row: function from a row position to its description in a
            message (`"line 3"`).

    Returns:
        A float64 ndarray of the table's shape; empty cells are NaN.

    Raises:
        ValueError: a cell is not a number; the message names the first
            one, its row, column and value.
    """
    columns = [pd.to_numeric(table[name], errors="coerce") for name in table]
    values = np.stack(
        [
            column.to_numpy(dtype=np.float64, na_value=np.nan)
            for column in columns
        ],
        axis=1,
    )
    bad = np.isnan(values) & table.notna().to_numpy()
    if bad.any():
        row, column = np.argwhere(bad)[0]
        raise _error(
            path,
            f"non-numeric value {table.iat[row, column]!r} at "
            f"{describe_row(row)}, column {table.columns[column]!r}",
        )
    return values


def _sensor_ids(names, path):
    """Checks sensor column names: none empty, none repeated.

    Args:
        names: the column names.
        path: the file they came from, for messages.

    Returns:
        The names as a list of stripped strings.

    Raises:
        ValueError: there are no sensor columns, or a name is empty or
            repeated.
    """
    ids = ["" if pd.isna(name) else str(name).strip() for name in names]
    if not ids:
        raise _error(path, "no sensor columns")
    if "" in ids:
        raise _error(path, f"sensor column {ids.index('') + 1} has no name")
    counts = collections.Counter(ids)
    repeated = sorted(
        sensor_id for sensor_id, count in counts.items() if count > 1
    )
    if repeated:
        raise _error(path, f"duplicate sensor columns {repeated}")
    return ids


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
        raise _error(path, f"missing timestamp at {describe_row(row)}")
    if len(index) == 1:
        return pd.DatetimeIndex(index, freq=freq)
    steps = index[1:] - index[:-1]
    backwards = np.flatnonzero(steps <= pd.Timedelta(0))
    if backwards.size:
        row = backwards[0] + 1
        raise _error(
            path,
            f"timestamps are not increasing at {describe_row(row)}: "
            f"{index[row]} comes after {index[row - 1]}",
        )
    uneven = np.flatnonzero(steps != steps[0])
    if uneven.size:
        row = uneven[0] + 1
        raise _error(
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
        raise _error(
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
        raise _error(
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
        raise _error(
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
            raise _error(
                path,
                f"the timestamps are {step_name(index.freq)} apart, not "
                f"freq={step_name(step)}",
            )
    if start is not None:
        try:
            first = pd.Timestamp(start)
        except (ValueError, TypeError) as err:
            raise _error(
                path, f"start={start!r} is not a date ({err})"
            ) from None
        if first != index[0]:
            raise _error(
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
        raise _error(
            path, f"no column named {timestamp_column!r} in the header"
        )
    position = names.index(timestamp_column)
    try:
        return position, _parse_dates(body[position])
    except (ValueError, TypeError) as err:
        raise _error(
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
    table = _read_text_table(path)
    names = [
        "" if pd.isna(name) else str(name).strip() for name in table.iloc[0]
    ]
    body = table.iloc[1:].reset_index(drop=True)
    if body.empty:
        raise _error(path, "the file has a header but no rows")

    def describe_row(row):
        return f"data row {row + 1} (after the header)"

    position, timestamps = _find_timestamps(names, body, timestamp_column, path)
    sensors = [column for column in body if column != position]
    sensor_ids = _sensor_ids([names[column] for column in sensors], path)
    values = _numbers(
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
        raise _error(
            path,
            f"cannot be read as HDF5 saved by pandas ({type(err).__name__})",
        ) from None
    if not isinstance(frame, pd.DataFrame):
        raise _error(path, "holds no DataFrame saved by pandas")
    if frame.empty:
        raise _error(path, "the DataFrame is empty")
    if not isinstance(frame.index, pd.DatetimeIndex):
        raise _error(
            path,
            f"the index holds {frame.index.dtype} values, not timestamps",
        )

    def describe_row(row):
        return f"row {row + 1} ({frame.index[row]})"

    sensor_ids = _sensor_ids(frame.columns, path)
    values = _numbers(frame.set_axis(sensor_ids, axis=1), path, describe_row)
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
        raise _error(
            path, f"cannot be read as a .npz archive ({err})"
        ) from None
    if data is None:
        raise _error(path, "the archive has no array named 'data'")
    if data.ndim != 3 or not np.issubdtype(data.dtype, np.number):
        raise _error(
            path,
            f"'data' is a {data.dtype} array of shape {data.shape}; expected "
            "numbers of shape (steps, sensors, features)",
        )
    if 0 in data.shape:
        raise _error(path, f"'data' is empty (shape {data.shape})")
    if not 0 <= feature < data.shape[2]:
        raise _error(
            path,
            f"feature={feature} is out of range for {data.shape[2]} features",
        )
    sensor_ids = [str(sensor) for sensor in range(data.shape[1])]
    index = _derived_index(start, freq, data.shape[0], path)
    return _speed_frame(data[:, :, feature], sensor_ids, index)


def _read_dcrnn_pickle(path, sensor_ids):
    """Reads a DCRNN `[sensor_ids, sensor_id_to_ind, adj_mx]` pickle.

    Args:
        path: the pickle.
        sensor_ids: ids whose order the result follows, or None for the
            pickle's own order.

    Returns:
        The adjacency matrix, reordered to follow `sensor_ids`.

    Raises:
        ValueError: the pickle asks for a forbidden global, is not in this
            layout or lacks some of `sensor_ids`.
    """
    if os.path.getsize(path) > 2 * MAX_GRAPH_BYTES:
        raise _error(path, "is too large for a graph pickle")
    with open(path, "rb") as file:
        data = file.read()
    try:
        _check_opcodes(data)
        content = _RestrictedUnpickler(
            io.BytesIO(data), encoding="latin1"
        ).load()
    except (
        pickle.UnpicklingError,
        AttributeError,
        EOFError,
        IndexError,
        KeyError,
        TypeError,
        ValueError,
        MemoryError,
        OverflowError,
        RecursionError,
    ) as err:
        problem = str(err).splitlines()[0][:200] if str(err) else ""
        raise _error(
            path,
            f"cannot be read as a graph pickle ({type(err).__name__}"
            + (f": {problem}" if problem else "")
            + ")",
        ) from None
    if not (
        isinstance(content, (list, tuple))
        and len(content) == 3
        and isinstance(content[0], (list, tuple))
        and isinstance(content[1], dict)
        and isinstance(content[2], np.ndarray)
    ):
        raise _error(
            path,
            "expected a pickled [sensor_ids, sensor_id_to_ind, adj_mx] list",
        )
    file_ids, _, adjacency = content
    _check_adjacency(
        adjacency, path, [str(sensor_id) for sensor_id in file_ids]
    )
    if sensor_ids is None:
        return adjacency
    positions = {str(sensor_id): i for i, sensor_id in enumerate(file_ids)}
    missing = [
        sensor_id for sensor_id in sensor_ids if sensor_id not in positions
    ]
    if missing:
        raise _error(
            path,
            f"{len(missing)} of the {len(sensor_ids)} sensor ids are not in "
            f"the graph, e.g. {missing[:5]}",
        )
    order = [positions[sensor_id] for sensor_id in sensor_ids]
    return adjacency[np.ix_(order, order)]


def _is_labelled_matrix(table):
    """Whether a CSV table is a square matrix with its sensor ids as the
    header row and the first column, as `DataFrame.to_csv` writes one (the
    corner cell empty or a name, never a number)."""
    rows, columns = table.shape
    if rows != columns or rows < 2:
        return False
    corner = table.iat[0, 0]
    return (pd.isna(corner) or _is_nan_text(corner)) and list(
        table.iloc[0, 1:]
    ) == list(table.iloc[1:, 0])


def _is_nan_text(text):
    """Whether a cell's text is not a number."""
    return bool(np.isnan(pd.to_numeric(text, errors="coerce")))


def _labelled_matrix(path, table, sensor_ids):
    """The weights of a labelled matrix (`_is_labelled_matrix`), its rows
    and columns in the order of `sensor_ids` when given.

    Raises:
        ValueError: a weight is not a number, or the ids are not those of
            `sensor_ids`.
    """
    labels = [str(label).strip() for label in table.iloc[0, 1:]]
    body = table.iloc[1:, 1:].reset_index(drop=True)
    weights = _numbers(
        body.set_axis(range(1, body.shape[1] + 1), axis=1),
        path,
        lambda row: f"line {row + 2}",
    )
    if sensor_ids is None:
        return weights
    unknown = sorted(set(labels) - set(sensor_ids))
    absent = sorted(set(sensor_ids) - set(labels))
    if unknown or absent or len(set(labels)) != len(labels):
        raise _error(
            path,
            "its sensor ids do not match the series' columns"
            + (f"; not in the series: {unknown[:5]}" if unknown else "")
            + (f"; not in the graph: {absent[:5]}" if absent else "")
            + ("; an id repeats" if len(set(labels)) != len(labels) else ""),
        )
    order = [labels.index(sensor) for sensor in sensor_ids]
    return weights[np.ix_(order, order)]


def _is_distance_list(table):
    """Whether a CSV table is a `from,to,distance` list (`read_adjacency`)."""
    return table.shape[1] == 3 and (_has_header(table) or table.shape[0] != 3)


def _has_header(table):
    """Whether a distance list starts with a header (a non-numeric distance)."""
    return bool(np.isnan(pd.to_numeric(table.iat[0, 2], errors="coerce")))


def _gaussian_kernel(path, table, sensor_ids):
    """DCRNN's thresholded Gaussian-kernel adjacency from a distance list.

    Args:
        path: the file, for messages.
        table: the `from,to,distance` table, header included if any.
        sensor_ids: the sensors of the graph, in order.

    Returns:
        The float64 `(N, N)` weights (see `read_adjacency`).

    Raises:
        ValueError: no `sensor_ids`, a distance that is not a number or is
            negative, or too few distances between the sensors to set the
            kernel width.
    """
    if sensor_ids is None:
        raise _error(path, "a from,to,distance list needs sensor_ids")
    header = int(_has_header(table))
    rows = table.iloc[header:]
    distances = _numbers(
        rows[[2]].set_axis(["distance"], axis=1),
        path,
        lambda row: f"line {row + header + 1}",
    )[:, 0]
    if (distances < 0).any():
        row = int((distances < 0).argmax())
        raise _error(path, f"negative distance at line {row + header + 1}")
    positions = {sensor_id: i for i, sensor_id in enumerate(sensor_ids)}
    sources = rows[0].str.strip().map(positions).to_numpy(dtype=np.float64)
    targets = rows[1].str.strip().map(positions).to_numpy(dtype=np.float64)
    known = ~np.isnan(sources) & ~np.isnan(targets) & ~np.isnan(distances)
    matrix = np.full((len(sensor_ids), len(sensor_ids)), np.inf)
    matrix[sources[known].astype(int), targets[known].astype(int)] = distances[
        known
    ]
    std = matrix[np.isfinite(matrix)].std() if known.any() else 0.0
    if not std > 0:
        raise _error(
            path,
            "the distances between the given sensors do not vary, so they "
            "set no kernel width",
        )
    weights = np.exp(-np.square(matrix / std))
    weights[weights < KERNEL_THRESHOLD] = 0.0
    np.fill_diagonal(weights, 1.0)
    return weights


def _check_adjacency(adjacency, path, sensor_ids):
    """Checks that a matrix is a square numeric graph over `sensor_ids`.

    Args:
        adjacency: the matrix.
        path: the file it came from, for messages.
        sensor_ids: the sensors it must have one row for, or None.

    Raises:
        ValueError: the matrix is not numeric, not square, not finite or
            does not have one row per sensor id.
    """
    if not np.issubdtype(adjacency.dtype, np.number):
        raise _error(
            path, f"the adjacency matrix holds {adjacency.dtype} values"
        )
    if adjacency.ndim != 2 or adjacency.shape[0] != adjacency.shape[1]:
        raise _error(
            path,
            f"the adjacency matrix of shape {adjacency.shape} is not square",
        )
    if not np.isfinite(adjacency).all():
        raise _error(path, "the adjacency matrix holds NaN or infinite values")
    if sensor_ids is not None and len(sensor_ids) != adjacency.shape[0]:
        raise _error(
            path,
            f"the adjacency matrix has {adjacency.shape[0]} rows for "
            f"{len(sensor_ids)} sensors",
        )
