"""Generated biographies with questions about them, in the SQuAD layout.

Each paragraph tells where two or three people were born, when, and where
they work; each question asks one of those facts about one of the people,
so a reader has to match the question's name and relation to the right
sentence. Names and places are made of random syllables, so they are rare
words: the answer is found by reading, not remembered. Generated, not
sampled from any dataset.
"""

import json
import random

from attention_suite.apps.common.data.atomic import atomic_write_bytes

SYLLABLES = (
    "ka",
    "lo",
    "mi",
    "ra",
    "te",
    "vu",
    "zen",
    "tor",
    "bel",
    "qui",
    "san",
    "dor",
)
FACTS = (
    ("{name} was born in {city}.", "Where was {name} born?", "city"),
    ("{name} was born in {year}.", "When was {name} born?", "year"),
    ("{name} works at {company}.", "Where does {name} work?", "company"),
)


def _word(rng, parts=2):
    return "".join(rng.choice(SYLLABLES) for _ in range(parts)).capitalize()


def demo_document(articles=40, paragraphs=4, seed=0):
    """A SQuAD-format document of generated paragraphs and questions.

    Args:
        articles: number of articles (each with its own title).
        paragraphs: paragraphs per article.
        seed: seed of the random choices.

    Returns:
        The JSON-ready dict (`{"version", "data": [...]}`).
    """
    rng = random.Random(seed)
    data = []
    for a in range(articles):
        items = []
        for p in range(paragraphs):
            people = []
            for _ in range(rng.randint(2, 3)):
                people.append(
                    {
                        "name": _word(rng, 2),
                        "city": _word(rng, 3),
                        "year": str(rng.randint(1800, 2010)),
                        "company": _word(rng, 2)
                        + " "
                        + rng.choice(("Labs", "Works", "Bank")),
                    }
                )
            sentences = [
                (fact, template.format(**person), key, person)
                for person in people
                for fact, (template, _, key) in enumerate(FACTS)
            ]
            rng.shuffle(sentences)
            context, questions = "", []
            for fact, sentence, key, person in sentences:
                context += ("" if not context else " ") + sentence
                answer = person[key]
                start = len(context) - len(sentence) + sentence.index(answer)
                questions.append(
                    {
                        "id": f"{a}-{p}-{len(questions)}",
                        "question": FACTS[fact][1].format(**person),
                        "answers": [{"text": answer, "answer_start": start}],
                    }
                )
            items.append({"context": context, "qas": questions})
        data.append({"title": f"Article {a}", "paragraphs": items})
    return {"version": "demo", "data": data}


def write_demo_squad(path, articles=40, seed=0):
    """Writes `demo_document(...)` as a SQuAD JSON file (atomically).

    Args:
        path: the `.json` file.
        articles: number of articles.
        seed: seed of the random choices.

    Returns:
        `path`.
    """
    document = demo_document(articles, seed=seed)
    atomic_write_bytes(
        path, json.dumps(document, ensure_ascii=False).encode("utf-8")
    )
    return path
