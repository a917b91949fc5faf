"""`attn client <app>`: ask a TF Serving server for an app's answers.

Over REST (`--url http://HOST:8501`) or gRPC (`--grpc HOST:8500`), the client
builds the `serving_default` request of the app from the command line's
inputs and prints the answers as `attn <app> predict` does
(`attention_suite.apps.common.serving.client` holds the transports). The app
is named by its `saved_models/` folder or by its command (`attn client
translation` or `attn client translate`). Each exchange has one deadline
(`--timeout`) and its answer a size cap (`--max-response-mb`); a request
carries at most `--max-batch` inputs, more go in several requests; a failed
exchange is one line on standard error and exit code 1.

    attn client translation --url http://localhost:8501 "Ein Hund rennt."
    attn client qa --grpc localhost:8500 --context-file article.txt "Who?"
    attn client traffic --url http://localhost:8501 last_hour.csv

The transports (and `requests` or gRPC) are imported when a request is sent, so
`attn --help` stays fast.
"""

import functools

from attention_suite.apps.common.cli import commands
from attention_suite.apps.common.cli.logs import hide_tensorflow_logs


def _client(args, spec):
    from attention_suite.apps.common.serving.client import (
        GrpcServer,
        RestServer,
    )

    limits = {
        "timeout": args.timeout,
        "max_bytes": int(args.max_response_mb * (1 << 20)),
        "max_batch": args.max_batch,
    }
    if args.url:
        server = RestServer(args.url, args.model, args.model_version, **limits)
    else:
        if not args.verbose:
            hide_tensorflow_logs()
        server = GrpcServer(args.grpc, args.model, args.model_version, **limits)
    for line in spec.ask(server, args):
        print(line)
    return 0


def add_parser(subparsers, specs):
    """Adds `attn client <app>` for each app.

    Args:
        subparsers: the `attn` sub-parsers action.
        specs: the apps' `AppSpec`s.
    """
    parser = subparsers.add_parser(
        "client", help="ask a TF Serving server for an app's answers"
    )
    apps = parser.add_subparsers(dest="app", metavar="<app>", required=True)
    for spec in specs:
        folder, *aliases = spec.names
        client = apps.add_parser(
            folder, aliases=aliases, help=f"ask the {folder} model"
        )
        server = client.add_mutually_exclusive_group(required=True)
        server.add_argument(
            "--url", help="TF Serving REST address, http://HOST:8501"
        )
        server.add_argument("--grpc", help="TF Serving gRPC address, HOST:8500")
        client.add_argument(
            "--model",
            default=folder,
            help=f"the model name on the server (default: {folder})",
        )
        client.add_argument(
            "--model-version",
            type=int,
            metavar="N",
            help="the version to ask (default: the newest the server has)",
        )
        client.add_argument(
            "--timeout",
            type=commands.timeout_seconds,
            default=30.0,
            help="seconds one exchange may take in all: connecting, "
            "headers and answer (default: 30)",
        )
        client.add_argument(
            "--max-response-mb",
            type=commands.megabytes,
            default=64.0,
            metavar="MB",
            help="the largest answer read, in MB (default: 64)",
        )
        client.add_argument(
            "--max-batch",
            type=commands.positive_int,
            default=64,
            metavar="N",
            help="the most inputs one request carries; more are sent as "
            "several requests (default: 64, the max_batch_size of "
            "saved_models/batching.config)",
        )
        spec.add_client_arguments(client)
        client.set_defaults(
            handler=functools.partial(_client, spec=spec),
            imports_tensorflow=False,
        )
