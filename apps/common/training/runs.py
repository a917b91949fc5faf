"""Run directories: claiming one for `train` (runs never mix), reading one
back (config, info, model) and writing its evaluation report."""

import contextlib
import dataclasses
import glob
import io
import json
import os
import shutil
import tempfile
import zipfile

import h5py
import keras

from attention_suite.apps.common.data.atomic import (
    atomic_path,
    atomic_write_bytes,
    atomic_write_json,
)
from attention_suite.apps.common.training.config import (
    load_config,
)

# What `train` writes into a run directory before and while it fits: a
# directory holding any of these holds a run.
RUN_ENTRIES = (
    "config.json",
    "run.json",
    "history.csv",
    "model.keras",
    "backup",
)
# Settings `--resume` may raise on a run that has not finished.
RAISABLE = ("epochs", "max_minutes")
# A run moved aside by `train --overwrite`: `.<name>.replaced-<pid>-...`.
_REPLACED = ".{name}.replaced-"


class NothingToResume(Exception):
    """`train --resume` of a finished run that asks for nothing more."""


@dataclasses.dataclass(frozen=True)
class Run:
    """A run directory that `train` wrote, and what it records.

    What every app's `train` returns; `evaluate` and `export` take it (or
    the directory's path).

    Args:
        path: the run directory.
        config: the run's config (the app's config dataclass).
        info: the run's `run.json`: data source, sizes, backend, times.
    """

    path: str
    config: object
    info: dict


@dataclasses.dataclass(frozen=True)
class LoadedRun(Run):
    """A run read back for inference: `Run` with its model and tokenizer.

    Args:
        path: the run directory.
        config: the run's config.
        info: the run's `run.json`.
        model: the best Keras model, float32, not compiled.
        tokenizer: the run's tokenizer, or `None` (traffic has none).
    """

    model: object = None
    tokenizer: object = None


def run_path(run):
    """The directory of a `Run` or of a path.

    Args:
        run: a `Run` or a run directory.

    Returns:
        The run directory, a string.
    """
    return run.path if isinstance(run, Run) else os.fspath(run)


def holds_run(run_dir):
    """Whether `run_dir` holds (part of) a run that `train` wrote."""
    return any(
        os.path.lexists(os.path.join(run_dir, entry)) for entry in RUN_ENTRIES
    )


def has_checkpoint(run_dir):
    """Whether a run's first checkpoint (best model or backup) has landed."""
    return any(
        os.path.exists(os.path.join(run_dir, entry))
        for entry in ("model.keras", "backup")
    )


def is_finished(run_dir):
    """Whether `train` finished the run (its `run.json` says how it ran)."""
    try:
        with open(os.path.join(run_dir, "run.json")) as f:
            return "training_setting" in json.load(f)
    except (OSError, ValueError):
        return False


def check_claim(run_dir, resume=False, overwrite=False):
    """Refuses a `train` that would mix runs (see `claimed`).

    Args:
        run_dir: the run directory (`train --out`).
        resume: whether the run in `run_dir` is continued.
        overwrite: whether a run in `run_dir` is replaced.

    Returns:
        Whether `run_dir` holds a run.

    Raises:
        FileExistsError: `run_dir` holds a run and neither flag is given.
        FileNotFoundError: `resume` and `run_dir` holds no run.
    """
    exists = holds_run(run_dir)
    if exists and not (resume or overwrite):
        raise FileExistsError(
            f"{run_dir} already holds a run; continue it with --resume, "
            "start afresh with --overwrite, or pick another --out."
        )
    if resume and not exists:
        raise FileNotFoundError(
            f"{run_dir} holds no run to resume; drop --resume to start one."
        )
    return exists


