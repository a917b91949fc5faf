"""The layers on a layers-only install: Keras, NumPy and JAX, no TensorFlow.

Run by `.ci/run` with the Python of a fresh virtual environment holding
`pip install . "jax[cpu]"` (the base install, no extras), from outside the
repository. Every public layer is imported and used in one model, which is
fitted a few steps, saved to `.keras` and loaded back with the same
outputs; no TensorFlow module may load, and `attn` says in one line which
extra the apps need. Exits non-zero on any failure.
"""

import os
import subprocess
import sys
import tempfile

os.environ["KERAS_BACKEND"] = "jax"

import keras  # noqa: E402
import numpy as np  # noqa: E402

from attention_suite import layers  # noqa: E402


def build():
    """A model that calls every public layer once."""
    tokens = keras.Input((6,), dtype="int32")
    x = keras.layers.Embedding(20, 8)(tokens)
    x = layers.TransformerEncoderBlock(16, 2, name="encoder")(x)
    memory = layers.MultiHeadAttention(2, 4, name="mha")(x, x)
    y = layers.TransformerDecoderBlock(16, 2, name="decoder")(x, memory)
    for score, options in (
        ("dot", None),
        ("scaled_dot", None),
        ("general", None),
        ("additive", None),
        ("location", {"max_length": 6}),
    ):
        y = y + layers.Attention(
            score=score, score_kwargs=options, name=f"attn_{score}"
        )(y, x)
    merged = layers.BidirectionalAttention(name="bidaf")(y, x)
    y = y + keras.layers.Dense(8)(merged)
    context, _, _ = layers.CoverageAttention(4, name="coverage")(
        y[:, 0], x, keras.ops.zeros_like(x[:, :, 0])
    )
    grid = keras.ops.reshape(keras.ops.tile(y, (1, 1, 2)), (-1, 6, 2, 8))
    grid = layers.TemporalAttention(2, 4, name="temporal")(grid)
    grid = layers.SpatialAttention(2, 4, name="spatial")(grid)
    pooled = layers.AttentionPooling(name="pooling")(y)
    out = keras.layers.Dense(1)(
        keras.ops.concatenate(
            [pooled, context, keras.ops.mean(grid, axis=(1, 2))], axis=-1
        )
    )
    return keras.Model(tokens, out)


def main():
    model = build()
    model.compile(optimizer="adam", loss="mse")
    rng = np.random.default_rng(0)
    tokens = rng.integers(1, 20, (16, 6)).astype("int32")
    targets = rng.normal(size=(16, 1)).astype("float32")
    model.fit(tokens, targets, epochs=2, batch_size=8, verbose=0)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.keras")
        model.save(path)
        loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(
        loaded.predict(tokens, verbose=0),
        model.predict(tokens, verbose=0),
        atol=1e-5,
    )
    loaded_tf = [m for m in sys.modules if m.split(".")[0] == "tensorflow"]
    assert not loaded_tf, loaded_tf
    attn = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "attn"), "--help"],
        capture_output=True,
        text=True,
    )
    assert attn.returncode == 1, attn
    assert attn.stderr.count("\n") == 1, attn.stderr
    assert 'pip install "attention-suite[apps]"' in attn.stderr, attn.stderr
    print(f"layers-only install on JAX: {len(layers.__all__)} public names")


if __name__ == "__main__":
    main()
