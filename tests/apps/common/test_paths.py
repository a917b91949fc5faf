"""How a dataset named on the command line is found, or why it is not."""

import pytest

from attention_suite.apps.common.data.paths import load_dataset

READERS = {"multi30k": (lambda path: path, "translation/multi30k")}


def _load(data, data_dir=None):
    return load_dataset(data, data_dir, READERS, lambda path: path, "a TSV")


@pytest.mark.parametrize(
    "data, message",
    [
        ("missing.csv", r"The file 'missing.csv' does not exist: expected a "),
        ("data/pairs", r"The file 'data/pairs' does not exist"),
        ("wmt14", r"Unknown dataset 'wmt14': expected 'multi30k' or a TSV"),
    ],
)
def test_a_missing_file_is_named_as_a_missing_file(data, message):
    with pytest.raises(ValueError, match=message):
        _load(data)


def test_a_directory_is_not_a_data_file(tmp_path):
    with pytest.raises(ValueError, match="is a directory"):
        _load(str(tmp_path))


def test_a_file_and_a_dataset_name_are_both_found(tmp_path):
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("a\tb\n")
    assert _load(str(pairs)) == str(pairs)
    assert _load("multi30k", str(tmp_path)) == str(
        tmp_path / "translation/multi30k"
    )
