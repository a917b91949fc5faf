"""Test helpers: NumPy conversion, per-backend gradients, the data directory,
a tiny run through the command line."""

import contextlib
import csv
import functools
import http.server
import io
import json
import os
import pathlib
import subprocess
import sys
import threading
import zipfile

import h5py
import keras
import numpy as np
import pytest

from attention_suite.apps.cli import main
from attention_suite.apps.common.serving.audit import audit_ops
from attention_suite.apps.common.serving.notes import signatures
from attention_suite.apps.common.serving.runtimes import line_key

REPO = pathlib.Path(__file__).resolve().parents[1]

# A property of the exported graph alone. The exporter runs under TensorFlow
# whatever backend trained the run, so the TensorFlow pass of `tests/run.sh`
# checks it; the other passes check what their backend changes: training,
# predict, and the export answering as this backend's predict does.
graph_property = pytest.mark.skipif(
    keras.backend.backend() != "tensorflow",
    reason="a property of the exported graph, checked in the TensorFlow pass",
)

# Settings of a traffic run small enough for a test (seconds per epoch).
TRAFFIC_TINY = [
    "epochs=1",
    "batch_size=64",
    "input_dim=4",
    "time_of_day_dim=4",
    "day_of_week_dim=2",
    "adaptive_dim=4",
    "num_heads=2",
    "num_layers=1",
    "feedforward_dim=8",
    "gru_units=8",
    "use_graph_mask=true",
]


def traffic_train(files, run_dir, *settings):
    """The `attn traffic train` arguments of a tiny run into `run_dir`.

    Args:
        files: `(speeds, adjacency)` paths.
        run_dir: the run directory.
        *settings: more `NAME=VALUE` settings, after `TRAFFIC_TINY`.

    Returns:
        The argument list (for `main`).
    """
    speeds, adjacency = files
    args = ["traffic", "train", "--data", speeds, "--adjacency", adjacency]
    args += ["--out", str(run_dir)]
    for setting in [*TRAFFIC_TINY, *settings]:
        args += ["--set", setting]
    return args


def run_file(run_dir, name):
    """The bytes of the file `name` of a run directory."""
    return pathlib.Path(run_dir, name).read_bytes()


def history_epochs(run_dir):
    """The `epoch` column of a run's `history.csv`, as a list."""
    with open(os.path.join(run_dir, "history.csv")) as f:
        rows = list(csv.DictReader(f))
    return [int(row["epoch"]) for row in rows]


