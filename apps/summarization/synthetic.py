"""Short generated emails with their subject lines, for the demo and the tests.

Each email asks about one topic (a meeting, a report, a contract, ...) for
one project on one day, wrapped in a greeting, a filler sentence and a
signature; the subject names the topic, the project and the day. Project
names are made of random syllables, so most of them appear in only a few
emails: a model gets them right by copying them from the email, which is
what the pointer is for. Generated, not sampled from any dataset.
"""

import json
import os
import random

from attention_suite.apps.common.data.atomic import atomic_write_bytes

TOPICS = (
    ("meeting", "Meeting"),
    ("budget review", "Budget review"),
    ("contract draft", "Contract draft"),
    ("quarterly report", "Quarterly report"),
    ("site visit", "Site visit"),
    ("price update", "Price update"),
)
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")
PEOPLE = ("Anna", "Ben", "Carla", "David", "Elena", "Frank", "Grace", "Hugo")
OPENINGS = (
    "Could we talk about the {topic} for {project} on {day}?",
    "I would like to move the {topic} for {project} to {day}.",
    "Please send me your notes on the {topic} for {project} before {day}.",
    "The {topic} for {project} is now planned for {day}.",
)
FILLERS = (
    "Let me know if that works for you.",
    "The numbers from last week are attached.",
    "I have copied the rest of the team.",
    "Call me if anything is unclear.",
)
SYLLABLES = ("ka", "lo", "mi", "ra", "te", "vu", "zen", "tor", "bel", "qui")


def demo_examples(count=600, seed=0):
    """Generated `(email, subject)` pairs.

    Args:
        count: how many.
        seed: seed of the random choices.

    Returns:
        A list of `count` `(text, summary)` tuples.
    """
    rng = random.Random(seed)
    examples = []
    for _ in range(count):
        topic, title = rng.choice(TOPICS)
        day = rng.choice(DAYS)
        project = "".join(rng.choice(SYLLABLES) for _ in range(3)).capitalize()
        sender, receiver = rng.sample(PEOPLE, 2)
        opening = rng.choice(OPENINGS).format(
            topic=topic, project=project, day=day
        )
        text = (
            f"Hi {receiver},\n{opening}\n{rng.choice(FILLERS)}\n"
            f"Thanks,\n{sender}"
        )
        examples.append((text, f"{title} {project} {day}"))
    return examples


def write_demo_jsonl(path, count=600, seed=0):
    """Writes the demo emails as a JSONL file with `text` and `summary`.

    Args:
        path: the file to write (atomically).
        count: how many emails.
        seed: seed of the random choices.

    Returns:
        `path`.
    """
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    lines = "".join(
        json.dumps({"text": text, "summary": summary}) + "\n"
        for text, summary in demo_examples(count, seed)
    )
    atomic_write_bytes(path, lines.encode("utf-8"))
    return path
