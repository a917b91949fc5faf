"""The verbs every app's command line shares: `train`, `export`, `serve-check`.

Each app's `cli.py` adds its own `evaluate` and `predict` and gets the rest,
with the same flags everywhere, from here, as well as the options those verbs
share (the `add_*_option` functions); `output_dir` is the `argparse` type of
every `--out` directory.
"""

import argparse
import functools
import importlib
import json
import os
import sys

from attention_suite.apps.common import distribute


def output_dir(path):
    """An `argparse` type for a directory that a command will write into.

    Checks, without creating anything, that the directory exists and is
    writable, or that it can be created: its nearest existing ancestor is a
    writable directory. A bad path then fails as a usage error before any
    work is done; the command creates the directory when it runs.

    Args:
        path: the directory given on the command line.

    Returns:
        `path`.

    Raises:
        argparse.ArgumentTypeError: the directory cannot be created or
            written to; argparse reports it as a usage error.

    Example:

    ```python
    parser.add_argument("--out", type=output_dir, default="runs/demo")
    ```
    """
    existing = os.path.abspath(path)
    while not os.path.lexists(existing):
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        raise argparse.ArgumentTypeError(
            f"cannot write to {path!r}: {existing!r} is not a directory"
        )
    if not os.access(existing, os.W_OK | os.X_OK):
        raise argparse.ArgumentTypeError(
            f"cannot write to {path!r}: {existing!r} is not writable"
        )
    return path


def positive_int(text):
    """An `argparse` type for an integer of at least 1.

    Args:
        text: the value given on the command line.

    Returns:
        The integer.

    Raises:
        argparse.ArgumentTypeError: `text` is not an integer of at least 1.
    """
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(
            f"expected an integer of at least 1, received {text!r}"
        )
    return value


def _bounded(highest, unit):
    """An `argparse` type for a number in `(0, highest]` of `unit`.

    Args:
        highest: the largest value taken.
        unit: what the number counts, for the message.

    Returns:
        The type: a function of the text returning a float.
    """

    def parse(text):
        try:
            value = float(text)
        except ValueError:
            value = float("nan")
        if not 0 < value <= highest:
            raise argparse.ArgumentTypeError(
                f"expected {unit} above 0 and at most {highest:g}, "
                f"received {text!r}"
            )
        return value

    return parse


# `--timeout` (at most a day) and `--max-response-mb` (gRPC's message limit
# is an int32): finite, positive and bounded, so NaN, infinity and 1e308 are
# refused.
timeout_seconds = _bounded(86_400, "seconds")
megabytes = _bounded(2047, "MB")


def add_app(subparsers, name, help):
    """Adds an app's command and returns the action its verbs go into.

    Args:
        subparsers: the `attn` sub-parsers action.
        name: the command (e.g. `"translate"`).
        help: its one-line help.

    Returns:
        The app's sub-parsers action.
    """
    parser = subparsers.add_parser(name, help=help)
    return parser.add_subparsers(dest="verb", metavar="<verb>", required=True)


def train_handler(package, config_name, sharding=None):
    """The usual `train` handler: read the config, train, print a summary.

    The app's modules are imported when the verb runs, so `attn --help`
    stays fast.

    Args:
        package: the app's package (e.g. `"attention_suite.apps.qa"`),
            with `config` and `train` modules; `train.train(config, data,
            run_dir, data_dir)` returns the run info with `epochs_run` and
            `train_seconds`.
        config_name: the config class in `<package>.config`.
        sharding: the app's model-parallel `distribute.Sharding`, whose
            settings are checked against the mesh before anything is
            written (`None`: the app does not offer model-parallel).

    Returns:
        The handler.
    """

    def handler(args):
        config_class = getattr(
            importlib.import_module(f"{package}.config"), config_name
        )
        # Settings are checked before the backend loads: a bad one fails
        # at once, in one line.
        config = train_config(args, config_class)
        distribute.check_split(config, sharding)
        train = importlib.import_module(f"{package}.train")
        data = args.data or config.dataset
        info = train.train(config, data, args.out, args.data_dir)
        print(
            f"Trained {config.model} on {data} for {info['epochs_run']} "
            f"epoch(s) in {info['train_seconds']:.0f} s; "
            f"run saved to {args.out}"
        )
        return 0

    return handler


