"""Forecasting models: a spatio-temporal attention forecaster and a GRU.

Both take raw readings and return forecasts in the same units: the z-score
normalization (fitted on train) is a layer of the model, so the exported
graph needs no outside preprocessing. Missing readings (NaN, and zero unless
the run's `missing` setting is `"nan"`) enter as 0 after normalization and
are masked out of attention.
"""

import keras
import numpy as np
from keras import ops

from attention_suite import layers
from attention_suite.apps.common.training.losses import replica_mean
from attention_suite.apps.traffic.config import LOSSES
from attention_suite.apps.traffic.data import MAX_ABS_ZSCORE

INPUT_NAMES = ("history", "time_of_day", "day_of_week")


class _Scaling(keras.layers.Layer):
    """Holds the training mean and standard deviation of the readings."""

    def __init__(self, mean, std, **kwargs):
        super().__init__(**kwargs)
        self.mean = float(mean)
        self.std = float(std)

    def get_config(self):
        return {**super().get_config(), "mean": self.mean, "std": self.std}


@keras.saving.register_keras_serializable(package="attention_suite.traffic")
class Standardize(_Scaling):
    """Z-scores readings and marks the missing ones.

    Args:
        mean: mean of the observed training readings.
        std: their standard deviation.
        missing: `"zero-and-nan"` (a reading of 0 is missing, as in METR-LA)
            or `"nan"` (a 0 is a real reading).

    Call arguments:
        inputs: raw readings; NaN, 0 (see `missing`) and readings more than
            `MAX_ABS_ZSCORE` standard deviations from the mean (e.g. 1e21)
            are missing.

    Returns:
        `(normalized, observed)`: normalized readings with 0 where missing,
        and the boolean mask of observed readings.
    """

    def __init__(self, mean, std, missing="zero-and-nan", **kwargs):
        super().__init__(mean, std, **kwargs)
        self.missing = missing

    def call(self, inputs):
        in_range = ops.less_equal(
            ops.abs(inputs - self.mean), MAX_ABS_ZSCORE * self.std
        )
        observed = ops.logical_and(
            observed_readings(inputs, self.missing), in_range
        )
        safe = ops.where(observed, inputs, self.mean)
        return (safe - self.mean) / self.std, observed

    def get_config(self):
        return {**super().get_config(), "missing": self.missing}


def attention_bytes(config, num_nodes):
    """About how much memory a training step's spatial attention takes.

    Each layer scores every pair of sensors at every input step for every
    head: `batch_size * input_steps * num_heads * num_nodes^2` float32
    scores, kept with their softmax and both gradients (four copies).

    Args:
        config: the run's `TrafficConfig`.
        num_nodes: the number of sensors.

    Returns:
        Bytes, an int.
    """
    scores = config.batch_size * config.input_steps * config.num_heads
    return 4 * 4 * config.num_layers * scores * num_nodes**2


def observed_readings(readings, missing):
    """The mask of readings that are not missing (a backend tensor).

    Args:
        readings: a tensor of readings.
        missing: `"zero-and-nan"` or `"nan"` (see `readers.missing_mask`).

    Returns:
        A boolean tensor of the same shape.
    """
    observed = ops.isfinite(readings)
    if missing == "nan":
        return observed
    return ops.logical_and(observed, ops.not_equal(readings, 0))


@keras.saving.register_keras_serializable(package="attention_suite.traffic")
class Unstandardize(_Scaling):
    """Maps normalized forecasts back to reading units.

    Args:
        mean: mean of the observed training readings.
        std: their standard deviation.
    """

    def call(self, inputs):
        return ops.cast(inputs, "float32") * self.std + self.mean


@keras.saving.register_keras_serializable(package="attention_suite.traffic")
class AdaptiveEmbedding(keras.layers.Layer):
    """A learned embedding per (input step, node), broadcast over the batch.

    Args:
        dim: embedding size.

    Call arguments:
        inputs: `(B, T, N, F)`; only its shape is used.

    Returns:
        `(B, T, N, dim)`.
    """

    def __init__(self, dim, **kwargs):
        super().__init__(**kwargs)
        self.dim = dim

    def build(self, input_shape):
        self.embedding = self.add_weight(
            name="embedding",
            shape=(input_shape[1], input_shape[2], self.dim),
            initializer="glorot_uniform",
        )

    def call(self, inputs):
        shape = ops.shape(inputs)
        embedding = ops.cast(self.embedding, self.compute_dtype)
        return ops.broadcast_to(
            embedding[None], (shape[0], shape[1], shape[2], self.dim)
        )

    def get_config(self):
        return {**super().get_config(), "dim": self.dim}


def _standardize(config, mean, std, history):
    """The model's `Standardize` layer applied to the history."""
    return Standardize(mean, std, config.missing, name="standardize")(history)


