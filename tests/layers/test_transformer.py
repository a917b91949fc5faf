"""Transformer blocks: masks, cached decoding, configuration errors."""

import numpy as np
import pytest
from helpers import to_numpy

from attention_suite.layers import (
    TransformerDecoderBlock,
    TransformerEncoderBlock,
)

B, S, T, D = 2, 7, 5, 16


@pytest.fixture
def data(rng):
    source = rng.normal(size=(B, S, D)).astype("float32")
    target = rng.normal(size=(B, T, D)).astype("float32")
    source_mask = np.ones((B, S), bool)
    source_mask[1, 4:] = False
    return source, target, source_mask


def test_encoder_ignores_padded_positions(data):
    source, _, source_mask = data
    encoder = TransformerEncoderBlock(intermediate_dim=32, num_heads=4)
    out = to_numpy(encoder(source, padding_mask=source_mask))
    changed = source.copy()
    changed[1, 4:] = 100.0  # garbage in padded positions
    out_changed = to_numpy(encoder(changed, padding_mask=source_mask))
    np.testing.assert_allclose(out_changed[1, :4], out[1, :4], atol=1e-5)
    _, scores = encoder(
        source, padding_mask=source_mask, return_attention_scores=True
    )
    assert np.all(to_numpy(scores)[1, :, :, 4:] == 0.0)


@pytest.mark.parametrize("normalize_first", [False, True])
def test_decoder_cache_equals_full_pass(data, normalize_first):
    source, target, source_mask = data
    encoded = to_numpy(
        TransformerEncoderBlock(32, 4)(source, padding_mask=source_mask)
    )
    decoder = TransformerDecoderBlock(
        32, 4, num_key_value_heads=2, normalize_first=normalize_first
    )
    full = to_numpy(decoder(target, encoded, encoder_padding_mask=source_mask))
    self_cache = np.zeros((B, 2, T, 2, 4), "float32")
    cross_cache = np.zeros((B, 2, S, 2, 4), "float32")
    steps = []
    for i in range(T):
        out, self_cache, cross_cache = decoder(
            target[:, i : i + 1],
            encoded,
            encoder_padding_mask=source_mask,
            self_attention_cache=self_cache,
            self_attention_cache_update_index=i,
            cross_attention_cache=cross_cache,
            cross_attention_cache_update_index=0 if i == 0 else None,
        )
        steps.append(to_numpy(out))
    np.testing.assert_allclose(np.concatenate(steps, 1), full, atol=1e-5)


def test_decoder_is_causal(data):
    _, target, _ = data
    decoder = TransformerDecoderBlock(32, 4)
    out = to_numpy(decoder(target))
    changed = target.copy()
    changed[:, -1] += 1.0
    np.testing.assert_allclose(
        to_numpy(decoder(changed))[:, :-1], out[:, :-1], atol=1e-5
    )


def test_decoder_returns_cross_attention_weights(data):
    source, target, source_mask = data
    decoder = TransformerDecoderBlock(32, 4)
    out, scores = decoder(
        target,
        source,
        encoder_padding_mask=source_mask,
        return_attention_scores=True,
    )
    assert scores.shape == (B, 4, T, S)
    assert np.all(to_numpy(scores)[1, ..., 4:] == 0.0)


def test_configuration_errors(data):
    source, target, _ = data
    with pytest.raises(ValueError, match="divisible by num_heads=3"):
        TransformerEncoderBlock(32, 3)(source)
    decoder = TransformerDecoderBlock(32, 4)
    decoder(target, source)
    with pytest.raises(ValueError, match="encoder_sequence` is required"):
        decoder(target)
    decoder_only = TransformerDecoderBlock(32, 4)
    decoder_only(target)
    with pytest.raises(ValueError, match="decoder-only"):
        decoder_only(target, source)
