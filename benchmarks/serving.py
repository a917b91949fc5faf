"""Serving speed per app: the exported SavedModel against the app's own
in-process `predict` path, on the same inputs, in one run.

For each app's trained run, the SavedModel is exported (TensorFlow backend)
and timed in a fresh TensorFlow-only process, as TF Serving would run it
(`attention_suite.apps.common.serving.process.measure_latency`): p50/p99
latency at batch 1 and throughput at batch 64 (rows per second from the
median call).
The reference, in this process, is what `attn <app> predict` runs: the Keras
model with the app's Python pre- and post-processing (`Translator.translate`,
`Summarizer.summarize`, `Reader.answer`, `model.predict` on traffic
windows), timed the same way. Both get the first warm-up request's rows,
repeated to the batch size.

Usage:

```
python benchmarks/serving.py                   # trains the demo's runs first
python benchmarks/serving.py --runs DIR        # `attn demo --out DIR` runs
python benchmarks/serving.py --run qa=runs/qa  # another run for one app
```

Writes `benchmarks/results/serving.json` and `.md` (`--out` picks another
directory).
"""

import argparse
import importlib
import os
import subprocess
import sys
import tempfile
import time

os.environ["KERAS_BACKEND"] = "tensorflow"

import measure  # noqa: E402
import numpy as np  # noqa: E402

from attention_suite.apps.common.cli.tables import markdown_table  # noqa: E402

APPS = ("translation", "summarization", "qa", "traffic")
BATCH_SIZES = (1, 64)


def _rows(request, size):
    """A request's rows repeated to `size` rows."""
    return {
        k: np.take(v, np.arange(size) % len(v), axis=0)
        for k, v in request.items()
    }


def _text(values):
    return [v.decode("utf-8") if isinstance(v, bytes) else v for v in values]


def predict_path(app, run_dir):
    """The app's in-process answer function and the model's size.

    Args:
        app: one of `APPS`.
        run_dir: the app's trained run.

    Returns:
        `(answer, parameters, name)`: `answer(request)` returns the
        answers to a request dict of NumPy arrays as `predict` gives them,
        and `name` is the app's directory under `saved_models/`.
    """
    spec = _spec(app)
    model = spec.load(run_dir)
    if app == "traffic":

        def answer(request):
            return model.run.model.predict(request, verbose=0, batch_size=64)

    elif app == "qa":

        def answer(request):
            return model.answer(
                _text(request["question"]), _text(request["context"])
            )

    else:
        generate = model.translate if app == "translation" else model.summarize

        def answer(request):
            return generate(_text(request["text"]))

    return answer, model.run.model.count_params(), spec.folder


def _spec(app):
    """The `AppSpec` of an app, by its `saved_models/` folder."""
    from attention_suite.apps.cli import APPS

    return next(spec for spec in APPS if spec.folder == app)


def _times(function, seconds):
    """Call times of `function()` after one untimed call: at least 5 calls,
    then until `seconds` passed (at most 200)."""
    function()
    times, start = [], time.perf_counter()
    while len(times) < 5 or (
        len(times) < 200 and time.perf_counter() - start < seconds
    ):
        begin = time.perf_counter()
        function()
        times.append(time.perf_counter() - begin)
    return np.array(times)


def _summary(times):
    """p50/p99 milliseconds of batch-1 times, rows/s of batch-64 times."""
    p50, p99 = np.percentile(times[1], [50, 99]) * 1000
    return {
        "p50_ms": round(float(p50), 2),
        "p99_ms": round(float(p99), 2),
        "rows_per_s": round(BATCH_SIZES[1] / float(np.median(times[64])), 1),
        "calls": {size: len(t) for size, t in times.items()},
    }


