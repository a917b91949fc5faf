"""Summarization corpora: the AESLC and BBC archive readers, users' JSONL/CSV
files, and (when the data directory is there) the real archives."""

import gzip
import io
import json
import tarfile

import pytest
from helpers import real_data_dir

from attention_suite.apps.summarization import data

EMAIL = """Phillip,  Could you send the
title policy?
Thanks,

@subject
Title policy

@ann0
need the title policy

@ann1
title policy request

@ann2
send title policy
"""


def _write_archive(path, files):
    with tarfile.open(path, "w:gz") as archive:
        for name, content in files.items():
            raw = content if isinstance(content, bytes) else content.encode()
            info = tarfile.TarInfo(name)
            info.size = len(raw)
            archive.addfile(info, io.BytesIO(raw))
    return str(path)


def test_aeslc_file_sections():
    example = data.parse_aeslc(EMAIL, "x.subject")
    assert (
        example.text == "Phillip,  Could you send the\ntitle policy?\nThanks,"
    )
    assert example.summary == "Title policy"
    assert example.references == (
        "need the title policy",
        "title policy request",
        "send title policy",
    )
    train = data.parse_aeslc("Hello there\n\n@subject\nHi\n")
    assert (train.summary, train.references) == ("Hi", ())
    with pytest.raises(ValueError, match="no @subject"):
        data.parse_aeslc("just a body")


def test_aeslc_archive_keeps_the_standard_split(tmp_path):
    root = "enron_subject_line"
    path = _write_archive(
        tmp_path / "aeslc.tar.gz",
        {
            f"{root}/train/b.subject": "Body b\n@subject\nB\n",
            f"{root}/train/a.subject": "Body a\n@subject\nA\n",
            # A copy of the test email (case and spacing aside) in dev and
            # train, and a copy of the dev email in train: all three go.
            f"{root}/train/e.subject": EMAIL.replace("Phillip,", "PHILLIP,"),
            f"{root}/train/f.subject": "Dev  body\n@subject\nF\n",
            f"{root}/dev/c.subject": "Dev body\n@subject\nC\n",
            f"{root}/dev/g.subject": EMAIL.replace("\n", "\n\n", 1),
            f"{root}/test/d.subject": EMAIL,
            f"{root}/README.md": "not an email",
        },
    )
    corpus, report = data.read_aeslc(path)
    assert [e.summary for e in corpus["train"]] == ["A", "B"]
    assert [e.summary for e in corpus["val"]] == ["C"]
    assert len(corpus["test"]) == 1
    assert len(corpus["test"][0].references) == 3
    assert report == {
        "copies of held-out texts removed from val": 1,
        "copies of held-out texts removed from train": 2,
    }


def _bbc_files(per_category):
    files = {}
    for category in ("business", "sport"):
        for number in range(per_category):
            relative = f"{category}/{number:03d}.txt"
            files[f"BBC News Summary/News Articles/{relative}"] = (
                f"Headline {number}\n\nFirst {category} sentence. "
                f"Number {number}.\n"
            )
            files[f"BBC News Summary/Summaries/{relative}"] = (
                "First sentence.Second one costs \xa35m."
            )
    files["BBC News Summary/News Articles/sport/000.txt"] = (
        "Headline\n\nIt cost \xa315m.".encode("cp1252")
    )
    return files


def test_bbc_split_is_stratified_deterministic_and_decodes_cp1252(tmp_path):
    path = _write_archive(tmp_path / "bbc.tar.gz", _bbc_files(20))
    corpus, report = data.read_bbc(path)
    assert not report
    assert {k: len(v) for k, v in corpus.items()} == {
        "train": 32,
        "val": 4,
        "test": 4,
    }
    for split in ("val", "test"):
        categories = [e.name.split("/")[0] for e in corpus[split]]
        assert categories.count("business") == categories.count("sport") == 2
    again, _ = data.read_bbc(path)
    assert [e.name for e in again["test"]] == [e.name for e in corpus["test"]]
    everything = {e.name: e for part in corpus.values() for e in part}
    assert everything["sport/000.txt"].text == "It cost \xa315m."
    business = everything["business/001.txt"]
    assert business.text.startswith("First business sentence.")  # no headline
    assert business.summary == "First sentence. Second one costs \xa35m."


def test_bbc_copies_keep_their_first_article_before_the_split(tmp_path):
    files = _bbc_files(20)
    # sport/017 repeats sport/005's body under another headline.
    copy = files["BBC News Summary/News Articles/sport/005.txt"]
    files["BBC News Summary/News Articles/sport/017.txt"] = copy.replace(
        "Headline 5", "Another headline"
    )
    corpus, report = data.read_bbc(_write_archive(tmp_path / "b.tar.gz", files))
    assert report == {"copies of another article removed": 1}
    names = [e.name for part in corpus.values() for e in part]
    assert "sport/005.txt" in names and "sport/017.txt" not in names
    assert len(names) == 39


