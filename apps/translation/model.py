"""Encoder-decoder translation models built from `layers/` and KerasHub.

Both models share one interface, used by training (`call`), by the search in
`apps.common.decoding` (`encode`, `start_state`, `step`) and by the alignment
plots (`decode(..., return_attention=True)`):

* `call({"source", "target_in"})`: teacher-forced logits `(B, T, V)`;
* `encode(source)`: a dict of batch-first tensors (the memory);
* `decode(target_in, memory, return_attention=False)`: logits, and the
  attention over the source `(B, T, S)`;
* `start_state(memory, max_length)` and `step(tokens, index, state)`: one
  decoding step at a time, `(logits (B, V), state)`; every state entry is
  batch-first so a beam search can reorder it.

Token 0 is padding in both; the source padding mask comes from it. Input
embeddings, decoder input embeddings and the output projection share one
matrix (`keras_hub.layers.ReversibleEmbedding`) over the joint vocabulary.
"""

import math

import keras
import keras_hub
from keras import ops

import layers
from apps.common.embeddings import tied_token_embedding
from apps.translation.data import PAD_ID

_PACKAGE = "attention_suite"


class _Translator(keras.Model):
    """What both models share: the embedding, `call` and the config."""

    def __init__(self, vocabulary_size, embedding_dim, dropout, **kwargs):
        super().__init__(**kwargs)
        self.vocabulary_size = vocabulary_size
        self.embedding_dim = embedding_dim
        self.dropout = dropout
        self.embedding = tied_token_embedding(vocabulary_size, embedding_dim)
        self.embedding_dropout = keras.layers.Dropout(dropout)
        self.output_dropout = keras.layers.Dropout(dropout)

    def call(self, inputs, training=None):
        memory = self.encode(inputs["source"], training=training)
        return self.decode(inputs["target_in"], memory, training=training)

    def _logits(self, hidden, training=None):
        hidden = self.output_dropout(hidden, training=training)
        return ops.cast(self.embedding(hidden, reverse=True), "float32")

    def get_config(self):
        return {
            **super().get_config(),
            "vocabulary_size": self.vocabulary_size,
            "embedding_dim": self.embedding_dim,
            "dropout": self.dropout,
        }


def _source_mask(source):
    return ops.not_equal(source, PAD_ID)


