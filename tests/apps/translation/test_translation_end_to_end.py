"""Train, evaluate, predict and export tiny translation runs on the current
backend; the export is reloaded in a fresh TensorFlow-only process."""

import json
import os

import keras
import numpy as np
import pytest
from helpers import assert_servable, graph_property, train_evaluate_export
from keras import ops

from attention_suite.apps.cli import main
from attention_suite.apps.common.data import tokenizers
from attention_suite.apps.common.serving.process import run_saved_model
from attention_suite.apps.translation import infer
from attention_suite.apps.translation.serving import HARD_INPUTS
from attention_suite.apps.translation.synthetic import write_demo_tsv
from attention_suite.apps.translation.training import load_run

TINY = {
    "transformer": [
        "embedding_dim=32",
        "num_layers=1",
        "num_heads=2",
        "intermediate_dim=64",
    ],
    "gru_attention": ["embedding_dim=32", "units=32"],
}
COMMON = [
    "vocabulary_size=120",
    "max_length=24",
    "epochs=2",
    "batch_size=32",
    "warmup_steps=10",
    "learning_rate=0.005",
    "beam_size=3",
    "dropout=0.0",
]


# Both models train end to end in the TensorFlow pass, one in each other
# pass: each model then runs on two backends, and the summarization tests
# run the generation code they share (encoders, search) on all three.
MODELS = {
    "tensorflow": ("gru_attention", "transformer"),
    "jax": ("transformer",),
    "torch": ("gru_attention",),
}


@pytest.fixture(scope="module", params=MODELS[keras.backend.backend()])
def run(request, tmp_path_factory):
    root = tmp_path_factory.mktemp(request.param)
    tsv = write_demo_tsv(str(root / "pairs.tsv"))
    settings = [f"model={request.param}"] + COMMON + TINY[request.param]
    run_dir, model_dir = train_evaluate_export(
        "translate", ["--data", tsv], settings, root, "translation", 3
    )
    return {"run": run_dir, "model": model_dir}


def test_evaluation_reports_bleu_and_writes_hypotheses(run):
    with open(os.path.join(run["run"], "metrics.json")) as f:
        report = json.load(f)
    assert {"identity", "greedy", "beam3"} <= set(report)
    for name in ("identity", "greedy", "beam3"):
        assert 0.0 <= report[name]["bleu"] <= 100.0
        assert report[name]["bleu"] <= report[name]["bleu_lowercase"] + 1e-6
    with open(
        os.path.join(run["run"], "test.beam3.txt"), encoding="utf-8"
    ) as f:
        assert len(f.read().splitlines()) == report["sentences"]


def test_predict_prints_one_translation_per_sentence(run, capsys):
    capsys.readouterr()
    assert (
        main(
            [
                "translate",
                "predict",
                "--run",
                run["run"],
                "A dog runs.",
                "Today a cat sleeps in the park.",
            ]
        )
        == 0
    )
    assert len(capsys.readouterr().out.splitlines()) == 2


def _model(run):
    loaded = load_run(run["run"])
    config = loaded.config
    tokenizer = loaded.tokenizer
    model = loaded.model
    translator = infer.Translator(model, tokenizer, config)
    source = translator.encode(
        ["A dog runs on the beach.", "Now the girl waits."]
    )
    return config, model, source


def test_source_padding_changes_nothing(run):
    _, model, source = _model(run)
    padded = np.pad(source, ((0, 0), (0, 5)))
    target_in = np.array([[tokenizers.BOS_ID, 5, 6, 7]] * 2, dtype="int32")
    plain = model({"source": source, "target_in": target_in})
    more = model({"source": padded, "target_in": target_in})
    np.testing.assert_allclose(
        ops.convert_to_numpy(plain), ops.convert_to_numpy(more), atol=1e-5
    )


