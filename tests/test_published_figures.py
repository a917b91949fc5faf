"""The published figures: each README headline figure is held by a results
file that is current (not marked superseded), at the place named here, and
the serving speeds are medians of repeats at the batch sizes the server
takes."""

import json
import re
import statistics

import pytest
from helpers import REPO

from attention_suite.apps.cli import build_parser
from attention_suite.apps.common.serving.process import LATENCY_BATCH_SIZES

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
            "reproduced/traffic-los-loop-20261207-184156.json",
            [
                f"seeds/{statistic}/test/attention/average/{m}"
                for m in ("mae", "rmse", "mape")
                for statistic in ("mean", "std")
            ],
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
        # How many times the figure's test set has been scored, by then.
        assert f"scored {record['test_looks']} times" in row, name


def test_every_app_row_is_checked():
    rows = [line for line in README.splitlines() if "| `attn " in line]
    assert len(rows) == len(PUBLISHED)


def test_serving_speeds_are_medians_of_repeats_at_the_checked_sizes():
    results = json.loads((RESULTS / "serving.json").read_text("utf-8"))
    # The batch sizes `serve-check` times by default.
    assert tuple(results["batch_sizes"]) == LATENCY_BATCH_SIZES
    assert results["repeats"] >= 5
    for app, figures in results["apps"].items():
        repeats = figures["repeats"]
        assert len(repeats) == results["repeats"], app
        assert all(r["load_average"] >= 0 for r in repeats), app
        for path in ("saved_model", "predict"):
            rows = [r[path]["rows_per_s"] for r in repeats]
            assert figures[path]["rows_per_s"] == {
                "median": pytest.approx(statistics.median(rows)),
                "min": min(rows),
                "max": max(rows),
            }, (app, path)
    # The docs show the results file's table, row for row.
    table = (RESULTS / "serving.md").read_text("utf-8")
    docs = (REPO / "docs" / "serving.md").read_text("utf-8")
    rows = [line for line in table.splitlines() if line.startswith("|")]
    assert len(rows) == 2 + len(results["apps"])
    assert all(row in docs for row in rows)


def test_serve_check_times_the_sizes_the_server_batches():
    parser = build_parser()
    serve_check = parser.parse_args(["traffic", "serve-check", "--model", "m"])
    assert tuple(serve_check.batch_sizes) == LATENCY_BATCH_SIZES
    config = (REPO / "saved_models" / "batching.config").read_text("utf-8")
    largest = int(re.search(r"max_batch_size \{ value: (\d+) \}", config)[1])
    assert max(LATENCY_BATCH_SIZES) == largest


def test_each_results_file_counts_the_test_looks_up_to_it(monkeypatch):
    monkeypatch.syspath_prepend(str(REPO / "benchmarks"))
    import looks
    import reproduce

    assert sorted(looks.PLACES) == sorted(reproduce.FIGURES)
    for figure in looks.PLACES:
        for path, count in looks.looks_by_file(figure).items():
            record = json.loads((REPO / path).read_text("utf-8"))
            assert record.get("test_looks") == count, path


# A reproduce command as the docs give it: the figure, then its options.
COMMAND = re.compile(
    r"reproduce\.py\s+([a-z-]+)((?:\s+--(?:set|seeds)\s+[^\s`]+)*)"
)


def _current(figure):
    """The newest reproduced results file of a figure not superseded."""
    paths = sorted((RESULTS / "reproduced").glob(f"{figure}-[0-9]*.json"))
    records = [json.loads(path.read_text("utf-8")) for path in paths]
    current = [r for r in records if "superseded" not in r.get("status", "")]
    return current[-1] if current else None


def test_a_reproduce_command_in_the_docs_gives_the_published_settings():
    pages = [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]
    text = "\n".join(page.read_text("utf-8") for page in pages)
    commands = {}
    for figure, options in COMMAND.findall(text.replace("\\\n", " ")):
        sets = sorted(re.findall(r"--set\s+(\S+)", options))
        seeds = re.findall(r"--seeds\s+(\d+)", options)
        commands.setdefault(figure, []).append(
            (sets, int(seeds[0]) if seeds else 1)
        )
    assert commands
    for figure, given in commands.items():
        record = _current(figure)
        if record is None:
            continue
        published = (
            sorted(record["overrides"]),
            len(record.get("seeds", {}).get("seeds", [0])),
        )
        assert published in given, figure
