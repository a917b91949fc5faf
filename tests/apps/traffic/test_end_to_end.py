"""Train, evaluate, predict, export and serve a tiny traffic run on the
current backend; the export is reloaded in a TensorFlow-only process."""

import json
import os

import numpy as np
import pytest
from helpers import (
    TRAFFIC_TINY,
    assert_servable,
    graph_property,
    train_evaluate_export,
)

from attention_suite.apps.cli import main
from attention_suite.apps.common.serving.process import run_saved_model
from attention_suite.apps.common.serving.verify import serve_check
from attention_suite.apps.traffic.synthetic import write_demo_files
from attention_suite.apps.traffic.training import load_run


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("traffic")
    speeds, adjacency = write_demo_files(root / "data", num_sensors=4, days=2)
    run_dir, model_dir = train_evaluate_export(
        "traffic",
        ["--data", speeds, "--adjacency", adjacency],
        TRAFFIC_TINY,
        root,
        "traffic",
        1,
    )
    return {
        "root": root,
        "run": run_dir,
        "speeds": speeds,
        "model": model_dir,
        "base": str(root / "saved_models"),
    }


def test_evaluation_reports_every_method_and_horizon(run):
    with open(os.path.join(run["run"], "metrics.json")) as f:
        report = json.load(f)
    assert list(report) == [
        "attention",
        "gru",
        "last_value",
        "historical_average",
    ]
    for rows in report.values():
        assert set(rows) == {"15min", "30min", "60min", "average"}
        assert all(
            np.isfinite(rows["average"][k]) for k in ("mae", "rmse", "mape")
        )


def test_saved_model_matches_keras_in_a_fresh_process(run):
    loaded = load_run(run["run"])
    model = loaded.model
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


@graph_property
def test_export_is_a_plain_device_agnostic_graph(run):
    audit = assert_servable(
        run["model"], "traffic", text_ops=False, run_dir=run["run"]
    )
    assert audit.pinned == []


@graph_property
def test_export_layout_and_warmup(run):
    assert os.path.exists(os.path.join(run["model"], "saved_model.pb"))
    outputs, _ = serve_check(run["model"])
    assert outputs[0]["forecast"].shape[1:] == (12, 4)
    leftovers = [
        n for n in os.listdir(os.path.dirname(run["model"])) if n != "1"
    ]
    assert leftovers == []


@graph_property
def test_saved_model_refuses_wrong_shapes(run):
    request = {
        "history": np.ones((1, 12, 3), "float32"),
        "time_of_day": np.zeros((1, 12), "float32"),
        "day_of_week": np.zeros((1, 12), "int32"),
    }
    expected = (
        r"history must be float32 \[batch, 12, 4\] \(batch, steps, sensors\)"
    )
    with pytest.raises(RuntimeError, match=expected):
        run_saved_model(run["model"], [request])
    request["history"] = np.ones((2, 12, 4), "float32")
    with pytest.raises(RuntimeError, match=expected):
        run_saved_model(run["model"], [request])


def _request_with(history):
    return {
        "history": history[None].astype("float32"),
        "time_of_day": np.linspace(0, 0.05, 12, dtype="float32")[None],
        "day_of_week": np.zeros((1, 12), "int32"),
    }


@graph_property
def test_a_non_physical_reading_counts_as_missing_in_the_saved_model(run):
    history = np.full((12, 4), 55.0)
    missing, huge = history.copy(), history.copy()
    missing[5, 2], huge[5, 2] = np.nan, 1e21
    served = run_saved_model(
        run["model"], [_request_with(missing), _request_with(huge)]
    )
    assert np.isfinite(served[1]["forecast"]).all()
    np.testing.assert_allclose(
        served[1]["forecast"], served[0]["forecast"], atol=1e-5
    )


def test_export_never_overwrites_silently(run, capsys):
    before = os.path.getmtime(os.path.join(run["model"], "saved_model.pb"))
    code = main(
        [
            "traffic",
            "export",
            "--run",
            run["run"],
            "--model-version",
            "1",
            "--base",
            run["base"],
        ]
    )
    assert code != 0
    assert (
        os.path.getmtime(os.path.join(run["model"], "saved_model.pb")) == before
    )


def test_predict_writes_a_forecast_table(run, tmp_path):
    out = tmp_path / "forecast.csv"
    plot = tmp_path / "forecast.png"
    assert (
        main(
            [
                "traffic",
                "predict",
                "--run",
                run["run"],
                "--history",
                run["speeds"],
                "--out",
                str(out),
                "--plot",
                "s0",
                "--plot-out",
                str(plot),
            ]
        )
        == 0
    )
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
        (
            lambda frame: frame.iloc[:, :3],
            "3 sensors but the model was trained on 4",
        ),
    ],
)
def test_predict_bad_history(run, tmp_path, capsys, edit, message):
    import pandas as pd

    frame = edit(pd.read_csv(run["speeds"], index_col=0))
    path = tmp_path / "history.csv"
    frame.to_csv(path)
    assert (
        main(
            ["traffic", "predict", "--run", run["run"], "--history", str(path)]
        )
        == 1
    )
    assert message in capsys.readouterr().err


def test_predict_treats_a_non_physical_reading_as_missing(
    run, tmp_path, capsys
):
    import pandas as pd

    frame = pd.read_csv(run["speeds"], index_col=0)
    tables = {}
    for name, value in (("missing", np.nan), ("huge", 1e21)):
        edited = frame.copy()
        edited.iloc[-3, 1] = value
        path = tmp_path / f"{name}.csv"
        edited.to_csv(path)
        out = tmp_path / f"{name}_forecast.csv"
        args = ["--run", run["run"], "--history", str(path), "--out", str(out)]
        assert main(["traffic", "predict", *args]) == 0
        tables[name] = pd.read_csv(out, index_col=0)
    assert tables["huge"].notna().all().all()
    np.testing.assert_allclose(
        tables["huge"].to_numpy(), tables["missing"].to_numpy(), atol=1e-3
    )


def test_predict_non_numeric_cell(run, tmp_path, capsys):
    text = open(run["speeds"]).read().splitlines()
    cells = text[5].split(",")
    cells[2] = "n/a?"
    text[5] = ",".join(cells)
    path = tmp_path / "history.csv"
    path.write_text("\n".join(text) + "\n")
    assert (
        main(
            ["traffic", "predict", "--run", run["run"], "--history", str(path)]
        )
        == 1
    )
    assert "non-numeric value 'n/a?'" in capsys.readouterr().err


def test_windows_of_the_test_split_come_after_training(run):
    loaded = load_run(run["run"])
    run_info = loaded.info
    assert run_info["split"]["train"][1] < run_info["split"]["test"][0]
