"""The `attn` command line: `attn <command> [options]`.

The apps' commands come from their `AppSpec`s (`APPS`); `demo`, `data` and
`client` are the suite's own. Every parser sets its `handler` default: the
function called with the parsed arguments, which returns the exit code. A
command that never imports TensorFlow sets the default
`imports_tensorflow=False`; for the others, TensorFlow is imported with its
log messages hidden (unless `attn --verbose`) before the handler runs.

Run `attn --help` for the list of commands and `attn <command> --help` for
the options of one.
"""

import argparse
import sys

import attention_suite
from attention_suite.apps import client, data, demo
from attention_suite.apps.common.cli.commands import add_app_parser
from attention_suite.apps.common.cli.logs import hide_tensorflow_logs
from attention_suite.apps.common.serving.process import ServingError
from attention_suite.apps.common.training.progress import set_progress
from attention_suite.apps.qa.cli import SPEC as QA
from attention_suite.apps.summarization.cli import SPEC as SUMMARIZATION
from attention_suite.apps.traffic.cli import SPEC as TRAFFIC
from attention_suite.apps.translation.cli import SPEC as TRANSLATION

# The apps, in the order `attn --help` lists them.
APPS = (TRANSLATION, SUMMARIZATION, QA, TRAFFIC)


class _ArgumentParser(argparse.ArgumentParser):
    """An `ArgumentParser` that reports usage errors on a single line."""

    def error(self, message):
        hint = f"see '{self.prog} --help'"
        self.exit(2, f"{self.prog}: error: {message} ({hint})\n")


def build_parser():
    """Builds the parser of `attn`: the demo, `data`, every app, `client`.

    Returns:
        An `argparse.ArgumentParser`.
    """
    parser = _ArgumentParser(
        prog="attn",
        description="Attention layers and the apps built on them.",
    )
    parser.add_argument(
        "--version",
        action="version",
        version=f"attn {attention_suite.__version__}",
        help="print the version of attention-suite and exit",
    )
    parser.add_argument(
        "--verbose",
        action="store_true",
        help="show TensorFlow's log messages and warnings (hidden by default)",
    )
    parser.set_defaults(imports_tensorflow=True, progress=None)
    subparsers = parser.add_subparsers(
        dest="command", title="commands", metavar="<command>"
    )
    demo.add_parser(subparsers)
    data.add_parser(subparsers)
    for spec in APPS:
        add_app_parser(subparsers, spec)
    client.add_parser(subparsers, APPS)
    return parser


def main(argv=None):
    """Runs `attn`.

    Args:
        argv: the arguments after the program name; `None` reads `sys.argv`.

    Returns:
        The exit code: 0 on success, 2 for a usage error (including a missing
        command), otherwise what the command returns.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit:  # `--help`, or a usage error already reported.
        return exit.code
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    if args.imports_tensorflow and not args.verbose:
        hide_tensorflow_logs()
    set_progress(args.progress)
    try:
        return args.handler(args)
    except (ValueError, OSError, ServingError) as error:
        # Problems with the user's input (files, data, settings) and a
        # SavedModel that does not serve as its run predicts are reported in
        # one line; anything else keeps its traceback.
        print(f"attn {args.command}: error: {error}", file=sys.stderr)
        if args.verbose and getattr(error, "details", ""):
            print(error.details, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
