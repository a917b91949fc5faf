"""A small English-German corpus generated from templates, for the demo and
the tests.

Sentences combine a subject, a verb and a place, optionally opened by a time
adverb. German puts the verb second, so an opening adverb swaps subject and
verb ("Today a dog runs ..." -> "Heute läuft ein Hund ..."): the alignment
is not the diagonal, which the attention plots show. Generated, not sampled
from any dataset.
"""

import itertools
import os

from attention_suite.apps.common.data.atomic import atomic_write_bytes

SUBJECTS = (
    ("a dog", "ein Hund"),
    ("a cat", "eine Katze"),
    ("a man", "ein Mann"),
    ("a woman", "eine Frau"),
    ("a child", "ein Kind"),
    ("the girl", "das Mädchen"),
)
VERBS = (
    ("runs", "läuft"),
    ("sleeps", "schläft"),
    ("plays", "spielt"),
    ("sits", "sitzt"),
    ("waits", "wartet"),
)
PLACES = (
    ("on the beach", "am Strand"),
    ("in the park", "im Park"),
    ("on the street", "auf der Straße"),
    ("in the snow", "im Schnee"),
    ("near the water", "in der Nähe des Wassers"),
)
ADVERBS = (None, ("today", "heute"), ("now", "jetzt"))


def _sentence(words):
    text = " ".join(words)
    return text[0].upper() + text[1:] + "."


def demo_pairs():
    """Every (English, German) sentence pair of the templates.

    Returns:
        A list of 450 `(english, german)` tuples.
    """
    pairs = []
    for adverb, subject, verb, place in itertools.product(
        ADVERBS, SUBJECTS, VERBS, PLACES
    ):
        if adverb is None:
            english = (subject[0], verb[0], place[0])
            german = (subject[1], verb[1], place[1])
        else:
            english = (adverb[0], subject[0], verb[0], place[0])
            german = (adverb[1], verb[1], subject[1], place[1])
        pairs.append((_sentence(english), _sentence(german)))
    return pairs


def write_demo_tsv(path):
    """Writes the demo pairs as a `source<TAB>target` TSV file.

    Args:
        path: the file to write (atomically).

    Returns:
        `path`.
    """
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    text = "".join(f"{en}\t{de}\n" for en, de in demo_pairs())
    atomic_write_bytes(path, text.encode("utf-8"))
    return path
