"""A loopback stand-in for TF Serving, for tests only: real SavedModels
served in this process through TF Serving's documented REST API (predict in
the row and columnar formats, metadata, model status, `{"error": ...}`
bodies) and its gRPC `PredictionService` (`Predict`, `GetModelMetadata`).

It is as strict as TF Serving where a client could tell: the request's
`signature_name` is the one called (an unknown one is refused), an input
value that does not fit the input's dtype is refused, a batch larger than
the batching limit is refused, and only the versions the version policy
keeps are served (the newest alone, as with no `model_version_policy`, or
all of them, as `saved_models/models.config` asks)."""

import http.server
import json
import re
import threading
from concurrent import futures

import grpc
import numpy as np
import tensorflow as tf
import tensorflow_text  # noqa: F401  (registers the text apps' ops)
from google.protobuf import json_format
from tensorflow_serving.apis import (
    get_model_metadata_pb2,
    predict_pb2,
    prediction_service_pb2_grpc,
)

from attention_suite.apps.common.serving.audit import read_saved_model
from attention_suite.apps.common.serving.rest import array_of, json_value

PATH = re.compile(
    r"^/v1/models/([^/:]+)(?:/versions/(\d+))?(:predict|/metadata|)$"
)


class Problem(Exception):
    """A request TF Serving refuses: `kind` is `"not_found"` or `"invalid"`."""

    def __init__(self, kind, message):
        super().__init__(message)
        self.kind = kind


class Models:
    """The SavedModels served, by name and version.

    Args:
        models: dict mapping model name to `{version: export_dir}`.
        max_batch: the most rows a request may carry, as with TF Serving's
            `--enable_batching` and a `max_batch_size`; `None` for no limit.
        policy: `"all"` serves every version (`model_version_policy { all
            {} }`); `"latest"` only the newest, TF Serving's default.

    Attributes:
        batches: the row count of every predict request received.
    """

    def __init__(self, models, max_batch=None, policy="all"):
        self.models = models
        self.max_batch = max_batch
        self.policy = policy
        self.batches = []
        self.loaded = {}
        self.lock = threading.Lock()

    def _path(self, name, version):
        versions = self.models.get(name)
        if not versions:
            raise Problem(
                "not_found", f"Servable not found for request: Latest({name})"
            )
        if version is None:
            version = max(versions)
        if version not in self.served(name):
            raise Problem(
                "not_found",
                f"Servable not found for request: Specific({name}, {version})",
            )
        return versions[version]

    def served(self, name):
        """The versions of a model the version policy keeps."""
        versions = sorted(self.models.get(name, ()))
        return versions if self.policy == "all" else versions[-1:]

    def status(self, name, version):
        """The REST model-status answer of a model (or one version)."""
        self._path(name, version)
        versions = [version] if version is not None else self.served(name)
        return {
            "model_version_status": [
                {
                    "version": str(v),
                    "state": "AVAILABLE",
                    "status": {"error_code": "OK", "error_message": ""},
                }
                for v in versions
            ]
        }

    def signatures(self, name, version):
        """The `SignatureDefMap` of a model version."""
        graph = read_saved_model(self._path(name, version)).meta_graphs[0]
        signatures = get_model_metadata_pb2.SignatureDefMap()
        for key, value in graph.signature_def.items():
            signatures.signature_def[key].CopyFrom(value)
        return signatures

    def predict(
        self, name, version, inputs, signature="serving_default", exact=False
    ):
        """Runs a signature on NumPy inputs; returns NumPy outputs.

        With `exact` (a gRPC `TensorProto` carries its dtype), an input of
        another dtype than the signature's is refused, as TF Serving does.
        """
        path = self._path(name, version)
        with self.lock:
            if path not in self.loaded:
                self.loaded[path] = tf.saved_model.load(path)
        signatures = self.loaded[path].signatures
        signature = signature or "serving_default"
        _check_signature(signature, signatures)
        function = signatures[signature]
        specs = function.structured_input_signature[1]
        if sorted(inputs) != sorted(specs):
            raise Problem(
                "invalid",
                f"Expected inputs {sorted(specs)}, received {sorted(inputs)}",
            )
        rows = len(np.asarray(next(iter(inputs.values()))))
        self.batches.append(rows)
        if self.max_batch is not None and rows > self.max_batch:
            raise Problem(
                "invalid",
                f"Task size {rows} is larger than maximum input batch size "
                f"{self.max_batch}",
            )
        try:
            outputs = function(
                **{
                    k: tf.constant(_fitted(v, specs[k], exact))
                    for k, v in inputs.items()
                }
            )
        except (tf.errors.InvalidArgumentError, ValueError, TypeError) as e:
            raise Problem("invalid", str(e).splitlines()[0]) from None
        return {k: v.numpy() for k, v in outputs.items()}


def _check_signature(name, signatures):
    """Refuses a signature name that `signatures` (a mapping) lacks, in TF
    Serving's words."""
    if name not in signatures:
        raise Problem(
            "invalid",
            f'Serving signature name: "{name}" not found in signature def',
        )


