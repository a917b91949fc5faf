"""The data registry: where each public dataset comes from, and its download.

`fetch(name, data_dir)` downloads a dataset's files into
`<data_dir>/<subdir>/`, checks each against its published SHA-256 and only
then moves it into place, so the data directory never holds a partial or
corrupt file. Files already present with the right checksum are kept.
`mirror` (or `$ATTN_DATA_MIRROR`) replaces the source URLs: a file is then
read from `<mirror>/<file name>`, for a local copy or an internal mirror.
"""

import dataclasses
import hashlib
import os
import urllib.error
import urllib.request

from attention_suite.apps.common.atomic import atomic_path

MIRROR_ENV = "ATTN_DATA_MIRROR"


@dataclasses.dataclass(frozen=True)
class Dataset:
    """A downloadable dataset.

    Attributes:
        subdir: where its files go inside the data directory.
        base_url: the URL its file names are appended to.
        files: file name -> SHA-256 hex digest.
        description: one line for `attn data list`.
        urls: file name -> full URL, for the files that are not at
            `base_url`.
    """

    subdir: str
    base_url: str
    files: dict
    description: str
    urls: dict = dataclasses.field(default_factory=dict)

    def url(self, file_name, mirror=None):
        """Where one of the dataset's files is downloaded from.

        Args:
            file_name: a key of `files`.
            mirror: a base URL replacing the sources, or None.

        Returns:
            The URL.
        """
        if mirror:
            return mirror.rstrip("/") + "/" + file_name
        return self.urls.get(file_name) or (
            self.base_url.rstrip("/") + "/" + file_name
        )


_MULTI30K_FILES = {
    "train.en.gz": (
        "d79cfa999dd4c51d2cb42499b6796d5a882c3a8a961923c25a898c90f8bbd56f"
    ),
    "train.de.gz": (
        "726e39b2fa9eb9ffb6dc763fb35a179f80fae06ffc5d28b6ace5faa883de28a6"
    ),
    "train.fr.gz": (
        "622e75069e9f4c577425c4f277116ce66e63a2401c0a2312d90073cb12379a3c"
    ),
    "val.en.gz": (
        "14f7d25ddd868909a9213e361768460edcacdd6ab9d1e77b92560dc10c10dc28"
    ),
    "val.de.gz": (
        "f0cba2f995189cf5770f29a8a9a537a3ad3f51657ad873405082ff6863a5e75a"
    ),
    "val.fr.gz": (
        "ca3106f1a72390591d25f6c45cb4cd39dec4cd3f123e099748a3ce5256c160e9"
    ),
    "test_2016_flickr.en.gz": (
        "611d361c6334bc7246101d48097c13cf5c4413c5befc793cc629934359d532d9"
    ),
    "test_2016_flickr.de.gz": (
        "9204244e408ccb38d2a55cfcd344df15005fc42a07a6e55ca6c52b6ababb8cc8"
    ),
    "test_2016_flickr.fr.gz": (
        "6d326e188d259fb1d04ac19eae3af956559b3a0b93d7635e56c90987c40c8b90"
    ),
}

