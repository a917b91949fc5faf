"""The verbs every app's command line shares: `train`, `export`, `serve-check`.

`add_app_parser` adds an app's command from its `AppSpec`: the shared verbs
come from here, with the same flags everywhere, and call the app's Python
API; the app's `cli.py` adds its own `evaluate` and `predict`, with the
options those verbs share (the `add_*_option` functions). `output_dir` is
the `argparse` type of every `--out` directory.

Run directories, exports and NumPy are imported inside the handlers, so
building the parser (`attn --help`) imports no backend.
"""

import argparse
import functools
import json
import os
import re
import sys

from attention_suite.apps.common.serving.process import LATENCY_BATCH_SIZES
from attention_suite.apps.common.training import distribute


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


def add_app_parser(subparsers, spec):
    """Adds an app's command with every verb its `AppSpec` declares.

    `train`, `export` and `serve-check` are the same for every app; the
    app's `add_verbs` adds its `evaluate` and `predict`.

    Args:
        subparsers: the `attn` sub-parsers action.
        spec: the app's `AppSpec`.
    """
    parser = subparsers.add_parser(spec.command, help=spec.help)
    verbs = parser.add_subparsers(dest="verb", metavar="<verb>", required=True)
    add_train_verb(verbs, spec)
    spec.add_verbs(verbs)
    add_serving_verbs(verbs, spec)


def train_config(args, config_class):
    """The config a `train` runs with, from its parsed arguments.

    A new run's settings are the defaults, then `--config`, then `--set`;
    `--resume` starts from the run's own `config.json` instead
    (`attention_suite.apps.common.training.runs.resumed_config`).

    Args:
        args: the parsed `train` arguments.
        config_class: the app's config dataclass.

    Returns:
        A `config_class` instance.

    Raises:
        ValueError: a setting is invalid, or a resume would change one it
            cannot.
        NothingToResume: a resume of a finished run asks for nothing more.
    """
    from attention_suite.apps.common.training import runs
    from attention_suite.apps.common.training.config import load_config

    if not args.resume:
        return load_config(config_class, args.config, args.set)
    return runs.resumed_config(args.out, config_class, args.config, args.set)


def add_train_verb(verbs, spec):
    """Adds `train` with `--data`, `--data-dir`, `--config`, `--set`, `--out`,
    `--resume`/`--overwrite`, the distribution options and the app's own.

    Args:
        verbs: the app's sub-parsers action.
        spec: the app's `AppSpec`.
    """
    train = verbs.add_parser("train", help=spec.train_help)
    train.add_argument("--data", help=spec.data_help)
    add_data_dir_option(train)
    train.add_argument(
        "--config", help=f"JSON file of {spec.config.__name__} settings"
    )
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
    if spec.add_train_options:
        spec.add_train_options(train)
    train.set_defaults(handler=functools.partial(_train, spec=spec))


def _train(args, spec):
    """Runs `attn <app> train` through the app's `train`."""
    from attention_suite.apps.common.training.runs import (
        NothingToResume,
        check_claim,
    )

    # Refused before the settings are read and the backend loads; the app's
    # `train` checks again for Python callers.
    check_claim(args.out, args.resume, args.overwrite)
    try:
        # Settings are checked before the backend loads: a bad one fails
        # at once, in one line.
        config = train_config(args, spec.config)
    except NothingToResume as done:
        print(done)
        return 0
    recorded = {}
    if args.resume:
        with open(os.path.join(args.out, "run.json")) as f:
            recorded = json.load(f)
    # A resumed run trains on the data it recorded (traffic: its speeds).
    data = (
        args.data
        or recorded.get("data")
        or recorded.get("speeds_path")
        or config.dataset
    )
    options = spec.train_options(args, recorded) if spec.train_options else {}
    run = spec.train(
        config,
        data,
        args.out,
        args.data_dir,
        resume=args.resume,
        overwrite=args.overwrite,
        distribution=args.distribution,
        devices=args.devices,
        precision=args.precision,
        model_devices=args.model_devices,
        **options,
    )
    print(trained_line(run, data))
    return 0


