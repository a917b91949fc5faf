"""The op audit of a SavedModel: what a stock TF Serving binary can serve.

Each bad case edits one node of a small real SavedModel's graph, as a custom
op library, an XLA export or a hand-placed device would leave it.
"""

import os
import shutil

import pytest
import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2

from attention_suite.apps.common.serving.audit import (
    audit_ops,
    check_ops,
    read_saved_model,
)
from attention_suite.apps.common.serving.process import ServingError
from attention_suite.apps.common.serving.runtimes import (
    load_registry,
    minimum_line,
    registry_from_reports,
)


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory):
    module = tf.Module()
    module.call = tf.function(
        lambda x, name: {
            "y": 2 * x + tf.cast(tf.shape(x)[0], tf.float32),
            "label": tf.strings.join([tf.strings.as_string(x), name]),
        },
        input_signature=[
            tf.TensorSpec([None], tf.float32, name="x"),
            tf.TensorSpec([None], tf.string, name="name"),
        ],
    )
    path = str(tmp_path_factory.mktemp("model"))
    tf.saved_model.save(
        module, path, signatures={"serving_default": module.call}
    )
    return path


def _editable(export_dir):
    """A copy of the `SavedModel` message of `export_dir`, which
    `read_saved_model` shares."""
    model = saved_model_pb2.SavedModel()
    model.CopyFrom(read_saved_model(export_dir))
    return model


def _edited(saved_model, tmp_path, target, changes):
    """A copy of `saved_model` with the first `target` op's node changed."""
    copy = str(tmp_path / "edited")
    shutil.copytree(saved_model, copy)
    model = _editable(copy)
    for function in model.meta_graphs[0].graph_def.library.function:
        for node in function.node_def:
            if node.op == target:
                for field, value in changes.items():
                    setattr(node, field, value)
                with open(os.path.join(copy, "saved_model.pb"), "wb") as f:
                    f.write(model.SerializeToString())
                return copy
    raise AssertionError(f"no {target} node")


def test_a_plain_graph_passes_with_its_ops_listed(saved_model):
    audit = check_ops(saved_model)
    assert {"Mul", "AsString", "StringJoin", "Shape"} <= set(audit.core)
    assert audit.text == audit.unknown == audit.bad_pins == []
    assert audit.unregistered == []
    assert audit.min_serving_version in load_registry()["lines"]
    assert audit.versions["tensorflow"] == tf.__version__


@pytest.mark.parametrize(
    "target, changes, problem",
    [
        ("AddV2", {"op": "MyCustomOp"}, "neither TensorFlow nor"),
        ("AddV2", {"op": "XlaCallModule"}, "need TF Serving's XLA"),
        ("Mul", {"device": "/device:GPU:0"}, "Mul@/device:GPU:0"),
        # A float op that has a GPU kernel must not be kept on the CPU.
        ("Mul", {"device": "/device:CPU:0"}, "Mul@/device:CPU:0"),
    ],
)
def test_what_a_stock_server_cannot_serve_fails_the_check(
    saved_model, tmp_path, target, changes, problem
):
    edited = _edited(saved_model, tmp_path, target, changes)
    with pytest.raises(ServingError, match="stock TF Serving") as error:
        check_ops(edited)
    assert problem in str(error.value)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("op", ["AsString", "StridedSlice"])
def test_cpu_pins_of_string_and_integer_ops_are_allowed(
    saved_model, tmp_path, op
):
    edited = _edited(saved_model, tmp_path, op, {"device": "/device:CPU:0"})
    audit = audit_ops(edited)
    assert audit.pinned == [f"{op}@/device:CPU:0"]
    assert audit.bad_pins == []


def test_an_op_of_a_newer_release_sets_the_minimum(saved_model, tmp_path):
    # The checkpoint functions' op that TF Serving 2.9 lacks.
    edited = _edited(
        saved_model, tmp_path, "AddV2", {"op": "DisableCopyOnRead"}
    )
    assert audit_ops(edited).min_serving_version == "2.10"


def test_an_attribute_no_release_knows_is_named_not_refused(
    saved_model, tmp_path
):
    edited = _edited(saved_model, tmp_path, "Mul", {})
    model = _editable(edited)
    for function in model.meta_graphs[0].graph_def.library.function:
        for node in function.node_def:
            if node.op == "Mul":
                node.attr["made_up"].b = True
    with open(os.path.join(edited, "saved_model.pb"), "wb") as f:
        f.write(model.SerializeToString())
    audit = check_ops(edited)
    assert audit.ignored_attributes == {"Mul.made_up": None}


# Two measured lines: `Old` in both, `New` and `Old.added` from 2.10 on,
# `Gone` only in the older.
REPORTS = {
    "2.9": {"Old": ["T"], "Gone": []},
    "2.10": {"Old": ["T", "added"], "New": ["dtype"]},
}


def test_the_registry_keeps_when_each_op_and_attribute_arrived():
    registry = registry_from_reports(
        {line: ("tf", "text", "3.x") for line in REPORTS}, REPORTS
    )
    assert list(registry["lines"]) == ["2.9", "2.10"]
    assert registry["ops"] == {
        "New": ["2.10", ["dtype"]],
        "Old": ["2.9", ["T"]],
    }
    assert registry["attributes"] == {"Old.added": "2.10"}


@pytest.mark.parametrize(
    "needs, expected",
    [
        ({"Old": {"T"}}, ("2.9", [], {})),
        # An attribute the minimum release lacks is ignored there, named.
        ({"Old": {"T", "added"}}, ("2.9", [], {"Old.added": "2.10"})),
        ({"Old": {"added"}, "New": {"dtype"}}, ("2.10", [], {})),
        ({"Old": {"other"}}, ("2.9", [], {"Old.other": None})),
        ({"Old": set(), "Custom": set()}, (None, ["Custom"], {})),
    ],
)
def test_the_minimum_release_is_the_newest_op_arrival(needs, expected):
    registry = registry_from_reports(
        {line: ("tf", "text", "3.x") for line in REPORTS}, REPORTS
    )
    assert minimum_line(needs, registry) == expected


def test_serving_notes_document_signatures_and_an_example(saved_model):
    import json

    import numpy as np

    from attention_suite.apps.common.serving.notes import serving_notes

    example = {
        "x": np.array([1.5], "float32"),
        "name": np.array([b"\xff"], object),
    }
    notes = serving_notes(
        saved_model, "demo", 3, check_ops(saved_model), example
    )
    assert notes.startswith("# `demo`, version 3\n")
    assert "| `x` | float | [batch] |" in notes
    assert "| `label` | string | [batch] |" in notes
    assert "No tensorflow_text ops" in notes
    body = notes.split("<<'EOF'\n")[1].split("\nEOF")[0]
    assert json.loads(body) == {
        "signature_name": "serving_default",
        "inputs": {"x": [1.5], "name": [{"b64": "/w=="}]},
    }
    assert "/v1/models/demo/versions/3:predict" in notes