def _fitted(value, spec, exact):
    """An input value as its spec's dtype; a value that does not fit (a
    fraction for an integer, text for a number, with `exact` any other
    dtype) is refused, as TF Serving refuses it."""
    value = np.asarray(value)
    dtype = spec.dtype.as_numpy_dtype
    if exact and spec.dtype != tf.string and value.dtype != dtype:
        raise Problem(
            "invalid",
            f"Expects arg {spec.name} to be {spec.dtype.name} but "
            f"{tf.as_dtype(value.dtype).name} is provided",
        )
    if spec.dtype == tf.string:
        if value.dtype.kind not in "OSU":
            raise Problem("invalid", f"{spec.name}: expected strings")
        return value
    if value.dtype.kind in "OSU":
        raise Problem("invalid", f"{spec.name}: expected {spec.dtype.name}")
    if spec.dtype.is_integer and not np.all(np.mod(value, 1) == 0):
        raise Problem(
            "invalid",
            f"{spec.name}: a value is not of expected type: {spec.dtype.name}",
        )
    return value.astype(dtype)


def _rest_inputs(body, specs):
    """The named NumPy inputs of a REST predict body (row or columnar)."""
    names = sorted(specs)
    if "instances" in body:
        rows = body["instances"]
        # A row of named inputs, not one `{"b64": ...}` value.
        if rows and isinstance(rows[0], dict) and set(rows[0]) != {"b64"}:
            return {n: array_of([row[n] for row in rows]) for n in names}
        return {names[0]: array_of(rows)}
    if "inputs" in body:
        inputs = body["inputs"]
        if isinstance(inputs, dict):
            return {n: array_of(v) for n, v in inputs.items()}
        return {names[0]: array_of(inputs)}
    raise Problem("invalid", "Missing 'inputs' or 'instances' key")


def _rest_outputs(outputs, row_format):
    """A REST predict answer in the request's format."""
    names = sorted(outputs)
    if row_format:
        if len(names) == 1:
            return {"predictions": json_value(outputs[names[0]])}
        rows = len(outputs[names[0]])
        return {
            "predictions": [
                {n: json_value(outputs[n][i]) for n in names}
                for i in range(rows)
            ]
        }
    if len(names) == 1:
        return {"outputs": json_value(outputs[names[0]])}
    return {"outputs": {n: json_value(v) for n, v in outputs.items()}}


def serve_rest(models):
    """Starts the REST stand-in on a free loopback port.

    Args:
        models: a `Models`.

    Returns:
        The started `http.server.ThreadingHTTPServer`; its URL is
        `http://127.0.0.1:<server.server_port>`.
    """

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def _send(self, status, body, kind="application/json"):
            data = body.encode() if isinstance(body, str) else body
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _answer(self, method):
            match = PATH.match(self.path)
            if not match or (match.group(3) == ":predict") != (
                method == "POST"
            ):
                page = "<html><body><h1>404 Not Found</h1></body></html>"
                return self._send(404, page, "text/html")
            name, version, verb = match.groups()
            version = None if version is None else int(version)
            try:
                if verb == "":
                    return self._send(
                        200, json.dumps(models.status(name, version))
                    )
                signatures = models.signatures(name, version)
                if verb == "/metadata":
                    answer = {
                        "model_spec": {
                            "name": name,
                            "version": str(version or max(models.models[name])),
                        },
                        "metadata": {
                            "signature_def": json_format.MessageToDict(
                                signatures, preserving_proto_field_name=True
                            )
                        },
                    }
                    return self._send(200, json.dumps(answer))
                length = int(self.headers.get("Content-Length", 0))
                try:
                    body = json.loads(self.rfile.read(length))
                except ValueError as e:
                    raise Problem("invalid", f"JSON Parse error: {e}") from None
                signature = body.get("signature_name") or "serving_default"
                _check_signature(signature, signatures.signature_def)
                specs = signatures.signature_def[signature].inputs
                inputs = _rest_inputs(body, specs)
                outputs = models.predict(name, version, inputs, signature)
                answer = _rest_outputs(outputs, "instances" in body)
                return self._send(200, json.dumps(answer))
            except Problem as problem:
                status = 404 if problem.kind == "not_found" else 400
                return self._send(status, json.dumps({"error": str(problem)}))

        def do_GET(self):
            self._answer("GET")

        def do_POST(self):
            self._answer("POST")

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def serve_grpc(models):
    """Starts the gRPC stand-in on a free loopback port.

    Args:
        models: a `Models`.

    Returns:
        `(server, port)`; stop the server with `server.stop(None)`.
    """

    def spec_of(request):
        version = (
            request.model_spec.version.value
            if request.model_spec.HasField("version")
            else None
        )
        return request.model_spec.name, version

    def answer(context, respond):
        try:
            return respond()
        except Problem as problem:
            code = (
                grpc.StatusCode.NOT_FOUND
                if problem.kind == "not_found"
                else grpc.StatusCode.INVALID_ARGUMENT
            )
            context.abort(code, str(problem))

    def predict(request):
        name, version = spec_of(request)
        inputs = {k: tf.make_ndarray(v) for k, v in request.inputs.items()}
        response = predict_pb2.PredictResponse()
        signature = request.model_spec.signature_name
        for key, value in models.predict(
            name, version, inputs, signature, exact=True
        ).items():
            response.outputs[key].CopyFrom(tf.make_tensor_proto(value))
        return response

    def metadata(request):
        name, version = spec_of(request)
        response = get_model_metadata_pb2.GetModelMetadataResponse()
        response.model_spec.name = name
        response.metadata["signature_def"].Pack(
            models.signatures(name, version)
        )
        return response

    class Servicer(prediction_service_pb2_grpc.PredictionServiceServicer):
        def Predict(self, request, context):
            return answer(context, lambda: predict(request))

        def GetModelMetadata(self, request, context):
            return answer(context, lambda: metadata(request))

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(
        Servicer(), server
    )
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    return server, port
