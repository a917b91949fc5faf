"""What every app shares: command-line helpers and plotting (`plotting`)."""

import argparse
import os


def output_dir(path):
    """An `argparse` type for a directory that a command will write into.

    Checks, without creating anything, that the directory exists and is
    writable, or that it can be created: its nearest existing ancestor is a
    writable directory. A bad path then fails as a usage error before any
    work is done; the command creates the directory when it runs.

    Args:
        path: the directory given on the command line.

    Returns:
        `path`.

    Raises:
        argparse.ArgumentTypeError: the directory cannot be created or
            written to; argparse reports it as a usage error.

    Example:

    >>> parser.add_argument("--out", type=output_dir, default="runs/demo")
    """
    existing = os.path.abspath(path)
    while not os.path.lexists(existing):
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        raise argparse.ArgumentTypeError(
            f"cannot write to {path!r}: {existing!r} is not a directory"
        )
    if not os.access(existing, os.W_OK | os.X_OK):
        raise argparse.ArgumentTypeError(
            f"cannot write to {path!r}: {existing!r} is not writable"
        )
    return path
