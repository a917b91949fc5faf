"""`train --precision`, through the command line.

Runs in each backend's pass of `tests/run.sh`: each app trains in mixed
precision on one backend (the three backends all covered), builds its
layers under the policy, and exports a SavedModel whose numbers in and out
keep their documented float32 / int32 dtypes.
"""

import json
import zipfile

import keras
import pytest
from tiny_apps import export, losses, train

from attention_suite.apps.common.serving.notes import signatures

# App -> the backend and the policy it trains with.
CASES = {
    "translation": ("jax", "mixed_bfloat16"),
    "summarization": ("torch", "mixed_bfloat16"),
    "qa": ("tensorflow", "mixed_bfloat16"),
    "traffic": ("torch", "mixed_float16"),
}
# Each app's documented `serving_default` numbers: the float32 and int32
# tensors its SavedModel takes and returns (the others are strings).
SIGNATURE_DTYPES = {
    "translation": {},
    "summarization": {},
    "qa": {"start": "int32", "end": "int32", "score": "float"},
    "traffic": {
        "history": "float",
        "time_of_day": "float",
        "day_of_week": "int32",
        "forecast": "float",
    },
}


@pytest.mark.parametrize("app", sorted(CASES))
def test_mixed_precision_trains_and_exports_float32(app, tiny_data, tmp_path):
    backend, precision = CASES[app]
    if backend != keras.backend.backend():
        pytest.skip(f"trains in the {backend} pass")
    run = train(
        app,
        tiny_data,
        tmp_path / "run",
        backend,
        "--precision",
        precision,
    )
    for loss, val_loss in losses(run):
        assert 0 < loss < float("inf") and 0 < val_loss < float("inf")
    # The model was built under the policy (its layers saved with it).
    with zipfile.ZipFile(run / "model.keras") as archive:
        assert f'"name": "{precision}"' in archive.read("config.json").decode()
    signature = signatures(str(export(app, run, backend)))["serving_default"]
    tensors = {**signature["inputs"], **signature["outputs"]}
    for name, (dtype, _) in tensors.items():
        assert dtype == SIGNATURE_DTYPES[app].get(name, "string"), name
    with open(run / "run.json") as f:
        assert json.load(f)["training_setting"]["precision"] == precision