@keras.saving.register_keras_serializable(package=_PACKAGE)
class TransformerTranslator(_Translator):
    """Pre-norm Transformer encoder-decoder (Vaswani et al. 2017).

    Embeddings are scaled by `sqrt(embedding_dim)` and added to sinusoidal
    positions; the decoder caches its self-attention keys/values and the
    projected encoder output while decoding.

    Args:
        vocabulary_size: size of the joint vocabulary.
        embedding_dim: model width.
        num_layers: encoder blocks and decoder blocks (each).
        num_heads: attention heads.
        intermediate_dim: width of the feed-forward networks.
        dropout: dropout rate everywhere.
    """

    def __init__(self, vocabulary_size, embedding_dim=256, num_layers=3,
                 num_heads=4, intermediate_dim=1024, dropout=0.1, **kwargs):
        super().__init__(vocabulary_size, embedding_dim, dropout, **kwargs)
        self.num_layers = num_layers
        self.num_heads = num_heads
        self.intermediate_dim = intermediate_dim
        self.positions = keras_hub.layers.SinePositionEncoding(name="positions")
        block_args = dict(
            intermediate_dim=intermediate_dim,
            num_heads=num_heads,
            dropout=dropout,
            normalize_first=True,
        )
        self.encoder_blocks = [
            layers.TransformerEncoderBlock(**block_args, name=f"encoder_{i}")
            for i in range(num_layers)
        ]
        self.decoder_blocks = [
            layers.TransformerDecoderBlock(**block_args, name=f"decoder_{i}")
            for i in range(num_layers)
        ]
        self.encoder_norm = keras.layers.LayerNormalization(name="encoder_norm")
        self.decoder_norm = keras.layers.LayerNormalization(name="decoder_norm")

    def build(self, input_shape=None):
        sequence = (None, None, self.embedding_dim)
        self.embedding.build((None, None))
        for block in self.encoder_blocks:
            block.build(sequence)
        for block in self.decoder_blocks:
            block.build(sequence, sequence)
        self.encoder_norm.build(sequence)
        self.decoder_norm.build(sequence)
        self.built = True

    def _embed(self, tokens, training=None, start_index=0):
        x = self.embedding(tokens) * ops.cast(
            math.sqrt(self.embedding_dim), self.compute_dtype
        )
        x = x + self.positions(x, start_index=start_index)
        return self.embedding_dropout(x, training=training)

    def encode(self, source, training=None):
        mask = _source_mask(source)
        x = self._embed(source, training)
        for block in self.encoder_blocks:
            x = block(x, padding_mask=mask, training=training)
        return {"encoded": self.encoder_norm(x), "source_mask": mask}

    def decode(self, target_in, memory, training=None, return_attention=False):
        x = self._embed(target_in, training)
        target_mask = _source_mask(target_in)
        attention = None
        for block in self.decoder_blocks:
            x = block(
                x,
                memory["encoded"],
                decoder_padding_mask=target_mask,
                encoder_padding_mask=memory["source_mask"],
                return_attention_scores=return_attention,
                training=training,
            )
            if return_attention:
                x, attention = x
        logits = self._logits(self.decoder_norm(x), training)
        if return_attention:
            # The last block's cross-attention, averaged over heads.
            return logits, ops.mean(ops.cast(attention, "float32"), axis=1)
        return logits

    def start_state(self, memory, max_length):
        encoded = memory["encoded"]
        head_dim = self.embedding_dim // self.num_heads
        batch = ops.shape(encoded)[0]
        cache_shape = (batch, 2, max_length, self.num_heads, head_dim)
        return {
            "encoded": encoded,
            "source_mask": memory["source_mask"],
            "self_caches": tuple(
                ops.zeros(cache_shape, encoded.dtype) for _ in self.decoder_blocks
            ),
            "cross_caches": tuple(
                block.compute_cross_attention_cache(encoded)
                for block in self.decoder_blocks
            ),
        }

    def step(self, tokens, index, state):
        x = self._embed(tokens[:, None], start_index=index)
        self_caches = []
        for block, self_cache, cross_cache in zip(
            self.decoder_blocks, state["self_caches"], state["cross_caches"]
        ):
            x, self_cache, _ = block(
                x,
                state["encoded"],
                encoder_padding_mask=state["source_mask"],
                self_attention_cache=self_cache,
                self_attention_cache_update_index=index,
                cross_attention_cache=cross_cache,
            )
            self_caches.append(self_cache)
        logits = self._logits(self.decoder_norm(x))[:, 0]
        return logits, {**state, "self_caches": tuple(self_caches)}

    def get_config(self):
        return {
            **super().get_config(),
            "num_layers": self.num_layers,
            "num_heads": self.num_heads,
            "intermediate_dim": self.intermediate_dim,
        }


