"""Deterministic train / validation / test splits of a user's examples."""

import random


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
        "test": items[count:2 * count],
        "train": items[2 * count:],
    }
