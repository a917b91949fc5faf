"""An `encoder` run end to end on a tiny local BERT preset: train, evaluate,
export, and the SavedModel (packed `[CLS] question [SEP] window [SEP]`
inputs, batches cut to their length) reloaded in a fresh TensorFlow-only
process with the same answers as `predict`."""

import json
import os

import keras_hub
import pytest
from helpers import assert_servable, train_evaluate_export

from attention_suite.apps.qa import features
from attention_suite.apps.qa.synthetic import demo_document, write_demo_squad

SETTINGS = [
    "model=encoder",
    "frozen_layers=1",
    "window=48",
    "stride=24",
    "max_question_length=12",
    "train_limit=320",
    "epochs=2",
    "batch_size=32",
    "warmup_steps=5",
    "learning_rate=0.001",
    "dropout=0.0",
]


def _write_tiny_preset(path):
    """A two-layer BERT and its WordPiece vocabulary, learned on demo text."""
    texts = []
    for article in demo_document()["data"]:
        for paragraph in article["paragraphs"]:
            texts.append(paragraph["context"])
            texts += [qa["question"] for qa in paragraph["qas"]]
    vocabulary = features.learn_vocabulary(texts, 400)
    keras_hub.models.BertTokenizer(vocabulary=vocabulary).save_to_preset(path)
    keras_hub.models.BertBackbone(
        vocabulary_size=len(vocabulary),
        num_layers=2,
        num_heads=2,
        hidden_dim=32,
        intermediate_dim=64,
        max_sequence_length=128,
    ).save_to_preset(path)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("qa_encoder")
    preset = str(root / "preset")
    _write_tiny_preset(preset)
    data = write_demo_squad(str(root / "demo.json"))
    run_dir, model_dir = train_evaluate_export(
        "qa", ["--data", data], SETTINGS + [f"preset={preset}"], root, "qa", 1
    )
    return {"run": run_dir, "model": model_dir}


def test_encoder_run_is_scored_with_the_baseline(run):
    with open(os.path.join(run["run"], "metrics.json")) as f:
        report = json.load(f)
    scores = report["scores"]
    assert set(scores) == {"encoder", "sliding_window"}
    assert 0.0 <= scores["encoder"]["f1"] <= 100.0
    with open(
        os.path.join(run["run"], "predictions.jsonl"), encoding="utf-8"
    ) as f:
        records = [json.loads(line) for line in f]
    assert report["questions"] == len(records) > 0
    assert {"answer", "start", "end", "score"} <= set(records[0]["encoder"])


def test_encoder_export_is_a_plain_graph_with_in_graph_tokenization(run):
    audit = assert_servable(
        run["model"], "qa", text_ops=True, run_dir=run["run"]
    )
    ops = set(audit.core + audit.text)
    assert "FastBertNormalize" in ops or any("Wordpiece" in op for op in ops)
