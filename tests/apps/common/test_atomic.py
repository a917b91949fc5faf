"""Directories written atomically: their mode and what a killed writer
leaves behind."""

import os
import stat
import subprocess
import sys

from attention_suite.apps.common.data.atomic import atomic_directory


def _dead_pid():
    """The id of a process that has exited."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_written_directory_is_readable_by_other_users(tmp_path):
    with atomic_directory(tmp_path / "1") as tmp:
        with open(os.path.join(tmp, "saved_model.pb"), "wb") as file:
            file.write(b"graph")
    mode = stat.S_IMODE(os.stat(tmp_path / "1").st_mode)
    assert mode == 0o755


def test_a_killed_writers_directory_goes_with_the_next_write(tmp_path):
    abandoned = tmp_path / f".3.tmp-{_dead_pid()}-x1y2"
    abandoned.mkdir()
    (abandoned / "variables").mkdir()
    # A writer that still runs (this process) keeps its directory.
    running = tmp_path / f".5.tmp-{os.getpid()}-z3w4"
    running.mkdir()
    with atomic_directory(tmp_path / "4") as tmp:
        assert not abandoned.exists()
        assert running.exists()
        assert os.path.basename(tmp).startswith(f".4.tmp-{os.getpid()}-")
    assert sorted(os.listdir(tmp_path)) == [running.name, "4"]
