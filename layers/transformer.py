"""Transformer encoder and decoder blocks built on `layers.MultiHeadAttention`.

Position information is not part of these blocks: add it before the first one
with `keras_hub.layers.TokenAndPositionEmbedding`, `PositionEmbedding` or
`SinePositionEncoding`.
"""

import inspect

import keras

from attention_suite.layers.arguments import (
    check_divisible,
    check_positive_float,
    check_positive_int,
    check_rate,
)
from attention_suite.layers.initializers import (
    clone_initializer,
    serialize_objects,
)
from attention_suite.layers.masking import keras_mask
from attention_suite.layers.multi_head_attention import MultiHeadAttention
from attention_suite.layers.shapes import check_rank

# The blocks' sublayers and KerasHub's that hold the same weights (a
# decoder's cross-attention adds two).
_KERAS_HUB_SUBLAYERS = {
    "self_attention": "_self_attention_layer",
    "self_attention_norm": "_self_attention_layer_norm",
    "intermediate_dense": "_feedforward_intermediate_dense",
    "output_dense": "_feedforward_output_dense",
    "feedforward_norm": "_feedforward_layer_norm",
}


def _hidden_size(layer):
    """The hidden size of a built KerasHub Transformer block."""
    return layer._self_attention_layer._query_dense.kernel.shape[0]


