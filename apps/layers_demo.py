"""The `layers` step of `attn demo`: every score of `layers.Attention`.

A toy alignment: the decoder of a translation model looks for the source
word each target word translates. Every query is a noisy copy of the key it
should find; keys past the sentence are padding (they hold the `"<pad>"`
embedding, which only the mask keeps out). Scores with weights are fitted
first, on random sentences of the same kind.

Keras and matplotlib are imported when the step runs, so `attn --help` stays
fast.
"""

import numpy as np

from attention_suite.apps.common.cli.demo import save_plot

SEED = 1337

# The toy sentence, its translation and the source word of each target word.
SOURCE = ("the", "black", "cat", "sat", "on", "the", "mat")
TARGET = ("le", "chat", "noir", "s'assit", "sur", "le", "tapis")
ALIGNMENT = (0, 2, 1, 3, 4, 5, 6)
MAX_LENGTH = 8
KEY_LABELS = SOURCE + ("<pad>",) * (MAX_LENGTH - len(SOURCE))
PAD_ID = 0
VOCABULARY = (
    "<pad>",
    "the",
    "a",
    "black",
    "white",
    "cat",
    "dog",
    "sat",
    "ran",
    "on",
    "under",
    "mat",
    "sofa",
    "and",
    "slept",
    "by",
    "door",
)
FEATURES = 16
KEY_NORM = 2.5
QUERY_NOISE = 0.1
SCORES = ("dot", "scaled_dot", "general", "additive", "location")
SCORE_KWARGS = {"location": {"max_length": MAX_LENGTH}}

# The random sentences that scores with weights are fitted on.
TRAINING_SENTENCES = 512
TRAINING_EPOCHS = 10


def _embeddings(rng):
    """Returns random unit vectors for every word and every position."""

    def unit_vectors(count):
        vectors = rng.standard_normal((count, FEATURES))
        return vectors / np.linalg.norm(vectors, axis=-1, keepdims=True)

    return unit_vectors(len(VOCABULARY)), unit_vectors(MAX_LENGTH)


def _alignment_batch(rng, embeddings, word_ids, lengths, alignment):
    """Builds queries, keys and the key mask for a batch of sentences.

    Args:
        rng: the `numpy.random.Generator` of the query noise.
        embeddings: the word and position vectors of `_embeddings()`.
        word_ids: int array `(B, MAX_LENGTH)` of indices into `VOCABULARY`;
            those of padded keys are replaced by `PAD_ID`.
        lengths: int array `(B,)`; keys from `lengths[b]` on are padding.
        alignment: int array `(B, Tq)`, the key each query should find.

    Returns:
        A tuple `(queries, keys, key_mask)` of shapes `(B, Tq, FEATURES)`,
        `(B, MAX_LENGTH, FEATURES)` and `(B, MAX_LENGTH)`.
    """
    words, positions = embeddings
    key_mask = np.arange(MAX_LENGTH) < lengths[:, None]
    keys = words[np.where(key_mask, word_ids, PAD_ID)] + positions
    keys *= KEY_NORM / np.linalg.norm(keys, axis=-1, keepdims=True)
    queries = np.take_along_axis(keys, alignment[..., None], axis=1)
    queries += QUERY_NOISE * rng.standard_normal(queries.shape)
    return queries.astype("float32"), keys.astype("float32"), key_mask


def _fit(attention, rng, embeddings):
    """Fits `attention` to find the aligned key in random sentences.

    Args:
        attention: a `layers.Attention`.
        rng: the `numpy.random.Generator` of the sentences.
        embeddings: the word and position vectors of `_embeddings()`.

    Returns:
        Whether `attention` has weights (and so was fitted).
    """
    import keras

    lengths = rng.integers(3, MAX_LENGTH + 1, size=TRAINING_SENTENCES)
    word_ids = rng.integers(
        PAD_ID + 1, len(VOCABULARY), size=(TRAINING_SENTENCES, MAX_LENGTH)
    )
    alignment = rng.integers(0, lengths[:, None], size=word_ids.shape)
    inputs = _alignment_batch(rng, embeddings, word_ids, lengths, alignment)

    queries = keras.Input((None, FEATURES))
    keys = keras.Input((MAX_LENGTH, FEATURES))
    key_mask = keras.Input((MAX_LENGTH,), dtype="bool")
    _, weights = attention(
        queries, keys, value_mask=key_mask, return_attention_scores=True
    )
    model = keras.Model([queries, keys, key_mask], weights)
    if not model.trainable_weights:
        return False
    model.compile(
        optimizer=keras.optimizers.Adam(0.02),
        loss="sparse_categorical_crossentropy",
    )
    model.fit(
        list(inputs),
        alignment,
        batch_size=64,
        epochs=TRAINING_EPOCHS,
        verbose=0,
    )
    return True


def step(out):
    """Runs each score function of `layers.Attention` on a toy alignment.

    Prints the attention weights of each score as a table and saves them as
    a grid of heatmaps to `<out>/attention_weights.png`.

    Args:
        out: the output directory.
    """
    import keras
    from matplotlib.figure import Figure

    from attention_suite import layers
    from attention_suite.apps.common.cli import plotting

    keras.utils.set_random_seed(SEED)
    rng = np.random.default_rng(SEED)
    embeddings = _embeddings(rng)
    source_ids = [VOCABULARY.index(word) for word in SOURCE]
    queries, keys, key_mask = _alignment_batch(
        rng,
        embeddings,
        word_ids=np.array([source_ids + [PAD_ID] * (MAX_LENGTH - len(SOURCE))]),
        lengths=np.array([len(SOURCE)]),
        alignment=np.array([ALIGNMENT]),
    )
    print(
        "Each target word's query is a noisy copy of the source key it "
        "should find;\nkeys past the sentence are padding."
    )

    figure = Figure(figsize=(3.4 * len(SCORES), 3.6), layout="constrained")
    for score, ax in zip(SCORES, figure.subplots(1, len(SCORES))):
        attention = layers.Attention(
            score=score, score_kwargs=SCORE_KWARGS.get(score)
        )
        if _fit(attention, rng, embeddings):
            print(
                f"\n{score}: its weights fitted for {TRAINING_EPOCHS} epochs "
                f"on {TRAINING_SENTENCES} random sentences"
            )
        else:
            print(f"\n{score}: no weights")
        _, weights = attention(
            queries, keys, value_mask=key_mask, return_attention_scores=True
        )
        weights = keras.ops.convert_to_numpy(weights)[0]
        print(plotting.format_attention(weights, KEY_LABELS, TARGET))
        plotting.plot_attention(weights, KEY_LABELS, TARGET, ax=ax, title=score)
    figure.colorbar(ax.images[0], ax=figure.axes, shrink=0.8)
    path = save_plot(figure, out, "attention_weights.png")
    print(f"\nSaved the heatmaps to {path}")
