"""Losses shared by the apps, and the reduction every scalar loss uses.

TensorFlow is imported only on the TensorFlow backend.
"""

import keras
from keras import ops


def replica_mean(total, count):
    """A masked mean loss, as one replica's share of the global mean.

    Under a `tf.distribute` strategy Keras adds up the replicas' losses and
    gradients; its own losses divide each replica's mean by the number of
    replicas, and so does this one, so that a loss means the same on one
    device or several. (JAX shards one global batch: nothing to divide.)

    Args:
        total: the sum of the loss over the counted positions.
        count: the number of counted positions (at least 1 is used).

    Returns:
        The scalar `total / count`, divided by the number of replicas in
        sync on TensorFlow.
    """
    loss = total / ops.maximum(count, 1.0)
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        loss /= tf.distribute.get_strategy().num_replicas_in_sync
    return loss


@keras.saving.register_keras_serializable(package="attention_suite")
class MaskedSparseCrossentropy(keras.losses.Loss):
    """Token cross-entropy averaged over non-padding targets.

    With `label_smoothing=e` the target distribution puts `1 - e` on the
    true token and spreads `e` uniformly over the vocabulary (Szegedy et al.
    2016), as Transformer training does.

    Args:
        label_smoothing: smoothing mass in `[0, 1)`.
        pad_id: the target id that marks padding (ignored).
        name: loss name.

    Call arguments:
        y_true: int ids `(B, T)`.
        y_pred: logits `(B, T, V)`.

    Returns:
        The mean loss over non-padding positions (a scalar).
    """

    def __init__(
        self,
        label_smoothing=0.0,
        pad_id=0,
        name="masked_sparse_crossentropy",
        **kwargs,
    ):
        super().__init__(name=name, **kwargs)
        if not 0.0 <= label_smoothing < 1.0:
            raise ValueError(
                "label_smoothing must be in [0, 1), "
                f"received {label_smoothing}."
            )
        self.label_smoothing = label_smoothing
        self.pad_id = pad_id

    def call(self, y_true, y_pred):
        y_true = ops.cast(y_true, "int32")
        log_probs = ops.log_softmax(ops.cast(y_pred, "float32"), axis=-1)
        nll = -ops.squeeze(
            ops.take_along_axis(log_probs, y_true[..., None], axis=-1), -1
        )
        loss = (1.0 - self.label_smoothing) * nll
        if self.label_smoothing:
            loss += self.label_smoothing * -ops.mean(log_probs, axis=-1)
        mask = ops.cast(ops.not_equal(y_true, self.pad_id), "float32")
        return replica_mean(ops.sum(loss * mask), ops.sum(mask))

    def get_config(self):
        return {
            **super().get_config(),
            "label_smoothing": self.label_smoothing,
            "pad_id": self.pad_id,
        }
