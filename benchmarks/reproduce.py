"""Re-runs a published figure from scratch into a fresh results file.

Each figure the documentation publishes has an entry in `FIGURES`: the app,
its config and its data. `python benchmarks/reproduce.py NAME` trains a new run
with that config (`attn <app> train`; where `TRAINING_CHOICES` lists
settings, one run per candidate, keeping the one that scores best on the
validation split, each choice in turn), chooses its decoding rule on the
validation split where `VALIDATION_CHOICES` lists one, scores it on the test
split (`attn <app> evaluate`, and under each protocol of `PROTOCOLS` the
figure is also published with), and writes everything behind the figure to
one JSON file: the commit (and whether the tree had uncommitted changes),
the exact commands, the full config, the run's record (`run.json`), the per-
epoch history of every training phase, the validation scores behind a
choice, the metrics, the wall time of each command and the machine.

    python benchmarks/reproduce.py translation-transformer
    python benchmarks/reproduce.py traffic-los-loop --out results.json

`--set NAME=VALUE`, `--data` and any arguments after `--` pass through to
`train` (a figure made with them is not the published one: the results file
records them). `--resume RUN_DIR` goes on with a stopped reproduction, the
other arguments the same: finished runs are kept, a killed one resumes.
"""

import argparse
import collections
import datetime
import glob
import json
import os
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

import looks
import measure
import pandas as pd

from attention_suite.apps.common.data.atomic import atomic_write_json
from attention_suite.apps.common.data.paths import DATA_ENV

REPO = Path(__file__).resolve().parents[1]

# Published figure -> the app command, its config and the dataset it reads.
FIGURES = {
    "translation-transformer": (
        "translate",
        "apps/translation/configs/multi30k_transformer.json",
        "multi30k",
    ),
    "translation-gru": (
        "translate",
        "apps/translation/configs/multi30k_gru_attention.json",
        "multi30k",
    ),
    "summarization-aeslc": (
        "summarize",
        "apps/summarization/configs/aeslc.json",
        "aeslc",
    ),
    "summarization-aeslc-transformer": (
        "summarize",
        "apps/summarization/configs/aeslc_transformer.json",
        "aeslc",
    ),
    "summarization-bbc": (
        "summarize",
        "apps/summarization/configs/bbc.json",
        "bbc",
    ),
    "qa-bidaf": ("qa", "apps/qa/configs/squad_bidaf.json", "squad"),
    "qa-encoder": ("qa", "apps/qa/configs/squad_encoder.json", "squad"),
    "traffic-los-loop": (
        "traffic",
        "apps/traffic/configs/los_loop.json",
        "los_loop",
    ),
    # The chosen Los-loop model in the T-GCN papers' setting: the speeds
    # and the graph only (no time-of-day or day-of-week input, the reading
    # embedding widened to keep the width of 32) and 80 % of the series for
    # training, its last tenth for validation.
    "traffic-los-loop-paper-setting": (
        "traffic",
        "apps/traffic/configs/los_loop_paper_setting.json",
        "los_loop",
    ),
}
# Figures also scored under another protocol (`evaluate --protocol NAME`,
# written to `metrics_NAME.json` and recorded as `test_NAME`).
PROTOCOLS = {
    "traffic-los-loop": ("tgcn",),
    "traffic-los-loop-paper-setting": ("tgcn",),
}


def read_json(path):
    """The parsed JSON file at `path`."""
    with open(path) as file:
        return json.load(file)


def reader_f1(run_dir):
    """The QA reader's F1 in a run's last `evaluate` report.

    Args:
        run_dir: the evaluated run.

    Returns:
        The F1 of the run's model (not the baseline's), x100.
    """
    report = read_json(os.path.join(run_dir, "metrics.json"))
    config = read_json(os.path.join(run_dir, "config.json"))
    return report["scores"][config["model"]]["f1"]


def forecast_error(run_dir):
    """A traffic run's validation error: the mean of its MAE and RMSE.

    Args:
        run_dir: a run scored with `evaluate --split val`.

    Returns:
        The mean of the model's MAE and RMSE averaged over the output
        steps, in the readings' units.
    """
    report = read_json(os.path.join(run_dir, "metrics_val.json"))
    config = read_json(os.path.join(run_dir, "config.json"))
    average = report[config["model"]]["average"]
    return (average["mae"] + average["rmse"]) / 2


