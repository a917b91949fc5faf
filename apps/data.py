"""`attn data`: list the registered datasets and download them."""

import os
import signal
import sys

from attention_suite.apps.common.cli.commands import output_dir, timeout_seconds
from attention_suite.apps.common.data.datasets import REGISTRY, fetch
from attention_suite.apps.common.data.paths import DATA_ENV


def _list(args):
    for name, dataset in sorted(REGISTRY.items()):
        print(f"{name:12} {dataset.description} -> <data dir>/{dataset.subdir}")
        if dataset.manual:
            print(f"{'':12} not fetched: {dataset.manual}")
    return 0


def _fetch(args):
    data_dir = args.data_dir or os.environ.get(DATA_ENV)
    if not data_dir:
        raise ValueError(
            f"No data directory: pass --data-dir DIR or set {DATA_ENV}."
        )
    # A `kill` (SIGTERM) unwinds like Ctrl-C: no temporary file stays.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    directory = fetch(
        args.name,
        data_dir,
        mirror=args.mirror,
        force=args.force,
        timeout=args.timeout,
    )
    print(f"{args.name} is ready in {directory}")
    return 0


def add_parser(subparsers):
    """Adds `attn data` and its verbs.

    Args:
        subparsers: the `attn` sub-parsers action.
    """
    parser = subparsers.add_parser("data", help="list and download datasets")
    parser.set_defaults(imports_tensorflow=False)
    verbs = parser.add_subparsers(dest="verb", metavar="<verb>", required=True)
    listing = verbs.add_parser("list", help="the datasets `fetch` knows")
    listing.set_defaults(handler=_list)
    fetch = verbs.add_parser(
        "fetch", help="download a dataset and check its SHA-256 sums"
    )
    fetch.add_argument("name", help="dataset name (see `attn data list`)")
    fetch.add_argument(
        "--data-dir",
        type=output_dir,
        help="where datasets live (default $ATTN_DATA_DIR)",
    )
    fetch.add_argument(
        "--mirror",
        help="base URL replacing the source (default $ATTN_DATA_MIRROR)",
    )
    fetch.add_argument(
        "--force",
        action="store_true",
        help="download every file again, even one present with the right "
        "checksum",
    )
    fetch.add_argument(
        "--timeout",
        type=timeout_seconds,
        default=3600.0,
        help="seconds the whole fetch may take (default: 3600)",
    )
    fetch.set_defaults(handler=_fetch)
