"""`benchmarks/reproduce.py`: a figure re-run from scratch records what is
behind it (commit, commands, config, history, metrics, machine)."""

import json
import os
import re
import statistics
import subprocess
import sys

import pytest
from helpers import REPO, TRAFFIC_TINY

from attention_suite.apps.qa.synthetic import write_demo_squad
from attention_suite.apps.traffic.synthetic import write_demo_files

# The tiny traffic settings but those the width choice makes, with the loss
# and Huber's threshold given (which skips their choices, to keep the test
# short: the width is chosen after the settings before it either way).
WIDTHS = {
    "input_dim",
    "time_of_day_dim",
    "day_of_week_dim",
    "adaptive_dim",
    "feedforward_dim",
}
TRAFFIC_NARROW = [
    *(s for s in TRAFFIC_TINY if s.split("=")[0] not in WIDTHS),
    "loss=huber",
    "huber_delta=1",
]


def reproduce(figure, data, settings, tmp_path, *train_args, seeds=1):
    """Runs `benchmarks/reproduce.py` on small data; the results file.

    Args:
        figure: the figure's name.
        data: the `--data` file.
        settings: `NAME=VALUE` config overrides.
        tmp_path: where the runs and the results go (also the data
            directory).
        *train_args: more `train` arguments.
        seeds: the `--seeds` option.

    Returns:
        The parsed results file.
    """
    out = tmp_path / "results.json"
    done = subprocess.run(
        [
            sys.executable,
            "benchmarks/reproduce.py",
            figure,
            "--data",
            data,
            *[arg for setting in settings for arg in ("--set", setting)],
            "--out",
            str(out),
            "--runs-dir",
            str(tmp_path / "runs"),
            "--seeds",
            str(seeds),
            "--",
            *train_args,
        ],
        cwd=REPO,
        env=dict(os.environ, ATTN_DATA_DIR=str(tmp_path / "data")),
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(out.read_text())


@pytest.fixture(scope="module")
def traffic_results(tmp_path_factory):
    """The results file of the traffic figure re-run on tiny data."""
    tmp_path = tmp_path_factory.mktemp("reproduce")
    speeds, adjacency = write_demo_files(
        tmp_path / "data", num_sensors=4, days=2
    )
    results = reproduce(
        "traffic-los-loop",
        speeds,
        TRAFFIC_NARROW,
        tmp_path,
        "--adjacency",
        adjacency,
    )
    return results, adjacency


def test_reproduce_records_the_provenance_of_a_figure(traffic_results):
    results, adjacency = traffic_results
    assert re.fullmatch(r"[0-9a-f]{40}", results["commit"])
    assert isinstance(results["uncommitted_changes"], bool)
    train, evaluate, evaluate_tgcn = results["commands"]
    assert train.startswith("attn traffic train --config ")
    assert f"--adjacency {adjacency}" in train and "--set epochs=1" in train
    assert evaluate.startswith("attn traffic evaluate --run ")
    assert evaluate_tgcn == evaluate + " --protocol tgcn"
    assert results["overrides"] == TRAFFIC_NARROW
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
    assert results["validation_choice"] is None
    # One seed: no spread to publish.
    assert "seeds" not in results


def test_reproduce_chooses_the_traffic_width_on_validation(traffic_results):
    results, _ = traffic_results
    # The loss is given, so only the width is chosen.
    (width,) = results["training_choices"]
    assert width["choice"] == "width"
    assert set(width["scores"]) == {"32", "48", "64"}
    assert width["chosen"] == min(width["scores"], key=width["scores"].get)
    # Each candidate's validation report is kept beside its score.
    assert set(width["validation"]) == set(width["scores"])
    for candidate, report in width["validation"].items():
        average = report["attention"]["average"]
        assert width["scores"][candidate] == pytest.approx(
            (average["mae"] + average["rmse"]) / 2
        )
    # Every candidate's epochs are kept, the unchosen ones' too.
    assert set(width["histories"]) == set(width["candidates"])
    for candidate, phases in width["histories"].items():
        assert [len(epochs) for epochs in phases.values()] == [1], candidate
    # Each candidate trains without the GRU baseline, with the settings
    # given before it, and is scored on validation.
    trains, validations = width["commands"][::2], width["commands"][1::2]
    assert all("--set gru_baseline=false" in c for c in trains)
    assert all("--set loss=huber " in c for c in trains)
    assert all(c.endswith("--split val") for c in validations)
    # The chosen run then trains the baseline and is tested.
    train, evaluate, evaluate_tgcn = results["commands"]
    chosen = width["candidates"][width["chosen"]]
    assert f"--set feedforward_dim={chosen['feedforward_dim']}" in train
    assert "--resume" in train.split()
    assert train.endswith("--set gru_baseline=true")
    assert f"-width-{width['chosen']} " in evaluate + " "
    config = results["config"]
    assert config["loss"] == "huber"
    assert config["input_dim"] + config["time_of_day_dim"] + config[
        "day_of_week_dim"
    ] + config["adaptive_dim"] == int(width["chosen"])
    assert config["gru_baseline"] is True
    assert results["run"]["gru_train_seconds"] > 0
    assert set(results["history"]) == {
        "history.csv",
        os.path.join("gru_baseline", "history.csv"),
    }


@pytest.fixture(scope="module")
def qa_results(tmp_path_factory):
    """The results file of the QA figure re-run on tiny data, two seeds."""
    tmp_path = tmp_path_factory.mktemp("reproduce_qa")
    data = write_demo_squad(str(tmp_path / "squad.json"), articles=8)
    settings = [
        "embeddings=learned",
        "vocabulary_size=200",
        "embedding_dim=16",
        "units=16",
        "window=32",
        "stride=16",
        "max_question_length=8",
        "epochs=1",
        "steps_per_epoch=4",
        "batch_size=32",
        "warmup_steps=2",
    ]
    return reproduce("qa-bidaf", data, settings, tmp_path, seeds=2)


def test_reproduce_chooses_the_window_rule_on_validation(qa_results):
    results = qa_results
    choice = results["validation_choice"]
    assert set(choice["scores"]) == {"logit", "probability"}
    assert choice["chosen"] == max(choice["scores"], key=choice["scores"].get)
    assert all("--split val --compare-windows" in c for c in choice["commands"])
    evaluate = results["commands"][1]
    assert evaluate.endswith(f"--compare-windows {choice['chosen']}")
    assert results["test"]["split"] == "test"
    assert results["test"]["compare_windows"] == choice["chosen"]


def test_reproduce_publishes_the_spread_over_seeds(qa_results):
    results = qa_results
    seeds = results["seeds"]
    first = results["config"]["seed"]
    assert seeds["seeds"] == [first, first + 1]
    first_run, second_run = seeds["runs"]
    assert first_run["test"] == results["test"]
    # The second seed trains the chosen settings with its own seed and is
    # tested with the chosen window rule.
    train, evaluate = second_run["commands"]
    assert train.endswith(f"--set seed={first + 1}")
    assert evaluate.endswith(
        f"--compare-windows {results['validation_choice']['chosen']}"
    )
    f1 = [run["test"]["scores"]["bidaf"]["f1"] for run in seeds["runs"]]
    assert seeds["mean"]["test"]["scores"]["bidaf"]["f1"] == pytest.approx(
        statistics.mean(f1)
    )
    assert seeds["std"]["test"]["scores"]["bidaf"]["f1"] == pytest.approx(
        statistics.stdev(f1)
    )


def test_a_run_a_stopped_reproduction_left_resumes(monkeypatch, tmp_path):
    monkeypatch.syspath_prepend(str(REPO / "benchmarks"))
    import reproduce as script

    run = tmp_path / "run"
    fresh = script.train_arguments("qa-bidaf", str(run), ["epochs=1"])
    assert "--resume" not in fresh
    run.mkdir()
    (run / "config.json").write_text("{}")
    again = script.train_arguments("qa-bidaf", str(run), ["epochs=1"])
    assert again == [*fresh, "--resume"]


def test_a_given_setting_skips_the_training_choice(monkeypatch):
    monkeypatch.syspath_prepend(str(REPO / "benchmarks"))
    import reproduce as script

    # Nothing is trained: the loss, a width setting and Huber's threshold
    # are the user's.
    given = ["loss=mse", "adaptive_dim=4", "huber_delta=2"]
    chosen = script.choose_training(
        "traffic-los-loop", None, None, "runs/x", given
    )
    assert chosen == ("runs/x", given, [])
