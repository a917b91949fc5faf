"""Encoder-decoder translation models built from `layers/` and KerasHub.

Both follow the interface of
`attention_suite.apps.common.generation.seq2seq`: `call` gives teacher-forced
logits `(B, T, V)`, `decode(..., return_attention=True)` also
gives the attention over the source `(B, T, S)` for the alignment plots, and
`step` gives the logits `(B, V)` of one decoding step.
"""

import keras
from keras import ops

from attention_suite import layers
from attention_suite.apps.common.generation.seq2seq import (
    GRUEncoderDecoder,
    TransformerEncoderDecoder,
)

_PACKAGE = "attention_suite"


@keras.saving.register_keras_serializable(package=_PACKAGE)
class TransformerTranslator(TransformerEncoderDecoder):
    """Pre-norm Transformer encoder-decoder (Vaswani et al. 2017).

    The attention returned for plots is the last decoder block's
    cross-attention, averaged over heads.

    Args:
        vocabulary_size: size of the joint vocabulary.
        embedding_dim: model width.
        num_layers: encoder blocks and decoder blocks (each).
        num_heads: attention heads.
        intermediate_dim: width of the feed-forward networks.
        dropout: dropout rate everywhere.
    """

    def decode(self, target_in, memory, training=None, return_attention=False):
        hidden = self.decode_hidden(
            target_in,
            memory,
            training=training,
            return_attention=return_attention,
        )
        if return_attention:
            hidden, attention = hidden
            return self._logits(hidden, training), ops.cast(
                attention, "float32"
            )
        return self._logits(hidden, training)

    def step(self, tokens, index, state):
        hidden, state = self.step_hidden(tokens, index, state)
        return self._logits(hidden), state


@keras.saving.register_keras_serializable(package=_PACKAGE)
class GRUAttentionTranslator(GRUEncoderDecoder):
    """Bidirectional GRU encoder, GRU decoder with additive attention.

    Bahdanau et al. (2015) attention scores inside a Luong et al. (2015)
    decoder with input feeding (`GRUEncoderDecoder`). At step `t`:

        c_t, a_t = Attention(additive)(s_t, encoder outputs, source mask)
        logits_t = h~_t E^T

    The decoder runs as a `keras.ops.scan` over time in training and one
    step at a time when decoding.

    Args:
        vocabulary_size: size of the joint vocabulary.
        embedding_dim: embedding (and attentional vector) width.
        units: GRU units per direction and of the decoder.
        attention_units: hidden width of the additive score.
        dropout: dropout rate on embeddings and attentional vectors.
    """

    def make_attention(self):
        return layers.Attention(
            score="additive",
            score_kwargs={"units": self.attention_units},
            name="attention",
        )

    def _step(self, carry, embedded, memory):
        """One decoder step; `carry` is `(state, feed, weights)`."""
        state, feed, _ = carry
        state = self.decoder_state(state, feed, embedded)
        context, weights = self.attention(
            state,
            memory["encoded"],
            value_mask=memory["source_mask"],
            projected_key=memory["projected_key"],
            return_attention_scores=True,
        )
        feed = self.attentional(state, context)
        return state, feed, ops.cast(weights, feed.dtype)

    def _first_carry(self, memory):
        initial, feed = self.first_state(memory)
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
            return logits, ops.cast(
                ops.transpose(weights, (1, 0, 2)), "float32"
            )
        return logits

    def start_state(self, memory, max_length):
        state, feed = self.first_state(memory)
        return {**memory, "state": state, "feed": feed}

    def step(self, tokens, index, state):
        carry = (state["state"], state["feed"], None)
        decoder_state, feed, _ = self._step(
            carry, self.embedding(tokens), state
        )
        logits = self._logits(feed)
        return logits, {**state, "state": decoder_state, "feed": feed}


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
