"""Tests of the `attn` command line, run the way a user runs it."""

import argparse
import io
import json
import math
import os
import re
import socket

import numpy as np
import pandas as pd
import pytest
from helpers import REPO, attn

from attention_suite.apps.cli import build_parser, main

SCORES = ("dot", "scaled_dot", "general", "additive", "location")
# The rows of the traffic step's table: the model and its three baselines.
TRAFFIC_METHODS = ("attention", "gru", "last_value", "historical_average")
# A PNG file starts with this signature and ends with its IEND chunk.
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_END = b"IEND\xaeB`\x82"
# What TensorFlow, absl and CUDA probing write to stderr: C++ log lines
# (`I0000 00:00:1796310668.748593 6076 cudart_stub.cc:31] ...`), the absl
# notice before them, the CPU-feature notice, and Python log records.
TF_LOG = re.compile(
    r"^[IWEF]\d{4} \d\d:\d\d:\d\d|absl::InitializeLog|cpu_feature_guard"
    r"|rebuild TensorFlow|cuInit|cuda drivers|^WARNING:(tensorflow|absl)"
)
# The source word each target word of the demo's toy sentence translates.
ALIGNED = {
    "le": "the",
    "chat": "cat",
    "noir": "black",
    "s'assit": "sat",
    "sur": "on",
    "tapis": "mat",
}


def weight_tables(stdout):
    """Parses the demo's tables: `{score: (keys, [(query, weights)])}`.

    A table starts with a line `<score>: ...`, then a header line of key
    labels, then one line per query, and ends at a blank line.
    """
    tables = {}
    lines = iter(stdout.splitlines())
    for line in lines:
        score = line.split(":")[0]
        if score not in SCORES:
            continue
        keys = next(lines).split()
        rows = []
        for row in lines:
            if not row.strip():
                break
            query, *weights = row.split()
            rows.append((query, [float(weight) for weight in weights]))
        tables[score] = (keys, rows)
    return tables


def section(stdout, step):
    """The lines that the demo prints under its `== step ==` header."""
    lines = stdout.splitlines()
    start = lines.index(f"== {step} ==") + 1
    end = next(
        (i for i in range(start, len(lines)) if lines[i].startswith("== ")),
        len(lines),
    )
    return lines[start:end]


def traffic_table(stdout):
    """Parses the traffic step's Markdown table: `{method: [numbers]}`.

    Each row names a method and holds `MAE / RMSE / MAPE` cells, one per
    horizon; the numbers come back in order.
    """
    rows = [
        line for line in section(stdout, "traffic") if line.startswith("| ")
    ]
    assert rows[0].startswith("| method |")
    table = {}
    for row in rows[1:]:
        method, *cells = [cell.strip() for cell in row.strip("|").split("|")]
        table[method] = [
            float(number) for cell in cells for number in cell.split(" / ")
        ]
    return table


@pytest.fixture
def attn_here(capsys, monkeypatch):
    """Runs `attn ARGS...` in this process (no TensorFlow start-up to
    wait for), in `cwd`; returns its exit code and output as
    `subprocess.run` does."""

    def run(*args, cwd):
        monkeypatch.chdir(cwd)
        capsys.readouterr()
        code = main(list(args))
        out, err = capsys.readouterr()
        return argparse.Namespace(returncode=code, stdout=out, stderr=err)

    return run


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    cwd = tmp_path_factory.mktemp("demo")
    out = cwd / "not" / "yet" / "there"
    return attn("demo", "--out", str(out), cwd=cwd), out


def test_demo_succeeds(demo):
    run, _ = demo
    assert run.returncode == 0, run.stderr


