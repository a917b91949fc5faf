"""From (context, question) strings to model inputs and back, in TensorFlow ops.

The same functions prepare the training data (`tf.data`), serve `attn qa
predict` (eagerly) and run inside the SavedModel (traced), so the three
agree token for token.

* Text: bytes that are not valid UTF-8 become U+FFFD; nothing else is
  changed, so offsets into the repaired context are offsets into what the
  user sent (character offsets, as Python counts them, are what the app
  returns).
* Tokens: lowercased WordPiece (`tensorflow_text.FastBertTokenizer`, which
  gives each piece's byte offsets in the original string). A context keeps
  its first `max_context_tokens` pieces, a question its first
  `max_question_length`.
* Windows: a context of `n` pieces is read in `1 + ceil((n - window) /
  stride)` windows of `window` pieces, each starting `stride` pieces after
  the previous one; every window carries the whole question.
* Layouts: `"pair"` (BiDAF) gives `context_ids (N, window)` and
  `question_ids (N, max_question_length)`; `"packed"` (BERT encoders) gives
  `token_ids`, `segment_ids` and `padding_mask` of `[CLS] question [SEP]
  window [SEP]`, padded to `max_question_length + window + 3`.

Every layout also gives, per position, the byte offsets `token_starts` /
`token_ends` of the context piece there (-1 where there is none: question,
special tokens, padding), `continues` (the piece there continues a word),
and `example`, the index of the input each window belongs to.
"""

import keras_hub
import numpy as np
import tensorflow as tf
import tensorflow_text as tf_text

from attention_suite.apps.qa.config import COMPARE_WINDOWS

PAD, UNK, CLS, SEP, MASK = "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"
RESERVED_TOKENS = [PAD, UNK, CLS, SEP, MASK]
# The model inputs of each layout.
INPUTS = {
    "pair": ("context_ids", "question_ids"),
    "packed": ("token_ids", "segment_ids", "padding_mask"),
}
# Batches of windows are cut to a multiple of this many positions.
LENGTH_STEP = 32
# The score of what is not a span (and the logits of cut positions).
VERY_LOW = -1e9
# Window scores this close (relative) to the best count as ties.
_TIE = 1e-4
# The inputs whose positions the logits cover, padded at the end: a batch
# may be cut to its longest row (`trim`).
SEQUENCE_INPUTS = {
    "pair": ("context_ids",),
    "packed": ("token_ids", "segment_ids", "padding_mask"),
}
# The layouts whose batches are cut: a BERT encoder's outputs ignore
# padding exactly, while BiDAF's query-to-context attention for a question
# that is all padding spreads over every context position, padding
# included, so cutting its padding would change such an answer.
CUT_LAYOUTS = ("packed",)


def repair_utf8(texts):
    """Replaces invalid UTF-8 in a string tensor with U+FFFD."""
    return tf.strings.unicode_transcode(
        texts, "UTF-8", "UTF-8", errors="replace", replacement_char=0xFFFD
    )


class QATokenizer:
    """Lowercasing WordPiece with byte offsets.

    Args:
        vocabulary: list of pieces (continuations start with `##`); must hold
            `[PAD]`, `[UNK]`, `[CLS]` and `[SEP]`.

    Raises:
        ValueError: a special token is missing from the vocabulary.
    """

    def __init__(self, vocabulary):
        self.vocabulary = list(vocabulary)
        missing = [t for t in (PAD, UNK, CLS, SEP) if t not in self.vocabulary]
        if missing:
            raise ValueError(
                f"The vocabulary lacks the special tokens {missing}."
            )
        index = {token: i for i, token in enumerate(self.vocabulary)}
        self.pad_id, self.cls_id, self.sep_id = (
            index[PAD],
            index[CLS],
            index[SEP],
        )
        # Whether each piece continues a word (a span may not cut a word).
        self.continuation = tf.constant(
            [token.startswith("##") for token in self.vocabulary]
        )
        self._tokenizer = tf_text.FastBertTokenizer(
            self.vocabulary,
            token_out_type=tf.int32,
            unknown_token=UNK,
            lower_case_nfd_strip_accents=True,
            support_detokenization=False,
        )

    @classmethod
    def load(cls, path):
        """Reads a vocabulary file, one piece per line."""
        with open(path, encoding="utf-8") as f:
            return cls([line.rstrip("\n") for line in f if line.rstrip("\n")])

    def save(self, path):
        """Writes the vocabulary, one piece per line."""
        with open(path, "w", encoding="utf-8") as f:
            f.write("\n".join(self.vocabulary) + "\n")

    def vocabulary_size(self):
        """Number of pieces."""
        return len(self.vocabulary)

    def tokenize(self, texts, max_length):
        """Pieces of each (repaired) text with their byte offsets.

        Args:
            texts: string tensor `(B,)`.
            max_length: pieces kept per text.

        Returns:
            `(ids, starts, ends)`, int32 ragged tensors `(B, None)`.
        """
        ids, starts, ends = self._tokenizer.tokenize_with_offsets(texts)
        return tuple(
            tf.cast(x[:, :max_length], tf.int32) for x in (ids, starts, ends)
        )


