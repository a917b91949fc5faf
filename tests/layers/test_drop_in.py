"""The layers as drop-ins for Keras' and KerasHub's own.

`MultiHeadAttention` takes every constructor argument of
`keras.layers.MultiHeadAttention`, builds from its config and gives its
outputs and regularization losses; `Attention` takes the call convention of
`keras.layers.Attention`; the Transformer blocks load KerasHub's blocks.
Every layer that can return attention weights answers its output spec in
that mode, and masked inputs raise no warnings.
"""

import inspect
import warnings

import keras
import numpy as np
import pytest
from helpers import to_numpy

from attention_suite import layers
from attention_suite.layers.masking import keras_mask

B, TQ, TK, D = 2, 7, 7, 16

# Keras constructor arguments, each compared on every path of ours.
KERAS_ARGUMENTS = {
    "defaults": {},
    "gate": {"use_gate": True},
    "sliding_window": {"sliding_window": 3},
    "output_shape": {"output_shape": (3, 5), "attention_axes": (1,)},
    "no_bias": {"use_bias": False, "output_shape": 9},
    "regularized": {
        "kernel_regularizer": "l2",
        "bias_regularizer": "l1",
        "activity_regularizer": "l2",
        "kernel_constraint": "max_norm",
        "bias_initializer": "he_normal",
    },
}


@pytest.fixture
def data(rng):
    query = rng.normal(size=(B, TQ, D)).astype("float32")
    value = rng.normal(size=(B, TK, 12)).astype("float32")
    return query, value


def test_every_keras_constructor_argument_is_accepted():
    keras_arguments = inspect.signature(keras.layers.MultiHeadAttention)
    ours = inspect.signature(layers.MultiHeadAttention).parameters
    assert set(keras_arguments.parameters) <= set(ours)


@pytest.mark.parametrize("arguments", sorted(KERAS_ARGUMENTS))
def test_built_from_keras_config_gives_keras_outputs(data, arguments):
    query, value = data
    keras_layer = keras.layers.MultiHeadAttention(
        num_heads=4, key_dim=8, **KERAS_ARGUMENTS[arguments]
    )
    # The causal mask matters with a window; the other arguments are
    # compared without one.
    causal = arguments == "sliding_window"
    want = to_numpy(keras_layer(query, value, use_causal_mask=causal))
    for implementation in ("fused", "explicit", "chunked"):
        ours = layers.MultiHeadAttention.from_config(
            {
                **keras_layer.get_config(),
                "implementation": implementation,
                "query_chunk_size": 3,
            }
        )
        ours(query, value)
        assert [w.shape for w in ours.weights] == [
            w.shape for w in keras_layer.weights
        ]
        ours.set_weights(keras_layer.get_weights())
        got = ours(query, value, use_causal_mask=causal)
        np.testing.assert_allclose(
            to_numpy(got), want, atol=2e-5, err_msg=implementation
        )
        assert len(ours.losses) == len(keras_layer.losses)
        np.testing.assert_allclose(
            [to_numpy(loss) for loss in ours.losses],
            [to_numpy(loss) for loss in keras_layer.losses],
            rtol=1e-5,
        )


def test_config_round_trip_keeps_the_keras_arguments():
    layer = layers.MultiHeadAttention(
        4, 8, **KERAS_ARGUMENTS["regularized"], sliding_window=2
    )
    config = layers.MultiHeadAttention.from_config(
        layer.get_config()
    ).get_config()
    assert config == layer.get_config()
    assert config["kernel_regularizer"]["class_name"] == "L2"
    assert config["sliding_window"] == 2


def test_the_older_output_dim_still_loads():
    layer = layers.MultiHeadAttention(4, 8, output_dim=6)
    assert layer.get_config()["output_shape"] == (6,)
    with pytest.raises(ValueError, match="Pass `output_shape` only"):
        layers.MultiHeadAttention(4, 8, output_dim=6, output_shape=6)


