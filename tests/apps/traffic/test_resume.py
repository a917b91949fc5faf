"""A traffic run stopped in its GRU-baseline phase resumes there: the
finished attention phase is not trained again."""

import json
import os

import pandas as pd
from helpers import TRAFFIC_TINY

from attention_suite.apps.cli import main
from attention_suite.apps.traffic.synthetic import write_demo_files


def test_a_finished_phase_is_never_trained_again(tmp_path):
    speeds, adjacency = write_demo_files(
        tmp_path / "data", num_sensors=4, days=2
    )
    run_dir = str(tmp_path / "run")
    train = ["traffic", "train", "--data", speeds, "--adjacency", adjacency]
    train += ["--out", run_dir]
    for setting in TRAFFIC_TINY:
        train += ["--set", setting]
    assert main(train) == 0
    run_path = os.path.join(run_dir, "run.json")
    with open(run_path) as file:
        info = json.load(file)
    # As if the process had been killed during the GRU phase.
    del info["gru_train_seconds"]
    with open(run_path, "w") as file:
        json.dump(info, file)
    model = os.path.join(run_dir, "model.keras")
    stamp = os.path.getmtime(model)
    history = pd.read_csv(os.path.join(run_dir, "history.csv"))

    assert main(train) == 0
    assert os.path.getmtime(model) == stamp
    again = pd.read_csv(os.path.join(run_dir, "history.csv"))
    pd.testing.assert_frame_equal(again, history)
    with open(run_path) as file:
        resumed = json.load(file)
    assert resumed["train_seconds"] == info["train_seconds"]
    assert resumed["gru_train_seconds"] > 0