def learn_vocabulary(texts, size):
    """Learns a lowercased WordPiece vocabulary (KerasHub's trainer).

    Args:
        texts: list of training strings.
        size: vocabulary size, the reserved tokens included.

    Returns:
        The list of pieces, `RESERVED_TOKENS` first.
    """
    return keras_hub.tokenizers.compute_word_piece_vocabulary(
        tf.data.Dataset.from_tensor_slices(texts).batch(1000),
        vocabulary_size=size,
        lowercase=True,
        strip_accents=True,
        reserved_tokens=RESERVED_TOKENS,
    )


def _window_starts(lengths, window, stride):
    """Ragged `(B, None)` piece index where each window starts."""
    extra = tf.maximum(lengths - window, 0)
    counts = 1 + (extra + stride - 1) // stride
    return tf.ragged.range(counts) * stride


def _slice_windows(ragged, example, first, window, fill):
    """`(N, window)` pieces of `ragged[example]` from `first` on, padded."""
    positions = first[:, None] + tf.range(window)[None, :]
    lengths = tf.gather(ragged.row_lengths(), example)
    inside = positions < tf.cast(lengths[:, None], tf.int32)
    flat = tf.gather(ragged.row_splits, example)[:, None] + tf.cast(
        positions, ragged.row_splits.dtype
    )
    # Positions past the end read one fill value appended to the pieces.
    values = tf.concat([ragged.values, tf.fill([1], fill)], axis=0)
    past_end = tf.shape(ragged.values, out_type=flat.dtype)[0]
    return tf.gather(values, tf.where(inside, flat, past_end)), inside


def encode(tokenizer, contexts, questions, settings):
    """Tokenizes, windows and lays out a batch of (context, question) pairs.

    Args:
        tokenizer: a `QATokenizer`.
        contexts: string tensor `(B,)`, already repaired (`repair_utf8`).
        questions: string tensor `(B,)`, already repaired.
        settings: an object with `layout`, `window`, `stride`,
            `max_question_length` and `max_context_tokens`.

    Returns:
        A dict of `(N, L)` tensors: the layout's model inputs and
        `token_starts`, `token_ends` (int32 byte offsets, -1 off context),
        and `example` `(N,)`.
    """
    window, stride = settings.window, settings.stride
    context_ids, starts, ends = tokenizer.tokenize(
        contexts, settings.max_context_tokens
    )
    question_ids, _, _ = tokenizer.tokenize(
        questions, settings.max_question_length
    )
    first = _window_starts(
        tf.cast(context_ids.row_lengths(), tf.int32), window, stride
    )
    example = tf.cast(first.value_rowids(), tf.int32)
    first = first.values
    pad = tokenizer.pad_id
    ids, inside = _slice_windows(context_ids, example, first, window, pad)
    token_starts, _ = _slice_windows(starts, example, first, window, -1)
    token_ends, _ = _slice_windows(ends, example, first, window, -1)
    question = tf.gather(question_ids, example)
    if settings.layout == "pair":
        found = {
            "context_ids": ids,
            "question_ids": question.to_tensor(
                pad, shape=(None, settings.max_question_length)
            ),
            "token_starts": token_starts,
            "token_ends": token_ends,
            "example": example,
        }
        ids = found["context_ids"]
    else:
        found = _packed(
            tokenizer,
            question,
            ids,
            inside,
            token_starts,
            token_ends,
            example,
            settings,
        )
        ids = found["token_ids"]
    found["continues"] = tf.gather(tokenizer.continuation, ids) & (
        found["token_starts"] >= 0
    )
    return found


