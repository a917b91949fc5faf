"""Scoring a translation run with sacreBLEU and chrF.

BLEU is sacreBLEU's default: cased, detokenized hypotheses against the raw
references with the `13a` tokenizer. Two more BLEU columns compare with
papers: lowercased (`13a`), and the from-scratch papers' "tokenized BLEU":
hypotheses and references lowercased and tokenized by the Moses tokenizer
(`sacremoses`, in the target language) and scored by sacreBLEU without a
tokenizer of its own. Every score keeps its sacreBLEU signature. The identity
baseline (the source copied unchanged) scores in the same run so that every
number has context.
"""

import os
import time

import sacrebleu
import sacremoses

from attention_suite.apps.common.cli.tables import markdown_table
from attention_suite.apps.common.data.atomic import atomic_write_bytes
from attention_suite.apps.common.training import runs
from attention_suite.apps.translation import infer, training
from attention_suite.apps.translation.config import UNKNOWN_LANGUAGE


def score(hypotheses, references, language="en"):
    """Corpus BLEU (cased, lowercased, Moses-tokenized) and chrF.

    Args:
        hypotheses: list of detokenized translations.
        references: list of reference translations, aligned.
        language: the target language, for the Moses tokenizer.

    Returns:
        A dict with `bleu`, `bleu_lowercase`, `bleu_moses` (none when the
        language is `UNKNOWN_LANGUAGE`), `chrf` and `signatures`, the
        sacreBLEU signature of each of them.
    """
    if len(hypotheses) != len(references):
        raise ValueError(
            f"{len(hypotheses)} hypotheses for {len(references)} references."
        )
    metrics = {
        "bleu": sacrebleu.metrics.BLEU(),
        "bleu_lowercase": sacrebleu.metrics.BLEU(lowercase=True),
        # Tokenized on purpose: `force` keeps sacreBLEU from warning that
        # the text looks tokenized.
        "bleu_moses": sacrebleu.metrics.BLEU(tokenize="none", force=True),
        "chrf": sacrebleu.metrics.CHRF(),
    }
    texts = {}
    if language == UNKNOWN_LANGUAGE:
        # Moses' rules are per language: with none known, no such score.
        del metrics["bleu_moses"]
    else:
        tokenized = moses_tokenized(hypotheses + references, language)
        texts["bleu_moses"] = (
            tokenized[: len(hypotheses)],
            tokenized[len(hypotheses) :],
        )
    result, signatures = {}, {}
    for name, metric in metrics.items():
        hyps, refs = texts.get(name, (hypotheses, references))
        result[name] = round(metric.corpus_score(hyps, [refs]).score, 2)
        signatures[name] = str(metric.get_signature())
    if "bleu_moses" in signatures:
        signatures["bleu_moses"] += f"|moses:{language}|lc"
    return {**result, "signatures": signatures}


def moses_tokenized(texts, language):
    """Lowercased, Moses-tokenized texts (no XML escaping).

    Args:
        texts: strings.
        language: the language code of the Moses tokenizer (e.g. `"de"`).

    Returns:
        The tokenized strings, tokens separated by single spaces.
    """
    tokenizer = sacremoses.MosesTokenizer(lang=language)
    return [
        tokenizer.tokenize(text.lower(), escape=False, return_str=True)
        for text in texts
    ]


def evaluate(run_dir, split="test", beam_size=None, data_dir=None):
    """Translates a split with greedy and beam search and scores both.

    Writes `<split>.greedy.txt`, `<split>.beam<k>.txt`, `metrics.json` and
    `metrics.md` into the run.

    Args:
        run_dir: a trained run.
        split: `"test"` or `"val"`.
        beam_size: beam width; defaults to the run's `beam_size`.
        data_dir: the data directory for Multi30k.

    Returns:
        A dict `{method: scores}`, plus `"split"` and `"sentences"`.
    """
    loaded = training.load_run(run_dir)
    config = loaded.config
    run_info = loaded.info
    tokenizer = loaded.tokenizer
    model = loaded.model
    corpus = training.load_run_corpus(config, run_info["data"], data_dir)
    sources, references = corpus[split]
    translator = infer.Translator(model, tokenizer, config)
    beam_size = beam_size or config.beam_size
    report = {
        "split": split,
        "sentences": len(sources),
        "identity": score(list(sources), references, config.target),
    }
    for name, beam in (("greedy", 1), (f"beam{beam_size}", beam_size)):
        start = time.monotonic()
        hypotheses = translator.translate(sources, beam_size=beam)
        seconds = time.monotonic() - start
        report[name] = {
            **score(hypotheses, references, config.target),
            "seconds": round(seconds, 1),
        }
        atomic_write_bytes(
            os.path.join(run_dir, f"{split}.{name}.txt"),
            "".join(h + "\n" for h in hypotheses).encode("utf-8"),
        )
    return runs.write_report(run_dir, report, format_report(report))


# The report's columns: score key -> title.
_COLUMNS = {
    "bleu": "BLEU",
    "bleu_lowercase": "BLEU (lowercase)",
    "bleu_moses": "BLEU (lowercase, Moses-tokenized)",
    "chrf": "chrF",
}


def format_report(report):
    """A Markdown table of a report from `evaluate`.

    Args:
        report: the dict returned by `evaluate`.

    Returns:
        The table as a string.
    """
    methods = {k: v for k, v in report.items() if isinstance(v, dict)}
    columns = {
        key: title
        for key, title in _COLUMNS.items()
        if all(key in scores for scores in methods.values())
    }
    rows = [
        [name] + [f"{scores[key]:.2f}" for key in columns]
        for name, scores in methods.items()
    ]
    header = ["method", *columns.values()]
    title = f"{report['split']} ({report['sentences']} sentences)"
    note = (
        ""
        if "bleu_moses" in columns
        else "\nNo Moses-tokenized BLEU: the target language is not known "
        "(train with --set target=CODE).\n"
    )
    return f"{title}\n\n{markdown_table(header, rows)}{note}"
