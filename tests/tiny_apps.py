"""Every app trained tiny through the command line, on a chosen backend.

The data-parallel and mixed-precision tests train each app in a new
process (`attn <command> train`) with the settings below, on small files
written by `write_data`.
"""

import csv
import json
import os

import pytest
from helpers import TRAFFIC_TINY, attn

from attention_suite.apps.qa.synthetic import write_demo_squad
from attention_suite.apps.summarization.synthetic import write_demo_jsonl
from attention_suite.apps.traffic.synthetic import write_demo_files
from attention_suite.apps.translation.synthetic import write_demo_tsv

# Each app's command and a tiny config (dropout off: two runs of the same
# weights and batches then compute the same function).
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
# How far (relative) a two-device run's epoch losses may move from the
# one-device run's: the same batches and weights, summed in another order,
# and an epoch's partial batches cut to an even size.
DATA_PARALLEL_TOLERANCE = 0.03
# The export base's directory of each command's app.
EXPORT_DIRS = {"translate": "translation", "summarize": "summarization"}


def write_data(root):
    """Writes each app's small data files under `root`.

    Args:
        root: a `pathlib.Path` (an existing directory).

    Returns:
        A dict from app name to its `train` data arguments.
    """
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


def train(app, data, out, backend, *options):
    """Trains `app` tiny for one epoch on `backend`; asserts it succeeded.

    Args:
        app: a key of `APPS`.
        data: the dict `write_data` returns.
        out: the run directory, a `pathlib.Path`.
        backend: the Keras backend of the training process.
        *options: more `train` options (`"--precision", "mixed_bfloat16"`).

    Returns:
        `out`.
    """
    command, settings = APPS[app]
    arguments = [command, "train", *data[app], "--out", str(out)]
    for setting in [*settings, "epochs=1"]:
        arguments += ["--set", setting]
    run = attn(
        *arguments, *options, cwd=out.parent, env={"KERAS_BACKEND": backend}
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return out


def export(app, run, backend):
    """Exports a run as version 1 under `<run>/../saved_models`.

    Args:
        app: a key of `APPS`.
        run: the run directory, a `pathlib.Path`.
        backend: the Keras backend of the exporting process.

    Returns:
        The version directory, a `pathlib.Path`.
    """
    command = APPS[app][0]
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
    return base / EXPORT_DIRS.get(command, command) / "1"


def check_refused(app, data, root, backend, message, *options):
    """Asserts that `train` with `options` is refused in one line.

    Args:
        app: a key of `APPS`.
        data: the dict `write_data` returns.
        root: an existing directory, a `pathlib.Path`; the refused run's
            directory (`root / "run"`) must not be created.
        backend: the Keras backend of the training process.
        message: what standard error must say.
        *options: the `train` options refused.
    """
    run = attn(
        APPS[app][0],
        "train",
        *data[app],
        "--out",
        str(root / "run"),
        *options,
        cwd=root,
        env={"KERAS_BACKEND": backend},
    )
    assert run.returncode == 1
    assert run.stderr.strip().count("\n") == 0, run.stderr[-3000:]
    assert message in run.stderr
    assert not (root / "run").exists()


def losses(run_dir):
    """The epochs' `(loss, val_loss)` of a run's `history.csv`."""
    with open(os.path.join(run_dir, "history.csv")) as f:
        rows = list(csv.DictReader(f))
    return [(float(r["loss"]), float(r["val_loss"])) for r in rows]


def check_distributed(app, data, root, backend, distribution="data-parallel"):
    """Trains `app` on one device, then distributed on two, and compares.

    Asserts that the two-device run's epoch losses follow the one-device
    run's (same global batch) within `DATA_PARALLEL_TOLERANCE` and that its
    `run.json` records the distribution over two devices.

    Args:
        app: a key of `APPS`.
        data: the dict `write_data` returns.
        root: an existing directory for the two runs, a `pathlib.Path`.
        backend: the Keras backend of the training processes.
        distribution: the `--distribution` of the two-device run.

    Returns:
        The two-device run's directory and its `training_setting` (from its
        `run.json`).
    """
    # One epoch of several steps: each step's update feeds the next step's
    # loss, so the epoch's mean loss follows the whole trajectory.
    one = losses(train(app, data, root / "one", backend))
    two_devices = ("--distribution", distribution, "--devices", "2")
    run = train(app, data, root / "two", backend, *two_devices)
    two = losses(run)
    assert len(one) == len(two) == 1
    for expected, found in zip(one, two):
        assert found == pytest.approx(expected, rel=DATA_PARALLEL_TOLERANCE)
    with open(run / "run.json") as f:
        setting = json.load(f)["training_setting"]
    assert setting["distribution"] == distribution
    assert len(setting["devices"]) == 2
    return run, setting
