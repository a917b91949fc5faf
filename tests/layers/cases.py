"""One small, deterministic use of every layer, for the property tests.

Each case gives a layer factory, symbolic input specs for a functional model
(with unknown batch and sequence sizes) and concrete NumPy inputs.
"""

import keras
import numpy as np
from keras import ops

from attention_suite import layers


def _rand(*shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


class Case:
    """A layer under test.

    Args:
        name: test id.
        make: function of `dtype` returning a fresh layer.
        specs: list of `(shape without batch, dtype)` for `keras.Input`.
        inputs: list of NumPy arrays matching `specs`.
        call: function `(layer, *tensors)` returning the output tensor.
        float32_output: whether the output stays float32 under a mixed
            precision policy (like a model's final softmax).
    """

    def __init__(
        self, name, make, specs, inputs, call=None, float32_output=False
    ):
        self.name = name
        self.make = make
        self.specs = specs
        self.inputs = inputs
        self.call = call or (lambda layer, *x: layer(*x))
        self.float32_output = float32_output

    def model(self, dtype=None):
        """A functional model wrapping a fresh layer."""
        symbolic = [
            keras.Input(shape, dtype=spec_dtype)
            for shape, spec_dtype in self.specs
        ]
        layer = self.make(dtype)
        return keras.Model(symbolic, self.call(layer, *symbolic)), layer


def _seq(dim=8):
    return (None, dim), "float32"


def _score_case(score, **score_kwargs):
    return Case(
        f"attention_{score}",
        lambda dtype: layers.Attention(
            score=score, score_kwargs=score_kwargs or None, dtype=dtype
        ),
        [_seq(), _seq(), ((None,), "bool")],
        [
            _rand(2, 3, 8),
            _rand(2, 5, 8, seed=1),
            np.array([[1] * 5, [1] * 3 + [0] * 2], bool),
        ],
        lambda layer, q, v, mask: layer(q, v, value_mask=mask),
    )


def _mha_case(implementation, **kwargs):
    return Case(
        f"mha_{implementation}",
        lambda dtype: layers.MultiHeadAttention(
            num_heads=4,
            key_dim=4,
            num_key_value_heads=2,
            implementation=implementation,
            query_chunk_size=2,
            dtype=dtype,
            **kwargs,
        ),
        [_seq(), _seq()],
        [_rand(2, 5, 8), _rand(2, 6, 8, seed=1)],
    )


CASES = [
    _score_case("dot"),
    _score_case("scaled_dot"),
    _score_case("general"),
    _score_case("additive", units=6),
    _score_case("location", max_length=8),
    Case(
        "attention_pooling",
        lambda dtype: layers.AttentionPooling(dtype=dtype),
        [_seq()],
        [_rand(2, 5, 8)],
    ),
    _mha_case("fused"),
    _mha_case("explicit"),
    _mha_case("chunked"),
    Case(
        "mha_causal",
        lambda dtype: layers.MultiHeadAttention(4, 4, dtype=dtype),
        [_seq()],
        [_rand(2, 5, 8)],
        lambda layer, x: layer(x, x, use_causal_mask=True),
    ),
    Case(
        "temporal_attention",
        lambda dtype: layers.TemporalAttention(2, 4, dtype=dtype),
        [((None, 3, 8), "float32")],
        [_rand(2, 4, 3, 8)],
        lambda layer, x: layer(x, use_causal_mask=True),
    ),
    Case(
        "spatial_attention",
        lambda dtype: layers.SpatialAttention(2, 4, dtype=dtype),
        [((4, 3, 8), "float32")],
        [_rand(2, 4, 3, 8)],
        lambda layer, x: layer(
            x, attention_mask=np.array([[1, 1, 0], [0, 1, 1], [1, 0, 1]], bool)
        ),
    ),
    Case(
        "transformer_encoder",
        lambda dtype: layers.TransformerEncoderBlock(16, 2, dtype=dtype),
        [_seq(), ((None,), "bool")],
        [_rand(2, 5, 8), np.array([[1] * 5, [1] * 2 + [0] * 3], bool)],
        lambda layer, x, mask: layer(x, padding_mask=mask),
    ),
    Case(
        "transformer_decoder",
        lambda dtype: layers.TransformerDecoderBlock(
            16, 2, normalize_first=True, dtype=dtype
        ),
        [_seq(), _seq()],
        [_rand(2, 4, 8), _rand(2, 6, 8, seed=1)],
    ),
    Case(
        "coverage_attention",
        lambda dtype: layers.CoverageAttention(units=6, dtype=dtype),
        [((8,), "float32"), _seq(), ((None,), "float32"), ((None,), "bool")],
        [
            _rand(2, 8),
            _rand(2, 5, 8, seed=1),
            np.abs(_rand(2, 5, seed=2)),
            np.array([[1] * 5, [1] * 3 + [0] * 2], bool),
        ],
        lambda layer, q, v, coverage, mask: layer(
            q, v, coverage, value_mask=mask
        )[0],
    ),
    Case(
        "bidirectional_attention",
        lambda dtype: layers.BidirectionalAttention(dtype=dtype),
        [_seq(), _seq(), ((None,), "bool"), ((None,), "bool")],
        [
            _rand(2, 6, 8),
            _rand(2, 3, 8, seed=1),
            np.array([[1] * 6, [1] * 4 + [0] * 2], bool),
            np.array([[1] * 3, [1] * 2 + [0]], bool),
        ],
        lambda layer, c, q, c_mask, q_mask: layer(
            c, q, context_mask=c_mask, query_mask=q_mask
        ),
    ),
    Case(
        "pointer_generator",
        lambda dtype: layers.PointerGenerator(dtype=dtype),
        [_seq(12), ((None, None), "float32"), ((None,), "int32"), _seq(6)],
        [
            _rand(2, 3, 12),
            _rand(2, 3, 5, seed=1),
            np.array([[4, 4, 7, 11, 0], [1, 2, 3, 9, 9]], "int32"),
            _rand(2, 3, 6, seed=2),
        ],
        lambda layer, logits, scores, ids, features: layer(
            logits, ops.softmax(scores), ids, features
        ),
        float32_output=True,
    ),
]