class _TransformerBlock(keras.layers.Layer):
    """Shared arguments, residual sub-layers and feed-forward network."""

    def __init__(
        self,
        intermediate_dim,
        num_heads,
        num_key_value_heads=None,
        dropout=0.0,
        activation="relu",
        layer_norm_epsilon=1e-5,
        normalize_first=False,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        bias_regularizer=None,
        **kwargs,
    ):
        check_positive_int("intermediate_dim", intermediate_dim)
        check_positive_int("num_heads", num_heads)
        check_positive_int(
            "num_key_value_heads", num_key_value_heads, allow_none=True
        )
        check_divisible(
            "num_heads",
            num_heads,
            "num_key_value_heads",
            num_key_value_heads or num_heads,
        )
        check_rate("dropout", dropout)
        check_positive_float("layer_norm_epsilon", layer_norm_epsilon)
        super().__init__(**kwargs)
        self.intermediate_dim = intermediate_dim
        self.num_heads = num_heads
        self.num_key_value_heads = num_key_value_heads
        self.dropout = dropout
        self.activation = keras.activations.get(activation)
        self.layer_norm_epsilon = layer_norm_epsilon
        self.normalize_first = normalize_first
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        self.bias_regularizer = keras.regularizers.get(bias_regularizer)
        self.supports_masking = True

    def _weight_arguments(self):
        """The initializers (fresh copies) and regularizers of a sublayer.

        Returns:
            A dict of `kernel_initializer`, `bias_initializer`,
            `kernel_regularizer` and `bias_regularizer`.
        """
        return {
            "kernel_initializer": clone_initializer(self.kernel_initializer),
            "bias_initializer": clone_initializer(self.bias_initializer),
            "kernel_regularizer": self.kernel_regularizer,
            "bias_regularizer": self.bias_regularizer,
        }

    def _attention_layer(self, hidden_dim, name):
        if hidden_dim % self.num_heads:
            raise ValueError(
                f"{type(self).__name__} '{self.name}': the hidden size "
                f"{hidden_dim} must be divisible by num_heads="
                f"{self.num_heads}."
            )
        return MultiHeadAttention(
            num_heads=self.num_heads,
            key_dim=hidden_dim // self.num_heads,
            num_key_value_heads=self.num_key_value_heads,
            dropout=self.dropout,
            dtype=self.dtype_policy,
            name=name,
            **self._weight_arguments(),
        )

    def _norm(self, name, shape):
        norm = keras.layers.LayerNormalization(
            epsilon=self.layer_norm_epsilon, dtype=self.dtype_policy, name=name
        )
        norm.build(shape)
        return norm

    def _dropout(self, name):
        return keras.layers.Dropout(
            self.dropout, dtype=self.dtype_policy, name=name
        )

    def _build_feedforward(self, shape):
        self.intermediate_dense = keras.layers.Dense(
            self.intermediate_dim,
            activation=self.activation,
            dtype=self.dtype_policy,
            name="intermediate_dense",
            **self._weight_arguments(),
        )
        self.intermediate_dense.build(shape)
        self.output_dense = keras.layers.Dense(
            shape[-1],
            dtype=self.dtype_policy,
            name="output_dense",
            **self._weight_arguments(),
        )
        self.output_dense.build(tuple(shape[:-1]) + (self.intermediate_dim,))
        self.feedforward_norm = self._norm("feedforward_norm", shape)
        self.feedforward_dropout = self._dropout("feedforward_dropout")

    def _residual(self, x, norm, dropout, body, training):
        """Runs `body` as a residual sub-layer with pre- or post-norm.

        Args:
            x: the sub-layer input.
            norm: its `LayerNormalization`.
            dropout: its `Dropout` applied to `body`'s main output.
            body: a function of the (normalized) input returning a tensor or
                a tuple whose first item is the main output.
            training: whether dropout is active.

        Returns:
            `(output, extras)`, `extras` being the rest of `body`'s tuple.
        """
        y = body(norm(x) if self.normalize_first else x)
        y, extras = (y[0], y[1:]) if isinstance(y, tuple) else (y, ())
        y = x + dropout(y, training=training)
        return (y if self.normalize_first else norm(y)), extras

    def _feedforward(self, x, training):
        return self._residual(
            x,
            self.feedforward_norm,
            self.feedforward_dropout,
            lambda h: self.output_dense(self.intermediate_dense(h)),
            training,
        )[0]

    def compute_output_shape(self, input_shape, *args, **kwargs):
        return input_shape

    def get_config(self):
        return {
            **super().get_config(),
            "intermediate_dim": self.intermediate_dim,
            "num_heads": self.num_heads,
            "num_key_value_heads": self.num_key_value_heads,
            "dropout": self.dropout,
            "activation": keras.activations.serialize(self.activation),
            "layer_norm_epsilon": self.layer_norm_epsilon,
            "normalize_first": self.normalize_first,
            **serialize_objects(
                kernel_initializer=self.kernel_initializer,
                bias_initializer=self.bias_initializer,
                kernel_regularizer=self.kernel_regularizer,
                bias_regularizer=self.bias_regularizer,
            ),
        }

    @classmethod
    def from_keras_hub(cls, layer):
        """Builds this block from a built KerasHub block, weights included.

        `TransformerEncoderBlock.from_keras_hub` takes a
        `keras_hub.layers.TransformerEncoder`, and
        `TransformerDecoderBlock.from_keras_hub` a
        `keras_hub.layers.TransformerDecoder` (with or without
        cross-attention). The blocks compute the same function, so the new
        block gives the KerasHub block's outputs.

        Args:
            layer: the built KerasHub layer.

        Returns:
            A built block of this class with the layer's configuration and
            a copy of its weights.

        Raises:
            ValueError: `layer` is not the matching KerasHub block, or it is
                not built yet.
        """
        expected = cls._KERAS_HUB_CLASS
        if type(layer).__name__ != expected or not hasattr(
            layer, "_self_attention_layer"
        ):
            if type(layer).__name__ == expected:
                raise ValueError(
                    f"{cls.__name__}.from_keras_hub needs a built "
                    f"{expected}: call it on inputs once first."
                )
            raise ValueError(
                f"{cls.__name__}.from_keras_hub takes a keras_hub.layers."
                f"{expected}, but received a {type(layer).__name__}."
            )
        config = layer.get_config()
        block = cls(
            **{
                name: config[name]
                for name in inspect.signature(_TransformerBlock).parameters
                if name in config
            },
            name=config["name"],
            dtype=config["dtype"],
        )
        block.build(*cls._keras_hub_shapes(layer))
        pairs = dict(_KERAS_HUB_SUBLAYERS)
        if getattr(block, "has_cross_attention", False):
            pairs["cross_attention"] = "_cross_attention_layer"
            pairs["cross_attention_norm"] = "_cross_attention_layer_norm"
        for ours, theirs in pairs.items():
            getattr(block, ours).set_weights(
                getattr(layer, theirs).get_weights()
            )
        return block


