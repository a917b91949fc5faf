"""Summarizers with a copy mechanism and coverage (See et al. 2017).

Two encoder-decoders, chosen by `SummarizationConfig.model`:
`"pointer_generator"` (GRUs with coverage attention, See et al.'s design) and
`"transformer"` (a Transformer whose last cross-attention is the copy
attention). Both follow the interface of
`attention_suite.apps.common.generation.seq2seq`, with:

* `call({"source", "target_in"})`: teacher-forced log-probabilities
  `(B, T, V)` (they go wherever logits go); the coverage loss of the batch
  is added with `add_loss`;
* `decode(target_in, memory, return_details=False)`: log-probabilities, and
  on request the attention `(B, T, S)`, the generation probability
  `p_gen` `(B, T)` and the coverage loss per step `(B, T)`;
* `step(tokens, index, state)`: log-probabilities `(B, V)` of one step.
"""

import keras
from keras import ops

from attention_suite import layers
from attention_suite.apps.common.generation.seq2seq import (
    GRUEncoderDecoder,
    TransformerEncoderDecoder,
    padding_mask,
)


class _CopyCoverage:
    """What both summarizers add to their encoder-decoder base.

    The subclass sets `coverage_weight` and a `layers.PointerGenerator`
    named `pointer`.
    """

    def call(self, inputs, training=None):
        memory = self.encode(inputs["source"], training=training)
        log_probs, details = self.decode(
            inputs["target_in"], memory, training=training, return_details=True
        )
        if self.coverage_weight:
            mask = ops.cast(padding_mask(inputs["target_in"]), "float32")
            loss = ops.sum(details["coverage_loss"] * mask) / ops.maximum(
                ops.sum(mask), 1.0
            )
            self.add_loss(self.coverage_weight * loss)
        return log_probs

    def _mix(self, hidden, weights, source_ids, features, training=None):
        """`(log_probs, p_gen)` of the vocabulary and copy mixture."""
        return self.pointer(
            self._logits(hidden, training),
            weights,
            source_ids,
            ops.concatenate(features, axis=-1),
            return_generation_probability=True,
        )

    def get_config(self):
        return {**super().get_config(), "coverage_weight": self.coverage_weight}


