"""`BidirectionalAttention`: BiDAF's attention flow layer (Seo et al. 2017)."""

import keras
from keras import ops

from attention_suite.layers.initializers import clone_initializer
from attention_suite.layers.masking import keras_mask, masked_softmax
from attention_suite.layers.shapes import check_dims_match, check_rank


@keras.saving.register_keras_serializable(package="attention_suite")
class BidirectionalAttention(keras.layers.Layer):
    """Context-to-query and query-to-context attention.

    With context vectors `h_t` and query vectors `u_j` of the same width
    `d`, the trilinear similarity

        S_tj = w . [h_t; u_j; h_t * u_j]

    gives two attentions:

    * context-to-query: `a_t = softmax_j(S_tj)` and `u~_t = sum_j a_tj u_j`,
      the query words that matter to context word `t`;
    * query-to-context: `b = softmax_t(max_j S_tj)` and `h~ = sum_t b_t h_t`,
      the context words most related to some query word, the same for every
      `t`.

    The output is `G_t = [h_t; u~_t; h_t * u~_t; h_t * h~]`, width `4 d`.
    Padded query words get zero weight in `a`, padded context words zero
    weight in `b` and a zero output row.

    Args:
        kernel_initializer: initializer of `w` (its three parts, for `h`,
            `u` and `h * u`, each draw their own values).

    Call arguments:
        context: `(B, T, d)`.
        query: `(B, J, d)`.
        context_mask: optional boolean `(B, T)`; filled from the Keras mask
            of `context` automatically.
        query_mask: optional boolean `(B, J)`; filled from the Keras mask of
            `query` automatically.
        return_attention_scores: whether to also return the weights.

    Returns:
        `G`, `(B, T, 4 d)`, carrying the context's mask; with
        `return_attention_scores=True` also `(context_to_query,
        query_to_context)`, the weights `(B, T, J)` and `(B, T)` (float32).

    Example:

    >>> attention = BidirectionalAttention()
    >>> context, question = np.ones((2, 30, 16)), np.ones((2, 6, 16))
    >>> keras.ops.shape(attention(context, question))
    (2, 30, 64)
    """

    def __init__(self, kernel_initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.supports_masking = True

    def build(self, context_shape, query_shape):
        check_rank(self, "context", context_shape, 3)
        check_rank(self, "query", query_shape, 3)
        check_dims_match(
            self,
            "feature sizes",
            {"context": context_shape, "query": query_shape},
            -1,
        )
        width = context_shape[-1]

        def weight(name):
            return self.add_weight(
                name=name,
                shape=(width,),
                initializer=clone_initializer(self.kernel_initializer),
            )

        self.context_kernel = weight("context_kernel")
        self.query_kernel = weight("query_kernel")
        self.product_kernel = weight("product_kernel")
        self.bias = self.add_weight(name="bias", shape=(), initializer="zeros")

    def similarity(self, context, query):
        """The trilinear similarity `S`, `(B, T, J)`, in float32.

        Args:
            context: `(B, T, d)`.
            query: `(B, J, d)`.

        Returns:
            The similarity matrix.
        """
        dtype = self.compute_dtype
        context, query = ops.cast(context, dtype), ops.cast(query, dtype)
        kernels = [
            ops.cast(k, dtype)
            for k in (
                self.context_kernel,
                self.query_kernel,
                self.product_kernel,
            )
        ]
        by_context = ops.einsum("btd,d->bt", context, kernels[0])
        by_query = ops.einsum("bjd,d->bj", query, kernels[1])
        by_product = ops.einsum("btd,bjd->btj", context * kernels[2], query)
        scores = (
            by_product
            + ops.expand_dims(by_context, 2)
            + ops.expand_dims(by_query, 1)
        )
        return ops.cast(scores, "float32") + ops.cast(self.bias, "float32")

    def call(
        self,
        context,
        query,
        context_mask=None,
        query_mask=None,
        return_attention_scores=False,
    ):
        if context_mask is None:
            context_mask = keras_mask(context)
        if query_mask is None:
            query_mask = keras_mask(query)
        dtype = self.compute_dtype
        scores = self.similarity(context, query)
        context, query = ops.cast(context, dtype), ops.cast(query, dtype)
        to_query = masked_softmax(
            scores, None if query_mask is None else query_mask[:, None, :]
        )
        attended_query = ops.einsum(
            "btj,bjd->btd", ops.cast(to_query, dtype), query
        )
        if query_mask is not None:
            scores = ops.where(query_mask[:, None, :], scores, -1e9)
        to_context = masked_softmax(ops.max(scores, axis=-1), context_mask)
        attended_context = ops.einsum(
            "bt,btd->bd", ops.cast(to_context, dtype), context
        )
        outputs = ops.concatenate(
            [
                context,
                attended_query,
                context * attended_query,
                context * ops.expand_dims(attended_context, 1),
            ],
            axis=-1,
        )
        if context_mask is not None:
            outputs = ops.where(
                ops.expand_dims(context_mask, -1),
                outputs,
                ops.zeros_like(outputs),
            )
        if return_attention_scores:
            return outputs, (to_query, to_context)
        return outputs

    def compute_output_spec(
        self, context, query, return_attention_scores=False, **kwargs
    ):
        batch, length = context.shape[0], context.shape[1]
        outputs = keras.KerasTensor(
            (batch, length, 4 * context.shape[-1]), dtype=self.compute_dtype
        )
        if not return_attention_scores:
            return outputs
        return outputs, (
            keras.KerasTensor((batch, length, query.shape[1]), dtype="float32"),
            keras.KerasTensor((batch, length), dtype="float32"),
        )

    def get_config(self):
        return {
            **super().get_config(),
            "kernel_initializer": keras.initializers.serialize(
                self.kernel_initializer
            ),
        }