def train_config(args, config_class):
    """The config a `train` runs with, from its parsed arguments.

    A new run's settings are the defaults, then `--config`, then `--set`;
    `--resume` starts from the run's own `config.json` instead
    (`attention_suite.apps.common.runs.resumed_config`), and a missing
    `--data` becomes the data the run recorded.

    Args:
        args: the parsed `train` arguments.
        config_class: the app's config dataclass.

    Returns:
        A `config_class` instance.

    Raises:
        ValueError: a setting is invalid, or a resume would change one it
            cannot.
    """
    from attention_suite.apps.common import runs
    from attention_suite.apps.common.config import load_config

    if not args.resume:
        return load_config(config_class, args.config, args.set)
    config = runs.resumed_config(args.out, config_class, args.config, args.set)
    if args.data is None:
        with open(os.path.join(args.out, "run.json")) as f:
            info = json.load(f)
        args.data = info.get("data") or info.get("speeds_path")
    return config


def add_train_verb(
    verbs,
    help,
    data_help,
    package,
    config_name,
    handler=None,
    sharding=None,
):
    """Adds `train` with `--data`, `--data-dir`, `--config`, `--set`, `--out`.

    Args:
        verbs: the app's sub-parsers action.
        help: the verb's one-line help.
        data_help: help of `--data`.
        package: the app's package (e.g. `"attention_suite.apps.qa"`).
        config_name: the app's config class name.
        handler: the function run with the parsed arguments (default:
            `train_handler(package, config_name, sharding)`, which checks
            the model-parallel split; a handler of its own is for an app
            without `sharding`).
        sharding: the weights `--distribution model-parallel` splits (a
            `distribute.Sharding`; `None`: the app does not offer it).

    Returns:
        The `train` parser, for app-specific flags.
    """
    train = verbs.add_parser("train", help=help)
    train.add_argument("--data", help=data_help)
    add_data_dir_option(train)
    train.add_argument("--config", help=f"JSON file of {config_name} settings")
    train.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override one setting (repeatable)",
    )
    train.add_argument(
        "--out",
        required=True,
        type=output_dir,
        help="run directory to write (created if missing; one that holds "
        "a run needs --resume or --overwrite)",
    )
    existing = train.add_mutually_exclusive_group()
    existing.add_argument(
        "--resume",
        action="store_true",
        help="continue the run in --out with its own config (a --set may "
        "only raise epochs or max_minutes)",
    )
    existing.add_argument(
        "--overwrite",
        action="store_true",
        help="replace the run in --out with a new one (the old run is "
        "deleted once the new one's first checkpoint lands)",
    )
    distribute.add_options(train)
    train.set_defaults(
        handler=_scaled(
            handler or train_handler(package, config_name, sharding),
            sharding,
        )
    )
    return train


def _scaled(handler, sharding):
    """A `train` handler run under `--distribution` and `--precision`.

    The run directory is claimed first (`runs.claimed`: a run in `--out`
    needs `--resume` or `--overwrite`). The setting is added to the run's
    `run.json` once training ends, which marks the run finished.

    Args:
        handler: the app's `train` handler.
        sharding: the app's model-parallel sharding rule, or `None`.

    Returns:
        The wrapped handler.
    """

    @functools.wraps(handler)
    def scaled(args):
        from attention_suite.apps.common.runs import NothingToResume, claimed

        distribute.prepare(args, sharding)
        try:
            with claimed(args.out, args.resume, args.overwrite):
                with distribute.training_scope(
                    args.distribution,
                    args.devices,
                    args.precision,
                    sharding,
                    args.model_devices,
                ) as record:
                    code = handler(args)
                _record(args.out, args.command, record)
        except NothingToResume as done:
            print(done)
            return 0
        return code

    return scaled


def _record(run_dir, command, record):
    """Adds the app's command and the training's device and precision
    setting to `run.json`."""
    from attention_suite.apps.common.atomic import atomic_write_json

    path = os.path.join(run_dir, "run.json")
    with open(path) as f:
        info = json.load(f)
    atomic_write_json(
        path, {**info, "app": command, "training_setting": record}
    )


def add_run_option(parser):
    """Adds `--run`, the trained run a verb reads.

    Args:
        parser: the verb's parser.
    """
    parser.add_argument(
        "--run",
        required=True,
        help="run directory written by `train --out`",
    )