# A choice made on the validation split: the candidates (ties go to the
# first; option values for a decoding rule, a dict from name to settings
# for a training choice), the score of a run scored on validation and
# whether the best score is the highest (`max`) or the lowest (`min`).
Choice = collections.namedtuple("Choice", "name candidates score best")

# Decoding rules, chosen before the test split is scored: figure -> the
# `evaluate` option and its candidates.
VALIDATION_CHOICES = {
    figure: Choice(
        "--compare-windows", ("logit", "probability"), reader_f1, max
    )
    for figure in ("qa-bidaf", "qa-encoder")
}


def traffic_width(width):
    """The settings of a traffic model `width` wide.

    Args:
        width: the model's width, a multiple of 8.

    Returns:
        A dict of settings: the width split as the Los-loop config splits
        its 32 (8 reading, 8 time-of-day, 4 day-of-week and 12 adaptive
        dimensions) and a feedforward layer twice as wide.
    """
    return {
        "input_dim": width // 4,
        "time_of_day_dim": width // 4,
        "day_of_week_dim": width // 8,
        "adaptive_dim": width * 3 // 8,
        "feedforward_dim": 2 * width,
    }


# Training settings, chosen in turn: figure -> its choices, each mapping a
# candidate's name to the settings it trains with. Each candidate trains
# its own run, with the settings chosen before it and without the GRU
# baseline (which the last chosen run then trains); a choice whose settings
# `--set` gives is skipped.
TRAINING_CHOICES = {
    "traffic-los-loop": (
        Choice(
            "loss",
            {loss: {"loss": loss} for loss in ("mae", "mse", "huber")},
            forecast_error,
            min,
        ),
        Choice(
            "width",
            {str(width): traffic_width(width) for width in (32, 48, 64)},
            forecast_error,
            min,
        ),
        # Huber's threshold, in the readings' units (miles per hour).
        Choice(
            "huber_delta",
            {str(delta): {"huber_delta": delta} for delta in (1, 3, 10)},
            forecast_error,
            min,
        ),
    ),
}


def commit():
    """The checked-out commit and whether the tree differs from it.

    Returns:
        `{"commit": sha or None, "uncommitted_changes": bool or None}`.
    """

    def git(*args):
        return subprocess.run(
            ["git", *args], cwd=REPO, capture_output=True, text=True
        )

    head = git("rev-parse", "HEAD")
    if head.returncode != 0:
        return {"commit": None, "uncommitted_changes": None}
    status = git("status", "--porcelain", "--untracked-files=no")
    return {
        "commit": head.stdout.strip(),
        "uncommitted_changes": bool(status.stdout.strip()),
    }


def run_attn(arguments):
    """Runs `attn ARGUMENTS` from the repository root; fails loudly.

    Args:
        arguments: the arguments after `attn`.

    Returns:
        `(command, seconds)`: the command as a user types it and its wall
        time.

    Raises:
        SystemExit: the command failed (its output is already shown).
    """
    command = "attn " + shlex.join(arguments)
    print(f"$ {command}", flush=True)
    start = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "attention_suite.apps.cli", *arguments],
        cwd=REPO,
    )
    if done.returncode != 0:
        raise SystemExit(f"{command} failed with exit code {done.returncode}")
    return command, round(time.monotonic() - start, 1)


def histories(run_dir):
    """Every `history.csv` of a run (one per training phase), as records.

    Args:
        run_dir: the run directory.

    Returns:
        `{path relative to the run: [one dict per epoch]}`.
    """
    found = {}
    pattern = os.path.join(run_dir, "**", "history.csv")
    for path in sorted(glob.glob(pattern, recursive=True)):
        relative = os.path.relpath(path, run_dir)
        found[relative] = pd.read_csv(path).to_dict(orient="records")
    return found


def portable(record, data_dir):
    """`record` with the data directory in its paths written as a variable.

    A run records where it read its data (e.g. traffic's `speeds_path`);
    the results file says `$ATTN_DATA_DIR/traffic/...` instead of this
    machine's directory.

    Args:
        record: a JSON-like value.
        data_dir: the data directory, or None.

    Returns:
        The same value with every string under `data_dir` rewritten.
    """
    if not data_dir:
        return record
    root = os.path.abspath(data_dir).rstrip(os.sep) + os.sep
    if isinstance(record, dict):
        return {key: portable(value, data_dir) for key, value in record.items()}
    if isinstance(record, list):
        return [portable(value, data_dir) for value in record]
    if isinstance(record, str) and record.startswith(root):
        return f"${DATA_ENV}/" + record[len(root) :]
    return record


