"""SQuAD-format question answering data: reading, validating, splitting.

A corpus is a dict of splits (`"train"`, `"val"`, `"test"`), each a list of
`Example`s. `read_squad` reads any file in the SQuAD v1.1 JSON layout
(`{"data": [{"title", "paragraphs": [{"context", "qas": [{"id",
"question", "answers": [{"text", "answer_start"}]}]}]}]}`, optionally
gzipped) and reports what it had to skip or repair instead of failing on
the first bad record:

* a question or context that is empty, or a record missing a field, is
  skipped and counted;
* an answer whose text is not at its `answer_start` is moved to the first
  occurrence of its text in the context (counted as `moved`), and skipped
  when the text does not occur at all.

The named dataset `squad` is SQuAD v1.1: training on the train set (the one
rebuilt from the official site's pages, whose `answer_start` is the first
occurrence of the answer text), testing on the official dev set. Whole
training articles are held out for validation: the articles sorted by the
SHA-256 of their title, the first `VAL_ARTICLES` of them.
"""

import collections
import dataclasses
import gzip
import hashlib
import json
import os

from attention_suite.apps.common.data.paths import load_dataset
from attention_suite.apps.common.data.splits import drop_leaks

SQUAD_DIR = os.path.join("qa", "squad_v1.1")
# The train and dev files, the first present of each: the official files
# (`attn data fetch squad`), gzipped or not, then the train set rebuilt
# from the official site's pages.
SQUAD_TRAIN = (
    "train-v1.1.json",
    "train-v1.1.json.gz",
    "train-v1.1.explorer-reconstructed.json.gz",
)
SQUAD_DEV = ("dev-v1.1.json", "dev-v1.1.json.gz")
# Training articles held out for validation (of 442; about 5 % of them).
VAL_ARTICLES = 22


@dataclasses.dataclass(frozen=True)
class Example:
    """One question about one context.

    Attributes:
        id: the question id.
        title: the article the context comes from.
        context: the paragraph.
        question: the question.
        answers: the gold answers, a tuple of `(text, start)` with
            `context[start:start + len(text)] == text`; several for dev and
            test questions (annotators may repeat each other).
    """

    id: str
    title: str
    context: str
    question: str
    answers: tuple


def occurrences(context, text):
    """Every character offset where `text` occurs in `context`.

    Args:
        context: the paragraph.
        text: an answer text.

    Returns:
        The sorted list of start offsets (overlapping ones included).
    """
    starts, start = [], context.find(text)
    while text and start >= 0:
        starts.append(start)
        start = context.find(text, start + 1)
    return starts


def parse_squad(document, source="<data>"):
    """Validates and flattens a parsed SQuAD JSON document.

    Args:
        document: the parsed JSON.
        source: where it comes from, for messages.

    Returns:
        `(examples, report)`: the list of `Example`s, and a `Counter` of
        what was skipped or repaired (`"empty context"`, `"empty
        question"`, `"malformed record"`, `"answer not in context"`,
        `"moved"`, `"no answers"`).

    Raises:
        ValueError: the document is not in the SQuAD layout at all.
    """
    if not isinstance(document, dict) or not isinstance(
        document.get("data"), list
    ):
        raise ValueError(
            f"{source} is not SQuAD JSON: expected an object with a 'data' "
            "list."
        )
    examples, report = [], collections.Counter()
    for article in document["data"]:
        title = (
            str(article.get("title", "")) if isinstance(article, dict) else ""
        )
        paragraphs = (
            article.get("paragraphs") if isinstance(article, dict) else None
        )
        if not isinstance(paragraphs, list):
            report["malformed record"] += 1
            continue
        for paragraph in paragraphs:
            try:
                context, questions = paragraph["context"], paragraph["qas"]
            except (KeyError, TypeError):
                report["malformed record"] += 1
                continue
            if not isinstance(context, str) or not context.strip():
                report["empty context"] += (
                    len(questions) if isinstance(questions, list) else 1
                )
                continue
            for qa in questions:
                example = _parse_question(qa, title, context, report)
                if example is not None:
                    examples.append(example)
    return examples, report


def _parse_question(qa, title, context, report):
    """One `qas` record as an `Example`, or `None` (counted in `report`)."""
    try:
        question, raw_answers = str(qa["question"]), qa["answers"]
        qid = str(qa.get("id", ""))
        raw_answers = [
            (str(a["text"]), int(a["answer_start"])) for a in raw_answers
        ]
    except (KeyError, TypeError, ValueError):
        report["malformed record"] += 1
        return None
    if not question.strip():
        report["empty question"] += 1
        return None
    answers = []
    for text, start in raw_answers:
        if context[start : start + len(text)] != text or not text:
            found = occurrences(context, text)
            if not found:
                report["answer not in context"] += 1
                continue
            report["moved"] += 1
            start = found[0]
        answers.append((text, start))
    if not answers:
        report["no answers"] += 1
        return None
    return Example(qid, title, context, question, tuple(answers))


