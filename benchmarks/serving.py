"""Serving speed per app: the exported SavedModel against the app's own
in-process `predict` path, on the same inputs, in one run.

For each app's trained run, the SavedModel is exported (TensorFlow backend)
and timed in a fresh TensorFlow-only process, as TF Serving would run it
(`attention_suite.apps.common.serving.process.measure_latency`): p50/p99
latency at batch 1 and throughput at batch 64 (rows per second from the
median call), the batch sizes `attn <app> serve-check` times.
The reference, in this process, is what `attn <app> predict` runs: the Keras
model with the app's Python pre- and post-processing (`Translator.translate`,
`Summarizer.summarize`, `Reader.answer`, `model.predict` on traffic
windows), timed the same way. Both get the first warm-up request's rows,
repeated to the batch size.

Each app is measured `--repeats` times (default 5), the two paths in turn
within a repeat, each SavedModel repeat in a new process. A figure is the
median of the repeats, with their lowest and highest; each repeat records
the machine's 1-minute load average when it starts.

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
from attention_suite.apps.common.serving.process import (  # noqa: E402
    LATENCY_BATCH_SIZES as BATCH_SIZES,
)

APPS = ("translation", "summarization", "qa", "traffic")
# The figures of one path that the table shows, each a median of repeats.
FIGURES = ("p50_ms", "p99_ms", "rows_per_s")


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
    p50, p99 = np.percentile(times[BATCH_SIZES[0]], [50, 99]) * 1000
    rows = BATCH_SIZES[-1] / float(np.median(times[BATCH_SIZES[-1]]))
    return {
        "p50_ms": round(float(p50), 2),
        "p99_ms": round(float(p99), 2),
        "rows_per_s": round(rows, 1),
        "calls": {size: len(t) for size, t in times.items()},
    }


def spread(values):
    """The median, lowest and highest of a list of numbers.

    Args:
        values: the numbers (one per repeat).

    Returns:
        `{"median", "min", "max"}`.
    """
    return {
        "median": float(np.median(values)),
        "min": float(np.min(values)),
        "max": float(np.max(values)),
    }


def summarize_repeats(repeats):
    """Each figure's spread across repeats, and the throughput ratio's.

    Args:
        repeats: the `measure_app` repeats, each with `load_average`,
            `saved_model` and `predict` summaries (`_summary`).

    Returns:
        `{"saved_model": {figure: spread}, "predict": {...},
        "throughput_ratio": spread, "load_average": spread}`; the ratio is
        taken within each repeat (both paths timed under the same load).
    """
    return {
        **{
            path: {
                figure: spread([r[path][figure] for r in repeats])
                for figure in FIGURES
            }
            for path in ("saved_model", "predict")
        },
        "throughput_ratio": spread(
            [
                r["saved_model"]["rows_per_s"] / r["predict"]["rows_per_s"]
                for r in repeats
            ]
        ),
        "load_average": spread([r["load_average"] for r in repeats]),
    }


def measure_app(app, run_dir, seconds, export_base, repeats):
    """Exports one app's run and times both paths, `repeats` times.

    Args:
        app: one of `APPS`.
        run_dir: the app's trained run.
        seconds: seconds of timed calls per path and batch size.
        export_base: where to export (a temporary directory).
        repeats: how many times to time both paths.

    Returns:
        A JSON-serializable dict of the app's figures: each repeat's, and
        their spread (`summarize_repeats`).
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
    records = []
    for _ in range(repeats):
        load_average = os.getloadavg()[0]
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
        records.append(
            {
                "load_average": load_average,
                "saved_model": _summary(served),
                "predict": _summary(local),
            }
        )
    return {
        "parameters": parameters,
        "repeats": records,
        **summarize_repeats(records),
    }


def _cell(figure, digits):
    """A spread as `median (min-max)`."""
    return (
        f"{figure['median']:.{digits}f} "
        f"({figure['min']:.{digits}f}-{figure['max']:.{digits}f})"
    )


def table(results):
    """The Markdown summary of the results."""
    rows = []
    for app, figures in results["apps"].items():
        served, local = figures["saved_model"], figures["predict"]
        rows.append(
            [
                app,
                f"{figures['parameters']:,}",
                _cell(served["p50_ms"], 1),
                _cell(local["p50_ms"], 1),
                _cell(served["rows_per_s"], 0),
                _cell(local["rows_per_s"], 0),
                _cell(figures["throughput_ratio"], 2),
                _cell(figures["load_average"], 1),
            ]
        )
    big = BATCH_SIZES[-1]
    header = [
        "app",
        "parameters",
        "SavedModel batch 1 p50 ms",
        "predict batch 1 p50 ms",
        f"SavedModel batch {big} rows/s",
        f"predict batch {big} rows/s",
        "throughput ratio",
        "load average",
    ]
    machine = results["machine"]
    return (
        f"Serving on {machine['cpu']}, {machine['cores']} cores "
        f"(TensorFlow {machine['versions']['tensorflow']}); "
        f"runs: {results['runs']}; each cell the median (lowest-highest) of "
        f"{results['repeats']} repeats, {results['seconds']:g} s of calls "
        "per path and batch size in each; load average: the 1-minute load "
        "average as each repeat started.\n\n" + markdown_table(header, rows)
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
        "--repeats",
        type=int,
        default=5,
        help="times each app is measured; figures are the median (default: 5)",
    )
    parser.add_argument(
        "--out",
        default=str(measure.RESULTS_DIR),
        help="results directory (default: benchmarks/results)",
    )
    args = parser.parse_args()
    if args.repeats < 1 or args.seconds <= 0:
        parser.error("--repeats and --seconds must be positive")
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
            "seconds": args.seconds,
            "repeats": args.repeats,
            "apps": {
                app: measure_app(
                    app,
                    run_dir,
                    args.seconds,
                    os.path.join(tmp, "models"),
                    args.repeats,
                )
                for app, run_dir in run_dirs.items()
            },
        }
    text = table(results)
    print(text)
    measure.write_results(args.out, "serving", results, text)


if __name__ == "__main__":
    main()