@keras.saving.register_keras_serializable(package="attention_suite")
class TransformerEncoderBlock(_TransformerBlock):
    """Self-attention + feed-forward block (Vaswani et al. 2017).

    Args:
        intermediate_dim: width of the feed-forward network.
        num_heads: number of attention heads (must divide the hidden size).
        num_key_value_heads: key/value heads for grouped-query attention.
        dropout: dropout rate (attention weights and residual branches).
        activation: activation of the feed-forward network.
        layer_norm_epsilon: epsilon of the layer normalizations.
        normalize_first: pre-norm (`True`) or post-norm (`False`) residuals.
        kernel_initializer: initializer of all kernels (each draws its own
            values).
        bias_initializer: initializer of all biases.
        kernel_regularizer: regularizer of all kernels.
        bias_regularizer: regularizer of all biases.

    Call arguments:
        inputs: `(B, T, d)`.
        padding_mask: optional boolean `(B, T)`; filled from the Keras mask.
        attention_mask: optional boolean `(B, T, T)`.
        return_attention_scores: whether to also return the weights
            `(B, num_heads, T, T)`.
        training: whether dropout is active.

    Returns:
        `(B, T, d)`, and optionally the attention weights.

    Example:

    >>> block = TransformerEncoderBlock(intermediate_dim=64, num_heads=4)
    >>> keras.ops.shape(block(np.ones((2, 10, 32))))
    (2, 10, 32)
    """

    _KERAS_HUB_CLASS = "TransformerEncoder"

    @staticmethod
    def _keras_hub_shapes(layer):
        """The input shapes of a built KerasHub encoder, for `build`."""
        return ((None, None, _hidden_size(layer)),)

    def build(self, inputs_shape):
        check_rank(self, "inputs", inputs_shape, 3)
        self.self_attention = self._attention_layer(
            inputs_shape[-1], "self_attention"
        )
        self.self_attention.build(inputs_shape, inputs_shape)
        self.self_attention_norm = self._norm(
            "self_attention_norm", inputs_shape
        )
        self.self_attention_dropout = self._dropout("self_attention_dropout")
        self._build_feedforward(inputs_shape)

    def call(
        self,
        inputs,
        padding_mask=None,
        attention_mask=None,
        return_attention_scores=False,
        training=None,
    ):
        if padding_mask is None:
            padding_mask = keras_mask(inputs)
        x, scores = self._residual(
            inputs,
            self.self_attention_norm,
            self.self_attention_dropout,
            lambda h: self.self_attention(
                h,
                h,
                query_mask=padding_mask,
                value_mask=padding_mask,
                attention_mask=attention_mask,
                return_attention_scores=return_attention_scores,
                training=training,
            ),
            training,
        )
        x = self._feedforward(x, training)
        return (x, scores[0]) if return_attention_scores else x

    def compute_output_spec(
        self, inputs, return_attention_scores=False, **kwargs
    ):
        outputs = keras.KerasTensor(inputs.shape, dtype=self.compute_dtype)
        if not return_attention_scores:
            return outputs
        return outputs, self.self_attention.compute_output_spec(
            inputs, inputs, return_attention_scores=True
        )[1]


