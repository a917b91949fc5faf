"""`Attention`: a query (or a sequence of queries) over keys and values."""

import keras
from keras import ops

from attention_suite.layers import scores as scores_lib
from attention_suite.layers.arguments import check_rate
from attention_suite.layers.masking import masked_softmax, merge_masks
from attention_suite.layers.shapes import check_attention_shapes


@keras.saving.register_keras_serializable(package="attention_suite")
class Attention(keras.layers.Layer):
    """Attention with a pluggable score function.

    For each query `q` it computes scores `e_j = f(q, k_j)` with the chosen
    score function, weights `a = softmax(e)` (in float32, masked keys get
    exactly zero weight) and the context `c = sum_j a_j v_j`.

    Args:
        score: a score name (`"dot"`, `"scaled_dot"`, `"general"`,
            `"additive"`, `"concat"`, `"location"`), a score layer from
            `layers.scores`, or its serialized config.
        score_kwargs: constructor arguments for a named score, e.g.
            `{"units": 64}` for `"additive"` or `{"max_length": 50}` for
            `"location"`.
        dropout: dropout rate on the attention weights during training.
        seed: seed of the dropout.

    Call arguments:
        query: `(B, Tq, dq)`, or `(B, dq)` for a single query per example.
        value: `(B, Tk, dv)`.
        key: optional `(B, Tk, dk)`; defaults to `value`.
        query_mask: optional boolean `(B, Tq)`; padded queries get a zero
            context. Filled from the Keras mask of `query` automatically.
        value_mask: optional boolean `(B, Tk)`; padded keys get zero weight.
            Filled from the Keras mask of `value` automatically.
        key_mask: optional boolean `(B, Tk)`; overrides `value_mask`.
        attention_mask: optional boolean `(B, Tq, Tk)`.
        use_causal_mask: whether query `i` may only see keys `j <= i`.
        projected_key: optional `project_key(key)`, for scores with a key
            projection (`"additive"`): a decoder attending over the same
            keys at every step computes it once.
        return_attention_scores: whether to also return the weights.
        training: whether dropout is active.

    Returns:
        The context, `(B, Tq, dv)` (or `(B, dv)` for a rank-2 query), and with
        `return_attention_scores=True` also the weights `(B, Tq, Tk)` (or
        `(B, Tk)`). The output carries the query's Keras mask.

    Example:

    >>> attention = Attention(score="additive")
    >>> decoder_state = np.ones((2, 16))
    >>> encoder_outputs = np.ones((2, 7, 32))
    >>> context, weights = attention(
    ...     decoder_state, encoder_outputs, return_attention_scores=True
    ... )
    >>> keras.ops.shape(context), keras.ops.shape(weights)
    ((2, 32), (2, 7))
    """

    def __init__(
        self,
        score="scaled_dot",
        score_kwargs=None,
        dropout=0.0,
        seed=None,
        **kwargs,
    ):
        if score_kwargs and not isinstance(score, str):
            raise ValueError(
                "`score_kwargs` configure a score given by its name; pass "
                "the arguments to the score layer instead. Received: "
                f"score={score!r}, score_kwargs={score_kwargs!r}"
            )
        check_rate("dropout", dropout)
        super().__init__(**kwargs)
        self.score = scores_lib.get(
            score, dtype=self.dtype_policy, **(score_kwargs or {})
        )
        self.dropout = dropout
        self.seed = seed
        self.dropout_layer = keras.layers.Dropout(
            dropout, seed=seed, dtype=self.dtype_policy
        )
        self.supports_masking = True

    def build(self, query_shape, value_shape, key_shape=None):
        key_shape = value_shape if key_shape is None else key_shape
        check_attention_shapes(
            self, query_shape, value_shape, key_shape, (2, 3)
        )
        if len(query_shape) == 2:
            query_shape = (query_shape[0], 1, query_shape[1])
        if not self.score.built:
            self.score.build(tuple(query_shape), tuple(key_shape))

    def call(
        self,
        query,
        value,
        key=None,
        query_mask=None,
        value_mask=None,
        key_mask=None,
        attention_mask=None,
        use_causal_mask=False,
        projected_key=None,
        return_attention_scores=False,
        training=None,
    ):
        key = value if key is None else key
        check_attention_shapes(
            self, query.shape, value.shape, key.shape, (2, 3)
        )
        query, value, key = (
            ops.cast(x, self.compute_dtype) for x in (query, value, key)
        )
        single_query = len(query.shape) == 2
        if single_query:
            query = ops.expand_dims(query, 1)
            if query_mask is not None:
                query_mask = ops.expand_dims(query_mask, 1)
            if attention_mask is not None:
                attention_mask = ops.expand_dims(attention_mask, 1)

        positions = None
        if use_causal_mask:
            positions = (
                ops.arange(ops.shape(query)[1]),
                ops.arange(ops.shape(key)[1]),
            )
        mask = merge_masks(
            query_mask=query_mask,
            key_mask=value_mask if key_mask is None else key_mask,
            attention_mask=attention_mask,
            use_causal_mask=use_causal_mask,
            query_positions=positions[0] if positions else None,
            key_positions=positions[1] if positions else None,
        )
        if projected_key is None:
            scores = self.score(query, key)
        else:
            scores = self.score(query, key, projected_key=projected_key)
        weights = masked_softmax(scores, mask)
        weights = ops.cast(weights, self.compute_dtype)
        weights = self.dropout_layer(weights, training=training)
        context = ops.einsum("bqk,bkd->bqd", weights, value)
        if single_query:
            context = ops.squeeze(context, 1)
            weights = ops.squeeze(weights, 1)
        if return_attention_scores:
            return context, weights
        return context

    def project_key(self, key):
        """The score's key projection, to pass as `projected_key` to calls.

        Args:
            key: `(B, Tk, dk)`.

        Returns:
            The projected keys.

        Raises:
            ValueError: the score has no key projection.
        """
        if not hasattr(self.score, "project_key"):
            raise ValueError(
                f"The {type(self.score).__name__} of {self.name!r} has no key "
                "projection to precompute; only the additive score has one."
            )
        return self.score.project_key(ops.cast(key, self.compute_dtype))

    def compute_output_shape(self, query_shape, value_shape, key_shape=None):
        return tuple(query_shape[:-1]) + (value_shape[-1],)

    def compute_output_spec(
        self, query, value, key=None, return_attention_scores=False, **kwargs
    ):
        context = keras.KerasTensor(
            self.compute_output_shape(query.shape, value.shape),
            dtype=self.compute_dtype,
        )
        if not return_attention_scores:
            return context
        weights_shape = tuple(query.shape[:-1]) + (value.shape[1],)
        return context, keras.KerasTensor(
            weights_shape, dtype=self.compute_dtype
        )

    def get_config(self):
        return {
            **super().get_config(),
            "score": keras.saving.serialize_keras_object(self.score),
            "dropout": self.dropout,
            "seed": self.seed,
        }
