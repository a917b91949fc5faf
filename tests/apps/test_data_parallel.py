"""`train --distribution data-parallel`, through the command line.

Runs in each backend's pass of `tests/run.sh`, on that backend. On JAX and
TensorFlow, data parallelism runs on two virtual devices of this CPU (JAX
host devices, TensorFlow logical CPUs): the tiny traffic run on two
devices must follow the one-device run's loss trajectory for the same
global batch, and a data-parallel run exports and serves like any other.
On torch the flag is refused in one line. The text apps' runs are in
`test_data_parallel_text.py` (another file, so that another worker of
`tests/run.sh` takes them).
"""

import keras
import pytest
from helpers import attn
from tiny_apps import check_distributed, check_refused, export

BACKEND = keras.backend.backend()
needs_distribution = pytest.mark.skipif(
    BACKEND == "torch", reason="torch has no Keras data parallelism"
)


@needs_distribution
def test_data_parallel_follows_one_device_and_serves(tiny_data, tmp_path):
    run, _ = check_distributed("traffic", tiny_data, tmp_path, BACKEND)
    # The export checks its answers against this run's in a fresh process.
    model = export("traffic", run, BACKEND)
    if BACKEND == "tensorflow":
        # Serving its warm-up requests is a property of the graph, which
        # the exporter writes under TensorFlow whatever trained the run.
        check = attn(
            "traffic",
            "serve-check",
            "--model",
            str(model),
            "--seconds",
            "0.1",
            cwd=tmp_path,
        )
        assert check.returncode == 0, check.stderr[-3000:]
        assert "serves its warm-up requests" in check.stdout


@pytest.mark.skipif(BACKEND != "torch", reason="refused on torch only")
def test_torch_refuses_data_parallel_in_one_line(tiny_data, tmp_path):
    check_refused(
        "traffic",
        tiny_data,
        tmp_path,
        BACKEND,
        "JAX or TensorFlow backend",
        "--distribution",
        "data-parallel",
    )


@pytest.mark.skipif(
    BACKEND != "tensorflow", reason="refused before a backend loads"
)
def test_devices_without_distribution_is_refused(tiny_data, tmp_path):
    check_refused(
        "traffic",
        tiny_data,
        tmp_path,
        BACKEND,
        "--devices needs --distribution data-parallel or model-parallel",
        "--devices",
        "2",
    )
