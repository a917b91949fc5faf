"""Attention score functions: e_ij = f(q_i, k_j).

Each score is a small Keras layer mapping `query` `(B, Tq, dq)` and `key`
`(B, Tk, dk)` to unnormalized scores `(B, Tq, Tk)`. `Attention` composes one of
them with a masked softmax and a weighted sum of the values.

| name          | formula                              | paper               |
|---------------|--------------------------------------|---------------------|
| `dot`         | q . k                                | Luong et al. 2015   |
| `scaled_dot`  | q . k / sqrt(d)                      | Vaswani et al. 2017 |
| `general`     | q W k                                | Luong et al. 2015   |
| `additive`    | v . tanh(W_q q + W_k k + b)          | Bahdanau et al. 2015|
| `concat`      | same as `additive` (Luong's name)    | Luong et al. 2015   |
| `location`    | (W_a q)_j, j < Tk                    | Luong et al. 2015   |
"""

import math

import keras
from keras import ops

from attention_suite.layers.arguments import check_positive_int
from attention_suite.layers.initializers import clone_initializer
from attention_suite.layers.shapes import check_dims_match, check_rank

_PACKAGE = "attention_suite"


class _Score(keras.layers.Layer):
    """Base class: checks shapes, then defers to `score()`."""

    def build(self, query_shape, key_shape):
        check_rank(self, "query", query_shape, 3)
        check_rank(self, "key", key_shape, 3)
        check_dims_match(
            self, "batch size", {"query": query_shape, "key": key_shape}, 0
        )
        self.build_weights(query_shape, key_shape)

    def build_weights(self, query_shape, key_shape):
        """Creates the score's weights (none by default)."""
        del query_shape, key_shape

    def compute_output_shape(self, query_shape, key_shape):
        return (query_shape[0], query_shape[1], key_shape[1])

    def compute_mask(self, inputs, previous_mask):
        # Scores are unmasked; the caller turns masks into attention masks.
        return None


class _WeightedScore(_Score):
    """Base class of the scores with a kernel initializer."""

    def __init__(self, kernel_initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)

    def _add_kernel(self, name, shape):
        """Adds a weight drawn from its own copy of `kernel_initializer`.

        Args:
            name: the weight's name.
            shape: the weight's shape.

        Returns:
            The new variable.
        """
        return self.add_weight(
            name=name,
            shape=shape,
            initializer=clone_initializer(self.kernel_initializer),
        )

    def get_config(self):
        return {
            **super().get_config(),
            "kernel_initializer": keras.initializers.serialize(
                self.kernel_initializer
            ),
        }


@keras.saving.register_keras_serializable(package=_PACKAGE)
class DotScore(_Score):
    """Dot-product score `e_ij = scale * q_i . k_j` (Luong "dot").

    Args:
        scale: optional float multiplier applied to the scores.

    Call arguments:
        query: `(B, Tq, d)`.
        key: `(B, Tk, d)`.

    Returns:
        Scores of shape `(B, Tq, Tk)`.

    Example:

    >>> q, k = np.ones((2, 3, 4)), np.ones((2, 5, 4))
    >>> keras.ops.shape(DotScore()(q, k))
    (2, 3, 5)
    """

    def __init__(self, scale=None, **kwargs):
        super().__init__(**kwargs)
        self.scale = scale

    def build_weights(self, query_shape, key_shape):
        check_dims_match(
            self,
            "query and key feature sizes",
            {"query": query_shape, "key": key_shape},
            -1,
        )

    def _scale_for(self, key):
        return self.scale

    def call(self, query, key):
        scores = ops.einsum("bqd,bkd->bqk", query, key)
        scale = self._scale_for(key)
        if scale is not None:
            scores = scores * ops.cast(scale, scores.dtype)
        return scores

    def get_config(self):
        return {**super().get_config(), "scale": self.scale}


