"""`MultiHeadAttention`: fused, explicit and chunked paths and a KV cache."""

import math

import keras
from keras import ops

from attention_suite.layers.arguments import (
    check_divisible,
    check_one_of,
    check_positive_int,
    check_rate,
)
from attention_suite.layers.initializers import (
    clone_initializer,
    serialize_objects,
)
from attention_suite.layers.masking import (
    masked_softmax,
    masks_detached,
    merge_masks,
)
from attention_suite.layers.shapes import (
    check_attention_shapes,
    check_dims_match,
)

_IMPLEMENTATIONS = ("auto", "fused", "explicit", "chunked")
# The axis `attention_axes` may name: the sequence axis of `(B, T, d)` inputs,
# counted as Keras counts it (on the projected `(B, T, heads, head_dim)`).
_SEQUENCE_AXES = ((1,), (-2,))
# Letters of the output projection's feature axes in its einsum equation.
_OUTPUT_AXES = "efghij"


def _output_shape(output_shape):
    """Normalizes Keras' `output_shape` argument to a tuple or `None`.

    Args:
        output_shape: `None`, an int or a list / tuple of positive ints.

    Returns:
        A tuple of ints, or `None`.
    """
    if output_shape is None:
        return None
    shape = (output_shape,) if isinstance(output_shape, int) else output_shape
    if (
        not isinstance(shape, (list, tuple))
        or not 0 < len(shape) <= len(_OUTPUT_AXES)
        or any(isinstance(d, bool) or not isinstance(d, int) for d in shape)
        or any(d < 1 for d in shape)
    ):
        raise ValueError(
            "Received an invalid value for argument `output_shape`, expected "
            "a positive integer or a tuple of positive integers. Received: "
            f"output_shape={output_shape!r}"
        )
    return tuple(shape)


def _attention_axes(attention_axes):
    """Checks Keras' `attention_axes` against what this layer can honour.

    Args:
        attention_axes: `None`, an int or a list / tuple of ints.

    Returns:
        `attention_axes` as a tuple, or `None`.
    """
    if attention_axes is None:
        return None
    axes = (
        (attention_axes,)
        if isinstance(attention_axes, int)
        else tuple(attention_axes)
    )
    if axes not in _SEQUENCE_AXES:
        raise ValueError(
            "Received an invalid value for argument `attention_axes`, "
            "expected None, 1 or -2 (this layer attends over the sequence "
            "axis of (batch, sequence, features) inputs). Received: "
            f"attention_axes={attention_axes!r}"
        )
    return axes


