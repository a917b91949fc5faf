"""Initial weights: every weight draws its own values, reproducibly.

A layer that hands one initializer object to several weights gives them all
the same values (Keras' initializers are stateless), so the layers clone
their initializers per weight, as `keras.layers.MultiHeadAttention` does.
"""

import itertools

import keras
import numpy as np
import pytest
from cases import CASES
from helpers import to_numpy

# Layers whose weights include at most one randomly initialized tensor.
SINGLE_RANDOM_WEIGHT = {
    "attention_dot",
    "attention_scaled_dot",
    "attention_general",
    "attention_location",
    "pointer_generator",
}
MULTI_WEIGHT_CASES = [c for c in CASES if c.name not in SINGLE_RANDOM_WEIGHT]
WEIGHTED_CASES = [
    c for c in CASES if c.name not in ("attention_dot", "attention_scaled_dot")
]


def _built_weights(case, seed):
    keras.utils.set_random_seed(seed)
    _, layer = case.model()
    return {w.path: to_numpy(w) for w in layer.weights}


def _random(weights):
    """The weights that are not constant (biases and norms start constant)."""
    return {path: w for path, w in weights.items() if np.ptp(w) > 0}


@pytest.mark.parametrize(
    "case", MULTI_WEIGHT_CASES, ids=[c.name for c in MULTI_WEIGHT_CASES]
)
def test_weights_of_equal_shape_start_different(case):
    weights = _random(_built_weights(case, seed=0))
    pairs = [
        (a, b)
        for a, b in itertools.combinations(weights, 2)
        if weights[a].shape == weights[b].shape
    ]
    assert pairs, "no two random weights of equal shape to compare"
    for a, b in pairs:
        assert not np.array_equal(weights[a], weights[b]), (a, b)


@pytest.mark.parametrize(
    "case", WEIGHTED_CASES, ids=[c.name for c in WEIGHTED_CASES]
)
def test_weights_are_reproducible_under_a_global_seed(case):
    first, again, other = (
        list(_built_weights(case, seed).values()) for seed in (1, 1, 2)
    )
    assert len(first) == len(again) == len(other) > 0
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    assert any(
        not np.array_equal(a, b) for a, b in zip(first, other) if np.ptp(a)
    )