def read_squad(path):
    """Reads a SQuAD-format JSON file (gzipped when its name ends in `.gz`).

    Args:
        path: the file.

    Returns:
        `(examples, report)`, as `parse_squad`.

    Raises:
        ValueError: the file is missing, not JSON, not in the SQuAD layout,
            or none of its questions is usable.
    """
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rt", encoding="utf-8") as f:
            document = json.load(f)
    except FileNotFoundError:
        raise ValueError(f"Missing SQuAD file {path}.") from None
    except (
        json.JSONDecodeError,
        UnicodeDecodeError,
        OSError,
        EOFError,
    ) as error:
        raise ValueError(f"{path} is not readable JSON: {error}") from None
    examples, report = parse_squad(document, path)
    if not examples:
        found = ", ".join(f"{n} {why}" for why, n in report.items())
        raise ValueError(
            f"{path} holds no usable question: every record was rejected "
            f"({found or 'no records'})."
        )
    return examples, report


def split_articles(examples, count=VAL_ARTICLES):
    """Holds out whole articles: the first `count` by SHA-256 of the title.

    Args:
        examples: training `Example`s.
        count: how many articles to hold out.

    Returns:
        `(train, held_out)` lists of examples; no article is in both.

    Raises:
        ValueError: there are not more than `count` articles.
    """
    titles = sorted(
        {e.title for e in examples},
        key=lambda title: hashlib.sha256(title.encode("utf-8")).hexdigest(),
    )
    if len(titles) <= count:
        raise ValueError(
            f"{len(titles)} articles: too few to hold out {count} for "
            "validation."
        )
    held_out = set(titles[:count])
    return (
        [e for e in examples if e.title not in held_out],
        [e for e in examples if e.title in held_out],
    )


def read_squad_directory(directory):
    """Reads SQuAD v1.1 (see the module docstring) from its directory.

    Args:
        directory: the folder with the train and dev files.

    Returns:
        `(corpus, reports)`: the corpus dict and `{file name: report}`.
    """
    train_file, dev_file = (
        _first_present(directory, names) for names in (SQUAD_TRAIN, SQUAD_DEV)
    )
    train, train_report = read_squad(os.path.join(directory, train_file))
    test, test_report = read_squad(os.path.join(directory, dev_file))
    train, val = split_articles(train)
    corpus = _without_leaks(
        {"train": train, "val": val, "test": test}, train_report
    )
    return corpus, {train_file: train_report, dev_file: test_report}


def _first_present(directory, names):
    """The first of `names` that is a file in `directory`.

    Raises:
        ValueError: none is; the message names `attn data fetch squad`.
    """
    for name in names:
        if os.path.isfile(os.path.join(directory, name)):
            return name
    raise ValueError(
        f"{directory} holds no {names[0]}: get SQuAD v1.1 with "
        "`attn data fetch squad`."
    )


def _without_leaks(corpus, report):
    """`corpus` less the questions on a context that a held-out split has.

    A context of the test split (then of validation) read again in training
    would be scored on what the model saw; its questions go from the later
    splits, counted in `report` (none go in SQuAD v1.1, whose dev articles
    are not in train).
    """
    cleaned, removed = drop_leaks(corpus, key=lambda example: example.context)
    for split, count in removed.items():
        if count:
            report[f"questions on a held-out context removed from {split}"] = (
                count
            )
    return cleaned


def read_user_file(path):
    """A user's SQuAD-format file: its articles split into train, val, test.

    Whole articles are held out, 5 % each for validation and for test (at
    least one each), chosen by the SHA-256 of their titles.

    Args:
        path: a SQuAD-format JSON file.

    Returns:
        `(corpus, {path: report})`.
    """
    examples, report = read_squad(path)
    count = max(1, round(0.05 * len({e.title for e in examples})))
    rest, test = split_articles(examples, count)
    train, val = split_articles(rest, count)
    corpus = _without_leaks({"train": train, "val": val, "test": test}, report)
    return corpus, {path: report}


def load_corpus(data, data_dir=None):
    """Loads `"squad"` from the data directory, or a SQuAD-format file.

    Args:
        data: `"squad"` or the path of a SQuAD-format JSON file.
        data_dir: the data directory holding `qa/squad_v1.1/`.

    Returns:
        `(corpus, reports)`.
    """
    readers = {"squad": (read_squad_directory, SQUAD_DIR)}
    return load_dataset(
        data, data_dir, readers, read_user_file, "a SQuAD JSON file"
    )
