"""A `.keras` file saved before the layers moved into `attention_suite`.

`tests/fixtures/layers_0.1.0.keras` was saved by attention-suite 0.1.0 on the
TensorFlow backend, when the layers were imported as a top-level `layers`
package (its config names modules such as `layers.multi_head_attention`). The
layers are found by their registered names (`attention_suite>...`), so the
file loads under the new namespace and answers as it did when saved
(`layers_0.1.0.npz` holds the inputs and the outputs at saving time).
"""

import pathlib

import keras
import numpy as np

from attention_suite import layers  # noqa: F401 (registers the layers)

FIXTURES = pathlib.Path(__file__).resolve().parents[1] / "fixtures"


def test_a_model_saved_before_the_namespace_move_loads_and_answers_alike():
    model = keras.saving.load_model(FIXTURES / "layers_0.1.0.keras")
    saved = np.load(FIXTURES / "layers_0.1.0.npz")
    pooled, grid = model.predict([saved["sequence"], saved["grid"]], verbose=0)
    np.testing.assert_allclose(pooled, saved["pooled"], atol=1e-5)
    np.testing.assert_allclose(grid, saved["grid_out"], atol=1e-5)
    assert type(model.get_layer("mha")).__module__ == (
        "attention_suite.layers.multi_head_attention"
    )
