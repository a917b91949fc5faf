"""A new user's first run: `train` with the defaults, nothing set but the
epochs, on the demo's generated data, then `evaluate`. The settings that
depend on the corpus (vocabulary, warm-up) resolve from it, and the run
learns: it scores well above the baseline on the held-out part."""

import json

import pytest

from attention_suite.apps.cli import main
from attention_suite.apps.summarization.synthetic import write_demo_jsonl
from attention_suite.apps.translation.synthetic import write_demo_tsv


def _first_run(command, data, tmp_path):
    """Trains 8 epochs with the defaults and evaluates; the metrics."""
    run = tmp_path / "run"
    train = [command, "train", "--data", data, "--out", str(run)]
    assert main([*train, "--set", "epochs=8"]) == 0
    assert main([command, "evaluate", "--run", str(run)]) == 0
    config = json.loads((run / "config.json").read_text())
    # The 8,000-piece default vocabulary, cut to what the text makes.
    assert config["vocabulary_size"] < 8000
    return json.loads((run / "metrics.json").read_text())


@pytest.mark.parametrize("app", ["translation", "summarization"])
def test_a_first_train_with_the_defaults_learns(app, tmp_path, capsys):
    if app == "translation":
        # 450 sentence pairs; BLEU of copying the source: 0.57.
        metrics = _first_run(
            "translate", write_demo_tsv(str(tmp_path / "pairs.tsv")), tmp_path
        )
        assert metrics["beam4"]["bleu"] > 5 + 5 * metrics["identity"]["bleu"]
    else:
        # The demo's 600 emails and their subject lines; the first 3
        # sentences score ROUGE-1 31.6.
        data = write_demo_jsonl(str(tmp_path / "docs.jsonl"))
        scores = _first_run("summarize", data, tmp_path)["scores"]["original"]
        assert scores["beam4"]["rouge1"] > scores["lead3"]["rouge1"] + 20
    assert "Traceback" not in capsys.readouterr().err
