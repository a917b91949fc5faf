"""`attn traffic <verb>`: the app's own verbs and its `AppSpec`.

`train`, `export` and `serve-check` come from
`attention_suite.apps.common.cli.commands`; this module adds the reading
options of `train`, then `evaluate` and `predict`. Every verb calls the
app's Python API (`attention_suite.apps.traffic.api`).

The plotting and file writing are imported when `predict` runs.
"""

import sys

from attention_suite.apps.common.cli import commands
from attention_suite.apps.common.cli.appspec import AppSpec
from attention_suite.apps.traffic import api

# The `train` options that say how to read a speed file.
READ_OPTIONS = ("start", "freq", "feature", "timestamp_column")


def _train_options(args, recorded):
    """The `train` keyword arguments of the reading options; a resumed run
    reads its data as it recorded, unless an option says otherwise."""
    options = {name: getattr(args, name) for name in READ_OPTIONS}
    for name, value in recorded.get("read_options", {}).items():
        if options.get(name) is None:
            options[name] = value
    return {
        "adjacency": args.adjacency or recorded.get("adjacency_path"),
        "read_options": options,
    }


def _evaluate(args):
    report = api.evaluate(args.run, args.protocol, args.split)
    print(report.markdown, end="")
    print(f"Written to {report.path}")
    return 0


def _predict(args):
    from attention_suite.apps.common.cli.plotting import save_figure
    from attention_suite.apps.common.data.atomic import atomic_write_bytes

    model = api.load(args.run)
    history = api.read_speeds(
        args.history, start=args.start, freq=model.run.info["freq"]
    )
    forecast = model.forecast(history)
    text = forecast.to_csv(float_format="%.3f")
    if args.out:
        atomic_write_bytes(args.out, text.encode())
        print(f"Forecast written to {args.out}")
    else:
        sys.stdout.write(text)
    if args.plot:
        figure = model.plot(
            history.iloc[-4 * model.config.input_steps :], forecast, args.plot
        )
        save_figure(figure, args.plot_out)
        print(f"Plot written to {args.plot_out}")
    return 0


def _describe(outputs):
    return [", ".join(f"{k} {tuple(v.shape)}" for k, v in outputs.items())]


def _add_train_options(train):
    """Adds `train --adjacency` and the reading options of a speed file."""
    train.add_argument(
        "--adjacency",
        help="sensor graph (CSV matrix, DCRNN pickle or distances)",
    )
    train.add_argument(
        "--start",
        help="time of the first row of a file without timestamps "
        "(T-GCN CSV, .npz), e.g. 2018-01-01",
    )
    train.add_argument(
        "--freq",
        help="step between rows of a file without timestamps, e.g. 15min "
        "(a file with timestamps must agree)",
    )
    train.add_argument(
        "--feature",
        type=int,
        help="feature of a .npz series to forecast (PEMS: 0 flow, "
        "1 occupancy, 2 speed; default 0)",
    )
    train.add_argument(
        "--timestamp-column",
        help="the CSV column holding the timestamps (default: the first "
        "column, if it holds dates)",
    )


def add_verbs(verbs):
    """Adds `attn traffic evaluate` and `predict`.

    Args:
        verbs: the app's sub-parsers action.
    """
    evaluate = verbs.add_parser(
        "evaluate",
        help="errors on the test split at each horizon, with baselines",
    )
    commands.add_run_option(evaluate)
    commands.add_split_option(evaluate)
    evaluate.add_argument(
        "--protocol",
        choices=("default", "tgcn"),
        default="default",
        help="default: the run's test split, masked MAE/RMSE/MAPE at each "
        "horizon; tgcn: the T-GCN papers' (last 20 %%, errors pooled up to "
        "each horizon, unmasked, with their accuracy and HA)",
    )
    evaluate.set_defaults(handler=_evaluate)

    predict = verbs.add_parser(
        "predict", help="forecast the next steps of a history file"
    )
    commands.add_run_option(predict)
    predict.add_argument(
        "--history",
        required=True,
        help="recent readings (any supported format); the last steps are used",
    )
    predict.add_argument(
        "--start",
        help="time of the history's first row, if the file has no "
        "timestamps (its step is the run's)",
    )
    predict.add_argument("--out", help="CSV to write (default: print)")
    predict.add_argument(
        "--plot", nargs="+", metavar="SENSOR", help="sensors to draw"
    )
    predict.add_argument(
        "--plot-out",
        default="forecast.png",
        help="PNG to write the plot of --plot to (default: forecast.png)",
    )
    predict.set_defaults(handler=_predict)


def _add_client_arguments(parser):
    parser.add_argument(
        "input",
        nargs=1,
        metavar="FILE",
        help="a file of recent readings (CSV, HDF5, NPZ): the last steps "
        "the model takes are sent",
    )
    parser.add_argument(
        "--start",
        help="time of the first row, if the file has no timestamps",
    )
    parser.add_argument(
        "--freq",
        help="step between rows, if the file has no timestamps (e.g. 5min)",
    )
    parser.add_argument(
        "--timestamp-column", help="the CSV column holding the timestamps"
    )


def _ask(server, args):
    from attention_suite.apps.traffic import infer, readers

    series = readers.read_speeds(
        args.input[0],
        start=args.start,
        freq=args.freq,
        timestamp_column=args.timestamp_column,
    )
    _, steps, sensors = server.input_shapes()["history"]
    if series.shape[1] != sensors:
        raise ValueError(
            f"{args.input[0]} has {series.shape[1]} sensor columns; the model "
            f"takes history [batch, {steps}, {sensors}] (batch, steps, "
            "sensors)."
        )
    names = [str(c) for c in series.columns]
    # Blank cells go as NaN; whether a zero is missing is the model's rule.
    inputs, last = infer.history_inputs(series, names, steps, missing="nan")
    forecast = server.predict(inputs, {"forecast": float})["forecast"][0]
    table = infer.forecast_table(forecast, names, last, series.index.freq)
    return table.to_csv(float_format="%.3f").splitlines()


SPEC = AppSpec(
    command=api.COMMAND,
    folder=api.FOLDER,
    help="traffic-flow forecasting (Los-loop, METR-LA, ...)",
    config=api.TrafficConfig,
    train=api.train,
    evaluate=api.evaluate,
    load=api.load,
    export=api.export,
    add_verbs=add_verbs,
    train_help="train a forecaster and its GRU baseline",
    data_help="dataset name (los-loop, metr-la, ...) or a speed file (CSV, "
    "HDF5, NPZ)",
    noun="forecasts",
    signatures=("serving_default",),
    serving_imports=(),
    describe=_describe,
    add_client_arguments=_add_client_arguments,
    ask=_ask,
    add_train_options=_add_train_options,
    train_options=_train_options,
)
