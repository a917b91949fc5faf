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

Which TF Serving releases can load the graph comes from measurement: every
op of the graph, the checkpoint functions' included, and every attribute
its nodes set are looked up in the op lists of the releases
`benchmarks/serving_compat.py` measured
(`attention_suite.apps.common.serving.runtimes`).
"""

import dataclasses
import functools
import json
import os

from attention_suite.apps.common.serving.process import (
    ServingError,
    serve_requests,
)
from attention_suite.apps.common.serving.runtimes import minimum_line

# Ops that only run with TF Serving's XLA flags.
XLA_OPS = ("XlaCallModule", "XlaLaunch", "_XlaCompile", "_XlaRun")


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
            ran with (the exporting versions), and `"graph_producer"`, the
            graph's producer version.
        min_serving_version: the oldest measured TF Serving release line
            that registers every op of the graph, or `None` when none does.
        unregistered: the op types no measured release registers.
        ignored_attributes: `{"op.attribute": since}` for the attributes
            the minimum release's ops lack, which it ignores (`since`: the
            first measured release that has it, or `None`).
    """

    core: list
    text: list
    unknown: list
    pinned: list
    bad_pins: list
    versions: dict
    min_serving_version: object = None
    unregistered: list = dataclasses.field(default_factory=list)
    ignored_attributes: dict = dataclasses.field(default_factory=dict)

    @property
    def xla_ops(self):
        """The op types that need TF Serving's XLA flags."""
        return sorted(set(self.core) & set(XLA_OPS))

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
        if self.unregistered:
            found.append(
                "ops no measured TF Serving release registers "
                "(benchmarks/serving_compat.py): "
                + ", ".join(self.unregistered[:10])
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

    The file is parsed once per version of it (its modification time and
    size): the audit and the serving notes each read it. The message is
    shared between callers, who must not change it.

    Args:
        export_dir: the SavedModel directory.

    Returns:
        A `tensorflow.core.protobuf.saved_model_pb2.SavedModel`.
    """
    path = os.path.join(export_dir, "saved_model.pb")
    stat = os.stat(path)
    return _parsed_saved_model(path, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=4)
def _parsed_saved_model(path, mtime_ns, size):
    """`read_saved_model` of one version of a file."""
    from tensorflow.core.protobuf import saved_model_pb2

    model = saved_model_pb2.SavedModel()
    with open(path, "rb") as f:
        model.ParseFromString(f.read())
    return model


def _nodes(export_dir, checkpoint=False):
    """`(function, node)` for every node of the serving graph.

    Calls of library functions by name are left out, and so are, unless
    `checkpoint`, TensorFlow's own checkpoint functions
    (`__inference__traced_save*` / `_traced_restore*`), which always run on
    the CPU.
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
            saving = "_traced_save" in owner or "_traced_restore" in owner
            if saving and not checkpoint:
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
    _, _, known = serve_requests(None, [], "", (), ops=ops)
    return json.dumps(known)


def classify_ops(ops):
    """Sorts op types as a stock TF Serving binary would know them.

    Runs in a fresh process that imports TensorFlow, then `tensorflow_text`
    (once per set of op types in a process;
    `attention_suite.apps.common.serving.process.serve_requests` does the
    same while it serves a SavedModel).

    Args:
        ops: op type names.

    Returns:
        A dict with `core`, `text` (lists of op types), `gpu` (those with a
        GPU kernel), and the `tensorflow` and `tensorflow_text` versions.

    Raises:
        ServingError: the process failed.
    """
    return json.loads(_classify(tuple(sorted(ops))))


def graph_ops(export_dir):
    """The op types of a SavedModel's serving graph (`audit_ops` reads).

    Args:
        export_dir: the SavedModel directory.

    Returns:
        A set of op type names.
    """
    return {node.op for _, node in _nodes(export_dir)}


def requirements(export_dir):
    """What a server must register to load a SavedModel.

    Args:
        export_dir: the SavedModel directory.

    Returns:
        `{op type: set of the attribute names its nodes set}` over every
        node, the checkpoint functions' included.
    """
    needs = {}
    for _, node in _nodes(export_dir, checkpoint=True):
        needs.setdefault(node.op, set()).update(
            name for name in node.attr if not name.startswith("_")
        )
    return needs


def audit_ops(export_dir, known=None):
    """Lists a SavedModel's op types and device pins, and judges them.

    Args:
        export_dir: the SavedModel directory.
        known: `classify_ops` of its `graph_ops`, when already sorted
            (`None`: sorted here, in a fresh process).

    Returns:
        An `OpAudit`.
    """
    nodes = [node for _, node in _nodes(export_dir)]
    ops = {node.op for node in nodes}
    known = known or classify_ops(ops)
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
    minimum, unregistered, ignored = minimum_line(requirements(export_dir))
    producer = read_saved_model(export_dir).meta_graphs[0].graph_def.versions
    return OpAudit(
        core=sorted(known["core"]),
        text=sorted(known["text"]),
        unknown=sorted(ops - set(known["core"]) - set(known["text"])),
        pinned=sorted(pinned),
        bad_pins=sorted(bad),
        versions={
            "tensorflow": known["tensorflow"],
            "tensorflow_text": known["tensorflow_text"],
            "graph_producer": producer.producer,
        },
        min_serving_version=minimum,
        unregistered=unregistered,
        ignored_attributes=ignored,
    )


def check_ops(export_dir, known=None):
    """`audit_ops`, raising when a stock TF Serving binary cannot serve it.

    Args:
        export_dir: the SavedModel directory.
        known: `classify_ops` of its `graph_ops`, or `None` (see
            `audit_ops`).

    Returns:
        The `OpAudit`.

    Raises:
        ServingError: the graph has unknown ops, XLA ops or bad pins.
    """
    audit = audit_ops(export_dir, known)
    problems = audit.problems()
    if problems:
        raise ServingError(
            f"{export_dir} cannot be served by a stock TF Serving binary: "
            + "; ".join(problems)
        )
    return audit
