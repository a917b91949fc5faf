"""Asking a TF Serving server: REST and gRPC transports for `attn client`.

Over REST (TF Serving's predict API through `requests`) or gRPC (its
`PredictionService` through `tensorflow-serving-api`). Each exchange has one
deadline and its answer a size cap; redirects are not followed. A refused
connection, a timeout, a missing model or version, TF Serving's `{"error":
...}` body, a page that is not JSON or an answer of the wrong shape raises a
`ServingError` of one line (the server's text with its control characters
replaced, and cut short).

`requests`, gRPC and TensorFlow are imported inside the transport that uses
them: a REST client needs no TensorFlow.
"""

import json
import re
import threading
import urllib.parse

import numpy as np

from attention_suite.apps.common.serving.process import ServingError

# What an error message shows of a server's text at most.
_SHOWN = 200
# C0 and C1 control characters (ANSI escapes start with ESC), kept out of
# the terminal.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def shown(text):
    """A server's text as an error message shows it: control characters
    replaced, at most `_SHOWN` characters.

    Args:
        text: what the server sent (`str` or `bytes`).

    Returns:
        A printable `str`.
    """
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    text = _CONTROL.sub("?", str(text))
    return text if len(text) <= _SHOWN else text[:_SHOWN] + "..."


class Server:
    """A model served by TF Serving, as the client sees it.

    Args:
        address: the server's address, for messages.
        timeout: the seconds one exchange may take in all.
        max_bytes: the largest answer read.
        max_batch: the most rows one request carries: a larger batch is
            sent as several requests (a server with `--enable_batching`
            refuses a request larger than its `max_batch_size`).
    """

    def __init__(self, address, timeout, max_bytes, max_batch=64):
        self.address, self.timeout = address, timeout
        self.max_bytes, self.max_batch = max_bytes, max_batch

    def input_shapes(self):
        """The `serving_default` input shapes (`None` for any size).

        Returns:
            A dict mapping input name to a list of dimensions.
        """
        raise NotImplementedError

    def predict(self, inputs, outputs, signature="serving_default"):
        """Calls a signature on a batch, `max_batch` rows a request.

        Args:
            inputs: dict mapping input name to a NumPy array.
            outputs: dict mapping each output the answer needs to its kind:
                `str` (strings, as `bytes`), `int` or `float`.
            signature: the signature to call.

        Returns:
            A dict mapping output name to a NumPy array, batch first, one
            row per input row.

        Raises:
            ServingError: the server failed, or its answer lacks an output
                or has the wrong shape or kind.
        """
        batch = len(next(iter(inputs.values())))
        chunks = [
            self._checked(
                {
                    k: v[first : first + self.max_batch]
                    for k, v in inputs.items()
                },
                outputs,
                signature,
            )
            for first in range(0, batch, self.max_batch)
        ] or [self._checked(inputs, outputs, signature)]
        return {
            name: np.concatenate([chunk[name] for chunk in chunks])
            for name in outputs
        }

    def _checked(self, inputs, outputs, signature):
        """One request's outputs, checked (see `predict`)."""
        raw = self._predict(inputs, list(outputs), signature)
        batch = len(next(iter(inputs.values())))
        checked = {}
        for name, kind in outputs.items():
            try:
                value = np.asarray(raw[name], dtype=object)
                if value.ndim == 0 or len(value) != batch:
                    raise ValueError(f"{batch} rows expected")
                if kind is str:
                    value = np.vectorize(_as_bytes, otypes=[object])(value)
                else:
                    value = value.astype(np.float64)
                    if kind is int:
                        if not np.all(np.isfinite(value) & (value % 1 == 0)):
                            raise ValueError("integers expected")
                        value = value.astype(np.int64)
            except (KeyError, TypeError, ValueError, RecursionError) as error:
                raise ServingError(
                    f"{self.address} sent an answer this client cannot "
                    f"read: output {name!r}: {shown(error)}"
                ) from None
            checked[name] = value
        return checked

    def _predict(self, inputs, output_names, signature):
        """The server's raw outputs (`predict` checks them)."""
        raise NotImplementedError


def _as_bytes(value):
    """A string element of an answer; anything else is refused."""
    if isinstance(value, bytes):
        return value
    raise TypeError(f"a string was expected, received {shown(repr(value))}")


