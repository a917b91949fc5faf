"""Fixtures shared by the app tests."""

import pytest
from tiny_apps import write_data


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    """Each app's `train` data arguments: small files from `write_data`."""
    return write_data(tmp_path_factory.mktemp("tiny_data"))
