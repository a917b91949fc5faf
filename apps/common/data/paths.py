"""Where datasets and runs live."""

import os

from attention_suite.apps.common.data.datasets import check_fetched

DATA_ENV = "ATTN_DATA_DIR"


def data_dir(explicit=None):
    """Returns the data directory: `explicit`, else `$ATTN_DATA_DIR`.

    Args:
        explicit: a directory named on the command line, or `None`.

    Returns:
        The directory path.

    Raises:
        ValueError: neither is set, or the directory does not exist.
    """
    path = explicit or os.environ.get(DATA_ENV)
    if not path:
        raise ValueError(
            "No data directory: pass --data-dir DIR or set ATTN_DATA_DIR to "
            "the directory that holds the datasets (e.g. traffic/los_loop/)."
        )
    if not os.path.isdir(path):
        raise ValueError(f"The data directory {path!r} does not exist.")
    return path


def load_dataset(data, explicit_dir, readers, read_file, file_kind):
    """Loads a dataset named by the user: a file of theirs, or a known name.

    Args:
        data: the path of a file, or a dataset name.
        explicit_dir: the data directory named on the command line, or
            `None` for `$ATTN_DATA_DIR`.
        readers: dataset name -> `(reader, path inside the data directory)`;
            the reader is called with the full path.
        read_file: the reader of a user's file.
        file_kind: what a user's file is, for the error message (e.g.
            `"a TSV file"`).

    Returns:
        What the reader returns.

    Raises:
        ValueError: `data` is neither a file nor a known name (a path, one
            with a directory or an extension, that names no file is reported
            as such), the data directory is missing, or a file `attn data
            fetch` wrote has changed since (`datasets.check_fetched`).
    """
    if os.path.isfile(data):
        return read_file(data)
    check_dataset_name(data, readers, file_kind)
    reader, relative = readers[data]
    path = os.path.join(data_dir(explicit_dir), relative)
    check_fetched(path)
    return reader(path)


def check_dataset_name(data, names, file_kind):
    """Refuses `--data` that is neither a file nor a known dataset name.

    A path (one with a directory or an extension) that names no file is
    reported as such, never as an unknown dataset.

    Args:
        data: what `--data` names (not an existing file).
        names: the known dataset names.
        file_kind: what a user's file is, for the error message.

    Raises:
        ValueError: `data` is not one of `names`.
    """
    if data in names:
        return
    known = ", ".join(repr(name) for name in names)
    if os.path.isdir(data):
        problem = "is a directory"
    elif os.sep in data or os.path.splitext(data)[1]:
        problem = "does not exist"
    else:
        raise ValueError(
            f"Unknown dataset {data!r}: expected {known} or {file_kind}."
        )
    raise ValueError(
        f"The file {data!r} {problem}: expected {file_kind} or one of "
        f"the dataset names {known}."
    )
