"""Exports as TF Serving sees them: concurrent exports reserve distinct
versions, `--keep` removes the oldest, and a poller of the model directory
never sees a partial version, not even while an export is killed with
SIGKILL."""

import os
import signal
import subprocess
import sys
import threading
import time

import pytest
from helpers import TRAFFIC_TINY

from attention_suite.apps.cli import main
from attention_suite.apps.traffic.synthetic import write_demo_files

# What every complete version holds.
COMPLETE = (
    "saved_model.pb",
    os.path.join("variables", "variables.index"),
    os.path.join("assets.extra", "tf_serving_warmup_requests"),
    "SERVING.md",
)


class Poller(threading.Thread):
    """Lists `<base>/traffic` as TF Serving's file system poller does and
    checks each integer-named version it finds is complete."""

    def __init__(self, directory):
        super().__init__(daemon=True)
        self.directory = directory
        self.seen, self.partial = set(), []
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            names = os.listdir(self.directory)
            for name in filter(str.isdigit, names):
                path = os.path.join(self.directory, name)
                missing = [
                    f
                    for f in COMPLETE
                    if not os.path.exists(os.path.join(path, f))
                ]
                # A version removed (renamed away) meanwhile is not partial.
                if missing and os.path.isdir(path):
                    self.partial.append((name, missing))
                elif not missing:
                    self.seen.add(int(name))
            time.sleep(0.002)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("traffic")
    speeds, adjacency = write_demo_files(root / "data", num_sensors=4, days=2)
    run_dir = str(root / "run")
    args = ["traffic", "train", "--data", speeds, "--adjacency", adjacency]
    for setting in TRAFFIC_TINY:
        args += ["--set", setting]
    assert main([*args, "--out", run_dir]) == 0
    return run_dir


def _export(run, base, *extra):
    """Starts `attn traffic export` (TensorFlow backend) in a new process
    group."""
    return subprocess.Popen(
        [sys.executable, "-m", "attention_suite.apps.cli", "traffic"]
        + ["export", "--run", run, "--base", base, *extra],
        env=dict(os.environ, KERAS_BACKEND="tensorflow"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def _finish(process):
    stdout, stderr = process.communicate(timeout=600)
    assert process.returncode == 0, stderr
    return stdout


def _kill_while_writing(process, directory):
    """SIGKILLs `process` once its temporary version holds a graph."""
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and process.poll() is None:
        for name in os.listdir(directory):
            graph = os.path.join(directory, name, "saved_model.pb")
            if name.startswith(".") and os.path.exists(graph):
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
                return name
        time.sleep(0.01)
    raise AssertionError("the export never wrote a temporary version")


def test_exports_get_distinct_versions_and_never_show_a_partial_one(
    run, tmp_path
):
    base = str(tmp_path / "saved_models")
    directory = os.path.join(base, "traffic")
    # Two exports started 3 s apart reserve distinct versions.
    first = _export(run, base)
    time.sleep(3)
    second = _export(run, base)
    outputs = [_finish(first), _finish(second)]
    assert "traffic/1" in outputs[0] and "traffic/2" in outputs[1]
    assert sorted(os.listdir(directory)) == ["1", "2"]
    poller = Poller(directory)
    poller.start()
    try:
        abandoned = _kill_while_writing(_export(run, base), directory)
        assert abandoned.startswith(".3.tmp-")
        # Its reservation of version 3 stays too, until the next export
        # frees it (its process is gone).
        assert sorted(os.listdir(directory)) == [
            ".3.reserved",
            abandoned,
            "1",
            "2",
        ]
        # The next export takes the free version 3, clears the killed
        # export's directory and, with `--keep 1`, removes versions 1, 2.
        out = _finish(_export(run, base, "--keep", "1"))
        assert "traffic/3" in out
        assert "Removed old versions [1, 2] (--keep 1)" in out
    finally:
        poller.stop.set()
        poller.join()
    assert os.listdir(directory) == ["3"]
    assert poller.partial == []
    assert poller.seen == {1, 2, 3}