def _inputs(config, num_nodes):
    return {
        "history": keras.Input(
            (config.input_steps, num_nodes), name="history", dtype="float32"
        ),
        "time_of_day": keras.Input(
            (config.input_steps,), name="time_of_day", dtype="float32"
        ),
        "day_of_week": keras.Input(
            (config.input_steps,), name="day_of_week", dtype="int32"
        ),
    }


def _feedforward_residual(x, config, name):
    """`LayerNorm(x + FFN(x))` on the last axis."""
    width = x.shape[-1]
    y = keras.layers.Dense(
        config.feedforward_dim, activation="relu", name=f"{name}_ffn_in"
    )(x)
    y = keras.layers.Dense(width, name=f"{name}_ffn_out")(y)
    y = keras.layers.Dropout(config.dropout)(y)
    return keras.layers.LayerNormalization(name=f"{name}_ffn_norm")(x + y)


def _attention_residual(x, attention, name, config, **call_kwargs):
    """`LayerNorm(x + Attention(x))`, and the weights if they were asked for."""
    y = attention(x, **call_kwargs)
    y, scores = y if isinstance(y, (tuple, list)) else (y, None)
    y = keras.layers.Dropout(config.dropout)(y)
    return keras.layers.LayerNormalization(name=f"{name}_norm")(x + y), scores


