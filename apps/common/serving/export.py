"""Versioned, atomic SavedModel export for TF Serving.

Every app exports under the TensorFlow backend, whatever backend it trained
on: the `.keras` file of a run holds backend-independent weights, so the
exporter reloads it under TensorFlow (in a subprocess when the current
backend is another one: `call_under_tensorflow`). The result is a plain
TensorFlow graph: no `XlaCallModule` ops, no fixed device, so it runs on CPU
and GPU TF Serving without XLA flags.

TensorFlow, Keras and `tensorflow_serving.apis` are imported inside the
functions that need them, so the version bookkeeping (`versions`,
`reserved_version`, `resolve_version`) runs without them.
"""

import contextlib
import dataclasses
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import numpy as np

from attention_suite.apps.common.data.atomic import (
    atomic_directory,
    atomic_write_bytes,
    is_running,
)
from attention_suite.apps.common.serving.audit import check_ops, graph_ops
from attention_suite.apps.common.serving.notes import write_serving_notes
from attention_suite.apps.common.serving.process import (
    ServingError,
    serve_requests,
)

WARMUP_FILE = os.path.join("assets.extra", "tf_serving_warmup_requests")


# The child of `call_under_tensorflow`: calls the function, writes its JSON
# result or the one-line error it raised.
_CALL_CHILD = r"""
import functools, importlib, json, sys
target, arguments, result = sys.argv[1:4]
module, name = target.split(":")
arguments = json.loads(arguments)
function = functools.reduce(
    getattr, name.split("."), importlib.import_module(module)
)
try:
    answer = {"value": function(*arguments["args"], **arguments["kwargs"])}
except (ValueError, OSError, RuntimeError) as error:
    answer = {"error": type(error).__name__, "message": str(error)}
with open(result, "w") as f:
    json.dump(answer, f)
"""
# The errors a child may report, by name; any other becomes a RuntimeError.
_CHILD_ERRORS = {
    error.__name__: error
    for error in (
        ValueError,
        OSError,
        FileNotFoundError,
        FileExistsError,
        RuntimeError,
        ServingError,
    )
}


def call_under_tensorflow(target, *args, **kwargs):
    """Calls a function in a process on the TensorFlow backend.

    Exports are TensorFlow graphs whatever backend trained the run: under
    another backend, the exporting function runs again in a subprocess with
    `KERAS_BACKEND=tensorflow`, which reloads the run's backend-independent
    `.keras` weights.

    Args:
        target: the function, as `"module:name"` (the name may be dotted,
            e.g. a class' method); its arguments and result must be JSON
            values.
        *args: its positional arguments.
        **kwargs: its keyword arguments.

    Returns:
        What the function returned.

    Raises:
        ValueError, OSError, ServingError, RuntimeError: what the function
            raised, with its message.
    """
    env = dict(os.environ, KERAS_BACKEND="tensorflow")
    with tempfile.TemporaryDirectory() as tmp:
        result = os.path.join(tmp, "result.json")
        code = subprocess.call(
            [
                sys.executable,
                "-c",
                _CALL_CHILD,
                target,
                json.dumps({"args": args, "kwargs": kwargs}),
                result,
            ],
            env=env,
        )
        if not os.path.exists(result):
            raise RuntimeError(
                f"{target} under TensorFlow exited with code {code}."
            )
        with open(result) as f:
            answer = json.load(f)
    if "error" in answer:
        raise _CHILD_ERRORS.get(answer["error"], RuntimeError)(
            answer["message"]
        )
    return answer["value"]


def export_run(
    caller,
    export_and_verify,
    run,
    base,
    app,
    version=None,
    overwrite=False,
):
    """Exports a run as `<base>/<app>/<version>/`: what every app's
    `export` does.

    Under another backend than TensorFlow, `caller` runs again under
    TensorFlow (`call_under_tensorflow`). The version is reserved first
    (`reserved_version`), the SavedModel written and checked in a fresh
    process against the Keras model before it is put in place
    (`export_saved_model`), then `<base>/models.config` lists the app.

    Args:
        caller: the app's `export`, as `"module:name"`
            (`call_under_tensorflow`), called again under TensorFlow when
            the backend is another.
        export_and_verify: `export_and_verify(run_dir, path, overwrite)`
            returning the path written: the app's exporter, which raises
            `ServingError` when the SavedModel answers otherwise than the
            run (`export_saved_model`).
        run: a `Run` or a run directory.
        base: the model base directory holding `<app>/<N>/`.
        app: the app's directory under `base` (the TF Serving model name).
        version: the version to write (default: one above the newest).
        overwrite: whether an existing version is replaced.

    Returns:
        The version directory written, an absolute path.

    Raises:
        ServingError: the SavedModel answers otherwise than the run.
    """
    import keras

    from attention_suite.apps.common.training.runs import run_path

    run_dir = run_path(run)
    if keras.backend.backend() != "tensorflow":
        return call_under_tensorflow(
            caller, run_dir, base, version=version, overwrite=overwrite
        )
    with reserved_version(base, app, version) as path:
        path = export_and_verify(run_dir, path, overwrite=overwrite)
    update_models_config(base, app)
    return path


