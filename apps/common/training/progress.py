"""Progress bars with an ETA for long loops, written to stderr.

The bars go to stderr so that what a command prints on stdout stays
parseable. By default a bar shows only when stderr is a terminal;
`set_progress()` (the `--progress` and `--no-progress` options of the
commands) changes that for the whole process.
"""

import sys

import tqdm

_enabled = None


def set_progress(enabled):
    """Chooses when `progress_bar()` draws.

    Args:
        enabled: `True` to always draw (even into a file or a pipe),
            `False` to never draw, `None` to draw when stderr is a terminal.
    """
    global _enabled
    _enabled = enabled


def progress_bar(total, description, unit):
    """A progress bar on stderr, which its caller advances.

    Args:
        total: how many units the work holds.
        description: what the work is, shown before the bar.
        unit: the name of one unit (e.g. `"question"`).

    Returns:
        A `tqdm.tqdm` bar; use it as a context manager and call
        `update(count)` as units finish. It is erased when it closes.

    Example:

    ```python
    with progress_bar(len(texts), "greedy search", "text") as bar:
        for batch in batches:
            bar.update(len(batch))
    ```
    """
    return tqdm.tqdm(
        total=total,
        desc=description,
        unit=unit,
        file=sys.stderr,
        disable=None if _enabled is None else not _enabled,
        leave=False,
        dynamic_ncols=True,
    )
