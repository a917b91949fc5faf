"""No test item occurs in train or validation, in any dataset the apps read.

Texts are compared as `splits.normalized_text` compares them (NFKC, case
folded, white space collapsed): a copy that differs only in case or spacing
is still a copy.
"""

import json

import pytest
from helpers import real_data_dir

from attention_suite.apps.common.data.splits import (
    drop_duplicates,
    drop_leaks,
    normalized_text,
)
from attention_suite.apps.qa import data as qa_data
from attention_suite.apps.summarization import data as summarization_data
from attention_suite.apps.translation import data as translation_data


def assert_no_leaks(corpus, key):
    """Fails if a test text is in train or val, or a val text in train."""
    texts = {
        split: {normalized_text(key(item)) for item in items}
        for split, items in corpus.items()
    }
    assert not texts["test"] & (texts["train"] | texts["val"])
    assert not texts["val"] & texts["train"]


def translation_pairs(corpus):
    return {
        split: list(zip(sources, targets))
        for split, (sources, targets) in corpus.items()
    }


def test_copies_go_from_the_later_splits_and_the_test_split_stays_whole():
    corpus = {
        "train": ["a b", "New", "held out", "Kept"],
        "val": ["A  B", "held out"],
        "test": ["a b", "other"],
    }
    cleaned, removed = drop_leaks(corpus, key=str)
    assert cleaned == {
        "train": ["New", "Kept"],
        "val": ["held out"],
        "test": ["a b", "other"],
    }
    assert removed == {"val": 1, "train": 2}
    assert drop_duplicates(["x", "X ", "y"], key=str) == (["x", "y"], 1)


@pytest.mark.parametrize(
    "dataset, load, key",
    [
        (
            "multi30k",
            lambda d: translation_pairs(
                translation_data.load_corpus("multi30k", d)
            ),
            lambda pair: pair[0],
        ),
        (
            "aeslc",
            lambda d: summarization_data.load_corpus("aeslc", d)[0],
            lambda example: example.text,
        ),
        (
            "bbc",
            lambda d: summarization_data.load_corpus("bbc", d)[0],
            lambda example: example.text,
        ),
        (
            "squad",
            lambda d: qa_data.load_corpus("squad", d)[0],
            lambda example: example.context,
        ),
    ],
)
def test_no_test_text_in_train_or_val_of_the_real_datasets(dataset, load, key):
    assert_no_leaks(load(str(real_data_dir())), key)


def test_no_test_text_in_train_or_val_of_users_files(tmp_path):
    sentences = [f"sentence number {i}" for i in range(60)]
    copies = [s.upper() for s in sentences[:20]]
    tsv = tmp_path / "pairs.tsv"
    tsv.write_text("".join(f"{s}\t{s[::-1]}\n" for s in sentences + copies))
    pairs = translation_pairs(translation_data.load_corpus(str(tsv)))
    assert sum(len(part) for part in pairs.values()) == 60
    assert_no_leaks(pairs, key=lambda pair: pair[0])

    jsonl = tmp_path / "pairs.jsonl"
    rows = [{"text": s, "summary": s[:8]} for s in sentences + copies]
    jsonl.write_text("".join(json.dumps(row) + "\n" for row in rows))
    corpus, report = summarization_data.load_corpus(str(jsonl))
    assert report == {"copies of an earlier text": 20}
    assert_no_leaks(corpus, key=lambda example: example.text)
