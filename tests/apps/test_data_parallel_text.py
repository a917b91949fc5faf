"""`train --distribution data-parallel` of the text apps.

Runs in the JAX and TensorFlow passes of `tests/run.sh`: the tiny
translation, summarization and QA runs on two virtual devices must follow
the one-device run's loss trajectory for the same global batch (traffic is
in `test_data_parallel.py`).
"""

import keras
import pytest
from tiny_apps import check_data_parallel

BACKEND = keras.backend.backend()


@pytest.mark.skipif(
    BACKEND == "torch", reason="torch has no Keras data parallelism"
)
@pytest.mark.parametrize("app", ["qa", "summarization", "translation"])
def test_data_parallel_follows_one_device(app, tiny_data, tmp_path):
    check_data_parallel(app, tiny_data, tmp_path, BACKEND)
