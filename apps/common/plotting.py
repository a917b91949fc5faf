"""Attention weights as heatmaps and text tables, and atomic figure saving."""

import numpy as np
from matplotlib import pyplot as plt

from apps.common.atomic import atomic_path


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


def plot_attention(weights, x_labels=None, y_labels=None, ax=None, title=None):
    """Draws attention weights as a heatmap, one row per query.

    Args:
        weights: array-like of shape `(num_queries, num_keys)` with values in
            `[0, 1]`, e.g. one example of what
            `layers.Attention(..., return_attention_scores=True)` returns.
        x_labels: optional labels of the keys, shown above the columns.
        y_labels: optional labels of the queries, shown left of the rows.
        ax: the matplotlib `Axes` to draw on; `None` draws on a new figure.
        title: optional title of the axes.

    Returns:
        The `Axes` drawn on; `ax.images[0]` is the heatmap, e.g. for
        `fig.colorbar()`.

    Example:

    >>> weights = np.array([[0.9, 0.1], [0.2, 0.8]])
    >>> ax = plot_attention(weights, ["der", "Hund"], ["the", "dog"])
    """
    weights = _check_weights(weights, x_labels, y_labels)
    if ax is None:
        _, ax = plt.subplots(layout="constrained")
    ax.imshow(weights, cmap="viridis", vmin=0.0, vmax=1.0)
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
    return ax


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
