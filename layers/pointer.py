"""The pointer-generator output (See et al. 2017, "Get To The Point").

A decoder that can copy: its next-token distribution mixes the vocabulary
softmax with the attention over the source, so names, numbers and rare words
of the input can be produced even when the vocabulary softmax gives them
little mass.
"""

import keras
from keras import ops

from attention_suite.layers.arguments import check_positive_float
from attention_suite.layers.shapes import check_dims_match, check_rank


def copy_distribution(weights, source_ids, vocabulary_size):
    """Sums attention weights onto the vocabulary ids of the source tokens.

    A token that occurs several times in the source gets the sum of its
    positions' weights.

    Args:
        weights: attention over the source, `(B, T, S)`.
        source_ids: int `(B, S)`, ids below `vocabulary_size`.
        vocabulary_size: `V`.

    Returns:
        float32 `(B, T, V)`; each row sums to the row of `weights`.
    """
    shape = ops.shape(weights)
    batch, steps, length = shape[0], shape[1], shape[2]
    positions = (batch, steps, length)
    indices = ops.stack(
        [
            ops.broadcast_to(
                ops.reshape(ops.arange(batch), (-1, 1, 1)), positions
            ),
            ops.broadcast_to(
                ops.reshape(ops.arange(steps), (1, -1, 1)), positions
            ),
            ops.broadcast_to(
                ops.expand_dims(ops.cast(source_ids, "int32"), 1), positions
            ),
        ],
        axis=-1,
    )
    # A summing `scatter_update` rather than `ops.scatter`, which the torch
    # backend runs as a Python loop over every index.
    return ops.scatter_update(
        ops.zeros((batch, steps, vocabulary_size), "float32"),
        ops.reshape(indices, (-1, 3)),
        ops.reshape(ops.cast(weights, "float32"), (-1,)),
        reduction="add",
    )


@keras.saving.register_keras_serializable(package="attention_suite")
class PointerGenerator(keras.layers.Layer):
    """Mixes generating a token from the vocabulary with copying one.

    `p_gen = sigmoid(w . features + b)` and

    `P(w) = p_gen softmax(logits)_w + (1 - p_gen) sum_{j: source_j = w} a_j`

    where `a` is the decoder's attention over the source. The layer returns
    `log P` in float32: its log-softmax is itself, so it can go wherever
    logits go (a `from_logits=True` loss, greedy or beam search).

    Args:
        epsilon: floor of the probabilities before the log.
        kernel_initializer: initializer of the gate's `w`.

    Call arguments:
        logits: the decoder's vocabulary logits, `(B, V)` or `(B, T, V)`.
        weights: the attention over the source, `(B, S)` or `(B, T, S)`,
            zero on padding.
        source_ids: int `(B, S)`, the source tokens in the same vocabulary.
        features: the gate's inputs, `(B, d)` or `(B, T, d)`; See et al.
            use the context, the decoder state and the decoder input.
        return_generation_probability: whether to also return `p_gen`.

    Returns:
        float32 log-probabilities shaped like `logits`, and with
        `return_generation_probability=True` also `p_gen`, `(B,)` or
        `(B, T)`.

    Example:

    >>> pointer = PointerGenerator()
    >>> log_probs = pointer(
    ...     np.zeros((2, 10)), np.full((2, 4), 0.25),
    ...     np.array([[3, 3, 5, 9], [1, 2, 3, 4]]), np.ones((2, 6)),
    ... )
    >>> keras.ops.shape(log_probs)
    (2, 10)
    """

    def __init__(
        self, epsilon=1e-9, kernel_initializer="glorot_uniform", **kwargs
    ):
        check_positive_float("epsilon", epsilon)
        super().__init__(**kwargs)
        self.epsilon = epsilon
        self.kernel_initializer = keras.initializers.get(kernel_initializer)

    def build(
        self, logits_shape, weights_shape, source_ids_shape, features_shape
    ):
        check_rank(self, "logits", logits_shape, (2, 3))
        for name, shape in (
            ("weights", weights_shape),
            ("features", features_shape),
        ):
            check_rank(self, name, shape, len(logits_shape))
        check_rank(self, "source_ids", source_ids_shape, 2)
        check_dims_match(
            self,
            "source lengths",
            {"weights": weights_shape, "source_ids": source_ids_shape},
            -1,
        )
        self.kernel = self.add_weight(
            name="kernel",
            shape=(features_shape[-1], 1),
            initializer=self.kernel_initializer,
        )
        self.bias = self.add_weight(
            name="bias", shape=(1,), initializer="zeros"
        )

    def call(
        self,
        logits,
        weights,
        source_ids,
        features,
        return_generation_probability=False,
    ):
        single_step = len(logits.shape) == 2
        if single_step:
            logits, weights, features = (
                ops.expand_dims(x, 1) for x in (logits, weights, features)
            )
        dtype = self.compute_dtype
        gate = ops.matmul(
            ops.cast(features, dtype), ops.cast(self.kernel, dtype)
        )
        gate = ops.sigmoid(
            ops.cast(gate, "float32") + ops.cast(self.bias, "float32")
        )
        vocabulary = ops.softmax(ops.cast(logits, "float32"), axis=-1)
        copied = copy_distribution(weights, source_ids, ops.shape(logits)[-1])
        mixture = gate * vocabulary + (1.0 - gate) * copied
        log_probs = ops.log(ops.maximum(mixture, self.epsilon))
        gate = ops.squeeze(gate, -1)
        if single_step:
            log_probs, gate = ops.squeeze(log_probs, 1), ops.squeeze(gate, 1)
        if return_generation_probability:
            return log_probs, gate
        return log_probs

    def compute_output_spec(
        self,
        logits,
        weights,
        source_ids,
        features,
        return_generation_probability=False,
    ):
        log_probs = keras.KerasTensor(logits.shape, dtype="float32")
        if not return_generation_probability:
            return log_probs
        return log_probs, keras.KerasTensor(logits.shape[:-1], dtype="float32")

    def compute_mask(self, *args, **kwargs):
        return None

    def get_config(self):
        return {
            **super().get_config(),
            "epsilon": self.epsilon,
            "kernel_initializer": keras.initializers.serialize(
                self.kernel_initializer
            ),
        }
