"""`Attention`: a query (or a sequence of queries) over keys and values."""

import keras
from keras import ops

from attention_suite.layers import scores as scores_lib
from attention_suite.layers.arguments import check_rate
from attention_suite.layers.masking import masked_softmax, merge_masks
from attention_suite.layers.shapes import check_attention_shapes

# `keras.layers.Attention`'s score modes that name a score of this package.
_SCORE_MODES = {"dot": "dot"}


def _score_from_mode(score, score_mode):
    """The score named by Keras' `score_mode`, or `score` without one.

    Args:
        score: the `score` argument.
        score_mode: the `score_mode` argument, or `None`.

    Returns:
        The score to build.
    """
    if score_mode is None:
        return score
    if score_mode not in _SCORE_MODES:
        raise ValueError(
            "Received an invalid value for argument `score_mode`, expected "
            f"one of {tuple(_SCORE_MODES)} (Keras' 'concat' score, an "
            "unweighted sum of tanh(q + k), has no counterpart here: use "
            f"score='additive'). Received: score_mode={score_mode!r}"
        )
    if score not in ("scaled_dot", _SCORE_MODES[score_mode]):
        raise ValueError(
            "Pass `score` or Keras' `score_mode`, not both. Received: "
            f"score={score!r}, score_mode={score_mode!r}"
        )
    return _SCORE_MODES[score_mode]


def _unpack_keras_inputs(query, value, key, query_mask, value_mask, mask):
    """Reads `keras.layers.Attention`'s list inputs and list of masks.

    Args:
        query: the query, or a list `[query, value]` / `[query, value, key]`.
        value: the value, `None` with a list.
        key: the key, `None` with a list.
        query_mask: the `query_mask` argument; with a list input, Keras fills
            it with the list's Keras masks.
        value_mask: the `value_mask` argument.
        mask: `None`, a list `[query_mask, value_mask]`, or the query's
            Keras mask (which Keras passes for a lone tensor argument).

    Returns:
        `(query, value, key, query_mask, value_mask)`.
    """
    if isinstance(query, (list, tuple)):
        if value is not None or key is not None or len(query) not in (2, 3):
            raise ValueError(
                "Attention takes `[query, value]` or `[query, value, key]` as "
                "its only input, or `query` and `value` as two arguments. "
                f"Received a list of {len(query)} inputs"
                + (" and `value`." if value is not None else ".")
            )
        query, value, key = (list(query) + [None])[:3]
        if isinstance(query_mask, (list, tuple)):
            mask = query_mask if mask is None else mask
            query_mask = None
    if isinstance(mask, (list, tuple)):
        masks = list(mask) + [None, None]
        mask_query, mask_value = masks[:2]
    else:
        mask_query, mask_value = mask, None
    return (
        query,
        value,
        key,
        mask_query if query_mask is None else query_mask,
        mask_value if value_mask is None else value_mask,
    )


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
        score_mode: `keras.layers.Attention`'s name for the score, accepted
            where it names one of these scores: `"dot"` (the score `"dot"`).
            Keras' `"concat"` (an unweighted sum of `tanh(q + k)`) has no
            counterpart here; use `score="additive"`.

    The layer also takes `keras.layers.Attention`'s call convention: a list
    `[query, value]` or `[query, value, key]`, with `mask=[query_mask,
    value_mask]`.

    Call arguments:
        query: `(B, Tq, dq)`, or `(B, dq)` for a single query per example;
            or a list `[query, value]` / `[query, value, key]`.
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
        mask: optional list `[query_mask, value_mask]`, as in Keras (filled
            from the Keras masks of a list input).

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
        score_mode=None,
        **kwargs,
    ):
        score = _score_from_mode(score, score_mode)
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

    def build(self, query_shape, value_shape=None, key_shape=None):
        if value_shape is None:
            # Keras' convention: one list of shapes.
            query_shape, value_shape, key_shape = (list(query_shape) + [None])[
                :3
            ]
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
        value=None,
        key=None,
        query_mask=None,
        value_mask=None,
        key_mask=None,
        attention_mask=None,
        use_causal_mask=False,
        projected_key=None,
        return_attention_scores=False,
        training=None,
        mask=None,
    ):
        query, value, key, query_mask, value_mask = _unpack_keras_inputs(
            query, value, key, query_mask, value_mask, mask
        )
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

    def compute_mask(self, inputs, previous_mask=None):
        """The outputs' mask: the query's (the first of a list of masks)."""
        if isinstance(previous_mask, (list, tuple)):
            return previous_mask[0]
        return previous_mask

    def compute_output_shape(
        self, query_shape, value_shape=None, key_shape=None
    ):
        if value_shape is None:
            query_shape, value_shape = query_shape[:2]
        return tuple(query_shape[:-1]) + (value_shape[-1],)

    def compute_output_spec(
        self,
        query,
        value=None,
        key=None,
        return_attention_scores=False,
        **kwargs,
    ):
        query, value = _unpack_keras_inputs(
            query, value, key, None, None, None
        )[:2]
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
