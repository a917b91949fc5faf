"""The `>>>` examples of the apps' docstrings run and print what they show.

The examples are collected from every module of the installed
`attention_suite.apps` and run as doctests with `np` and `keras` in scope
besides the module's own names. Examples that need a dataset or a running
command are written as fenced code blocks instead, which are not run.
"""

import importlib
import pkgutil

import keras
import matplotlib
import numpy as np
import pytest
from doctests import examples, run_example

from attention_suite import apps

matplotlib.use("Agg")


EXAMPLES = examples(
    [
        importlib.import_module(info.name)
        for info in pkgutil.walk_packages(apps.__path__, f"{apps.__name__}.")
    ],
    lambda module: {**vars(module), "np": np, "keras": keras},
)


def test_the_apps_have_examples():
    assert len(EXAMPLES) >= 4


@pytest.mark.parametrize(
    "example",
    EXAMPLES,
    ids=[t.name.removeprefix(f"{apps.__name__}.") for t in EXAMPLES],
)
def test_docstring_example(example):
    run_example(example)