@contextlib.contextmanager
def claimed(run_dir, resume=False, overwrite=False):
    """Context manager around one `train` into `run_dir`: runs never mix.

    * A directory that holds a run is refused unless `resume` (continue
      that run) or `overwrite` (start afresh) is given.
    * With `overwrite`, the old run is moved aside to a hidden
      `.<name>.replaced-...` directory beside it and the new run starts in
      `run_dir`; the old one is deleted when the new run's first checkpoint
      lands (`discard_replaced`), and put back if the new run fails before
      that.
    * A new run that fails before its first checkpoint leaves nothing
      behind: the entries it wrote are removed (a directory it created,
      whole).

    Args:
        run_dir: the run directory (`train --out`).
        resume: whether the run in `run_dir` is continued.
        overwrite: whether a run in `run_dir` is replaced.

    Yields:
        Nothing; the training runs inside the context.

    Raises:
        FileExistsError: `run_dir` holds a run and neither flag is given.
        FileNotFoundError: `resume` and `run_dir` holds no run.
    """
    exists = check_claim(run_dir, resume, overwrite)
    before = set(os.listdir(run_dir)) if os.path.isdir(run_dir) else None
    replaced = None
    if overwrite and exists:
        parent, name = os.path.split(os.path.abspath(run_dir))
        replaced = tempfile.mkdtemp(
            prefix=f"{_REPLACED.format(name=name)}{os.getpid()}-", dir=parent
        )
        os.replace(run_dir, os.path.join(replaced, "run"))
        before = None
    try:
        yield
    except BaseException:
        if not resume and not has_checkpoint(run_dir):
            _remove_new_entries(run_dir, before)
            if replaced and os.path.isdir(os.path.join(replaced, "run")):
                os.replace(os.path.join(replaced, "run"), run_dir)
        raise
    finally:
        if replaced:
            shutil.rmtree(replaced, ignore_errors=True)


def _remove_new_entries(run_dir, before):
    """Removes what a failed `train` wrote: all of `run_dir` when it did not
    exist (`before` is `None`), else the entries not in `before`."""
    if before is None:
        shutil.rmtree(run_dir, ignore_errors=True)
        return
    for entry in set(os.listdir(run_dir)) - before:
        path = os.path.join(run_dir, entry)
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)
        else:
            os.remove(path)


def discard_replaced(run_dir):
    """Deletes the runs `train --overwrite` moved aside from `run_dir`.

    Called when the new run's checkpoint lands.

    Args:
        run_dir: the run directory.

    Returns:
        The directories removed.
    """
    parent, name = os.path.split(os.path.abspath(run_dir))
    pattern = os.path.join(
        glob.escape(parent), glob.escape(_REPLACED.format(name=name)) + "*"
    )
    removed = sorted(glob.glob(pattern))
    for path in removed:
        shutil.rmtree(path, ignore_errors=True)
    return removed


def resumed_config(run_dir, config_class, path=None, overrides=()):
    """The config `train --resume` continues a run with: the run's own.

    A `--config` file and `--set` overrides apply on top of the run's
    `config.json`; they may repeat its settings, and may raise `RAISABLE`
    ones on a run that has not finished, or the settings the config class
    lists in its `RESUME_ADDS` (a phase added to a finished run, such as
    traffic's `gru_baseline`). Anything else is refused.

    Args:
        run_dir: the run directory.
        config_class: the app's config dataclass.
        path: the `--config` file, or `None`.
        overrides: the `--set` strings.

    Returns:
        A `config_class` instance.

    Raises:
        ValueError: a setting changes in a way a resume cannot honour, or
            `run_dir` holds another app's run.
        NothingToResume: the run is finished and no setting asks for more.
    """
    saved_path = os.path.join(run_dir, "config.json")
    saved = load_config(config_class, saved_path)
    config = load_config(config_class, path, overrides, base=saved_path)
    # A resumed run reads the data it recorded: a config file's dataset is
    # no change, a `--set dataset=` that differs is one.
    named = {item.split("=", 1)[0].strip() for item in overrides}
    if "dataset" not in named:
        config.dataset = saved.dataset
    changed = [
        field.name
        for field in dataclasses.fields(config_class)
        if getattr(config, field.name) != getattr(saved, field.name)
    ]
    finished = is_finished(run_dir)
    allowed = set(getattr(config_class, "RESUME_ADDS", ()))
    if not finished:
        allowed |= set(RAISABLE)
    refused = [
        name
        for name in changed
        if name not in allowed or getattr(config, name) < getattr(saved, name)
    ]
    if refused:
        raise ValueError(
            f"--resume continues {run_dir} with its own settings and cannot "
            f"change {', '.join(refused)}"
            + (
                f" (it may raise {', '.join(sorted(allowed))})"
                if allowed
                else ""
            )
            + "; start afresh with --overwrite or another --out."
        )
    if finished and not changed:
        raise NothingToResume(
            f"{run_dir} is a finished run: nothing to resume (start afresh "
            "with --overwrite or train into another --out)."
        )
    return config


