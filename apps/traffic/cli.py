"""`attn traffic <verb>`: train, evaluate, predict, export, serve-check."""

import os
import sys

from attention_suite.apps.common import commands


def _train(args):
    from attention_suite.apps.traffic.config import TrafficConfig

    # Settings are checked before the backend loads.
    config = commands.train_config(args, TrafficConfig)
    if args.resume:
        _recorded_reading(args)
    from attention_suite.apps.traffic import train

    info = train.train(
        config,
        args.data or config.dataset,
        args.out,
        args.data_dir,
        adjacency=args.adjacency,
        read_options={
            "start": args.start,
            "freq": args.freq,
            "feature": args.feature,
            "timestamp_column": args.timestamp_column,
        },
    )
    print(
        f"Trained {config.model} in {info['train_seconds']:.0f} s"
        + (
            f" (GRU baseline {info['gru_train_seconds']:.0f} s)"
            if "gru_train_seconds" in info
            else ""
        )
        + f"; run saved to {args.out}"
    )
    return 0


def _recorded_reading(args):
    """Fills the reading flags a resumed `train` left out from `run.json`."""
    import json

    with open(os.path.join(args.out, "run.json")) as f:
        info = json.load(f)
    if args.adjacency is None:
        args.adjacency = info.get("adjacency_path")
    for name, value in info.get("read_options", {}).items():
        if getattr(args, name, None) is None:
            setattr(args, name, value)


def _evaluate(args):
    from attention_suite.apps.traffic import evaluate

    report = evaluate.evaluate(args.run, args.protocol, args.split)
    print(evaluate.format_report(report), end="")
    name = evaluate.report_name(args.protocol, args.split)
    print(f"Written to {os.path.join(args.run, name + '.json')}")
    return 0


def _predict(args):
    from attention_suite.apps.common.atomic import atomic_write_bytes
    from attention_suite.apps.common.plotting import save_figure
    from attention_suite.apps.traffic import infer, readers, train

    config, run_info, model = train.load_run(args.run)
    history = readers.read_speeds(
        args.history, start=args.start, freq=run_info["freq"]
    )
    forecast = infer.forecast_frame(model, history, config, run_info)
    text = forecast.to_csv(float_format="%.3f")
    if args.out:
        atomic_write_bytes(args.out, text.encode())
        print(f"Forecast written to {args.out}")
    else:
        sys.stdout.write(text)
    if args.plot:
        history.columns = [str(c) for c in history.columns]
        unknown = [s for s in args.plot if s not in forecast.columns]
        if unknown:
            raise ValueError(f"Unknown sensor id(s) to plot: {unknown}.")
        figure = infer.plot_forecast(
            history.iloc[-4 * config.input_steps :],
            forecast,
            args.plot,
            missing=config.missing,
        )
        save_figure(figure, args.plot_out)
        print(f"Plot written to {args.plot_out}")
    return 0


def _describe(outputs):
    return [", ".join(f"{k} {tuple(v.shape)}" for k, v in outputs.items())]


def add_parser(subparsers):
    """Adds `attn traffic` and its verbs.

    Args:
        subparsers: the `attn` sub-parsers action.
    """
    verbs = commands.add_app(
        subparsers,
        "traffic",
        "traffic-flow forecasting (Los-loop, METR-LA, ...)",
    )

    train = commands.add_train_verb(
        verbs,
        "train a forecaster and its GRU baseline",
        "dataset name (los_loop) or a speed file (CSV, HDF5, NPZ)",
        "attention_suite.apps.traffic",
        "TrafficConfig",
        _train,
    )
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

    commands.add_serving_verbs(
        verbs,
        "traffic",
        "traffic",
        "attention_suite.apps.traffic.export",
        "forecasts",
        _describe,
    )
