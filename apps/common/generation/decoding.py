"""Greedy and beam search over a step function, in `keras.ops`.

Both searches run as one `keras.ops.while_loop`, so they work on every
backend and trace into a `tf.function` for export. A model provides

    step(tokens, index, state) -> (logits, state)

taking the previous tokens `(B,)` at position `index` and returning the
next-token logits `(B, V)` and the updated state, a nested structure of
batch-first tensors (e.g. key/value caches) that a beam search reorders.

Returned sequences hold the generated ids after the start token, `pad_id`
after the end token, and stop early once every sequence has ended.
"""

from keras import ops, tree

_NEG_INF = -1e9


def _start(batch_size, max_length, start_id, pad_id):
    tokens = ops.full((batch_size, max_length + 1), pad_id, dtype="int32")
    return _write(tokens, -1, ops.full((batch_size,), start_id, dtype="int32"))


def _write(tokens, index, column):
    """Writes `column` at position `index + 1` of every row.

    A select rather than `slice_update`, which TensorFlow lowers to an XLA
    op that a plain TF Serving graph should not need.
    """
    positions = ops.arange(ops.shape(tokens)[1], dtype="int32")
    at = ops.equal(positions, index + 1)[None, :]
    return ops.where(at, ops.cast(column[:, None], "int32"), tokens)


def _not_done(index, finished, max_length):
    return ops.logical_and(
        index < max_length, ops.logical_not(ops.all(finished))
    )


def block_repeated_ngrams(log_probs, tokens, index, size):
    """Forbids the tokens that would repeat an n-gram of the prefix.

    Args:
        log_probs: next-token scores `(B, V)` for position `index + 1`.
        tokens: the ids so far `(B, L)`, the start token at position 0 and
            the last one at position `index`.
        index: the current position (a scalar tensor).
        size: the n-gram size `n` (e.g. 3 for trigram blocking); 0 or 1
            blocks nothing.

    Returns:
        `log_probs` with `-1e9` for every token `w` such that the last
        `n - 1` ids followed by `w` already occur in the prefix.
    """
    length = tokens.shape[1]
    if size < 2 or length is None or length < size:
        return log_probs
    # Earlier n-grams end at positions j = size - 1 .. length - 1; one
    # matches when its first n - 1 ids equal the last n - 1 ids.
    ends = ops.arange(size - 1, length, dtype="int32")
    matches = ops.expand_dims(ends <= index, 0)
    for back in range(1, size):
        earlier = tokens[:, size - 1 - back : length - back]
        current = ops.take(tokens, ops.maximum(index - back + 1, 0), axis=1)
        matches = ops.logical_and(matches, ops.equal(earlier, current[:, None]))
    matches = ops.logical_and(matches, index >= size - 2)
    rows = ops.broadcast_to(
        ops.arange(ops.shape(tokens)[0], dtype="int32")[:, None],
        ops.shape(matches),
    )
    # A summing `scatter_update` rather than `ops.scatter`, which the torch
    # backend runs as a Python loop over every index.
    banned = ops.scatter_update(
        ops.zeros(ops.shape(log_probs), "float32"),
        ops.reshape(ops.stack([rows, tokens[:, size - 1 :]], axis=-1), (-1, 2)),
        ops.reshape(ops.cast(matches, "float32"), (-1,)),
        reduction="add",
    )
    return ops.where(banned > 0, _NEG_INF, log_probs)


def greedy_search(
    step,
    state,
    batch_size,
    max_length,
    start_id,
    end_id,
    pad_id=0,
    no_repeat_ngram_size=0,
):
    """Picks the most likely token at every step.

    Args:
        step: the model's step function (see the module docstring).
        state: the initial decoding state.
        batch_size: number of sequences (may be a symbolic tensor).
        max_length: the most tokens to generate (a Python int).
        start_id: id fed at the first step.
        end_id: id that ends a sequence.
        pad_id: id written after the end.
        no_repeat_ngram_size: forbid repeating n-grams of this size (0:
            no blocking; see `block_repeated_ngrams`).

    Returns:
        int32 ids `(B, max_length)`.
    """
    tokens = _start(batch_size, max_length, start_id, pad_id)
    finished = ops.zeros((batch_size,), dtype="bool")

    def body(tokens, state, index, finished):
        logits, state = step(ops.take(tokens, index, axis=1), index, state)
        logits = block_repeated_ngrams(
            ops.cast(logits, "float32"), tokens, index, no_repeat_ngram_size
        )
        chosen = ops.cast(ops.argmax(logits, axis=-1), "int32")
        chosen = ops.where(finished, pad_id, chosen)
        tokens = _write(tokens, index, chosen)
        finished = ops.logical_or(finished, ops.equal(chosen, end_id))
        return tokens, state, index + 1, finished

    tokens, *_ = ops.while_loop(
        lambda tokens, state, index, finished: _not_done(
            index, finished, max_length
        ),
        body,
        (tokens, state, ops.convert_to_tensor(0, "int32"), finished),
        maximum_iterations=max_length,
    )
    return tokens[:, 1:]


def length_normalized(scores, lengths, length_penalty):
    """GNMT length normalization (Wu et al. 2016): `s / ((5 + |y|) / 6)^a`.

    Args:
        scores: summed log-probabilities.
        lengths: generated lengths (end token included).
        length_penalty: the exponent `a`; 0 ranks by raw log-probability.

    Returns:
        The normalized scores.
    """
    lengths = ops.cast(lengths, "float32")
    return scores / ops.power((5.0 + lengths) / 6.0, length_penalty)


