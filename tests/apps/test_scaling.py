"""`train --distribution data-parallel` and `--precision`, through the CLI.

Data parallelism runs on two virtual devices of this CPU (JAX host devices,
TensorFlow logical CPUs): each app's tiny run on two devices must follow
the one-device run's loss trajectory for the same global batch, and a
data-parallel run exports and serves like any other. Each app also trains
in mixed precision and exports a SavedModel with float32 numbers in and
out.
"""

import csv
import json
import os

import pytest
from helpers import TRAFFIC_TINY, attn

from attention_suite.apps.common.serving_notes import signatures
from attention_suite.apps.qa.synthetic import write_demo_squad
from attention_suite.apps.summarization.synthetic import write_demo_jsonl
from attention_suite.apps.traffic.synthetic import write_demo_files
from attention_suite.apps.translation.synthetic import write_demo_tsv

# How far (relative) a two-device run's epoch losses may move from the
# one-device run's: the same batches and weights, summed in another order
# (and, on JAX, an epoch's partial batch cut to an even size).
TOLERANCE = 0.03
# Each app's command, a tiny config (dropout off: both runs then compute
# the same function) and its data file, written by `write_data`.
APPS = {
    "translation": (
        "translate",
        [
            "embedding_dim=16",
            "num_layers=1",
            "num_heads=2",
            "intermediate_dim=32",
            "vocabulary_size=120",
            "max_length=16",
            "batch_size=32",
            "warmup_steps=5",
            "dropout=0.0",
            "beam_size=1",
        ],
    ),
    "summarization": (
        "summarize",
        [
            "vocabulary_size=120",
            "embedding_dim=16",
            "units=16",
            "attention_units=16",
            "max_source_length=32",
            "max_summary_length=8",
            "batch_size=32",
            "warmup_steps=5",
            "dropout=0.0",
            "beam_size=1",
        ],
    ),
    "qa": (
        "qa",
        [
            "vocabulary_size=200",
            "embedding_dim=16",
            "units=16",
            "window=32",
            "stride=16",
            "max_question_length=8",
            "batch_size=32",
            "warmup_steps=5",
            "dropout=0.0",
            "train_limit=256",
        ],
    ),
    "traffic": ("traffic", [*TRAFFIC_TINY, "dropout=0.0"]),
}


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """The `train` data arguments of each app: small generated files."""
    root = tmp_path_factory.mktemp("scaling_data")
    speeds, adjacency = write_demo_files(
        str(root / "traffic"), num_sensors=4, days=2
    )
    tsv = write_demo_tsv(str(root / "pairs.tsv"))
    with open(tsv, encoding="utf-8") as f:
        lines = f.readlines()[:400]
    with open(tsv, "w", encoding="utf-8") as f:
        f.writelines(lines)
    return {
        "translation": ["--data", tsv],
        "summarization": [
            "--data",
            write_demo_jsonl(str(root / "docs.jsonl"), count=300),
        ],
        "qa": ["--data", write_demo_squad(str(root / "qa.json"), articles=8)],
        "traffic": ["--data", speeds, "--adjacency", adjacency],
    }


def train(app, data, out, backend, *options, epochs=2):
    """Trains `app` tiny on `backend` with extra `train` options."""
    command, settings = APPS[app]
    arguments = [command, "train", *data[app], "--out", str(out)]
    for setting in [*settings, f"epochs={epochs}"]:
        arguments += ["--set", setting]
    run = attn(
        *arguments, *options, cwd=out.parent, env={"KERAS_BACKEND": backend}
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return out


def export(command, run, backend):
    """Exports a run as version 1 under `<run>/../saved_models`; the base."""
    base = run.parent / "saved_models"
    done = attn(
        command,
        "export",
        "--run",
        str(run),
        "--base",
        str(base),
        cwd=run.parent,
        env={"KERAS_BACKEND": backend},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return base


def losses(run_dir):
    """The epochs' `loss` and `val_loss` of a run's history."""
    with open(os.path.join(run_dir, "history.csv")) as f:
        rows = list(csv.DictReader(f))
    return [(float(r["loss"]), float(r["val_loss"])) for r in rows]


@pytest.mark.parametrize("backend", ["jax", "tensorflow"])
@pytest.mark.parametrize("app", sorted(APPS))
def test_data_parallel_follows_one_device(app, backend, data, tmp_path):
    one = losses(train(app, data, tmp_path / "one", backend))
    run = train(
        app,
        data,
        tmp_path / "two",
        backend,
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


@pytest.mark.parametrize("backend", ["jax", "tensorflow"])
def test_data_parallel_run_exports_and_serves(backend, data, tmp_path):
    run = train(
        "traffic",
        data,
        tmp_path / "run",
        backend,
        "--distribution",
        "data-parallel",
        epochs=1,
    )
    base = export("traffic", run, backend)
    check = attn(
        "traffic",
        "serve-check",
        "--model",
        str(base / "traffic" / "1"),
        "--seconds",
        "0.1",
        cwd=tmp_path,
    )
    assert check.returncode == 0, check.stderr[-3000:]
    assert "serves its warm-up requests" in check.stdout


def test_torch_refuses_data_parallel_in_one_line(data, tmp_path):
    command, settings = APPS["traffic"]
    run = attn(
        command,
        "train",
        *data["traffic"],
        "--out",
        str(tmp_path / "run"),
        "--distribution",
        "data-parallel",
        cwd=tmp_path,
        env={"KERAS_BACKEND": "torch"},
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
    )
    assert run.returncode == 1
    assert "--devices needs --distribution data-parallel" in run.stderr


# Each app trains in mixed precision on one backend (all three covered).
PRECISION_CASES = [
    ("translation", "jax", "mixed_bfloat16"),
    ("summarization", "torch", "mixed_bfloat16"),
    ("qa", "tensorflow", "mixed_bfloat16"),
    ("traffic", "torch", "mixed_float16"),
]
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
EXPORT_DIRS = {"translate": "translation", "summarize": "summarization"}


@pytest.mark.parametrize("app,backend,precision", PRECISION_CASES)
def test_mixed_precision_trains_and_exports_float32(
    app, backend, precision, data, tmp_path
):
    run = train(
        app,
        data,
        tmp_path / "run",
        backend,
        "--precision",
        precision,
        epochs=1,
    )
    for loss, val_loss in losses(run):
        assert 0 < loss < float("inf") and 0 < val_loss < float("inf")
    command = APPS[app][0]
    base = export(command, run, backend)
    signature = signatures(str(base / EXPORT_DIRS.get(command, command) / "1"))[
        "serving_default"
    ]
    tensors = {**signature["inputs"], **signature["outputs"]}
    for name, (dtype, _) in tensors.items():
        assert dtype == SIGNATURE_DTYPES[app].get(name, "string"), name
    with open(run / "run.json") as f:
        assert json.load(f)["training_setting"]["precision"] == precision
