"""Generating text from Python strings with a sequence-to-sequence model.

Text goes through TensorFlow string ops
(`attention_suite.apps.common.data.text`) on every backend; the search
(`attention_suite.apps.common.generation.decoding`) runs on the model's
backend. Under the TensorFlow backend the parts compose into one graph, which
is what the apps export.
"""

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from attention_suite.apps.common.data import text
from attention_suite.apps.common.data.tokenizers import BOS_ID, EOS_ID, PAD_ID
from attention_suite.apps.common.generation import decoding
from attention_suite.apps.common.training.progress import progress_bar


class TextGenerator:
    """Turns a batch of raw strings into generated strings.

    Args:
        model: a model with the interface
        `attention_suite.apps.common.generation.decoding.generate`
            searches (`encode`, `start_state`, `step`).
        tokenizer: the run's `SentencePieceTokenizer`.
        max_source_length: the most source ids, end token included.
        max_length: the most ids to generate, end token included.
        beam_size: the default beam width (1: greedy search).
        length_penalty: length normalization exponent of the beam search.
        no_repeat_ngram_size: forbid repeating n-grams of this size (0:
            no blocking).
    """

    def __init__(
        self,
        model,
        tokenizer,
        max_source_length,
        max_length,
        beam_size=1,
        length_penalty=0.6,
        no_repeat_ngram_size=0,
    ):
        self.model = model
        self.tokenizer = tokenizer
        self.max_source_length = max_source_length
        self.max_length = max_length
        self.beam_size = beam_size
        self.length_penalty = length_penalty
        self.no_repeat_ngram_size = no_repeat_ngram_size
        self._tokenize = tf.function(
            lambda texts: text.source_ids(tokenizer, texts, max_source_length)
        )
        self._detokenize = tf.function(
            lambda ids: text.ids_to_text(tokenizer, ids)
        )
        self._pieces = tf.function(
            lambda ids: text.ids_to_pieces(tokenizer, ids)
        )
        self._searches = {}

    def search_graph(self, source, beam_size):
        """The search on source ids, as symbolic ops (for an export).

        A source with no piece (an empty or blank text: its end token
        alone) generates nothing, all padding, rather than what the model
        would invent from the end token.

        Args:
            source: int `(B, S)`.
            beam_size: 1 for greedy search, more for beam search.

        Returns:
            int32 `(B, max_length)`.
        """
        ids = decoding.generate(
            self.model,
            source,
            self.max_length,
            BOS_ID,
            EOS_ID,
            PAD_ID,
            beam_size=beam_size,
            length_penalty=self.length_penalty,
            no_repeat_ngram_size=self.no_repeat_ngram_size,
        )
        blank = ops.expand_dims(ops.equal(source[:, 0], EOS_ID), 1)
        return ops.where(blank, ops.full_like(ids, PAD_ID), ids)

    def generate_graph(self, texts):
        """Raw strings to source ids and generated ids, as symbolic ops.

        What an exported signature runs: tokenization and the search with
        the default beam width (TensorFlow backend).

        Args:
            texts: string tensor `(B,)`.

        Returns:
            `(source, ids)`: int32 `(B, S)` and `(B, max_length)`.
        """
        source = text.source_ids(self.tokenizer, texts, self.max_source_length)
        return source, self.search_graph(source, self.beam_size)

    def search(self, source, beam_size=None):
        """Generated ids for source ids.

        Args:
            source: int32 NumPy `(B, S)`.
            beam_size: defaults to `self.beam_size`.

        Returns:
            int32 NumPy `(B, max_length)`.
        """
        beam_size = beam_size or self.beam_size
        if beam_size not in self._searches:

            def run(source):
                return self.search_graph(source, beam_size)

            if keras.backend.backend() == "tensorflow":
                # One graph for every batch shape, as in the SavedModel.
                run = tf.function(
                    run, input_signature=[tf.TensorSpec([None, None], tf.int32)]
                )
            self._searches[beam_size] = run
        return ops.convert_to_numpy(self._searches[beam_size](source))

    def encode(self, texts):
        """Source ids of raw strings, as the encoder takes them.

        Args:
            texts: list of strings (or bytes).

        Returns:
            int32 NumPy `(B, S)`, padded with 0.
        """
        return self._tokenize(tf.constant(list(texts))).numpy()

    def decode(self, ids):
        """Detokenizes generated ids.

        Args:
            ids: int `(B, T)`.

        Returns:
            The list of strings.
        """
        return [t.decode("utf-8") for t in self._detokenize(ids).numpy()]

    def pieces(self, ids, length=None):
        """The pieces of one row of ids, for labelling plots.

        Args:
            ids: int `(1, T)`.
            length: keep the first `length` pieces (default: all).

        Returns:
            A list of strings (`"</s>"` for the end token).
        """
        return [
            p.decode("utf-8") for p in self._pieces(ids).numpy()[0, :length]
        ]

    def generated_length(self, ids):
        """How many pieces of one generated row to show: up to the end token.

        Args:
            ids: int `(1, T)` from a search.

        Returns:
            The count, the end token included when it was generated.
        """
        return min(int(text.until_end(ids).row_lengths()[0]) + 1, ids.shape[1])

    def generate(self, texts, beam_size=None, batch_size=64):
        """Generates one output per input text.

        A progress bar on stderr
        (`attention_suite.apps.common.training.progress`) counts the texts
        done.

        Args:
            texts: list of strings (or bytes).
            beam_size: 1 for greedy; defaults to `self.beam_size`.
            batch_size: texts per search call; texts of similar length are
                batched together.

        Returns:
            The list of generated strings, in the order of `texts`.
        """
        if not len(texts):
            return []
        source = self.encode(texts)
        lengths = (source != PAD_ID).sum(axis=1)
        order = np.argsort(lengths, kind="stable")
        results = [None] * len(texts)
        beam_size = beam_size or self.beam_size
        search = "greedy" if beam_size == 1 else f"beam-{beam_size}"
        with progress_bar(len(texts), f"{search} search", "text") as bar:
            for start in range(0, len(order), batch_size):
                rows = order[start : start + batch_size]
                # Every source holds at least its end token.
                ids = self.search(
                    source[rows, : lengths[rows].max()], beam_size
                )
                for row, generated in zip(rows, self.decode(ids)):
                    results[row] = generated
                bar.update(len(rows))
        return results
