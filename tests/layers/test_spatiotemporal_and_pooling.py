"""`TemporalAttention`, `SpatialAttention` and `AttentionPooling` against
NumPy references built from the same weights."""

import keras
import numpy as np
import numpy_reference as ref
import pytest
from helpers import to_numpy

from attention_suite.layers import (
    AttentionPooling,
    SpatialAttention,
    TemporalAttention,
)

B, T, N, F = 2, 6, 4, 8


@pytest.fixture
def x(rng):
    return rng.normal(size=(B, T, N, F)).astype("float32")


def _mha_reference(layer, sequences, mask):
    weights = [to_numpy(w) for w in layer.attention.get_weights()]
    return ref.multi_head_attention(sequences, sequences, weights, 2, 2, mask)


def test_temporal_attention_is_causal_attention_per_node(x):
    layer = TemporalAttention(num_heads=2, key_dim=4)
    out, scores = layer(x, use_causal_mask=True, return_attention_scores=True)
    assert out.shape == (B, T, N, F) and scores.shape == (B, N, 2, T, T)
    per_node = np.swapaxes(x, 1, 2).reshape(B * N, T, F)
    mask = np.broadcast_to(ref.causal(T, T), (B * N, T, T))
    want, want_scores = _mha_reference(layer, per_node, mask)
    want = np.swapaxes(want.reshape(B, N, T, F), 1, 2)
    np.testing.assert_allclose(to_numpy(out), want, atol=1e-5)
    np.testing.assert_allclose(
        to_numpy(scores), want_scores.reshape(B, N, 2, T, T), atol=1e-6
    )


def test_spatial_attention_follows_the_road_graph(x):
    adjacency = np.eye(N, dtype=bool) | np.eye(N, k=1, dtype=bool)
    layer = SpatialAttention(num_heads=2, key_dim=4)
    out, scores = layer(
        x, attention_mask=adjacency, return_attention_scores=True
    )
    per_step = x.reshape(B * T, N, F)
    want, _ = _mha_reference(
        layer, per_step, np.broadcast_to(adjacency, (B * T, N, N))
    )
    np.testing.assert_allclose(
        to_numpy(out), want.reshape(B, T, N, F), atol=1e-5
    )
    assert np.all(to_numpy(scores)[..., ~adjacency] == 0.0)


@pytest.mark.parametrize(
    "layer_class, scores_shape",
    [(TemporalAttention, (B, N, 2, T, T)), (SpatialAttention, (B, T, 2, N, N))],
)
def test_functional_models_can_output_the_weights(x, layer_class, scores_shape):
    inputs = keras.Input((T, N, F))
    outputs, scores = layer_class(2, 4)(inputs, return_attention_scores=True)
    assert scores.shape == (None,) + scores_shape[1:]
    got_outputs, got_scores = keras.Model(inputs, [outputs, scores])(x)
    assert tuple(got_scores.shape) == scores_shape
    assert got_outputs.shape == x.shape


def test_missing_readings_get_no_weight(x):
    mask = np.ones((B, T, N), bool)
    mask[0, :, 2] = False  # sensor 2 of the first example is down
    _, scores = SpatialAttention(2, 4)(
        x, mask=mask, return_attention_scores=True
    )
    scores = to_numpy(scores)
    assert np.all(scores[0, :, :, :, 2] == 0.0)
    assert np.all(scores[1, :, :, :, 2] > 0.0)


@pytest.mark.parametrize(
    "layer, rank",
    [
        (lambda: TemporalAttention(2, 4), 4),
        (lambda: SpatialAttention(2, 4), 4),
        (AttentionPooling, 3),
    ],
)
def test_rank_is_checked(layer, rank):
    bad = np.ones((B, T, N, F, 1)[: rank + 1], "float32")
    with pytest.raises(ValueError, match=rf"rank {rank}.*shape=\(2, 6, 4, 8"):
        layer()(bad)


def test_attention_pooling_matches_formula(rng):
    x = rng.normal(size=(B, T, F)).astype("float32")
    mask = np.ones((B, T), bool)
    mask[1, 3:] = False
    layer = AttentionPooling()
    pooled, weights = layer(x, mask=mask, return_attention_scores=True)
    query = to_numpy(layer.query)[None].repeat(B, 0)
    score_weights = [to_numpy(w) for w in layer.attention.score.weights]
    e = ref.additive_score(query, x, *score_weights)
    want, want_weights = ref.attend(e, x, mask[:, None])
    np.testing.assert_allclose(to_numpy(pooled), want[:, 0], atol=1e-5)
    np.testing.assert_allclose(to_numpy(weights), want_weights[:, 0], atol=1e-6)
    assert np.all(to_numpy(weights)[1, 3:] == 0.0)


def test_attention_pooling_reads_the_keras_mask():
    tokens = np.array([[4, 5, 6, 0], [7, 0, 0, 0]])
    inputs = keras.Input((None,), dtype="int32")
    x = keras.layers.Embedding(10, 8, mask_zero=True)(inputs)
    pooled, weights = AttentionPooling(score="scaled_dot")(
        x, return_attention_scores=True
    )
    weights = to_numpy(keras.Model(inputs, weights)(tokens))
    np.testing.assert_allclose(weights[1], [1.0, 0.0, 0.0, 0.0], atol=1e-6)
    assert weights[0, 3] == 0.0