def write_warmup_requests(export_dir, requests, model_name):
    """Writes TF Serving warm-up requests into `assets.extra/`.

    Args:
        export_dir: the SavedModel directory.
        requests: list of dicts mapping input name to a NumPy array, each a
            `serving_default` request.
        model_name: the name TF Serving serves the model under.
    """
    import tensorflow as tf
    from tensorflow_serving.apis import prediction_log_pb2

    path = os.path.join(export_dir, WARMUP_FILE)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with tf.io.TFRecordWriter(path) as writer:
        for inputs in requests:
            log = prediction_log_pb2.PredictionLog(
                predict_log=prediction_log_pb2.PredictLog(
                    request=predict_request(inputs, model_name)
                )
            )
            writer.write(log.SerializeToString())


def predict_request(
    inputs, model_name, version=None, signature="serving_default"
):
    """A TF Serving `PredictRequest`.

    Args:
        inputs: dict mapping input name to a NumPy array.
        model_name: the name TF Serving serves the model under.
        version: the version to ask for; `None` for the newest.
        signature: the signature to call.

    Returns:
        A `tensorflow_serving.apis.predict_pb2.PredictRequest`.
    """
    import tensorflow as tf
    from tensorflow_serving.apis import model_pb2, predict_pb2

    spec = model_pb2.ModelSpec(name=model_name, signature_name=signature)
    if version is not None:
        spec.version.value = version
    request = predict_pb2.PredictRequest(model_spec=spec)
    for name, value in inputs.items():
        request.inputs[name].CopyFrom(tf.make_tensor_proto(value))
    return request


def read_warmup_requests(export_dir):
    """Reads the warm-up requests of a SavedModel back as NumPy dicts.

    Args:
        export_dir: the SavedModel directory.

    Returns:
        A list of dicts mapping input name to a NumPy array.
    """
    import tensorflow as tf
    from tensorflow_serving.apis import prediction_log_pb2

    requests = []
    for record in tf.data.TFRecordDataset(
        os.path.join(export_dir, WARMUP_FILE)
    ):
        log = prediction_log_pb2.PredictionLog.FromString(record.numpy())
        requests.append(
            {
                name: tf.make_ndarray(proto)
                for name, proto in log.predict_log.request.inputs.items()
            }
        )
    return requests


@dataclasses.dataclass
class ServingCheck:
    """What an export serves in a fresh process before it is put in place.

    Attributes:
        requests: `serving_default` input dicts (NumPy), each sent as one
            request.
        mismatches: `mismatches(outputs)`, given the served output dicts
            (one per request), returns a list describing the requests whose
            answers differ from the Keras model's (empty when all agree).
        imports: modules the serving process needs besides TensorFlow (e.g.
            `"tensorflow_text"`).
    """

    requests: list
    mismatches: object
    imports: tuple = ()


def export_saved_model(
    path, archive, warmup_requests, model_name, check, overwrite=False
):
    """Writes a SavedModel to `path` atomically, checked and documented.

    Besides the graph and its warm-up requests, the version directory gets
    `SERVING.md` (`attention_suite.apps.common.serving.notes`). Before the
    version is renamed into place, one fresh process that imports only
    TensorFlow (and `check.imports`) serves `check.requests` and sorts the
    graph's ops for the op audit
    (`attention_suite.apps.common.serving.audit.check_ops`): a graph a stock
    TF Serving binary cannot serve, or one that answers otherwise than the
    Keras model, is never put in place.

    Args:
        path: the version directory, `saved_models/<app>/<version>`.
        archive: a `keras.export.ExportArchive` with its endpoints added,
            including `"serving_default"`.
        warmup_requests: list of `serving_default` input dicts (NumPy).
        model_name: the TF Serving model name (the app name).
        check: the `ServingCheck` the SavedModel must pass.
        overwrite: whether an existing version is replaced.

    Returns:
        The absolute path written.

    Raises:
        ServingError: the graph has ops or device pins TF Serving cannot
            serve, or answers otherwise than the Keras model.
    """

    with atomic_directory(path, overwrite=overwrite) as tmp:
        archive.write_out(tmp, verbose=False)
        write_warmup_requests(tmp, warmup_requests, model_name)
        served, _, known = serve_requests(
            tmp,
            check.requests,
            "serving_default",
            check.imports,
            ops=graph_ops(tmp),
        )
        audit = check_ops(tmp, known)
        mismatches = check.mismatches(served)
        if mismatches:
            raise ServingError(
                "The SavedModel, served in a fresh process, answers "
                "otherwise than the run it was exported from: "
                f"{mismatches[:3]}"
            )
        write_serving_notes(
            tmp,
            model_name,
            os.path.basename(os.path.normpath(path)),
            audit,
            warmup_requests[0],
        )
    return os.path.abspath(path)


