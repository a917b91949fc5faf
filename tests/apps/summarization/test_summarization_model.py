"""Both summarizers (GRU pointer-generator, Transformer with copy) on the
current backend: they learn to copy source tokens through the pointer, their
cached steps equal teacher forcing, padding changes nothing, and the
coverage loss is part of training."""

import keras
import numpy as np
import pytest
from helpers import to_numpy

from attention_suite.apps.common.data.tokenizers import BOS_ID, EOS_ID
from attention_suite.apps.common.training.losses import MaskedSparseCrossentropy
from attention_suite.apps.summarization.model import (
    PointerGeneratorSummarizer,
    TransformerPointerGenerator,
)

V = 40
KINDS = ("pointer_generator", "transformer")


def _model(kind, **kwargs):
    if kind == "transformer":
        return TransformerPointerGenerator(
            V,
            embedding_dim=16,
            num_layers=1,
            num_heads=2,
            intermediate_dim=32,
            dropout=0.0,
            **kwargs,
        )
    return PointerGeneratorSummarizer(
        V, embedding_dim=16, units=16, attention_units=16, dropout=0.0, **kwargs
    )


def _copy_task(count=64):
    """Sources of 5 tokens (and 2 padding); the summary is their first 3."""
    source = np.random.default_rng(0).integers(4, V, (count, 7)).astype("int32")
    source[:, -2:] = 0
    target_out = np.concatenate([source[:, :3], np.full((count, 1), EOS_ID)], 1)
    target_in = np.concatenate(
        [np.full((count, 1), BOS_ID), target_out[:, :-1]], 1
    )
    return {
        "source": source,
        "target_in": target_in.astype("int32"),
    }, target_out


@pytest.fixture(scope="module", params=KINDS)
def trained(request):
    keras.utils.set_random_seed(0)
    model = _model(request.param)
    inputs, targets = _copy_task()
    model.compile(
        optimizer=keras.optimizers.Adam(0.02), loss=MaskedSparseCrossentropy()
    )
    history = model.fit(inputs, targets, epochs=60, batch_size=64, verbose=0)
    return model, inputs, targets, history.history["loss"]


def test_learns_to_copy_through_the_pointer(trained):
    model, inputs, targets, losses = trained
    assert losses[-1] < 0.1 * losses[0]
    log_probs, details = model.decode(
        inputs["target_in"], model.encode(inputs["source"]), return_details=True
    )
    assert (to_numpy(log_probs).argmax(-1) == targets).mean() > 0.95
    p_gen = to_numpy(details["p_gen"])
    # Source tokens are copied; the end token (never in a source) is generated.
    assert p_gen[:, :3].mean() < 0.2 and p_gen[:, 3].mean() > 0.8
    np.testing.assert_allclose(
        to_numpy(details["attention"]).sum(-1), 1.0, atol=1e-5
    )


def test_cached_steps_equal_teacher_forcing(trained):
    model, inputs, _, _ = trained
    memory = model.encode(inputs["source"][:2])
    full = to_numpy(model.decode(inputs["target_in"][:2], memory))
    state = model.start_state(memory, 8)
    for index in range(full.shape[1]):
        log_probs, state = model.step(
            inputs["target_in"][:2, index], index, state
        )
        np.testing.assert_allclose(
            to_numpy(log_probs), full[:, index], atol=1e-4
        )


def test_source_padding_changes_nothing(trained):
    model, inputs, _, _ = trained
    padded = dict(inputs, source=np.pad(inputs["source"], ((0, 0), (0, 4))))
    # Padding changes the shapes, and so the order of the float32 sums: a
    # masking bug moves the log-probabilities by far more than this.
    np.testing.assert_allclose(
        to_numpy(model(padded)), to_numpy(model(inputs)), rtol=1e-4, atol=1e-4
    )


@pytest.mark.parametrize("kind", KINDS)
def test_coverage_loss_joins_training_only_when_weighted(kind):
    inputs, _ = _copy_task(4)
    weighted = _model(kind, coverage_weight=2.0)
    log_probs = weighted(inputs)
    assert tuple(log_probs.shape) == (4, 4, V)
    (loss,) = weighted.losses
    _, details = weighted.decode(
        inputs["target_in"],
        weighted.encode(inputs["source"]),
        return_details=True,
    )
    expected = 2.0 * to_numpy(details["coverage_loss"]).mean()
    np.testing.assert_allclose(float(to_numpy(loss)), expected, rtol=1e-5)
    unweighted = _model(kind, coverage_weight=0.0)
    unweighted(inputs)
    assert not unweighted.losses


def test_keras_file_round_trip(trained, tmp_path):
    model, inputs, _, _ = trained
    path = tmp_path / "summarizer.keras"
    model.save(path)
    restored = keras.saving.load_model(path)
    np.testing.assert_allclose(
        to_numpy(restored(inputs)), to_numpy(model(inputs)), atol=1e-6
    )


def test_transformer_coverage_is_the_sum_of_earlier_copy_attention():
    inputs, _ = _copy_task(4)
    model = _model("transformer")
    _, details = model.decode(
        inputs["target_in"], model.encode(inputs["source"]), return_details=True
    )
    attention = to_numpy(details["attention"])
    coverage = np.cumsum(attention, axis=1) - attention
    np.testing.assert_allclose(
        to_numpy(details["coverage_loss"]),
        np.minimum(attention, coverage).sum(-1),
        rtol=1e-5,
        atol=1e-6,
    )
    assert np.all(to_numpy(details["coverage_loss"])[:, 0] == 0.0)
