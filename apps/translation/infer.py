"""Translating raw strings: tokenization, search, detokenization.

The tokenization, the search and the detokenization are those every text app
shares (`attention_suite.apps.common.data.text`,
`attention_suite.apps.common.generation.decoding`,
`attention_suite.apps.common.generation.generators`); this module adds the
alignment of a translation with its source.

Input handling, the same here and in the SavedModel: bytes that are not
valid UTF-8 become U+FFFD, white space and control characters collapse to
one space, characters the tokenizer never saw become the unknown piece, and
a source longer than `config.max_length - 1` pieces is truncated to its
first `config.max_length - 1` pieces. Empty input gives an empty or short
translation, never an error.
"""

from keras import ops

from attention_suite.apps.common.data.tokenizers import BOS_ID
from attention_suite.apps.common.generation.generators import TextGenerator


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


class Translator(TextGenerator):
    """Translates Python strings with a trained model and its tokenizer.

    Args:
        model: a translator from `attention_suite.apps.translation.model`.
        tokenizer: the run's `SentencePieceTokenizer`.
        config: the run's `TranslationConfig`.
    """

    def __init__(self, model, tokenizer, config):
        super().__init__(
            model,
            tokenizer,
            config.max_length,
            config.max_length,
            beam_size=config.beam_size,
            length_penalty=config.length_penalty,
        )
        self.config = config

    def translate(self, texts, beam_size=None, batch_size=64):
        """Translates sentences.

        Args:
            texts: list of strings (or bytes).
            beam_size: 1 for greedy; defaults to the run's `beam_size`.
            batch_size: sentences per search call.

        Returns:
            The list of translations, in the order of `texts`.
        """
        return self.generate(texts, beam_size, batch_size)

    def graph_details(self, source, ids):
        """What the SavedModel's details signature adds: the alignment.

        Args:
            source: int `(B, S)`.
            ids: int `(B, T)` generated for `source`.

        Returns:
            `{"attention": float32 (B, T, S)}`.
        """
        return {"attention": alignment(self.model, source, ids)}

    def details(self, text, beam_size=None):
        """Translates one sentence and returns its source-target alignment.

        Args:
            text: a string.
            beam_size: 1 for greedy; defaults to the run's `beam_size`.

        Returns:
            A dict: `translation`; `source_pieces` and `target_pieces`
            (lists of strings, the end tokens included); `attention`, NumPy
            `(len(target_pieces), len(source_pieces))`.
        """
        source = self.encode([text])
        ids = self.search(source, beam_size)
        weights = ops.convert_to_numpy(alignment(self.model, source, ids))[0]
        length = self.generated_length(ids)
        return {
            "translation": self.decode(ids)[0],
            "source_pieces": self.pieces(source),
            "target_pieces": self.pieces(ids, length),
            "attention": weights[:length],
        }
