"""The Transformer summarizer through the whole app: a tiny run trains from
the command line, its copy signature explains each piece, and its export
serves the same summaries in a fresh TensorFlow-only process."""

import os

import numpy as np

from attention_suite.apps.cli import main
from attention_suite.apps.summarization import infer
from attention_suite.apps.summarization.model import TransformerPointerGenerator
from attention_suite.apps.summarization.serving import export_and_verify
from attention_suite.apps.summarization.synthetic import write_demo_jsonl
from attention_suite.apps.summarization.training import load_run

TINY = [
    "model=transformer",
    "vocabulary_size=200",
    "embedding_dim=32",
    "num_layers=1",
    "num_heads=2",
    "intermediate_dim=64",
    "max_source_length=48",
    "max_summary_length=10",
    "epochs=4",
    "batch_size=32",
    "warmup_steps=20",
    "learning_rate=0.005",
    "dropout=0.0",
    "beam_size=2",
]


def test_transformer_run_trains_explains_and_exports(tmp_path):
    data = write_demo_jsonl(str(tmp_path / "emails.jsonl"), count=200)
    run_dir = str(tmp_path / "run")
    args = ["summarize", "train", "--data", data, "--out", run_dir]
    for setting in TINY:
        args += ["--set", setting]
    assert main(args) == 0
    loaded = load_run(run_dir)
    config = loaded.config
    tokenizer = loaded.tokenizer
    model = loaded.model
    assert isinstance(model, TransformerPointerGenerator)
    found = infer.Summarizer(model, tokenizer, config).details(
        "Hi Ben, the site visit for Torvu is now planned for Monday."
    )
    steps, pieces = found["attention"].shape
    assert (steps, pieces) == (
        len(found["summary_pieces"]),
        len(found["source_pieces"]),
    )
    np.testing.assert_allclose(found["attention"].sum(-1), 1.0, atol=1e-4)
    assert np.all(
        (found["copy_probability"] >= 0) & (found["copy_probability"] <= 1)
    )
    path = export_and_verify(run_dir, str(tmp_path / "saved" / "1"))
    assert os.path.exists(os.path.join(path, "saved_model.pb"))
