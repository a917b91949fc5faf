"""Raw text to subword ids and back, in TensorFlow ops, for the text apps.

The same functions prepare training batches (`tf.data`), run under `predict`
and sit inside the exported graphs, so a SavedModel treats an input exactly
as training did:

* bytes that are not valid UTF-8 become U+FFFD;
* runs of white space and control characters (line breaks, tabs) become
  one space, and the ends are stripped;
* a text longer than `max_length - 1` pieces keeps its first
  `max_length - 1`, then the end token.

Ids are the ones of `attention_suite.apps.common.data.tokenizers` (0 padding, 2
start, 3 end).
"""

import tensorflow as tf

from attention_suite.apps.common.data.tokenizers import BOS_ID, EOS_ID, PAD_ID

# SentencePiece's mark of a word's start, the text of a piece that is only it.
WORD_START = "\u2581"

# Bucket edges of the training batches, in ids; those under a run's maximum
# length apply.
BUCKET_BOUNDARIES = (8, 12, 16, 20, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512)


def clean_text(texts):
    """Makes raw strings safe for the tokenizer (see the module docstring).

    Args:
        texts: string tensor, any shape; any bytes.

    Returns:
        The cleaned strings, same shape.
    """
    texts = tf.strings.unicode_transcode(
        texts, "UTF-8", "UTF-8", errors="replace", replacement_char=0xFFFD
    )
    return tf.strings.strip(
        tf.strings.regex_replace(texts, r"[\s\p{Cc}]+", " ")
    )


def source_ids(tokenizer, texts, max_length):
    """Tokenizes raw strings for an encoder: pieces, truncated, end token.

    Args:
        tokenizer: the run's tokenizer.
        texts: string tensor `(B,)`; any bytes.
        max_length: the most ids per text, end token included.

    Returns:
        int32 `(B, S)`, padded with 0.
    """
    ids = tokenizer.tokenize(clean_text(texts))[:, : max_length - 1]
    ids = tf.concat([ids, tf.fill([ids.nrows(), 1], EOS_ID)], axis=1)
    return ids.to_tensor(default_value=PAD_ID)


def until_end(ids):
    """The ids before the first end token, padding left out.

    Args:
        ids: int `(B, T)` from a search.

    Returns:
        int32 `tf.RaggedTensor` `(B, None)`.
    """
    ids = tf.convert_to_tensor(ids, tf.int32)
    before_end = (
        tf.cumsum(tf.cast(tf.equal(ids, EOS_ID), tf.int32), axis=1) == 0
    )
    return tf.ragged.boolean_mask(ids, before_end & tf.not_equal(ids, PAD_ID))


def ids_to_text(tokenizer, ids):
    """Detokenizes generated ids, up to the end token.

    Args:
        tokenizer: the run's tokenizer.
        ids: int `(B, T)` from a search.

    Returns:
        string tensor `(B,)`.
    """
    return tokenizer.detokenize(until_end(ids))


def ids_to_pieces(tokenizer, ids):
    """The text of each id, for labelling attention plots.

    Args:
        tokenizer: the run's tokenizer.
        ids: int `(B, T)`.

    Returns:
        string tensor `(B, T)`; the end token gives `"</s>"`, padding `""`
        and SentencePiece's bare word-start piece (whose text alone is
        empty) its mark, `"\u2581"`, so that only padding is empty.
    """
    ids = tf.convert_to_tensor(ids, tf.int32)
    pieces = tokenizer.detokenize(tf.reshape(ids, [-1, 1]))
    pieces = tf.where(pieces == "", WORD_START, pieces)
    flat = tf.reshape(ids, [-1])
    pieces = tf.where(
        flat == EOS_ID, "</s>", tf.where(flat == PAD_ID, "", pieces)
    )
    return tf.reshape(pieces, tf.shape(ids))


def seq2seq_dataset(
    tokenizer,
    sources,
    targets,
    max_source_length,
    max_target_length,
    batch_size,
    shuffle=False,
    seed=0,
):
    """A teacher-forcing `tf.data` pipeline, batched by similar lengths.

    Batching by length makes the number of batches vary from one shuffle to
    the next: a training set is repeated (give `fit` a `steps_per_epoch`),
    an evaluation set is counted once, so Keras always knows its size.

    Args:
        tokenizer: the run's tokenizer.
        sources: list of raw source texts.
        targets: list of raw target texts.
        max_source_length: the most ids per source, end token included.
        max_target_length: the most ids per target sequence.
        batch_size: pairs per batch.
        shuffle: whether to shuffle and repeat (training).
        seed: shuffle seed.

    Returns:
        A dataset of `({"source", "target_in"}, target_out)` int32 batches;
        `target_in` starts with the start token, `target_out` ends with the
        end token, and 0 pads all three.
    """

    def encode(source, target):
        source_ids = tokenizer.tokenize(clean_text(source))[
            : max_source_length - 1
        ]
        target_ids = tokenizer.tokenize(clean_text(target))[
            : max_target_length - 1
        ]
        return (
            tf.concat([source_ids, [EOS_ID]], 0),
            tf.concat([[BOS_ID], target_ids], 0),
            tf.concat([target_ids, [EOS_ID]], 0),
        )

    data = tf.data.Dataset.from_tensor_slices((list(sources), list(targets)))
    if shuffle:
        data = data.shuffle(
            len(sources), seed=seed, reshuffle_each_iteration=True
        )
    data = data.map(encode, num_parallel_calls=tf.data.AUTOTUNE)
    # Similar lengths share a batch, so little compute goes to padding.
    longest = max(max_source_length, max_target_length)
    boundaries = [b for b in BUCKET_BOUNDARIES if b < longest]
    data = data.bucket_by_sequence_length(
        lambda source, target_in, target_out: tf.maximum(
            tf.shape(source)[0], tf.shape(target_in)[0]
        ),
        bucket_boundaries=boundaries,
        bucket_batch_sizes=[batch_size] * (len(boundaries) + 1),
        padding_values=(PAD_ID, PAD_ID, PAD_ID),
    )
    data = data.map(
        lambda source, target_in, target_out: (
            {"source": source, "target_in": target_in},
            target_out,
        )
    )
    if shuffle:
        data = data.repeat()
    else:
        batches = sum(1 for _ in data)
        data = data.apply(tf.data.experimental.assert_cardinality(batches))
    return data.prefetch(tf.data.AUTOTUNE)
