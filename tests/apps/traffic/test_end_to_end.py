"""Train, evaluate, predict, export and serve a tiny traffic run on the
current backend; the export is reloaded in a TensorFlow-only process."""

import json
import os

import numpy as np
import pytest

from apps.cli import main
from apps.common.verify import graph_ops, run_saved_model, serve_check
from apps.traffic.synthetic import write_demo_files
from apps.traffic.train import load_run
from helpers import train_evaluate_export

TINY = [
    "epochs=1", "batch_size=64", "input_dim=4", "time_of_day_dim=4",
    "day_of_week_dim=2", "adaptive_dim=4", "num_heads=2", "num_layers=1",
    "feedforward_dim=8", "gru_units=8", "use_graph_mask=true",
]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("traffic")
    speeds, adjacency = write_demo_files(root / "data", num_sensors=4, days=2)
    run_dir, model_dir = train_evaluate_export(
        "traffic", ["--data", speeds, "--adjacency", adjacency], TINY, root,
        "traffic", 1,
    )
    return {"root": root, "run": run_dir, "speeds": speeds,
            "model": model_dir, "base": str(root / "saved_models")}


def test_evaluation_reports_every_method_and_horizon(run):
    with open(os.path.join(run["run"], "metrics.json")) as f:
        report = json.load(f)
    assert list(report) == ["attention", "gru", "last_value", "historical_average"]
    for rows in report.values():
        assert set(rows) == {"15min", "30min", "60min", "average"}
        assert all(np.isfinite(rows["average"][k]) for k in ("mae", "rmse", "mape"))


def test_saved_model_matches_keras_in_a_fresh_process(run):
    config, run_info, model = load_run(run["run"])
    rng = np.random.default_rng(0)
    request = {
        "history": rng.uniform(20, 70, (3, 12, 4)).astype("float32"),
        "time_of_day": rng.uniform(0, 1, (3, 12)).astype("float32"),
        "day_of_week": rng.integers(0, 7, (3, 12)).astype("int32"),
    }
    request["history"][0, 5, 1] = np.nan  # a missing reading
    request["history"][1, :, 2] = 0.0  # a sensor down for the whole hour
    served = run_saved_model(run["model"], [request])[0]["forecast"]
    expected = np.asarray(model.predict(request, verbose=0))
    assert served.shape == (3, 12, 4)
    assert np.all(np.isfinite(served))
    np.testing.assert_allclose(served, expected, atol=1e-3)


def test_export_is_a_plain_device_agnostic_graph(run):
    ops, pinned = graph_ops(run["model"])
    assert "XlaCallModule" not in ops
    assert pinned == []


def test_export_layout_and_warmup(run):
    assert os.path.exists(os.path.join(run["model"], "saved_model.pb"))
    outputs = serve_check(run["model"])
    assert outputs[0]["forecast"].shape[1:] == (12, 4)
    leftovers = [n for n in os.listdir(os.path.dirname(run["model"])) if n != "1"]
    assert leftovers == []


def test_saved_model_refuses_wrong_shapes(run):
    request = {
        "history": np.ones((1, 12, 3), "float32"),
        "time_of_day": np.zeros((1, 12), "float32"),
        "day_of_week": np.zeros((1, 12), "int32"),
    }
    with pytest.raises(RuntimeError, match=r"\(1, 12, 3\)|shape"):
        run_saved_model(run["model"], [request])


def test_export_never_overwrites_silently(run, capsys):
    before = os.path.getmtime(os.path.join(run["model"], "saved_model.pb"))
    code = main(["traffic", "export", "--run", run["run"], "--version", "1",
                 "--base", run["base"]])
    assert code != 0
    assert os.path.getmtime(os.path.join(run["model"], "saved_model.pb")) == before


def test_predict_writes_a_forecast_table(run, tmp_path):
    out = tmp_path / "forecast.csv"
    plot = tmp_path / "forecast.png"
    assert main(["traffic", "predict", "--run", run["run"], "--history",
                 run["speeds"], "--out", str(out), "--plot", "s0",
                 "--plot-out", str(plot)]) == 0
    import pandas as pd

    forecast = pd.read_csv(out, index_col=0, parse_dates=True)
    assert forecast.shape == (12, 4)
    history = pd.read_csv(run["speeds"], index_col=0, parse_dates=True)
    assert forecast.index[0] == history.index[-1] + pd.Timedelta("5min")
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda frame: frame.iloc[:5], "needs the last 12"),
        (lambda frame: frame.iloc[:, :3], "3 sensors but the model was trained on 4"),
    ],
)
def test_predict_bad_history(run, tmp_path, capsys, edit, message):
    import pandas as pd

    frame = edit(pd.read_csv(run["speeds"], index_col=0))
    path = tmp_path / "history.csv"
    frame.to_csv(path)
    assert main(["traffic", "predict", "--run", run["run"], "--history", str(path)]) == 1
    assert message in capsys.readouterr().err


def test_predict_non_numeric_cell(run, tmp_path, capsys):
    text = open(run["speeds"]).read().splitlines()
    cells = text[5].split(",")
    cells[2] = "n/a?"
    text[5] = ",".join(cells)
    path = tmp_path / "history.csv"
    path.write_text("\n".join(text) + "\n")
    assert main(["traffic", "predict", "--run", run["run"], "--history", str(path)]) == 1
    assert "non-numeric value 'n/a?'" in capsys.readouterr().err


def test_windows_of_the_test_split_come_after_training(run):
    config, run_info, _ = load_run(run["run"])
    assert run_info["split"]["train"][1] < run_info["split"]["test"][0]
