"""Score functions and `Attention` against the NumPy formulas."""

import keras
import numpy as np
import numpy_reference as ref
import pytest
from helpers import to_numpy

from attention_suite.layers import Attention, scores

B, TQ, TK, DQ, DK = 2, 3, 5, 6, 4


def _inputs(rng, dq=DQ, dk=DK):
    q = rng.normal(size=(B, TQ, dq)).astype("float32")
    k = rng.normal(size=(B, TK, dk)).astype("float32")
    return q, k


def _reference(name, layer, q, k):
    w = [to_numpy(v) for v in layer.weights]
    return {
        "dot": lambda: ref.dot_score(q, k),
        "scaled_dot": lambda: ref.scaled_dot_score(q, k),
        "general": lambda: ref.general_score(q, k, *w),
        "additive": lambda: ref.additive_score(q, k, *w),
        "location": lambda: ref.location_score(q, k, *w),
    }[name]()


SCORE_KWARGS = {"location": {"max_length": 8}}


@pytest.mark.parametrize(
    "name", ["dot", "scaled_dot", "general", "additive", "location"]
)
def test_score_matches_formula(name, rng):
    dk = DQ if name in ("dot", "scaled_dot") else DK
    q, k = _inputs(rng, dk=dk)
    layer = scores.get(name, **SCORE_KWARGS.get(name, {}))
    out = to_numpy(layer(q, k))
    assert out.shape == (B, TQ, TK)
    np.testing.assert_allclose(
        out, _reference(name, layer, q, k), rtol=1e-5, atol=1e-5
    )


def test_concat_is_the_additive_score():
    assert isinstance(scores.get("concat"), scores.AdditiveScore)


@pytest.mark.parametrize(
    "name", ["dot", "scaled_dot", "general", "additive", "location"]
)
def test_attention_matches_formula_with_padding(name, rng):
    q, v = _inputs(rng, dk=DQ)
    value_mask = np.ones((B, TK), bool)
    value_mask[1, 2:] = False
    layer = Attention(score=name, score_kwargs=SCORE_KWARGS.get(name))
    context, weights = layer(
        q, v, value_mask=value_mask, return_attention_scores=True
    )
    e = _reference(name, layer.score, q, v)
    want_context, want_weights = ref.attend(e, v, value_mask[:, None])
    np.testing.assert_allclose(to_numpy(weights), want_weights, atol=1e-5)
    np.testing.assert_allclose(to_numpy(context), want_context, atol=1e-5)
    assert np.all(to_numpy(weights)[1, :, 2:] == 0.0)


def test_projected_key_shortcut_changes_nothing(rng):
    q, v = _inputs(rng, dk=DQ)
    layer = Attention(score="additive", score_kwargs={"units": 8})
    plain = to_numpy(layer(q[:, 0], v))
    projected = layer.project_key(v)
    assert projected.shape == (B, TK, 8)
    shortcut = to_numpy(layer(q[:, 0], v, projected_key=projected))
    np.testing.assert_allclose(shortcut, plain, rtol=1e-6, atol=1e-6)
    with pytest.raises(ValueError, match="no key projection"):
        Attention(score="dot").project_key(v)


def test_single_query_returns_vectors(rng):
    q, v = _inputs(rng, dk=DQ)
    layer = Attention(score="dot")
    context, weights = layer(q[:, 0], v, return_attention_scores=True)
    assert context.shape == (B, DQ) and weights.shape == (B, TK)
    full_context = to_numpy(layer(q, v))[:, 0]
    np.testing.assert_allclose(to_numpy(context), full_context, atol=1e-6)


def test_separate_keys_and_values(rng):
    q, k = _inputs(rng)
    v = rng.normal(size=(B, TK, 7)).astype("float32")
    layer = Attention(score="general")
    context, weights = layer(q, v, key=k, return_attention_scores=True)
    want, _ = ref.attend(
        ref.general_score(q, k, to_numpy(layer.score.kernel)), v
    )
    np.testing.assert_allclose(to_numpy(context), want, atol=1e-5)
    assert context.shape == (B, TQ, 7)


def test_causal_mask_and_fully_masked_rows(rng):
    x = rng.normal(size=(B, 4, DQ)).astype("float32")
    query_mask = np.array([[True] * 4, [True, True, False, False]])
    layer = Attention(score="scaled_dot")
    context, weights = layer(
        x,
        x,
        query_mask=query_mask,
        use_causal_mask=True,
        return_attention_scores=True,
    )
    weights, context = to_numpy(weights), to_numpy(context)
    assert np.all(np.triu(weights[0], k=1) == 0.0)
    np.testing.assert_allclose(weights[0].sum(-1), 1.0, rtol=1e-6)
    # Padded queries attend to nothing: zero weights and context, no NaN.
    assert np.all(np.isfinite(context))
    assert np.all(weights[1, 2:] == 0.0) and np.all(context[1, 2:] == 0.0)


def test_keras_mask_flows_through_embedding():
    tokens = np.array([[3, 4, 0, 0], [5, 0, 0, 0]])
    inputs = keras.Input((None,), dtype="int32")
    x = keras.layers.Embedding(10, 8, mask_zero=True)(inputs)
    context, weights = Attention(score="dot")(
        x, x, return_attention_scores=True
    )
    assert context._keras_mask is not None
    model = keras.Model(inputs, weights)
    weights = to_numpy(model(tokens))
    assert np.all(weights[0, :2, 2:] == 0.0) and np.all(weights[1, 0, 1:] == 0)


@pytest.mark.parametrize(
    "query_shape, value_shape, message",
    [
        ((2, 3, 4, 5), (2, 5, 4), "rank 2 or 3"),
        ((2, 3, 4), (2, 5), "rank 3"),
        ((2, 3, 4), (3, 5, 4), "batch sizes"),
        ((2, 3, 4), (2, 5, 6), "feature sizes"),
    ],
)
def test_bad_shapes_name_the_problem(query_shape, value_shape, message):
    layer = Attention(score="dot")
    with pytest.raises(ValueError, match=message):
        layer(np.ones(query_shape, "float32"), np.ones(value_shape, "float32"))


def test_location_score_rejects_too_many_keys():
    layer = scores.LocationScore(max_length=4)
    with pytest.raises(ValueError, match="max_length=4"):
        layer(np.ones((1, 2, 3), "float32"), np.ones((1, 6, 3), "float32"))