def attn(*args, cwd, env=None):
    """Runs `attn ARGS...` in a new process in `cwd`; returns the finished run.

    Runs `python -m attention_suite.apps.cli` with this interpreter, which
    works whether or not the `attn` script is on the `PATH`; `env` adds
    environment variables.
    """
    return subprocess.run(
        [sys.executable, "-m", "attention_suite.apps.cli", *args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=900,
    )


def real_data_dir():
    """The directory of the real datasets: `$ATTN_DATA_DIR`, else
    `shared/data` beside the repository; skips the test when absent."""
    data_dir = pathlib.Path(
        os.environ.get("ATTN_DATA_DIR") or REPO.parent / "shared" / "data"
    )
    if not data_dir.is_dir():
        pytest.skip(f"no data directory at {data_dir} (set ATTN_DATA_DIR)")
    return data_dir


def to_numpy(x):
    """Converts a backend tensor (or nested tuple of them) to NumPy."""
    if isinstance(x, (tuple, list)):
        return type(x)(to_numpy(t) for t in x)
    return keras.ops.convert_to_numpy(x)


def gradients(layer, call, inputs):
    """Gradients of `sum(output ** 2)` w.r.t. float inputs and trainables.

    Args:
        layer: a built layer.
        call: a function `(layer, *inputs)` returning the output tensor (or
            a tuple whose first item is the output).
        inputs: list of NumPy arrays; only float ones are differentiated.

    Returns:
        `(input_grads, variable_grads)`: NumPy gradients for the float inputs
        (in order) and for `layer.trainable_variables`.
    """
    backend = keras.backend.backend()
    variables = layer.trainable_variables
    is_float = [np.issubdtype(x.dtype, np.floating) for x in inputs]

    def loss_of(tensors):
        out = call(layer, *tensors)
        out = out[0] if isinstance(out, (tuple, list)) else out
        return keras.ops.sum(keras.ops.square(keras.ops.cast(out, "float32")))

    def split(grads):
        grads = [to_numpy(g) for g in grads]
        return grads[: sum(is_float)], grads[sum(is_float) :]

    tensors = [keras.ops.convert_to_tensor(x) for x in inputs]
    floats = [t for t, f in zip(tensors, is_float) if f]

    def merge(float_values):
        values = iter(float_values)
        return [next(values) if f else t for t, f in zip(tensors, is_float)]

    if backend == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            tape.watch(floats)
            loss = loss_of(tensors)
        return split(tape.gradient(loss, floats + list(variables)))
    if backend == "jax":
        import jax

        def loss_fn(float_values, variable_values):
            with keras.StatelessScope(
                state_mapping=list(zip(variables, variable_values))
            ):
                return loss_of(merge(float_values))

        grads = jax.grad(loss_fn, argnums=(0, 1))(
            floats, [v.value for v in variables]
        )
        return split(list(grads[0]) + list(grads[1]))
    for t in floats:
        t.requires_grad_(True)
    loss_of(tensors).backward()
    grads = [t.grad for t in floats] + [v.value.grad for v in variables]
    for v in variables:
        v.value.grad = None
    return split(grads)


# Node attributes the oldest release an export claims does not know, and
# ignores: each was checked by `benchmarks/serving_compat.py` (the releases
# without it serve the same answers). A new one needs the same check.
IGNORED_ATTRIBUTES = {"VarHandleOp.debug_name"}


def measured_minimum(app):
    """The oldest TF Serving release that served `app`'s export as TensorFlow
    did, in `benchmarks/results/serving_compat.json`."""
    with open(REPO / "benchmarks" / "results" / "serving_compat.json") as f:
        measured = json.load(f)["runtimes"]
    return min(
        (
            line
            for line, found in measured.items()
            if found["exports"][app] == "same answers"
        ),
        key=line_key,
    )


def stored_values(path):
    """The number of floating-point values (weights, not the seed
    generators' integer states) a `.keras` file or a SavedModel stores."""
    if str(path).endswith(".keras"):
        with zipfile.ZipFile(path) as archive:
            weights = h5py.File(io.BytesIO(archive.read("model.weights.h5")))
        sizes = []
        weights.visititems(
            lambda _, item: (
                sizes.append(item.size)
                if isinstance(item, h5py.Dataset) and item.dtype.kind == "f"
                else None
            )
        )
        return sum(sizes)
    import tensorflow as tf

    reader = tf.train.load_checkpoint(
        os.path.join(path, "variables", "variables")
    )
    shapes = reader.get_variable_to_shape_map()
    return sum(
        int(np.prod(shapes[name]))
        for name, dtype in reader.get_variable_to_dtype_map().items()
        if dtype.is_floating
    )


def assert_servable(model_dir, app, text_ops, run_dir):
    """Asserts an export passes the op audit, documents itself and stores
    each of its run's weights once.

    Args:
        model_dir: the exported version directory.
        app: the TF Serving model name.
        text_ops: whether the graph should need `tensorflow_text` ops.
        run_dir: the run it was exported from.

    Returns:
        The export's `OpAudit`.
    """
    assert stored_values(model_dir) == stored_values(
        os.path.join(run_dir, "model.keras")
    )
    audit = audit_ops(model_dir)
    assert audit.problems() == []
    assert bool(audit.text) == text_ops
    assert audit.min_serving_version == measured_minimum(app)
    assert set(audit.ignored_attributes) <= IGNORED_ATTRIBUTES
    with open(os.path.join(model_dir, "SERVING.md"), encoding="utf-8") as f:
        notes = f.read()
    version = os.path.basename(model_dir)
    assert notes.startswith(f"# `{app}`, version {version}")
    assert f"/v1/models/{app}/versions/{version}:predict" in notes
    assert f"TF Serving {audit.min_serving_version} or newer" in notes
    producer = audit.versions["graph_producer"]
    assert f"(graph producer {producer})" in notes
    # The example request names exactly the signature's inputs.
    body = json.loads(notes.split("<<'EOF'\n")[1].split("\nEOF")[0])
    inputs = signatures(model_dir)["serving_default"]["inputs"]
    assert sorted(body["inputs"]) == sorted(inputs)
    return audit


def train_evaluate_export(command, train_args, settings, root, app, version):
    """Trains, evaluates and exports a run through `attn <command>`.

    The export verifies itself: it fails unless a fresh TensorFlow-only
    process serves what `predict` gives.

    Args:
        command: the app's sub-command (`"qa"`, `"translate"`, ...).
        train_args: the other `train` arguments (`["--data", path]`).
        settings: `key=value` config settings, each passed with `--set`.
        root: a `pathlib.Path` for the run and the exports.
        app: the app's directory under the export base.
        version: the export version.

    Returns:
        `(run_dir, model_dir)`.
    """
    run_dir = str(root / "run")
    args = [command, "train", *train_args, "--out", run_dir]
    for setting in settings:
        args += ["--set", setting]
    assert main(args) == 0
    # The config records the data the run read, not the default dataset.
    data = train_args[train_args.index("--data") + 1]
    with open(os.path.join(run_dir, "config.json")) as f:
        assert json.load(f)["dataset"] == os.path.abspath(data)
    assert main([command, "evaluate", "--run", run_dir]) == 0
    base = str(root / "saved_models")
    assert (
        main(
            [
                command,
                "export",
                "--run",
                run_dir,
                "--model-version",
                str(version),
                "--base",
                base,
            ]
        )
        == 0
    )
    return run_dir, os.path.join(base, app, str(version))


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Serves files without logging each request."""

    def log_message(self, *args):
        pass


@contextlib.contextmanager
def served_directory(directory):
    """Serves a directory over HTTP on 127.0.0.1, as a data mirror.

    Args:
        directory: the folder to serve.

    Yields:
        Its base URL (`--mirror`).
    """
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
