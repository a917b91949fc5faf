"""A run killed with SIGKILL mid-training resumes from its last backup,
falls back past a corrupt one, and ends where an uninterrupted run ends."""

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest
from helpers import history_epochs, run_file, traffic_train

from attention_suite.apps.cli import main


def _long_run(files, run_dir):
    """The `train` arguments of a 12-epoch run into `run_dir`."""
    args = traffic_train(files, run_dir, "gru_baseline=false", "epochs=12")
    return args + ["--set", "patience=12"]


def _train_in_a_process(args):
    """Starts `attn ARGS...` in a new process, its output discarded."""
    return subprocess.Popen(
        [sys.executable, "-m", "attention_suite.apps.cli", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


# Where the killed run is stopped: after 3 to 9 epochs' rows (so that two
# epochs' backups, the latest and the previous, are on disk) and a part of
# the next epoch, drawn from a fixed seed.
KILL_POINT = random.Random(35)
KILL_ROWS, KILL_DELAY = KILL_POINT.randint(3, 9), KILL_POINT.uniform(0, 0.5)


@pytest.fixture(scope="module")
def uninterrupted_process(files, tmp_path_factory):
    """The killed run's 12 epochs, trained in one go in a new process (as
    the killed run is), started first so that the two train side by side."""
    run_dir = tmp_path_factory.mktemp("uninterrupted") / "run"
    process = _train_in_a_process(_long_run(files, run_dir))
    yield process, run_dir
    process.kill()
    process.wait()


@pytest.fixture(scope="module")
def killed(files, uninterrupted_process, tmp_path_factory):
    """A 12-epoch run SIGKILLed at `KILL_ROWS` and `KILL_DELAY`; each test
    resumes a copy of it (`_copy_killed`)."""
    run_dir = tmp_path_factory.mktemp("killed") / "run"
    process = _train_in_a_process(_long_run(files, run_dir))
    history = run_dir / "history.csv"
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and process.poll() is None:
        # The header and the epochs' rows (an epoch's row is written
        # before its backup).
        if history.exists() and history.read_text().count("\n") > KILL_ROWS:
            time.sleep(KILL_DELAY)
            break
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert 3 <= len(history_epochs(run_dir)) < 12
    return run_dir


@pytest.fixture(scope="module")
def uninterrupted(uninterrupted_process):
    """The uninterrupted run's directory, once its process has finished."""
    process, run_dir = uninterrupted_process
    assert process.wait(timeout=600) == 0
    return run_dir


def _copy_killed(killed, files, run_dir):
    """Copies the killed run to `run_dir`; returns the arguments that
    resume it there."""
    shutil.copytree(killed, run_dir)
    return _long_run(files, run_dir) + ["--resume"]


@pytest.fixture(scope="module")
def resumed(killed, files, tmp_path_factory):
    """A copy of the killed run, resumed in this process (with a longer
    time limit, a setting a resume may raise)."""
    run_dir = tmp_path_factory.mktemp("resumed") / "run"
    args = _copy_killed(killed, files, run_dir)
    assert main(args + ["--set", "max_minutes=30"]) == 0
    return run_dir


def test_a_killed_run_resumes_from_its_last_backup(resumed):
    epochs = history_epochs(resumed)
    # Every epoch once, in order (an epoch whose row the kill cut off is
    # trained again from the backup before it).
    assert epochs == list(range(len(epochs))) and len(epochs) == 12
    assert json.loads(run_file(resumed, "config.json"))["max_minutes"] == 30
    # `run.json` counts both attempts.
    attempts = json.loads(run_file(resumed, "attempts.json"))
    assert len(attempts) == 2 and attempts[0]["epochs"] >= 1
    # The copy resumed from the backups (at least two epochs'), not afresh.
    assert attempts[1]["epochs"] <= 10
    info = json.loads(run_file(resumed, "run.json"))
    assert info["train_seconds"] == pytest.approx(
        sum(a["seconds"] for a in attempts), abs=0.01
    )


def test_a_corrupt_backup_falls_back_or_is_named(
    killed, files, tmp_path, capsys
):
    run_dir = tmp_path / "run"
    args = _copy_killed(killed, files, run_dir)
    backup = run_dir / "backup"
    latest = backup / "latest.weights.h5"
    latest.write_bytes(b"not an HDF5 file")
    # The previous epoch's backup is used instead.
    assert main(args) == 0
    assert history_epochs(run_dir) == list(range(12))

    run_dir = tmp_path / "again"
    args = _copy_killed(killed, files, run_dir)
    for name in os.listdir(run_dir / "backup"):
        if name.endswith(".bkp"):
            os.remove(run_dir / "backup" / name)
    with open(run_dir / "backup" / "latest.weights.h5", "r+b") as f:
        f.write(b"\0" * 64)
    capsys.readouterr()
    assert main(args) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert str(run_dir / "backup" / "latest.weights.h5") in err
    assert "cannot be read" in err


def test_a_resumed_run_follows_the_uninterrupted_one(resumed, uninterrupted):
    history, whole = (
        pd.read_csv(os.path.join(run, "history.csv"))
        for run in (resumed, uninterrupted)
    )
    assert list(history["epoch"]) == list(whole["epoch"]) == list(range(12))
    # Up to the backup it resumed from, the epochs are the uninterrupted
    # run's, number for number: the same seed, weights and batches.
    kept = json.loads(run_file(resumed, "attempts.json"))[0]["epochs"]
    assert kept >= 2
    columns = ["loss", "val_loss"]
    np.testing.assert_allclose(
        history[columns][:kept], whole[columns][:kept], rtol=1e-5
    )
    # After it, the batches come in a new order and dropout draws new
    # masks, so the runs part; they end close. Resumed at 2, 5 and 9
    # epochs, the best validation loss was 1.0 %, 3.7 % and 1.1 % from the
    # uninterrupted run's.
    assert history["val_loss"].min() == pytest.approx(
        whole["val_loss"].min(), rel=0.1
    )
