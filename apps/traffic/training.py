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

from attention_suite.apps.common.data.atomic import atomic_write_json
from attention_suite.apps.common.data.paths import check_dataset_name
from attention_suite.apps.common.data.paths import data_dir as resolve_data_dir
from attention_suite.apps.common.training import distribute, fit, runs
from attention_suite.apps.common.training.config import save_config
from attention_suite.apps.traffic import data, readers
from attention_suite.apps.traffic.config import TrafficConfig
from attention_suite.apps.traffic.model import (
    MaskedError,
    attention_bytes,
    build_model,
)

# How each model's training is announced.
PHASES = {"attention": "attention model", "gru": "GRU baseline"}


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
        if adjacency and not os.path.isfile(adjacency):
            raise FileNotFoundError(
                f"The graph file {adjacency!r} does not exist."
            )
        return (
            os.path.abspath(source),
            adjacency and os.path.abspath(adjacency),
            read_options,
        )
    if not readers.is_dataset_name(source):
        check_dataset_name(
            source, readers.dataset_names(), "a speed file (CSV, HDF5, NPZ)"
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
    print(f"Training the {PHASES[config.model]}")
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
    _, seconds = fit.fit(
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
    step = data.step_minutes(index)
    if config.horizons == "auto":
        config.horizons = config.auto_horizons(step)
        print(
            f"horizons=auto: {list(config.horizons)} minutes ahead (the "
            f"series' {step:g}-minute step)"
        )
    config.horizon_steps(step)
    mean, std = data.train_statistics(parts["train"], config.missing)
    # Faulty readings neither feed nor grade the training.
    parts = {
        name: data.without_outliers(part, mean, std) if name != "test" else part
        for name, part in parts.items()
    }
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
    _check_memory(config, parts["train"].shape[1])
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


def _check_memory(config, num_nodes):
    """Refuses, before training, a network too wide for the free memory.

    Args:
        config: the run's `TrafficConfig`.
        num_nodes: the number of sensors.

    Raises:
        ValueError: the attention model's estimated memory
            (`model.attention_bytes`) exceeds what the machine has free, on
            a CPU-only run.
    """
    if config.model != "attention" or distribute.on_accelerator():
        return
    try:
        with open("/proc/meminfo") as f:
            free = next(
                int(line.split()[1]) * 1024
                for line in f
                if line.startswith("MemAvailable:")
            )
    except (OSError, StopIteration, ValueError):
        return
    needed = attention_bytes(config, num_nodes)
    if needed > free:
        raise ValueError(
            f"{num_nodes} sensors need about {needed / 2**30:,.1f} GiB for "
            "the spatial attention of one training step (batch_size "
            f"{config.batch_size}, input_steps {config.input_steps}, "
            f"num_heads {config.num_heads}, num_layers {config.num_layers}); "
            f"{free / 2**30:,.1f} GiB is free. Lower those settings or "
            "forecast fewer sensors."
        )


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
