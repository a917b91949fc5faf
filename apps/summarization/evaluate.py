"""Scoring summaries with ROUGE, and the Lead baselines.

ROUGE-1/2/L F1 come from Google's `rouge-score` package with its Porter
stemmer on, reported x100. With several references (AESLC's three
annotations) an example scores the average of its per-reference scores, as
the AESLC paper does; the corpus score is the mean over examples.
"""

import re

from rouge_score import rouge_scorer

ROUGE_TYPES = ("rouge1", "rouge2", "rougeL")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|(?<=[.!?][\"')\]])\s+|\n+")


def rouge(summaries, references):
    """Mean ROUGE-1/2/L F1 (x100) of summaries against their references.

    Args:
        summaries: list of predicted summaries.
        references: aligned list; each item a reference string or a list
            of reference strings (scores averaged over them).

    Returns:
        `{"rouge1": ..., "rouge2": ..., "rougeL": ...}`, rounded to 2 places.

    Raises:
        ValueError: the lists differ in length or are empty.
    """
    if len(summaries) != len(references) or not summaries:
        raise ValueError(
            f"{len(summaries)} summaries for {len(references)} references."
        )
    scorer = rouge_scorer.RougeScorer(list(ROUGE_TYPES), use_stemmer=True)
    totals = dict.fromkeys(ROUGE_TYPES, 0.0)
    for summary, refs in zip(summaries, references):
        refs = [refs] if isinstance(refs, str) else list(refs)
        for ref in refs:
            scores = scorer.score(ref, summary)
            for name in ROUGE_TYPES:
                totals[name] += scores[name].fmeasure / len(refs)
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