class RestServer(Server):
    """A model on a TF Serving REST endpoint.

    Each exchange (connect, headers and body) has one deadline, its answer
    a size cap; redirects are not followed.

    Args:
        url: `http(s)://HOST:PORT`, optionally with a path prefix.
        model: the model name.
        version: the version to ask for; `None` for the newest.
        timeout: seconds one exchange may take in all.
        max_bytes: the largest answer read.
        max_batch: the most rows one request carries.
    """

    def __init__(
        self,
        url,
        model,
        version=None,
        timeout=30.0,
        max_bytes=64 << 20,
        max_batch=64,
    ):
        parts = urllib.parse.urlsplit(url)
        try:
            parts.port
        except ValueError:
            parts = parts._replace(scheme="")
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(
                f"--url {url!r} is not an http(s)://HOST:PORT address."
            )
        self.url = url.rstrip("/")
        super().__init__(self.url, timeout, max_bytes, max_batch)
        self.model = f"{self.url}/v1/models/{model}" + (
            f"/versions/{version}" if version is not None else ""
        )

    def _exchange(self, method, url, body=None):
        """One request and its JSON answer, within `timeout` in all.

        The exchange runs in a daemon thread: a server that trickles its
        headers or body cannot hold the client past the deadline.
        """
        result = {}

        def exchange():
            try:
                result["answer"] = self._fetch(method, url, body)
            except BaseException as error:  # Handed to the caller.
                result["error"] = error

        thread = threading.Thread(target=exchange, daemon=True)
        thread.start()
        thread.join(self.timeout)
        if thread.is_alive():
            raise ServingError(
                f"{self.url} did not answer within {self.timeout:g} s."
            )
        if "error" in result:
            raise result["error"]
        status, kind, content = result["answer"]
        try:
            answer = json.loads(content)
        except (ValueError, RecursionError):
            raise ServingError(
                f"{self.url} answered HTTP {status} with {shown(kind)}, not "
                f"TF Serving's JSON: {shown(content[:60])!r}"
            ) from None
        if isinstance(answer, dict) and "error" in answer:
            raise ServingError(
                f"TF Serving at {self.url} (HTTP {status}): "
                f"{shown(answer['error'])}"
            )
        if status != 200 or not isinstance(answer, dict):
            raise ServingError(
                f"{self.url} answered HTTP {status}: {shown(content[:80])!r}"
            )
        return answer

    def _fetch(self, method, url, body):
        """`(status, content type, body bytes)` of one HTTP exchange."""
        import requests

        try:
            with requests.request(
                method,
                url,
                data=None if body is None else json.dumps(body),
                headers={"Content-Type": "application/json"},
                timeout=self.timeout,
                allow_redirects=False,
                stream=True,
            ) as response:
                if response.is_redirect:
                    raise ServingError(
                        f"{self.url} answered HTTP {response.status_code}, a "
                        "redirect to "
                        f"{shown(response.headers.get('Location', '?'))}; "
                        "attn client does not follow redirects."
                    )
                declared = response.headers.get("Content-Length", "0")
                if declared.isdigit() and int(declared) > self.max_bytes:
                    self._too_large()
                content = bytearray()
                for chunk in response.iter_content(1 << 16):
                    content += chunk
                    if len(content) > self.max_bytes:
                        self._too_large()
                kind = response.headers.get("Content-Type", "no content type")
                return response.status_code, kind, bytes(content)
        except requests.exceptions.Timeout:
            raise ServingError(
                f"{self.url} did not answer within {self.timeout:g} s."
            ) from None
        except requests.exceptions.ConnectionError as error:
            reason = re.search(r"\[Errno -?\d+\] [^'\")]+", str(error))
            raise ServingError(
                f"Cannot connect to {self.url}: "
                f"{reason.group(0) if reason else type(error).__name__}."
            ) from None
        except requests.exceptions.RequestException as error:
            raise ServingError(
                f"{self.url} did not answer as an HTTP server does: "
                f"{type(error).__name__}."
            ) from None

    def _too_large(self):
        raise ServingError(
            f"{self.url} sent an answer larger than "
            f"{self.max_bytes / (1 << 20):g} MB (--max-response-mb)."
        )

    def input_shapes(self):
        """`Server.input_shapes` from the model's metadata."""
        answer = self._exchange("GET", self.model + "/metadata")
        try:
            signature = answer["metadata"]["signature_def"]["signature_def"][
                "serving_default"
            ]
            return {
                name: [
                    None if int(d["size"]) < 0 else int(d["size"])
                    for d in info["tensor_shape"]["dim"]
                ]
                for name, info in signature["inputs"].items()
            }
        except (KeyError, TypeError, ValueError, AttributeError):
            raise ServingError(
                f"{self.url} sent metadata without a serving_default signature."
            ) from None

    def _predict(self, inputs, output_names, signature):
        from attention_suite.apps.common.serving.rest import (
            outputs_of,
            request_body,
        )

        answer = self._exchange(
            "POST", self.model + ":predict", request_body(inputs, signature)
        )
        try:
            return outputs_of(answer, output_names)
        except (
            KeyError,
            TypeError,
            ValueError,
            IndexError,
            AttributeError,
            RecursionError,
        ) as error:
            raise ServingError(
                f"{self.url} sent an answer this client cannot read: "
                f"{shown(error)}"
            ) from None