@keras.saving.register_keras_serializable(package=_PACKAGE)
class GRUAttentionTranslator(_Translator):
    """Bidirectional GRU encoder, GRU decoder with additive attention.

    Bahdanau et al. (2015) attention scores inside a Luong et al. (2015)
    decoder with input feeding. At step `t`, with `y` the previous target
    token and `h~` the previous attentional vector:

        s_t = GRU([emb(y); h~_{t-1}], s_{t-1})
        c_t, a_t = Attention(additive)(s_t, encoder outputs, source mask)
        h~_t = tanh(W [s_t; c_t]),   logits_t = h~_t E^T

    The decoder runs as a `keras.ops.scan` over time in training and one
    step at a time when decoding; its first state is a projection of the
    encoder's last forward and backward states.

    Args:
        vocabulary_size: size of the joint vocabulary.
        embedding_dim: embedding (and attentional vector) width.
        units: GRU units per direction and of the decoder.
        attention_units: hidden width of the additive score.
        dropout: dropout rate on embeddings and attentional vectors.
    """

    def __init__(self, vocabulary_size, embedding_dim=256, units=256,
                 attention_units=256, dropout=0.2, **kwargs):
        super().__init__(vocabulary_size, embedding_dim, dropout, **kwargs)
        self.units = units
        self.attention_units = attention_units
        self.encoder = keras.layers.Bidirectional(
            keras.layers.GRU(units, return_sequences=True, return_state=True),
            name="encoder",
        )
        self.bridge = keras.layers.Dense(units, activation="tanh", name="bridge")
        self.cell = keras.layers.GRUCell(units, name="decoder_cell")
        self.attention = layers.Attention(
            score="additive", score_kwargs={"units": attention_units},
            name="attention",
        )
        self.combine = keras.layers.Dense(
            embedding_dim, activation="tanh", use_bias=False, name="combine"
        )

    def build(self, input_shape=None):
        self.embedding.build((None, None))
        self.encoder.build((None, None, self.embedding_dim))
        self.bridge.build((None, 2 * self.units))
        self.cell.build((None, 2 * self.embedding_dim))
        self.attention.build((None, self.units), (None, None, 2 * self.units))
        self.combine.build((None, 3 * self.units))
        self.built = True

    def encode(self, source, training=None):
        mask = _source_mask(source)
        x = self.embedding_dropout(self.embedding(source), training=training)
        encoded, forward, backward = self.encoder(
            x, mask=mask, training=training
        )
        initial = self.bridge(ops.concatenate([forward, backward], axis=-1))
        return {
            "encoded": encoded,
            "projected_key": self.attention.project_key(encoded),
            "source_mask": mask,
            "initial": initial,
        }

    def _step(self, carry, embedded, memory):
        """One decoder step; `carry` is `(state, feed, weights)`."""
        state, feed, _ = carry
        state, _ = self.cell(ops.concatenate([embedded, feed], axis=-1), [state])
        state = state[0] if isinstance(state, (list, tuple)) else state
        context, weights = self.attention(
            state,
            memory["encoded"],
            value_mask=memory["source_mask"],
            projected_key=memory["projected_key"],
            return_attention_scores=True,
        )
        feed = self.combine(ops.concatenate([state, context], axis=-1))
        return state, feed, ops.cast(weights, feed.dtype)

    def _first_carry(self, memory):
        initial = memory["initial"]
        batch = ops.shape(initial)[0]
        feed = ops.zeros((batch, self.embedding_dim), initial.dtype)
        weights = ops.zeros(ops.shape(memory["source_mask"]), initial.dtype)
        return initial, feed, weights

    def decode(self, target_in, memory, training=None, return_attention=False):
        x = self.embedding_dropout(self.embedding(target_in), training=training)

        def scan_step(carry, embedded):
            # Every backend's scan can stack its carry: the per-step outputs
            # (attentional vectors and weights) are part of it.
            carry = self._step(carry, embedded, memory)
            return carry, carry

        _, (_, feeds, weights) = ops.scan(
            scan_step, self._first_carry(memory), ops.transpose(x, (1, 0, 2))
        )
        logits = self._logits(ops.transpose(feeds, (1, 0, 2)), training)
        if return_attention:
            return logits, ops.cast(ops.transpose(weights, (1, 0, 2)), "float32")
        return logits

    def start_state(self, memory, max_length):
        state, feed, _ = self._first_carry(memory)
        return {**memory, "state": state, "feed": feed}

    def step(self, tokens, index, state):
        carry = (state["state"], state["feed"], None)
        decoder_state, feed, _ = self._step(carry, self.embedding(tokens), state)
        logits = self._logits(feed)
        return logits, {**state, "state": decoder_state, "feed": feed}

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "attention_units": self.attention_units,
        }


def build_model(config, vocabulary_size):
    """Builds the model a `TranslationConfig` names.

    Args:
        config: the run's `TranslationConfig`.
        vocabulary_size: size of the tokenizer's vocabulary.

    Returns:
        A built `TransformerTranslator` or `GRUAttentionTranslator`.

    Raises:
        ValueError: an unknown model name.
    """
    if config.model == "transformer":
        model = TransformerTranslator(
            vocabulary_size,
            embedding_dim=config.embedding_dim,
            num_layers=config.num_layers,
            num_heads=config.num_heads,
            intermediate_dim=config.intermediate_dim,
            dropout=config.dropout,
        )
    elif config.model == "gru_attention":
        model = GRUAttentionTranslator(
            vocabulary_size,
            embedding_dim=config.embedding_dim,
            units=config.units,
            attention_units=config.units,
            dropout=config.dropout,
        )
    else:
        raise ValueError(
            f"Unknown model {config.model!r}: expected 'transformer' or "
            "'gru_attention'."
        )
    model.build()
    return model
