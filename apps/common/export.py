"""Versioned, atomic SavedModel export for TF Serving.

Every app exports under the TensorFlow backend, whatever backend it trained
on: the `.keras` file of a run holds backend-independent weights, so the
exporter reloads it under TensorFlow (in a subprocess when the current
backend is another one). The result is a plain TensorFlow graph: no
`XlaCallModule` ops, no fixed device, so it runs on CPU and GPU TF Serving
without XLA flags.
"""

import os
import subprocess
import sys

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
    from tensorflow_serving.apis import (
        model_pb2,
        predict_pb2,
        prediction_log_pb2,
    )

    path = os.path.join(export_dir, WARMUP_FILE)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with tf.io.TFRecordWriter(path) as writer:
        for inputs in requests:
            request = predict_pb2.PredictRequest(
                model_spec=model_pb2.ModelSpec(
                    name=model_name, signature_name="serving_default"
                )
            )
            for name, value in inputs.items():
                request.inputs[name].CopyFrom(tf.make_tensor_proto(value))
            log = prediction_log_pb2.PredictionLog(
                predict_log=prediction_log_pb2.PredictLog(request=request)
            )
            writer.write(log.SerializeToString())


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
    """Writes a SavedModel to `path` atomically, with warm-up requests.

    Args:
        path: the version directory, `saved_models/<app>/<version>`.
        archive: a `keras.export.ExportArchive` with its endpoints added,
            including `"serving_default"`.
        warmup_requests: list of `serving_default` input dicts (NumPy).
        model_name: the TF Serving model name (the app name).
        overwrite: whether an existing version is replaced.

    Returns:
        The absolute path written.
    """
    with atomic_directory(path, overwrite=overwrite) as tmp:
        archive.write_out(tmp, verbose=False)
        write_warmup_requests(tmp, warmup_requests, model_name)
    return os.path.abspath(path)


def version_path(base, app, version):
    """Returns `<base>/<app>/<version>` after checking the version.

    Args:
        base: the model base directory (`saved_models`).
        app: the app name.
        version: a positive integer (TF Serving only loads integer names).

    Returns:
        The version directory path.
    """
    if not isinstance(version, (int, np.integer)) or version < 1:
        raise ValueError(
            f"A model version must be a positive integer, received {version!r}."
        )
    return os.path.join(base, app, str(int(version)))


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
