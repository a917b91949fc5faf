"""`benchmarks/reproduce.py`: a figure re-run from scratch records what is
behind it (commit, commands, config, history, metrics, machine)."""

import json
import os
import re
import subprocess
import sys

from helpers import REPO, TRAFFIC_TINY

from attention_suite.apps.traffic.synthetic import write_demo_files


def test_reproduce_records_the_provenance_of_a_figure(tmp_path):
    speeds, adjacency = write_demo_files(
        tmp_path / "data", num_sensors=4, days=2
    )
    out = tmp_path / "results.json"
    settings = [arg for setting in TRAFFIC_TINY for arg in ("--set", setting)]
    done = subprocess.run(
        [
            sys.executable,
            "benchmarks/reproduce.py",
            "traffic-los-loop",
            "--data",
            speeds,
            *settings,
            "--out",
            str(out),
            "--runs-dir",
            str(tmp_path / "runs"),
            "--",
            "--adjacency",
            adjacency,
        ],
        cwd=REPO,
        env=dict(os.environ, ATTN_DATA_DIR=str(tmp_path / "data")),
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    results = json.loads(out.read_text())
    assert re.fullmatch(r"[0-9a-f]{40}", results["commit"])
    assert isinstance(results["uncommitted_changes"], bool)
    train, evaluate, evaluate_tgcn = results["commands"]
    assert train.startswith("attn traffic train --config ")
    assert f"--adjacency {adjacency}" in train and "--set epochs=1" in train
    assert evaluate.startswith("attn traffic evaluate --run ")
    assert evaluate_tgcn == evaluate + " --protocol tgcn"
    assert results["overrides"] == TRAFFIC_TINY
    assert results["config"]["epochs"] == 1
    assert results["run"]["train_seconds"] > 0
    # Paths in the data directory are written as the variable, not as this
    # machine's directory.
    assert results["run"]["speeds_path"] == "$ATTN_DATA_DIR/speeds.csv"
    assert results["history"] and all(
        len(epochs) == 1 for epochs in results["history"].values()
    )
    assert set(results["test"]) >= {"attention", "gru"}
    assert set(results["test_tgcn"]["attention"]["15min"]) >= {"accuracy"}
    assert results["wall_seconds"]["train"] > 0
    assert results["machine"]["cores"] >= 1
