"""SQuAD reading and validation, the article split, the official EM/F1, the
sliding-window baseline, and (when the data directory is there) the real
files."""

import gzip
import json

import pytest
from helpers import real_data_dir

from attention_suite.apps.qa import data, evaluation

CONTEXT = "The cat sat on the mat. The cat was black and the mat was red."


def _document(qas, context=CONTEXT, title="Cats"):
    return {
        "version": "1.1",
        "data": [
            {"title": title, "paragraphs": [{"context": context, "qas": qas}]}
        ],
    }


def test_reader_repairs_and_reports_bad_records(tmp_path):
    qas = [
        {
            "id": "ok",
            "question": "Who sat?",
            "answers": [{"text": "cat", "answer_start": 4}],
        },
        # Wrong offset: moved to the first occurrence of the text.
        {
            "id": "moved",
            "question": "What colour?",
            "answers": [{"text": "mat", "answer_start": 3}],
        },
        {
            "id": "absent",
            "question": "Dog?",
            "answers": [{"text": "dog", "answer_start": 0}],
        },
        {
            "id": "blank",
            "question": "  ",
            "answers": [{"text": "cat", "answer_start": 4}],
        },
        {"id": "broken", "answers": []},
    ]
    path = tmp_path / "squad.json.gz"
    with gzip.open(path, "wt", encoding="utf-8") as f:
        json.dump(_document(qas), f)
    examples, report = data.read_squad(str(path))
    assert [e.id for e in examples] == ["ok", "moved"]
    assert examples[1].answers == (("mat", 19),)
    for e in examples:
        for text, start in e.answers:
            assert e.context[start : start + len(text)] == text
    assert report == {
        "moved": 1,
        "answer not in context": 1,
        "no answers": 1,
        "empty question": 1,
        "malformed record": 1,
    }


def test_empty_context_and_bad_files(tmp_path):
    examples, report = data.parse_squad(
        _document(
            [
                {
                    "id": "q",
                    "question": "Why?",
                    "answers": [{"text": "x", "answer_start": 0}],
                }
            ],
            context="   ",
        )
    )
    assert examples == [] and report == {"empty context": 1}
    with pytest.raises(ValueError, match="not SQuAD JSON"):
        data.parse_squad({"articles": []})
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="not readable JSON"):
        data.read_squad(str(bad))
    with pytest.raises(ValueError, match="Missing SQuAD file"):
        data.read_squad(str(tmp_path / "none.json"))


def test_a_file_whose_records_are_all_rejected_names_itself_and_why(
    tmp_path,
):
    rejected = tmp_path / "rejected.json"
    question = {"id": "q", "question": "Why?", "answers": []}
    rejected.write_text(json.dumps(_document([question, {"id": "r"}])))
    with pytest.raises(
        ValueError,
        match=r"rejected.json holds no usable question: every record was "
        r"rejected \(1 no answers, 1 malformed record\)",
    ):
        data.read_squad(str(rejected))


def test_occurrences_finds_every_copy():
    assert data.occurrences(CONTEXT, "the mat") == [15, 46]
    assert data.occurrences(CONTEXT, "dog") == []
    assert data.occurrences("aaa", "aa") == [0, 1]


def test_article_split_keeps_articles_whole():
    examples = [
        data.Example(f"{t}-{i}", t, CONTEXT, "Who?", (("cat", 4),))
        for t in "abcdefghij"
        for i in range(3)
    ]
    train, held_out = data.split_articles(examples, 2)
    assert len({e.title for e in held_out}) == 2
    assert not {e.title for e in train} & {e.title for e in held_out}
    assert len(train) + len(held_out) == len(examples)
    assert data.split_articles(examples, 2) == (train, held_out)
    with pytest.raises(ValueError, match="too few"):
        data.split_articles(examples, 10)