def test_demo_writes_its_files_and_nothing_else(demo):
    run, out = demo
    assert sorted(path.name for path in out.iterdir()) == [
        "attention_weights.png",
        "qa_attention.png",
        "qa_data.json",
        "qa_run",
        "saved_models",
        "summarization_attention.png",
        "summarization_data.jsonl",
        "summarization_run",
        "traffic_data",
        "traffic_forecast.png",
        "traffic_run",
        "translation_alignment.png",
        "translation_data.tsv",
        "translation_run",
    ]
    assert sorted(os.listdir(out / "saved_models")) == [
        "models.config",
        "qa",
        "summarization",
        "translation",
    ]
    for app in ("qa", "summarization", "translation"):
        assert sorted(os.listdir(out / "saved_models" / app)) == ["1"]
    for name in (
        "attention_weights.png",
        "qa_attention.png",
        "summarization_attention.png",
        "traffic_forecast.png",
        "translation_alignment.png",
    ):
        png = out / name
        data = png.read_bytes()
        assert data[:8] == PNG_SIGNATURE, name
        assert data.endswith(PNG_END), name
        assert len(data) > 10_000, name
        assert str(png) in run.stdout, name


def test_demo_prints_a_table_per_score(demo):
    tables = weight_tables(demo[0].stdout)
    assert sorted(tables) == sorted(SCORES)
    for keys, rows in tables.values():
        assert [query for query, _ in rows] == [
            "le",
            "chat",
            "noir",
            "s'assit",
            "sur",
            "le",
            "tapis",
        ]
        assert all(len(weights) == len(keys) for _, weights in rows)


def test_demo_weights_sum_to_one_and_skip_the_padded_key(demo):
    for score, (keys, rows) in weight_tables(demo[0].stdout).items():
        padded = keys.index("<pad>")
        for query, weights in rows:
            assert weights[padded] == 0.0, (score, query)
            assert sum(weights) == pytest.approx(1.0, abs=0.03), (score, query)


def test_demo_queries_find_their_source_word(demo):
    for score, (keys, rows) in weight_tables(demo[0].stdout).items():
        for query, weights in rows:
            found = keys[weights.index(max(weights))]
            assert found == ALIGNED[query], (score, query, weights)


def test_demo_translation_learns_and_the_saved_model_agrees(demo):
    lines = section(demo[0].stdout, "translation")
    beam = next(line for line in lines if line.startswith("| beam"))
    assert float(beam.split("|")[2]) > 50.0  # BLEU on held-out sentences
    predicted = [line.split("  ->  ")[1] for line in lines if "  ->  " in line]
    served_from = lines.index(
        "The SavedModel, in a fresh TensorFlow-only process:"
    )
    served = [line.strip() for line in lines[served_from + 1 : served_from + 3]]
    assert len(predicted) == 2 and served == predicted


def test_demo_summarization_beats_lead_copies_and_the_saved_model_agrees(demo):
    lines = section(demo[0].stdout, "summarization")
    rouge = {
        cells[2]: [float(x) for x in cells[3:6]]
        for cells in (
            [c.strip() for c in line.split("|")]
            for line in lines
            if line.startswith("| original")
        )
    }
    assert all(
        model > lead for model, lead in zip(rouge["beam4"], rouge["lead"])
    )
    assert rouge["beam4"][0] > 50.0
    predicted = [line.split("  ->  ")[1] for line in lines if "  ->  " in line]
    # The unseen project names come from the emails.
    assert "Zenkalo" in predicted[0] and "Belmira" in predicted[1]
    assert sum(line.startswith("  copied: ") for line in lines) == 2
    served_from = lines.index(
        "The SavedModel, in a fresh TensorFlow-only process:"
    )
    served = [line.strip() for line in lines[served_from + 1 : served_from + 3]]
    assert len(predicted) == 2 and served == predicted


def test_demo_qa_beats_the_baseline_and_the_saved_model_agrees(demo):
    lines = section(demo[0].stdout, "qa")
    scores = {
        cells[1]: [float(x) for x in cells[2:4]]
        for cells in ([c.strip() for c in line.split("|")] for line in lines)
        if len(cells) > 4 and cells[1] in ("bidaf", "sliding_window")
    }
    assert scores["bidaf"][1] > scores["sliding_window"][1] + 30.0
    predicted = [
        line.split("  ->  ")[1].split("  score")[0]
        for line in lines
        if "  ->  " in line
    ]
    served_from = lines.index(
        "The SavedModel, in a fresh TensorFlow-only process:"
    )
    served = [line.strip() for line in lines[served_from + 1 : served_from + 3]]
    assert len(predicted) == 2 and served == predicted


