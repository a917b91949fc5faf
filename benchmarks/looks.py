"""Counts how many times each figure's test split has been scored.

A look is one scoring of a trained model on a figure's test split (or, for
QA, SQuAD's dev set, which stands in for it): every results file that ever
held the figure's test numbers is read at every commit of
`benchmarks/results/` and in the working tree, and each distinct set of
headline numbers (`PLACES`) is one look. The same scoring copied into two
files counts once; a model scored under two protocols at once (traffic's
`test` and `test_tgcn`) counts once, by its first protocol; each seed of a
`--seeds` run counts.

    python benchmarks/looks.py           # print the counts
    python benchmarks/looks.py --write   # record them (`test_looks`)

`--write` sets `test_looks` in every reproduced results file: the looks of
its figure taken up to and including its own. A scoring that left no results
file is not counted.
"""

import argparse
import fnmatch
import functools
import json
import subprocess
import sys
from pathlib import Path

from attention_suite.apps.common.data.atomic import atomic_write_json

REPO = Path(__file__).resolve().parents[1]
RESULTS = "benchmarks/results"


def _places(figure, test, metrics, legacy=()):
    """Where a figure's headline numbers are, in each kind of results file.

    Args:
        figure: the figure's name.
        test: the path of its metrics in a reproduced results file.
        metrics: the headline metrics' names.
        legacy: `(file, path)` pairs: an older summary file and the path of
            the metrics in it.

    Returns:
        `[(results file pattern under benchmarks/results, places)]`; a place
        is a `/`-separated path, where `*` matches every key.
    """
    kinds = [*legacy, (f"reproduced/{figure}-[0-9]*.json", test)]
    return [(file, [f"{path}/{m}" for m in metrics]) for file, path in kinds]


# Figure -> its `_places`. A reproduced file's seed runs are read at the
# same places (`seeds/runs`).
_TRAFFIC = ("mae", "rmse", "mape")
_QA = ("exact_match", "f1")
_BLEU = ("bleu", "chrf")
_ROUGE = ("rouge1", "rouge2", "rougeL")
_BEAM_ROUGE = "test/scores/original/beam4"
PLACES = {
    "traffic-los-loop": _places(
        "traffic-los-loop",
        "test/attention/average",
        _TRAFFIC,
        [("traffic_los_loop.json", "attention/average")],
    ),
    "traffic-los-loop-paper-setting": _places(
        "traffic-los-loop-paper-setting",
        "test/attention/average",
        _TRAFFIC,
    ),
    "qa-bidaf": _places(
        "qa-bidaf",
        "test/scores/bidaf",
        _QA,
        [("qa_squad.json", "bidaf/test/scores/bidaf")],
    ),
    "qa-encoder": _places(
        "qa-encoder",
        "test/scores/encoder",
        _QA,
        [("qa_squad.json", "encoder*/test/scores/encoder")],
    ),
    "translation-transformer": _places(
        "translation-transformer",
        "test/beam4",
        _BLEU,
        [("translation_multi30k.json", "transformer/test2016/beam4")],
    ),
    "translation-gru": _places(
        "translation-gru",
        "test/beam4",
        _BLEU,
        [("translation_multi30k.json", "gru_attention/test2016/beam4")],
    ),
    "summarization-aeslc": _places(
        "summarization-aeslc",
        _BEAM_ROUGE,
        _ROUGE,
        [("summarization.json", f"aeslc/{_BEAM_ROUGE}")],
    ),
    "summarization-aeslc-transformer": _places(
        "summarization-aeslc-transformer", _BEAM_ROUGE, _ROUGE
    ),
    "summarization-bbc": _places(
        "summarization-bbc",
        _BEAM_ROUGE,
        _ROUGE,
        [("summarization.json", f"bbc*/{_BEAM_ROUGE}")],
    ),
}


@functools.lru_cache(maxsize=None)
def _git(*args):
    """The standard output of a git command run in the repository.

    Kept for the process: every figure reads the same commits and blobs,
    and the history does not change while this runs.
    """
    done = subprocess.run(
        ["git", *args], cwd=REPO, capture_output=True, text=True, check=True
    )
    return done.stdout