def versions(base, app):
    """The complete versions of an app's model directory, oldest first.

    A version being written is a hidden temporary directory until it is
    complete, so every integer-named directory is a complete one.

    Args:
        base: the model base directory (`saved_models`).
        app: the app name.

    Returns:
        A sorted list of version numbers.
    """
    directory = os.path.join(base, app)
    if not os.path.isdir(directory):
        return []
    return sorted(
        int(name)
        for name in os.listdir(directory)
        if name.isdigit()
        and int(name) > 0
        and os.path.isdir(os.path.join(directory, name))
    )


# TF Serving's model versions are int64.
MAX_VERSION = 2**63 - 1
# A version reserved by an export in progress: `.<N>.reserved/` holding the
# exporter's process id.
_RESERVED = re.compile(r"\.(\d+)\.reserved")


def version_path(base, app, version=None):
    """Returns `<base>/<app>/<version>` after checking the version.

    Args:
        base: the model base directory (`saved_models`).
        app: the app name.
        version: a positive integer that fits int64 (TF Serving only loads
            integer names, as int64), or `None` for the next free one (one
            above the newest version, complete or reserved by an export in
            progress).

    Returns:
        The version directory path.
    """
    if version is None:
        directory = os.path.join(base, app)
        reserved = []
        for name in _entries(directory):
            match = _RESERVED.fullmatch(name)
            marker = os.path.join(directory, name)
            if match and _held_by_running_process(marker):
                reserved.append(int(match.group(1)))
            elif match:  # Its export was killed: the version is free.
                shutil.rmtree(marker, ignore_errors=True)
        version = max([0, *versions(base, app), *reserved]) + 1
    if (
        not isinstance(version, (int, np.integer))
        or version < 1
        or version > MAX_VERSION
    ):
        raise ValueError(
            "A model version must be a positive integer below 2^63 (TF "
            f"Serving's versions are int64), received {version!r}."
        )
    return os.path.join(base, app, str(int(version)))


def _entries(directory):
    """The names in `directory`, none when it does not exist."""
    return os.listdir(directory) if os.path.isdir(directory) else []


@contextlib.contextmanager
def reserved_version(base, app, version=None):
    """Context manager reserving a version directory for one export.

    The version is claimed by an exclusive `mkdir` of `.<N>.reserved`
    beside it, so two exports running at once never pick the same version:
    the second takes the next one (or, for a version it names, fails). A
    reservation whose process is gone is taken over.

    Args:
        base: the model base directory (`saved_models`).
        app: the app name.
        version: the version to write, or `None` for the next free one.

    Yields:
        The version directory path (`version_path`).

    Raises:
        FileExistsError: `version` is reserved by another running export.
        ValueError: `version` is not a valid model version.
    """
    directory = os.path.join(base, app)
    os.makedirs(directory, exist_ok=True)
    while True:
        path = version_path(base, app, version)
        marker = os.path.join(directory, f".{os.path.basename(path)}.reserved")
        try:
            os.mkdir(marker)
            break
        except FileExistsError:
            if _held_by_running_process(marker):
                if version is not None:
                    raise FileExistsError(
                        f"Version {version} of {app} is being written by "
                        "another export."
                    ) from None
                continue
            shutil.rmtree(marker, ignore_errors=True)
    try:
        with open(os.path.join(marker, "pid"), "w") as f:
            f.write(str(os.getpid()))
        yield path
    finally:
        shutil.rmtree(marker, ignore_errors=True)


def _held_by_running_process(marker):
    """Whether the reservation `marker` belongs to a running process (or is
    being made: its process id not written yet)."""
    try:
        with open(os.path.join(marker, "pid")) as f:
            pid = int(f.read())
    except FileNotFoundError:
        return os.path.isdir(marker)
    except ValueError:
        return True
    return is_running(pid)