def beam_search(
    step,
    state,
    batch_size,
    max_length,
    start_id,
    end_id,
    pad_id=0,
    beam_size=4,
    length_penalty=0.6,
    no_repeat_ngram_size=0,
):
    """Keeps the `beam_size` most likely prefixes of every sequence.

    Ended hypotheses stay in the beam with a frozen score; at the end the
    best of the beam by `length_normalized` score is returned. With
    `beam_size=1` this is exactly `greedy_search`.

    Args:
        step: the model's step function (see the module docstring).
        state: the initial decoding state for `B` sequences.
        batch_size: `B` (may be a symbolic tensor).
        max_length: the most tokens to generate (a Python int).
        start_id: id fed at the first step.
        end_id: id that ends a sequence.
        pad_id: id written after the end.
        beam_size: hypotheses kept per sequence.
        length_penalty: exponent of the length normalization.
        no_repeat_ngram_size: forbid repeating n-grams of this size (0:
            no blocking; see `block_repeated_ngrams`).

    Returns:
        `(ids, scores)`: int32 `(B, max_length)` and the normalized
        log-probabilities `(B,)` of the chosen hypotheses.
    """
    flat = batch_size * beam_size
    state = tree.map_structure(
        lambda x: ops.repeat(x, beam_size, axis=0), state
    )
    tokens = _start(flat, max_length, start_id, pad_id)
    # Only the first copy of each sequence is live at the start.
    first = ops.convert_to_tensor([0.0] + [_NEG_INF] * (beam_size - 1))
    scores = ops.reshape(
        ops.broadcast_to(first[None], (batch_size, beam_size)), (flat,)
    )
    finished = ops.zeros((flat,), dtype="bool")
    lengths = ops.zeros((flat,), dtype="int32")
    offsets = ops.repeat(
        ops.arange(batch_size, dtype="int32") * beam_size, beam_size
    )

    def body(tokens, state, index, finished, scores, lengths):
        logits, state = step(ops.take(tokens, index, axis=1), index, state)
        log_probs = ops.log_softmax(ops.cast(logits, "float32"), axis=-1)
        log_probs = block_repeated_ngrams(
            log_probs, tokens, index, no_repeat_ngram_size
        )
        vocabulary = ops.shape(log_probs)[-1]
        # An ended hypothesis can only be extended by padding, for free.
        pad_only = ops.where(ops.arange(vocabulary) == pad_id, 0.0, _NEG_INF)
        log_probs = ops.where(finished[:, None], pad_only[None], log_probs)
        candidates = ops.reshape(
            scores[:, None] + log_probs, (-1, beam_size * vocabulary)
        )
        best, indices = ops.top_k(candidates, k=beam_size)
        origin = ops.reshape(indices // vocabulary, (-1,))
        chosen = ops.cast(ops.reshape(indices % vocabulary, (-1,)), "int32")
        order = offsets + ops.cast(origin, "int32")

        def reorder(x):
            return ops.take(x, order, axis=0)

        tokens, finished, lengths = map(reorder, (tokens, finished, lengths))
        state = tree.map_structure(reorder, state)
        tokens = _write(tokens, index, chosen)
        lengths = lengths + ops.cast(ops.logical_not(finished), "int32")
        finished = ops.logical_or(finished, ops.equal(chosen, end_id))
        return (
            tokens,
            state,
            index + 1,
            finished,
            ops.reshape(best, (-1,)),
            lengths,
        )

    tokens, _, _, _, scores, lengths = ops.while_loop(
        lambda tokens, state, index, finished, scores, lengths: _not_done(
            index, finished, max_length
        ),
        body,
        (
            tokens,
            state,
            ops.convert_to_tensor(0, "int32"),
            finished,
            scores,
            lengths,
        ),
        maximum_iterations=max_length,
    )
    normalized = ops.reshape(
        length_normalized(scores, lengths, length_penalty), (-1, beam_size)
    )
    best = ops.cast(ops.argmax(normalized, axis=-1), "int32")
    rows = ops.arange(batch_size, dtype="int32") * beam_size + best
    return (
        ops.take(tokens, rows, axis=0)[:, 1:],
        ops.take_along_axis(normalized, best[:, None], axis=1)[:, 0],
    )


def generate(
    model,
    source,
    max_length,
    start_id,
    end_id,
    pad_id=0,
    beam_size=1,
    length_penalty=0.6,
    no_repeat_ngram_size=0,
):
    """Encodes source ids and searches a sequence-to-sequence model.

    Args:
        model: a model with `encode(source)`, `start_state(memory,
            max_length)` and `step(tokens, index, state)`.
        source: int `(B, S)`.
        max_length: the most ids to generate, end token included.
        start_id: id fed at the first step.
        end_id: id that ends a sequence.
        pad_id: id written after the end.
        beam_size: 1 for greedy search, more for beam search.
        length_penalty: length normalization exponent of the beam search.
        no_repeat_ngram_size: forbid repeating n-grams of this size.

    Returns:
        int32 `(B, max_length)`: ids, then the end token, then padding.
    """
    memory = model.encode(source, training=False)
    state = model.start_state(memory, max_length)
    batch = ops.shape(source)[0]
    if beam_size == 1:
        return greedy_search(
            model.step,
            state,
            batch,
            max_length,
            start_id,
            end_id,
            pad_id,
            no_repeat_ngram_size=no_repeat_ngram_size,
        )
    ids, _ = beam_search(
        model.step,
        state,
        batch,
        max_length,
        start_id,
        end_id,
        pad_id,
        beam_size=beam_size,
        length_penalty=length_penalty,
        no_repeat_ngram_size=no_repeat_ngram_size,
    )
    return ids