def _at(record, place):
    """The values at a place of a JSON record: `{prefix: value}` for each
    key `*` matched (the prefix names them), none where a key is missing."""
    found = {"": record}
    for key in place.split("/"):
        found = {
            f"{prefix}/{name}": value[name]
            for prefix, value in found.items()
            if isinstance(value, dict)
            for name in value
            if fnmatch.fnmatchcase(name, key)
        }
    return found


def scorings(record, places):
    """The headline numbers of every scoring a results record holds.

    Args:
        record: a results file's JSON.
        places: the figure's places in it (`PLACES`).

    Returns:
        A list of tuples of numbers, one per scoring (per matched entry,
        and per seed run of a reproduced file).
    """
    roots = [record]
    roots += [run for run in record.get("seeds", {}).get("runs", [])[1:]]
    found = []
    for root in roots:
        entries = {}
        for place in places:
            for prefix, value in _at(root, place).items():
                entry = prefix.rsplit("/", len(place.split("/")) - 1)[0]
                if isinstance(value, (int, float)):
                    entries.setdefault(entry, []).append(round(value, 6))
        found += [tuple(v) for v in entries.values() if len(v) == len(places)]
    return found


def _versions(figure):
    """`(commit or None, path, JSON)` of every version of every results file
    of a figure, oldest commit first, then the working tree's (`None`)."""
    patterns = [f"{RESULTS}/{pattern}" for pattern, _ in PLACES[figure]]
    commits = _git("log", "--reverse", "--format=%H", "--", RESULTS).split()
    seen_blobs = set()
    for commit in [*commits, None]:
        if commit is None:
            files = [
                (None, str(p.relative_to(REPO)))
                for p in (REPO / RESULTS).rglob("*.json")
            ]
        else:
            files = [
                tuple(line.split(None, 3)[2:])
                for line in _git("ls-tree", "-r", commit, RESULTS).splitlines()
            ]
        for blob, path in sorted(files, key=lambda f: f[1]):
            if not any(fnmatch.fnmatchcase(path, p) for p in patterns):
                continue
            if commit is None:
                text = (REPO / path).read_text(encoding="utf-8")
            elif blob in seen_blobs:
                continue
            else:
                seen_blobs.add(blob)
                text = _git("show", blob)
            yield commit, path, json.loads(text)


def count_looks(figure):
    """Each look at a figure's test split, in the order they were recorded.

    A reproduced results file (one `reproduce.py` run) holds its own looks,
    even where a run of the same settings scored the same numbers before.
    An older summary file's numbers that a reproduced file holds from the
    same commit or an earlier one were copied from it, and count once.

    Args:
        figure: a key of `PLACES`.

    Returns:
        A list of `(key, path of the file that first held it)`: the key is
        the headline numbers, with the reproduced file's path after them
        for a reproduced file's look.
    """
    looks, first_seen = {}, {}
    for commit, path, record in _versions(figure):
        places = next(
            p
            for pattern, p in PLACES[figure]
            if fnmatch.fnmatchcase(path, f"{RESULTS}/{pattern}")
        )
        for numbers in scorings(record, places):
            copied = first_seen.get(numbers) == commit
            if "/reproduced/" in path:
                if (numbers, path) not in looks and copied:
                    # The summary's copy of this file's look.
                    looks.pop(numbers, None)
                looks.setdefault((numbers, path), path)
            elif numbers not in first_seen:
                looks[numbers] = path
            first_seen.setdefault(numbers, commit)
    return list(looks.items())


def looks_by_file(figure, looks=None):
    """`{reproduced results file: test looks of its figure up to and
    including its own}`.

    Args:
        figure: a key of `PLACES`.
        looks: its `count_looks`, when already counted.
    """
    counts = {}
    looks = count_looks(figure) if looks is None else looks
    for i, (key, _) in enumerate(looks, start=1):
        if isinstance(key[-1], str):
            counts[key[-1]] = i
    return counts


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--write",
        action="store_true",
        help="record each reproduced results file's count (`test_looks`)",
    )
    args = parser.parse_args(argv)
    for figure in PLACES:
        looks = count_looks(figure)
        counts = looks_by_file(figure, looks)
        print(f"{figure}: {len(looks)} test looks")
        for path, count in counts.items():
            print(f"  {path}: {count}")
            if args.write:
                file = REPO / path
                record = json.loads(file.read_text(encoding="utf-8"))
                record["test_looks"] = count
                atomic_write_json(file, record)


if __name__ == "__main__":
    sys.exit(main())
