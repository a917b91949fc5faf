"""`attn traffic <verb>`: train, evaluate, predict, export, serve-check."""

import os
import sys

from apps.common import commands


def _train(args):
    from apps.common.config import load_config
    from apps.traffic import train
    from apps.traffic.config import TrafficConfig

    config = load_config(TrafficConfig, args.config, args.set)
    info = train.train(
        config, args.data or config.dataset, args.out, args.data_dir,
        adjacency=args.adjacency,
    )
    print(
        f"Trained {config.model} in {info['train_seconds']:.0f} s"
        + (
            f" (GRU baseline {info['gru_train_seconds']:.0f} s)"
            if "gru_train_seconds" in info else ""
        )
        + f"; run saved to {args.out}"
    )
    return 0


def _evaluate(args):
    from apps.traffic import train

    report = train.evaluate(args.run)
    print(train.format_report(report), end="")
    print(f"Written to {os.path.join(args.run, 'metrics.json')}")
    return 0


def _predict(args):
    from apps.common.atomic import atomic_write_bytes
    from apps.common.plotting import save_figure
    from apps.traffic import infer, readers, train

    config, run_info, model = train.load_run(args.run)
    history = readers.read_speeds(args.history)
    forecast = infer.forecast_frame(
        model, history, run_info["sensors"], config.input_steps
    )
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
            history.iloc[-4 * config.input_steps:], forecast, args.plot
        )
        save_figure(figure, args.plot_out)
        print(f"Plot written to {args.plot_out}")
    return 0


def _export(args):
    code = commands.export_elsewhere(args, "traffic")
    if code is not None:
        return code
    import numpy as np

    from apps.common.export import version_path
    from apps.common.verify import run_saved_model
    from apps.traffic import export

    path, requests, expected = export.export(
        args.run, version_path(args.base, "traffic", args.version),
        overwrite=args.overwrite,
    )
    served = run_saved_model(path, requests)
    worst = max(
        float(np.max(np.abs(s["forecast"] - e["forecast"])))
        for s, e in zip(served, expected)
    )
    if worst > 1e-3:
        raise RuntimeError(
            f"The served forecasts differ from the Keras model's by {worst}."
        )
    print(
        f"Exported to {path}; a fresh TensorFlow-only process reproduces the "
        f"Keras forecasts (max difference {worst:.2e})."
    )
    return 0


def _describe(outputs):
    return [", ".join(f"{k} {tuple(v.shape)}" for k, v in outputs.items())]


def add_parser(subparsers):
    """Adds `attn traffic` and its verbs.

    Args:
        subparsers: the `attn` sub-parsers action.
    """
    verbs = commands.add_app(
        subparsers, "traffic", "traffic-flow forecasting (Los-loop, METR-LA, ...)"
    )

    train = commands.add_train_verb(
        verbs, "train a forecaster and its GRU baseline",
        "dataset name (los_loop) or a speed file (CSV, HDF5, NPZ)",
        "apps.traffic", "TrafficConfig", _train,
    )
    train.add_argument(
        "--adjacency", help="sensor graph (CSV matrix, DCRNN pickle or distances)"
    )

    evaluate = verbs.add_parser(
        "evaluate", help="masked MAE/RMSE/MAPE on the test split, with baselines"
    )
    evaluate.add_argument("--run", required=True)
    evaluate.set_defaults(handler=_evaluate)

    predict = verbs.add_parser("predict", help="forecast the next steps of a history file")
    predict.add_argument("--run", required=True)
    predict.add_argument(
        "--history", required=True,
        help="recent readings (any supported format); the last steps are used",
    )
    predict.add_argument("--out", help="CSV to write (default: print)")
    predict.add_argument("--plot", nargs="+", metavar="SENSOR", help="sensors to draw")
    predict.add_argument("--plot-out", default="forecast.png")
    predict.set_defaults(handler=_predict)

    commands.add_serving_verbs(verbs, "traffic", _export, _describe)