def test_cached_steps_equal_teacher_forcing(run):
    _, model, source = _model(run)
    target_in = np.array([[tokenizers.BOS_ID, 9, 4, 11, 6]] * 2, dtype="int32")
    memory = model.encode(source)
    full = ops.convert_to_numpy(model.decode(target_in, memory))
    state = model.start_state(memory, 8)
    for index in range(target_in.shape[1]):
        logits, state = model.step(target_in[:, index], index, state)
        np.testing.assert_allclose(
            ops.convert_to_numpy(logits), full[:, index], atol=1e-4
        )


def test_beam_of_one_is_greedy(run):
    config, model, source = _model(run)
    from attention_suite.apps.common.generation import decoding

    greedy = decoding.generate(
        model,
        source,
        config.max_length,
        tokenizers.BOS_ID,
        tokenizers.EOS_ID,
        beam_size=1,
    )
    state = model.start_state(model.encode(source), config.max_length)
    beam, _ = decoding.beam_search(
        model.step,
        state,
        source.shape[0],
        config.max_length,
        tokenizers.BOS_ID,
        tokenizers.EOS_ID,
        beam_size=1,
    )
    np.testing.assert_array_equal(
        ops.convert_to_numpy(greedy), ops.convert_to_numpy(beam)
    )


@graph_property
def test_export_is_a_plain_graph_with_cpu_string_ops(run):
    audit = assert_servable(
        run["model"], "translation", text_ops=True, run_dir=run["run"]
    )
    graph, pinned = set(audit.core + audit.text), audit.pinned
    assert "XlaDynamicUpdateSlice" not in graph
    assert {"SentencepieceTokenizeOp", "SentencepieceDetokenizeOp"} <= graph
    # Only KerasHub's tokenizer places ops (string ops, and the shape ops
    # around them) on the CPU; the model and the search float freely.
    assert all(p.endswith("@/device:CPU:*") for p in pinned)
    assert not any(
        p.split("@")[0] in ("MatMul", "BatchMatMulV2", "Einsum") for p in pinned
    )


@pytest.fixture(scope="module")
def served(run):
    """One fresh TF-only process serves the hard inputs, then each sample."""
    loaded = load_run(run["run"])
    run_info = loaded.info
    hard = np.array(
        [t if isinstance(t, bytes) else t.encode() for t in HARD_INPUTS],
        dtype=object,
    ).astype(bytes)
    requests = [{"text": hard}] + [
        {"text": np.array([t.encode()])} for t in run_info["samples"]
    ]
    outputs = run_saved_model(
        run["model"],
        requests,
        signature="translate_with_attention",
        imports=("tensorflow_text",),
    )
    return {"hard": outputs[0], "samples": outputs[1:]}


def test_served_hard_inputs_and_alignment(served):
    hard = served["hard"]
    assert hard["translation"].shape == (len(HARD_INPUTS),)
    # The empty and the blank text get the empty translation.
    assert hard["translation"][:2].tolist() == [b"", b""]
    batch, target_len, source_len = hard["attention"].shape
    assert hard["source_pieces"].shape == (batch, source_len)
    assert hard["target_pieces"].shape == (batch, target_len)
    # The 5,000-word input is cut to max_length pieces.
    assert source_len <= 24
    # Only padding is empty, and it trails: every real piece has a label.
    for pieces in (*hard["source_pieces"], *hard["target_pieces"]):
        real = [bool(piece) for piece in pieces]
        assert real == sorted(real, reverse=True)
    # Each generated piece's attention over the source sums to one.
    first = hard["attention"][3, 0]
    np.testing.assert_allclose(first.sum(), 1.0, atol=1e-4)


def test_predict_on_this_backend_matches_the_saved_model(run, served):
    loaded = load_run(run["run"])
    config = loaded.config
    run_info = loaded.info
    tokenizer = loaded.tokenizer
    model = loaded.model
    translator = infer.Translator(model, tokenizer, config)
    predicted = [translator.translate([t])[0] for t in run_info["samples"]]
    assert [
        s["translation"][0].decode() for s in served["samples"]
    ] == predicted
