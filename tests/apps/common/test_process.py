"""Serving a SavedModel in a fresh TensorFlow-only process."""

import numpy as np
import pytest
import tensorflow as tf

from attention_suite.apps.common.serving import process
from attention_suite.apps.common.serving.process import run_saved_model


@pytest.fixture(scope="module")
def doubler(tmp_path_factory):
    module = tf.Module()
    module.double = tf.function(
        lambda x: {"y": 2 * x, "label": tf.strings.as_string(x)},
        input_signature=[tf.TensorSpec([None], tf.float32, name="x")],
    )
    path = str(tmp_path_factory.mktemp("doubler"))
    tf.saved_model.save(
        module, path, signatures={"serving_default": module.double}
    )
    return path


def test_outputs_come_back_per_request(doubler):
    requests = [
        {"x": np.array([1.0, 2.0], "float32")},
        {"x": np.zeros(1, "float32")},
    ]
    first, second = run_saved_model(doubler, requests)
    np.testing.assert_array_equal(first["y"], [2.0, 4.0])
    assert first["label"].tolist() == [b"1.000000", b"2.000000"]
    np.testing.assert_array_equal(second["y"], [0.0])


def test_importing_project_code_fails_the_check(doubler):
    requests = [{"x": np.array([1.0], "float32")}]
    with pytest.raises(RuntimeError, match="serving process imported"):
        run_saved_model(doubler, requests, imports=("attention_suite.apps",))


def test_a_serving_failure_is_one_line_with_the_details_kept():
    stderr = (
        "Traceback (most recent call last):\n"
        '  File "<string>", line 9, in <module>\n'
        "tensorflow.python.framework.errors_impl.InvalidArgumentError: "
        "Graph execution error:\n\n"
        "history must be float32 [batch, 12, 4]\n"
        "\t [[{{node assert_equal_1/Assert}}]]\n"
    )
    error = process.ServingError(
        f"Serving m failed: {process.exception_of(stderr)}", details=stderr
    )
    assert "\n" not in str(error)
    assert str(error).startswith(
        "Serving m failed: tensorflow.python.framework.errors_impl."
        "InvalidArgumentError: Graph execution error: history must be "
        "float32 [batch, 12, 4]"
    )
    assert error.details == stderr
    assert process.exception_of("just one line\n") == "just one line"