def _packed(
    tokenizer,
    question,
    ids,
    inside,
    token_starts,
    token_ends,
    example,
    settings,
):
    """The `"packed"` layout: `[CLS] question [SEP] window [SEP]`."""
    count = tf.shape(ids)[0]
    length = settings.max_question_length + settings.window + 3

    def column(value):
        return tf.RaggedTensor.from_tensor(tf.fill((count, 1), value))

    window = tf.RaggedTensor.from_tensor(
        ids, lengths=tf.reduce_sum(tf.cast(inside, tf.int32), axis=1)
    )
    cls, sep = column(tokenizer.cls_id), column(tokenizer.sep_id)
    token_ids = tf.concat([cls, question, sep, window, sep], axis=1)
    question_part = tf.concat([cls, question, sep], axis=1)
    segment_ids = tf.concat(
        [
            tf.zeros_like(question_part),
            tf.ones_like(tf.concat([window, sep], 1)),
        ],
        axis=1,
    )

    def offsets(values):
        off = tf.fill(tf.shape(question_part.values), -1)
        off = question_part.with_flat_values(off)
        context = tf.RaggedTensor.from_tensor(
            values, lengths=window.row_lengths()
        )
        return tf.concat([off, context, column(-1)], axis=1).to_tensor(
            -1, shape=(None, length)
        )

    return {
        "token_ids": token_ids.to_tensor(
            tokenizer.pad_id, shape=(None, length)
        ),
        "segment_ids": segment_ids.to_tensor(0, shape=(None, length)),
        "padding_mask": tf.ones_like(token_ids, tf.bool).to_tensor(
            False, shape=(None, length)
        ),
        "token_starts": offsets(token_starts),
        "token_ends": offsets(token_ends),
        "example": example,
    }


def row_lengths(inputs, layout, pad_id):
    """Positions up to the last non-padding one of each row (NumPy).

    Args:
        inputs: dict of the layout's model inputs, NumPy `(N, L)`.
        layout: `"pair"` or `"packed"`.
        pad_id: the padding piece.

    Returns:
        int `(N,)`.
    """
    used = np.asarray(inputs[SEQUENCE_INPUTS[layout][0]]) != pad_id
    return np.where(
        used.any(axis=1), used.shape[1] - np.argmax(used[:, ::-1], axis=1), 0
    )