def measure_app(app, run_dir, seconds, export_base):
    """Exports one app's run and times both paths.

    Args:
        app: one of `APPS`.
        run_dir: the app's trained run.
        seconds: seconds of timed calls per path and batch size.
        export_base: where to export (a temporary directory).

    Returns:
        A JSON-serializable dict of the app's figures.
    """
    from attention_suite.apps.common.serving.export import (
        read_warmup_requests,
        version_path,
    )
    from attention_suite.apps.common.serving.process import measure_latency

    answer, parameters, name = predict_path(app, run_dir)
    export = importlib.import_module(f"attention_suite.apps.{app}.serving")
    # Raises when the SavedModel disagrees with predict.
    path = export.export_and_verify(run_dir, version_path(export_base, name))
    request = read_warmup_requests(path)[0]
    served = measure_latency(
        path,
        request,
        BATCH_SIZES,
        imports=_spec(app).serving_imports,
        seconds=seconds,
    )
    local = {
        size: _times(lambda b=_rows(request, size): answer(b), seconds)
        for size in BATCH_SIZES
    }
    return {
        "parameters": parameters,
        "saved_model": _summary(served),
        "predict": _summary(local),
    }


def table(results):
    """The Markdown summary of the results."""
    rows = []
    for app, figures in results["apps"].items():
        served, local = figures["saved_model"], figures["predict"]
        rows.append(
            [
                app,
                f"{figures['parameters']:,}",
                f"{served['p50_ms']:.1f} / {served['p99_ms']:.1f}",
                f"{local['p50_ms']:.1f} / {local['p99_ms']:.1f}",
                f"{served['rows_per_s']:.0f}",
                f"{local['rows_per_s']:.0f}",
                f"{served['rows_per_s'] / local['rows_per_s']:.2f}x",
            ]
        )
    header = [
        "app",
        "parameters",
        "SavedModel batch 1 p50 / p99 ms",
        "predict batch 1 p50 / p99 ms",
        "SavedModel batch 64 rows/s",
        "predict batch 64 rows/s",
        "throughput ratio",
    ]
    machine = results["machine"]
    return (
        f"Serving on {machine['cpu']}, {machine['cores']} cores "
        f"(TensorFlow {machine['versions']['tensorflow']}); "
        f"runs: {results['runs']}.\n\n" + markdown_table(header, rows)
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--runs",
        help="a directory with <app>_run for each app (`attn demo --out`); "
        "default: train the demo into a temporary directory",
    )
    parser.add_argument(
        "--run",
        action="append",
        default=[],
        metavar="APP=DIR",
        help="the run of one app (repeatable)",
    )
    parser.add_argument(
        "--seconds",
        type=float,
        default=5.0,
        help="seconds of timed calls per path and batch size (default: 5)",
    )
    parser.add_argument(
        "--out",
        default=str(measure.RESULTS_DIR),
        help="results directory (default: benchmarks/results)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        runs = args.runs
        if runs is None:
            runs = os.path.join(tmp, "demo")
            subprocess.run(
                [sys.executable, "-m", "attention_suite.apps.cli", "demo"]
                + ["--out", runs],
                check=True,
                stdout=subprocess.DEVNULL,
            )
        run_dirs = {app: os.path.join(runs, f"{app}_run") for app in APPS}
        for item in args.run:
            app, _, run_dir = item.partition("=")
            if app not in APPS:
                parser.error(f"--run {item!r}: the app must be one of {APPS}")
            run_dirs[app] = run_dir
        results = {
            "machine": measure.machine_info(),
            "runs": "`attn demo`, trained by this run"
            if args.runs is None
            else f"--runs {os.path.basename(os.path.normpath(args.runs))}",
            "run_overrides": args.run,
            "batch_sizes": list(BATCH_SIZES),
            "apps": {
                app: measure_app(
                    app, run_dir, args.seconds, os.path.join(tmp, "models")
                )
                for app, run_dir in run_dirs.items()
            },
        }
    text = table(results)
    print(text)
    measure.write_results(args.out, "serving", results, text)


if __name__ == "__main__":
    main()