@keras.saving.register_keras_serializable(package=_PACKAGE)
class ScaledDotScore(DotScore):
    """Scaled dot-product score `e_ij = q_i . k_j / sqrt(d)` (Vaswani et al.).

    Call arguments:
        query: `(B, Tq, d)`.
        key: `(B, Tk, d)`.

    Returns:
        Scores of shape `(B, Tq, Tk)`.

    Example:

    >>> scores = ScaledDotScore()(np.ones((1, 2, 4)), np.ones((1, 3, 4)))
    >>> keras.ops.convert_to_numpy(scores)
    array([[[2., 2., 2.],
            [2., 2., 2.]]], dtype=float32)
    """

    def __init__(self, scale=None, **kwargs):
        # `scale=None` is what a saved `DotScore` config holds; any other
        # value would be ignored, so it is refused.
        if scale is not None:
            raise ValueError(
                "ScaledDotScore takes no argument `scale`, since it scales by "
                "1 / sqrt(key size); DotScore(scale=...) takes a fixed "
                f"factor. Received: scale={scale!r}"
            )
        super().__init__(**kwargs)

    def _scale_for(self, key):
        return 1.0 / math.sqrt(key.shape[-1])

    def get_config(self):
        config = super().get_config()
        config.pop("scale")
        return config


@keras.saving.register_keras_serializable(package=_PACKAGE)
class GeneralScore(_WeightedScore):
    """Luong's bilinear "general" score `e_ij = q_i W k_j`.

    Args:
        kernel_initializer: initializer of `W` (shape `(dq, dk)`).

    Call arguments:
        query: `(B, Tq, dq)`.
        key: `(B, Tk, dk)`.

    Returns:
        Scores of shape `(B, Tq, Tk)`.

    Example:

    >>> scores = GeneralScore()(np.ones((2, 3, 4)), np.ones((2, 5, 6)))
    >>> keras.ops.shape(scores)
    (2, 3, 5)
    """

    def build_weights(self, query_shape, key_shape):
        self.kernel = self._add_kernel(
            "kernel", (query_shape[-1], key_shape[-1])
        )

    def call(self, query, key):
        projected = ops.matmul(query, ops.cast(self.kernel, query.dtype))
        return ops.einsum("bqd,bkd->bqk", projected, key)


@keras.saving.register_keras_serializable(package=_PACKAGE)
class AdditiveScore(_WeightedScore):
    """Bahdanau's additive score `e_ij = v . tanh(W_q q_i + W_k k_j + b)`.

    Luong calls the same function "concat" (`v . tanh(W [q; k])`, with
    `W = [W_q, W_k]`).

    Args:
        units: size of the hidden layer; defaults to the key feature size.
        use_bias: whether to add the bias `b` inside the `tanh`.
        kernel_initializer: initializer of `W_q`, `W_k` and `v` (each
            draws its own values).

    Call arguments:
        query: `(B, Tq, dq)`.
        key: `(B, Tk, dk)`.
        projected_key: optional `project_key(key)`. The key projection does
            not depend on the query: a decoder that scores one query per
            step against the same keys computes it once.

    Returns:
        Scores of shape `(B, Tq, Tk)`.

    Example:

    >>> score = AdditiveScore(units=8)
    >>> keras.ops.shape(score(np.ones((2, 3, 4)), np.ones((2, 5, 6))))
    (2, 3, 5)
    """

    def __init__(
        self,
        units=None,
        use_bias=True,
        kernel_initializer="glorot_uniform",
        **kwargs,
    ):
        check_positive_int("units", units, allow_none=True)
        super().__init__(kernel_initializer=kernel_initializer, **kwargs)
        self.units = units
        self.use_bias = use_bias

    def build_weights(self, query_shape, key_shape):
        units = self.units or key_shape[-1]
        self.query_kernel = self._add_kernel(
            "query_kernel", (query_shape[-1], units)
        )
        self.key_kernel = self._add_kernel("key_kernel", (key_shape[-1], units))
        self.bias = (
            self.add_weight(name="bias", shape=(units,), initializer="zeros")
            if self.use_bias
            else None
        )
        self.score_vector = self._add_kernel("score_vector", (units,))

    def project_key(self, key):
        """The key projection `W_k k`, `(B, Tk, units)`.

        Args:
            key: `(B, Tk, dk)`.

        Returns:
            The projected keys, in the dtype of `key`.
        """
        return ops.matmul(key, ops.cast(self.key_kernel, key.dtype))

    def call(self, query, key, projected_key=None):
        dtype = query.dtype
        q = ops.matmul(query, ops.cast(self.query_kernel, dtype))
        k = (
            self.project_key(ops.cast(key, dtype))
            if projected_key is None
            else ops.cast(projected_key, dtype)
        )
        hidden = ops.expand_dims(q, 2) + ops.expand_dims(k, 1)
        if self.bias is not None:
            hidden = hidden + ops.cast(self.bias, dtype)
        return ops.einsum(
            "bqku,u->bqk", ops.tanh(hidden), ops.cast(self.score_vector, dtype)
        )

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "use_bias": self.use_bias,
        }