def bucket_widths(lengths, full, layout):
    """Row lengths rounded up to a multiple of `LENGTH_STEP`, at most `full`.

    Args:
        lengths: int array of used lengths (`row_lengths`).
        full: the padded length.
        layout: `"pair"` or `"packed"`; a layout not in `CUT_LAYOUTS` keeps
            `full`.

    Returns:
        The int array of widths to cut batches to (`trim`).
    """
    lengths = np.asarray(lengths)
    if layout not in CUT_LAYOUTS:
        return np.full_like(lengths, full)
    return np.minimum(-(-lengths // LENGTH_STEP) * LENGTH_STEP, full)


def trim(inputs, layout, width):
    """Cuts the layout's sequence inputs to their first `width` positions.

    Args:
        inputs: dict of model inputs (NumPy arrays or tensors).
        layout: `"pair"` or `"packed"`.
        width: positions kept (an int or a scalar tensor).

    Returns:
        The dict with the sequence inputs cut; the others unchanged.
    """
    names = SEQUENCE_INPUTS[layout]
    return {
        name: value[:, :width] if name in names else value
        for name, value in inputs.items()
    }


def span_labels(features, answer_starts, answer_ends):
    """Token positions of the answer occurrences in each window.

    Args:
        features: the dict `encode` returned.
        answer_starts: int32 `(B, K)` byte offsets where occurrences of the
            answer start, -1 for none (every occurrence of the answer text
            is a correct span).
        answer_ends: int32 `(B, K)` byte offsets where they end.

    Returns:
        int32 `(N, K, 2)`: `(start, end)` positions of each occurrence that
        lies wholly inside the window, `(-1, -1)` for the others.
    """
    token_starts, token_ends = features["token_starts"], features["token_ends"]
    example = features["example"]
    start = tf.gather(tf.cast(answer_starts, tf.int32), example)[:, :, None]
    end = tf.gather(tf.cast(answer_ends, tf.int32), example)[:, :, None]
    valid = (token_starts >= 0)[:, None, :]
    # The first piece that ends after the answer starts, the last piece
    # that starts before it ends.
    first = tf.argmax(
        valid & (token_ends[:, None, :] > start), axis=-1, output_type=tf.int32
    )
    last_mask = valid & (token_starts[:, None, :] < end)
    length = tf.shape(token_starts)[1]
    last = (
        length
        - 1
        - tf.argmax(tf.reverse(last_mask, [-1]), axis=-1, output_type=tf.int32)
    )
    window_first = tf.reduce_min(
        tf.where(token_starts >= 0, token_starts, tf.int32.max), axis=1
    )[:, None]
    window_last = tf.reduce_max(token_ends, axis=1)[:, None]
    inside = (
        (start[..., 0] >= 0)
        & (start[..., 0] >= window_first)
        & (end[..., 0] <= window_last)
        & (first <= last)
    )
    pairs = tf.stack([first, last], axis=-1)
    return tf.where(inside[..., None], pairs, -1)


def best_spans(
    logits, features, num_examples, max_answer_tokens, compare="probability"
):
    """The best span of each input across its windows.

    A span `(i, j)` of context pieces with `i <= j < i + max_answer_tokens`
    that starts and ends on word boundaries (no `##` piece at `i` or
    `j + 1`) has the probability `p_start(i) p_end(j)`, taken over its
    window's context pieces. Each window's best span is its most probable
    one; an input's answer is the best of its windows' best spans, compared
    by that probability or by the logit sum `start(i) + end(j)`. A window
    that does not hold the answer still gives its most probable span a high
    probability (the softmax covers only that window), while its logits
    stay low; comparing by logits, as BERT does, picks the right window
    more often.

    Args:
        logits: float `(N, 2, L)` start and end logits.
        features: the dict `encode` returned.
        num_examples: number of inputs `B`.
        max_answer_tokens: longest answer, in pieces.
        compare: `"probability"` or `"logit"`: how windows are compared.

    Returns:
        `(starts, ends, scores)`: int32 byte offsets `(B,)` of the answer in
        its context and float32 `p_start * p_end` (0 with an empty answer,
        when the context has no pieces).

    Raises:
        ValueError: `compare` is not one of `COMPARE_WINDOWS`.
    """
    if compare not in COMPARE_WINDOWS:
        raise ValueError(
            f"compare must be one of {COMPARE_WINDOWS}, received {compare!r}."
        )
    valid = features["token_starts"] >= 0
    logits = tf.where(valid[:, None, :], tf.cast(logits, tf.float32), VERY_LOW)
    log_probs = tf.nn.log_softmax(logits, axis=-1)
    length = tf.shape(logits)[2]
    offset = tf.range(length)[None, :] - tf.range(length)[:, None]
    band = (offset >= 0) & (offset < max_answer_tokens)
    continues = features["continues"]
    next_continues = tf.concat(
        [continues[:, 1:], tf.zeros_like(continues[:, :1])], axis=1
    )
    starts_word = valid & ~continues
    ends_word = valid & ~next_continues
    pair = starts_word[:, :, None] & ends_word[:, None, :] & band[None]
    scores = tf.where(
        pair, log_probs[:, 0, :, None] + log_probs[:, 1, None, :], VERY_LOW
    )
    flat = tf.reshape(scores, (tf.shape(scores)[0], -1))
    best = tf.argmax(flat, axis=-1, output_type=tf.int32)
    window_log_prob = tf.reduce_max(flat, axis=-1)
    found_span = window_log_prob > VERY_LOW / 2
    if compare == "logit":
        window_score = tf.gather(
            logits[:, 0], best // length, batch_dims=1
        ) + tf.gather(logits[:, 1], best % length, batch_dims=1)
    else:
        window_score = window_log_prob
    window_score = tf.where(found_span, window_score, VERY_LOW)
    # The best window of each input: the first of those within a rounding
    # error of the top, so repeated text gets the same answer on every
    # backend.
    example = features["example"]
    top = tf.gather(
        tf.math.unsorted_segment_max(window_score, example, num_examples),
        example,
    )
    candidates = tf.where(
        window_score >= top - _TIE * tf.maximum(1.0, tf.abs(top)),
        tf.range(tf.shape(example)[0]),
        tf.int32.max,
    )
    chosen = tf.math.unsorted_segment_min(candidates, example, num_examples)
    i, j = tf.gather(best // length, chosen), tf.gather(best % length, chosen)
    found = tf.gather(found_span, chosen)
    starts = tf.where(
        found,
        tf.gather_nd(features["token_starts"], tf.stack([chosen, i], -1)),
        0,
    )
    ends = tf.where(
        found,
        tf.gather_nd(features["token_ends"], tf.stack([chosen, j], -1)),
        0,
    )
    scores = tf.where(found, tf.exp(tf.gather(window_log_prob, chosen)), 0.0)
    return starts, ends, scores


def answers(contexts, starts, ends):
    """Answer strings and character offsets from byte offsets.

    Args:
        contexts: repaired string tensor `(B,)`.
        starts: int32 `(B,)` byte offsets.
        ends: int32 `(B,)` byte offsets.

    Returns:
        `(answer, char_start, char_end)`: the strings and int32 offsets
        in characters (code points), so `context[char_start:char_end] ==
        answer` in Python.
    """
    answer = tf.strings.substr(contexts, starts, ends - starts)
    char_start = tf.strings.length(
        tf.strings.substr(contexts, tf.zeros_like(starts), starts),
        unit="UTF8_CHAR",
    )
    char_end = char_start + tf.strings.length(answer, unit="UTF8_CHAR")
    return answer, char_start, char_end
