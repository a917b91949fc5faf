"""Sensor graphs: `read_adjacency` and the formats it reads.

Every graph comes back as an `(N, N)` float32 matrix: a CSV matrix without
header (Los-loop `los_adj.csv`) or with the sensor ids as its header row and
first column, a DCRNN `adj_mx.pkl` (read by the restricted unpickler of
`attention_suite.apps.traffic.readers.pickles`), or a `from,to,distance`
list (DCRNN, PEMS0x) turned into Gaussian-kernel weights.
"""

import io
import os
import pickle

import numpy as np
import pandas as pd

from attention_suite.apps.traffic.readers.pickles import (
    MAX_GRAPH_BYTES,
    RestrictedUnpickler,
    check_opcodes,
)
from attention_suite.apps.traffic.readers.tables import (
    file_error,
    file_format,
    numeric_table,
    read_text_table,
)

# DCRNN's `normalized_k`: kernel weights below it are dropped from the graph.
KERNEL_THRESHOLD = 0.1


_ADJACENCY_FORMATS = {"csv": (".csv", ".csv.gz"), "pickle": (".pkl", ".pickle")}


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
    kind = file_format(path, _ADJACENCY_FORMATS)
    if sensor_ids is not None:
        sensor_ids = [str(sensor_id) for sensor_id in sensor_ids]
    if kind == "pickle":
        adjacency = _read_dcrnn_pickle(path, sensor_ids)
    else:
        table = read_text_table(path)
        if _is_distance_list(table):
            adjacency = _gaussian_kernel(path, table, sensor_ids)
        elif _is_labelled_matrix(table):
            adjacency = _labelled_matrix(path, table, sensor_ids)
        else:
            adjacency = numeric_table(
                table.set_axis(range(1, table.shape[1] + 1), axis=1),
                path,
                lambda row: f"line {row + 1}",
            )
    _check_adjacency(adjacency, path, sensor_ids)
    return adjacency.astype(np.float32)


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
        raise file_error(path, "is too large for a graph pickle")
    with open(path, "rb") as file:
        data = file.read()
    try:
        check_opcodes(data)
        content = RestrictedUnpickler(
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
        raise file_error(
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
        raise file_error(
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
        raise file_error(
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
    weights = numeric_table(
        body.set_axis(range(1, body.shape[1] + 1), axis=1),
        path,
        lambda row: f"line {row + 2}",
    )
    if sensor_ids is None:
        return weights
    unknown = sorted(set(labels) - set(sensor_ids))
    absent = sorted(set(sensor_ids) - set(labels))
    if unknown or absent or len(set(labels)) != len(labels):
        raise file_error(
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
        raise file_error(path, "a from,to,distance list needs sensor_ids")
    header = int(_has_header(table))
    rows = table.iloc[header:]
    distances = numeric_table(
        rows[[2]].set_axis(["distance"], axis=1),
        path,
        lambda row: f"line {row + header + 1}",
    )[:, 0]
    if (distances < 0).any():
        row = int((distances < 0).argmax())
        raise file_error(path, f"negative distance at line {row + header + 1}")
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
        raise file_error(
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
        raise file_error(
            path, f"the adjacency matrix holds {adjacency.dtype} values"
        )
    if adjacency.ndim != 2 or adjacency.shape[0] != adjacency.shape[1]:
        raise file_error(
            path,
            f"the adjacency matrix of shape {adjacency.shape} is not square",
        )
    if not np.isfinite(adjacency).all():
        raise file_error(
            path, "the adjacency matrix holds NaN or infinite values"
        )
    if sensor_ids is not None and len(sensor_ids) != adjacency.shape[0]:
        raise file_error(
            path,
            f"the adjacency matrix has {adjacency.shape[0]} rows for "
            f"{len(sensor_ids)} sensors",
        )