def add_data_dir_option(parser):
    """Adds `--data-dir`, where the named datasets live.

    Args:
        parser: the verb's parser.
    """
    parser.add_argument(
        "--data-dir",
        help="directory holding the datasets (default $ATTN_DATA_DIR)",
    )


def add_beam_size_option(parser):
    """Adds `--beam-size`, the beam width of a text generator's search.

    Args:
        parser: the verb's parser.
    """
    parser.add_argument(
        "--beam-size",
        type=positive_int,
        help="beam width, 1 for greedy search (default: the run's)",
    )


def add_split_option(parser):
    """Adds `--split`, the held-out split `evaluate` scores.

    Args:
        parser: the verb's parser.
    """
    parser.add_argument(
        "--split",
        default="test",
        choices=("val", "test"),
        help="held-out split to score (default: test)",
    )


def add_progress_option(parser):
    """Adds `--progress` and `--no-progress`, for verbs that take a while.

    `main()` hands the choice to
    `attention_suite.apps.common.progress.set_progress()`.

    Args:
        parser: the verb's parser.
    """
    parser.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        help="show a progress bar with an ETA on stderr (default: only when "
        "stderr is a terminal)",
    )


def add_serving_verbs(verbs, command, app, export_module, noun, describe):
    """Adds `export` and `serve-check`.

    `export` (`--run`, `--model-version`, `--base`, `--overwrite`, `--keep`)
    writes `saved_models/<app>/<N>/` (by default the next free version) with
    `<export_module>.export_and_verify`, and fails unless a fresh TensorFlow
    process answers like `predict`; `serve-check` (`--model`) replays the
    version's warm-up requests in a fresh process, prints the answers, then
    the p50/p99 latency at each of `--batch-sizes`.

    Args:
        verbs: the app's sub-parsers action.
        command: the app's command (e.g. `"translate"`).
        app: the app's directory under `saved_models/`.
        export_module: the module with `export_and_verify(run, path,
            overwrite)` returning `(path, mismatches)`, and `IMPORTS`, the
            modules the serving process needs besides TensorFlow.
        noun: what the app produces, plural (e.g. `"translations"`).
        describe: maps one warm-up response (a dict of NumPy outputs) to
            the lines `serve-check` prints for it.
    """
    export = verbs.add_parser(
        "export", help=f"write saved_models/{app}/<version>/"
    )
    add_run_option(export)
    export.add_argument(
        "--model-version",
        type=int,
        metavar="N",
        help="model version to write, a positive integer (the directory "
        "name TF Serving loads; default: one above the newest)",
    )
    export.add_argument(
        "--base",
        default="saved_models",
        help="model base directory holding <app>/<version>/ "
        "(default: saved_models)",
    )
    export.add_argument(
        "--overwrite",
        action="store_true",
        help="replace the version if it exists (default: fail)",
    )
    export.add_argument(
        "--keep",
        type=int,
        metavar="K",
        help="then remove all but the newest K complete versions",
    )
    export.set_defaults(
        handler=functools.partial(
            _export,
            command=command,
            app=app,
            export_module=export_module,
            noun=noun,
        )
    )
    check = verbs.add_parser(
        "serve-check",
        help="serve the warm-up requests in a fresh TF-only process",
    )
    check.add_argument(
        "--model",
        required=True,
        help="exported version directory (saved_models/<app>/<version>), "
        "or the model base path (saved_models/<app>): its newest version",
    )
    check.add_argument(
        "--batch-sizes",
        type=int,
        nargs="+",
        default=[1, 32],
        metavar="B",
        help="batch sizes to time after the warm-up (default: 1 32)",
    )
    check.add_argument(
        "--seconds",
        type=float,
        default=5.0,
        help="seconds of timed calls per batch size (default: 5)",
    )
    check.set_defaults(
        handler=functools.partial(
            _serve_check,
            app=app,
            describe=describe,
            export_module=export_module,
        )
    )


