"""Where datasets and runs live."""

import os

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
            "No data directory: pass --data DIR or set ATTN_DATA_DIR to the "
            "directory that holds the datasets (e.g. traffic/los_loop/)."
        )
    if not os.path.isdir(path):
        raise ValueError(f"The data directory {path!r} does not exist.")
    return path
