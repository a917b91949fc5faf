"""The named traffic datasets: where their files are in a data directory.

They are the entries of the suite's one dataset registry
(`attention_suite.apps.common.data.datasets.REGISTRY`) that name a
`"speeds"` file; `attn data fetch` writes them where this module looks.
"""

import os

from attention_suite.apps.common.data.datasets import REGISTRY, check_fetched


def dataset_names():
    """The names of the traffic datasets, as `attn data` lists them."""
    return sorted(
        name for name, entry in REGISTRY.items() if "speeds" in entry.reads
    )


def is_dataset_name(name):
    """Whether `name` names a traffic dataset (`_` may stand for `-`)."""
    return str(name).replace("_", "-") in dataset_names()


def dataset_paths(name, data_dir):
    """Locates the speed and graph files of a named dataset.

    Args:
        name: a traffic dataset of the registry (`"los-loop"`,
            `"metr-la"`, ...); an underscore may stand for the dash
            (`"metr_la"`).
        data_dir: the data directory (the one holding `traffic/`), as named
            by `ATTN_DATA_DIR` or `--data-dir`.

    Returns:
        `(speeds_path, adjacency_path, read_options)`: the files, for
        `read_speeds` and `read_adjacency`, and the `read_speeds` arguments
        the series needs.

    Raises:
        ValueError: `name` is not a known dataset.
        FileNotFoundError: one of the files is not in `data_dir`.
    """
    key = str(name).replace("_", "-")
    if not is_dataset_name(key):
        raise ValueError(
            f"Unknown traffic dataset {name!r}; known datasets: "
            f"{', '.join(dataset_names())}."
        )
    entry = REGISTRY[key]
    folder = os.path.join(os.fspath(data_dir), entry.subdir)
    paths = [
        os.path.join(folder, entry.reads[role])
        for role in ("speeds", "adjacency")
    ]
    # A `.gz` file may be there uncompressed (as `attn data fetch` writes
    # Los-loop's series).
    paths = [
        path.removesuffix(".gz")
        if path.endswith(".gz")
        and not os.path.isfile(path)
        and os.path.isfile(path.removesuffix(".gz"))
        else path
        for path in paths
    ]
    for path in paths:
        check_fetched(path)
        if not os.path.isfile(path):
            raise FileNotFoundError(
                f"The {key} dataset needs {path}, which does not exist. "
                "Name the data directory (the one holding traffic/) with "
                f"ATTN_DATA_DIR or --data-dir, or download it with `attn "
                f"data fetch {key}`."
            )
    return (*paths, dict(entry.read_options))
