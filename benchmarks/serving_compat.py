"""Which TF Serving releases load and answer each app's export, measured.

No TF Serving binary installs from PyPI, but each release links one
TensorFlow and one `tensorflow_text` (pinned in TF Serving's
`tensorflow_serving/workspace.bzl`), and those are on PyPI. For each release
line in `RUNTIMES`, this benchmark builds a virtual environment with that
TensorFlow and `tensorflow_text` (once; kept under `--venvs`), then, in that
environment:

1. lists every registered op with its attributes, TensorFlow's own and
   those `tensorflow_text` adds;
2. loads every export under `--exports` as the server does (the TF1
   session API, the checkpoint's restore op run, the signature's tensor
   names fed and fetched) and answers the export's own warm-up requests.

The answers are compared with those of the exporting TensorFlow (this
environment's, `tf.saved_model.load`). Writes
`benchmarks/results/serving_compat.json` and `.md`, and the op lists to
`apps/common/serving/runtimes.json`, from which the op audit
(`attention_suite.apps.common.serving.audit`) gives each export its
minimum TF Serving release.

TensorFlow wheels before 2.12 need Python 3.10 or older: each line names
its Python, looked up as `python3.X` on `PATH` (or among pyenv's versions).
With no export under `--exports`, only the op lists are measured and
written.

Usage:

```
attn demo --out runs/demo
python benchmarks/serving_compat.py --exports runs/demo/saved_models
```
"""

import argparse
import dataclasses
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import measure
import numpy as np

from attention_suite.apps.common.cli.tables import markdown_table
from attention_suite.apps.common.serving import runtimes

APPS = ("translation", "summarization", "qa", "traffic")


@dataclasses.dataclass(frozen=True)
class Runtime:
    """A TF Serving release line and what its binary links.

    Attributes:
        line: the TF Serving release line, e.g. `"2.10"`.
        python: the Python version its TensorFlow wheel needs.
        requirements: pip requirements: its TensorFlow and a
            `tensorflow_text` wheel that loads in it.
        text_ops: `(python, requirements)` of another environment whose
            `tensorflow_text` has the ops of the version TF Serving pins,
            when that wheel does not load in the line's TensorFlow (it is
            built against another); `None` when the line's own has them.
    """

    line: str
    python: str
    requirements: tuple
    text_ops: object = None


# TF Serving 2.N links TensorFlow 2.N and the `tensorflow_text` its
# workspace pins (2.10.x: 2.7.3; 2.12.0-2.19.1: 2.12.1; 2.20.0: 2.20.0).
# The 2.7.3 wheel does not load in TensorFlow 2.10 (another Abseil), so the
# 2.10 line serves with 2.10.0's wheel and takes its text op list from
# 2.7.3 beside TensorFlow 2.7. 2.9 is the newest line expected to fail (the
# checkpoint functions' `DisableCopyOnRead` op).
RUNTIMES = (
    Runtime(
        "2.20",
        "3.11",
        ("tensorflow==2.20.0", "tensorflow-text==2.20.0"),
    ),
    Runtime(
        "2.12",
        "3.11",
        ("tensorflow==2.12.1", "tensorflow-text==2.12.1", "numpy<2"),
    ),
    Runtime(
        "2.10",
        "3.10",
        ("tensorflow==2.10.1", "tensorflow-text==2.10.0", "numpy<2"),
        text_ops=(
            "3.9",
            ("tensorflow==2.7.4", "tensorflow-text==2.7.3", "numpy<2"),
        ),
    ),
    Runtime(
        "2.9",
        "3.10",
        ("tensorflow==2.9.3", "tensorflow-text==2.9.0", "numpy<2"),
    ),
)

# Run by each runtime's Python: lists the registered ops (before and after
# `tensorflow_text`), then serves each export's requests through the TF1
# session API, as TF Serving's `LoadSavedModel` does.
_CHILD = r"""
import json, platform, sys, traceback
import numpy as np
import tensorflow as tf
from tensorflow.core.framework import op_def_pb2
from tensorflow.python.client import pywrap_tf_session as c_api


def registered():
    buffer = c_api.TF_GetAllOpList()
    ops = op_def_pb2.OpList()
    ops.ParseFromString(c_api.TF_GetBuffer(buffer))
    c_api.TF_DeleteBuffer(buffer)
    return {op.name: sorted(a.name for a in op.attr) for op in ops.op}


core = registered()
import tensorflow_text
every = registered()
exports, out = json.loads(sys.argv[1]), sys.argv[2]
report = {
    "python": platform.python_version(),
    "tensorflow": tf.__version__,
    "tensorflow_text": tensorflow_text.__version__,
    "core": core,
    "text": {op: attrs for op, attrs in every.items() if op not in core},
    "exports": {},
}
outputs = {}
for name, (path, requests_file) in exports.items():
    requests = np.load(requests_file, allow_pickle=False)
    try:
        with tf.compat.v1.Session(graph=tf.Graph()) as session:
            meta = tf.compat.v1.saved_model.loader.load(
                session, ["serve"], path)
            signature = meta.signature_def["serving_default"]
            fetch = {k: v.name for k, v in signature.outputs.items()}
            for i in range(int(requests["count"])):
                prefix = f"{i}/"
                feed = {
                    signature.inputs[key[len(prefix):]].name: requests[key]
                    for key in requests.files if key.startswith(prefix)
                }
                for key, value in session.run(fetch, feed).items():
                    outputs[f"{name}/{i}/{key}"] = (
                        value.astype(bytes) if value.dtype == object
                        else value)
        report["exports"][name] = "loads"
    except Exception as error:
        lines = str(error).strip().splitlines() or [type(error).__name__]
        report["exports"][name] = f"{type(error).__name__}: {lines[0]}"[:300]
np.savez(out + ".npz", **outputs)
with open(out + ".json", "w") as f:
    json.dump(report, f)
"""


