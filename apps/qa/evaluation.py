"""SQuAD v1.1 exact match and F1, the sliding-window baseline, `evaluate`.

The metric follows the official v1.1 evaluation script: answers are
normalized (lowercased, punctuation and the articles a/an/the removed,
white space collapsed); a prediction scores the maximum over the gold
answers; the corpus score is the mean over questions, x100.

The baseline is the sliding-window one of the SQuAD paper (after Richardson
et al. 2013): every span of up to `max_words` context words that holds no
question word and neither starts nor ends with punctuation is a candidate,
scored by the question words in the `window` words on either side, each
weighted by `log(1 + 1 / count)`, its inverse count in the context.
"""

import collections
import dataclasses
import json
import math
import os
import re
import string
import time

from attention_suite.apps.common.cli.tables import markdown_table
from attention_suite.apps.common.data.atomic import atomic_write_bytes
from attention_suite.apps.common.training import runs
from attention_suite.apps.qa import infer, training

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = set(string.punctuation)
_WORD = re.compile(r"\w+(?:[-']\w+)*|[^\w\s]")


def normalize_answer(text):
    """The official SQuAD v1.1 normalization.

    Args:
        text: an answer.

    Returns:
        Lowercased, without punctuation and articles, white space collapsed.
    """
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def exact_match(prediction, gold):
    """1.0 when the normalized answers are equal, else 0.0."""
    return float(normalize_answer(prediction) == normalize_answer(gold))


def f1(prediction, gold):
    """Token F1 of the normalized answers (0 when they share nothing)."""
    predicted = normalize_answer(prediction).split()
    wanted = normalize_answer(gold).split()
    common = sum(
        (collections.Counter(predicted) & collections.Counter(wanted)).values()
    )
    if common == 0:
        return 0.0
    precision, recall = common / len(predicted), common / len(wanted)
    return 2 * precision * recall / (precision + recall)


def squad_scores(predictions, golds):
    """Exact match and F1 over questions, each the max over its gold answers.

    Args:
        predictions: list of predicted answer texts.
        golds: aligned list; each item a list of gold answer texts.

    Returns:
        `{"exact_match": ..., "f1": ...}`, x100, and the per-question
        scores as `"per_question"`: a list of `(em, f1)`.

    Raises:
        ValueError: the lists differ in length or are empty.
    """
    if len(predictions) != len(golds) or not predictions:
        raise ValueError(
            f"{len(predictions)} predictions for {len(golds)} questions."
        )
    per_question = [
        (max(exact_match(p, g) for g in gold), max(f1(p, g) for g in gold))
        for p, gold in zip(predictions, golds)
    ]
    count = len(per_question)
    return {
        "exact_match": round(
            100.0 * sum(e for e, _ in per_question) / count, 2
        ),
        "f1": round(100.0 * sum(f for _, f in per_question) / count, 2),
        "per_question": per_question,
    }


def _words(text):
    """`(word, start, end)` of each word or punctuation mark of `text`."""
    return [(m.group(), m.start(), m.end()) for m in _WORD.finditer(text)]


def sliding_window_answer(context, question, max_words=3, window=5):
    """The sliding-window baseline's answer span.

    Args:
        context: the paragraph.
        question: the question.
        max_words: the longest candidate, in words.
        window: words on each side of a candidate that count as its window.

    Returns:
        `(text, start, end)`: the chosen span and its character offsets in
        `context` (empty at 0 when the context has no words).
    """
    words = _words(context)
    if not words:
        return "", 0, 0
    lowered = [w.lower() for w, _, _ in words]
    counts = collections.Counter(lowered)
    asked = {w.lower() for w, _, _ in _words(question)} - _PUNCTUATION
    # Prefix sums of each position's weight: a window's score in O(1).
    totals = [0.0]
    for w in lowered:
        totals.append(
            totals[-1]
            + (math.log(1.0 + 1.0 / counts[w]) if w in asked else 0.0)
        )
    best, best_score = (0, 1), -1.0
    for start in range(len(words)):
        if lowered[start] in _PUNCTUATION:
            continue
        for end in range(start + 1, min(start + max_words, len(words)) + 1):
            if lowered[end - 1] in asked or lowered[end - 1] in _PUNCTUATION:
                break  # every longer span holds this word too
            score = (
                totals[start]
                - totals[max(0, start - window)]
                + totals[min(len(words), end + window)]
                - totals[end]
            )
            if score > best_score:
                best, best_score = (start, end), score
    first, last = words[best[0]], words[best[1] - 1]
    return context[first[1] : last[2]], first[1], last[2]


