"""NumPy implementations of the attention formulas, the tests' ground truth."""

import numpy as np


def softmax(scores, mask=None):
    """Softmax over the last axis; masked entries and empty rows get 0."""
    scores = np.asarray(scores, dtype=np.float64)
    if mask is not None:
        scores = np.where(mask, scores, -np.inf)
    top = np.max(scores, axis=-1, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    exp = np.exp(scores - top)
    total = exp.sum(axis=-1, keepdims=True)
    return np.divide(exp, total, out=np.zeros_like(exp), where=total > 0)


def dot_score(q, k):
    return np.einsum("bqd,bkd->bqk", q, k)


def scaled_dot_score(q, k):
    return dot_score(q, k) / np.sqrt(k.shape[-1])


def general_score(q, k, kernel):
    return np.einsum("bqd,de,bke->bqk", q, kernel, k)


def additive_score(q, k, query_kernel, key_kernel, bias, score_vector):
    hidden = (q @ query_kernel)[:, :, None] + (k @ key_kernel)[:, None] + bias
    return np.tanh(hidden) @ score_vector


def location_score(q, k, kernel):
    return (q @ kernel)[:, :, : k.shape[1]]


def attend(scores, values, mask=None):
    """Returns `(context, weights)` for scores `(B, Tq, Tk)`."""
    weights = softmax(scores, mask)
    return weights @ values, weights


def causal(q_len, k_len, offset=0):
    """Boolean `(q_len, k_len)` mask with key j visible to query i if j <= i."""
    return np.arange(k_len)[None] <= (np.arange(q_len) + offset)[:, None]


def multi_head_attention(
    query, value, weights, num_heads, num_kv_heads, mask=None
):
    """Multi-head (grouped-query) attention with Keras' weight layout.

    Args:
        query: `(B, Tq, dq)`.
        value: `(B, Tk, dv)`, also used as the key.
        weights: `[wq, bq, wk, bk, wv, bv, wo, bo]` as in
            `keras.layers.MultiHeadAttention.get_weights()`.
        num_heads: query heads.
        num_kv_heads: key/value heads.
        mask: optional boolean `(B, Tq, Tk)`.

    Returns:
        `(output (B, Tq, do), weights (B, heads, Tq, Tk))`.
    """
    wq, bq, wk, bk, wv, bv, wo, bo = weights
    q = np.einsum("btd,dnh->btnh", query, wq) + bq
    k = np.einsum("bsd,dnh->bsnh", value, wk) + bk
    v = np.einsum("bsd,dnh->bsnh", value, wv) + bv
    groups = num_heads // num_kv_heads
    k = np.repeat(k, groups, axis=2)
    v = np.repeat(v, groups, axis=2)
    scores = np.einsum("btnh,bsnh->bnts", q, k) / np.sqrt(q.shape[-1])
    probs = softmax(scores, None if mask is None else mask[:, None])
    out = np.einsum("bnts,bsnh->btnh", probs, v)
    return np.einsum("btnh,nho->bto", out, wo) + bo, probs


def bidirectional_attention(
    h,
    u,
    context_kernel,
    query_kernel,
    product_kernel,
    bias,
    context_mask=None,
    query_mask=None,
):
    """BiDAF's attention flow; returns `(G, c2q weights, q2c weights)`."""
    s = (
        (h @ context_kernel)[:, :, None]
        + (u @ query_kernel)[:, None, :]
        + np.einsum("btd,d,bjd->btj", h, product_kernel, u)
        + bias
    )
    q_mask = None if query_mask is None else query_mask[:, None, :]
    a = softmax(s, q_mask)
    attended_query = a @ u
    row_max = np.max(
        np.where(q_mask, s, -np.inf) if q_mask is not None else s, -1
    )
    b = softmax(row_max, context_mask)
    attended_context = np.einsum("bt,btd->bd", b, h)
    g = np.concatenate(
        [h, attended_query, h * attended_query, h * attended_context[:, None]],
        -1,
    )
    if context_mask is not None:
        g = np.where(context_mask[..., None], g, 0.0)
    return g, a, b
