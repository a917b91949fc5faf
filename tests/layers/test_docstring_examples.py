"""The `>>>` examples of the layers' docstrings run and print what they show.

The examples are collected from the installed `attention_suite.layers`
modules and run as doctests on the current backend, with `np`, `keras` and
every public name of `attention_suite.layers` in scope, as a user who wrote
`import numpy as np`, `import keras` and
`from attention_suite.layers import *` would have them.
"""

import importlib
import pkgutil

import keras
import numpy as np
import pytest
from doctests import examples, run_example

from attention_suite import layers

NAMESPACE = {
    "np": np,
    "keras": keras,
    **{name: getattr(layers, name) for name in layers.__all__},
}


EXAMPLES = examples(
    [
        importlib.import_module(f"{layers.__name__}.{module.name}")
        for module in pkgutil.iter_modules(layers.__path__)
    ],
    lambda module: NAMESPACE,
)


@pytest.mark.parametrize(
    "example",
    EXAMPLES,
    ids=[t.name.removeprefix(f"{layers.__name__}.") for t in EXAMPLES],
)
def test_docstring_example(example):
    run_example(example)


@pytest.mark.parametrize(
    "name", [n for n in layers.__all__ if isinstance(getattr(layers, n), type)]
)
def test_every_public_layer_has_an_example(name):
    assert ">>>" in getattr(layers, name).__doc__
