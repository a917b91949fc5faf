"""`AttentionPooling`: a learned query summarizes a sequence into a vector."""

import keras
from keras import ops

from attention_suite.layers.arguments import check_positive_int
from attention_suite.layers.attention import Attention
from attention_suite.layers.shapes import check_rank


@keras.saving.register_keras_serializable(package="attention_suite")
class AttentionPooling(keras.layers.Layer):
    """Pools `(B, T, d)` to `(B, d)` with attention from a learned query.

    The pooled vector is `c = sum_t a_t h_t` with `a = softmax(f(u, h))`, where
    `u` is a trainable query vector and `f` a score function (Yang et al. 2016
    use the additive score). Padded steps (from the Keras mask or `mask`) get
    zero weight; a fully padded sequence pools to zeros.

    Args:
        score: score function of the inner `Attention` (see
            `layers.Attention`); defaults to `"additive"`.
        score_kwargs: constructor arguments of a named score.
        query_dim: size of the learned query; defaults to the input's
            feature size (needed for `"dot"` and `"scaled_dot"`).
        query_initializer: initializer of the learned query.

    Call arguments:
        inputs: `(B, T, d)`.
        mask: optional boolean `(B, T)`; filled from the Keras mask.
        return_attention_scores: whether to also return the weights `(B, T)`.

    Returns:
        `(B, d)`, and the weights `(B, T)` with
        `return_attention_scores=True`.

    Example:

    >>> pooled = AttentionPooling()(np.ones((2, 7, 16)))
    >>> keras.ops.shape(pooled)
    (2, 16)
    """

    def __init__(
        self,
        score="additive",
        score_kwargs=None,
        query_dim=None,
        query_initializer="glorot_uniform",
        **kwargs,
    ):
        check_positive_int("query_dim", query_dim, allow_none=True)
        super().__init__(**kwargs)
        self.attention = Attention(
            score=score, score_kwargs=score_kwargs, dtype=self.dtype_policy
        )
        self.query_dim = query_dim
        self.query_initializer = keras.initializers.get(query_initializer)
        self.supports_masking = True

    def build(self, input_shape):
        check_rank(self, "inputs", input_shape, 3)
        query_dim = self.query_dim or input_shape[-1]
        self.query = self.add_weight(
            name="query",
            shape=(1, query_dim),
            initializer=self.query_initializer,
        )
        if not self.attention.built:
            self.attention.build((input_shape[0], query_dim), input_shape)

    def call(self, inputs, mask=None, return_attention_scores=False):
        check_rank(self, "inputs", inputs.shape, 3)
        query = ops.cast(self.query, inputs.dtype)
        query = ops.broadcast_to(
            query, (ops.shape(inputs)[0], ops.shape(query)[1])
        )
        return self.attention(
            query,
            inputs,
            value_mask=mask,
            return_attention_scores=return_attention_scores,
        )

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[-1])

    def compute_output_spec(
        self, inputs, mask=None, return_attention_scores=False
    ):
        pooled = keras.KerasTensor(
            self.compute_output_shape(inputs.shape), dtype=self.compute_dtype
        )
        if return_attention_scores:
            return pooled, keras.KerasTensor(
                inputs.shape[:2], dtype=self.compute_dtype
            )
        return pooled

    def get_config(self):
        return {
            **super().get_config(),
            "score": keras.saving.serialize_keras_object(self.attention.score),
            "query_dim": self.query_dim,
            "query_initializer": keras.initializers.serialize(
                self.query_initializer
            ),
        }
