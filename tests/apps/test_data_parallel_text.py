"""`train --distribution data-parallel | model-parallel` of the text apps.

The tiny translation, summarization and QA runs on two virtual devices must
follow the one-device run's loss trajectory for the same global batch.
Each app trains in one pass of `tests/run.sh` (`BACKENDS`): their data
pipelines differ, the distribution code does not, and traffic covers it on
both JAX and TensorFlow (`test_data_parallel.py`), export and serving
included. Model parallelism (JAX only) splits the translation Transformer's
token embedding between the two, and its run exports like any run
(`export` checks the SavedModel's answers against the run's in a fresh
process).
"""

import keras
import pytest
from tiny_apps import check_distributed, check_refused, export

# App -> the backend whose pass trains it data-parallel.
BACKENDS = {
    "qa": "tensorflow",
    "summarization": "jax",
    "translation": "tensorflow",
}


@pytest.mark.parametrize("app", sorted(BACKENDS))
def test_data_parallel_follows_one_device(app, tiny_data, tmp_path):
    backend = BACKENDS[app]
    if backend != keras.backend.backend():
        pytest.skip(f"trains in the {backend} pass")
    check_distributed(app, tiny_data, tmp_path, backend)


@pytest.mark.skipif(keras.backend.backend() != "jax", reason="JAX only")
def test_model_parallel_splits_the_token_embedding(tiny_data, tmp_path):
    run, setting = check_distributed(
        "translation", tiny_data, tmp_path, "jax", "model-parallel"
    )
    assert setting["mesh"] == {"batch": 1, "model": 2}
    # The tiny config's embedding_dim of 16, halved on each device.
    split = setting["shape_per_device"]
    assert [path.split("/")[-2:] for path in split] == [
        ["token_embedding", "embeddings"]
    ]
    assert [shape[1] for shape in split.values()] == [8]
    assert (export("translation", run, "jax") / "saved_model.pb").is_file()


@pytest.mark.skipif(
    keras.backend.backend() != "tensorflow", reason="one backend suffices"
)
@pytest.mark.parametrize(
    "app, backend, message, options",
    [
        ("translation", "tensorflow", "needs the JAX backend", []),
        ("qa", "jax", "this app has none to split", []),
        (
            "translation",
            "jax",
            # The default config's embedding_dim of 256 over 3 devices.
            "cannot split embedding_dim 256 into 3 equal parts",
            ["--devices", "3", "--model-devices", "3"],
        ),
    ],
)
def test_model_parallel_refusals_are_one_line(
    app, backend, message, options, tiny_data, tmp_path
):
    check_refused(
        app,
        tiny_data,
        tmp_path,
        backend,
        message,
        "--distribution",
        "model-parallel",
        *options,
    )
