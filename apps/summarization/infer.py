"""Summarizing raw strings: tokenization, beam search, detokenization.

The text handling and the search are those every text app shares
(`attention_suite.apps.common.data.text`,
`attention_suite.apps.common.generation.decoding`,
`attention_suite.apps.common.generation.generators`): beam search with GNMT
length normalization and n-gram blocking (trigrams by default), both set in
the run's config. This module adds what a summary has besides its text: the
attention of each generated piece over the document and the probability that
it was copied rather than generated.

Input handling, the same here and in the SavedModel: bytes that are not
valid UTF-8 become U+FFFD, white space and control characters collapse to
one space, and a document longer than `config.max_source_length - 1`
pieces keeps its first `config.max_source_length - 1` (a 50,000-character
email is summarized from its first few hundred words). An empty or blank
document gets a short, generic summary, never an error.
"""

from keras import ops

from attention_suite.apps.common.data.tokenizers import BOS_ID
from attention_suite.apps.common.generation.generators import TextGenerator


def details(model, source, ids):
    """The attention and copy probability behind generated summaries.

    Args:
        model: a `PointerGeneratorSummarizer`.
        source: int `(B, S)`.
        ids: int `(B, T)` generated for `source`.

    Returns:
        `(attention, copy_probability)`: float32 `(B, T, S)` and `(B, T)`,
        the latter `1 - p_gen`; rows after the end token are meaningless.
    """
    ids = ops.cast(ids, "int32")
    start = ops.full((ops.shape(ids)[0], 1), BOS_ID, dtype="int32")
    target_in = ops.concatenate([start, ids[:, :-1]], axis=1)
    memory = model.encode(source, training=False)
    _, found = model.decode(target_in, memory, return_details=True)
    return found["attention"], 1.0 - ops.cast(found["p_gen"], "float32")


class Summarizer(TextGenerator):
    """Summarizes Python strings with a trained model and its tokenizer.

    Args:
        model: a `PointerGeneratorSummarizer`.
        tokenizer: the run's `SentencePieceTokenizer`.
        config: the run's `SummarizationConfig`.
    """

    def __init__(self, model, tokenizer, config):
        super().__init__(
            model,
            tokenizer,
            config.max_source_length,
            config.max_summary_length,
            beam_size=config.beam_size,
            length_penalty=config.length_penalty,
            no_repeat_ngram_size=config.no_repeat_ngram_size,
        )
        self.config = config

    def summarize(self, texts, beam_size=None, batch_size=32):
        """Summarizes documents.

        Args:
            texts: list of strings (or bytes).
            beam_size: 1 for greedy; defaults to the run's `beam_size`.
            batch_size: documents per search call.

        Returns:
            The list of summaries, in the order of `texts`.
        """
        return self.generate(texts, beam_size, batch_size)

    def graph_details(self, source, ids):
        """What the SavedModel's details signature adds: the attention and
        the copy probability of each generated piece.

        Args:
            source: int `(B, S)`.
            ids: int `(B, T)` generated for `source`.

        Returns:
            `{"attention": float32 (B, T, S), "copy_probability": float32
            (B, T)}`.
        """
        attention, copy = details(self.model, source, ids)
        return {"attention": attention, "copy_probability": copy}

    def details(self, text, beam_size=None):
        """Summarizes one document and explains each generated piece.

        Args:
            text: a string (or bytes).
            beam_size: 1 for greedy; defaults to the run's `beam_size`.

        Returns:
            A dict: `summary`; `source_pieces` and `summary_pieces` (lists of
            strings, the end tokens included); `attention`, NumPy
            `(len(summary_pieces), len(source_pieces))`; and
            `copy_probability`, NumPy `(len(summary_pieces),)`.
        """
        source = self.encode([text])
        ids = self.search(source, beam_size)
        attention, copy = details(self.model, source, ids)
        length = self.generated_length(ids)
        return {
            "summary": self.decode(ids)[0],
            "source_pieces": self.pieces(source),
            "summary_pieces": self.pieces(ids, length),
            "attention": ops.convert_to_numpy(attention)[0, :length],
            "copy_probability": ops.convert_to_numpy(copy)[0, :length],
        }
