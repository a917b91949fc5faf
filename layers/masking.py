"""Mask helpers shared by every attention layer.

All masks here are boolean: `True` means "may attend", `False` means "masked".
"""

import contextlib

from keras import ops
from keras.src.backend import get_keras_mask, set_keras_mask

# Added to masked logits before the softmax. Finite, so that a fully masked row
# never turns into NaN (its weights are zeroed afterwards instead).
_MASK_LOGIT = -1e9


def causal_mask(query_positions, key_positions):
    """Boolean mask allowing each query to see keys at or before its position.

    Args:
        query_positions: int tensor of shape `(Tq,)`, absolute query positions.
        key_positions: int tensor of shape `(Tk,)`, absolute key positions.

    Returns:
        Boolean tensor of shape `(Tq, Tk)`.
    """
    return ops.less_equal(
        ops.expand_dims(key_positions, 0), ops.expand_dims(query_positions, 1)
    )


def sliding_window_mask(query_positions, key_positions, window):
    """Boolean mask allowing each query to see keys less than `window` away.

    Args:
        query_positions: int tensor of shape `(Tq,)`, absolute query positions.
        key_positions: int tensor of shape `(Tk,)`, absolute key positions.
        window: the positive window size.

    Returns:
        Boolean tensor of shape `(Tq, Tk)`.
    """
    distance = ops.expand_dims(query_positions, 1) - ops.expand_dims(
        key_positions, 0
    )
    return ops.less(ops.abs(distance), window)


def merge_masks(
    query_mask=None,
    key_mask=None,
    attention_mask=None,
    use_causal_mask=False,
    query_positions=None,
    key_positions=None,
    sliding_window=None,
):
    """Combines padding, explicit, causal and window masks into one mask.

    Args:
        query_mask: optional boolean `(B, Tq)`; padded queries attend nowhere.
        key_mask: optional boolean `(B, Tk)`; padded keys receive no weight.
        attention_mask: optional boolean `(B, Tq, Tk)` (or broadcastable).
        use_causal_mask: whether to add a causal (lower-triangular) mask.
        query_positions: int `(Tq,)` positions, required when
            `use_causal_mask=True` or with a `sliding_window`.
        key_positions: int `(Tk,)` positions, required when
            `use_causal_mask=True` or with a `sliding_window`.
        sliding_window: optional int; queries see only keys less than this
            many positions away.

    Returns:
        A boolean tensor broadcastable to `(B, Tq, Tk)`, or `None` when no mask
        applies.
    """
    mask = None

    def _and(a, b):
        return b if a is None else ops.logical_and(a, b)

    if query_mask is not None:
        mask = _and(mask, ops.expand_dims(ops.cast(query_mask, "bool"), -1))
    if key_mask is not None:
        mask = _and(mask, ops.expand_dims(ops.cast(key_mask, "bool"), -2))
    if attention_mask is not None:
        mask = _and(mask, ops.cast(attention_mask, "bool"))
    if use_causal_mask:
        mask = _and(mask, causal_mask(query_positions, key_positions)[None])
    if sliding_window is not None:
        window = sliding_window_mask(
            query_positions, key_positions, sliding_window
        )
        mask = _and(mask, window[None])
    return mask


def masked_softmax(scores, mask=None, axis=-1):
    """Softmax in float32 that gives masked entries exactly zero weight.

    Rows where every entry is masked get all-zero weights (not NaN and not a
    uniform distribution), so a query that may attend to nothing returns a
    zero context.

    Args:
        scores: logits of any float dtype.
        mask: optional boolean tensor broadcastable to `scores`.
        axis: the axis to normalize over.

    Returns:
        float32 weights with the shape of `scores`.
    """
    scores = ops.cast(scores, "float32")
    if mask is None:
        return ops.softmax(scores, axis=axis)
    mask = ops.cast(mask, "bool")
    scores = ops.where(mask, scores, _MASK_LOGIT)
    weights = ops.softmax(scores, axis=axis)
    return ops.where(mask, weights, 0.0)


def keras_mask(x):
    """Returns the Keras mask attached to a tensor, or `None`.

    Keras attaches masks (e.g. from `Embedding(mask_zero=True)`) to tensors and
    fills `mask`-style call arguments with them only in some call patterns;
    layers with several optional tensor arguments read it here, as KerasHub's
    layers do.

    Args:
        x: a tensor.

    Returns:
        The boolean mask tensor, or `None`.
    """
    return get_keras_mask(x)


@contextlib.contextmanager
def masks_detached(*tensors):
    """Detaches the Keras masks of `tensors` for the duration of the block.

    A layer that has read its inputs' masks into its own arguments calls
    sublayers that do not support masking (`EinsumDense`) inside this block,
    so they do not warn that they drop the masks; the masks are attached
    again afterwards, so the caller's tensors keep them.

    Args:
        *tensors: tensors that may carry a Keras mask.

    Yields:
        Nothing.
    """
    masks = [get_keras_mask(x) for x in tensors]
    for x in tensors:
        if get_keras_mask(x) is not None:
            set_keras_mask(x, None)
    try:
        yield
    finally:
        for x, mask in zip(tensors, masks):
            if mask is not None:
                set_keras_mask(x, mask)
