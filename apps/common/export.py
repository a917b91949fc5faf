"""Versioned, atomic SavedModel export for TF Serving.

Every app exports under the TensorFlow backend, whatever backend it trained
on: the `.keras` file of a run holds backend-independent weights, so the
exporter reloads it under TensorFlow (in a subprocess when the current
backend is another one). The result is a plain TensorFlow graph: no
`XlaCallModule` ops, no fixed device, so it runs on CPU and GPU TF Serving
without XLA flags.
"""

import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np

from attention_suite.apps.common.atomic import atomic_directory

WARMUP_FILE = os.path.join("assets.extra", "tf_serving_warmup_requests")


def reexec_under_tensorflow(module, argv):
    """Runs `python -m module argv` with `KERAS_BACKEND=tensorflow`.

    Args:
        module: the module to run, e.g. `"attention_suite.apps.cli"`.
        argv: its arguments.

    Returns:
        The subprocess' exit code.
    """
    env = dict(os.environ, KERAS_BACKEND="tensorflow")
    return subprocess.call([sys.executable, "-m", module, *argv], env=env)


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


def predict_request(inputs, model_name, version=None):
    """A TF Serving `PredictRequest` of `serving_default`.

    Args:
        inputs: dict mapping input name to a NumPy array.
        model_name: the name TF Serving serves the model under.
        version: the version to ask for; `None` for the newest.

    Returns:
        A `tensorflow_serving.apis.predict_pb2.PredictRequest`.
    """
    import tensorflow as tf
    from tensorflow_serving.apis import model_pb2, predict_pb2

    spec = model_pb2.ModelSpec(
        name=model_name, signature_name="serving_default"
    )
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


def export_saved_model(
    path, archive, warmup_requests, model_name, overwrite=False
):
    """Writes a SavedModel to `path` atomically, audited and documented.

    Besides the graph and its warm-up requests, the version directory gets
    `SERVING.md` (`attention_suite.apps.common.serving_notes`). The graph's
    ops are audited first (`attention_suite.apps.common.audit.check_ops`):
    a graph a stock TF Serving binary cannot serve is never renamed into
    place.

    Args:
        path: the version directory, `saved_models/<app>/<version>`.
        archive: a `keras.export.ExportArchive` with its endpoints added,
            including `"serving_default"`.
        warmup_requests: list of `serving_default` input dicts (NumPy).
        model_name: the TF Serving model name (the app name).
        overwrite: whether an existing version is replaced.

    Returns:
        The absolute path written.

    Raises:
        ServingError: the graph has ops or device pins TF Serving cannot
            serve.
    """
    from attention_suite.apps.common.audit import check_ops
    from attention_suite.apps.common.serving_notes import write_serving_notes

    with atomic_directory(path, overwrite=overwrite) as tmp:
        archive.write_out(tmp, verbose=False)
        write_warmup_requests(tmp, warmup_requests, model_name)
        write_serving_notes(
            tmp,
            model_name,
            os.path.basename(os.path.normpath(path)),
            check_ops(tmp),
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


def version_path(base, app, version=None):
    """Returns `<base>/<app>/<version>` after checking the version.

    Args:
        base: the model base directory (`saved_models`).
        app: the app name.
        version: a positive integer (TF Serving only loads integer names),
            or `None` for the next free one (one above the newest).

    Returns:
        The version directory path.
    """
    if version is None:
        version = (versions(base, app) or [0])[-1] + 1
    if not isinstance(version, (int, np.integer)) or version < 1:
        raise ValueError(
            f"A model version must be a positive integer, received {version!r}."
        )
    return os.path.join(base, app, str(int(version)))


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


def text_archive(model, tokenizer, endpoints, input_name="text"):
    """An `ExportArchive` of endpoints that take a vector of raw strings.

    Args:
        model: the Keras model the endpoints call (TensorFlow backend).
        tokenizer: the run's tokenizer, whose SentencePiece model resource
            goes into the SavedModel.
        endpoints: signature name -> function of a `tf.string [batch]`
            tensor returning a dict of outputs; one is `"serving_default"`.
        input_name: the name of the string input.

    Returns:
        A `keras.export.ExportArchive`.
    """
    import keras
    import tensorflow as tf

    archive = keras.export.ExportArchive()
    archive.track(model)
    # The tokenizer has no weights to build; tracking it keeps its
    # SentencePiece model resource in the SavedModel.
    tokenizer.build(None)
    archive.track(tokenizer)
    signature = [tf.TensorSpec([None], tf.string, name=input_name)]
    for name, function in endpoints.items():
        archive.add_endpoint(name, function, input_signature=signature)
    return archive
