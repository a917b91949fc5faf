"""A small synthetic road network for the demo and the tests.

Sensors sit on a ring road; speeds follow a daily profile with morning and
evening rush hours whose dips travel downstream from sensor to sensor, plus
noise and a few missing readings (zeros, as in METR-LA). It is generated, not
sampled from any real dataset.
"""

import os

import numpy as np
import pandas as pd

# The generated series start here (a Thursday, as Los-loop does).
START = "2012-03-01 00:00"


def demo_series(
    num_sensors=8, days=3, seed=0, missing_rate=0.002, step_minutes=5
):
    """Generates speeds of a ring road.

    Args:
        num_sensors: sensors on the ring.
        days: length of the series in days.
        seed: random seed.
        missing_rate: fraction of readings set to 0 (missing).
        step_minutes: minutes between readings.

    Returns:
        `(series, adjacency)`: a DataFrame (DatetimeIndex x sensor ids
        `"s0"`, `"s1"`, ...) and the `(N, N)` ring adjacency with unit
        weights between neighbours.
    """
    rng = np.random.default_rng(seed)
    per_day = round(1440 / step_minutes)
    steps = days * per_day
    index = pd.date_range(
        START, periods=steps, freq=f"{step_minutes}min", name="timestamp"
    )
    hours = (np.arange(steps) % per_day)[:, None] * step_minutes / 60.0
    # Each sensor sees the rush-hour dips 10 minutes after its upstream one.
    delay = np.arange(num_sensors)[None, :] / 6.0

    def dip(center, width):
        return np.exp(-(((hours - center - delay) / width) ** 2))

    free_flow = 65.0 - 3.0 * rng.random(num_sensors)
    speeds = free_flow - 25.0 * dip(8.0, 1.2) - 20.0 * dip(17.5, 1.5)
    speeds += rng.normal(0.0, 1.5, speeds.shape)
    speeds = np.clip(speeds, 5.0, 75.0)
    speeds[rng.random(speeds.shape) < missing_rate] = 0.0
    columns = [f"s{i}" for i in range(num_sensors)]
    adjacency = np.zeros((num_sensors, num_sensors), "float32")
    ring = np.arange(num_sensors)
    adjacency[ring, (ring + 1) % num_sensors] = 1.0
    adjacency[(ring + 1) % num_sensors, ring] = 1.0
    return pd.DataFrame(
        speeds.astype("float32"), index=index, columns=columns
    ), adjacency


def write_demo_files(directory, **kwargs):
    """Writes a demo series and graph as Los-loop-style files.

    Args:
        directory: where `speeds.csv` (timestamp column + one column per
            sensor) and `adjacency.csv` (matrix, no header) go.
        **kwargs: arguments of `demo_series`.

    Returns:
        `(speeds_path, adjacency_path)`.
    """
    os.makedirs(directory, exist_ok=True)
    series, adjacency = demo_series(**kwargs)
    speeds_path = os.path.join(directory, "speeds.csv")
    adjacency_path = os.path.join(directory, "adjacency.csv")
    series.to_csv(speeds_path, float_format="%.2f")
    np.savetxt(adjacency_path, adjacency, delimiter=",", fmt="%.1f")
    return speeds_path, adjacency_path
