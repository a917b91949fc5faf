"""Train, evaluate, predict and export a tiny summarization run on the current
backend; the export is reloaded in a fresh TensorFlow-only process."""

import json
import os

import numpy as np
import pytest
from helpers import assert_servable, graph_property, train_evaluate_export

from attention_suite.apps.cli import main
from attention_suite.apps.common.serving.process import (
    run_saved_model,
    string_array,
)
from attention_suite.apps.summarization import infer
from attention_suite.apps.summarization.serving import HARD_INPUTS
from attention_suite.apps.summarization.synthetic import write_demo_jsonl
from attention_suite.apps.summarization.training import load_run

TINY = [
    "vocabulary_size=200",
    "embedding_dim=32",
    "units=32",
    "attention_units=32",
    "max_source_length=48",
    "max_summary_length=10",
    "epochs=6",
    "batch_size=32",
    "warmup_steps=20",
    "learning_rate=0.01",
    "dropout=0.0",
    "beam_size=3",
]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("summarization")
    data = write_demo_jsonl(str(root / "emails.jsonl"), count=400)
    run_dir, model_dir = train_evaluate_export(
        "summarize", ["--data", data], TINY, root, "summarization", 2
    )
    return {"run": run_dir, "model": model_dir}


def test_model_beats_lead_and_writes_summaries(run):
    with open(os.path.join(run["run"], "metrics.json")) as f:
        report = json.load(f)
    scores = report["scores"]["original"]
    assert {"lead", "lead3", "greedy", "beam3"} == set(scores)
    for name in ("rouge1", "rouge2", "rougeL"):
        assert scores["beam3"][name] > scores["lead"][name]
        assert 0.0 <= scores["lead3"][name] <= 100.0
    with open(
        os.path.join(run["run"], "test.beam3.txt"), encoding="utf-8"
    ) as f:
        assert len(f.read().splitlines()) == report["documents"]


def test_predict_reads_files_and_texts(run, tmp_path, capsys):
    email = tmp_path / "email.txt"
    email.write_bytes(
        b"Hi Ben,\nThe site visit for Torvu is now planned for Monday."
    )
    capsys.readouterr()
    assert (
        main(
            [
                "summarize",
                "predict",
                "--run",
                run["run"],
                "--file",
                str(email),
                "Hi Anna, could we talk about the budget review?",
            ]
        )
        == 0
    )
    assert len(capsys.readouterr().out.splitlines()) == 2


def test_a_missing_file_is_one_line_never_the_document(run, tmp_path, capsys):
    missing = str(tmp_path / "nonexistent.txt")
    args = ["summarize", "predict", "--run", run["run"], "--file", missing]
    assert main(args) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and "does not exist" in captured.err


def test_details_explain_each_summary_piece(run):
    loaded = load_run(run["run"])
    config = loaded.config
    tokenizer = loaded.tokenizer
    model = loaded.model
    summarizer = infer.Summarizer(model, tokenizer, config)
    found = summarizer.details(
        "Hi Carla,\nCould we talk about the meeting for Zenkalo on Friday?"
    )
    pieces, source = found["summary_pieces"], found["source_pieces"]
    assert found["attention"].shape == (len(pieces), len(source))
    np.testing.assert_allclose(found["attention"].sum(-1), 1.0, atol=1e-4)
    assert (
        (found["copy_probability"] >= 0) & (found["copy_probability"] <= 1)
    ).all()


@graph_property
def test_export_is_a_plain_graph_with_cpu_string_ops(run):
    audit = assert_servable(
        run["model"], "summarization", text_ops=True, run_dir=run["run"]
    )
    graph = set(audit.core + audit.text)
    assert "XlaDynamicUpdateSlice" not in graph
    assert {"SentencepieceTokenizeOp", "SentencepieceDetokenizeOp"} <= graph
    assert all(p.endswith("@/device:CPU:*") for p in audit.pinned)


@pytest.fixture(scope="module")
def served(run):
    """One fresh TF-only process serves the hard inputs, then each sample."""
    loaded = load_run(run["run"])
    run_info = loaded.info
    requests = [{"text": string_array(HARD_INPUTS)}] + [
        {"text": string_array([t])} for t in run_info["samples"]
    ]
    outputs = run_saved_model(
        run["model"],
        requests,
        signature="summarize_with_attention",
        imports=("tensorflow_text",),
    )
    return {"hard": outputs[0], "samples": outputs[1:]}


def test_served_hard_inputs_with_attention_and_copy(served):
    hard = served["hard"]
    assert hard["summary"].shape == (len(HARD_INPUTS),)
    # The empty and the blank email get the empty summary.
    assert hard["summary"][:2].tolist() == [b"", b""]
    batch, summary_len, source_len = hard["attention"].shape
    assert hard["source_pieces"].shape == (batch, source_len)
    assert hard["summary_pieces"].shape == (batch, summary_len)
    assert hard["copy_probability"].shape == (batch, summary_len)
    # The 52,500-character email is cut to max_source_length pieces.
    assert source_len <= 48
    np.testing.assert_allclose(hard["attention"][:, 0].sum(-1), 1.0, atol=1e-4)


def test_predict_on_this_backend_matches_the_saved_model(run, served):
    loaded = load_run(run["run"])
    config = loaded.config
    run_info = loaded.info
    tokenizer = loaded.tokenizer
    model = loaded.model
    summarizer = infer.Summarizer(model, tokenizer, config)
    predicted = [summarizer.summarize([t])[0] for t in run_info["samples"]]
    assert [s["summary"][0].decode() for s in served["samples"]] == predicted