class GrpcServer(Server):
    """A model on a TF Serving gRPC endpoint.

    Args:
        target: `HOST:PORT`.
        model: the model name.
        version: the version to ask for; `None` for the newest.
        timeout: seconds one call may take in all (gRPC's deadline).
        max_bytes: the largest answer read.
        max_batch: the most rows one request carries.
    """

    def __init__(
        self,
        target,
        model,
        version=None,
        timeout=30.0,
        max_bytes=64 << 20,
        max_batch=64,
    ):
        host, _, port = target.rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"--grpc {target!r} is not a HOST:PORT address.")
        super().__init__(target, timeout, max_bytes, max_batch)
        self.target, self.model, self.version = target, model, version

    def _call(self, method, request):
        import grpc
        from tensorflow_serving.apis import prediction_service_pb2_grpc

        options = [("grpc.max_receive_message_length", self.max_bytes)]
        with grpc.insecure_channel(self.target, options=options) as channel:
            stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
            try:
                return getattr(stub, method)(request, timeout=self.timeout)
            except grpc.RpcError as error:
                code = error.code()
                if code == grpc.StatusCode.UNAVAILABLE:
                    problem = f"Cannot connect to {self.target}"
                elif code == grpc.StatusCode.DEADLINE_EXCEEDED:
                    problem = (
                        f"{self.target} did not answer within "
                        f"{self.timeout:g} s"
                    )
                elif code == grpc.StatusCode.RESOURCE_EXHAUSTED:
                    problem = (
                        f"{self.target} sent an answer larger than "
                        f"{self.max_bytes / (1 << 20):g} MB "
                        "(--max-response-mb)"
                    )
                else:
                    problem = f"TF Serving at {self.target} ({code.name})"
                raise ServingError(
                    f"{problem}: {shown(error.details())}"
                ) from None

    def input_shapes(self):
        """`Server.input_shapes` from `GetModelMetadata`."""
        from tensorflow_serving.apis import get_model_metadata_pb2

        request = get_model_metadata_pb2.GetModelMetadataRequest(
            metadata_field=["signature_def"]
        )
        request.model_spec.name = self.model
        if self.version is not None:
            request.model_spec.version.value = self.version
        answer = self._call("GetModelMetadata", request)
        signatures = get_model_metadata_pb2.SignatureDefMap()
        signature = None
        if "signature_def" in answer.metadata and answer.metadata[
            "signature_def"
        ].Unpack(signatures):
            signature = signatures.signature_def.get("serving_default")
        if signature is None:
            raise ServingError(
                f"{self.target} sent metadata without a serving_default "
                "signature."
            )
        return {
            name: [
                None if d.size < 0 else d.size for d in info.tensor_shape.dim
            ]
            for name, info in signature.inputs.items()
        }

    def _predict(self, inputs, output_names, signature):
        import tensorflow as tf

        from attention_suite.apps.common.serving.export import predict_request

        answer = self._call(
            "Predict",
            predict_request(inputs, self.model, self.version, signature),
        )
        try:
            return {
                name: tf.make_ndarray(answer.outputs[name])
                for name in output_names
                if name in answer.outputs
            }
        except (TypeError, ValueError) as error:
            raise ServingError(
                f"{self.target} sent an answer this client cannot read: "
                f"{shown(error)}"
            ) from None
