"""Summarization corpora: AESLC, BBC News Summary and users' JSONL/CSV files.

A corpus is a dict of splits (`"train"`, `"val"`, `"test"`), each a list of
`Example`s of raw text. The archives are read as they are distributed (no
unpacking step):

- AESLC (Zhang & Tetreault 2019), `summarization/aeslc.tar.gz`: an email body
  and its subject line, in the standard train / dev / test split (dev is our
  `"val"`). Dev and test emails also carry three human-written subjects
  (`@ann0..2`), the references the paper evaluates against.
- BBC News Summary, `summarization/bbc_news_summary.tar.gz`: 2,225 articles
  with extractive summaries in five categories and no standard split. Per
  category, the articles sorted by the SHA-256 of their relative path
  (`business/001.txt`) give the first 10% to test, the next 10% to val and
  the rest to train. The headline (the article's first line) is left out of
  the text: the summaries are drawn from the body. Summary sentences are
  stored glued together (`"$10.9bn.For the"`); a space is put back after a
  sentence end that runs into a capitalized word. A file that is not UTF-8 is
  read as Windows-1252 (the dataset's one such file has a `£` in it).

No text is scored on what training saw: texts are compared after Unicode
NFKC normalization, case folding and white-space collapsing
(`splits.normalized_text`). Of BBC articles that copy each other (137 of
the 2,225 are copies, e.g. `entertainment/308` of `068`), only the first by
relative path is kept, before the split. AESLC keeps its standard test split
whole and removes the copies of test bodies from dev (211) and train, then
the copies of dev bodies from train (15 train bodies in all). A user's file
keeps the first of its copies before the split. Every reader returns a
report of what it removed or skipped, with counts, which training keeps in
`run.json`.
"""

import collections
import dataclasses
import hashlib
import os
import re
import tarfile

import pandas as pd

from attention_suite.apps.common.data.paths import load_dataset
from attention_suite.apps.common.data.splits import (
    drop_duplicates,
    drop_leaks,
    held_out_split,
)

AESLC_FILE = os.path.join("summarization", "aeslc.tar.gz")
BBC_FILE = os.path.join("summarization", "bbc_news_summary.tar.gz")
AESLC_SPLITS = {"train": "train", "dev": "val", "test": "test"}
BBC_HELD_OUT = 0.1
_GLUED_SENTENCES = re.compile(r"([.!?][\"']?)(?=[A-Z][a-z])")


@dataclasses.dataclass(frozen=True)
class Example:
    """One document and its summary.

    Attributes:
        text: the document.
        summary: its reference summary (AESLC: the original subject line).
        references: further reference summaries (AESLC dev/test: the three
            annotators' subjects); empty when there are none.
        name: where it comes from (the file inside the archive, or a row).
    """

    text: str
    summary: str
    references: tuple = ()
    name: str = ""


def _decode(raw):
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")


def _archive_files(path):
    """Yields `(member name, text)` for every file of a `.tar.gz`."""
    if not os.path.isfile(path):
        raise ValueError(f"Missing archive {path}.")
    try:
        with tarfile.open(path, "r:*") as archive:
            for member in archive:
                if member.isfile():
                    yield (
                        member.name,
                        _decode(archive.extractfile(member).read()),
                    )
    except tarfile.TarError as error:
        raise ValueError(
            f"{path} is not a readable tar archive: {error}"
        ) from None


def parse_aeslc(document, name=""):
    """Parses one AESLC `.subject` file.

    Args:
        document: the file's text: the email body, then `@subject` and the
            subject line, then (dev and test) `@ann0`, `@ann1`, `@ann2`, each
            followed by an annotator's subject.
        name: the file's name, kept in the example.

    Returns:
        An `Example`.

    Raises:
        ValueError: there is no `@subject` section.
    """
    sections, current, lines = {}, "text", []
    for line in document.splitlines():
        tag = line.strip()
        if tag in ("@subject", "@ann0", "@ann1", "@ann2"):
            sections[current] = lines
            current, lines = tag[1:], []
        else:
            lines.append(line)
    sections[current] = lines
    if "subject" not in sections:
        raise ValueError(
            f"AESLC file {name or '<text>'} has no @subject section."
        )

    def joined(key):
        return " ".join(" ".join(sections.get(key, [])).split())

    references = tuple(
        joined(key) for key in ("ann0", "ann1", "ann2") if key in sections
    )
    return Example(
        text="\n".join(line.strip() for line in sections["text"]).strip(),
        summary=joined("subject"),
        references=references,
        name=name,
    )


def read_aeslc(path):
    """Reads AESLC straight from its archive, in the standard split.

    Args:
        path: `aeslc.tar.gz`.

    Returns:
        `(corpus, report)`: the corpus dict (sorted by file name within each
        split, copies of test texts removed from val and train) and a
        `Counter` of the removed copies.
    """
    corpus = {split: [] for split in AESLC_SPLITS.values()}
    for name, document in _archive_files(path):
        parts = name.split("/")
        if not name.endswith(".subject") or len(parts) < 2:
            continue
        if parts[-2] in AESLC_SPLITS:
            corpus[AESLC_SPLITS[parts[-2]]].append(parse_aeslc(document, name))
    for split, examples in corpus.items():
        if not examples:
            raise ValueError(f"{path} holds no AESLC {split} emails.")
        examples.sort(key=lambda example: example.name)
    corpus, removed = drop_leaks(corpus, key=lambda example: example.text)
    report = collections.Counter(
        {
            f"copies of held-out texts removed from {split}": count
            for split, count in removed.items()
        }
    )
    return corpus, +report


