"""Train, evaluate, predict and export a tiny QA run on the current backend;
the export is reloaded in a fresh TensorFlow-only process.

Keras runs a GRU step by step in Python on the torch backend (about 20
times slower than TensorFlow here), so on torch the run trains on a few
hundred questions for two epochs: the pipeline and the export are checked
there, the learning on TensorFlow and JAX."""

import json
import os
import shutil

import keras
import numpy as np
import pytest
from helpers import assert_servable, graph_property, train_evaluate_export

from attention_suite.apps.cli import main
from attention_suite.apps.common.serving.process import (
    run_saved_model,
    string_array,
)
from attention_suite.apps.qa import infer
from attention_suite.apps.qa.serving import HARD_INPUTS
from attention_suite.apps.qa.synthetic import write_demo_squad
from attention_suite.apps.qa.training import load_run

TINY = [
    "vocabulary_size=400",
    "embedding_dim=32",
    "units=32",
    "modeling_layers=1",
    "window=48",
    "stride=24",
    "max_question_length=12",
    "epochs=5",
    "batch_size=32",
    "warmup_steps=20",
    "learning_rate=0.005",
    "dropout=0.0",
]
ON_TORCH = keras.backend.backend() == "torch"
if ON_TORCH:
    TINY += ["train_limit=320", "epochs=2"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("qa")
    data = write_demo_squad(str(root / "demo.json"))
    run_dir, model_dir = train_evaluate_export(
        "qa", ["--data", data], TINY, root, "qa", 3
    )
    return {"run": run_dir, "model": model_dir}


def test_the_config_records_the_vocabulary_used(run):
    loaded = load_run(run["run"])
    # 400 pieces asked; the demo's text makes fewer.
    assert loaded.config.vocabulary_size == loaded.tokenizer.vocabulary_size()
    assert loaded.config.vocabulary_size < 400


def test_reader_beats_the_baseline_and_writes_predictions(run):
    with open(os.path.join(run["run"], "metrics.json")) as f:
        report = json.load(f)
    scores = report["scores"]
    if not ON_TORCH:
        assert scores["bidaf"]["f1"] > 60.0
        assert scores["bidaf"]["f1"] > scores["sliding_window"]["f1"] + 30.0
    with open(
        os.path.join(run["run"], "predictions.jsonl"), encoding="utf-8"
    ) as f:
        records = [json.loads(line) for line in f]
    assert len(records) == report["questions"]
    assert {"answer", "start", "end", "score", "exact_match", "f1"} <= set(
        records[0]["bidaf"]
    )


@pytest.mark.parametrize("rule", ["logit", "probability"])
def test_evaluate_scores_a_window_rule_without_changing_the_run(
    run, rule, tmp_path, capsys
):
    run_dir = str(tmp_path / "run")
    shutil.copytree(run["run"], run_dir)
    with open(os.path.join(run_dir, "config.json")) as f:
        config = f.read()
    args = ["qa", "evaluate", "--run", run_dir, "--split", "val"]
    assert main([*args, "--compare-windows", rule, "--limit", "20"]) == 0
    assert f"windows compared by {rule}" in capsys.readouterr().out
    with open(os.path.join(run_dir, "metrics.json")) as f:
        report = json.load(f)
    assert (report["split"], report["compare_windows"]) == ("val", rule)
    with open(os.path.join(run_dir, "config.json")) as f:
        assert f.read() == config


def test_predict_prints_answer_span_and_score(run, tmp_path, capsys):
    context = tmp_path / "context.txt"
    context.write_text("Kato was born in Ramizen. Lobe was born in 1950.")
    capsys.readouterr()
    assert (
        main(
            [
                "qa",
                "predict",
                "--run",
                run["run"],
                "--context-file",
                str(context),
                "When was Lobe born?",
                "--plot",
                str(tmp_path / "att.png"),
            ]
        )
        == 0
    )
    question, answer, span, score = (
        capsys.readouterr().out.splitlines()[0].split("\t")
    )
    assert question == "When was Lobe born?"
    start, end = (int(x) for x in span.strip("[)").split(", "))
    assert context.read_text()[start:end] == answer
    assert os.path.getsize(tmp_path / "att.png") > 0


@pytest.mark.parametrize("context, question", [("  ", "Who?"), ("Text.", " ")])
def test_predict_rejects_empty_input_in_one_line(
    run, context, question, capsys
):
    assert (
        main(
            [
                "qa",
                "predict",
                "--run",
                run["run"],
                "--context",
                context,
                question,
            ]
        )
        == 1
    )
    assert "empty" in capsys.readouterr().err


@graph_property
def test_export_is_a_plain_graph(run):
    audit = assert_servable(
        run["model"], "qa", text_ops=True, run_dir=run["run"]
    )
    ops = set(audit.core + audit.text)
    assert "FastBertNormalize" in ops or any("Wordpiece" in op for op in ops)


def test_served_hard_inputs_match_predict_on_this_backend(run):
    loaded = load_run(run["run"])
    config = loaded.config
    tokenizer = loaded.tokenizer
    model = loaded.model
    reader = infer.Reader(model, tokenizer, config)
    contexts, questions = zip(*HARD_INPUTS)
    expected = reader.answer(list(contexts), list(questions))
    (served,) = run_saved_model(
        run["model"],
        [
            {
                "context": string_array(contexts),
                "question": string_array(questions),
            }
        ],
        imports=("tensorflow_text",),
    )
    assert [a.decode("utf-8") for a in served["answer"]] == [
        e["answer"] for e in expected
    ]
    assert served["start"].tolist() == [e["start"] for e in expected]
    np.testing.assert_allclose(
        served["score"], [e["score"] for e in expected], atol=1e-4
    )
    # The empty question and the empty context get the empty answer with
    # score 0; the 100,000-character context an offset past its first
    # window.
    for blank in (0, 1):
        assert served["answer"][blank] == b"" and served["score"][blank] == 0
    assert served["start"][0] == served["end"][0] == 0
    assert served["start"][3] >= 0 and 0.0 <= served["score"].min() <= 1.0


def test_a_missing_context_file_is_one_line_never_the_context(
    run, tmp_path, capsys
):
    missing = str(tmp_path / "ctx_typo.txt")
    args = ["qa", "predict", "--run", run["run"], "--context-file", missing]
    assert main([*args, "Where was Nadia born?"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and "does not exist" in captured.err
