"""Scoring summaries with ROUGE, and the Lead baselines.

ROUGE-1/2/L F1 come from Google's `rouge-score` package with its Porter
stemmer on, reported x100; the corpus score is the mean over examples. With
several references (AESLC's three annotations) an example's score combines
its per-reference scores, and both common ways are reported, since the AESLC
paper does not say which it used and they differ by several points: the
mean over the references (`annotations_mean`) and the best of them
(`annotations_max`).

`evaluate` scores a run's greedy and beam-search summaries and, in the same
run, the Lead baselines: Lead (the first sentence, cut to the mean length
of the training summaries in words) and Lead-3 (the first three sentences).
Every method is scored against the original summary (AESLC: the email's
subject line) and, where the split has them, against the annotators'
references.
"""

import os
import re
import statistics
import time

from rouge_score import rouge_scorer

from attention_suite.apps.common.cli.tables import markdown_table
from attention_suite.apps.common.data.atomic import atomic_write_bytes
from attention_suite.apps.common.training import runs
from attention_suite.apps.summarization import infer, training

ROUGE_TYPES = ("rouge1", "rouge2", "rougeL")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|(?<=[.!?][\"')\]])\s+|\n+")


# How an example's scores against several references combine.
COMBINE = {"mean": statistics.fmean, "max": max}


def rouge(summaries, references, combine="mean"):
    """Mean ROUGE-1/2/L F1 (x100) of summaries against their references.

    Args:
        summaries: list of predicted summaries.
        references: aligned list; each item a reference string or a list
            of reference strings.
        combine: how an example's scores against its references combine
            (per ROUGE type): `"mean"` or `"max"`.

    Returns:
        `{"rouge1": ..., "rouge2": ..., "rougeL": ...}`, rounded to 2 places.

    Raises:
        ValueError: the lists differ in length or are empty, or `combine` is
            unknown.
    """
    if len(summaries) != len(references) or not summaries:
        raise ValueError(
            f"{len(summaries)} summaries for {len(references)} references."
        )
    if combine not in COMBINE:
        raise ValueError(
            f"combine must be one of {sorted(COMBINE)}; received {combine!r}."
        )
    scorer = rouge_scorer.RougeScorer(list(ROUGE_TYPES), use_stemmer=True)
    totals = dict.fromkeys(ROUGE_TYPES, 0.0)
    for summary, refs in zip(summaries, references):
        refs = [refs] if isinstance(refs, str) else list(refs)
        scores = [scorer.score(ref, summary) for ref in refs]
        for name in ROUGE_TYPES:
            totals[name] += COMBINE[combine](s[name].fmeasure for s in scores)
    return {
        name: round(100.0 * total / len(summaries), 2)
        for name, total in totals.items()
    }


def sentences(text):
    """Splits text into sentences at `.`, `!`, `?` and line breaks.

    Args:
        text: a document.

    Returns:
        The non-empty sentences, stripped.
    """
    return [s.strip() for s in _SENTENCE_END.split(text) if s and s.strip()]


def lead(text, count=1, max_words=None):
    """The Lead baseline: the first sentences of the document.

    Args:
        text: a document.
        count: how many sentences (Lead-3: 3).
        max_words: cut the result to this many words (e.g. the typical
            summary length); `None` keeps it whole.

    Returns:
        The baseline summary (empty for an empty document).
    """
    words = " ".join(sentences(text)[:count]).split()
    return " ".join(words[:max_words] if max_words else words)


def _write_lines(path, lines):
    atomic_write_bytes(
        path, "".join(line + "\n" for line in lines).encode("utf-8")
    )


def evaluate(run_dir, split="test", beam_size=None, data_dir=None):
    """Summarizes a split with greedy and beam search and scores both.

    Writes `<split>.<method>.txt` (one summary per line), `metrics.json`
    and `metrics.md` into the run.

    Args:
        run_dir: a trained run.
        split: `"test"` or `"val"`.
        beam_size: beam width; defaults to the run's `beam_size`.
        data_dir: the data directory for the named datasets.

    Returns:
        A dict with `split`, `documents`, the references used and
        `scores`: `{reference set: {method: {"rouge1", "rouge2",
        "rougeL"}}}`, plus the decoding seconds of each search.
    """
    loaded = training.load_run(run_dir)
    config = loaded.config
    run_info = loaded.info
    tokenizer = loaded.tokenizer
    model = loaded.model
    corpus, _ = training.load_run_corpus(config, run_info["data"], data_dir)
    examples = corpus[split]
    texts = [e.text for e in examples]
    reference_sets = {"original": ([e.summary for e in examples], "mean")}
    if all(e.references for e in examples):
        annotations = [list(e.references) for e in examples]
        for combine in COMBINE:
            reference_sets[f"annotations_{combine}"] = (annotations, combine)
    lead_words = max(
        1,
        round(
            statistics.fmean(len(e.summary.split()) for e in corpus["train"])
        ),
    )
    methods = {
        "lead": [lead(t, 1, lead_words) for t in texts],
        "lead3": [lead(t, 3) for t in texts],
    }
    summarizer = infer.Summarizer(model, tokenizer, config)
    beam_size = beam_size or config.beam_size
    seconds = {}
    for name, beam in (("greedy", 1), (f"beam{beam_size}", beam_size)):
        start = time.monotonic()
        methods[name] = summarizer.summarize(texts, beam_size=beam)
        seconds[name] = round(time.monotonic() - start, 1)
    for name, summaries in methods.items():
        _write_lines(os.path.join(run_dir, f"{split}.{name}.txt"), summaries)
    report = {
        "split": split,
        "documents": len(examples),
        "lead_words": lead_words,
        "seconds": seconds,
        "scores": {
            ref_name: {
                name: rouge(summaries, references, combine)
                for name, summaries in methods.items()
            }
            for ref_name, (references, combine) in reference_sets.items()
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
        [ref_name, name] + [f"{scores[key]:.2f}" for key in ROUGE_TYPES]
        for ref_name, methods in report["scores"].items()
        for name, scores in methods.items()
    ]
    header = ["references", "method", "ROUGE-1", "ROUGE-2", "ROUGE-L"]
    title = (
        f"{report['split']} ({report['documents']} documents); ROUGE F1 x100, "
        f"stemmed; Lead cut to {report['lead_words']} words"
    )
    return f"{title}\n\n{markdown_table(header, rows, align='llrrr')}"
