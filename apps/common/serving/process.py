"""Running a SavedModel in a fresh process that imports only TensorFlow.

This is what a serving machine sees: TensorFlow and no project code. The
child loads the model, runs the requests through `serving_default` and sends
the outputs back; it fails if any project module got imported. The same
process can sort the graph's op types for the op audit
(`attention_suite.apps.common.serving.audit`), so an export starts one
TensorFlow process to check both.
"""

import json
import os
import re
import subprocess
import sys
import tempfile

import numpy as np

# The batch sizes `attn <app> serve-check` and `benchmarks/serving.py` time:
# one row, and the most rows `saved_models/batching.config` lets the server
# gather into one batch.
LATENCY_BATCH_SIZES = (1, 64)

_CHILD = r"""
import json, sys, time
import numpy as np
import tensorflow as tf
from tensorflow.python.framework import kernels, op_def_registry
export_dir, signature_name, tmp = sys.argv[1:4]
imports, timing, ops = (json.loads(argument) for argument in sys.argv[4:7])
# Sorted before any other library is imported: the ops TensorFlow has.
core = [op for op in ops or () if op_def_registry.get(op) is not None]
for name in imports:
    __import__(name)
outputs = {}
requests = np.load(tmp + "/requests.npz", allow_pickle=False)
if export_dir:
    signature = tf.saved_model.load(export_dir).signatures[signature_name]
for i in range(int(requests["count"])):
    prefix = f"{i}/"
    inputs = {
        key[len(prefix):]: tf.constant(requests[key])
        for key in requests.files if key.startswith(prefix)
    }
    for name, value in signature(**inputs).items():
        value = value.numpy()
        # Strings come back as objects; NumPy stores them as bytes.
        outputs[f"{i}/{name}"] = (
            value.astype(bytes) if value.dtype == object else value
        )
for size in timing["batch_sizes"]:
    # The first request's rows, repeated to `size` rows.
    inputs = {
        key[2:]: tf.constant(np.take(
            requests[key], np.arange(size) % len(requests[key]), axis=0))
        for key in requests.files if key.startswith("0/")
    }
    signature(**inputs)
    seconds, start = [], time.perf_counter()
    while len(seconds) < timing["min_calls"] or (
        len(seconds) < timing["max_calls"]
        and time.perf_counter() - start < timing["seconds"]
    ):
        begin = time.perf_counter()
        for value in signature(**inputs).values():
            value.numpy()
        seconds.append(time.perf_counter() - begin)
    outputs[f"latency/{size}"] = np.array(seconds)
if ops is not None:
    import tensorflow_text
    text = [op for op in ops if op not in core and op_def_registry.get(op)]
    gpu = [
        op for op in core + text
        if any(k.device_type == "GPU"
               for k in kernels.get_registered_kernels_for_op(op).kernel)
    ]
    with open(tmp + "/ops.json", "w") as f:
        json.dump({"core": core, "text": text, "gpu": gpu,
                   "tensorflow": tf.__version__,
                   "tensorflow_text": tensorflow_text.__version__}, f)
forbidden = sorted(m for m in sys.modules if m.startswith("attention_suite"))
if forbidden:
    sys.exit(f"the serving process imported {forbidden[:5]}")
np.savez(tmp + "/outputs.npz", **outputs)
"""


def write_requests(path, requests):
    """Writes requests as the serving child reads them (`np.load`, without
    pickles: strings are stored as bytes).

    Args:
        path: the `.npz` file to write.
        requests: list of dicts mapping input name to an array-like.
    """
    arrays = {"count": np.array(len(requests))}
    for i, inputs in enumerate(requests):
        for name, value in inputs.items():
            value = np.asarray(value)
            if value.dtype == object:
                value = value.astype(bytes)
            arrays[f"{i}/{name}"] = value
    np.savez(path, **arrays)


class ServingError(RuntimeError):
    """A SavedModel that fails in a fresh process, or answers otherwise than
    the Keras model it was exported from.

    `str(error)` is one line for the user; `details` keeps what the serving
    process printed, for `--verbose`.

    Args:
        message: the one-line description.
        details: more text (e.g. the serving process' stderr), or `""`.
    """

    def __init__(self, message, details=""):
        super().__init__(message)
        self.details = details


def exception_of(stderr):
    """The exception a Python process died of, on one line.

    Args:
        stderr: the process' standard error (a traceback at its end).

    Returns:
        From the last `SomeError: ...` line to the end, white space
        collapsed, at most 1,000 characters; else the last line.
    """
    lines = stderr.strip().splitlines() or [""]
    starts = [
        i
        for i, line in enumerate(lines)
        if re.match(r"[\w.]+(Error|Exception)\b.*:", line)
    ]
    text = " ".join(" ".join(lines[starts[-1] if starts else -1 :]).split())
    return text[:1000]


