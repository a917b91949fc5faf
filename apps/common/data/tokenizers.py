"""The subword tokenizer every text app uses: one SentencePiece model.

It is learned with `sentencepiece` on a run's training texts and saved in the
run; `keras_hub.tokenizers.SentencePieceTokenizer` then runs it as a TF-text
op in `tf.data`, in `predict` and inside the exported graph, and detokenizes
to plain text with the original spacing.

SentencePiece's trainer is imported only when a tokenizer is learned.
"""

import io
import os

import keras_hub

from attention_suite.apps.common.data.atomic import atomic_write_bytes

# The tokenizer's file name inside a run directory.
TOKENIZER_FILE = "tokenizer.model"
# Ids fixed by `keras_hub.tokenizers.compute_sentence_piece_proto`.
PAD_ID, UNK_ID, BOS_ID, EOS_ID = 0, 1, 2, 3


def train_tokenizer(texts, vocabulary_size, seed=0):
    """Learns a SentencePiece (unigram) model.

    The special ids are those KerasHub uses: 0 padding, 1 unknown, 2 start
    and 3 end.

    Args:
        texts: list of sentences.
        vocabulary_size: number of subword pieces, special tokens included
            (at most; fewer when the texts do not hold that many).
        seed: seed of SentencePiece's sampling.

    Returns:
        The serialized SentencePiece model (`bytes`).

    Raises:
        ValueError: SentencePiece cannot learn `vocabulary_size` pieces
            from `texts` (too few for their characters).
    """
    import sentencepiece

    sentencepiece.set_random_generator_seed(seed)
    model = io.BytesIO()
    try:
        sentencepiece.SentencePieceTrainer.train(
            sentence_iterator=iter(texts),
            model_writer=model,
            vocab_size=vocabulary_size,
            model_type="unigram",
            character_coverage=1.0,
            pad_id=PAD_ID,
            unk_id=UNK_ID,
            bos_id=BOS_ID,
            eos_id=EOS_ID,
            # A small corpus may not support `vocabulary_size` pieces; it then
            # gets the largest vocabulary it does (the model adapts).
            hard_vocab_limit=False,
            minloglevel=2,
        )
    except RuntimeError as error:
        # SentencePiece's reason, without its source location or its
        # advice on its own command-line flags.
        reason = str(error).rsplit("] ", 1)[-1].split(" Increase ")[0]
        raise ValueError(
            f"vocabulary_size={vocabulary_size}: SentencePiece cannot learn "
            f"it from the training text ({reason})"
        ) from None
    return model.getvalue()


def load_tokenizer(proto):
    """The Keras tokenizer of a serialized SentencePiece model.

    Seed (`keras.utils.set_random_seed`) before loading: seeding clears
    TensorFlow's eager kernel caches, which own the SentencePiece resource,
    and a tokenizer loaded earlier then fails with "Resource ... does not
    exist" (tensorflow/text#570).

    Args:
        proto: `bytes` of the model, or the path of a `.model` file.

    Returns:
        A `keras_hub.tokenizers.SentencePieceTokenizer` producing int32 ids.
    """
    return keras_hub.tokenizers.SentencePieceTokenizer(
        proto=proto, dtype="int32"
    )


def train_or_load_tokenizer(path, texts, vocabulary_size, seed=0):
    """The tokenizer of a run: learned on `texts` once, then reloaded.

    The first call learns the model and writes it to `path` atomically; an
    interrupted run that resumes keeps the tokenizer of its first attempt.

    Args:
        path: the run's `.model` file.
        texts: the training texts (`None` once the file exists).
        vocabulary_size: number of subword pieces.
        seed: seed of SentencePiece's sampling.

    Returns:
        The `SentencePieceTokenizer` of `path`.
    """
    if not os.path.exists(path):
        atomic_write_bytes(path, train_tokenizer(texts, vocabulary_size, seed))
    return load_tokenizer(path)
