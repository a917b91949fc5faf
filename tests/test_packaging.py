"""The installed distribution: one `attention_suite` namespace, no bare
`layers` or `apps`, and the `attn` entry point's version."""

import ast
import importlib.metadata
import subprocess
import sys

from helpers import REPO

import attention_suite


def _python(code, cwd):
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_only_the_attention_suite_namespace_is_installed(tmp_path):
    # Outside the repository only what the distribution installs is found.
    for bare in ("layers", "apps"):
        found = _python(f"import {bare}", cwd=tmp_path)
        assert found.returncode != 0
        assert f"No module named '{bare}'" in found.stderr
    found = _python(
        "from attention_suite import layers\n"
        "from attention_suite.layers import MultiHeadAttention\n"
        "from attention_suite.apps import cli\n"
        "assert layers.MultiHeadAttention is MultiHeadAttention\n"
        "print(MultiHeadAttention.__module__)",
        cwd=tmp_path,
    )
    assert found.returncode == 0, found.stderr
    assert found.stdout.strip() == (
        "attention_suite.layers.multi_head_attention"
    )


def test_the_repository_folders_refuse_to_be_bare_packages():
    # From the repository root the folders are on `sys.path`, yet importing
    # them under their folder names fails with a message saying what to do.
    for bare, installed in (
        ("layers", "attention_suite.layers"),
        ("apps", "attention_suite.apps"),
    ):
        found = _python(f"import {bare}", cwd=REPO)
        assert found.returncode != 0
        assert f"as `{installed}`" in found.stderr.splitlines()[-1]


def test_attn_version_prints_the_package_version(tmp_path):
    found = subprocess.run(
        [sys.executable, "-m", "attention_suite.apps.cli", "--version"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert found.returncode == 0, found.stderr
    # One source: the package's `__version__` is the distribution's.
    version = importlib.metadata.version("attention-suite")
    assert version == attention_suite.__version__ == "0.2.0"
    assert found.stdout.strip() == f"attn {version}"


def test_the_layers_import_nothing_keras_does_not(tmp_path):
    # Keras alone may pull in pandas or matplotlib when they are installed;
    # the layers add only their own modules.
    found = _python(
        "import sys\n"
        "import keras\n"
        "before = set(sys.modules)\n"
        "import attention_suite.layers\n"
        "print(sorted(set(sys.modules) - before))",
        cwd=tmp_path,
    )
    assert found.returncode == 0, found.stderr
    added = ast.literal_eval(found.stdout.strip().splitlines()[-1])
    assert added and all(m.startswith("attention_suite") for m in added), added