def trained_line(run, data):
    """The line `train` ends with: what was trained, on what, how long.

    Args:
        run: the `Run`.
        data: the data it trained on.

    Returns:
        A string.
    """
    info = run.info
    epochs = (
        f" for {info['epochs_run']} epoch(s)" if "epochs_run" in info else ""
    )
    baseline = (
        f" (GRU baseline {info['gru_train_seconds']:.0f} s)"
        if "gru_train_seconds" in info
        else ""
    )
    return (
        f"Trained {run.config.model} on {data}{epochs} in "
        f"{info['train_seconds']:.0f} s{baseline}; run saved to {run.path}"
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
    `attention_suite.apps.common.training.progress.set_progress()`.

    Args:
        parser: the verb's parser.
    """
    parser.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        help="show a progress bar with an ETA on stderr (default: only when "
        "stderr is a terminal)",
    )


def add_serving_verbs(verbs, spec):
    """Adds `export` and `serve-check`.

    `export` (`--run`, `--model-version`, `--base`, `--overwrite`, `--keep`)
    writes `saved_models/<app>/<N>/` (by default the next free version)
    with the app's `export`, which fails unless a fresh TensorFlow process
    answers like `predict`; `serve-check` (`--model`) replays the version's
    warm-up requests in a fresh process, prints the answers, then the
    p50/p99 latency at each of `--batch-sizes`.

    Args:
        verbs: the app's sub-parsers action.
        spec: the app's `AppSpec`.
    """
    app = spec.folder
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
    export.set_defaults(handler=functools.partial(_export, spec=spec))
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
        default=list(LATENCY_BATCH_SIZES),
        metavar="B",
        help="batch sizes to time after the warm-up (default: "
        + " ".join(map(str, LATENCY_BATCH_SIZES))
        + ")",
    )
    check.add_argument(
        "--seconds",
        type=float,
        default=5.0,
        help="seconds of timed calls per batch size (default: 5)",
    )
    check.set_defaults(handler=functools.partial(_serve_check, spec=spec))


def _export(args, spec):
    from attention_suite.apps.common.serving.export import (
        MODELS_CONFIG,
        check_keep,
        keep_newest,
    )

    if args.keep is not None:
        check_keep(args.keep)
    path = spec.export(
        args.run,
        args.base,
        version=args.model_version,
        overwrite=args.overwrite,
    )
    process = " + ".join(("TensorFlow", *spec.serving_imports))
    print(
        f"Exported to {path}; a fresh {process} process gives the same "
        f"{spec.noun} as `attn {spec.command} predict`. Serving notes: "
        f"{os.path.join(path, 'SERVING.md')}; TF Serving config: "
        f"{os.path.join(args.base, MODELS_CONFIG)}"
    )
    if args.keep:
        removed = keep_newest(args.base, spec.folder, args.keep)
        if removed:
            print(f"Removed old versions {removed} (--keep {args.keep}).")
    return 0


def _serve_check(args, spec):
    import numpy as np

    from attention_suite.apps.common.serving.export import resolve_version
    from attention_suite.apps.common.serving.verify import serve_check

    if min(args.batch_sizes) < 1 or args.seconds <= 0:
        raise ValueError("--batch-sizes and --seconds must be positive.")
    model = resolve_version(args.model, spec.folder)
    if model != args.model:
        print(f"Checking {model}, the newest version (TF Serving's default).")
    answers, latency = serve_check(
        model, spec.serving_imports, args.batch_sizes, args.seconds
    )
    for i, outputs in enumerate(answers):
        for line in spec.describe(outputs):
            print(f"warm-up request {i}: {line}")
    print(f"{model} serves its warm-up requests in a fresh process.")
    for size, seconds in latency.items():
        p50, p99 = np.percentile(seconds, [50, 99]) * 1000
        print(
            f"latency at batch {size}: p50 {p50:.1f} ms, p99 {p99:.1f} ms "
            f"({len(seconds)} calls after warm-up)"
        )
    return 0


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


# One word with a file extension: what a file name given as text looks like.
_FILE_NAME = re.compile(r"[\w./~-]+\.[A-Za-z0-9]{1,5}")


def note_file_names(texts, file_option):
    """Notes on stderr each literal text that looks like a file name.

    The text is still used as it is: text is text, files come after the
    file option. The note says so, for a user who meant the file.

    Args:
        texts: the texts given as arguments.
        file_option: the option that reads a file (e.g. `"--file"`).
    """
    for text in texts:
        if _FILE_NAME.fullmatch(text) or os.path.isfile(text):
            print(
                f"note: {text!r} is read as text, not as a file; "
                f"to read the file, give {file_option} {text}",
                file=sys.stderr,
            )


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


def request_strings(items):
    """A NumPy string array of command-line inputs (text or a file's bytes).

    Args:
        items: strings or bytes.

    Returns:
        A NumPy object array of bytes, as a request holds it.
    """
    import numpy as np

    return np.array(
        [i if isinstance(i, bytes) else i.encode("utf-8") for i in items],
        dtype=object,
    )


def text_client(signatures, lines, help, file_help):
    """`attn client` for an app whose signatures map `text` to a string.

    `--signature` picks `serving_default` or the app's explaining signature
    (`signatures.details`), whose answers come with each output piece's
    attention over the source pieces: printed as a table, or drawn with
    `--plot PNG` (which asks for that signature) as `predict --plot` does.

    Args:
        signatures: the app's `TextSignatures`.
        lines: whether a `--file` holds one input a line (sentences), or
            one input (a document).
        help: what the texts given as arguments are.
        file_help: what one `--file` holds.

    Returns:
        `(add_arguments, ask)`: the `AppSpec`'s `add_client_arguments` and
        `ask`.
    """

    def add_arguments(parser):
        add_file_option(parser, file_help)
        parser.add_argument(
            "--signature",
            choices=signatures.names,
            default="serving_default",
            help="the signature to call; "
            f"{signatures.details} also prints each answer's attention "
            "(default: %(default)s)",
        )
        parser.add_argument(
            "--plot",
            metavar="PNG",
            help=f"asks {signatures.details} and draws each answer's "
            "attention (several: PNG-1, PNG-2, ...)",
        )
        parser.add_argument("input", nargs="*", help=help)

    def ask(server, args):
        from attention_suite.apps.common.serving.pipeline import explained

        files = (
            file_lines(args.file)
            if lines
            else [read_file(path) for path in args.file]
        )
        if not args.input + files:
            raise ValueError("Nothing to send: give texts or --file PATH.")
        inputs = {"text": request_strings(args.input + files)}
        if not args.plot and args.signature == "serving_default":
            outputs = server.predict(inputs, {signatures.output: str})
            return [
                t.decode("utf-8", "replace") for t in outputs[signatures.output]
            ]
        kinds = {name: str for name in (signatures.output, *signatures.pieces)}
        kinds.update(
            {name: float for name in ("attention", *signatures.per_piece)}
        )
        served = server.predict(inputs, kinds, signature=signatures.details)
        answers = [
            explained(served, signatures, row)
            for row in range(len(inputs["text"]))
        ]
        printed = [answer[signatures.output] for answer in answers]
        figures = [
            (
                answer["attention"],
                answer[signatures.pieces[0]],
                answer[signatures.pieces[1]],
                answer[signatures.output],
            )
            for answer in answers
        ]
        if not args.plot:
            from attention_suite.apps.common.cli.plotting import (
                format_attention,
            )

            return [
                line
                for text, (weights, source, output, _) in zip(printed, figures)
                for line in (
                    text,
                    format_attention(weights, source, output)
                    if output
                    else "(no output pieces)",
                    "",
                )
            ][:-1]
        from attention_suite.apps.common.cli.plotting import (
            save_attention_plots,
        )

        paths = save_attention_plots(args.plot, figures)
        return printed + [f"Attention written to {', '.join(paths)}"]

    return add_arguments, ask
