"""`train --distribution data-parallel`, through the command line.

Runs in each backend's pass of `tests/run.sh`, on that backend. On JAX and
TensorFlow, data parallelism runs on two virtual devices of this CPU (JAX
host devices, TensorFlow logical CPUs): each app's tiny run on two devices
must follow the one-device run's loss trajectory for the same global
batch, and a data-parallel run exports and serves like any other. On torch
the flag is refused in one line.
"""

import json

import keras
import pytest
from helpers import attn
from tiny_apps import APPS, export, losses, train, write_data

BACKEND = keras.backend.backend()
needs_distribution = pytest.mark.skipif(
    BACKEND == "torch", reason="torch has no Keras data parallelism"
)
# How far (relative) a two-device run's epoch losses may move from the
# one-device run's: the same batches and weights, summed in another order,
# and an epoch's partial batches cut to an even size.
TOLERANCE = 0.03


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """The `train` data arguments of each app: small generated files."""
    return write_data(tmp_path_factory.mktemp("data_parallel"))


@needs_distribution
@pytest.mark.parametrize("app", sorted(APPS))
def test_data_parallel_follows_one_device(app, data, tmp_path):
    one = losses(train(app, data, tmp_path / "one", BACKEND))
    run = train(
        app,
        data,
        tmp_path / "two",
        BACKEND,
        "--distribution",
        "data-parallel",
        "--devices",
        "2",
    )
    two = losses(run)
    assert len(one) == len(two) == 2
    for expected, found in zip(one, two):
        assert found == pytest.approx(expected, rel=TOLERANCE)
    with open(run / "run.json") as f:
        setting = json.load(f)["training_setting"]
    assert setting["distribution"] == "data-parallel"
    assert len(setting["devices"]) == 2


@needs_distribution
def test_data_parallel_run_exports_and_serves(data, tmp_path):
    run = train(
        "traffic",
        data,
        tmp_path / "run",
        BACKEND,
        "--distribution",
        "data-parallel",
        epochs=1,
    )
    check = attn(
        "traffic",
        "serve-check",
        "--model",
        str(export("traffic", run, BACKEND)),
        "--seconds",
        "0.1",
        cwd=tmp_path,
    )
    assert check.returncode == 0, check.stderr[-3000:]
    assert "serves its warm-up requests" in check.stdout


@pytest.mark.skipif(BACKEND != "torch", reason="refused on torch only")
def test_torch_refuses_data_parallel_in_one_line(data, tmp_path):
    run = attn(
        "traffic",
        "train",
        *data["traffic"],
        "--out",
        str(tmp_path / "run"),
        "--distribution",
        "data-parallel",
        cwd=tmp_path,
        env={"KERAS_BACKEND": BACKEND},
    )
    assert run.returncode == 1
    assert run.stderr.strip().count("\n") == 0
    assert "JAX or TensorFlow backend" in run.stderr
    assert not (tmp_path / "run").exists()


def test_devices_without_distribution_is_refused(data, tmp_path):
    run = attn(
        "traffic",
        "train",
        *data["traffic"],
        "--out",
        str(tmp_path / "run"),
        "--devices",
        "2",
        cwd=tmp_path,
        env={"KERAS_BACKEND": BACKEND},
    )
    assert run.returncode == 1
    assert "--devices needs --distribution data-parallel" in run.stderr
