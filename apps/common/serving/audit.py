"""What a SavedModel needs from the TF Serving binary that loads it.

A stock TF Serving binary registers TensorFlow's core ops and the ops of the
`tensorflow_text` version it embeds, nothing else. `audit_ops` walks a
SavedModel's graph and every function of its library, sorts each op type into
core TensorFlow, `tensorflow_text` or unknown (asked of a fresh process that
imports TensorFlow first and `tensorflow_text` second, so nothing else is
registered), and checks device pins: a node may be pinned to the CPU only
when its op has no GPU kernel (the string ops) or works on integers only (the
shape arithmetic KerasHub's tokenizers keep beside their string ops); any
other pin would stop the graph from running where TF Serving places it.
"""

import dataclasses
import functools
import json
import os

from attention_suite.apps.common.serving.process import (
    ServingError,
    run_tensorflow_child,
)

# TF Serving links `tensorflow_text`'s ops from 2.2 on, at the version its
# build pins. The fast WordPiece ops reached a release in 2.12
# (tensorflow/serving#2064: missing from 2.10 and 2.11.0); ops added to
# tensorflow_text after the 2.12 line (KerasHub's `RoundRobinTrimmer`) need
# 2.20, whose build pins tensorflow_text 2.20. These versions come from TF
# Serving's release notes and issues; no TF Serving binary was run to check
# them.
FIRST_SERVING_WITH_TEXT_OPS = "2.2"
TEXT_OPS_SINCE = {
    "FastBertNormalize": "2.12",
    "FastWordpieceTokenizeWithOffsets": "2.12",
    "FastWordpieceDetokenize": "2.12",
    "TFText>RoundRobinTrim": "2.20",
    "TFText>RoundRobinGenerateMasks": "2.20",
}
# Ops that only run with TF Serving's XLA flags.
XLA_OPS = ("XlaCallModule", "XlaLaunch", "_XlaCompile", "_XlaRun")

_CHILD = r"""
import json, sys
import tensorflow as tf
from tensorflow.python.framework import kernels, op_def_registry
ops = json.loads(sys.argv[1])
core = [op for op in ops if op_def_registry.get(op) is not None]
import tensorflow_text
text = [op for op in ops if op not in core and op_def_registry.get(op)]
gpu = [
    op for op in core + text
    if any(k.device_type == "GPU"
           for k in kernels.get_registered_kernels_for_op(op).kernel)
]
print(json.dumps({"core": core, "text": text, "gpu": gpu,
                  "tensorflow": tf.__version__,
                  "tensorflow_text": tensorflow_text.__version__}))
"""


@dataclasses.dataclass
class OpAudit:
    """The op types of a SavedModel and where its nodes are pinned.

    Attributes:
        core: op types of core TensorFlow.
        text: op types of `tensorflow_text`.
        unknown: op types neither registers (a custom op library).
        pinned: `"op@device"` of every pinned node, sorted.
        bad_pins: the pins that break GPU serving (see the module doc).
        versions: `{"tensorflow": ..., "tensorflow_text": ...}` the audit
            ran with (the exporting versions).
    """

    core: list
    text: list
    unknown: list
    pinned: list
    bad_pins: list
    versions: dict

    @property
    def xla_ops(self):
        """The op types that need TF Serving's XLA flags."""
        return sorted(set(self.core) & set(XLA_OPS))

    @property
    def min_serving_version(self):
        """The oldest TF Serving release whose binary has the text ops.

        Returns:
            A version string, or `None` when the graph has no text ops.
        """
        if not self.text:
            return None
        versions = [FIRST_SERVING_WITH_TEXT_OPS] + [
            TEXT_OPS_SINCE[op] for op in self.text if op in TEXT_OPS_SINCE
        ]
        return max(versions, key=lambda v: tuple(map(int, v.split("."))))

    def problems(self):
        """What stops a stock TF Serving binary from serving the graph.

        Returns:
            A list of one-line descriptions (empty when none).
        """
        found = []
        if self.unknown:
            found.append(
                "ops neither TensorFlow nor tensorflow_text registers: "
                + ", ".join(self.unknown)
            )
        if self.xla_ops:
            found.append(
                "ops that need TF Serving's XLA flags: "
                + ", ".join(self.xla_ops)
            )
        if self.bad_pins:
            found.append(
                "nodes pinned to a device: " + ", ".join(self.bad_pins[:10])
            )
        return found