def test_demo_traffic_step_says_it_is_a_smoke_run(demo):
    assert "smoke-size" in "\n".join(section(demo[0].stdout, "traffic"))


def test_demo_traffic_table_lists_the_model_and_three_baselines(demo):
    table = traffic_table(demo[0].stdout)
    assert tuple(table) == TRAFFIC_METHODS
    for method, numbers in table.items():
        # MAE / RMSE / MAPE at 15, 30 and 60 minutes and on average.
        assert len(numbers) == 12, method
        assert all(math.isfinite(n) and n >= 0 for n in numbers), method


def test_help_lists_the_commands(tmp_path):
    run = attn("--help", cwd=tmp_path)
    assert run.returncode == 0
    assert "demo" in run.stdout


def test_no_command_prints_help_and_exits_2(tmp_path):
    run = attn(cwd=tmp_path)
    assert run.returncode == 2
    assert run.stderr.startswith("usage: attn")
    assert "demo" in run.stderr


def test_unknown_command_exits_2_with_a_one_line_message(tmp_path):
    run = attn("bogus", cwd=tmp_path)
    assert run.returncode == 2
    assert run.stderr.count("\n") == 1
    assert "invalid choice: 'bogus'" in run.stderr


def test_unknown_flag_exits_2_with_a_one_line_message(tmp_path):
    run = attn("demo", "--bogus", cwd=tmp_path)
    assert run.returncode == 2
    assert run.stderr.count("\n") == 1
    assert "unrecognized arguments: --bogus" in run.stderr
    assert list(tmp_path.iterdir()) == []  # Not even the default --out.


def test_unwritable_out_dir_exits_2_with_a_one_line_message(tmp_path):
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("")
    run = attn("demo", "--out", str(not_a_dir / "out"), cwd=tmp_path)
    assert run.returncode == 2
    assert run.stderr.count("\n") == 1
    assert "cannot write to" in run.stderr
    assert run.stdout == ""


def tensorflow_logs(stderr):
    """The lines of `stderr` that TensorFlow, absl or CUDA probing wrote."""
    return [line for line in stderr.splitlines() if TF_LOG.search(line)]