@keras.saving.register_keras_serializable(package="attention_suite")
class TransformerDecoderBlock(_TransformerBlock):
    """Causal self-attention, cross-attention and feed-forward block.

    Without an encoder sequence (at build time) the block is decoder-only.
    For step-by-step decoding, pass caches in the format of
    `layers.MultiHeadAttention`: `self_attention_cache` of shape
    `(B, 2, max_length, heads, head_dim)` with the index of the current step,
    and optionally `cross_attention_cache` (keys/values of the encoder output,
    made once by `compute_cross_attention_cache`, or filled by a first call
    with `cross_attention_cache_update_index=0`; then reused with the index
    `None`).

    Args:
        intermediate_dim: width of the feed-forward network.
        num_heads: number of attention heads (must divide the hidden size).
        num_key_value_heads: key/value heads for grouped-query attention.
        dropout: dropout rate (attention weights and residual branches).
        activation: activation of the feed-forward network.
        layer_norm_epsilon: epsilon of the layer normalizations.
        normalize_first: pre-norm (`True`) or post-norm (`False`) residuals.
        kernel_initializer: initializer of all kernels (each draws its own
            values).
        bias_initializer: initializer of all biases.
        kernel_regularizer: regularizer of all kernels.
        bias_regularizer: regularizer of all biases.

    Call arguments:
        decoder_sequence: `(B, Tq, d)`.
        encoder_sequence: `(B, Tk, d_enc)`, required if the block was built
            with one.
        decoder_padding_mask: optional boolean `(B, Tq)` (or `(B, max_length)`
            with a cache); filled from the Keras mask.
        decoder_attention_mask: optional boolean self-attention mask.
        encoder_padding_mask: optional boolean `(B, Tk)`; filled from the
            Keras mask of `encoder_sequence`.
        encoder_attention_mask: optional boolean `(B, Tq, Tk)`.
        self_attention_cache: optional self-attention key/value cache.
        self_attention_cache_update_index: position of this call's first
            step in the cache.
        cross_attention_cache: optional cross-attention key/value cache.
        cross_attention_cache_update_index: `0` to fill it, `None` to reuse.
        use_causal_mask: whether self-attention is causal (default `True`).
        return_attention_scores: whether to also return the cross-attention
            weights `(B, num_heads, Tq, Tk)` (self-attention weights for a
            decoder-only block).
        training: whether dropout is active.

    Returns:
        `(B, Tq, d)`; then the attention weights if requested; then, when a
        self-attention cache is given, the updated self-attention cache and
        (with an encoder) the cross-attention cache.

    Example:

    >>> block = TransformerDecoderBlock(intermediate_dim=64, num_heads=4)
    >>> outputs = block(np.ones((2, 5, 32)), np.ones((2, 9, 32)))
    >>> keras.ops.shape(outputs)
    (2, 5, 32)
    """

    _KERAS_HUB_CLASS = "TransformerDecoder"

    @staticmethod
    def _keras_hub_shapes(layer):
        """The input shapes of a built KerasHub decoder, for `build`."""
        cross = layer._cross_attention_layer
        encoder = (
            None
            if cross is None
            else (None, None, cross._key_dense.kernel.shape[0])
        )
        return (None, None, _hidden_size(layer)), encoder

    def build(self, decoder_sequence_shape, encoder_sequence_shape=None):
        check_rank(self, "decoder_sequence", decoder_sequence_shape, 3)
        shape = decoder_sequence_shape
        self.self_attention = self._attention_layer(shape[-1], "self_attention")
        self.self_attention.build(shape, shape)
        self.self_attention_norm = self._norm("self_attention_norm", shape)
        self.self_attention_dropout = self._dropout("self_attention_dropout")
        self.has_cross_attention = encoder_sequence_shape is not None
        if self.has_cross_attention:
            check_rank(self, "encoder_sequence", encoder_sequence_shape, 3)
            self.cross_attention = self._attention_layer(
                shape[-1], "cross_attention"
            )
            self.cross_attention.build(shape, encoder_sequence_shape)
            self.cross_attention_norm = self._norm(
                "cross_attention_norm", shape
            )
            self.cross_attention_dropout = self._dropout(
                "cross_attention_dropout"
            )
        self._build_feedforward(shape)

    def compute_cross_attention_cache(self, encoder_sequence):
        """Projects the encoder output once for step-by-step decoding.

        Args:
            encoder_sequence: `(B, Tk, d_enc)`.

        Returns:
            The `cross_attention_cache` to pass (with the index `None`) at
            every step.
        """
        if not self.has_cross_attention:
            raise ValueError(
                f"TransformerDecoderBlock '{self.name}' is decoder-only: it "
                "has no cross-attention to cache."
            )
        return self.cross_attention.compute_cache(encoder_sequence)

    def call(
        self,
        decoder_sequence,
        encoder_sequence=None,
        decoder_padding_mask=None,
        decoder_attention_mask=None,
        encoder_padding_mask=None,
        encoder_attention_mask=None,
        self_attention_cache=None,
        self_attention_cache_update_index=None,
        cross_attention_cache=None,
        cross_attention_cache_update_index=None,
        use_causal_mask=True,
        return_attention_scores=False,
        training=None,
    ):
        if self.has_cross_attention and encoder_sequence is None:
            raise ValueError(
                f"TransformerDecoderBlock '{self.name}' was built with an "
                "encoder sequence, so `encoder_sequence` is required."
            )
        if not self.has_cross_attention and encoder_sequence is not None:
            raise ValueError(
                f"TransformerDecoderBlock '{self.name}' was built without an "
                "encoder sequence (decoder-only); do not pass one."
            )
        if decoder_padding_mask is None:
            decoder_padding_mask = keras_mask(decoder_sequence)
        if encoder_padding_mask is None and encoder_sequence is not None:
            encoder_padding_mask = keras_mask(encoder_sequence)
        self_scores = return_attention_scores and not self.has_cross_attention

        def self_attend(h):
            # With a cache, the padding mask (if any) spans the cache length.
            return self.self_attention(
                h,
                h,
                query_mask=None
                if self_attention_cache is not None
                else decoder_padding_mask,
                value_mask=decoder_padding_mask,
                attention_mask=decoder_attention_mask,
                use_causal_mask=use_causal_mask,
                return_attention_scores=self_scores,
                cache=self_attention_cache,
                cache_update_index=self_attention_cache_update_index,
                training=training,
            )

        x, extras = self._residual(
            decoder_sequence,
            self.self_attention_norm,
            self.self_attention_dropout,
            self_attend,
            training,
        )
        scores = extras[0] if self_scores else None
        self_attention_cache = (
            extras[-1] if self_attention_cache is not None else None
        )

        if self.has_cross_attention:
            x, extras = self._residual(
                x,
                self.cross_attention_norm,
                self.cross_attention_dropout,
                lambda h: self.cross_attention(
                    h,
                    encoder_sequence,
                    value_mask=encoder_padding_mask,
                    attention_mask=encoder_attention_mask,
                    return_attention_scores=return_attention_scores,
                    cache=cross_attention_cache,
                    cache_update_index=cross_attention_cache_update_index,
                    training=training,
                ),
                training,
            )
            if return_attention_scores:
                scores = extras[0]
            if cross_attention_cache is not None:
                cross_attention_cache = extras[-1]

        outputs = [self._feedforward(x, training)]
        if return_attention_scores:
            outputs.append(scores)
        if self_attention_cache is not None:
            outputs.append(self_attention_cache)
            if self.has_cross_attention:
                outputs.append(cross_attention_cache)
        return outputs[0] if len(outputs) == 1 else tuple(outputs)

    def compute_output_spec(
        self,
        decoder_sequence,
        encoder_sequence=None,
        self_attention_cache=None,
        cross_attention_cache=None,
        return_attention_scores=False,
        **kwargs,
    ):
        outputs = [
            keras.KerasTensor(decoder_sequence.shape, dtype=self.compute_dtype)
        ]
        if return_attention_scores:
            # The weights of the cross-attention, or of the self-attention
            # in a decoder-only block.
            attention, keys, cache = (
                (self.cross_attention, encoder_sequence, cross_attention_cache)
                if self.has_cross_attention
                else (
                    self.self_attention,
                    decoder_sequence,
                    self_attention_cache,
                )
            )
            outputs.append(
                attention.compute_output_spec(
                    decoder_sequence,
                    keys,
                    return_attention_scores=True,
                    cache=cache,
                )[1]
            )
        if self_attention_cache is not None:
            caches = [self_attention_cache]
            if self.has_cross_attention:
                caches.append(cross_attention_cache)
            outputs += [
                None
                if cache is None
                else keras.KerasTensor(cache.shape, dtype=cache.dtype)
                for cache in caches
            ]
        return outputs[0] if len(outputs) == 1 else tuple(outputs)