def _export(args, command, app, export_module, noun):
    code = export_elsewhere(args, command)
    if code is not None:
        return code
    from attention_suite.apps.common.export import (
        check_keep,
        keep_newest,
        reserved_version,
        update_models_config,
    )
    from attention_suite.apps.common.verify import ServingError

    if args.keep is not None:
        check_keep(args.keep)
    module = importlib.import_module(export_module)
    with reserved_version(args.base, app, args.model_version) as path:
        path, mismatches = module.export_and_verify(
            args.run, path, overwrite=args.overwrite
        )
    if mismatches:
        raise ServingError(
            "The SavedModel, served in a fresh process, gives other "
            f"{noun} than `attn {command} predict`: {mismatches[:3]}"
        )
    config = update_models_config(args.base, app)
    process = " + ".join(("TensorFlow",) + tuple(module.IMPORTS))
    print(
        f"Exported to {path}; a fresh {process} process gives the same "
        f"{noun} as `attn {command} predict`. Serving notes: "
        f"{os.path.join(path, 'SERVING.md')}; TF Serving config: {config}"
    )
    if args.keep:
        removed = keep_newest(args.base, app, args.keep)
        if removed:
            print(f"Removed old versions {removed} (--keep {args.keep}).")
    return 0


def _serve_check(args, app, describe, export_module):
    import numpy as np

    from attention_suite.apps.common.export import resolve_version
    from attention_suite.apps.common.verify import serve_check

    if min(args.batch_sizes) < 1 or args.seconds <= 0:
        raise ValueError("--batch-sizes and --seconds must be positive.")
    model = resolve_version(args.model, app)
    if model != args.model:
        print(f"Checking {model}, the newest version (TF Serving's default).")
    answers, latency = serve_check(
        model,
        importlib.import_module(export_module).IMPORTS,
        args.batch_sizes,
        args.seconds,
    )
    for i, outputs in enumerate(answers):
        for line in describe(outputs):
            print(f"warm-up request {i}: {line}")
    print(f"{model} serves its warm-up requests in a fresh process.")
    for size, seconds in latency.items():
        p50, p99 = np.percentile(seconds, [50, 99]) * 1000
        print(
            f"latency at batch {size}: p50 {p50:.1f} ms, p99 {p99:.1f} ms "
            f"({len(seconds)} calls after warm-up)"
        )
    return 0


def export_elsewhere(args, command):
    """Re-runs an `export` under TensorFlow when another backend is active.

    Exports are plain TensorFlow graphs whatever backend trained the run: the
    run's `.keras` weights are reloaded under TensorFlow in a subprocess.

    Args:
        args: the parsed `export` arguments.
        command: the app's command name (e.g. `"translate"`).

    Returns:
        The subprocess' exit code, or `None` when the backend is already
        TensorFlow and the caller should export itself.
    """
    import keras

    from attention_suite.apps.common.export import reexec_under_tensorflow

    if keras.backend.backend() == "tensorflow":
        return None
    return reexec_under_tensorflow(
        "attention_suite.apps.cli",
        (["--verbose"] if args.verbose else [])
        + [command, "export", "--run", args.run, "--base", args.base]
        + (
            ["--model-version", str(args.model_version)]
            if args.model_version is not None
            else []
        )
        + (["--keep", str(args.keep)] if args.keep is not None else [])
        + (["--overwrite"] if args.overwrite else []),
    )


def add_file_option(parser, help, flag="--file"):
    """Adds a repeatable option naming input files (`-` for stdin).

    Text given as an argument is always text and a file is only read
    through this option, so a mistyped file name is never taken for the
    text itself.

    Args:
        parser: the verb's parser.
        help: what one file holds.
        flag: the option's name.
    """
    parser.add_argument(
        flag,
        action="append",
        default=[],
        metavar="PATH",
        help=f"{help} (repeatable; - reads stdin)",
    )


def read_file(path):
    """The bytes of an input file named on the command line.

    Args:
        path: the file, or `-` for standard input.

    Returns:
        `bytes`.

    Raises:
        FileNotFoundError: the file does not exist (one line).
    """
    if path == "-":
        return sys.stdin.buffer.read()
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"{path} does not exist or is not a file (text goes as an "
            "argument, files after the file option)."
        )
    with open(path, "rb") as f:
        return f.read()


def file_lines(paths):
    """The lines of input files (`-` for stdin), without line ends.

    Args:
        paths: the files named on the command line.

    Returns:
        A list of strings.
    """
    return [
        line
        for path in paths
        for line in read_file(path).decode("utf-8", "replace").splitlines()
    ]


def describe_strings(output):
    """A `serve-check` describer that prints one string output per line.

    Args:
        output: the `serving_default` string output (e.g. `"translation"`).

    Returns:
        A function of one response's outputs returning its lines.
    """

    def describe(outputs):
        return [text.decode("utf-8") for text in outputs[output]]

    return describe