@keras.saving.register_keras_serializable(package="attention_suite")
class PointerGeneratorSummarizer(_CopyCoverage, GRUEncoderDecoder):
    """Bidirectional GRU encoder; GRU decoder with coverage attention and copy.

    At step `t`, with `y` the previous token, `h~` the previous attentional
    vector and `cov` the sum of the earlier attention weights:

        s_t = GRU([emb(y); h~_{t-1}], s_{t-1})
        c_t, a_t, cov = CoverageAttention(s_t, encoder outputs, cov)
        h~_t = tanh(W [s_t; c_t]),   logits_t = h~_t E^T
        P_t = PointerGenerator(logits_t, a_t, source ids, [c_t; s_t; emb(y)])

    Training adds `coverage_weight * sum_j min(a_tj, cov_tj)`, averaged over
    the target tokens, to the cross-entropy.

    Args:
        vocabulary_size: size of the shared vocabulary.
        embedding_dim: embedding (and attentional vector) width.
        units: GRU units per direction and of the decoder.
        attention_units: hidden width of the coverage attention.
        dropout: dropout rate on embeddings and attentional vectors.
        coverage_weight: weight of the coverage loss (0 turns it off).
    """

    def __init__(
        self,
        vocabulary_size,
        embedding_dim=128,
        units=256,
        attention_units=256,
        dropout=0.1,
        coverage_weight=1.0,
        **kwargs,
    ):
        super().__init__(
            vocabulary_size,
            embedding_dim=embedding_dim,
            units=units,
            attention_units=attention_units,
            dropout=dropout,
            **kwargs,
        )
        self.coverage_weight = coverage_weight
        self.pointer = layers.PointerGenerator(name="pointer")

    def make_attention(self):
        return layers.CoverageAttention(self.attention_units, name="attention")

    def build_attention(self, query_shape, encoded_shape):
        self.attention.build(query_shape, encoded_shape, (None, None))

    def build(self, input_shape=None):
        super().build(input_shape)
        self.pointer.build(
            (None, None, self.vocabulary_size),
            (None, None, None),
            (None, None),
            (None, None, 3 * self.units + self.embedding_dim),
        )

    def encode(self, source, training=None):
        return {
            **super().encode(source, training=training),
            "source_ids": ops.cast(source, "int32"),
        }

    def _step(self, state, feed, coverage, embedded, memory):
        """One decoder step before the output layer.

        Returns:
            `(state, feed, coverage, weights, context, coverage_loss)`.
        """
        state = self.decoder_state(state, feed, embedded)
        context, weights, new_coverage = self.attention(
            state,
            memory["encoded"],
            coverage,
            value_mask=memory["source_mask"],
            projected_key=memory["projected_key"],
        )
        feed = self.attentional(state, context)
        step_loss = layers.coverage_loss(weights, coverage)
        return state, feed, new_coverage, weights, context, step_loss

    def _first_state(self, memory):
        initial, feed = self.first_state(memory)
        coverage = ops.zeros(ops.shape(memory["source_mask"]), "float32")
        return initial, feed, coverage

    def decode(self, target_in, memory, training=None, return_details=False):
        embedded = self.embedding_dropout(
            self.embedding(target_in), training=training
        )
        state, feed, coverage = self._first_state(memory)
        batch, length = (
            ops.shape(memory["source_mask"])[0],
            ops.shape(coverage)[1],
        )
        first = (
            state,
            feed,
            coverage,
            ops.zeros((batch, length), feed.dtype),
            ops.zeros((batch, 2 * self.units), feed.dtype),
            ops.zeros((batch,), "float32"),
        )

        def scan_step(carry, x):
            # Every backend's scan can stack its carry: the per-step outputs
            # are part of it.
            carry = self._step(carry[0], carry[1], carry[2], x, memory)
            return carry, carry

        _, outputs = ops.scan(
            scan_step, first, ops.transpose(embedded, (1, 0, 2))
        )
        states, feeds, _, weights, contexts, losses = (
            ops.moveaxis(x, 0, 1) for x in outputs
        )
        log_probs, p_gen = self._mix(
            feeds,
            weights,
            memory["source_ids"],
            [contexts, states, embedded],
            training,
        )
        if not return_details:
            return log_probs
        return log_probs, {
            "attention": ops.cast(weights, "float32"),
            "p_gen": p_gen,
            "coverage_loss": losses,
        }

    def start_state(self, memory, max_length):
        state, feed, coverage = self._first_state(memory)
        return {**memory, "state": state, "feed": feed, "coverage": coverage}

    def step(self, tokens, index, state):
        embedded = self.embedding(tokens)
        decoder_state, feed, coverage, weights, context, _ = self._step(
            state["state"], state["feed"], state["coverage"], embedded, state
        )
        log_probs, _ = self._mix(
            feed,
            weights,
            state["source_ids"],
            [context, decoder_state, embedded],
        )
        return log_probs, {
            **state,
            "state": decoder_state,
            "feed": feed,
            "coverage": coverage,
        }