def build_attention_forecaster(
    config,
    num_nodes,
    mean,
    std,
    adjacency=None,
    return_spatial_attention=False,
    steps_per_day=288,
):
    """The spatio-temporal attention forecaster (after STAEformer / GMAN).

    Each reading is embedded and concatenated with time-of-day, day-of-week
    and a learned per-(step, node) embedding (each left out when its width
    in `config` is 0); `num_layers` temporal-attention
    blocks then `num_layers` spatial-attention blocks follow, and one dense
    head maps each node's sequence (with `config.history_skip`, also its
    normalized readings) to all output steps at once.

    Args:
        config: a `TrafficConfig`.
        num_nodes: number of sensors.
        mean: training mean (normalization).
        std: training standard deviation.
        adjacency: optional `(N, N)` road graph; with
            `config.use_graph_mask`, spatial attention only reaches
            neighbours (and the node itself).
        return_spatial_attention: whether the model also outputs the last
            spatial layer's weights `(B, T, heads, N, N)`. The weights of
            both variants are interchangeable (`set_weights`).
        steps_per_day: the series' steps in a day (288 for 5-minute
            steps): the slots of the time-of-day embedding.

    Returns:
        A `keras.Model` mapping the inputs of `INPUT_NAMES` to forecasts
        `(B, output_steps, N)` in reading units (and optionally the spatial
        attention weights).
    """
    inputs = _inputs(config, num_nodes)
    values, observed = _standardize(config, mean, std, inputs["history"])
    x = keras.layers.Dense(config.input_dim, name="input_embedding")(
        ops.expand_dims(values, -1)
    )
    slots = ops.cast(ops.floor(inputs["time_of_day"] * steps_per_day), "int32")
    # Each time embedding (a width of 0 leaves it, and its input, unused).
    for slot, count, width, name in (
        (
            slots % steps_per_day,
            steps_per_day,
            config.time_of_day_dim,
            "time_of_day_embedding",
        ),
        (
            inputs["day_of_week"] % 7,
            7,
            config.day_of_week_dim,
            "day_of_week_embedding",
        ),
    ):
        if width:
            embedding = keras.layers.Embedding(count, width, name=name)(slot)
            per_node = ops.repeat(ops.expand_dims(embedding, 2), num_nodes, 2)
            x = ops.concatenate([x, per_node], -1)
    if config.adaptive_dim:
        adaptive = AdaptiveEmbedding(
            config.adaptive_dim, name="adaptive_embedding"
        )(x)
        x = ops.concatenate([x, adaptive], -1)
    width = x.shape[-1]
    key_dim = max(width // config.num_heads, 1)
    graph_mask = None
    if config.use_graph_mask and adjacency is not None:
        graph_mask = (np.asarray(adjacency) > 0) | np.eye(num_nodes, dtype=bool)
    for i in range(config.num_layers):
        name = f"temporal_{i}"
        attention = layers.TemporalAttention(
            config.num_heads, key_dim, dropout=config.dropout, name=name
        )
        x, _ = _attention_residual(x, attention, name, config, mask=observed)
        x = _feedforward_residual(x, config, name)
    for i in range(config.num_layers):
        name = f"spatial_{i}"
        attention = layers.SpatialAttention(
            config.num_heads, key_dim, dropout=config.dropout, name=name
        )
        x, scores = _attention_residual(
            x,
            attention,
            name,
            config,
            mask=observed,
            attention_mask=graph_mask,
            return_attention_scores=return_spatial_attention,
        )
        x = _feedforward_residual(x, config, name)
    # (B, T, N, F) -> (B, N, T * F) -> (B, N, output_steps) -> (B, out, N)
    x = ops.reshape(
        ops.transpose(x, (0, 2, 1, 3)),
        (-1, num_nodes, config.input_steps * width),
    )
    if config.history_skip:
        # The head also sees each node's normalized readings: a linear
        # autoregression to start from, which attention corrects.
        x = ops.concatenate([x, ops.transpose(values, (0, 2, 1))], axis=-1)
    x = keras.layers.Dense(config.output_steps, name="head")(x)
    forecast = Unstandardize(mean, std, name="forecast")(
        ops.transpose(x, (0, 2, 1))
    )
    outputs = (forecast, scores) if return_spatial_attention else forecast
    return keras.Model(inputs, outputs, name="attention_forecaster")


def build_gru_forecaster(config, num_nodes, mean, std):
    """The recurrent baseline: one GRU per sensor (shared weights).

    Args:
        config: a `TrafficConfig`.
        num_nodes: number of sensors.
        mean: training mean (normalization).
        std: training standard deviation.

    Returns:
        A `keras.Model` with the same inputs and outputs as the attention
        forecaster, and no attention.
    """
    inputs = _inputs(config, num_nodes)
    values, _ = _standardize(config, mean, std, inputs["history"])
    time_of_day = ops.repeat(
        ops.expand_dims(inputs["time_of_day"], -1), num_nodes, axis=-1
    )
    # (B, T, N) -> (B, N, T, 2) -> (B * N, T, 2)
    x = ops.stack([values, time_of_day], axis=-1)
    x = ops.reshape(ops.transpose(x, (0, 2, 1, 3)), (-1, config.input_steps, 2))
    x = keras.layers.GRU(config.gru_units, name="gru")(x)
    x = keras.layers.Dense(config.output_steps, name="head")(x)
    x = ops.reshape(x, (-1, num_nodes, config.output_steps))
    forecast = Unstandardize(mean, std, name="forecast")(
        ops.transpose(x, (0, 2, 1))
    )
    return keras.Model(inputs, forecast, name="gru_forecaster")


def build_model(
    config, num_nodes, mean, std, adjacency=None, steps_per_day=288
):
    """Builds the model named by `config.model`.

    Args:
        config: a `TrafficConfig`.
        num_nodes: number of sensors.
        mean: training mean.
        std: training standard deviation.
        adjacency: optional road graph (attention model only).
        steps_per_day: the series' steps in a day (attention model only).

    Returns:
        A `keras.Model`.
    """
    if config.model == "attention":
        return build_attention_forecaster(
            config, num_nodes, mean, std, adjacency, steps_per_day=steps_per_day
        )
    if config.model == "gru":
        return build_gru_forecaster(config, num_nodes, mean, std)
    raise ValueError(
        f"Unknown traffic model {config.model!r}; "
        "expected 'attention' or 'gru'."
    )


@keras.saving.register_keras_serializable(package="attention_suite.traffic")
class MaskedError(keras.losses.Loss):
    """A forecast error averaged over the observed targets.

    Missing targets (as `missing` defines them) count neither in the sum
    nor in the count; under a distribution strategy the mean is taken over
    the observed targets of the global batch.

    Args:
        kind: `"mae"` (absolute error), `"mse"` (squared error) or
            `"huber"` (squared below `delta`, absolute above).
        missing: which targets are missing: `"zero-and-nan"` or `"nan"`.
        delta: Huber's threshold, in the readings' units.
        name: the loss's name (default: `masked_<kind>`).
        **kwargs: other `keras.losses.Loss` arguments.
    """

    def __init__(
        self, kind="mae", missing="zero-and-nan", delta=1.0, name=None, **kwargs
    ):
        if kind not in LOSSES:
            raise ValueError(
                f"Unknown loss {kind!r}; expected one of {LOSSES}."
            )
        super().__init__(name=name or f"masked_{kind}", **kwargs)
        self.kind = kind
        self.missing = missing
        self.delta = delta

    def call(self, y_true, y_pred):
        y_true = ops.cast(y_true, "float32")
        y_pred = ops.cast(y_pred, "float32")
        observed = observed_readings(y_true, self.missing)
        error = ops.abs(ops.where(observed, y_true, 0) - y_pred)
        if self.kind == "mse":
            error = ops.square(error)
        elif self.kind == "huber":
            error = ops.where(
                error <= self.delta,
                0.5 * ops.square(error),
                self.delta * (error - 0.5 * self.delta),
            )
        error = ops.where(observed, error, 0)
        return replica_mean(
            ops.sum(error), ops.sum(ops.cast(observed, "float32"))
        )

    def get_config(self):
        return {
            **super().get_config(),
            "kind": self.kind,
            "missing": self.missing,
            "delta": self.delta,
        }
