"""Training of a traffic run.

A run directory holds `config.json`, `run.json` (data source, sensors,
normalization statistics, split and wall times), the best `model.keras`,
`history.csv`, and after `evaluate`, `metrics.json` and `metrics.md`. With
the attention model, the GRU baseline trains in `gru_baseline/` in the same
run so that every number has a reference.
"""

import dataclasses
import json
import os

import keras

from attention_suite.apps.common import runs, training
from attention_suite.apps.common.atomic import atomic_write_json
from attention_suite.apps.common.config import save_config
from attention_suite.apps.common.paths import data_dir as resolve_data_dir
from attention_suite.apps.traffic import data, readers
from attention_suite.apps.traffic.config import TrafficConfig
from attention_suite.apps.traffic.model import build_model, masked_mae


def locate_data(source, data_dir=None, adjacency=None):
    """Resolves a dataset name or a file into `(speeds_path, adjacency_path)`.

    Args:
        source: a dataset name (e.g. `"los_loop"`, looked up in the data
            directory) or the path of a speed file in any supported format.
        data_dir: the data directory; defaults to `$ATTN_DATA_DIR`.
        adjacency: optional graph file to use with a speed file.

    Returns:
        `(speeds_path, adjacency_path or None)`.
    """
    if os.path.isfile(source):
        return os.path.abspath(source), adjacency and os.path.abspath(adjacency)
    speeds, adjacency = readers.dataset_paths(
        source, resolve_data_dir(data_dir)
    )
    return os.path.abspath(speeds), os.path.abspath(adjacency)


def load_split(run_info, config):
    """Reads a run's series and splits it by the run's protocol.

    Args:
        run_info: the dict of `run.json`.
        config: the run's `TrafficConfig`.

    Returns:
        `(parts, adjacency)`: the train/val/test DataFrames and the graph
        (or `None`).
    """
    series = readers.read_speeds(run_info["speeds_path"])
    adjacency = None
    if run_info.get("adjacency_path"):
        adjacency = readers.read_adjacency(
            run_info["adjacency_path"], sensor_ids=list(series.columns)
        )
    parts = data.chronological_split(
        series, config.split, config.input_steps + config.output_steps
    )
    return parts, adjacency


def _fit_one(config, parts, adjacency, stats, run_dir):
    """Builds, compiles and fits one model; returns its wall time (s)."""
    keras.utils.set_random_seed(config.seed)
    model = build_model(
        config, parts["train"].shape[1], *stats, adjacency=adjacency
    )
    model.compile(
        optimizer=keras.optimizers.Adam(config.learning_rate, clipnorm=5.0),
        loss=masked_mae,
        # Compile with XLA on JAX only: XLA's random numbers (dropout) are
        # slow on CPU under TensorFlow, and torch.compile costs minutes.
        jit_compile=keras.backend.backend() == "jax",
    )
    windows = {
        name: data.make_windows(part, config.input_steps, config.output_steps)
        for name, part in parts.items()
        if name != "test"
    }
    _, seconds = training.fit(
        model,
        data.as_dataset(
            windows["train"], config.batch_size, shuffle=True, seed=config.seed
        ),
        data.as_dataset(windows["val"], config.batch_size),
        run_dir,
        epochs=config.epochs,
        patience=config.patience,
        max_minutes=config.max_minutes,
        callbacks=[
            keras.callbacks.ReduceLROnPlateau(
                factor=0.5, patience=config.reduce_lr_patience, min_lr=1e-5
            )
        ]
        if config.reduce_lr_patience
        else [],
    )
    return seconds


def train(config, source, run_dir, data_dir=None, adjacency=None):
    """Trains a traffic run (and its GRU baseline) into `run_dir`.

    Args:
        config: a `TrafficConfig`.
        source: dataset name or speed file (see `locate_data`).
        run_dir: the run directory (created; an interrupted run resumes).
        data_dir: the data directory for named datasets.
        adjacency: optional graph file for a speed file `source`.

    Returns:
        The run info dict (also written to `run.json`).
    """
    speeds_path, adjacency_path = locate_data(source, data_dir, adjacency)
    run_info = {"speeds_path": speeds_path, "adjacency_path": adjacency_path}
    parts, adjacency = load_split(run_info, config)
    stats = data.train_statistics(parts["train"])
    run_info.update(
        backend=keras.backend.backend(),
        sensors=[str(c) for c in parts["train"].columns],
        mean=stats[0],
        std=stats[1],
        split={
            name: [str(part.index[0]), str(part.index[-1])]
            for name, part in parts.items()
        },
        freq=str(parts["train"].index.freqstr or "5min"),
    )
    os.makedirs(run_dir, exist_ok=True)
    save_config(config, os.path.join(run_dir, "config.json"))
    run_path = os.path.join(run_dir, "run.json")
    # A run stopped during a later phase resumes there: the phases it
    # finished (recorded in its `run.json`) are not trained again.
    finished = _finished_phases(run_path, run_info)
    run_info.update(finished)
    atomic_write_json(run_path, run_info)
    phases = {"train_seconds": (config, run_dir)}
    if config.model == "attention":
        phases["gru_train_seconds"] = (
            dataclasses.replace(config, model="gru"),
            os.path.join(run_dir, "gru_baseline"),
        )
    for key, (phase_config, phase_dir) in phases.items():
        if key not in finished:
            run_info[key] = _fit_one(
                phase_config, parts, adjacency, stats, phase_dir
            )
            atomic_write_json(run_path, run_info)
    return run_info


def _finished_phases(run_path, run_info):
    """The training phases an earlier attempt at this run finished.

    Args:
        run_path: the run's `run.json`.
        run_info: this attempt's run info (data and split), which must
            match the earlier attempt's for its phases to count.

    Returns:
        `{"train_seconds": s, "gru_train_seconds": s}`, the finished ones.
    """
    if not os.path.exists(run_path):
        return {}
    with open(run_path) as file:
        earlier = json.load(file)
    if any(earlier.get(key) != value for key, value in run_info.items()):
        return {}
    return {
        key: earlier[key]
        for key in ("train_seconds", "gru_train_seconds")
        if key in earlier
    }


def load_run(run_dir):
    """Reads a run's config, info and best model.

    Args:
        run_dir: the run directory.

    Returns:
        `(config, run_info, model)`.

    Raises:
        FileNotFoundError: `run_dir` is not a finished traffic run.
    """
    return runs.read_run(run_dir, TrafficConfig, "traffic")
