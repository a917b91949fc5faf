"""TF Serving's REST predict API: request bodies and responses as JSON.

TF Serving takes `{"signature_name": ..., "inputs": {...}}` (the columnar
format) or `{"instances": [...]}` (the row format) at
`POST /v1/models/<name>[/versions/<N>]:predict`, and answers
`{"outputs": ...}` or `{"predictions": ...}`, or `{"error": "..."}`. A string
tensor element is JSON text when it is valid UTF-8, else `{"b64": ...}`; a
string output whose name ends in `_bytes` always comes back as `{"b64": ...}`.
"""

import base64

import numpy as np


def json_value(array):
    """A NumPy array as TF Serving's REST API writes it in JSON.

    Args:
        array: a NumPy array (strings as `bytes` or `str`).

    Returns:
        Nested lists of numbers, strings or `{"b64": ...}` objects.
    """
    array = np.asarray(array)
    if array.dtype.kind == "f" and array.dtype.itemsize < 8:
        # The shortest decimal that reads back as the same value.
        shortest = np.vectorize(
            lambda v: float(str(array.dtype.type(v))), otypes=[object]
        )
        return shortest(array).tolist()
    if array.dtype.kind not in "SUO":
        return array.tolist()

    def element(value):
        if isinstance(value, str):
            return value
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return {"b64": base64.b64encode(value).decode("ascii")}

    return np.vectorize(element, otypes=[object])(array).tolist()


def request_body(inputs, signature="serving_default"):
    """The columnar REST predict body for named input arrays.

    Args:
        inputs: dict mapping input name to a NumPy array.
        signature: the signature to call.

    Returns:
        A JSON-serializable dict.
    """
    return {
        "signature_name": signature,
        "inputs": {name: json_value(v) for name, v in inputs.items()},
    }


def array_of(value):
    """A JSON value of a REST response back as a NumPy array.

    Args:
        value: nested lists of numbers, strings or `{"b64": ...}` objects.

    Returns:
        A NumPy array; strings come back as an object array of `bytes`.
    """

    def strings(item):
        if isinstance(item, list):
            return [strings(i) for i in item]
        if isinstance(item, dict) and "b64" in item:
            return base64.b64decode(item["b64"])
        if isinstance(item, str):
            return item.encode("utf-8")
        return item

    converted = strings(value)
    kinds = {type(i) for i in np.ravel(np.array(converted, dtype=object))}
    if bytes in kinds:
        return np.array(converted, dtype=object)
    return np.array(converted)


def outputs_of(body, output_names):
    """The named outputs of a REST predict response, as NumPy arrays.

    Args:
        body: the parsed JSON response.
        output_names: the signature's output names (a single-output
            signature's columnar answer is the bare array).

    Returns:
        A dict mapping output name to a NumPy array, batch first.

    Raises:
        ValueError: the body holds neither `outputs` nor `predictions`.
    """
    if "outputs" in body:
        outputs = body["outputs"]
        if not isinstance(outputs, dict):
            outputs = {output_names[0]: outputs}
        return {name: array_of(v) for name, v in outputs.items()}
    if "predictions" in body:
        rows = body["predictions"]
        if rows and not isinstance(rows[0], dict):
            return {output_names[0]: array_of(rows)}
        return {
            name: array_of([row[name] for row in rows]) for name in output_names
        }
    raise ValueError(
        "the response holds neither 'outputs' nor 'predictions': "
        f"{str(body)[:200]}"
    )