def read_bbc(path, held_out=BBC_HELD_OUT):
    """Reads BBC News Summary from its archive and splits it (see module doc).

    Args:
        path: `bbc_news_summary.tar.gz`.
        held_out: fraction of each category for each of val and test.

    Returns:
        `(corpus, report)`: the corpus dict and a `Counter` of the articles
        removed as copies of another.
    """
    articles, summaries = {}, {}
    for name, text in _archive_files(path):
        parts = name.split("/")
        if len(parts) < 3 or not name.endswith(".txt"):
            continue
        relative = "/".join(parts[-2:])
        if parts[-3] == "News Articles":
            articles[relative] = text
        elif parts[-3] == "Summaries":
            summaries[relative] = text
    paired = sorted(set(articles) & set(summaries))
    if not paired:
        raise ValueError(f"{path} holds no article/summary pairs.")
    bodies = {relative: _bbc_body(articles[relative]) for relative in paired}
    paired, copies = drop_duplicates(paired, key=bodies.get)
    report = collections.Counter({"copies of another article removed": copies})
    by_category = {}
    for relative in paired:
        by_category.setdefault(relative.split("/")[0], []).append(relative)
    corpus = {"train": [], "val": [], "test": []}
    for names in by_category.values():
        names.sort(key=lambda n: hashlib.sha256(n.encode()).hexdigest())
        count = round(len(names) * held_out)
        for index, relative in enumerate(names):
            split = (
                "test"
                if index < count
                else "val"
                if index < 2 * count
                else "train"
            )
            summary = _GLUED_SENTENCES.sub(r"\1 ", summaries[relative].strip())
            corpus[split].append(
                Example(
                    text=bodies[relative],
                    summary=" ".join(summary.split()),
                    name=relative,
                )
            )
    return corpus, +report


def _bbc_body(article):
    """A BBC article without its headline (its first line)."""
    lines = article.strip().splitlines()
    return "\n".join(line.strip() for line in lines[1:] if line.strip())


def read_records(path, held_out=0.05, seed=0):
    """Reads a user's JSONL or CSV file with `text` and `summary` fields.

    A random (seeded) `held_out` fraction goes to validation and another to
    test. Rows whose text or summary is missing, null or blank are skipped,
    and so are rows whose text copies an earlier row's; the report counts
    them.

    Args:
        path: a `.jsonl` (one JSON object per line) or `.csv` file (with a
            header row), optionally gzipped.
        held_out: fraction of rows for each of val and test.
        seed: seed of the split.

    Returns:
        `(corpus, report)`: the corpus dict and a `Counter` of the rows
        skipped, by reason.

    Raises:
        ValueError: an unreadable file, missing `text` / `summary` fields, or
            too few usable rows.
    """
    stem = path[: -len(".gz")] if path.endswith(".gz") else path
    if not stem.endswith((".jsonl", ".csv")):
        raise ValueError(
            f"{path}: expected a .jsonl or .csv file (optionally .gz)."
        )
    try:
        if stem.endswith(".jsonl"):
            frame = pd.read_json(path, lines=True, dtype=False)
        else:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as error:
        raise ValueError(f"{path} is not readable: {error}") from None
    missing = {"text", "summary"} - set(frame.columns)
    if missing:
        raise ValueError(
            f"{path} has no {sorted(missing)} field(s); "
            f"found {list(frame.columns)}."
        )
    examples, report = [], collections.Counter()
    for i, (text, summary) in enumerate(zip(frame["text"], frame["summary"])):
        text, summary = _field(text), _field(summary)
        if not text or not summary:
            report["no text" if not text else "no summary"] += 1
            continue
        examples.append(Example(text=text, summary=summary, name=f"row {i}"))
    examples, copies = drop_duplicates(examples, key=lambda e: e.text)
    report["copies of an earlier text"] = copies
    return held_out_split(examples, path, held_out, seed), +report


def _field(value):
    """A text field of a row: the stripped string, or `""` when the value is
    missing (`None`, NaN) or not a string."""
    return value.strip() if isinstance(value, str) else ""


def load_corpus(data, data_dir=None):
    """Loads a corpus by name (`"aeslc"`, `"bbc"`) or from a JSONL/CSV file.

    Args:
        data: `"aeslc"`, `"bbc"` or the path of a JSONL/CSV file.
        data_dir: the data directory holding `summarization/`.

    Returns:
        `(corpus, report)`: the corpus dict and a `Counter` of what the
        reader removed or skipped.
    """
    readers = {"aeslc": (read_aeslc, AESLC_FILE), "bbc": (read_bbc, BBC_FILE)}
    return load_dataset(
        data, data_dir, readers, read_records, "a JSONL/CSV file"
    )
