"""What every benchmark shares: timing, memory, child processes, reports.

A benchmark runs each measurement in a child process with `KERAS_BACKEND`
set before Keras is imported (`run_child`); the child runs the same script
with `--json-out PATH` and writes its result there (`write_child_result`).
The parent collects the results with the machine they ran on
(`machine_info`) and writes them with their Markdown summary
(`write_results`).
"""

import argparse
import json
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

BACKENDS = ("tensorflow", "jax", "torch")
RESULTS_DIR = Path(__file__).resolve().parent / "results"


def add_arguments(parser, quick_help):
    """Adds the flags every benchmark has.

    `--backends` (a list of backends), `--quick` (tiny sizes), `--out` (the
    results directory) and the hidden `--json-out` of child processes.

    Args:
        parser: the benchmark's `argparse.ArgumentParser`.
        quick_help: the help of `--quick`: what it shrinks.
    """
    parser.add_argument(
        "--backends",
        type=lambda names: names.split(","),
        default=BACKENDS,
        help="comma-separated backends (default: all three)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"{quick_help}; writes result files only with --out",
    )
    parser.add_argument(
        "--out",
        type=Path,
        help="directory for the result files (default: benchmarks/results)",
    )
    parser.add_argument("--json-out", help=argparse.SUPPRESS)


def results_dir(args):
    """Where a benchmark writes its results: `None` when it writes none.

    Args:
        args: arguments parsed with the flags of `add_arguments`.

    Returns:
        `--out`; else `RESULTS_DIR`, or `None` for a `--quick` run.
    """
    if args.out or args.quick:
        return args.out
    return RESULTS_DIR


def run_child(script, backend, arguments, quiet=False):
    """Runs a benchmark script in a child process on one backend.

    Args:
        script: the path of the script.
        backend: `"tensorflow"`, `"jax"` or `"torch"`.
        arguments: the script's arguments; `--json-out` is added.
        quiet: whether to hide the child's output; it then ends the error
            message of a child that fails.

    Returns:
        The result the child wrote with `write_child_result`, or
        `{"error": ...}` when it wrote none or failed.
    """
    env = dict(os.environ, KERAS_BACKEND=backend)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        command = [sys.executable, str(Path(script).resolve()), *arguments]
        completed = subprocess.run(
            command + ["--json-out", str(out)],
            env=env,
            capture_output=quiet,
            text=True,
            check=False,
        )
        result = {"error": f"exit status {completed.returncode}"}
        if out.exists():
            result = json.loads(out.read_text())
    if quiet and isinstance(result, dict) and "error" in result:
        result["error"] += f"\n{completed.stderr[-3000:]}"
    return result


def write_child_result(path, measure):
    """Runs a child's measurement and writes its result as JSON.

    Args:
        path: the `--json-out` file of the child.
        measure: a function of no arguments returning a JSON-serializable
            result.

    Raises:
        Exception: whatever `measure` raised, after writing
            `{"error": <its last line>, "error_detail": <the message>}`
            (the detail cut to its first 4,000 characters).
    """
    path = Path(path)
    try:
        result = measure()
    except Exception as error:
        message = str(error).strip() or type(error).__name__
        failure = {
            "error": message.splitlines()[-1].strip(),
            "error_detail": message[:4000],
        }
        path.write_text(json.dumps(failure))
        raise
    path.write_text(json.dumps(result))


def seconds_of(function, items):
    """Total seconds of `function(item)` for each item in turn.

    Args:
        function: called once per item; it must return once its work is
            done (synchronized).
        items: the arguments of the calls.

    Returns:
        The wall-clock seconds of all the calls.
    """
    start = time.perf_counter()
    for item in items:
        function(item)
    return time.perf_counter() - start


def time_steps(steps, warmup, min_repeats, max_repeats, budget_s):
    """Times the given steps interleaved, after warm-up calls.

    Each round calls every step once, starting from a different step each
    round, so slow-downs from other processes hit all steps alike.

    Args:
        steps: dict from name to a function running one synchronized step.
        warmup: untimed calls of each step first (at least 1: the first call
            compiles).
        min_repeats: rounds to run at least.
        max_repeats: rounds to run at most.
        budget_s: after `min_repeats`, stop once this many seconds passed.

    Returns:
        Two dicts from name to the seconds of the first call (compilation
        included) and to the list of seconds of the timed rounds.
    """
    names = list(steps)
    first, times = {}, {name: [] for name in names}
    for name in names:
        start = time.perf_counter()
        steps[name]()
        first[name] = time.perf_counter() - start
        for _ in range(warmup - 1):
            steps[name]()
    start = time.perf_counter()
    for round_index in range(max_repeats):
        if (
            round_index >= min_repeats
            and time.perf_counter() - start >= budget_s
        ):
            break
        shift = round_index % len(names)
        for name in names[shift:] + names[:shift]:
            step_start = time.perf_counter()
            steps[name]()
            times[name].append(time.perf_counter() - step_start)
    return first, times