def resolve_version(path, app):
    """The version directory `serve-check` checks, from what TF Serving takes.

    Args:
        path: a version directory (`saved_models/<app>/<N>`) or a model base
            path (`saved_models/<app>`, TF Serving's `--model_base_path`),
            whose newest complete version is taken.
        app: the app whose export is expected.

    Returns:
        The version directory.

    Raises:
        FileNotFoundError: `path` does not exist, or holds no version.
        ValueError: `path` is another app's export, or not a SavedModel.
    """
    if not os.path.isdir(path):
        raise FileNotFoundError(f"{path} does not exist.")
    if not os.path.exists(os.path.join(path, "saved_model.pb")):
        found = versions(*os.path.split(os.path.normpath(path)))
        if not found:
            raise FileNotFoundError(
                f"{path} is neither a SavedModel nor a model base path "
                "holding numbered versions."
            )
        path = os.path.join(path, str(found[-1]))
    exported = _exported_app(path)
    if exported is not None and exported != app:
        raise ValueError(f"{path} is an export of {exported}, not of {app}.")
    return path


def _exported_app(version_dir):
    """The app named by a version's `SERVING.md` title, if it has one."""
    try:
        with open(os.path.join(version_dir, "SERVING.md")) as f:
            title = f.readline()
    except OSError:
        return None
    match = re.match(r"# `([^`]+)`, version", title)
    return match and match.group(1)


MODELS_CONFIG = "models.config"
_MODELS_CONFIG_HEAD = """\
# TF Serving model config: serve every exported app from its base path.
# Written by `attn <app> export` into the model base it exports to; run the
# server with that base mounted at /models, e.g. from the repository root:
#   docker run -p 8501:8501 -v "$PWD/saved_models:/models" tensorflow/serving \\
#     --model_config_file=/models/models.config \\
#     --model_config_file_poll_wait_seconds=60
# Each base path holds integer version directories; every version there is
# served (`export --keep K` decides how many there are), the newest by
# default.
"""


def models_config(apps):
    """The text of a TF Serving `models.config` serving `apps`.

    Args:
        apps: the model names, each served from `/models/<name>`.

    Returns:
        The config text (protobuf text format).
    """
    entries = "".join(
        "  config {\n"
        f'    name: "{app}"\n'
        f'    base_path: "/models/{app}"\n'
        '    model_platform: "tensorflow"\n'
        "    model_version_policy { all {} }\n"
        "  }\n"
        for app in apps
    )
    return f"{_MODELS_CONFIG_HEAD}model_config_list {{\n{entries}}}\n"


def update_models_config(base, app):
    """Adds `app` to the `models.config` of a model base (atomically).

    The models it already lists stay, in their order.

    Args:
        base: the model base directory (`saved_models`).
        app: the app just exported.

    Returns:
        The config's path.
    """
    path = os.path.join(base, MODELS_CONFIG)
    listed = []
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            listed = re.findall(r'^\s*name:\s*"([^"]+)"', f.read(), re.M)
    text = models_config(listed + [app] * (app not in listed))
    atomic_write_bytes(path, text.encode())
    return path


def check_keep(keep):
    """Refuses a `--keep` below 1 (the newest version always stays).

    Args:
        keep: how many versions to keep.

    Raises:
        ValueError: `keep` is below 1.
    """
    if keep < 1:
        raise ValueError(f"--keep must be at least 1, received {keep}.")


def keep_newest(base, app, keep):
    """Removes all but the newest `keep` complete versions of an app.

    Each old version is first renamed to a hidden temporary name, then
    deleted, so a server polling the directory sees it either whole or gone.
    Versions being written (hidden temporary directories) are never touched.

    Args:
        base: the model base directory (`saved_models`).
        app: the app name.
        keep: how many versions to keep, at least 1.

    Returns:
        The version numbers removed.

    Raises:
        ValueError: `keep` is below 1.
    """
    check_keep(keep)
    old = versions(base, app)[:-keep]
    for version in old:
        directory = os.path.join(base, app)
        doomed = tempfile.mkdtemp(
            prefix=f".{version}.old-{os.getpid()}-", dir=directory
        )
        os.replace(
            os.path.join(directory, str(version)),
            os.path.join(doomed, "previous"),
        )
        shutil.rmtree(doomed)
    return old