def choose_decoding(name, evaluate, run_dir):
    """Scores each candidate decoding rule of a figure on validation.

    Args:
        name: a key of `FIGURES`.
        evaluate: the `evaluate` arguments of the run.
        run_dir: the trained run.

    Returns:
        `(options, record)`: the `evaluate` options of the chosen rule and
        what the choice saw (option, candidates' scores, chosen, commands,
        wall seconds), or `([], None)` when the figure has no choice.
    """
    if name not in VALIDATION_CHOICES:
        return [], None
    choice = VALIDATION_CHOICES[name]
    record = {"option": choice.name, "scores": {}, "commands": []}
    record["seconds"] = {}
    for candidate in choice.candidates:
        command, seconds = run_attn(
            evaluate + ["--split", "val", choice.name, candidate]
        )
        record["scores"][candidate] = choice.score(run_dir)
        record["commands"].append(command)
        record["seconds"][candidate] = seconds
    record["chosen"] = choice.best(choice.candidates, key=record["scores"].get)
    return [choice.name, record["chosen"]], record


def choose_training(name, train, evaluate, run_dir, overrides):
    """Makes a figure's training choices in turn, each on validation.

    Args:
        name: a key of `FIGURES`.
        train: `train` arguments for a run directory and settings (a
            function).
        evaluate: `evaluate` arguments for a run directory (a function).
        run_dir: the figure's run directory; candidate runs go beside it
            (`<run_dir>-<choice>-<candidate>`).
        overrides: the `--set` settings of the figure.

    Returns:
        `(run_dir, settings, records)`: the run of the last choice's chosen
        candidate, the settings that train it (`overrides`, then each
        chosen candidate's) and, per choice made, what it saw (choice,
        candidates' settings, validation scores and reports, every
        candidate's per-epoch history, chosen, commands, wall seconds);
        `run_dir`, `overrides` and `[]` when none is made.
    """
    given = {override.split("=")[0] for override in overrides}
    chosen_dir, settings, records = run_dir, list(overrides), []
    for choice in TRAINING_CHOICES.get(name, ()):
        if given & {key for c in choice.candidates.values() for key in c}:
            continue
        record = {
            "choice": choice.name,
            "candidates": choice.candidates,
            "scores": {},
            "validation": {},
            "histories": {},
            "commands": [],
            "seconds": {},
        }
        for candidate, values in choice.candidates.items():
            candidate_dir = f"{run_dir}-{choice.name}-{candidate}"
            candidate_settings = [*settings, *_settings(values)]
            record["seconds"][candidate] = 0
            for arguments in (
                train(
                    candidate_dir, [*candidate_settings, "gru_baseline=false"]
                ),
                evaluate(candidate_dir) + ["--split", "val"],
            ):
                command, seconds = run_attn(arguments)
                record["commands"].append(command)
                record["seconds"][candidate] += seconds
            record["scores"][candidate] = choice.score(candidate_dir)
            record["validation"][candidate] = read_json(
                os.path.join(candidate_dir, "metrics_val.json")
            )
            record["histories"][candidate] = histories(candidate_dir)
        record["chosen"] = choice.best(
            choice.candidates, key=record["scores"].get
        )
        settings += _settings(choice.candidates[record["chosen"]])
        chosen_dir = f"{run_dir}-{choice.name}-{record['chosen']}"
        records.append(record)
    return chosen_dir, settings, records


def _settings(values):
    """`NAME=VALUE` strings of a dict of settings."""
    return [f"{key}={value}" for key, value in values.items()]


def test_scores(name, evaluate, run_dir, options):
    """Scores a run on the test split, under each protocol of the figure.

    Args:
        name: a key of `FIGURES`.
        evaluate: `evaluate` arguments for a run directory (a function).
        run_dir: the run.
        options: more `evaluate` options (the chosen decoding rule).

    Returns:
        `(commands, seconds, scores)`: the commands run, their wall
        seconds by `evaluate[_<protocol>]`, and the reports by
        `test[_<protocol>]`.
    """
    commands, seconds, scores = [], {}, {}
    for protocol in (None, *PROTOCOLS.get(name, ())):
        suffix = f"_{protocol}" if protocol else ""
        command, seconds[f"evaluate{suffix}"] = run_attn(
            evaluate(run_dir)
            + options
            + (["--protocol", protocol] if protocol else [])
        )
        commands.append(command)
        scores[f"test{suffix}"] = read_json(
            os.path.join(run_dir, f"metrics{suffix}.json")
        )
    return commands, seconds, scores


