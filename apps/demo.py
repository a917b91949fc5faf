"""`attn demo`: a short end-to-end run of each part, on small embedded data.

The demo runs on a CPU in a few minutes and downloads nothing: its data
is embedded or generated. It is a list of steps, `STEPS`; each is a name
and a function that takes the output directory, prints what it shows and
writes its files there. The `layers` step lives in `layers_demo`, each
app's step in the app's `demo` module.

The steps import Keras inside their functions: loading a backend takes
seconds, and `attn --help` should not wait for it.
"""

import os

from attention_suite.apps import layers_demo
from attention_suite.apps.common.cli.commands import output_dir
from attention_suite.apps.qa import demo as qa_demo
from attention_suite.apps.summarization import demo as summarization_demo
from attention_suite.apps.traffic import demo as traffic_demo
from attention_suite.apps.translation import demo as translation_demo

# (name, function of the output directory), in the order they run.
STEPS = (
    ("layers", layers_demo.step),
    ("translation", translation_demo.step),
    ("summarization", summarization_demo.step),
    ("qa", qa_demo.step),
    ("traffic", traffic_demo.step),
)


def run(args):
    """Runs every step of `STEPS`.

    Args:
        args: the parsed arguments of `attn demo`.

    Returns:
        The exit code, 0.
    """
    os.makedirs(args.out, exist_ok=True)
    for name, step in STEPS:
        print(f"== {name} ==")
        step(args.out)
    return 0


def add_parser(subparsers):
    """Adds the `demo` command to the `attn` sub-command parsers.

    Args:
        subparsers: what `ArgumentParser.add_subparsers()` returned.
    """
    parser = subparsers.add_parser(
        "demo",
        help="a short end-to-end run on small embedded data (CPU, 3-5 min)",
        description="Runs each part end to end on small embedded data: on a "
        "CPU, in a few minutes, with nothing to download.",
    )
    parser.add_argument(
        "--out",
        type=output_dir,
        default=os.path.join("runs", "demo"),
        metavar="DIR",
        help="where to write the demo's files (default: %(default)s)",
    )
    parser.set_defaults(handler=run)
