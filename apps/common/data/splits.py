"""Deterministic splits of a corpus, and removing texts copied across them."""

import random
import unicodedata


def held_out_split(items, source, held_out=0.05, seed=0):
    """Shuffles (seeded) and holds out a fraction for validation and for test.

    Args:
        items: the examples, any list.
        source: where they come from (a file name), for error messages.
        held_out: fraction of the items for each of val and test.
        seed: seed of the shuffle.

    Returns:
        `{"train": [...], "val": [...], "test": [...]}`.

    Raises:
        ValueError: too few items to hold out at least one of each.
    """
    count = int(len(items) * held_out)
    if count < 1 or len(items) - 2 * count < 1:
        raise ValueError(
            f"{source} has {len(items)} examples: too few to hold out "
            f"{held_out:.0%} for validation and for test."
        )
    items = list(items)
    random.Random(seed).shuffle(items)
    return {
        "val": items[:count],
        "test": items[count : 2 * count],
        "train": items[2 * count :],
    }


def normalized_text(text):
    """The form two texts are compared in to find copies.

    Unicode NFKC, case-folded, white space collapsed to single spaces.

    Args:
        text: a string.

    Returns:
        The normalized string.
    """
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def drop_duplicates(items, key):
    """Keeps the first of the items whose texts are copies of each other.

    Args:
        items: a list.
        key: maps an item to the text compared (see `normalized_text`).

    Returns:
        `(kept, removed)`: the kept items, in order, and how many went.
    """
    seen, kept = set(), []
    for item in items:
        text = normalized_text(key(item))
        if text not in seen:
            seen.add(text)
            kept.append(item)
    return kept, len(items) - len(kept)


def drop_leaks(corpus, key, order=("test", "val", "train")):
    """Removes from each split the texts that an earlier split holds.

    A text of the test split that also occurs in validation or training
    would be scored on what the model saw: the test split stays whole (it is
    the standard one) and the copies go from validation and training, then
    validation's copies go from training.

    Args:
        corpus: `{split: list of items}`.
        key: maps an item to the text compared (see `normalized_text`).
        order: the splits, the one kept whole first.

    Returns:
        `(corpus, removed)`: a new corpus dict and `{split: count}` of the
        items removed from each later split.
    """
    seen, cleaned, removed = set(), {}, {}
    for split in order:
        texts = [normalized_text(key(item)) for item in corpus[split]]
        cleaned[split] = [
            item for item, text in zip(corpus[split], texts) if text not in seen
        ]
        removed[split] = len(corpus[split]) - len(cleaned[split])
        seen.update(texts)
    del removed[order[0]]
    return {split: cleaned[split] for split in corpus}, removed
