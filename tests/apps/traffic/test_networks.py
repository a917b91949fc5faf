"""Any sensor network from the command line: small files in the layouts of
METR-LA / PEMS-BAY (HDF5 `df`, DCRNN graph pickle) and PEMS04/08 (`.npz`
`data`, `from,to,cost` list), a 15-minute series with a 4-step horizon, the
`missing` rule, the T-GCN protocol, the data registry, and the bad inputs
that must fail in one line."""

import json
import os
import pickle

import numpy as np
import pandas as pd
import pytest
from helpers import TRAFFIC_TINY, real_data_dir, served_directory

from attention_suite.apps.cli import main
from attention_suite.apps.common.data import datasets
from attention_suite.apps.traffic import readers
from attention_suite.apps.traffic.synthetic import demo_series
from attention_suite.apps.traffic.training import load_run

SENSORS = 6
# The rows of every report of a run with the attention model.
METHODS = ["attention", "gru", "last_value", "historical_average"]
# How the PEMS-style test file is read: 15-minute steps from 1 July 2016.
PEMS_DATES = ["--start", "2016-07-01", "--freq", "15min"]


def pems_train(root, run, feature, *extra):
    """`attn traffic train` arguments for the PEMS-style file in `root`."""
    return [
        "traffic",
        "train",
        "--data",
        str(root / "PEMS08.npz"),
        *PEMS_DATES,
        "--feature",
        str(feature),
        *extra,
        "--out",
        run,
    ]


def settings(*extra):
    """`--set` arguments of a tiny run, plus `extra` settings."""
    args = []
    for setting in [*TRAFFIC_TINY, *extra]:
        args += ["--set", setting]
    return args


def read_json(path):
    with open(path) as file:
        return json.load(file)


@pytest.fixture(scope="module")
def metr_la_layout(tmp_path_factory):
    """A METR-LA-style HDF5 series and DCRNN graph pickle, 5-minute steps."""
    root = tmp_path_factory.mktemp("metr_la")
    series, adjacency = demo_series(num_sensors=SENSORS, days=2, seed=1)
    ids = [str(773869 + 7 * i) for i in range(SENSORS)]
    series.columns = ids
    series.to_hdf(root / "metr-la.h5", key="df")
    # The pickle lists the sensors in another order, as DCRNN's does.
    order = ids[::-1]
    flipped = adjacency[::-1, ::-1]
    with open(root / "adj_mx.pkl", "wb") as file:
        pickle.dump(
            [order, {s: i for i, s in enumerate(order)}, flipped],
            file,
            protocol=2,
        )
    return root


@pytest.fixture(scope="module")
def pems_layout(tmp_path_factory):
    """A PEMS-style `.npz` (flow, occupancy, speed) at 15-minute steps, with
    real zero flows at night, and its `from,to,cost` distance list."""
    root = tmp_path_factory.mktemp("pems")
    speeds, _ = demo_series(
        num_sensors=SENSORS, days=4, seed=2, missing_rate=0, step_minutes=15
    )
    speed = speeds.to_numpy()
    flow = np.clip(400 - 5 * speed, 0, None)
    night = speeds.index.hour < 4
    flow[night] = 0.0
    data = np.stack([flow, speed / 100, speed], axis=-1)
    np.savez(root / "PEMS08.npz", data=data)
    ring = [(i, (i + 1) % SENSORS) for i in range(SENSORS)]
    lines = ["from,to,cost"] + [f"{a},{b},{100 + 10 * a}" for a, b in ring]
    (root / "PEMS08.csv").write_text("\n".join(lines) + "\n")
    return root


@pytest.fixture(scope="module")
def metr_la_run(metr_la_layout, tmp_path_factory):
    run = str(tmp_path_factory.mktemp("metr_la_run") / "run")
    args = [
        "traffic",
        "train",
        "--data",
        str(metr_la_layout / "metr-la.h5"),
        "--adjacency",
        str(metr_la_layout / "adj_mx.pkl"),
        "--out",
        run,
    ]
    assert main(args + settings("horizons=[15,30,45,60]")) == 0
    return run


def test_metr_la_layout_trains_and_evaluates(metr_la_run):
    loaded = load_run(metr_la_run)
    run_info = loaded.info
    assert run_info["freq"] == "5min" and run_info["step_minutes"] == 5
    assert run_info["read_options"] == {}
    assert main(["traffic", "evaluate", "--run", metr_la_run]) == 0
    report = read_json(os.path.join(metr_la_run, "metrics.json"))
    assert list(report) == METHODS
    for rows in report.values():
        assert list(rows) == ["15min", "30min", "45min", "60min", "average"]
        assert np.isfinite(rows["60min"]["mae"])


