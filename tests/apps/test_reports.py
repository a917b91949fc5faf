"""The Markdown tables that `evaluate` prints and writes as `metrics.md`."""

from attention_suite.apps.qa import evaluation as qa
from attention_suite.apps.summarization import evaluation as summarization
from attention_suite.apps.traffic import evaluation as traffic
from attention_suite.apps.translation import evaluation as translation


def test_translation_report():
    scores = {
        "bleu": 30.123,
        "bleu_lowercase": 31.0,
        "bleu_moses": 32.5,
        "chrf": 55.556,
    }
    report = {
        "split": "test",
        "sentences": 1000,
        "identity": scores,
        "greedy": scores,
    }
    assert translation.format_report(report) == (
        "test (1000 sentences)\n\n"
        "| method | BLEU | BLEU (lowercase) | "
        "BLEU (lowercase, Moses-tokenized) | chrF |\n"
        "|---|---:|---:|---:|---:|\n"
        "| identity | 30.12 | 31.00 | 32.50 | 55.56 |\n"
        "| greedy | 30.12 | 31.00 | 32.50 | 55.56 |\n"
    )


def test_summarization_report():
    scores = {"rouge1": 40.0, "rouge2": 20.0, "rougeL": 35.125}
    report = {
        "split": "test",
        "documents": 1906,
        "lead_words": 6,
        "scores": {"subject": {"lead": scores}, "annotators": {"beam": scores}},
    }
    assert summarization.format_report(report) == (
        "test (1906 documents); ROUGE F1 x100, stemmed; Lead cut to 6 words\n\n"
        "| references | method | ROUGE-1 | ROUGE-2 | ROUGE-L |\n"
        "|---|---|---:|---:|---:|\n"
        "| subject | lead | 40.00 | 20.00 | 35.12 |\n"
        "| annotators | beam | 40.00 | 20.00 | 35.12 |\n"
    )


def test_qa_report():
    report = {
        "split": "dev",
        "questions": 10570,
        "compare_windows": "logit",
        "scores": {"bidaf": {"exact_match": 60.0, "f1": 70.256}},
    }
    assert qa.format_report(report) == (
        "dev (10570 questions, windows compared by logit); SQuAD v1.1 exact "
        "match and F1 x100\n\n"
        "| method | EM | F1 |\n"
        "|---|---:|---:|\n"
        "| bidaf | 60.00 | 70.26 |\n"
    )


def test_traffic_report():
    errors = {"mae": 3.0, "rmse": 5.25, "mape": 7.75}
    report = {
        "attention": {"15min": errors, "average": errors},
        "last_value": {"15min": errors, "average": errors},
    }
    assert traffic.format_report(report) == (
        "| method | 15min MAE / RMSE / MAPE% | average MAE / RMSE / MAPE% |\n"
        "|---|---:|---:|\n"
        "| attention | 3.00 / 5.25 / 7.8 | 3.00 / 5.25 / 7.8 |\n"
        "| last_value | 3.00 / 5.25 / 7.8 | 3.00 / 5.25 / 7.8 |\n"
    )