def evaluate(
    run_dir, split="test", data_dir=None, limit=0, compare_windows=None
):
    """Answers a split with the reader and the baseline and scores both.

    Writes `predictions.jsonl` (per question: id, question, gold answers,
    both predictions with their offsets, the reader's score, and the EM/F1
    of each), `metrics.json` and `metrics.md` into the run.

    Args:
        run_dir: a trained run.
        split: `"test"` or `"val"`.
        data_dir: the data directory for the named dataset.
        limit: score only the first `limit` questions (0: all).
        compare_windows: how the reader's windows compete (`"logit"` or
            `"probability"`), to choose the rule on the validation split;
            None keeps the run's.

    Returns:
        A dict with `split`, `questions`, `compare_windows`, `seconds` (the
        reader's answering time) and `scores`: `{method: {"exact_match",
        "f1"}}`.
    """
    loaded = training.load_run(run_dir)
    config = loaded.config
    run_info = loaded.info
    tokenizer = loaded.tokenizer
    model = loaded.model
    if compare_windows is not None:
        config = dataclasses.replace(config, compare_windows=compare_windows)
    corpus, _ = training.load_run_corpus(config, run_info["data"], data_dir)
    examples = corpus[split][:limit] if limit else corpus[split]
    golds = [[text for text, _ in e.answers] for e in examples]
    start = time.monotonic()
    answered = infer.Reader(model, tokenizer, config).answer(
        [e.context for e in examples], [e.question for e in examples]
    )
    seconds = round(time.monotonic() - start, 1)
    baseline = [sliding_window_answer(e.context, e.question) for e in examples]
    results = {
        config.model: squad_scores([a["answer"] for a in answered], golds),
        "sliding_window": squad_scores([b[0] for b in baseline], golds),
    }
    lines = []
    for i, example in enumerate(examples):
        record = {
            "id": example.id,
            "question": example.question,
            "gold": golds[i],
            config.model: answered[i],
            "sliding_window": dict(
                zip(("answer", "start", "end"), baseline[i])
            ),
        }
        for name, scores in results.items():
            record[name]["exact_match"], record[name]["f1"] = scores[
                "per_question"
            ][i]
        lines.append(json.dumps(record, ensure_ascii=False))
    atomic_write_bytes(
        os.path.join(run_dir, "predictions.jsonl"),
        "".join(line + "\n" for line in lines).encode("utf-8"),
    )
    report = {
        "split": split,
        "questions": len(examples),
        "compare_windows": config.compare_windows,
        "seconds": seconds,
        "scores": {
            name: {k: v for k, v in scores.items() if k != "per_question"}
            for name, scores in results.items()
        },
    }
    return runs.write_report(run_dir, report, format_report(report))


def format_report(report):
    """A Markdown table of a report from `evaluate`.

    Args:
        report: the dict returned by `evaluate`.

    Returns:
        The table as a string.
    """
    rows = [
        [name, f"{scores['exact_match']:.2f}", f"{scores['f1']:.2f}"]
        for name, scores in report["scores"].items()
    ]
    title = (
        f"{report['split']} ({report['questions']} questions, windows "
        f"compared by {report['compare_windows']}); SQuAD v1.1 exact match "
        "and F1 x100"
    )
    return f"{title}\n\n{markdown_table(['method', 'EM', 'F1'], rows)}"