def resident_mib():
    """The current resident set size of this process, in MiB."""
    status = Path("/proc/self/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) / 1024


def reset_peak_rss():
    """Resets this process' peak RSS to its current RSS (Linux >= 4.0).

    Returns:
        Whether the reset worked; if not, the peak covers the whole process.
    """
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def peak_rss_mib():
    """The peak resident set size of this process, in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def machine_info():
    """CPU, GPU, memory and library versions of this machine.

    Returns:
        A JSON-serializable dict; `gpus` lists the names `nvidia-smi`
        reports (empty without one), and a library that is not installed
        has the version `None`.
    """
    cpuinfo = Path("/proc/cpuinfo").read_text()
    meminfo = Path("/proc/meminfo").read_text()
    memory_kib = int(re.search(r"MemTotal:\s+(\d+)", meminfo).group(1))
    return {
        "cpu": re.search(r"model name\s*:\s*(.*)", cpuinfo).group(1),
        "cores": len(os.sched_getaffinity(0)),
        "memory_gib": round(memory_kib / 2**20, 1),
        "gpus": gpu_names(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "versions": {
            name: installed_version(name)
            for name in ("keras", "tensorflow", "jax", "jaxlib", "torch")
        },
    }


def gpu_names():
    """The names of the NVIDIA GPUs `nvidia-smi` lists (none: `[]`)."""
    try:
        listing = subprocess.run(
            ["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return []
    return [line.strip() for line in listing.splitlines() if line.strip()]


def installed_version(name):
    """The installed version of a distribution, `None` when it is absent."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def synchronize():
    """Waits for the current backend's queued device work to finish.

    JAX results are waited on where they are made (`block_until_ready`);
    TensorFlow's eager results are ready when returned. Torch on a GPU
    queues kernels, so its steps wait here.
    """
    import keras

    if keras.backend.backend() == "torch":
        import torch

        if torch.cuda.is_available():
            torch.cuda.synchronize()


def on_gpu():
    """Whether the current backend computes on a GPU."""
    import keras

    backend = keras.backend.backend()
    if backend == "torch":
        import torch

        return torch.cuda.is_available()
    if backend == "jax":
        import jax

        return jax.default_backend() == "gpu"
    import tensorflow as tf

    return bool(tf.config.list_logical_devices("GPU"))


def peak_device_mib():
    """The peak GPU memory this process allocated, in MiB (`None` on CPU)."""
    import keras

    if not on_gpu():
        return None
    backend = keras.backend.backend()
    if backend == "torch":
        import torch

        return torch.cuda.max_memory_allocated() / 2**20
    if backend == "jax":
        import jax

        return jax.devices()[0].memory_stats()["peak_bytes_in_use"] / 2**20
    import tensorflow as tf

    return tf.config.experimental.get_memory_info("GPU:0")["peak"] / 2**20


def matmul_step(size, dtype="float32"):
    """A compiled `(size, size) @ (size, size)` matmul: the speed roof.

    Args:
        size: the side of both square matrices.
        dtype: their dtype (a mixed policy's compute dtype for its roof).

    Returns:
        A function running one synchronized matmul.
    """
    import keras
    import numpy as np

    rng = np.random.default_rng(0)
    a, b = (
        keras.ops.convert_to_tensor(
            rng.standard_normal((size, size), dtype="float32"), dtype=dtype
        )
        for _ in range(2)
    )
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        step = tf.function(keras.ops.matmul, jit_compile=True)
        return lambda: step(a, b)
    if backend == "jax":
        import jax

        step = jax.jit(keras.ops.matmul)
        return lambda: jax.block_until_ready(step(a, b))

    def step():
        keras.ops.matmul(a, b)
        synchronize()

    return step


def roof_gflops(size=None, dtype="float32", repeats=10):
    """The median speed of `matmul_step(size, dtype)`, in GFLOP/s.

    Args:
        size: the side of the square matrices; `None`: 8192 on a GPU (a
            smaller product leaves it idle part of the time), else 2048.
        dtype: their dtype.
        repeats: timed calls after two warm-up calls.

    Returns:
        A float.
    """
    size = size or (8192 if on_gpu() else 2048)
    step = matmul_step(size, dtype)
    _, times = time_steps({"matmul": step}, 2, repeats, repeats, 0.0)
    return 2 * size**3 / statistics.median(times["matmul"]) / 1e9


def device_name(machine):
    """The GPUs of a `machine_info`, else its CPU and core count."""
    return ", ".join(machine.get("gpus", [])) or (
        f"{machine['cpu']}, {machine['cores']} cores"
    )


def fmt(value, spec):
    """Formats a number for a results table; `-` when it is missing."""
    return "-" if value is None else format(value, spec)


def write_results(directory, name, results, table):
    """Writes `<directory>/<name>.json` and `<directory>/<name>.md`.

    Args:
        directory: the results directory; created if missing.
        name: the benchmark's name, e.g. `"layers"`.
        results: the JSON-serializable results.
        table: their Markdown summary.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{name}.json").write_text(
        json.dumps(results, indent=2) + "\n"
    )
    (directory / f"{name}.md").write_text(table)
    print(f"Wrote {directory / name}.json and .md")
