"""Attention weights as heatmaps and text tables, and atomic figure saving."""

import math
import os

import numpy as np
from matplotlib import pyplot as plt

from attention_suite.apps.common.data.atomic import atomic_path

# The side of one heatmap cell, which fits a label of `_FONT_POINTS`.
_CELL_INCHES = 0.22
_FONT_POINTS = 8
# The width of one label character, on average.
_CHARACTER_INCHES = 0.075
_SIN_45 = math.sqrt(0.5)
# The cells that the labels beside a panel take up, for wrapping.
_LABEL_CELLS = 6
# How much longer than broad a heatmap may be before it wraps.
_MAX_ASPECT = 3
# Room for the colour bar, for the space between panels and for the title.
_BAR_INCHES = 1.2
_PAD_INCHES = 0.4
_MIN_INCHES = 3.0


def _check_weights(weights, x_labels, y_labels):
    """Returns `weights` as a 2D array, checking the labels against it."""
    weights = np.asarray(weights)
    if weights.ndim != 2:
        raise ValueError(
            "Expected attention weights of shape (num_queries, num_keys), "
            f"received shape {weights.shape}."
        )
    for axis, labels in ((1, x_labels), (0, y_labels)):
        if labels is not None and len(labels) != weights.shape[axis]:
            raise ValueError(
                f"Received {len(labels)} labels for an axis of size "
                f"{weights.shape[axis]} (weights of shape {weights.shape})."
            )
    return weights


def _per_panel(length, breadth):
    """How much of its longer axis each panel of a heatmap shows.

    Args:
        length: the size of the longer axis, the one that wraps.
        breadth: the size of the other axis.

    Returns:
        `length` (one panel) when the heatmap, labels included, is at most
        `_MAX_ASPECT` times longer than broad; otherwise as many cells as
        make the wrapped figure about square.
    """
    breadth += _LABEL_CELLS
    if length <= _MAX_ASPECT * breadth:
        return length
    return math.ceil(math.sqrt(length * breadth))


def _part(labels, cells):
    """The labels of a slice of cells, or `None` without labels."""
    return None if labels is None else labels[cells]


def _label_inches(labels):
    """The room that the longest of `labels` (or `None`) takes, in inches."""
    if labels is None:
        return 0.0
    longest = max((len(str(label)) for label in labels), default=0)
    return longest * _CHARACTER_INCHES


def _draw_heatmap(ax, weights, x_labels, y_labels, title):
    """Draws one heatmap on `ax`, keys on top; returns its image."""
    image = ax.imshow(weights, cmap="viridis", vmin=0.0, vmax=1.0)
    ax.xaxis.tick_top()
    if x_labels is not None:
        ax.set_xticks(
            range(len(x_labels)),
            labels=x_labels,
            rotation=45,
            ha="left",
            rotation_mode="anchor",
        )
    if y_labels is not None:
        ax.set_yticks(range(len(y_labels)), labels=y_labels)
    if title is not None:
        ax.set_title(title)
    return image


