"""The encoder-decoder bases the text-generation apps build their models on.

Every model here shares one interface, used by training (`call`), by the
search in `attention_suite.apps.common.generation.decoding` (`encode`,
`start_state`, `step`) and by the apps' attention plots (`decode`):

* `call({"source", "target_in"})`: teacher-forced scores `(B, T, V)`;
* `encode(source)`: a dict of batch-first tensors (the memory);
* `decode(target_in, memory, ...)`: the scores, and on request what the
  model attended to;
* `start_state(memory, max_length)` and `step(tokens, index, state)`: one
  decoding step at a time; every state entry is batch-first so a beam search
  can reorder it.

Token 0 is padding; the source padding mask comes from it. Source ids,
decoder inputs and the output projection share one embedding
(`keras_hub.layers.ReversibleEmbedding`) over one vocabulary.
"""

import math

import keras
import keras_hub
from keras import ops

from attention_suite import layers
from attention_suite.apps.common.data.tokenizers import PAD_ID
from attention_suite.apps.common.generation.embeddings import (
    tied_token_embedding,
)


def padding_mask(tokens):
    """`True` where `tokens` holds a real token (not padding)."""
    return ops.not_equal(tokens, PAD_ID)


class Seq2SeqModel(keras.Model):
    """The tied embedding, its dropouts, `call` and the shared config.

    Args:
        vocabulary_size: size of the shared vocabulary.
        embedding_dim: embedding width.
        dropout: dropout rate on embeddings and on the decoder output.
    """

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


class GRUEncoderDecoder(Seq2SeqModel):
    """Bidirectional GRU encoder, GRU decoder with input feeding.

    At step `t`, with `y` the previous target token and `h~` the previous
    attentional vector:

        s_t = GRU([emb(y); h~_{t-1}], s_{t-1})
        c_t = attention(s_t, encoder outputs, source mask)
        h~_t = tanh(W [s_t; c_t])

    The decoder's first state is a projection of the encoder's last forward
    and backward states. Subclasses choose the attention
    (`make_attention`, `build_attention`) and run the steps (`decode`,
    `step`) with `decoder_state`, `attentional` and `first_state`.

    Args:
        vocabulary_size: size of the shared vocabulary.
        embedding_dim: embedding (and attentional vector) width.
        units: GRU units per direction and of the decoder.
        attention_units: hidden width of the attention's score.
        dropout: dropout rate on embeddings and attentional vectors.
    """

    def __init__(
        self,
        vocabulary_size,
        embedding_dim=256,
        units=256,
        attention_units=256,
        dropout=0.2,
        **kwargs,
    ):
        super().__init__(vocabulary_size, embedding_dim, dropout, **kwargs)
        self.units = units
        self.attention_units = attention_units
        self.encoder = keras.layers.Bidirectional(
            keras.layers.GRU(units, return_sequences=True, return_state=True),
            name="encoder",
        )
        self.bridge = keras.layers.Dense(
            units, activation="tanh", name="bridge"
        )
        self.cell = keras.layers.GRUCell(units, name="decoder_cell")
        self.attention = self.make_attention()
        self.combine = keras.layers.Dense(
            embedding_dim, activation="tanh", use_bias=False, name="combine"
        )

    def make_attention(self):
        """The decoder's attention layer, named `"attention"`."""
        raise NotImplementedError

    def build_attention(self, query_shape, encoded_shape):
        """Builds `self.attention` for the decoder state and the encoder
        outputs."""
        self.attention.build(query_shape, encoded_shape)

    def build(self, input_shape=None):
        self.embedding.build((None, None))
        self.encoder.build((None, None, self.embedding_dim))
        self.bridge.build((None, 2 * self.units))
        self.cell.build((None, 2 * self.embedding_dim))
        self.build_attention((None, self.units), (None, None, 2 * self.units))
        self.combine.build((None, 3 * self.units))
        self.built = True

    def encode(self, source, training=None):
        mask = padding_mask(source)
        x = self.embedding_dropout(self.embedding(source), training=training)
        encoded, forward, backward = self.encoder(
            x, mask=mask, training=training
        )
        return {
            "encoded": encoded,
            "projected_key": self.attention.project_key(encoded),
            "source_mask": mask,
            "initial": self.bridge(
                ops.concatenate([forward, backward], axis=-1)
            ),
        }

    def decoder_state(self, state, feed, embedded):
        """`s_t`: the GRU cell on the token and the previous `h~`."""
        state, _ = self.cell(
            ops.concatenate([embedded, feed], axis=-1), [state]
        )
        return state[0] if isinstance(state, (list, tuple)) else state

    def attentional(self, state, context):
        """`h~_t = tanh(W [s_t; c_t])`."""
        return self.combine(ops.concatenate([state, context], axis=-1))

    def first_state(self, memory):
        """`(s_0, h~_0)`: the bridged encoder state and zeros."""
        initial = memory["initial"]
        feed = ops.zeros(
            (ops.shape(initial)[0], self.embedding_dim), initial.dtype
        )
        return initial, feed

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "attention_units": self.attention_units,
        }


