"""The data registry: where each public dataset comes from, and its download.

`fetch(name, data_dir)` downloads a dataset's files into
`<data_dir>/<subdir>/`, checks each against its published SHA-256 and only
then moves it into place, so the data directory never holds a partial or
corrupt file. Files already present with the right checksum are kept. What
was checked is recorded beside the files (`RECORD`), and the apps check a
fetched file again when they read it (`check_fetched`).
`mirror` (or `$ATTN_DATA_MIRROR`) replaces the source URLs: a file is then
read from `<mirror>/<file name>`, for a local copy or an internal mirror.
"""

import dataclasses
import hashlib
import json
import os
import threading
import time
import urllib.request

from attention_suite.apps.common.data.atomic import (
    atomic_path,
    atomic_write_json,
)

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
        manual: for a dataset with no stable public file to download (no
            `files`), how to get it; `fetch` refuses it with this text.
        reads: what an app reads of it, by role: a file name in `subdir`
            (the traffic app reads `"speeds"` and `"adjacency"`).
        read_options: how the app reads those files (for traffic, the
            `read_speeds` arguments of a series without timestamps).
    """

    subdir: str
    description: str
    base_url: str = ""
    files: dict = dataclasses.field(default_factory=dict)
    urls: dict = dataclasses.field(default_factory=dict)
    manual: str = ""
    reads: dict = dataclasses.field(default_factory=dict)
    read_options: dict = dataclasses.field(default_factory=dict)

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
        reads={"speeds": "metr-la.h5", "adjacency": "adj_mx.pkl"},
        description=(
            "METR-LA: 207 Los Angeles loop detectors, 5-minute speeds, "
            "Mar-Jun 2012 (Li et al. 2018)"
        ),
    ),
    "los-loop": Dataset(
        subdir=os.path.join("traffic", "los_loop"),
        base_url=(
            "https://raw.githubusercontent.com/lehaifeng/T-GCN/"
            "219a2346f5bf68d54d91a948e7a41a08f9edc46b/data/"
        ),
        files={
            "los_speed.csv": (
                "7b732d86ae32b2930595becba28aff39dacbfb2197e250fc0332e1744ce2cbf4"
            ),
            "los_adj.csv": (
                "7a6eb41e10677992b5af50f5ab187c6c05c5c3a92cb973950cfddbf857361e76"
            ),
        },
        # T-GCN's Los-loop speeds carry no timestamps; the paper dates them
        # from 1 March 2012, at 5-minute steps. The series may also be
        # there compressed, as `los_speed.csv.gz`.
        reads={"speeds": "los_speed.csv.gz", "adjacency": "los_adj.csv"},
        read_options={"start": "2012-03-01 00:00", "freq": "5min"},
        description=(
            "Los-loop: 207 Los Angeles loop detectors, 5-minute speeds, "
            "March 2012 (T-GCN, Zhao et al. 2019)"
        ),
    ),
    "aeslc": Dataset(
        subdir="summarization",
        description="AESLC: Enron emails and their subject lines (Zhang and "
        "Tetreault 2019)",
        manual=(
            "no single file to download: clone github.com/ryanzhumich/AESLC "
            "(commit 7afc087a), then `tar czf <data dir>/summarization/"
            "aeslc.tar.gz enron_subject_line`"
        ),
    ),
    "bbc": Dataset(
        subdir="summarization",
        description="BBC News Summary: 2,225 articles and extractive "
        "summaries (Sharma 2018)",
        manual=(
            "no single file to download: get the 'BBC News Summary' folder "
            "(Kaggle, pariza/bbc-news-summary), then `tar czf <data dir>/"
            "summarization/bbc_news_summary.tar.gz 'BBC News Summary'`"
        ),
    ),
    # The official files' SHA-256; the dev file's was checked against a
    # copy whose MD5 is the one its publishers give.
    "squad": Dataset(
        subdir=os.path.join("qa", "squad_v1.1"),
        base_url="https://rajpurkar.github.io/SQuAD-explorer/dataset/",
        files={
            "dev-v1.1.json": (
                "95aa6a52d5d6a735563366753ca50492a658031da74f301ac5238b03966972c9"
            ),
            "train-v1.1.json": (
                "3527663986b8295af4f7fcdff1ba1ff3f72d07d61a20f487cb238a6ef92fd955"
            ),
        },
        description="SQuAD v1.1: questions on Wikipedia paragraphs "
        "(Rajpurkar et al. 2016)",
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
        reads={"speeds": "pems-bay.h5", "adjacency": "adj_mx_bay.pkl"},
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
        # Flow, occupancy and speed from 2018-01-01; the flow is the usual
        # target.
        reads={"speeds": "PEMS04.npz", "adjacency": "PEMS04.csv"},
        read_options={"start": "2018-01-01", "freq": "5min", "feature": 0},
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
        reads={"speeds": "PEMS08.npz", "adjacency": "PEMS08.csv"},
        read_options={"start": "2016-07-01", "freq": "5min", "feature": 0},
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


# Beside a fetched dataset's files: what `fetch` checked, for `check_fetched`.
RECORD = "checksums.json"


def _download(url, path, expected, deadline):
    """Downloads `url` to `path` if its SHA-256 is `expected`, atomically.

    The download runs in a daemon thread: a server that trickles its
    headers or body cannot hold `fetch` past `deadline`.
    """
    with atomic_path(path) as tmp:
        stop = threading.Event()
        failure = []

        def copy():
            try:
                with urllib.request.urlopen(url, timeout=60) as response:
                    with open(tmp, "wb") as out:
                        while not stop.is_set() and (
                            block := response.read(1 << 20)
                        ):
                            out.write(block)
            except Exception as error:  # Reported by the caller.
                failure.append(error)

        thread = threading.Thread(target=copy, daemon=True)
        thread.start()
        thread.join(max(0.0, deadline - time.monotonic()))
        if thread.is_alive():
            stop.set()
            raise OSError(f"Could not download {url} before the deadline.")
        if failure:
            error = failure[0]
            reason = getattr(error, "reason", None) or type(error).__name__
            raise OSError(f"Could not download {url}: {reason}.") from None
        actual = sha256(tmp)
        if actual != expected:
            raise ValueError(
                f"Checksum mismatch for {url}: expected sha256 {expected}, "
                f"received {actual}. Nothing was written."
            )


def fetch(name, data_dir, mirror=None, log=print, force=False, timeout=3600):
    """Downloads a registered dataset into the data directory.

    A file already present with the right checksum is kept (unless
    `force`); one with another checksum is removed first, so a failed fetch
    never leaves a wrong file in place. What was checked is recorded in
    `RECORD` beside the files, for `check_fetched`.

    Args:
        name: a key of `REGISTRY`.
        data_dir: the data directory (created if needed).
        mirror: base URL replacing the dataset's source; defaults to
            `$ATTN_DATA_MIRROR`.
        log: called with one line per file.
        force: whether files present with the right checksum are
            downloaded again.
        timeout: seconds the whole fetch may take.

    Returns:
        The dataset's directory.

    Raises:
        ValueError: an unknown name or a checksum mismatch.
        OSError: a download failed or ran past `timeout`.
    """
    if name not in REGISTRY:
        raise ValueError(
            f"Unknown dataset {name!r}; known datasets: {sorted(REGISTRY)}."
        )
    deadline = time.monotonic() + timeout
    dataset = REGISTRY[name]
    if dataset.manual:
        raise ValueError(f"{name}: {dataset.manual}.")
    mirror = mirror or os.environ.get(MIRROR_ENV)
    directory = os.path.join(data_dir, dataset.subdir)
    os.makedirs(directory, exist_ok=True)
    record = _read_record(directory).get("files", {})
    for file_name, expected in dataset.files.items():
        path = os.path.join(directory, file_name)
        if not force and os.path.exists(path) and sha256(path) == expected:
            log(f"{file_name}: present, checksum ok")
        else:
            if os.path.exists(path):
                os.remove(path)
                record.pop(file_name, None)
                _write_record(directory, name, record)
            _download(dataset.url(file_name, mirror), path, expected, deadline)
            log(f"{file_name}: downloaded, checksum ok")
        record[file_name] = _stamp(path, expected)
        _write_record(directory, name, record)
    return directory


def _stamp(path, digest):
    """What `check_fetched` compares: the digest, size and mtime."""
    stat = os.stat(path)
    return {
        "sha256": digest,
        "size": stat.st_size,
        "mtime_ns": stat.st_mtime_ns,
    }


def _read_record(directory):
    try:
        with open(os.path.join(directory, RECORD)) as f:
            record = json.load(f)
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


def _write_record(directory, name, files):
    atomic_write_json(
        os.path.join(directory, RECORD), {"dataset": name, "files": files}
    )


def check_fetched(path):
    """Checks fetched files against the SHA-256 `fetch` recorded for them.

    Files whose size and modification time are those recorded are taken as
    checked; any other is hashed again. Files no fetch recorded (a data
    directory laid out by hand) are not checked.

    Args:
        path: a file of a dataset, or a dataset's directory (all its
            recorded files).

    Raises:
        ValueError: a file's SHA-256 differs from the recorded one; the
            message names the `attn data fetch ... --force` that mends it.
    """
    directory = path if os.path.isdir(path) else os.path.dirname(path)
    record = _read_record(directory)
    files = record.get("files", {})
    names = list(files) if os.path.isdir(path) else [os.path.basename(path)]
    changed = False
    for file_name in names:
        stamp, target = files.get(file_name), os.path.join(directory, file_name)
        if not isinstance(stamp, dict) or not os.path.exists(target):
            continue
        digest = stamp.get("sha256")
        if _stamp(target, digest) == stamp:
            continue
        if sha256(target) != digest:
            raise ValueError(
                f"{target} is not the file `attn data fetch` checked (its "
                "SHA-256 differs); fetch it again with `attn data fetch "
                f"{record.get('dataset')} --force`."
            )
        files[file_name] = _stamp(target, digest)
        changed = True
    if changed:
        _write_record(directory, record.get("dataset"), files)
