"""`MultiHeadAttention`: Keras parity, paths, grouped heads, cache, masks."""

import keras
import numpy as np
import numpy_reference as ref
import pytest
from helpers import to_numpy

from attention_suite.layers import MultiHeadAttention

B, TQ, TK, D = 2, 7, 9, 16


@pytest.fixture
def data(rng):
    query = rng.normal(size=(B, TQ, D)).astype("float32")
    value = rng.normal(size=(B, TK, 12)).astype("float32")
    value_mask = np.ones((B, TK), bool)
    value_mask[1, 5:] = False
    return query, value, value_mask


def _layer(implementation, num_kv_heads=None, **kwargs):
    return MultiHeadAttention(
        num_heads=4,
        key_dim=8,
        num_key_value_heads=num_kv_heads,
        implementation=implementation,
        query_chunk_size=3,
        **kwargs,
    )


def _set_random_weights(layer, rng):
    layer.set_weights(
        [rng.normal(scale=0.3, size=w.shape) for w in layer.get_weights()]
    )


@pytest.mark.parametrize("implementation", ["fused", "explicit", "chunked"])
@pytest.mark.parametrize(
    "case", ["plain", "value_mask", "causal", "query_mask"]
)
def test_matches_keras_multi_head_attention(data, implementation, case):
    query, value, value_mask = data
    if case == "causal":
        value = value[:, :TQ]
    kwargs = {
        "plain": {},
        "value_mask": {"value_mask": value_mask},
        "causal": {"use_causal_mask": True},
        "query_mask": {
            "query_mask": np.arange(TQ)[None] < np.array([[7], [4]])
        },
    }[case]
    keras_layer = keras.layers.MultiHeadAttention(num_heads=4, key_dim=8)
    want = to_numpy(keras_layer(query, value, **kwargs))
    ours = _layer(implementation)
    ours(query, value)
    ours.set_weights(keras_layer.get_weights())
    got = to_numpy(ours(query, value, **kwargs))
    if case == "query_mask":
        # Keras gives padded queries a uniform average; ours a zero context.
        # Only the real queries have to agree.
        got, want = got[1, :4], want[1, :4]
    np.testing.assert_allclose(got, want, atol=2e-5)


@pytest.mark.parametrize("num_kv_heads", [1, 2, 4])
def test_grouped_heads_match_reference_on_every_path(data, num_kv_heads, rng):
    query, value, value_mask = data
    mask = np.broadcast_to(value_mask[:, None], (B, TQ, TK))
    outputs = {}
    for implementation in ("fused", "explicit", "chunked"):
        layer = _layer(implementation, num_kv_heads)
        layer(query, value)
        if not outputs:
            _set_random_weights(layer, np.random.default_rng(0))
            weights = layer.get_weights()
        layer.set_weights(weights)
        outputs[implementation] = to_numpy(
            layer(query, value, value_mask=value_mask)
        )
    want, _ = ref.multi_head_attention(
        query, value, weights, 4, num_kv_heads, mask
    )
    for implementation, got in outputs.items():
        np.testing.assert_allclose(got, want, atol=1e-4, err_msg=implementation)


def test_attention_scores_are_masked_and_normalized(data):
    query, value, value_mask = data
    layer = _layer("auto")
    out, scores = layer(
        query, value, value_mask=value_mask, return_attention_scores=True
    )
    scores = to_numpy(scores)
    assert scores.shape == (B, 4, TQ, TK)
    assert np.all(scores[1, :, :, 5:] == 0.0)
    np.testing.assert_allclose(scores.sum(-1), 1.0, rtol=1e-5)


@pytest.mark.parametrize("implementation", ["fused", "explicit", "chunked"])
def test_fully_masked_rows_give_zeros_not_nan(data, implementation):
    query, value, _ = data
    value_mask = np.ones((B, TK), bool)
    value_mask[0] = False
    layer = _layer(implementation, use_bias=False)
    out = to_numpy(layer(query, value, value_mask=value_mask))
    assert np.all(np.isfinite(out))
    assert np.all(out[0] == 0.0) and np.any(out[1] != 0.0)


def test_causal_scores_are_lower_triangular(data):
    query, _, _ = data
    layer = _layer("explicit")
    _, scores = layer(
        query, query, use_causal_mask=True, return_attention_scores=True
    )
    assert np.all(np.triu(to_numpy(scores), k=1) == 0.0)


@pytest.mark.parametrize("implementation", ["fused", "explicit"])
@pytest.mark.parametrize("num_kv_heads", [None, 2])
def test_cached_decoding_equals_full_causal_pass(
    implementation, num_kv_heads, rng
):
    x = rng.normal(size=(B, 6, D)).astype("float32")
    layer = _layer(implementation, num_kv_heads)
    full = to_numpy(layer(x, x, use_causal_mask=True))
    cache = np.zeros((B, 2, 6, num_kv_heads or 4, 8), "float32")
    # A two-token prompt first, then one token at a time.
    out, cache = layer(
        x[:, :2],
        x[:, :2],
        cache=cache,
        cache_update_index=0,
        use_causal_mask=True,
    )
    steps = [to_numpy(out)]
    for i in range(2, 6):
        out, cache = layer(
            x[:, i : i + 1], x[:, i : i + 1], cache=cache, cache_update_index=i
        )
        steps.append(to_numpy(out))
    np.testing.assert_allclose(np.concatenate(steps, 1), full, atol=1e-5)


def test_chunked_path_with_causal_mask_and_ragged_chunks(rng):
    x = rng.normal(size=(1, 10, D)).astype("float32")
    explicit = _layer("explicit")
    want = to_numpy(explicit(x, x, use_causal_mask=True))
    chunked = _layer("chunked")
    chunked(x, x)
    chunked.set_weights(explicit.get_weights())
    got = to_numpy(chunked(x, x, use_causal_mask=True))
    np.testing.assert_allclose(got, want, atol=1e-5)


def test_dropout_only_in_training(data):
    query, value, _ = data
    layer = _layer("auto", dropout=0.5, seed=1)
    inference = to_numpy(layer(query, value))
    np.testing.assert_allclose(to_numpy(layer(query, value)), inference)
    training = to_numpy(layer(query, value, training=True))
    assert not np.allclose(training, inference)


def test_scores_need_the_explicit_path(data):
    query, value, _ = data
    with pytest.raises(ValueError, match="explicit path"):
        _layer("fused")(query, value, return_attention_scores=True)


@pytest.mark.parametrize(
    "query_shape, value_shape, message",
    [
        ((2, 3), (2, 5, 4), "rank 3"),
        ((2, 3, 4), (3, 5, 4), "batch sizes"),
    ],
)
def test_bad_shapes_name_the_problem(query_shape, value_shape, message):
    layer = MultiHeadAttention(num_heads=2, key_dim=4)
    with pytest.raises(ValueError, match=message):
        layer(np.ones(query_shape, "float32"), np.ones(value_shape, "float32"))


def test_feature_size_change_after_build_is_reported(data):
    query, value, _ = data
    layer = _layer("auto")
    layer(query, value)
    with pytest.raises(ValueError, match=r"value.shape=\(2, 9, 16\)"):
        layer(query, np.ones((B, TK, D), "float32"))
