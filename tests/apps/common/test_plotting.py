"""Tests of the attention heatmaps: colour bar, cell size, wrapping."""

import numpy as np
import pytest
from matplotlib import image

from attention_suite.apps.common.cli import plotting


def labels(prefix, count):
    return [f"{prefix}{i}" for i in range(count)]


def heatmap_axes(figure):
    return [
        ax for ax in figure.axes if ax.images and ax.get_label() != "<colorbar>"
    ]


@pytest.mark.parametrize(
    "shape",
    [(1, 1), (7, 9), (300, 12), (30, 400)],
    ids=["one_cell", "sentence", "qa_context", "summary"],
)
def test_saved_heatmap_has_a_colour_bar_and_a_sane_shape(tmp_path, rng, shape):
    rows, columns = shape
    weights = rng.dirichlet(np.ones(columns), size=rows)
    ax = plotting.plot_attention(
        weights, labels("key", columns), labels("query", rows), title="t"
    )
    figure = ax.figure
    assert [a.get_label() for a in figure.axes].count("<colorbar>") == 1
    path = plotting.save_figure(figure, str(tmp_path / "heatmap.png"))
    height, width, _ = image.imread(path).shape
    assert 1 / 3 <= width / height <= 3
    # Every cell is drawn once, big enough for the labels.
    panels = heatmap_axes(figure)
    drawn = [len(a.get_xticks()) * len(a.get_yticks()) for a in panels]
    assert sum(drawn) == rows * columns
    for panel in panels:
        box = panel.get_window_extent()
        cell_width = box.width / np.ptp(panel.get_xlim())
        cell_height = box.height / np.ptp(panel.get_ylim())
        assert min(cell_width, cell_height) / figure.dpi >= 0.15  # inches


def test_heatmap_on_given_axes_draws_no_colour_bar():
    from matplotlib.figure import Figure

    figure = Figure()
    ax = figure.subplots()
    assert plotting.plot_attention([[0.3, 0.7]], ax=ax) is ax
    assert figure.axes == [ax]
    assert len(ax.images) == 1


def test_heatmap_labels_must_match_the_weights():
    with pytest.raises(ValueError, match="2 labels for an axis of size 3"):
        plotting.plot_attention(np.full((1, 3), 1 / 3), ["a", "b"])
