"""What the traffic readers share: the file checks and CSV tables."""

import collections
import os

import numpy as np
import pandas as pd


def file_error(path, problem):
    """A `ValueError` naming the file and the problem."""
    return ValueError(f"{os.fspath(path)}: {problem}.")


def file_format(path, formats):
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
        raise file_error(
            path, f"unknown file extension; expected one of {endings}"
        )
    if not os.path.isfile(path):
        raise FileNotFoundError(f"No such file: {os.fspath(path)}")
    if os.path.getsize(path) == 0:
        raise file_error(path, "the file is empty")
    return kind


def read_text_table(path):
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
        raise file_error(path, "the file is empty") from None
    except (pd.errors.ParserError, UnicodeDecodeError, OSError) as err:
        raise file_error(path, f"cannot be parsed as CSV ({err})") from None
    if table.empty:
        raise file_error(path, "the file is empty")
    return table


def numeric_table(table, path, describe_row):
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
        raise file_error(
            path,
            f"non-numeric value {table.iat[row, column]!r} at "
            f"{describe_row(row)}, column {table.columns[column]!r}",
        )
    return values


def column_sensor_ids(names, path):
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
        raise file_error(path, "no sensor columns")
    if "" in ids:
        raise file_error(path, f"sensor column {ids.index('') + 1} has no name")
    counts = collections.Counter(ids)
    repeated = sorted(
        sensor_id for sensor_id, count in counts.items() if count > 1
    )
    if repeated:
        raise file_error(path, f"duplicate sensor columns {repeated}")
    return ids
