"""Readers for traffic speed series and sensor graphs in the formats users
have.

* `speeds`: `read_speeds` (CSV with or without timestamps, METR-LA HDF5,
  PEMS `.npz`) and `missing_mask`;
* `graphs`: `read_adjacency` (CSV matrices, DCRNN pickles, distance lists);
* `pickles`: the restricted unpickler the graph pickles go through;
* `named`: where the registry's named datasets are in a data directory;
* `tables`: the file checks and CSV tables the readers share.
"""

from attention_suite.apps.traffic.readers.graphs import (
    KERNEL_THRESHOLD,
    read_adjacency,
)
from attention_suite.apps.traffic.readers.named import (
    dataset_names,
    dataset_paths,
    is_dataset_name,
)
from attention_suite.apps.traffic.readers.speeds import (
    MISSING_RULES,
    missing_mask,
    read_speeds,
    step_name,
)

__all__ = [
    "KERNEL_THRESHOLD",
    "MISSING_RULES",
    "dataset_names",
    "dataset_paths",
    "is_dataset_name",
    "missing_mask",
    "read_adjacency",
    "read_speeds",
    "step_name",
]
