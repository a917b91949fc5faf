"""Coverage attention and its loss (See et al. 2017, "Get To The Point").

A decoder that attends step by step keeps a coverage vector: the sum of the
attention weights of its earlier steps. The attention sees the coverage, and
the coverage loss penalizes attending again to what is already covered, so a
summarizer learns not to repeat itself.
"""

import keras
from keras import ops

from attention_suite.layers.arguments import check_positive_int
from attention_suite.layers.initializers import clone_initializer
from attention_suite.layers.masking import masked_softmax
from attention_suite.layers.shapes import (
    check_attention_shapes,
    check_dims_match,
    check_rank,
)


@keras.saving.register_keras_serializable(package="attention_suite")
class CoverageAttention(keras.layers.Layer):
    """Additive attention for one decoder step that remembers where it looked.

    With the coverage `c` (the sum of the earlier steps' weights):

    `e_j = v . tanh(W_q q + W_k k_j + w_c c_j + b)`, `a = softmax(e)`,
    `context = sum_j a_j v_j`, and the next step's coverage is `c + a`.

    The key projection `W_k k` does not change between steps: compute it once
    with `project_key` and pass it as `projected_key` to every step.

    Args:
        units: size of the hidden layer; defaults to the key feature size.
        kernel_initializer: initializer of `W_q`, `W_k`, `w_c` and `v`
            (each draws its own values).

    Call arguments:
        query: `(B, dq)`, the decoder state of this step.
        value: `(B, S, dv)`, e.g. the encoder outputs.
        coverage: `(B, S)`, the sum of the earlier steps' weights (zeros at
            the first step).
        key: optional `(B, S, dk)`; defaults to `value`.
        value_mask: optional boolean `(B, S)`; padded positions get zero
            weight. Filled from the Keras mask of `value` automatically.
        projected_key: optional `project_key(key)`; saves recomputing it.

    Returns:
        `(context, weights, coverage)`: the context `(B, dv)`, this step's
        weights `(B, S)` and the updated coverage `(B, S)` (accumulated in
        float32).

    Example:

    >>> attention = CoverageAttention(units=8)
    >>> encoder_outputs = np.ones((2, 7, 16))
    >>> coverage = np.zeros((2, 7))
    >>> context, weights, coverage = attention(
    ...     np.ones((2, 4)), encoder_outputs, coverage
    ... )
    >>> tuple(keras.ops.shape(x) for x in (context, weights, coverage))
    ((2, 16), (2, 7), (2, 7))
    """

    def __init__(
        self, units=None, kernel_initializer="glorot_uniform", **kwargs
    ):
        check_positive_int("units", units, allow_none=True)
        super().__init__(**kwargs)
        self.units = units
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.supports_masking = True

    def build(self, query_shape, value_shape, coverage_shape, key_shape=None):
        key_shape = value_shape if key_shape is None else key_shape
        check_attention_shapes(self, query_shape, value_shape, key_shape, 2)
        check_rank(self, "coverage", coverage_shape, 2)
        check_dims_match(
            self,
            "source lengths",
            {"value": value_shape, "coverage": coverage_shape},
            1,
        )
        units = self.units or key_shape[-1]

        def weight(name, shape):
            return self.add_weight(
                name=name,
                shape=shape,
                initializer=clone_initializer(self.kernel_initializer),
            )

        self.query_kernel = weight("query_kernel", (query_shape[-1], units))
        self.key_kernel = weight("key_kernel", (key_shape[-1], units))
        self.coverage_kernel = weight("coverage_kernel", (units,))
        self.score_vector = weight("score_vector", (units,))
        self.bias = self.add_weight(
            name="bias", shape=(units,), initializer="zeros"
        )

    def project_key(self, key):
        """The key projection `W_k k`, `(B, S, units)`, shared by all steps.

        Args:
            key: `(B, S, dk)`.

        Returns:
            The projected keys in the layer's compute dtype.
        """
        key = ops.cast(key, self.compute_dtype)
        return ops.matmul(key, ops.cast(self.key_kernel, self.compute_dtype))

    def call(
        self,
        query,
        value,
        coverage,
        key=None,
        value_mask=None,
        projected_key=None,
    ):
        dtype = self.compute_dtype
        key = value if key is None else key
        if projected_key is None:
            projected_key = self.project_key(key)
        coverage = ops.cast(coverage, "float32")
        q = ops.matmul(
            ops.cast(query, dtype), ops.cast(self.query_kernel, dtype)
        )
        hidden = (
            ops.expand_dims(q, 1)
            + ops.cast(projected_key, dtype)
            + ops.expand_dims(ops.cast(coverage, dtype), -1)
            * ops.cast(self.coverage_kernel, dtype)
            + ops.cast(self.bias, dtype)
        )
        scores = ops.einsum(
            "bsu,u->bs", ops.tanh(hidden), ops.cast(self.score_vector, dtype)
        )
        weights = masked_softmax(scores, value_mask)
        context = ops.einsum(
            "bs,bsd->bd", ops.cast(weights, dtype), ops.cast(value, dtype)
        )
        return context, ops.cast(weights, dtype), coverage + weights

    def compute_output_spec(self, query, value, coverage, **kwargs):
        batch, length = value.shape[0], value.shape[1]
        return (
            keras.KerasTensor(
                (batch, value.shape[-1]), dtype=self.compute_dtype
            ),
            keras.KerasTensor((batch, length), dtype=self.compute_dtype),
            keras.KerasTensor((batch, length), dtype="float32"),
        )

    def compute_mask(self, *args, **kwargs):
        return None

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "kernel_initializer": keras.initializers.serialize(
                self.kernel_initializer
            ),
        }


def coverage_loss(weights, coverage):
    """See et al.'s coverage loss of one step: `sum_j min(a_j, c_j)`.

    It is zero when a step attends only where the earlier steps did not, and
    grows with the attention a step gives again to covered positions.

    Args:
        weights: this step's attention weights, `(..., S)`.
        coverage: the coverage before this step (the sum of the earlier
            steps' weights), `(..., S)`.

    Returns:
        float32 loss of shape `(...)`.
    """
    weights = ops.cast(weights, "float32")
    return ops.sum(ops.minimum(weights, ops.cast(coverage, "float32")), axis=-1)