def check_resumed_data(run_dir, config, data):
    """Refuses a resume that would read other data than its run recorded.

    The run records its data in `config.dataset` (a dataset's name or a
    file's absolute path) and, in `run.json`, the file it read (`data`, or
    traffic's `speeds_path`); `data` must name one of them.

    Args:
        run_dir: the run directory.
        config: the resumed run's config.
        data: the dataset name or file the resume was given.

    Raises:
        ValueError: `data` is not what the run recorded.
    """
    given = os.path.abspath(data) if os.path.isfile(data) else data
    recorded = {config.dataset}
    info_path = os.path.join(run_dir, "run.json")
    if os.path.isfile(info_path):
        with open(info_path) as f:
            info = json.load(f)
        recorded |= {info.get("data"), info.get("speeds_path")}
    if given not in recorded:
        raise ValueError(
            f"--resume continues {run_dir} on the data it recorded "
            f"({config.dataset}), not {data}; leave out --data, or start "
            "afresh with --overwrite or another --out."
        )


def read_run(run_dir, config_class, app, extra_files=()):
    """Reads `config.json`, `run.json` and the best `model.keras` of a run.

    Args:
        run_dir: the run directory.
        config_class: the app's config dataclass.
        app: the app's command name, for the error message (e.g. `"traffic"`).
        extra_files: other files the run must hold.

    Returns:
        A `LoadedRun`; the model is not compiled (it is read for
        inference).

    Raises:
        FileNotFoundError: `run_dir` is not a finished run of this app.
        ValueError: its `config.json` holds an invalid setting.
    """
    names = ("config.json", "run.json", "model.keras", *extra_files)
    missing = [n for n in names if not os.path.exists(os.path.join(run_dir, n))]
    info = _read_info(run_dir)
    trained_by = info.get("app", app) if isinstance(info, dict) else app
    if trained_by != app:
        raise ValueError(
            f"{run_dir} is a run of `attn {trained_by}`, not of `attn {app}`."
        )
    if missing:
        raise FileNotFoundError(
            f"{run_dir} is not a trained {app} run (missing "
            f"{', '.join(missing)}); run `attn {app} train` first."
        )
    try:
        config = load_config(config_class, os.path.join(run_dir, "config.json"))
    except ValueError as error:
        if not str(error).startswith("Unknown setting"):
            raise
        raise ValueError(
            f"{run_dir} is not a run of `attn {app}`: its config.json holds "
            f"settings {config_class.__name__} does not have."
        ) from None
    model = load_float32_model(os.path.join(run_dir, "model.keras"))
    return LoadedRun(run_dir, config, info, model)