@keras.saving.register_keras_serializable(package="attention_suite")
class MultiHeadAttention(keras.layers.Layer):
    """Multi-head attention (Vaswani et al. 2017) with grouped-query heads.

    A drop-in for `keras.layers.MultiHeadAttention` on `(B, T, d)` inputs: it
    takes every constructor argument of Keras' layer,
    `MultiHeadAttention.from_config(keras_mha.get_config())` builds the same
    layer, and the weights have the same layout (query, key, gate, value and
    output `EinsumDense` kernels and biases, in that order), so
    `set_weights(keras_mha.get_weights())` moves a trained Keras layer over.
    On top of Keras' layer it offers:

    * a fused path through `keras.ops.dot_product_attention`, which uses flash
      attention where the backend and hardware support it
      (`flash_attention=None` lets Keras decide) and falls back to an XLA /
      SDPA kernel otherwise;
    * grouped-query attention: `num_key_value_heads` key/value heads shared
      by groups of `num_heads // num_key_value_heads` query heads;
    * a key/value cache for step-by-step decoding (`cache`,
      `cache_update_index`), in the format of KerasHub's
      `CachedMultiHeadAttention`: `(B, 2, max_length, num_key_value_heads,
      key_dim)`;
    * a memory-bounded path that processes `query_chunk_size` queries at a
      time and recomputes each chunk in the backward pass, so attention over
      very long sequences never materializes the full `(Tq, Tk)` matrix
      (this path applies no attention dropout).

    Padded queries get a zero output where Keras' layer gives them an average
    of the values; every other position agrees with Keras' layer.

    `implementation="auto"` uses the explicit path when attention scores are
    returned, when attention dropout is active in training, and on the
    TensorFlow backend (whose `dot_product_attention` is itself an einsum
    reference without a flash kernel, and slower under XLA at long lengths);
    it uses the fused path otherwise. Softmax is always computed in float32.

    Args:
        num_heads: number of query heads.
        key_dim: size of each query/key head.
        value_dim: size of each value head; defaults to `key_dim`.
        num_key_value_heads: number of key/value heads; must divide
            `num_heads`. Defaults to `num_heads` (standard multi-head).
        dropout: dropout rate on the attention weights.
        use_bias: whether the projections have biases.
        output_shape: the output's feature shape, an int or a tuple (the
            output is `(B, Tq, *output_shape)`); defaults to the query's
            feature size.
        attention_axes: `None`, or the sequence axis (`1` or `-2`), the only
            axis this layer attends over; accepted for Keras compatibility.
        sliding_window: optional positive int: each query attends only to
            keys less than `sliding_window` positions away (a symmetric
            band; with `use_causal_mask=True` a causal window), as in Keras.
        use_gate: whether a sigmoid gate computed from the query scales
            each head's output before the output projection (gated
            attention, Qiu et al. 2025), as in Keras.
        implementation: `"auto"`, `"fused"`, `"explicit"` or `"chunked"`.
        query_chunk_size: queries per chunk on the `"chunked"` path.
        flash_attention: passed to `keras.ops.dot_product_attention`; `None`
            uses flash attention when available.
        kernel_initializer: initializer of the projection kernels (each
            draws its own values).
        bias_initializer: initializer of the projection biases.
        kernel_regularizer: regularizer of the projection kernels.
        bias_regularizer: regularizer of the projection biases.
        activity_regularizer: regularizer of each projection's output (as
            in Keras, applied to every projection).
        kernel_constraint: constraint of the projection kernels.
        bias_constraint: constraint of the projection biases.
        seed: seed of the attention dropout.
        output_dim: the older name of an int `output_shape`, kept so that
            configs saved by 0.1.0 load.

    Call arguments:
        query: `(B, Tq, dq)`.
        value: `(B, Tk, dv)`.
        key: optional `(B, Tk, dk)`; defaults to `value`.
        query_mask: optional boolean `(B, Tq)`; filled from the Keras mask.
        value_mask: optional boolean `(B, Tk)`; filled from the Keras mask.
        key_mask: optional boolean `(B, Tk)`; overrides `value_mask`.
        attention_mask: optional boolean `(B, Tq, Tk)`; `True` = attend.
        use_causal_mask: whether query `i` may only see keys `j <= i` (with
            a cache, `i` counts from `cache_update_index`).
        return_attention_scores: whether to also return the weights
            `(B, num_heads, Tq, Tk)`.
        cache: optional `(B, 2, max_length, num_key_value_heads, key_dim)`
            tensor of projected keys and values.
        cache_update_index: int position at which this call's keys and
            values are written into `cache`. With `cache` but no index, the
            cache is used as is (e.g. cross-attention to encoder outputs).
        training: whether dropout is active.

    Returns:
        The attention output `(B, Tq, *output_shape)`; then the weights if
        `return_attention_scores=True`; then the updated cache if `cache` was
        given. The output carries the query's Keras mask.

    Example:

    >>> mha = MultiHeadAttention(num_heads=8, key_dim=16, num_key_value_heads=2)
    >>> x = np.ones((2, 10, 64))
    >>> keras.ops.shape(mha(x, x, use_causal_mask=True))
    (2, 10, 64)
    """

    def __init__(
        self,
        num_heads,
        key_dim,
        value_dim=None,
        num_key_value_heads=None,
        dropout=0.0,
        use_bias=True,
        output_shape=None,
        attention_axes=None,
        sliding_window=None,
        use_gate=False,
        implementation="auto",
        query_chunk_size=1024,
        flash_attention=None,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        kernel_constraint=None,
        bias_constraint=None,
        seed=None,
        output_dim=None,
        **kwargs,
    ):
        check_positive_int("num_heads", num_heads)
        check_positive_int("key_dim", key_dim)
        check_positive_int("value_dim", value_dim, allow_none=True)
        check_positive_int(
            "num_key_value_heads", num_key_value_heads, allow_none=True
        )
        num_key_value_heads = num_key_value_heads or num_heads
        check_divisible(
            "num_heads", num_heads, "num_key_value_heads", num_key_value_heads
        )
        check_rate("dropout", dropout)
        check_positive_int("output_dim", output_dim, allow_none=True)
        if output_dim is not None and output_shape is not None:
            raise ValueError(
                "Pass `output_shape` only (`output_dim` is its older name). "
                f"Received: output_shape={output_shape!r}, "
                f"output_dim={output_dim!r}"
            )
        output_shape = _output_shape(output_shape or output_dim)
        attention_axes = _attention_axes(attention_axes)
        check_positive_int("sliding_window", sliding_window, allow_none=True)
        check_one_of("implementation", implementation, _IMPLEMENTATIONS)
        check_positive_int("query_chunk_size", query_chunk_size)
        super().__init__(**kwargs)
        self.num_heads = num_heads
        self.key_dim = key_dim
        self.value_dim = value_dim or key_dim
        self.num_key_value_heads = num_key_value_heads
        self.dropout = dropout
        self.use_bias = use_bias
        # Private, as in Keras: `output_shape` would read as the layer's
        # output shape in model summaries.
        self._output_shape = output_shape
        self.attention_axes = attention_axes
        self.sliding_window = sliding_window
        self.use_gate = use_gate
        self.implementation = implementation
        self.query_chunk_size = query_chunk_size
        self.flash_attention = flash_attention
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        self.bias_regularizer = keras.regularizers.get(bias_regularizer)
        # Private, as in Keras: the base layer would apply a public one to
        # this layer's output too.
        self._activity_regularizer = keras.regularizers.get(
            activity_regularizer
        )
        self.kernel_constraint = keras.constraints.get(kernel_constraint)
        self.bias_constraint = keras.constraints.get(bias_constraint)
        self.seed = seed
        self.dropout_layer = keras.layers.Dropout(
            dropout, seed=seed, dtype=self.dtype_policy
        )
        self.supports_masking = True

    def _einsum_dense(
        self, equation, output_shape, bias_axes, name, activation=None
    ):
        """An `EinsumDense` sublayer with its own copies of the initializers.

        Args:
            equation: the einsum equation.
            output_shape: the output shape without the batch axis.
            bias_axes: the bias axes, used when `use_bias=True`.
            name: the sublayer's name.
            activation: the sublayer's activation.

        Returns:
            The (unbuilt) `EinsumDense` layer, with the layer's regularizers
            and constraints.
        """
        return keras.layers.EinsumDense(
            equation,
            output_shape=output_shape,
            activation=activation,
            bias_axes=bias_axes if self.use_bias else None,
            kernel_initializer=clone_initializer(self.kernel_initializer),
            bias_initializer=clone_initializer(self.bias_initializer),
            kernel_regularizer=self.kernel_regularizer,
            bias_regularizer=self.bias_regularizer,
            activity_regularizer=self._activity_regularizer,
            kernel_constraint=self.kernel_constraint,
            bias_constraint=self.bias_constraint,
            dtype=self.dtype_policy,
            name=name,
        )

    def _projection(self, name, heads, head_dim, activation=None):
        return self._einsum_dense(
            "abc,cde->abde", (None, heads, head_dim), "de", name, activation
        )

    def _check_shapes(self, query_shape, value_shape, key_shape):
        check_attention_shapes(self, query_shape, value_shape, key_shape)
        named = {"query": query_shape, "value": value_shape, "key": key_shape}
        for name, shape in getattr(self, "_built_shapes", {}).items():
            check_dims_match(
                self,
                f"feature sizes of `{name}` at build time and now",
                {f"built {name}": shape, name: named[name]},
                -1,
            )

    def build(self, query_shape, value_shape, key_shape=None):
        key_shape = value_shape if key_shape is None else key_shape
        self._check_shapes(query_shape, value_shape, key_shape)
        self._built_shapes = {
            "query": tuple(query_shape),
            "value": tuple(value_shape),
            "key": tuple(key_shape),
        }
        self.query_dense = self._projection(
            "query", self.num_heads, self.key_dim
        )
        self.query_dense.build(query_shape)
        self.key_dense = self._projection(
            "key", self.num_key_value_heads, self.key_dim
        )
        self.key_dense.build(key_shape)
        if self.use_gate:
            # Built between the key and the value, as in Keras' layer, so
            # the weights come in Keras' order.
            self.gate_dense = self._projection(
                "gate", self.num_heads, self.value_dim, "sigmoid"
            )
            self.gate_dense.build(query_shape)
        self.value_dense = self._projection(
            "value", self.num_key_value_heads, self.value_dim
        )
        self.value_dense.build(value_shape)
        features = self._output_shape or (query_shape[-1],)
        axes = _OUTPUT_AXES[: len(features)]
        self.output_dense = self._einsum_dense(
            f"abcd,cd{axes}->ab{axes}",
            (None,) + tuple(features),
            axes,
            "attention_output",
        )
        self.output_dense.build(
            (query_shape[0], query_shape[1], self.num_heads, self.value_dim)
        )

    def _choose_path(self, return_attention_scores, training):
        if self.implementation != "auto":
            if self.implementation != "explicit" and return_attention_scores:
                raise ValueError(
                    "return_attention_scores=True needs the explicit path, but "
                    f"the layer was built with implementation="
                    f"'{self.implementation}'."
                )
            return self.implementation
        if (
            return_attention_scores
            or (training and self.dropout > 0)
            or keras.backend.backend() == "tensorflow"
        ):
            return "explicit"
        return "fused"

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
        return_attention_scores=False,
        cache=None,
        cache_update_index=None,
        training=None,
    ):
        key = value if key is None else key
        self._check_shapes(query.shape, value.shape, key.shape)
        key_mask = value_mask if key_mask is None else key_mask
        query_length = ops.shape(query)[1]
        reuse_cache = cache is not None and cache_update_index is None
        # The masks were read into the arguments above; the projections would
        # warn that they drop them.
        with masks_detached(query, value, key):
            gate = self.gate_dense(query) if self.use_gate else None
            q = self.query_dense(query)
            if not reuse_cache:
                k, v = self.key_dense(key), self.value_dense(value)
        query_start = 0
        if reuse_cache:
            k, v = cache[:, 0], cache[:, 1]
        elif cache is not None:
            cache = self._update_cache(cache, k, v, cache_update_index)
            k, v = cache[:, 0], cache[:, 1]
            query_start = cache_update_index
            filled = ops.arange(ops.shape(cache)[2]) < (
                cache_update_index + ops.shape(key)[1]
            )
            filled = ops.expand_dims(filled, 0)
            key_mask = (
                filled
                if key_mask is None
                else ops.logical_and(ops.cast(key_mask, "bool"), filled)
            )

        key_length = ops.shape(k)[1]
        query_positions = query_start + ops.arange(query_length)
        key_positions = ops.arange(key_length)
        path = self._choose_path(return_attention_scores, training)
        mask_args = dict(
            query_mask=query_mask,
            key_mask=key_mask,
            attention_mask=attention_mask,
            use_causal_mask=use_causal_mask,
            sliding_window=self.sliding_window,
        )
        scores = None
        if path == "chunked":
            out = self._chunked_attention(
                q, k, v, query_positions, key_positions, **mask_args
            )
        else:
            # A plain causal mask goes to the fused kernel as `is_causal`, which
            # lets flash attention skip the masked blocks.
            native_causal = (
                path == "fused"
                and use_causal_mask
                and (
                    cache is None
                    and query_mask is None
                    and key_mask is None
                    and attention_mask is None
                    and self.sliding_window is None
                )
            )
            mask_args["use_causal_mask"] = use_causal_mask and not native_causal
            mask = merge_masks(
                query_positions=query_positions,
                key_positions=key_positions,
                **mask_args,
            )
            if path == "fused":
                out = self._fused_attention(q, k, v, mask, native_causal)
            else:
                out, scores = self._explicit_attention(q, k, v, mask, training)
        if gate is not None:
            out = out * gate
        outputs = [self.output_dense(out)]
        if return_attention_scores:
            outputs.append(scores)
        if cache is not None:
            outputs.append(cache)
        return outputs[0] if len(outputs) == 1 else tuple(outputs)

    def compute_cache(self, value, key=None):
        """Projects keys and values once, for queries that attend to them
        again and again (e.g. cross-attention while decoding).

        Args:
            value: `(B, Tk, dv)`.
            key: optional `(B, Tk, dk)`; defaults to `value`.

        Returns:
            A cache `(B, 2, Tk, num_key_value_heads, key_dim)` to pass as
            `cache` with `cache_update_index=None`.
        """
        key = value if key is None else key
        return ops.stack([self.key_dense(key), self.value_dense(value)], axis=1)

    def _update_cache(self, cache, k, v, index):
        if self.value_dim != self.key_dim:
            raise ValueError(
                "A key/value cache needs value_dim == key_dim, but the layer "
                f"has key_dim={self.key_dim}, value_dim={self.value_dim}."
            )
        update = ops.cast(ops.stack([k, v], axis=1), cache.dtype)
        if update.shape[2] == 1:
            # One decoding step: a select, which exports as plain TensorFlow
            # ops (`slice_update` becomes an XLA op there).
            positions = ops.arange(ops.shape(cache)[2])
            at = ops.reshape(ops.equal(positions, index), (1, 1, -1, 1, 1))
            return ops.where(at, update, cache)
        start = [0, 0, index, 0, 0]
        return ops.slice_update(cache, start, update)

    def _group(self, q):
        """Splits query heads `(B, T, N, H)` into `(B, T, K, G, H)`."""
        shape = ops.shape(q)
        groups = self.num_heads // self.num_key_value_heads
        return ops.reshape(
            q, (shape[0], shape[1], self.num_key_value_heads, groups, shape[3])
        )

    def _explicit_attention(self, q, k, v, mask, training):
        scale = ops.cast(1.0 / math.sqrt(self.key_dim), q.dtype)
        logits = ops.einsum("btkgh,bskh->bkgts", self._group(q) * scale, k)
        shape = ops.shape(logits)
        logits = ops.reshape(
            logits, (shape[0], self.num_heads, shape[3], shape[4])
        )
        if mask is not None:
            mask = ops.expand_dims(mask, 1)
        weights = ops.cast(masked_softmax(logits, mask), self.compute_dtype)
        dropped = self.dropout_layer(weights, training=training)
        dropped = ops.reshape(
            dropped,
            (shape[0], self.num_key_value_heads, shape[2], shape[3], shape[4]),
        )
        out = ops.einsum("bkgts,bskh->btkgh", dropped, v)
        out_shape = ops.shape(out)
        out = ops.reshape(
            out, (out_shape[0], out_shape[1], self.num_heads, self.value_dim)
        )
        return out, weights

    def _fused_attention(self, q, k, v, mask, is_causal):
        if self.num_key_value_heads == 1 and self.num_heads > 1:
            # Keras' backends group heads only for more than one KV head.
            k = ops.repeat(k, self.num_heads, axis=2)
            v = ops.repeat(v, self.num_heads, axis=2)
        if mask is None:
            return ops.dot_product_attention(
                q,
                k,
                v,
                scale=1.0 / math.sqrt(self.key_dim),
                is_causal=is_causal,
                flash_attention=self.flash_attention,
            )
        # Rows with no visible key: attend anywhere, then zero the result, so
        # every path gives the same (zero) output instead of NaN or noise.
        has_key = ops.any(mask, axis=-1, keepdims=True)
        # A mask shared by all queries is spelled out per query: cuDNN's
        # flash kernel (JAX on GPU) refuses a mask with one query row.
        full_mask = ops.broadcast_to(
            ops.logical_or(mask, ~has_key),
            (ops.shape(q)[0], ops.shape(q)[1], ops.shape(k)[1]),
        )
        out = ops.dot_product_attention(
            q,
            k,
            v,
            mask=ops.expand_dims(full_mask, 1),
            scale=1.0 / math.sqrt(self.key_dim),
            flash_attention=self.flash_attention,
        )
        # `has_key` is (B, Tq, 1) or (B, 1, 1); the output is (B, Tq, N, H).
        return out * ops.expand_dims(ops.cast(has_key, out.dtype), -1)

    def _chunked_attention(
        self,
        q,
        k,
        v,
        query_positions,
        key_positions,
        query_mask=None,
        key_mask=None,
        attention_mask=None,
        use_causal_mask=False,
        sliding_window=None,
    ):
        chunk = self.query_chunk_size
        batch, length = ops.shape(q)[0], ops.shape(q)[1]
        num_chunks = (length + chunk - 1) // chunk
        pad = num_chunks * chunk - length

        def to_chunks(x, axis):
            """Pads `axis` to whole chunks and moves the chunk index first."""
            widths = [[0, 0]] * len(x.shape)
            widths[axis] = [0, pad]
            x = ops.pad(x, widths)
            shape = list(ops.shape(x))
            x = ops.reshape(
                x, shape[:axis] + [num_chunks, chunk] + shape[axis + 1 :]
            )
            return ops.moveaxis(x, axis, 0)

        if query_mask is None:
            query_mask = ops.ones((batch, length), dtype="bool")
        xs = [
            to_chunks(q, 1),
            to_chunks(query_positions, 0),
            to_chunks(ops.cast(query_mask, "bool"), 1),
        ]
        if attention_mask is not None:
            attention_mask = ops.broadcast_to(
                ops.cast(attention_mask, "bool"),
                (batch, length, ops.shape(k)[1]),
            )
            xs.append(to_chunks(attention_mask, 1))

        def attend_chunk(chunk):
            q_chunk, positions, chunk_query_mask = chunk[:3]
            mask = merge_masks(
                query_mask=chunk_query_mask,
                key_mask=key_mask,
                attention_mask=chunk[3] if len(chunk) > 3 else None,
                use_causal_mask=use_causal_mask,
                sliding_window=sliding_window,
                query_positions=positions,
                key_positions=key_positions,
            )

            # Only float tensors are arguments of the rematerialized function
            # (TensorFlow differentiates every argument); masks are closed
            # over. No dropout here: the recomputation must be deterministic.
            def attend(q_chunk, k, v):
                return self._explicit_attention(q_chunk, k, v, mask, False)[0]

            return keras.remat(attend)(q_chunk, k, v)

        out = ops.map(attend_chunk, tuple(xs))
        out = ops.moveaxis(out, 0, 1)
        shape = ops.shape(out)
        out = ops.reshape(
            out, (shape[0], shape[1] * shape[2], shape[3], shape[4])
        )
        return out[:, :length]

    def compute_output_shape(self, query_shape, value_shape, key_shape=None):
        return tuple(query_shape[:-1]) + (
            self._output_shape or (query_shape[-1],)
        )

    def compute_output_spec(
        self,
        query,
        value,
        key=None,
        return_attention_scores=False,
        cache=None,
        **kwargs,
    ):
        outputs = [
            keras.KerasTensor(
                self.compute_output_shape(query.shape, value.shape),
                dtype=self.compute_dtype,
            )
        ]
        if return_attention_scores:
            key_length = cache.shape[2] if cache is not None else value.shape[1]
            outputs.append(
                keras.KerasTensor(
                    (
                        query.shape[0],
                        self.num_heads,
                        query.shape[1],
                        key_length,
                    ),
                    dtype=self.compute_dtype,
                )
            )
        if cache is not None:
            outputs.append(keras.KerasTensor(cache.shape, dtype=cache.dtype))
        return outputs[0] if len(outputs) == 1 else tuple(outputs)

    def get_config(self):
        return {
            **super().get_config(),
            "num_heads": self.num_heads,
            "key_dim": self.key_dim,
            "value_dim": self.value_dim,
            "num_key_value_heads": self.num_key_value_heads,
            "dropout": self.dropout,
            "use_bias": self.use_bias,
            "output_shape": self._output_shape,
            "attention_axes": self.attention_axes,
            "sliding_window": self.sliding_window,
            "use_gate": self.use_gate,
            "implementation": self.implementation,
            "query_chunk_size": self.query_chunk_size,
            "flash_attention": self.flash_attention,
            **serialize_objects(
                kernel_initializer=self.kernel_initializer,
                bias_initializer=self.bias_initializer,
                kernel_regularizer=self.kernel_regularizer,
                bias_regularizer=self.bias_regularizer,
                activity_regularizer=self._activity_regularizer,
                kernel_constraint=self.kernel_constraint,
                bias_constraint=self.bias_constraint,
            ),
            "seed": self.seed,
        }
