"""Parallel corpora: Multi30k and users' TSV files.

A corpus is a dict of splits (`"train"`, `"val"`, `"test"`), each a pair of
equally long lists `(sources, targets)` of raw, untokenized sentences. It
comes from Multi30k (task 1, any two of en/de/fr) in a data directory, or
from a user's TSV file of `source<TAB>target` lines.

No source sentence is scored on what training saw (sentences compared after
NFKC normalization, case folding and white-space collapsing): Multi30k keeps
its test split whole and drops the pairs of val and train whose source is a
test source, then the train pairs whose source is a val source (one train
pair of en-de; none of test's sources occurs elsewhere). A TSV file keeps
the first pair of each source sentence before it is split.
"""

import gzip
import os

from attention_suite.apps.common.data.paths import load_dataset
from attention_suite.apps.common.data.splits import (
    drop_duplicates,
    drop_leaks,
    held_out_split,
)

LANGUAGES = ("en", "de", "fr")
# Split name -> Multi30k file stem.
MULTI30K_SPLITS = {"train": "train", "val": "val", "test": "test_2016_flickr"}
MULTI30K_SUBDIR = os.path.join("translation", "multi30k")


def read_lines(path):
    """Reads a UTF-8 text file (gzipped when its name ends in `.gz`).

    Args:
        path: the file.

    Returns:
        Its lines, without line endings.

    Raises:
        ValueError: the file is not UTF-8 text.
    """
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rt", encoding="utf-8", newline="\n") as f:
            return f.read().splitlines()
    except (UnicodeDecodeError, gzip.BadGzipFile, EOFError) as error:
        raise ValueError(
            f"{path} is not readable UTF-8 text: {error}"
        ) from None


def check_pair(source, target):
    """Checks a language pair.

    Args:
        source: source language code.
        target: target language code.

    Raises:
        ValueError: an unknown code or the same language twice.
    """
    for code in (source, target):
        if code not in LANGUAGES:
            raise ValueError(
                f"Unknown language {code!r}; Multi30k has {list(LANGUAGES)}."
            )
    if source == target:
        raise ValueError(f"Source and target are both {source!r}.")


def read_multi30k(directory, source="en", target="de"):
    """Reads Multi30k task 1 (train / val / test_2016_flickr).

    Args:
        directory: the folder with `{train,val,test_2016_flickr}.{lang}.gz`.
        source: source language code.
        target: target language code.

    Returns:
        The corpus: `{"train": (sources, targets), "val": ..., "test": ...}`.

    Raises:
        ValueError: unknown languages, missing files or misaligned sides.
    """
    check_pair(source, target)
    corpus = {}
    for split, stem in MULTI30K_SPLITS.items():
        sides = []
        for lang in (source, target):
            path = os.path.join(directory, f"{stem}.{lang}.gz")
            if not os.path.isfile(path):
                raise ValueError(
                    f"Missing Multi30k file {path}; fetch it with "
                    "`attn data fetch multi30k`."
                )
            sides.append(read_lines(path))
        if len(sides[0]) != len(sides[1]):
            raise ValueError(
                f"Multi30k {stem}: {len(sides[0])} {source} lines but "
                f"{len(sides[1])} {target} lines."
            )
        corpus[split] = list(zip(*sides))
    return _columns(drop_leaks(corpus, key=_source)[0])


def _source(pair):
    """The source side of a `(source, target)` pair."""
    return pair[0]


def _columns(splits):
    """`{split: [(source, target), ...]}` as `{split: (sources, targets)}`."""
    return {
        name: ([s for s, _ in part], [t for _, t in part])
        for name, part in splits.items()
    }


def read_tsv(path, held_out=0.05, seed=0):
    """Reads `source<TAB>target` lines and splits them into a corpus.

    A random (seeded) `held_out` fraction goes to validation and another to
    test; the rest is for training. Pairs whose source repeats an earlier
    pair's are dropped first.

    Args:
        path: the TSV file (UTF-8, optionally gzipped).
        held_out: fraction of pairs for each of val and test.
        seed: seed of the split.

    Returns:
        The corpus dict, like `read_multi30k`.

    Raises:
        ValueError: a line without exactly one tab, or too few pairs.
    """
    pairs = []
    for number, line in enumerate(read_lines(path), start=1):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) != 2:
            raise ValueError(
                f"{path}, line {number}: expected source<TAB>target, found "
                f"{len(fields)} tab-separated field(s)."
            )
        pairs.append(tuple(fields))
    pairs, _ = drop_duplicates(pairs, key=_source)
    return _columns(held_out_split(pairs, path, held_out, seed))


def load_corpus(data, data_dir=None, source="en", target="de"):
    """Loads a corpus by name (`"multi30k"`) or from a TSV file.

    Args:
        data: `"multi30k"` or the path of a TSV file.
        data_dir: the data directory holding `translation/multi30k/`.
        source: source language (Multi30k only).
        target: target language (Multi30k only).

    Returns:
        The corpus dict.
    """
    readers = {
        "multi30k": (
            lambda directory: read_multi30k(directory, source, target),
            MULTI30K_SUBDIR,
        )
    }
    return load_dataset(data, data_dir, readers, read_tsv, "a TSV file")
