"""Properties every layer must have: serialization, gradients, jit,
mixed precision, unknown batch and sequence sizes."""

import keras
import numpy as np
import pytest
from cases import CASES
from helpers import gradients, to_numpy

ids = [case.name for case in CASES]


@pytest.fixture(autouse=True)
def _float32_policy_and_seed():
    # Seeded weights: a property must not hold only for lucky draws.
    keras.utils.set_random_seed(0)
    yield
    keras.config.set_dtype_policy("float32")


@pytest.mark.parametrize("case", CASES, ids=ids)
def test_keras_file_round_trip(case, tmp_path):
    model, _ = case.model()
    want = to_numpy(model(case.inputs))
    path = tmp_path / "model.keras"
    model.save(path)
    restored = keras.saving.load_model(path)
    np.testing.assert_array_equal(to_numpy(restored(case.inputs)), want)


@pytest.mark.parametrize("case", CASES, ids=ids)
def test_config_round_trip(case):
    _, layer = case.model()
    config = layer.get_config()
    clone = type(layer).from_config(config)
    assert clone.get_config() == config
    serialized = keras.saving.serialize_keras_object(layer)
    assert type(keras.saving.deserialize_keras_object(serialized)) is type(
        layer
    )


@pytest.mark.parametrize("case", CASES, ids=ids)
def test_gradients_are_finite_and_nonzero(case):
    _, layer = case.model()
    input_grads, variable_grads = gradients(layer, case.call, case.inputs)
    assert len(variable_grads) == len(layer.trainable_variables)
    named = [("input", g) for g in input_grads] + [
        (v.path, g) for v, g in zip(layer.trainable_variables, variable_grads)
    ]
    for name, grad in named:
        assert np.all(np.isfinite(grad)), name
        assert np.any(grad != 0), name


# On torch, `jit_compile=True` is `torch.compile`, whose inductor writes and
# compiles C++ for each graph: 10 to 35 s a case on a 2-core CPU. The torch
# pass compiles one case of each layer class: the other score functions
# run through the same `Attention` code, and the other MHA paths through
# the same projections and masks as these two (the explicit path is the
# chunked path's inner step).
TORCH_JIT_SKIPS = {
    "attention_dot",
    "attention_scaled_dot",
    "attention_general",
    "attention_location",
    "mha_explicit",
    "mha_causal",
}


@pytest.mark.parametrize("case", CASES, ids=ids)
def test_jit_compiled_training_and_prediction(case):
    if keras.backend.backend() == "torch" and case.name in TORCH_JIT_SKIPS:
        pytest.skip("compiled on torch through another case of its layer")
    model, _ = case.model()
    eager = to_numpy(model(case.inputs))
    model.compile(optimizer="sgd", loss="mse", jit_compile=True)
    np.testing.assert_allclose(
        model.predict(case.inputs, verbose=0), eager, atol=1e-5
    )
    target = np.zeros_like(eager)
    losses = [model.train_on_batch(case.inputs, target) for _ in range(2)]
    assert np.all(np.isfinite(losses))


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
@pytest.mark.parametrize("case", CASES, ids=ids)
def test_mixed_precision_close_to_float32(case, policy):
    model32, _ = case.model()
    want = to_numpy(model32(case.inputs))
    mixed, layer = case.model(dtype=policy)
    mixed.set_weights(model32.get_weights())
    got = to_numpy(mixed(case.inputs))
    assert layer.compute_dtype == policy.split("_")[1]
    assert str(got.dtype) == (
        "float32" if case.float32_output else policy.split("_")[1]
    )
    # bfloat16 keeps 8 bits of mantissa: after a few matmuls and norms its
    # error grows with the outputs' magnitude, so the bound scales with it.
    tolerance = 2e-2 if policy == "mixed_float16" else 5e-2
    scale = max(1.0, float(np.abs(want).max()))
    np.testing.assert_allclose(
        got.astype("float32"), want, atol=tolerance * scale, rtol=tolerance
    )


@pytest.mark.parametrize("case", CASES, ids=ids)
def test_unknown_batch_and_sequence_sizes(case):
    model, _ = case.model()
    assert model.inputs[0].shape[0] is None
    first = to_numpy(model(case.inputs))
    doubled = [np.concatenate([x, x]) for x in case.inputs]
    np.testing.assert_allclose(
        to_numpy(model(doubled)), np.concatenate([first, first]), atol=1e-5
    )