class TransformerEncoderDecoder(Seq2SeqModel):
    """Pre-norm Transformer encoder-decoder (Vaswani et al. 2017).

    Embeddings are scaled by `sqrt(embedding_dim)` and added to sinusoidal
    positions; the decoder caches its self-attention keys/values and the
    projected encoder output while decoding. Subclasses turn the decoder's
    hidden states into scores (`decode`, `step`) with `decode_hidden` and
    `step_hidden`.

    Args:
        vocabulary_size: size of the shared vocabulary.
        embedding_dim: model width.
        num_layers: encoder blocks and decoder blocks (each).
        num_heads: attention heads.
        intermediate_dim: width of the feed-forward networks.
        dropout: dropout rate everywhere.
    """

    def __init__(
        self,
        vocabulary_size,
        embedding_dim=256,
        num_layers=3,
        num_heads=4,
        intermediate_dim=1024,
        dropout=0.1,
        **kwargs,
    ):
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
        mask = padding_mask(source)
        x = self._embed(source, training)
        for block in self.encoder_blocks:
            x = block(x, padding_mask=mask, training=training)
        return {"encoded": self.encoder_norm(x), "source_mask": mask}

    def decode_hidden(
        self, target_in, memory, training=None, return_attention=False
    ):
        """Runs the decoder over whole target prefixes (teacher forcing).

        Args:
            target_in: int `(B, T)` decoder inputs.
            memory: the dict `encode` returned.
            training: whether dropout is active.
            return_attention: whether to also return the last block's
                cross-attention, averaged over heads.

        Returns:
            The normalized hidden states `(B, T, embedding_dim)`, and with
            `return_attention` the weights `(B, T, S)` in the compute dtype.
        """
        x = self._embed(target_in, training)
        attention = None
        for block in self.decoder_blocks:
            x = block(
                x,
                memory["encoded"],
                decoder_padding_mask=padding_mask(target_in),
                encoder_padding_mask=memory["source_mask"],
                return_attention_scores=return_attention,
                training=training,
            )
            if return_attention:
                x, attention = x
        hidden = self.decoder_norm(x)
        if return_attention:
            return hidden, ops.mean(attention, axis=1)
        return hidden

    def start_state(self, memory, max_length):
        encoded = memory["encoded"]
        head_dim = self.embedding_dim // self.num_heads
        batch = ops.shape(encoded)[0]
        cache_shape = (batch, 2, max_length, self.num_heads, head_dim)
        return {
            **memory,
            "self_caches": tuple(
                ops.zeros(cache_shape, encoded.dtype)
                for _ in self.decoder_blocks
            ),
            "cross_caches": tuple(
                block.compute_cross_attention_cache(encoded)
                for block in self.decoder_blocks
            ),
        }

    def step_hidden(self, tokens, index, state, return_attention=False):
        """Runs the decoder for one step with the caches of `state`.

        Args:
            tokens: int `(B,)`, the previous tokens.
            index: the step's position.
            state: the dict `start_state` (or the previous step) returned.
            return_attention: whether to also return the last block's
                cross-attention, averaged over heads.

        Returns:
            `(hidden (B, embedding_dim), state)`, or with `return_attention`
            `(hidden, weights (B, S), state)`.
        """
        x = self._embed(tokens[:, None], start_index=index)
        self_caches = []
        attention = None
        for block, self_cache, cross_cache in zip(
            self.decoder_blocks, state["self_caches"], state["cross_caches"]
        ):
            outputs = block(
                x,
                state["encoded"],
                encoder_padding_mask=state["source_mask"],
                self_attention_cache=self_cache,
                self_attention_cache_update_index=index,
                cross_attention_cache=cross_cache,
                return_attention_scores=return_attention,
            )
            x, self_cache = outputs[0], outputs[-2]
            if return_attention:
                attention = outputs[1]
            self_caches.append(self_cache)
        hidden = self.decoder_norm(x)[:, 0]
        state = {**state, "self_caches": tuple(self_caches)}
        if return_attention:
            return hidden, ops.mean(attention, axis=1)[:, 0], state
        return hidden, state

    def get_config(self):
        return {
            **super().get_config(),
            "num_layers": self.num_layers,
            "num_heads": self.num_heads,
            "intermediate_dim": self.intermediate_dim,
        }
