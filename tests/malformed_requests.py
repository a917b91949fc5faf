"""Calls SavedModels' `serving_default` with malformed inputs and with
edge cases (no rows, blank texts), as a client of TF Serving could, in a
process that imports only TensorFlow and `tensorflow_text`.

Usage: `python malformed_requests.py APP=SAVED_MODEL_DIR...`. Prints one
JSON object: for each app and malformed case, the first line of the error
the call raised (`tf.errors.InvalidArgumentError`), or `"answered"` when
the call returned; for each edge case, the outputs as lists (strings
decoded). A crash of the process shows as its exit code.
"""

import json
import sys

import numpy as np
import tensorflow as tf
import tensorflow_text  # noqa: F401  (registers the text ops)


def _text_cases(name):
    return {
        "scalar": {name: tf.constant("A dog runs.")},
        "matrix": {name: tf.constant([["A dog runs.", "A cat sits."]])},
    }


def _qa_cases():
    context = "The museum opened in 1905."
    return {
        "scalar context": {
            "context": tf.constant(context),
            "question": tf.constant(["When did it open?"]),
        },
        "scalar question": {
            "context": tf.constant([context]),
            "question": tf.constant("When did it open?"),
        },
        "fewer questions": {
            "context": tf.constant([context, context]),
            "question": tf.constant(["When did it open?"]),
        },
        "matrix": {
            "context": tf.constant([[context]]),
            "question": tf.constant([["When did it open?"]]),
        },
    }


def _traffic_cases(function):
    specs = function.structured_input_signature[1]
    _, steps, sensors = specs["history"].shape
    good = {
        "history": np.full((2, steps, sensors), 60.0, np.float32),
        "time_of_day": np.full((2, steps), 0.5, np.float32),
        "day_of_week": np.full((2, steps), 3, np.int32),
    }

    def case(**changes):
        return {k: tf.constant(v) for k, v in {**good, **changes}.items()}

    return {
        "history without batch": case(history=good["history"][0]),
        "scalar time_of_day": case(time_of_day=np.float32(0.5)),
        "fewer days": case(day_of_week=good["day_of_week"][:1]),
        "day_of_week 7": case(day_of_week=np.full((2, steps), 7, np.int32)),
        "time_of_day 1.5": case(
            time_of_day=np.full((2, steps), 1.5, np.float32)
        ),
        "time_of_day nan": case(
            time_of_day=np.full((2, steps), np.nan, np.float32)
        ),
    }


def edge_cases(app, function):
    """Well-formed edge requests: a batch of no rows, blank texts."""
    specs = function.structured_input_signature[1]
    if app == "traffic":
        _, steps, sensors = specs["history"].shape
        empty = {
            "history": np.zeros((0, steps, sensors), np.float32),
            "time_of_day": np.zeros((0, steps), np.float32),
            "day_of_week": np.zeros((0, steps), np.int32),
        }
        return {"empty batch": empty}
    if app == "qa":
        return {
            "empty batch": {
                "context": np.array([], bytes),
                "question": np.array([], bytes),
            },
            "blank": {
                "context": np.array([b"The museum opened in 1905.", b""]),
                "question": np.array([b" \t ", b"When did it open?"]),
            },
        }
    (name,) = specs
    return {
        "empty batch": {name: np.array([], bytes)},
        "blank": {name: np.array([b"", b" \t\n "])},
    }


def _listed(value):
    value = value.numpy()
    if value.dtype == object:
        return [v.decode("utf-8", "replace") for v in value.ravel()]
    return value.tolist()


def cases(app, function):
    """The malformed requests of an app's `serving_default`."""
    if app == "qa":
        return _qa_cases()
    if app == "traffic":
        return _traffic_cases(function)
    (name,) = function.structured_input_signature[1]
    return _text_cases(name)


def main(argv):
    results = {}
    for item in argv:
        app, path = item.split("=", 1)
        function = tf.saved_model.load(path).signatures["serving_default"]
        results[app] = {}
        for case, inputs in cases(app, function).items():
            try:
                function(**inputs)
                results[app][case] = "answered"
            except tf.errors.InvalidArgumentError as error:
                lines = [line for line in error.message.splitlines() if line]
                results[app][case] = next(
                    (
                        line
                        for line in lines
                        if "assertion failed" in line
                        or "Incompatible shapes" in line
                    ),
                    lines[0],
                )
        for case, inputs in edge_cases(app, function).items():
            outputs = function(**{k: tf.constant(v) for k, v in inputs.items()})
            results[app][case] = {k: _listed(v) for k, v in outputs.items()}
    print(json.dumps(results))


if __name__ == "__main__":
    main(sys.argv[1:])