def test_records_from_jsonl_and_csv(tmp_path):
    rows = [
        {"text": f"document {i}", "summary": f"summary {i}"} for i in range(40)
    ]
    rows += [
        {"text": "   ", "summary": "skipped: no text"},
        {"text": "skipped: null summary", "summary": None},
        {"text": "skipped: no summary field"},
        {"text": "Document 3", "summary": "skipped: a copy of row 3"},
    ]
    jsonl = tmp_path / "pairs.jsonl.gz"
    with gzip.open(jsonl, "wt", encoding="utf-8") as f:
        f.write("\n".join(json.dumps(r) for r in rows))
    corpus, report = data.load_corpus(str(jsonl))
    assert {k: len(v) for k, v in corpus.items()} == {
        "train": 36,
        "val": 2,
        "test": 2,
    }
    assert report == {
        "no text": 1,
        "no summary": 2,
        "copies of an earlier text": 1,
    }
    summaries = {e.summary for part in corpus.values() for e in part}
    assert "nan" not in summaries and "None" not in summaries
    csv = tmp_path / "pairs.csv"
    csv.write_text(
        'text,summary\n"a, quoted\nmulti-line text",short\n'
        + "".join(f"doc {i},sum {i}\n" for i in range(39))
    )
    texts = [
        e.text for part in data.read_records(str(csv))[0].values() for e in part
    ]
    assert "a, quoted\nmulti-line text" in texts


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("pairs.csv", "body,title\nx,y\n", "no \\['summary', 'text'\\]"),
        ("pairs.txt", "text,summary\n", "expected a .jsonl or .csv"),
        ("pairs.jsonl", '{"text": "x", "summary": "y"}\n', "too few"),
        ("pairs.jsonl", "{not json\n", "not readable"),
    ],
)
def test_bad_record_files_get_clear_errors(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(ValueError, match=message):
        data.read_records(str(path))


def test_unknown_dataset_and_broken_archive(tmp_path):
    with pytest.raises(ValueError, match="Unknown dataset 'cnn'"):
        data.load_corpus("cnn", str(tmp_path))
    broken = tmp_path / "summarization" / "aeslc.tar.gz"
    broken.parent.mkdir()
    broken.write_bytes(b"\x1f\x8b not really gzip")
    with pytest.raises(ValueError, match="not a readable tar archive"):
        data.load_corpus("aeslc", str(tmp_path))
    with pytest.raises(ValueError, match="Missing archive"):
        data.load_corpus("bbc", str(tmp_path))


def test_real_archives():
    data_dir = str(real_data_dir())
    aeslc, report = data.load_corpus("aeslc", data_dir)
    assert {k: len(v) for k, v in aeslc.items()} == {
        "train": 14436 - 15,
        "val": 1960 - 211,
        "test": 1906,
    }
    assert sum(report.values()) == 15 + 211
    assert all(len(e.references) == 3 for e in aeslc["test"])
    bbc, report = data.load_corpus("bbc", data_dir)
    assert sum(len(v) for v in bbc.values()) == 2225 - 137
    assert report == {"copies of another article removed": 137}
    assert len(bbc["test"]) == len(bbc["val"])
    everything = {e.name: e for part in bbc.values() for e in part}
    assert "\xa315.8m" in everything["sport/199.txt"].text


def test_rouge_wiring_on_known_cases():
    from attention_suite.apps.summarization.evaluation import rouge

    assert rouge(["the cat sat"], ["the cat sat"]) == {
        "rouge1": 100.0,
        "rouge2": 100.0,
        "rougeL": 100.0,
    }
    # Stemming: "running cats" matches "run cat".
    assert rouge(["running cats"], ["run cat"])["rouge1"] == 100.0
    # Several references: the mean, or the best, of the per-reference scores.
    both = rouge(["the cat sat"], [["the cat sat", "a dog ran"]])
    assert both == {"rouge1": 50.0, "rouge2": 50.0, "rougeL": 50.0}
    best = rouge(["the cat sat"], [["the cat sat", "a dog ran"]], "max")
    assert best == {"rouge1": 100.0, "rouge2": 100.0, "rougeL": 100.0}
    with pytest.raises(ValueError, match="combine must be one of"):
        rouge(["a"], ["a"], "median")
    # Unigrams 2 of 3 (P = R = 2/3), one bigram of two ("the cat").
    partial = rouge(["the cat ran"], ["the cat sat"])
    assert partial["rouge1"] == 66.67 and partial["rouge2"] == 50.0
    with pytest.raises(ValueError, match="2 summaries for 1 references"):
        rouge(["a", "b"], ["a"])


def test_lead_baselines():
    from attention_suite.apps.summarization.evaluation import lead, sentences

    text = 'He said "Go home." Then he left!\nNew line here. And more? Yes'
    assert sentences(text) == [
        'He said "Go home."',
        "Then he left!",
        "New line here.",
        "And more?",
        "Yes",
    ]
    assert lead(text) == 'He said "Go home."'
    assert lead(text, 3) == 'He said "Go home." Then he left! New line here.'
    assert lead(text, 3, max_words=5) == 'He said "Go home." Then'
    assert lead("   ") == ""
