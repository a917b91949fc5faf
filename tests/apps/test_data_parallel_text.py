"""`train --distribution data-parallel` of the text apps.

The tiny translation, summarization and QA runs on two virtual devices must
follow the one-device run's loss trajectory for the same global batch.
Each app trains in one pass of `tests/run.sh` (`BACKENDS`): their data
pipelines differ, the distribution code does not, and traffic covers it on
both JAX and TensorFlow (`test_data_parallel.py`).
"""

import keras
import pytest
from tiny_apps import check_data_parallel

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
    check_data_parallel(app, tiny_data, tmp_path, backend)
