"""Tests of the progress bars: on stderr, and only when asked or on a tty."""

import pytest

from attention_suite.apps.common.training import progress


@pytest.fixture
def restore_progress():
    yield
    progress.set_progress(None)


def run_bar(total):
    with progress.progress_bar(total, "scoring", "question") as bar:
        for _ in range(total):
            bar.update(1)


def test_bar_goes_to_stderr_when_asked(capsys, restore_progress):
    progress.set_progress(True)
    run_bar(4)
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "scoring: " in captured.err and "0/4 [" in captured.err


@pytest.mark.parametrize("enabled", [None, False], ids=["auto", "off"])
def test_no_bar_when_off_or_stderr_is_not_a_terminal(
    capsys, restore_progress, enabled
):
    progress.set_progress(enabled)
    run_bar(4)
    assert capsys.readouterr() == ("", "")
