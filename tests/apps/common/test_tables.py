"""Markdown tables of the reports."""

import pytest

from attention_suite.apps.common.cli.tables import markdown_table


def test_default_alignment_is_first_left_rest_right():
    table = markdown_table(
        ["method", "BLEU", "chrF"], [["greedy", "27.31", "55.0"]]
    )
    assert table == (
        "| method | BLEU | chrF |\n|---|---:|---:|\n| greedy | 27.31 | 55.0 |\n"
    )


def test_explicit_alignment_and_no_rows():
    table = markdown_table(["references", "method", "ROUGE-1"], [], "llr")
    assert table.splitlines() == [
        "| references | method | ROUGE-1 |",
        "|---|---|---:|",
    ]


@pytest.mark.parametrize(
    "rows, align, message",
    [
        ([["a", "1"]], "l", "align must be 2 letters"),
        ([["a", "1"]], "lc", "align must be 2 letters"),
        ([["a"]], None, "each row must have 2 cells"),
    ],
)
def test_mismatched_columns_are_rejected(rows, align, message):
    with pytest.raises(ValueError, match=message):
        markdown_table(["method", "score"], rows, align)
