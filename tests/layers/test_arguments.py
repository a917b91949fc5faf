"""Constructor arguments are checked at construction, naming the argument."""

import re

import pytest

from attention_suite import layers

MHA = (layers.MultiHeadAttention, {"num_heads": 4, "key_dim": 8})
AXIS = {"num_heads": 2, "key_dim": 4}
BLOCK = {"intermediate_dim": 16, "num_heads": 2}

# (layer class, valid arguments), the bad argument, its value.
BAD_ARGUMENTS = [
    (MHA, "num_heads", 0),
    (MHA, "num_heads", 2.0),
    (MHA, "key_dim", -1),
    (MHA, "value_dim", 0),
    (MHA, "num_key_value_heads", 0),
    (MHA, "output_dim", 0),
    (MHA, "output_shape", -3),
    (MHA, "output_shape", (4, 0)),
    (MHA, "output_shape", "8"),
    (MHA, "attention_axes", 2),
    (MHA, "attention_axes", (1, 2)),
    (MHA, "sliding_window", 0),
    (MHA, "dropout", 1.0),
    (MHA, "dropout", -0.1),
    (MHA, "implementation", "flash"),
    (MHA, "query_chunk_size", 0),
    ((layers.AdditiveScore, {}), "units", 0),
    ((layers.ScaledDotScore, {}), "scale", 3.0),
    ((layers.LocationScore, {"max_length": 8}), "max_length", 0),
    ((layers.LocationScore, {"max_length": 8}), "max_length", True),
    ((layers.Attention, {}), "score", "cosine"),
    ((layers.Attention, {}), "dropout", 1.5),
    ((layers.AttentionPooling, {}), "score", "cosine"),
    ((layers.AttentionPooling, {}), "query_dim", 0),
    ((layers.CoverageAttention, {}), "units", -2),
    ((layers.PointerGenerator, {}), "epsilon", 0.0),
    ((layers.TemporalAttention, AXIS), "key_dim", 0),
    ((layers.SpatialAttention, AXIS), "dropout", 1),
    ((layers.SpatialAttention, AXIS), "implementation", "flash"),
    ((layers.TransformerEncoderBlock, BLOCK), "intermediate_dim", 0),
    ((layers.TransformerEncoderBlock, BLOCK), "num_heads", None),
    ((layers.TransformerDecoderBlock, BLOCK), "num_key_value_heads", 0),
    ((layers.TransformerDecoderBlock, BLOCK), "dropout", 1.0),
    ((layers.TransformerDecoderBlock, BLOCK), "layer_norm_epsilon", 0),
]


@pytest.mark.parametrize(
    "layer, name, value",
    BAD_ARGUMENTS,
    ids=[f"{c.__name__}-{n}={v!r}" for (c, _), n, v in BAD_ARGUMENTS],
)
def test_a_bad_argument_is_named_with_its_value(layer, name, value):
    layer_class, arguments = layer
    received = re.escape(f"Received: {name}={value!r}")
    with pytest.raises(ValueError, match=rf"argument `{name}`, .*{received}$"):
        layer_class(**{**arguments, name: value})


@pytest.mark.parametrize(
    "layer_class, arguments",
    [
        MHA,
        (layers.TemporalAttention, AXIS),
        (layers.TransformerDecoderBlock, BLOCK),
    ],
    ids=lambda x: getattr(x, "__name__", ""),
)
def test_num_heads_must_be_divisible_by_num_key_value_heads(
    layer_class, arguments
):
    arguments = {**arguments, "num_heads": 4, "num_key_value_heads": 3}
    with pytest.raises(
        ValueError, match="Received: num_heads=4, num_key_value_heads=3$"
    ):
        layer_class(**arguments)


def test_score_kwargs_need_a_score_name():
    with pytest.raises(ValueError, match="score_kwargs={'units': 4}$"):
        layers.Attention(
            score=layers.AdditiveScore(), score_kwargs={"units": 4}
        )


@pytest.mark.parametrize(
    "layer",
    [
        lambda: layers.MultiHeadAttention(
            num_heads=1,
            key_dim=1,
            value_dim=None,
            num_key_value_heads=1,
            dropout=0.0,
            output_shape=1,
            attention_axes=-2,
            sliding_window=1,
            query_chunk_size=1,
        ),
        lambda: layers.Attention(score="additive", score_kwargs={"units": 1}),
        lambda: layers.AttentionPooling(query_dim=None),
        lambda: layers.PointerGenerator(epsilon=1),
        lambda: layers.TransformerEncoderBlock(
            1, 1, dropout=0.999, layer_norm_epsilon=1e-12
        ),
    ],
)
def test_values_at_the_bounds_are_accepted(layer):
    assert layer().get_config()