def options(parser, path="attn"):
    """Yields `(command, option)` for every argument under `parser`."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, subparser in action.choices.items():
                yield from options(subparser, f"{path} {name}")
        else:
            yield path, action


def test_every_option_has_help():
    missing = [
        (command, action.option_strings or action.dest)
        for command, action in options(build_parser())
        if not action.help or action.help == argparse.SUPPRESS
    ]
    assert missing == []


def test_export_takes_a_model_version_and_attn_version_is_the_program(
    tmp_path,
):
    parse = build_parser().parse_args
    assert parse(["qa", "export", "--run", "r"]).model_version is None
    args = parse(["qa", "export", "--run", "r", "--model-version", "3"])
    assert args.model_version == 3
    run = attn("qa", "export", "--run", "r", "--version", "3", cwd=tmp_path)
    assert run.returncode == 2
    assert "unrecognized arguments: --version 3" in run.stderr
    run = attn("--version", cwd=tmp_path)
    assert run.returncode == 0
    assert run.stdout.startswith("attn ")


def test_tensorflow_logs_are_hidden_and_errors_shown(tmp_path):
    missing = ["--run", "no_run", "--history", "no_history.csv"]
    # Even with TensorFlow's C++ logging turned all the way up.
    noisy = {"TF_CPP_MIN_LOG_LEVEL": "0"}
    run = attn("traffic", "predict", *missing, cwd=tmp_path, env=noisy)
    assert run.returncode == 1
    assert run.stderr.startswith("attn traffic: error: ")
    assert run.stderr.count("\n") == 1, run.stderr
    verbose = attn(
        "--verbose", "traffic", "predict", *missing, cwd=tmp_path, env=noisy
    )
    assert verbose.returncode == 1
    assert tensorflow_logs(verbose.stderr), verbose.stderr
    assert verbose.stderr.endswith(run.stderr)


def test_demo_stderr_has_no_tensorflow_logs(demo):
    assert tensorflow_logs(demo[0].stderr) == []


def test_demo_run_predict_shows_progress_on_stderr(demo, tmp_path, attn_here):
    _, out = demo
    run_dir = str(out / "translation_run")
    sentences = ["A dog runs.", "A cat sleeps.", "Two men play."]
    run = attn_here(
        "translate",
        "predict",
        "--run",
        run_dir,
        "--progress",
        *sentences,
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stderr
    assert len(run.stdout.splitlines()) == len(sentences)
    # The bar starts at 0/3, with the ETA to come.
    assert "search: " in run.stderr and "0/3 [" in run.stderr
    quiet = attn_here(
        "translate", "predict", "--run", run_dir, *sentences, cwd=tmp_path
    )
    assert quiet.stdout == run.stdout
    assert quiet.stderr == ""


def test_a_file_name_given_as_text_is_noted(demo, tmp_path, attn_here):
    _, out = demo
    answered = attn_here(
        "qa", "predict", "--run", str(out / "qa_run"),
        "--context", "ctx_typo.txt", "Where was Nadia born?", cwd=tmp_path,
    )  # fmt: skip
    summarized = attn_here(
        "summarize", "predict", "--run", str(out / "summarization_run"),
        "nonexistent.txt", cwd=tmp_path,
    )  # fmt: skip
    # The text is still the input (text is text), and stderr says how to
    # read the file instead, in one line.
    for run, option, name in (
        (answered, "--context-file", "ctx_typo.txt"),
        (summarized, "--file", "nonexistent.txt"),
    ):
        assert run.returncode == 0 and run.stdout.strip(), run.stderr
        assert run.stderr.count("\n") == 1
        assert f"'{name}' is read as text" in run.stderr
        assert f"give {option} {name}" in run.stderr


TEXT_APPS = ("qa", "summarization", "translation")


@pytest.fixture(scope="module")
def serving(demo, tmp_path_factory):
    """The demo's SavedModels (and its traffic run's) behind loopback REST
    and gRPC stand-ins for TF Serving."""
    from loopback_serving import Models, serve_grpc, serve_rest

    run, out = demo
    assert run.returncode == 0, run.stderr
    base = tmp_path_factory.mktemp("serving")
    export = attn(
        "traffic", "export", "--run", str(out / "traffic_run"),
        "--base", str(base / "models"), cwd=base,
    )  # fmt: skip
    assert export.returncode == 0, export.stderr
    versions = {
        app: {1: str(out / "saved_models" / app / "1")} for app in TEXT_APPS
    }
    versions["traffic"] = {1: str(base / "models" / "traffic" / "1")}
    models = Models(versions)
    rest = serve_rest(models)
    grpc_server, port = serve_grpc(models)
    yield {
        "models": models,
        "url": f"http://127.0.0.1:{rest.server_port}",
        "grpc": f"127.0.0.1:{port}",
        "out": out,
        "tmp": base,
    }
    rest.shutdown()
    grpc_server.stop(None)


def _strings(*items):
    return np.array(
        [i if isinstance(i, bytes) else i.encode() for i in items], dtype=object
    )


def _client(serving, transport, app, *args):
    address = serving["url"] if transport == "--url" else serving["grpc"]
    return attn("client", app, transport, address, *args, cwd=serving["tmp"])


@pytest.mark.parametrize("transport", ["--url", "--grpc"])
def test_client_prints_what_the_saved_models_answer(serving, transport):
    models, tmp = serving["models"], serving["tmp"]
    # A file whose bytes are not UTF-8 goes as {"b64": ...} over REST.
    document = b"The black cat sat on the mat. \xff It slept there."
    path = tmp / "document.txt"
    path.write_bytes(document)
    sentence = "the black cat sat on the mat"
    expected = {
        "translation": models.predict(
            "translation", None, {"text": _strings(sentence)}
        )["translation"],
        "summarization": models.predict(
            "summarization", None, {"text": _strings(document)}
        )["summary"],
    }
    for app, arguments in (
        ("translation", [sentence]),
        ("summarization", ["--file", str(path)]),
    ):
        run = _client(serving, transport, app, *arguments)
        assert run.returncode == 0, run.stderr
        assert run.stdout.splitlines() == [
            text.decode("utf-8", "replace") for text in expected[app]
        ]
    questions = ["Where did the cat sit?", "What slept?"]
    found = models.predict(
        "qa",
        None,
        {
            "context": _strings(document, document),
            "question": _strings(*questions),
        },
    )
    run = _client(
        serving, transport, "qa", "--context-file", str(path), *questions
    )
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert len(lines) == 2
    for i, (question, line) in enumerate(zip(questions, lines)):
        answer = found["answer"][i].decode("utf-8", "replace")
        span = f"[{found['start'][i]}, {found['end'][i]})"
        assert line.startswith(f"{question}\t{answer}\t{span}\tscore ")


@pytest.mark.parametrize("transport", ["--url", "--grpc"])
def test_client_splits_a_batch_larger_than_the_server_takes(serving, transport):
    from loopback_serving import Models, serve_grpc, serve_rest

    # The server's limit: the max_batch_size of the shipped batching.config,
    # which the client's default --max-batch must match.
    config = (REPO / "saved_models" / "batching.config").read_text()
    limit = int(re.search(r"max_batch_size \{ value: (\d+) \}", config)[1])
    models = Models(
        {"translation": serving["models"].models["translation"]},
        max_batch=limit,
    )
    rest = serve_rest(models)
    grpc_server, port = serve_grpc(models)
    sentences = serving["tmp"] / f"sentences{transport}.txt"
    sentences.write_text("A dog runs.\n" * 200)
    address = (
        f"http://127.0.0.1:{rest.server_port}"
        if transport == "--url"
        else f"127.0.0.1:{port}"
    )
    try:
        client = ["client", "translation", transport, address]
        run = attn(*client, "--file", str(sentences), cwd=serving["tmp"])
        refused = attn(
            *client, "--max-batch", str(limit + 1), "--file", str(sentences),
            cwd=serving["tmp"],
        )  # fmt: skip
    finally:
        rest.shutdown()
        grpc_server.stop(None)
    assert run.returncode == 0, run.stderr
    assert len(run.stdout.splitlines()) == 200
    expected = [limit] * (200 // limit) + [200 % limit] * bool(200 % limit)
    assert models.batches[: len(expected)] == expected
    # A server's limit below --max-batch is one line naming it.
    assert refused.returncode == 1
    assert f"larger than maximum input batch size {limit}" in refused.stderr
    assert refused.stderr.strip().count("\n") == 0


def _window(serving, rows=20, drop_sensor=False):
    """A CSV of the demo's last readings, as a user would send them."""
    from attention_suite.apps.traffic import readers

    data = serving["out"] / "traffic_data"
    speeds = next(p for p in data.iterdir() if "speed" in p.name)
    series = readers.read_speeds(str(speeds)).iloc[-rows:]
    if drop_sensor:
        series = series.iloc[:, 1:]
    path = serving["tmp"] / f"window{series.shape[1]}.csv"
    series.to_csv(path)
    return path