def test_attention_takes_keras_call_convention(rng):
    query = rng.normal(size=(B, 4, 8)).astype("float32")
    value = rng.normal(size=(B, 6, 8)).astype("float32")
    key = rng.normal(size=(B, 6, 8)).astype("float32")
    value_mask = np.ones((B, 6), bool)
    value_mask[1, 3:] = False
    for inputs in ([query, value], [query, value, key]):
        want = keras.layers.Attention()(inputs, mask=[None, value_mask])
        got = layers.Attention(score_mode="dot")(
            inputs, mask=[None, value_mask]
        )
        np.testing.assert_allclose(to_numpy(got), to_numpy(want), atol=1e-5)


@pytest.mark.parametrize(
    "arguments, message",
    [
        ({"score_mode": "concat"}, "has no counterpart here"),
        ({"score_mode": "dot", "score": "additive"}, "not both"),
    ],
)
def test_attention_refuses_a_score_mode_it_cannot_honour(arguments, message):
    with pytest.raises(ValueError, match=message):
        layers.Attention(**arguments)


def _functional(layer, shapes, call):
    """Builds `layer` into a model and returns its symbolic and real shapes.

    Args:
        layer: the layer.
        shapes: the inputs' shapes without the batch axis.
        call: a function of the layer and the symbolic inputs.

    Returns:
        `(symbolic, real)`: the flat lists of output shapes, the batch axis
        left out.
    """
    inputs = [keras.Input(shape) for shape in shapes]
    outputs = call(layer, *inputs)
    model = keras.Model(inputs, outputs)
    arrays = [np.ones((B,) + shape, "float32") for shape in shapes]
    real = model(arrays)
    return (
        [tuple(x.shape[1:]) for x in keras.tree.flatten(outputs)],
        [tuple(x.shape[1:]) for x in keras.tree.flatten(real)],
    )


TUPLE_MODE = {
    "Attention": (
        lambda: layers.Attention(score="additive"),
        [(4, 8), (6, 8)],
    ),
    "AttentionPooling": (layers.AttentionPooling, [(4, 8)]),
    "BidirectionalAttention": (layers.BidirectionalAttention, [(4, 8), (6, 8)]),
    "MultiHeadAttention": (
        lambda: layers.MultiHeadAttention(2, 4),
        [(4, 8), (6, 8)],
    ),
    "TemporalAttention": (lambda: layers.TemporalAttention(2, 4), [(4, 3, 8)]),
    "SpatialAttention": (lambda: layers.SpatialAttention(2, 4), [(4, 3, 8)]),
    "TransformerEncoderBlock": (
        lambda: layers.TransformerEncoderBlock(16, 2),
        [(4, 8)],
    ),
    "TransformerDecoderBlock": (
        lambda: layers.TransformerDecoderBlock(16, 2),
        [(4, 8), (6, 8)],
    ),
    "TransformerDecoderBlock-decoder-only": (
        lambda: layers.TransformerDecoderBlock(16, 2),
        [(4, 8)],
    ),
}


@pytest.mark.parametrize("name", sorted(TUPLE_MODE))
def test_output_spec_with_attention_scores(name):
    make, shapes = TUPLE_MODE[name]
    symbolic, real = _functional(
        make(),
        shapes,
        lambda layer, *x: layer(*x, return_attention_scores=True),
    )
    assert len(symbolic) >= 2
    assert symbolic == real


def test_output_spec_with_caches():
    block = layers.TransformerDecoderBlock(16, 2)
    # (2, length, heads, head_size): the self-attention cache holds 5 steps,
    # the cross-attention cache the 6 encoder steps.
    self_cache, cross_cache = (2, 5, 2, 4), (2, 6, 2, 4)
    symbolic, real = _functional(
        block,
        [(1, 8), (6, 8), self_cache, cross_cache],
        lambda layer, x, encoder, self_cache, cross_cache: layer(
            x,
            encoder,
            self_attention_cache=self_cache,
            self_attention_cache_update_index=0,
            cross_attention_cache=cross_cache,
            return_attention_scores=True,
        ),
    )
    assert symbolic == real == [(1, 8), (2, 1, 6), self_cache, cross_cache]


