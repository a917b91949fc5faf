"""`attn client <app>`: ask a TF Serving server for an app's answers.

Over REST (`--url http://HOST:8501`, TF Serving's predict API through
`requests`) or gRPC (`--grpc HOST:8500`, its `PredictionService` through
`tensorflow-serving-api`), the client builds the `serving_default` request of
the app from the command line's inputs and prints the answers as `attn <app>
predict` does. A refused connection, a timeout, a missing model or version,
TF Serving's `{"error": ...}` body or a page that is not JSON is one line on
standard error and exit code 1.

    attn client translation --url http://localhost:8501 "Ein Hund rennt."
    attn client qa --grpc localhost:8500 --context article.txt "Who?"
    attn client traffic --url http://localhost:8501 last_hour.csv
"""

import json
import re
import urllib.parse

import numpy as np

from attention_suite.apps.common import commands
from attention_suite.apps.common.logs import hide_tensorflow_logs
from attention_suite.apps.common.verify import ServingError
from attention_suite.apps.qa import signature as qa_signature


class Server:
    """A model served by TF Serving, as the client sees it."""

    def input_shapes(self):
        """The `serving_default` input shapes (`None` for any size).

        Returns:
            A dict mapping input name to a list of dimensions.
        """
        raise NotImplementedError

    def predict(self, inputs, output_names):
        """Calls `serving_default` on a batch.

        Args:
            inputs: dict mapping input name to a NumPy array.
            output_names: the signature's output names.

        Returns:
            A dict mapping output name to a NumPy array.
        """
        raise NotImplementedError


class RestServer(Server):
    """A model on a TF Serving REST endpoint.

    Args:
        url: `http(s)://HOST:PORT`, optionally with a path prefix.
        model: the model name.
        version: the version to ask for; `None` for the newest.
        timeout: seconds to wait for an answer.
    """

    def __init__(self, url, model, version=None, timeout=30.0):
        parts = urllib.parse.urlsplit(url)
        try:
            parts.port
        except ValueError:
            parts = parts._replace(scheme="")
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(
                f"--url {url!r} is not an http(s)://HOST:PORT address."
            )
        self.url, self.timeout = url.rstrip("/"), timeout
        self.model = f"{self.url}/v1/models/{model}" + (
            f"/versions/{version}" if version is not None else ""
        )

    def _exchange(self, method, url, body=None):
        import requests

        try:
            response = requests.request(
                method,
                url,
                data=None if body is None else json.dumps(body),
                headers={"Content-Type": "application/json"},
                timeout=self.timeout,
            )
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
        try:
            answer = response.json()
        except ValueError:
            kind = response.headers.get("Content-Type", "no content type")
            raise ServingError(
                f"{self.url} answered HTTP {response.status_code} with "
                f"{kind}, not TF Serving's JSON: {response.text[:60]!r}"
            ) from None
        if isinstance(answer, dict) and "error" in answer:
            raise ServingError(
                f"TF Serving at {self.url} (HTTP {response.status_code}): "
                f"{answer['error']}"
            )
        if response.status_code != 200 or not isinstance(answer, dict):
            raise ServingError(
                f"{self.url} answered HTTP {response.status_code}: "
                f"{response.text[:80]!r}"
            )
        return answer

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
        except (KeyError, TypeError, ValueError):
            raise ServingError(
                f"{self.url} sent metadata without a serving_default signature."
            ) from None

    def predict(self, inputs, output_names):
        """`Server.predict` over REST (the columnar format)."""
        from attention_suite.apps.common.rest import outputs_of, request_body

        answer = self._exchange(
            "POST", self.model + ":predict", request_body(inputs)
        )
        try:
            return outputs_of(answer, output_names)
        except (KeyError, ValueError) as error:
            raise ServingError(f"{self.url} answered: {error}") from None


class GrpcServer(Server):
    """A model on a TF Serving gRPC endpoint.

    Args:
        target: `HOST:PORT`.
        model: the model name.
        version: the version to ask for; `None` for the newest.
        timeout: seconds to wait for an answer.
    """

    def __init__(self, target, model, version=None, timeout=30.0):
        host, _, port = target.rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"--grpc {target!r} is not a HOST:PORT address.")
        self.target, self.model = target, model
        self.version, self.timeout = version, timeout

    def _call(self, method, request):
        import grpc
        from tensorflow_serving.apis import prediction_service_pb2_grpc

        with grpc.insecure_channel(self.target) as channel:
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
                else:
                    problem = f"TF Serving at {self.target} ({code.name})"
                raise ServingError(f"{problem}: {error.details()}") from None

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
        answer.metadata["signature_def"].Unpack(signatures)
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

    def predict(self, inputs, output_names):
        """`Server.predict` over gRPC."""
        import tensorflow as tf

        from attention_suite.apps.common.export import predict_request

        answer = self._call(
            "Predict", predict_request(inputs, self.model, self.version)
        )
        return {
            name: tf.make_ndarray(answer.outputs[name])
            for name in output_names
            if name in answer.outputs
        }


