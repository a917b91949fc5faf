"""Translating raw strings: tokenization, search, detokenization.

Text goes through TensorFlow string ops (TF-text's SentencePiece) on every
backend; the search (`apps.common.decoding`) runs on the model's backend.
Under the TensorFlow backend the three parts compose into one graph, which
is what `apps.translation.export` saves.

Input handling, the same here and in the SavedModel: bytes that are not
valid UTF-8 become U+FFFD, characters the tokenizer never saw become the
unknown piece, and a source longer than `config.max_length - 1` pieces is
truncated to its first `config.max_length - 1` pieces. Empty input gives an
empty or short translation, never an error.
"""

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from apps.common import decoding
from apps.translation.data import BOS_ID, EOS_ID, PAD_ID, encode_source


def source_ids(tokenizer, texts, max_length):
    """Tokenizes raw strings for the encoder (TensorFlow ops).

    Args:
        tokenizer: the run's tokenizer.
        texts: string tensor `(B,)`; any bytes.
        max_length: the most ids per source, end token included.

    Returns:
        int32 `(B, S)`, padded with 0.
    """
    texts = tf.strings.unicode_transcode(
        texts, "UTF-8", "UTF-8", errors="replace", replace_control_characters=True
    )
    return encode_source(tokenizer, texts, max_length)


def _until_end(ids):
    ids = tf.convert_to_tensor(ids, tf.int32)
    before_end = tf.cumsum(tf.cast(tf.equal(ids, EOS_ID), tf.int32), axis=1) == 0
    return tf.ragged.boolean_mask(ids, before_end & tf.not_equal(ids, PAD_ID))


def ids_to_text(tokenizer, ids):
    """Detokenizes generated ids, up to the end token (TensorFlow ops).

    Args:
        tokenizer: the run's tokenizer.
        ids: int `(B, T)` from a search.

    Returns:
        string tensor `(B,)`.
    """
    return tokenizer.detokenize(_until_end(ids))


def ids_to_pieces(tokenizer, ids):
    """The text of each id, for labelling alignment plots (TensorFlow ops).

    Args:
        tokenizer: the run's tokenizer.
        ids: int `(B, T)`.

    Returns:
        string tensor `(B, T)`; the end token gives `"</s>"`, padding `""`.
    """
    ids = tf.convert_to_tensor(ids, tf.int32)
    pieces = tokenizer.detokenize(tf.reshape(ids, [-1, 1]))
    flat = tf.reshape(ids, [-1])
    pieces = tf.where(flat == EOS_ID, "</s>", tf.where(flat == PAD_ID, "", pieces))
    return tf.reshape(pieces, tf.shape(ids))


def search(model, source, max_length, beam_size=1, length_penalty=0.6):
    """Generates target ids for a batch of source ids.

    Args:
        model: a translator from `apps.translation.model`.
        source: int `(B, S)`.
        max_length: the most ids to generate, end token included.
        beam_size: 1 for greedy search, more for beam search.
        length_penalty: length normalization exponent of the beam search.

    Returns:
        int32 `(B, max_length)`: ids, then the end token, then padding.
    """
    memory = model.encode(source, training=False)
    state = model.start_state(memory, max_length)
    batch = ops.shape(source)[0]
    if beam_size == 1:
        return decoding.greedy_search(
            model.step, state, batch, max_length, BOS_ID, EOS_ID, PAD_ID
        )
    ids, _ = decoding.beam_search(
        model.step, state, batch, max_length, BOS_ID, EOS_ID, PAD_ID,
        beam_size=beam_size, length_penalty=length_penalty,
    )
    return ids


def alignment(model, source, ids):
    """Attention of each generated id over the source ids.

    Args:
        model: a translator.
        source: int `(B, S)`.
        ids: int `(B, T)` generated for `source`.

    Returns:
        float32 `(B, T, S)`; rows after the end token are meaningless.
    """
    ids = ops.cast(ids, "int32")
    start = ops.full((ops.shape(ids)[0], 1), BOS_ID, dtype="int32")
    target_in = ops.concatenate([start, ids[:, :-1]], axis=1)
    memory = model.encode(source, training=False)
    _, weights = model.decode(target_in, memory, return_attention=True)
    return weights


class Translator:
    """Translates Python strings with a trained model and its tokenizer.

    Args:
        model: a translator from `apps.translation.model`.
        tokenizer: the run's `SentencePieceTokenizer`.
        config: the run's `TranslationConfig`.
    """

    def __init__(self, model, tokenizer, config):
        self.model = model
        self.tokenizer = tokenizer
        self.config = config
        self._tokenize = tf.function(
            lambda texts: source_ids(tokenizer, texts, config.max_length)
        )
        self._detokenize = tf.function(lambda ids: ids_to_text(tokenizer, ids))
        self._pieces = tf.function(lambda ids: ids_to_pieces(tokenizer, ids))
        self._searches = {}

    def _search(self, source, beam_size):
        if beam_size not in self._searches:

            def run(source):
                return search(
                    self.model, source, self.config.max_length, beam_size,
                    self.config.length_penalty,
                )

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

    def translate(self, texts, beam_size=None, batch_size=64):
        """Translates sentences.

        Args:
            texts: list of strings (or bytes).
            beam_size: 1 for greedy; defaults to the run's `beam_size`.
            batch_size: sentences per search call; sentences of similar
                length are batched together.

        Returns:
            The list of translations, in the order of `texts`.
        """
        beam_size = beam_size or self.config.beam_size
        if not len(texts):
            return []
        source = self.encode(texts)
        lengths = (source != PAD_ID).sum(axis=1)
        order = np.argsort(lengths, kind="stable")
        results = [None] * len(texts)
        for start in range(0, len(order), batch_size):
            rows = order[start:start + batch_size]
            # Every source holds at least its end token.
            ids = self._search(source[rows, : lengths[rows].max()], beam_size)
            for row, text in zip(rows, self._detokenize(ids).numpy()):
                results[row] = text.decode("utf-8")
        return results

    def translate_with_alignment(self, text, beam_size=None):
        """Translates one sentence and returns its source-target alignment.

        Args:
            text: a string.
            beam_size: 1 for greedy; defaults to the run's `beam_size`.

        Returns:
            `(translation, source_pieces, target_pieces, weights)`: the
            weights are `(len(target_pieces), len(source_pieces))`, the
            pieces include the end tokens.
        """
        beam_size = beam_size or self.config.beam_size
        source = self.encode([text])
        ids = self._search(source, beam_size)
        weights = ops.convert_to_numpy(alignment(self.model, source, ids))[0]
        translation = self._detokenize(ids).numpy()[0].decode("utf-8")
        # The generated pieces and the end token (absent if cut off).
        target_length = min(
            int(_until_end(ids).row_lengths()[0]) + 1, ids.shape[1]
        )
        source_pieces = [p.decode("utf-8") for p in self._pieces(source).numpy()[0]]
        target_pieces = [
            p.decode("utf-8") for p in self._pieces(ids).numpy()[0, :target_length]
        ]
        return translation, source_pieces, target_pieces, weights[:target_length]
