"""The README's headline figures: each is held by a results file that is
current (not marked superseded), at the place named here."""

import json

import pytest
from helpers import REPO

RESULTS = REPO / "benchmarks" / "results"
README = (REPO / "README.md").read_text(encoding="utf-8")

# ROUGE-1 / 2 / L of beam search against the original references.
ROUGE = [
    f"test/scores/original/beam4/{s}" for s in ("rouge1", "rouge2", "rougeL")
]
# The README's app row -> (results file, the figures' places in it), each
# figure printed with two decimals in the row.
PUBLISHED = {
    "machine translation": [
        (
            "reproduced/translation-transformer-20261204-141603.json",
            ["test/beam4/bleu", "test/beam4/chrf"],
        )
    ],
    "summarization": [
        ("reproduced/summarization-aeslc-20261204-173058.json", ROUGE),
        ("reproduced/summarization-bbc-20261203-184242.json", ROUGE),
    ],
    "question answering": [
        (
            "reproduced/qa-bidaf-20261205-120623.json",
            ["test/scores/bidaf/exact_match", "test/scores/bidaf/f1"],
        )
    ],
    "traffic forecasting": [
        (
            "reproduced/traffic-los-loop-20261206-071144.json",
            [f"test/attention/average/{m}" for m in ("mae", "rmse", "mape")],
        )
    ],
}


def _row(app):
    """The README's table row of an app."""
    (row,) = [
        line for line in README.splitlines() if line.startswith(f"| {app} |")
    ]
    return row


def _at(record, path):
    """The value at a `/`-separated path of a JSON record."""
    for key in path.split("/"):
        record = record[key]
    return record


@pytest.mark.parametrize("app", sorted(PUBLISHED))
def test_a_headline_figure_is_in_a_current_results_file(app):
    row = _row(app)
    for name, paths in PUBLISHED[app]:
        record = json.loads((RESULTS / name).read_text(encoding="utf-8"))
        assert "superseded" not in record.get("status", ""), name
        for path in paths:
            assert f"{_at(record, path):.2f}" in row, (name, path)


def test_every_app_row_is_checked():
    rows = [line for line in README.splitlines() if "| `attn " in line]
    assert len(rows) == len(PUBLISHED)
