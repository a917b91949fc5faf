"""`attn client` against servers that misbehave: each plays one hostile
behaviour on 127.0.0.1, and the client ends in one line within seconds."""

import http.server
import json
import threading
import time

import pytest

from attention_suite.apps.cli import main

# What each path of the hostile server answers: (status, headers, body).
BODIES = {
    "scalar-outputs": (200, {}, json.dumps({"outputs": 5})),
    "scalar-translation": (
        200,
        {},
        json.dumps({"outputs": {"translation": "x"}}),
    ),
    "numbers": (200, {}, json.dumps({"outputs": {"translation": [1]}})),
    "two-rows": (200, {}, json.dumps({"outputs": {"translation": ["a", "b"]}})),
    "missing-key": (200, {}, json.dumps({"predictions": [{}]})),
    "deep": (200, {}, "[" * 100_000 + "]" * 100_000),
    "nan-span": (
        200,
        {},
        '{"outputs": {"answer": ["x"], "start": [NaN], "end": [1], '
        '"score": [0.5]}}',
    ),
    "ansi-error": (
        500,
        {},
        json.dumps({"error": "\x1b[31mred\x1b[0m " + "A" * 200_000}),
    ),
    "redirect": (302, {"Location": "http://127.0.0.1:9/"}, ""),
}


class Hostile(http.server.BaseHTTPRequestHandler):
    """Answers by the first part of the path (see `BODIES`), or trickles."""

    def log_message(self, *args):
        pass

    def _answer(self):
        length = int(self.headers.get("Content-Length", 0))
        self.rfile.read(length)
        behaviour = self.path.strip("/").split("/")[0]
        try:
            if behaviour == "slow-headers":
                self.wfile.write(b"HTTP/1.1 200 OK\r\n")
                for _ in range(60):
                    self.wfile.write(b"X-Slow: 1\r\n")
                    self.wfile.flush()
                    time.sleep(1)
            elif behaviour == "slow-body":
                self.send_response(200)
                self.send_header("Content-Length", "1000")
                self.end_headers()
                for _ in range(60):
                    self.wfile.write(b" ")
                    self.wfile.flush()
                    time.sleep(1)
            elif behaviour in ("huge-declared", "huge-streamed"):
                self.send_response(200)
                if behaviour == "huge-declared":
                    self.send_header("Content-Length", str(2 << 30))
                self.send_header("Connection", "close")
                self.end_headers()
                for _ in range(64):
                    self.wfile.write(b" " * (1 << 20))
            elif behaviour == "not-http":
                self.wfile.write(b"SSH-2.0-OpenSSH_9.6\r\n\r\n")
            else:
                status, headers, body = BODIES[behaviour]
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body.encode())))
                self.end_headers()
                self.wfile.write(body.encode())
        except (BrokenPipeError, ConnectionResetError):
            pass

    do_GET = do_POST = _answer


@pytest.fixture(scope="module")
def url():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hostile)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def _client(capsys, *args):
    capsys.readouterr()
    start = time.monotonic()
    code = main(["client", *args])
    seconds = time.monotonic() - start
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1, captured.err[:2000]
    return code, captured.err, seconds


@pytest.mark.parametrize(
    "behaviour, options, message",
    [
        ("slow-headers", [], "did not answer within 2 s"),
        ("slow-body", [], "did not answer within 2 s"),
        ("huge-declared", [], "an answer larger than 64 MB"),
        ("huge-streamed", ["--max-response-mb", "1"], "larger than 1 MB"),
        ("redirect", [], "a redirect to http://127.0.0.1:9/"),
        ("not-http", [], "Cannot connect to"),
        ("scalar-outputs", [], "cannot read"),
        ("scalar-translation", [], "cannot read"),
        ("numbers", [], "a string was expected"),
        ("two-rows", [], "1 rows expected"),
        ("missing-key", [], "cannot read"),
        ("deep", [], "not TF Serving's JSON"),
    ],
)
def test_a_hostile_answer_is_one_line_within_the_deadline(
    url, capsys, behaviour, options, message
):
    code, err, seconds = _client(
        capsys, "translation", "--url", f"{url}/{behaviour}",
        "--timeout", "2", *options, "A dog runs.",
    )  # fmt: skip
    assert code == 1
    assert message in err
    assert seconds < 10


def test_a_nan_span_is_refused_in_one_line(url, capsys):
    code, err, _ = _client(
        capsys, "qa", "--url", f"{url}/nan-span", "--context", "Text.", "Q?"
    )
    assert code == 1 and "integers expected" in err


def test_an_error_body_loses_its_control_characters_and_length(url, capsys):
    code, err, _ = _client(
        capsys, "translation", "--url", f"{url}/ansi-error", "x"
    )
    assert code == 1
    assert "\x1b" not in err and "?[31mred?[0m" in err
    assert len(err) < 400


@pytest.mark.parametrize("transport", ["--url", "--grpc"])
@pytest.mark.parametrize("value", ["inf", "1e308", "0", "-1", "nan", "x"])
def test_a_timeout_out_of_range_is_a_usage_error(transport, value, capsys):
    address = "http://127.0.0.1:9" if transport == "--url" else "127.0.0.1:9"
    code, err, _ = _client(
        capsys, "translation", transport, address, "--timeout", value, "x"
    )
    assert code == 2
    assert "expected seconds above 0 and at most 86400" in err


def _grpc_outputs(model):
    """What the hostile gRPC server answers for a model name."""
    import numpy as np
    import tensorflow as tf

    bad_content = tf.make_tensor_proto(np.zeros(4, np.float32))
    bad_content.tensor_content = b"\0" * 3
    return {
        "scalar": {"translation": tf.make_tensor_proto(b"x")},
        "numbers": {"translation": tf.make_tensor_proto([1.5])},
        "missing": {},
        "torn": {"translation": bad_content},
        "huge": {"translation": tf.make_tensor_proto([b"x" * (2 << 20)])},
        "ansi": None,
    }[model]


@pytest.fixture(scope="module")
def grpc_target():
    from concurrent import futures

    import grpc
    from tensorflow_serving.apis import (
        predict_pb2,
        prediction_service_pb2_grpc,
    )

    class Servicer(prediction_service_pb2_grpc.PredictionServiceServicer):
        def Predict(self, request, context):
            outputs = _grpc_outputs(request.model_spec.name)
            if outputs is None:
                context.abort(grpc.StatusCode.INTERNAL, "\x1b[31m" + "B" * 2000)
            response = predict_pb2.PredictResponse()
            for name, proto in outputs.items():
                response.outputs[name].CopyFrom(proto)
            return response

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(
        Servicer(), server
    )
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield f"127.0.0.1:{port}"
    server.stop(None)


@pytest.mark.parametrize(
    "model, message",
    [
        ("scalar", "cannot read"),
        ("numbers", "a string was expected"),
        ("missing", "cannot read"),
        ("torn", "cannot read"),
        ("huge", "larger than 1 MB"),
        ("ansi", "(INTERNAL): ?[31mBBB"),
    ],
)
def test_a_hostile_grpc_answer_is_one_line(grpc_target, capsys, model, message):
    code, err, _ = _client(
        capsys, "translation", "--grpc", grpc_target, "--model", model,
        "--max-response-mb", "1", "A dog runs.",
    )  # fmt: skip
    assert code == 1
    assert message in err
    assert "\x1b" not in err and len(err) < 400
