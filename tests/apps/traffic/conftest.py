"""Fixtures shared by the traffic tests."""

import pytest

from attention_suite.apps.traffic.synthetic import write_demo_files


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """`(speeds, adjacency)`: a small demo network's files (4 sensors)."""
    return write_demo_files(
        str(tmp_path_factory.mktemp("data")), num_sensors=4, days=2
    )
