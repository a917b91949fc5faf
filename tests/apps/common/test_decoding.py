"""N-gram blocking in the shared greedy and beam searches."""

import numpy as np
import pytest
from keras import ops

from attention_suite.apps.common.generation import decoding

V, START, END = 7, 1, 2


def _bigram_step(seed):
    """A step function whose next token depends on the previous one only,
    with the end token all but ruled out: left alone it loops."""
    logits = np.random.default_rng(seed).normal(size=(V, V)).astype("float32")
    logits[:, END] = -20.0
    table = ops.convert_to_tensor(logits)

    def step(tokens, index, state):
        return ops.take(table, tokens, axis=0), state

    return step


def _ngrams(row, size):
    row = [START] + [int(t) for t in row]
    return [tuple(row[i : i + size]) for i in range(len(row) - size + 1)]


def _search(seed, beam_size, size):
    step, state = _bigram_step(seed), {"unused": ops.zeros((3, 1))}
    if beam_size == 1:
        ids = decoding.greedy_search(
            step, state, 3, 12, START, END, no_repeat_ngram_size=size
        )
    else:
        ids, _ = decoding.beam_search(
            step,
            state,
            3,
            12,
            START,
            END,
            beam_size=beam_size,
            no_repeat_ngram_size=size,
        )
    return ops.convert_to_numpy(ids)


@pytest.mark.parametrize("beam_size", [1, 3])
@pytest.mark.parametrize("size", [2, 3])
def test_blocked_searches_never_repeat_an_ngram(beam_size, size):
    repeated_without = False
    for seed in range(4):
        for row in _search(seed, beam_size, size):
            grams = _ngrams(row, size)
            assert len(grams) == len(set(grams)), (seed, row)
        for row in _search(seed, beam_size, 0):
            grams = _ngrams(row, size)
            repeated_without |= len(grams) != len(set(grams))
    # The bigram model loops when left alone, so the blocking did the work.
    assert repeated_without


def test_blocking_only_removes_the_repeating_tokens():
    tokens = ops.convert_to_tensor([[START, 3, 4, 3, 0, 0]], "int32")
    log_probs = ops.zeros((1, V))
    blocked = ops.convert_to_numpy(
        decoding.block_repeated_ngrams(log_probs, tokens, 3, 2)
    )
    # After "... 3", the bigram "3 4" was seen: only 4 is blocked.
    np.testing.assert_array_equal(blocked[0] < -1e8, np.arange(V) == 4)
    untouched = decoding.block_repeated_ngrams(log_probs, tokens, 3, 0)
    np.testing.assert_array_equal(ops.convert_to_numpy(untouched), 0.0)
