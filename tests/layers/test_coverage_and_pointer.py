"""`CoverageAttention`, `coverage_loss` and `PointerGenerator` (See et al.
2017) against NumPy references and the properties summarization needs."""

import numpy as np
import pytest
from helpers import to_numpy

from attention_suite.layers import (
    CoverageAttention,
    PointerGenerator,
    copy_distribution,
    coverage_loss,
)

B, S, D, V = 2, 5, 8, 12


@pytest.fixture
def source(rng):
    return rng.normal(size=(B, S, D)).astype("float32")


def _softmax(x, mask):
    x = np.where(mask, x, -np.inf)
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def test_coverage_attention_matches_the_paper(rng, source):
    layer = CoverageAttention(units=6)
    query = rng.normal(size=(B, 4)).astype("float32")
    coverage = np.abs(rng.normal(size=(B, S))).astype("float32")
    mask = np.array([[1] * S, [1] * 3 + [0] * 2], bool)
    context, weights, new_coverage = to_numpy(
        layer(query, source, coverage, value_mask=mask)
    )
    w_q, w_k, w_c, v, b = (to_numpy(w) for w in layer.weights)
    hidden = np.tanh(
        (query @ w_q)[:, None] + source @ w_k + coverage[..., None] * w_c + b
    )
    want = _softmax(hidden @ v, mask)
    np.testing.assert_allclose(weights, want, atol=1e-6)
    np.testing.assert_allclose(
        context, np.einsum("bs,bsd->bd", want, source), atol=1e-5
    )
    np.testing.assert_allclose(new_coverage, coverage + want, atol=1e-6)
    assert (weights[1, 3:] == 0).all()


def test_coverage_changes_where_the_step_looks(rng, source):
    layer = CoverageAttention(units=6)
    query = rng.normal(size=(B, 4)).astype("float32")
    fresh = to_numpy(layer(query, source, np.zeros((B, S), "float32"))[1])
    covered = np.zeros((B, S), "float32")
    covered[:, 0] = 3.0
    seen = to_numpy(layer(query, source, covered)[1])
    assert not np.allclose(fresh, seen)


def test_projected_key_is_a_shortcut_not_a_change(rng, source):
    layer = CoverageAttention(units=6)
    query = rng.normal(size=(B, 4)).astype("float32")
    coverage = np.zeros((B, S), "float32")
    plain = to_numpy(layer(query, source, coverage))
    shortcut = to_numpy(
        layer(query, source, coverage, projected_key=layer.project_key(source))
    )
    for a, b in zip(plain, shortcut):
        np.testing.assert_allclose(a, b, atol=1e-6)


def test_coverage_loss_is_zero_without_overlap_and_grows_with_it():
    steps = np.eye(S, dtype="float32")[None].repeat(
        B, 0
    )  # one position per step
    coverage = np.cumsum(steps, axis=1) - steps  # coverage before each step
    np.testing.assert_array_equal(to_numpy(coverage_loss(steps, coverage)), 0.0)
    repeated = np.zeros_like(steps)
    repeated[:, :, 0] = 1.0  # every step attends to the first position
    losses = to_numpy(
        coverage_loss(repeated, np.cumsum(repeated, axis=1) - repeated)
    )
    np.testing.assert_allclose(losses[0], [0, 1, 1, 1, 1])


def test_copy_distribution_sums_repeated_tokens():
    weights = np.array([[[0.1, 0.2, 0.3, 0.4]]], "float32")
    ids = np.array([[7, 3, 7, 0]])
    copied = to_numpy(copy_distribution(weights, ids, 9))
    want = np.zeros((1, 1, 9))
    want[0, 0, [7, 3, 0]] = [0.4, 0.2, 0.4]
    np.testing.assert_allclose(copied, want, atol=1e-7)


def test_pointer_generator_mixes_both_distributions(rng):
    layer = PointerGenerator()
    logits = rng.normal(size=(B, 3, V)).astype("float32")
    weights = _softmax(rng.normal(size=(B, 3, S)), np.ones((B, 3, S), bool))
    ids = rng.integers(0, V, size=(B, S))
    features = rng.normal(size=(B, 3, 4)).astype("float32")
    log_probs, p_gen = to_numpy(
        layer(
            logits, weights, ids, features, return_generation_probability=True
        )
    )
    kernel, bias = (to_numpy(w) for w in layer.weights)
    gate = 1 / (1 + np.exp(-(features @ kernel + bias)))
    copied = np.zeros((B, 3, V))
    for b in range(B):
        for j in range(S):
            copied[b, :, ids[b, j]] += weights[b, :, j]
    want = (
        gate * _softmax(logits, np.ones_like(logits, bool))
        + (1 - gate) * copied
    )
    np.testing.assert_allclose(np.exp(log_probs), want, atol=1e-6)
    np.testing.assert_allclose(p_gen, gate[..., 0], atol=1e-6)
    np.testing.assert_allclose(np.exp(log_probs).sum(-1), 1.0, atol=1e-5)


def test_a_source_only_token_can_be_produced(rng):
    # The vocabulary softmax all but rules out token 11; the source has it
    # where the attention looks, and the gate favours copying.
    layer = PointerGenerator(kernel_initializer="zeros")
    layer.build((1, V), (1, S), (1, S), (1, 4))
    layer.bias.assign([-4.0])
    logits = np.zeros((1, V), "float32")
    logits[0, 11] = -30.0
    logits[0, 2] = 5.0
    weights = np.array([[0.05, 0.05, 0.8, 0.05, 0.05]], "float32")
    ids = np.array([[3, 4, 11, 5, 6]])
    log_probs = to_numpy(
        layer(logits, weights, ids, np.ones((1, 4), "float32"))
    )
    assert log_probs.shape == (1, V)
    assert log_probs[0].argmax() == 11


def test_pointer_generator_rejects_mismatched_sources():
    with pytest.raises(ValueError, match="source lengths"):
        PointerGenerator()(
            np.zeros((2, V)),
            np.zeros((2, S)),
            np.zeros((2, S + 1), "int32"),
            np.zeros((2, 4)),
        )
