"""Run configuration: dataclasses filled from JSON files and `--set` flags."""

import dataclasses
import json

from apps.common.atomic import atomic_write_json


def load_config(config_class, path=None, overrides=()):
    """Builds a config dataclass from defaults, a JSON file and overrides.

    Args:
        config_class: a dataclass type whose fields all have defaults.
        path: optional JSON file with a subset of the fields.
        overrides: `"name=value"` strings (values parsed as JSON when they
            parse, as plain strings otherwise), applied last.

    Returns:
        A `config_class` instance.

    Raises:
        ValueError: an unknown field, a malformed override, or a file that
            is not a JSON object.
    """
    values = {}
    if path:
        with open(path, encoding="utf-8") as f:
            try:
                values = json.load(f)
            except json.JSONDecodeError as error:
                raise ValueError(f"{path} is not valid JSON: {error}") from None
        if not isinstance(values, dict):
            raise ValueError(f"{path} must hold a JSON object of settings.")
    for override in overrides:
        name, sep, raw = override.partition("=")
        if not sep:
            raise ValueError(
                f"Expected NAME=VALUE in --set, received {override!r}."
            )
        try:
            values[name.strip()] = json.loads(raw)
        except json.JSONDecodeError:
            values[name.strip()] = raw
    known = {field.name for field in dataclasses.fields(config_class)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ValueError(
            f"Unknown setting(s) {unknown} for {config_class.__name__}; "
            f"known settings: {sorted(known)}."
        )
    return config_class(**values)


def save_config(config, path):
    """Writes a config dataclass as JSON (atomically).

    Args:
        config: a dataclass instance.
        path: the destination file.
    """
    atomic_write_json(path, dataclasses.asdict(config))