def read_saved_model(export_dir):
    """The `SavedModel` protocol buffer of `export_dir/saved_model.pb`.

    Args:
        export_dir: the SavedModel directory.

    Returns:
        A `tensorflow.core.protobuf.saved_model_pb2.SavedModel`.
    """
    from tensorflow.core.protobuf import saved_model_pb2

    model = saved_model_pb2.SavedModel()
    with open(os.path.join(export_dir, "saved_model.pb"), "rb") as f:
        model.ParseFromString(f.read())
    return model


def _nodes(export_dir):
    """`(function, node)` for every node of the serving graph.

    TensorFlow's own checkpoint functions (`__inference__traced_save*` /
    `_traced_restore*`), which always run on the CPU, are left out, and so
    are calls of library functions by name.
    """
    for graph in read_saved_model(export_dir).meta_graphs:
        library = graph.graph_def.library.function
        names = {function.signature.name for function in library}
        nodes = [("", n) for n in graph.graph_def.node] + [
            (function.signature.name, n)
            for function in library
            for n in function.node_def
        ]
        for owner, node in nodes:
            if "_traced_save" in owner or "_traced_restore" in owner:
                continue
            if node.op not in names:
                yield owner, node


def _integers_only(node):
    """Whether every type attribute of a node is an integer type."""
    from tensorflow.core.framework import types_pb2

    integers = {types_pb2.DT_INT32, types_pb2.DT_INT64}
    types = [
        value.type
        for value in node.attr.values()
        if value.WhichOneof("value") == "type"
    ]
    return bool(types) and all(t in integers for t in types)


@functools.lru_cache(maxsize=8)
def _classify(ops):
    """`classify_ops` of a sorted tuple of op types, as JSON text."""
    result = run_tensorflow_child(
        _CHILD, [json.dumps(ops)], "Listing the ops TensorFlow registers"
    )
    return result.stdout.strip().splitlines()[-1]


def classify_ops(ops):
    """Sorts op types as a stock TF Serving binary would know them.

    Runs in a fresh process that imports TensorFlow, then `tensorflow_text`
    (once per set of op types in a process).

    Args:
        ops: op type names.

    Returns:
        A dict with `core`, `text` (lists of op types), `gpu` (those with a
        GPU kernel), and the `tensorflow` and `tensorflow_text` versions.

    Raises:
        ServingError: the process failed.
    """
    return json.loads(_classify(tuple(sorted(ops))))


def audit_ops(export_dir):
    """Lists a SavedModel's op types and device pins, and judges them.

    Args:
        export_dir: the SavedModel directory.

    Returns:
        An `OpAudit`.
    """
    nodes = [node for _, node in _nodes(export_dir)]
    ops = {node.op for node in nodes}
    known = classify_ops(ops)
    gpu = set(known["gpu"])
    pinned, bad = set(), set()
    for node in nodes:
        if not node.device or node.op == "Const":
            continue
        pin = f"{node.op}@{node.device}"
        pinned.add(pin)
        on_cpu = "CPU" in node.device.upper()
        if not on_cpu or (node.op in gpu and not _integers_only(node)):
            bad.add(pin)
    return OpAudit(
        core=sorted(known["core"]),
        text=sorted(known["text"]),
        unknown=sorted(ops - set(known["core"]) - set(known["text"])),
        pinned=sorted(pinned),
        bad_pins=sorted(bad),
        versions={
            "tensorflow": known["tensorflow"],
            "tensorflow_text": known["tensorflow_text"],
        },
    )


def check_ops(export_dir):
    """`audit_ops`, raising when a stock TF Serving binary cannot serve it.

    Args:
        export_dir: the SavedModel directory.

    Returns:
        The `OpAudit`.

    Raises:
        ServingError: the graph has unknown ops, XLA ops or bad pins.
    """
    audit = audit_ops(export_dir)
    problems = audit.problems()
    if problems:
        raise ServingError(
            f"{export_dir} cannot be served by a stock TF Serving binary: "
            + "; ".join(problems)
        )
    return audit
