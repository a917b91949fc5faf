"""Helpers for the weight settings the layers share: initializers,
regularizers and constraints."""

import keras


def clone_initializer(initializer):
    """Returns a new initializer with the configuration of `initializer`.

    Keras initializers are stateless: one instance called twice for the same
    shape returns the same values. A layer that creates several weights (or
    sublayers) from one initializer argument clones it for each of them, as
    `keras.layers.MultiHeadAttention` does. An unseeded initializer's clone
    draws a new seed (from Python's `random`, which
    `keras.utils.set_random_seed` seeds), so every weight starts from its own
    values; a seeded initializer's clones keep its seed.

    Args:
        initializer: a `keras.initializers.Initializer`.

    Returns:
        A new initializer of the same class and configuration.
    """
    return initializer.__class__.from_config(initializer.get_config())


def serialize_objects(**objects):
    """Config entries of a layer's initializers, regularizers, constraints.

    Args:
        **objects: the objects (or `None`) by config key.

    Returns:
        A dict from each key to the object's serialized config (`None`
        stays `None`).
    """
    return {
        name: keras.saving.serialize_keras_object(value)
        for name, value in objects.items()
    }