@keras.saving.register_keras_serializable(package=_PACKAGE)
class LocationScore(_WeightedScore):
    """Luong's location-based score `e_i = W_a q_i`, truncated to `Tk` keys.

    The score ignores the key contents and learns where to look from the
    query alone, so it needs an upper bound on the number of keys.

    Args:
        max_length: the largest number of keys the layer will see.
        kernel_initializer: initializer of `W_a` (shape `(dq, max_length)`).

    Call arguments:
        query: `(B, Tq, dq)`.
        key: `(B, Tk, dk)` with `Tk <= max_length`; only its length is used.

    Returns:
        Scores of shape `(B, Tq, Tk)`.

    Example:

    >>> score = LocationScore(max_length=10)
    >>> keras.ops.shape(score(np.ones((2, 3, 4)), np.ones((2, 5, 6))))
    (2, 3, 5)
    """

    def __init__(
        self, max_length, kernel_initializer="glorot_uniform", **kwargs
    ):
        check_positive_int("max_length", max_length)
        super().__init__(kernel_initializer=kernel_initializer, **kwargs)
        self.max_length = max_length

    def build_weights(self, query_shape, key_shape):
        self.kernel = self._add_kernel(
            "kernel", (query_shape[-1], self.max_length)
        )

    def call(self, query, key):
        num_keys = key.shape[1]
        if num_keys is not None and num_keys > self.max_length:
            raise ValueError(
                f"LocationScore '{self.name}' was built for at most "
                f"max_length={self.max_length} keys, but received "
                f"key.shape={tuple(key.shape)}."
            )
        if num_keys is None:
            num_keys = ops.shape(key)[1]
        scores = ops.matmul(query, ops.cast(self.kernel, query.dtype))
        return scores[:, :, :num_keys]

    def get_config(self):
        return {
            **super().get_config(),
            "max_length": self.max_length,
        }


_SCORES = {
    "dot": DotScore,
    "scaled_dot": ScaledDotScore,
    "general": GeneralScore,
    "additive": AdditiveScore,
    "concat": AdditiveScore,
    "location": LocationScore,
}


def get(identifier, **kwargs):
    """Returns a score layer from a name, a config dict or a layer.

    Args:
        identifier: one of `"dot"`, `"scaled_dot"`, `"general"`,
            `"additive"`, `"concat"`, `"location"`; a serialized score
            (dict); or a score layer instance (returned as is).
        **kwargs: constructor arguments used when `identifier` is a name
            (e.g. `max_length=` for `"location"`).

    Returns:
        A score layer.
    """
    if isinstance(identifier, keras.layers.Layer):
        return identifier
    if isinstance(identifier, dict):
        return keras.saving.deserialize_keras_object(identifier)
    if isinstance(identifier, str) and identifier in _SCORES:
        return _SCORES[identifier](**kwargs)
    raise ValueError(
        "Received an invalid value for argument `score`, expected one of "
        f"{tuple(_SCORES)}, a score layer or its config. Received: "
        f"score={identifier!r}"
    )