@pytest.mark.parametrize("transport", ["--url", "--grpc"])
def test_client_forecast_matches_predict(serving, transport):
    window = _window(serving)
    run = _client(serving, transport, "traffic", str(window))
    assert run.returncode == 0, run.stderr
    local = attn(
        "traffic", "predict", "--run", str(serving["out"] / "traffic_run"),
        "--history", str(window), cwd=serving["tmp"],
    )  # fmt: skip
    assert local.returncode == 0, local.stderr
    served, predicted = (
        pd.read_csv(io.StringIO(r.stdout), index_col=0) for r in (run, local)
    )
    assert list(served.index) == list(predicted.index)
    assert list(served.columns) == list(predicted.columns)
    np.testing.assert_allclose(
        served.to_numpy(), predicted.to_numpy(), atol=2e-3
    )


@pytest.mark.parametrize("transport", ["--url", "--grpc"])
def test_client_asks_the_attention_signature(serving, transport):
    sentences = ["the black cat sat on the mat", "a dog runs"]
    expected = serving["models"].predict(
        "translation",
        None,
        {"text": _strings(*sentences)},
        signature="translate_with_attention",
    )
    run = _client(
        serving, transport, "translation",
        "--signature", "translate_with_attention", *sentences,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    answers = run.stdout.split("\n\n")
    assert len(answers) == 2
    for i, answer in enumerate(answers):
        text, header, *rows = answer.strip("\n").splitlines()
        assert text == expected["translation"][i].decode()
        # Only padding is empty: the pieces are the labels, in order.
        pieces = [p.decode() for p in expected["target_pieces"][i] if p]
        sources = [p.decode() for p in expected["source_pieces"][i] if p]
        assert [row.split()[0] for row in rows] == pieces
        assert header.split() == sources
        # Each row is the whole attention over the source, to the rounding
        # of its printed weights.
        for row in rows:
            weights = [float(w) for w in row.split()[1:]]
            assert len(weights) == len(sources)
            assert sum(weights) == pytest.approx(1, abs=0.005 * len(sources))
    plot = serving["tmp"] / f"alignment{transport}.png"
    drawn = _client(
        serving, transport, "translation", "--plot", str(plot), *sentences
    )
    assert drawn.returncode == 0, drawn.stderr
    assert drawn.stdout.splitlines()[:2] == [
        t.decode() for t in expected["translation"]
    ]
    for i in (1, 2):
        path = plot.with_name(f"{plot.stem}-{i}.png")
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_stand_in_is_as_strict_as_tf_serving(serving):
    import requests
    from loopback_serving import Models, serve_rest

    url = serving["url"] + "/v1/models"
    unknown = requests.post(
        f"{url}/translation:predict",
        json={"signature_name": "nope", "inputs": {"text": ["a"]}},
    )
    assert unknown.status_code == 400
    assert "not found in signature def" in unknown.json()["error"]
    window = {
        "history": [[[60.0] * 8] * 12],
        "time_of_day": [[0.5] * 12],
        "day_of_week": [[2.5] * 12],
    }
    fraction = requests.post(f"{url}/traffic:predict", json={"inputs": window})
    assert fraction.status_code == 400
    assert "day_of_week" in fraction.json()["error"]
    row = requests.post(
        f"{url}/translation:predict",
        json={"instances": [{"b64": "YSBkb2cgcnVucw=="}]},
    )
    assert row.status_code == 200, row.text
    assert len(row.json()["predictions"]) == 1
    status = requests.get(f"{url}/translation").json()
    assert status["model_version_status"][0]["state"] == "AVAILABLE"
    # With no version policy TF Serving serves only the newest version.
    path = serving["models"].models["translation"][1]
    latest = serve_rest(
        Models({"translation": {1: path, 2: path}}, policy="latest")
    )
    try:
        base = f"http://127.0.0.1:{latest.server_port}/v1/models/translation"
        assert requests.get(f"{base}/versions/1").status_code == 404
        assert requests.get(f"{base}/versions/2").status_code == 200
    finally:
        latest.shutdown()


def test_rest_row_and_columnar_formats_parse_alike(serving):
    import requests

    from attention_suite.apps.common.serving.rest import (
        json_value,
        outputs_of,
        request_body,
    )

    inputs = {
        "context": _strings("The cat sat on the mat.", b"A dog \xfe ran."),
        "question": _strings("Where did the cat sit?", "Who ran?"),
    }
    url = f"{serving['url']}/v1/models/qa:predict"
    columnar = requests.post(url, json.dumps(request_body(inputs))).json()
    rows = {
        "instances": [
            {name: json_value(value[i]) for name, value in inputs.items()}
            for i in range(2)
        ]
    }
    row = requests.post(url, json.dumps(rows)).json()
    names = ["answer", "end", "score", "start"]
    direct = serving["models"].predict("qa", None, inputs)
    for answer in (outputs_of(columnar, names), outputs_of(row, names)):
        assert sorted(answer) == names
        for name in names:
            np.testing.assert_array_equal(
                answer[name].astype(direct[name].dtype), direct[name]
            )
    # A single-output signature answers with bare values in both formats.
    text = {"text": _strings("the cat")}
    url = f"{serving['url']}/v1/models/translation:predict"
    single = [
        requests.post(url, json.dumps(body)).json()
        for body in (
            request_body(text),
            {"instances": json_value(text["text"])},
        )
    ]
    for answer in single:
        assert outputs_of(answer, ["translation"])["translation"].shape == (1,)


@pytest.fixture(scope="module")
def silent_port():
    """A port that accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    yield listener.getsockname()[1]
    listener.close()


def _closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize(
    "args, message",
    [
        (["translation", "--url", "{url}", "--model", "nope", "x"],
         "(HTTP 404): Servable not found for request: Latest(nope)"),
        (["translation", "--url", "{url}", "--model-version", "9", "x"],
         "Specific(translation, 9)"),
        (["translation", "--grpc", "{grpc}", "--model-version", "9", "x"],
         "(NOT_FOUND): Servable not found for request: Specific("),
        (["translation", "--url", "http://127.0.0.1:{closed}", "x"],
         "Cannot connect to http://127.0.0.1:{closed}: [Errno 111]"),
        (["translation", "--grpc", "127.0.0.1:{closed}", "x"],
         "Cannot connect to 127.0.0.1:{closed}"),
        (["translation", "--url", "http://127.0.0.1:{silent}", "--timeout",
          "0.5", "x"], "did not answer within 0.5 s"),
        (["translation", "--url", "{url}/proxy", "x"],
         "answered HTTP 404 with text/html, not TF Serving's JSON"),
        (["translation", "--url", "localhost:8501", "x"],
         "'localhost:8501' is not an http(s)://HOST:PORT address"),
        (["translation", "--grpc", "localhost", "x"],
         "'localhost' is not a HOST:PORT address"),
        (["traffic", "--url", "{url}", "{window3}"],
         "has 7 sensor columns; the model takes history [batch, 12, 8]"),
        (["weather", "--url", "{url}", "x"], "invalid choice: 'weather'"),
    ],
)  # fmt: skip
def test_client_failures_are_one_line(serving, silent_port, args, message):
    values = {
        "url": serving["url"],
        "grpc": serving["grpc"],
        "closed": _closed_port(),
        "silent": silent_port,
    }
    if "{window3}" in args:
        values["window3"] = _window(serving, drop_sensor=True)
    args = [a.format(**values) for a in args]
    run = attn("client", *args, cwd=serving["tmp"])
    assert run.returncode != 0
    assert message.format(**values) in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1, run.stderr
    assert run.stdout == ""


def test_serve_check_prints_latency_percentiles(serving, attn_here):
    model = str(serving["tmp"] / "models" / "traffic" / "1")
    run = attn_here(
        "traffic", "serve-check", "--model", model,
        "--batch-sizes", "1", "4", "--seconds", "0.2", cwd=serving["tmp"],
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    lines = re.findall(
        r"latency at batch (\d+): p50 ([\d.]+) ms, p99 ([\d.]+) ms "
        r"\((\d+) calls after warm-up\)",
        run.stdout,
    )
    assert [line[0] for line in lines] == ["1", "4"]
    for _, p50, p99, calls in lines:
        assert 0 < float(p50) <= float(p99)
        assert int(calls) >= 5


def test_saved_models_refuse_malformed_inputs_in_graph(serving):
    """Scalars, matrices, disagreeing batches and out-of-range times end a
    call with INVALID_ARGUMENT naming the input; the process survives. A
    batch of no rows gets no rows, a blank text the empty answer."""
    import subprocess
    import sys

    from helpers import REPO

    versions = serving["models"].models
    run = subprocess.run(
        [
            sys.executable,
            str(REPO / "tests" / "malformed_requests.py"),
            *(f"{app}={paths[1]}" for app, paths in versions.items()),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    results = json.loads(run.stdout)
    assert sorted(results) == ["qa", "summarization", "traffic", "translation"]
    for app in ("translation", "summarization"):
        for case in ("scalar", "matrix"):
            assert "`text` must be a vector" in results[app][case]
    qa = results["qa"]
    assert "`context` must be a vector" in qa["scalar context"]
    assert "`question` must be a vector" in qa["scalar question"]
    assert "must have the same batch size" in qa["fewer questions"]
    assert "must be a vector" in qa["matrix"]
    traffic = results["traffic"]
    assert "history must be float32 [batch" in traffic["fewer days"]
    # The traffic inputs keep their static shapes (a client reads the steps
    # and sensors from them): a wrong rank fails the shape check itself.
    for case in ("history without batch", "scalar time_of_day"):
        assert "Incompatible shapes" in traffic[case]
    for case in ("day_of_week 7", "time_of_day 1.5", "time_of_day nan"):
        assert "day_of_week must be in 0..6" in traffic[case]
    for app, found in results.items():
        assert all(value == [] for value in found["empty batch"].values())
    assert results["translation"]["blank"]["translation"] == ["", ""]
    assert results["summarization"]["blank"]["summary"] == ["", ""]
    # A blank question, then an empty context: the empty answer, score 0.
    assert qa["blank"]["answer"] == ["", ""]
    assert qa["blank"]["score"] == [0.0, 0.0]


@pytest.mark.parametrize("command", ["translate", "summarize"])
@pytest.mark.parametrize("beam", ["0", "-3", "two"])
def test_a_beam_below_one_is_a_usage_error(command, beam, tmp_path):
    run = attn(
        command, "predict", "--run", str(tmp_path), "--beam-size", beam, "x",
        cwd=tmp_path,
    )  # fmt: skip
    assert run.returncode == 2
    assert run.stderr.count("\n") == 1
    assert "expected an integer of at least 1" in run.stderr


def test_serve_check_takes_a_model_base_path(serving, attn_here):
    base = str(serving["tmp"] / "models" / "traffic")
    run = attn_here(
        "traffic", "serve-check", "--model", base, "--batch-sizes", "1",
        "--seconds", "0.1", cwd=serving["tmp"],
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    newest = os.path.join(base, "1")
    assert f"Checking {newest}, the newest version" in run.stdout
    assert f"{newest} serves its warm-up requests" in run.stdout


@pytest.mark.parametrize(
    "model, message",
    [
        ("missing", "missing does not exist."),
        ("empty", "is neither a SavedModel nor a model base path"),
        ("traffic", "is an export of traffic, not of translation."),
    ],
)
def test_serve_check_refuses_what_it_cannot_check_in_one_line(
    serving, model, message, monkeypatch, capsys
):
    # In this process: the refusal comes before TensorFlow is needed.
    tmp = serving["tmp"]
    monkeypatch.chdir(tmp)
    (tmp / "empty").mkdir(exist_ok=True)
    path = {"traffic": str(tmp / "models" / "traffic" / "1")}.get(model, model)
    capsys.readouterr()
    assert main(["translate", "serve-check", "--model", path]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err


@pytest.mark.parametrize(
    "command, run_name, inputs",
    [
        ("translate", "translation_run", ["the black cat", "a dog sat"]),
        ("summarize", "summarization_run", ["Hi Ben, see you.", "Hi Ann."]),
        (
            "qa",
            "qa_run",
            ["--context", "Lote was born in 1935.", "Who?", "When?"],
        ),
    ],
)
def test_plot_answers_every_input_and_draws_each(
    demo, command, run_name, inputs, tmp_path, attn_here
):
    _, out = demo
    plot = tmp_path / "attention.png"
    run = attn_here(
        command, "predict", "--run", str(out / run_name), *inputs,
        "--plot", str(plot), cwd=tmp_path,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    paths = [tmp_path / "attention-1.png", tmp_path / "attention-2.png"]
    lines = run.stdout.splitlines()
    assert len(lines) == 3
    assert lines[2].endswith(", ".join(str(p) for p in paths))
    assert sorted(tmp_path.iterdir()) == paths
    for path in paths:
        assert path.read_bytes()[:8] == PNG_SIGNATURE


def test_a_run_of_another_app_is_named_in_one_line(demo, tmp_path, attn_here):
    _, out = demo
    run = attn_here(
        "translate", "predict", "--run", str(out / "summarization_run"), "x",
        cwd=tmp_path,
    )  # fmt: skip
    assert run.returncode == 1
    assert run.stderr.count("\n") == 1
    assert "is a run of `attn summarize`, not of `attn translate`" in (
        run.stderr
    )