REGISTRY = {
    "multi30k": Dataset(
        subdir=os.path.join("translation", "multi30k"),
        base_url=(
            "https://raw.githubusercontent.com/multi30k/dataset/"
            "a3d2e0d26b56f3846f66a952536ffed4e401d05a/data/task1/raw/"
        ),
        files=_MULTI30K_FILES,
        description=(
            "Multi30k task 1: en/de/fr image captions (Elliott et al. 2016)"
        ),
    ),
    # Traffic: the series and sensor graph of each set, where
    # `attn traffic train --data NAME` looks for them. The checksums are the
    # ones its publishers and long-standing mirrors give.
    "metr-la": Dataset(
        subdir=os.path.join("traffic", "metr_la"),
        base_url=(
            "https://raw.githubusercontent.com/liyaguang/DCRNN/"
            "602afd9d767d3aa1c9b3eac51710d6aeee12c227/data/sensor_graph/"
        ),
        files={
            "metr-la.h5": (
                "64784b76d6fb8ec9bff4b6decafb354da2bb37840468fdccee5044e511277c05"
            ),
            "adj_mx.pkl": (
                "a35687c6e15aa228dc45027b0ed2a0ea0f4ec78f573deb992c595092d12f61b3"
            ),
        },
        urls={
            "metr-la.h5": (
                "https://huggingface.co/datasets/MintBruce/SkyTraffic/resolve/"
                "800700306275910dcfbb0ac3977c12e72e81f24a/metr-la.h5"
            ),
        },
        description=(
            "METR-LA: 207 Los Angeles loop detectors, 5-minute speeds, "
            "Mar-Jun 2012 (Li et al. 2018)"
        ),
    ),
    "pems-bay": Dataset(
        subdir=os.path.join("traffic", "pems_bay"),
        base_url="https://zenodo.org/records/4263971/files/",
        files={
            "pems-bay.h5": (
                "65d69fb0a2323dba9867179eb7af47c8b814186bc459ff0a4937d21614153c8f"
            ),
            "adj_mx_bay.pkl": (
                "116275f5704d0d492018e14c047f7ae5004385b450aa907f88424055a4a97370"
            ),
        },
        description=(
            "PEMS-BAY: 325 Bay Area sensors, 5-minute speeds, Jan-May 2017 "
            "(Li et al. 2018)"
        ),
    ),
    "pems04": Dataset(
        subdir=os.path.join("traffic", "pems04"),
        base_url=(
            "https://huggingface.co/datasets/jimmygao3218/PEMS04/resolve/main/"
        ),
        files={
            "PEMS04.npz": (
                "95a3c9b720fffdb85f0330d09bfab41b0b3cad0ca86c0d7d5f3accacb4ac999a"
            ),
            "PEMS04.csv": (
                "3e36226ec088ab5fb7d7896f5ae733153e6e27477a759427b65e64adb8be1d23"
            ),
        },
        description=(
            "PEMS04: 307 San Francisco Bay sensors, 5-minute flow, occupancy "
            "and speed, Jan-Feb 2018 (Guo et al. 2019)"
        ),
    ),
    "pems08": Dataset(
        subdir=os.path.join("traffic", "pems08"),
        base_url=(
            "https://huggingface.co/datasets/jimmygao3218/PEMS08/resolve/main/"
        ),
        files={
            "PEMS08.npz": (
                "e1d03ce74e9fb79149e6e7c37c680214822c4a285baa2f42278cacabcd25c075"
            ),
            "PEMS08.csv": (
                "e5ab2a62f275741e6b07d3fba1623883ff9d692d406a44724d26efddc5e24b20"
            ),
        },
        description=(
            "PEMS08: 170 San Bernardino sensors, 5-minute flow, occupancy "
            "and speed, Jul-Aug 2016 (Guo et al. 2019)"
        ),
    ),
}


def sha256(path):
    """The SHA-256 hex digest of a file.

    Args:
        path: the file.

    Returns:
        The digest as a hex string.
    """
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _download(url, path, expected):
    with atomic_path(path) as tmp:
        try:
            with (
                urllib.request.urlopen(url, timeout=60) as response,
                open(tmp, "wb") as out,
            ):
                while block := response.read(1 << 20):
                    out.write(block)
        except (urllib.error.URLError, TimeoutError) as error:
            raise OSError(f"Could not download {url}: {error}") from None
        actual = sha256(tmp)
        if actual != expected:
            raise ValueError(
                f"Checksum mismatch for {url}: expected sha256 {expected}, "
                f"received {actual}. Nothing was written."
            )


def fetch(name, data_dir, mirror=None, log=print):
    """Downloads a registered dataset into the data directory.

    Args:
        name: a key of `REGISTRY`.
        data_dir: the data directory (created if needed).
        mirror: base URL replacing the dataset's source; defaults to
            `$ATTN_DATA_MIRROR`.
        log: called with one line per file.

    Returns:
        The dataset's directory.

    Raises:
        ValueError: an unknown name or a checksum mismatch.
        OSError: a download failed.
    """
    if name not in REGISTRY:
        raise ValueError(
            f"Unknown dataset {name!r}; known datasets: {sorted(REGISTRY)}."
        )
    dataset = REGISTRY[name]
    mirror = mirror or os.environ.get(MIRROR_ENV)
    directory = os.path.join(data_dir, dataset.subdir)
    os.makedirs(directory, exist_ok=True)
    for file_name, expected in dataset.files.items():
        path = os.path.join(directory, file_name)
        if os.path.exists(path) and sha256(path) == expected:
            log(f"{file_name}: present, checksum ok")
            continue
        _download(dataset.url(file_name, mirror), path, expected)
        log(f"{file_name}: downloaded, checksum ok")
    return directory