def seed_run(name, train, evaluate, run_dir, seed, settings, options):
    """Trains and tests the chosen settings again with another seed.

    Args:
        name: a key of `FIGURES`.
        train: `train` arguments for a run directory and settings.
        evaluate: `evaluate` arguments for a run directory.
        run_dir: the new run directory.
        seed: the seed (`--set seed=...`).
        settings: the figure's settings, its choices made.
        options: the chosen decoding rule's `evaluate` options.

    Returns:
        `{"seed", "commands", "wall_seconds", "test"...}` for the run.
    """
    command, train_seconds = run_attn(
        train(run_dir, [*settings, f"seed={seed}"])
    )
    commands, seconds, scores = test_scores(name, evaluate, run_dir, options)
    return {
        "seed": seed,
        "commands": [command, *commands],
        "wall_seconds": {"train": train_seconds, **seconds},
        **scores,
    }


def seed_spread(seed, scores, seed_runs):
    """Each seed's test reports, and their mean and standard deviation.

    Args:
        seed: the first run's seed.
        scores: the first run's reports by `test[_<protocol>]`.
        seed_runs: the other seeds' `seed_run` records.

    Returns:
        `{"seeds", "runs", "mean", "std"}`: the seeds in order, every run's
        reports, and for each report the mean and the sample standard
        deviation (n - 1) of every number in it, across the seeds.
    """
    runs = [{"seed": seed, **scores}, *seed_runs]
    names = list(scores)
    return {
        "seeds": [run["seed"] for run in runs],
        "runs": runs,
        "mean": {
            k: _across([r[k] for r in runs], statistics.mean) for k in names
        },
        "std": {
            k: _across([r[k] for r in runs], statistics.stdev) for k in names
        },
    }


def _across(reports, statistic):
    """`statistic` of each number that every report holds at one place.

    Args:
        reports: JSON-like values of the same layout.
        statistic: a function of a list of numbers.

    Returns:
        The layout of the first report, each number replaced by the
        statistic across the reports, other values dropped.
    """
    first = reports[0]
    if isinstance(first, dict):
        spread = {
            key: _across([report[key] for report in reports], statistic)
            for key in first
            if all(
                isinstance(report, dict) and key in report for report in reports
            )
        }
        return {
            key: value for key, value in spread.items() if value is not None
        }
    if isinstance(first, (int, float)) and not isinstance(first, bool):
        return statistic([float(report) for report in reports])
    return None


def train_arguments(name, directory, settings, data=None, extra=()):
    """The `attn <app> train` arguments of one run of a figure.

    Args:
        name: a key of `FIGURES`.
        directory: the run directory.
        settings: `NAME=VALUE` settings, each given with `--set`.
        data: `--data` (default: the figure's dataset).
        extra: arguments after them (`--data-dir`, those after `--`).

    Returns:
        The argument list, with `--resume` where `directory` already holds
        a run, as a stopped reproduction leaves it (`reproduce.py
        --resume`): a finished run is then kept, a killed one goes on from
        its last backup.
    """
    app, config, dataset = FIGURES[name]
    arguments = [app, "train", "--config", config, "--out", directory]
    arguments += ["--data", data or dataset]
    for setting in settings:
        arguments += ["--set", setting]
    if os.path.isfile(os.path.join(directory, "config.json")):
        arguments.append("--resume")
    return arguments + list(extra)