def plot_attention(weights, x_labels=None, y_labels=None, ax=None, title=None):
    """Draws attention weights as a heatmap, one row per query.

    Without `ax`, the heatmap gets a figure of its own, sized so that every
    cell is `_CELL_INCHES` square and every label fits, with a colour bar.
    A long axis wraps so that the figure stays about as tall as it is wide:
    many keys onto panels one under the other, many queries (e.g. the
    pieces of a long context) onto panels side by side.

    Args:
        weights: array-like of shape `(num_queries, num_keys)` with values in
            `[0, 1]`, e.g. one example of what
            `layers.Attention(..., return_attention_scores=True)` returns.
        x_labels: optional labels of the keys, shown above the columns.
        y_labels: optional labels of the queries, shown left of the rows.
        ax: the matplotlib `Axes` to draw on, with no wrapping and no colour
            bar (add one for all the axes of the figure with
            `fig.colorbar(ax.images[0], ax=fig.axes)`); `None` draws on a
            new figure.
        title: optional title of the axes (of the figure, without `ax`).

    Returns:
        The `Axes` drawn on (the first panel's); `ax.images[0]` is the
        heatmap and `ax.figure` the figure.

    Example:

    >>> weights = np.array([[0.9, 0.1], [0.2, 0.8]])
    >>> ax = plot_attention(weights, ["der", "Hund"], ["the", "dog"])
    """
    weights = _check_weights(weights, x_labels, y_labels)
    if ax is not None:
        _draw_heatmap(ax, weights, x_labels, y_labels, title)
        return ax
    rows, columns = weights.shape
    # The longer axis wraps: keys onto panels one under the other, like lines
    # of text; queries onto panels side by side, like newspaper columns.
    wrap_keys = columns >= rows
    if wrap_keys:
        per_panel = _per_panel(columns, rows)
        panel_rows, panel_columns = rows, per_panel
        panels = math.ceil(columns / per_panel)
        grid = (panels, 1)
    else:
        per_panel = _per_panel(rows, columns)
        panel_rows, panel_columns = per_panel, columns
        panels = math.ceil(rows / per_panel)
        grid = (1, panels)
    panel_width = (
        panel_columns * _CELL_INCHES + _label_inches(y_labels) + _PAD_INCHES
    )
    panel_height = (
        panel_rows * _CELL_INCHES
        + _label_inches(x_labels) * _SIN_45
        + _PAD_INCHES
    )
    figure, axes = plt.subplots(
        *grid,
        squeeze=False,
        layout="constrained",
        figsize=(
            max(_MIN_INCHES, grid[1] * panel_width + _BAR_INCHES),
            max(_MIN_INCHES, grid[0] * panel_height + _PAD_INCHES),
        ),
    )
    axes = axes.ravel()
    with plt.rc_context({"font.size": _FONT_POINTS}):
        for panel, ax in enumerate(axes):
            part = slice(panel * per_panel, (panel + 1) * per_panel)
            queries, keys = (
                (slice(None), part) if wrap_keys else (part, slice(None))
            )
            image = _draw_heatmap(
                ax,
                weights[queries, keys],
                _part(x_labels, keys),
                _part(y_labels, queries),
                title=None,
            )
            # The last panel keeps the cell size of the others.
            ax.set_xlim(-0.5, panel_columns - 0.5)
            ax.set_ylim(panel_rows - 0.5, -0.5)
    if title is not None:
        figure.suptitle(title)
    figure.colorbar(image, ax=axes.tolist(), label="attention weight")
    return axes[0]


def format_attention(weights, x_labels, y_labels, precision=2):
    """Formats attention weights as an aligned text table, one row per query.

    Args:
        weights: array-like of shape `(num_queries, num_keys)`.
        x_labels: labels of the keys (the column headers).
        y_labels: labels of the queries (the first column).
        precision: digits after the decimal point.

    Returns:
        The table as a string of `num_queries + 1` lines.

    Example:

    >>> print(format_attention([[0.9, 0.1]], ["der", "Hund"], ["the"]))
          der  Hund
    the  0.90  0.10
    """
    weights = _check_weights(weights, x_labels, y_labels)
    row_width = max(len(label) for label in y_labels)
    cell_width = max([precision + 2] + [len(label) for label in x_labels])
    lines = [
        " " * row_width
        + "".join(f"  {label:>{cell_width}}" for label in x_labels)
    ]
    for label, row in zip(y_labels, weights):
        lines.append(
            f"{label:<{row_width}}"
            + "".join(f"  {value:>{cell_width}.{precision}f}" for value in row)
        )
    return "\n".join(lines)


def save_figure(fig, path, dpi=150):
    """Saves a figure so that `path` never holds a half-written file.

    The figure is written to a hidden temporary file in the same directory,
    which then replaces `path` in one step.

    Args:
        fig: the matplotlib `Figure`.
        path: where to save it; the extension picks the format (e.g. `.png`).
        dpi: resolution in dots per inch.

    Returns:
        `path`.
    """
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi)
    return path


def plot_paths(path, count):
    """Where `predict --plot PATH` writes the figures of `count` inputs.

    Args:
        path: the path given on the command line.
        count: how many inputs get a figure.

    Returns:
        `[path]` for one input, else `<stem>-1<ext>`, `<stem>-2<ext>`, ...
    """
    if count == 1:
        return [path]
    stem, ext = os.path.splitext(path)
    return [f"{stem}-{i}{ext}" for i in range(1, count + 1)]


def save_attention_plots(path, figures):
    """Draws and saves one attention heatmap per input (`plot_paths`).

    Args:
        path: the `--plot` path.
        figures: a list of `(weights, x_labels, y_labels, title)`, one per
            input, as `plot_attention` takes them.

    Returns:
        The paths written.
    """
    paths = plot_paths(path, len(figures))
    for target, (weights, x_labels, y_labels, title) in zip(paths, figures):
        ax = plot_attention(weights, x_labels, y_labels, title=title)
        save_figure(ax.figure, target)
        plt.close(ax.figure)
    return paths
