"""`SERVING.md`: what an operator needs to know to serve one exported version.

Every export writes it into the version directory (TF Serving ignores files
beside `saved_model.pb`): the signatures with their dtypes and shapes, the
ops the server binary must register and the TF Serving release that first
has them, the flags it needs, where nodes are pinned, and one REST request
per signature, taken from the version's own warm-up requests.

TensorFlow's protobuf types are imported when the notes are written.
"""

import json
import os

import numpy as np

from attention_suite.apps.common.serving.audit import read_saved_model
from attention_suite.apps.common.serving.rest import request_body
from attention_suite.apps.common.serving.runtimes import load_registry

NOTES_FILE = "SERVING.md"


def signatures(export_dir):
    """The signatures of a SavedModel with their tensors' dtypes and shapes.

    Args:
        export_dir: the SavedModel directory.

    Returns:
        A dict mapping signature name to `{"inputs": ..., "outputs": ...}`,
        each a dict mapping tensor name to `(dtype, shape)`, e.g.
        `("string", [None])` (`None` for a dimension of any size; a shape
        of `None` for an input of any rank, which the graph checks itself:
        `attention_suite.apps.common.serving.export.checked_vectors`).
    """
    from tensorflow.core.framework import types_pb2

    def tensors(infos):
        return {
            name: (
                types_pb2.DataType.Name(info.dtype)[3:].lower(),
                None
                if info.tensor_shape.unknown_rank
                else [
                    None if dim.size < 0 else dim.size
                    for dim in info.tensor_shape.dim
                ],
            )
            for name, info in sorted(infos.items())
        }

    graph = read_saved_model(export_dir).meta_graphs[0]
    return {
        name: {
            "inputs": tensors(signature.inputs),
            "outputs": tensors(signature.outputs),
        }
        for name, signature in sorted(graph.signature_def.items())
        if not name.startswith("__")
    }


def _shape(shape):
    """`[batch, 24, any]`: the first dimension of any size is the batch.

    An input of any rank (`None`) is a vector the graph checks when called.
    """
    if shape is None:
        return "[batch], checked when called"
    dims = [
        str(d) if d is not None else "batch" if i == 0 else "any"
        for i, d in enumerate(shape)
    ]
    return "[" + ", ".join(dims) + "]"


def _table(tensors, kind):
    lines = [f"| {kind} | dtype | shape |", "| --- | --- | --- |"]
    lines += [
        f"| `{name}` | {dtype} | {_shape(shape)} |"
        for name, (dtype, shape) in tensors.items()
    ]
    return lines


def serving_notes(export_dir, model_name, version, audit, example):
    """The text of `SERVING.md` for one exported version.

    Args:
        export_dir: the SavedModel directory.
        model_name: the name TF Serving serves it under (the app).
        version: the version number.
        audit: its `attention_suite.apps.common.serving.audit.OpAudit`.
        example: one request's inputs (a dict of NumPy arrays), e.g. a
            warm-up request.

    Returns:
        The Markdown text.
    """
    lines = [
        f"# `{model_name}`, version {version}",
        "",
        f"Exported with TensorFlow {audit.versions['tensorflow']} (graph "
        f"producer {audit.versions['graph_producer']}) and tensorflow_text "
        f"{audit.versions['tensorflow_text']}; serve it with "
        f"`--model_name={model_name}` and `--model_base_path` set to the "
        "directory holding this version.",
        "",
        "## Signatures",
    ]
    found = signatures(export_dir)
    for name, tensors in found.items():
        lines += ["", f"### `{name}`", ""]
        lines += _table(tensors["inputs"], "input") + [""]
        lines += _table(tensors["outputs"], "output")
    lines_measured = load_registry()["lines"]
    release = (
        f"TF Serving {audit.min_serving_version} or newer: the oldest of the "
        f"releases measured ({', '.join(lines_measured)}) whose TensorFlow "
        "and tensorflow_text register every op of this graph, its "
        "checkpoint functions included (`benchmarks/serving_compat.py` "
        "loads and queries each app's export on each of them)."
    )
    if audit.ignored_attributes:
        release += (
            " Older releases ignore the node attributes they do not know: "
            + ", ".join(
                f"`{name}` (from {since or 'a release not measured'} on)"
                for name, since in audit.ignored_attributes.items()
            )
            + "."
        )
    if audit.text:
        text_ops = ", ".join(f"`{op}`" for op in audit.text)
        server = (
            f"tensorflow_text ops: {text_ops}, which stock TF Serving "
            "binaries link; for in-process loading, `import tensorflow_text` "
            "before `tf.saved_model.load`."
        )
    else:
        server = "No tensorflow_text ops."
    pins = ", ".join(f"`{pin}`" for pin in audit.pinned) or "none"
    lines += [
        "",
        "## What the server needs",
        "",
        f"- Release: {release}",
        f"- Ops: {len(audit.core)} core TensorFlow op types. {server}",
        "- Flags: none"
        + (
            f" (XLA ops {audit.xla_ops} need TF Serving's XLA flags)"
            if audit.xla_ops
            else " (no XLA ops)"
        )
        + "; `--enable_batching` is optional.",
        "- Devices: runs on CPU and GPU builds. Nodes pinned to the CPU "
        f"(string ops with no GPU kernel and the integer shape arithmetic "
        f"beside them): {pins}.",
        "",
        "## Edge cases",
        "",
        "- A request of no rows is answered with no rows.",
    ]
    if any(np.asarray(v).dtype.kind in "OSU" for v in example.values()):
        lines += [
            "- An empty or white-space-only text is answered with an empty "
            "string (and a score of 0 where the answer has a score), never "
            "with text the model invents.",
        ]
    lines += [
        "",
        "## Example requests",
    ]
    for name in found:
        body = json.dumps(request_body(example, signature=name))
        lines += [
            "",
            f"`{name}` over REST:",
            "",
            "```sh",
            f"curl -s http://localhost:8501/v1/models/{model_name}"
            f"/versions/{version}:predict -d @- <<'EOF'",
            body,
            "EOF",
            "```",
        ]
    return "\n".join(lines) + "\n"


def write_serving_notes(export_dir, model_name, version, audit, example):
    """Writes `SERVING.md` into a SavedModel directory.

    Args:
        export_dir: the SavedModel directory (still a temporary one).
        model_name: the TF Serving model name (the app).
        version: the version number.
        audit: its `OpAudit`.
        example: one request's inputs (a dict of NumPy arrays).

    Returns:
        The path written.
    """
    path = os.path.join(export_dir, NOTES_FILE)
    with open(path, "w", encoding="utf-8") as f:
        f.write(serving_notes(export_dir, model_name, version, audit, example))
    return path
