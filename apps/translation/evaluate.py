"""Scoring a translation run with sacreBLEU and chrF.

BLEU is sacreBLEU's default: cased, detokenized hypotheses against the raw
references with the `13a` tokenizer; the lowercased score is reported too, to
compare with papers that lowercase. The identity baseline (the source copied
unchanged) scores in the same run so that every number has context.
"""

import os
import time

import sacrebleu

from apps.common import runs
from apps.common.atomic import atomic_write_bytes
from apps.translation import infer, train


def score(hypotheses, references):
    """Corpus BLEU (cased and lowercased) and chrF.

    Args:
        hypotheses: list of detokenized translations.
        references: list of reference translations, aligned.

    Returns:
        A dict with `bleu`, `bleu_lowercase`, `chrf` and the sacreBLEU
        signature of the cased BLEU.
    """
    if len(hypotheses) != len(references):
        raise ValueError(
            f"{len(hypotheses)} hypotheses for {len(references)} references."
        )
    bleu = sacrebleu.metrics.BLEU()
    cased = bleu.corpus_score(hypotheses, [references])
    lowercase = sacrebleu.metrics.BLEU(lowercase=True).corpus_score(
        hypotheses, [references]
    )
    chrf = sacrebleu.metrics.CHRF().corpus_score(hypotheses, [references])
    return {
        "bleu": round(cased.score, 2),
        "bleu_lowercase": round(lowercase.score, 2),
        "chrf": round(chrf.score, 2),
        "signature": str(bleu.get_signature()),
    }


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
    config, run_info, tokenizer, model = train.load_run(run_dir)
    corpus = train.load_corpus(config, run_info["data"], data_dir)
    sources, references = corpus[split]
    translator = infer.Translator(model, tokenizer, config)
    beam_size = beam_size or config.beam_size
    report = {
        "split": split,
        "sentences": len(sources),
        "identity": score(list(sources), references),
    }
    for name, beam in (("greedy", 1), (f"beam{beam_size}", beam_size)):
        start = time.monotonic()
        hypotheses = translator.translate(sources, beam_size=beam)
        seconds = time.monotonic() - start
        report[name] = {**score(hypotheses, references), "seconds": round(seconds, 1)}
        atomic_write_bytes(
            os.path.join(run_dir, f"{split}.{name}.txt"),
            "".join(h + "\n" for h in hypotheses).encode("utf-8"),
        )
    runs.write_report(run_dir, report, format_report(report))
    return report


def format_report(report):
    """A Markdown table of a report from `evaluate`.

    Args:
        report: the dict returned by `evaluate`.

    Returns:
        The table as a string.
    """
    lines = [
        f"{report['split']} ({report['sentences']} sentences)",
        "",
        "| method | BLEU | BLEU (lowercase) | chrF |",
        "|---|---:|---:|---:|",
    ]
    for name, scores in report.items():
        if isinstance(scores, dict):
            lines.append(
                f"| {name} | {scores['bleu']:.2f} | "
                f"{scores['bleu_lowercase']:.2f} | {scores['chrf']:.2f} |"
            )
    return "\n".join(lines) + "\n"
