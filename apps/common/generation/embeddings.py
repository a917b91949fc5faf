"""The token embedding the sequence-to-sequence apps share."""

import keras
import keras_hub


def tied_token_embedding(vocabulary_size, embedding_dim):
    """A token embedding that is also the output projection.

    `keras_hub.layers.ReversibleEmbedding` maps ids to vectors and, with
    `reverse=True`, vectors to logits over the same vocabulary (Press & Wolf
    2017), initialized with a standard deviation of `embedding_dim ** -0.5`.

    Args:
        vocabulary_size: number of token ids.
        embedding_dim: vector width.

    Returns:
        The unbuilt `ReversibleEmbedding`, named `"token_embedding"`.
    """
    return keras_hub.layers.ReversibleEmbedding(
        vocabulary_size,
        embedding_dim,
        embeddings_initializer=keras.initializers.RandomNormal(
            stddev=embedding_dim**-0.5
        ),
        name="token_embedding",
    )