@keras.saving.register_keras_serializable(package="attention_suite")
class TransformerPointerGenerator(_CopyCoverage, TransformerEncoderDecoder):
    """Transformer encoder-decoder with copy and coverage loss.

    The copy attention `a_t` is the last decoder block's cross-attention,
    averaged over heads (as in Gehrmann et al. 2018), and `c_t` the context
    it reads from the encoder output:

        h_t = TransformerDecoder(y_<=t, encoder outputs),  logits_t = h_t E^T
        P_t = PointerGenerator(logits_t, a_t, source ids, [c_t; h_t; emb(y)])

    Coverage enters through the loss only (the attention scores do not see
    it): training adds `coverage_weight * sum_j min(a_tj, cov_tj)`, with
    `cov_t` the sum of the earlier steps' copy attention, averaged over the
    target tokens.

    Args:
        vocabulary_size: size of the shared vocabulary.
        embedding_dim: model width.
        num_layers: encoder blocks and decoder blocks (each).
        num_heads: attention heads.
        intermediate_dim: width of the feed-forward networks.
        dropout: dropout rate everywhere.
        coverage_weight: weight of the coverage loss (0 turns it off).
    """

    def __init__(
        self,
        vocabulary_size,
        embedding_dim=128,
        num_layers=2,
        num_heads=4,
        intermediate_dim=512,
        dropout=0.1,
        coverage_weight=1.0,
        **kwargs,
    ):
        super().__init__(
            vocabulary_size,
            embedding_dim=embedding_dim,
            num_layers=num_layers,
            num_heads=num_heads,
            intermediate_dim=intermediate_dim,
            dropout=dropout,
            **kwargs,
        )
        self.coverage_weight = coverage_weight
        self.pointer = layers.PointerGenerator(name="pointer")

    def build(self, input_shape=None):
        super().build(input_shape)
        self.pointer.build(
            (None, None, self.vocabulary_size),
            (None, None, None),
            (None, None),
            (None, None, 3 * self.embedding_dim),
        )

    def encode(self, source, training=None):
        memory = super().encode(source, training=training)
        return {**memory, "source_ids": ops.cast(source, "int32")}

    def _copy_step(self, hidden, weights, tokens, memory, training=None):
        """`(log_probs, p_gen)` from hidden states and their copy attention."""
        if len(weights.shape) == 3:
            context = ops.einsum("bts,bsd->btd", weights, memory["encoded"])
        else:
            context = ops.einsum("bs,bsd->bd", weights, memory["encoded"])
        return self._mix(
            hidden,
            weights,
            memory["source_ids"],
            [context, hidden, self.embedding(tokens)],
            training,
        )

    def decode(self, target_in, memory, training=None, return_details=False):
        hidden, weights = self.decode_hidden(
            target_in, memory, training=training, return_attention=True
        )
        log_probs, p_gen = self._copy_step(
            hidden, weights, target_in, memory, training
        )
        if not return_details:
            return log_probs
        weights = ops.cast(weights, "float32")
        coverage = ops.cumsum(weights, axis=1) - weights
        return log_probs, {
            "attention": weights,
            "p_gen": p_gen,
            "coverage_loss": layers.coverage_loss(weights, coverage),
        }

    def step(self, tokens, index, state):
        hidden, weights, state = self.step_hidden(
            tokens, index, state, return_attention=True
        )
        log_probs, _ = self._copy_step(hidden, weights, tokens, state)
        return log_probs, state


def build_model(config, vocabulary_size):
    """Builds the model a `SummarizationConfig` names.

    Args:
        config: the run's `SummarizationConfig`.
        vocabulary_size: size of the tokenizer's vocabulary.

    Returns:
        A built `PointerGeneratorSummarizer` or `TransformerPointerGenerator`.

    Raises:
        ValueError: an unknown model name.
    """
    shared = dict(
        embedding_dim=config.embedding_dim,
        dropout=config.dropout,
        coverage_weight=config.coverage_weight,
    )
    if config.model == "pointer_generator":
        model = PointerGeneratorSummarizer(
            vocabulary_size,
            units=config.units,
            attention_units=config.attention_units,
            **shared,
        )
    elif config.model == "transformer":
        model = TransformerPointerGenerator(
            vocabulary_size,
            num_layers=config.num_layers,
            num_heads=config.num_heads,
            intermediate_dim=config.intermediate_dim,
            **shared,
        )
    else:
        raise ValueError(
            f"Unknown model {config.model!r}; expected 'pointer_generator' "
            "or 'transformer'."
        )
    model.build()
    return model