def python_for(version):
    """An interpreter of a Python version.

    The first that runs of `python<version>` on `PATH` and, for pyenv's
    shims (which run only the active version), pyenv's installed versions.

    Raises:
        SystemExit: there is none.
    """
    candidates = [shutil.which(f"python{version}")]
    pyenv = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    candidates += sorted(
        glob.glob(
            os.path.join(pyenv, "versions", f"{version}.*", "bin", "python")
        )
    )
    for candidate in filter(None, candidates):
        done = subprocess.run([candidate, "-c", ""], capture_output=True)
        if done.returncode == 0:
            return candidate
    raise SystemExit(
        f"No Python {version} found: TensorFlow wheels of this line need it "
        f"(put python{version} on PATH)."
    )


def venv_for(name, python, requirements, venvs):
    """A virtual environment under `venvs`, built if missing or different.

    Args:
        name: its directory name.
        python: the Python version.
        requirements: what pip installs.
        venvs: the directory of environments.

    Returns:
        Its Python interpreter, a `Path`.
    """
    venv = Path(venvs).resolve() / name
    interpreter = venv / "bin" / "python"
    done = venv / ".installed"
    wanted = json.dumps([python, list(requirements)])
    if done.is_file() and done.read_text() == wanted:
        return interpreter
    shutil.rmtree(venv, ignore_errors=True)
    subprocess.run([python_for(python), "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [str(interpreter), "-m", "pip", "install", "--quiet", *requirements],
        check=True,
    )
    done.write_text(wanted)
    return interpreter


def write_requests(exports, directory):
    """Writes each export's warm-up requests for the children.

    Returns:
        `{app: (version directory, requests file)}` and
        `{app: requests}` (lists of NumPy input dicts).
    """
    from attention_suite.apps.common.serving.export import read_warmup_requests
    from attention_suite.apps.common.serving.process import (
        write_requests as write_npz,
    )

    files, requests = {}, {}
    for app, path in exports.items():
        requests[app] = read_warmup_requests(path)
        files[app] = (
            str(Path(path).resolve()),
            str(Path(directory) / f"{app}.npz"),
        )
        write_npz(files[app][1], requests[app])
    return files, requests


def same(expected, found):
    """Whether two outputs agree: strings exactly, numbers to 1e-4."""
    if expected.dtype.kind in "SOU":
        return expected.astype(bytes).tolist() == found.astype(bytes).tolist()
    return expected.shape == found.shape and np.allclose(
        expected, found, atol=1e-4, equal_nan=True
    )


def compare(app, reference, found):
    """`"same answers"`, or what differs from the exporting TensorFlow's."""
    for i, outputs in enumerate(reference):
        for key, value in outputs.items():
            name = f"{app}/{i}/{key}"
            if name not in found.files:
                return f"no {key} for request {i}"
            if not same(value, found[name]):
                return f"{key} differs for request {i}"
    return "same answers"


def run_child(python, files, out, cwd):
    """Runs `_CHILD` with an environment's Python; returns its report."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    subprocess.run(
        [str(python), "-c", _CHILD, json.dumps(files), out],
        check=True,
        cwd=cwd,
        env=env,
    )
    with open(out + ".json") as f:
        return json.load(f)


def measure_runtime(runtime, venvs, files, reference, needs, tmp):
    """Builds (if needed) and runs one runtime's environments.

    An export that served the same answers with a `tensorflow_text` wheel
    other than the one TF Serving pins (`Runtime.text_ops`) but needs a
    text op the pinned one lacks is reported as lacking it.

    Args:
        runtime: the `Runtime`.
        venvs: the directory of environments.
        files: `{app: (export, requests file)}` (`write_requests`).
        reference: `{app: outputs}` of the exporting TensorFlow.
        needs: `{app: the op types its graph holds}`.
        tmp: a scratch directory.

    Returns:
        The runtime's report: versions, op lists and, per app, `"same
        answers"` or why not.
    """
    python = venv_for(
        f"tf-serving-{runtime.line}",
        runtime.python,
        runtime.requirements,
        venvs,
    )
    out = os.path.join(tmp, runtime.line)
    report = run_child(python, files, out, tmp)
    found = np.load(out + ".npz")
    for app, status in report["exports"].items():
        if status == "loads":
            report["exports"][app] = compare(app, reference[app], found)
    if runtime.text_ops:
        text_python, text_requirements = runtime.text_ops
        pinned = run_child(
            venv_for(
                f"tf-serving-{runtime.line}-text-ops",
                text_python,
                text_requirements,
                venvs,
            ),
            {},
            out + "-text-ops",
            tmp,
        )
        for app, status in report["exports"].items():
            lacking = sorted(
                op
                for op in needs[app]
                if op in report["text"] and op not in pinned["text"]
            )
            if status == "same answers" and lacking:
                report["exports"][app] = (
                    f"lacks {', '.join(lacking)} (tensorflow_text "
                    f"{pinned['tensorflow_text']}; the same answers with "
                    f"{report['tensorflow_text']})"
                )
        report["text"] = pinned["text"]
        report["tensorflow_text"] = (
            f"{pinned['tensorflow_text']} (ops; {report['tensorflow_text']} "
            "served)"
        )
    return report


def _cell(status):
    """A table cell: a status cut at 100 characters (the JSON has more)."""
    return status if len(status) <= 100 else status[:97] + "..."


def table(results):
    """The Markdown summary: one row per runtime, one column per app."""
    apps = sorted(results["exports"])
    rows = [
        [
            f"{line} (TF {r['tensorflow']}, tf-text {r['tensorflow_text']}, "
            f"Python {r['python']})",
            *[_cell(r["exports"].get(app, "")) for app in apps],
        ]
        for line, r in results["runtimes"].items()
    ]
    return (
        "TF Serving runtimes: each export served through the TF1 session "
        "API in the TensorFlow and tensorflow_text its release links, "
        f"against TensorFlow {results['exported_with']['tensorflow']} "
        "(the exporter). Minimum release per app (op audit): "
        + ", ".join(f"{app} {results['minimum'][app]}" for app in apps)
        + ".\n\n"
        + markdown_table(["runtime", *apps], rows)
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--exports",
        type=Path,
        default=Path("runs/demo/saved_models"),
        help="a model base holding <app>/<N>/ (default: %(default)s, "
        "written by `attn demo --out runs/demo`)",
    )
    parser.add_argument(
        "--venvs",
        type=Path,
        default=Path("runs/serving_compat"),
        help="where the runtimes' environments are kept (default: %(default)s)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=measure.RESULTS_DIR,
        help="results directory (default: benchmarks/results)",
    )
    args = parser.parse_args()

    from attention_suite.apps.common.serving.audit import (
        audit_ops,
        requirements,
    )
    from attention_suite.apps.common.serving.export import versions
    from attention_suite.apps.common.serving.process import run_saved_model

    exports = {}
    for app in APPS:
        found = versions(args.exports, app)
        if found:
            exports[app] = args.exports / app / str(found[-1])
    with tempfile.TemporaryDirectory() as tmp:
        files, requests = write_requests(exports, tmp)
        reference = {
            app: run_saved_model(
                path, requests[app], imports=("tensorflow_text",)
            )
            for app, path in exports.items()
        }
        needs = {app: set(requirements(path)) for app, path in exports.items()}
        reports = {
            runtime.line: measure_runtime(
                runtime, args.venvs, files, reference, needs, tmp
            )
            for runtime in RUNTIMES
        }
    registry = runtimes.registry_from_reports(
        {
            line: (r["tensorflow"], r["tensorflow_text"], r["python"])
            for line, r in reports.items()
        },
        {line: {**r["core"], **r["text"]} for line, r in reports.items()},
    )
    runtimes.write_registry(registry)
    print(f"Wrote {runtimes.REGISTRY_FILE}")
    if not exports:
        print(
            f"No exports under {args.exports}: only the op lists were "
            "measured (export the apps, then run again)."
        )
        return 0
    runtimes.load_registry.cache_clear()
    minimum = {
        app: audit_ops(path).min_serving_version
        for app, path in exports.items()
    }
    results = {
        "machine": measure.machine_info(),
        "exported_with": {
            "tensorflow": measure.installed_version("tensorflow"),
            "tensorflow_text": measure.installed_version("tensorflow-text"),
        },
        "exports": {app: str(path) for app, path in exports.items()},
        "minimum": minimum,
        "runtimes": {
            line: {
                key: r[key]
                for key in ("python", "tensorflow", "tensorflow_text")
            }
            | {"exports": r["exports"]}
            for line, r in reports.items()
        },
    }
    measure.write_results(args.out, "serving_compat", results, table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