def _read_info(run_dir):
    """A run's `run.json`, or `{}` when it is missing or unreadable."""
    try:
        with open(os.path.join(run_dir, "run.json")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def load_float32_model(path):
    """Reads a `.keras` model with every layer computing in float32.

    A model trained under a mixed dtype policy (`--precision`) keeps its
    variables in float32; reading it with float32 layers makes inference
    and SavedModels independent of how it was trained.

    Args:
        path: the `.keras` file.

    Returns:
        The model, not compiled.
    """
    with zipfile.ZipFile(path) as archive:
        config = json.loads(archive.read("config.json"))
    if not _set_float32(config):
        return keras.saving.load_model(path, compile=False)
    with tempfile.TemporaryDirectory() as tmp:
        copy = os.path.join(tmp, "model.keras")
        _rewrite_archive(path, copy, {"config.json": lambda _: config})
        return keras.saving.load_model(copy, compile=False)


def save_for_inference(model, path):
    """Saves a model as a `.keras` file without its optimizer, atomically.

    What reads the file (`predict`, `evaluate`, `export`) needs the weights
    only; a resumed run restores the optimizer from its backup instead. The
    optimizer's state (Adam's two moments: twice the weights) and compile
    settings are dropped, so the file is about a third of a full save.

    Args:
        model: a Keras model.
        path: the `.keras` file.
    """

    def weights_only(config):
        config.pop("compile_config", None)
        return config

    with tempfile.TemporaryDirectory() as tmp:
        full = os.path.join(tmp, "full.keras")
        model.save(full)
        with atomic_path(path) as target:
            _rewrite_archive(
                full,
                target,
                {
                    "config.json": weights_only,
                    "model.weights.h5": lambda data: _without_group(
                        data, "optimizer"
                    ),
                },
            )


def _rewrite_archive(source, target, rewrites):
    """Copies a `.keras` archive, rewriting some of its members.

    Args:
        source: the `.keras` file read.
        target: the `.keras` file written.
        rewrites: member name -> function of its content returning the new
            content; `"config.json"` gets and returns the parsed JSON, any
            other member its bytes.
    """
    with (
        zipfile.ZipFile(source) as archive,
        zipfile.ZipFile(target, "w") as out,
    ):
        for item in archive.infolist():
            data = archive.read(item)
            rewrite = rewrites.get(item.filename)
            if item.filename == "config.json" and rewrite:
                data = json.dumps(rewrite(json.loads(data)))
            elif rewrite:
                data = rewrite(data)
            out.writestr(item, data)


def _without_group(h5_bytes, name):
    """An HDF5 file's bytes without its top-level group `name`."""
    buffer = io.BytesIO()
    with (
        h5py.File(io.BytesIO(h5_bytes), "r") as source,
        h5py.File(buffer, "w") as copy,
    ):
        for key, value in source.attrs.items():
            copy.attrs[key] = value
        for key in source:
            if key != name:
                source.copy(source[key], copy, name=key)
    return buffer.getvalue()


def _set_float32(config):
    """Turns every mixed dtype policy in a model config into float32.

    Returns:
        Whether any policy changed.
    """
    changed = False
    if isinstance(config, dict):
        if config.get("class_name") == "DTypePolicy" and str(
            config.get("config", {}).get("name", "")
        ).startswith("mixed_"):
            config["config"]["name"] = "float32"
            changed = True
        for value in config.values():
            changed |= _set_float32(value)
    elif isinstance(config, list):
        for value in config:
            changed |= _set_float32(value)
    return changed


def read_text_run(run_dir, config_class, app, tokenizer_file, load_tokenizer):
    """Reads a text app's run: `read_run` plus the run's tokenizer file.

    Args:
        run_dir: the run directory.
        config_class: the app's config dataclass.
        app: the app's command name, for the error message.
        tokenizer_file: the tokenizer's file name in the run directory.
        load_tokenizer: reads that file (its path) into a tokenizer.

    Returns:
        A `LoadedRun` with its tokenizer.

    Raises:
        FileNotFoundError: `run_dir` is not a finished run of this app.
    """
    run = read_run(run_dir, config_class, app, extra_files=(tokenizer_file,))
    tokenizer = load_tokenizer(os.path.join(run_dir, tokenizer_file))
    return dataclasses.replace(run, tokenizer=tokenizer)


class Report(dict):
    """An evaluation: a JSON-serializable dict, and its Markdown table.

    What every app's `evaluate` returns.

    Args:
        report: the evaluation's figures.
        markdown: the same as a Markdown table (`str(report)`).
        path: the `.json` file it was written to.
    """

    def __init__(self, report, markdown, path):
        super().__init__(report)
        self.markdown = markdown
        self.path = path

    def __str__(self):
        return self.markdown


def write_report(run_dir, report, markdown, name="metrics"):
    """Writes an evaluation as `<name>.json` and `<name>.md` (atomically).

    Args:
        run_dir: the run directory.
        report: a JSON-serializable dict.
        markdown: the same as a Markdown table.
        name: the files' name without extension.

    Returns:
        The `Report`.
    """
    path = os.path.join(run_dir, f"{name}.json")
    atomic_write_json(path, report)
    atomic_write_bytes(os.path.join(run_dir, f"{name}.md"), markdown.encode())
    return Report(report, markdown, path)