def string_vector_spec(name):
    """The `TensorSpec` of a string input that the graph checks itself.

    Its rank is left unknown: with a static `[None]` shape, TensorFlow folds
    a rank check away, and a client that feeds a scalar anyway (TF Serving
    does not check placeholder shapes) would reach the tokenizer ops with a
    tensor they cannot handle. `checked_vectors` then refuses it in-graph.

    Args:
        name: the input's name.

    Returns:
        A `tf.TensorSpec` of a `tf.string` tensor of any shape.
    """
    import tensorflow as tf

    return tf.TensorSpec(None, tf.string, name=name)


def checked_vectors(inputs):
    """Refuses, in the graph, inputs that are not vectors of one batch size.

    Nothing reads the inputs before the checks run: a scalar, a matrix or
    two vectors of different lengths end the call with `INVALID_ARGUMENT`
    (`tf.errors.InvalidArgumentError`) naming the input, instead of reaching
    ops that would crash the serving process or drop rows.

    Args:
        inputs: a dict mapping input name to a tensor (of unknown rank, see
            `string_vector_spec`).

    Returns:
        The inputs in the same order, as tensors of static shape `[None]`.
    """
    import tensorflow as tf

    names = list(inputs)
    ranks = [
        tf.debugging.assert_rank(
            tensor, 1, message=f"`{name}` must be a vector [batch]"
        )
        for name, tensor in inputs.items()
    ]
    # Only ops that cannot fail on a tensor of the wrong rank follow the
    # checks: TensorFlow may fold shape ops of a call's actual inputs before
    # it runs the assertions, and such a failure would hide their message.
    with tf.control_dependencies(ranks):
        sizes = [tf.shape(tensor)[:1] for tensor in inputs.values()]
        batches = [
            tf.debugging.assert_equal(
                size,
                sizes[0],
                message=f"`{name}` and `{names[0]}` must have the same "
                "batch size",
            )
            for name, size in zip(names[1:], sizes[1:])
        ]
    with tf.control_dependencies(ranks + batches):
        return [tf.reshape(tensor, [-1]) for tensor in inputs.values()]


def tracking_archive(*resources):
    """An `ExportArchive` that tracks `resources`, each weight stored once.

    `ExportArchive.track` keeps a layer's Keras variables, and the endpoints
    capture the `tf.Variable`s beneath them; TensorFlow checkpoints the two
    separately, so a SavedModel would hold every weight twice
    (keras-team/keras#23553), doubling its size on disk and the memory
    TF Serving restores it into. The archive's variable lists are pointed at
    the captured `tf.Variable`s instead, which the revived SavedModel still
    lists as `variables`.

    Args:
        *resources: the layers, models or TensorFlow trackables (a
            tokenizer's SentencePiece model, lookup tables) whose state the
            endpoints use (TensorFlow backend).

    Returns:
        A `keras.export.ExportArchive`.
    """
    import keras

    archive = keras.export.ExportArchive()
    for resource in resources:
        archive.track(resource)
    for name in ("variables", "trainable_variables", "non_trainable_variables"):
        archive.add_variable_collection(
            name, [variable.value for variable in getattr(archive, name)]
        )
    return archive


def text_archive(model, tokenizer, endpoints, input_name="text"):
    """An `ExportArchive` of endpoints that take a vector of raw strings.

    Args:
        model: the Keras model the endpoints call (TensorFlow backend).
        tokenizer: the run's tokenizer, whose SentencePiece model resource
            goes into the SavedModel.
        endpoints: signature name -> function of a `tf.string [batch]`
            tensor returning a dict of outputs; one is `"serving_default"`.
            Each is called after `checked_vectors`.
        input_name: the name of the string input.

    Returns:
        A `keras.export.ExportArchive`.
    """
    # The tokenizer has no weights to build; tracking it keeps its
    # SentencePiece model resource in the SavedModel.
    tokenizer.build(None)
    archive = tracking_archive(model, tokenizer)
    signature = [string_vector_spec(input_name)]
    for name, function in endpoints.items():
        archive.add_endpoint(
            name,
            _checked_endpoint(function, input_name),
            input_signature=signature,
        )
    return archive


def _checked_endpoint(function, input_name):
    """`function` of one string vector, called after `checked_vectors`.

    A batch of no text is answered with no rows: the function runs on one
    empty text (the search needs a row) and its outputs are cut to zero
    rows.
    """
    import tensorflow as tf

    def endpoint(texts):
        (texts,) = checked_vectors({input_name: texts})
        count = tf.shape(texts)[0]
        rows = tf.cond(count > 0, lambda: texts, lambda: tf.constant([""]))
        return {name: value[:count] for name, value in function(rows).items()}

    return endpoint
