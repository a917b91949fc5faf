"""Static shape checks that turn backend errors into clear `ValueError`s."""


def check_rank(layer, name, shape, ranks):
    """Raises a `ValueError` unless `shape` has one of the allowed ranks.

    Args:
        layer: the calling layer (its name goes into the message).
        name: the argument name, e.g. `"query"`.
        shape: the argument's shape (tuple, `None` entries allowed).
        ranks: an int or a tuple of allowed ranks.
    """
    ranks = (ranks,) if isinstance(ranks, int) else tuple(ranks)
    if len(shape) not in ranks:
        expected = " or ".join(str(r) for r in ranks)
        raise ValueError(
            f"{type(layer).__name__} '{layer.name}' expects `{name}` of rank "
            f"{expected}, but received {name}.shape={tuple(shape)}."
        )


def check_dims_match(layer, what, named_shapes, axis):
    """Raises a `ValueError` if the static sizes along `axis` disagree.

    Args:
        layer: the calling layer (its name goes into the message).
        what: a description of the dimension, e.g. `"batch size"`.
        named_shapes: dict mapping argument name to shape.
        axis: the axis to compare (negative axes count from the end).
    """
    sizes = {
        name: shape[axis]
        for name, shape in named_shapes.items()
        if shape is not None and shape[axis] is not None
    }
    if len(set(sizes.values())) > 1:
        shapes = ", ".join(
            f"{name}.shape={tuple(shape)}"
            for name, shape in named_shapes.items()
            if shape is not None
        )
        raise ValueError(
            f"{type(layer).__name__} '{layer.name}': the {what} must match, "
            f"but received {shapes}."
        )


def check_attention_shapes(
    layer, query_shape, value_shape, key_shape, query_ranks=3
):
    """Checks ranks, batch sizes and key/value lengths of an attention call.

    Args:
        layer: the calling layer (its name goes into the message).
        query_shape: shape of the queries.
        value_shape: shape of the values, `(B, Tk, dv)`.
        key_shape: shape of the keys, `(B, Tk, dk)`.
        query_ranks: the allowed ranks of the queries.
    """
    check_rank(layer, "query", query_shape, query_ranks)
    check_rank(layer, "value", value_shape, 3)
    check_rank(layer, "key", key_shape, 3)
    named = {"query": query_shape, "value": value_shape, "key": key_shape}
    check_dims_match(layer, "batch sizes", named, 0)
    check_dims_match(
        layer,
        "key and value lengths",
        {"value": value_shape, "key": key_shape},
        1,
    )