def test_masked_inputs_raise_no_warnings():
    tokens = keras.Input((None,), dtype="int32")
    embedded = keras.layers.Embedding(20, 8, mask_zero=True)(tokens)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        outputs = [
            layers.MultiHeadAttention(2, 4)(embedded, embedded),
            layers.Attention()(embedded, embedded),
            layers.Attention(score_mode="dot")([embedded, embedded]),
            layers.TransformerEncoderBlock(16, 2)(embedded),
            layers.TransformerDecoderBlock(16, 2)(embedded, embedded),
        ]
        model = keras.Model(tokens, outputs)
        model(np.array([[1, 2, 0]]))
    assert [str(w.message) for w in caught] == []
    # The outputs keep the query's mask.
    assert all(keras_mask(x) is not None for x in outputs)


def test_transformer_blocks_take_bias_initializer_and_regularizers(data):
    query, _ = data
    block = layers.TransformerEncoderBlock(
        32,
        4,
        bias_initializer="ones",
        kernel_regularizer="l2",
        bias_regularizer="l2",
    )
    block(query)
    biases = [w for w in block.weights if w.path.endswith("/bias")]
    assert biases and all(np.all(to_numpy(b) == 1) for b in biases)
    # A kernel and a bias regularizer on each of the six projections.
    assert len(block.losses) == 12
    config = block.get_config()
    assert config["bias_regularizer"]["class_name"] == "L2"
    rebuilt = layers.TransformerEncoderBlock.from_config(config)
    assert rebuilt.get_config() == config


# KerasHub's blocks and ours are plain Keras layers, so their parity holds
# on every backend once it holds on one; the TensorFlow pass checks it.
on_tensorflow = pytest.mark.skipif(
    keras.backend.backend() != "tensorflow", reason="checked on TensorFlow"
)


@on_tensorflow
@pytest.mark.parametrize("normalize_first", [False, True])
@pytest.mark.parametrize("kind", ["encoder", "decoder", "decoder-only"])
def test_transformer_blocks_load_keras_hub_blocks(
    data, rng, kind, normalize_first
):
    keras_hub = pytest.importorskip("keras_hub")
    query, _ = data
    encoder = rng.normal(size=(B, 5, 12)).astype("float32")
    arguments = dict(
        intermediate_dim=32,
        num_heads=4,
        normalize_first=normalize_first,
        activation="gelu",
        bias_initializer="he_normal",
    )
    if kind == "encoder":
        hub = keras_hub.layers.TransformerEncoder(**arguments)
        inputs = (query,)
        ours_class = layers.TransformerEncoderBlock
    else:
        hub = keras_hub.layers.TransformerDecoder(**arguments)
        inputs = (query,) if kind == "decoder-only" else (query, encoder)
        ours_class = layers.TransformerDecoderBlock
    want = hub(*inputs)
    ours = ours_class.from_keras_hub(hub)
    assert ours.normalize_first is normalize_first
    np.testing.assert_allclose(
        to_numpy(ours(*inputs)), to_numpy(want), atol=2e-5
    )


@on_tensorflow
def test_from_keras_hub_refuses_what_it_cannot_load():
    keras_hub = pytest.importorskip("keras_hub")
    with pytest.raises(ValueError, match="needs a built TransformerEncoder"):
        layers.TransformerEncoderBlock.from_keras_hub(
            keras_hub.layers.TransformerEncoder(16, 2)
        )
    with pytest.raises(ValueError, match="received a TransformerDecoder"):
        layers.TransformerEncoderBlock.from_keras_hub(
            keras_hub.layers.TransformerDecoder(16, 2)
        )
