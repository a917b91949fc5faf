"""Attention over the time or node axis of `(B, T, N, F)` tensors.

Forecasting models (GMAN, STAEformer) alternate attention along time, per
node, with attention across nodes, per time step. Both layers here fold the
other axis into the batch and run `layers.MultiHeadAttention`.
"""

import inspect

import keras
from keras import ops

from attention_suite.layers.multi_head_attention import MultiHeadAttention
from attention_suite.layers.shapes import check_rank

# The constructor arguments passed through to `MultiHeadAttention`.
_MHA_ARGUMENTS = tuple(
    name
    for name in inspect.signature(MultiHeadAttention).parameters
    if name not in ("num_heads", "key_dim", "dropout", "kwargs")
)


class _AxisAttention(keras.layers.Layer):
    """Self-attention along one axis (1 = time, 2 = nodes) of a 4D tensor."""

    axis = None

    def __init__(self, num_heads, key_dim, dropout=0.0, **kwargs):
        mha_kwargs = {
            name: kwargs.pop(name) for name in _MHA_ARGUMENTS if name in kwargs
        }
        super().__init__(**kwargs)
        self.num_heads = num_heads
        self.key_dim = key_dim
        self.dropout = dropout
        self.attention = MultiHeadAttention(
            num_heads,
            key_dim,
            dropout=dropout,
            dtype=self.dtype_policy,
            name="attention",
            **mha_kwargs,
        )
        self.supports_masking = True

    def _fold(self, x):
        """`(B, T, N, ...)` -> `(B * other, axis_len, ...)`."""
        if self.axis == 1:
            x = ops.swapaxes(x, 1, 2)
        shape = ops.shape(x)
        return ops.reshape(x, (-1, shape[2]) + tuple(shape[3:]))

    def _unfold(self, x, batch, other):
        """Inverse of `_fold` for a tensor `(B * other, axis_len, ...)`."""
        shape = ops.shape(x)
        x = ops.reshape(x, (batch, other) + tuple(shape[1:]))
        return ops.swapaxes(x, 1, 2) if self.axis == 1 else x

    def build(self, input_shape):
        check_rank(self, "inputs", input_shape, 4)
        folded = (None, input_shape[self.axis], input_shape[-1])
        if not self.attention.built:
            self.attention.build(folded, folded)

    def call(
        self,
        inputs,
        mask=None,
        attention_mask=None,
        return_attention_scores=False,
        training=None,
        **attention_kwargs,
    ):
        check_rank(self, "inputs", inputs.shape, 4)
        shape = ops.shape(inputs)
        batch, other = shape[0], shape[3 - self.axis]
        x = self._fold(inputs)
        if mask is not None:
            mask = self._fold(ops.cast(mask, "bool"))
        if attention_mask is not None:
            attention_mask = ops.cast(attention_mask, "bool")
            if len(attention_mask.shape) == 2:
                attention_mask = attention_mask[None]
        outputs = self.attention(
            x,
            x,
            query_mask=mask,
            value_mask=mask,
            attention_mask=attention_mask,
            return_attention_scores=return_attention_scores,
            training=training,
            **attention_kwargs,
        )
        if not return_attention_scores:
            return self._unfold(outputs, batch, other)
        outputs, scores = outputs
        scores = ops.reshape(scores, (batch, other) + tuple(scores.shape[1:]))
        return self._unfold(outputs, batch, other), scores

    def compute_output_shape(self, input_shape):
        return self.attention.compute_output_shape(input_shape, input_shape)

    def compute_output_spec(
        self, inputs, return_attention_scores=False, **kwargs
    ):
        outputs = keras.KerasTensor(
            self.compute_output_shape(inputs.shape), dtype=self.compute_dtype
        )
        if not return_attention_scores:
            return outputs
        shape = inputs.shape
        length, other = shape[self.axis], shape[3 - self.axis]
        scores = keras.KerasTensor(
            (shape[0], other, self.num_heads, length, length),
            dtype=self.compute_dtype,
        )
        return outputs, scores

    def get_config(self):
        attention = self.attention.get_config()
        return {
            **super().get_config(),
            "num_heads": self.num_heads,
            "key_dim": self.key_dim,
            "dropout": self.dropout,
            **{
                name: attention[name]
                for name in _MHA_ARGUMENTS
                if name in attention
            },
        }


@keras.saving.register_keras_serializable(package="attention_suite")
class TemporalAttention(_AxisAttention):
    """Self-attention along time, separately for every node.

    Args:
        num_heads: number of attention heads.
        key_dim: size of each head.
        dropout: dropout rate on the attention weights.
        **kwargs: other `layers.MultiHeadAttention` arguments (e.g.
            `num_key_value_heads`, `output_shape`, `implementation`) and base
            layer arguments.

    Call arguments:
        inputs: `(B, T, N, F)`.
        mask: optional boolean `(B, T, N)`: `False` marks missing readings,
            which are not attended to. Filled from the Keras mask.
        attention_mask: optional boolean `(T, T)` or `(B * N, T, T)`.
        use_causal_mask: whether step `t` may only see steps `<= t`.
        return_attention_scores: whether to also return the weights
            `(B, N, num_heads, T, T)`.
        training: whether dropout is active.

    Returns:
        `(B, T, N, F_out)`, and optionally the weights.

    Example:

    >>> x = np.ones((2, 12, 5, 16))
    >>> layer = TemporalAttention(num_heads=2, key_dim=8)
    >>> keras.ops.shape(layer(x, use_causal_mask=True))
    (2, 12, 5, 16)
    """

    axis = 1


@keras.saving.register_keras_serializable(package="attention_suite")
class SpatialAttention(_AxisAttention):
    """Self-attention across nodes (e.g. road sensors), separately per step.

    Args:
        num_heads: number of attention heads.
        key_dim: size of each head.
        dropout: dropout rate on the attention weights.
        **kwargs: other `layers.MultiHeadAttention` arguments and base layer
            arguments.

    Call arguments:
        inputs: `(B, T, N, F)`.
        mask: optional boolean `(B, T, N)`: `False` marks missing readings,
            which are not attended to. Filled from the Keras mask.
        attention_mask: optional boolean `(N, N)` (e.g. road-graph adjacency
            with self-loops) or `(B * T, N, N)`; `True` = may attend.
        return_attention_scores: whether to also return the weights
            `(B, T, num_heads, N, N)`.
        training: whether dropout is active.

    Returns:
        `(B, T, N, F_out)`, and optionally the weights.

    Example:

    >>> x = np.ones((2, 12, 5, 16))
    >>> adjacency = np.eye(5, dtype=bool)
    >>> layer = SpatialAttention(num_heads=2, key_dim=8)
    >>> keras.ops.shape(layer(x, attention_mask=adjacency))
    (2, 12, 5, 16)
    """

    axis = 2