def test_validation_split_is_scored_apart(metr_la_run, capsys):
    args = ["traffic", "evaluate", "--run", metr_la_run]
    assert main(args + ["--split", "val"]) == 0
    assert "metrics_val.json" in capsys.readouterr().out
    val = read_json(os.path.join(metr_la_run, "metrics_val.json"))
    assert main(args) == 0
    test = read_json(os.path.join(metr_la_run, "metrics.json"))
    assert list(val) == list(test) == METHODS
    assert val["last_value"]["15min"] != test["last_value"]["15min"]
    # The T-GCN protocol has one test part and no validation split.
    assert main(args + ["--split", "val", "--protocol", "tgcn"]) == 1
    error = capsys.readouterr().err.strip()
    assert "\n" not in error and "default protocol" in error


def test_tgcn_protocol_pools_the_steps_of_the_last_fifth(metr_la_run, capsys):
    assert (
        main(
            ["traffic", "evaluate", "--run", metr_la_run, "--protocol", "tgcn"]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "accuracy" in out and "metrics_tgcn.json" in out
    report = read_json(os.path.join(metr_la_run, "metrics_tgcn.json"))
    assert list(report) == METHODS
    loaded = load_run(metr_la_run)
    run_info = loaded.info
    model = loaded.model
    # Recompute the model's 30-minute row the T-GCN way, by hand.
    series = pd.read_hdf(run_info["speeds_path"])
    values = series.to_numpy(dtype="float32")
    test = values[int(0.8 * len(values)) :]
    stamps = series.index[int(0.8 * len(values)) :]
    windows = len(test) - 12 - 6
    starts = np.arange(windows)[:, None]
    minutes = stamps.hour * 60 + stamps.minute
    inputs = {
        "history": test[starts + np.arange(12)],
        "time_of_day": np.asarray(minutes / 1440, "float32")[
            starts + np.arange(12)
        ],
        "day_of_week": np.asarray(stamps.dayofweek, "int32")[
            starts + np.arange(12)
        ],
    }
    forecast = model.predict(inputs, verbose=0)[:, :6]
    target = test[starts + 12 + np.arange(6)]
    rmse = np.sqrt(np.mean((forecast - target) ** 2))
    assert report["attention"]["30min"]["rmse"] == pytest.approx(rmse, rel=1e-4)
    errors = report["historical_average"]["15min"]
    assert set(errors) == {"rmse", "mae", "accuracy", "r2", "var"}


def test_pems_layout_at_15_minutes_with_a_4_step_horizon(
    pems_layout, tmp_path, capsys
):
    run = str(tmp_path / "run")
    args = pems_train(
        pems_layout, run, 0, "--adjacency", str(pems_layout / "PEMS08.csv")
    )
    tiny = settings("input_steps=4", "output_steps=4", "missing=nan")
    assert main(args + tiny + ["--set", "model=gru"]) == 0
    loaded = load_run(run)
    run_info = loaded.info
    model = loaded.model
    assert run_info["freq"] == "15min" and run_info["step_minutes"] == 15
    assert run_info["read_options"] == {
        "start": "2016-07-01",
        "freq": "15min",
        "feature": 0,
    }
    # The zero flows at night are readings: they count in the statistics.
    flow = np.load(pems_layout / "PEMS08.npz")["data"][:, :, 0]
    train_part = flow[: int(0.7 * len(flow))]
    assert run_info["mean"] == pytest.approx(train_part.mean(), rel=1e-5)
    assert model.get_layer("standardize").missing == "nan"

    assert main(["traffic", "evaluate", "--run", run]) == 0
    report = read_json(os.path.join(run, "metrics.json"))
    assert list(report["gru"]) == ["15min", "30min", "60min", "average"]

    # A history without timestamps is dated by --start at the run's step.
    history = tmp_path / "history.csv"
    recent = pd.DataFrame(flow[-4:], columns=[str(i) for i in range(SENSORS)])
    recent.to_csv(history, index=False)
    out = tmp_path / "forecast.csv"
    predict = ["traffic", "predict", "--run", run, "--history", str(history)]
    assert (
        main(predict + ["--start", "2016-07-04 22:00", "--out", str(out)]) == 0
    )
    forecast = pd.read_csv(out, index_col=0)
    assert list(forecast.index) == [
        "2016-07-04 23:00:00",
        "2016-07-04 23:15:00",
        "2016-07-04 23:30:00",
        "2016-07-04 23:45:00",
    ]
    capsys.readouterr()
    assert main(predict) == 1
    assert "has no timestamps" in capsys.readouterr().err


def test_time_of_day_slots_follow_the_step(pems_layout, tmp_path):
    run = str(tmp_path / "run")
    args = pems_train(pems_layout, run, 2)
    assert main(args + settings("output_steps=4", "epochs=1")) == 0
    loaded = load_run(run)
    model = loaded.model
    slots = model.get_layer("time_of_day_embedding").embeddings.shape[0]
    assert slots == 24 * 4


def error_line(capsys, args):
    """Runs `attn ARGS`, expects failure; returns stderr as one line."""
    capsys.readouterr()
    assert main(args) == 1
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err
    return err


def test_bad_inputs_fail_in_one_line(
    metr_la_layout, pems_layout, tmp_path, capsys
):
    out = ["--out", str(tmp_path / "run")]
    h5 = ["--data", str(metr_la_layout / "metr-la.h5")]
    npz = ["--data", str(pems_layout / "PEMS08.npz")]
    train = ["traffic", "train"]
    assert "5min apart, not freq=15min" in error_line(
        capsys, train + h5 + ["--freq", "15min"] + out
    )
    assert (
        "Invalid setting horizons=[20]: expected multiples of the series' "
        "15-minute step"
    ) in error_line(
        capsys,
        train + npz + PEMS_DATES + ["--set", "horizons=[20]"] + out,
    )
    assert "feature=3 is out of range for 3 features" in error_line(
        capsys, train + npz + PEMS_DATES + ["--feature", "3"] + out
    )
    assert "has no timestamps" in error_line(capsys, train + npz + out)
    assert "a window needs 400" in error_line(
        capsys,
        train
        + h5
        + ["--set", "input_steps=200", "--set", "output_steps=200"]
        + out,
    )
    assert not os.path.exists(tmp_path / "run" / "model.keras")


def test_the_traffic_sets_read_what_the_registry_fetches():
    names = readers.dataset_names()
    assert names == ["los-loop", "metr-la", "pems-bay", "pems04", "pems08"]
    for name in names:
        entry = datasets.REGISTRY[name]
        # A series read as `.gz` may be fetched uncompressed.
        assert sorted(entry.files) == sorted(
            entry.reads[role].removesuffix(".gz")
            for role in ("speeds", "adjacency")
        )
        assert entry.subdir.split(os.sep)[0] == "traffic"
        for file_name, digest in entry.files.items():
            assert len(digest) == 64 and int(digest, 16) >= 0
            assert entry.url(file_name).startswith("https://")
            assert entry.url(file_name, "http://mirror/x/") == (
                f"http://mirror/x/{file_name}"
            )
    assert readers.is_dataset_name("metr_la")
    assert not readers.is_dataset_name("multi30k")


def test_los_loop_is_fetched_from_its_source_layout(tmp_path, capsys):
    import gzip
    import shutil

    source = real_data_dir() / "traffic" / "los_loop"
    served = tmp_path / "served"
    served.mkdir()
    with gzip.open(source / "los_speed.csv.gz") as f:
        (served / "los_speed.csv").write_bytes(f.read())
    shutil.copy(source / "los_adj.csv", served / "los_adj.csv")
    data_dir = tmp_path / "data"
    fetch = ["data", "fetch", "los-loop", "--data-dir", str(data_dir)]
    with served_directory(served) as mirror:
        assert main([*fetch, "--mirror", mirror]) == 0
    speeds, adjacency, _ = readers.dataset_paths("los-loop", data_dir)
    assert speeds == str(data_dir / "traffic" / "los_loop" / "los_speed.csv")
    assert (
        readers.read_speeds(speeds, start="2012-03-01", freq="5min").shape[1]
        == 207
    )
    capsys.readouterr()
    for name in ("aeslc", "bbc"):
        assert main(["data", "fetch", name, "--data-dir", str(data_dir)]) == 1
        assert datasets.REGISTRY[name].manual in capsys.readouterr().err
    assert main(["data", "list"]) == 0
    assert capsys.readouterr().out.count("not fetched:") == 2