def test_limits_keep_the_first_training_and_evenly_spaced_val_questions(
    tmp_path,
):
    from attention_suite.apps.qa import synthetic, training
    from attention_suite.apps.qa.config import QAConfig

    path = synthetic.write_demo_squad(str(tmp_path / "demo.json"))
    full, _ = training.load_run_corpus(QAConfig(), path)
    limited, _ = training.load_run_corpus(
        QAConfig(train_limit=5, val_limit=4), path
    )
    assert limited["train"] == full["train"][:5]
    step = len(full["val"]) / 4
    assert limited["val"] == [full["val"][int(k * step)] for k in range(4)]
    assert len({e.title for e in limited["val"]}) > 1
    assert limited["test"] == full["test"]


@pytest.mark.parametrize(
    "prediction, gold, em, f1",
    [
        ("The Denver Broncos!", "denver broncos", 1.0, 1.0),
        ("Broncos", "Denver Broncos", 0.0, 2 * 1.0 * 0.5 / 1.5),
        ("a cat", "the dog", 0.0, 0.0),
        ("", "an", 1.0, 0.0),  # both normalize to nothing
    ],
)
def test_official_em_and_f1_by_hand(prediction, gold, em, f1):
    assert evaluation.exact_match(prediction, gold) == em
    assert evaluation.f1(prediction, gold) == pytest.approx(f1)


def test_scores_take_the_best_gold_answer():
    scores = evaluation.squad_scores(
        ["Denver Broncos", "Carolina"],
        [["Broncos", "Denver Broncos"], ["Panthers"]],
    )
    assert scores["exact_match"] == 50.0 and scores["f1"] == 50.0
    assert scores["per_question"] == [(1.0, 1.0), (0.0, 0.0)]
    with pytest.raises(ValueError, match="predictions"):
        evaluation.squad_scores(["x"], [])


def test_sliding_window_picks_the_span_next_to_the_question_words():
    context = (
        "Paris is the capital of France. The river Seine flows "
        "through Paris. Berlin is the capital of Germany."
    )
    text, start, end = evaluation.sliding_window_answer(
        context, "What is the capital of Germany?", max_words=1, window=5
    )
    assert context[start:end] == text == "Berlin"
    assert evaluation.sliding_window_answer("", "Why?") == ("", 0, 0)


def test_real_squad_files():
    corpus, reports = data.load_corpus("squad", str(real_data_dir()))
    sizes = {name: len(part) for name, part in corpus.items()}
    assert sizes["train"] + sizes["val"] == 87_599 and sizes["test"] == 10_570
    assert len({e.title for e in corpus["val"]}) == data.VAL_ARTICLES
    assert not {e.title for e in corpus["train"]} & {
        e.title for e in corpus["val"]
    }
    assert reports["dev-v1.1.json.gz"]["answer not in context"] == 0
    assert sum(len(e.answers) for e in corpus["test"]) == 34_726


def test_squad_is_fetched_from_its_source_layout(tmp_path, capsys):
    from helpers import served_directory

    from attention_suite.apps.cli import main
    from attention_suite.apps.common.data import datasets

    source = real_data_dir() / data.SQUAD_DIR
    served = tmp_path / "served"
    served.mkdir()
    # The official dev file, as its publishers serve it; no official train
    # file is at hand, so the one served is another (the rebuilt one).
    for name, copy in (
        ("dev-v1.1.json.gz", "dev-v1.1.json"),
        ("train-v1.1.explorer-reconstructed.json.gz", "train-v1.1.json"),
    ):
        with gzip.open(source / name) as f:
            (served / copy).write_bytes(f.read())
    data_dir = tmp_path / "data"
    fetch = ["data", "fetch", "squad", "--data-dir", str(data_dir)]
    with served_directory(served) as mirror:
        capsys.readouterr()
        assert main([*fetch, "--mirror", mirror]) == 1
    out, err = capsys.readouterr()
    assert "dev-v1.1.json: downloaded, checksum ok" in out
    assert err.count("\n") == 1 and "train-v1.1.json" in err
    # The dev file is in place and recorded; the train file never lands.
    fetched = data_dir / data.SQUAD_DIR
    record = json.loads((fetched / datasets.RECORD).read_text())
    assert list(record["files"]) == ["dev-v1.1.json"]
    assert (fetched / "dev-v1.1.json").is_file()
    assert not (fetched / "train-v1.1.json").exists()
    with pytest.raises(ValueError, match="attn data fetch squad"):
        data.load_corpus("squad", str(data_dir))
