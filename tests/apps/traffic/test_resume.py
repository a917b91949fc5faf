"""Runs never mix: a run directory that holds a run is refused unless
`--resume` continues it or `--overwrite` replaces it, and a resume trains
no finished phase again (a killed run: `test_kill_resume.py`)."""

import json
import os
import shutil
import sys

import pandas as pd
import pytest
from helpers import history_epochs, run_file, traffic_train

from attention_suite.apps.cli import main


@pytest.fixture(scope="module")
def finished(files, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("finished") / "run"
    assert main(traffic_train(files, run_dir, "gru_baseline=false")) == 0
    return run_dir


def test_a_second_train_into_a_run_is_refused_in_one_line(
    files, finished, capsys
):
    before = {n: run_file(finished, n) for n in ("config.json", "history.csv")}
    capsys.readouterr()
    code = main(
        traffic_train(files, finished, "gru_baseline=false", "input_dim=8")
    )
    err = capsys.readouterr().err
    assert code == 1
    assert err.count("\n") == 1
    assert "already holds a run" in err
    assert "--resume" in err and "--overwrite" in err
    assert {n: run_file(finished, n) for n in before} == before


def test_resume_of_a_finished_run_says_there_is_nothing_to_do(
    files, finished, capsys
):
    before = run_file(finished, "history.csv")
    capsys.readouterr()
    code = main(
        traffic_train(files, finished, "gru_baseline=false") + ["--resume"]
    )
    out = capsys.readouterr().out
    assert code == 0 and "finished run: nothing to resume" in out
    assert run_file(finished, "history.csv") == before


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


def test_overwrite_starts_afresh_and_drops_the_old_run(
    files, finished, tmp_path
):
    run_dir = tmp_path / "run"
    shutil.copytree(finished, run_dir)
    assert history_epochs(run_dir) == [0]
    args = traffic_train(
        files, run_dir, "gru_baseline=false", "input_dim=8", "epochs=2"
    )
    assert main(args + ["--overwrite"]) == 0
    assert json.loads(run_file(run_dir, "config.json"))["input_dim"] == 8
    # The new run's two epochs alone: the old run's row is gone.
    assert history_epochs(run_dir) == [0, 1]
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


def test_another_apps_run_is_named_as_such(finished, capsys):
    capsys.readouterr()
    assert main(["translate", "predict", "--run", str(finished), "x"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "is a run of `attn traffic`, not of `attn translate`" in err
