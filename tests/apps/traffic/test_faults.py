"""Faults in a traffic run's inputs: a missing file, a faulty reading in
the training part, a training that diverges."""

import json

import numpy as np
import pandas as pd
import pytest
from helpers import traffic_train

from attention_suite.apps.cli import main


@pytest.mark.parametrize("reading", [1e6, 1e21])
def test_a_faulty_training_reading_is_left_out(files, tmp_path, reading):
    speeds, adjacency = files
    series = pd.read_csv(speeds, index_col=0)
    series.iloc[100, 1] = reading
    faulty = tmp_path / "faulty.csv"
    series.to_csv(faulty)
    run_dir = tmp_path / "run"
    assert (
        main(
            traffic_train(
                (str(faulty), adjacency), run_dir, "gru_baseline=false"
            )
        )
        == 0
    )
    history = pd.read_csv(run_dir / "history.csv")
    # With the reading in the statistics, the std was 19,915 (1e6) or
    # infinite (1e21) and the validation loss 1,811 or NaN.
    assert history["val_loss"].notna().all()
    assert history["val_loss"].iloc[-1] < 100
    info = json.loads((run_dir / "run.json").read_text())
    assert info["std"] < 20
    assert (run_dir / "model.keras").exists()


def test_a_diverged_run_fails_in_one_line_and_leaves_nothing(
    files, tmp_path, capsys
):
    run_dir = tmp_path / "run"
    args = traffic_train(
        files, run_dir, "gru_baseline=false", "learning_rate=1e30"
    )
    capsys.readouterr()
    assert main(args) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Training diverged" in err
    assert "run saved" not in capsys.readouterr().out
    assert not run_dir.exists()


@pytest.mark.parametrize(
    "data, message",
    [
        ("missing/speeds.csv", "The file 'missing/speeds.csv' does not exist"),
        ("speeds.h5", "The file 'speeds.h5' does not exist"),
        ("metr", "Unknown dataset 'metr'"),
    ],
)
def test_a_missing_data_file_is_named_as_missing(
    data, message, tmp_path, capsys
):
    args = ["traffic", "train", "--data", data, "--out", str(tmp_path / "r")]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err
    assert not (tmp_path / "r").exists()


def test_a_network_too_wide_for_memory_is_refused_before_training(
    tmp_path, capsys
):
    index = pd.date_range("2024-01-01", periods=400, freq="5min")
    columns = [f"s{i}" for i in range(3000)]
    series = pd.DataFrame(
        np.full((len(index), len(columns)), 60.0), index=index, columns=columns
    )
    path = tmp_path / "wide.csv"
    series.to_csv(path)
    run_dir = tmp_path / "run"
    capsys.readouterr()
    args = ["traffic", "train", "--data", str(path), "--out", str(run_dir)]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "3000 sensors need about" in err and "GiB is free" in err
    assert not run_dir.exists()