def reproduce(
    name,
    run_dir,
    data=None,
    data_dir=None,
    overrides=(),
    train_args=(),
    seeds=1,
):
    """Trains and evaluates a figure's run and gathers its provenance.

    Args:
        name: a key of `FIGURES`.
        run_dir: a new run directory.
        data: `--data` for `train` (default: the figure's dataset).
        data_dir: `--data-dir` for both commands.
        overrides: `NAME=VALUE` settings passed to `train` with `--set`.
        train_args: more `train` arguments (e.g. `["--adjacency", path]`).
        seeds: how many seeds train the chosen settings: the config's seed
            (the run every choice was made on) and the next `seeds - 1`
            integers, each run tested like the first (`seed_run`).

    Returns:
        The results dict; with more than one seed, `seeds` holds every
        seed's test reports and their mean and standard deviation.
    """
    app = FIGURES[name][0]
    where = ["--data-dir", data_dir] if data_dir else []

    def train(directory, settings):
        extra = [*train_args, *where]
        return train_arguments(name, directory, settings, data, extra)

    def evaluate(directory):
        return [app, "evaluate", "--run", str(directory)] + where

    run_dir, settings, training_choices = choose_training(
        name, train, evaluate, str(run_dir), overrides
    )
    # A chosen candidate's run resumes here (`train` adds `--resume`): it
    # trains what the candidate run left out (the GRU baseline).
    baseline = ["--set", "gru_baseline=true"] if training_choices else []
    train_command, train_seconds = run_attn(train(run_dir, settings) + baseline)
    options, choice = choose_decoding(name, evaluate(run_dir), run_dir)
    commands, seconds, scores = test_scores(name, evaluate, run_dir, options)
    commands.insert(0, train_command)
    seconds = {"train": train_seconds, **seconds}
    run_config = read_json(os.path.join(run_dir, "config.json"))
    first_seed = run_config["seed"]
    seed_runs = [
        seed_run(
            name,
            train,
            evaluate,
            f"{run_dir}-seed-{seed}",
            seed,
            settings,
            options,
        )
        for seed in range(first_seed + 1, first_seed + seeds)
    ]
    return {
        "figure": name,
        **commit(),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(),
        "commands": commands,
        "overrides": list(overrides),
        "wall_seconds": seconds,
        "config": run_config,
        "run": portable(
            read_json(os.path.join(run_dir, "run.json")),
            data_dir or os.environ.get(DATA_ENV),
        ),
        "history": histories(run_dir),
        "training_choices": training_choices,
        "validation_choice": choice,
        **scores,
        **(
            {"seeds": seed_spread(first_seed, scores, seed_runs)}
            if seed_runs
            else {}
        ),
        "machine": measure.machine_info(),
    }


def main(argv=None):
    """Parses the command line and writes the results file.

    Args:
        argv: the arguments; `None` reads `sys.argv`.
    """
    parser = argparse.ArgumentParser(
        description="Re-run a published figure from scratch.",
        epilog="Arguments after `--` go to `attn <app> train` as they are.",
    )
    parser.add_argument("figure", choices=sorted(FIGURES))
    parser.add_argument(
        "--out",
        help="results file to write (default: "
        "benchmarks/results/reproduced/<figure>-<time>.json)",
    )
    parser.add_argument(
        "--runs-dir",
        default="runs/reproduce",
        help="where the new run directory goes (default: runs/reproduce)",
    )
    parser.add_argument(
        "--resume",
        metavar="RUN_DIR",
        help="go on with a stopped reproduction: its run directory "
        "(<runs-dir>/<figure>-<time>); its finished runs are kept and a "
        "killed one resumes from its last backup",
    )
    parser.add_argument(
        "--data", help="train on this dataset or file instead of the figure's"
    )
    parser.add_argument(
        "--data-dir", help="directory holding the datasets ($ATTN_DATA_DIR)"
    )
    parser.add_argument(
        "--seeds",
        type=int,
        default=1,
        help="train the chosen settings with this many seeds (the config's "
        "and the next ones) and publish their mean and spread (default: 1)",
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override one config setting (repeatable); recorded",
    )
    argv = sys.argv[1:] if argv is None else list(argv)
    split = argv.index("--") if "--" in argv else len(argv)
    args = parser.parse_args(argv[:split])
    train_args = argv[split + 1 :]
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    run_dir = Path(args.runs_dir) / f"{args.figure}-{stamp}"
    if args.resume:
        run_dir = Path(args.resume)
        if not run_dir.name.startswith(f"{args.figure}-"):
            parser.error(f"--resume {args.resume}: not a {args.figure} run")
        stamp = run_dir.name.removeprefix(f"{args.figure}-")
    out = Path(
        args.out
        or measure.RESULTS_DIR / "reproduced" / f"{args.figure}-{stamp}.json"
    )
    results = reproduce(
        args.figure,
        run_dir,
        args.data,
        args.data_dir,
        args.set,
        train_args,
        args.seeds,
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(out, results)
    # The figure's looks at its test split so far, this file's included
    # (`looks.py`; only files under benchmarks/results are counted).
    relative = os.path.relpath(out.resolve(), REPO)
    count = looks.looks_by_file(args.figure).get(relative)
    if count is not None:
        atomic_write_json(out, {**results, "test_looks": count})
    print(f"{args.figure}: results written to {out}")


if __name__ == "__main__":
    main()
