"""TF Serving's REST JSON: values written and read back exactly."""

import json

import numpy as np
import pytest

from attention_suite.apps.common.serving.rest import (
    array_of,
    json_value,
    outputs_of,
    request_body,
)


def test_float32_values_are_written_short_and_read_back_exactly():
    values = np.array([[58.84, np.nan, 1e21, 0.1]], "float32")
    text = json.dumps(json_value(values))
    assert text == "[[58.84, NaN, 1e+21, 0.1]]"
    back = array_of(json.loads(text)).astype("float32")
    np.testing.assert_array_equal(back, values)


def test_strings_go_as_text_or_b64_and_come_back_as_bytes():
    texts = np.array([b"caf\xc3\xa9", b"\xff\xfe"], dtype=object)
    body = request_body({"text": texts})
    assert body["inputs"]["text"] == ["café", {"b64": "//4="}]
    back = array_of(json.loads(json.dumps(body["inputs"]["text"])))
    assert back.tolist() == [b"caf\xc3\xa9", b"\xff\xfe"]


def test_columnar_and_row_answers_give_the_same_outputs():
    columnar = {"outputs": {"answer": ["1935", "x"], "start": [17, 0]}}
    rows = {
        "predictions": [
            {"answer": "1935", "start": 17},
            {"answer": "x", "start": 0},
        ]
    }
    for body in (columnar, rows):
        outputs = outputs_of(body, ["answer", "start"])
        assert outputs["answer"].tolist() == [b"1935", b"x"]
        assert outputs["start"].tolist() == [17, 0]
    single = outputs_of({"predictions": ["Hallo"]}, ["translation"])
    assert single["translation"].tolist() == [b"Hallo"]
    with pytest.raises(ValueError, match="neither 'outputs' nor"):
        outputs_of({"result": 1}, ["translation"])