def run_tensorflow_child(code, arguments, what, cwd=None):
    """Runs Python code in a fresh process that sees no project path.

    The child starts without `PYTHONPATH` and `KERAS_BACKEND`, so it imports
    TensorFlow (and whatever `code` imports) as a serving process would.

    Args:
        code: the child's program (`python -c code`).
        arguments: its command-line arguments.
        what: what the child does, for the error message (e.g. `"Serving
            saved_models/qa/1 in a fresh process"`).
        cwd: the child's working directory.

    Returns:
        The `subprocess.CompletedProcess` (output captured as text).

    Raises:
        ServingError: the child failed; its exception is in the message,
            the end of its stderr in `details`.
    """
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONPATH", "KERAS_BACKEND")
    }
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    result = subprocess.run(
        [sys.executable, "-c", code, *arguments],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise ServingError(
            f"{what} failed: {exception_of(result.stderr)}",
            details=result.stderr[-3000:],
        )
    return result


def run_saved_model(
    export_dir, requests, signature="serving_default", imports=()
):
    """Runs requests through a SavedModel in a fresh TensorFlow-only process.

    Args:
        export_dir: the SavedModel directory.
        requests: list of dicts mapping input name to a NumPy array.
        signature: the signature to call.
        imports: extra modules the child imports before loading (e.g.
            `"tensorflow_text"` when the graph holds its ops).

    Returns:
        A list of dicts mapping output name to a NumPy array, one per
        request.

    Raises:
        ServingError: the child failed; its exception is in the message,
            the end of its stderr in `details`.
    """
    outputs, _, _ = serve_requests(export_dir, requests, signature, imports)
    return outputs


def measure_latency(
    export_dir,
    request,
    batch_sizes=LATENCY_BATCH_SIZES,
    imports=(),
    seconds=5.0,
):
    """Times `serving_default` in a fresh TensorFlow-only process.

    Each batch is the request's rows repeated to the batch size; after one
    untimed call at that shape, calls are timed (outputs fetched) until
    `seconds` have passed, at least 5 and at most 200 of them.

    Args:
        export_dir: the SavedModel directory.
        request: a dict mapping input name to a NumPy array (batch first).
        batch_sizes: the batch sizes to time.
        imports: extra modules the child imports (e.g. `"tensorflow_text"`).
        seconds: the time to spend per batch size.

    Returns:
        A dict mapping batch size to a NumPy array of call times in seconds.

    Raises:
        ServingError: the child failed.
    """
    _, latency, _ = serve_requests(
        export_dir,
        [request],
        "serving_default",
        imports,
        timing_plan(batch_sizes, seconds),
    )
    return latency


def timing_plan(batch_sizes, seconds):
    """The child's timing plan: see `measure_latency`."""
    return {
        "batch_sizes": list(batch_sizes),
        "seconds": seconds,
        "min_calls": 5,
        "max_calls": 200,
    }


def serve_requests(
    export_dir, requests, signature, imports, timing=None, ops=None
):
    """Serves requests, and sorts op types, in one fresh TensorFlow process.

    The first request is the one timed (`measure_latency`). Op types are
    sorted as `attention_suite.apps.common.serving.audit.classify_ops`
    describes: those TensorFlow registers before `imports` are imported are
    core, those `tensorflow_text` adds (imported last) are text ops.

    Args:
        export_dir: the SavedModel directory, or `None` to load none (no
            requests then).
        requests: list of dicts mapping input name to a NumPy array.
        signature: the signature to call.
        imports: extra modules the child imports before loading (e.g.
            `"tensorflow_text"` when the graph holds its ops).
        timing: a `timing_plan`, or `None` to time nothing.
        ops: op type names to sort, or `None`.

    Returns:
        `(outputs, latency, known)`: the outputs per request (dicts mapping
        output name to a NumPy array), a dict mapping batch size to call
        times in seconds (empty without `timing`), and the sorted op types
        (`classify_ops`' dict; `None` without `ops`).

    Raises:
        ServingError: the child failed; its exception is in the message,
            the end of its stderr in `details`.
    """
    timing = timing or {"batch_sizes": []}
    with tempfile.TemporaryDirectory() as tmp:
        write_requests(os.path.join(tmp, "requests.npz"), requests)
        run_tensorflow_child(
            _CHILD,
            [
                os.path.abspath(export_dir) if export_dir else "",
                signature,
                tmp,
                json.dumps(list(imports)),
                json.dumps(timing),
                json.dumps(None if ops is None else sorted(ops)),
            ],
            f"Serving {export_dir} in a fresh process"
            if export_dir
            else "Listing the ops TensorFlow registers",
            cwd=tmp,
        )
        outputs = np.load(os.path.join(tmp, "outputs.npz"))
        latency = {
            size: outputs[f"latency/{size}"] for size in timing["batch_sizes"]
        }
        known = None
        if ops is not None:
            with open(os.path.join(tmp, "ops.json")) as f:
                known = json.load(f)
        return (
            [
                {
                    key.split("/", 1)[1]: outputs[key]
                    for key in outputs.files
                    if key.startswith(f"{i}/")
                }
                for i in range(len(requests))
            ],
            latency,
            known,
        )


def string_array(texts):
    """A NumPy bytes array of `texts` (str or bytes), as a request holds it.

    Args:
        texts: list of strings or bytes.

    Returns:
        A NumPy array of dtype `bytes`.
    """
    return np.array(
        [t if isinstance(t, bytes) else t.encode() for t in texts], dtype=object
    ).astype(bytes)
