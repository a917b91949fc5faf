"""The ops and attributes each measured TF Serving release registers.

`benchmarks/serving_compat.py` installs, per TF Serving release line, the
TensorFlow and `tensorflow_text` its binary links, lists every registered
op with its attributes, and writes them here (`runtimes.json`) in a compact
form: for each op type, and for each attribute added after its op, the
oldest measured line from which every newer measured line has it.

A SavedModel loads on a line only if the line registers every op of its
graph, the checkpoint functions' included. So a graph's minimum release is
the newest `since` among its ops (`minimum_line`), and an op no measured
line has makes it unservable by every measured release. An attribute a
line's op lacks does not stop it: every measured line logs "NodeDef mentions
attribute ... Unknown attributes will be ignored" and loads the graph (the
exports' `VarHandleOp.debug_name`, new in 2.20, is ignored by 2.10 and 2.12,
which serve the same answers); `minimum_line` names such attributes.
"""

import functools
import json
import os

REGISTRY_FILE = os.path.join(os.path.dirname(__file__), "runtimes.json")


def line_key(line):
    """Sort key of a release line such as `"2.10"`."""
    return tuple(int(part) for part in line.split("."))


def registry_from_reports(versions, ops):
    """The compact registry of several release lines' op lists.

    Args:
        versions: `{line: (tensorflow, tensorflow_text, python)}` versions.
        ops: `{line: {op type: [attribute names]}}`.

    Returns:
        A JSON-serializable dict with `lines` (each line's versions), `ops`
        (`{op: [since, [attributes as old as the op]]}`) and `attributes`
        (`{"op.attribute": since}` for those added after their op), over
        the newest line's ops.
    """
    lines = sorted(ops, key=line_key)
    newest = ops[lines[-1]]

    def since(has):
        oldest = lines[-1]
        for line in reversed(lines):
            if not has(ops[line]):
                break
            oldest = line
        return oldest

    registry = {"lines": {}, "ops": {}, "attributes": {}}
    for line in lines:
        registry["lines"][line] = dict(
            zip(("tensorflow", "tensorflow_text", "python"), versions[line])
        )
    for op in sorted(newest):
        first = since(lambda found, op=op: op in found)
        same_age = []
        for attribute in newest[op]:
            added = since(
                lambda found, op=op, attribute=attribute: (
                    attribute in found.get(op, ())
                )
            )
            if added == first:
                same_age.append(attribute)
            else:
                registry["attributes"][f"{op}.{attribute}"] = added
        registry["ops"][op] = [first, same_age]
    return registry


def write_registry(registry, path=REGISTRY_FILE):
    """Writes a registry (`registry_from_reports`) as JSON, an entry a line.

    Args:
        registry: the registry.
        path: the file written.
    """

    def entries(mapping):
        return ",\n".join(
            f"{json.dumps(key)}: {json.dumps(value, separators=(',', ':'))}"
            for key, value in mapping.items()
        )

    text = ",\n".join(
        f"{json.dumps(key)}: {{\n{entries(value)}\n}}"
        for key, value in registry.items()
    )
    with open(path, "w") as f:
        f.write(f"{{\n{text}\n}}\n")


@functools.lru_cache(maxsize=1)
def load_registry(path=REGISTRY_FILE):
    """The registry `benchmarks/serving_compat.py` wrote."""
    with open(path) as f:
        return json.load(f)


def minimum_line(requirements, registry=None):
    """The oldest measured release line that registers a graph's ops.

    Args:
        requirements: `{op type: set of attribute names its nodes set}`.
        registry: a registry; default, the one shipped (`load_registry`).

    Returns:
        `(line, missing, ignored)`: the oldest line having every op (`None`
        when some op has none), the sorted op types no measured line
        registers, and `{"op.attribute": since}` for the attributes that
        line's ops lack (it ignores them; `since` is `None` for one no
        measured line has).
    """
    registry = registry or load_registry()
    sinces, missing, attributes = [], [], {}
    for op, names in requirements.items():
        if op not in registry["ops"]:
            missing.append(op)
            continue
        first, same_age = registry["ops"][op]
        sinces.append(first)
        for attribute in set(names) - set(same_age):
            name = f"{op}.{attribute}"
            attributes[name] = registry["attributes"].get(name)
    if missing:
        return None, sorted(missing), {}
    line = max([min(registry["lines"], key=line_key), *sinces], key=line_key)
    ignored = {
        name: since
        for name, since in sorted(attributes.items())
        if since is None or line_key(since) > line_key(line)
    }
    return line, [], ignored
