"""Runs never mix: a run directory that holds a run is refused unless
`--resume` continues it or `--overwrite` replaces it, and a killed run
resumes where it stopped (a finished phase is not trained again)."""

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
from helpers import traffic_train

from attention_suite.apps.cli import main


def _read(run_dir, name):
    with open(os.path.join(run_dir, name), "rb") as f:
        return f.read()


def _epochs(run_dir):
    return list(pd.read_csv(os.path.join(run_dir, "history.csv"))["epoch"])


@pytest.fixture(scope="module")
def finished(files, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("finished") / "run"
    assert main(traffic_train(files, run_dir, "gru_baseline=false")) == 0
    return run_dir


def test_a_second_train_into_a_run_is_refused_in_one_line(
    files, finished, capsys
):
    before = {n: _read(finished, n) for n in ("config.json", "history.csv")}
    capsys.readouterr()
    code = main(
        traffic_train(files, finished, "gru_baseline=false", "input_dim=8")
    )
    err = capsys.readouterr().err
    assert code == 1
    assert err.count("\n") == 1
    assert "already holds a run" in err
    assert "--resume" in err and "--overwrite" in err
    assert {n: _read(finished, n) for n in before} == before


def test_resume_of_a_finished_run_says_there_is_nothing_to_do(
    files, finished, capsys
):
    before = _read(finished, "history.csv")
    capsys.readouterr()
    code = main(
        traffic_train(files, finished, "gru_baseline=false") + ["--resume"]
    )
    out = capsys.readouterr().out
    assert code == 0 and "finished run: nothing to resume" in out
    assert _read(finished, "history.csv") == before


def test_resume_refuses_a_changed_setting(files, finished, capsys):
    args = traffic_train(files, finished, "gru_baseline=false", "input_dim=8")
    capsys.readouterr()
    assert main(args + ["--resume"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot change input_dim" in err


def test_resume_of_nothing_is_refused(files, tmp_path, capsys):
    assert main(traffic_train(files, tmp_path / "none") + ["--resume"]) == 1
    assert "holds no run to resume" in capsys.readouterr().err
    assert not (tmp_path / "none").exists()


def test_overwrite_starts_afresh_and_drops_the_old_run(files, tmp_path):
    run_dir = tmp_path / "run"
    assert (
        main(traffic_train(files, run_dir, "gru_baseline=false", "epochs=2"))
        == 0
    )
    assert _epochs(run_dir) == [0, 1]
    args = traffic_train(files, run_dir, "gru_baseline=false", "input_dim=8")
    assert main(args + ["--overwrite"]) == 0
    assert json.loads(_read(run_dir, "config.json"))["input_dim"] == 8
    assert _epochs(run_dir) == [0]
    assert sorted(os.listdir(tmp_path)) == ["run"]


def test_a_finished_phase_is_never_trained_again(
    files, tmp_path, capsys, monkeypatch
):
    run_dir = str(tmp_path / "run")
    assert main(traffic_train(files, run_dir)) == 0
    out = capsys.readouterr().out
    # Each phase is named. Off a terminal, Keras writes a line an epoch.
    assert "Training the attention model" in out
    assert "Training the GRU baseline" in out
    assert "━" not in out
    run_path = os.path.join(run_dir, "run.json")
    with open(run_path) as file:
        info = json.load(file)
    # As if the process had been killed during the GRU phase (before the
    # run was marked finished).
    del info["gru_train_seconds"], info["training_setting"]
    with open(run_path, "w") as file:
        json.dump(info, file)
    model = os.path.join(run_dir, "model.keras")
    stamp = os.path.getmtime(model)
    history = pd.read_csv(os.path.join(run_dir, "history.csv"))

    # On a terminal, Keras' progress bar shows the steps of each epoch.
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    assert main(traffic_train(files, run_dir) + ["--resume"]) == 0
    out = capsys.readouterr().out
    assert "Training the attention model" not in out
    assert "Training the GRU baseline" in out
    assert "━" in out and "\r" in out
    assert os.path.getmtime(model) == stamp
    again = pd.read_csv(os.path.join(run_dir, "history.csv"))
    pd.testing.assert_frame_equal(again, history)
    with open(run_path) as file:
        resumed = json.load(file)
    assert resumed["train_seconds"] == info["train_seconds"]
    assert resumed["gru_train_seconds"] > 0


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
def killed(files, tmp_path_factory):
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
    assert 3 <= len(_epochs(run_dir)) < 12
    return run_dir


@pytest.fixture(scope="module")
def uninterrupted(files, tmp_path_factory):
    """The killed run's 12 epochs, trained in one go (in a new process,
    as the killed run was)."""
    run_dir = tmp_path_factory.mktemp("uninterrupted") / "run"
    assert _train_in_a_process(_long_run(files, run_dir)).wait() == 0
    return run_dir


def _copy_killed(killed, files, run_dir):
    """Copies the killed run to `run_dir`; returns the arguments that
    resume it there."""
    shutil.copytree(killed, run_dir)
    return _long_run(files, run_dir) + ["--resume"]


def test_a_killed_run_resumes_from_its_last_backup(killed, files, tmp_path):
    run_dir = tmp_path / "run"
    args = _copy_killed(killed, files, run_dir)
    assert main(args + ["--set", "max_minutes=30"]) == 0
    epochs = _epochs(run_dir)
    # Every epoch once, in order (an epoch whose row the kill cut off is
    # trained again from the backup before it).
    assert epochs == list(range(len(epochs))) and len(epochs) == 12
    assert json.loads(_read(run_dir, "config.json"))["max_minutes"] == 30
    # `run.json` counts both attempts.
    attempts = json.loads(_read(run_dir, "attempts.json"))
    assert len(attempts) == 2 and attempts[0]["epochs"] >= 1
    # The copy resumed from the backups (at least two epochs'), not afresh.
    assert attempts[1]["epochs"] <= 10
    info = json.loads(_read(run_dir, "run.json"))
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
    assert _epochs(run_dir) == list(range(12))

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


def test_another_apps_run_is_named_as_such(finished, capsys):
    capsys.readouterr()
    assert main(["translate", "predict", "--run", str(finished), "x"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "is a run of `attn traffic`, not of `attn translate`" in err


def test_a_resumed_run_follows_the_uninterrupted_one(
    killed, uninterrupted, files, tmp_path
):
    run_dir = tmp_path / "run"
    assert main(_copy_killed(killed, files, run_dir)) == 0
    resumed, whole = (
        pd.read_csv(os.path.join(run, "history.csv"))
        for run in (run_dir, uninterrupted)
    )
    assert list(resumed["epoch"]) == list(whole["epoch"]) == list(range(12))
    # Up to the backup it resumed from, the epochs are the uninterrupted
    # run's, number for number: the same seed, weights and batches.
    kept = json.loads(_read(run_dir, "attempts.json"))[0]["epochs"]
    assert kept >= 2
    columns = ["loss", "val_loss"]
    np.testing.assert_allclose(
        resumed[columns][:kept], whole[columns][:kept], rtol=1e-5
    )
    # After it, the batches come in a new order and dropout draws new
    # masks, so the runs part; they end close. Resumed at 2, 5 and 9
    # epochs, the best validation loss was 1.0 %, 3.7 % and 1.1 % from the
    # uninterrupted run's.
    assert resumed["val_loss"].min() == pytest.approx(
        whole["val_loss"].min(), rel=0.1
    )
