"""Run directories: reading one back (config, info, model) and writing its
evaluation report."""

import json
import os
import tempfile
import zipfile

import keras

from attention_suite.apps.common.atomic import (
    atomic_write_bytes,
    atomic_write_json,
)
from attention_suite.apps.common.config import load_config


def read_run(run_dir, config_class, app, extra_files=()):
    """Reads `config.json`, `run.json` and the best `model.keras` of a run.

    Args:
        run_dir: the run directory.
        config_class: the app's config dataclass.
        app: the app's command name, for the error message (e.g. `"traffic"`).
        extra_files: other files the run must hold.

    Returns:
        `(config, run_info, model)`; the model is not compiled (it is read
        for inference).

    Raises:
        FileNotFoundError: `run_dir` is not a finished run of this app.
        ValueError: its `config.json` holds an invalid setting.
    """
    names = ("config.json", "run.json", "model.keras", *extra_files)
    missing = [n for n in names if not os.path.exists(os.path.join(run_dir, n))]
    if missing:
        raise FileNotFoundError(
            f"{run_dir} is not a trained {app} run (missing "
            f"{', '.join(missing)}); run `attn {app} train` first."
        )
    config = load_config(config_class, os.path.join(run_dir, "config.json"))
    with open(os.path.join(run_dir, "run.json")) as f:
        run_info = json.load(f)
    model = load_float32_model(os.path.join(run_dir, "model.keras"))
    return config, run_info, model


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
            with zipfile.ZipFile(copy, "w") as out:
                for item in archive.infolist():
                    data = archive.read(item)
                    if item.filename == "config.json":
                        data = json.dumps(config)
                    out.writestr(item, data)
            return keras.saving.load_model(copy, compile=False)


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
        `(config, run_info, tokenizer, model)`.

    Raises:
        FileNotFoundError: `run_dir` is not a finished run of this app.
    """
    config, run_info, model = read_run(
        run_dir, config_class, app, extra_files=(tokenizer_file,)
    )
    tokenizer = load_tokenizer(os.path.join(run_dir, tokenizer_file))
    return config, run_info, tokenizer, model


def write_report(run_dir, report, markdown, name="metrics"):
    """Writes an evaluation as `<name>.json` and `<name>.md` (atomically).

    Args:
        run_dir: the run directory.
        report: a JSON-serializable dict.
        markdown: the same as a Markdown table.
        name: the files' name without extension.
    """
    atomic_write_json(os.path.join(run_dir, f"{name}.json"), report)
    atomic_write_bytes(os.path.join(run_dir, f"{name}.md"), markdown.encode())
