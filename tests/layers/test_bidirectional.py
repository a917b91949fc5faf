"""`BidirectionalAttention` (BiDAF's attention flow) against NumPy."""

import keras
import numpy as np
import numpy_reference as ref
import pytest
from helpers import to_numpy

from attention_suite.layers import BidirectionalAttention

B, T, J, D = 2, 7, 4, 6


@pytest.fixture
def inputs(rng):
    context = rng.normal(size=(B, T, D)).astype("float32")
    query = rng.normal(size=(B, J, D)).astype("float32")
    context_mask = np.ones((B, T), bool)
    context_mask[1, 5:] = False
    query_mask = np.ones((B, J), bool)
    query_mask[0, 3:] = False
    return context, query, context_mask, query_mask


def _seeded_layer(context, query, rng):
    layer = BidirectionalAttention()
    layer(context, query)
    layer.set_weights(
        [
            rng.normal(size=w.shape).astype("float32")
            for w in layer.get_weights()
        ]
    )
    return layer


def test_matches_the_numpy_reference_with_padding(inputs, rng):
    context, query, context_mask, query_mask = inputs
    layer = _seeded_layer(context, query, rng)
    outputs, (to_query, to_context) = layer(
        context,
        query,
        context_mask=context_mask,
        query_mask=query_mask,
        return_attention_scores=True,
    )
    want, want_a, want_b = ref.bidirectional_attention(
        context, query, *layer.get_weights(), context_mask, query_mask
    )
    np.testing.assert_allclose(to_numpy(outputs), want, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(to_numpy(to_query), want_a, atol=1e-5)
    np.testing.assert_allclose(to_numpy(to_context), want_b, atol=1e-5)
    # Padding gets no weight and padded context rows are zero.
    assert np.all(to_numpy(to_query)[0, :, 3:] == 0.0)
    assert np.all(to_numpy(to_context)[1, 5:] == 0.0)
    assert np.all(to_numpy(outputs)[1, 5:] == 0.0)
    assert outputs.shape == (B, T, 4 * D)


def test_padding_values_change_nothing(inputs, rng):
    context, query, context_mask, query_mask = inputs
    layer = _seeded_layer(context, query, rng)
    noisy_query = query.copy()
    noisy_query[0, 3:] = 100.0
    noisy_context = context.copy()
    noisy_context[1, 5:] = -100.0
    plain, noisy = (
        to_numpy(layer(c, q, context_mask=context_mask, query_mask=query_mask))
        for c, q in ((context, query), (noisy_context, noisy_query))
    )
    np.testing.assert_allclose(plain, noisy, atol=1e-5)


def test_keras_masks_flow_from_embeddings(rng):
    ids = np.array([[3, 4, 5, 0, 0], [6, 7, 8, 9, 1]], "int32")
    question = np.array([[2, 3, 0], [4, 0, 0]], "int32")
    embedding = keras.layers.Embedding(12, D, mask_zero=True)
    layer = BidirectionalAttention()
    context, query = embedding(ids), embedding(question)
    outputs, (to_query, to_context) = layer(
        context, query, return_attention_scores=True
    )
    explicit = layer(
        context, query, context_mask=ids != 0, query_mask=question != 0
    )
    np.testing.assert_allclose(to_numpy(outputs), to_numpy(explicit), atol=1e-6)
    assert np.all(to_numpy(to_query)[1, :, 1:] == 0.0)
    assert np.all(to_numpy(to_context)[0, 3:] == 0.0)


@pytest.mark.parametrize(
    "context_shape, query_shape, message",
    [
        ((B, T), (B, J, D), "context"),
        ((B, T, D), (B, J, D + 1), "feature sizes"),
    ],
)
def test_bad_shapes_name_the_problem(context_shape, query_shape, message):
    with pytest.raises(ValueError, match=message):
        BidirectionalAttention()(np.ones(context_shape), np.ones(query_shape))
