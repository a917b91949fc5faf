"""The `>>>` examples of the apps' docstrings run and print what they show.

The examples are collected from every module of the installed
`attention_suite.apps` and run as doctests with `np` and `keras` in scope
besides the module's own names. Examples that need a dataset or a running
command are written as fenced code blocks instead, which are not run.
"""

import doctest
import importlib
import io
import pkgutil

import keras
import matplotlib
import numpy as np
import pytest

from attention_suite import apps

matplotlib.use("Agg")


def _examples():
    finder = doctest.DocTestFinder()
    found = []
    for info in pkgutil.walk_packages(apps.__path__, f"{apps.__name__}."):
        module = importlib.import_module(info.name)
        globs = {**vars(module), "np": np, "keras": keras}
        found += [t for t in finder.find(module, globs=globs) if t.examples]
    return sorted(found, key=lambda test: test.name)


EXAMPLES = _examples()


def test_the_apps_have_examples():
    assert len(EXAMPLES) >= 4


@pytest.mark.parametrize(
    "example",
    EXAMPLES,
    ids=[t.name.removeprefix(f"{apps.__name__}.") for t in EXAMPLES],
)
def test_docstring_example(example):
    report = io.StringIO()
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    result = runner.run(example, out=report.write)
    assert result.failed == 0, report.getvalue()
