"""Runs and SavedModels written by attention-suite 0.1.0 load through the API.

`tests/fixtures/runs_0.1.0/` holds tiny runs that 0.1.0 trained (one epoch
on the demo data, TensorFlow backend), before the apps got their Python API
and `apps/common` its subpackages: each run's `config.json`, `run.json`,
tokenizer and `model.keras`, two of them exported (`saved_models/`, each
graph stored gzipped and unpacked into a temporary copy), and
`expected.json`, what 0.1.0 answered with them (greedy search). Every one
loads with `<app>.load(path)` and answers as it did.
"""

import gzip
import io
import json
import pathlib
import shutil

import numpy as np
import pandas as pd
import pytest

from attention_suite.apps import qa, summarization, traffic, translation

FIXTURES = pathlib.Path(__file__).resolve().parents[1] / "fixtures"
RUNS = FIXTURES / "runs_0.1.0"
EXPECTED = json.loads((RUNS / "expected.json").read_text())
SENTENCES = ["A dog runs on the beach.", "Two men play football."]


@pytest.fixture(scope="module")
def saved_models(tmp_path_factory):
    """A copy of the fixtures' `saved_models/` with each graph unpacked."""
    copy = tmp_path_factory.mktemp("runs_0.1.0") / "saved_models"
    shutil.copytree(RUNS / "saved_models", copy)
    for packed in copy.glob("*/*/saved_model.pb.gz"):
        packed.with_suffix("").write_bytes(gzip.decompress(packed.read_bytes()))
        packed.unlink()
    return copy


def _readings(text):
    frame = pd.read_csv(io.StringIO(text), index_col=0, parse_dates=True)
    return frame.asfreq(pd.infer_freq(frame.index))


@pytest.mark.parametrize("name", ["translation", "translation_gru"])
def test_translation_runs_load_and_translate_as_before(name):
    model = translation.load(RUNS / name)
    assert isinstance(model, translation.TranslationPipeline)
    assert model.translate(SENTENCES, beam_size=1) == EXPECTED[name]


def test_a_summarization_run_loads_and_summarizes_as_before():
    document = (
        "The council met on Monday to discuss the new budget for schools "
        "and roads in the town."
    )
    model = summarization.load(RUNS / "summarization")
    assert model.summarize([document], beam_size=1) == EXPECTED["summarization"]


def test_a_qa_run_loads_and_answers_as_before():
    expected = EXPECTED["qa"]
    found = qa.load(RUNS / "qa").answer(
        expected["question"], expected["context"]
    )
    (before,) = expected["found"]
    assert (found["answer"], found["start"], found["end"]) == (
        before["answer"],
        before["start"],
        before["end"],
    )
    assert found["score"] == pytest.approx(before["score"], rel=1e-4)


def test_a_traffic_run_and_its_saved_model_forecast_as_before(saved_models):
    history = _readings(EXPECTED["traffic"]["history"])
    before = pd.read_csv(
        io.StringIO(EXPECTED["traffic"]["forecast"]), index_col=0
    )
    for path in (RUNS / "traffic", saved_models / "traffic"):
        forecast = traffic.load(path).forecast(history)
        assert list(forecast.columns) == list(before.columns)
        assert [str(t) for t in forecast.index] == list(before.index)
        np.testing.assert_allclose(forecast.to_numpy(), before, atol=1e-3)


def test_a_translation_saved_model_loads_and_translates_as_before(
    saved_models,
):
    model = translation.load(saved_models / "translation")
    assert model.saved_model is not None and model.config is None
    assert model.translate(SENTENCES) == EXPECTED["translation"]
    found = model.translate(SENTENCES[0], return_attention=True)
    assert found["translation"] == EXPECTED["translation"][0]
    assert found["attention"].shape == (
        len(found["target_pieces"]),
        len(found["source_pieces"]),
    )
    with pytest.raises(ValueError, match="fixed in the graph"):
        model.translate(SENTENCES, beam_size=4)


def test_load_names_another_apps_run():
    with pytest.raises(ValueError, match="qa"):
        translation.load(RUNS / "qa")
