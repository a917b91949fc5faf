"""Shared fixtures, and the order test files are handed to workers."""

import numpy as np
import pytest

# The test files that take a minute or more (their module fixtures train
# and export), longest first. `tests/run.sh` hands files to its workers in
# collection order (`--no-loadscope-reorder`), so these start first and no
# worker begins a long file while the other has nothing left to run.
LONG_FILES = (
    "tests/apps/test_cli.py",
    "tests/test_notebooks.py",
    "tests/test_reproduce.py",
    "tests/apps/test_data_parallel_text.py",
    "tests/apps/test_first_run.py",
    "tests/layers/test_layer_properties.py",
    "tests/apps/translation/test_translation_end_to_end.py",
    "tests/apps/qa/test_qa_end_to_end.py",
    "tests/apps/summarization/test_summarization_end_to_end.py",
    "tests/apps/test_data_parallel.py",
    "tests/apps/summarization/test_summarization_model.py",
    "tests/apps/traffic/test_end_to_end.py",
    "tests/apps/test_mixed_precision.py",
    "tests/apps/traffic/test_serving_versions.py",
    "tests/apps/test_api_docstrings.py",
    "tests/apps/traffic/test_kill_resume.py",
    "tests/apps/qa/test_qa_model.py",
    "tests/apps/traffic/test_resume.py",
)


def pytest_collection_modifyitems(items):
    """Moves the tests of `LONG_FILES` first, in that order."""
    rank = {path: i for i, path in enumerate(LONG_FILES)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))


@pytest.fixture
def rng():
    """A seeded NumPy generator."""
    return np.random.default_rng(1234)
