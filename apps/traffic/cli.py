"""`attn traffic <verb>`: train, evaluate, predict, export, serve-check."""

import os
import sys

from apps.common import output_dir


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
    import keras

    from apps.common.export import reexec_under_tensorflow, version_path

    if keras.backend.backend() != "tensorflow":
        # Exports are plain TensorFlow graphs whatever the training backend.
        return reexec_under_tensorflow(
            "apps.cli",
            ["traffic", "export", "--run", args.run, "--version",
             str(args.version), "--base", args.base]
            + (["--overwrite"] if args.overwrite else []),
        )
    import numpy as np

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


def _serve_check(args):
    from apps.common.verify import serve_check

    for i, outputs in enumerate(serve_check(args.model)):
        shapes = ", ".join(f"{k} {tuple(v.shape)}" for k, v in outputs.items())
        print(f"warm-up request {i}: {shapes}")
    print(f"{args.model} serves its warm-up requests in a fresh process.")
    return 0


def add_parser(subparsers):
    """Adds `attn traffic` and its verbs.

    Args:
        subparsers: the `attn` sub-parsers action.
    """
    parser = subparsers.add_parser(
        "traffic", help="traffic-flow forecasting (Los-loop, METR-LA, ...)"
    )
    verbs = parser.add_subparsers(dest="verb", metavar="<verb>", required=True)

    train = verbs.add_parser("train", help="train a forecaster and its GRU baseline")
    train.add_argument(
        "--data", help="dataset name (los_loop) or a speed file (CSV, HDF5, NPZ)"
    )
    train.add_argument(
        "--data-dir", help="directory holding the datasets (default $ATTN_DATA_DIR)"
    )
    train.add_argument(
        "--adjacency", help="sensor graph (CSV matrix, DCRNN pickle or distances)"
    )
    train.add_argument("--config", help="JSON file of TrafficConfig settings")
    train.add_argument(
        "--set", action="append", default=[], metavar="NAME=VALUE",
        help="override one setting (repeatable)",
    )
    train.add_argument("--out", required=True, type=output_dir, help="run directory")
    train.set_defaults(handler=_train)

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

    export = verbs.add_parser("export", help="write saved_models/traffic/<version>/")
    export.add_argument("--run", required=True)
    export.add_argument("--version", required=True, type=int)
    export.add_argument("--base", default="saved_models")
    export.add_argument("--overwrite", action="store_true")
    export.set_defaults(handler=_export)

    check = verbs.add_parser(
        "serve-check", help="serve the warm-up requests in a fresh TF-only process"
    )
    check.add_argument("--model", required=True)
    check.set_defaults(handler=_serve_check)