def _strings(items):
    """A string tensor of command-line inputs (text or a file's bytes)."""
    return np.array(
        [i if isinstance(i, bytes) else i.encode("utf-8") for i in items],
        dtype=object,
    )


def _text(value):
    return value.decode("utf-8", "replace")


def _generated(output):
    """The answers of an app whose signature maps `text` to `output`.

    Args:
        output: the string output of the signature (e.g. `"summary"`).

    Returns:
        A function of `(server, args)` returning one line per input.
    """

    def answer(server, args):
        texts = _strings(commands.file_or_text(i) for i in args.input)
        outputs = server.predict({"text": texts}, [output])
        return [_text(t) for t in outputs[output]]

    return answer


def _qa(server, args):
    from attention_suite.apps.qa.cli import answer_line

    context = commands.file_or_text(args.context)
    context_name, question_name = qa_signature.INPUTS
    inputs = {
        context_name: _strings([context] * len(args.question)),
        question_name: _strings(args.question),
    }
    outputs = server.predict(inputs, list(qa_signature.OUTPUTS))
    return [
        answer_line(
            question,
            {
                "answer": _text(outputs["answer"][i]),
                "start": int(outputs["start"][i]),
                "end": int(outputs["end"][i]),
                "score": float(outputs["score"][i]),
            },
        )
        for i, question in enumerate(args.question)
    ]


def _traffic(server, args):
    from attention_suite.apps.traffic import infer, readers

    series = readers.read_speeds(
        args.input[0],
        start=args.start,
        freq=args.freq,
        timestamp_column=args.timestamp_column,
    )
    _, steps, sensors = server.input_shapes()["history"]
    if series.shape[1] != sensors:
        raise ValueError(
            f"{args.input[0]} has {series.shape[1]} sensor columns; the model "
            f"takes history [batch, {steps}, {sensors}] (batch, steps, "
            "sensors)."
        )
    names = [str(c) for c in series.columns]
    # Blank cells go as NaN; whether a zero is missing is the model's rule.
    inputs, last = infer.history_inputs(series, names, steps, missing="nan")
    forecast = server.predict(inputs, ["forecast"])["forecast"][0]
    table = infer.forecast_table(forecast, names, last, series.index.freq)
    return table.to_csv(float_format="%.3f").splitlines()


ANSWER = {
    "translation": _generated("translation"),
    "summarization": _generated("summary"),
    "qa": _qa,
    "traffic": _traffic,
}


def _client(args):
    if args.url:
        server = RestServer(
            args.url, args.model, args.model_version, args.timeout
        )
    else:
        if not args.verbose:
            hide_tensorflow_logs()
        server = GrpcServer(
            args.grpc, args.model, args.model_version, args.timeout
        )
    for line in ANSWER[args.app](server, args):
        print(line)
    return 0


def add_parser(subparsers):
    """Adds `attn client <app>`.

    Args:
        subparsers: the `attn` sub-parsers action.
    """
    parser = subparsers.add_parser(
        "client", help="ask a TF Serving server for an app's answers"
    )
    apps = parser.add_subparsers(dest="app", metavar="<app>", required=True)
    inputs = {
        "translation": "sentences to translate (texts or files)",
        "summarization": "documents to summarize (texts or files)",
        "qa": "the questions",
        "traffic": "a file of recent readings (CSV, HDF5, NPZ): the last "
        "steps the model takes are sent",
    }
    for app, help in inputs.items():
        client = apps.add_parser(app, help=f"ask the {app} model")
        server = client.add_mutually_exclusive_group(required=True)
        server.add_argument(
            "--url", help="TF Serving REST address, http://HOST:8501"
        )
        server.add_argument("--grpc", help="TF Serving gRPC address, HOST:8500")
        client.add_argument(
            "--model",
            default=app,
            help=f"the model name on the server (default: {app})",
        )
        client.add_argument(
            "--model-version",
            type=int,
            metavar="N",
            help="the version to ask (default: the newest the server has)",
        )
        client.add_argument(
            "--timeout",
            type=float,
            default=30.0,
            help="seconds to wait for an answer (default: 30)",
        )
        if app == "qa":
            client.add_argument(
                "--context", required=True, help="a file or the text itself"
            )
            client.add_argument("question", nargs="+", help=help)
        elif app == "traffic":
            client.add_argument("input", nargs=1, metavar="FILE", help=help)
            client.add_argument(
                "--start",
                help="time of the first row, if the file has no timestamps",
            )
            client.add_argument(
                "--freq",
                help="step between rows, if the file has no timestamps "
                "(e.g. 5min)",
            )
            client.add_argument(
                "--timestamp-column",
                help="the CSV column holding the timestamps",
            )
        else:
            client.add_argument("input", nargs="+", help=help)
        client.set_defaults(handler=_client, imports_tensorflow=False)
