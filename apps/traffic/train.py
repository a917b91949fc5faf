"""Training of a traffic run.

A run directory holds `config.json`, `run.json` (data source and how it is
read, sensors, step length, normalization statistics, split and wall
times), the best `model.keras`, `history.csv`, and after `evaluate`,
`metrics.json` and `metrics.md`. With the attention model, the GRU baseline
trains in `gru_baseline/` in the same run (unless `gru_baseline` is false)
so that every number has a reference.
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
from attention_suite.apps.traffic.model import MaskedError, build_model


def locate_data(source, data_dir=None, adjacency=None, read_options=None):
    """Resolves a dataset name or a file into the files to read and how.

    Args:
        source: a dataset name (e.g. `"los_loop"`, looked up in the data
            directory) or the path of a speed file in any supported format.
        data_dir: the data directory; defaults to `$ATTN_DATA_DIR`.
        adjacency: optional graph file to use with a speed file.
        read_options: `readers.read_speeds` arguments (`start`, `freq`,
            `feature`, `timestamp_column`); for a named dataset they add to
            (or replace) the ones it comes with.

    Returns:
        `(speeds_path, adjacency_path or None, read_options)`.
    """
    read_options = {
        name: value
        for name, value in (read_options or {}).items()
        if value is not None
    }
    if os.path.isfile(source):
        return (
            os.path.abspath(source),
            adjacency and os.path.abspath(adjacency),
            read_options,
        )
    speeds, adjacency, options = readers.dataset_paths(
        source, resolve_data_dir(data_dir)
    )
    return (
        os.path.abspath(speeds),
        os.path.abspath(adjacency),
        {**options, **read_options},
    )


def read_series(run_info):
    """Reads a run's whole series, as its `run.json` says.

    Args:
        run_info: the dict of `run.json`.

    Returns:
        The DataFrame of `readers.read_speeds`.
    """
    return readers.read_speeds(
        run_info["speeds_path"], **run_info.get("read_options", {})
    )


def load_split(run_info, config):
    """Reads a run's series and splits it by the run's protocol.

    Args:
        run_info: the dict of `run.json`.
        config: the run's `TrafficConfig`.

    Returns:
        `(parts, adjacency)`: the train/val/test DataFrames and the graph
        (or `None`).
    """
    series = read_series(run_info)
    adjacency = None
    if run_info.get("adjacency_path"):
        adjacency = readers.read_adjacency(
            run_info["adjacency_path"], sensor_ids=list(series.columns)
        )
    parts = data.chronological_split(
        series, config.split, config.input_steps + config.output_steps
    )
    return parts, adjacency


def steps_per_day(run_info):
    """The number of the run's steps in a day (at least 1)."""
    return max(1, round(1440 / run_info["step_minutes"]))


def compile_model(model, config):
    """Compiles a forecaster with the run's optimizer and loss.

    Args:
        model: a model from `build_model`.
        config: its `TrafficConfig`.
    """
    model.compile(
        optimizer=keras.optimizers.Adam(config.learning_rate, clipnorm=5.0),
        loss=MaskedError(config.loss, config.missing, config.huber_delta),
        # Compile with XLA on JAX only: XLA's random numbers (dropout) are
        # slow on CPU under TensorFlow, and torch.compile costs minutes.
        jit_compile=keras.backend.backend() == "jax",
    )


def _fit_one(config, parts, adjacency, run_info, run_dir):
    """Builds, compiles and fits one model; returns its wall time (s)."""
    keras.utils.set_random_seed(config.seed)
    model = build_model(
        config,
        parts["train"].shape[1],
        run_info["mean"],
        run_info["std"],
        adjacency=adjacency,
        steps_per_day=steps_per_day(run_info),
    )
    compile_model(model, config)
    windows = {
        name: data.make_windows(
            part, config.input_steps, config.output_steps, config.missing
        )
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


def train(
    config, source, run_dir, data_dir=None, adjacency=None, read_options=None
):
    """Trains a traffic run (and its GRU baseline) into `run_dir`.

    Args:
        config: a `TrafficConfig`.
        source: dataset name or speed file (see `locate_data`).
        run_dir: the run directory (created; an interrupted run resumes).
        data_dir: the data directory for named datasets.
        adjacency: optional graph file for a speed file `source`.
        read_options: how to read the speed file (see `locate_data`).

    Returns:
        The run info dict (also written to `run.json`).

    Raises:
        ValueError: the data cannot be read, is too short for the split, or
            the step of the series does not fit `config.horizons`.
    """
    speeds_path, adjacency_path, read_options = locate_data(
        source, data_dir, adjacency, read_options
    )
    run_info = {
        "speeds_path": speeds_path,
        "adjacency_path": adjacency_path,
        "read_options": read_options,
    }
    parts, adjacency = load_split(run_info, config)
    index = parts["train"].index
    config.horizon_steps(data.step_minutes(index))
    mean, std = data.train_statistics(parts["train"], config.missing)
    run_info.update(
        backend=keras.backend.backend(),
        sensors=[str(c) for c in parts["train"].columns],
        mean=mean,
        std=std,
        split={
            name: [str(part.index[0]), str(part.index[-1])]
            for name, part in parts.items()
        },
        freq=readers.step_name(index.freq),
        step_minutes=data.step_minutes(index),
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
    if config.model == "attention" and config.gru_baseline:
        phases["gru_train_seconds"] = (
            dataclasses.replace(config, model="gru"),
            os.path.join(run_dir, "gru_baseline"),
        )
    for key, (phase_config, phase_dir) in phases.items():
        if key not in finished:
            run_info[key] = _fit_one(
                phase_config, parts, adjacency, run_info, phase_dir
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
